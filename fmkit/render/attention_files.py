"""Saving an attention result: the format from the suffix (or asked for), one writer for all.

    .html  fmkit's offline viewer (every layer and head)      format="bertviz": bertviz's head view
    .png   one head (head=H), a layer's heads, or all_layers   format="bertviz-model": its model view
"""

from __future__ import annotations

from pathlib import Path

from fmkit.errors import BadInput
from fmkit.options import option

FORMATS = ("auto", "html", "png", "bertviz", "bertviz-model")
SUFFIXES = {".html": "html", ".htm": "html", ".png": "png"}


def choose_format(path: str | Path | None, fmt: str = "auto") -> str | None:
    """The file format for `path` (None: no file, draw in the terminal)."""
    if fmt not in FORMATS:
        raise BadInput(f"unknown {option('format', fmt)}", "one of " + ", ".join(FORMATS))
    if path is None:
        if fmt != "auto":
            raise BadInput(f"{option('format', fmt)} writes a file", f"add {option('output', 'PATH')}")
        return None
    if fmt != "auto":
        return fmt
    found = SUFFIXES.get(Path(path).suffix.lower())
    if found is None:
        raise BadInput(f"cannot tell the format of '{Path(path).name}' from its suffix",
                       f"use .html or .png, or {option('format')}")
    return found


def check_request(kind: str | None, layer: int | None, head: int | None, all_layers: bool) -> None:
    """Requests that are wrong whatever the model: checked before it loads."""
    for name, value in (("--layer", layer), ("--head", head)):
        if value is not None and value < 0:
            raise BadInput(f"{name} {value} is negative", "layers and heads count from 0")
    if all_layers and kind not in ("png", None):
        raise BadInput(f"{option('all')} draws a PNG grid",
                       f"use {option('output', 'FILE.png')}, or leave {option('all')} out (the HTML shows every head)")


def save(result, path: str | Path, layer: int | None = None, head: int | None = None, *, format: str = "auto",
         all_layers: bool = False, theme: str = "light", force: bool = False) -> str:
    """Write `result` to `path` atomically; returns the format written."""
    from fmkit.io.local import atomic_write, check_writable

    kind = choose_format(path, format)
    check_request(kind, layer, head, all_layers)
    path = check_writable(path, force)
    chosen_layer, chosen_head = result.check_layer(layer), result.check_head(head)
    if kind == "html":
        from fmkit.render.attention_html import render_html

        atomic_write(path, render_html(result, chosen_layer, chosen_head, theme), force)
    elif kind in ("bertviz", "bertviz-model"):
        from fmkit.render.bertviz import bertviz_html

        atomic_write(path, bertviz_html(result, "model" if kind == "bertviz-model" else "head", chosen_layer, head,
                                        theme), force)
    else:
        from fmkit.render.attention_png import grid_figure, head_figure
        from fmkit.render.png import save_png

        if all_layers:
            fig = grid_figure(result, list(range(result.layers)), theme)
        elif head is not None:
            fig = head_figure(result, chosen_layer, chosen_head, theme)
        else:
            fig = grid_figure(result, [chosen_layer], theme)
        atomic_write(path, lambda tmp: save_png(fig, tmp), force)
    return kind


def describe(result, kind: str, layer: int | None, head: int | None, all_layers: bool) -> str:
    """What the file holds, in words, for the 'wrote ...' line (it must not claim more than that)."""
    n = f"{len(result.tokens)} tokens"
    if kind != "png":
        return f"{kind}, {result.layers} layers x {result.heads} heads, {n}"
    if all_layers:
        return f"png, all {result.layers} layers x {result.heads} heads, {n}"
    chosen = result.check_layer(layer)
    if head is not None:
        return f"png, layer {chosen} head {head}, {n}"
    return f"png, layer {chosen}: {result.heads} heads, {n}"
