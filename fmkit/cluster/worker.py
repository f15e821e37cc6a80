"""What runs inside a Dask worker process: one chunk of sources through a detector kept for the
worker's lifetime, results written to OUT by the worker itself.

`detect_chunk(spec, items, run)` is the task the client submits. The first chunk of a run
builds a `_Runner` (the loaded Detector and an OutputFolder on OUT) and keeps it in a
module-level cache keyed by the spec, so every later chunk of the run (and of later runs with
the same settings on a long-lived cluster) reuses the loaded model. Only small dicts go back:
per image its `--json` object, identity and name, never pixels.

Per source, in input order within the chunk:
  - a complete result already in OUT made the same way: skipped. If that result's JSON was
    written by this run (its `written_by` is the run's name), a worker that died had finished
    it before this chunk was re-run: its stored result is returned as this run's, so the client
    still prints exactly one line for it;
  - otherwise detected, its annotated image written, then its JSON (the completion marker).
An annotated image without its JSON (a worker died between the two writes) that holds exactly
the bytes this worker would write is the same result: it is overwritten in place rather than
left behind next to a numbered copy, so OUT ends with one result per source and no strays.
"""

from __future__ import annotations

import os
import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import Any

from fmkit import errors, io
from fmkit.detect.outputs import OutputFolder, _identity, _output_name
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


# A source as it travels: (label, uri, name, version, size); the worker rebuilds the Source.
Item = tuple


def detect_chunk(spec: ChunkSpec, items: list[Item], run: str) -> dict[str, Any]:
    """One task: detect `items`, write their results to OUT, return small per-image dicts.

    Returns {"results": [entry, ...] (input order), "skipped": n, "run_key": {...}, "pid": ...}
    where an entry is {"result": to_dict(), "identity": ..., "name": ..., "uri": ...}; an
    FmkitError (a model that cannot load, OUT not writable, unknown --classes) comes back as
    {"fatal": {...}} instead of being raised: it is not transient, so Dask must not retry it."""
    try:
        runner = _runner(spec)
        return runner.run(items, run)
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


def _relative(path: str) -> bool:
    return bool(path) and not io.is_remote(path) and not os.path.isabs(os.path.expanduser(path))


class _Runner:
    """A loaded detector and OUT, for every chunk of one run's settings in this process."""

    def __init__(self, spec: ChunkSpec):
        from fmkit import environment
        from fmkit.detect.detector import Detector

        environment.prepare(offline=spec.offline)
        _heap_for_tensors()
        self.spec = spec
        self._check_paths([spec.output] if spec.output else [])
        self.detector = Detector(spec.settings, spec.classes)
        self.folder: ClusterFolder | None = None
        if spec.output:
            self.folder = ClusterFolder(spec.output, save_txt=spec.save_txt, force=spec.force,
                                        store_options=spec.store_options)
            self.folder.names = self.detector.names
            self.folder.run_key = self.detector.run_key
        d, cfg = self.detector, spec.settings.detect
        self.notes = [note for note, shown in (
            (f"{d.label}: random weights (built from yaml), detections are meaningless", d.random_weights),
            ("--half needs a CUDA GPU; running in float32", cfg.half and not d.half),
            (f"imgsz {cfg.imgsz} rounded up to {d.imgsz} (a multiple of the model stride)", d.imgsz != cfg.imgsz),
        ) if shown]  # DetectRun's notes, said once by the client

    def _check_paths(self, paths: list[str]) -> None:
        """Local paths must mean the same file here as on the client: OUT must already exist (the
        client created it; a worker on another machine without the shared filesystem would
        otherwise write results onto its own disk), and relative paths need the client's folder."""
        for path in paths:
            if _relative(path) and os.getcwd() != self.spec.cwd:
                raise errors.RuntimeFailure(f"worker on {_host()} runs in {os.getcwd()}, not in {self.spec.cwd}: "
                                            f"the relative path {path} means another file there",
                                            "give absolute paths on a filesystem every worker shares, or s3://")
        output = self.spec.output
        if output and not io.is_remote(output) and not os.path.isdir(os.path.expanduser(output)):
            raise errors.RuntimeFailure(f"OUT {output} does not exist on worker {_host()}",
                                        "workers need a filesystem shared with the client, or an s3:// OUT")

    def run(self, items: list[Item], run: str) -> dict[str, Any]:
        from fmkit.detect.stream import detect_stream
        from fmkit.io.sources import Source

        opts = self.spec.store_options
        sources = [Source(label, uri, name, None, version, size, io.store_for(uri, **opts))
                   for label, uri, name, version, size in items]
        self._check_paths([s.uri for s in sources])
        entries: dict[int, dict] = {}
        todo: list[Source] = []
        free: dict[int, str | None] = {}
        skipped = 0
        for i, source in enumerate(sources):
            stored, written, free[id(source)] = self.folder.check(source) if self.folder else (None, 0.0, None)
            if stored is None:
                todo.append(source)
            elif stored.get("written_by") == run:  # finished by this run, by a worker that died before reporting
                entries[i] = {"result": _result_fields(stored), "identity": stored.get("identity"),
                              "name": source.name, "uri": source.uri}
            else:
                skipped += 1
        position = {id(s): i for i, s in enumerate(sources)}
        if self.folder is not None:
            self.folder.tag = {"written_by": run}
        for result in detect_stream(self.detector, todo, keep_images=self.folder is not None):
            if self.folder is not None:
                self.folder.write_files(result, result.origin, free[id(result.origin)])
                result.image = None
                self.folder.commit(result)
            entries[position[id(result.origin)]] = {"result": result.to_dict(), "identity": result.identity,
                                                    "name": result.name, "uri": result.uri}
        return {"results": [entries[i] for i in sorted(entries)], "skipped": skipped,
                "run_key": self.detector.run_key, "notes": self.notes, "pid": os.getpid()}


