"""One detect run, as every front end calls it: sources in, results out, files written.

`DetectRun` is what `Session.detect` returns: iterate it for `DetectResult`s in input order
(or in arrival order when watching). Around the detector it owns the loop that the CLI used to
hold: checking arguments and OUTDIR before the model loads, skipping sources whose results are
already there, writing each result's files, the COCO file at the end, and watching a folder
or bucket prefix. Nothing here prints: notes go to the `notify` callback.

Ordering with -o: a result's image is annotated and written (by a small pool, while the next
images are detected), then, in input order and inside one block that defers Ctrl-C
(fmkit/interrupts.py), the result is handed to the caller (who prints its line) and its JSON
is written. So what is on disk has been reported and the other way round; an interrupted run
removes the images of results it never reported.
"""

from __future__ import annotations

import time
from collections import deque
from typing import Callable, Iterable, Iterator

from fmkit import interrupts, io
from fmkit.detect.detector import Detector
from fmkit.detect.results import DetectResult, RunSummary
from fmkit.detect.stream import detect_stream
from fmkit.detect.outputs import OutputFolder, inside
from fmkit.errors import BadInput
from fmkit.io.sources import Source, expand, quick_check
from fmkit.profiles import Settings


WRITERS = 3  # threads annotating and writing results (a bucket's PUT latency overlaps inference)


class DetectRun:
    """An iterable detect run: arguments and OUTDIR are checked and the model is loaded when it is
    made; iterating runs it (see the module docstring). `summary` holds the totals afterwards."""

    def __init__(self, settings: Settings, sources: Iterable[str] | None = None, *, output: str | None = None,
                 recursive: bool = False, watch: str | None = None, interval: float = 0.5,
                 max_polls: int | None = None, save_txt: bool = False, coco: bool = False,
                 classes: str | list | None = None, force: bool = False, store_options: dict | None = None,
                 notify: Callable[[str], None] = lambda message: None, on_written: Callable | None = None):
        sources = [str(s) for s in sources] if sources is not None else []
        output = str(output) if output is not None else None
        watch = str(watch) if watch is not None else None
        _check_arguments(sources, output, watch, save_txt, coco, interval, recursive)
        self.sources, self.recursive, self.watch = sources, recursive, watch
        self.interval, self.max_polls = interval, max_polls
        self.notify, self.on_written = notify, on_written
        self.store_options = store_options or {}
        self.summary = RunSummary()
        self.complete = False
        self.missing = quick_check(sources)  # before the model loads: `detect nope.jpg` fails in ms
        self.folder = (OutputFolder(output, save_txt=save_txt, coco=coco, force=force,
                                    store_options=self.store_options) if output else None)
        if watch is not None and not io.is_remote(watch) and not io.store_for(watch).is_folder(watch):
            raise BadInput(f"--watch folder {watch} does not exist", "create it first")
        self.detector: Detector | None = None
        if sources and len(self.missing) == len(sources):
            return  # nothing to detect: each argument is reported, no model is loaded
        self.detector = Detector(settings, ",".join(map(str, classes)) if isinstance(classes, list) else classes)
        d = self.detector
        if d.random_weights:
            notify(f"{d.label}: random weights (built from yaml), detections are meaningless")
        if settings.detect.half and not d.half:
            notify("--half needs a CUDA GPU; running in float32")
        if d.imgsz != settings.detect.imgsz:
            notify(f"imgsz {settings.detect.imgsz} rounded up to {d.imgsz} (a multiple of the model stride)")
        if self.folder is not None:
            self.folder.names = d.names
            self.folder.run_key = d.run_key

    @property
    def model(self) -> str:
        return self.detector.label if self.detector else ""

    def __iter__(self) -> Iterator[DetectResult]:
        began = time.perf_counter()
        try:
            with interrupts.sigterm_as_interrupt():
                if self.detector is None:
                    yield from self._report_missing()
                elif self.watch is None:
                    yield from self._handle(self._sources())
                else:
                    yield from self._watch()
            self.complete = self.watch is None
        finally:
            self.summary.seconds = time.perf_counter() - began
            self._close()

    def _report_missing(self) -> Iterator[DetectResult]:
        for arg in self.sources:
            result = DetectResult(arg, "", error="no such file or folder", uri=arg)
            self.summary.add(result)
            yield result

    def _sources(self) -> Iterator[Source]:
        exclude = self.folder.folder if self.folder else None
        return expand(self.sources, self.recursive, exclude=exclude, **self.store_options)

    def _skip(self, source: Source) -> bool:
        """Its result is already in OUTDIR (runs in the decode thread)."""
        if self.folder is None or not self.folder.done(source):
            return False
        self.folder.skipped += 1
        return True

    def _handle(self, sources: Iterable[Source]) -> Iterator[DetectResult]:
        """Results in input order. With OUTDIR, each result's image is annotated and written by a
        small pool while the next images are detected; then, in order and with Ctrl-C held back,
        the result is counted, handed out (reported) and its JSON written."""
        results = detect_stream(self.detector, sources, keep_images=self.folder is not None,
                         skip=self._skip if self.folder is not None else None)
        if self.folder is None:
            for result in results:
                self.summary.add(result)
                yield result
            return
        from concurrent.futures import ThreadPoolExecutor

        pending: deque = deque()
        with ThreadPoolExecutor(max_workers=WRITERS, thread_name_prefix="fmkit-write") as pool:
            try:
                for result in results:
                    pending.append((result, pool.submit(self.folder.write_files, result, result.origin)))
                    while pending and (len(pending) > 2 * WRITERS or pending[0][1].done()):
                        yield from self._finish(*pending.popleft())
                while pending:
                    yield from self._finish(*pending.popleft())
            finally:
                for result, future in pending:  # interrupted: files written but never reported are removed
                    self.folder.discard(result, future)

    def _finish(self, result: DetectResult, written) -> Iterator[DetectResult]:
        with interrupts.deferred():
            written.result()
            result.image = None
            self.summary.add(result)
            yield result
            self.folder.commit(result)
        if self.on_written is not None and result.outputs:
            self.on_written(result)

    def _watch(self) -> Iterator[DetectResult]:
        from fmkit.detect.watch import FolderWatcher, watch

        watcher = FolderWatcher(self.watch, self.recursive, settle=max(self.interval, 1.0),
                                exclude=self.folder.folder, already_done=self.folder.done,
                                store_options=self.store_options)
        self.notify(f"watching {self.watch} (Ctrl-C stops); results go to {self.folder.folder}")
        for ready in watch(watcher, self.interval, self.max_polls):
            if ready:
                yield from self._handle(ready)

    def _close(self) -> None:
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
    for root in ([watch] if watch is not None else sources):
        if output is None or root == "-":
            continue
        if inside(output, root) and (recursive or inside(root, output)):
            raise BadInput(f"the output {output} is inside the input {root}",
                           "it would detect its own results, forever when watching; write results elsewhere")
