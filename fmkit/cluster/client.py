"""The client side of `fmkit detect --cluster`: list sources lazily, submit them in chunks,
stream each image's result as its chunk finishes.

`ClusterRun` is what `Session.detect(..., cluster=ADDRESS)` returns, and it reads like a
DetectRun: iterate it for DetectResults (in the order chunks finish, input order within a
chunk), then read `.summary`, `.model`, `.folder` (OUT, with `.skipped`). Arguments and OUT
are checked here before any cluster is contacted; the model loads on the workers only (this
process never imports torch).

Memory stays flat however many sources: the listing is a generator, and at most
`2 x (worker threads)` chunks (at least 4) are in flight; a finished chunk's future is
released at once, and a new chunk is submitted in its place.
"""

from __future__ import annotations

import hashlib
import logging
import os
import pickle
import time
import uuid
import warnings
from dataclasses import replace
from typing import Any, Callable, Iterable, Iterator

from fmkit import catalog, io
from fmkit.cluster import Address, parse_address
from fmkit.cluster.worker import ChunkSpec, Item
from fmkit.detect.results import Detection, DetectResult, RunSummary
from fmkit.errors import BadInput, FmkitError, RuntimeFailure
from fmkit.profiles import Settings

CONNECT_TIMEOUT_S = 5  # a scheduler that cannot be reached: one line within ~10 s (Dask retries until then)
RETRIES = 2  # re-runs of a chunk whose task raised (a lost worker is rescheduled by Dask on top)
REFRESH_S = 2.0  # how often the number of worker threads (and so chunks in flight) is re-read



class ClusterRun:
    def __init__(self, settings: Settings, sources: Iterable[str] | None, *, address: str,
                 output: str | None = None, recursive: bool = False, save_txt: bool = False, coco: bool = False,
                 classes: str | list | None = None, force: bool = False, store_options: dict | None = None,
                 notify: Callable[[str], None] = lambda message: None, on_written: Callable | None = None,
                 progress: Callable | None = None, offline: bool = False):
        from fmkit.detect.outputs import OutputFolder
        from fmkit.detect.run import _check_arguments
        from fmkit.io.sources import quick_check

        self.address: Address = parse_address(address)
        sources = [str(s) for s in sources] if sources is not None else []
        output = str(output) if output is not None else None
        _check_arguments(sources, output, None, save_txt, coco, 1.0, recursive)
        if coco:
            raise BadInput("--coco is not available with --cluster (each worker writes its own results)",
                           "run the same command without --cluster afterwards: it skips every done image "
                           "and writes coco.json from the stored results")
        if not self.address.local:
            _check_shared([*sources, *([output] if output else [])], self.address.text)
        self.sources, self.recursive = sources, recursive
        self.settings, self.notify, self.on_written, self.progress = settings, notify, on_written, progress
        self.store_options = store_options or {}
        self.summary = RunSummary()
        self.complete = False
        self.missing = quick_check(sources)  # `detect nope.jpg --cluster ...` fails before any cluster starts
        self.folder = (OutputFolder(output, save_txt=save_txt, force=force, store_options=self.store_options)
                       if output else None)
        # The label results carry (the model as the user named it), known without loading it.
        self.model = catalog.resolve(settings.detect.model).label
        classes = ",".join(map(str, classes)) if isinstance(classes, list) else classes
        self.spec = _spec(settings, self.address, classes=classes, output=output, save_txt=save_txt, force=force,
                          store_options=self.store_options, offline=offline)
        self.workers = 0
        # Connected (or the local cluster started) now, like DetectRun loading its model: an
        # unreachable scheduler fails here, before anything is printed. Iterating closes it.
        self._connection = None
        if not (self.sources and len(self.missing) == len(self.sources)):
            self._connection = _connect(self.address, self.spec.settings, notify)
            self._client = self._connection.__enter__()

    def close(self) -> None:
        """Disconnect (and stop a local cluster); iterating to the end does it too."""
        connection, self._connection = self._connection, None
        if connection is not None:
            connection.__exit__(None, None, None)

    # --- the run ---------------------------------------------------------------------------

    def __iter__(self) -> Iterator[DetectResult]:
        began = time.perf_counter()
        try:
            if self.sources and len(self.missing) == len(self.sources):
                for arg in self.sources:  # nothing to detect: no cluster is started
                    yield self._failed(arg, "no such file or folder", arg)
            else:
                yield from self._stream(self._client)
            self.complete = True
        finally:
            self.close()
            self.summary.seconds = time.perf_counter() - began
            if self.folder is not None and self.folder.skipped:
                self.notify(f"skipped {self.folder.skipped} images whose results are already in "
                            f"{self.folder.folder} (--force redoes them)")

    def _failed(self, label: str, error: str, uri: str = "") -> DetectResult:
        result = DetectResult(label, self.model, error=error, uri=uri)
        self.summary.add(result)
        return result

    def _stream(self, client) -> Iterator[DetectResult]:
        from distributed import as_completed

        # The run's name: workers record it in each result JSON they write, so a chunk re-run after a
        # worker died knows which stored results this very run made (no clocks involved).
        token = uuid.uuid4().hex[:12]
        pending = as_completed(loop=client.loop)
        inflight: dict[str, Any] = {}
        chunks = self._chunks()
        limit, refreshed, exhausted, index = 4, 0.0, False, 0
        noted: set[str] = set()
        progress = self.progress("detect on the cluster", None) if self.progress else _no_progress()
        try:
            with progress as advance:
                while True:
                    if time.monotonic() - refreshed > REFRESH_S:
                        self.workers = len(client.nthreads())
                        limit = max(4, 2 * sum(client.nthreads().values()))
                        refreshed = time.monotonic()
                    while not exhausted and len(inflight) < limit:
                        kind, value = next(chunks, ("end", None))
                        if kind == "end":
                            exhausted = True
                        elif kind == "error":
                            advance(1)
                            yield self._failed(value.label, value.error, value.uri)
                        else:
                            from fmkit.cluster.worker import detect_chunk

                            index += 1
                            future = client.submit(detect_chunk, self.spec, value, token, key=f"fmkit-detect-{token}-{index}",
                                                   retries=RETRIES, pure=False)
                            inflight[future.key] = future
                            pending.add(future)
                    if not inflight:
                        return
                    future = next(pending)
                    del inflight[future.key]
                    payload = _payload(future)
                    future.release()
                    if "fatal" in payload:
                        raise _rebuild(payload["fatal"])
                    for note in payload.get("notes", ()):
                        if note not in noted:
                            noted.add(note)
                            self.notify(note)
                    if self.folder is not None:
                        self.folder.skipped += payload["skipped"]
                        self.folder.run_key = payload["run_key"]
                    advance(payload["skipped"])
                    for entry in payload["results"]:
                        result = _result(entry)
                        self.summary.add(result)
                        advance(1)
                        yield result
                        if self.on_written is not None and result.outputs:
                            self.on_written(result)
        finally:
            for future in inflight.values():
                future.cancel()

    def _chunks(self) -> Iterator[tuple[str, Any]]:
        """('chunk', [item, ...]) of cluster.chunk_size sources, or ('error', Source) for a source
        that is reported at once (a missing file, an empty pattern), in listing order."""
        from fmkit.io.sources import expand

        size = self.settings.cluster.chunk_size
        exclude = self.folder.folder if self.folder else None
        chunk: list[Item] = []
        for source in expand(self.sources, self.recursive, exclude=exclude, **self.store_options):
            if source.error is not None:
                yield "error", source
                continue
            chunk.append((source.label, source.uri, source.name, source.version, source.size))
            if len(chunk) >= size:
                yield "chunk", chunk
                chunk = []
        if chunk:
            yield "chunk", chunk


