"""Results written while the next ones are computed, and reported in input order.

Each result's image is drawn and written by a small pool while the model works on the next
images; then, in input order and inside one block that defers Ctrl-C (fmkit/interrupts.py), the
result is handed to the caller (who prints its line) and its JSON is written. So what is on disk
has been reported and the other way round; an interrupted run removes the images of results it
never reported.
"""

from __future__ import annotations

from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Callable, Iterable, Iterator

from fmkit import interrupts
from fmkit.io.sources import Source
from fmkit.runs.folder import OutputFolder
from fmkit.runs.results import ImageResult

WRITERS = 3  # threads drawing and writing results (a bucket's PUT latency overlaps inference)


def write_in_order(results: Iterable[ImageResult], folder: OutputFolder,
                   committed: Callable[[ImageResult], None] | None = None) -> Iterator[ImageResult]:
    """Results (each carrying its pixels in `.image`) written into `folder`, handed out in order;
    `committed(result)` once its JSON is written."""
    pending: deque[tuple[ImageResult, Future]] = deque()
    with ThreadPoolExecutor(max_workers=WRITERS, thread_name_prefix="fmkit-write") as pool:
        try:
            for result in results:
                pending.append((result, pool.submit(folder.write_files, result, result.origin)))
                while pending and (len(pending) > 2 * WRITERS or pending[0][1].done()):
                    yield from _finish(folder, committed, *pending.popleft())
            while pending:
                yield from _finish(folder, committed, *pending.popleft())
        finally:
            for result, future in pending:  # interrupted: files written but never reported are removed
                folder.discard(result, future)


def skipper(folder: OutputFolder) -> Callable[[Source], bool]:
    """skip(source): the folder already holds its result, made the same way (counted)."""
    def skip(source: Source) -> bool:
        if folder.reusable(source) is None:
            return False
        folder.count_skipped()
        return True

    return skip


def _finish(folder: OutputFolder, committed, result: ImageResult, written: Future) -> Iterator[ImageResult]:
    with interrupts.deferred():
        written.result()
        result.image = None
        yield result
        folder.commit(result)
    if committed is not None and result.outputs:
        committed(result)
