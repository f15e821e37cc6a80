"""fmkit diffuse on the tiny Stable Diffusion pipeline: PNG + metadata, seeds, every memory saver
on CPU, the budget -> strategy choice end to end, OOM retry, the safety checker, and every bad input.
The planner itself is tested in test_memory_plan.py, compiling in test_diffuse_compile.py."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

SMALL = ["--height", "32", "--width", "32", "--steps", "2"]
# The laptop profile (auto here) with every component kept loaded: the pipeline loads once per
# test session. one_at_a_time itself is tested in test_each_memory_saver_runs_on_cpu.
RESIDENT = ["--set", "diffuse.strategy=resident"]


@pytest.fixture
def draw(cli, tiny_sd, tmp_path, monkeypatch):
    """Run `fmkit diffuse` on the tiny pipeline in an empty working directory."""
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)

    def run(*args, input=None):
        extra = [] if "--profile" in args else RESIDENT
        return cli(["diffuse", *args, "--model", tiny_sd, *SMALL, *extra], input=input)

    return run


@pytest.fixture(scope="module")
def tiny_sd_checker(models_dir) -> Path:
    from tiny_sd import build_sd

    return build_sd(models_dir / "tiny-sd-checker", safety_checker=True)


def pixels(path) -> bytes:
    from PIL import Image

    with Image.open(path) as im:
        return im.convert("RGB").tobytes()


def max_diff(a: Path, b: Path) -> int:
    return max(abs(x - y) for x, y in zip(pixels(a), pixels(b)))


def pngs(folder: Path) -> list[str]:
    return sorted(p.name for p in Path(folder).iterdir())


# --- output -----------------------------------------------------------------------------------


def test_png_carries_its_parameters_and_json_has_the_contract_keys(draw):
    r = draw("a red cat", "--seed", "5", "--negative-prompt", "blurry", "-g", "7.5", "-o", "cat.png", "--json")
    assert r.exit_code == 0, r.stderr
    lines = r.stdout.strip().splitlines()
    assert len(lines) == 1
    row = json.loads(lines[0])
    assert {"prompt", "path", "seed", "model", "params", "seconds", "peak_memory_mb", "strategy",
            "memory_plan"} <= set(row)
    assert row["path"] == "cat.png" and row["seed"] == 5 and row["peak_memory_mb"] > 0
    plan = row["memory_plan"]
    assert plan["strategy"] == "resident" and plan["reason"].startswith("resident (diffuse.strategy): est. peak")
    assert plan["budget_source"] == "of RAM available" and plan["budget_mb"] > plan["estimated_peak_mb"] > 0
    assert row["params"]["steps"] == 2 and row["params"]["guidance"] == 7.5
    from PIL import Image

    from fmkit import __version__

    with Image.open("cat.png") as im:
        assert im.size == (32, 32)
        text = im.text
    assert text["prompt"] == "a red cat" and text["negative_prompt"] == "blurry"
    assert text["seed"] == "5" and text["steps"] == "2" and text["guidance"] == "7.5"
    assert text["scheduler"] == "DDIMScheduler" and text["fmkit_version"] == __version__
    assert text["model"] == row["model"]
    assert json.loads(text["fmkit"])["height"] == 32


def test_default_names_come_from_prompt_and_seed_and_never_clobber(draw):
    assert draw("A red cat!", "--seed", "7").exit_code == 0
    r = draw("A red cat!", "--seed", "7")
    assert r.exit_code == 0
    assert pngs(".") == ["a-red-cat-7-2.png", "a-red-cat-7.png"]
    assert "a-red-cat-7-2.png" in r.stdout


def test_same_seed_same_image_other_seed_other_image(draw):
    for name, seed in (("a.png", "11"), ("b.png", "11"), ("c.png", "12")):
        assert draw("a dog on the mat", "--seed", seed, "-o", name).exit_code == 0
    assert pixels("a.png") == pixels("b.png")
    assert pixels("a.png") != pixels("c.png")


def test_num_images_get_consecutive_seeds_and_numbered_names(draw):
    r = draw("a cat", "--seed", "3", "--num-images", "2", "-o", "cat.png", "--json")
    assert r.exit_code == 0, r.stderr
    rows = [json.loads(line) for line in r.stdout.splitlines()]
    assert [(x["path"], x["seed"]) for x in rows] == [("cat.png", 3), ("cat-2.png", 4)]
    assert draw("a cat", "--seed", "4", "-o", "single.png").exit_code == 0
    assert max_diff("cat-2.png", "single.png") <= 2  # image 2 is reproducible from its own seed


def test_prompts_from_stdin(draw):
    r = draw("-", "--seed", "1", "--json", input="a cat\n\na dog\n")
    assert r.exit_code == 0, r.stderr
    assert [json.loads(line)["path"] for line in r.stdout.splitlines()] == ["a-cat-1.png", "a-dog-1.png"]


def test_scheduler_option_is_used_and_recorded(draw):
    r = draw("a cat", "--seed", "1", "--scheduler", "euler", "-o", "e.png", "--json")
    assert r.exit_code == 0, r.stderr
    assert json.loads(r.stdout)["params"]["scheduler"] == "EulerDiscreteScheduler"
    from PIL import Image

    with Image.open("e.png") as im:
        assert im.text["scheduler"] == "EulerDiscreteScheduler"


def test_real_subprocess_keeps_stdout_pure_json_and_stderr_quiet(fmkit_proc, tiny_sd, tmp_path):
    r = fmkit_proc(["diffuse", "a cat", "--model", tiny_sd, *SMALL, "--seed", "2", "--json", "--quiet"])
    assert r.returncode == 0, r.stderr
    row = json.loads(r.stdout)
    assert (tmp_path / "cwd" / row["path"]).is_file()
    assert r.stderr.strip() == ""  # no "Loading pipeline components", no warnings


# --- memory savers ------------------------------------------------------------------------------

SAVERS = {
    "one_at_a_time": (["diffuse.one_at_a_time=true"], "one-at-a-time", 2),
    "attention_slicing_auto": (['diffuse.attention_slicing="auto"'], "attention-slicing-auto", 2),
    "attention_slicing_max": (['diffuse.attention_slicing="max"'], "attention-slicing-max", 2),
    "vae_slicing": (["diffuse.vae_slicing=true"], "vae-slicing", 0),
    "vae_tiling_16": (["diffuse.vae_tiling=true", "diffuse.vae_tile_size=16"], "vae-tiling-16", 255),
    "bfloat16": (['diffuse.storage_dtype="bfloat16"'], "layerwise-bfloat16", 255),
    "float8": (['diffuse.storage_dtype="float8_e4m3fn"', "diffuse.one_at_a_time=true"],
               "one-at-a-time+layerwise-float8_e4m3fn", 255),
}


CUSTOM = ["--profile", "gpu", "--set", 'runtime.dtype="float32"', "--set", "diffuse.strategy=custom"]


@pytest.mark.parametrize("name", list(SAVERS))
def test_each_memory_saver_runs_on_cpu(draw, name):
    """Each saver (strategy = custom) renders, shows up in the strategy, and (where exact) leaves the image alone."""
    sets, strategy, tolerance = SAVERS[name]
    assert draw("a cat", "--seed", "9", "-o", "plain.png", *CUSTOM).exit_code == 0
    args = ["a cat", "--seed", "9", "-o", "saver.png", "--json", *CUSTOM]
    for s in sets:
        args += ["--set", s]
    r = draw(*args)
    assert r.exit_code == 0, r.stderr
    row = json.loads(r.stdout)
    assert strategy in row["strategy"] and row["memory_plan"]["strategy"] == "custom"
    assert max_diff("plain.png", "saver.png") <= tolerance


def test_savers_that_need_cuda_are_skipped_with_a_debug_note(draw, caplog):
    import logging

    caplog.set_level(logging.DEBUG, logger="fmkit.diffuse")
    r = draw("a cat", "--seed", "1", "--json", *CUSTOM, "--set", 'diffuse.offload="sequential"',
             "--set", "diffuse.compile=true")
    assert r.exit_code == 0, r.stderr
    assert "offload" not in json.loads(r.stdout)["strategy"] and "compile" not in json.loads(r.stdout)["strategy"]
    notes = " ".join(rec.getMessage() for rec in caplog.records)
    assert "sequential offload skipped: offload needs a CUDA device" in notes and "compile skipped" in notes


# --- the memory budget picks the strategy -----------------------------------------------------


def test_budget_picks_the_strategy_and_says_why(draw):
    """auto on this machine's free RAM: resident; a budget below what the process already uses: the
    lowest step, said so in the summary line and in --json (the tiny model shows the choice, not the sizes)."""
    r = draw("a cat", "--seed", "1", "--json", "--profile", "laptop")
    assert r.exit_code == 0, r.stderr
    row = json.loads(r.stdout)
    assert row["memory_plan"]["strategy"] == "resident" and row["strategy"] == "resident"
    assert row["memory_plan"]["reason"].startswith("resident: est. peak") and "fits" in row["memory_plan"]["reason"]
    r = draw("a cat", "--seed", "1", "--json", "--profile", "laptop", "--set", "runtime.max_memory=64MiB")
    assert r.exit_code == 0, r.stderr
    row = json.loads(r.stdout)
    assert row["memory_plan"]["strategy"] == "one-at-a-time-float8" and row["memory_plan"]["budget_mb"] == 64
    assert row["strategy"] == "one-at-a-time+layerwise-float8_e4m3fn+vae-slicing+vae-tiling-256"
    assert "no strategy is estimated to fit 64 MiB set by runtime.max_memory" in row["memory_plan"]["reason"]
    assert "memory plan one-at-a-time-float8: no strategy is estimated to fit" in r.stderr  # the summary notice


def test_a_pipeline_still_loaded_keeps_its_plan(tiny_sd, monkeypatch):
    """A second call with the same settings reuses the plan whose pipeline the first left loaded,
    though the budget, measured again, now counts that pipeline as used (an 8 GB laptop's second
    `imagine --verify` attempt would otherwise load a smaller copy beside it); once the pipeline
    is gone, the budget decides again."""
    import fmkit
    from fmkit import catalog, hardware

    fk = fmkit.Session(profile="laptop", offline=True)
    small = {"model": str(tiny_sd), "height": 32, "width": 32, "steps": 1, "seed": 1}
    [first] = fk.diffuse("a cat", **small)
    assert first.to_dict()["memory_plan"]["strategy"] == "resident"
    monkeypatch.setattr(hardware, "memory_budget", lambda setting, device: hardware.Budget(64 * 2**20, "almost none"))
    [again] = fk.diffuse("a cat", **small)
    assert again.to_dict()["memory_plan"]["strategy"] == "resident"
    catalog.clear_loaded()
    [after] = fk.diffuse("a cat", **small)
    assert after.to_dict()["memory_plan"]["strategy"] == "one-at-a-time-float8"


def test_the_summary_line_names_plan_and_reason(draw):
    r = draw("a cat", "--seed", "1", "--profile", "laptop")
    assert r.exit_code == 0, r.stderr
    assert "on cpu in " in r.stderr and "memory plan resident: est. peak" in r.stderr
    assert "of RAM available (savers: resident)" in r.stderr


@pytest.mark.parametrize("where", ["--set", "env", "profile", "keyword"])
def test_a_saver_key_without_the_custom_strategy_is_a_usage_error(cli, tiny_sd, tmp_path, monkeypatch, where):
    monkeypatch.chdir(tmp_path)
    args = ["diffuse", "a cat", "--model", tiny_sd, *SMALL]
    if where == "keyword":
        import fmkit
        from fmkit.errors import ProfileError

        with pytest.raises(ProfileError, match="add --set diffuse.strategy=custom"):
            fmkit.Session(profile="laptop").diffuse("a cat", model=tiny_sd, vae_tiling=True, height=32, width=32)
        return
    if where == "--set":
        args += ["--set", "diffuse.vae_tiling=true"]
    elif where == "env":
        monkeypatch.setenv("FMKIT_DIFFUSE_VAE_TILING", "true")
    else:
        (tmp_path / "mine.toml").write_text('extends = "laptop"\n[diffuse]\nvae_tiling = true\n')
        args += ["--profile", str(tmp_path / "mine.toml")]
    r = cli(args)
    assert r.exit_code == 2 and r.stdout == ""
    assert len(r.stderr.strip().splitlines()) == 1
    assert "diffuse.vae_tiling" in r.stderr and "add --set diffuse.strategy=custom" in r.stderr
    assert not list(tmp_path.glob("*.png"))


def test_an_offload_strategy_on_a_cpu_is_a_usage_error(cli, tiny_sd, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    r = cli(["diffuse", "a cat", "--model", tiny_sd, *SMALL, "--set", "diffuse.strategy=model-offload"])
    assert r.exit_code == 2 and "diffuse.strategy = 'model-offload' needs a CUDA device" in r.stderr


def test_a_failing_compile_is_dropped_and_said(tiny_sd, monkeypatch):
    """When torch.compile itself fails (inductor, Triton, no C compiler), the image is rendered
    uncompiled and the user is told; other errors still surface."""
    from dataclasses import replace

    import torch

    from fmkit.diffuse.pipeline import DiffuseParams, Diffuser
    from fmkit.profiles import load_settings

    def broken_backend(graph, example_inputs):
        raise RuntimeError("Triton needs a C compiler")

    notes: list[str] = []
    settings = load_settings("laptop", [f'diffuse.model="{tiny_sd}"', "diffuse.strategy=resident"], env={})
    diffuser = Diffuser(settings, notify=notes.append)
    diffuser.plan = replace(diffuser.plan, compile=True)  # as on CUDA
    real, plans = diffuser._render, []

    def render(params, plan, on_step):
        plans.append(plan)
        if plan.compile:  # a real torch.compile failure: its backend raises, dynamo wraps it
            torch.compile(lambda x: x + 1, backend=broken_backend)(torch.ones(1))
        if len(plans) > 2:
            raise ValueError("not a compile failure")
        return real(params, plan, on_step)

    monkeypatch.setattr(diffuser, "_render", render)
    [result] = diffuser.render(DiffuseParams("a cat", steps=1, height=32, width=32, seed=1))
    assert [p.compile for p in plans] == [True, False] and result.image is not None
    assert result.strategy == "resident" and not diffuser.plan.compile
    assert len(notes) == 1 and notes[0].startswith("torch.compile failed (BackendCompilerFailed")
    assert notes[0].endswith("rendering without compiling")
    with pytest.raises(ValueError, match="not a compile failure"):  # anything else is not swallowed
        diffuser.render(DiffuseParams("a cat", steps=1, height=32, width=32, seed=1))


def test_profiles_leave_the_savers_to_the_planner():
    from fmkit.diffuse.strategy import SAVER_KEYS
    from fmkit.profiles import load_settings

    for name in ("laptop", "gpu"):
        settings = load_settings(name, env={})
        assert settings.diffuse.strategy == "auto" and settings.runtime.max_memory == "auto"
        assert all(settings.origins.get(f"diffuse.{k}", "default") == "default" for k in SAVER_KEYS)
    assert load_settings("gpu", env={}).diffuse.compile and not load_settings("laptop", env={}).diffuse.compile


def test_mapping_makes_the_diffusers_calls(tiny_sd):
    """apply_to_pipeline really switches diffusers' own savers on, on the tiny pipeline."""
    import torch
    from diffusers import StableDiffusionPipeline
    from diffusers.models.attention_processor import SlicedAttnProcessor

    from fmkit.diffuse.memory import MemoryPlan, apply_to_pipeline

    pipe = StableDiffusionPipeline.from_pretrained(tiny_sd)
    plan = MemoryPlan(storage_dtype="bfloat16", attention_slicing="max", vae_slicing=True, vae_tiling=True,
                      vae_tile_size=16)
    applied = apply_to_pipeline(pipe, plan, "cpu", torch.float32)
    assert applied == ["layerwise-bfloat16", "attention-slicing-max", "vae-slicing", "vae-tiling-16"]
    assert pipe.vae.use_slicing and pipe.vae.use_tiling and pipe.vae.tile_latent_min_size == 8
    assert all(isinstance(p, SlicedAttnProcessor) for p in pipe.unet.attn_processors.values())
    assert pipe.unet.dtype == torch.float32  # compute dtype, as diffusers reports it under layerwise casting
    assert pipe.unet.conv_in.weight.dtype == torch.bfloat16  # storage
    assert pipe.unet.conv_norm_out.weight.dtype == torch.float32  # norms skipped by layerwise casting


