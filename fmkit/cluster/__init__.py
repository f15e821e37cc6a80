"""`fmkit detect --cluster ADDRESS`: the same detect run, spread over a Dask distributed cluster.

    client (this process)                           each worker process
    ---------------------                           -------------------
    expand SOURCES lazily  --chunk of source refs-->  one Detector + OutputFolder, built once
    at most ~2 chunks per worker thread in flight     and kept (worker.py): read each source,
    as_completed: print each image's JSON line  <--   detect, write OUT/<name>, OUT/<name>.json
    progress bar on stderr                           small per-image dicts back

ADDRESS is a running scheduler (`tcp://host:8786`, as `dask scheduler` prints it) or `local:N`
(a LocalCluster of N worker processes on this machine, bound to 127.0.0.1 only). Sources and
OUT must be where every worker can reach them: `s3://` URIs, or absolute paths on a shared
filesystem (relative paths are fine with local:N, whose workers share this directory).

Faults: a chunk whose worker dies is run again elsewhere (Dask reschedules the tasks of lost
workers; `retries=` covers errors raised inside a task). That re-run is safe because OUT's
rules make every image idempotent: a result's JSON is written last and marks it complete, a
source whose complete result is there is skipped, and an annotated image left without its JSON
by a dead worker is taken back (runs/folder.py), so each source ends with exactly one result.
A whole run restarted after a crash skips what is done, as a single-process run does.

Nothing here imports dask at module level: `import fmkit` and `fmkit --help` stay light.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass

from typing import Any, Callable

from fmkit import io
from fmkit.errors import BadInput
from fmkit.options import option, setting

__all__ = ["Address", "cluster_executor", "parse_address"]

_LOCAL = re.compile(r"local(?::(\d+))?")
_REMOTE = re.compile(r"(tcp|tls|ws|wss)://[^\s/:]+(:\d{1,5})?/?")


@dataclass(frozen=True)
class Address:
    """Where the cluster is: `local` (start N workers here) or a scheduler URL."""

    text: str
    workers: int = 0  # local:N -> N; 0 for a remote scheduler

    @property
    def local(self) -> bool:
        return self.workers > 0


def parse_address(text: str) -> Address:
    """'tcp://10.0.0.5:8786' | 'local:2' | 'local' (one worker per core) -> Address; else BadInput (exit 2)."""
    value = (text or "").strip()
    match = _LOCAL.fullmatch(value.lower())
    if match:
        n = int(match.group(1)) if match.group(1) else (len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity")
                                                         else os.cpu_count() or 1)
        if not 1 <= n <= 256:
            raise BadInput(f"--cluster {value}: N must be 1-256 worker processes", "for example --cluster local:2")
        return Address(f"local:{n}", n)
    if _REMOTE.fullmatch(value):
        return Address(value.rstrip("/"))
    raise BadInput(f"--cluster {value!r} is not a Dask scheduler address",
                   "give tcp://HOST:8786 (what `dask scheduler` prints) or local:N for N worker processes here")


def cluster_executor(settings, address: str, explicit: bool, *, sources: list[str], output: str | None,
                     watch: str | None, coco: bool) -> Callable[[Any], Any]:
    """What a cluster cannot do refused now, before anything is created or contacted; then the
    factory DetectRun calls for its executor (fmkit/detect/run.py: executor=)."""
    parsed = parse_address(address)
    if watch is not None:
        where = option("cluster") if explicit else settings.origins.get("cluster.address", "profile")
        raise BadInput(f"{option('watch')} runs in one process; a cluster address is set ({where})",
                       f"leave {option('cluster')} out (or {setting('cluster.address', '')}), or run detect "
                       "over the prefix on the cluster from a scheduled job")
    if coco:
        raise BadInput(f"{option('coco')} is not available with {option('cluster')} (each worker writes its "
                       "own results)", f"run the same again without {option('cluster')} afterwards: it skips "
                       "every done image and writes coco.json from the stored results")
    if not parsed.local:
        for path in [*sources, *([output] if output else [])]:
            if path != "-" and io.store_for(path).is_relative(path):
                raise BadInput(f"{path} is a relative path, and the workers of {parsed.text} run elsewhere",
                               "give s3:// URIs or absolute paths on a filesystem every worker shares "
                               f"(relative paths work with {option('cluster', 'local:N')})")

    def make(run) -> Any:
        from fmkit.cluster.client import DaskExecutor

        return DaskExecutor(run.settings, address, run.run, classes=run.classes, output=run.output,
                            save_txt=run.save_txt, force=run.force, store_options=run.store_options,
                            notify=run.notify, progress=run.progress)

    return make
