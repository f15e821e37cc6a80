"""YOLO object detection: load a detector once, stream images through it in batches.

Why not `YOLO(...).predict(folder)`: it decodes with cv2 (a bad file is a warning, not a
result), writes into runs/detect/predictN, and its CLI runs torch on one thread (the
package sets OMP_NUM_THREADS=1 on import). fmkit decodes itself (one line per bad file),
letterboxes each image exactly as Ultralytics does for a single image (minimal rectangle,
stride-aligned, so the detections are the ones `yolo predict` gives), stacks images of the
same letterboxed shape into one forward pass, and runs Ultralytics' own NMS and box scaling.
Decoding and letterboxing run in a worker thread ahead of inference, bounded to about two
batches of 640-pixel copies (originals are kept only when annotated copies are written), so
memory stays flat however many images, and however large, a folder holds. One such thread,
not more: torch already uses every core, and more busy threads stall its OpenMP barriers.
"""

from __future__ import annotations

import functools
import time
from collections import Counter, deque
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Iterator

from fmkit import catalog, hardware
from fmkit.errors import BadInput, ModelUnavailable
from fmkit.gc_pause import while_loading
from fmkit.profiles import Settings
from fmkit.io.images import ImageError, decode
from fmkit.io.sources import Source


@dataclass
class Detection:
    class_id: int
    label: str
    confidence: float
    x1: float
    y1: float
    x2: float
    y2: float

    def to_dict(self) -> dict:
        return {"class_id": self.class_id, "label": self.label, "confidence": round(self.confidence, 4),
                "box": {"x1": round(self.x1, 1), "y1": round(self.y1, 1), "x2": round(self.x2, 1), "y2": round(self.y2, 1)}}


@dataclass
class DetectResult:
    """Detections for one source, or the reason it failed. `image` (RGB array) is kept only
    until the annotated copy is written; it is never serialised. In a notebook it shows itself:
    the image with its boxes (read again from `uri`) and the table."""

    source: str
    model: str
    width: int | None = None
    height: int | None = None
    detections: list[Detection] = field(default_factory=list)
    seconds: float = 0.0
    error: str | None = None
    outputs: dict[str, str] = field(default_factory=dict)
    name: str = ""
    uri: str = ""
    identity: dict | None = field(default=None, repr=False)
    image: Any = field(default=None, repr=False)
    origin: Any = field(default=None, repr=False)  # the Source it came from

    @property
    def ok(self) -> bool:
        return self.error is None

    def to_dict(self) -> dict:
        if self.error:
            return {"source": self.source, "error": self.error, "model": self.model}
        d = {"source": self.source, "width": self.width, "height": self.height,
             "detections": [x.to_dict() for x in self.detections], "model": self.model,
             "seconds": round(self.seconds, 4)}
        if self.outputs:
            d["outputs"] = self.outputs
        return d

    def _repr_mimebundle_(self, include=None, exclude=None) -> dict:
        from fmkit.render.notebook import detect_bundle

        return detect_bundle(self)


@dataclass
class RunSummary:
    """Totals for a run: what people read under the tables."""

    images: int = 0
    failed: int = 0
    detections: int = 0
    counts: Counter = field(default_factory=Counter)
    seconds: float = 0.0  # wall time from the first image in to the last result out

    def add(self, result: DetectResult) -> None:
        if result.ok:
            self.images += 1
            self.detections += len(result.detections)
            self.counts.update(d.label for d in result.detections)
        else:
            self.failed += 1

    @property
    def images_per_second(self) -> float:
        return self.images / self.seconds if self.seconds > 0 else 0.0

    def to_dict(self) -> dict:
        return {"images": self.images, "failed": self.failed, "detections": self.detections,
                "counts": dict(self.counts.most_common()), "seconds": round(self.seconds, 3),
                "images_per_second": round(self.images_per_second, 2)}


# --- the model ---------------------------------------------------------------------------------


def _no_analytics() -> None:
    """Ultralytics' settings say sync=True by default (usage analytics). environment.prepare()
    already sets YOLO_OFFLINE=1, which blocks sending; this records the choice in fmkit's own
    Ultralytics settings file too ($YOLO_CONFIG_DIR, under FMKIT_HOME)."""
    from ultralytics.utils import SETTINGS

    if SETTINGS.get("sync"):
        SETTINGS.update(sync=False)


