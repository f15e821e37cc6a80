"""The one rule for output names: the name itself, else the first free numbered one.

    bus.jpg -> bus.jpg, bus-2.jpg, bus-3.jpg ...      sub/bus.jpg -> sub/bus-2.jpg     coco.json -> coco-2.json

Every writer that must not clobber (detect's results, COCO files, diffuse's images, the
cluster's workers, local or in a bucket) asks `first_free(name, taken)` with its own notion of
"taken" (a file on disk, a key in a bucket, a name another thread claimed), so the numbering is
the same everywhere. Names are POSIX paths (a bucket key, or a path relative to an output folder);
`numbered` also takes an OS path, as text or a pathlib.Path.
"""

from __future__ import annotations

import os
import posixpath
from pathlib import PurePath
from typing import Callable, Iterator, TypeVar

N = TypeVar("N", str, PurePath)


def numbered(name: N, n: int) -> N:
    """`name` for n == 1, else its stem with `-n` before the suffix: ('bus.jpg', 2) -> 'bus-2.jpg'."""
    if n == 1:
        return name
    if isinstance(name, PurePath):
        return name.with_name(f"{name.stem}-{n}{name.suffix}")
    folder, base = posixpath.split(name)
    stem, suffix = os.path.splitext(base)
    if not stem:  # '.hidden': no suffix to keep
        stem, suffix = base, ""
    return posixpath.join(folder, f"{stem}-{n}{suffix}")


def candidates(name: N) -> Iterator[N]:
    """name, name-2, name-3, ... (endless: the caller stops at the first that suits it)."""
    n = 1
    while True:
        yield numbered(name, n)
        n += 1


def first_free(name: N, taken: Callable[[N], bool]) -> N:
    """The first of `candidates(name)` that is not `taken`."""
    return next(c for c in candidates(name) if not taken(c))
