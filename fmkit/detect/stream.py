"""Sources in, DetectResults out, in input order: frames from the detector's frame source
(fmkit/detect/frames.py), `batch_size` at a time through one forward pass.

Failures come back as results with `error`; sources for which `skip(source)` is true (checked
where the sources are read, so a bucket's HEAD/GET overlaps inference) yield no result.
"""

from __future__ import annotations

import time
from typing import Callable, Iterable, Iterator

from fmkit.detect.detector import Detector
from fmkit.detect.frames import Frame
from fmkit.detect.results import DetectResult
from fmkit.io.sources import Source


def detect_stream(detector: Detector, sources: Iterable[Source], batch_size: int | None = None,
                  keep_images: bool = False, skip: Callable[[Source], bool] | None = None,
                  frames=None) -> Iterator[DetectResult]:
    """Detect objects in every source, in input order. `keep_images` leaves the decoded RGB array
    on each result (for annotated copies); `frames` overrides the detector's own frame source."""
    frames = frames or detector.frames()
    for window in frames.batches(sources, batch_size or detector.cfg.batch_size, keep_images, skip):
        yield from _results(detector, window)


def _results(detector: Detector, window: list[Frame]) -> list[DetectResult]:
    ready = [f for f in window if f.ready]
    start = time.perf_counter()
    found = detector.detect_frames(ready) if ready else []
    share = (time.perf_counter() - start) / max(len(ready), 1)
    by_frame = {id(f): dets for f, dets in zip(ready, found)}
    results = []
    for f in window:
        s = f.source
        if f.skipped:
            continue
        if f.error is not None:
            results.append(DetectResult(s.label, detector.label, error=f.error, seconds=f.seconds, name=s.name,
                                        uri=s.uri, origin=s))
            continue
        height, width = f.shape
        results.append(DetectResult(s.label, detector.label, width=int(width), height=int(height),
                                    detections=by_frame[id(f)], seconds=f.seconds + share, name=s.name,
                                    image=f.image, uri=s.uri, origin=s))
    return results