def _build(path: Path, source: catalog.ModelSource):
    """Weights file or model yaml -> fused DetectionModel in eval mode (float32, on CPU)."""
    from ultralytics.nn.tasks import DetectionModel, guess_model_task

    _no_analytics()

    if source.kind == "yolo-yaml" or path.suffix.lower() in (".yaml", ".yml"):
        try:
            model = DetectionModel(str(path), verbose=False)
        except Exception as e:  # a bad yaml: Ultralytics raises many kinds
            raise ModelUnavailable(f"cannot build a YOLO model from {path}: {str(e).splitlines()[0][:200]}",
                                   "give a model yaml such as yolo11n.yaml, or a .pt weights file") from None
        if set(map(str, model.names.values())) == {str(i) for i in range(len(model.names))} and len(model.names) == 80:
            from ultralytics.utils import ROOT, YAML

            model.names = dict(YAML.load(ROOT / "cfg/datasets/coco.yaml")["names"])
        model = model.fuse().eval()
    else:
        if path.is_dir():
            found = sorted(path.glob("*.pt"))
            if len(found) != 1:
                raise ModelUnavailable(f"folder {path} holds {len(found)} .pt files", "give the weights file itself")
            path = found[0]
        from fmkit.model_files import load_yolo_weights

        try:  # weights-only unpickling with an allow-list: a .pt that wants to run code is refused
            model = load_yolo_weights(path)
        except ModelUnavailable:
            raise
        except Exception as e:  # a checkpoint whose layers do not fit this Ultralytics: say which file
            raise ModelUnavailable(f"cannot load YOLO weights from {path}: {str(e).splitlines()[0][:200]}",
                                   "give an Ultralytics .pt file, e.g. from `fmkit pull yolo11n`") from None
    task = getattr(model, "task", None) or guess_model_task(model)
    if task != "detect":
        raise ModelUnavailable(f"{path.name} is a '{task}' model, not a detector", "use a YOLO detection model")
    for p in model.parameters():
        p.requires_grad_(False)
    return model


