"""What every matplotlib picture shares: the two themes' colours, a figure, axes styling, saving.

matplotlib's object API only (Figure + Agg canvas), never pyplot: no GUI backend, no global
figure state, nothing left open between calls.
"""

from __future__ import annotations

import io
from pathlib import Path

# light / dark: page background, panel background, text, muted lines. The HTML viewer and the
# terminal heatmap use the same dark palette (GitHub's dark colours).
PALETTE = {
    "light": {"bg": "#ffffff", "panel": "#ffffff", "fg": "#000000", "muted": "#6e7781"},
    "dark": {"bg": "#0d1117", "panel": "#161b22", "fg": "#e6edf3", "muted": "#8d96a0"},
}


def figure(theme: str, width: float, height: float):
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), dpi=100, layout="constrained")
    fig.set_facecolor(PALETTE[theme]["bg"])
    return fig


def style_axes(ax, theme: str) -> None:
    """Text, ticks and frame in the theme's colours (a no-op look for light)."""
    colours = PALETTE[theme]
    ax.set_facecolor(colours["panel"])
    ax.tick_params(colors=colours["fg"])
    ax.title.set_color(colours["fg"])
    ax.xaxis.label.set_color(colours["fg"])
    ax.yaxis.label.set_color(colours["fg"])
    for spine in ax.spines.values():
        spine.set_color(colours["muted"])


def style_colorbar(cbar, theme: str) -> None:
    fg = PALETTE[theme]["fg"]
    cbar.ax.tick_params(colors=fg)
    cbar.ax.yaxis.label.set_color(fg)


def save_png(fig, path: Path) -> None:
    fig.savefig(path, format="png", facecolor=fig.get_facecolor())


def png_bytes(fig) -> bytes:
    """The figure as PNG bytes (notebook display)."""
    buffer = io.BytesIO()
    save_png(fig, buffer)
    return buffer.getvalue()
