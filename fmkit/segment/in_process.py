"""Segment in this process: the executor a SegmentRun plugs in. One model, loaded when the
executor is made; without OUTDIR results stream out in input order, with OUTDIR they are written
as every image capability writes them (fmkit/runs/writing.py)."""

from __future__ import annotations

import contextlib
from typing import Callable, Iterable, Iterator, Sequence

from fmkit.io.sources import Source
from fmkit.profiles import Settings
from fmkit.runs.writing import skipper, write_in_order
from fmkit.segment.folder import SegmentFolder
from fmkit.segment.prompts import Box, Detections, Point
from fmkit.segment.results import SegmentResult
from fmkit.segment.segmenter import Segmenter
from fmkit.segment.stream import segment_stream


class InProcess:
    """A loaded segmenter with this run's prompts, turning sources into (written) results."""

    def __init__(self, settings: Settings, prompts: Sequence[Point | Box], detections: Detections | None = None):
        self.segmenter = Segmenter(settings)
        self.prompts, self.detections = list(prompts), detections
        self.label = self.segmenter.label
        self.names: dict[int, str] = {}
        everything = not self.prompts and detections is None
        grid = settings.segment.points_per_side
        self.notes = self.segmenter.notes + (
            [f"no prompt: segmenting everything ({'FastSAM' if self.segmenter.fastsam else f'{grid}x{grid} points'})"]
            if everything else [])

    def attach(self, folder: SegmentFolder) -> None:
        """OUTDIR learns the model, prompts and parameters that make a stored result reusable."""
        folder.run_key = {**self.segmenter.run_key(), "prompts": [p.to_dict() for p in self.prompts],
                          "detector": (self.detections.key or self.detections.label) if self.detections else None}
        self.names = folder.names

    def results(self, sources: Iterable[Source], folder: SegmentFolder | None,
                committed: Callable[[SegmentResult], None] | None = None) -> Iterator[SegmentResult]:
        """Results in input order; with `folder`, each written there before the next is handed out."""
        if folder is None:
            yield from segment_stream(self.segmenter, sources, self.prompts, self.detections)
            return
        stream = segment_stream(self.segmenter, sources, self.prompts, self.detections, keep_images=True,
                                skip=skipper(folder))
        yield from write_in_order(stream, folder, committed)

    def close(self) -> None:
        """The model stays loaded for the Session; the freed activations of the run go back to the
        OS (glibc keeps freed blocks in its heap: ~0.1 GB after a MobileSAM run), so a notebook
        between runs, and the interpreter's own teardown, start from less."""
        import ctypes
        import sys

        if sys.platform.startswith("linux"):
            with contextlib.suppress(OSError, AttributeError):
                ctypes.CDLL("libc.so.6").malloc_trim(0)