class Detector:
    """A loaded YOLO detector plus this run's thresholds; `detect(images)` is one batch."""

    @while_loading
    def __init__(self, settings: Settings, classes: str | None = None):
        import torch

        self.cfg = settings.detect
        self.device = hardware.resolve_device(settings.runtime.device)
        hardware.apply_threads(settings.runtime.threads)
        if not settings.runtime.threads and torch.get_num_threads() < (_cores() or 1):
            torch.set_num_threads(_cores())  # undo OMP_NUM_THREADS=1 that importing ultralytics may set
        self.source = catalog.resolve(self.cfg.model)
        if self.source.kind == "hub":
            raise ModelUnavailable(f"'{self.cfg.model}' is not a YOLO model fmkit can load",
                                   "use an alias (yolo11n ...), a .pt weights file or a model yaml such as yolo11n.yaml")
        self.half = bool(self.cfg.half and self.device.startswith("cuda"))
        # runtime.dtype = "bfloat16" on CPU: float32 weights, convolutions autocast to bfloat16
        # (fast on CPUs with AVX-512 BF16/AMX; boxes and scores move slightly, see the tests).
        self.bf16 = self.device == "cpu" and settings.runtime.dtype == "bfloat16"
        model = catalog.load_once(self.source, self.device, "half" if self.half else "float32",
                                  lambda p: _build(p, self.source))
        self.model = (model.half() if self.half else model).to(self.device)
        if self.bf16:
            _float32_head(self.model)
        # channels_last lets oneDNN pick its fast convolution kernels on CPU: same float32
        # maths, measured 42 -> 25 ms per image for yolo11n at 480x640 on 2 cores.
        self.channels_last = self.device == "cpu"
        if self.channels_last:
            self.model = self.model.to(memory_format=torch.channels_last)
        names = model.names
        self.names: dict[int, str] = dict(enumerate(names)) if isinstance(names, (list, tuple)) else dict(names)
        self.stride = max(int(model.stride.max()), 32)
        self.imgsz = _round_up(self.cfg.imgsz, self.stride)
        self.classes = self.parse_classes(classes)
        self.label = self.source.label
        self.random_weights = self.source.kind == "yolo-yaml" or str(self.source.location).lower().endswith((".yaml", ".yml"))

    @property
    def run_key(self) -> dict:
        """The model and parameters that decide the detections: a stored result made with the
        same ones can be reused (outputs.py), and the gallery shows them."""
        return {"model": self.label, "conf": self.cfg.conf, "iou": self.cfg.iou, "imgsz": self.imgsz,
                "max_det": self.cfg.max_det, "classes": self.classes, "half": self.half, "bfloat16": self.bf16}

    def parse_classes(self, text: str | None) -> list[int] | None:
        """'person,car' or '0,2' -> class ids; an unknown name lists the valid ones."""
        if text is None or not text.strip():
            return None
        by_name = {v.lower(): k for k, v in self.names.items()}
        ids = []
        for item in (t.strip() for t in text.split(",")):
            if not item:
                continue
            if item.isdigit() and int(item) in self.names:
                ids.append(int(item))
            elif item.lower() in by_name:
                ids.append(by_name[item.lower()])
            else:
                import difflib

                close = difflib.get_close_matches(item.lower(), list(by_name), n=1)
                hint = f"did you mean '{close[0]}'? " if close else ""
                raise BadInput(f"unknown class '{item}' for model {self.source.label}",
                               f"{hint}valid: {', '.join(self.names.values())} (or ids 0-{len(self.names) - 1})")
        return sorted(set(ids))

    def letterbox(self, image):
        """RGB (H, W, 3) -> padded (h, w, 3) as Ultralytics' LetterBox(auto=True) for one image."""
        import cv2

        h0, w0 = image.shape[:2]
        r = min(self.imgsz / h0, self.imgsz / w0)
        w1, h1 = max(round(w0 * r), 1), max(round(h0 * r), 1)
        dw, dh = (self.imgsz - w1) % self.stride / 2, (self.imgsz - h1) % self.stride / 2
        if (w1, h1) != (w0, h0):
            image = cv2.resize(image, (w1, h1), interpolation=cv2.INTER_LINEAR)
        top, bottom = round(dh - 0.1), round(dh + 0.1)
        left, right = round(dw - 0.1), round(dw + 0.1)
        return cv2.copyMakeBorder(image, top, bottom, left, right, cv2.BORDER_CONSTANT, value=(114, 114, 114))

    def detect(self, images: list) -> list[list[Detection]]:
        """RGB arrays -> detections per image (original pixel coordinates), same order."""
        return self.detect_letterboxed([(self.letterbox(im), im.shape) for im in images])

    def detect_letterboxed(self, items: list[tuple]) -> list[list[Detection]]:
        """[(letterboxed RGB array, original shape)] -> detections per image, same order.

        Images whose letterboxed shapes match share one forward pass (a batch of 8 photos in
        two orientations is two passes), so each image gets the padding `yolo predict` gives it."""
        import numpy as np
        import torch
        from ultralytics.utils import nms, ops

        groups: dict[tuple, list[int]] = {}
        for i, (boxed, _) in enumerate(items):
            groups.setdefault(boxed.shape, []).append(i)
        out: list[list[Detection]] = [[] for _ in items]
        for shape, idx in groups.items():
            x = torch.from_numpy(np.stack([items[i][0] for i in idx])).to(self.device)
            x = x.permute(0, 3, 1, 2)  # NHWC memory viewed as NCHW: already channels_last
            x = x.contiguous(memory_format=torch.channels_last if self.channels_last else torch.contiguous_format)
            x = (x.half() if self.half else x.float()).div_(255)
            with torch.inference_mode(), torch.autocast("cpu", dtype=torch.bfloat16, enabled=self.bf16):
                preds = self.model(x)
                kept = nms.non_max_suppression(preds, self.cfg.conf, self.cfg.iou, self.classes,
                                               max_det=self.cfg.max_det,
                                               end2end=getattr(self.model, "end2end", False))
                for i, det in zip(idx, kept):
                    det = det.float().cpu()  # bfloat16 boxes would round to 2-3 significant digits
                    det[:, :4] = ops.scale_boxes(shape[:2], det[:, :4], items[i][1])
                    out[i] = [Detection(int(c), self.names.get(int(c), str(int(c))), float(s), *map(float, b))
                              for *b, s, c in det[:, :6].tolist()]
        return out


