"""The client side of `fmkit detect --cluster`: the executor a DetectRun plugs in to spread its
sources over a Dask cluster in chunks, streaming each image's result as its chunk finishes.

Arguments and OUT are checked by the DetectRun before this connects; the model loads on the
workers only (this process never imports torch). Memory stays flat however many sources: the
listing is a generator, and at most `2 x (worker threads)` chunks (at least 4) are in flight; a
finished chunk's future is released at once, and a new chunk is submitted in its place.
"""

from __future__ import annotations

import hashlib
import logging
import os
import pickle
import time
import warnings
from dataclasses import replace
from typing import Any, Callable, Iterable, Iterator

from fmkit import catalog, environment, hardware
from fmkit.cluster import Address, parse_address
from fmkit.cluster.worker import ChunkSpec, SourceRef
from fmkit.runs.folder import OutputFolder
from fmkit.detect.results import Detection, DetectResult
from fmkit.errors import BadInput, FmkitError, RuntimeFailure
from fmkit.io.sources import Source
from fmkit.profiles import Settings

CONNECT_TIMEOUT_S = 5  # a scheduler that cannot be reached: one line within ~10 s (Dask retries until then)
RETRIES = 2  # re-runs of a chunk whose task raised (a lost worker is rescheduled by Dask on top)
REFRESH_S = 2.0  # how often the number of worker threads (and so chunks in flight) is re-read



class DaskExecutor:
    """The executor a DetectRun plugs in for `--cluster ADDRESS`: connects (or starts a local
    cluster) when it is made, so an unreachable scheduler fails before anything is printed;
    `results()` streams each image's result as its chunk finishes; `close()` disconnects."""

    def __init__(self, settings: Settings, address: str, run: str, *, classes: str | None = None,
                 output: str | None = None, save_txt: bool = False, force: bool = False,
                 store_options: dict | None = None, notify: Callable[[str], None] = lambda message: None,
                 progress: Callable | None = None):
        self.address: Address = parse_address(address)
        self.settings, self.run, self.notify, self.progress = settings, run, notify, progress
        # The label results carry (the model as the user named it), known without loading it.
        self.label = catalog.resolve(settings.detect.model).label
        self.notes: list[str] = []  # the detector's notes (and class names) come from the workers, which load it
        self.names: dict[int, str] = {}
        self.spec = _spec(settings, self.address, classes=classes, output=output, save_txt=save_txt, force=force,
                          store_options=store_options or {}, offline=environment.offline_requested())
        self.workers = 0
        self._connection: Connection | None = Connection(self.address, self.spec.settings, notify)
        self._client = self._connection.__enter__()

    def attach(self, folder: OutputFolder) -> None:
        """Nothing to keep: OUTDIR's totals (skipped images) come back with each chunk, and
        results() is handed the folder they go into."""

    def close(self) -> None:
        connection, self._connection = self._connection, None
        if connection is not None:
            connection.__exit__(None, None, None)

    def results(self, sources: Iterable[Source], folder: OutputFolder | None,
                committed: Callable[[DetectResult], None] | None = None) -> Iterator[DetectResult]:
        """Each image's result as its chunk finishes (input order within a chunk); workers wrote it."""
        from distributed import as_completed

        from fmkit.cluster.worker import detect_chunk

        pending = as_completed(loop=self._client.loop)
        inflight: dict[str, Any] = {}
        chunks = self._chunks(sources)
        limit, refreshed, exhausted, index = 4, 0.0, False, 0
        noted: set[str] = set()
        progress = self.progress("detect on the cluster", None) if self.progress else _silent_progress()
        try:
            with progress as advance:
                while True:
                    if time.monotonic() - refreshed > REFRESH_S:
                        threads = self._client.nthreads()
                        self.workers, limit = len(threads), max(4, 2 * sum(threads.values()))
                        refreshed = time.monotonic()
                    while not exhausted and len(inflight) < limit:
                        kind, value = next(chunks, ("end", None))
                        if kind == "end":
                            exhausted = True
                        elif kind == "error":
                            advance(1)
                            yield DetectResult(value.label, self.label, error=value.error, uri=value.uri)
                        else:
                            index += 1
                            future = self._client.submit(detect_chunk, self.spec, value, self.run,
                                                         key=f"fmkit-detect-{self.run}-{index}", retries=RETRIES,
                                                         pure=False)
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
                    self.names = payload["names"]
                    if folder is not None:
                        folder.count_skipped(payload["skipped"])
                        folder.run_key = payload["run_key"]
                    advance(payload["skipped"])
                    for entry in payload["results"]:
                        result = _result(entry)
                        advance(1)
                        yield result
                        if committed is not None and result.outputs:
                            committed(result)
        finally:
            for future in inflight.values():
                future.cancel()

    def _chunks(self, sources: Iterable[Source]) -> Iterator[tuple[str, Any]]:
        """('chunk', [SourceRef, ...]) of cluster.chunk_size sources, or ('error', Source) for a
        source that is reported at once (a missing file, an empty pattern), in listing order."""
        size = self.settings.cluster.chunk_size
        chunk: list[SourceRef] = []
        for source in sources:
            if source.error is not None:
                yield "error", source
                continue
            chunk.append(SourceRef.of(source))
            if len(chunk) >= size:
                yield "chunk", chunk
                chunk = []
        if chunk:
            yield "chunk", chunk


