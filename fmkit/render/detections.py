"""Detections drawn onto their image: the annotated copies under -o and the notebook view.

Boxes are drawn first, then the labels, most confident first, each at the first free place among
above the box, inside its top, below it and inside its bottom (left-aligned, then right-aligned),
so that no two labels overlap and none leaves the image. A label with no free place is shortened
("person 0.87" -> "person") and, failing that, left out: its box is still drawn in its class colour.
`place_labels` is that placement as a pure function (tested in tests/test_detect_labels.py).
"""

from __future__ import annotations

from typing import Any, Sequence

Rect = tuple[int, int, int, int]  # x1, y1, x2, y2: pixels x1 <= x < x2, y1 <= y < y2


def overlaps(a: Rect, b: Rect) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def _grown(r: Rect, by: int) -> Rect:
    return (r[0] - by, r[1] - by, r[2] + by, r[3] + by)


def _candidates(box: Sequence[float], w: int, h: int, width: int, height: int) -> list[Rect]:
    """Where a w x h label may go for `box`, in order of preference; all inside the image."""
    x1, y1, x2, y2 = (int(round(v)) for v in box)
    out: list[Rect] = []
    for y in (y1 - h, y1, y2, y2 - h):  # above, inside top, below, inside bottom
        for x in (x1, x2 - w):  # left-aligned, then right-aligned
            x = min(max(x, 0), width - w)  # slid back into the image sideways
            if 0 <= y and y + h <= height and x >= 0:
                rect = (x, y, x + w, y + h)
                if rect not in out:
                    out.append(rect)
    return out


def place_labels(boxes: Sequence[Sequence[float]], sizes: Sequence[Sequence[tuple[int, int]]],
                 image_size: tuple[int, int], confidences: Sequence[float] | None = None,
                 gap: int = 1) -> list[tuple[int, Rect] | None]:
    """Label rectangles that do not overlap each other and stay inside the image.

    boxes[i] is (x1, y1, x2, y2); sizes[i] the (width, height) of each text variant of label i,
    longest first (e.g. "person 0.87", then "person"); image_size is (width, height). Labels are
    placed greedily, most confident first (input order among equals), `gap` pixels apart where
    the image allows it. Returns, per label, (the
    variant used, its rectangle), or None where no variant had a free place."""
    width, height = image_size
    order = sorted(range(len(boxes)), key=lambda i: -(confidences[i] if confidences is not None else 0.0))
    taken: list[Rect] = []
    placed: list[tuple[int, Rect] | None] = [None] * len(boxes)
    for i in order:
        for variant, (w, h) in enumerate(sizes[i]):
            if w > width or h > height:
                continue
            free = next((r for r in _candidates(boxes[i], w, h, width, height)
                         if not any(overlaps(_grown(r, gap), t) for t in taken)), None)
            if free is not None:
                placed[i] = (variant, free)
                taken.append(free)
                break
    return placed


def _texts(d) -> list[str]:
    """A detection's label, longest first: with its confidence, then the class name alone."""
    return [f"{d.label} {d.confidence:.2f}", d.label]


def annotate(image: Any, detections: Sequence, names: dict[int, str], suffix: str = ".png") -> bytes | None:
    """RGB array + detections -> the image with labelled boxes, encoded as `suffix` (None if it cannot be)."""
    import cv2
    import numpy as np
    from ultralytics.utils.plotting import Annotator, colors

    bgr = np.ascontiguousarray(image[..., ::-1])
    annotator = Annotator(bgr, example=str(list(names.values())))
    for d in detections:  # all boxes first, so that no box line crosses a label
        annotator.box_label((d.x1, d.y1, d.x2, d.y2), "", color=colors(d.class_id, True))

    if annotator.pil:  # non-ASCII names: PIL and a TrueType font
        font = annotator.font

        def measure(text: str) -> tuple[tuple[int, int], int]:
            left, top, right, bottom = font.getbbox(text)
            return (int(right - min(left, 0)), int(bottom)), 0
    else:
        def measure(text: str) -> tuple[tuple[int, int], int]:
            (w, h), base = cv2.getTextSize(text, 0, fontScale=annotator.sf, thickness=annotator.tf)
            return (int(w), int(h)), int(base)

    pad = 2
    texts = [_texts(d) for d in detections]
    metrics = [[measure(t) for t in ts] for ts in texts]
    sizes = [[(w + 2 * pad, h + base + 2 * pad) for (w, h), base in ms] for ms in metrics]
    height, width = bgr.shape[:2]
    placed = place_labels([(d.x1, d.y1, d.x2, d.y2) for d in detections], sizes, (width, height),
                          [d.confidence for d in detections])
    for d, ts, ms, where in zip(detections, texts, metrics, placed):
        if where is None:
            continue
        variant, (x1, y1, x2, y2) = where
        (w, h), base = ms[variant]
        color = colors(d.class_id, True)
        txt_color = annotator.get_txt_color(color)
        if annotator.pil:
            annotator.draw.rectangle((x1, y1, x2 - 1, y2 - 1), fill=color)
            annotator.draw.text((x1 + pad, y1 + pad), ts[variant], fill=txt_color, font=annotator.font)
        else:
            cv2.rectangle(annotator.im, (x1, y1), (x2 - 1, y2 - 1), color, -1)
            cv2.putText(annotator.im, ts[variant], (x1 + pad, y1 + pad + h), 0, annotator.sf, txt_color,
                        thickness=annotator.tf, lineType=cv2.LINE_AA)
    ok, encoded = cv2.imencode(suffix.lower(), np.asarray(annotator.result()))
    return encoded.tobytes() if ok else None
