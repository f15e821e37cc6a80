// fmkit's attention viewer (filled in by fmkit/render/attention_html.py): reads the JSON in #fmkit-data,
// draws the lines or matrix view of one head and the overview of every head. Text from the data goes
// onto the page through textContent and setAttribute only, never as markup.
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
