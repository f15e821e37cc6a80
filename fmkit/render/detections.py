"""Detections drawn onto their image: the annotated copies under -o and the notebook view."""

from __future__ import annotations

from typing import Any, Sequence


def annotate(image: Any, detections: Sequence, names: dict[int, str], suffix: str = ".png") -> bytes | None:
    """RGB array + detections -> the image with labelled boxes, encoded as `suffix` (None if it cannot be)."""
    import cv2
    import numpy as np
    from ultralytics.utils.plotting import Annotator, colors

    bgr = np.ascontiguousarray(image[..., ::-1])
    annotator = Annotator(bgr, example=str(list(names.values())))
    for d in detections:
        annotator.box_label((d.x1, d.y1, d.x2, d.y2), f"{d.label} {d.confidence:.2f}", color=colors(d.class_id, True))
    ok, encoded = cv2.imencode(suffix.lower(), np.asarray(annotator.result()))
    return encoded.tobytes() if ok else None
