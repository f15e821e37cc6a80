"""Startup: `fmkit --help` against `yolo help` (Ultralytics' CLI) and `python -c pass`.

Baseline: the bare interpreter (floor) and Ultralytics' CLI, a tool students already use.
All three run interleaved in one process (A B C A B C ...) so machine noise hits them alike;
medians are reported. Target: fmkit --help <= 0.25 s and <= 1/8 of `yolo help`.

    python benchmarks/startup.py [--runs 15]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BIN = Path(sys.executable).parent


def wall(cmd: list[str], env: dict) -> float:
    start = time.perf_counter()
    subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env, check=True)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
    home = tempfile.mkdtemp(prefix="fmkit-bench-")
    env = {**os.environ, "YOLO_CONFIG_DIR": home, "FMKIT_HOME": home, "YOLO_OFFLINE": "1"}
    yolo = shutil.which("yolo", path=str(BIN)) or shutil.which("yolo")
    commands = {
        "python -c pass": [sys.executable, "-c", "pass"],
        "fmkit --help": [str(BIN / "fmkit"), "--help"],
    }
    if yolo:
        commands["yolo help"] = [yolo, "help"]
    for cmd in commands.values():  # warm the file cache once
        subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    times: dict[str, list[float]] = {name: [] for name in commands}
    for _ in range(args.runs):
        for name, cmd in commands.items():
            times[name].append(wall(cmd, env))
    med = {name: statistics.median(t) for name, t in times.items()}
    for name, m in med.items():
        print(f"{name:16s} median {m * 1000:7.0f} ms  (min {min(times[name]) * 1000:.0f}, {args.runs} runs)")
    fm = med["fmkit --help"]
    print(f"fmkit --help: {fm:.3f} s (target <= 0.250 s): {'OK' if fm <= 0.25 else 'MISSED'}")
    if "yolo help" in med:
        ratio = med["yolo help"] / fm
        print(f"fmkit vs yolo help: {ratio:.1f}x faster (fmkit takes {fm / med['yolo help']:.3f} of its time; "
              f"target <= 0.125): {'OK' if fm <= med['yolo help'] / 8 else 'MISSED'}")
    print(f"fmkit vs python -c pass: {fm / med['python -c pass']:.1f}x the bare interpreter")
    shutil.rmtree(home, ignore_errors=True)


if __name__ == "__main__":
    main()
