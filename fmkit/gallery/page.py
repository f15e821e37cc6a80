"""The gallery folder: index.html (the page, the same for every run in one language), manifest.js
(the data, `window.FMKIT_GALLERY = {...}`) and stamp.js (a few bytes the open page polls to know
when manifest.js changed).

A script file rather than JSON because Chrome refuses fetch() of local files opened from disk.
Write order is data first, page last, each file atomically: a reader never sees half a page,
and a page never points at data that is not there yet.
"""

from __future__ import annotations

import base64
import hashlib
import html
import json

from fmkit.gallery.i18n import strings
from fmkit.gallery.script import SCRIPT

MARKER = "fmkit gallery"  # in every file we write: we overwrite our own files, never someone else's

STYLE = """
:root { --bg: #f6f7f9; --fg: #1f2328; --muted: #656d76; --panel: #ffffff; --line: #d0d7de; --accent: #0969da; --warn: #b35900; }
* { box-sizing: border-box; }
body { margin: 0; background: var(--bg); color: var(--fg); font: 14px/1.45 system-ui, -apple-system, "Segoe UI", "Apple SD Gothic Neo", "Noto Sans KR", sans-serif; }
header, main, footer { max-width: 1400px; margin: 0 auto; padding: 0 20px; }
header { padding-top: 16px; }
h1 { font-size: 20px; margin: 0 0 2px; }
h3 { font-size: 14px; margin: 14px 0 6px; }
.muted { color: var(--muted); }
.small { font-size: 12px; }
.warn { color: var(--warn); }
.mono, .d.mono { font-family: ui-monospace, SFMono-Regular, Menlo, monospace; font-size: 12px; }
.line { display: flex; gap: 12px; flex-wrap: wrap; align-items: baseline; }
details#run { margin: 10px 0; background: var(--panel); border: 1px solid var(--line); border-radius: 8px; padding: 6px 12px; }
details#run summary { cursor: pointer; font-weight: 600; }
#run-body { display: flex; gap: 32px; flex-wrap: wrap; }
table { border-collapse: collapse; font-size: 13px; }
th, td { text-align: left; padding: 3px 10px 3px 0; border-bottom: 1px solid var(--line); vertical-align: top; }
th { color: var(--muted); font-weight: 600; }
td .d { word-break: break-word; }
.controls { position: sticky; top: 0; z-index: 5; background: var(--bg); padding: 10px 0 8px; border-bottom: 1px solid var(--line); }
.row { display: flex; gap: 18px; flex-wrap: wrap; align-items: center; margin: 4px 0; }
#chips { display: flex; gap: 6px; flex-wrap: wrap; }
.chip { font: inherit; font-size: 13px; border: 1px solid var(--line); background: var(--panel); color: var(--fg); border-radius: 999px;
        padding: 2px 10px; cursor: pointer; display: inline-flex; gap: 6px; align-items: center; }
.chip.on { border-color: var(--accent); background: #ddf4ff; }
.chip.zero { opacity: .5; }
.chip .n { color: var(--muted); font-variant-numeric: tabular-nums; }
.sw { display: inline-block; width: 10px; height: 10px; border-radius: 2px; }
.lab { display: inline-flex; gap: 5px; align-items: center; }
input[type=range] { width: 180px; vertical-align: middle; }
#conf-val { font-variant-numeric: tabular-nums; display: inline-block; width: 3em; }
select, button { font: inherit; }
.pager { display: flex; gap: 10px; align-items: center; margin: 10px 0; }
#grid { display: grid; grid-template-columns: repeat(auto-fill, minmax(230px, 1fr)); gap: 14px; align-items: start; }
.card { margin: 0; background: var(--panel); border: 1px solid var(--line); border-radius: 8px; overflow: hidden; cursor: pointer; }
.card:hover, .card:focus { outline: 2px solid var(--accent); }
.card.problem { border-color: #e3b341; }
.frame { position: relative; width: 100%; height: 210px; background: #eaeef2; }
.frame img { display: block; width: 100%; height: 100%; object-fit: contain; }
.frame .ov { position: absolute; inset: 0; width: 100%; height: 100%; overflow: visible; pointer-events: none; }
.frame .ov rect { pointer-events: all; }
.frame .ov rect:hover { fill-opacity: 0.25; }
.frame.broken, .frame.noimg { display: flex; align-items: center; justify-content: center; }
.frame.broken img { display: none; }
.frame .msg { color: var(--warn); padding: 8px; text-align: center; }
figcaption { padding: 6px 10px 8px; }
figcaption .name { font-weight: 600; overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }
.prompt { display: -webkit-box; -webkit-line-clamp: 2; -webkit-box-orient: vertical; overflow: hidden; }
.badge { display: inline-block; font-size: 11px; background: #fbefff; color: #8250df; border-radius: 4px; padding: 0 6px; }
#tip { position: fixed; z-index: 20; background: #1f2328; color: #fff; padding: 3px 8px; border-radius: 4px; font-size: 13px;
       pointer-events: none; white-space: nowrap; }
#view { position: fixed; inset: 0; z-index: 10; background: rgba(15, 20, 25, .7); display: flex; align-items: center; justify-content: center; }
#view[hidden], #tip[hidden] { display: none; }
#view .sheet { background: var(--panel); border-radius: 10px; width: min(1300px, 96vw); max-height: 94vh; overflow: auto; padding: 12px 16px; }
#view .top { display: flex; gap: 10px; align-items: center; }
#view-name { flex: 1; font-weight: 600; word-break: break-all; }
#view .body { display: flex; gap: 20px; flex-wrap: wrap; align-items: flex-start; margin-top: 8px; }
#view-pic { flex: 2 1 520px; }
#view-pic .frame { height: min(74vh, 820px); background: transparent; }
#view-info { flex: 1 1 320px; }
table.kv td:first-child { color: var(--muted); white-space: nowrap; }
tr.off { opacity: .4; }
footer { margin: 30px auto 20px; }
"""

