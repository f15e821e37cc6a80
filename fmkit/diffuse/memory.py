"""The ONE place where a memory plan becomes diffusers' own memory-saver calls.

A plan comes from the planner (planner.py: the fastest ladder step that fits runtime.max_memory)
or, with diffuse.strategy = "custom", from the profile's saver keys as written:

    [diffuse] key          diffusers call (or fmkit step)                      applies on
    storage_dtype          unet.enable_layerwise_casting(storage, compute)     any device
    attention_slicing      pipe.enable_attention_slicing("auto" | "max")       any device
    vae_slicing            pipe.vae.enable_slicing()                           any device
    vae_tiling             pipe.vae.enable_tiling()                            any device
    vae_tile_size          vae.tile_sample_min_size (+ the latent tile size)   with vae_tiling
    offload = model        pipe.enable_model_cpu_offload()                     CUDA + accelerate
    offload = sequential   pipe.enable_sequential_cpu_offload()                CUDA + accelerate
    compile                channels_last, unet.fuse_qkv_projections(),         CUDA, UNet whole in the
                           unet.compile_repeated_blocks() (speed.py)           compute dtype
    one_at_a_time          load text encoder / UNet / VAE only while in use,   any device (fmkit)
                           and glibc mallopt(M_MMAP_THRESHOLD, 128 KiB)        Linux

storage_dtype applies to the UNet only: it holds 860M of SD 1.5's 1.07B parameters, while the
text encoder and VAE, small and sensitive, keep the compute dtype.

A saver that does not apply here is skipped with a debug log line, never an error.
`MemoryPlan.lower()` is the "next-lower memory strategy" used to retry after an out-of-memory.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from typing import Any

log = logging.getLogger("fmkit.diffuse")

MMAP_THRESHOLD = 128 * 1024  # bytes: allocations this big get their own mmap (see return_freed_memory_to_os)
OFFLOAD_ORDER = ("none", "model", "sequential")


@dataclass(frozen=True)
class MemoryPlan:
    """The memory savers for one run: a ladder step (planner.step_plan) or the profile's saver keys."""

    one_at_a_time: bool = False
    storage_dtype: str = "none"
    attention_slicing: str = "off"
    vae_slicing: bool = False
    vae_tiling: bool = False
    vae_tile_size: int = 0
    offload: str = "none"
    compile: bool = False

    @classmethod
    def from_settings(cls, diffuse: Any) -> "MemoryPlan":
        return cls(**{name: getattr(diffuse, name) for name in cls.__dataclass_fields__})

    def describe(self) -> str:
        """A short name for the savers, e.g. 'one-at-a-time+layerwise-bfloat16+vae-tiling'; 'resident' for none."""
        parts = []
        if self.one_at_a_time:
            parts.append("one-at-a-time")
        if self.storage_dtype != "none":
            parts.append(f"layerwise-{self.storage_dtype}")
        if self.attention_slicing != "off":
            parts.append(f"attention-slicing-{self.attention_slicing}")
        if self.vae_slicing:
            parts.append("vae-slicing")
        if self.vae_tiling:
            parts.append("vae-tiling" + (f"-{self.vae_tile_size}" if self.vae_tile_size else ""))
        if self.offload != "none":
            parts.append(f"{self.offload}-offload")
        return "+".join(parts or ["resident"]) + ("+compile" if self.compile else "")

    def for_device(self, device: str) -> "MemoryPlan":
        """The plan as it can run on `device`: savers that do not apply are dropped, with a debug note."""
        plan = self
        if plan.offload != "none" and plan.one_at_a_time:
            log.debug("%s offload skipped: one_at_a_time already keeps a single component loaded", plan.offload)
            plan = replace(plan, offload="none")
        if plan.offload != "none" and (why := _offload_ok(device)):
            log.debug("%s offload skipped: %s", plan.offload, why)
            plan = replace(plan, offload="none")
        if plan.compile and not device.startswith("cuda"):
            log.debug("compile skipped: only worth it on CUDA, this run is on %s", device)
            plan = replace(plan, compile=False)
        if plan.compile and (why := _compile_conflict(plan)):
            log.debug("compile skipped: %s", why)
            plan = replace(plan, compile=False)
        if plan.storage_dtype == "float8_e4m3fn" and device == "mps":
            log.debug("float8 storage skipped: mps has no float8 tensors; using bfloat16")
            plan = replace(plan, storage_dtype="bfloat16")
        return plan

    def lower(self, device: str) -> "MemoryPlan | None":
        """The next strategy down, using less memory (and usually more time); None at the bottom.

        CUDA: turn on slicing and tiling, then model offload, then sequential offload, then the
        smallest attention slices. Elsewhere: slicing and tiling, then one component at a time
        with bfloat16 storage, then the smallest attention slices.
        """
        frugal = replace(self, attention_slicing=self.attention_slicing if self.attention_slicing != "off" else "auto",
                         vae_slicing=True, vae_tiling=True, compile=False)
        if frugal != replace(self, compile=False):
            return frugal
        if device.startswith("cuda") and self.offload != "sequential" and not self.one_at_a_time:
            return replace(frugal, offload=OFFLOAD_ORDER[OFFLOAD_ORDER.index(self.offload) + 1])
        if not device.startswith("cuda") and (not self.one_at_a_time or self.storage_dtype == "none"):
            return replace(frugal, one_at_a_time=True,
                           storage_dtype="bfloat16" if self.storage_dtype == "none" else self.storage_dtype)
        if self.attention_slicing != "max":
            return replace(frugal, attention_slicing="max")
        return None