def _float32_head(model) -> None:
    """Run the Detect head outside autocast: in bfloat16 its box decoding (distances times
    stride, in pixels up to the image size) rounds coordinates to multiples of 4-8 pixels."""
    import torch

    head = model.model[-1]
    if getattr(head, "_fmkit_float32", False):
        return
    forward = head.forward

    def float32_forward(x, *args, **kwargs):
        with torch.autocast("cpu", enabled=False):
            return forward([t.float() for t in x], *args, **kwargs)

    head.forward = float32_forward
    head._fmkit_float32 = True


def _round_up(n: int, stride: int) -> int:
    return max(stride, -(-n // stride) * stride)


def _cores() -> int:
    import os

    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1


# --- the streaming run ----------------------------------------------------------------------


SKIPPED = "skipped: its result is already there"  # a marker, never shown: skipped sources yield nothing


def _load(detector: Detector, keep_image: bool, skip, source: Source):
    """Decode and letterbox one source in the worker thread.

    Returns (source, letterboxed array, original shape, original image or None, error, seconds):
    only the small letterboxed copy waits for the model, unless annotated copies need the original.
    """
    start = time.perf_counter()
    if source.error:
        return source, None, None, None, source.error, 0.0
    if skip is not None and skip(source):  # here, in the decode thread: a bucket's HEAD/GET overlaps inference
        return source, None, None, None, SKIPPED, 0.0
    try:
        image = decode(source)
    except ImageError as e:
        return source, None, None, None, str(e), time.perf_counter() - start
    boxed = detector.letterbox(image)
    return source, boxed, image.shape, image if keep_image else None, None, time.perf_counter() - start


def run(detector: Detector, sources: Iterable[Source], batch_size: int | None = None,
        keep_images: bool = False, workers: int = 1, skip=None) -> Iterator[DetectResult]:
    """Detect objects in every source, in input order, `batch_size` images per forward pass.

    At most about two batches are decoded ahead; failures come back as results with `error`.
    `keep_images` leaves the decoded RGB array on each result (for annotated copies); sources
    for which `skip(source)` is true (checked in the decode thread) yield no result.
    """
    batch_size = batch_size or detector.cfg.batch_size
    ahead = 2 * batch_size
    load = functools.partial(_load, detector, keep_images, skip)
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="fmkit-decode") as pool:
        pending: deque = deque()
        it = iter(sources)
        exhausted = False
        while True:
            while not exhausted and len(pending) < ahead:
                try:
                    pending.append(pool.submit(load, next(it)))
                except StopIteration:
                    exhausted = True
            if not pending:
                return
            window = [pending.popleft().result() for _ in range(min(batch_size, len(pending)))]
            yield from _infer(detector, window)


def _infer(detector: Detector, window: list) -> list[DetectResult]:
    window = [w for w in window if w[4] is not SKIPPED]
    ok = [w for w in window if w[4] is None]
    start = time.perf_counter()
    found = detector.detect_letterboxed([(boxed, shape) for _, boxed, shape, *_ in ok]) if ok else []
    share = (time.perf_counter() - start) / max(len(ok), 1)
    by_source = {id(w[0]): dets for w, dets in zip(ok, found)}
    results = []
    for s, _, shape, image, err, t in window:
        if err is not None:
            results.append(DetectResult(s.label, detector.label, error=err, seconds=t, name=s.name, uri=s.uri,
                                        origin=s))
            continue
        results.append(DetectResult(s.label, detector.label, width=int(shape[1]), height=int(shape[0]),
                                   detections=by_source[id(s)], seconds=t + share, name=s.name, image=image,
                                   uri=s.uri, origin=s))
    return results
