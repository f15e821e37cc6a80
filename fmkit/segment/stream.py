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
from typing import Callable, Iterable, Iterator, Sequence

from fmkit.io.sources import Source
from fmkit.runs.ahead import decoded_frame, read_ahead
from fmkit.segment.prompts import Box, Detections, Point, check_inside
from fmkit.segment.results import SegmentResult


def segment_stream(segmenter, sources: Iterable[Source], prompts: Sequence[Point | Box],
                   detections: Detections | None = None, keep_images: bool = False,
                   skip: Callable[[Source], bool] | None = None) -> Iterator[SegmentResult]:
    """Segment every source, in input order, with `prompts` (and a detector's boxes with
    `detections`); no prompt at all segments everything."""
    read = functools.partial(decoded_frame, prepare=segmenter.predictor.letterbox, keep_image=keep_images, skip=skip)
    for f in read_ahead(sources, read, 1, 2):  # one image decoded and letterboxed ahead
        s = f.source
        if f.skipped:
            continue
        if f.error is None:
            check_inside(prompts, f.shape[1], f.shape[0], s.label)
            asked = list(prompts)
            if detections is not None:
                found = detections.find(s)
                # Nothing found is an error only when nothing else was asked (the user's own prompts still run).
                f.error = found if isinstance(found, str) else None if found or asked else detections.nothing_found
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

