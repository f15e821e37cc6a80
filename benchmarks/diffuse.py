"""fmkit diffuse (laptop profile) vs the plain diffusers pipeline: peak RSS and seconds per step.

BASELINE: `StableDiffusionPipeline.from_pretrained(folder)` with its defaults (float32, every
component resident, SDPA attention), on an SD 1.5-shaped folder with random weights
(benchmarks/sd15_random.py: UNet 860M, VAE 84M, CLIP text 123M; built once, cached).
FMKIT: fmkit's Diffuser with the laptop profile on the same folder, its memory plan chosen by the
planner from runtime.max_memory: once with a 2 GiB budget (`--set runtime.max_memory=2GiB`,
target: peak RSS under 2.2 GiB) and once with auto (this machine's available RAM).

Both render the same work: one 512x512 image, guidance 7.5 (batch 2 through the UNet), 2 steps.
Every run is a FRESH subprocess; its peak RSS comes from the OS (os.wait4 -> ru_maxrss of that
child). s/step is the second step's wall time (the first includes one-off kernel set-up).
Runs are interleaved (plain, fmkit, plain, fmkit, ...) and medians reported, because the
machine is shared. Ablation rows (one run each) show what each saver contributes.

    .venv/bin/python benchmarks/diffuse.py [--repeats 2] [--no-ablation] [--size 512]
"""

from __future__ import annotations

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
# Python puts this script's folder first on sys.path, where a sibling named like a stdlib module (there was a
# benchmarks/tokenize.py) shadows the standard library for torch and everything else: drop it.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != HERE]

import argparse  # noqa: E402
import importlib.util  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import time  # noqa: E402

TIGHT = ["runtime.max_memory=2GiB"]
FMKIT_ROWS = {"fmkit 2GiB": TIGHT, "fmkit auto": []}  # name -> --set overrides on top of the laptop profile
CUSTOM = ["diffuse.strategy=custom", "diffuse.vae_slicing=true", "diffuse.vae_tiling=true", "diffuse.vae_tile_size=256"]
# What each ladder step costs and saves, and savers outside the ladder (strategy = custom)
ABLATIONS = {
    "step resident": ["diffuse.strategy=resident"],
    "step vae-tiling": ["diffuse.strategy=vae-tiling"],
    "step float8 (resident, float8 UNet)": ["diffuse.strategy=float8"],
    "step one-at-a-time (bfloat16 UNet)": ["diffuse.strategy=one-at-a-time"],
    "step one-at-a-time-float8": ["diffuse.strategy=one-at-a-time-float8"],
    "custom: one-at-a-time + attn slicing": [*CUSTOM, "diffuse.one_at_a_time=true",
                                             "diffuse.storage_dtype=\"float8_e4m3fn\"",
                                             "diffuse.attention_slicing=\"auto\""],
    "2GiB, float32 compute": [*TIGHT, "diffuse.compute_dtype=\"float32\""],
}


# --- child side: one render, timings on stdout as JSON ---------------------------------------


def _child(mode: str, folder: str, size: int, steps: int, sets: list[str]) -> None:
    marks: list[float] = []
    started = time.perf_counter()
    if mode == "plain":
        import torch
        from diffusers import StableDiffusionPipeline

        pipe = StableDiffusionPipeline.from_pretrained(folder)
        pipe.set_progress_bar_config(disable=True)
        pipe("a photo of an astronaut riding a horse", height=size, width=size, num_inference_steps=steps,
             generator=torch.Generator("cpu").manual_seed(0),
             callback_on_step_end=lambda p, i, t, kw: marks.append(time.perf_counter()) or kw)
        strategy = "diffusers defaults"
    else:
        from fmkit import environment
        from fmkit.profiles import load_settings
        from fmkit.diffuse.pipeline import DiffuseParams, Diffuser

        environment.prepare()
        settings = load_settings("laptop", [f'diffuse.model="{folder}"', *sets], env={})
        diffuser = Diffuser(settings)
        diffuser.render(DiffuseParams("a photo of an astronaut riding a horse", steps=steps, guidance=7.5,
                                      height=size, width=size, seed=0),
                        on_step=lambda: marks.append(time.perf_counter()))
        strategy = (f"{diffuser.choice.strategy}: {diffuser.plan.describe()}, "
                    f"{str(diffuser.dtype).removeprefix('torch.')} compute; {diffuser.choice.reason}")
    total = time.perf_counter() - started
    print(json.dumps({"s_per_step": marks[-1] - marks[-2] if len(marks) > 1 else total,
                      "total_s": total, "strategy": strategy}))


# --- parent side ---------------------------------------------------------------------------


