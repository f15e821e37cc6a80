"""One detect run, as every front end calls it: sources in, results out, files written.

`DetectRun` is what `Session.detect` returns: iterate it for `DetectResult`s (in input order;
on a cluster in the order chunks finish; when watching, as uploads arrive). The loop, its
reporting and its guarantees live here once, for every way of running it: arguments and OUTDIR
checked before any model loads or any cluster is contacted, each argument that names nothing
reported without loading a model, the executor's notes said once, totals in `summary`, the
"skipped N images" notice, the COCO file at the end, a folder or bucket prefix watched, and
SIGTERM treated as Ctrl-C. Where the images are detected is the executor's business:

    InProcess   (fmkit/detect/in_process.py)  one Detector here; results written in input order
    DaskExecutor (fmkit/cluster/client.py)    chunks on a Dask cluster; workers write the results

Nothing here prints: notes go to the `notify` callback.
"""

from __future__ import annotations

import time
import uuid
from typing import Callable, Iterable, Iterator

from fmkit import interrupts, io
from fmkit.detect.outputs import OutputFolder
from fmkit.detect.results import DetectResult, RunSummary
from fmkit.errors import BadInput
from fmkit.io.sources import Source, expand, quick_check, read_root
from fmkit.profiles import Settings


class DetectRun:
    """An iterable detect run: arguments and OUTDIR are checked, and the model loaded (or the
    cluster connected), when it is made; iterating runs it. `summary` holds the totals afterwards."""

    def __init__(self, settings: Settings, sources: Iterable[str] | None = None, *, output: str | None = None,
                 recursive: bool = False, watch: str | None = None, interval: float = 0.5,
                 max_polls: int | None = None, save_txt: bool = False, coco: bool = False,
                 classes: str | list | None = None, force: bool = False, store_options: dict | None = None,
                 notify: Callable[[str], None] = lambda message: None, on_written: Callable | None = None,
                 cluster: str | None = None, progress: Callable | None = None):
        sources = [str(s) for s in sources] if sources is not None else []
        output = str(output) if output is not None else None
        watch = str(watch) if watch is not None else None
        address = (settings.cluster.address if cluster is None else cluster).strip()
        _check_arguments(sources, output, watch, save_txt, coco, interval, recursive)
        if address:
            _check_cluster_arguments(settings, address, cluster is not None, sources, output, watch, coco)
        self.sources, self.recursive, self.watch = sources, recursive, watch
        self.interval, self.max_polls = interval, max_polls
        self.notify, self.on_written = notify, on_written
        self.store_options = store_options or {}
        self.summary = RunSummary()
        self.complete = False
        self.run = uuid.uuid4().hex[:12]  # this run's name, in every result JSON it writes ("written_by")
        self.missing = quick_check(sources)  # before the model loads: `detect nope.jpg` fails in ms
        if watch is not None and io.store_for(watch, **self.store_options).folder_missing(watch):
            raise BadInput(f"--watch folder {watch} does not exist", "create it first")  # before OUTDIR is made
        self.folder = (OutputFolder(output, save_txt=save_txt, coco=coco, force=force,
                                    store_options=self.store_options) if output else None)
        if self.folder is not None:
            self.folder.tag = {"written_by": self.run}
        self.executor = None
        if sources and len(self.missing) == len(sources):
            return  # nothing to detect: each argument is reported, no model is loaded
        classes = ",".join(map(str, classes)) if isinstance(classes, list) else classes
        if address:
            from fmkit.cluster.client import DaskExecutor

            self.executor = DaskExecutor(settings, address, self.run, classes=classes, output=output,
                                         save_txt=save_txt, force=force, store_options=self.store_options,
                                         notify=notify, progress=progress)
        else:
            from fmkit.detect.in_process import InProcess

            self.executor = InProcess(settings, classes)
        for note in self.executor.notes:
            notify(note)
        if self.folder is not None:
            self.executor.attach(self.folder)

    @property
    def model(self) -> str:
        return self.executor.label if self.executor else ""

    @property
    def names(self) -> dict[int, str]:
        """The detector's class names (id -> name); on a cluster, known once a chunk has come back."""
        return self.executor.names if self.executor else {}

    def close(self) -> None:
        """Release the executor (a cluster connection, a local cluster's workers); iterating to
        the end does it too."""
        if self.executor is not None:
            self.executor.close()

    def __iter__(self) -> Iterator[DetectResult]:
        began = time.perf_counter()
        try:
            with interrupts.sigterm_as_interrupt():
                if self.executor is None:
                    yield from self._report_missing()
                elif self.watch is None:
                    yield from self._report(self._sources())
                else:
                    yield from self._watch()
            self.complete = self.watch is None
        finally:
            self.summary.seconds = time.perf_counter() - began
            self.close()
            self._close_folder()

    def _report_missing(self) -> Iterator[DetectResult]:
        for arg in self.sources:
            result = DetectResult(arg, "", error="no such file or folder", uri=arg)
            self.summary.add(result)
            yield result

    def _sources(self) -> Iterator[Source]:
        exclude = self.folder.folder if self.folder else None
        return expand(self.sources, self.recursive, exclude=exclude, **self.store_options)

    def _report(self, sources: Iterable[Source]) -> Iterator[DetectResult]:
        for result in self.executor.results(sources, self.folder, self._committed):
            self.summary.add(result)
            yield result

    def _committed(self, result: DetectResult) -> None:
        if self.on_written is not None and result.outputs:
            self.on_written(result)

    def _watch(self) -> Iterator[DetectResult]:
        from fmkit.detect.watch import FolderWatcher, watch

        watcher = FolderWatcher(self.watch, self.recursive, settle=max(self.interval, 1.0),
                                exclude=self.folder.folder, already_done=self.folder.reusable,
                                store_options=self.store_options)
        self.notify(f"watching {self.watch} (Ctrl-C stops); results go to {self.folder.folder}")
        for ready in watch(watcher, self.interval, self.max_polls):
            if ready:
                yield from self._report(ready)

    def _close_folder(self) -> None:
        if self.folder is None:
            return
        if self.folder.skipped:
            self.notify(f"skipped {self.folder.skipped} images whose results are already in {self.folder.folder} "
                        "(--force redoes them)")
        path = self.folder.close(complete=self.complete)
        if path:
            self.notify(f"COCO annotations: {path}" + ("" if self.complete else " (partial: the run was interrupted)"))


