"""A YOLO detector, loaded once: its weights on the profile's device, this run's thresholds, and
one batched forward pass over frames (fmkit/detect/frames.py) with Ultralytics' own NMS and box
scaling.

Why not `YOLO(...).predict(folder)`: it decodes with cv2 (a bad file is a warning, not a
result), writes into runs/detect/predictN, and its CLI runs torch on one thread (the package
sets OMP_NUM_THREADS=1 on import). fmkit decodes itself (one line per bad file), letterboxes each
image exactly as Ultralytics does for a single image (minimal rectangle, stride-aligned, so the
detections are the ones `yolo predict` gives), and stacks images of the same letterboxed shape
into one forward pass.
"""

from __future__ import annotations

from pathlib import Path

from fmkit import catalog, hardware
from fmkit.detect.frames import CpuFrames, DeviceFrames, Frame
from fmkit.detect.results import Detection
from fmkit.errors import BadInput, ModelUnavailable
from fmkit.gc_pause import while_loading
from fmkit.profiles import Settings


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
        from fmkit.yolo_checkpoints import load_yolo_weights

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
    """A loaded YOLO detector plus this run's thresholds; `detect_frames(frames)` is one batch."""

    @while_loading
    def __init__(self, settings: Settings, classes: str | None = None):
        import torch

        self.cfg = settings.detect
        self.device = hardware.resolve_device(settings.runtime.device)
        hardware.apply_threads(settings.runtime.threads)
        if not settings.runtime.threads and torch.get_num_threads() < hardware.usable_cores():
            torch.set_num_threads(hardware.usable_cores())  # undo OMP_NUM_THREADS=1 that importing ultralytics may set
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
        # maths, measured 42 -> 25 ms per image for yolo11n at 480x640 on 2 cores. On CUDA it
        # is cuDNN's native layout for tensor-core convolutions (not yet measured there).
        self.channels_last = self.device == "cpu" or self.device.startswith("cuda")
        if self.channels_last:
            self.model = self.model.to(memory_format=torch.channels_last)
        if self.device.startswith("cuda"):
            # A folder of photos has a few letterboxed shapes: cuDNN picks the fastest kernels
            # for each once, instead of a heuristic guess at every batch.
            torch.backends.cudnn.benchmark = True
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
        same ones can be reused (runs/folder.py), and the gallery shows them."""
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

    def frames(self):
        """How sources become frames for this detector: decoded and letterboxed on its GPU
        (DeviceFrames), or in one CPU thread beside the model (CpuFrames)."""
        if self.device.startswith("cuda"):
            return DeviceFrames(self.imgsz, self.stride, self.device)
        return CpuFrames(self.imgsz, self.stride)

    def detect_frames(self, frames: list[Frame]) -> list[list[Detection]]:
        """Ready frames -> detections per frame (original pixel coordinates), same order.

        Frames whose letterboxed shapes match share one forward pass (a batch of 8 photos in
        two orientations is two passes), so each image gets the padding `yolo predict` gives it."""
        import torch
        from ultralytics.utils import nms, ops

        groups: dict[tuple, list[int]] = {}
        for i, frame in enumerate(frames):
            groups.setdefault(frame.boxed_size, []).append(i)
        out: list[list[Detection]] = [[] for _ in frames]
        for size, idx in groups.items():
            x = self._batch([frames[i].boxed for i in idx])
            with torch.inference_mode(), torch.autocast("cpu", dtype=torch.bfloat16, enabled=self.bf16):
                preds = self.model(x)
                kept = nms.non_max_suppression(preds, self.cfg.conf, self.cfg.iou, self.classes,
                                               max_det=self.cfg.max_det,
                                               end2end=getattr(self.model, "end2end", False))
                for i, det in zip(idx, kept):
                    det = det.float().cpu()  # bfloat16 boxes would round to 2-3 significant digits
                    det[:, :4] = ops.scale_boxes(size, det[:, :4], frames[i].shape)
                    out[i] = [Detection(int(c), self.names.get(int(c), str(int(c))), float(s), *map(float, b))
                              for *b, s, c in det[:, :6].tolist()]
        return out

    def _batch(self, boxed: list):
        """Letterboxed images of one shape -> the model's input: (n, 3, h, w), 0-1, its dtype and layout."""
        import numpy as np
        import torch

        if isinstance(boxed[0], np.ndarray):  # (h, w, 3) uint8: NHWC memory viewed as NCHW
            x = torch.from_numpy(np.stack(boxed)).to(self.device).permute(0, 3, 1, 2)
        else:  # (3, h, w) float tensors already on the device
            x = torch.stack(boxed)
        x = x.contiguous(memory_format=torch.channels_last if self.channels_last else torch.contiguous_format)
        return (x.half() if self.half else x.float()).div_(255)


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


