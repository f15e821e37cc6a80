"""What every image result and every image run has, whatever the capability: the source, its
size, the time it took, the reason it failed, the files written for it; and the run's totals.

Plain data, no torch: the cluster client, the gallery and the agent read results without a model.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import KW_ONLY, dataclass, field
from typing import Any


@dataclass
class ImageResult:
    """One source's result, or the reason it failed. `image` (RGB array) is kept only until the
    annotated copy is written; it is never serialised. Capabilities add what they found."""

    source: str
    model: str
    width: int | None = None
    height: int | None = None
    _: KW_ONLY  # what a capability adds comes next, positionally: DetectResult(src, model, w, h, detections)
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

    def labels(self) -> list[str]:
        """A label per object found (what the run counts per class)."""
        return []

    def found(self) -> dict:
        """The capability's own keys of the `--json` object (detections, masks ...)."""
        return {}

    def to_dict(self) -> dict:
        if self.error:
            return {"source": self.source, "error": self.error, "model": self.model}
        d = {"source": self.source, "width": self.width, "height": self.height, **self.found(),
             "model": self.model, "seconds": round(self.seconds, 4)}
        if self.outputs:
            d["outputs"] = self.outputs
        return d


@dataclass
class RunSummary:
    """Totals for a run: what people read under the tables."""

    images: int = 0
    failed: int = 0
    objects: int = 0
    counts: Counter = field(default_factory=Counter)
    seconds: float = 0.0  # wall time from the first image in to the last result out

    def add(self, result: ImageResult) -> None:
        if result.ok:
            labels = result.labels()
            self.images += 1
            self.objects += len(labels)
            self.counts.update(labels)
        else:
            self.failed += 1

    @property
    def images_per_second(self) -> float:
        return self.images / self.seconds if self.seconds > 0 else 0.0

    def to_dict(self) -> dict:
        return {"images": self.images, "failed": self.failed, "objects": self.objects,
                "counts": dict(self.counts.most_common()), "seconds": round(self.seconds, 3),
                "images_per_second": round(self.images_per_second, 2)}