def _check_arguments(sources: list[str], output: str | None, watch: str | None, save_txt: bool, coco: bool,
                     interval: float, recursive: bool) -> None:
    if not sources and watch is None:
        raise BadInput("no images given", "give files, folders or globs, '-' for paths on stdin, or --watch DIR")
    if sources and watch is not None:
        raise BadInput("--watch takes no other sources", "run one watcher per folder")
    if watch is not None and output is None:
        raise BadInput("--watch needs -o OUTDIR", "results are written there, and a restart skips what is done")
    if (save_txt or coco) and output is None:
        raise BadInput("--save-txt and --coco write files", "add -o OUTDIR")
    if not 0.0 < interval < float("inf"):
        raise BadInput(f"--interval {interval} must be a positive number of seconds", "for example --interval 1")
    for arg in ([watch] if watch is not None else sources):
        if output is None or arg == "-":
            continue
        root = read_root(arg)
        if io.inside(output, root) and (recursive or io.inside(root, output)):
            raise BadInput(f"the output {output} is inside the input {arg}",
                           "it would detect its own results, forever when watching; write results elsewhere")


def _check_cluster_arguments(settings: Settings, address: str, explicit: bool, sources: list[str],
                             output: str | None, watch: str | None, coco: bool) -> None:
    """What a cluster cannot do, refused before anything is created or contacted."""
    from fmkit.cluster import parse_address

    parsed = parse_address(address)
    if watch is not None:
        where = "--cluster" if explicit else settings.origins.get("cluster.address", "profile")
        raise BadInput(f"--watch runs in one process; a cluster address is set ({where})",
                       "leave --cluster out (or --set cluster.address=''), or run detect over the "
                       "prefix on the cluster from a scheduled job")
    if coco:
        raise BadInput("--coco is not available with --cluster (each worker writes its own results)",
                       "run the same command without --cluster afterwards: it skips every done image "
                       "and writes coco.json from the stored results")
    if not parsed.local:
        for path in [*sources, *([output] if output else [])]:
            if path != "-" and io.store_for(path).is_relative(path):
                raise BadInput(f"{path} is a relative path, and the workers of {parsed.text} run elsewhere",
                               "give s3:// URIs or absolute paths on a filesystem every worker shares "
                               "(relative paths work with --cluster local:N)")
