"""Sources read a little ahead of the model, in input order: the decode thread(s) every image
capability runs beside its model (detect's frames, segment's frames)."""

from __future__ import annotations

from collections import deque
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Callable, Iterable, Iterator


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
