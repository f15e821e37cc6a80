"""One segment run, as every front end calls it: the image loop every capability shares
(fmkit/runs/loop.py) with segment's output folder and its in-process executor."""

from __future__ import annotations

from typing import Any, Iterable, Sequence

from fmkit.profiles import Settings
from fmkit.runs.loop import ImageRun
from fmkit.segment.folder import SegmentFolder
from fmkit.segment.prompts import Box, Detections, Point


class SegmentRun(ImageRun):
    """`Session.segment`'s run: iterate it for SegmentResults; `summary` holds the totals afterwards.
    `prompts` apply to every image (one mask each); `detections` adds a detector's boxes per image."""

    def __init__(self, settings: Settings, sources: Iterable[str] | None = None, *,
                 prompts: Sequence[Point | Box] = (), detections: Detections | None = None, coco: bool = False,
                 cutout: bool = False, **loop: Any):
        self.prompts, self.detections, self.coco, self.cutout = list(prompts), detections, coco, cutout
        super().__init__(settings, sources, **loop)

    def file_options(self) -> dict[str, bool]:
        return {"coco": self.coco, "cutout": self.cutout}

    def make_folder(self) -> SegmentFolder:
        return SegmentFolder(self.output, coco=self.coco, cutout=self.cutout, force=self.force,
                             store_options=self.store_options)

    def make_executor(self):
        from fmkit.segment.in_process import InProcess

        return InProcess(self.settings, self.prompts, self.detections)
