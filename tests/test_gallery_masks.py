"""The gallery and `fmkit segment` results, without a browser: what is read from a segment OUTDIR
(the clean original, every mask's RLE text as written, labels and scores), what the data file
holds, the run's totals, and damaged masks as a problem card.
(test_gallery_masks_browser.py decodes and draws the masks in Chromium.)"""

from __future__ import annotations

import json
from pathlib import Path

from test_gallery import det, jpeg, read_manifest, write_result


def rle(mask) -> dict:
    """A (H, W) 0/1 array as COCO compressed RLE text, as fmkit segment writes it (pycocotools)."""
    import numpy as np
    from pycocotools import mask as coco

    r = coco.encode(np.asfortranarray(mask, dtype=np.uint8))
    return {"size": [int(r["size"][0]), int(r["size"][1])], "counts": r["counts"].decode("ascii")}


def rect_mask(size, x1, y1, x2, y2):
    import numpy as np

    w, h = size
    m = np.zeros((h, w), np.uint8)
    m[y1:y2, x1:x2] = 1
    return m


def segment_mask(i, mask, score, label=None, prompt=None) -> dict:
    """One mask record of SegmentResult.to_dict(): id, label, score, area, box, rle, prompt."""
    import numpy as np

    ys, xs = np.nonzero(mask)
    box = {"x1": float(xs.min()), "y1": float(ys.min()), "x2": float(xs.max() + 1), "y2": float(ys.max() + 1)} \
        if len(xs) else {"x1": 0.0, "y1": 0.0, "x2": 0.0, "y2": 0.0}
    return {"id": i, "label": label, "score": score, "area": int(mask.sum()), "box": box, "rle": rle(mask),
            "prompt": prompt or {"type": "everything"}}


def write_segment(root: Path, name: str, masks: list[dict], size=(160, 120), color=(90, 140, 200)) -> dict:
    """OUTDIR/<name> (masks drawn in), OUTDIR/originals/<name> (clean) and OUTDIR/<name>.json, as
    `fmkit segment -o OUTDIR` writes them (the JSON last)."""
    path = root / name
    (root / "originals" / name).parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(jpeg(size, color=(255, 0, 255)))  # the annotated copy: not what the page should show
    (root / "originals" / name).write_bytes(jpeg(size, color=color))
    obj = {"source": f"uploads/{name}", "width": size[0], "height": size[1], "masks": masks, "model": "mobile_sam",
           "seconds": 0.3, "outputs": {"image": str(path), "json": f"{path}.json",
                                       "original": str(root / "originals" / name)},
           "schema": 1, "identity": {"source": f"uploads/{name}", "version": "1"}, "run": {"model": "mobile_sam"}}
    Path(f"{path}.json").write_text(json.dumps(obj, ensure_ascii=False), encoding="utf-8")
    return obj


def two_people(size=(160, 120)) -> list[dict]:
    """Two labelled masks from a detector's boxes and one everything-mode mask without a label."""
    return [segment_mask(0, rect_mask(size, 10, 10, 60, 110), 0.93, "person",
                         {"type": "detection", "label": "person", "confidence": 0.8, "box": [10, 10, 60, 110]}),
            segment_mask(1, rect_mask(size, 100, 20, 150, 100), 0.41, "person",
                         {"type": "detection", "label": "person", "confidence": 0.5, "box": [100, 20, 150, 100]}),
            segment_mask(2, rect_mask(size, 0, 100, 160, 120), 0.88)]


def test_a_segment_result_is_a_mask_card_on_its_clean_original(tmp_path):
    from fmkit.gallery import build_gallery

    root = tmp_path / "r"
    written = write_segment(root, "team.jpg", two_people())
    write_result(root, "street.jpg", [det("person", 0.7, 1, 1, 50, 50), det("car", 0.6, 60, 60, 90, 90)])
    s = build_gallery(root)
    assert (s.results, s.detect, s.segment, s.problems) == (2, 1, 1, 0)
    assert (s.boxes, s.masks) == (2, 3) and s.labels == {"person": 3, "car": 1}  # the unlabelled mask: no label
    obj = json.loads(json.dumps(s.to_dict()))
    assert obj["segment"] == 1 and obj["masks"] == 3
    m = read_manifest(root)
    items = {i["n"]: i for i in m["items"]}
    team = items["team.jpg"]
    assert team["k"] == "segment" and team["u"] == "originals/team.jpg" and "a" not in team  # the page draws masks
    assert team["ms"] == [120, 160] and (team["w"], team["h"]) == (160, 120) and "d" not in team
    rows = [[None if r[0] < 0 else m["labels"][r[0]], *r[1:]] for r in team["s"]]
    assert rows == [[w["label"], w["score"], *w["box"].values(), w["area"], w["id"], w["prompt"]["type"], w["rle"]["counts"]]
                    for w in written["masks"]]
    assert items["street.jpg"]["k"] == "detect" and "s" not in items["street.jpg"] and "ms" not in items["street.jpg"]


def test_masks_of_a_segment_without_originals_are_in_the_picture(tmp_path):
    """No originals/ (copied without it): the annotated image is shown and the page draws no masks."""
    from fmkit.gallery import build_gallery

    root = tmp_path / "r"
    obj = write_segment(root, "team.jpg", two_people())
    del obj["outputs"]["original"]
    (root / "team.jpg.json").write_text(json.dumps(obj))
    build_gallery(root)
    [item] = read_manifest(root)["items"]
    assert item["u"] == "team.jpg" and item["a"] == 1 and len(item["s"]) == 3


def test_damaged_masks_make_a_problem_card(tmp_path):
    from fmkit.gallery import build_gallery

    root = tmp_path / "r"
    bad_text, wrong_size, mixed = two_people(), two_people(), two_people()
    bad_text[1]["rle"]["counts"] = [0, 5, 19195]  # uncompressed counts: not the text segment writes
    wrong_size[0]["rle"] = rle(rect_mask((80, 60), 0, 0, 8, 8))  # a mask of another image's size
    mixed[2]["rle"]["counts"] += "{"  # outside COCO's character range
    for name, masks in (("text.jpg", bad_text), ("size.jpg", wrong_size), ("chars.jpg", mixed)):
        write_segment(root, name, masks)
    s = build_gallery(root)
    items = {i["n"]: i for i in read_manifest(root)["items"]}
    assert s.problems == 3 and all(i["e"] == "corrupt" and "bad masks" in i["ed"] for i in items.values())
    assert "not COCO compressed RLE text" in items["text.jpg"]["ed"]
    assert "covers 80x60, the image is 160x120" in items["size.jpg"]["ed"]
    assert all("u" in i for i in items.values())  # the image beside the JSON still shows
