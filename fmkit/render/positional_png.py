"""Positional encodings as a PNG: the [position x dimension] heatmap, plus curves of a few
dimensions (--dims) against position."""

from __future__ import annotations

from fmkit.bert.positional import PositionalResult
from fmkit.render import png


def figure(result: PositionalResult, theme: str = "light"):
    import numpy as np

    rows = 2 if result.dims else 1
    fig = png.figure(theme, 10, 4.2 * rows)
    fg = png.PALETTE[theme]["fg"]
    axes = fig.subplots(rows, 1, squeeze=False)[:, 0]
    limit = result.scale
    im = axes[0].imshow(result.matrix, aspect="auto", cmap="RdBu_r", vmin=-limit, vmax=limit,
                        interpolation="nearest")
    axes[0].set_xlabel("dimension")
    axes[0].set_ylabel("position")
    what = ("sinusoidal positional encoding (Attention Is All You Need)" if result.kind == "sinusoidal"
            else f"{result.model}: learned position embeddings")
    title = f"{what}, {result.length} positions x {result.dim} dims"
    if result.kind == "sinusoidal":
        title += "\ncolumns interleave: dim 2i = sin(pos / 10000^(2i/d)), dim 2i+1 = cos of the same angle"
    axes[0].set_title(title, color=fg)
    png.style_colorbar(fig.colorbar(im, ax=axes[0], label="value",
                                    extend="neither" if result.kind == "sinusoidal" else "both"), theme)
    if result.dims:
        ax = axes[1]
        positions = np.arange(result.length)
        for d in result.dims:
            if result.kind == "sinusoidal":  # the function itself, smooth between the integer positions
                fine = np.linspace(0, result.length - 1, max(400, 20 * result.length))
                line, = ax.plot(fine, _sinusoid(fine, d, result.dim), label=f"dim {d} ({'cos' if d % 2 else 'sin'})")
                ax.plot(positions, result.matrix[:, d], "o", markersize=2.5, color=line.get_color())
            else:
                ax.plot(positions, result.matrix[:, d], label=f"dim {d}")
        ax.set_xlabel("position")
        ax.set_ylabel("value")
        ax.set_title("selected dimensions" + (" (dots: the integer positions a token can have)"
                                              if result.kind == "sinusoidal" else ""), color=fg)
        ax.legend(loc="upper right", fontsize=8)
        ax.grid(alpha=0.3)
    for ax in axes:
        png.style_axes(ax, theme)
    return fig



def _sinusoid(positions, d: int, dim: int):
    """Column d of the encoding as a function of a real-valued position (see bert/positional.py)."""
    import numpy as np

    from fmkit.bert.positional import BASE

    angle = positions / np.power(BASE, (d - d % 2) / dim)
    return np.cos(angle) if d % 2 else np.sin(angle)