# --- helpers -------------------------------------------------------------------------------


def _silent_progress():
    import contextlib

    return contextlib.nullcontext(lambda n=1: None)


def _spec(settings: Settings, address: Address, **fields: Any) -> ChunkSpec:
    """The settings workers run with. A local cluster shares this machine's cores: unless
    runtime.threads says otherwise, torch in each worker gets its share of them."""
    if address.local and not settings.runtime.threads:
        threads = max(1, hardware.usable_cores() // (address.workers * settings.cluster.threads_per_worker))
        settings = replace(settings, runtime=replace(settings.runtime, threads=threads))
    fields["cwd"] = os.getcwd()
    digest = hashlib.sha256(pickle.dumps((settings, sorted(fields.items(), key=lambda kv: kv[0])))).hexdigest()
    return ChunkSpec(key=digest[:24], settings=settings, **fields)


class Connection:
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


WORKER_CREDENTIALS = ("each worker uses its own AWS credential chain (keys never travel from this machine): give "
                      "the workers' machines an IAM instance role, or set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY "
                      "(and AWS_ENDPOINT_URL for an S3-compatible server) where `dask worker` starts")


def _rebuild(fatal: dict) -> FmkitError:
    """A worker's fatal error as the one line this client reports. Credentials are the worker's
    own: the user running the command may well have some, so the line says whose were missing."""
    from fmkit import errors

    cls = getattr(errors, fatal.get("type", ""), None)
    if not (isinstance(cls, type) and issubclass(cls, FmkitError)):
        cls = RuntimeFailure
    if issubclass(cls, (errors.CredentialsError, errors.AccessDenied)):
        host = fatal.get("host") or "?"
        hint = WORKER_CREDENTIALS if issubclass(cls, errors.CredentialsError) else fatal.get("hint")
        return cls(f"on worker {host}: {fatal['message']}", hint)
    return cls(fatal["message"], fatal.get("hint"))


def _result(entry: dict) -> DetectResult:
    """A worker's per-image dict -> the DetectResult the single-process run would have yielded."""
    d = entry["result"]
    detections = [Detection(x["class_id"], x["label"], x["confidence"], x["box"]["x1"], x["box"]["y1"],
                            x["box"]["x2"], x["box"]["y2"]) for x in d.get("detections", [])]
    return DetectResult(d["source"], d.get("model", ""), width=d.get("width"), height=d.get("height"),
                        detections=detections, seconds=d.get("seconds", 0.0), error=d.get("error"),
                        outputs=d.get("outputs") or {}, name=entry.get("name", ""), uri=entry.get("uri", ""),
                        identity=entry.get("identity"))
