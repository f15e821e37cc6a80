"""Sources read a little ahead of the model, in input order: the reading thread(s) every image
capability runs beside its model (detect's CpuFrames and DeviceFrames, segment's stream), and the
Frame each source becomes on its way to the model."""

from __future__ import annotations

import time
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Iterator

from fmkit.io.images import ImageError, decode
from fmkit.io.sources import Source


@dataclass
class Frame:
    """One source on its way to the model. `boxed` is the model's input, as the capability
    prepares it (detect: letterboxed, a (h, w, 3) uint8 array or a (3, h, w) tensor on the
    device; segment: SAM's square input); `shape` the original (height, width); `image` the
    original RGB (H, W, 3) uint8 array, kept only for annotated copies. A frame with `error` or
    `skipped` has no pixels."""

    source: Source
    boxed: Any = None
    shape: tuple[int, int] = (0, 0)
    image: Any = None
    error: str | None = None
    skipped: bool = False
    seconds: float = 0.0  # reading + decoding + preparing this source

    @property
    def ready(self) -> bool:
        return self.error is None and not self.skipped

    @property
    def boxed_size(self) -> tuple[int, int]:
        """(h, w) of the prepared image, whichever layout it has."""
        b = self.boxed
        return (b.shape[0], b.shape[1]) if getattr(b, "ndim", 0) == 3 and b.shape[-1] == 3 else tuple(b.shape[-2:])


def decoded_frame(source: Source, prepare: Callable[[Any], Any], keep_image: bool = False,
                  skip: Callable[[Source], bool] | None = None) -> Frame:
    """Read and decode one source (Pillow), then `prepare(rgb)` the model's input: a Frame with
    its one-line error instead when it cannot be read, or `skipped` when `skip(source)` says its
    result is already done (asked here, in the reading thread: a bucket's HEAD overlaps the model)."""
    start = time.perf_counter()
    if source.error:
        return Frame(source, error=source.error)
    if skip is not None and skip(source):
        return Frame(source, skipped=True)
    try:
        image = decode(source)
    except ImageError as e:
        return Frame(source, error=str(e), seconds=time.perf_counter() - start)
    return Frame(source, prepare(image), image.shape[:2], image if keep_image else None,
                 seconds=time.perf_counter() - start)


def read_ahead(items: Iterable, fn: Callable[[Any], Any], workers: int, depth: int) -> Iterator:
    """fn(item) for every item, in input order, on `workers` threads, at most `depth` in flight:
    a list of 100,000 sources is pulled a little ahead of its results, never all at once."""
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="fmkit-decode") as pool:
        pending: deque = deque()
        for item in items:
            pending.append(pool.submit(fn, item))
            if len(pending) >= depth:
                yield pending.popleft().result()
        while pending:
            yield pending.popleft().result()
