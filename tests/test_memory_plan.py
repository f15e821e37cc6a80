"""The memory planner (a pure function, tested on the CPU with SD 1.5's real sizes), the budget
runtime.max_memory gives on this machine, component sizes read from safetensors headers, and
what `fmkit doctor` says about it. The end-to-end choice on the tiny pipeline is in test_diffuse.py."""

from __future__ import annotations

import json

import pytest

from fmkit.diffuse import planner
from fmkit.diffuse.planner import GiB, Components, PlanInputs, Workload
from fmkit.diffuse.sizes import SD15, SD21

SD15_NO_CHECKER = Components(SD15.text_encoder, SD15.unet, SD15.vae)
GUIDED_512 = Workload(512, 512, num_images=1, cfg=True)  # guidance 7.5: the UNet runs at batch 2


def plan_for(budget_gib: float, kind: str = "cuda", dtype: str = "float16", in_use: int = 0,
             components: Components = SD15_NO_CHECKER, workload: Workload = GUIDED_512, **kw) -> planner.Choice:
    inputs = PlanInputs(int(budget_gib * GiB), "set by runtime.max_memory", components, workload, dtype, kind,
                        in_use, **kw)
    return planner.choose(inputs)


# --- calibration: the estimates reproduce the measured peaks the docstring cites -------------------


CPU_IN_USE = 934 * 2**20  # RSS when the plan was made in benchmarks/diffuse.py's fmkit runs


@pytest.mark.parametrize("step, kind, dtype, measured_mib, in_use", [
    ("resident", "cuda", "float16", 2.64 * 1024, 0),  # plain diffusers fp16 on an H200
    ("model-offload", "cuda", "float16", 1.77 * 1024, 0),  # enable_model_cpu_offload, VRAM capped
    ("one-at-a-time-float8", "cuda", "float16", 0.95 * 1024, 0),  # fmkit's laptop plan on the H200
    ("one-at-a-time-float8", "cpu", "bfloat16", 1976, CPU_IN_USE),  # benchmarks/diffuse.py, peak RSS, 2026-12-06
    ("one-at-a-time", "cpu", "bfloat16", 2793, CPU_IN_USE),
    ("resident", "cpu", "bfloat16", 3920, CPU_IN_USE),
    ("vae-tiling", "cpu", "bfloat16", 3604, CPU_IN_USE),
    ("float8", "cpu", "bfloat16", 3132, CPU_IN_USE),
])
def test_estimates_match_the_measured_peaks_within_8_percent(step, kind, dtype, measured_mib, in_use):
    plan = planner.step_plan(step, kind)
    peak = in_use + planner.estimate_peak(plan, SD15_NO_CHECKER, GUIDED_512, dtype, kind)
    assert peak / 2**20 == pytest.approx(measured_mib, rel=0.08)


# --- choosing -----------------------------------------------------------------------------------


def test_gpu_caps_pick_the_fastest_plan_that_fits():
    """benchmarks/gpu.py's caps: 8 and 4 GiB resident; 2 GiB model offload; 1.5 GiB float8; 0.5 sequential."""
    assert [plan_for(cap).strategy for cap in (8, 4, 2, 1.5, 0.5)] == \
        ["resident", "resident", "model-offload", "float8", "sequential-offload"]
    two = plan_for(2)
    assert two.reason == ("model-offload: est. peak 1.8 GiB fits 2.0 GiB set by runtime.max_memory; "
                          "vae-tiling would need 2.2 GiB")
    assert two.plan.describe() == "vae-slicing+vae-tiling-256+model-offload"


def test_without_accelerate_there_is_no_offload_step():
    assert plan_for(2, offload_available=False).strategy == "float8"
    assert plan_for(0.5, offload_available=False).strategy == "one-at-a-time-float8"


def test_a_cpu_with_2_gib_gets_the_laptop_plan_and_with_free_ram_runs_resident():
    imports = CPU_IN_USE
    tight = plan_for(2, "cpu", "bfloat16", in_use=imports)
    assert tight.strategy == "one-at-a-time-float8"
    assert tight.plan.describe() == "one-at-a-time+layerwise-float8_e4m3fn+vae-slicing+vae-tiling-256"
    assert tight.estimated_peak < 2.2 * GiB
    roomy = plan_for(12, "cpu", "bfloat16", in_use=imports, components=SD21)  # a 16 GB laptop, SD-Turbo
    assert roomy.strategy == "resident" and roomy.plan.describe() == "resident"


def test_the_cpu_ladder_has_no_offload_and_float8_comes_late():
    assert planner.ORDER["cpu"] == ("resident", "vae-tiling", "float8", "one-at-a-time", "one-at-a-time-float8")
    assert plan_for(3.1, "cpu", "bfloat16", in_use=CPU_IN_USE).strategy == "one-at-a-time"  # bfloat16 weights
    seen = {plan_for(b, "cpu", "bfloat16", in_use=CPU_IN_USE).strategy for b in (1, 2, 2.5, 3, 4, 8)}
    assert not seen & {"model-offload", "sequential-offload"}


