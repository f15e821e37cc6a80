"""`fmkit detect --watch`: notice images that appear in a folder, once each, when complete.

A file counts as complete when its size and modification time are the same on two polls in
a row and it was last modified at least `settle` seconds ago: an upload still being written
keeps growing (or keeps its mtime fresh) and is left alone until it stops. Hidden files and
the usual temporary names (.part, .tmp, .crdownload, ~) are ignored, so a writer that
renames a finished file into place is picked up at once. A file is handed out again only if
it changes (a new size or mtime), so a bad file is reported once, not on every poll.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Callable, Iterator

from fmkit.io.sources import Source, is_image_name

TEMP_SUFFIXES = (".part", ".tmp", ".crdownload", ".partial", ".download", "~")


class FolderWatcher:
    """Polls a folder; `ready()` returns the images that became complete since the last call."""

    def __init__(self, folder: Path, recursive: bool = False, settle: float = 0.5,
                 exclude: Path | None = None, already_done: Callable[[str], bool] | None = None):
        self.folder = Path(folder)
        self.recursive = recursive
        self.settle = settle
        self.exclude = exclude.resolve() if exclude else None
        self.already_done = already_done or (lambda name: False)
        self._last: dict[Path, tuple[int, int]] = {}  # what each file looked like on the previous poll
        self._handed: dict[Path, tuple[int, int]] = {}  # the version of each file already handed out

    def _scan(self) -> Iterator[tuple[Path, os.stat_result]]:
        stack = [self.folder]
        while stack:
            folder = stack.pop()
            try:
                entries = sorted(os.scandir(folder), key=lambda e: e.name)
            except OSError:
                continue  # removed or unreadable meanwhile: the next poll sees it again
            for entry in entries:
                name = entry.name
                if name.startswith(".") or name.lower().endswith(TEMP_SUFFIXES):
                    continue
                try:
                    if entry.is_dir():
                        if self.recursive and (self.exclude is None or Path(entry.path).resolve() != self.exclude):
                            stack.append(Path(entry.path))
                    elif is_image_name(name) and entry.is_file():
                        yield Path(entry.path), entry.stat()
                except OSError:
                    continue

    def ready(self) -> list[Source]:
        now = time.time()
        current: dict[Path, tuple[int, int]] = {}
        found = []
        for path, st in self._scan():
            version = (st.st_size, st.st_mtime_ns)
            current[path] = version
            stable = self._last.get(path) == version and now - st.st_mtime >= self.settle
            if not stable or self._handed.get(path) == version:
                continue
            self._handed[path] = version
            name = path.relative_to(self.folder).as_posix()
            if self.already_done(name):  # a result from an earlier run is in OUTDIR
                continue
            found.append(Source(str(path), path, name))
        self._last = current
        return found


def watch(watcher: FolderWatcher, interval: float = 0.5, max_polls: int | None = None,
          sleep: Callable[[float], None] = time.sleep) -> Iterator[list[Source]]:
    """Yield the newly complete images every `interval` seconds (forever, or `max_polls` times).

    Stops on KeyboardInterrupt raised by the caller's signal handling (Ctrl-C)."""
    polls = 0
    while max_polls is None or polls < max_polls:
        batch = watcher.ready()
        polls += 1
        yield batch
        if max_polls is None or polls < max_polls:
            sleep(interval)
