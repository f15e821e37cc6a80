"""The offline attention viewer in a real browser (headless Chromium): the page script renders
the tokens, and text that looks like HTML/JS stays text: no injected script runs. With Playwright:
the layout (query/key labels, colour scales, a main panel that uses the window, head labels that
never collide at 800 px), every request blocked.

Needs the Debian package `chromium` (apt-get install chromium); skipped with that reason otherwise
(the layout tests also need Playwright).
"""

from __future__ import annotations

import html
import re
import shutil
import subprocess

import pytest
from browser import HAVE_PLAYWRIGHT, artifacts, browser, page, shot  # noqa: F401 (fixtures)

CHROMIUM = next((shutil.which(n) for n in ("chromium", "chromium-browser", "google-chrome") if shutil.which(n)), None)
pytestmark = [pytest.mark.browser,
              pytest.mark.skipif(CHROMIUM is None, reason="headless Chromium not installed (apt-get install chromium)")]

# Closes the data <script>, then sets the title and a body attribute if it ever runs (no quotes:
# JSON would escape them and turn the attack into a syntax error, proving nothing).
PAYLOAD = ("the cat </script><script>document.title=/pwned/.source</script>"
           "<img src=x onerror=document.body.setAttribute(/data-pwned/.source,1)>")


def _dump_dom(page, tmp_path, fragment: str = "") -> str:
    """The DOM after the page's scripts ran, as Chromium serialises it."""
    cmd = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
           "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-extensions",
           f"--user-data-dir={tmp_path / 'chromium-profile'}", "--virtual-time-budget=3000",
           "--dump-dom", page.as_uri() + fragment]
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=90)
    assert p.returncode == 0, p.stderr[-2000:]
    return p.stdout


def test_viewer_renders_tokens_and_runs_no_injected_script(cli, tiny_bert, tmp_path):
    page = tmp_path / "attn.html"
    r = cli(["attention", PAYLOAD, "--model", tiny_bert, "-o", page, "--set", "bert.attention_max_tokens=64"])
    assert r.exit_code == 0, r.stderr
    dom = _dump_dom(page, tmp_path)

    # The page script ran to its end and drew the viewer from the JSON data.
    assert re.search(r'<body[^>]*data-rendered="1"', dom)
    tokens = [html.unescape(t) for t in re.findall(r'<text[^>]*class="tok left[^"]*"[^>]*>([^<]*)</text>', dom)]
    assert tokens[:7] == ["[CLS]", "the", "cat", "<", "/", "script", ">"] and tokens[-1] == "[SEP]"
    assert len(re.findall(r"<canvas", dom)) == 2 * 4  # overview: 2 layers x 4 heads
    shown = re.search(r'<p id="text">(.*?)</p>', dom, re.S)[1]
    assert html.unescape(shown) == PAYLOAD  # the text is on the page, as text

    # ... and nothing in it executed.
    title = html.unescape(re.search(r"<title>(.*?)</title>", dom, re.S)[1])
    assert title.startswith("fmkit attention: ") and title != "pwned"
    assert not re.search(r"<[^>]*\sdata-pwned", dom)  # no element got the attribute
    assert not re.search(r"<img", dom, re.I)


def test_the_harness_would_catch_an_injection(cli, tiny_bert, tmp_path):
    """Control: with fmkit's escaping undone and its CSP opened, the same payload does run here,
    so the test above is able to fail."""
    page = tmp_path / "attn.html"
    assert cli(["attention", PAYLOAD, "--model", tiny_bert, "-o", page]).exit_code == 0
    broken = page.read_text(encoding="utf-8").replace("\\u003c", "<").replace("\\u003e", ">")
    broken = re.sub(r"script-src '[^']*'", "script-src 'unsafe-inline'", broken)
    bad = tmp_path / "broken.html"
    bad.write_text(broken, encoding="utf-8")
    dom = _dump_dom(bad, tmp_path)
    assert re.search(r"<title>pwned</title>", dom) and re.search(r"<body[^>]*data-pwned", dom)


def test_matrix_view_draws_every_cell(cli, tiny_bert, tmp_path):
    page = tmp_path / "attn.html"
    assert cli(["attention", "the cat sat", "--model", tiny_bert, "-o", page]).exit_code == 0
    dom = _dump_dom(page, tmp_path, "#matrix")
    assert re.search(r'<body[^>]*data-rendered="1"', dom) and '<svg width="' in dom
    assert len(re.findall(r'<rect [^>]*class="cell"', dom)) == 5 * 5  # [CLS] the cat sat [SEP]
    assert 'id="legend"' in dom  # the colour scale


# ---- layout, in Playwright (network blocked by the `page` fixture) ----------------------------

needs_playwright = pytest.mark.skipif(not HAVE_PLAYWRIGHT, reason="playwright not installed (pip install playwright)")


def _synthetic(tmp_path, layers=6, heads=12, tokens=12, theme="light", name="attn.html"):
    """A viewer page for a bert-base-like shape without loading a model."""
    import numpy as np

    from fmkit.bert.attention import AttentionResult
    from fmkit.render.attention_html import render_html

    rng = np.random.default_rng(0)
    a = rng.random((layers, heads, tokens, tokens)) ** 4
    a = (a / a.sum(-1, keepdims=True)).astype("float32")
    toks = ["[CLS]"] + [f"word{i}" for i in range(tokens - 2)] + ["[SEP]"]
    result = AttentionResult(text=" ".join(toks[1:-1]), model="synthetic", tokens=toks, attentions=a,
                             total_tokens=tokens, max_tokens=512)
    path = tmp_path / name
    path.write_text(render_html(result, layers - 1, heads - 1, theme), encoding="utf-8")
    return path, a[layers - 1, heads - 1]