PAGE = """<!DOCTYPE html>
<html lang="{lang}">
<head>
<meta charset="utf-8">
<meta name="generator" content="{marker}">
<meta http-equiv="Content-Security-Policy" content="{csp}">
<meta name="referrer" content="no-referrer">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<style>{style}</style>
</head>
<body>
<header>
<h1>{title}</h1>
<div class="line"><span id="summary">{loading}</span><span id="problems" class="warn"></span><span id="updated" class="muted"></span></div>
<div class="line muted"><span>{results_in} <span id="source" class="d mono"></span></span><span>{live}</span></div>
<div id="expiry"></div>
<noscript><p class="warn">{noscript}</p></noscript>
<details id="run"><summary>{run}</summary><div id="run-body"></div></details>
</header>
<main>
<div class="controls">
<div class="row"><div id="chips"></div></div>
<div class="row">
<label>{min_conf} <input id="conf" type="range" min="0" max="1" step="0.01" value="0"> <span id="conf-val"></span></label>
<label>{sort} <select id="sort"><option value="newest">{sort_newest}</option><option value="most">{sort_most}</option><option value="least">{sort_least}</option></select></label>
<label><input id="empty" type="checkbox"> {only_empty}</label>
<label><input id="boxes" type="checkbox" checked> {show_boxes}</label>
</div>
<div class="row muted"><span id="status"></span><span class="small">{hint}</span></div>
</div>
<div class="pager"><button type="button" class="prev">{prev}</button><span class="pageno"></span><button type="button" class="next">{next}</button></div>
<div id="grid"></div>
<div class="pager"><button type="button" class="prev">{prev}</button><span class="pageno"></span><button type="button" class="next">{next}</button></div>
</main>
<footer class="muted small">{footer}</footer>
<div id="view" hidden role="dialog" aria-modal="true" aria-labelledby="view-name">
<div class="sheet">
<div class="top"><span id="view-name" class="d"></span>
<button type="button" id="view-prev">{prev}</button><button type="button" id="view-next">{next}</button><button type="button" id="view-close">{close}</button></div>
<div class="body"><div id="view-pic"></div><div id="view-info"></div></div>
</div>
</div>
<div id="tip" hidden></div>
<script type="application/json" id="fmkit-strings">{strings}</script>
<script src="manifest.js"></script>
<script>{script}</script>
</body>
</html>
"""


def script_json(obj) -> str:
    """JSON that is safe inside <script> and in a .js file: no '<', '>', '&', U+2028/2029 left
    literally (the same rule as the attention viewer's)."""
    text = json.dumps(obj, ensure_ascii=False, separators=(",", ":"))
    return (text.replace("&", "\\u0026").replace("<", "\\u003c").replace(">", "\\u003e")
            .replace("\u2028", "\\u2028").replace("\u2029", "\\u2029"))


def _sha256(text: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode("utf-8")).digest()).decode("ascii") + "'"


def csp(image_origins: tuple[str, ...] = ()) -> str:
    """Only the page's own script (by hash) and the folder's own files ('self': manifest.js,
    stamp.js, the images); no fetch, no frames, no forms. `image_origins` adds the bucket's
    https origin when images are presigned URLs."""
    images = " ".join(("'self'", "data:", *image_origins))
    return ("default-src 'none'; "
            f"script-src 'self' {_sha256(SCRIPT)}; style-src {_sha256(STYLE)}; img-src {images}; "
            "connect-src 'none'; base-uri 'none'; form-action 'none'; object-src 'none'")


def render_index(lang: str, image_origins: tuple[str, ...] = ()) -> str:
    """index.html for `lang`: every word from i18n, the data left to manifest.js."""
    words = strings(lang)
    esc = {k: html.escape(v) for k, v in words.items()}
    return PAGE.format(lang=lang, marker=MARKER, csp=html.escape(csp(image_origins)), style=STYLE, script=SCRIPT,
                       strings=script_json(words), **esc)


def render_manifest(manifest: dict) -> str:
    return f"// {MARKER} data\nwindow.FMKIT_GALLERY = {script_json(manifest)};\n"


def render_stamp(stamp: str) -> str:
    return f"// {MARKER} stamp\nwindow.FMKIT_GALLERY_STAMP = {script_json(stamp)};\n"
