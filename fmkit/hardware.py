"""What machine is this? Cheap probes first (no torch), torch only where a device is needed.

`gpu_summary()` asks nvidia-smi, so auto-picking a profile and `fmkit profiles` stay fast;
`resolve_device()`/`resolve_dtype()` are called by loaders, where torch is imported anyway.
"""

from __future__ import annotations

import os
import platform
import shutil
import subprocess
from dataclasses import dataclass
from functools import lru_cache

GPU_PROFILE_MIN_VRAM_MB = 8 * 1024  # SD 1.5 in fp16 + GPT-2 medium fit comfortably in 8 GiB


@dataclass(frozen=True)
class Gpu:
    name: str
    memory_mb: int


@lru_cache(maxsize=None)
def nvidia_gpus() -> tuple[Gpu, ...]:
    """CUDA GPUs as nvidia-smi sees them (respecting CUDA_VISIBLE_DEVICES=''); () if none."""
    if os.environ.get("CUDA_VISIBLE_DEVICES", None) in ("", "-1"):
        return ()
    smi = shutil.which("nvidia-smi")
    if not smi:
        return ()
    try:
        out = subprocess.run([smi, "--query-gpu=name,memory.total", "--format=csv,noheader,nounits"],
                             capture_output=True, text=True, timeout=5, check=True).stdout
    except (OSError, subprocess.SubprocessError):
        return ()
    gpus = []
    for line in out.strip().splitlines():
        name, _, mem = line.rpartition(",")
        try:
            gpus.append(Gpu(name.strip(), int(float(mem))))
        except ValueError:
            continue
    return tuple(gpus)


def total_ram_mb() -> int:
    try:
        return int(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**20)
    except (ValueError, OSError, AttributeError):
        import psutil
        return int(psutil.virtual_memory().total / 2**20)


def is_apple_silicon() -> bool:
    return platform.system() == "Darwin" and platform.machine() == "arm64"


def auto_profile() -> tuple[str, str]:
    """(profile name, why) from the hardware: CUDA with enough VRAM -> gpu, else laptop."""
    gpus = nvidia_gpus()
    if gpus:
        best = max(gpus, key=lambda g: g.memory_mb)
        if best.memory_mb >= GPU_PROFILE_MIN_VRAM_MB:
            return "gpu", f"auto: CUDA GPU {best.name} with {best.memory_mb / 1024:.0f} GiB"
        return "laptop", (f"auto: CUDA GPU {best.name} has {best.memory_mb / 1024:.1f} GiB, "
                          f"under {GPU_PROFILE_MIN_VRAM_MB // 1024} GiB")
    if is_apple_silicon():
        return "laptop", "auto: Apple silicon (mps)"
    return "laptop", "auto: no CUDA GPU"


@lru_cache(maxsize=None)
def cpu_flags() -> frozenset[str]:
    """The CPU's feature flags from /proc/cpuinfo (Linux); empty elsewhere."""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("flags"):
                    return frozenset(line.split(":", 1)[1].split())
    except OSError:
        pass
    return frozenset()


def cpu_has_native_bf16() -> bool:
    """AVX-512 BF16 or AMX: bfloat16 matmuls and convolutions run in hardware, not emulated."""
    return bool({"avx512_bf16", "amx_bf16"} & cpu_flags())


def resolve_device(setting: str) -> str:
    """'auto' -> cuda, mps or cpu; anything else is checked against what torch can use."""
    import torch

    from fmkit.errors import BadInput

    setting = (setting or "auto").strip().lower()
    if setting == "auto":
        if torch.cuda.is_available():
            return "cuda"
        if getattr(torch.backends, "mps", None) and torch.backends.mps.is_available():
            return "mps"
        return "cpu"
    if setting.startswith("cuda"):
        if not torch.cuda.is_available():
            raise BadInput(f"device '{setting}' asked for, but torch sees no CUDA GPU",
                           "use --device cpu, or --device auto")
        index = setting.partition(":")[2]
        if index and (not index.isdigit() or int(index) >= torch.cuda.device_count()):
            raise BadInput(f"no CUDA device {setting}; this machine has {torch.cuda.device_count()}",
                           "use --device cuda:0")
        return setting
    if setting == "mps":
        if not (getattr(torch.backends, "mps", None) and torch.backends.mps.is_available()):
            raise BadInput("device 'mps' asked for, but it is not available here", "use --device cpu")
        return setting
    if setting == "cpu":
        return setting
    raise BadInput(f"unknown device '{setting}'", "use auto, cpu, cuda, cuda:N or mps")


def resolve_dtype(setting: str, device: str):
    """Profile dtype name -> torch dtype; 'auto' = float16 on CUDA, float32 elsewhere."""
    import torch

    setting = (setting or "auto").lower()
    if setting == "auto":
        return torch.float16 if device.startswith("cuda") else torch.float32
    return torch_dtype(setting)


def torch_dtype(name: str):
    """A dtype name as profiles write it -> the torch dtype (the one map of names to dtypes)."""
    import torch

    return {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16,
            "float8_e4m3fn": torch.float8_e4m3fn}[name]


def apply_threads(threads: int) -> None:
    if threads and threads > 0:
        import torch
        torch.set_num_threads(threads)