# --- helpers -------------------------------------------------------------------------------


class _no_progress:
    def __enter__(self):
        return lambda n=1: None

    def __exit__(self, *exc):
        return False


def _check_shared(paths: list[str], address: str) -> None:
    """Workers of a remote scheduler run elsewhere: relative local paths cannot mean the same
    files there. (Absolute ones may, on a shared filesystem; the workers check OUT exists.)"""
    for path in paths:
        if path != "-" and not io.is_remote(path) and not os.path.isabs(os.path.expanduser(path)):
            raise BadInput(f"{path} is a relative path, and the workers of {address} run elsewhere",
                           "give s3:// URIs or absolute paths on a filesystem every worker shares "
                           "(relative paths work with --cluster local:N)")


def _spec(settings: Settings, address: Address, **fields: Any) -> ChunkSpec:
    """The settings workers run with. A local cluster shares this machine's cores: unless
    runtime.threads says otherwise, torch in each worker gets its share of them."""
    if address.local and not settings.runtime.threads:
        threads = max(1, _cores() // (address.workers * settings.cluster.threads_per_worker))
        settings = replace(settings, runtime=replace(settings.runtime, threads=threads))
    fields["cwd"] = os.getcwd()
    digest = hashlib.sha256(pickle.dumps((settings, sorted(fields.items(), key=lambda kv: kv[0])))).hexdigest()
    return ChunkSpec(key=digest[:24], settings=settings, **fields)


def _cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1


class _connect:
    """A Dask client on the scheduler at `address`, or on a LocalCluster started (and stopped) here."""

    def __init__(self, address: Address, settings: Settings, notify: Callable[[str], None]):
        self.address, self.settings, self.notify = address, settings, notify
        self.cluster = self.client = None

    def __enter__(self):
        try:
            from distributed import Client
        except ImportError:
            raise RuntimeFailure("--cluster needs Dask distributed, which is not installed",
                                 "pip install 'dask[distributed]' (on the workers too)") from None
        _quiet_dask()

        if self.address.local:
            from distributed import LocalCluster

            n, threads = self.address.workers, self.settings.cluster.threads_per_worker
            with warnings.catch_warnings():  # "Port 8787 is already in use" (another local cluster): a free one is taken
                warnings.filterwarnings("ignore", message="Port .* is already in use")
                self.cluster = LocalCluster(host="127.0.0.1", n_workers=n, threads_per_worker=threads,
                                            processes=True, dashboard_address=None, silence_logs=logging.ERROR)
            self.client = Client(self.cluster, set_as_default=False)
            self.notify(f"local cluster: {n} worker processes x {threads} thread(s) on 127.0.0.1, "
                        f"torch threads {self.settings.runtime.threads} each")
            return self.client
        _reachable(self.address.text)
        try:
            self.client = Client(self.address.text, timeout=CONNECT_TIMEOUT_S, set_as_default=False)
        except (OSError, TimeoutError):
            raise _unreachable(self.address.text, f"no Dask answer within {CONNECT_TIMEOUT_S} s") from None
        workers = self.client.nthreads()
        if not workers:
            self.notify(f"no workers at {self.address.text} yet: waiting (start them with "
                        f"`dask worker {self.address.text}`)")
        else:
            self.notify(f"cluster {self.address.text}: {len(workers)} workers, {sum(workers.values())} threads")
        return self.client

    def __exit__(self, *exc):
        try:
            if self.client is not None:
                self.client.close()
        finally:
            if self.cluster is not None:
                self.cluster.close()
        return False


def _reachable(address: str) -> None:
    """A plain TCP connect first: nothing listening there is known at once (Dask itself would
    retry until its timeout), a host that drops packets within CONNECT_TIMEOUT_S."""
    import socket
    from urllib.parse import urlsplit

    parts = urlsplit(address)
    try:
        port = parts.port or 8786
    except ValueError:
        raise BadInput(f"--cluster {address}: the port is not a number 1-65535", "for example tcp://HOST:8786") from None
    try:
        socket.create_connection((parts.hostname, port), timeout=CONNECT_TIMEOUT_S).close()
    except socket.gaierror:
        raise _unreachable(address, f"unknown host {parts.hostname}") from None
    except ConnectionRefusedError:
        raise _unreachable(address, "nothing listens there") from None
    except OSError as e:
        raise _unreachable(address, "timed out" if isinstance(e, TimeoutError) else e.strerror or str(e)) from None


def _unreachable(address: str, why: str) -> RuntimeFailure:
    return RuntimeFailure(f"cannot reach the Dask scheduler at {address}: {why}",
                          f"start one with `dask scheduler` and workers with `dask worker {address}`, "
                          "or use --cluster local:N")


def _quiet_dask() -> None:
    """Dask logs lost workers, reconnects and shutdowns as warnings: fmkit reports what matters itself."""
    for name in ("distributed", "distributed.client", "distributed.scheduler", "distributed.nanny",
                 "distributed.worker", "distributed.core", "distributed.comm"):
        logging.getLogger(name).setLevel(logging.ERROR)


def _payload(future) -> dict:
    """A finished chunk's dict; a task that failed for good (its workers kept dying, or it raised
    on every retry) is one RuntimeFailure line."""
    try:
        return future.result()
    except FmkitError:
        raise
    except Exception as e:  # noqa: BLE001 - KilledWorker, CancelledError, an error raised in the task
        name = type(e).__name__
        text = str(e).splitlines()[0][:200] if str(e) else ""
        if name == "KilledWorker":
            raise RuntimeFailure("workers kept dying while detecting one chunk of images (out of memory?)",
                                 "look at the workers' logs; a smaller cluster.chunk_size or detect.batch_size "
                                 "needs less memory") from None
        raise RuntimeFailure(f"a chunk failed on the cluster: {name}: {text}",
                             "the same fmkit version must be installed on every worker") from None


def _rebuild(fatal: dict) -> FmkitError:
    from fmkit import errors

    cls = getattr(errors, fatal.get("type", ""), None)
    if not (isinstance(cls, type) and issubclass(cls, FmkitError)):
        cls = RuntimeFailure
    error = cls(fatal["message"], fatal.get("hint"))
    return error


def _result(entry: dict) -> DetectResult:
    """A worker's per-image dict -> the DetectResult the single-process run would have yielded."""
    d = entry["result"]
    detections = [Detection(x["class_id"], x["label"], x["confidence"], x["box"]["x1"], x["box"]["y1"],
                            x["box"]["x2"], x["box"]["y2"]) for x in d.get("detections", [])]
    return DetectResult(d["source"], d.get("model", ""), width=d.get("width"), height=d.get("height"),
                        detections=detections, seconds=d.get("seconds", 0.0), error=d.get("error"),
                        outputs=d.get("outputs") or {}, name=entry.get("name", ""), uri=entry.get("uri", ""),
                        identity=entry.get("identity"))
