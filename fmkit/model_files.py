"""One check for model files before any library reads them: never a traceback, never silent zeros.

Every loader (BERT, GPT-2, Stable Diffusion, YOLO) calls these before handing a folder or file
to transformers, diffusers or torch. A problem becomes one `ModelUnavailable` line (exit 1) that
names the file and says what is wrong with it:

- `require(path, what)` / `require_dir(path, what)`: the file or folder is there;
- `read_json(path, what)`: a JSON object, or "PATH: WHAT is not valid JSON (line 3: ...)";
- `check_safetensors(path)`: the header is sane and every tensor's bytes lie inside the file,
  which is exactly as long as the header says. A file cut short is found from its size alone,
  without reading the data (a 3.3 GB UNet costs one 100 kB read);
- `check_model_folder(folder, what)`: every JSON file and every safetensors file in it;
- `check_loading_info(info, where)`: what transformers/diffusers report after loading: a tensor
  the files lack is a damaged model, not a warning.

Ultralytics checkpoints (pickles) have their own module: fmkit/yolo_checkpoints.py.

Heavy imports (torch, ultralytics) happen only inside the functions that need them.
"""

from __future__ import annotations

import json
import os
import struct
from pathlib import Path
from typing import Any

from fmkit.errors import ModelUnavailable

# bytes per element of each safetensors dtype (F4 and other sub-byte types: size not checked)
_DTYPE_BYTES = {"F64": 8, "F32": 4, "F16": 2, "BF16": 2, "I64": 8, "I32": 4, "I16": 2, "I8": 1, "U64": 8,
                "U32": 4, "U16": 2, "U8": 1, "BOOL": 1, "F8_E4M3": 1, "F8_E5M2": 1, "F8_E8M0": 1, "C64": 8}
_MAX_HEADER = 100 * 2**20  # the safetensors format's own limit on the JSON header
_REDOWNLOAD = "download or save the model again"


def _fail(path: Path | str, problem: str, hint: str | None = _REDOWNLOAD) -> ModelUnavailable:
    return ModelUnavailable(f"{path}: {problem}", hint)


# --- files, folders, JSON -------------------------------------------------------------------


def require(path: Path | str, what: str) -> Path:
    """`path` is a regular file (symlinks followed), else one line naming it."""
    path = Path(path)
    if not path.exists():
        raise _fail(path, f"{what} is missing", "the model folder is incomplete: download or save it again")
    if not path.is_file():
        raise _fail(path, f"{what} is not a regular file", "the model folder is damaged: download or save it again")
    return path


def require_dir(path: Path | str, what: str) -> Path:
    path = Path(path)
    if not path.is_dir():
        problem = "is not a folder" if path.exists() else "is missing"
        raise _fail(path, f"{what} {problem}", "the model folder is incomplete: download or save it again")
    return path


def read_json(path: Path | str, what: str) -> dict:
    """A model's JSON file as a dict; a missing, unreadable or broken file is one line naming it."""
    path = require(path, what)
    try:
        data = json.loads(path.read_bytes().decode("utf-8"))
    except OSError as e:
        raise _fail(path, f"cannot read {what}: {e.strerror or e}", None) from None
    except UnicodeDecodeError:
        raise _fail(path, f"{what} is not UTF-8 text") from None
    except json.JSONDecodeError as e:
        raise _fail(path, f"{what} is not valid JSON (line {e.lineno}: {e.msg})") from None
    except RecursionError:
        raise _fail(path, f"{what} is nested too deeply to be a model file") from None
    if not isinstance(data, dict):
        raise _fail(path, f"{what} is not a JSON object")
    return data


# --- safetensors ----------------------------------------------------------------------------


def check_safetensors(path: Path | str) -> tuple[dict, int]:
    """(header, data start) of a .safetensors file whose every tensor lies inside it.

    Checked without reading tensor data: the 8-byte header length is sane, the header is a JSON
    object, each entry has a dtype, a shape and data_offsets that match each other, and the last
    tensor ends exactly where the file ends (shorter: truncated; longer: not what was written).
    """
    path = require(path, "weights file")
    try:
        size = path.stat().st_size
        with open(path, "rb") as f:
            head = f.read(8)
            if len(head) < 8:
                raise _fail(path, f"is {size} bytes, too short to be a safetensors file (truncated?)")
            (header_len,) = struct.unpack("<Q", head)
            if header_len < 2 or header_len > _MAX_HEADER or 8 + header_len > size:
                raise _fail(path, f"safetensors header claims {header_len} bytes but the file has {size} "
                                  "(truncated, or not a safetensors file)")
            raw = f.read(header_len)
    except OSError as e:
        raise _fail(path, f"cannot read weights: {e.strerror or e}", None) from None
    try:
        header = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError):
        raise _fail(path, "safetensors header is not valid JSON (damaged, or not a safetensors file)") from None
    if not isinstance(header, dict):
        raise _fail(path, "safetensors header is not a JSON object (damaged)")
    base = 8 + header_len
    end_of_data = 0
    for name, info in header.items():
        if name == "__metadata__":
            continue
        problem = _tensor_problem(info)
        if problem:
            raise _fail(path, f"tensor '{name[:80]}' {problem} (damaged)")
        end_of_data = max(end_of_data, info["data_offsets"][1])
    if base + end_of_data > size:
        missing = base + end_of_data - size
        raise _fail(path, f"truncated: its tensors need {base + end_of_data} bytes, the file has {size} "
                          f"({missing} missing)")
    if base + end_of_data < size:
        raise _fail(path, f"has {size - base - end_of_data} bytes after its last tensor (damaged, or not what "
                          "was saved)")
    return header, base


