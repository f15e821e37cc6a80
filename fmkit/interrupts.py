"""Ctrl-C between two steps that belong together (write a result, report it) must not split them.

`deferred()` holds SIGINT and SIGTERM back for the length of a block and raises
KeyboardInterrupt when the block ends, so a watcher stopped mid-image leaves either the
result on disk *and* its line on stdout, or neither. Inside a generator the block may span a
`yield`: the consumer's handling of the item (printing it) is then inside the block too.
Signal handlers can only be set from the main thread; elsewhere (a notebook's background
thread, a Dask worker) the block runs undeferred.
"""

from __future__ import annotations

import contextlib
import signal
import threading
from typing import Iterator


@contextlib.contextmanager
def deferred() -> Iterator[None]:
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    caught: list[int] = []

    def hold(signum, frame):
        caught.append(signum)

    previous = {s: signal.signal(s, hold) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)
    if caught:
        raise KeyboardInterrupt


@contextlib.contextmanager
def sigterm_as_interrupt() -> Iterator[None]:
    """A service manager's SIGTERM stops a long run the way Ctrl-C does (exit 130, nothing half-written)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def raise_interrupt(signum, frame):
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, raise_interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)
