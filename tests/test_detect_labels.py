"""Detection labels: placed so that none overlaps another and all stay inside the image, most
confident first, shortened or left out when there is no room (fmkit/render/detections.py)."""

from __future__ import annotations

import itertools
import random

import numpy as np
import pytest

from fmkit.detect.results import Detection
from fmkit.render.detections import annotate, overlaps, place_labels

NAMES = {0: "person", 1: "bicycle", 2: "car", 3: "motorcycle", 5: "bus"}


def _check(placed, image_size):
    width, height = image_size
    rects = [r for _, r in filter(None, placed)]
    for r in rects:
        assert 0 <= r[0] < r[2] <= width and 0 <= r[1] < r[3] <= height, f"label outside the image: {r}"
    for a, b in itertools.combinations(rects, 2):
        assert not overlaps(a, b), f"labels overlap: {a} {b}"
    return rects


def test_labels_of_close_boxes_never_overlap_and_stay_inside():
    """30 boxes in a row along the top edge, touching and overlapping: the case that ran together."""
    rng = random.Random(0)
    size = (640, 480)
    boxes = [(x, rng.choice([0, 2, 5]), x + 60, 120) for x in range(0, 600, 20)]
    boxes += [(600, 0, 640, 40), (-5, 470, 30, 490)]  # at the right edge; partly outside bottom-left
    sizes = [[(rng.randint(70, 110), 16), (48, 16)] for _ in boxes]
    conf = [rng.random() for _ in boxes[:-2]] + [0.0, 0.0]
    placed = place_labels(boxes, sizes, size, conf)
    rects = _check(placed, size)
    assert len(rects) >= 10  # labels above, inside and below the row are used

    # the most confident box gets its first choice: inside its top (there is no room above y=0..5)
    best = max(range(len(boxes)), key=conf.__getitem__)
    variant, r = placed[best]
    assert variant == 0 and r[1] == max(0, int(boxes[best][1]))


def test_random_crowds_in_many_sizes():
    rng = random.Random(1)
    for trial in range(50):
        size = (rng.randint(80, 900), rng.randint(60, 700))
        boxes, sizes, conf = [], [], []
        for _ in range(rng.randint(1, 60)):
            x1, y1 = rng.uniform(-20, size[0]), rng.uniform(-20, size[1])
            boxes.append((x1, y1, x1 + rng.uniform(2, 300), y1 + rng.uniform(2, 300)))
            h = rng.randint(10, 30)
            sizes.append([(rng.randint(40, 200), h), (rng.randint(20, 60), h)])
            conf.append(rng.random())
        _check(place_labels(boxes, sizes, size, conf), size)


def test_no_room_means_shortened_then_left_out():
    size = (200, 100)
    box = (10, 40, 60, 60)
    # ten identical boxes: their eight places (4 positions x left/right) fill up
    placed = place_labels([box] * 10, [[(40, 14), (20, 14)]] * 10, size, [1 - i / 10 for i in range(10)])
    _check(placed, size)
    assert placed[0][0] == 0 and placed[0][1] == (10, 26, 50, 40)  # above the box, left-aligned
    assert None in placed  # some had no free place at all
    # a label wider than the image is shortened (the class name alone) rather than cut off
    [(variant, rect)] = place_labels([box], [[(300, 14), (50, 14)]], size)
    assert variant == 1 and rect[2] - rect[0] == 50


def test_labels_keep_a_gap_where_there_is_room():
    size = (400, 300)
    boxes = [(100, 100, 200, 200)] * 3
    placed = place_labels(boxes, [[(60, 15)]] * 3, size, [0.9, 0.8, 0.7])
    rects = _check(placed, size)
    for a, b in itertools.combinations(rects, 2):
        assert not overlaps((a[0] - 1, a[1] - 1, a[2] + 1, a[3] + 1), b)


def _det(cls, conf, x1, y1, x2, y2):
    return Detection(cls, NAMES[cls], conf, float(x1), float(y1), float(x2), float(y2))


@pytest.fixture
def crowd():
    """Boxes side by side along the top edge of a blank image, several classes."""
    dets = [_det([0, 2, 5, 1, 3][i % 5], 0.95 - i * 0.03, 10 + 28 * i, 0, 70 + 28 * i, 90) for i in range(20)]
    return np.full((240, 640, 3), 255, np.uint8), dets


def test_annotated_image_has_every_label_where_the_layout_put_it(crowd):
    import cv2
    from ultralytics.utils.plotting import colors

    image, dets = crowd
    png = annotate(image, dets, NAMES, ".png")
    drawn = cv2.imdecode(np.frombuffer(png, np.uint8), cv2.IMREAD_COLOR)  # BGR
    assert drawn.shape == image.shape

    # The same layout, recomputed with the text sizes annotate() measures
    from ultralytics.utils.plotting import Annotator

    ann = Annotator(np.ascontiguousarray(image[..., ::-1]), example=str(list(NAMES.values())))
    sizes = []
    for d in dets:
        variants = []
        for t in (f"{d.label} {d.confidence:.2f}", d.label):
            (w, h), base = cv2.getTextSize(t, 0, fontScale=ann.sf, thickness=ann.tf)
            variants.append((w + 4, h + base + 4))
        sizes.append(variants)
    placed = place_labels([(d.x1, d.y1, d.x2, d.y2) for d in dets], sizes, (640, 240), [d.confidence for d in dets])
    rects = _check(placed, (640, 240))
    assert len(rects) >= 8  # three rows (inside top, inside bottom, below), shortened where needed
    for d, where in zip(dets, placed):
        if where is None:
            continue
        x1, y1, x2, y2 = where[1]
        patch = drawn[y1:y2, x1:x2].reshape(-1, 3)
        # the label's background colour (its class colour, BGR) fills most of its own rectangle:
        # nothing drawn later covered it
        share = np.mean(np.all(np.abs(patch.astype(int) - colors(d.class_id, True)) <= 2, axis=1))
        assert share > 0.5, (d, where, share)
    # and outside boxes and labels the image is untouched (no label drawn off its place)
    mask = np.zeros(image.shape[:2], bool)
    for x1, y1, x2, y2 in rects:
        mask[y1:y2, x1:x2] = True
    for d in dets:
        mask[max(0, int(d.y1) - 3):int(d.y2) + 4, max(0, int(d.x1) - 3):int(d.x2) + 4] = True
    assert (drawn[~mask] == 255).all()
