"""Refusing a model this machine cannot hold, before anything is downloaded or loaded.

GPT-J 6B is 24 GB of float32 weights: on an 8-16 GB laptop the download alone takes an hour,
and the load then ends in swapping or the kernel's OOM killer. The catalog knows each big
model's parameter count, so the need is known up front: weights x bytes per weight, against
the memory of the device that would hold them (RAM, or the GPU's own memory).
"""

from __future__ import annotations

from typing import Any

from fmkit import hardware
from fmkit.errors import RuntimeFailure
from fmkit.options import setting

SMALLER = "falcon-rw-1b, bloomz-560m or flan-t5-base"


def device_memory_gb(device: str) -> float | None:
    """Memory of the device the weights would live on (GB); None when it cannot be told."""
    if device.startswith("cuda"):
        gpus = hardware.nvidia_gpus()
        index = int(device.partition(":")[2] or 0)
        return gpus[index].memory_mb * 2**20 / 1e9 if index < len(gpus) else None
    return hardware.total_ram_mb() * 2**20 / 1e9


def check_memory(spec: Any, device: str, dtype: Any) -> None:
    """RuntimeFailure when a catalog model's weights in `dtype` (the dtype they are read in) exceed
    the device's memory. Models without a known parameter count (hub ids, folders) pass."""
    millions = getattr(spec, "parameters_m", None)
    if not millions:
        return
    need = millions * 1e6 * dtype.itemsize / 1e9
    have = device_memory_gb(device)
    if have is None or need <= have:
        return
    name, half = str(dtype).removeprefix("torch."), millions * 2e6 / 1e9
    if device.startswith("cuda"):
        raise RuntimeFailure(f"{spec.alias} needs ~{need:.0f} GB of GPU memory in {name} (this GPU: {have:.0f} GB)",
                             f"use a GPU with more memory, or a smaller model: {SMALLER}")
    here = f", or {setting('generate.weights', 'bfloat16')} (~{half:.0f} GB)" if dtype.itemsize > 2 and half <= have else ""
    raise RuntimeFailure(f"{spec.alias} needs ~{need:.0f} GB of memory in {name} (this machine: {have:.0f} GB)",
                         f"use the gpu profile (float16, ~{half:.0f} GB){here}, or a smaller model: {SMALLER}")
