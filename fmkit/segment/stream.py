"""Sources in, SegmentResults out, in input order: each image decoded and letterboxed in one
thread ahead of the model (torch uses every core for the encoder; one reader keeps it fed
without stalling it), then encoded once and all its prompts decoded against that embedding.

Failures come back as results with `error`; sources for which `skip(source)` is true (its result
is already in OUTDIR; checked in the reading thread, so a bucket's HEAD overlaps the model)
yield no result. A user prompt that does not fit an image stops the run (BadInput, exit 2).
"""

from __future__ import annotations

import functools
import time
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Iterator, Sequence

from fmkit.io.images import ImageError, decode
from fmkit.io.sources import Source
from fmkit.runs.ahead import read_ahead
from fmkit.segment.prompts import Box, Detections, Point, check_inside
from fmkit.segment.results import SegmentResult


@dataclass
class Frame:
    """One source on its way to the model: `boxed` the encoder's input (letterboxed uint8), `shape`
    the original (height, width), `image` the original RGB pixels (kept only to write files)."""

    source: Source
    boxed: Any = None
    shape: tuple[int, int] = (0, 0)
    image: Any = None
    error: str | None = None
    skipped: bool = False
    seconds: float = 0.0


def _frame(letterbox: Callable, keep_image: bool, skip, source: Source) -> Frame:
    start = time.perf_counter()
    if source.error:
        return Frame(source, error=source.error)
    if skip is not None and skip(source):
        return Frame(source, skipped=True)
    try:
        image = decode(source)
    except ImageError as e:
        return Frame(source, error=str(e), seconds=time.perf_counter() - start)
    return Frame(source, letterbox(image), image.shape[:2], image if keep_image else None,
                 seconds=time.perf_counter() - start)


def segment_stream(segmenter, sources: Iterable[Source], prompts: Sequence[Point | Box],
                   detections: Detections | None = None, keep_images: bool = False,
                   skip: Callable[[Source], bool] | None = None) -> Iterator[SegmentResult]:
    """Segment every source, in input order, with `prompts` (and a detector's boxes with
    `detections`); no prompt at all segments everything."""
    read = functools.partial(_frame, segmenter.predictor.letterbox, keep_images, skip)
    for f in read_ahead(sources, read, 1, 2):
        s = f.source
        if f.skipped:
            continue
        if f.error is None:
            check_inside(prompts, f.shape[1], f.shape[0], s.label)
            asked = list(prompts)
            if detections is not None:
                found = detections.find(s)
                f.error = found if isinstance(found, str) else None if found else detections.nothing_found
                asked += found if isinstance(found, list) else []
        if f.error is not None:
            yield SegmentResult(s.label, segmenter.label, error=f.error, seconds=f.seconds, name=s.name, uri=s.uri,
                                origin=s)
            continue
        start = time.perf_counter()
        masks = segmenter.predictor.segment(f.boxed, f.shape, asked)
        height, width = f.shape
        yield SegmentResult(s.label, segmenter.label, int(width), int(height), masks,
                            seconds=f.seconds + time.perf_counter() - start, name=s.name, image=f.image, uri=s.uri,
                            origin=s)
