"""How results show themselves in Jupyter (the `_repr_*` hooks call these).

Every string that comes from data (texts, tokens, prompts, labels, file names) is escaped.
The attention viewer is the same self-contained page as `fmkit attention -o x.html`, shown in
an `<iframe srcdoc>` with `sandbox="allow-scripts"`: its Content-Security-Policy still applies,
its script runs in its own document (so two viewers in one notebook never share ids or state),
and it works the same in JupyterLab and the classic Notebook.
"""

from __future__ import annotations

import base64
import html
from typing import Any

_TABLE_STYLE = "border-collapse:collapse;font-family:monospace;font-size:12px"
_CELL = "padding:2px 8px;border-bottom:1px solid #d0d7de;text-align:left"


def _table(headers: list[str], rows: list[list[Any]], caption: str = "") -> str:
    head = "".join(f'<th style="{_CELL}">{html.escape(h)}</th>' for h in headers)
    body = "".join("<tr>" + "".join(f'<td style="{_CELL}">{html.escape(str(c))}</td>' for c in row) + "</tr>"
                   for row in rows)
    cap = f'<caption style="text-align:left;font-weight:bold">{html.escape(caption)}</caption>' if caption else ""
    return f'<table class="fmkit" style="{_TABLE_STYLE}">{cap}<tr>{head}</tr>{body}</table>'


def _img(png: bytes, alt: str, width: int | None = None) -> str:
    size = f' width="{width}"' if width else ""
    return (f'<img alt="{html.escape(alt, quote=True)}"{size} '
            f'src="data:image/png;base64,{base64.b64encode(png).decode("ascii")}">')


# --- BERT ---------------------------------------------------------------------------------


def tokens_html(item) -> str:
    """The tokens table of `fmkit tokenize`: position, token, id, span, text, kind."""
    kinds = item.continuation
    rows = []
    for i, (token, tid, (a, b), sp) in enumerate(zip(item.tokens, item.ids, item.offsets, item.special)):
        kind = "special" if sp else ("## continuation" if kinds[i] else "word")
        row = [i, token, tid, "" if sp else f"{a}:{b}", item.span_text(i)]
        if item.segments is not None:
            row.append(item.segments[i])
        rows.append(row + [kind])
    headers = ["#", "token", "id", "span", "text"] + (["segment"] if item.segments is not None else []) + ["kind"]
    caption = f"{item.text}" + (f"  +  {item.pair}" if item.pair is not None else "") + \
        f"  ({item.model}: {len(item.ids)} tokens)"
    return _table(headers, rows, caption)


def attention_iframe(result, layer: int | None = None, head: int | None = None, theme: str | None = None,
                     height: int | None = None) -> str:
    """The offline viewer for `result`, isolated in a sandboxed iframe (see the module docstring);
    tall enough for its tokens (the viewer's lines view grows with them)."""
    from fmkit.render.attention_html import render_html

    height = height or min(1100, 460 + 26 * len(result.tokens))
    page = render_html(result, result.check_layer(layer), result.check_head(head),
                       theme or getattr(result, "theme", "light"))
    return (f'<iframe class="fmkit-attention" sandbox="allow-scripts" style="width:100%;box-sizing:border-box;'
            f'height:{height}px;border:1px solid #d0d7de;border-radius:6px" srcdoc="{html.escape(page, quote=True)}"></iframe>')


def positional_png(result) -> bytes:
    from fmkit.render.png import png_bytes
    from fmkit.render.positional_png import figure

    return png_bytes(figure(result, getattr(result, "theme", "light")))


# --- generate -----------------------------------------------------------------------------


def generation_html(g) -> str:
    return (f'<div class="fmkit-generation" style="font-family:sans-serif;max-width:60em">'
            f'<b>{html.escape(g.prompt)}</b>{html.escape(g.text)}'
            f'<div style="color:#656d76;font-size:11px">{html.escape(g.model)} · seed {g.seed} · '
            f'{g.new_tokens} tokens · {g.tokens_per_second:.1f} tokens/s</div></div>')


# --- diffuse ------------------------------------------------------------------------------


