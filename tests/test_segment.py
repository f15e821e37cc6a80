"""`Session.segment`: prompts in, one mask per prompt out (COCO RLE that decodes to the image's
size), everything mode, FastSAM, a detector's boxes as prompts, the -o OUTDIR files, and the
checkpoint loader's one-line refusals. Random-weight models (tests/tiny_sam.py) at 256 px:
shapes, counts, round-trips and prompt handling, never mask quality."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

from test_detect import BUS, ZIDANE
from tiny_sam import build_fastsam, build_sam

SMALL = {"imgsz": 256}  # keyword options = segment profile keys: the encoder at 256 px


@pytest.fixture(scope="session")
def mobile_sam(models_dir):
    return build_sam(models_dir / "sam", "mobile_sam")


@pytest.fixture(scope="session")
def sam2_t(models_dir):
    return build_sam(models_dir / "sam", "sam2_t")


@pytest.fixture(scope="session")
def fastsam(models_dir):
    return build_fastsam(models_dir / "sam")


@pytest.fixture
def fk():
    import fmkit

    with fmkit.Session("laptop", offline=True) as session:
        yield session


def _check_mask(m, height: int, width: int) -> np.ndarray:
    """A mask's record agrees with its own pixels: RLE size, area and box."""
    from fmkit.segment import rle

    pixels = m.pixels()
    assert pixels.shape == (height, width) and m.rle["size"] == [height, width]
    assert int(pixels.sum()) == m.area
    if m.area:
        ys, xs = np.nonzero(pixels)
        assert m.box == (xs.min(), ys.min(), xs.max() + 1, ys.max() + 1)
    assert rle.decode(rle.encode(pixels)).tolist() == pixels.tolist()
    return pixels


# --- prompts, RLE ------------------------------------------------------------------------------


def test_prompt_text_is_parsed_and_refused_in_one_line():
    from fmkit.errors import BadInput
    from fmkit.segment.prompts import Box, Point, check_inside, parse_prompts

    assert parse_prompts(["410,520", (5, 6.5)], "50,400,250,900") == [Point(410, 520), Point(5, 6.5),
                                                                     Box(50, 400, 250, 900)]
    assert Point(410, 520).to_dict() == {"type": "point", "points": [[410, 520]], "labels": [1]}
    assert Box(1, 2, 3.25, 4).to_dict() == {"type": "box", "box": [1, 2, 3.2, 4]}
    assert Box(1, 2, 3, 4, "person", 0.91234).to_dict() == {"type": "detection", "label": "person",
                                                              "confidence": 0.9123, "box": [1, 2, 3, 4]}
    for points, boxes, says in ((["410"], None, "is not 2 numbers"), (["a,b"], None, "is not 2 numbers"),
                                (["nan,3"], None, "is not 2 numbers"), (["-1,3"], None, "outside the image"),
                                (None, ["5,5,5,9"], "empty or inverted"), (None, ["9,5,2,9"], "empty or inverted"),
                                (None, ["1,2,3"], "is not 4 numbers")):
        with pytest.raises(BadInput, match=says) as e:
            parse_prompts(points, boxes)
        assert "\n" not in str(e.value)
    check_inside([Point(809, 1079), Box(0, 0, 810, 1080)], 810, 1080, "bus.jpg")
    with pytest.raises(BadInput, match=r"the point 810,5 is outside bus.jpg \(810x1080\)"):
        check_inside([Point(810, 5)], 810, 1080, "bus.jpg")
    with pytest.raises(BadInput, match="box 0,0,811,10 is outside"):
        check_inside([Box(0, 0, 811, 10)], 810, 1080, "bus.jpg")


def test_rle_round_trip_area_and_box():
    from fmkit.segment import rle

    rng = np.random.default_rng(0)
    mask = rng.random((37, 53)) > 0.6
    encoded = rle.encode(mask)
    assert encoded["size"] == [37, 53] and isinstance(encoded["counts"], str)
    json.dumps(encoded)  # plain JSON
    assert (rle.decode(encoded) == mask).all() and rle.area(encoded) == int(mask.sum())
    ys, xs = np.nonzero(mask)
    assert rle.bbox(encoded) == (xs.min(), ys.min(), xs.max() + 1, ys.max() + 1)
    assert rle.area(rle.encode(np.zeros((4, 5), bool))) == 0