def _tensor_problem(info: Any) -> str | None:
    """What is wrong with one header entry, or None."""
    if not isinstance(info, dict):
        return "has no description"
    dtype, shape, offsets = info.get("dtype"), info.get("shape"), info.get("data_offsets")
    if not isinstance(dtype, str):
        return "has no dtype"
    if not (isinstance(shape, list) and all(type(d) is int and d >= 0 for d in shape)):
        return f"has a bad shape {str(shape)[:40]}"
    if not (isinstance(offsets, list) and len(offsets) == 2 and all(type(o) is int for o in offsets)
            and 0 <= offsets[0] <= offsets[1]):
        return f"has bad data offsets {str(offsets)[:40]}"
    width = _DTYPE_BYTES.get(dtype)
    if width is not None:
        count = 1
        for d in shape:
            count *= d
        if count * width != offsets[1] - offsets[0]:
            return f"is {dtype}{shape} = {count * width} bytes but its data offsets span {offsets[1] - offsets[0]}"
    return None


def check_weight_index(path: Path | str) -> list[Path]:
    """The shard files a `*.safetensors.index.json` names, each present and checked."""
    path = Path(path)
    index = read_json(path, "weights index")
    weight_map = index.get("weight_map")
    if not isinstance(weight_map, dict) or not all(isinstance(v, str) for v in weight_map.values()):
        raise _fail(path, "weights index has no weight_map of file names")
    shards = []
    for name in sorted(set(weight_map.values())):
        shard = path.parent / name
        if Path(name).is_absolute() or ".." in Path(name).parts:
            raise _fail(path, f"weights index names a file outside its folder ({name[:80]})")
        require(shard, "weights shard (named in " + path.name + ")")
        check_safetensors(shard)
        shards.append(shard)
    return shards


def check_model_folder(folder: Path | str, what: str = "model folder", *, weights: bool = False,
                       json_only: bool = False) -> Path:
    """Every JSON file and every safetensors file directly in `folder` parses and is whole; with
    `weights`, the folder also has a config.json and a weights file; with `json_only` (a reader
    of the tokenizer alone), weights files are not looked at.

    Cheap: JSON files of a model are small, and safetensors files are checked from their header.
    """
    folder = require_dir(folder, what)
    if weights:
        require(folder / "config.json", f"config of the {what}")
        if not any(p.name.endswith((".safetensors", ".safetensors.index.json", ".bin", ".bin.index.json"))
                   for p in folder.iterdir()):
            raise _fail(folder, f"{what} has no weights (*.safetensors)",
                        "the model folder is incomplete: download or save it again")
    try:
        entries = sorted(os.scandir(folder), key=lambda e: e.name)
    except OSError as e:
        raise _fail(folder, f"cannot list {what}: {e.strerror or e}", None) from None
    for entry in entries:
        name = entry.name
        if name.startswith("."):
            continue
        if json_only and ".safetensors" in name:
            continue
        if name.endswith(".safetensors"):
            check_safetensors(entry.path)
        elif name.endswith(".safetensors.index.json"):
            check_weight_index(entry.path)
        elif name in _MODEL_JSON:
            read_json(entry.path, _MODEL_JSON[name])
    return folder


# the JSON files transformers and diffusers read from a model folder (others, such as a
# sentence-transformers data_config.json, are not read and not checked)
_MODEL_JSON = {"config.json": "model config", "generation_config.json": "generation config",
               "tokenizer.json": "tokenizer", "tokenizer_config.json": "tokenizer config",
               "special_tokens_map.json": "tokenizer file", "added_tokens.json": "tokenizer file",
               "vocab.json": "tokenizer vocabulary", "model_index.json": "pipeline index",
               "scheduler_config.json": "scheduler config", "preprocessor_config.json": "preprocessor config"}


# --- after loading ----------------------------------------------------------------------------


def check_loading_info(info: dict | None, where: Path | str) -> None:
    """transformers/diffusers `output_loading_info`: tensors the model needs but the files lack (or
    hold in another shape) would be left random or empty. That is a damaged model, not a warning."""
    if not info:
        return
    where = Path(where)
    if where.is_dir():  # name the weights file itself when there is one
        files = sorted(where.glob("*.safetensors"))
        where = files[0] if len(files) == 1 else where
    missing = sorted(info.get("missing_keys") or ())
    mismatched = [str(m[0]) if isinstance(m, (tuple, list)) else str(m) for m in info.get("mismatched_keys") or ()]
    if missing:
        raise _fail(where, f"the weights lack {len(missing)} tensor(s) the model needs ({_names(missing)}): "
                           "damaged, or saved from another architecture")
    if mismatched:
        raise _fail(where, f"{len(mismatched)} tensor(s) have the wrong shape for the model's config "
                           f"({_names(mismatched)}): damaged, or saved from another architecture")


def _names(keys: list[str], shown: int = 3) -> str:
    text = ", ".join(keys[:shown])
    return text + (f", ... {len(keys) - shown} more" if len(keys) > shown else "")
