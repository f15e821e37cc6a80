"""Attention heatmaps as PNG with matplotlib: one head, every head of a layer, or every layer."""

from __future__ import annotations

from fmkit.bert.attention import AttentionResult
from fmkit.render.png import PALETTE, figure, save_png, style_axes, style_colorbar  # noqa: F401 (save_png: re-export)

CMAPS = {"light": "Blues", "dark": "magma"}


def head_figure(result: AttentionResult, layer: int, head: int, theme: str = "light"):
    """One head: rows are attending tokens, columns the tokens attended to, with labels."""
    n = len(result.tokens)
    size = max(4.0, min(16.0, 2.5 + n * 0.28))
    fig = figure(theme, size + 1.2, size)
    ax = fig.add_subplot()
    im = ax.imshow(result.attentions[layer, head], cmap=CMAPS[theme], vmin=0, vmax=1)
    ax.set_xticks(range(n), result.tokens, rotation=90, fontsize=8)
    ax.set_yticks(range(n), result.tokens, fontsize=8)
    ax.set_xlabel("attended to (key)")
    ax.set_ylabel("attending (query)")
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
    labels = len(layers) == 1 and len(result.tokens) <= 24
    cell = 3.0 if labels else 1.3
    fig = figure(theme, cols * cell + 0.8, rows * cell + 0.6)
    axes = fig.subplots(rows, cols, squeeze=False)
    for ax in axes.flat:
        ax.axis("off")
    for i, (layer, head) in enumerate(cells):
        ax = axes.flat[i]
        ax.axis("on")
        im = ax.imshow(result.attentions[layer, head], cmap=CMAPS[theme], vmin=0, vmax=1)
        ax.set_xticks([]), ax.set_yticks([])
        if labels:
            n = len(result.tokens)
            ax.set_xticks(range(n), result.tokens, rotation=90, fontsize=6)
            ax.set_yticks(range(n), result.tokens, fontsize=6)
        ax.set_title(f"L{layer} H{head}", fontsize=8)
        style_axes(ax, theme)
    style_colorbar(fig.colorbar(im, ax=axes, shrink=0.6, label="attention (row = query, column = key)"), theme)
    what = f"layer {layers[0]}, all heads" if len(layers) == 1 else "all layers (rows) x heads (columns)"
    fig.suptitle(f"{result.model}: {what}", color=PALETTE[theme]["fg"])
    return fig

