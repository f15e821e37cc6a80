"""A matrix drawn in the terminal as a rich table of coloured cells (attention, positional encodings).

Light theme: white -> blue; dark: near-black -> orange. Values print in the cells while the
matrix is narrow enough to read; wider ones become shaded blocks (░▒▓█, coloured on a terminal).
"""

from __future__ import annotations

from typing import Sequence

_SHADES = " ░▒▓█"
_SCALES = {"light": ((255, 255, 255), (8, 48, 107)), "dark": ((22, 27, 34), (255, 166, 87))}


def _colour(t: float, theme: str) -> str:
    t = min(max(t, 0.0), 1.0)
    lo, hi = _SCALES[theme]
    r, g, b = (round(a + (c - a) * t) for a, c in zip(lo, hi))
    return f"#{r:02x}{g:02x}{b:02x}"


def heatmap(values, row_labels: Sequence[str], col_labels: Sequence[str], title: str, caption: str = "",
            theme: str = "light", vmin: float = 0.0, vmax: float = 1.0, width: int = 80):
    """A rich renderable (title, table, caption) for `values` (rows x cols array-like), scaled vmin..vmax."""
    from rich.console import Group
    from rich.markup import escape
    from rich.table import Table
    from rich.text import Text

    rows, cols = len(row_labels), len(col_labels)
    label_w = min(12, max((len(s) for s in row_labels), default=1))
    numbers = cols * 6 + label_w + 6 <= width
    t = Table(box=None, padding=(0, 0), pad_edge=False, show_header=True)
    t.add_column("", justify="left", style="bold", no_wrap=True)
    for j, label in enumerate(col_labels):
        header = escape(label[:5]) if numbers else (str(j % 10) if j % 5 == 0 else "")
        t.add_column(header, justify="center", no_wrap=True, min_width=6 if numbers else 2)
    span = (vmax - vmin) or 1.0
    for i in range(rows):
        cells = []
        for j in range(cols):
            v = float(values[i][j])
            t_ = (v - vmin) / span
            fg = "black" if (t_ < 0.5) == (theme == "light") else "white"
            if numbers:
                text = f"{v:.2f}".replace("0.", ".", 1) if abs(v) < 1 else f"{v:.2f}"
                cells.append(f"[{fg} on {_colour(t_, theme)}]{text:^6}[/]")
            else:  # shade glyphs stay readable where colour is off (pipes, NO_COLOR)
                glyph = _SHADES[min(len(_SHADES) - 1, int(max(t_, 0.0) * len(_SHADES)))]
                cells.append(f"[{_colour(max(t_, 0.15), theme)}]{glyph * 2}[/]")
        t.add_row(escape(f"{i:>{len(str(rows - 1))}} {row_labels[i]}"[: label_w + 4]) + " ", *cells)
    # Title and caption outside the table: a narrow table would wrap them into a column.
    return Group(Text.from_markup(title, style="bold"), t, Text.from_markup(caption, style="dim"))
