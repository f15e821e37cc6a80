"""Load Stable Diffusion components without ever holding a float32 copy of the weights.

Measured on the SD 1.5-shaped UNet (3.3 GB float32 file): diffusers' from_pretrained memory-maps
the file, and casting to bfloat16 (torch_dtype=, or enable_layerwise_casting afterwards) touches
every mapped page while the mapping is alive, so the process peaks at ~5.7 GB RSS for a 1.7 GB
model. Here each tensor is read with a plain file read (page cache, not process memory), cast
to the storage dtype at once, and the model is built on the meta device and handed the tensors
(`load_state_dict(assign=True)`): the peak is the cast model plus one tensor.
"""

from __future__ import annotations

import logging
from pathlib import Path

from fmkit.errors import ModelUnavailable

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
                from fmkit.model_files import check_weight_index

                return check_weight_index(index), variant
    return [], None


def read_safetensors(path: Path, dtype, dtypes: dict | None = None) -> dict:
    """Every tensor of a .safetensors file, floating ones cast to `dtypes[name]` (else `dtype`),
    read one at a time."""
    import torch

    from fmkit.model_files import check_safetensors

    dtypes = dtypes or {}
    tensors = {}
    header, base = check_safetensors(path)  # every tensor inside the file: a truncated one fails here
    with open(path, "rb") as f:
        for name, info in header.items():
            if name == "__metadata__":
                continue
            start, end = info["data_offsets"]
            if info["dtype"] not in _ST_DTYPES:
                raise ModelUnavailable(f"{path}: tensor '{name}' has dtype {info['dtype']}, which fmkit cannot read")
            src = getattr(torch, _ST_DTYPES[info["dtype"]])
            if end == start:
                t = torch.empty(info["shape"], dtype=src)
            else:
                buf = bytearray(end - start)
                f.seek(base + start)
                if f.readinto(buf) != len(buf):  # the file shrank after the check: never zeros
                    raise ModelUnavailable(f"{path}: truncated while reading tensor '{name}'",
                                           "download or save the model again")
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
        try:
            with torch.device("meta"):
                model = cls.from_config(cls.load_config(subdir))
        except (ValueError, TypeError, KeyError, AttributeError, OSError) as e:
            raise ModelUnavailable(f"{subdir / 'config.json'}: not a {cls.__name__} config: "
                                   f"{str(e).splitlines()[0][:160]}", "download or save the model again") from None
        with torch.device("meta"):
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
    from fmkit.model_files import check_loading_info

    try:
        model, info = cls.from_pretrained(folder, subfolder=subfolder, torch_dtype=dtype, variant=variant,
                                          output_loading_info=True)
    except (OSError, ValueError, KeyError, TypeError) as e:
        raise ModelUnavailable(f"{subdir}: cannot load the {subfolder} from its files: {str(e).splitlines()[0][:160]}",
                               "download or save the model again") from None
    check_loading_info(info, files[0] if len(files) == 1 else subdir)  # never a half-empty model
    model = model.eval()
    if prepare:
        prepare(model)
    return model


def load_text_encoder(folder: Path, dtype, prepare=None):
    """The CLIP text encoder (transformers) in `dtype`, eval mode; `prepare(model)` after loading."""
    from transformers import CLIPTextModel
    from transformers.utils import logging as transformers_logging

    transformers_logging.disable_progress_bar()  # its "Loading weights" bar ignores HF_HUB_DISABLE_PROGRESS_BARS
    from fmkit.model_files import check_loading_info

    files, variant = weight_files(folder / "text_encoder")
    try:
        model, info = CLIPTextModel.from_pretrained(folder, subfolder="text_encoder", dtype=dtype, variant=variant,
                                                    output_loading_info=True)
    except (OSError, ValueError, KeyError, TypeError) as e:
        raise ModelUnavailable(f"{folder / 'text_encoder'}: cannot load the text encoder from its files: "
                               f"{str(e).splitlines()[0][:160]}", "download or save the model again") from None
    check_loading_info(info, files[0] if len(files) == 1 else folder / "text_encoder")
    model = model.eval()
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
