"""Positional encodings as a PNG: the [position x dimension] heatmap, plus curves of a few
dimensions (--dims) against position. matplotlib's object API only (no pyplot, no GUI)."""

from __future__ import annotations

from pathlib import Path

from fmkit.bert.positional import PositionalResult


def figure(result: PositionalResult, theme: str = "light"):
    from matplotlib.figure import Figure

    import numpy as np

    rows = 2 if result.dims else 1
    fig = Figure(figsize=(10, 4.2 * rows), dpi=100, layout="constrained")
    fg = "#e6edf3" if theme == "dark" else "black"
    if theme == "dark":
        fig.set_facecolor("#0d1117")
    axes = fig.subplots(rows, 1, squeeze=False)[:, 0]
    limit = result.scale
    im = axes[0].imshow(result.matrix, aspect="auto", cmap="RdBu_r", vmin=-limit, vmax=limit,
                        interpolation="nearest")
    axes[0].set_xlabel("dimension")
    axes[0].set_ylabel("position")
    what = ("sinusoidal positional encoding (Attention Is All You Need)" if result.kind == "sinusoidal"
            else f"{result.model}: learned position embeddings")
    axes[0].set_title(f"{what}, {result.length} positions x {result.dim} dims", color=fg)
    fig.colorbar(im, ax=axes[0], label="value", extend="neither" if result.kind == "sinusoidal" else "both")
    if result.dims:
        ax = axes[1]
        for d in result.dims:
            ax.plot(np.arange(result.length), result.matrix[:, d], label=f"dim {d}")
        ax.set_xlabel("position")
        ax.set_ylabel("value")
        ax.set_title("selected dimensions" + (": even = sin, odd = cos" if result.kind == "sinusoidal" else ""),
                     color=fg)
        ax.legend(loc="upper right", fontsize=8)
        ax.grid(alpha=0.3)
    if theme == "dark":
        for ax in axes:
            ax.set_facecolor("#161b22")
            ax.tick_params(colors=fg)
            ax.xaxis.label.set_color(fg)
            ax.yaxis.label.set_color(fg)
    return fig


def save_png(fig, path: Path) -> None:
    fig.savefig(path, format="png", facecolor=fig.get_facecolor())
