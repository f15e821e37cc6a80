"""One detect run, as every front end calls it: the image loop every capability shares
(fmkit/runs/loop.py) with detect's executor and output folder.

Where the images are detected is the executor's business:

    InProcess    (fmkit/detect/in_process.py)  one Detector here; results written in input order
    DaskExecutor (fmkit/cluster/client.py)     chunks on a Dask cluster; workers write the results
"""

from __future__ import annotations

from typing import Any, Callable, Iterable

from fmkit import io
from fmkit.detect.folder import DetectionFolder
from fmkit.errors import BadInput
from fmkit.profiles import Settings
from fmkit.runs.loop import ImageRun
from fmkit.options import option, setting


class DetectRun(ImageRun):
    """`Session.detect`'s run: iterate it for DetectResults; `summary` holds the totals afterwards."""

    def __init__(self, settings: Settings, sources: Iterable[str] | None = None, *, save_txt: bool = False,
                 coco: bool = False, classes: str | list | None = None, cluster: str | None = None,
                 progress: Callable | None = None, **loop: Any):
        self.save_txt, self.coco, self.progress = save_txt, coco, progress
        self.classes = ",".join(map(str, classes)) if isinstance(classes, list) else classes
        self.explicit_cluster = cluster is not None
        self.address = (settings.cluster.address if cluster is None else cluster).strip()
        super().__init__(settings, sources, **loop)

    def check_arguments(self) -> None:
        super().check_arguments()
        if (self.save_txt or self.coco) and self.output is None:
            raise BadInput(f"{option('save_txt')} and {option('coco')} write files", f"add {option('output', 'OUTDIR')}")
        if self.address:
            self._check_cluster_arguments()

    def make_folder(self) -> DetectionFolder:
        return DetectionFolder(self.output, save_txt=self.save_txt, coco=self.coco, force=self.force,
                               store_options=self.store_options)

    def make_executor(self):
        if self.address:
            from fmkit.cluster.client import DaskExecutor

            return DaskExecutor(self.settings, self.address, self.run, classes=self.classes, output=self.output,
                                save_txt=self.save_txt, force=self.force, store_options=self.store_options,
                                notify=self.notify, progress=self.progress)
        from fmkit.detect.in_process import InProcess

        return InProcess(self.settings, self.classes)

    def _check_cluster_arguments(self) -> None:
        """What a cluster cannot do, refused before anything is created or contacted."""
        from fmkit.cluster import parse_address

        parsed = parse_address(self.address)
        if self.watch is not None:
            where = option("cluster") if self.explicit_cluster else self.settings.origins.get("cluster.address",
                                                                                              "profile")
            raise BadInput(f"{option('watch')} runs in one process; a cluster address is set ({where})",
                           f"leave {option('cluster')} out (or {setting('cluster.address', '')}), or run detect "
                           "over the prefix on the cluster from a scheduled job")
        if self.coco:
            raise BadInput(f"{option('coco')} is not available with {option('cluster')} (each worker writes its "
                           "own results)", f"run the same again without {option('cluster')} afterwards: it skips "
                           "every done image and writes coco.json from the stored results")
        if not parsed.local:
            for path in [*self.sources, *([self.output] if self.output else [])]:
                if path != "-" and io.store_for(path).is_relative(path):
                    raise BadInput(f"{path} is a relative path, and the workers of {parsed.text} run elsewhere",
                                   "give s3:// URIs or absolute paths on a filesystem every worker shares "
                                   f"(relative paths work with {option('cluster', 'local:N')})")
