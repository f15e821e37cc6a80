"""Playwright driving Debian's chromium, for page tests: one browser per test module, one fresh
context per test, every request that is not file:// or our own http://127.0.0.1 server aborted
(and recorded, so a test can assert the page asked for nothing else), screenshots kept as
artefacts under $TEST_ARTIFACTS_DIR (else the pytest temp folder) for a person to look at.

Use: `from browser import browser, page, serve, shot` in a test module (pytest fixtures and
helpers), and mark the module with `pytestmark = BROWSER_MARKS`.
"""

from __future__ import annotations

import functools
import importlib.util
import os
import shutil
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

CHROMIUM = next((shutil.which(n) for n in ("chromium", "chromium-browser") if shutil.which(n)), None)
HAVE_PLAYWRIGHT = importlib.util.find_spec("playwright") is not None
BROWSER_MARKS = [
    pytest.mark.browser,
    pytest.mark.skipif(CHROMIUM is None, reason="headless Chromium not installed (apt-get install chromium)"),
    pytest.mark.skipif(not HAVE_PLAYWRIGHT, reason="playwright not installed (pip install playwright)"),
]
ALLOWED = ("file://", "http://127.0.0.1:", "data:")


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"])
        yield b
        b.close()


@pytest.fixture
def page(browser):
    """A page with the network blocked: page.blocked lists what it tried to reach anyway;
    page.errors holds uncaught page errors and console errors."""
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="en-US")
    pg = context.new_page()
    pg.blocked, pg.errors = [], []

    def route(r):
        url = r.request.url
        if url.startswith(ALLOWED):
            r.continue_()
        else:
            pg.blocked.append(url)
            r.abort()

    pg.route("**/*", route)
    pg.on("pageerror", lambda e: pg.errors.append(str(e)))
    pg.on("console", lambda m: pg.errors.append(m.text) if m.type == "error" else None)
    yield pg
    context.close()


@pytest.fixture(scope="module")
def artifacts(tmp_path_factory) -> Path:
    folder = Path(os.environ["TEST_ARTIFACTS_DIR"]) if os.environ.get("TEST_ARTIFACTS_DIR") else tmp_path_factory.mktemp("screenshots")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def shot(page, artifacts: Path, name: str, full_page: bool = False) -> Path:
    """Save a screenshot artefact and return its path."""
    path = artifacts / f"{name}.png"
    page.screenshot(path=str(path), full_page=full_page)
    return path


class _Quiet(SimpleHTTPRequestHandler):
    def log_message(self, *args):  # no request log on stderr
        pass


@pytest.fixture
def serve():
    """serve(folder) -> 'http://127.0.0.1:PORT/': Python's http.server on a free port, in a thread."""
    servers = []

    def start(folder: Path) -> str:
        server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_Quiet, directory=str(folder)))
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return f"http://127.0.0.1:{server.server_address[1]}/"

    yield start
    for s in servers:
        s.shutdown()
        s.server_close()
