"""Masks drawn onto their image: translucent fills, outlines, the prompt that asked for each (a
dot for a point, a thin box for a box) and a detector's label; also the clean copy and the cut
out (masked pixels on a transparent background). Used for -o OUTDIR files and the notebook view.

Masks arrive as COCO RLE and are decoded one at a time, so drawing 100 masks over a 12-megapixel
photo holds one mask's pixels, not 100.
"""

from __future__ import annotations

import functools
from typing import Any, Sequence

ALPHA = 0.45  # how much of a mask's colour covers the photo


def colour(i: int) -> tuple[int, int, int]:
    """Mask i's colour (BGR)."""
    palette = _palette()
    return palette[i % len(palette)]


@functools.lru_cache(maxsize=1)
def _palette() -> tuple[tuple[int, int, int], ...]:
    """Ultralytics' palette without its greys, which vanish as a translucent fill over a light photo."""
    from ultralytics.utils.plotting import colors

    return tuple(c for c in (colors(k, True) for k in range(20)) if max(c) - min(c) > 60)


def encode(image: Any, suffix: str = ".png") -> bytes | None:
    """RGB (H, W, 3) uint8 -> encoded as `suffix` (None when cv2 cannot write that format)."""
    import numpy as np

    return _encoded(np.ascontiguousarray(image[..., ::-1]), suffix)


def _encoded(pixels: Any, suffix: str) -> bytes | None:
    """cv2's channel order (BGR, BGRA) -> the file's bytes, or None when cv2 cannot write `suffix`."""
    import cv2

    ok, data = cv2.imencode(suffix.lower(), pixels)
    return data.tobytes() if ok else None


def annotate(image: Any, masks: Sequence, suffix: str = ".png") -> bytes | None:
    """RGB array + Masks -> the annotated image encoded as `suffix` (None if it cannot be)."""
    import cv2
    import numpy as np

    bgr = np.ascontiguousarray(image[..., ::-1])
    overlay = bgr.copy()
    height, width = bgr.shape[:2]
    thickness = max(1, round((height + width) / 2 * 0.003))
    outlines = []
    for i, m in enumerate(masks):
        pixels = m.pixels()  # (H, W) bool, decoded from the mask's RLE
        overlay[pixels] = colour(i)
        contours, _ = cv2.findContours(pixels.astype(np.uint8), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
        outlines.append(contours)
        del pixels
    out = cv2.addWeighted(overlay, ALPHA, bgr, 1 - ALPHA, 0)
    for i, (m, contours) in enumerate(zip(masks, outlines)):
        cv2.drawContours(out, contours, -1, colour(i), thickness, cv2.LINE_AA)
        _prompt(out, m.prompt, colour(i), thickness)
    _labels(out, masks, thickness)
    return _encoded(out, suffix)


def _prompt(out, prompt: dict, colour, thickness: int) -> None:
    """The prompt on top of its mask: a white-ringed dot per point, a thin line for a box."""
    import cv2

    for x, y in prompt.get("points", []):
        centre = (int(round(x)), int(round(y)))
        cv2.circle(out, centre, 3 * thickness + 2, (255, 255, 255), -1, cv2.LINE_AA)
        cv2.circle(out, centre, 3 * thickness, colour, -1, cv2.LINE_AA)
    if "box" in prompt:
        x1, y1, x2, y2 = (int(round(v)) for v in prompt["box"])
        cv2.rectangle(out, (x1, y1), (x2, y2), colour, max(1, thickness // 2), cv2.LINE_AA)


def _labels(out, masks: Sequence, thickness: int) -> None:
    """A detector's label and SAM's score over each labelled mask, placed so none overlap
    (render/detections.place_labels); names cv2 cannot draw (non-ASCII) are left to the outline."""
    import cv2

    from fmkit.render.detections import place_labels

    scale = thickness / 3
    shown = [(i, m) for i, m in enumerate(masks) if m.label and m.label.isascii() and m.area]
    texts = [[f"{m.label} {m.score:.2f}", m.label] for _, m in shown]
    metrics = [[cv2.getTextSize(t, 0, scale, max(1, thickness // 2)) for t in ts] for ts in texts]
    sizes = [[(w + 4, h + base + 4) for (w, h), base in ms] for ms in metrics]
    height, width = out.shape[:2]
    placed = place_labels([m.box for _, m in shown], sizes, (width, height), [m.score for _, m in shown])
    for (i, m), ts, ms, where in zip(shown, texts, metrics, placed):
        if where is None:
            continue
        variant, (x1, y1, x2, y2) = where
        (_, h), _ = ms[variant]
        cv2.rectangle(out, (x1, y1), (x2 - 1, y2 - 1), colour(i), -1)
        b, g, r = colour(i)
        ink = (0, 0, 0) if 0.299 * r + 0.587 * g + 0.114 * b > 150 else (255, 255, 255)  # readable on its colour
        cv2.putText(out, ts[variant], (x1 + 2, y1 + 2 + h), 0, scale, ink, max(1, thickness // 2), cv2.LINE_AA)


def cutout(image: Any, masks: Sequence) -> bytes | None:
    """The pixels under any mask on a transparent background, cropped to them, as PNG; None
    when the masks cover nothing."""
    import numpy as np

    union = None
    for m in masks:
        if m.area:
            pixels = m.pixels()
            union = pixels if union is None else union | pixels
    if union is None or not union.any():
        return None
    ys, xs = np.nonzero(union.any(axis=1))[0], np.nonzero(union.any(axis=0))[0]
    y1, y2, x1, x2 = ys[0], ys[-1] + 1, xs[0], xs[-1] + 1
    rgba = np.dstack([image[y1:y2, x1:x2, ::-1], union[y1:y2, x1:x2].astype(np.uint8) * 255])
    return _encoded(rgba, ".png")
