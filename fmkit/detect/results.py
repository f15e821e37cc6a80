"""What detect hands out: detections per image and a result per source (fmkit/runs/results.py has
what every image result has, and the run's totals).

Plain data with `to_dict()` (exactly the `--json` object) and a notebook display; no torch, so
the cluster client, the gallery and the agent read results without loading a model.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from fmkit.runs.results import ImageResult, RunSummary

__all__ = ["Detection", "DetectResult", "RunSummary"]


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
class DetectResult(ImageResult):
    """Detections for one source, or the reason it failed. In a notebook it shows itself: the
    image with its boxes (read again from `uri`) and the table."""

    detections: list[Detection] = field(default_factory=list)

    def labels(self) -> list[str]:
        return [d.label for d in self.detections]

    def found(self) -> dict:
        return {"detections": [x.to_dict() for x in self.detections]}

    def _repr_mimebundle_(self, include=None, exclude=None) -> dict:
        from fmkit.render.notebook import detect_bundle

        return detect_bundle(self)
