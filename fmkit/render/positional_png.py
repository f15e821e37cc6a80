"""Positional encodings as a PNG: the [position x dimension] heatmap, plus curves of a few
dimensions (--dims) against position. Draws what the result holds (its matrix and curves);
computes nothing about positions itself."""

from __future__ import annotations

from typing import TYPE_CHECKING

from fmkit.render import png

if TYPE_CHECKING:
    from fmkit.bert.positional import PositionalResult


def figure(result: PositionalResult, theme: str = "light"):
    rows = 2 if result.curves else 1
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
    if result.curves:
        ax = axes[1]
        for curve in result.curves:
            line, = ax.plot(curve.x, curve.y, label=curve.label)
            if curve.dots is not None:  # the values a token at position 0, 1, ... actually gets
                ax.plot(range(len(curve.dots)), curve.dots, "o", markersize=2.5, color=line.get_color())
        ax.set_xlabel("position")
        ax.set_ylabel("value")
        dots = any(curve.dots is not None for curve in result.curves)
        ax.set_title("selected dimensions" + (" (dots: the integer positions a token can have)" if dots else ""),
                     color=fg)
        ax.legend(loc="upper right", fontsize=8)
        ax.grid(alpha=0.3)
    for ax in axes:
        png.style_axes(ax, theme)
    return fig

