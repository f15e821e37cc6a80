"""From a profile to a memory Choice: diffuse.strategy and runtime.max_memory read, the budget
measured on the device, the component sizes read from the model folder, the planner asked.

The saver keys (one_at_a_time, storage_dtype, ...) are the "custom" strategy's: given anywhere
(a profile, FMKIT_DIFFUSE_*, --set, a keyword argument) while the strategy is another, they are
a ProfileError, never silently ignored.
"""

from __future__ import annotations

from typing import Any

from fmkit.diffuse import planner
from fmkit.diffuse.memory import MemoryPlan
from fmkit.errors import ProfileError

SAVER_KEYS = ("one_at_a_time", "storage_dtype", "attention_slicing", "vae_slicing", "vae_tiling", "vae_tile_size",
              "offload")
CPU_IMPORTS_RSS = 860 * 10**6  # torch + diffusers + transformers imported, before any weights (2-core CPU, measured)


def check_saver_keys(settings: Any) -> None:
    """A saver key set anywhere while diffuse.strategy is not 'custom' -> ProfileError (exit 2)."""
    strategy = settings.diffuse.strategy
    if strategy == "custom":
        return
    for name in SAVER_KEYS:
        origin = settings.origins.get(f"diffuse.{name}", "default")
        if origin != "default":
            raise ProfileError(f"diffuse.{name} ({origin}) is a saver of the custom strategy, but diffuse.strategy "
                               f"is {strategy!r}", "add --set diffuse.strategy=custom to choose the savers yourself, "
                               "or drop the key")


def check_strategy_device(strategy: str, kind: str, offload_available: bool) -> None:
    """A ladder step named in the profile that cannot run on this kind of device -> ProfileError."""
    if strategy in planner.OFFLOAD_STEPS and not (kind == "cuda" and offload_available):
        need = "a CUDA device" if kind != "cuda" else "the accelerate package"
        raise ProfileError(f"diffuse.strategy = {strategy!r} needs {need}; this run is on {kind}",
                           "use diffuse.strategy=auto, or one of " + ", ".join(planner.ORDER["cpu"]))


def device_kind(device: str) -> str:
    return "cuda" if device.startswith("cuda") else ("mps" if device == "mps" else "cpu")


def plan_inputs(settings: Any, components: planner.Components, device: str, dtype_name: str,
                safety_checker: bool) -> planner.PlanInputs:
    """The planner's inputs for this profile on `device`; the budget is measured now."""
    from fmkit import hardware

    d, kind = settings.diffuse, device_kind(device)
    budget = hardware.memory_budget(settings.runtime.max_memory, device)
    in_use = max(budget.in_use, CPU_IMPORTS_RSS) if kind == "cpu" else budget.in_use
    workload = planner.Workload(d.height, d.width, d.num_images, d.guidance > 1.0, safety_checker)
    return planner.PlanInputs(budget.bytes, budget.source, components, workload, dtype_name, kind, in_use,
                              offload_available=kind == "cuda" and _has_accelerate())


def choose(settings: Any, inputs: planner.PlanInputs) -> planner.Choice:
    """The Choice for the profile's diffuse.strategy (check_saver_keys first)."""
    d = settings.diffuse
    check_saver_keys(settings)
    if d.strategy == "custom":
        return planner.custom(inputs, MemoryPlan.from_settings(d))
    if d.strategy != "auto":
        check_strategy_device(d.strategy, inputs.device_kind, inputs.offload_available)
    return planner.choose(inputs, d.strategy, compile=d.compile)


def _has_accelerate() -> bool:
    import importlib.util

    return importlib.util.find_spec("accelerate") is not None
