"""The offline attention viewer in a real browser (headless Chromium): the page script renders
the tokens, and text that looks like HTML/JS stays text: no injected script runs.

Needs the Debian package `chromium` (apt-get install chromium); skipped with that reason otherwise.
"""

from __future__ import annotations

import html
import re
import shutil
import subprocess

import pytest

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
    assert len(re.findall(r"<rect ", dom)) == 5 * 5  # [CLS] the cat sat [SEP]