def test_lower_strategy_ladder_ends():
    from fmkit.diffuse.memory import MemoryPlan

    seen, plan = [], MemoryPlan(compile=True)
    while plan is not None:
        seen.append(plan.describe())
        plan = plan.lower("cuda")
    assert seen == ["resident+compile", "attention-slicing-auto+vae-slicing+vae-tiling",
                    "attention-slicing-auto+vae-slicing+vae-tiling+model-offload",
                    "attention-slicing-auto+vae-slicing+vae-tiling+sequential-offload",
                    "attention-slicing-max+vae-slicing+vae-tiling+sequential-offload"]
    assert MemoryPlan().lower("cpu").lower("cpu").describe() == \
        "one-at-a-time+layerwise-bfloat16+attention-slicing-auto+vae-slicing+vae-tiling"


def _fail_unet(monkeypatch, error, times=1):
    """Make the UNet raise `error` on its first `times` calls (an injected OOM or Ctrl-C)."""
    from diffusers import UNet2DConditionModel

    real, calls = UNet2DConditionModel.forward, {"n": 0}

    def forward(self, *a, **k):
        calls["n"] += 1
        if calls["n"] <= times:
            raise error
        return real(self, *a, **k)

    monkeypatch.setattr(UNet2DConditionModel, "forward", forward)
    return calls


