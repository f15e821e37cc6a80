"""Benchmark: `fmkit detect IMAGES -o OUT --cluster local:2` vs the same command in one process.

On one 2-core machine the cluster cannot be faster (the single process already uses both cores
for torch); what this measures is what distribution costs: two worker processes of one torch
thread each, chunks of `cluster.chunk_size` images scheduled by Dask, results written by the
workers, JSON lines streamed back. Target: at least 0.85x the single process's images/s.

Both runs get the same yolo11n-shaped model (yolo11n.yaml, random weights, saved as .pt: no
download) and the same 256 images (Ultralytics' bus.jpg and zidane.jpg, each copy cropped,
mirrored and brightened a little differently), write annotated images and JSON to a fresh OUT,
and alternate (single, cluster, single, cluster ...) because this machine is shared and noisy.

    steady images/s   images / seconds over the last three quarters of the result lines on stdout
                      (model loading, cluster start-up and the first chunks are left out; with
                      256 images and chunks of 16, line 64 is a chunk boundary, so the window is
                      exactly 12 chunks of work)
    end to end        images / wall seconds of the whole command (imports, cluster start,
                      workers importing torch and loading the model, all images)
    per-chunk cost    Dask's own cost per chunk: empty chunks (no images) through the same task
                      function, spec and cached runner as a real run; round trip one at a time,
                      and wall per chunk with 2 x workers in flight (what a run pays)

Run: .venv/bin/python benchmarks/cluster.py [--images 256] [--rounds 2] [--chunk 16]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # fmkit from this checkout (the per-chunk measurement imports it)


def build_model(folder: Path, env: dict) -> Path:
    """yolo11n.yaml with random weights and COCO names, saved as a .pt checkpoint."""
    code = ("import sys; from ultralytics import YOLO; from ultralytics.utils import ROOT, YAML; "
            "m = YOLO('yolo11n.yaml'); m.model.names = dict(YAML.load(ROOT / 'cfg/datasets/coco.yaml')['names']); "
            "m.save(sys.argv[1])")
    path = folder / "yolo11n-random.pt"
    subprocess.run([sys.executable, "-c", code, str(path)], check=True, env=env, cwd=folder,
                   stdout=subprocess.DEVNULL)
    return path


def make_images(folder: Path, n: int) -> Path:
    """n JPEGs from bus.jpg and zidane.jpg, each a little different (crop, mirror, brightness)."""
    import importlib.util

    from PIL import Image, ImageEnhance, ImageOps

    assets = Path(importlib.util.find_spec("ultralytics").origin).parent / "assets"
    bases = [Image.open(assets / "bus.jpg").convert("RGB"), Image.open(assets / "zidane.jpg").convert("RGB")]
    images = folder / "images"
    images.mkdir()
    for i in range(n):
        im = bases[i % 2]
        w, h = im.size
        cut = 4 * (i % 16)
        im = im.crop((cut, cut // 2, w - cut // 2, h - cut // 4))
        if (i // 2) % 2:
            im = ImageOps.mirror(im)
        im = ImageEnhance.Brightness(im).enhance(0.9 + 0.05 * (i % 5))
        im.save(images / f"{i:03d}.jpg", "JPEG", quality=90)
    return images


def run_detect(model: Path, images: Path, out: Path, env: dict, *extra: str) -> dict:
    """One `fmkit detect --json` as a subprocess; arrival time of every stdout line."""
    start = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "fmkit", "detect", str(images), "-o", str(out), "--model",
                             str(model), "--json", *extra], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            env=env, cwd=out.parent, text=True)
    arrivals = []
    for line in proc.stdout:
        arrivals.append(time.perf_counter())
        json.loads(line)
    err = proc.stderr.read()
    proc.wait()
    wall = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"fmkit detect {' '.join(extra)} failed ({proc.returncode}):\n{err[-2000:]}")
    n = len(arrivals)
    k = n // 4  # the first quarter of lines (model loads, start-up, first chunks) is left out
    return {"images": n, "wall": wall, "end_to_end": n / wall,
            "steady": (n - k) / (arrivals[-1] - arrivals[k - 1]) if n >= 8 else float("nan")}


def chunk_overhead(model: Path, images: Path, out: Path, chunks: int, env: dict) -> tuple[float, float]:
    """(ms round trip of one empty chunk, ms wall per empty chunk with 2 x workers in flight)."""
    os.environ.update(env)
    import logging

    from distributed import Client, LocalCluster, as_completed

    from fmkit.api import Session
    from fmkit.cluster.worker import detect_chunk

    cluster = LocalCluster(host="127.0.0.1", n_workers=2, threads_per_worker=1, processes=True,
                           dashboard_address=None, silence_logs=logging.ERROR)
    client = Client(cluster, set_as_default=False)
    try:
        run = Session(notify=lambda message: None).detect(str(images), model=str(model), output=str(out), cluster=client.scheduler.address)
        spec = run.executor.spec
        run.close()
        for worker in client.nthreads():  # every worker has its runner (model loaded) before timing
            client.submit(detect_chunk, spec, [], "warm", workers=[worker], pure=False).result()  # loads the model
        since = time.time()
        serial = []
        for _ in range(20):
            t = time.perf_counter()
            client.submit(detect_chunk, spec, [], since, pure=False).result()
            serial.append(time.perf_counter() - t)
        start = time.perf_counter()
        pending = as_completed(loop=client.loop)
        submitted = min(4, chunks)  # what DaskExecutor keeps in flight for 2 single-thread workers
        for _ in range(submitted):
            pending.add(client.submit(detect_chunk, spec, [], since, pure=False))
        for future in pending:
            future.result()
            future.release()
            if submitted < chunks:
                pending.add(client.submit(detect_chunk, spec, [], since, pure=False))
                submitted += 1
        piped = (time.perf_counter() - start) / chunks
        return statistics.median(serial) * 1000, piped * 1000
    finally:
        client.close()
        cluster.close()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--images", type=int, default=256)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--chunk", type=int, default=16)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="fmkit-bench-cluster-"))
    env = {**os.environ, "FMKIT_HOME": str(work / "home"), "YOLO_CONFIG_DIR": str(work / "yolo"),
           "HF_HUB_OFFLINE": "1", "FMKIT_PROFILE": "laptop", "OMP_WAIT_POLICY": "PASSIVE"}
    env.pop("FMKIT_CLUSTER_ADDRESS", None)
    model = build_model(work, env)
    images = make_images(work, args.images)
    print(f"{args.images} images, yolo11n-shaped random model at 640, chunks of {args.chunk}, "
          f"{len(os.sched_getaffinity(0))} cores, load average {os.getloadavg()[0]:.1f}", flush=True)
    single, spread = [], []
    for r in range(args.rounds):
        single.append(run_detect(model, images, work / f"single-{r}", env))
        print(f"  round {r + 1}: single  {single[-1]['steady']:6.1f} images/s steady, "
              f"{single[-1]['end_to_end']:5.1f} end to end ({single[-1]['wall']:.1f} s)", flush=True)
        spread.append(run_detect(model, images, work / f"cluster-{r}", env, "--cluster", "local:2",
                                 "--set", f"cluster.chunk_size={args.chunk}"))
        print(f"  round {r + 1}: cluster {spread[-1]['steady']:6.1f} images/s steady, "
              f"{spread[-1]['end_to_end']:5.1f} end to end ({spread[-1]['wall']:.1f} s)", flush=True)
    serial_ms, piped_ms = chunk_overhead(model, images, work / "overhead", 200, env)
    s_steady = statistics.median(x["steady"] for x in single)
    c_steady = statistics.median(x["steady"] for x in spread)
    s_e2e = statistics.median(x["end_to_end"] for x in single)
    c_e2e = statistics.median(x["end_to_end"] for x in spread)
    per_image_ms = 1000 / c_steady
    print()
    print(f"{'':24}{'single process':>16}{'--cluster local:2':>20}{'ratio':>9}  target")
    print(f"{'steady images/s':24}{s_steady:16.1f}{c_steady:20.1f}{c_steady / s_steady:8.2f}x  >= 0.85x")
    print(f"{'end to end images/s':24}{s_e2e:16.1f}{c_e2e:20.1f}{c_e2e / s_e2e:8.2f}x  (start-up included)")
    print(f"per-chunk scheduling cost: {serial_ms:.1f} ms round trip, {piped_ms:.1f} ms per chunk pipelined "
          f"= {piped_ms / args.chunk:.2f} ms per image at chunks of {args.chunk} "
          f"({piped_ms / args.chunk / per_image_ms * 100:.1f}% of the {per_image_ms:.0f} ms an image takes here)")


if __name__ == "__main__":
    main()