def _open(page, path, width, height=900, fragment=""):
    page.set_viewport_size({"width": width, "height": height})
    page.goto(path.as_uri() + fragment)
    page.wait_for_selector("body[data-rendered='1']")
    page.wait_for_timeout(200)  # the resize observer's redraw


def _box(page, selector):
    return page.eval_on_selector(selector, "e => { const r = e.getBoundingClientRect(); "
                                           "return {x: r.left, y: r.top, r: r.right, b: r.bottom, w: r.width, h: r.height}; }")


def _visible_head_labels(page):
    return page.eval_on_selector_all(
        "#overview .lab.head span",
        "els => els.filter(e => getComputedStyle(e).visibility !== 'hidden')"
        ".map(e => { const r = e.getBoundingClientRect(); return [r.left, r.top, r.right, r.bottom]; })")


def _overlap(a, b):
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def _legend_ticks(page):
    return [float(t) for t in page.eval_on_selector_all("#legend text.tick", "els => els.map(e => e.textContent)")]


@needs_playwright
@pytest.mark.parametrize("width", [800, 1000, 1280])
def test_head_labels_never_collide(page, artifacts, tmp_path, width):
    for heads in (12, 16):
        path, _ = _synthetic(tmp_path, heads=heads, name=f"h{heads}.html")
        _open(page, path, width)
        labels = _visible_head_labels(page)
        shot(page, artifacts, f"attention-overview-{heads}heads-{width}px", full_page=True)
        assert len(labels) >= heads // 2
        for i, a in enumerate(labels):
            assert 0 <= a[0] and a[2] <= width, f"head label {i} sticks out of the window: {a}"
            for b in labels[i + 1:]:
                assert not _overlap(a, b), f"head labels overlap at {width}px ({heads} heads): {a} {b}"
    assert not page.blocked and not page.errors, (page.blocked, page.errors)


@needs_playwright
def test_lines_view_names_query_and_key_has_a_scale_and_uses_the_space(page, artifacts, tmp_path):
    path, head = _synthetic(tmp_path, tokens=12)
    _open(page, path, 800)
    shot(page, artifacts, "attention-lines-800px", full_page=True)
    axis = page.eval_on_selector_all("#lines-view text.axis, #lines-view text.sub",
                                     "els => els.map(e => [e.textContent, e.getBoundingClientRect().left])")
    names = dict(axis)
    assert {"query", "attending token", "key", "attended to"} <= set(names)
    assert names["query"] < names["key"] and names["attending token"] < names["attended to"]
    # left column = query (hover targets), right column = key
    assert page.eval_on_selector_all("#lines-view text.tok.left", "els => els.length") == 12

    # the colour scale: a gradient bar from 0 to this head's maximum
    ticks = _legend_ticks(page)
    assert ticks[0] == 0 and ticks == sorted(ticks) and abs(ticks[-1] - float(head.max())) < 0.01
    assert page.eval_on_selector("#legend", "e => e.querySelectorAll('linearGradient stop').length") >= 2

    # the main panel fills its column (752 px of an 800 px window), and the overview wraps below it
    svg, panel, overview = _box(page, "#lines-view"), _box(page, "#main-panel"), _box(page, "#overview-panel")
    assert svg["w"] >= 0.9 * panel["w"] and panel["w"] >= 700
    assert overview["y"] >= panel["b"] - 1
    # hovering a query shows only its lines, leaving shows them all again
    shown = "#lines-view line:not([display])"
    every = page.eval_on_selector_all(shown, "els => els.length")
    x, y = page.eval_on_selector("#lines-view text.tok.left >> nth=3",
                                 "e => { const r = e.getBoundingClientRect(); return [r.left + r.width / 2, r.top + r.height / 2]; }")
    page.mouse.move(x, y)
    ones = page.eval_on_selector_all(shown, "els => els.map(e => e.getAttribute('y1'))")
    assert 0 < len(ones) < every and len(set(ones)) == 1
    assert page.eval_on_selector("#lines-view text.tok.left >> nth=3", "e => e.classList.contains('hot')")
    page.mouse.move(5, 5)
    assert page.eval_on_selector_all(shown, "els => els.length") == every
    # ... and grows with the tokens: more tokens, a taller panel
    path40, _ = _synthetic(tmp_path, tokens=40, name="attn40.html")
    _open(page, path40, 800)
    assert _box(page, "#lines-view")["h"] > svg["h"] * 1.5
    assert not page.blocked and not page.errors, (page.blocked, page.errors)


@needs_playwright
def test_matrix_view_names_its_axes_and_has_a_scale(page, artifacts, tmp_path):
    path, head = _synthetic(tmp_path, tokens=12, theme="dark")
    _open(page, path, 1280, fragment="#matrix")
    shot(page, artifacts, "attention-matrix-dark-1280px", full_page=True)
    assert page.evaluate("document.body.classList.contains('dark')")
    titles = page.eval_on_selector_all("#matrix-view text.axis", "els => els.map(e => e.textContent)")
    assert any(t.startswith("rows: query") for t in titles) and any(t.startswith("columns: key") for t in titles)
    assert page.eval_on_selector_all("#matrix-view rect.cell", "els => els.length") == 12 * 12
    ticks = _legend_ticks(page)
    assert ticks[0] == 0 and abs(ticks[-1] - float(head.max())) < 0.01
    # side by side at 1280 px: the overview is to the right of the main panel
    assert _box(page, "#overview-panel")["x"] >= _box(page, "#main-panel")["r"]
    # the matrix is drawn large enough to read, within its column
    matrix, panel = _box(page, "#matrix-view"), _box(page, "#main-panel")
    assert matrix["w"] <= panel["w"] + 1 and matrix["w"] >= 0.6 * panel["w"]
    assert not page.blocked and not page.errors, (page.blocked, page.errors)