def diffuse_bundle(result) -> dict[str, Any]:
    """The image (image/png) and, for people, the image with its parameters (text/html)."""
    import io

    if result.image is None:
        text = f"{result.prompt!r}, seed {result.seed}: flagged by the safety checker, no image"
        return {"text/plain": text, "text/html": f"<p>{html.escape(text)}</p>"}
    buffer = io.BytesIO()
    result.image.save(buffer, format="PNG")
    png = buffer.getvalue()
    params = {**result.params, "seed": result.seed, "model": result.model, "seconds": round(result.seconds, 2),
              "strategy": result.strategy}
    table = _table(["parameter", "value"], [[k, v] for k, v in params.items()], result.prompt)
    page = f'<div class="fmkit-diffuse" style="display:flex;gap:16px;align-items:flex-start">' \
           f'{_img(png, result.prompt)}{table}</div>'
    return {"image/png": base64.b64encode(png).decode("ascii"), "text/html": page,
            "text/plain": f"DiffuseResult({result.prompt!r}, seed={result.seed}, path={result.path!r})"}


# --- detect -------------------------------------------------------------------------------


def detect_bundle(result, max_rows: int = 50) -> dict[str, Any]:
    """The image with its boxes drawn (read again from its source) and the detections table."""
    plain = f"DetectResult({result.source!r}, {len(result.detections)} objects)"
    if not result.ok:
        text = f"{result.source}: {result.error}"
        return {"text/plain": text, "text/html": f'<p style="color:#cf222e">{html.escape(text)}</p>'}
    rows = [[d.label, f"{d.confidence:.2f}", f"{d.x1:.0f}", f"{d.y1:.0f}", f"{d.x2:.0f}", f"{d.y2:.0f}"]
            for d in result.detections[:max_rows]]
    caption = f"{result.source}: {result.width}x{result.height}, {len(result.detections)} objects ({result.model})"
    table = _table(["class", "conf", "x1", "y1", "x2", "y2"], rows, caption)
    return _picture_beside(table, _annotated_png(result), result, plain, "fmkit-detect")


def _picture_beside(table: str, png: bytes | None, result, plain: str, css_class: str) -> dict[str, Any]:
    """An image result's bundle: the drawn picture (when the source could be read again) beside its table."""
    bundle = {"text/plain": plain}
    if png is not None:
        bundle["image/png"] = base64.b64encode(png).decode("ascii")
        table = f'<div class="{css_class}">{_img(png, result.source, min(result.width or 640, 640))}{table}</div>'
    bundle["text/html"] = table
    return bundle


def _annotated_png(result) -> bytes | None:
    """The boxes drawn over the source, read again; None when it cannot be read."""
    from fmkit.render.detections import annotate

    names = {d.class_id: d.label for d in result.detections}
    return _drawn_png(result, lambda image: annotate(image, result.detections, names, ".png"))


def _drawn_png(result, draw) -> bytes | None:
    """Read a result's source again (local or bucket) and `draw(pixels)` over it; None when it
    cannot be read (the notebook still shows the table)."""
    from fmkit.io.images import ImageError, decode

    if result.origin is None:
        return None
    try:
        image = decode(result.origin)
    except (ImageError, OSError):
        return None
    return draw(image)


# --- segment ------------------------------------------------------------------------------


def segment_bundle(result, max_rows: int = 50) -> dict[str, Any]:
    """The image with its masks drawn (read again from its source) and the table of masks."""
    if not result.ok:
        text = f"{result.source}: {result.error}"
        return {"text/plain": text, "text/html": f'<p style="color:#cf222e">{html.escape(text)}</p>'}
    rows = [[m.id, m.label or "", f"{m.score:.2f}", m.area, ",".join(f"{v:.0f}" for v in m.box), m.prompt["type"]]
            for m in result.masks[:max_rows]]
    caption = f"{result.source}: {result.width}x{result.height}, {len(result.masks)} masks ({result.model})"
    table = _table(["#", "label", "score", "area", "box", "prompt"], rows, caption)
    return _picture_beside(table, _masked_png(result), result,
                           f"SegmentResult({result.source!r}, {len(result.masks)} masks)", "fmkit-segment")


def _masked_png(result) -> bytes | None:
    """The masks drawn over the source, read again; None when it cannot be read."""
    from fmkit.render.masks import annotate

    return _drawn_png(result, lambda image: annotate(image, result.masks, ".png"))
