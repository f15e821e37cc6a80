"""What a capability reads: source arguments expanded lazily into `Source`s, local or in a bucket.

Arguments are files, folders, globs, `s3://bucket/prefix/` URIs (and globs of them), or '-'
(one per stdin line). Expansion streams: a folder of 10,000 images or a bucket of 100,000
keys yields entries as they are listed, never all at once, and never pixels. Every problem
becomes a `Source` with `error` set, so one bad argument is one reported line and the rest
of the run goes on.
"""

from __future__ import annotations

import glob
import os
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, BinaryIO, Iterable, Iterator

from fmkit import io
from fmkit.io.lines import read_lines
from fmkit.io.store import Entry
from fmkit.options import option

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff")
_GLOB_CHARS = set("*?[")


@dataclass(frozen=True)
class Source:
    """One input: `label` is what we report, `uri` where the bytes are, `name` the output name
    (relative path), `version` its identity (changes when the content does)."""

    label: str
    uri: str = ""
    name: str = ""
    error: str | None = None
    version: str = ""
    size: int | None = None
    store: Any = None

    @property
    def is_local(self) -> bool:
        return not io.is_remote(self.uri)

    @property
    def path(self) -> Path | None:
        return Path(self.uri) if self.uri and self.is_local else None

    def open(self) -> BinaryIO:
        return (self.store or io.store_for(self.uri)).open(self.uri)

    @classmethod
    def from_entry(cls, entry: Entry, store: Any, label: str | None = None) -> "Source":
        return cls(label or entry.uri, entry.uri, entry.name, None, entry.version, entry.size, store)


def is_image_name(path: str | Path) -> bool:
    return str(path).lower().endswith(IMAGE_SUFFIXES)


def _folder(arg: str, recursive: bool, exclude: str | None, **store_options) -> Iterator[Source]:
    """Images under a local folder or a bucket prefix, listed lazily."""
    store = io.store_for(arg, **store_options)
    found = False
    try:
        for entry in store.list(arg, recursive=recursive, exclude=exclude):
            if is_image_name(entry.name):
                found = True
                yield Source.from_entry(entry, store)
    except OSError as e:
        yield Source(arg, arg, error=f"cannot list folder: {e.strerror or e}")
        return
    if not found:
        hint = "" if recursive else f"; add {option('recursive')} to look in subfolders"
        yield Source(arg, arg, error=f"no images in this folder ({', '.join(IMAGE_SUFFIXES)}){hint}")


def _local_stat(path: str, arg: str) -> Source:
    try:
        st = os.stat(path)
        return Source(arg, path, os.path.basename(path), version=f"{st.st_size}:{st.st_mtime_ns}", size=st.st_size)
    except OSError:
        return Source(arg, path, os.path.basename(path))  # decoding names the problem


def expand(args: Iterable[str], recursive: bool = False, stdin: IO[str] | None = None,
           exclude: str | None = None, **store_options) -> Iterator[Source]:
    """Arguments -> Sources, in order: files, folders, globs, bucket prefixes, '-' (stdin lines).

    `exclude` is an output folder that must never be read as input (results inside the source)."""
    for arg in args:
        if arg == "-":
            for line in read_lines(stdin):
                yield from expand([line.strip()], recursive, exclude=exclude, **store_options)
            continue
        if io.is_remote(arg):
            yield from _remote(arg, recursive, exclude, **store_options)
            continue
        path = os.path.expanduser(arg)
        if os.path.isdir(path):
            yield from _folder(path, recursive, exclude)
        elif os.path.lexists(path):
            yield _local_stat(path, arg)
        elif _GLOB_CHARS & set(arg):
            matches = sorted(glob.iglob(path, recursive=recursive))
            files = [m for m in matches if os.path.isfile(m)]
            if not files:
                yield Source(arg, error="no files match this pattern")
            for match in files:
                yield _local_stat(match, match)
        else:
            yield Source(arg, path, os.path.basename(path), error="no such file or folder")


def _remote(arg: str, recursive: bool, exclude: str | None, **store_options) -> Iterator[Source]:
    store = io.store_for(arg, **store_options)
    if _GLOB_CHARS & set(arg.split("://", 1)[1]):
        found = False
        for entry in store.glob(arg):
            found = True
            yield Source.from_entry(entry, store)
        if not found:
            yield Source(arg, error="no objects match this pattern")
        return
    if not arg.endswith("/"):
        entry = store.stat(arg)
        if entry is not None:
            yield Source.from_entry(entry, store, label=arg)
            return
        if not store.is_folder(arg):
            yield Source(arg, arg, arg.rsplit("/", 1)[-1], error="no such object or folder in the bucket")
            return
    yield from _folder(arg, recursive, exclude, **store_options)


def read_root(arg: str) -> str:
    """The folder an argument reads from: a folder itself, a glob's literal folder
    ('uploads/*.jpg' -> 'uploads/', 's3://b/in/**/x.png' -> 's3://b/in/'); a file is its own root."""
    first = min((i for i, c in enumerate(arg) if c in _GLOB_CHARS), default=None)
    if first is None:
        return arg
    cut = arg.rfind("/", 0, first)
    return arg[:cut + 1] if cut >= 0 else "."


def quick_check(args: Iterable[str]) -> list[str]:
    """Local arguments that name nothing at all (no file, folder or glob match): found in
    milliseconds, so `fmkit detect nope.jpg` fails before a model loads."""
    missing = []
    for arg in args:
        if arg == "-" or io.is_remote(arg):
            continue
        path = os.path.expanduser(arg)
        if not os.path.lexists(path) and not (_GLOB_CHARS & set(arg) and any(glob.iglob(path))):
            missing.append(arg)
    return missing