def test_mps_stores_bfloat16_not_float8():
    choice = plan_for(3, "mps", "float32")  # float32 compute (runtime.dtype auto off CUDA)
    assert choice.strategy == "float8" and choice.plan.describe() == "layerwise-bfloat16+vae-slicing+vae-tiling-256"


def test_a_4_gib_gpu_runs_the_laptop_profile_resident():
    """The laptop profile (SD-Turbo, 4 steps, no guidance) on a 4 GiB GPU with ~3.7 GiB free."""
    choice = plan_for(3.7, components=SD21, workload=Workload(512, 512))
    assert choice.strategy == "resident"


def test_nothing_fits_gives_the_lowest_step_and_says_so():
    choice = plan_for(0.05)
    assert choice.strategy == "sequential-offload"
    assert "no strategy is estimated to fit 51 MiB set by runtime.max_memory" in choice.reason
    assert "may run out of memory" in choice.reason


def test_bigger_images_and_batches_need_more():
    small, big = Workload(512, 512, 1, True), Workload(1024, 1024, 4, True)
    plan = planner.step_plan("resident", "cuda")
    assert planner.estimate_peak(plan, SD15, big, "float16", "cuda") > \
        planner.estimate_peak(plan, SD15, small, "float16", "cuda") + 2 * GiB
    assert planner.estimate_peak(plan, SD15, small, "float32", "cuda") > \
        1.9 * planner.estimate_peak(plan, SD15, small, "float16", "cuda")
    # the safety checker is loaded only when it runs
    checked = Workload(512, 512, 1, True, safety_checker=True)
    assert planner.estimate_peak(plan, SD15, checked, "float16", "cuda") - \
        planner.estimate_peak(plan, SD15, small, "float16", "cuda") == SD15.safety_checker * 2


def test_vae_tiling_only_helps_images_bigger_than_a_tile():
    plan = planner.step_plan("vae-tiling", "cuda")
    resident = planner.step_plan("resident", "cuda")
    big = Workload(1024, 1024)
    assert planner.estimate_peak(plan, SD15, big, "float16", "cuda") < \
        planner.estimate_peak(resident, SD15, big, "float16", "cuda") - 2 * GiB
    tiny = Workload(128, 128)
    assert planner.estimate_peak(plan, SD15, tiny, "float16", "cuda") == \
        planner.estimate_peak(resident, SD15, tiny, "float16", "cuda")


def test_a_named_step_is_used_as_given_with_its_estimate():
    inputs = PlanInputs(8 * GiB, "free on cuda", SD15_NO_CHECKER, GUIDED_512, "float16", "cuda")
    choice = planner.choose(inputs, "one-at-a-time-float8", compile=True)
    assert choice.strategy == "one-at-a-time-float8" and choice.plan.one_at_a_time and choice.plan.compile
    assert choice.reason == "one-at-a-time-float8 (diffuse.strategy): est. peak 988 MiB fits 8.0 GiB free on cuda"


def test_out_of_memory_steps_down_to_a_plan_that_is_estimated_smaller():
    choice, seen = plan_for(8), []
    while choice is not None:
        seen.append(choice.strategy)
        choice = planner.lower(choice)
    assert seen == list(planner.ORDER["cuda"])
    assert planner.lower(plan_for(8)).reason.startswith("vae-tiling: out of memory with resident, retried one step")


def test_the_json_object_carries_strategy_reason_budget_and_estimate():
    d = plan_for(2).to_dict()
    assert d == {"strategy": "model-offload", "reason": d["reason"], "budget_mb": 2048.0,
                 "budget_source": "set by runtime.max_memory", "estimated_peak_mb": d["estimated_peak_mb"]}
    assert 1700 < d["estimated_peak_mb"] < 1900


# --- the budget on this machine -------------------------------------------------------------------


def test_sizes_parse_in_binary_and_decimal_units():
    from fmkit.hardware import parse_size

    assert parse_size("4GiB") == 4 * 2**30 and parse_size("1.5GiB") == 3 * 2**29
    assert parse_size("800MiB") == 800 * 2**20 and parse_size("6GB") == 6 * 10**9 and parse_size("2 gib") == 2**31
    with pytest.raises(ValueError):
        parse_size("4 gigs")


def test_the_cpu_budget_is_available_ram_plus_this_process():
    import psutil

    from fmkit.hardware import memory_budget

    auto = memory_budget("auto", "cpu")
    rss = psutil.Process().memory_info().rss
    assert auto.source == "of RAM available" and 0 < auto.in_use <= rss * 1.5
    assert abs(auto.bytes - (psutil.virtual_memory().available + rss)) < 0.5 * GiB
    two = memory_budget("2GiB", "cpu")
    assert (two.bytes, two.source) == (2 * GiB, "set by runtime.max_memory")
    huge = memory_budget("100TiB", "cpu")  # more than the machine has: the machine's figure, said so
    assert huge.bytes == pytest.approx(auto.bytes, rel=0.2)
    assert huge.source == "of RAM available (runtime.max_memory = 100TiB is more)"


