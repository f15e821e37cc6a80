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
    """What detect, watch, gallery and bucket need from a place that holds files. Capabilities
    ask these questions instead of looking at a URI's scheme."""

    scheme: str
    # An object is complete the moment it is listed (an S3 PUT is atomic); a local file may still
    # be growing while an upload writes it, so a watcher waits until it stops changing.
    complete_when_listed: bool
    reads_are_round_trips: bool  # each read waits on a network: readers run several at once
    can_presign: bool  # time-limited links a browser can open without credentials

    # --- names and places ---
    def join(self, root: str, name: str) -> str: ...
    def normalize(self, uri: str, folder: bool = False) -> str: ...  # '~/out' -> '/home/me/out'; a prefix gets its '/'
    def link(self, from_folder: str, to: str) -> str: ...   # the relative path from a page in one folder to another
    def place(self, uri: str) -> str: ...                   # 'local' or 's3://bucket': one disk, one bucket
    def contains(self, root: str, uri: str) -> bool: ...    # uri is root or below it (links resolved)
    def relative(self, root: str, uri: str) -> str | None: ...  # 'sub/bus.jpg', or None when outside root
    def is_relative(self, uri: str) -> bool: ...            # a path that means another file on another machine
    # --- listing and reading ---
    def list(self, root: str, recursive: bool = True, exclude: str | None = None) -> Iterator[Entry]: ...
    def stat(self, uri: str) -> Entry | None: ...
    def exists(self, uri: str) -> bool: ...
    def is_folder(self, uri: str) -> bool: ...
    def folder_missing(self, uri: str) -> bool: ...         # a local folder that is not there (prefixes need none)
    def check_folder(self, uri: str, what: str, hint: str) -> None: ...  # readable, else one line naming `what`
    def check_folder_writable(self, uri: str) -> None: ...  # could be written into; nothing is created yet
    def open(self, uri: str) -> BinaryIO: ...
    def read_bytes(self, uri: str) -> bytes: ...
    def read_head(self, uri: str, length: int = 1024) -> bytes: ...  # the first bytes only
    # --- writing ---
    def write_bytes(self, uri: str, data: bytes | str, force: bool = False,
                    content_type: str | None = None) -> None: ...
    def delete(self, uri: str) -> None: ...
    def prepare_folder(self, root: str) -> None: ...
    def presign(self, uri: str, seconds: int = 3600) -> str: ...  # a time-limited GET URL
