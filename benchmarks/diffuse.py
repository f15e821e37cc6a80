"""fmkit diffuse (laptop profile) vs the plain diffusers pipeline: peak RSS and seconds per step.

BASELINE: `StableDiffusionPipeline.from_pretrained(folder)` with its defaults (float32, every
component resident, SDPA attention), on an SD 1.5-shaped folder with random weights
(benchmarks/sd15_random.py: UNet 860M, VAE 84M, CLIP text 123M; built once, cached).
FMKIT: fmkit's Diffuser with the laptop profile's memory strategy on the same folder.

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

# name -> --set overrides on top of the laptop profile
ABLATIONS = {
    "one-at-a-time only, no storage cast": ["diffuse.storage_dtype=\"none\"", "diffuse.vae_tiling=false"],
    "  + float8 UNet storage": ["diffuse.vae_tiling=false"],
    "laptop with bfloat16 storage": ["diffuse.storage_dtype=\"bfloat16\""],
    "laptop + attention slicing auto": ["diffuse.attention_slicing=\"auto\""],
    "laptop, all resident": ["diffuse.one_at_a_time=false"],
    "laptop, float32 compute": ["diffuse.compute_dtype=\"float32\""],
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
        strategy = f"{diffuser.plan.describe()}, {str(diffuser.dtype).removeprefix('torch.')} compute"
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
    runs: dict[str, list[dict]] = {"plain": [], "fmkit": []}
    for i in range(args.repeats):  # interleaved: A B A B
        for mode in ("plain", "fmkit"):
            r = _spawn_and_measure(mode, folder, args.size, args.steps, [])
            runs[mode].append(r)
            print(f"  run {i + 1} {mode:5s}: peak RSS {r['peak_rss_mb']:7.0f} MB, {r['s_per_step']:6.2f} s/step, "
                  f"{r['total_s']:6.1f} s total  [{r['strategy']}]", flush=True)
    med = {m: {k: statistics.median(r[k] for r in rs) for k in ("peak_rss_mb", "s_per_step", "total_s")}
           for m, rs in runs.items()}
    print()
    print(f"{'':34s} {'peak RSS MB':>11s} {'s/step':>7s} {'total s':>8s}")
    print(f"{'plain diffusers (baseline)':34s} {med['plain']['peak_rss_mb']:11.0f} {med['plain']['s_per_step']:7.2f} "
          f"{med['plain']['total_s']:8.1f}")
    print(f"{'fmkit laptop: ' + runs['fmkit'][0]['strategy']:34s} {med['fmkit']['peak_rss_mb']:11.0f} "
          f"{med['fmkit']['s_per_step']:7.2f} {med['fmkit']['total_s']:8.1f}")
    if not args.no_ablation:
        for name, sets in ABLATIONS.items():
            r = _spawn_and_measure("fmkit", folder, args.size, args.steps, sets)
            print(f"{name:34s} {r['peak_rss_mb']:11.0f} {r['s_per_step']:7.2f} {r['total_s']:8.1f}", flush=True)
    print()
    print(f"fmkit vs plain diffusers: {med['fmkit']['peak_rss_mb'] / med['plain']['peak_rss_mb']:.2f}x peak RSS "
          f"(target <= 0.45x)")
    print(f"fmkit vs plain diffusers: {med['fmkit']['s_per_step'] / med['plain']['s_per_step']:.2f}x s/step "
          f"(target <= 1.3x)")


if __name__ == "__main__":
    main()
