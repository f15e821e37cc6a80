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

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from fmkit.bert.attention import AttentionResult

STYLE = """
:root { --bg: #ffffff; --fg: #1f2328; --muted: #656d76; --panel: #f6f8fa; --border: #d0d7de; --line: 31, 111, 235; --sel: #fb8c00; }
.dark { --bg: #0d1117; --fg: #e6edf3; --muted: #8d96a0; --panel: #161b22; --border: #30363d; --line: 88, 166, 255; --sel: #ffa657; }
body { margin: 0; background: var(--bg); color: var(--fg); font: 14px/1.4 system-ui, -apple-system, "Segoe UI", sans-serif; }
main { max-width: 1500px; margin: 0 auto; padding: 16px 24px 40px; }
h1 { font-size: 18px; margin: 0 0 4px; }
h2 { font-size: 15px; margin: 0; }
#text { font-size: 16px; margin: 0 0 4px; white-space: pre-wrap; word-break: break-word; }
.muted { color: var(--muted); }
.note { color: #b35900; }
.dark .note { color: #f0883e; }
.controls { display: flex; gap: 16px; align-items: center; flex-wrap: wrap; margin: 12px 0; padding: 8px 12px;
            background: var(--panel); border-radius: 6px; }
select { font: inherit; }
/* One column (main panel, then the overview below it) on narrow windows; side by side from 960 px. */
.views { display: grid; grid-template-columns: minmax(0, 1fr); gap: 24px; align-items: start; }
#overview-panel { max-width: 760px; }
@media (min-width: 960px) {
  .views { grid-template-columns: minmax(0, 3fr) minmax(320px, 2fr); }
  #overview-panel { max-width: none; }
}
.panel-head { display: flex; gap: 8px 24px; align-items: center; flex-wrap: wrap; min-height: 40px; }
#view-box { overflow-x: auto; margin-top: 6px; }
.tok { cursor: default; font-family: ui-monospace, SFMono-Regular, Menlo, monospace; font-size: 13px; }
svg text { fill: var(--fg); }
#matrix-view .tok { font-size: var(--tok, 13px); }
svg text.hot { fill: var(--sel); font-weight: bold; }
svg text.axis { font-size: 13px; font-weight: 600; }
svg text.sub, svg text.tick { fill: var(--muted); font-size: 11px; }
svg .frame { fill: none; stroke: var(--border); }
#overview { display: grid; gap: 4px; margin-top: 8px; }
#overview canvas { display: block; width: 100%; box-sizing: border-box; image-rendering: pixelated;
                   border: 2px solid transparent; cursor: pointer; }
#overview canvas.current { border-color: var(--sel); }
#overview .lab { font-size: 11px; color: var(--muted); text-align: center; align-self: center; white-space: nowrap; }
#overview .lab.row { text-align: right; padding-right: 4px; }
#overview.thin .lab.odd span { visibility: hidden; }
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
  function clamp(v, lo, hi) { return Math.max(lo, Math.min(hi, v)); }
  if (data.theme === "dark") document.body.classList.add("dark");
  document.getElementById("text").textContent = data.text;
  document.getElementById("model").textContent = data.model + ": " + L + " layers \u00d7 " + H + " heads, " + n + " tokens";
  var notes = document.getElementById("notes");
  data.notes.forEach(function (t) { notes.appendChild(el("div", { "class": "note" }, t)); });
  var lineRGB = getComputedStyle(document.body).getPropertyValue("--line").trim();

  // Text widths, measured once with the fonts the SVG uses.
  var ctx2d = document.createElement("canvas").getContext("2d");
  function textWidth(t, font) { ctx2d.font = font; return ctx2d.measureText(t).width; }
  var MONO = "13px ui-monospace, SFMono-Regular, Menlo, monospace";
  var SANS = "600 13px system-ui, -apple-system, \"Segoe UI\", sans-serif";
  var SMALL = "11px system-ui, -apple-system, \"Segoe UI\", sans-serif";
  var tokW = 0;
  data.tokens.forEach(function (t) { tokW = Math.max(tokW, textWidth(t, MONO)); });
  tokW = Math.ceil(tokW);

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

  function headMax() {
    var m = 0;
    for (var q = 0; q < n; q++) for (var k = 0; k < n; k++) m = Math.max(m, att(state.layer, state.head, q, k));
    return m || 1;
  }
  function fmt(v) { return v === 0 ? "0" : v < 0.1 ? v.toFixed(3) : v.toFixed(2); }

  // Colour scale: the page's line colour at opacity shade(w / max), as a gradient bar with numbers.
  var gradients = 0;
  function legend(box, vmax, power, title) {
    var barX = 8, barW = 200, barY = 20, barH = 10;
    var width = Math.ceil(Math.max(barX + barW + 24, barX + textWidth(title, SMALL) + 8));
    var svg = el("svg:svg", { width: width, height: 48, id: "legend", "aria-label": title });
    var id = "fmkit-scale-" + (gradients++);
    var grad = el("svg:linearGradient", { id: id, x1: "0", x2: "1", y1: "0", y2: "0" });
    for (var s = 0; s <= 10; s++) {
      grad.appendChild(el("svg:stop", { offset: (s / 10).toFixed(2), "stop-color": "rgb(" + lineRGB + ")",
                                        "stop-opacity": Math.pow(s / 10, power).toFixed(3) }));
    }
    var defs = el("svg:defs", {});
    defs.appendChild(grad);
    svg.appendChild(defs);
    svg.appendChild(el("svg:text", { x: barX, y: 12, "class": "sub" }, title));
    svg.appendChild(el("svg:rect", { x: barX, y: barY, width: barW, height: barH, fill: "url(#" + id + ")", "class": "bar" }));
    svg.appendChild(el("svg:rect", { x: barX, y: barY, width: barW, height: barH, "class": "frame" }));
    [0, 0.25, 0.5, 1].forEach(function (f) {
      var x = barX + barW * Math.pow(f, power);
      svg.appendChild(el("svg:line", { x1: x, x2: x, y1: barY + barH, y2: barY + barH + 3, "class": "frame" }));
      svg.appendChild(el("svg:text", { x: x, y: barY + barH + 14, "text-anchor": "middle", "class": "tick" },
                         fmt(f * vmax)));
    });
    box.appendChild(svg);
  }

  // The main panel fills its column and, below the header, about one window of height.
  function rowHeight() { return clamp(Math.floor((window.innerHeight - 380) / n), 20, 40); }

  function drawLines(box, legendBox) {
    var vmax = headMax();
    legend(legendBox, vmax, 1, "attention (line strength, 0 \u2192 head max)");
    var labelW = Math.ceil(Math.max(tokW, textWidth("attending token", SMALL), textWidth("query", SANS)));
    var width = Math.floor(clamp(box.clientWidth, 2 * labelW + 160, 2 * labelW + 640));
    var top = 44, rowH = rowHeight(), height = top + n * rowH + 6;
    var svg = el("svg:svg", { width: width, height: height, id: "lines-view" });
    var xl = labelW + 8, xr = width - labelW - 8;
    function yc(i) { return top + i * rowH + rowH / 2; }
    svg.appendChild(el("svg:text", { x: labelW, y: 16, "text-anchor": "end", "class": "axis" }, "query"));
    svg.appendChild(el("svg:text", { x: labelW, y: 31, "text-anchor": "end", "class": "sub" }, "attending token"));
    svg.appendChild(el("svg:text", { x: width - labelW, y: 16, "class": "axis" }, "key"));
    svg.appendChild(el("svg:text", { x: width - labelW, y: 31, "class": "sub" }, "attended to"));
    // Hovering a query shows only its lines: shown and hidden in place (redrawing under the
    // pointer would lose the mouseleave).
    var byQuery = [], lefts = [];
    for (var q = 0; q < n; q++) {
      byQuery.push([]);
      for (var k = 0; k < n; k++) {
        var w = att(state.layer, state.head, q, k) / vmax;
        if (w < 0.01) continue;
        var line = el("svg:line", { x1: xl, y1: yc(q), x2: xr, y2: yc(k),
          stroke: "rgb(" + lineRGB + ")", "stroke-opacity": w.toFixed(3), "stroke-width": 2 });
        byQuery[q].push(line);
        svg.appendChild(line);
      }
    }
    function focus(i) {
      state.focus = i;
      byQuery.forEach(function (lines, q) {
        lines.forEach(function (l) { if (i < 0 || i === q) l.removeAttribute("display"); else l.setAttribute("display", "none"); });
      });
      lefts.forEach(function (t, j) { t.setAttribute("class", "tok left" + (j === i ? " hot" : "")); });
    }
    data.tokens.forEach(function (t, i) {
      var left = el("svg:text", { x: labelW, y: yc(i) + 4.5, "text-anchor": "end", "class": "tok left" }, t);
      left.addEventListener("mouseenter", function () { focus(i); });
      left.addEventListener("mouseleave", function () { focus(-1); });
      lefts.push(left);
      svg.appendChild(left);
      svg.appendChild(el("svg:text", { x: width - labelW, y: yc(i) + 4.5, "class": "tok right" }, t));
    });
    focus(state.focus);
    box.appendChild(svg);
  }

  function drawMatrix(box, legendBox) {
    var vmax = headMax();
    legend(legendBox, vmax, 0.5, "attention (square-root scale, 0 \u2192 head max)");
    var tip = document.getElementById("tip");
    // Column labels are turned by 60 degrees, or stand upright when the cells are too narrow for that.
    var padL = 22 + tokW + 8, angle, rise, run, padT, cell;
    [60, 90].some(function (a) {
      angle = a; rise = Math.ceil(tokW * Math.sin(a * Math.PI / 180)); run = Math.ceil(tokW * Math.cos(a * Math.PI / 180));
      padT = 24 + rise + 8;
      var byWidth = (box.clientWidth - padL - run - 8) / n;
      var byHeight = Math.max((window.innerHeight - 300 - rise) / n, 18, 220 / n);
      cell = clamp(Math.floor(Math.min(byWidth, byHeight)), 14, 60);
      return cell >= 22;
    });
    var font = Math.min(13, cell - 1) + "px", side = n * cell;
    var svg = el("svg:svg", { width: padL + side + run + 8, height: padT + side + 8, id: "matrix-view" });
    svg.style.setProperty("--tok", font);  // smaller labels for small cells
    for (var q = 0; q < n; q++) {
      for (var k = 0; k < n; k++) {
        var w = att(state.layer, state.head, q, k);
        var r = el("svg:rect", { x: padL + k * cell, y: padT + q * cell, width: cell - 1, height: cell - 1, "class": "cell",
          fill: "rgb(" + lineRGB + ")", "fill-opacity": Math.max(Math.sqrt(w / vmax), 0.02).toFixed(3) });
        (function (q, k, w) {
          r.addEventListener("mouseenter", function () {
            tip.textContent = "query " + data.tokens[q] + " \u2192 key " + data.tokens[k] + ": " + w.toFixed(3);
          });
        })(q, k, w);
        svg.appendChild(r);
      }
    }
    svg.appendChild(el("svg:text", { x: padL, y: 14, "class": "axis" }, "columns: key (attended to)"));
    svg.appendChild(el("svg:text", { x: 0, y: 0, "class": "axis", "text-anchor": "middle",
      transform: "translate(14," + (padT + side / 2) + ") rotate(-90)" }, "rows: query (attending token)"));
    data.tokens.forEach(function (t, i) {
      svg.appendChild(el("svg:text", { x: padL - 4, y: padT + i * cell + cell / 2 + 4.5, "text-anchor": "end", "class": "tok" }, t));
      svg.appendChild(el("svg:text", { x: 0, y: 0, "class": "tok",
        transform: "translate(" + (padL + i * cell + cell / 2 + (angle === 90 ? 4 : 3)) + "," + (padT - 4) + ") rotate(-" + angle + ")" }, t));
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
  overview.style.gridTemplateColumns = "52px repeat(" + H + ", minmax(0, 1fr))";
  overview.appendChild(el("div", { "class": "lab" }, ""));
  var headLabels = [];
  for (var h = 0; h < H; h++) {
    var lab = el("div", { "class": "lab head" + (h % 2 ? " odd" : ""), title: "head " + h });
    var span = el("span", {}, "h" + h);
    lab.appendChild(span); headLabels.push(span); overview.appendChild(lab);
  }
  var thumbs = [];
  for (var l = 0; l < L; l++) {
    overview.appendChild(el("div", { "class": "lab row" }, "layer " + l));
    for (var hh = 0; hh < H; hh++) { var t = thumb(l, hh); thumbs.push(t); overview.appendChild(t); }
  }
  // Narrow columns: label every other head so that no two labels touch.
  function thin() {
    overview.classList.remove("thin");
    var col = thumbs[0].getBoundingClientRect().width, widest = 0;
    headLabels.forEach(function (s) { widest = Math.max(widest, s.getBoundingClientRect().width); });
    if (widest + 4 > col) overview.classList.add("thin");
  }

  function draw() {
    layerSel.value = String(state.layer); headSel.value = String(state.head);
    var box = document.getElementById("view-box"), legendBox = document.getElementById("legend-box");
    while (box.firstChild) box.removeChild(box.firstChild);
    while (legendBox.firstChild) legendBox.removeChild(legendBox.firstChild);
    if (viewSel.value === "matrix") drawMatrix(box, legendBox); else drawLines(box, legendBox);
    thumbs.forEach(function (t, i) { t.classList.toggle("current", i === state.layer * H + state.head); });
    document.getElementById("where").textContent = "layer " + state.layer + ", head " + state.head;
  }
  draw();
  thin();
  // Redraw when the window or the panel changes size (an iframe may get its width after this ran).
  var resizing = 0, panel = document.getElementById("main-panel");
  var drawnFor = [panel.clientWidth, window.innerHeight];
  function relayout() {
    clearTimeout(resizing);
    resizing = setTimeout(function () {
      thin();
      if (panel.clientWidth === drawnFor[0] && window.innerHeight === drawnFor[1]) return;
      drawnFor = [panel.clientWidth, window.innerHeight];
      draw();
    }, 60);
  }
  window.addEventListener("resize", relayout);
  if (window.ResizeObserver) new ResizeObserver(relayout).observe(panel);
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
  <span class="muted">Hover a query token on the left (lines) or a cell (matrix); click a thumbnail to pick a head.</span>
</div>
<div class="views">
  <section id="main-panel"><div class="panel-head"><h2 id="where"></h2><div id="legend-box"></div></div>
    <div id="view-box"></div><div id="tip" class="muted"></div></section>
  <section id="overview-panel"><div class="panel-head"><h2>All layers \u00d7 heads</h2>
    <span class="muted">square-root scale, 0 \u2192 1</span></div><div id="overview"></div></section>
</div>
<p class="muted">Rows are the attending token (query), columns the token attended to (key); each query's
attention sums to 1. Generated by fmkit; works offline.</p>
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
