"""The model of a segment run, loaded once per process: a SAM-family predictor or FastSAM, on the
profile's device, at its input size, and what the run should tell its user about it."""

from __future__ import annotations

import os
from pathlib import Path

from fmkit import catalog, hardware
from fmkit.errors import ModelUnavailable
from fmkit.gc_pause import while_loading
from fmkit.profiles import Settings
from fmkit.segment.model import build_fastsam, build_sam, is_fastsam
from fmkit.segment.predictor import fold_batchnorm

MULTIPLE = 64  # encoder input sides that every SAM family tiles without remainder


class Segmenter:
    """`predictor.segment(boxed, shape, prompts)` for this run's model; `label`, `notes`, `run_key`."""

    @while_loading
    def __init__(self, settings: Settings):
        import torch

        cfg = self.cfg = settings.segment
        self.device = hardware.resolve_device(settings.runtime.device)
        hardware.apply_threads(settings.runtime.threads)
        if not settings.runtime.threads and torch.get_num_threads() < len(os.sched_getaffinity(0)):
            torch.set_num_threads(len(os.sched_getaffinity(0)))  # importing ultralytics may set OMP_NUM_THREADS=1
        self.source = catalog.resolve(cfg.model)
        if self.source.kind not in ("local", "yolo-asset") or Path(self.source.location).is_dir():
            raise ModelUnavailable(f"'{cfg.model}' is not a segmentation checkpoint fmkit can load",
                                   "use mobile_sam, sam2_t, sam2_b, sam_b, FastSAM-s or a .pt file")
        self.label = self.source.label
        self.half = bool(cfg.half and self.device.startswith("cuda"))
        self.bf16 = self.device == "cpu" and settings.runtime.dtype == "bfloat16"
        self.imgsz = -(-cfg.imgsz // MULTIPLE) * MULTIPLE
        self.fastsam = is_fastsam(Path(self.source.location))
        dtype = "half" if self.half else "float32"
        if self.fastsam:
            from fmkit.segment.fastsam import FastSamPredictor

            model = catalog.load_once(self.source, self.device, dtype, self._fastsam)
            self.architecture = "FastSAM"
            self.predictor = FastSamPredictor(model, self.device, self.imgsz, cfg, self.half)
        else:
            from fmkit.segment.predictor import SamPredictor

            model, self.architecture = catalog.load_once(self.source, self.device, dtype, self._sam, self.imgsz)
            family = "sam2" if self.architecture.startswith("sam2") else "sam"
            self.predictor = SamPredictor(model, family, self.device, self.imgsz, cfg, self.half, self.bf16)
        self.notes = [note for note, shown in (
            ("--half needs a CUDA GPU; running in float32", cfg.half and not self.half),
            (f"imgsz {cfg.imgsz} rounded up to {self.imgsz} (a multiple of {MULTIPLE})", self.imgsz != cfg.imgsz),
        ) if shown]

    def _sam(self, path: Path):
        import torch

        model, name = build_sam(path)
        model.set_imgsz([self.imgsz, self.imgsz])
        fold_batchnorm(model.image_encoder)
        model = model.to(self.device).to(memory_format=torch.channels_last)
        return (model.half() if self.half else model), name

    def _fastsam(self, path: Path):
        import torch

        model = build_fastsam(path).to(self.device).to(memory_format=torch.channels_last)
        return model.half() if self.half else model

    def run_key(self) -> dict:
        """The model and the parameters that decide the masks (prompts are added by the run)."""
        cfg = self.cfg
        key = {"model": self.label, "architecture": self.architecture, "imgsz": self.imgsz, "half": self.half,
               "bfloat16": self.bf16}
        if self.fastsam:
            return {**key, "conf": cfg.fastsam_conf, "nms_iou": cfg.nms_iou, "max_masks": cfg.max_masks}
        return {**key, "points_per_side": cfg.points_per_side, "min_score": cfg.min_score,
                "min_stability": cfg.min_stability, "nms_iou": cfg.nms_iou, "max_masks": cfg.max_masks}