def compute_dtype(setting: str, runtime_dtype: str, device: str):
    """The dtype the pipeline computes in. 'auto' picks bfloat16 on a CPU that runs it natively
    (AVX-512 BF16 / AMX): measured on the SD 1.5-shaped benchmark, float8-stored UNet weights
    upcast to bfloat16 run at 7.9 s/step against 11.4 s/step upcast to float32, and the peak
    drops from 2.0 to 1.9 GB. Elsewhere (CPUs that emulate bf16, GPUs) it follows runtime.dtype."""
    from fmkit import hardware

    if setting == "auto":
        if device == "cpu" and runtime_dtype == "auto" and hardware.cpu_has_native_bf16():
            return torch_dtype("bfloat16")
        return hardware.resolve_dtype(runtime_dtype, device)
    return torch_dtype(setting)


def torch_dtype(name: str):
    from fmkit import hardware

    return hardware.torch_dtype(name)


def load_dtype(plan: MemoryPlan, compute_dtype):
    """The dtype weights are read in: the storage dtype when it is one torch can load directly,
    so a float32 checkpoint never sits in memory at full size (fp8 is reached via bfloat16)."""
    import torch

    if plan.storage_dtype == "none":
        return compute_dtype
    if plan.storage_dtype == "float8_e4m3fn":
        return torch.bfloat16
    return torch_dtype(plan.storage_dtype)


def _compile_conflict(plan: MemoryPlan) -> str | None:
    """Why compiling the UNet does not go with this plan's savers, or None when it does."""
    if plan.one_at_a_time:
        return "one_at_a_time loads a fresh UNet for every image"
    if plan.storage_dtype != "none":
        return "layerwise casting upcasts each layer in hooks around it"
    if plan.offload == "sequential":
        return "sequential offload moves every layer in hooks around it"
    return None


def _offload_ok(device: str) -> str | None:
    """Why CPU offload cannot run here, or None when it can."""
    if not device.startswith("cuda"):
        return f"offload needs a CUDA device, this run is on {device}"
    import importlib.util

    if importlib.util.find_spec("accelerate") is None:
        return "offload needs the accelerate package"
    return None


def apply_layerwise_casting(model, name: str, plan: MemoryPlan, compute_dtype) -> bool:
    """Store `model`'s weights in plan.storage_dtype, upcast per layer for compute.

    diffusers models: model.enable_layerwise_casting(); transformers models (the CLIP text
    encoder): diffusers.hooks.apply_layerwise_casting with the same default skip patterns.
    Layers the casting skips (norms, embeddings of position) are brought to the compute dtype,
    since the model may have been loaded in the storage dtype.
    """
    if plan.storage_dtype == "none":
        return False

    if any(_has_casting_hook(m) for m in model.modules()):
        return True  # already set up while loading (diffuse_load.load_diffusers_model(prepare=...))
    storage = torch_dtype(plan.storage_dtype)
    if storage == compute_dtype:
        log.debug("layerwise casting skipped for %s: storage and compute dtype are both %s", name, storage)
        return False
    if hasattr(model, "enable_layerwise_casting"):
        model.enable_layerwise_casting(storage_dtype=storage, compute_dtype=compute_dtype)
    else:
        from diffusers.hooks import apply_layerwise_casting as apply

        apply(model, storage_dtype=storage, compute_dtype=compute_dtype, skip_modules_pattern="auto")
    for module in model.modules():
        if not _has_casting_hook(module):
            for p in module.parameters(recurse=False):
                p.data = p.data.to(compute_dtype)
            for b_name, b in module.named_buffers(recurse=False):
                if b.is_floating_point():
                    setattr(module, b_name, b.to(compute_dtype))
    return True


