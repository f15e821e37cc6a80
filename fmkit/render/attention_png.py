"""Attention heatmaps as PNG with matplotlib: one head, every head of a layer, or every layer."""

from __future__ import annotations

from typing import TYPE_CHECKING

from fmkit.render.png import PALETTE, figure, style_axes, style_colorbar

if TYPE_CHECKING:
    from fmkit.bert.attention import AttentionResult

CMAPS = {"light": "Blues", "dark": "magma"}
QUERY_LABEL = "query (row): the attending token"
KEY_LABEL = "key (column): the token attended to"


def norm():
    """Square-root colour scale over 0..1: a head that spreads its attention (weights ~0.02-0.1 over
    64 tokens) stays visible instead of near-white; the colourbar shows the true values."""
    from matplotlib.colors import PowerNorm

    return PowerNorm(gamma=0.5, vmin=0, vmax=1)


def head_figure(result: AttentionResult, layer: int, head: int, theme: str = "light"):
    """One head: rows are attending tokens, columns the tokens attended to, with labels."""
    n = len(result.tokens)
    size = max(4.0, min(16.0, 2.5 + n * 0.28))
    fig = figure(theme, size + 1.2, size)
    ax = fig.add_subplot()
    im = ax.imshow(result.attentions[layer, head], cmap=CMAPS[theme], norm=norm())
    ax.set_xticks(range(n), result.tokens, rotation=90, fontsize=8)
    ax.set_yticks(range(n), result.tokens, fontsize=8)
    ax.set_xlabel(KEY_LABEL)
    ax.set_ylabel(QUERY_LABEL)
    ax.set_title(f"{result.model}: layer {layer}, head {head}")
    style_axes(ax, theme)
    style_colorbar(fig.colorbar(im, ax=ax, shrink=0.8, label="attention"), theme)
    return fig


def grid_figure(result: AttentionResult, layers: list[int], theme: str = "light"):
    """Small multiples: one row per layer, one column per head (a layer's heads wrap into rows)."""
    heads = result.heads
    if len(layers) == 1:
        cols = min(heads, 4)
        rows = -(-heads // cols)
        cells = [(layers[0], h) for h in range(heads)]
    else:
        cols, rows = heads, len(layers)
        cells = [(layer, h) for layer in layers for h in range(heads)]
    n = len(result.tokens)
    # Panels grow with the tokens (about 0.06 in per token for one layer, 0.04 for every layer), so a
    # 64-token input does not shrink into near-blank squares; token labels go on the left column
    # and the bottom row, in a font that fits one token per row.
    if len(layers) == 1:
        cell = min(5.0, max(2.2, 0.8 + 0.06 * n))
    else:
        cell = min(3.0, max(1.3, 0.6 + 0.04 * n))
    labels = n <= 96
    fontsize = max(3.5, min(8.0, cell * 72 / max(n, 1) * 0.75))
    margin = (0.25 + 0.07 * fontsize * max((len(t) for t in result.tokens), default=1) / 8) if labels else 0.3
    fig = figure(theme, cols * cell + 1.2 + margin, rows * cell + 1.0 + margin)
    axes = fig.subplots(rows, cols, squeeze=False)
    for ax in axes.flat:
        ax.axis("off")
    for i, (layer, head) in enumerate(cells):
        ax = axes.flat[i]
        ax.axis("on")
        im = ax.imshow(result.attentions[layer, head], cmap=CMAPS[theme], norm=norm())
        ax.set_xticks([]), ax.set_yticks([])
        row, col = divmod(i, cols)
        if labels and col == 0:
            ax.set_yticks(range(n), result.tokens, fontsize=fontsize)
        if labels and (row == rows - 1 or i + cols >= len(cells)):
            ax.set_xticks(range(n), result.tokens, rotation=90, fontsize=fontsize)
        ax.set_title(f"L{layer} H{head}", fontsize=8)
        style_axes(ax, theme)
    fg = PALETTE[theme]["fg"]
    fig.supxlabel(KEY_LABEL, color=fg, fontsize=9)
    fig.supylabel(QUERY_LABEL, color=fg, fontsize=9)
    style_colorbar(fig.colorbar(im, ax=axes, shrink=0.6, label="attention (row = query, column = key)"), theme)
    what = f"layer {layers[0]}, all heads" if len(layers) == 1 else "all layers (rows) x heads (columns)"
    fig.suptitle(f"{result.model}: {what}", color=PALETTE[theme]["fg"])
    return fig

