"""fmkit segment (laptop profile) vs the plain Ultralytics loop: seconds per image and peak RSS.

BASELINE: `model = SAM(path)`, then `model(photo, bboxes=BOXES)` per photo: Ultralytics' own SAM
interface with all of a photo's boxes in one call, at its default input size (1024). Importing
ultralytics sets OMP_NUM_THREADS=1 before torch starts (one thread, for training); the baseline
sets torch back to every core, as fmkit does, so both compute with the same threads. Both run
with OMP_WAIT_POLICY=PASSIVE, as `fmkit segment` sets it: on this shared machine, with another
process on one core, spinning OpenMP threads made each side 2-10x slower (baseline 5.1 vs 2.7
s/image, fmkit 3.5-3.8 vs 0.35-0.43).
FMKIT: `fmkit.Session("laptop").segment(photos, model=path, boxes=BOXES)`: the image encoded once
per photo (Conv+BN folded, channels_last), all boxes decoded against that embedding, masks
scaled and RLE-encoded a few at a time, the next photo decoded in a thread meanwhile; the
laptop profile's input size is 768 and its encoder computes in bfloat16 on a CPU with native
bf16 (segment.dtype = auto). A second fmkit row runs at 1024, the baseline's size, to show what
the same work costs; a second baseline row runs at 768, the laptop's size. A last row only
imports what both import (torch, Ultralytics' SAM, OpenCV) and exits: ~0.75 GB of either side's
peak is that, and torch's own teardown at exit (~0.13 GB above its import), so a line also
compares the peak RSS above it.

Model: MobileSAM-shaped random weights (tests/tiny_sam.py: Ultralytics' build_mobile_sam,
saved as mobile_sam.pt; IoU scores set near 0.9 as a trained model's are, so Ultralytics'
conf=0.25 keeps every mask). Photos: 16 distinct crops and mirror images of Ultralytics'
bus.jpg and zidane.jpg; 4 boxes each from the fixed list BOXES. Every run is a FRESH process;
peak RSS comes from the OS (os.wait4 -> ru_maxrss of that child). Seconds per image: the median
wall time between one photo's result and the next (the first photo, which includes warm-up,
left out). Runs are interleaved and medians reported, because this machine is shared.

    .venv/bin/python benchmarks/segment.py [--rounds 2] [--photos 16]
"""

from __future__ import annotations

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != HERE]  # no sibling shadows the stdlib

import argparse  # noqa: E402
import importlib.util  # noqa: E402
import io  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import shutil  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402

BOXES = [[40, 60, 360, 640], [300, 120, 700, 600], [0, 0, 640, 360], [200, 300, 520, 680]]  # inside every photo
ROWS = {  # name -> (mode, setting)
    "SAM(model)(image, bboxes=...)": ("plain", 1024),
    "fmkit laptop profile": ("fmkit", None),
    "fmkit, imgsz 1024": ("fmkit", 1024),
    "SAM(...), imgsz=768": ("plain", 768),
    "imports only (both pay it)": ("imports", None),
}
BASELINE = "SAM(model)(image, bboxes=...)"


# --- child side: one process, timings on stdout as JSON --------------------------------------


def _child(mode: str, model: str, photos: list[str], imgsz: int | None) -> None:
    marks = [time.perf_counter()]
    masks = 0
    if mode == "imports":  # what both sides load before any work: torch, Ultralytics' SAM, OpenCV
        import cv2  # noqa: F401
        import torch  # noqa: F401
        from ultralytics import SAM  # noqa: F401
        from ultralytics.models.sam import build  # noqa: F401

        marks += [time.perf_counter()] * 2
    elif mode == "plain":
        import torch
        from ultralytics import SAM

        torch.set_num_threads(len(os.sched_getaffinity(0)))  # undo OMP_NUM_THREADS=1 (module docstring)
        sam = SAM(model)
        for photo in photos:
            result = sam(photo, bboxes=BOXES, imgsz=imgsz, verbose=False)[0]
            masks += 0 if result.masks is None else len(result.masks)
            marks.append(time.perf_counter())
    else:
        import fmkit

        sets = {} if imgsz is None else {"segment.imgsz": imgsz}
        with fmkit.Session("laptop", offline=True, set=sets, notify=lambda message: None) as fk:
            for result in fk.segment(photos, model=model, boxes=BOXES):
                if result.error:
                    raise SystemExit(result.error)
                masks += len(result.masks)
                marks.append(time.perf_counter())
    steps = [b - a for a, b in zip(marks[1:], marks[2:])]
    print(json.dumps({"s_per_image": statistics.median(steps), "first_s": marks[1] - marks[0],
                      "total_s": marks[-1] - marks[0], "masks": masks}))


# --- parent side ---------------------------------------------------------------------------------


