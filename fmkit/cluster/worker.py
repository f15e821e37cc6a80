"""What runs inside a Dask worker process: one chunk of sources through the same in-process
executor a single-process run uses (fmkit/detect/in_process.py), results written to OUT by the
worker itself.

`detect_chunk(spec, refs, run)` is the task the client submits. The first chunk of a run builds a
`_Runner` (the loaded detector and an OutputFolder on OUT) and keeps it in a module-level cache
keyed by the spec, so every later chunk of the run (and of later runs with the same settings on
a long-lived cluster) reuses the loaded model. Only small dicts go back: per image its `--json`
object, identity and name, never pixels.

Per source, in input order within the chunk:
  - a complete result already in OUT made the same way: skipped. If that result's JSON was
    written by this run (its `written_by` is the run's name), a worker that died had finished
    it before this chunk was re-run: its stored result is returned as this run's, so the client
    still prints exactly one line for it;
  - otherwise detected, its annotated image written, then its JSON (the completion marker). An
    annotated image left without its JSON by a dead worker, holding exactly these bytes, is
    taken back in place (OutputFolder's rule), so OUT ends with one result per source.
"""

from __future__ import annotations

import os
import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

from fmkit import errors, io
from fmkit.io.sources import Source
from fmkit.profiles import Settings

_CACHE_SIZE = 4  # runners (loaded detectors) one worker keeps: runs with other settings evict the oldest
_RUNNERS: "OrderedDict[str, _Runner]" = OrderedDict()
_LOCK = threading.Lock()


@dataclass(frozen=True)
class ChunkSpec:
    """Everything a worker needs besides the sources: the client's resolved settings (so every
    worker detects exactly as the client's single-process run would), OUT and its options."""

    key: str  # a digest of the fields below: the worker cache's key
    settings: Settings
    classes: str | None = None
    output: str | None = None
    save_txt: bool = False
    force: bool = False
    store_options: dict = field(default_factory=dict)
    offline: bool = False
    cwd: str = ""  # the client's working directory: relative local paths are relative to it


@dataclass(frozen=True)
class SourceRef:
    """A source as it travels to a worker (no store, no pixels); the worker rebuilds the Source."""

    label: str
    uri: str
    name: str
    version: str
    size: int | None

    @classmethod
    def of(cls, source: Source) -> "SourceRef":
        return cls(source.label, source.uri, source.name, source.version, source.size)

    def source(self, store_options: dict) -> Source:
        return Source(self.label, self.uri, self.name, None, self.version, self.size,
                      io.store_for(self.uri, **store_options))


def detect_chunk(spec: ChunkSpec, refs: list[SourceRef], run: str) -> dict[str, Any]:
    """One task: detect `refs`, write their results to OUT, return small per-image dicts.

    Returns {"results": [entry, ...] (input order), "skipped": n, "run_key": {...}, "notes": [...],
    "pid": ...} where an entry is {"result": to_dict(), "identity": ..., "name": ..., "uri": ...};
    an FmkitError (a model that cannot load, OUT not writable, unknown --classes) comes back as
    {"fatal": {...}} instead of being raised: it is not transient, so Dask must not retry it.
    An empty chunk builds the runner (loads the model) and returns."""
    try:
        return _runner(spec).run(refs, run)
    except errors.FmkitError as e:
        return {"fatal": {"type": type(e).__name__, "message": e.message, "hint": e.hint,
                          "exit_code": e.exit_code, "host": _host()}}


def _host() -> str:
    import socket

    return socket.gethostname()


def _runner(spec: ChunkSpec) -> "_Runner":
    with _LOCK:
        runner = _RUNNERS.get(spec.key)
        if runner is None:
            runner = _Runner(spec)
            _RUNNERS[spec.key] = runner
            while len(_RUNNERS) > _CACHE_SIZE:
                _RUNNERS.popitem(last=False)
        else:
            _RUNNERS.move_to_end(spec.key)
        return runner


