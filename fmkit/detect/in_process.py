"""Detect in this process: the executor a DetectRun plugs in unless it runs on a cluster
(fmkit/cluster/client.py has the other one), and what each cluster worker runs on its chunk.

One Detector, loaded when the executor is made. Without OUTDIR, results stream out in input
order; with OUTDIR they are written as every image capability writes them (fmkit/runs/writing.py).
Whether a source's result is already there is asked where the sources are read (a bucket's
HEAD/GET overlaps inference).
"""

from __future__ import annotations

from typing import Callable, Iterable, Iterator

from fmkit.detect.detector import Detector
from fmkit.detect.folder import DetectionFolder
from fmkit.detect.results import DetectResult
from fmkit.detect.stream import detect_stream
from fmkit.io.sources import Source
from fmkit.options import option
from fmkit.profiles import Settings
from fmkit.runs.writing import skipper, write_in_order


def detector_notes(detector: Detector, settings: Settings) -> list[str]:
    """What the user should know about how this detector runs, said once per run."""
    cfg = settings.detect
    return [note for note, shown in (
        (f"{detector.label}: random weights (built from yaml), detections are meaningless", detector.random_weights),
        (f"{option('half')} needs a CUDA GPU; running in float32", cfg.half and not detector.half),
        (f"imgsz {cfg.imgsz} rounded up to {detector.imgsz} (a multiple of the model stride)",
         detector.imgsz != cfg.imgsz),
    ) if shown]


class InProcess:
    """A loaded detector that turns sources into reported (and, with OUTDIR, written) results."""

    def __init__(self, settings: Settings, classes: str | None = None):
        self.detector = Detector(settings, classes)
        self.label = self.detector.label
        self.names = self.detector.names
        self.notes = detector_notes(self.detector, settings)

    def attach(self, folder: DetectionFolder) -> None:
        """OUTDIR learns what results hold: class names, and the model and parameters that make
        a stored result reusable."""
        folder.names = self.detector.names
        folder.run_key = self.detector.run_key

    def results(self, sources: Iterable[Source], folder: DetectionFolder | None,
                committed: Callable[[DetectResult], None] | None = None,
                skip_done: bool = True) -> Iterator[DetectResult]:
        """Results in input order; with `folder`, each written there before the next is handed out,
        `committed(result)` called once its JSON is. Sources whose result `folder` already holds
        are skipped (and counted) unless `skip_done` is False."""
        if folder is None:
            yield from detect_stream(self.detector, sources)
            return
        skip = skipper(folder) if skip_done else None
        yield from write_in_order(detect_stream(self.detector, sources, keep_images=True, skip=skip), folder,
                                  committed)

    def close(self) -> None:
        """Nothing to release: the model stays loaded for the Session."""