def return_freed_memory_to_os() -> bool:
    """Make glibc serve every allocation of 128 KiB or more with its own mmap, so a freed tensor
    goes back to the OS at once. glibc's default raises that threshold as large blocks are freed
    (up to 32 MiB), after which freed activations and casts stay in the heap: measured on the
    SD 1.5-shaped UNet at 512x512, 540 MB more peak RSS (2.05 GB with 128 KiB, 2.2 GB with 4 MiB,
    2.9 GB with 32 MiB), for ~2 s/step more page faulting. Linux/glibc only; elsewhere a no-op."""
    import ctypes
    import sys

    if not sys.platform.startswith("linux"):
        return False
    try:
        return bool(ctypes.CDLL("libc.so.6").mallopt(-3, MMAP_THRESHOLD))  # M_MMAP_THRESHOLD = -3
    except (OSError, AttributeError):
        log.debug("mallopt not available: freed memory may stay in the heap")
        return False


def _has_casting_hook(module) -> bool:
    registry = getattr(module, "_diffusers_hook", None)
    return registry is not None and registry.get_hook("layerwise_casting") is not None


def apply_to_component(pipe, name: str, plan: MemoryPlan, device: str, compute_dtype,
                       move: bool = True) -> list[str]:
    """Savers for one freshly loaded component (`pipe.<name>`); returns the names of those applied."""
    model = getattr(pipe, name, None)
    if model is None:
        return []
    applied = []
    if name == "unet" and apply_layerwise_casting(model, name, plan, compute_dtype):
        applied.append(f"layerwise-{plan.storage_dtype}")
    if move:
        model.to(device)
    if name == "unet":
        if plan.attention_slicing != "off":
            model.set_attention_slice("auto" if plan.attention_slicing == "auto" else "max")
            applied.append(f"attention-slicing-{plan.attention_slicing}")
        if plan.compile:
            if device.startswith("cuda"):
                from fmkit.diffuse.speed import speed_up_unet

                applied += speed_up_unet(model, fuse_qkv=plan.attention_slicing == "off")
            else:
                log.debug("compile skipped: only worth it on CUDA, this run is on %s", device)
    if name == "vae":
        if plan.compile and device.startswith("cuda"):
            from fmkit.diffuse.speed import channels_last

            channels_last(model)
        if plan.vae_slicing:
            model.enable_slicing()
            applied.append("vae-slicing")
        if plan.vae_tiling:
            model.enable_tiling()
            if plan.vae_tile_size:  # smaller tiles than the VAE's own sample_size: lower peak
                model.tile_sample_min_size = plan.vae_tile_size
                model.tile_latent_min_size = plan.vae_tile_size // 2 ** (len(model.config.block_out_channels) - 1)
            applied.append("vae-tiling" + (f"-{plan.vae_tile_size}" if plan.vae_tile_size else ""))
    return applied


def apply_to_pipeline(pipe, plan: MemoryPlan, device: str, compute_dtype) -> list[str]:
    """Savers for a pipeline with every component loaded (one_at_a_time off)."""
    applied: list[str] = []
    offload = plan.offload
    if offload != "none" and (why := _offload_ok(device)):
        log.debug("%s offload skipped: %s", offload, why)
        offload = "none"
    for name in ("text_encoder", "unet", "vae", "safety_checker"):
        for saver in apply_to_component(pipe, name, plan, device, compute_dtype, move=offload == "none"):
            if saver not in applied:
                applied.append(saver)
    if offload == "model":
        pipe.enable_model_cpu_offload(device=device)
        applied.append("model-offload")
    elif offload == "sequential":
        pipe.enable_sequential_cpu_offload(device=device)
        applied.append("sequential-offload")
    return applied
