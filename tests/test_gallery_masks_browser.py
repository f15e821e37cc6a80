"""Segment results in the gallery page, in headless Chromium (network blocked): the page's RLE
decoder against pycocotools, mask by mask; masks painted over the clean original (pixels in the
screenshot), hidden by Show masks, filtered by the slider and the label chips, counted per label,
named on hover, listed in the large view; painted only once a card is near the viewport; results
without masks unchanged; the Korean page. The results are a real `fmkit segment -o` OUTDIR (tiny
random MobileSAM, tiny YOLO for --from-detections) plus hand-written ones for the edge cases.

Screenshots land in $TEST_ARTIFACTS_DIR (else the pytest temp folder); the test prints where.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from browser import BROWSER_MARKS, artifacts, browser, page, shot  # noqa: F401 (fixtures)
from test_detect import BUS, ZIDANE
from test_gallery import det, write_result
from test_gallery_browser import KOREAN_WORDS_JS, NOTHING, chip_counts, drawn_over, names, open_page
from test_gallery_masks import rect_mask, two_people, write_segment
from tiny_sam import build_sam

pytestmark = BROWSER_MARKS
HOSTILE = "<img src=x onerror=document.body.setAttribute('data-pwned',1)>"


@pytest.fixture(scope="module")
def segmented(models_dir, tiny_yolo, tmp_path_factory) -> Path:
    """`fmkit segment -o RESULTS` twice (zidane.jpg prompted by the tiny detector's boxes, bus.jpg by
    a point and a box), a hand-written result with an unlabelled mask and a hostile label, and a
    detect result, then `fmkit gallery RESULTS`."""
    from typer.testing import CliRunner

    from fmkit.cli import app

    sam = build_sam(models_dir / "sam", "mobile_sam")
    root = tmp_path_factory.mktemp("segmented") / "results"
    common = ["-o", root, "--model", sam, "--imgsz", "256", "--offline", "--quiet"]
    saved = dict(os.environ)  # --offline sets FMKIT_OFFLINE: a module fixture's change would outlive its tests
    try:
        for args in ([ZIDANE, "--from-detections", "--detect-model", tiny_yolo, "--cutout"],
                     [BUS, "--point", "410,520", "--box", "50,400,250,900"]):
            r = CliRunner().invoke(app, ["segment", *map(str, args + common)], catch_exceptions=False)
            assert r.exit_code == 0, r.stderr
    finally:
        os.environ.clear()
        os.environ.update(saved)
    masks = two_people()
    masks[0]["label"] = HOSTILE
    write_segment(root, "hand.jpg", masks)
    write_result(root, "street.jpg", [det("person", 0.91, 10, 10, 60, 100), det("car", 0.35, 70, 40, 150, 100, 2)])
    assert CliRunner().invoke(app, ["gallery", str(root), "--quiet"]).exit_code == 0
    return root


def written(root: Path, name: str) -> dict:
    return json.loads((root / f"{name}.json").read_text())


RUNS_OF = """rle => { const m = FMKIT_MASKS.decode(rle), runs = []; let v = 0, n = 0;
  for (let i = 0; i < m.length; i++) { if (m[i] !== v) { runs.push(n); v = m[i]; n = 0; } n++; }
  runs.push(n); return runs; }"""


def runs_of(mask) -> list[int]:
    """COCO's runs of a (H, W) 0/1 array: column-major, zeros first (a leading 0 when it starts with a one)."""
    import numpy as np

    flat = np.asarray(mask, dtype=np.uint8).flatten(order="F")
    change = np.flatnonzero(np.diff(flat)) + 1
    bounds = np.concatenate([[0], change, [flat.size]])
    runs = np.diff(bounds).tolist()
    return [0, *runs] if flat[0] else runs


def edge_masks():
    """Masks that stress the decoder: empty, full (one run past 2^16, written in 4 characters),
    a single last pixel, 1x1, random noise (thousands of short runs and negative differences)."""
    import numpy as np

    rng = np.random.default_rng(0)
    last = np.zeros((1080, 810), np.uint8)
    last[-1, -1] = 1
    return [np.zeros((120, 160), np.uint8), np.ones((1080, 810), np.uint8), last, np.ones((1, 1), np.uint8),
            (rng.random((97, 131)) < 0.5).astype(np.uint8), rect_mask((160, 120), 0, 0, 1, 120)]


def test_the_page_decodes_rle_exactly_as_pycocotools(page, segmented):
    """Every mask the real run wrote, and the edge cases, decoded in the page == pycocotools' decode."""
    from pycocotools import mask as coco

    from test_gallery_masks import rle

    open_page(page, (segmented / "index.html").as_uri())
    rles = [m["rle"] for n in ("zidane.jpg", "bus.jpg") for m in written(segmented, n)["masks"]]
    rles += [rle(m) for m in edge_masks()]
    assert len(rles) > 10
    for r in rles:
        expected = runs_of(coco.decode({"size": r["size"], "counts": r["counts"].encode("ascii")}))
        assert page.evaluate(RUNS_OF, r) == expected
    # A damaged text is refused, not drawn wrong.
    assert page.evaluate("r => { try { FMKIT_MASKS.decode(r); return 'decoded'; } catch (e) { return 'refused'; } }",
                         {"size": [10, 10], "counts": rles[0]["counts"]}) == "refused"
    assert page.errors == []


