"""The gallery page in headless Chromium (Playwright, network blocked): cards, SVG boxes, label
chips, the confidence slider, hover details, sorting, the large view, what is drawn over an
image detect already drew its boxes into (nothing visible) and over a clean one (the boxes),
text-only rendering of hostile data (with a control that proves the payload would run), the
Korean page, file:// and http://127.0.0.1 with live updates, and the first render of 10,000
results.

Screenshots land in $TEST_ARTIFACTS_DIR (else the pytest temp folder); the test prints where.
"""

from __future__ import annotations

import importlib.util
import io
import json
import re
import shutil
import time
from pathlib import Path
from types import SimpleNamespace

import pytest
from browser import BROWSER_MARKS, artifacts, browser, page, serve, shot  # noqa: F401 (fixtures)
from test_gallery import det, jpeg, make_results, write_diffusion, write_result

pytestmark = BROWSER_MARKS


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    from fmkit.gallery import build_gallery

    root = make_results(tmp_path_factory.mktemp("gallery") / "results")
    build_gallery(root)
    return root


def open_page(page, url):
    page.goto(url)
    page.wait_for_selector("body[data-rendered='1']", timeout=15000)
    return page


def names(page):
    return page.eval_on_selector_all("figure.card", "cs => cs.map(c => c.dataset.name)")


def boxes(page):
    return [tuple(b) for b in page.eval_on_selector_all("#grid rect.box", "rs => rs.map(r => [r.dataset.label, +r.dataset.conf])")]


def chip_counts(page):
    return dict(page.eval_on_selector_all(".chip[data-label]", "cs => cs.map(c => [c.dataset.label, +c.querySelector('.n').textContent])"))


def assert_on_image(page, scope):
    """street.jpg's 0.91 person box (10, 10, 60, 100 in a 160x120 image) lands where the image
    shows those pixels: the image is letterboxed (object-fit contain) in its frame."""
    img = page.locator(f"{scope} .frame img").bounding_box()
    rect = page.locator(f"{scope} rect[data-conf='0.91']").bounding_box()
    scale = min(img["width"] / 160, img["height"] / 120)
    left, top = img["x"] + (img["width"] - 160 * scale) / 2, img["y"] + (img["height"] - 120 * scale) / 2
    assert rect["x"] == pytest.approx(left + 10 * scale, abs=2.5) and rect["y"] == pytest.approx(top + 10 * scale, abs=2.5)
    assert rect["width"] == pytest.approx(50 * scale, abs=3.5) and rect["height"] == pytest.approx(90 * scale, abs=3.5)