def test_out_of_memory_retries_once_one_step_down_the_ladder(draw, monkeypatch):
    import torch

    _fail_unet(monkeypatch, torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB"))
    r = draw("a cat", "--seed", "1", "--json", "--profile", "gpu", "--set", 'runtime.dtype="float32"')
    assert r.exit_code == 0, r.stderr
    row = json.loads(r.stdout)
    # 32x32 images are smaller than a VAE tile, so vae-tiling would save nothing: the next step that does is float8
    assert row["fallback_from"] == "resident"
    assert row["strategy"] == "layerwise-float8_e4m3fn+vae-slicing+vae-tiling-256"
    assert row["memory_plan"]["strategy"] == "float8"
    assert row["memory_plan"]["reason"].startswith("float8: out of memory with resident, retried one step down")
    assert "out of memory with strategy resident; retried once with layerwise-float8_e4m3fn+" in r.stderr
    assert Path(row["path"]).is_file()


def test_out_of_memory_with_custom_savers_retries_with_the_next_lower_savers(draw, monkeypatch):
    import torch

    _fail_unet(monkeypatch, torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB"))
    r = draw("a cat", "--seed", "1", "--json", *CUSTOM, "--set", "diffuse.vae_slicing=true",
             "--set", "diffuse.vae_tiling=true")
    assert r.exit_code == 0, r.stderr
    row = json.loads(r.stdout)
    assert row["fallback_from"] == "vae-slicing+vae-tiling"
    assert row["strategy"] == "attention-slicing-auto+vae-slicing+vae-tiling"
    assert row["memory_plan"]["strategy"] == "custom"
    assert "out of memory with strategy vae-slicing+vae-tiling; retried once with" in r.stderr


def test_out_of_memory_twice_is_a_one_line_runtime_error(draw, monkeypatch):
    import torch

    _fail_unet(monkeypatch, torch.OutOfMemoryError("out of memory"), times=2)
    r = draw("a cat", "--seed", "1", "-o", "x.png")
    assert r.exit_code == 1
    assert "out of memory again after retrying" in r.stderr and "Traceback" not in r.stderr
    assert r.stderr.count("error:") == 1 and "Loading" not in r.stderr
    assert pngs(".") == []


# --- safety checker -----------------------------------------------------------------------------


def test_flagged_image_is_reported_not_saved_black(cli, tiny_sd_checker, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    r = cli(["diffuse", "a cat", "--model", tiny_sd_checker, *SMALL, "--seed", "1", "--json",
             "--set", "diffuse.safety_checker=true"])
    assert r.exit_code == 1
    assert "safety checker flagged" in r.stderr
    assert json.loads(r.stdout)["nsfw"] is True and json.loads(r.stdout)["path"] is None
    assert not list(tmp_path.glob("*.png"))
    r = cli(["diffuse", "a cat", "--model", tiny_sd_checker, *SMALL, "--seed", "1", "--json",
             "--set", "diffuse.safety_checker=false"])
    assert r.exit_code == 0 and json.loads(r.stdout)["nsfw"] is False


def test_safety_checker_wanted_but_not_shipped_is_said(draw):
    r = draw("a cat", "--seed", "1", "--set", "diffuse.safety_checker=true")
    assert r.exit_code == 0
    assert "ships no safety checker" in r.stderr


# --- bad input ----------------------------------------------------------------------------------

BAD = {
    "empty prompt": (["  "], "prompt is empty"),
    "height not multiple of 8": (["x", "--height", "30"], "--height 30 is not a positive multiple of 8"),
    "width not multiple of 8": (["x", "--width", "33"], "--width 33 is not a positive multiple of 8"),
    "over profile limit": (["x", "--height", "1024", "--width", "1024"], "over this profile's limit of 262144"),
    "steps < 1": (["x", "--steps", "0"], "diffuse.steps = 0 (--steps): must be >= 1"),
    "guidance < 0": (["x", "--guidance", "-1"], "diffuse.guidance = -1.0 (--guidance): must be >= 0"),
    "num-images < 1": (["x", "--num-images", "0"], "diffuse.num_images = 0 (--num-images): must be >= 1"),
    "guidance inf": (["x", "--guidance", "inf"], "must be a finite number"),
    "num-images huge": (["x", "-n", "100000"], "must be <= 64"),
    "unwritable folder": (["x", "-o", "no/such/dir/x.png"], "does not exist"),
    "not a png": (["x", "-o", "x.jpg"], "must end in .png"),
    "unknown scheduler": (["x", "--scheduler", "eular"], "unknown scheduler 'eular'"),
}


@pytest.mark.parametrize("case", list(BAD))
def test_bad_input_is_one_line_exit_2_and_writes_nothing(cli, tiny_sd, tmp_path, monkeypatch, case):
    monkeypatch.chdir(tmp_path)
    args, message = BAD[case]
    r = cli(["diffuse", *args, "--model", tiny_sd, "--profile", "laptop"])
    assert r.exit_code == 2, (r.stdout, r.stderr)
    assert message in r.stderr, r.stderr
    assert len(r.stderr.strip().splitlines()) == 1 and "Traceback" not in r.stderr
    assert r.stdout == ""
    assert not list(tmp_path.rglob("*.png"))


def test_existing_output_is_kept_unless_force(draw):
    Path("keep.png").write_bytes(b"precious")
    r = draw("a cat", "-o", "keep.png")
    assert r.exit_code == 2 and "already exists" in r.stderr and "--force" in r.stderr
    assert Path("keep.png").read_bytes() == b"precious"
    r = draw("a cat", "-o", "keep.png", "--force")
    assert r.exit_code == 0 and Path("keep.png").read_bytes()[:4] == b"\x89PNG"


def test_read_only_folder_is_refused_before_rendering(draw, tmp_path):
    import os

    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o500)
    try:
        if os.access(ro, os.W_OK):
            pytest.skip("running as a user who can write anywhere")
        r = draw("a cat", "-o", ro / "x.png")
        assert r.exit_code == 2 and "permission denied" in r.stderr
    finally:
        ro.chmod(0o700)


def test_ctrl_c_mid_denoising_exits_130_and_leaves_no_file(draw, monkeypatch):
    calls = _fail_unet(monkeypatch, KeyboardInterrupt(), times=1)
    r = draw("a cat", "--seed", "1", "-o", "x.png")
    assert calls["n"] == 1
    assert r.exit_code == 130
    assert "interrupted while rendering; no image was written" in r.stderr
    assert pngs(".") == []  # neither x.png nor a temporary file


def test_help_does_not_import_torch(fmkit_proc):
    r = fmkit_proc(["diffuse", "--help"])
    assert r.returncode == 0 and "--negative-prompt" in r.stdout
    import subprocess
    import sys

    code = "import sys, fmkit.cli, fmkit.commands.diffuse; assert 'torch' not in sys.modules, 'torch imported'"
    assert subprocess.run([sys.executable, "-c", code]).returncode == 0


def test_compute_dtype_auto_uses_bf16_only_on_cpus_that_run_it_natively(monkeypatch):
    import torch

    from fmkit import hardware
    from fmkit.diffuse.memory import compute_dtype

    monkeypatch.setattr(hardware, "cpu_has_native_bf16", lambda: True)
    assert compute_dtype("auto", "auto", "cpu") == torch.bfloat16
    assert compute_dtype("auto", "float32", "cpu") == torch.float32  # an explicit runtime.dtype wins
    assert compute_dtype("float32", "auto", "cpu") == torch.float32
    monkeypatch.setattr(hardware, "cpu_has_native_bf16", lambda: False)
    assert compute_dtype("auto", "auto", "cpu") == torch.float32  # emulated bf16 would be slower
    assert compute_dtype("auto", "auto", "cuda") == torch.float16
