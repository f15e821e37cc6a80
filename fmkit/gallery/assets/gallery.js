// The gallery page's script (inline in index.html, allowed by its hash in the CSP; see fmkit/gallery/page.py).
// It reads window.FMKIT_GALLERY (manifest.js) and draws a paged grid: each card is the image with its
// boxes as an SVG overlay in the image's own pixel coordinates (viewBox), so boxes scale with the image
// and can be hidden without touching it. A segment result's masks (COCO RLE) are painted by masks.js
// into one picture per card, an <image> in the same overlay, only once the card scrolls into view. Every string from the data goes onto the page through
// textContent or setAttribute, never as markup. Every few seconds it loads stamp.js (a few bytes) and,
// when the stamp changed, manifest.js again, keeping the user's filters.
(function () {
  "use strict";
  var S = JSON.parse(document.getElementById("fmkit-strings").textContent);
  var LANG = document.documentElement.lang || "en";
  var SVGNS = "http://www.w3.org/2000/svg";
  var PAGE_SIZE = 48, POLL_MS = 2000;
  var CARD_MASK_PX = 400, VIEW_MASK_PX = 1200;  // the painted masks' longest side (a card's frame is ~230 px)
  var NOLABEL = "\u0000";  // the label key of masks no detector named (never a label in the data)
  var M = window.FMKIT_MASKS;
  var state = { sel: {}, thr: 0, sort: "newest", empty: false, boxes: true, masks: true, page: 0 };
  var G = null, items = [], shown = [], stamp = null, viewIndex = -1, first = true, hasMasks = false, lazy = null;

  function $(id) { return document.getElementById(id); }
  function fmt(key, vals) {
    return S[key].replace(/\{(\w+)\}/g, function (m, k) { return vals && vals.hasOwnProperty(k) ? String(vals[k]) : m; });
  }
  function el(tag, attrs, text) {
    var e = document.createElement(tag);
    for (var a in attrs) if (attrs[a] !== undefined && attrs[a] !== null) e.setAttribute(a, attrs[a]);
    if (text !== undefined && text !== null) e.textContent = text;
    return e;
  }
  function svg(tag, attrs) {
    var e = document.createElementNS(SVGNS, tag);
    for (var a in attrs) e.setAttribute(a, attrs[a]);
    return e;
  }
  function data(tag, text, cls) { return el(tag, { "class": "d" + (cls ? " " + cls : "") }, text); }  // text from data
  function clear(e) { while (e.firstChild) e.removeChild(e.firstChild); return e; }
  function num(x) { return Number(x).toLocaleString(LANG); }
  function conf(c) { return Number(c).toFixed(2); }
  function when(t) { return new Date(t * 1000).toLocaleString(LANG); }
  function hue(label) {
    var h = 0;
    for (var i = 0; i < label.length; i++) h = (h * 31 + label.charCodeAt(i)) >>> 0;
    return h % 360;
  }
  function color(label) { return label === NOLABEL ? "#8c959f" : "hsl(" + hue(label) + ", 80%, 45%)"; }
  function maskRgb(m) {  // a labelled mask in its label's colour, an unlabelled one in its own (by id)
    var h = (m.label === NOLABEL ? m.id * 137.508 : hue(m.label)) % 360 / 60, s = 0.8, l = 0.45;
    var c = (1 - Math.abs(2 * l - 1)) * s, x = c * (1 - Math.abs(h % 2 - 1)), a = l - c / 2;
    var rgb = [[c, x, 0], [x, c, 0], [0, c, x], [0, x, c], [x, 0, c], [c, 0, x]][Math.floor(h) % 6];
    return rgb.map(function (v) { return Math.round((v + a) * 255); });
  }

  // --- data -------------------------------------------------------------------------------
  function load(g) {
    if (!g || !g.items) { $("status").textContent = S.no_data; return false; }
    G = g; stamp = g.stamp;
    items = g.items.map(function (it, i) {
      return { i: i, n: it.n, k: it.k, u: it.u, w: it.w, h: it.h, t: it.t || 0, m: it.m, p: it.p || {},
               info: it.i || {}, e: it.e, ed: it.ed, a: it.a, ms: it.ms,
               d: (it.d || []).map(function (r) { return { label: g.labels[r[0]], c: r[1], x1: r[2], y1: r[3], x2: r[4], y2: r[5] }; }),
               s: (it.s || []).map(function (r) {
                 return { label: r[0] < 0 ? NOLABEL : g.labels[r[0]], c: r[1], x1: r[2], y1: r[3], x2: r[4], y2: r[5],
                          area: r[6], id: r[7], prompt: r[8], counts: r[9] };
               }) };
    });
    hasMasks = items.some(function (it) { return it.s.length > 0; });
    $("masks-toggle").hidden = !hasMasks;
    if (hasMasks) $("hint").textContent = S.hint_masks;
    document.body.setAttribute("data-stamp", stamp);
    header(); runPanel(); chips(); update();
    return true;
  }

  function header() {
    var boxes = 0, masks = 0, labels = {}, problems = 0;
    items.forEach(function (it) {
      boxes += it.d.length; masks += it.s.length;
      it.d.forEach(function (d) { labels[d.label] = 1; });
      it.s.forEach(function (m) { if (m.label !== NOLABEL) labels[m.label] = 1; });
      if (it.e) problems++;
    });
    $("summary").textContent = fmt(hasMasks ? "summary_masks" : "summary",
                                   { images: num(items.length), boxes: num(boxes), masks: num(masks), labels: num(Object.keys(labels).length) });
    var extra = $("problems");
    extra.textContent = problems ? fmt("problems", { n: num(problems) }) : "";
    $("source").textContent = G.results;
    $("updated").textContent = fmt("updated", { time: when(G.generated) });
    var ex = $("expiry");
    if (G.presign) {
      var gone = Date.now() / 1000 > G.presign.expires;
      ex.textContent = gone ? S.expired : fmt("expires", { time: when(G.presign.expires) });
      ex.className = gone ? "warn" : "muted";
    } else ex.textContent = "";
  }

  function table(heads, rows) {
    var t = el("table"), tr = el("tr");
    heads.forEach(function (h) { tr.appendChild(el("th", {}, h)); });
    t.appendChild(el("thead")).appendChild(tr);
    var body = t.appendChild(el("tbody"));
    rows.forEach(function (cells) {
      var r = body.appendChild(el("tr"));
      cells.forEach(function (c) { r.appendChild(c instanceof Node ? el("td").appendChild(c).parentNode : el("td", {}, c)); });
    });
    return t;
  }
  function labelCell(label) {
    var s = el("span", { "class": "lab" });
    var sw = s.appendChild(el("i", { "class": "sw" }));
    sw.style.background = color(label);
    s.appendChild(label === NOLABEL ? el("span", {}, S.unlabelled) : data("span", label));
    return s;
  }
  function paramText(p) {
    return Object.keys(p).sort().map(function (k) { return k + "=" + (typeof p[k] === "object" ? JSON.stringify(p[k]) : p[k]); }).join(", ");
  }

  function runPanel() {
    var box = clear($("run-body")), models = {}, params = {}, totals = {};
    items.forEach(function (it) {
      if (it.m) models[it.m] = (models[it.m] || 0) + 1;
      if (it.k === "detect" && Object.keys(it.p).length) { var key = paramText(it.p); params[key] = (params[key] || 0) + 1; }
      var seen = {};
      function add(o, key) {
        var t = totals[o.label] || (totals[o.label] = { boxes: 0, masks: 0, images: 0 });
        t[key]++; if (!seen[o.label]) { seen[o.label] = 1; t.images++; }
      }
      it.d.forEach(function (d) { add(d, "boxes"); });
      it.s.forEach(function (m) { add(m, "masks"); });
    });
    function section(title, keys, rowOf, heads) {
      var s = box.appendChild(el("section"));
      s.appendChild(el("h3", {}, title));
      if (!keys.length) { s.appendChild(el("p", { "class": "muted" }, S.none)); return; }
      s.appendChild(table(heads, keys.map(rowOf)));
    }
    section(S.models, Object.keys(models).sort(), function (m) { return [data("span", m), num(models[m])]; }, [S.model, S.col_count]);
    section(S.params, Object.keys(params).sort(), function (p) { return [data("span", p, "mono"), num(params[p])]; }, [S.params, S.col_count]);
    var labels = Object.keys(totals).sort(function (a, b) {
      return totals[b].boxes + totals[b].masks - totals[a].boxes - totals[a].masks || (a < b ? -1 : 1);
    });
    if (hasMasks) section(S.totals, labels, function (l) { return [labelCell(l), num(totals[l].boxes), num(totals[l].masks), num(totals[l].images)]; },
                          [S.col_label, S.col_boxes, S.col_masks, S.col_images]);
    else section(S.totals, labels, function (l) { return [labelCell(l), num(totals[l].boxes), num(totals[l].images)]; },
                 [S.col_label, S.col_boxes, S.col_images]);
  }

  // --- filters ----------------------------------------------------------------------------
  var chipEls = {};
  function chips() {
    var box = clear($("chips")), totals = {};
    items.forEach(function (it) {
      it.d.concat(it.s).forEach(function (o) { totals[o.label] = (totals[o.label] || 0) + 1; });
    });
    var all = box.appendChild(el("button", { type: "button", "class": "chip all", id: "chip-all" }, S.all_labels));
    all.addEventListener("click", function () { state.sel = {}; state.page = 0; update(); });
    chipEls = {};
    Object.keys(totals).sort(function (a, b) { return totals[b] - totals[a] || (a < b ? -1 : 1); }).forEach(function (label) {
      var c = box.appendChild(el("button", { type: "button", "class": label === NOLABEL ? "chip unlabelled" : "chip",
                                             "data-label": label === NOLABEL ? "" : label }));
      c.appendChild(el("i", { "class": "sw" })).style.background = color(label);
      c.appendChild(label === NOLABEL ? el("span", { "class": "name" }, S.unlabelled) : data("span", label, "name"));
      c.appendChild(el("span", { "class": "n" }));
      c.addEventListener("click", function () {
        if (state.sel[label]) delete state.sel[label]; else state.sel[label] = 1;
        state.page = 0; update();
      });
      chipEls[label] = c;
    });
    Object.keys(state.sel).forEach(function (l) { if (!chipEls[l]) delete state.sel[l]; });
  }

  function derive() {
    var anySel = Object.keys(state.sel).length > 0, counts = {}, boxes = 0, masks = 0;
    items.forEach(function (it) {
      var above = 0, labs = {};
      function keep(o, key, into) {  // a box or a mask over the slider counts; shown when its label is picked
        if (o.c < state.thr) return;
        above++;
        var cl = counts[o.label] || (counts[o.label] = { boxes: 0, masks: 0, images: 0 });
        cl[key]++; if (!labs[o.label]) { labs[o.label] = 1; cl.images++; }
        if (!anySel || state.sel[o.label]) into.push(o);
      }
      it.vis = []; it.vism = [];
      it.d.forEach(function (d) { keep(d, "boxes", it.vis); });
      it.s.forEach(function (m) { keep(m, "masks", it.vism); });
      it.above = above; it.nvis = it.vis.length + it.vism.length;
      it.minc = it.nvis ? Math.min.apply(null, it.vis.concat(it.vism).map(function (o) { return o.c; })) : Infinity;
    });
    shown = items.filter(function (it) {
      if (state.empty) return it.k !== "diffuse" && !(it.k === "problem") && it.above === 0;
      if (anySel) return it.nvis > 0;
      return true;
    });
    var byNew = function (a, b) { return b.t - a.t || (a.n < b.n ? -1 : a.n > b.n ? 1 : 0); };
    var sorts = {
      newest: byNew,
      most: function (a, b) { return b.nvis - a.nvis || byNew(a, b); },
      least: function (a, b) { return (a.minc - b.minc) || byNew(a, b); }
    };
    shown.sort(function (a, b) {
      if (state.sort === "least" && a.minc === Infinity && b.minc === Infinity) return byNew(a, b);
      if (state.sort === "least" && (a.minc === Infinity || b.minc === Infinity)) return a.minc === Infinity ? 1 : -1;
      return sorts[state.sort](a, b);
    });
    shown.forEach(function (it) { boxes += it.vis.length; masks += it.vism.length; });
    return { counts: counts, boxes: boxes, masks: masks, anySel: anySel };
  }

  function update() {
    if (!G) return;
    var r = derive();
    for (var label in chipEls) {
      var c = chipEls[label], n = r.counts[label] || { boxes: 0, masks: 0, images: 0 };
      c.querySelector(".n").textContent = num(n.boxes + n.masks);
      c.setAttribute("title", fmt(hasMasks ? "chip_title_masks" : "chip_title", n));
      c.setAttribute("aria-pressed", state.sel[label] ? "true" : "false");
      c.classList.toggle("on", !!state.sel[label]);
      c.classList.toggle("zero", n.boxes + n.masks === 0);
    }
    $("chip-all").setAttribute("aria-pressed", r.anySel ? "false" : "true");
    $("chip-all").classList.toggle("on", !r.anySel);
    var pages = Math.max(1, Math.ceil(shown.length / PAGE_SIZE));
    state.page = Math.min(state.page, pages - 1);
    var from = state.page * PAGE_SIZE, to = Math.min(shown.length, from + PAGE_SIZE);
    $("status").textContent = shown.length ? fmt(hasMasks ? "status_masks" : "status",
                                                 { from: num(from + 1), to: num(to), n: num(shown.length), boxes: num(r.boxes), masks: num(r.masks) })
                                           : S.status_none;
    $("status").setAttribute("data-images", shown.length);
    $("status").setAttribute("data-boxes", r.boxes);
    $("status").setAttribute("data-masks", r.masks);
    [["prev", state.page > 0], ["next", state.page < pages - 1]].forEach(function (b) {
      document.querySelectorAll("." + b[0]).forEach(function (e) { e.disabled = !b[1]; });
    });
    document.querySelectorAll(".pageno").forEach(function (e) { e.textContent = fmt("page", { page: num(state.page + 1), pages: num(pages) }); });
    watchCards();
    var grid = clear($("grid")), frag = document.createDocumentFragment();
    for (var i = from; i < to; i++) frag.appendChild(card(shown[i], i));
    grid.appendChild(frag);
    if (viewIndex >= 0) openView(viewIndex, true);
    if (first) { first = false; window.FMKIT_FIRST_RENDER_MS = performance.now(); document.body.setAttribute("data-rendered", "1"); }
  }

  // --- cards ------------------------------------------------------------------------------
  var tip = null;
  function showTip(ev, d) {  // d: a box or a mask (label, c)
    clear(tip);
    tip.appendChild(labelCell(d.label));
    tip.appendChild(el("span", { "class": "c" }, " " + conf(d.c)));
    tip.hidden = false; moveTip(ev);
  }
  function moveTip(ev) { tip.style.left = (ev.clientX + 14) + "px"; tip.style.top = (ev.clientY + 14) + "px"; }
  function hideTip() { tip.hidden = true; }

  function overlay(it, w, h, big) {
    // Same box as the <img>, same letterboxing: object-fit contain == the SVG default xMidYMid meet.
    // An image with its boxes already drawn in (it.a: detect's annotated copy) gets hit targets only:
    // unstroked, transparent rects in the same places, so hovering still names a box and a click
    // still opens the view; drawing boxes over it again doubled every box in other colours.
    var o = svg("svg", { viewBox: "0 0 " + w + " " + h, "class": it.a ? "ov hits" : "ov" });
    if (state.masks && it.vism.length) o.appendChild(maskLayer(it, w, h, big));
    if (!(state.boxes && it.vis.length)) return o;
    it.vis.slice().sort(function (a, b) { return (b.x2 - b.x1) * (b.y2 - b.y1) - (a.x2 - a.x1) * (a.y2 - a.y1); }).forEach(function (d) {
      var col = color(d.label);
      var r = svg("rect", { x: d.x1, y: d.y1, width: Math.max(0, d.x2 - d.x1), height: Math.max(0, d.y2 - d.y1),
        stroke: it.a ? "none" : col, fill: col, "fill-opacity": it.a ? "0" : "0.08", "stroke-width": it.a ? 0 : big ? 3 : 2,
        "vector-effect": "non-scaling-stroke", "class": it.a ? "box hit" : "box", "data-label": d.label, "data-conf": d.c });
      r.addEventListener("mouseenter", function (ev) { showTip(ev, d); });
      r.addEventListener("mousemove", moveTip);
      r.addEventListener("mouseleave", hideTip);
      o.appendChild(r);
    });
    return o;
  }

  // The masks of one card: one <image> the size of the picture, painted (masks.js) when the card comes
  // into view, or at once in the large view; over an image with its masks drawn in (it.a), an
  // invisible rect instead. Either way the pointer asks the painted index which mask is under it.
  function maskLayer(it, w, h, big) {
    var layer = it.a ? svg("rect", { x: 0, y: 0, width: w, height: h, fill: "transparent", "class": "masks hit" })
                     : svg("image", { x: 0, y: 0, width: w, height: h, preserveAspectRatio: "none", "class": "masks" });
    var painted = null;
    function draw() {
      painted = paintMasks(it, big ? VIEW_MASK_PX : CARD_MASK_PX);
      if (painted.url) layer.setAttribute("href", painted.url);
      layer.setAttribute("data-masks", painted.order.length);
    }
    if (big) draw(); else later(layer, draw);
    layer.addEventListener("mousemove", function (ev) {
      if (!painted) return;
      var r = layer.getBoundingClientRect();
      var tx = Math.floor((ev.clientX - r.left) / r.width * painted.tw), ty = Math.floor((ev.clientY - r.top) / r.height * painted.th);
      var k = tx >= 0 && ty >= 0 && tx < painted.tw && ty < painted.th ? painted.index[ty * painted.tw + tx] : 0;
      if (k) showTip(ev, painted.order[k - 1]); else hideTip();
    });
    layer.addEventListener("mouseleave", hideTip);
    return layer;
  }
  function paintMasks(it, max) {  // the last painting per size is kept: filters that keep the same masks reuse it
    var key = it.vism.map(function (m) { return m.id; }).join(","), cache = it.painted || (it.painted = {});
    if (!cache[max] || cache[max].key !== key) {
      cache[max] = { key: key, result: M.paint(it.vism, it.ms[0], it.ms[1], max, it.a ? null : maskRgb) };
    }
    return cache[max].result;
  }
  function later(target, draw) {  // draw once the target is within a screen of the viewport
    if (!lazy) { draw(); return; }
    lazy.pending.set(target, draw);
    lazy.observer.observe(target);
  }
  function watchCards() {  // a fresh observer per render: cards that left the page are forgotten with it
    if (lazy) lazy.observer.disconnect();
    if (!("IntersectionObserver" in window)) return;
    var pending = new Map();
    lazy = { pending: pending, observer: new IntersectionObserver(function (entries, observer) {
      entries.forEach(function (e) {
        if (!e.isIntersecting || !pending.has(e.target)) return;
        observer.unobserve(e.target);
        var draw = pending.get(e.target);
        pending.delete(e.target);
        draw();
      });
    }, { rootMargin: "100% 0px" }) };
  }

  function frame(it, big) {
    var f = el("div", { "class": "frame" });
    function addOverlay(w, h) {
      if (it.k !== "problem" && ((state.boxes && it.vis.length) || (state.masks && it.vism.length))) f.appendChild(overlay(it, w, h, big));
    }
    if (it.u) {
      var img = el("img", { alt: "" });
      img.loading = big ? "eager" : "lazy"; img.decoding = "async";
      img.addEventListener("error", function () { f.classList.add("broken"); f.appendChild(el("span", { "class": "msg" }, S.image_error)); });
      if (!(it.w && it.h)) img.addEventListener("load", function () { addOverlay(img.naturalWidth, img.naturalHeight); });
      img.src = it.u;
      f.appendChild(img);
    } else f.classList.add("noimg");
    if (it.w && it.h) addOverlay(it.w, it.h);
    return f;
  }

  function maskCountText(it) {
    if (!it.s.length) return S.no_masks;
    var s = it.vism.length === 1 ? S.one_mask : fmt("masks_n", { n: num(it.vism.length) });
    var hid = it.s.length - it.vism.length;
    return hid ? s + " (" + fmt(it.a ? "hidden_drawn" : "hidden", { n: num(hid) }) + ")" : s;
  }
  function countText(it) {
    if (!it.d.length) return S.no_det;
    var s = it.vis.length === 1 ? S.one_object : fmt("objects", { n: num(it.vis.length) });
    var hid = it.d.length - it.vis.length;
    return hid ? s + " (" + fmt(it.a ? "hidden_drawn" : "hidden", { n: num(hid) }) + ")" : s;
  }

  function card(it, index) {
    var c = el("figure", { "class": "card " + it.k + (it.e ? " problem" : ""), "data-name": it.n, "data-index": index, tabindex: "0" });
    c.appendChild(frame(it, false));
    var cap = c.appendChild(el("figcaption"));
    cap.appendChild(data("div", it.n, "name"));
    if (it.e) {
      cap.appendChild(el("div", { "class": "warn" }, S["p_" + it.e]));
      if (it.k === "problem" && it.ed) cap.appendChild(data("div", it.ed, "muted small"));
    }
    if (it.k === "detect") cap.appendChild(el("div", { "class": "muted count" }, countText(it)));
    if (it.k === "segment") cap.appendChild(el("div", { "class": "muted count" }, maskCountText(it)));
    if (it.a && it.d.length) cap.appendChild(el("div", { "class": "muted small drawn" }, S.drawn_in));
    if (it.a && it.s.length) cap.appendChild(el("div", { "class": "muted small drawn" }, S.masks_drawn_in));
    if (it.k === "diffuse") {
      cap.appendChild(el("div", { "class": "badge" }, S.generated));
      cap.appendChild(data("div", it.p.prompt, "prompt"));
      cap.appendChild(el("div", { "class": "muted" }, fmt("seed_steps", { seed: it.p.seed, steps: it.p.steps })));
    }
    c.addEventListener("click", function () { openView(index); });
    c.addEventListener("keydown", function (ev) { if (ev.key === "Enter") openView(index); });
    return c;
  }

  // --- large view -------------------------------------------------------------------------
  function openView(index, refresh) {
    if (index < 0 || index >= shown.length) { closeView(); return; }
    viewIndex = index;
    var it = shown[index], v = $("view");
    $("view-name").textContent = it.n;
    clear($("view-pic")).appendChild(frame(it, true));
    var info = clear($("view-info")), rows = [];
    if (it.e) info.appendChild(el("p", { "class": "warn" }, S["p_" + it.e]));
    if (it.e && it.ed) info.appendChild(data("p", it.ed, "muted"));
    if (it.a) info.appendChild(el("p", { "class": "muted small" }, it.k === "segment" ? S.annotated_masks : S.annotated));
    rows.push([S.file, data("span", it.n)]);
    if (it.m) rows.push([S.model, data("span", it.m)]);
    if (it.w && it.h) rows.push([S.size, it.w + " \u00d7 " + it.h]);
    if (it.info.source) rows.push([S.source, data("span", String(it.info.source))]);
    if (typeof it.info.seconds === "number") rows.push([S.seconds, fmt("secs", { s: it.info.seconds })]);
    if (it.t) rows.push([S.written, when(it.t)]);
    if (it.k === "diffuse") {
      rows.push([S.prompt, data("span", it.p.prompt)]);
      if (it.p.negative_prompt) rows.push([S.negative, data("span", it.p.negative_prompt)]);
    }
    var info_t = table([S.file, ""], rows); info_t.removeChild(info_t.tHead); info_t.className = "kv";
    info.appendChild(info_t);
    var keys = Object.keys(it.p).filter(function (k) { return it.k !== "diffuse" || (k !== "prompt" && k !== "negative_prompt"); }).sort();
    if (keys.length) {
      info.appendChild(el("h3", {}, S.params));
      var pt = table([S.params, ""], keys.map(function (k) {
        var val = it.p[k]; return [data("span", k, "mono"), data("span", typeof val === "object" ? JSON.stringify(val) : String(val))];
      }));
      pt.removeChild(pt.tHead); pt.className = "kv"; info.appendChild(pt);
    }
    if (it.d.length) {
      info.appendChild(el("h3", {}, S.detections));
      var dets = it.d.slice().sort(function (a, b) { return b.c - a.c; });
      var t = table(["#", S.col_label, S.col_conf, S.col_box], dets.map(function (d, i) {
        return [String(i + 1), labelCell(d.label), conf(d.c), [d.x1, d.y1, d.x2, d.y2].map(function (x) { return Math.round(x); }).join(", ")];
      }));
      t.id = "dets";
      Array.prototype.forEach.call(t.tBodies[0].rows, function (r, i) { if (it.vis.indexOf(dets[i]) < 0) r.className = "off"; });
      info.appendChild(t);
    }
    if (it.s.length) info.appendChild(maskTable(it));
    $("view-prev").disabled = index === 0; $("view-next").disabled = index === shown.length - 1;
    if (!refresh) { v.hidden = false; $("view-close").focus(); }
  }
  function maskTable(it) {
    var frag = document.createDocumentFragment(), masks = it.s.slice().sort(function (a, b) { return b.c - a.c; });
    frag.appendChild(el("h3", {}, S.segments));
    var t = table(["#", S.col_label, S.col_score, S.col_area, S.col_box, S.col_prompt], masks.map(function (m) {
      var kind = S.hasOwnProperty("prompt_" + m.prompt) ? el("span", {}, S["prompt_" + m.prompt]) : data("span", m.prompt);
      return [String(m.id), labelCell(m.label), conf(m.c), num(m.area), [m.x1, m.y1, m.x2, m.y2].map(function (x) { return Math.round(x); }).join(", "), kind];
    }));
    t.id = "masks-table";
    Array.prototype.forEach.call(t.tBodies[0].rows, function (r, i) { if (it.vism.indexOf(masks[i]) < 0) r.className = "off"; });
    frag.appendChild(t);
    return frag;
  }
  function closeView() { viewIndex = -1; $("view").hidden = true; hideTip(); }

  // --- live updates -----------------------------------------------------------------------
  function inject(src, done) {
    var s = document.createElement("script");
    s.src = src + "?t=" + Date.now();
    s.onload = function () { s.remove(); done(true); };
    s.onerror = function () { s.remove(); done(false); };
    document.head.appendChild(s);
  }
  function poll() {
    inject("stamp.js", function (ok) {
      if (ok && window.FMKIT_GALLERY_STAMP && window.FMKIT_GALLERY_STAMP !== stamp) {
        inject("manifest.js", function (ok2) { if (ok2 && window.FMKIT_GALLERY && window.FMKIT_GALLERY.stamp !== stamp) load(window.FMKIT_GALLERY); setTimeout(poll, POLL_MS); });
      } else setTimeout(poll, POLL_MS);
    });
  }

  // --- wiring -----------------------------------------------------------------------------
  function wire() {
    tip = $("tip");
    var slider = $("conf");
    slider.addEventListener("input", function () { state.thr = +slider.value; $("conf-val").textContent = conf(state.thr); update(); });
    $("sort").addEventListener("change", function () { state.sort = $("sort").value; state.page = 0; update(); });
    $("empty").addEventListener("change", function () { state.empty = $("empty").checked; state.page = 0; update(); });
    $("boxes").addEventListener("change", function () { state.boxes = $("boxes").checked; update(); });
    $("masks").addEventListener("change", function () { state.masks = $("masks").checked; update(); });
    document.querySelectorAll(".prev").forEach(function (b) { b.addEventListener("click", function () { state.page--; update(); window.scrollTo(0, 0); }); });
    document.querySelectorAll(".next").forEach(function (b) { b.addEventListener("click", function () { state.page++; update(); window.scrollTo(0, 0); }); });
    $("view-close").addEventListener("click", closeView);
    $("view").addEventListener("click", function (ev) { if (ev.target === $("view")) closeView(); });
    $("view-prev").addEventListener("click", function () { openView(viewIndex - 1); });
    $("view-next").addEventListener("click", function () { openView(viewIndex + 1); });
    document.addEventListener("keydown", function (ev) {
      if ($("view").hidden) return;
      if (ev.key === "Escape") closeView();
      else if (ev.key === "ArrowLeft" && viewIndex > 0) openView(viewIndex - 1);
      else if (ev.key === "ArrowRight" && viewIndex < shown.length - 1) openView(viewIndex + 1);
    });
    state.thr = +slider.value; state.sort = $("sort").value; state.empty = $("empty").checked; state.boxes = $("boxes").checked;
    state.masks = $("masks").checked;
    $("conf-val").textContent = conf(state.thr);
  }

  wire();
  load(window.FMKIT_GALLERY);
  setTimeout(poll, POLL_MS);
})();
