"""The model of a segment run, loaded once per process: a SAM-family predictor or FastSAM, on the
profile's device, at its input size, and what the run should tell its user about it."""

from __future__ import annotations

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
        if not settings.runtime.threads and torch.get_num_threads() < hardware.usable_cores():
            torch.set_num_threads(hardware.usable_cores())  # importing ultralytics may set OMP_NUM_THREADS=1
        self.source = catalog.resolve(cfg.model)
        if self.source.kind not in ("local", "yolo-asset") or Path(self.source.location).is_dir():
            raise ModelUnavailable(f"'{cfg.model}' is not a segmentation checkpoint fmkit can load",
                                   "use mobile_sam, sam2_t, sam2_b, sam_b, FastSAM-s or a .pt file")
        self.label = self.source.label
        self.dtype = encoder_dtype(cfg.dtype, self.device)
        self.imgsz = -(-cfg.imgsz // MULTIPLE) * MULTIPLE
        self.fastsam = is_fastsam(Path(self.source.location))
        if self.fastsam:  # float16 on CUDA only: bfloat16 boxes on a CPU round to several pixels (see detect)
            from fmkit.segment.fastsam import FastSamPredictor

            model = catalog.load_once(self.source, self.device, "float32", self._fastsam)
            self.architecture = "FastSAM"
            self.dtype = "float16" if self.dtype == "float16" else "float32"
            self.predictor = FastSamPredictor(model, self.device, self.imgsz, cfg, self.dtype)
        else:
            from fmkit.segment.predictor import SamPredictor

            model, self.architecture = catalog.load_once(self.source, self.device, "float32", self._sam, self.imgsz)
            family = "sam2" if self.architecture.startswith("sam2") else "sam"
            self.predictor = SamPredictor(model, family, self.device, self.imgsz, cfg, self.dtype)
        self.notes = [note for note, shown in (
            (f"segment.dtype {cfg.dtype} needs a CUDA GPU; the encoder runs in float32",
             cfg.dtype == "float16" and self.dtype != "float16"),
            (f"segment.dtype {cfg.dtype}: " + ("FastSAM runs in float32 here" if self.fastsam else
                                                f"this GPU has no bfloat16; the encoder runs in {self.dtype}"),
             cfg.dtype == "bfloat16" and self.dtype != "bfloat16"),
            (f"imgsz {cfg.imgsz} rounded up to {self.imgsz} (a multiple of {MULTIPLE})", self.imgsz != cfg.imgsz),
        ) if shown]

    def _sam(self, path: Path):
        import torch

        model, name = build_sam(path)
        model.set_imgsz([self.imgsz, self.imgsz])
        fold_batchnorm(model.image_encoder)
        return model.to(self.device).to(memory_format=torch.channels_last), name

    def _fastsam(self, path: Path):
        import torch

        return build_fastsam(path).to(self.device).to(memory_format=torch.channels_last)

    def run_key(self) -> dict:
        """The model and the parameters that decide the masks (prompts are added by the run)."""
        cfg = self.cfg
        key = {"model": self.label, "architecture": self.architecture, "imgsz": self.imgsz, "dtype": self.dtype}
        if self.fastsam:
            return {**key, "conf": cfg.fastsam_conf, "nms_iou": cfg.nms_iou, "max_masks": cfg.max_masks}
        return {**key, "points_per_side": cfg.points_per_side, "min_score": cfg.min_score,
                "min_stability": cfg.min_stability, "nms_iou": cfg.nms_iou, "max_masks": cfg.max_masks}


def encoder_dtype(setting: str, device: str) -> str:
    """segment.dtype -> what the encoder computes in here. auto: float16 on CUDA, bfloat16 on a
    CPU that runs it natively (MobileSAM's encoder at 768 px: 0.18-0.25 s instead of 0.40 s on
    this course's 2-core AVX-512 BF16 CPU), float32 elsewhere; float16 only on CUDA."""
    cuda = device.startswith("cuda")
    if setting == "auto":
        return "float16" if cuda else "bfloat16" if device == "cpu" and hardware.cpu_has_native_bf16() else "float32"
    if setting == "bfloat16" and cuda:
        import torch

        return "bfloat16" if torch.cuda.is_bf16_supported() else "float16"  # autocast refuses bf16 there
    return "float32" if setting == "float16" and not cuda else setting