def test_cards_boxes_chips_slider_hover_and_view(page, site, artifacts):
    open_page(page, (site / "index.html").as_uri())
    assert len(names(page)) == 8 and page.get_attribute("#status", "data-images") == "8"
    assert sorted(boxes(page)) == sorted([("person", 0.91), ("car", 0.35), ("person", 0.15), ("dog", 0.88),
                                          ("person", 0.62), ("car", 0.55), ("person", 0.7)])
    assert chip_counts(page) == {"person": 4, "car": 2, "dog": 1}
    text = page.inner_text("#grid")
    assert "a red fox in the snow" in text and "seed 7 · 20 steps" in text and "no detections" in text
    assert "damaged" in page.inner_text("figure[data-name='broken.jpg']")
    assert "newer fmkit" in page.inner_text("figure[data-name='future.jpg']")
    assert "missing" in page.inner_text("figure[data-name='lost.jpg']")
    print("screenshots:", shot(page, artifacts, "gallery-grid", full_page=True).parent)

    assert_on_image(page, "figure[data-name='street.jpg']")

    # A label chip: only that label's boxes, only images holding one, counts follow.
    page.click(".chip[data-label='person']")
    assert {b[0] for b in boxes(page)} == {"person"} and len(boxes(page)) == 4
    assert sorted(names(page)) == ["lost.jpg", "park.jpg", "street.jpg"]
    assert page.get_attribute("#status", "data-boxes") == "4" and "3 images · 4 boxes" in page.inner_text("#status")
    assert page.get_attribute(".chip[data-label='person']", "aria-pressed") == "true"
    shot(page, artifacts, "gallery-person-only")
    page.click("#chip-all")

    # The slider (keyboard, as a person would): boxes under 0.50 disappear, counts follow.
    page.focus("#conf")
    for _ in range(50):
        page.keyboard.press("ArrowRight")
    assert page.inner_text("#conf-val") == "0.50"
    assert sorted(c for _, c in boxes(page)) == [0.55, 0.62, 0.7, 0.88, 0.91]
    assert chip_counts(page) == {"person": 3, "car": 1, "dog": 1}
    # street.jpg is named as detect names its annotated copies: the boxes are in the picture
    assert "1 object (2 filtered out, still drawn in the image)" in page.inner_text("figure[data-name='street.jpg']")
    shot(page, artifacts, "gallery-conf-0.50")

    # Hover a box: its label and confidence.
    assert page.is_hidden("#tip")
    page.hover("figure[data-name='park.jpg'] rect[data-label='dog']")
    assert page.is_visible("#tip") and page.inner_text("#tip").split() == ["dog", "0.88"]
    shot(page, artifacts, "gallery-hover")
    page.mouse.move(0, 0)
    assert page.is_hidden("#tip")

    # Sorting and the no-detections filter (back at 0.00).
    page.focus("#conf")
    page.keyboard.press("Home")
    page.select_option("#sort", "least")
    # least certain box first: street 0.15, garage 0.55, park 0.62, lost 0.70, then cards without boxes
    assert names(page)[:4] == ["street.jpg", "sub/garage.jpg", "park.jpg", "lost.jpg"]
    page.select_option("#sort", "most")
    assert names(page)[:2] == ["street.jpg", "park.jpg"]
    page.check("#empty")
    assert names(page) == ["empty.jpg"]
    page.uncheck("#empty")
    page.uncheck("#boxes")
    assert boxes(page) == []
    page.check("#boxes")

    # The large view: the detections table and the run's parameters; Escape closes it.
    page.click("figure[data-name='street.jpg']")
    assert page.is_visible("#view")
    rows = page.eval_on_selector_all("#dets tbody tr", "rs => rs.map(r => r.cells[1].textContent + ' ' + r.cells[2].textContent)")
    assert rows == ["person 0.91", "car 0.35", "person 0.15"]
    info = page.inner_text("#view-info")
    assert "yolo11n.pt" in info and "imgsz" in info and "640" in info and "uploads/street.jpg" in info
    assert page.locator("#view-pic rect.box").count() == 3
    assert_on_image(page, "#view-pic")
    shot(page, artifacts, "gallery-view")
    page.keyboard.press("Escape")
    assert page.is_hidden("#view")

    # Run panel: models, parameters, totals per label.
    page.click("details#run summary")
    run = page.inner_text("#run-body")
    assert "yolo11n.pt" in run and "tiny-sd" in run and "conf=0.25, imgsz=640, iou=0.7" in run
    totals = page.eval_on_selector_all("#run-body section:last-child tbody tr",
                                       "rs => rs.map(r => [...r.cells].map(c => c.textContent))")
    assert totals == [["person", "4", "3"], ["car", "2", "2"], ["dog", "1", "1"]]
    assert page.blocked == [] and page.errors == []


BUS = Path(importlib.util.find_spec("ultralytics").origin).parent / "assets" / "bus.jpg"  # a real photo, 810x1080
BUS_BOXES = [("person", 0, 0.91, 50, 400, 245, 905), ("bus", 5, 0.87, 15, 230, 805, 750),
             ("person", 0, 0.42, 670, 380, 810, 880)]


