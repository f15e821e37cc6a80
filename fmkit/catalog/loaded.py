"""Models loaded once per process, shared by the Sessions that use them, forgotten by their owners.

`load_once` keys a loaded model by (source, device, dtype, extra) and records which Session
asked for it (fmkit/catalog/context.py); `release(owner)` drops that Session's claim and frees
every model nobody claims any more; `clear_loaded()` forgets them all (after an out-of-memory).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

from fmkit.catalog import context
from fmkit.catalog.lookup import ModelSource
from fmkit.gc_pause import paused_gc, release_frozen

_LOADED: dict[tuple, Any] = {}
_OWNERS: dict[tuple, set[str]] = {}


def _cache_key(source: ModelSource, device: str, dtype: Any, extra: tuple) -> tuple:
    return (source.kind, source.location, source.revision, str(device), str(dtype), *extra)


def is_loaded(source: ModelSource, device: str, dtype: Any, *extra: Any) -> bool:
    """Whether load_once(source, device, dtype, ..., *extra) would find the model already loaded."""
    return _cache_key(source, device, dtype, extra) in _LOADED


def load_once(source: ModelSource, device: str, dtype: Any, build: Callable[[Path], Any], *extra: Any) -> Any:
    """Load a model once per process, keyed by (source, device, dtype, extra)."""
    from fmkit.catalog.fetch import local_path

    cache_key = _cache_key(source, device, dtype, extra)
    if cache_key not in _LOADED:
        with paused_gc():
            _LOADED[cache_key] = build(local_path(source))
    _OWNERS.setdefault(cache_key, set()).add(context.owner())
    return _LOADED[cache_key]


def release(owner: str) -> None:
    """`owner` no longer needs its models; free those no one else has claimed."""
    dropped = False
    for key in list(_OWNERS):
        _OWNERS[key].discard(owner)
        if not _OWNERS[key]:
            del _OWNERS[key]
            _LOADED.pop(key, None)
            dropped = True
    if dropped:
        release_frozen()


def clear_loaded() -> None:
    """Forget every loaded model, and free its memory now (loading froze it: see gc_pause)."""
    _LOADED.clear()
    _OWNERS.clear()
    release_frozen()
