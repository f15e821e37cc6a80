"""Benchmark: `fmkit detect FOLDER --json` vs `yolo predict model=... source=FOLDER save=False`.

Baseline: the Ultralytics CLI, the plain way to run YOLO over a folder. Both get the same
yolo11n-shaped model (built from yolo11n.yaml, random weights, saved as .pt: no download),
the same 64 images (copies of Ultralytics' bundled bus.jpg and zidane.jpg), and their own
temporary settings folder. Runs alternate (fmkit, yolo, fmkit, yolo, ...) because this
machine is shared and noisy; the figures are medians.

    end to end      images / wall seconds of the whole process (start, imports, model load, all images)
    inference only  fmkit: images / seconds from first image in to last result out (its summary line,
                    decode included); yolo: 1000 / (preprocess + inference + postprocess ms per image)
                    from its "Speed:" line (decode not included)

Also timed: fmkit with the profile key runtime.dtype="bfloat16" (backbone autocast to bfloat16 on CPU).

Run: .venv/bin/python benchmarks/detect.py [--images 64] [--rounds 3]
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BIN = Path(sys.executable).parent


def build_model(folder: Path) -> Path:
    """yolo11n.yaml with random weights and COCO names, saved as a .pt checkpoint."""
    code = (
        "import sys; from ultralytics import YOLO; from ultralytics.utils import ROOT, YAML; "
        "m = YOLO('yolo11n.yaml'); m.model.names = dict(YAML.load(ROOT / 'cfg/datasets/coco.yaml')['names']); "
        "m.save(sys.argv[1])"
    )
    path = folder / "yolo11n-random.pt"
    subprocess.run([sys.executable, "-c", code, str(path)], check=True, env=ENV, cwd=folder, stdout=subprocess.DEVNULL)
    return path


def make_images(folder: Path, n: int) -> Path:
    import importlib.util

    assets = Path(importlib.util.find_spec("ultralytics").origin).parent / "assets"
    images = folder / "images"
    images.mkdir()
    for i in range(n):
        src = assets / ("bus.jpg" if i % 2 == 0 else "zidane.jpg")
        shutil.copy(src, images / f"{i:03d}-{src.name}")
    return images


def run_fmkit(model: Path, images: Path, n: int, *extra: str) -> tuple[float, float]:
    start = time.perf_counter()
    r = subprocess.run([str(BIN / "fmkit"), "detect", str(images), "--model", str(model), "--json", *extra],
                       capture_output=True, text=True, env=ENV, cwd=WORK)
    wall = time.perf_counter() - start
    lines = r.stdout.splitlines()
    if r.returncode != 0 or len(lines) != n:
        sys.exit(f"fmkit failed ({r.returncode}, {len(lines)} lines): {r.stderr[-800:]}")
    loop = float(re.search(r"failed, ([\d.]+) s \(", r.stderr).group(1))
    return n / wall, n / loop


def run_yolo(model: Path, images: Path, n: int) -> tuple[float, float]:
    start = time.perf_counter()
    r = subprocess.run([str(BIN / "yolo"), "predict", f"model={model}", f"source={images}", "save=False"],
                       capture_output=True, text=True, env=ENV, cwd=WORK)
    wall = time.perf_counter() - start
    speed = re.search(r"Speed: ([\d.]+)ms preprocess, ([\d.]+)ms inference, ([\d.]+)ms postprocess", r.stdout + r.stderr)
    if r.returncode != 0 or not speed:
        sys.exit(f"yolo predict failed ({r.returncode}): {(r.stdout + r.stderr)[-800:]}")
    per_image_ms = sum(float(x) for x in speed.groups())
    return n / wall, 1000 / per_image_ms


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=64)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()

    model = build_model(WORK)
    images = make_images(WORK, args.images)
    run_fmkit(model, images, args.images)  # warm the file cache and both settings folders once
    run_yolo(model, images, args.images)
    contenders = {
        "fmkit detect": lambda: run_fmkit(model, images, args.images),
        "fmkit bfloat16": lambda: run_fmkit(model, images, args.images, "--set", 'runtime.dtype="bfloat16"'),
        "yolo predict": lambda: run_yolo(model, images, args.images),
    }
    e2e: dict[str, list[float]] = {k: [] for k in contenders}
    inf: dict[str, list[float]] = {k: [] for k in contenders}
    for i in range(args.rounds):
        line = []
        for name, go in contenders.items():
            a, b = go()
            e2e[name].append(a), inf[name].append(b)
            line.append(f"{name} {a:.1f} end to end, {b:.1f} inference")
        print(f"round {i + 1} (images/s): " + " | ".join(line), flush=True)
    med = statistics.median
    print(f"\n{args.images} images (bus.jpg/zidane.jpg copies), yolo11n-shaped random weights, CPU, "
          f"{os.cpu_count()} cores, medians of {args.rounds} interleaved rounds")
    for name in contenders:
        print(f"{name:16} end to end {med(e2e[name]):6.1f} images/s ({args.images / med(e2e[name]):.2f} s)   "
              f"inference only {med(inf[name]):6.1f} images/s")
    base = "yolo predict"
    for name in ("fmkit detect", "fmkit bfloat16"):
        label = "fmkit" if name == "fmkit detect" else "fmkit (runtime.dtype=bfloat16)"
        print(f"{label} vs {base} (end to end): {med(e2e[name]) / med(e2e[base]):.2f}x")
        print(f"{label} vs {base} (inference only, per image): {med(inf[name]) / med(inf[base]):.2f}x")


WORK = Path(tempfile.mkdtemp(prefix="fmkit-bench-detect-"))
ENV = {**os.environ, "YOLO_CONFIG_DIR": str(WORK / "yolo-config"), "FMKIT_HOME": str(WORK / "fmkit-home"),
       "MPLCONFIGDIR": str(WORK / "mpl"), "YOLO_OFFLINE": "1", "YOLO_AUTOINSTALL": "False", "FMKIT_OFFLINE": "1"}

if __name__ == "__main__":
    try:
        main()
    finally:
        shutil.rmtree(WORK, ignore_errors=True)
