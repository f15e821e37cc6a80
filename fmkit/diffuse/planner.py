"""The memory planner: the fastest strategy whose estimated peak fits the budget. A pure function
of (budget, component sizes, compute dtype, image size and batch, device kind): no torch, no
files, so it is unit-tested on any machine (tests/test_memory_plan.py).

The ladder, fastest first (each step is one MemoryPlan, i.e. a set of diffusers' own calls):

    step                  what runs                                                   devices
    resident              every component on the device in the compute dtype          all
    vae-tiling            + VAE slicing and 256-pixel tiles                           all
    model-offload         + enable_model_cpu_offload (one component on the GPU)        CUDA + accelerate
    float8                + UNet weights stored in float8, upcast per layer            all (bfloat16 on mps)
    one-at-a-time         VAE tiles, only the component in use loaded at all           CPU, mps
    one-at-a-time-float8  one-at-a-time with the float8 UNet (the laptop plan)          all
    sequential-offload    + enable_sequential_cpu_offload (layer by layer)            CUDA + accelerate

Off CUDA there is no offload. On a CPU one component at a time with bfloat16 weights (2.8 GiB
at 512x512) needs less than everything resident with a float8 UNet (3.1 GiB) and computes
faster (no upcasts), but loads the UNet again for each image, so it comes after float8; on CUDA
it needs as much as model offload and is slower, so it is not on that ladder.

Peak estimates (bytes) are calibrated against measured peaks, SD 1.5 shape, 512x512, guidance 7.5:
  - H200, float16, torch's allocator peak: plain resident pipeline 2.64 GiB (weights 1.99 GiB, so
    the VAE decode of one 512x512 image adds ~0.65 GiB: VAE_BYTES_PER_PIXEL); model offload
    1.77 GiB (UNet 1.60 GiB, so its activations at batch 2 add ~0.17 GiB: UNET_BYTES_PER_LATENT);
    one-at-a-time-float8 0.95 GiB (float8 UNet 0.80 GiB + the same activations).
  - 2-core CPU, bfloat16 compute, peak RSS (benchmarks/diffuse.py, 2026-12-06; 934 MiB in use when
    the plan is made): one-at-a-time-float8 1976 MiB (float8 UNet 820 MiB + the activations above:
    the estimate is 7% under, inside HEADROOM), one-at-a-time 2793 MiB (2% under); resident 3920 MiB,
    vae-tiling 3604 MiB, float8 3132 MiB:
    ~0.6 GB more than weights + activations when everything stays resident, freed blocks glibc
    keeps in its heap (CPU_RESIDENT_SLACK, taken as growing with the UNet; one-at-a-time hands
    them back with memory.return_freed_memory_to_os), and ~0.3 GB more again with float8 storage
    (CPU_FLOAT8_SLACK: the per-layer upcasts). These three are estimated 7%, 3% and 1% over.
A plan fits when what is in use plus its estimate with HEADROOM still fits the budget.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from fmkit.diffuse.memory import MemoryPlan

GiB = 2**30
MiB = 2**20
HEADROOM = 1.10  # estimates are within ~10% of the peaks above; allocator fragmentation needs the rest
UNET_BYTES_PER_LATENT = 21 * 1024  # activations per latent pixel per batch item, 2-byte compute, 320 channels
VAE_BYTES_PER_PIXEL = 2662  # decode activations per output pixel, 2-byte compute, 128 channels (0.65 GiB at 512x512)
TEXT_ACTIVATIONS = 64 * MiB  # CLIP text encoder on 77 tokens: small next to the rest
CPU_RESIDENT_SLACK = 0.70  # bytes per UNet parameter (0.6 GB for SD): freed blocks glibc keeps in its heap
CPU_FLOAT8_SLACK = 0.35  # bytes per UNet parameter (0.3 GB for SD) more with float8 storage resident on a CPU
LARGEST_LAYER_SHARE = 0.04  # sequential offload: the biggest leaf module (CLIP's token embedding) of all weights
VAE_TILE = 256  # pixels: the ladder's tile size (a quarter of a 512x512 decode's activations)
DTYPE_BYTES = {"float32": 4, "bfloat16": 2, "float16": 2, "float8_e4m3fn": 1}

ORDER = {"cuda": ("resident", "vae-tiling", "model-offload", "float8", "one-at-a-time-float8", "sequential-offload"),
         "cpu": ("resident", "vae-tiling", "float8", "one-at-a-time", "one-at-a-time-float8"),
         "mps": ("resident", "vae-tiling", "float8", "one-at-a-time", "one-at-a-time-float8")}
OFFLOAD_STEPS = ("model-offload", "sequential-offload")


@dataclass(frozen=True)
class Components:
    """Parameter counts of one pipeline's components, and the widths activations scale with."""

    text_encoder: int
    unet: int
    vae: int
    safety_checker: int = 0
    unet_channels: int = 320  # block_out_channels[0] of the UNet
    vae_channels: int = 128  # block_out_channels[0] of the VAE (its widest, full-resolution stage)
    vae_scale_factor: int = 8  # pixels per latent pixel, each way
    vae_sample_size: int = 512  # the VAE's own tile size when tiling with tile size 0
    source: str = "safetensors headers"  # or e.g. "known SD 1.5 sizes (sd15 is not on this machine)"


