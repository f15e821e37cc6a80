"""Detect in this process: the executor a DetectRun plugs in unless it runs on a cluster
(fmkit/cluster/client.py has the other one), and what each cluster worker runs on its chunk.

One Detector, loaded when the executor is made. Without OUTDIR, results stream out in input
order. With OUTDIR, a result's image is annotated and written by a small pool while the next
images are detected; then, in input order and inside one block that defers Ctrl-C
(fmkit/interrupts.py), the result is handed to the caller (who prints its line) and its JSON is
written. So what is on disk has been reported and the other way round; an interrupted run
removes the images of results it never reported. Whether a source's result is already there is
asked where the sources are read (a bucket's HEAD/GET overlaps inference).
"""

from __future__ import annotations

from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Callable, Iterable, Iterator

from fmkit import interrupts
from fmkit.detect.detector import Detector
from fmkit.detect.outputs import OutputFolder
from fmkit.detect.results import DetectResult
from fmkit.detect.stream import detect_stream
from fmkit.io.sources import Source
from fmkit.profiles import Settings

WRITERS = 3  # threads annotating and writing results (a bucket's PUT latency overlaps inference)


def detector_notes(detector: Detector, settings: Settings) -> list[str]:
    """What the user should know about how this detector runs, said once per run."""
    cfg = settings.detect
    return [note for note, shown in (
        (f"{detector.label}: random weights (built from yaml), detections are meaningless", detector.random_weights),
        ("--half needs a CUDA GPU; running in float32", cfg.half and not detector.half),
        (f"imgsz {cfg.imgsz} rounded up to {detector.imgsz} (a multiple of the model stride)",
         detector.imgsz != cfg.imgsz),
    ) if shown]


class InProcess:
    """A loaded detector that turns sources into reported (and, with OUTDIR, written) results."""

    def __init__(self, settings: Settings, classes: str | None = None):
        self.detector = Detector(settings, classes)
        self.label = self.detector.label
        self.names = self.detector.names
        self.notes = detector_notes(self.detector, settings)

    def attach(self, folder: OutputFolder) -> None:
        """OUTDIR learns what results hold: class names, and the model and parameters that make
        a stored result reusable."""
        folder.names = self.detector.names
        folder.run_key = self.detector.run_key

    def results(self, sources: Iterable[Source], folder: OutputFolder | None,
                committed: Callable[[DetectResult], None] | None = None,
                skip_done: bool = True) -> Iterator[DetectResult]:
        """Results in input order; with `folder`, each written there before the next is handed out
        (see the module docstring), `committed(result)` called once its JSON is. Sources whose
        result `folder` already holds are skipped (and counted) unless `skip_done` is False."""
        if folder is None:
            yield from detect_stream(self.detector, sources)
            return
        skip = _skipper(folder) if skip_done else None
        pending: deque[tuple[DetectResult, Future]] = deque()
        with ThreadPoolExecutor(max_workers=WRITERS, thread_name_prefix="fmkit-write") as pool:
            try:
                for result in detect_stream(self.detector, sources, keep_images=True, skip=skip):
                    pending.append((result, pool.submit(folder.write_files, result, result.origin)))
                    while pending and (len(pending) > 2 * WRITERS or pending[0][1].done()):
                        yield from _finish(folder, committed, *pending.popleft())
                while pending:
                    yield from _finish(folder, committed, *pending.popleft())
            finally:
                for result, future in pending:  # interrupted: files written but never reported are removed
                    folder.discard(result, future)

    def close(self) -> None:
        """Nothing to release: the model stays loaded for the Session."""


def _skipper(folder: OutputFolder) -> Callable[[Source], bool]:
    def skip(source: Source) -> bool:
        if folder.reusable(source) is None:
            return False
        folder.count_skipped()
        return True

    return skip


def _finish(folder: OutputFolder, committed, result: DetectResult, written: Future) -> Iterator[DetectResult]:
    with interrupts.deferred():
        written.result()
        result.image = None
        yield result
        folder.commit(result)
    if committed is not None and result.outputs:
        committed(result)
