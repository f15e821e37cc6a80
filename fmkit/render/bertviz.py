"""bertviz's own views (head view, model view) as an HTML file, for people online or in notebooks.

bertviz's HTML loads require.js, d3 and jquery from a CDN, so it renders blank offline (fmkit's
own viewer in attention_html.py does not). bertviz 1.4 returns the HTML only with
html_action='return' (an IPython HTML object: `.data`); the default action returns None.

bertviz pastes its parameters (our tokens) into a <script> with plain json.dumps, so a token
holding "</script>" would end that script early and inject HTML. While it renders, its modules'
`json` is swapped for one whose dumps escapes <, > and & as \\u003c... (same values in JS).
"""

from __future__ import annotations

import contextlib
import json
import types
from typing import TYPE_CHECKING

from fmkit.render.inline import script_json

if TYPE_CHECKING:
    from fmkit.bert.attention import AttentionResult


@contextlib.contextmanager
def _script_safe_json(*modules):
    safe = types.SimpleNamespace(dumps=lambda obj, **kw: script_json(obj, compact=False), loads=json.loads)
    saved = [m.json for m in modules]
    try:
        for m in modules:
            m.json = safe
        yield
    finally:
        for m, j in zip(modules, saved):
            m.json = j


def bertviz_html(result: AttentionResult, view: str, layer: int, head: int | None, theme: str = "light") -> str:
    """A standalone page with bertviz's head view ('head') or model view ('model')."""
    import importlib

    import torch

    # bertviz/__init__ re-exports the functions under the modules' names: fetch the modules.
    head_mod = importlib.import_module("bertviz.head_view")
    model_mod = importlib.import_module("bertviz.model_view")
    attention = [torch.from_numpy(result.attentions[i][None]) for i in range(result.layers)]
    tokens = list(result.tokens)
    with _script_safe_json(head_mod, model_mod):
        if view == "model":
            page = model_mod.model_view(attention, tokens, display_mode=theme, html_action="return").data
        else:
            page = head_mod.head_view(attention, tokens, layer=layer, heads=None if head is None else [head],
                                      html_action="return").data
    title = "fmkit attention (bertviz {} view)".format(view)
    return (f"<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>{title}</title></head>\n"
            f"<body style=\"background:{'#fff' if theme == 'light' else '#111'}\">\n"
            "<p style=\"font-family:sans-serif;color:#888\">bertviz loads require.js, d3 and jquery from a CDN: "
            "this page needs the internet. For offline use, write .html without --format bertviz.</p>\n"
            f"{page}\n</body></html>\n")