def _heap_for_tensors() -> None:
    """Undo what Dask's nanny does to glibc's malloc for the processes it spawns.

    The nanny sets MALLOC_TRIM_THRESHOLD_=65536 (distributed.nanny.pre-spawn-environ) so that
    workers hand freed memory back to the OS. Setting any such variable also freezes malloc's
    mmap threshold at 128 KB: every activation tensor of a forward pass is then a fresh mmap,
    page-faulted in and unmapped again, and YOLO ran 2.1x slower per image here than in a plain
    process. glibc's own default lets the threshold grow to 32 MB (big blocks are reused); set
    that explicitly, with a trim threshold above it. No-op off glibc, or without the variable."""
    if "MALLOC_TRIM_THRESHOLD_" not in os.environ:
        return
    try:
        import ctypes

        libc = ctypes.CDLL("libc.so.6")
        libc.mallopt(-3, 32 * 1024 * 1024)  # M_MMAP_THRESHOLD
        libc.mallopt(-1, 64 * 1024 * 1024)  # M_TRIM_THRESHOLD
    except (OSError, AttributeError):
        pass


class _Runner:
    """A loaded detector and OUT, for every chunk of one run's settings in this process."""

    def __init__(self, spec: ChunkSpec):
        from fmkit import environment
        from fmkit.detect.in_process import InProcess
        from fmkit.detect.folder import DetectionFolder

        environment.prepare(offline=spec.offline)
        _heap_for_tensors()
        self.spec = spec
        self._check_paths([spec.output] if spec.output else [])
        self.executor = InProcess(spec.settings, spec.classes)
        self.folder: DetectionFolder | None = None
        if spec.output:
            self.folder = DetectionFolder(spec.output, save_txt=spec.save_txt, force=spec.force,
                                       store_options=spec.store_options)
            self.executor.attach(self.folder)

    def _check_paths(self, paths: list[str]) -> None:
        """Local paths must mean the same file here as on the client: OUT must already exist (the
        client created it; a worker on another machine without the shared filesystem would
        otherwise write results onto its own disk), and relative paths need the client's folder."""
        for path in paths:
            if path and io.store_for(path).is_relative(path) and os.getcwd() != self.spec.cwd:
                raise errors.RuntimeFailure(f"worker on {_host()} runs in {os.getcwd()}, not in {self.spec.cwd}: "
                                            f"the relative path {path} means another file there",
                                            "give absolute paths on a filesystem every worker shares, or s3://")
        output = self.spec.output
        if output and io.store_for(output).folder_missing(output):
            raise errors.RuntimeFailure(f"OUT {output} does not exist on worker {_host()}",
                                        "workers need a filesystem shared with the client, or an s3:// OUT")

    def run(self, refs: list[SourceRef], run: str) -> dict[str, Any]:
        sources = [ref.source(self.spec.store_options) for ref in refs]
        self._check_paths([s.uri for s in sources])
        entries: dict[int, dict] = {}
        todo: list[Source] = []
        skipped = 0
        for i, source in enumerate(sources):
            stored = self.folder.reusable(source) if self.folder else None
            if stored is None:
                todo.append(source)
            elif stored.get("written_by") == run:  # finished by this run, by a worker that died before reporting
                entries[i] = _entry(_result_fields(stored), stored.get("identity"), source)
            else:
                skipped += 1
        if self.folder is not None:
            self.folder.tag = {"written_by": run}
        position = {id(s): i for i, s in enumerate(sources)}
        for result in self.executor.results(todo, self.folder, skip_done=False):
            entries[position[id(result.origin)]] = _entry(result.to_dict(), result.identity, result.origin)
        return {"results": [entries[i] for i in sorted(entries)], "skipped": skipped,
                "run_key": self.executor.detector.run_key, "names": self.executor.names, "notes": self.executor.notes,
                "pid": os.getpid()}


def _entry(result: dict, identity: dict | None, source: Source) -> dict:
    return {"result": result, "identity": identity, "name": source.name, "uri": source.uri}


def _result_fields(record: dict) -> dict:
    """A stored result JSON -> the `--json` object it was made from (DetectResult.to_dict's keys)."""
    keys = ("source", "width", "height", "detections", "model", "seconds", "outputs")
    return {k: record[k] for k in keys if k in record}
