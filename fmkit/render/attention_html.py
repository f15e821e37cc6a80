"""fmkit's own attention viewer: ONE self-contained HTML file (inline CSS + JS, no CDN, no
notebook) that works offline in any browser.

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
import hashlib
import html
import json

from fmkit.bert.attention import AttentionResult

STYLE = """
:root { --bg: #ffffff; --fg: #1f2328; --muted: #656d76; --panel: #f6f8fa; --line: 31, 111, 235; --sel: #fb8c00; }
.dark { --bg: #0d1117; --fg: #e6edf3; --muted: #8d96a0; --panel: #161b22; --line: 88, 166, 255; --sel: #ffa657; }
body { margin: 0; background: var(--bg); color: var(--fg); font: 14px/1.4 system-ui, -apple-system, "Segoe UI", sans-serif; }
main { max-width: 1100px; margin: 0 auto; padding: 16px 24px 40px; }
h1 { font-size: 18px; margin: 0 0 4px; }
#text { font-size: 16px; margin: 0 0 4px; white-space: pre-wrap; word-break: break-word; }
.muted { color: var(--muted); }
.note { color: #b35900; }
.controls { display: flex; gap: 16px; align-items: center; flex-wrap: wrap; margin: 12px 0; padding: 8px 12px;
            background: var(--panel); border-radius: 6px; }
select { font: inherit; }
.views { display: flex; gap: 32px; flex-wrap: wrap; align-items: flex-start; }
.tok { cursor: default; font-family: ui-monospace, SFMono-Regular, Menlo, monospace; font-size: 13px; }
svg text { fill: var(--fg); }
svg text.hot { fill: var(--sel); font-weight: bold; }
#overview { display: grid; gap: 4px; margin-top: 8px; }
#overview canvas { width: 100%; image-rendering: pixelated; border: 2px solid transparent; cursor: pointer; }
#overview canvas.current { border-color: var(--sel); }
#overview .lab { font-size: 11px; color: var(--muted); text-align: center; align-self: center; }
#tip { min-height: 1.4em; }
"""

SCRIPT = r"""
(function () {
  "use strict";
  var data = JSON.parse(document.getElementById("fmkit-data").textContent);
  var n = data.tokens.length, L = data.layers, H = data.heads;
  var raw = atob(data.attention_b64), bytes = new Uint8Array(raw.length);
  for (var i = 0; i < raw.length; i++) bytes[i] = raw.charCodeAt(i);
  var words = new DataView(bytes.buffer);
  function att(l, h, q, k) { return words.getUint16(2 * (((l * H + h) * n + q) * n + k), true) / 65535; }
  var state = { layer: data.layer, head: data.head, focus: -1 };
  var SVG = "http://www.w3.org/2000/svg";
  function el(tag, attrs, text) {
    var e = tag.indexOf("svg:") === 0 ? document.createElementNS(SVG, tag.slice(4)) : document.createElement(tag);
    for (var a in attrs) e.setAttribute(a, attrs[a]);
    if (text !== undefined) e.textContent = text;
    return e;
  }
  if (data.theme === "dark") document.body.classList.add("dark");
  document.getElementById("text").textContent = data.text;
  document.getElementById("model").textContent = data.model + ": " + L + " layers \u00d7 " + H + " heads, " + n + " tokens";
  var notes = document.getElementById("notes");
  data.notes.forEach(function (t) { notes.appendChild(el("div", { "class": "note" }, t)); });
  var lineRGB = getComputedStyle(document.body).getPropertyValue("--line").trim();

  function fill(select, count, prefix) {
    for (var i = 0; i < count; i++) select.appendChild(el("option", { value: String(i) }, prefix + i));
  }
  var layerSel = document.getElementById("layer"), headSel = document.getElementById("head");
  var viewSel = document.getElementById("view");
  fill(layerSel, L, "layer "); fill(headSel, H, "head ");
  layerSel.onchange = function () { state.layer = +layerSel.value; draw(); };
  headSel.onchange = function () { state.head = +headSel.value; draw(); };
  viewSel.onchange = draw;
  if (location.hash === "#matrix") viewSel.value = "matrix";  // a link can open the matrix view

  var rowH = 20, colW = 110;
  function drawLines(box) {
    var height = n * rowH + 10, width = 2 * colW + 160;
    var svg = el("svg:svg", { width: width, height: height, id: "lines" });
    for (var q = 0; q < n; q++) {
      for (var k = 0; k < n; k++) {
        var w = att(state.layer, state.head, q, k);
        if (state.focus >= 0 && state.focus !== q) continue;
        if (w < 0.01) continue;
        svg.appendChild(el("svg:line", { x1: colW + 5, y1: q * rowH + 15, x2: width - colW - 5, y2: k * rowH + 15,
          stroke: "rgb(" + lineRGB + ")", "stroke-opacity": w.toFixed(3), "stroke-width": 2 }));
      }
    }
    data.tokens.forEach(function (t, i) {
      var left = el("svg:text", { x: colW, y: i * rowH + 19, "text-anchor": "end", "class": "tok left" + (i === state.focus ? " hot" : "") }, t);
      left.addEventListener("mouseenter", function () { state.focus = i; draw(); });
      left.addEventListener("mouseleave", function () { state.focus = -1; draw(); });
      svg.appendChild(left);
      svg.appendChild(el("svg:text", { x: width - colW, y: i * rowH + 19, "class": "tok right" }, t));
    });
    box.appendChild(svg);
  }

  function drawMatrix(box) {
    var cell = Math.max(8, Math.min(28, Math.floor(560 / n))), pad = 110;
    var svg = el("svg:svg", { width: pad + n * cell + 10, height: pad + n * cell + 10, id: "matrix" });
    var tip = document.getElementById("tip");
    for (var q = 0; q < n; q++) {
      for (var k = 0; k < n; k++) {
        var w = att(state.layer, state.head, q, k);
        var r = el("svg:rect", { x: pad + k * cell, y: pad + q * cell, width: cell - 1, height: cell - 1,
          fill: "rgb(" + lineRGB + ")", "fill-opacity": Math.max(w, 0.02).toFixed(3) });
        (function (q, k, w) {
          r.addEventListener("mouseenter", function () {
            tip.textContent = data.tokens[q] + " \u2192 " + data.tokens[k] + ": " + w.toFixed(3);
          });
        })(q, k, w);
        svg.appendChild(r);
      }
    }
    data.tokens.forEach(function (t, i) {
      svg.appendChild(el("svg:text", { x: pad - 4, y: pad + i * cell + cell * 0.7, "text-anchor": "end", "class": "tok" }, t));
      svg.appendChild(el("svg:text", { x: 0, y: 0, "class": "tok",
        transform: "translate(" + (pad + i * cell + cell * 0.7) + "," + (pad - 4) + ") rotate(-60)" }, t));
    });
    box.appendChild(svg);
  }

  function thumb(l, h) {
    var c = el("canvas", { width: n, height: n, title: "layer " + l + ", head " + h });
    var ctx = c.getContext("2d"), img = ctx.createImageData(n, n), rgb = lineRGB.split(",").map(Number);
    var dark = data.theme === "dark", bg = dark ? [13, 17, 23] : [255, 255, 255];
    for (var q = 0; q < n; q++) for (var k = 0; k < n; k++) {
      var w = Math.sqrt(att(l, h, q, k)), o = 4 * (q * n + k);
      for (var ch = 0; ch < 3; ch++) img.data[o + ch] = Math.round(bg[ch] + (rgb[ch] - bg[ch]) * w);
      img.data[o + 3] = 255;
    }
    ctx.putImageData(img, 0, 0);
    c.addEventListener("click", function () { state.layer = l; state.head = h; draw(); });
    return c;
  }

  var overview = document.getElementById("overview");
  overview.style.gridTemplateColumns = "56px repeat(" + H + ", minmax(24px, 64px))";
  overview.appendChild(el("div", { "class": "lab" }, ""));
  for (var h = 0; h < H; h++) overview.appendChild(el("div", { "class": "lab" }, "head " + h));
  var thumbs = [];
  for (var l = 0; l < L; l++) {
    overview.appendChild(el("div", { "class": "lab" }, "layer " + l));
    for (var hh = 0; hh < H; hh++) { var t = thumb(l, hh); thumbs.push(t); overview.appendChild(t); }
  }

  function draw() {
    layerSel.value = String(state.layer); headSel.value = String(state.head);
    var box = document.getElementById("view-box");
    while (box.firstChild) box.removeChild(box.firstChild);
    if (viewSel.value === "matrix") drawMatrix(box); else drawLines(box);
    thumbs.forEach(function (t, i) { t.classList.toggle("current", i === state.layer * H + state.head); });
    document.getElementById("where").textContent = "layer " + state.layer + ", head " + state.head;
  }
  draw();
  document.body.setAttribute("data-rendered", "1");
})();
"""

PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:; script-src '{script_hash}'">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>fmkit attention: {title}</title>
<style>{style}</style>
</head>
<body>
<main>
<h1>fmkit attention</h1>
<p id="text"></p>
<div id="model" class="muted"></div>
<div id="notes"></div>
<div class="controls">
  <label>Layer <select id="layer"></select></label>
  <label>Head <select id="head"></select></label>
  <label>View <select id="view"><option value="lines">lines</option><option value="matrix">matrix</option></select></label>
  <span class="muted">Hover a token on the left to see where it looks; click a thumbnail to pick a head.</span>
</div>
<div class="views">
  <section><h2 id="where" style="font-size:15px"></h2><div id="view-box"></div><div id="tip" class="muted"></div></section>
  <section style="flex:1; min-width:320px"><h2 style="font-size:15px">All layers \u00d7 heads</h2><div id="overview"></div></section>
</div>
<p class="muted">Rows are the attending token (query); lines and cells get stronger with more attention.
Generated by fmkit; works offline.</p>
</main>
<script type="application/json" id="fmkit-data">{data}</script>
<script>{script}</script>
</body>
</html>
"""


def script_json(obj) -> str:
    """JSON that is safe inside a <script> element: no '<', '>' or '&' survive literally."""
    text = json.dumps(obj, ensure_ascii=False)
    return (text.replace("&", "\\u0026").replace("<", "\\u003c").replace(">", "\\u003e")
            .replace("\u2028", "\\u2028").replace("\u2029", "\\u2029"))


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
    digest = base64.b64encode(hashlib.sha256(SCRIPT.encode("utf-8")).digest()).decode("ascii")
    title = result.text if len(result.text) <= 60 else result.text[:57] + "..."
    return PAGE.format(script_hash=f"sha256-{digest}", title=html.escape(title), style=STYLE,
                       data=script_json(data), script=SCRIPT)