@dataclass(frozen=True)
class Workload:
    """What one render asks for: image size, images per prompt, guidance on or off."""

    height: int
    width: int
    num_images: int = 1
    cfg: bool = False  # classifier-free guidance doubles the UNet's batch
    safety_checker: bool = False  # the checker runs (it is loaded too)

    @property
    def unet_batch(self) -> int:
        return self.num_images * (2 if self.cfg else 1)


@dataclass(frozen=True)
class PlanInputs:
    """Everything the planner reads. budget and in_use in bytes; device_kind 'cuda' | 'cpu' | 'mps'."""

    budget: int
    budget_source: str
    components: Components
    workload: Workload
    compute_dtype: str  # float32 | bfloat16 | float16
    device_kind: str
    in_use: int = 0
    offload_available: bool = True  # CUDA offload needs accelerate

    @property
    def ladder(self) -> tuple[str, ...]:
        steps = ORDER.get(self.device_kind, ORDER["cpu"])
        return tuple(s for s in steps if s not in OFFLOAD_STEPS or self.offload_available)


@dataclass(frozen=True)
class Choice:
    """The memory plan a run uses, and why: `strategy` is a ladder step, or 'custom'."""

    strategy: str
    plan: MemoryPlan
    estimated_peak: int  # bytes, what was in use included
    reason: str
    inputs: PlanInputs = field(repr=False)

    def to_dict(self) -> dict[str, Any]:
        """The `memory_plan` object of a result's --json."""
        return {"strategy": self.strategy, "reason": self.reason,
                "budget_mb": round(self.inputs.budget / MiB, 1), "budget_source": self.inputs.budget_source,
                "estimated_peak_mb": round(self.estimated_peak / MiB, 1)}


def step_plan(step: str, device_kind: str, compile: bool = False) -> MemoryPlan:
    """The MemoryPlan of one ladder step (compile rides along: for_device drops it where it cannot run)."""
    tiled = MemoryPlan(vae_slicing=True, vae_tiling=True, vae_tile_size=VAE_TILE, compile=compile)
    storage = "bfloat16" if device_kind == "mps" else "float8_e4m3fn"  # mps has no float8 tensors
    plans = {
        "resident": MemoryPlan(compile=compile),
        "vae-tiling": tiled,
        "model-offload": replace(tiled, offload="model"),
        "float8": replace(tiled, storage_dtype=storage),
        "one-at-a-time": replace(tiled, one_at_a_time=True),
        "one-at-a-time-float8": replace(tiled, storage_dtype=storage, one_at_a_time=True),
        "sequential-offload": replace(tiled, offload="sequential"),
    }
    return plans[step]