@pytest.fixture(scope="module")
def drawn(tmp_path_factory):
    """`fmkit detect -o` output for bus.jpg, written the way detect writes it: the photo with its
    boxes and labels drawn in by fmkit/render/detections.annotate (beside the JSON), and the same
    result again under clean/ naming a clean original (outputs.original), plus a diffusion."""
    import numpy as np
    from PIL import Image

    from fmkit.gallery import build_gallery
    from fmkit.render.detections import annotate

    root = tmp_path_factory.mktemp("drawn") / "results"
    (root / "clean" / "originals").mkdir(parents=True)
    dets = [SimpleNamespace(label=l, class_id=c, confidence=p, x1=x1, y1=y1, x2=x2, y2=y2)
            for l, c, p, x1, y1, x2, y2 in BUS_BOXES]
    with Image.open(BUS) as im:
        pixels = np.asarray(im.convert("RGB"))
    (root / "bus.jpg").write_bytes(annotate(pixels, dets, {0: "person", 5: "bus"}, ".jpg"))
    shutil.copy(BUS, root / "clean" / "originals" / "bus.jpg")
    for name, extra in (("bus.jpg", {}), ("clean/bus.jpg", {"original": "clean/originals/bus.jpg"})):
        record = {"source": str(BUS), "width": 810, "height": 1080, "model": "yolo11n.pt", "seconds": 0.05,
                  "detections": [{"class_id": d.class_id, "label": d.label, "confidence": d.confidence,
                                  "box": {"x1": d.x1, "y1": d.y1, "x2": d.x2, "y2": d.y2}} for d in dets],
                  "outputs": {"image": str(root / name), "json": str(root / name) + ".json", **extra},
                  "schema": 1, "identity": {"source": str(BUS), "version": "1"}, "run": {"started": 1}}
        (root / f"{name}.json").write_text(json.dumps(record, indent=1) + "\n", encoding="utf-8")
    write_diffusion(root, "fox.png", "a red fox")
    build_gallery(root)
    return root


def drawn_over(page, frame):
    """Pixels the page draws over the image in `frame` (a selector): its screenshot with the
    overlay against the same frame with the overlay hidden. Chromium paints a downscaled photo
    again once it is decoded in full quality, which moves a pixel or two along sharp edges: the
    images are decoded and the picture left to settle first, and callers allow a few pixels."""
    import numpy as np
    from PIL import Image

    page.mouse.move(0, 0)
    page.eval_on_selector_all(f"{frame} img", "is => Promise.all(is.map(i => i.decode()))")
    with_overlay, previous = page.locator(frame).screenshot(), None
    for _ in range(10):
        if with_overlay == previous:
            break
        page.wait_for_timeout(100)
        previous, with_overlay = with_overlay, page.locator(frame).screenshot()
    page.eval_on_selector_all(f"{frame} svg.ov", "os => os.forEach(o => o.style.display = 'none')")
    without = page.locator(frame).screenshot()
    page.eval_on_selector_all(f"{frame} svg.ov", "os => os.forEach(o => o.style.display = '')")
    a, b = (np.asarray(Image.open(io.BytesIO(png)).convert("RGB")).astype(int) for png in (with_overlay, without))
    return int((np.abs(a - b).sum(-1) > 30).sum())


NOTHING = 16  # pixels: "nothing drawn" (rescaling noise); three stroked boxes change thousands
STROKED = "rs => rs.filter(r => getComputedStyle(r).stroke !== 'none' && parseFloat(getComputedStyle(r).strokeWidth) > 0).length"


def test_boxes_drawn_into_the_image_are_not_drawn_again(page, drawn, artifacts):
    open_page(page, (drawn / "index.html").as_uri())
    page.wait_for_function("[...document.images].every(i => i.complete && i.naturalWidth > 0)")
    annotated, clean = "figure[data-name='bus.jpg']", "figure[data-name='clean/bus.jpg']"
    assert page.get_attribute(f"{annotated} img", "src") == "bus.jpg"
    assert page.get_attribute(f"{clean} img", "src") == "clean/originals/bus.jpg"
    shot(page, artifacts, "gallery-drawn-in", full_page=True)

    # The annotated photo: three invisible hit targets, not one pixel drawn over it.
    assert page.locator(f"{annotated} rect.box.hit").count() == 3
    assert page.eval_on_selector_all(f"{annotated} rect", STROKED) == 0
    assert drawn_over(page, f"{annotated} .frame") < NOTHING
    assert "boxes drawn in the image" in page.inner_text(annotated)
    # The clean original: the page draws the three boxes itself.
    assert page.eval_on_selector_all(f"{clean} rect.box:not(.hit)", STROKED) == 3
    assert drawn_over(page, f"{clean} .frame") > 100 * NOTHING
    assert "boxes drawn in the image" not in page.inner_text(clean)
    assert page.locator("figure[data-name='fox.png'] svg").count() == 0

    # Hovering a box of the annotated photo still names it; a click opens the large view.
    page.hover(f"{annotated} rect[data-conf='0.91']")
    assert page.inner_text("#tip").split() == ["person", "0.91"]
    page.click(f"{annotated} rect[data-conf='0.91']")
    assert page.is_visible("#view") and page.inner_text("#view-name") == "bus.jpg"
    assert page.locator("#view-pic rect.hit").count() == 3 and page.eval_on_selector_all("#view-pic rect", STROKED) == 0
    assert drawn_over(page, "#view-pic .frame") < NOTHING
    assert "does not draw them again" in page.inner_text("#view-info")
    shot(page, artifacts, "gallery-drawn-in-view")
    page.keyboard.press("Escape")

    # The slider: the box under it stops answering the pointer, and the caption says it is still in the picture.
    page.focus("#conf")
    for _ in range(50):
        page.keyboard.press("ArrowRight")
    assert page.locator(f"{annotated} rect.hit").count() == 2 and drawn_over(page, f"{annotated} .frame") < NOTHING
    assert "2 objects (1 filtered out, still drawn in the image)" in page.inner_text(annotated)
    assert "2 objects (1 hidden)" in page.inner_text(clean) and page.locator(f"{clean} rect.box").count() == 2
    page.uncheck("#boxes")  # the switch explains itself; the clean card loses its boxes
    assert "drawn into an image file stay" in page.get_attribute("label:has(#boxes)", "title")
    assert page.locator(f"{clean} rect").count() == 0 and drawn_over(page, f"{clean} .frame") < NOTHING
    assert page.blocked == [] and page.errors == []


