"""On whose behalf models are fetched and loaded: the Session's owner name and its notify.

A Session runs each call inside `on_behalf_of(owner, notify)` (a context variable, so threads
and nested calls see their own), and runs that load lazily keep the context they were made in.
Loading records the owner, so `Session.close()` forgets its own models and not another
Session's; fetching and converting tell the user through the Session's notify, never print.
"""

from __future__ import annotations

import contextlib
import contextvars
import logging
from typing import Callable, Iterator

PROCESS = "process"  # the owner of what was loaded outside any Session

_log = logging.getLogger("fmkit")
_CURRENT: contextvars.ContextVar[tuple[str, Callable[[str], None]] | None] = contextvars.ContextVar(
    "fmkit_model_owner", default=None)


@contextlib.contextmanager
def on_behalf_of(owner: str, notify: Callable[[str], None]) -> Iterator[None]:
    token = _CURRENT.set((owner, notify))
    try:
        yield
    finally:
        _CURRENT.reset(token)


def owner() -> str:
    current = _CURRENT.get()
    return current[0] if current else PROCESS


def notify(message: str) -> None:
    """A note for the user from the catalog (a conversion, an installed package)."""
    current = _CURRENT.get()
    (current[1] if current else _log.warning)(message)
