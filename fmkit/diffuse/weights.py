"""Load Stable Diffusion components without ever holding a float32 copy of the weights.

Measured on the SD 1.5-shaped UNet (3.3 GB float32 file): diffusers' from_pretrained memory-maps
the file, and casting to bfloat16 (torch_dtype=, or enable_layerwise_casting afterwards) touches
every mapped page while the mapping is alive, so the process peaks at ~5.7 GB RSS for a 1.7 GB
model. Here each tensor is read with a plain file read (page cache, not process memory), cast
to the storage dtype at once, and the model is built on the meta device and handed the tensors
(`load_state_dict(assign=True)`): the peak is the cast model plus one tensor.
"""

from __future__ import annotations

import json
import logging
import struct
from pathlib import Path

log = logging.getLogger("fmkit.diffuse")

_ST_DTYPES = {"F64": "float64", "F32": "float32", "F16": "float16", "BF16": "bfloat16", "I64": "int64",
              "I32": "int32", "I16": "int16", "I8": "int8", "U8": "uint8", "BOOL": "bool",
              "F8_E4M3": "float8_e4m3fn", "F8_E5M2": "float8_e5m2"}
WEIGHT_NAMES = ("diffusion_pytorch_model", "model")


def weight_files(subdir: Path) -> tuple[list[Path], str | None]:
    """The safetensors files of one component and their variant ('fp16' or None).

    Full-precision files win over the fp16 variant (what `fmkit pull` fetches); a sharded
    checkpoint is listed through its index.json.
    """
    for variant in (None, "fp16"):
        for stem in WEIGHT_NAMES:
            name = f"{stem}.{variant}.safetensors" if variant else f"{stem}.safetensors"
            if (subdir / name).is_file():
                return [subdir / name], variant
            index = subdir / f"{name}.index.json"
            if index.is_file():
                shards = sorted(set(json.loads(index.read_text())["weight_map"].values()))
                return [subdir / s for s in shards], variant
    return [], None


def read_safetensors(path: Path, dtype, dtypes: dict | None = None) -> dict:
    """Every tensor of a .safetensors file, floating ones cast to `dtypes[name]` (else `dtype`),
    read one at a time."""
    import torch

    dtypes = dtypes or {}
    tensors = {}
    with open(path, "rb") as f:
        (header_len,) = struct.unpack("<Q", f.read(8))
        header = json.loads(f.read(header_len))
        base = 8 + header_len
        for name, info in header.items():
            if name == "__metadata__":
                continue
            start, end = info["data_offsets"]
            src = getattr(torch, _ST_DTYPES[info["dtype"]])
            if end == start:
                t = torch.empty(info["shape"], dtype=src)
            else:
                buf = bytearray(end - start)
                f.seek(base + start)
                f.readinto(buf)
                t = torch.frombuffer(buf, dtype=src).reshape(info["shape"])
            want = dtypes.get(name, dtype)
            tensors[name] = t.to(want) if t.is_floating_point() and src != want else t
    return tensors


def load_diffusers_model(cls, folder: Path, subfolder: str, dtype, prepare=None):
    """A diffusers model (UNet2DConditionModel, AutoencoderKL ...) with weights in `dtype`, eval mode.

    `prepare(model)` runs before the weights arrive (on the meta device): when it sets up
    layerwise casting, every tensor is read straight into its final dtype (float8 for cast
    layers, the compute dtype for norms), so not even a bfloat16 copy of the model exists.

    Falls back to `cls.from_pretrained` (higher peak, same result) for checkpoints this loader
    does not map one to one, such as old attention-block names that diffusers converts.
    """
    import torch

    subdir = folder / subfolder
    files, variant = weight_files(subdir)
    if files:
        with torch.device("meta"):
            model = cls.from_config(cls.load_config(subdir))
            model.to(dtype)
            if prepare:
                prepare(model)
        dtypes = {k: v.dtype for k, v in model.state_dict().items()}
        state: dict = {}
        for file in files:
            state.update(read_safetensors(file, dtype, dtypes))
        try:
            model.load_state_dict(state, strict=True, assign=True)
        except RuntimeError as e:
            log.debug("streaming load of %s failed (%s); using from_pretrained", subfolder, str(e)[:200])
        else:
            if not any(t.is_meta for t in [*model.parameters(), *model.buffers()]):
                return model.eval()
        del model, state
    model = cls.from_pretrained(folder, subfolder=subfolder, torch_dtype=dtype, variant=variant).eval()
    if prepare:
        prepare(model)
    return model


def load_text_encoder(folder: Path, dtype, prepare=None):
    """The CLIP text encoder (transformers) in `dtype`, eval mode; `prepare(model)` after loading."""
    from transformers import CLIPTextModel
    from transformers.utils import logging as transformers_logging

    transformers_logging.disable_progress_bar()  # its "Loading weights" bar ignores HF_HUB_DISABLE_PROGRESS_BARS
    _, variant = weight_files(folder / "text_encoder")
    model = CLIPTextModel.from_pretrained(folder, subfolder="text_encoder", dtype=dtype, variant=variant).eval()
    if prepare:
        prepare(model)
    return model


def release_memory() -> None:
    """Collect freed tensors and hand the memory back to the OS. glibc keeps freed blocks in its
    heap (measured: 1.2 GB of a freed UNet still in RSS); malloc_trim returns them."""
    import ctypes
    import gc
    import sys

    gc.collect()
    if sys.platform.startswith("linux"):
        try:
            ctypes.CDLL("libc.so.6").malloc_trim(0)
        except (OSError, AttributeError):
            pass