def test_the_cuda_budget_reads_free_memory_and_the_per_process_fraction(monkeypatch):
    """torch's CUDA calls stood in for (no GPU here): free + what torch already holds, capped by the
    fraction set_per_process_memory_fraction sets (mem_get_info does not reflect it)."""
    import torch

    from fmkit.hardware import memory_budget

    total = 80 * GiB
    fraction = {"value": 1.0}
    monkeypatch.setattr(torch.cuda, "current_device", lambda: 0)
    monkeypatch.setattr(torch.cuda, "mem_get_info", lambda index: (70 * GiB, total))
    monkeypatch.setattr(torch.cuda, "memory_reserved", lambda index: 3 * GiB)
    monkeypatch.setattr(torch.cuda, "memory_allocated", lambda index: 2 * GiB)
    monkeypatch.setattr(torch.cuda, "get_per_process_memory_fraction", lambda index: fraction["value"])
    free = memory_budget("auto", "cuda")
    assert (free.bytes, free.source, free.in_use) == (73 * GiB, "free on cuda", 2 * GiB)
    fraction["value"] = 4 / 80  # benchmarks/gpu.py's 4 GiB cap
    capped = memory_budget("auto", "cuda")
    assert capped.bytes == 4 * GiB and capped.source == "this process may use on cuda (memory fraction 0.05)"
    assert memory_budget("2GiB", "cuda").bytes == 2 * GiB
    assert memory_budget("8GiB", "cuda").source == \
        "this process may use on cuda (memory fraction 0.05) (runtime.max_memory = 8GiB is more)"


def test_a_bad_max_memory_is_a_one_line_profile_error(fmkit_proc):
    r = fmkit_proc(["diffuse", "x", "--set", "runtime.max_memory=4gigs"])
    assert r.returncode == 2 and len(r.stderr.strip().splitlines()) == 1
    assert "runtime.max_memory = '4gigs'" in r.stderr and "4GiB, 1.5GiB, 800MiB or 6GB" in r.stderr


def test_component_sizes_come_from_the_safetensors_headers(tiny_sd):
    import torch
    from diffusers import AutoencoderKL, UNet2DConditionModel
    from transformers import CLIPTextModel

    from fmkit.diffuse.sizes import read_components

    c = read_components(tiny_sd)
    count = lambda m: sum(p.numel() for p in m.parameters()) + sum(  # noqa: E731
        b.numel() for n, b in m.named_buffers() if n in m.state_dict())
    assert c.unet == count(UNet2DConditionModel.from_pretrained(tiny_sd, subfolder="unet"))
    assert c.vae == count(AutoencoderKL.from_pretrained(tiny_sd, subfolder="vae"))
    assert c.text_encoder == sum(t.numel() for t in CLIPTextModel.from_pretrained(
        tiny_sd, subfolder="text_encoder", dtype=torch.float32).state_dict().values())
    assert (c.unet_channels, c.vae_channels, c.vae_scale_factor, c.safety_checker) == (32, 4, 2, 0)
    assert c.source == f"safetensors headers of {tiny_sd.name}"


def test_doctor_shows_the_budget_and_the_plan_it_would_pick(fmkit_proc):
    r = fmkit_proc(["doctor", "--json", "--offline", "--set", "runtime.max_memory=2GiB"])
    assert r.returncode == 0, r.stderr
    memory = json.loads(r.stdout)["memory"]
    assert memory["budget_mb"] == 2048 and memory["budget_source"] == "set by runtime.max_memory"
    plan = memory["diffuse_plan"]
    assert plan["model"] == "sd-turbo" and plan["size"] == "512x512" and plan["strategy"] == "one-at-a-time-float8"
    assert plan["sizes_from"] == "known SD 2.1 sizes: sd-turbo is not on this machine"
    r = fmkit_proc(["doctor", "--json", "--offline", "--set", "diffuse.vae_tiling=true"])
    assert r.returncode == 0  # the doctor reports the mistake a run would refuse
    memory = json.loads(r.stdout)["memory"]
    assert memory["diffuse_plan"] is None and "add --set diffuse.strategy=custom" in memory["problem"]


def test_offload_keeps_the_safety_checker_on_the_device():
    """diffusers' offload leaves the safety checker resident (_exclude_from_cpu_offload): with one,
    an offload plan's estimate holds all of its weights beside the largest other stage."""
    from dataclasses import replace

    with_checker = replace(GUIDED_512, safety_checker=True)
    checker = SD15.safety_checker * 2  # float16 bytes
    assert checker > 500 * 2**20
    for step in ("model-offload", "sequential-offload"):
        plan = planner.step_plan(step, "cuda")
        without = planner.estimate_peak(plan, SD15, GUIDED_512, "float16", "cuda")
        assert planner.estimate_peak(plan, SD15, with_checker, "float16", "cuda") >= without + checker