def _result_fields(record: dict) -> dict:
    """A stored result JSON -> the `--json` object it was made from (DetectResult.to_dict's keys)."""
    keys = ("source", "width", "height", "detections", "model", "seconds", "outputs")
    return {k: record[k] for k in keys if k in record}


class ClusterFolder(OutputFolder):
    """OUT as a worker writes it: OutputFolder's layout and rules, plus what a re-run chunk needs
    (when a complete result was written, and taking back an image whose JSON never came)."""

    def check(self, source) -> tuple[dict | None, float, str | None]:
        """(stored result, when its JSON was written, None) when OUT holds this source's complete
        result made the same way (OutputFolder.done's rule, in fewer requests: a HEAD of the JSON
        gives its time too); else (None, 0, the first candidate name if nothing at all holds it,
        which spares write_files asking again)."""
        rel = PurePosixPath(_output_name(source.name or os.path.basename(source.uri)))
        candidate, n = str(rel), 1
        if self.force:
            return None, 0.0, None
        while True:
            paths = self.paths(candidate)
            entry = self.store.stat(paths["json"])
            if entry is None and not self.store.exists(paths["image"]):
                free = candidate if n == 1 and not self.save_txt else None
                return None, 0.0, free
            found = self.stored(candidate) if entry is not None else None
            if found and found.get("source") == source.label:
                break
            n += 1
            candidate = str(rel.with_name(f"{rel.stem}-{n}{rel.suffix}"))
        if found.get("identity") != _identity(source) or found.get("run") != self.run_key:
            return None, 0.0, None
        return found, entry.mtime, None

    def write_files(self, result, source, free: str | None = None) -> dict[str, str]:
        """As OutputFolder.write_files, with the annotated bytes made before the name is chosen,
        so that an orphan image holding exactly those bytes is reused (see the module docstring).
        `free`: a name `check` just found unused by any file."""
        if not result.ok or result.image is None:
            return {}
        suffix = PurePosixPath(_output_name(source.name or os.path.basename(source.uri))).suffix
        encoded = self._annotated(result, suffix)
        name = free or self._place(source, encoded)
        paths = self.paths(name)
        result.outputs = dict(paths)
        result.identity = _identity(source)
        self.store.write_bytes(paths["image"], encoded, force=True)
        if "txt" in paths:
            from fmkit.detect.outputs import yolo_labels

            self.store.write_bytes(paths["txt"], yolo_labels(result), force=True)
        return result.outputs

    def _place(self, source, encoded: bytes) -> str:
        """Where this result goes: where this source's result already is (redone in place), or an
        image without JSON holding exactly `encoded` (a dead worker's half-written result), else
        the first name no file holds (bus.jpg, bus-2.jpg ...): OutputFolder's rules otherwise."""
        if self.force:
            return self._free_name(source)  # the plain rules: --force takes the first name
        rel = PurePosixPath(_output_name(source.name or os.path.basename(source.uri)))
        candidate, n = str(rel), 1
        orphan = None
        while True:
            paths = self.paths(candidate)
            has_image, has_json = self.store.exists(paths["image"]), self.store.exists(paths["json"])
            if not has_image and not has_json and not ("txt" in paths and self.store.exists(paths["txt"])):
                break
            if has_json:
                found = self.stored(candidate)
                if found and found.get("source") == source.label:
                    return candidate
            elif has_image and orphan is None and _same_bytes(self.store, paths["image"], encoded):
                orphan = candidate
            n += 1
            candidate = str(rel.with_name(f"{rel.stem}-{n}{rel.suffix}"))
        return orphan if orphan is not None else candidate


def _same_bytes(store, uri: str, data: bytes) -> bool:
    try:
        entry = store.stat(uri)
        return entry is not None and entry.size == len(data) and store.read_bytes(uri) == data
    except Exception:  # noqa: BLE001 - unreadable: not ours to take back
        return False


def warm(spec: ChunkSpec) -> int:
    """Build this worker's runner ahead of the first chunk (used by benchmarks); returns the pid."""
    _runner(spec)
    return os.getpid()