def estimate_peak(plan: MemoryPlan, c: Components, w: Workload, compute_dtype: str, device_kind: str) -> int:
    """Bytes one render with `plan` adds at its peak: resident weights plus the largest stage's
    activations (all components resident), or the largest single stage (offload, one at a time)."""
    cb = DTYPE_BYTES[compute_dtype]
    sb = DTYPE_BYTES.get(plan.storage_dtype, cb)
    if device_kind == "mps" and plan.storage_dtype == "float8_e4m3fn":
        sb = DTYPE_BYTES["bfloat16"]  # MemoryPlan.for_device stores bfloat16 there
    weights = {"text": c.text_encoder * cb, "unet": c.unet * min(sb, cb), "vae": c.vae * cb,
               "safety": c.safety_checker * cb if w.safety_checker else 0}
    latent_pixels = (w.height // c.vae_scale_factor) * (w.width // c.vae_scale_factor)
    unet_act = UNET_BYTES_PER_LATENT * cb / 2 * w.unet_batch * latent_pixels * c.unet_channels / 320
    per_pixel = VAE_BYTES_PER_PIXEL * cb / 2 * c.vae_channels / 128
    vae_act = per_pixel * w.height * w.width * (1 if plan.vae_slicing else w.num_images)
    tile = (plan.vae_tile_size or c.vae_sample_size) if plan.vae_tiling else 0
    if tile and max(w.height, w.width) > tile:  # one tile's activations, the decoded tiles, the blended image
        vae_act = per_pixel * tile * tile + 2 * 3 * 4 * w.height * w.width
    activations = {"text": TEXT_ACTIVATIONS, "unet": unet_act, "vae": vae_act,
                   "safety": TEXT_ACTIVATIONS if w.safety_checker else 0}
    if plan.offload in ("model", "sequential"):  # diffusers keeps the safety checker on the device (_exclude_from_cpu_offload)
        kept = weights.pop("safety")
        if plan.offload == "sequential":
            return int(kept + LARGEST_LAYER_SHARE * sum(weights.values()) + max(activations.values()))
        return int(kept + max(weights.get(k, 0) + activations[k] for k in activations))
    if plan.one_at_a_time:
        return int(max(weights[k] + activations[k] for k in weights))
    slack = 0
    if device_kind == "cpu":
        per_parameter = CPU_RESIDENT_SLACK + (CPU_FLOAT8_SLACK if plan.storage_dtype == "float8_e4m3fn" else 0)
        slack = per_parameter * c.unet
    return int(sum(weights.values()) + max(activations.values()) + slack)


def _fits(inputs: PlanInputs, estimate: int) -> bool:
    return inputs.in_use + estimate * HEADROOM <= inputs.budget


def _size(n: float) -> str:
    return f"{n / GiB:.1f} GiB" if n >= GiB else f"{n / MiB:.0f} MiB"


def choose(inputs: PlanInputs, strategy: str = "auto", compile: bool = False) -> Choice:
    """The plan for `strategy`: 'auto' = the first ladder step whose estimate fits the budget
    (the lowest step, said so, when none does); a step name = that step."""
    ladder = inputs.ladder
    budget = f"{_size(inputs.budget)} {inputs.budget_source}"
    if strategy != "auto":
        plan = step_plan(strategy, inputs.device_kind, compile)
        peak = inputs.in_use + estimate_peak(plan, inputs.components, inputs.workload, inputs.compute_dtype,
                                             inputs.device_kind)
        fits = "fits" if _fits(inputs, peak - inputs.in_use) else "is over"
        return Choice(strategy, plan, peak, f"{strategy} (diffuse.strategy): est. peak {_size(peak)} {fits} "
                                            f"{budget}", inputs)
    rejected = None
    for step in ladder:
        plan = step_plan(step, inputs.device_kind, compile)
        estimate = estimate_peak(plan, inputs.components, inputs.workload, inputs.compute_dtype, inputs.device_kind)
        peak = inputs.in_use + estimate
        if _fits(inputs, estimate):
            why = f"{step}: est. peak {_size(peak)} fits {budget}"
            if rejected:
                why += f"; {rejected[0]} would need {_size(rejected[1])}"
            return Choice(step, plan, peak, why, inputs)
        rejected = (step, peak)
    step, peak = rejected
    return Choice(step, step_plan(step, inputs.device_kind, compile), peak,
                  f"{step}: no strategy is estimated to fit {budget}; this one uses the least "
                  f"(est. peak {_size(peak)}) and may run out of memory", inputs)


def custom(inputs: PlanInputs, plan: MemoryPlan) -> Choice:
    """The profile's own saver keys (strategy = custom), estimated like any step."""
    peak = inputs.in_use + estimate_peak(plan, inputs.components, inputs.workload, inputs.compute_dtype,
                                         inputs.device_kind)
    fits = "fits" if _fits(inputs, peak - inputs.in_use) else "is over"
    return Choice("custom", plan, peak, f"custom (the [diffuse] saver keys: {plan.describe()}): est. peak "
                                        f"{_size(peak)} {fits} {_size(inputs.budget)} {inputs.budget_source}", inputs)


def lower(choice: Choice) -> Choice | None:
    """After an out-of-memory: the next ladder step below `choice` whose estimate is lower (None at
    the bottom). A custom plan steps down with MemoryPlan.lower, as it always has."""
    inputs = choice.inputs
    if choice.strategy == "custom":
        plan = choice.plan.lower(inputs.device_kind)
        if plan is None:
            return None
        peak = inputs.in_use + estimate_peak(plan, inputs.components, inputs.workload, inputs.compute_dtype,
                                             inputs.device_kind)
        return Choice("custom", plan, peak, f"custom: out of memory with {choice.plan.describe()}, retried with "
                                            f"the next-lower savers (est. peak {_size(peak)})", inputs)
    ladder = inputs.ladder
    below = ladder[ladder.index(choice.strategy) + 1:] if choice.strategy in ladder else ()
    for step in below:
        plan = step_plan(step, inputs.device_kind, choice.plan.compile)
        peak = inputs.in_use + estimate_peak(plan, inputs.components, inputs.workload, inputs.compute_dtype,
                                             inputs.device_kind)
        if peak < choice.estimated_peak:
            return Choice(step, plan, peak, f"{step}: out of memory with {choice.strategy}, retried one step "
                                            f"down the ladder (est. peak {_size(peak)})", inputs)
    return None
