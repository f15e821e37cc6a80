"""Detections -> a structured scene: labels, counts, where in the frame, how big.

A 3x3 grid names the place ("top left", "center", ...) of each box's centre; size is the
box's share of the image (small < 5%, medium < 25%, large). The scene is what the chat model
is told, and what its text is checked against (describe.py), so it is plain data.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from fmkit.agent.wants import OBJECTS, PHRASES, plural, quantity


@dataclass
class SceneObject:
    label: str
    confidence: float
    where: str
    size: str
    area: float  # share of the image, 0..1

    def to_dict(self) -> dict:
        return {"label": self.label, "confidence": round(self.confidence, 3), "where": self.where,
                "size": self.size, "area": round(self.area, 4)}


@dataclass
class Scene:
    width: int
    height: int
    objects: list[SceneObject] = field(default_factory=list)

    @property
    def counts(self) -> dict[str, int]:
        return dict(Counter(o.label for o in self.objects).most_common())

    def to_dict(self) -> dict:
        return {"width": self.width, "height": self.height, "counts": self.counts,
                "objects": [o.to_dict() for o in self.objects]}

    def summary(self) -> str:
        """'two people (a large one in the center, a small one at the top left) and one dog (...)'."""
        if not self.objects:
            return "nothing the detector knows"
        parts = []
        for label, n in self.counts.items():
            places = [f"{o.size} at the {o.where}" if o.where != "center" else f"{o.size} in the center"
                      for o in self.objects if o.label == label][:4]
            parts.append(f"{quantity(label, n)} ({'; '.join(places)})")
        return ", ".join(parts[:-1]) + " and " + parts[-1] if len(parts) > 1 else parts[0]

    def lines(self) -> list[str]:
        """One line per object, for --style list."""
        return [f"{plural(o.label, 1)}: {o.size}, {'in the center' if o.where == 'center' else 'at the ' + o.where}"
                f" ({o.confidence:.0%})" for o in self.objects]

    def allowed_words(self) -> set[str]:
        """Object words a faithful text may use: each detected label's forms and phrases."""
        words: set[str] = set()
        for label in self.counts:
            words.add(label.lower())
            words.update(w.lower() for w in OBJECTS.get(label, ((label,), ()))[0])
            for phrase in PHRASES.get(label, ()):
                words.update(phrase.split())
        if "fall" in self.counts or "normal" in self.counts:
            words.update(OBJECTS["person"][0])
        return words


def where(cx: float, cy: float) -> str:
    """Centre in 0..1 coordinates -> one of nine places."""
    row = "top" if cy < 1 / 3 else ("bottom" if cy > 2 / 3 else "")
    col = "left" if cx < 1 / 3 else ("right" if cx > 2 / 3 else "")
    return f"{row} {col}".strip() or "center"


def size(area: float) -> str:
    return "small" if area < 0.05 else ("medium" if area < 0.25 else "large")


def build_scene(result) -> Scene:
    """A DetectResult (detections in pixels, width, height) -> Scene, most confident first."""
    w, h = max(result.width or 1, 1), max(result.height or 1, 1)
    objects = []
    for d in sorted(result.detections, key=lambda d: -d.confidence):
        area = max(d.x2 - d.x1, 0) * max(d.y2 - d.y1, 0) / (w * h)
        objects.append(SceneObject(d.label.lower() if d.label.lower() in OBJECTS or d.label.lower() in PHRASES
                                   else d.label, d.confidence, where((d.x1 + d.x2) / 2 / w, (d.y1 + d.y2) / 2 / h),
                                   size(area), area))
    return Scene(w, h, objects)
