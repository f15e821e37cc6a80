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

Run: .venv/bin/python benchmarks/gallery.py [--sizes 100,10000] [--rounds 3]
"""

from __future__ import annotations

import argparse
import html
import io
import json
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
    args = ap.parse_args()
    if CHROMIUM is None:
        sys.exit("needs Debian's chromium (apt-get install chromium) and playwright (pip install playwright)")
    from playwright.sync_api import sync_playwright

    print(f"fmkit gallery vs a plain <img> grid page, headless Chromium from file://, medians of {args.rounds} rounds")
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
            med = {k: [statistics.median(col) for col in zip(*v)] for k, v in runs.items()}
            for k, (b, f, ld) in med.items():
                print(f"{n:>8}  {k:<16} {b:>8.3f} {f:>16.0f} {ld:>9.0f}")
            (fb, ff, fl), (pb, pf, pl) = med["fmkit gallery"], med["plain <img> grid"]
            print(f"{n:>8}  ratio fmkit/plain: build {fb / pb:.2f}x, first screen {ff / pf:.2f}x, load {fl / pl:.2f}x; "
                  f"goal first screen <= {GOAL_MS} ms: {'met' if ff <= GOAL_MS else 'MISSED'} ({ff:.0f} ms)")
        browser.close()


if __name__ == "__main__":
    main()
