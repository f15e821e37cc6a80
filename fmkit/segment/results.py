"""What segment hands out: masks per image and a result per source (fmkit/runs/results.py has
what every image result has, and the run's totals).

Plain data with `to_dict()` (exactly the `--json` object) and a notebook display; a mask is kept
as COCO RLE (fmkit/segment/rle.py), so a result of 100 masks stays a few kB. No torch: the
gallery and the agent read results without a model.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from fmkit.runs.results import ImageResult, RunSummary

__all__ = ["Mask", "SegmentResult", "RunSummary"]


@dataclass
class Mask:
    """One mask: its pixels as RLE, their count and box, SAM's score, and the prompt that made it."""

    id: int
    score: float
    area: int
    box: tuple[float, float, float, float]  # x1, y1, x2, y2 of the mask's pixels (x2, y2 exclusive)
    rle: dict
    prompt: dict
    label: str | None = None

    def to_dict(self) -> dict:
        x1, y1, x2, y2 = self.box
        return {"id": self.id, "label": self.label, "score": round(float(self.score), 4), "area": self.area,
                "box": {"x1": round(x1, 1), "y1": round(y1, 1), "x2": round(x2, 1), "y2": round(y2, 1)},
                "rle": self.rle, "prompt": self.prompt}

    def pixels(self):
        """The mask as an (H, W) bool array (decoded from its RLE)."""
        from fmkit.segment.rle import decode

        return decode(self.rle)


@dataclass
class SegmentResult(ImageResult):
    """Masks for one source, or the reason it failed. In a notebook it shows itself: the image with
    its masks (read again from `uri`) and the table."""

    masks: list[Mask] = field(default_factory=list)

    def labels(self) -> list[str]:
        return [m.label or "object" for m in self.masks]

    def found(self) -> dict:
        return {"masks": [m.to_dict() for m in self.masks]}

    def _repr_mimebundle_(self, include=None, exclude=None) -> dict:
        from fmkit.render.notebook import segment_bundle

        return segment_bundle(self)
