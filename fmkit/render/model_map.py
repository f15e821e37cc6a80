"""The foundation-model map as a rich table (`fmkit models --map`), in the map's language.

Three columns, so it reads at 80 columns: the family (name, maker, where the course names it,
published parameters), what it is (modality, foundation or base model, weights, why), and how to
try it with fmkit (the command, each alias with its size and a ✓ if it is here, and why).
"""

from __future__ import annotations

from typing import Sequence

from fmkit.model_map import MapModel, MapRow, words

_FAMILY_WIDTH = 16  # "Segment Anything": names never wrap; parameter lines wrap inside it
_CHROME = 10  # 4 borders + 1 space either side of 3 columns


def map_table(rows: Sequence[MapRow], lang: str, width: int = 80):
    """A rich Table of the map's rows for a console `width` columns wide: its words in `lang`, its
    data (names, aliases) as they are. Widths are set here, not left to rich: its even squeeze
    cut aliases, and its ellipsis crops a Korean line that fits exactly (rich 15)."""
    from rich.table import Table

    said = words(lang)
    cells = [(_family(row, said), _what(row, said), _try_lines(row, said)) for row in rows]
    flexible = max(width - _CHROME - _FAMILY_WIDTH, 40)
    try_width = max([flexible * 2 // 5] + [_grid_width(models) for _, _, (_, models, _) in cells])
    t = Table(title=said["title"], title_justify="left", caption=said["caption"], caption_justify="left",
              show_lines=True)
    t.add_column(said["col_family"], width=_FAMILY_WIDTH)
    t.add_column(said["col_what"], width=flexible - try_width, overflow="fold")
    t.add_column(said["col_try"], width=try_width, overflow="fold")
    for family, what, (head, models, how) in cells:
        t.add_row(family, what, _try(head, models, how))
    return t


def _family(row: MapRow, said: dict[str, str]) -> str:
    parameters = (row.parameters or said["not_published"]).replace(" · ", "\n")
    return (f"[b]{_esc(row.family)}[/b]\n{_esc(row.maker)}\n[dim]{_esc(said['named_in.' + row.named_in])}[/dim]\n"
            f"[cyan]{_esc(parameters)}[/cyan]")


def _what(row: MapRow, said: dict[str, str]) -> str:
    role = said[f"role.{row.role}"]
    role = f"[green]{role}[/green]" if row.role == "foundation" else f"[yellow]{role}[/yellow]"
    if not row.open_weights:
        weights = said["api_only"].format(api=row.api)
    elif row.api:
        weights = said["open_api"].format(api=row.api)
    else:
        weights = said["open"]
    return f"{_esc(said['modality.' + row.modality])} · {role}\n{_esc(weights)}\n[dim]{_esc(row.why)}[/dim]"


def _try_lines(row: MapRow, said: dict[str, str]) -> tuple[str, list[tuple[str, str, str]], str]:
    """The command line (with "stand-in" or "coming"), one (alias, size, ✓) per model, and why."""
    if row.command is None:
        return f"[dim]{_esc(said['not_run'])}[/dim]", [], _esc(row.how)
    head = f"[b]{_esc(row.command)}[/b]"
    if row.fmkit == "coming":
        head += f" [yellow]({_esc(said['coming'])})[/yellow]"
    elif row.fmkit == "stand-in":
        head += f" [dim]({_esc(said['stand_in'])})[/dim]"
    return head, [_model(m, said) for m in row.models], f"[dim]{_esc(row.how)}[/dim]"


def _model(m: MapModel, said: dict[str, str]) -> tuple[str, str, str]:
    """-m ALIAS, SIZE, ✓ if here; an alias the catalog does not have yet says so instead of a size."""
    alias = f"-m {_esc(m.alias)}"
    if not m.in_catalog:
        return alias, f"[dim]{_esc(said['not_in_catalog'])}[/dim]", ""
    return alias, _size(m.size_mb), "[green]✓[/green]" if m.present else ""


def _grid_width(models: list[tuple[str, str, str]]) -> int:
    """How wide the alias lines are, so the column never cuts one (an alias is typed back)."""
    from rich.text import Text

    if not models:
        return 0
    return sum(max(Text.from_markup(cell).cell_len for cell in column) for column in zip(*models)) + 2


def _try(head: str, models: list[tuple[str, str, str]], how: str):
    from rich.console import Group
    from rich.table import Table
    from rich.text import Text

    grid = Table.grid(padding=(0, 1))
    for justify in ("left", "right", "left"):
        grid.add_column(no_wrap=True, justify=justify)
    for model in models:
        grid.add_row(*model)
    return Group(Text.from_markup(head), *([grid] if models else []), Text.from_markup(how))


def _size(size_mb: int | None) -> str:
    if size_mb is None:
        return "?"
    return f"{size_mb} MB" if size_mb < 1000 else f"{size_mb / 1000:.1f} GB"


def _esc(text: str) -> str:
    from rich.markup import escape

    return escape(text)