PAYLOAD = "<img src=x onerror=document.body.setAttribute('data-pwned',1)>"


@pytest.fixture(scope="module")
def hostile(tmp_path_factory):
    from fmkit.gallery import build_gallery

    root = tmp_path_factory.mktemp("hostile") / "r"
    write_result(root, f"{PAYLOAD}.jpg", [det(PAYLOAD, 0.9, 10, 10, 100, 100)], model=PAYLOAD)
    write_diffusion(root, "fox.png", f"a fox {PAYLOAD}")
    build_gallery(root)
    return root


def test_hostile_names_labels_prompts_render_as_text(page, hostile, artifacts):
    open_page(page, (hostile / "index.html").as_uri())
    assert sorted(names(page)) == sorted([f"{PAYLOAD}.jpg", "fox.png"])
    assert page.inner_text(f"figure[data-name=\"{PAYLOAD}.jpg\"] .name") == f"{PAYLOAD}.jpg"
    assert PAYLOAD in page.inner_text("figure[data-name='fox.png']")
    assert chip_counts(page) == {PAYLOAD: 1}
    page.click(f"figure[data-name=\"{PAYLOAD}.jpg\"]")
    page.hover("#view-pic rect.box")
    assert PAYLOAD in page.inner_text("#view-info") and PAYLOAD in page.inner_text("#tip")
    page.click("#view-close")
    page.click("details#run summary")
    shot(page, artifacts, "gallery-hostile")
    assert page.get_attribute("body", "data-pwned") is None
    assert page.eval_on_selector_all("img", "is => is.filter(i => i.getAttribute('src') === 'x').length") == 0
    assert page.errors == []


def test_control_the_same_payload_runs_when_rendered_as_markup(page, hostile):
    """With the page script switched to innerHTML and its CSP opened, the payload does run: the
    test above can fail."""
    html = (hostile / "index.html").read_text(encoding="utf-8")
    broken = html.replace("e.textContent = text;", "e.innerHTML = text;")
    broken = re.sub(r"script-src [^;]*;", "script-src 'self' 'unsafe-inline';", broken)
    assert broken.count("e.innerHTML = text;") == 1 and "'unsafe-inline'" in broken
    (hostile / "control.html").write_text(broken, encoding="utf-8")
    open_page(page, (hostile / "control.html").as_uri())
    page.wait_for_selector("body[data-pwned]", state="attached", timeout=5000)


# Every word the page shows people (text, titles, labels), leaving out what comes from data (.d).
KOREAN_WORDS_JS = """() => {
  const words = [], walk = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT | NodeFilter.SHOW_ELEMENT);
  const data = n => (n.nodeType === 1 ? n : n.parentElement).closest('.d, script, style, noscript');
  for (let n = walk.currentNode; n; n = walk.nextNode()) {
    if (data(n)) continue;
    if (n.nodeType === 3) words.push(n.textContent);
    else for (const a of ['title', 'aria-label', 'placeholder', 'alt']) if (n.getAttribute(a)) words.push(n.getAttribute(a));
  }
  words.push(document.title);
  return words.join(' ');
}"""


