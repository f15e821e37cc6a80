"""examples/lessons.ipynb, executed headlessly in a real Jupyter kernel (nbclient + ipykernel), on
minilm and the tiny test models (chosen through FMKIT_* variables, as a course machine would set
its profile; Segment Anything is a random-weight MobileSAM from tests/tiny_sam.py). Each cell's
display bundle must hold what the cell claims; the two attention viewers are then opened side by
side in headless Chromium to show they render and do not collide."""

from __future__ import annotations

import re
import shutil

import pytest

from conftest import REPO
from test_detect import BUS  # the photo the notebook's detect and segment cells read

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")

NOTEBOOK = REPO / "examples" / "lessons.ipynb"


@pytest.fixture(scope="module")
def executed(tiny_gpt2, tiny_sd, tiny_yolo, models_dir, tmp_path_factory):
    import os

    from tiny_sam import build_sam

    env = {"FMKIT_GENERATE_MODEL": str(tiny_gpt2), "FMKIT_DIFFUSE_MODEL": str(tiny_sd),
           "FMKIT_DIFFUSE_HEIGHT": "32", "FMKIT_DIFFUSE_WIDTH": "32", "FMKIT_DIFFUSE_STEPS": "2",
           "FMKIT_DETECT_MODEL": str(tiny_yolo), "FMKIT_DETECT_IMGSZ": "160",
           "FMKIT_SEGMENT_MODEL": str(build_sam(models_dir / "sam", "mobile_sam")), "FMKIT_SEGMENT_IMGSZ": "256",
           "FMKIT_HOME": str(tmp_path_factory.mktemp("fmkit-home"))}
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)  # the kernel inherits this process's environment
    try:
        nb = nbformat.read(NOTEBOOK, as_version=4)
        workdir = tmp_path_factory.mktemp("notebook")
        nbclient.NotebookClient(nb, timeout=240, kernel_name="python3",
                                resources={"metadata": {"path": str(workdir)}}).execute()
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    return nb, workdir


def _bundles(cell) -> list[dict]:
    return [o["data"] for o in cell.get("outputs", []) if o.get("output_type") in ("execute_result", "display_data")]


def _cell(nb, needle: str):
    return next(c for c in nb.cells if c.cell_type == "code" and needle in c.source)


def test_every_cell_runs_without_an_error(executed):
    nb, workdir = executed
    errors = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", []) if o["output_type"] == "error"]
    assert errors == []
    assert list(workdir.iterdir()) == []  # nothing written where the notebook runs


def test_tokens_table(executed):
    [bundle] = _bundles(_cell(executed[0], 'fk.tokenize("I read a good novel."'))
    html = bundle["text/html"]
    assert html.startswith("<table") and "I read a good novel." in html
    cells = re.findall(r"<td[^>]*>([^<]*)</td>", html)
    for token, token_id in (("[CLS]", "101"), ("novel", "3117"), ("[SEP]", "102")):
        assert token in cells and token_id in cells


def test_attention_viewers_are_sandboxed_iframes_with_the_csp(executed):
    nb = executed[0]
    first = _bundles(_cell(nb, "att.show(layer=5, head=11"))
    second = _bundles(_cell(nb, 'fk.attention("The cat sat on the mat."'))
    for [bundle] in (first, second):
        html = bundle["text/html"]
        assert html.startswith('<iframe class="fmkit-attention" sandbox="allow-scripts"')
        assert "Content-Security-Policy" in html and "srcdoc=" in html
    assert "&quot;layer&quot;: 5, &quot;head&quot;: 11" in first[0]["text/html"]  # opened where it was asked


def test_pictures_are_png(executed):
    nb = executed[0]
    for needle in ("fk.positional(", 'fk.diffuse("a cat"', "fk.detect(bus)"):
        [bundle] = _bundles(_cell(nb, needle))
        assert bundle["image/png"], needle
    [diffuse] = _bundles(_cell(nb, 'fk.diffuse("a cat"'))
    assert "a cat" in diffuse["text/html"] and "seed" in diffuse["text/html"]
    [detect] = _bundles(_cell(nb, "fk.detect(bus)"))
    assert "<table" in detect["text/html"] and "bus.jpg" in detect["text/html"]


def test_segment_shows_the_photo_with_its_masks(executed, tmp_path):
    """The segment cell (after the detector's): one mask per detector box, shown as the photo with the
    masks drawn in (not the photo as it was) and the table of masks."""
    import base64
    import io

    import numpy as np
    from PIL import Image

    nb = executed[0]
    cells = [c for c in nb.cells if c.cell_type == "code"]
    segment = _cell(nb, "fk.segment(bus, from_detections=True)")
    assert cells.index(segment) == cells.index(_cell(nb, "fk.detect(bus)")) + 2  # right after the detection cells
    [bundle] = _bundles(segment)
    masks = int(re.search(r"(\d+) masks\)", bundle["text/plain"]).group(1))
    assert masks > 0 and "<table" in bundle["text/html"] and "bus.jpg" in bundle["text/html"]
    png = base64.b64decode(bundle["image/png"])
    (tmp_path / "segment-cell.png").write_bytes(png)  # to look at
    shown = np.asarray(Image.open(io.BytesIO(png)).convert("RGB")).astype(int)
    bus = np.asarray(Image.open(BUS).convert("RGB")).astype(int)
    assert shown.shape == bus.shape
    assert (np.abs(shown - bus).sum(-1) > 60).mean() > 0.05  # masks drawn over a good part of the photo


def test_generated_text_and_plain_data(executed):
    nb = executed[0]
    [gen] = _bundles(_cell(nb, 'fk.generate("Star Trek"'))
    assert gen["text/html"].startswith('<div class="fmkit-generation"') and "<b>Star Trek</b>" in gen["text/html"]
    [dets] = _bundles(_cell(nb, 'result.to_dict()["detections"]'))
    assert dets["text/plain"].startswith("[")


@pytest.mark.browser
def test_two_viewers_render_side_by_side_in_chromium(executed, tmp_path):
    """Both iframes from the notebook on one page: each draws its own tokens, nothing is shared."""
    chromium = shutil.which("chromium")
    playwright = pytest.importorskip("playwright.sync_api")
    if chromium is None:
        pytest.skip("headless Chromium not installed (apt-get install chromium)")
    nb = executed[0]
    frames = [_bundles(_cell(nb, n))[0]["text/html"]
              for n in ("att.show(layer=5, head=11", 'fk.attention("The cat sat on the mat."')]
    page_path = tmp_path / "two.html"
    page_path.write_text("<!doctype html><meta charset=utf-8><body>" + "".join(frames) + "</body>", encoding="utf-8")
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": 1100, "height": 1600})
        page.route("**/*", lambda route: route.continue_() if route.request.url.startswith(("file:", "about:"))
                   else route.abort())
        page.goto(page_path.as_uri())
        page.wait_for_timeout(1500)
        texts = [f.evaluate("document.body.innerText") for f in page.frames[1:]]
        page.screenshot(path=str(tmp_path / "two-viewers.png"), full_page=True)
        browser.close()
    assert len(texts) == 2
    assert "novel" in texts[0] and "novel" not in texts[1] and "mat" in texts[1]
    assert "layer 5" in texts[0].lower() or "L5" in texts[0]
