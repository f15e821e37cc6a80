"""The storage interface every backend implements (local.py for paths, s3.py for
`s3://bucket/key`), and the `Entry` each listing hands out. A capability reads and writes
through `fmkit.io.store_for(uri)` and never asks where the bytes live. Writes are atomic and
refuse to replace an existing object without `force`; `prepare_folder` fails fast, before any
model loads; `list` streams (a bucket of 100,000 keys is never held in memory).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import BinaryIO, Iterator, Protocol


@dataclass(frozen=True)
class Entry:
    """One file (or object) found under a listed root."""

    uri: str       # full location: a local path, or 's3://bucket/key'
    name: str      # path relative to the listed root, POSIX ('sub/bus.jpg')
    size: int
    version: str   # identity that changes when the content changes: local 'size:mtime_ns'; S3 'etag:size'
    mtime: float   # seconds since the epoch (S3: LastModified)


def is_hidden(name: str) -> bool:
    """True when any component of a POSIX relative name starts with '.' (temp files, .DS_Store)."""
    return any(part.startswith(".") for part in name.split("/") if part)


class Store(Protocol):
    """What detect, watch and gallery need from a place that holds files."""

    scheme: str

    def join(self, root: str, name: str) -> str: ...
    def list(self, root: str, recursive: bool = True, exclude: str | None = None) -> Iterator[Entry]: ...
    def stat(self, uri: str) -> Entry | None: ...
    def exists(self, uri: str) -> bool: ...
    def is_folder(self, uri: str) -> bool: ...
    def open(self, uri: str) -> BinaryIO: ...
    def read_bytes(self, uri: str) -> bytes: ...
    def write_bytes(self, uri: str, data: bytes | str, force: bool = False,
                    content_type: str | None = None) -> None: ...
    def delete(self, uri: str) -> None: ...
    def prepare_folder(self, root: str) -> None: ...