# --- the checkpoint loader -------------------------------------------------------------------


def test_architecture_from_the_name_or_else_the_tensors(mobile_sam, sam2_t, tmp_path):
    from fmkit.segment.model import architecture, build_sam as load, read_state_dict

    assert architecture(mobile_sam, {}) == "mobile_sam"
    for path, name in ((mobile_sam, "mobile_sam"), (sam2_t, "sam2_t")):
        renamed = tmp_path / "my-checkpoint.pt"
        shutil.copyfile(path, renamed)
        assert architecture(renamed, read_state_dict(renamed)) == name
    model, name = load(renamed)
    assert name == "sam2_t" and not model.training


@pytest.mark.parametrize("damage, says", [
    ("truncated", "truncated or damaged"), ("empty", "empty (0 bytes)"), ("pickle", "weights-only loader refused"),
    ("shapes", "wrong shape for mobile_sam"), ("missing", "lacks 1 tensor(s) mobile_sam needs"),
    ("sam2.1", "SAM 2.1 checkpoint"),
])
def test_a_bad_checkpoint_is_one_line_naming_the_file(mobile_sam, tmp_path, damage, says):
    import torch

    from fmkit.errors import ModelUnavailable
    from fmkit.segment.model import build_sam as load

    path = tmp_path / ("sam2.1_t.pt" if damage == "sam2.1" else "mobile_sam.pt")
    data = mobile_sam.read_bytes()
    if damage in ("truncated", "empty"):
        path.write_bytes(data[: len(data) // 2] if damage == "truncated" else b"")
    elif damage == "pickle":
        torch.save({"model": torch.nn.Linear(2, 2)}, path)  # a pickled module: code, not tensors
    else:
        state = torch.load(mobile_sam, weights_only=True)
        if damage == "shapes":
            state["mask_decoder.iou_token.weight"] = torch.zeros(3, 3)
        elif damage == "missing":
            del state["mask_decoder.iou_token.weight"]
        torch.save(state, path)
    with pytest.raises(ModelUnavailable) as e:
        load(path)
    assert str(path) in str(e.value) and says in str(e.value) and "\n" not in str(e.value)


# --- prompted, everything, FastSAM ------------------------------------------------------------


@pytest.mark.parametrize("which", ["mobile_sam", "sam2_t"])
def test_one_mask_per_prompt_in_prompt_order(fk, request, which):
    model = request.getfixturevalue(which)
    points, boxes = ["410,520", (100, 700)], ["50,400,250,900", "0,0,810,1080"]
    (result,) = list(fk.segment(BUS, model=str(model), points=points, boxes=boxes, **SMALL))
    assert result.ok and (result.width, result.height) == (810, 1080)
    assert [m.id for m in result.masks] == [0, 1, 2, 3]
    assert [m.prompt for m in result.masks] == [
        {"type": "point", "points": [[410, 520]], "labels": [1]}, {"type": "point", "points": [[100, 700]],
                                                                   "labels": [1]},
        {"type": "box", "box": [50, 400, 250, 900]}, {"type": "box", "box": [0, 0, 810, 1080]}]
    for m in result.masks:
        _check_mask(m, 1080, 810)
        assert m.label is None and 0 < m.score < 1.5
    d = result.to_dict()
    assert list(d) == ["source", "width", "height", "masks", "model", "seconds"]
    assert list(d["masks"][0]) == ["id", "label", "score", "area", "box", "rle", "prompt"]
    assert list(d["masks"][0]["box"]) == ["x1", "y1", "x2", "y2"]


def test_masks_are_the_ones_ultralytics_own_sam_makes(fk, mobile_sam):
    """The same random MobileSAM through `SAM(path)(image, bboxes=...)`: fmkit's folded,
    channels_last encoder (in float32, as Ultralytics computes on a CPU) and its
    one-mask-at-a-time scaling give the same masks."""
    from ultralytics import SAM

    boxes = [[50, 400, 250, 900], [0, 0, 810, 1080], [300, 200, 700, 800]]
    (ours,) = list(fk.segment(BUS, model=str(mobile_sam), boxes=boxes, dtype="float32", **SMALL))
    theirs = SAM(str(mobile_sam))(str(BUS), bboxes=boxes, imgsz=256, verbose=False)[0]
    reference = theirs.masks.data.cpu().numpy()
    assert reference.shape == (3, 1080, 810)
    for m, ref in zip(ours.masks, reference):
        pixels = m.pixels()
        iou = (pixels & ref).sum() / max((pixels | ref).sum(), 1)
        assert iou > 0.99, iou
    assert [round(m.score, 3) for m in ours.masks] == [round(float(s), 3) for s in theirs.boxes.conf]


def test_prompt_batches_and_encoder_dtype_change_speed_not_answers(mobile_sam):
    """Prompts decoded one at a time or together, the encoder in float32 or bfloat16: the same
    masks (bfloat16 moves a few edge pixels); float16 on a CPU is refused with a note, not an error."""
    import fmkit

    notes = []
    with fmkit.Session("laptop", offline=True, notify=notes.append) as fk:
        boxes = ["50,400,250,900", "0,0,810,1080", "300,200,700,800"]
        runs = {(batch, dtype): list(fk.segment(BUS, model=str(mobile_sam), boxes=boxes, prompt_batch=batch,
                                                dtype=dtype, **SMALL))[0]
                for batch, dtype in ((1, "float32"), (16, "float32"), (16, "bfloat16"), (16, "float16"))}
    assert any("float16 needs a CUDA GPU" in n for n in notes)
    reference = runs[(16, "float32")].masks
    for key, result in runs.items():
        assert len(result.masks) == 3
        for ours, ref in zip(result.masks, reference):
            a, b = ours.pixels(), ref.pixels()
            assert (a & b).sum() / max((a | b).sum(), 1) > (0.97 if key[1] == "bfloat16" else 0.999), key


def test_everything_mode_keeps_distinct_good_masks_up_to_max(fk, mobile_sam):
    (result,) = list(fk.segment(ZIDANE, model=str(mobile_sam), points_per_side=8, min_score=0, min_stability=0,
                                nms_iou=0.95, max_masks=5, **SMALL))
    assert 1 <= len(result.masks) <= 5
    assert all(m.prompt == {"type": "everything"} and m.area > 0 for m in result.masks)
    assert [m.score for m in result.masks] == sorted((m.score for m in result.masks), reverse=True)
    for m in result.masks:
        _check_mask(m, 720, 1280)
    (strict,) = list(fk.segment(ZIDANE, model=str(mobile_sam), points_per_side=4, min_score=1, **SMALL))
    assert strict.ok and strict.masks == []  # nothing good enough: no masks, not an error


def test_fastsam_segments_everything_and_prompts_pick_one_mask_each(fk, fastsam):
    (everything,) = list(fk.segment(BUS, model=str(fastsam), fastsam_conf=0, max_masks=7, imgsz=320))
    assert len(everything.masks) <= 7 and all(m.area > 0 for m in everything.masks)
    (prompted,) = list(fk.segment(BUS, model=str(fastsam), points="5,5", boxes="0,0,810,1080", fastsam_conf=0,
                                  imgsz=320))
    assert [m.prompt["type"] for m in prompted.masks] == ["point", "box"]
    for m in prompted.masks:
        _check_mask(m, 1080, 810)
        assert (m.score == 0) == (m.area == 0)  # a prompt no mask answers: an empty mask, score 0
    if prompted.masks[0].area:
        assert prompted.masks[0].pixels()[5, 5]  # the mask a point picks covers that point


# --- a detector's boxes as prompts -------------------------------------------------------------


def test_from_detections_one_mask_per_detected_box(fk, mobile_sam, tiny_yolo):
    (found,) = list(fk.detect(ZIDANE, model=str(tiny_yolo)))
    assert found.detections  # the tiny detector finds something in zidane.jpg
    (result,) = list(fk.segment(ZIDANE, model=str(mobile_sam), from_detections=True, detect_model=str(tiny_yolo),
                                **SMALL))
    assert len(result.masks) == len(found.detections)
    for m, d in zip(result.masks, found.detections):
        assert m.label == d.label
        assert m.prompt == {"type": "detection", "label": d.label, "confidence": round(d.confidence, 4),
                            "box": [round(v, 1) if not float(v).is_integer() else int(v)
                                    for v in (d.x1, d.y1, d.x2, d.y2)]}
    assert result.labels() == [d.label for d in found.detections]


def test_no_detections_is_that_image_s_error_and_the_run_goes_on(mobile_sam, tiny_yolo, tmp_path):
    import fmkit

    with fmkit.Session("laptop", offline=True, set={"detect.conf": 1.0}) as strict:  # nothing scores above 1
        run = strict.segment([ZIDANE, BUS], model=str(mobile_sam), from_detections=True,
                             detect_model=str(tiny_yolo), output=tmp_path / "out", **SMALL)
        results = list(run)
    assert [r.ok for r in results] == [False, False]
    assert "found no objects here" in results[0].error and "detect.conf" in results[0].error
    assert run.summary.failed == 2
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == []  # nothing half-written


# --- -o OUTDIR ---------------------------------------------------------------------------------


def test_outdir_holds_image_original_json_cutout_and_coco_rle(fk, mobile_sam, tmp_path):
    from pycocotools.coco import COCO

    out = tmp_path / "out"
    results = list(fk.segment([BUS, ZIDANE], model=str(mobile_sam), boxes="10,10,400,600", points="300,300",
                              output=out, coco=True, cutout=True, **SMALL))
    assert sorted(str(p.relative_to(out)) for p in out.rglob("*") if p.is_file()) == [
        "bus.jpg", "bus.jpg.json", "coco.json", "cutouts/bus.jpg.png", "cutouts/zidane.jpg.png", "originals/bus.jpg",
        "originals/zidane.jpg", "zidane.jpg", "zidane.jpg.json"]
    record = json.loads((out / "bus.jpg.json").read_text())
    assert record["masks"] == results[0].to_dict()["masks"]
    assert record["outputs"]["original"] == str(out / "originals" / "bus.jpg")
    assert record["schema"] == 1 and record["identity"]["source"] == str(BUS)
    assert record["run"]["prompts"] == [{"type": "point", "points": [[300, 300]], "labels": [1]},
                                        {"type": "box", "box": [10, 10, 400, 600]}]
    from PIL import Image

    assert Image.open(out / "originals" / "bus.jpg").size == Image.open(out / "bus.jpg").size == (810, 1080)
    cut = Image.open(out / "cutouts" / "bus.jpg.png")
    assert cut.mode == "RGBA" and cut.size[0] <= 810 and cut.size[1] <= 1080
    coco = COCO(str(out / "coco.json"))
    assert len(coco.getImgIds()) == 2 and len(coco.getAnnIds()) == 4
    ann = coco.loadAnns(coco.getAnnIds(imgIds=[1]))[0]
    assert (coco.annToMask(ann).astype(bool) == results[0].masks[0].pixels()).all()
    again = list(fk.segment([BUS, ZIDANE], model=str(mobile_sam), boxes="10,10,400,600", points="300,300",
                            output=out, **SMALL))
    assert again == []  # the same run again: both results are there, nothing redone


def test_notebook_display_draws_the_masks(fk, mobile_sam):
    (result,) = list(fk.segment(BUS, model=str(mobile_sam), points="400,500", **SMALL))
    bundle = result._repr_mimebundle_()
    assert bundle["image/png"] and "<table" in bundle["text/html"] and "point" in bundle["text/html"]
    assert bundle["text/plain"] == f"SegmentResult({str(BUS)!r}, 1 masks)"