def test_korean_page_has_no_english_ui_words(page, tmp_path, artifacts):
    from fmkit.gallery import build_gallery

    root = make_results(tmp_path / "r")
    build_gallery(root, lang="ko")
    open_page(page, (root / "index.html").as_uri())
    page.click("details#run summary")
    seen = [page.evaluate(KOREAN_WORDS_JS)]
    for i in range(len(names(page))):
        page.click(f"figure.card[data-index='{i}']")
        seen.append(page.evaluate(KOREAN_WORDS_JS))
        if i == 0:
            shot(page, artifacts, "gallery-ko-view")
        page.keyboard.press("Escape")
    page.hover("figure[data-name='park.jpg'] rect[data-label='dog']")
    seen.append(page.evaluate(KOREAN_WORDS_JS))
    shot(page, artifacts, "gallery-ko", full_page=True)
    text = " ".join(seen)
    english = sorted(set(re.findall(r"[A-Za-z]{2,}", text)) - {"fmkit"})
    assert english == [], english
    assert "최소 신뢰도" in text and "신뢰도 낮은 순" in text and "레이블별 합계" in text and "검출 결과" in text
    assert page.errors == []


def test_over_http_a_new_result_appears_and_filters_stay(page, tmp_path, serve, artifacts):
    from fmkit.gallery import GalleryWriter

    root = make_results(tmp_path / "r")
    writer = GalleryWriter(root)
    writer.refresh()
    open_page(page, serve(root))
    assert len(names(page)) == 8
    page.click(".chip[data-label='person']")
    page.select_option("#sort", "least")
    page.evaluate("window.__same_page = 1")
    writer.add(write_result(root, "new.jpg", [det("person", 0.05, 1, 1, 50, 50), det("cat", 0.9, 60, 60, 90, 90)],
                            image=jpeg(color=(250, 200, 0))))
    page.wait_for_selector("figure[data-name='new.jpg']", timeout=10000)  # polled stamp.js, then manifest.js
    assert page.evaluate("window.__same_page") == 1  # no reload: the filters are the user's still
    assert page.get_attribute(".chip[data-label='person']", "aria-pressed") == "true"
    assert names(page)[0] == "new.jpg" and sorted(names(page)) == ["lost.jpg", "new.jpg", "park.jpg", "street.jpg"]
    assert chip_counts(page) == {"person": 5, "car": 2, "dog": 1, "cat": 1}
    shot(page, artifacts, "gallery-http-live")
    assert page.blocked == [] and page.errors == []


@pytest.fixture(scope="module")
def big(tmp_path_factory):
    """10,000 detect results on disk (one small JPEG's bytes each), built the real way."""
    from fmkit.gallery import build_gallery

    root = tmp_path_factory.mktemp("big") / "results"
    root.mkdir()
    image = jpeg((64, 48))
    labels = ["person", "car", "dog", "bicycle", "bus"]
    for i in range(10_000):
        (root / f"img{i:05d}.jpg").write_bytes(image)
        dets = [det(labels[(i + j) % 5], round(0.05 + ((i * 7 + j * 13) % 95) / 100, 2), 2 * j, 2, 2 * j + 20, 40)
                for j in range(i % 6)]
        (root / f"img{i:05d}.jpg.json").write_text(json.dumps(
            {"schema": 1, "width": 64, "height": 48, "detections": dets, "model": "yolo11n.pt", "params": {"conf": 0.05}}))
    summary = build_gallery(root)
    assert summary.results == 10_000
    return root


def test_ten_thousand_results_render_fast_and_page(page, big, artifacts):
    started = time.perf_counter()
    open_page(page, (big / "index.html").as_uri())
    wall = time.perf_counter() - started
    first = page.evaluate("window.FMKIT_FIRST_RENDER_MS")
    print(f"10,000 results: first render {first:.0f} ms after navigation start (goto to rendered: {wall:.2f} s)")
    assert first < 6000  # the goal is 1.5 s (benchmarks/gallery.py); generous here: the machine is shared
    assert len(names(page)) == 48 and "10,000" in page.inner_text("#status")
    assert page.locator("img[loading='lazy']").count() == 48
    shot(page, artifacts, "gallery-10k")
    started = time.perf_counter()
    page.select_option("#sort", "least")
    page.click(".next >> nth=0")
    assert "49–96 of 10,000" in page.inner_text("#status")
    assert time.perf_counter() - started < 5
    assert page.blocked == [] and page.errors == []
