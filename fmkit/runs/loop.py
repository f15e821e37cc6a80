"""The loop every image capability runs through: sources in, results out, files written.

`ImageRun` is what `Session.detect` and `Session.segment` return (as DetectRun, SegmentRun):
iterate it for results (in input order; on a cluster in the order chunks finish; when watching,
as uploads arrive). The loop, its reporting and its guarantees live here once: arguments and
OUTDIR checked before any model loads (nothing is created before the arguments are checked),
each argument that names nothing reported without loading a model, the executor's notes said
once, totals in `summary`, the "skipped N images" notice, the COCO file at the end, a folder or
bucket prefix watched, and SIGTERM treated as Ctrl-C. Where the images are computed is the
executor's business; a capability says which executor and which output folder it uses:

    make_executor()   an object with .label, .names, .notes, attach(folder),
                      results(sources, folder, committed) and close()
    make_folder()     its OutputFolder subclass (fmkit/runs/folder.py)
    file_options()    its options that only write files (they need OUTDIR; checked here)

Nothing here prints: notes go to the `notify` callback.
"""

from __future__ import annotations

import time
import uuid
from typing import Any, Callable, Iterable, Iterator

from fmkit import interrupts, io
from fmkit.errors import BadInput
from fmkit.io.sources import Source, expand, quick_check, read_root
from fmkit.profiles import Settings
from fmkit.runs.folder import OutputFolder
from fmkit.runs.results import ImageResult, RunSummary
from fmkit.options import option


class ImageRun:
    """An iterable run: arguments and OUTDIR are checked, and the executor made (the model
    loaded), when it is made; iterating runs it. `summary` holds the totals afterwards."""

    def __init__(self, settings: Settings, sources: Iterable[str] | None = None, *, output: str | None = None,
                 recursive: bool = False, watch: str | None = None, interval: float = 0.5,
                 max_polls: int | None = None, force: bool = False, store_options: dict | None = None,
                 notify: Callable[[str], None] = lambda message: None, on_written: Callable | None = None):
        self.sources = [str(s) for s in sources] if sources is not None else []
        self.output = str(output) if output is not None else None
        self.watch = str(watch) if watch is not None else None
        self.settings, self.recursive, self.force = settings, recursive, force
        self.interval, self.max_polls = interval, max_polls
        self.notify, self.on_written = notify, on_written
        self.store_options = store_options or {}
        self.check_arguments()
        self.summary = RunSummary()
        self.complete = False
        self.run = uuid.uuid4().hex[:12]  # this run's name, in every result JSON it writes ("written_by")
        self.missing = quick_check(self.sources)  # before the model loads: `detect nope.jpg` fails in ms
        if self.watch is not None and io.store_for(self.watch, **self.store_options).folder_missing(self.watch):
            raise BadInput(f"the watched folder {self.watch} does not exist", "create it first")  # before OUTDIR is made
        self.folder: OutputFolder | None = self.make_folder() if self.output is not None else None
        if self.folder is not None:
            self.folder.tag = {"written_by": self.run}
        self.executor: Any = None
        if self.sources and len(self.missing) == len(self.sources):
            return  # nothing to do: each argument is reported, no model is loaded
        self.executor = self.make_executor()
        for note in self.executor.notes:
            notify(note)
        if self.folder is not None:
            self.executor.attach(self.folder)

    # --- what a capability provides ----------------------------------------------------------

    def make_folder(self) -> OutputFolder:
        raise NotImplementedError

    def make_executor(self) -> Any:
        raise NotImplementedError

    def check_arguments(self) -> None:
        """Usage errors, before anything is created, loaded or contacted (extend it, calling super)."""
        sources, output, watch = self.sources, self.output, self.watch
        if not sources and watch is None:
            raise BadInput("no images given", f"give files, folders or globs, '-' for paths on stdin, or "
                                              f"{option('watch', 'DIR')}")
        if sources and watch is not None:
            raise BadInput(f"{option('watch')} takes no other sources", "run one watcher per folder")
        if watch is not None and output is None:
            raise BadInput(f"{option('watch')} needs {option('output', 'OUTDIR')}",
                           "results are written there, and a restart skips what is done")
        if not 0.0 < self.interval < float("inf"):
            raise BadInput(f"{option('interval', self.interval)} must be a positive number of seconds",
                           f"for example {option('interval', 1)}")
        for arg in ([watch] if watch is not None else sources):
            if output is None or arg == "-":
                continue
            root = read_root(arg)
            if io.inside(output, root) and (self.recursive or io.inside(root, output)):
                raise BadInput(f"the output {output} is inside the input {arg}",
                               "it would read its own results, forever when watching; write results elsewhere")
        extras = self.file_options()
        if output is None and any(extras.values()):
            raise BadInput(" and ".join(option(name) for name in extras) + " write files",
                           f"add {option('output', 'OUTDIR')}")

    def file_options(self) -> dict[str, bool]:
        """This capability's options that only write files (name -> given): they need OUTDIR."""
        return {}

    # --- the loop ------------------------------------------------------------------------------

    @property
    def model(self) -> str:
        return self.executor.label if self.executor else ""

    @property
    def names(self) -> dict[int, str]:
        """The model's class names (id -> name); on a cluster, known once a chunk has come back."""
        return self.executor.names if self.executor else {}

    def close(self) -> None:
        """Release the executor (a cluster connection, a local cluster's workers); iterating to
        the end does it too."""
        if self.executor is not None:
            self.executor.close()

    def __iter__(self) -> Iterator[ImageResult]:
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

    def _report_missing(self) -> Iterator[ImageResult]:
        for arg in self.sources:
            result = ImageResult(arg, "", error="no such file or folder", uri=arg)
            self.summary.add(result)
            yield result

    def _sources(self) -> Iterator[Source]:
        exclude = self.folder.folder if self.folder else None
        return expand(self.sources, self.recursive, exclude=exclude, **self.store_options)

    def _report(self, sources: Iterable[Source]) -> Iterator[ImageResult]:
        for result in self.executor.results(sources, self.folder, self._committed):
            self.summary.add(result)
            yield result

    def _committed(self, result: ImageResult) -> None:
        if self.on_written is not None and result.outputs:
            self.on_written(result)

    def _watch(self) -> Iterator[ImageResult]:
        from fmkit.runs.watch import FolderWatcher, watch

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