PAINTED = """([masks, h, w, max]) => { const p = FMKIT_MASKS.paint(masks, h, w, max, m => [255, 0, 0]);
  let on = 0; for (let i = 0; i < p.index.length; i++) if (p.index[i]) on++;
  return { tw: p.tw, th: p.th, on: on, order: p.order.map(m => m.id), url: p.url.slice(0, 22) }; }"""


def test_painting_covers_the_masks_pixels(page, segmented):
    """At full size the painted masks cover exactly their union; scaled down, the same share of the
    picture; smaller masks are drawn last (on top)."""
    import numpy as np
    from pycocotools import mask as coco

    open_page(page, (segmented / "index.html").as_uri())
    result = written(segmented, "zidane.jpg")
    h, w = result["height"], result["width"]
    masks = [{"counts": m["rle"]["counts"], "area": m["area"], "id": m["id"]} for m in result["masks"]]
    union = np.zeros((h, w), bool)
    for m in result["masks"]:
        union |= coco.decode({"size": [h, w], "counts": m["rle"]["counts"].encode("ascii")}).astype(bool)
    full = page.evaluate(PAINTED, [masks, h, w, 4096])
    assert (full["tw"], full["th"]) == (w, h) and full["on"] == int(union.sum())
    assert full["url"] == "data:image/png;base64,"
    by_area = [m["id"] for m in sorted(result["masks"], key=lambda m: -m["area"])]
    assert full["order"] == by_area
    small = page.evaluate(PAINTED, [masks, h, w, 400])
    assert (small["tw"], small["th"]) == (400, 225)
    assert small["on"] / (400 * 225) == pytest.approx(union.mean(), abs=0.02)


def masks_drawn(page, scope) -> list[int]:
    """How many masks each mask picture in `scope` holds, once painted (cards paint when in view)."""
    page.locator(scope).first.scroll_into_view_if_needed()
    page.wait_for_function("s => [...document.querySelectorAll(s + ' image.masks')].every(i => i.hasAttribute('href'))",
                           arg=scope)
    return page.eval_on_selector_all(f"{scope} image.masks[href^='data:image/png']", "is => is.map(i => +i.dataset.masks)")


def test_masks_drawn_toggled_filtered_counted_and_named(page, segmented, artifacts):
    zidane, bus, hand = (written(segmented, n) for n in ("zidane.jpg", "bus.jpg", "hand.jpg"))
    open_page(page, (segmented / "index.html").as_uri())
    page.wait_for_function("() => [...document.images].every(i => i.complete && i.naturalWidth > 0)")
    assert sorted(names(page)) == ["bus.jpg", "hand.jpg", "street.jpg", "zidane.jpg"]
    card = {n: f"figure[data-name='{n}']" for n in names(page)}
    assert page.get_attribute(f"{card['zidane.jpg']} img", "src") == "originals/zidane.jpg"  # the clean photo
    assert page.is_visible("#masks-toggle") and page.get_attribute("#status", "data-masks") == str(
        len(zidane["masks"]) + len(bus["masks"]) + len(hand["masks"]))
    assert masks_drawn(page, card["zidane.jpg"]) == [len(zidane["masks"])]
    assert masks_drawn(page, card["bus.jpg"]) == [2] and f"{len(zidane['masks'])} masks" in page.inner_text(card["zidane.jpg"])
    assert masks_drawn(page, card["street.jpg"]) == [] and page.locator(f"{card['street.jpg']} rect.box").count() == 2
    assert drawn_over(page, f"{card['bus.jpg']} .frame") > 100 * NOTHING
    print("screenshots:", shot(page, artifacts, "gallery-masks", full_page=True).parent)

    # Chips count masks with boxes, per label; unlabelled masks (bus.jpg's prompts, hand.jpg's
    # everything mask) have their own chip; a label from the data stays text.
    expected = {"person": 1, "car": 1}  # street.jpg's boxes
    for m in zidane["masks"] + bus["masks"] + hand["masks"]:
        expected[m["label"] or ""] = expected.get(m["label"] or "", 0) + 1
    assert chip_counts(page) == expected and expected[""] == 3
    assert page.inner_text(".chip.unlabelled .name") == "no label"
    assert page.inner_text(f".chip[data-label=\"{HOSTILE}\"] .name") == HOSTILE

    # Show masks off: no mask is painted, the picture is the photo; boxes of a detect result stay.
    page.uncheck("#masks")
    assert page.locator("image.masks").count() == 0 and drawn_over(page, f"{card['bus.jpg']} .frame") < NOTHING
    assert page.locator(f"{card['street.jpg']} rect.box").count() == 2
    shot(page, artifacts, "gallery-masks-off")
    page.check("#masks")
    assert masks_drawn(page, card["bus.jpg"]) == [2]

    # The slider applies to masks' scores: hand.jpg's 0.41 mask goes, its 0.93 and 0.88 stay.
    page.focus("#conf")
    for _ in range(50):
        page.keyboard.press("ArrowRight")
    assert masks_drawn(page, card["hand.jpg"]) == [2] and "2 masks (1 hidden)" in page.inner_text(card["hand.jpg"])
    above = sum(m["score"] >= 0.5 for r in (zidane, bus, hand) for m in r["masks"])
    assert page.get_attribute("#status", "data-masks") == str(above)
    page.keyboard.press("Home")

    # A label chip: only that label's masks are drawn, only images holding one are shown.
    page.click(".chip.unlabelled")
    assert sorted(names(page)) == ["bus.jpg", "hand.jpg"] and masks_drawn(page, card["hand.jpg"]) == [1]
    page.click("#chip-all")

    # Hover a mask: its label and score (hand.jpg's unlabelled mask fills its bottom rows).
    page.hover(f"{card['hand.jpg']} image.masks", position=_at(page, card["hand.jpg"], 80, 115))
    assert page.is_visible("#tip") and page.inner_text("#tip").split() == ["no", "label", "0.88"]
    page.hover(f"{card['hand.jpg']} image.masks", position=_at(page, card["hand.jpg"], 30, 50))
    assert page.inner_text("#tip").split() == [*HOSTILE.split(), "0.93"]
    shot(page, artifacts, "gallery-masks-hover")
    page.hover(f"{card['hand.jpg']} image.masks", position=_at(page, card["hand.jpg"], 80, 50))
    assert page.is_hidden("#tip")  # no mask there

    # The large view: painted at once, every mask in the table with its prompt.
    page.click(card["zidane.jpg"])
    assert masks_drawn(page, "#view-pic") == [len(zidane["masks"])]
    rows = page.eval_on_selector_all("#masks-table tbody tr", "rs => rs.map(r => r.cells[5].textContent)")
    assert rows == ["detector's box"] * len(zidane["masks"])
    assert drawn_over(page, "#view-pic .frame") > 100 * NOTHING
    shot(page, artifacts, "gallery-masks-view")
    page.keyboard.press("Escape")
    assert page.get_attribute("body", "data-pwned") is None
    assert page.blocked == [] and page.errors == []


