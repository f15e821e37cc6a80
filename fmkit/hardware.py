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
def usable_cores() -> int:
    """CPU cores this process may run on (its affinity on Linux; every core elsewhere)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # macOS, Windows
        return os.cpu_count() or 1


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


# --- the memory budget (runtime.max_memory) ----------------------------------------------------

SIZE_PATTERN = r"auto|[0-9]+(\.[0-9]+)? ?([kmgt]i?b)"  # lower-cased: "4gib", "1.5 gib", "800mib", "6gb"
_UNITS = {"k": 1, "m": 2, "g": 3, "t": 4}


@dataclass(frozen=True)
class Budget:
    """The most memory fmkit may use on one device, in bytes, and where that figure came from.

    Measured the way runs are measured: against torch's allocator peak on CUDA
    (max_memory_allocated), against the process's peak RSS on a CPU (imports included).
    `in_use` is the part already taken when the budget was read (this process's RSS on a CPU,
    torch's allocated memory on CUDA): a plan must fit in bytes - in_use.
    """

    bytes: int
    source: str  # "free on cuda", "of RAM available", "set by runtime.max_memory", ...
    in_use: int = 0


def parse_size(text: str) -> int:
    """'4GiB' -> 4 * 2**30, '6GB' -> 6 * 10**9, '800MiB', '1.5 GiB' (case-insensitive); ValueError otherwise."""
    import re

    match = re.fullmatch(r"([0-9]+(?:\.[0-9]+)?) ?([kmgt])(i?)b", text.strip().lower())
    if not match:
        raise ValueError(f"not a size: {text!r} (use e.g. 4GiB, 1.5GiB, 800MiB or 6GB)")
    number, prefix, binary = match.groups()
    return int(float(number) * (1024 if binary else 1000) ** _UNITS[prefix])


def memory_budget(setting: str, device: str) -> Budget:
    """runtime.max_memory on `device`: 'auto' is what the device has free for this process; a size
    is taken as given, unless the device has less (then the device's figure, saying so).

    CUDA: free memory (torch.cuda.mem_get_info) plus what torch's allocator already holds for this
    process, capped by torch.cuda.set_per_process_memory_fraction (which mem_get_info does not
    reflect). CPU: available RAM (psutil) plus this process's RSS. mps: torch's recommended maximum
    less what the driver has allocated for others.
    """
    device_bytes, source, in_use = _device_memory(device)
    if setting.strip().lower() == "auto":
        return Budget(device_bytes, source, in_use)
    wanted = parse_size(setting)
    if wanted > device_bytes:
        return Budget(device_bytes, f"{source} (runtime.max_memory = {setting.strip()} is more)", in_use)
    return Budget(wanted, "set by runtime.max_memory", in_use)


def _device_memory(device: str) -> tuple[int, str, int]:
    """(bytes this process may use at most, where from, bytes it uses now) on `device`."""
    import psutil

    if device.startswith("cuda"):
        import torch

        index = torch.device(device).index
        index = torch.cuda.current_device() if index is None else index
        free, total = torch.cuda.mem_get_info(index)
        reserved, allocated = torch.cuda.memory_reserved(index), torch.cuda.memory_allocated(index)
        usable, source = free + reserved, f"free on {device}"
        fraction = getattr(torch.cuda, "get_per_process_memory_fraction", lambda _: 1.0)(index)
        if fraction < 1.0 and fraction * total < usable:
            usable, source = int(fraction * total), f"this process may use on {device} (memory fraction {fraction:.3g})"
        return int(usable), source, int(allocated)
    if device == "mps":
        import torch

        try:
            ours = torch.mps.current_allocated_memory()
            usable = torch.mps.recommended_max_memory() - torch.mps.driver_allocated_memory() + ours
            return int(usable), "free on mps", int(ours)
        except (AttributeError, RuntimeError):  # older torch: unified memory, so RAM is the measure
            pass
    rss = psutil.Process().memory_info().rss
    return int(psutil.virtual_memory().available + rss), "of RAM available", int(rss)
