"""What detect hands out: detections per image, a result per source, totals per run.

Plain data with `to_dict()` (exactly the `--json` object) and a notebook display; no torch, so
the cluster client, the gallery and the agent read results without loading a model.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Detection:
    class_id: int
    label: str
    confidence: float
    x1: float
    y1: float
    x2: float
    y2: float

    def to_dict(self) -> dict:
        return {"class_id": self.class_id, "label": self.label, "confidence": round(self.confidence, 4),
                "box": {"x1": round(self.x1, 1), "y1": round(self.y1, 1), "x2": round(self.x2, 1), "y2": round(self.y2, 1)}}


@dataclass
class DetectResult:
    """Detections for one source, or the reason it failed. `image` (RGB array) is kept only
    until the annotated copy is written; it is never serialised. In a notebook it shows itself:
    the image with its boxes (read again from `uri`) and the table."""

    source: str
    model: str
    width: int | None = None
    height: int | None = None
    detections: list[Detection] = field(default_factory=list)
    seconds: float = 0.0
    error: str | None = None
    outputs: dict[str, str] = field(default_factory=dict)
    name: str = ""
    uri: str = ""
    identity: dict | None = field(default=None, repr=False)
    image: Any = field(default=None, repr=False)
    origin: Any = field(default=None, repr=False)  # the Source it came from

    @property
    def ok(self) -> bool:
        return self.error is None

    def to_dict(self) -> dict:
        if self.error:
            return {"source": self.source, "error": self.error, "model": self.model}
        d = {"source": self.source, "width": self.width, "height": self.height,
             "detections": [x.to_dict() for x in self.detections], "model": self.model,
             "seconds": round(self.seconds, 4)}
        if self.outputs:
            d["outputs"] = self.outputs
        return d

    def _repr_mimebundle_(self, include=None, exclude=None) -> dict:
        from fmkit.render.notebook import detect_bundle

        return detect_bundle(self)


@dataclass
class RunSummary:
    """Totals for a run: what people read under the tables."""

    images: int = 0
    failed: int = 0
    detections: int = 0
    counts: Counter = field(default_factory=Counter)
    seconds: float = 0.0  # wall time from the first image in to the last result out

    def add(self, result: DetectResult) -> None:
        if result.ok:
            self.images += 1
            self.detections += len(result.detections)
            self.counts.update(d.label for d in result.detections)
        else:
            self.failed += 1

    @property
    def images_per_second(self) -> float:
        return self.images / self.seconds if self.seconds > 0 else 0.0

    def to_dict(self) -> dict:
        return {"images": self.images, "failed": self.failed, "detections": self.detections,
                "counts": dict(self.counts.most_common()), "seconds": round(self.seconds, 3),
                "images_per_second": round(self.images_per_second, 2)}
