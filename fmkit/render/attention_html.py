"""fmkit's own attention viewer: ONE self-contained HTML file (inline CSS + JS, no CDN, no
notebook) that works offline in any browser. The page, its style and its script are package
files (assets/attention.html, .css, .js), filled in here.

Safety: user text reaches the page only as JSON inside <script type="application/json">, with
<, > and & written as \\u003c, \\u003e, \\u0026 (so "</script>" in the text cannot close the
block), and the page script puts it on screen with textContent, never innerHTML. A
Content-Security-Policy allows no network at all and only the page's own script (by hash), so
even a mistake here could not run an injected script or load anything.

Data: the attention tensor is sent as base64 of little-endian uint16 (value * 65535): 2.7 bytes
per number instead of ~8 as JSON text; bert-base at 64 tokens is ~1.6 MB.
"""

from __future__ import annotations

import base64
import html
from typing import TYPE_CHECKING

from fmkit.render.inline import asset, csp_hash, script_json

if TYPE_CHECKING:
    from fmkit.bert.attention import AttentionResult


def encode_attention(result: AttentionResult) -> str:
    """[layers, heads, n, n] probabilities -> base64 of little-endian uint16 (value * 65535)."""
    import numpy as np

    scaled = np.clip(np.rint(result.attentions.astype(np.float64) * 65535), 0, 65535).astype("<u2")
    return base64.b64encode(scaled.tobytes()).decode("ascii")


def render_html(result: AttentionResult, layer: int, head: int, theme: str = "light") -> str:
    """The whole viewer as one HTML string, opened on (layer, head)."""
    data = {"text": result.text, "model": result.model, "tokens": result.tokens, "layers": result.layers,
            "heads": result.heads, "layer": layer, "head": head, "theme": theme, "notes": result.notes,
            "attention_b64": encode_attention(result)}
    script, style = asset("fmkit.render", "attention.js"), asset("fmkit.render", "attention.css")
    title = result.text if len(result.text) <= 60 else result.text[:57] + "..."
    return asset("fmkit.render", "attention.html").format(script_hash=csp_hash(script), title=html.escape(title),
                                                           style=style, data=script_json(data, compact=False),
                                                           script=script)