def _at(page, scope, x, y):
    """Where pixel (x, y) of a 160x120 picture is inside the mask layer of `scope` (for hover)."""
    box = page.locator(f"{scope} image.masks").bounding_box()
    return {"x": (x + 0.5) * box["width"] / 160, "y": (y + 0.5) * box["height"] / 120}


def test_masks_are_painted_only_near_the_viewport(page, segmented, tmp_path):
    """48 mask cards on a page: those far below the fold stay unpainted until scrolled to."""
    from fmkit.gallery import build_gallery

    root = tmp_path / "many"
    for i in range(48):
        write_segment(root, f"img{i:02d}.jpg", two_people())
    build_gallery(root)
    open_page(page, (root / "index.html").as_uri())
    page.wait_for_function("() => document.querySelectorAll('#grid image.masks[href]').length > 0")
    page.wait_for_timeout(300)
    painted = page.locator("#grid image.masks[href^='data:image/png']").count()
    assert 0 < painted < 48 and page.locator("#grid image.masks").count() == 48
    page.locator("#grid figure.card:last-child").scroll_into_view_if_needed()
    page.wait_for_function("() => document.querySelectorAll('#grid image.masks[href]').length === 48")
    assert page.errors == []


def test_a_gallery_without_masks_has_no_mask_switch(page, tmp_path):
    from fmkit.gallery import build_gallery

    root = tmp_path / "plain"
    write_result(root, "street.jpg", [det("person", 0.91, 10, 10, 60, 100)])
    build_gallery(root)
    open_page(page, (root / "index.html").as_uri())
    assert page.is_hidden("#masks-toggle") and "mask" not in page.inner_text("main .controls").lower()
    assert "mask" not in page.inner_text("#summary")
    assert page.locator("image.masks").count() == 0


def test_korean_mask_page_has_no_english_ui_words(page, segmented, tmp_path, artifacts):
    import re

    from fmkit.gallery import build_gallery

    build_gallery(segmented, tmp_path / "ko", lang="ko")  # a page elsewhere, linking back to the results
    open_page(page, (tmp_path / "ko" / "index.html").as_uri())
    page.click("details#run summary")
    seen = [page.evaluate(KOREAN_WORDS_JS)]
    page.click("figure[data-name='bus.jpg']")
    seen.append(page.evaluate(KOREAN_WORDS_JS))
    shot(page, artifacts, "gallery-masks-ko-view")
    english = sorted(set(re.findall(r"[A-Za-z]{2,}", " ".join(seen))) - {"fmkit"})
    assert english == [], english
    text = " ".join(seen)
    assert "마스크 표시" in text and "레이블 없음" in text and "마스크 2개" in text
    assert page.eval_on_selector_all("#masks-table tbody tr", "rs => rs.map(r => r.cells[5].textContent)") == ["점", "상자"]
    assert masks_drawn(page, "#view-pic") == [2]
    assert page.errors == []
