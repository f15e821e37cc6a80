"""Random-weight Segment Anything checkpoints for tests, built offline with Ultralytics' own
builders (ultralytics.models.sam.build) and saved as the plain state dicts the real files are.

No SAM weights ship in any PyPI package, so the tests load these through fmkit's real loader:
MobileSAM (TinyViT encoder, 10M weights, ~0.2 s to build) and SAM 2 tiny (Hiera, 39M, ~0.6 s),
named as Ultralytics names its release assets; and a tiny one-class YOLO-seg model saved as a
FastSAM checkpoint. Masks of random weights mean nothing: tests assert shapes, counts, RLE
round-trips and prompt handling, never mask quality.
"""

from __future__ import annotations

import os
from pathlib import Path


def build_sam(folder: Path, name: str = "mobile_sam") -> Path:
    """folder/<name>.pt: a random MobileSAM ("mobile_sam") or SAM 2 tiny ("sam2_t") state dict."""
    folder = Path(folder)
    path = folder / f"{name}.pt"
    if path.is_file():
        return path
    folder.mkdir(parents=True, exist_ok=True)
    os.environ.setdefault("YOLO_OFFLINE", "1")
    os.environ["YOLO_VERBOSE"] = "False"
    import torch
    from ultralytics.models.sam import build

    torch.manual_seed(0)
    model = {"mobile_sam": build.build_mobile_sam, "sam2_t": build.build_sam2_t}[name]()
    scores_like_a_trained_model(model)
    tmp = path.with_suffix(".part")
    torch.save(model.state_dict(), tmp)
    tmp.replace(path)
    return path


def scores_like_a_trained_model(model, score: float = 0.9) -> None:
    """Random weights predict IoU scores around 0 (MobileSAM: often negative), where a trained
    SAM's good masks score 0.8-1.0; Ultralytics' SAM(...) drops masks under conf 0.25. The last
    layer of the IoU head is scaled down and biased so scores sit near `score` and still vary."""
    import math

    import torch

    head = model.mask_decoder if hasattr(model, "mask_decoder") else model.sam_mask_decoder
    last = [m for m in head.iou_prediction_head.modules() if isinstance(m, torch.nn.Linear)][-1]
    logit = math.log(score / (1 - score))
    with torch.no_grad():
        last.weight.mul_(0.01)
        last.bias.fill_(logit if getattr(head.iou_prediction_head, "sigmoid", False) else score)


def build_fastsam(folder: Path) -> Path:
    """folder/FastSAM-tiny.pt: a one-class ("object") YOLO11-seg at a tiny width, saved as
    Ultralytics saves FastSAM (a pickled model whose task is "segment")."""
    folder = Path(folder)
    path = folder / "FastSAM-tiny.pt"
    if path.is_file():
        return path
    # Imported here: benchmarks/segment.py loads this file alone, for build_sam.
    from tiny_yolo import tiny_yaml

    cfg = tiny_yaml(folder, "yolo11-seg", nc=1)
    import torch
    from ultralytics import YOLO

    torch.manual_seed(0)
    model = YOLO(str(cfg), task="segment")
    model.model.names = {0: "object"}
    model.save(str(path))
    return path
