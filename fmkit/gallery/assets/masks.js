// Segment masks for the gallery page (inlined before gallery.js, one script under one CSP hash).
// Masks arrive as COCO compressed RLE (what `fmkit segment` writes) and are decoded here exactly as
// pycocotools decodes them; a card's masks are then painted into ONE small picture (at most `max`
// pixels a side): a translucent fill and an opaque outline per mask, the smaller mask on top where
// two overlap. The picture leaves as a data: URL for an SVG <image> (the CSP's img-src allows data:),
// and the index of the mask under each painted pixel answers the pointer. So 100 masks of a
// 12-megapixel photo cost one canvas of a few hundred pixels a side, never 100 full-size bitmaps.
// window.FMKIT_MASKS = { counts, decode, paint } (decode is what the tests hold against pycocotools).
(function () {
  "use strict";

  // COCO's compressed counts (maskApi.c, rleFrString): each count is written in 5-bit groups, one per
  // character from '0' (48); 0x20 says another group follows, 0x10 in the last group makes the number
  // negative; from the third count on, each is stored as the difference to the count two before.
  // Arithmetic rather than bit shifts, so counts past 2^31 (very large images) stay exact.
  function counts(text) {
    var out = [], p = 0, n = text.length;
    while (p < n) {
      var x = 0, scale = 1, more = true;
      while (more) {
        if (p >= n) throw new Error("RLE text ends inside a number");
        var c = text.charCodeAt(p++) - 48;
        if (c < 0 || c > 63) throw new Error("not COCO RLE text");
        x += (c & 0x1f) * scale;
        scale *= 32;
        more = (c & 0x20) !== 0;
        if (!more && (c & 0x10)) x -= scale;
      }
      if (out.length > 2) x += out[out.length - 2];
      if (x < 0) throw new Error("negative run in RLE");
      out.push(x);
    }
    return out;
  }

  // runs(counts, h, w) -> the runs of ones as [start, end) pixel indices in column-major order (COCO's:
  // index = x * h + y); the counts must cover the image exactly.
  function runs(cs, h, w) {
    var total = 0, ones = [];
    for (var i = 0; i < cs.length; i++) {
      if (i & 1 && cs[i]) ones.push(total, total + cs[i]);
      total += cs[i];
    }
    if (total !== h * w) throw new Error("RLE covers " + total + " pixels, not " + h + "x" + w);
    return ones;
  }

  // The whole mask, column-major, one byte per pixel (1 = in the mask): what pycocotools' decode gives.
  function decode(rle) {
    var h = rle.size[0], w = rle.size[1], out = new Uint8Array(h * w);
    var ones = runs(counts(rle.counts), h, w);
    for (var i = 0; i < ones.length; i += 2) out.fill(1, ones[i], ones[i + 1]);
    return out;
  }

  // Nearest-pixel sampling of an h x w image onto a th x tw grid: target column tx shows source column
  // colSource(tx); rowFirst[y] is the first target row showing a source row >= y. At scale 1 both are
  // the identity, so a full-size painting is the decoded mask exactly.
  function grid(h, w, max) {
    var s = Math.min(1, max / Math.max(h, w));
    var th = Math.max(1, Math.round(h * s)), tw = Math.max(1, Math.round(w * s));
    var colTarget = new Int32Array(w).fill(-1), rowFirst = new Int32Array(h + 1), ty = 0;
    for (var tx = 0; tx < tw; tx++) colTarget[Math.min(w - 1, Math.floor((tx + 0.5) * w / tw))] = tx;
    for (var y = 0; y <= h; y++) {
      while (ty < th && Math.min(h - 1, Math.floor((ty + 0.5) * h / th)) < y) ty++;
      rowFirst[y] = ty;
    }
    return { th: th, tw: tw, colTarget: colTarget, rowFirst: rowFirst };
  }

  // Mark the target pixels of one mask's runs with k in `index` (row-major th x tw).
  function mark(index, g, ones, h, k) {
    for (var i = 0; i < ones.length; i += 2) {
      var pos = ones[i], end = ones[i + 1], x = Math.floor(pos / h);
      while (pos < end) {
        var stop = Math.min(end, (x + 1) * h), tx = g.colTarget[x];
        if (tx >= 0) {
          for (var t = g.rowFirst[pos - x * h], last = g.rowFirst[stop - x * h]; t < last; t++) index[t * g.tw + tx] = k;
        }
        pos = stop; x++;
      }
    }
  }

  // paint(masks, h, w, max, rgbOf) -> { url, index, tw, th, order, broken }.
  // masks: [{counts: "<COCO text>", area}], drawn largest first so a smaller mask stays visible on top;
  // rgbOf(mask) -> [r, g, b], or null for the index alone (url null: masks already in the picture).
  // index[ty * tw + tx] is 1 + the position in `order` of the mask shown there (0: none). A mask whose
  // RLE does not decode is left out and listed in `broken`.
  function paint(masks, h, w, max, rgbOf) {
    var g = grid(h, w, max), index = new Uint16Array(g.tw * g.th), order = [], broken = [];
    masks.slice().sort(function (a, b) { return b.area - a.area; }).forEach(function (m) {
      var ones;
      try { ones = runs(counts(m.counts), h, w); } catch (e) { broken.push(m); return; }
      if (order.length >= 65535) return;
      order.push(m);
      mark(index, g, ones, h, order.length);
    });
    var out = { url: null, index: index, tw: g.tw, th: g.th, order: order, broken: broken };
    if (!rgbOf) return out;
    var canvas = document.createElement("canvas");
    canvas.width = g.tw; canvas.height = g.th;
    var ctx = canvas.getContext("2d"), image = ctx.createImageData(g.tw, g.th), px = image.data;
    var colours = order.map(rgbOf), line = Math.max(1, Math.round(Math.max(g.tw, g.th) / 320));
    for (var ty = 0; ty < g.th; ty++) {
      for (var tx = 0; tx < g.tw; tx++) {
        var t = ty * g.tw + tx, k = index[t];
        if (!k) continue;
        var c = colours[k - 1], o = 4 * t;
        px[o] = c[0]; px[o + 1] = c[1]; px[o + 2] = c[2];
        px[o + 3] = edge(index, g, tx, ty, k, line) ? 240 : 105;
      }
    }
    ctx.putImageData(image, 0, 0);
    out.url = canvas.toDataURL("image/png");
    return out;
  }

  // A pixel is on the outline when a pixel within `line` of it (or the picture's border) is not its mask's.
  function edge(index, g, tx, ty, k, line) {
    for (var d = 1; d <= line; d++) {
      if (tx - d < 0 || tx + d >= g.tw || ty - d < 0 || ty + d >= g.th) return true;
      var t = ty * g.tw + tx;
      if (index[t - d] !== k || index[t + d] !== k || index[t - d * g.tw] !== k || index[t + d * g.tw] !== k) return true;
    }
    return false;
  }

  window.FMKIT_MASKS = { counts: counts, decode: decode, paint: paint };
})();
