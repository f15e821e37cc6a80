"""One detect run, as every front end calls it: the image loop every capability shares
(fmkit/runs/loop.py) with detect's output folder and an executor that turns sources into results:

    InProcess     (fmkit/detect/in_process.py)  one Detector here; results written in input order
    a plugged-in  executor, e.g. the Session's DaskExecutor for `--cluster` (fmkit/cluster/): chunks
                  on a Dask cluster whose workers write the results

detect knows nothing of clusters: whoever wants another executor passes a factory for it.
"""

from __future__ import annotations

from typing import Any, Callable, Iterable

from fmkit.detect.folder import DetectionFolder
from fmkit.profiles import Settings
from fmkit.runs.loop import ImageRun


class DetectRun(ImageRun):
    """`Session.detect`'s run: iterate it for DetectResults; `summary` holds the totals afterwards.

    `executor`: a callable that takes this run (its settings, OUTDIR options, name, notify) and
    returns an executor; None detects in this process."""

    def __init__(self, settings: Settings, sources: Iterable[str] | None = None, *, save_txt: bool = False,
                 coco: bool = False, classes: str | list | None = None, progress: Callable | None = None,
                 executor: Callable[["DetectRun"], Any] | None = None, **loop: Any):
        self.save_txt, self.coco, self.progress = save_txt, coco, progress
        self.classes = ",".join(map(str, classes)) if isinstance(classes, list) else classes
        self.executor_factory = executor
        super().__init__(settings, sources, **loop)

    def file_options(self) -> dict[str, bool]:
        return {"save_txt": self.save_txt, "coco": self.coco}

    def make_folder(self) -> DetectionFolder:
        return DetectionFolder(self.output, save_txt=self.save_txt, coco=self.coco, force=self.force,
                               store_options=self.store_options)

    def make_executor(self):
        if self.executor_factory is not None:
            return self.executor_factory(self)
        from fmkit.detect.in_process import InProcess

        return InProcess(self.settings, self.classes)
