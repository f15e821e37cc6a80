"""What SAM is asked to cut out, one mask per prompt: a point, a box, a detector's box, or
nothing (a grid of points: "segment everything").

The text a user types (`--point 410,520`, `--box 50,400,250,900`) is parsed and checked here
once, before any model loads; whether a prompt fits an image can only be checked per image
(`check_inside`). Each prompt knows its own `--json` record, so a mask always says which prompt
made it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Sequence

from fmkit.errors import BadInput
from fmkit.options import setting


@dataclass(frozen=True)
class Point:
    """A foreground point in original-image pixels."""

    x: float
    y: float

    def to_dict(self) -> dict:
        return {"type": "point", "points": [[_num(self.x), _num(self.y)]], "labels": [1]}

    def describe(self) -> str:
        return f"point {_num(self.x)},{_num(self.y)}"


@dataclass(frozen=True)
class Box:
    """A box x1,y1,x2,y2 in original-image pixels (x1 < x2, y1 < y2); a detector's box carries its
    label and confidence."""

    x1: float
    y1: float
    x2: float
    y2: float
    label: str | None = None
    confidence: float | None = None

    @property
    def coords(self) -> list[float]:
        return [self.x1, self.y1, self.x2, self.y2]

    def to_dict(self) -> dict:
        box = [_num(v) for v in self.coords]
        if self.label is None:
            return {"type": "box", "box": box}
        return {"type": "detection", "label": self.label, "confidence": round(float(self.confidence or 0.0), 4),
                "box": box}

    def describe(self) -> str:
        text = "box " + ",".join(str(_num(v)) for v in self.coords)
        return text if self.label is None else f"{self.label} {text}"


EVERYTHING = {"type": "everything"}
Prompt = Point | Box


@dataclass(frozen=True)
class Detections:
    """A detector's boxes as prompts (--from-detections): `find(source)` -> Boxes with label and
    confidence, or the one-line reason the detector could not look at that source. The Session
    makes it from its own `detect` (segment never imports detect); `label` names the detector and
    its threshold, e.g. "yolo11n (conf 0.25)"."""

    label: str
    find: Callable[[Any], list[Box] | str]
    conf: float = 0.25
    key: dict | None = None  # the detector's model and settings that decide its boxes (a stored result's run key)

    @property
    def nothing_found(self) -> str:
        """Why an image without detections has no result: not a usage error (the command is right,
        and in a folder the other images still get masks), but nothing SAM was asked to cut out."""
        return (f"{self.label} found no objects here, so there is no box to prompt SAM with "
                f"(try {setting('detect.conf', round(self.conf / 2, 3))}, or give a box or point yourself)")


def _num(v: float) -> float | int:
    """Whole pixel values print as integers (410, not 410.0); others keep one decimal."""
    return int(v) if float(v).is_integer() else round(float(v), 1)


def _numbers(text: str, count: int, what: str, example: str) -> list[float]:
    parts = [p.strip() for p in str(text).replace(" ", ",").split(",") if p.strip()]
    try:
        values = [float(p) for p in parts]
    except ValueError:
        values = []
    if len(values) != count or not all(math.isfinite(v) for v in values):
        raise BadInput(f"the {what} {str(text)!r} is not {count} numbers",
                       f"write a {what} as {example} (pixels of the original image)")
    return values


def parse_point(text: str | Sequence[float]) -> Point:
    """'410,520' (or (410, 520) from Python) -> Point; negative coordinates are outside every image."""
    x, y = _numbers(_joined(text), 2, "point", "410,520")
    if x < 0 or y < 0:
        raise BadInput(f"the point {_joined(text)} is outside the image (negative coordinate)",
                       "x and y count pixels from the top-left corner, from 0")
    return Point(x, y)


def parse_box(text: str | Sequence[float]) -> Box:
    """'50,400,250,900' -> Box; an empty or inverted box is refused here, before any model loads."""
    x1, y1, x2, y2 = _numbers(_joined(text), 4, "box", "50,400,250,900")
    if x2 <= x1 or y2 <= y1:
        raise BadInput(f"the box {_joined(text)} is empty or inverted (x2 <= x1 or y2 <= y1)",
                       "a box is X1,Y1,X2,Y2: its top-left corner, then its bottom-right")
    if x1 < 0 or y1 < 0:
        raise BadInput(f"the box {_joined(text)} starts outside the image (negative coordinate)",
                       "x and y count pixels from the top-left corner, from 0")
    return Box(x1, y1, x2, y2)


def _joined(text: str | Sequence[float]) -> str:
    return text if isinstance(text, str) else ",".join(str(v) for v in text)


def parse_prompts(points: Iterable | None, boxes: Iterable | None) -> list[Prompt]:
    """Every --point, then every --box, each checked (one text or many; from Python also tuples)."""
    return [*(parse_point(p) for p in _many(points)), *(parse_box(b) for b in _many(boxes))]


def _many(values) -> list:
    if values is None:
        return []
    if isinstance(values, str) or (isinstance(values, Sequence) and values and
                                   all(isinstance(v, (int, float)) for v in values)):
        return [values]  # one prompt: '410,520' or (410, 520)
    return list(values)


def check_inside(prompts: Iterable[Prompt], width: int, height: int, source: str) -> None:
    """Every user prompt lies in this image (width x height): a point on a pixel, a box within the
    frame. A prompt that does not fit is the user's to fix (BadInput, exit 2), before SAM runs."""
    for p in prompts:
        if isinstance(p, Point):
            outside = p.x >= width or p.y >= height
        else:
            outside = p.x2 > width or p.y2 > height
        if outside:
            raise BadInput(f"the {p.describe()} is outside {source} ({width}x{height})",
                           f"x must be below {width} and y below {height} for this image")