def _spawn_and_measure(mode: str, folder: Path, size: int, steps: int, sets: list[str]) -> dict:
    """Popen without communicate()'s implicit wait, so os.wait4 gets this child's own rusage."""
    cmd = [sys.executable, __file__, "--child", mode, "--folder", str(folder), "--size", str(size),
           "--steps", str(steps), *sum((["--set", s] for s in sets), [])]
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    out_path = HERE / ".cache" / f"child-{os.getpid()}.out"
    err_path = out_path.with_suffix(".err")
    with open(out_path, "w") as out, open(err_path, "w") as err:
        pid = subprocess.Popen(cmd, stdout=out, stderr=err, env=env).pid
        _, status, usage = os.wait4(pid, 0)
    text, errors = out_path.read_text(), err_path.read_text()
    out_path.unlink(), err_path.unlink()
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"{mode} run failed:\n{errors[-3000:]}")
    result = json.loads(text.strip().splitlines()[-1])
    result["peak_rss_mb"] = usage.ru_maxrss / (2**20 if sys.platform == "darwin" else 1024)
    return result


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--child", choices=("plain", "fmkit"))
    ap.add_argument("--folder")
    ap.add_argument("--size", type=int, default=512)
    ap.add_argument("--steps", type=int, default=2)
    ap.add_argument("--set", action="append", default=[], dest="sets")
    ap.add_argument("--repeats", type=int, default=2)
    ap.add_argument("--no-ablation", action="store_true")
    args = ap.parse_args()
    if args.child:
        return _child(args.child, args.folder, args.size, args.steps, args.sets)

    spec = importlib.util.spec_from_file_location("sd15_random", HERE / "sd15_random.py")
    sd15_random = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(sd15_random)
    folder = sd15_random.sd15_folder()
    print(f"SD 1.5-shaped random weights: {folder}")
    print(f"{args.size}x{args.size}, guidance 7.5, {args.steps} steps; fresh process per run; "
          f"load average {os.getloadavg()[0]:.1f}")
    runs: dict[str, list[dict]] = {"plain": [], **{name: [] for name in FMKIT_ROWS}}
    for i in range(args.repeats):  # interleaved: A B C A B C
        for name in runs:
            mode, sets = ("plain", []) if name == "plain" else ("fmkit", FMKIT_ROWS[name])
            r = _spawn_and_measure(mode, folder, args.size, args.steps, sets)
            runs[name].append(r)
            print(f"  run {i + 1} {name:10s}: peak RSS {r['peak_rss_mb']:7.0f} MB, {r['s_per_step']:6.2f} s/step, "
                  f"{r['total_s']:6.1f} s total  [{r['strategy']}]", flush=True)
    med = {m: {k: statistics.median(r[k] for r in rs) for k in ("peak_rss_mb", "s_per_step", "total_s")}
           for m, rs in runs.items()}
    labels = {"plain": "plain diffusers (baseline)", "fmkit 2GiB": "fmkit laptop, max_memory=2GiB",
              "fmkit auto": "fmkit laptop, max_memory=auto"}
    print()
    print(f"{'':38s} {'peak RSS MB':>11s} {'s/step':>7s} {'total s':>8s}  plan")
    for name, label in labels.items():
        plan = runs[name][0]["strategy"].split(":")[0] if name != "plain" else "-"
        print(f"{label:38s} {med[name]['peak_rss_mb']:11.0f} {med[name]['s_per_step']:7.2f} "
              f"{med[name]['total_s']:8.1f}  {plan}")
    if not args.no_ablation:
        for name, sets in ABLATIONS.items():
            r = _spawn_and_measure("fmkit", folder, args.size, args.steps, sets)
            print(f"{name:38s} {r['peak_rss_mb']:11.0f} {r['s_per_step']:7.2f} {r['total_s']:8.1f}  "
                  f"{r['strategy'].split(';')[0]}", flush=True)
    print()
    tight, auto, plain = med["fmkit 2GiB"], med["fmkit auto"], med["plain"]
    print(f"fmkit 2GiB peak RSS: {tight['peak_rss_mb'] / 1024:.2f} GiB (target < 2.2 GiB); "
          f"vs plain diffusers: {tight['peak_rss_mb'] / plain['peak_rss_mb']:.2f}x peak RSS (target <= 0.45x), "
          f"{tight['s_per_step'] / plain['s_per_step']:.2f}x s/step (target <= 1.3x)")
    print(f"fmkit auto vs plain diffusers: {auto['peak_rss_mb'] / plain['peak_rss_mb']:.2f}x peak RSS, "
          f"{auto['s_per_step'] / plain['s_per_step']:.2f}x s/step")


if __name__ == "__main__":
    main()
