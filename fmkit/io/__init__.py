"""The only code that knows where bytes live. Inputs and outputs are addressed by URI: a local
path, or `s3://bucket/key`; `store_for(uri)` gives the backend (see fmkit/io/store.py for the
interface). Backends import their SDKs lazily: importing fmkit.io imports no boto3, no torch.
"""

from __future__ import annotations

from fmkit.io.store import Entry, is_hidden

__all__ = ["Entry", "is_hidden", "is_remote", "store_for"]

_LOCAL = None


def is_remote(uri: str) -> bool:
    return str(uri).startswith("s3://")


def store_for(uri: str, **options):
    """The store for one URI. `options` (endpoint_url, profile, region) reach remote stores only."""
    if is_remote(uri):
        from fmkit.io.s3 import S3Store

        return S3Store(**options)
    global _LOCAL
    if _LOCAL is None:
        from fmkit.io.local import LocalStore

        _LOCAL = LocalStore()
    return _LOCAL
