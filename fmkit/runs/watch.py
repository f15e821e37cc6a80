"""`--watch` (detect, segment): notice images that appear under a folder or bucket prefix, once each,
when complete.

A local file counts as complete when its size and modification time are the same on two polls
in a row and it was last modified at least `settle` seconds ago: an upload still being written
keeps growing (or keeps its mtime fresh) and is left alone until it stops. An S3 object is
complete the moment it is listed (a PUT is atomic). Hidden files and the usual temporary
names (.part, .tmp, .crdownload, ~) are ignored, so a writer that renames a finished file into
place is picked up at once. A file is handed out again only if it changes (a new version), so
a bad file is reported once, not on every poll.
"""

from __future__ import annotations

import time
from typing import Callable, Iterator

from fmkit import io
from fmkit.errors import RuntimeFailure
from fmkit.io.sources import Source, is_image_name

TEMP_SUFFIXES = (".part", ".tmp", ".crdownload", ".partial", ".download", "~")


class FolderWatcher:
    """Polls a folder or prefix; `ready()` returns the images that became complete since the last call."""

    def __init__(self, folder: str, recursive: bool = False, settle: float = 0.5,
                 exclude: str | None = None, already_done: Callable[[Source], bool] | None = None,
                 store_options: dict | None = None):
        self.folder = str(folder)
        self.store = io.store_for(self.folder, **(store_options or {}))
        self.recursive = recursive
        self.settle = settle
        self.exclude = str(exclude) if exclude else None
        self.already_done = already_done or (lambda source: False)
        self._last: dict[str, str] = {}  # what each file looked like on the previous poll
        self._handed: dict[str, str] = {}  # the version of each file already handed out

    def _scan(self):
        if self.store.folder_missing(self.folder):
            raise RuntimeFailure(f"the watched folder {self.folder} is gone", "recreate it and start the watcher again")
        try:
            for entry in self.store.list(self.folder, recursive=self.recursive, exclude=self.exclude):
                base = entry.name.rsplit("/", 1)[-1]
                if base.lower().endswith(TEMP_SUFFIXES) or not is_image_name(base):
                    continue
                yield entry
        except FileNotFoundError:
            raise RuntimeFailure(f"the watched folder {self.folder} is gone",
                                 "recreate it and start the watcher again") from None

    def ready(self) -> list[Source]:
        now = time.time()
        current: dict[str, str] = {}
        found = []
        for entry in self._scan():
            current[entry.uri] = entry.version
            stable = self.store.complete_when_listed or (
                self._last.get(entry.uri) == entry.version and now - entry.mtime >= self.settle)
            if not stable or self._handed.get(entry.uri) == entry.version:
                continue
            self._handed[entry.uri] = entry.version
            source = Source.from_entry(entry, self.store)
            if self.already_done(source):  # a result from an earlier run is in OUTDIR
                continue
            found.append(source)
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
