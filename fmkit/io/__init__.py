"""The only code that knows where bytes live. Inputs and outputs are addressed by URI: a local
path, or `s3://bucket/key`; `store_for(uri)` gives the backend (see fmkit/io/store.py for the
interface). Backends import their SDKs lazily: importing fmkit.io imports no boto3, no torch.
"""

from __future__ import annotations

import os

from fmkit.io.store import Entry, is_hidden

__all__ = ["Entry", "inside", "is_hidden", "is_remote", "store_for"]

_LOCAL = None
_REMOTE: dict[tuple, object] = {}  # one S3Store (one client, one connection pool) per set of options


def is_remote(uri: str) -> bool:
    return str(uri).startswith("s3://")


def store_for(uri: str, **options):
    """The store for one URI. `options` (endpoint_url, profile, region) reach remote stores only."""
    if is_remote(uri):
        from fmkit.io.s3 import S3Store

        options = {k: v for k, v in options.items() if v is not None}
        # The credential chain reads the environment when a client is built: a changed AWS_* (or HOME,
        # where ~/.aws lives) must build a new store, not reuse one signed as someone else.
        env = tuple(sorted((k, v) for k, v in os.environ.items() if k.startswith("AWS_") or k == "HOME"))
        key = (tuple(sorted(options.items())), env)
        if key not in _REMOTE:
            _REMOTE[key] = S3Store(**options)
        return _REMOTE[key]
    global _LOCAL
    if _LOCAL is None:
        from fmkit.io.local import LocalStore

        _LOCAL = LocalStore()
    return _LOCAL


def inside(inner: str, outer: str) -> bool:
    """Is location `inner` the same as or below `outer`: one disk or one bucket, and below it
    (paths resolved, keys compared). Pure names: no request is made."""
    store = store_for(outer)
    return store_for(inner).place(inner) == store.place(outer) and store.contains(outer, inner)