def make_photos(folder: Path, n: int) -> list[Path]:
    """n distinct real photos: bus and zidane, cropped a little differently, every other pair mirrored."""
    from PIL import Image, ImageOps
    from ultralytics.utils import ASSETS

    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i in range(n):
        base = Image.open(ASSETS / ("bus.jpg" if i % 2 == 0 else "zidane.jpg"))
        w, h = base.size
        cut = 9 * (i // 2)
        photo = base.crop((cut, cut // 2, w - cut // 3, h))
        if (i // 2) % 2:
            photo = ImageOps.mirror(photo)
        buffer = io.BytesIO()
        photo.save(buffer, "JPEG", quality=90)
        paths.append(folder / f"p{i:02d}.jpg")
        paths[-1].write_bytes(buffer.getvalue())
    return paths


def build_model(folder: Path) -> Path:
    spec = importlib.util.spec_from_file_location("tiny_sam", HERE.parent / "tests" / "tiny_sam.py")
    tiny_sam = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tiny_sam)
    return tiny_sam.build_sam(folder, "mobile_sam")


def measure(mode: str, model: Path, photos: list[Path], imgsz: int | None, env: dict) -> dict:
    """One fresh child; Popen without communicate()'s wait, so os.wait4 gets its own rusage."""
    cmd = [sys.executable, __file__, "--child", mode, "--model", str(model),
           *(["--imgsz", str(imgsz)] if imgsz else []), *map(str, photos)]
    out_path, err_path = WORK / "child.out", WORK / "child.err"
    with open(out_path, "w") as out, open(err_path, "w") as err:
        pid = subprocess.Popen(cmd, stdout=out, stderr=err, env=env).pid
        _, status, usage = os.wait4(pid, 0)
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"{mode} run failed:\n{err_path.read_text()[-3000:]}")
    result = json.loads(out_path.read_text().strip().splitlines()[-1])
    result["peak_rss_mb"] = usage.ru_maxrss / (2**20 if sys.platform == "darwin" else 1024)
    return result


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--child", choices=("plain", "fmkit", "imports"))
    ap.add_argument("--model")
    ap.add_argument("--imgsz", type=int)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--photos", type=int, default=16)
    ap.add_argument("paths", nargs="*")
    args = ap.parse_args()
    if args.child:
        return _child(args.child, args.model, args.paths, args.imgsz)

    env = {**os.environ, "YOLO_CONFIG_DIR": str(WORK / "yolo-config"), "FMKIT_HOME": str(WORK / "fmkit-home"),
           "MPLCONFIGDIR": str(WORK / "mpl"), "YOLO_OFFLINE": "1", "YOLO_AUTOINSTALL": "False", "FMKIT_OFFLINE": "1",
           "YOLO_VERBOSE": "False", "OMP_WAIT_POLICY": "PASSIVE"}
    model = build_model(WORK / "model")
    photos = make_photos(WORK / "photos", args.photos)
    print(f"MobileSAM-shaped random weights; {len(photos)} photos x {len(BOXES)} boxes; CPU, "
          f"{len(os.sched_getaffinity(0))} cores; fresh process per run; load average {os.getloadavg()[0]:.1f}")
    runs: dict[str, list[dict]] = {name: [] for name in ROWS}
    for i in range(args.rounds):
        for name, (mode, imgsz) in ROWS.items():
            r = measure(mode, model, photos, imgsz, env)
            runs[name].append(r)
            print(f"  round {i + 1} {name:30s}: {r['s_per_image']:6.3f} s/image, peak RSS {r['peak_rss_mb']:6.0f} MB, "
                  f"{r['masks']} masks, {r['total_s']:5.1f} s in all", flush=True)
    med = {name: {k: statistics.median(r[k] for r in rs) for k in ("s_per_image", "peak_rss_mb", "total_s")}
           for name, rs in runs.items()}
    print(f"\nmedians of {args.rounds} interleaved rounds; load average now {os.getloadavg()[0]:.1f}")
    print(f"{'':32s} {'s/image':>8s} {'peak RSS MB':>12s} {'total s':>8s}")
    for name, m in med.items():
        print(f"{name:32s} {m['s_per_image']:8.3f} {m['peak_rss_mb']:12.0f} {m['total_s']:8.1f}")
    base = med[BASELINE]
    for name, label in (("fmkit laptop profile", "laptop profile, imgsz 768"),
                        ("fmkit, imgsz 1024", "same input size, 1024")):
        m = med[name]
        print(f"fmkit vs {BASELINE} ({label}): {base['s_per_image'] / m['s_per_image']:.2f}x faster per image "
              f"(target >= 1.2x), {m['peak_rss_mb'] / base['peak_rss_mb']:.2f}x peak RSS (target <= 0.8x)")
    same = med["SAM(...), imgsz=768"]
    m = med["fmkit laptop profile"]
    print(f"fmkit vs SAM(...), imgsz=768 (both at 768): {same['s_per_image'] / m['s_per_image']:.2f}x faster per "
          f"image, {m['peak_rss_mb'] / same['peak_rss_mb']:.2f}x peak RSS")
    floor = med["imports only (both pay it)"]["peak_rss_mb"]
    print(f"fmkit vs {BASELINE} (laptop profile), peak RSS above the imports both pay: "
          f"{(m['peak_rss_mb'] - floor) / (base['peak_rss_mb'] - floor):.2f}x "
          f"({m['peak_rss_mb'] - floor:.0f} vs {base['peak_rss_mb'] - floor:.0f} MB)")


WORK = Path(tempfile.mkdtemp(prefix="fmkit-bench-segment-"))

if __name__ == "__main__":
    try:
        main()
    finally:
        shutil.rmtree(WORK, ignore_errors=True)
