"""`fmkit models` (the catalog and what is on this machine) and `fmkit pull` (fetch for offline use)."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from fmkit import output
from fmkit.commands.common import JsonOpt, OfflineOpt, ProfileOpt, QuietOpt, SetOpt, fmkit_command, session


@fmkit_command
def models(profile: ProfileOpt = None, sets: SetOpt = None, offline: OfflineOpt = False,
           json_: JsonOpt = False,
           map_: Annotated[bool, typer.Option(
               "--map", help="The lesson instead of the inventory: every model family the course names, "
                             "foundation or base model and why, and how to try it here.")] = False,
           lang: Annotated[Optional[str], typer.Option("--lang", metavar="en|ko",
                                                       help="Language of the map's words (default: en).")] = None,
           ) -> None:
    """The model catalog: alias, family, source, size, and whether it is on this machine (never uses the network).

    [b]fmkit models --map[/b]  ·  [b]fmkit models --map --lang ko[/b]
    """
    if map_ or lang is not None:
        return _model_map(session(profile, sets, offline), lang or "en", map_, json_)
    rows = [row.to_dict() for row in session(profile, sets, offline).models()]
    if json_:
        for row in rows:
            output.emit_json(row)
        return
    from rich.table import Table

    t = Table(title="fmkit models (* = used by the active profile)", title_justify="left")
    t.add_column("alias", no_wrap=True)  # typed back as --model ALIAS: never cut
    t.add_column("size", no_wrap=True, justify="right")
    t.add_column("here", no_wrap=True)
    t.add_column("what (family; where it comes from)", overflow="fold")  # hub ids are copied too: fold, never "..."
    for r in rows:
        what = (f"{output.escape(r['description'])} [dim]({r['family']})[/dim]\n"
                f"[dim]{r['kind']}: {output.escape(r['source'])}[/dim]")
        t.add_row(("* " if r["profile_uses"] else "  ") + output.escape(r["alias"]),
                  f"{r['size_mb']} MB" if r["size_mb"] else "?",
                  "[green]yes[/green]" if r["present"] else "[dim]no[/dim]", what)
    output.stdout_console().print(t)


def _model_map(fk, lang: str, map_: bool, json_: bool) -> None:
    """`fmkit models --map`: the course's model families, one JSON object or table row each."""
    from fmkit.errors import BadInput

    if not map_:
        raise BadInput("--lang is for the map", "add --map: fmkit models --map --lang " + lang)
    rows = fk.model_map(lang=lang)
    if json_:
        for row in rows:
            output.emit_json(row.to_dict())
        return
    from fmkit.render.model_map import map_table

    console = output.stdout_console()
    console.print(map_table(rows, lang, console.width))


@fmkit_command
def pull(
    names: Annotated[Optional[list[str]], typer.Argument(metavar="[ALIAS|HUB_ID]...",
                                                         help="Models to fetch (default: the active profile's).")] = None,
    profile: ProfileOpt = None, sets: SetOpt = None, offline: OfflineOpt = False,
    json_: JsonOpt = False, quiet: QuietOpt = False,
) -> None:
    """Download models into the cache now, so lessons later work with no network."""
    from fmkit import environment

    fk = session(profile, sets, offline, quiet=quiet or json_)  # "pulling ..." notices on stderr
    # After the Session (its own prepare() hides Hugging Face's bars): a hub download shows its progress.
    environment.prepare(offline=offline, download_progress=not (quiet or json_))
    failed = 0
    quiet = quiet or json_

    def download_bar(description: str, total: int | None):
        return output.progress_bar(description, total, quiet=quiet, unit="bytes")

    for pulled in fk.pull(names, progress=download_bar):
        if json_:
            output.emit_json(pulled.to_dict())
        elif pulled.error is not None:
            output.print_error(pulled.error)
        else:
            output.stdout_console().print(f"{output.escape(pulled.model)}: {pulled.status} "
                                          f"[dim]{output.escape(str(pulled.path))}[/dim]")
        failed += pulled.error is not None
    if failed:
        raise typer.Exit(1)
