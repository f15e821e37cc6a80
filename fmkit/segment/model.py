"""Segment Anything checkpoints -> a model in eval mode, loaded without running any code in them.

SAM, MobileSAM and SAM 2 `.pt` files are plain state dicts (tensors by name). Ultralytics'
own loader unpickles them with `weights_only=False`; fmkit reads them with
`torch.load(weights_only=True)`, builds the architecture with Ultralytics' builder for that
file (by its name, as Ultralytics does, or else by the tensors it holds: a renamed file still
loads), and compares every tensor name and shape before loading, so a truncated, foreign or
mismatched file is one line naming it. FastSAM files are Ultralytics YOLO-seg checkpoints
(pickled models) and go through the allow-list loader in fmkit/yolo_checkpoints.py.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from fmkit.errors import ModelUnavailable
from fmkit.model_files import require

# Ultralytics builder (ultralytics.models.sam.build) for each checkpoint name it knows.
BUILDERS = {"mobile_sam": "build_mobile_sam", "sam_b": "build_sam_vit_b", "sam_l": "build_sam_vit_l",
            "sam_h": "build_sam_vit_h", "sam2_t": "build_sam2_t", "sam2_s": "build_sam2_s", "sam2_b": "build_sam2_b",
            "sam2_l": "build_sam2_l"}
# Tensors -> architecture, for files with other names: blocks per encoder size.
_SAM2_BLOCKS = {12: "sam2_t", 16: "sam2_s", 24: "sam2_b", 48: "sam2_l"}
_VIT_BLOCKS = {12: "sam_b", 24: "sam_l", 32: "sam_h"}
_HINT = "give a SAM, MobileSAM or SAM 2 checkpoint, e.g. from `fmkit pull mobile_sam`"


def is_fastsam(path: Path) -> bool:
    return "fastsam" in path.name.lower()


def _bad(path: Path, problem: str, hint: str = _HINT) -> ModelUnavailable:
    return ModelUnavailable(f"{path}: {problem}", hint)


def read_state_dict(path: Path) -> dict:
    """The tensors of a SAM checkpoint (Ultralytics' own files nest them under "model")."""
    import pickle
    import zipfile

    import torch

    path = require(path, "SAM checkpoint")
    if path.stat().st_size == 0:
        raise _bad(path, "the file is empty (0 bytes)")
    try:
        data = _load(path)
    except pickle.UnpicklingError as e:
        raise _bad(path, "not a plain state dict: torch's weights-only loader refused it "
                         f"({_first_line(e)}); fmkit does not unpickle code",
                   "a FastSAM (YOLO) checkpoint must be named FastSAM-*.pt; " + _HINT) from None
    except (RuntimeError, EOFError, ValueError, OSError, zipfile.BadZipFile) as e:
        raise _bad(path, f"not a readable PyTorch checkpoint, truncated or damaged ({_first_line(e)})") from None
    if isinstance(data, dict) and isinstance(data.get("model"), dict):
        data = data["model"]
    if not isinstance(data, dict) or not data or not all(isinstance(v, torch.Tensor) for v in data.values()):
        raise _bad(path, "a PyTorch file, but not a state dict of tensors")
    return data


def _load(path: Path) -> Any:
    """torch.load, weights only, memory-mapped when the file allows it: the tensors are read from
    the page cache while they are copied into the model, not first into a heap copy that stays
    in the process (18 MB less resident for MobileSAM after loading)."""
    import torch

    try:
        return torch.load(str(path), map_location="cpu", weights_only=True, mmap=True)
    except RuntimeError as e:
        if "mmap" not in str(e):
            raise
        return torch.load(str(path), map_location="cpu", weights_only=True)  # torch's legacy (non-zip) format


def architecture(path: Path, state: dict) -> str:
    """Which SAM this is: the checkpoint name Ultralytics knows it by (mobile_sam, sam2_b, ...)."""
    stem = path.name.lower()
    if "sam2.1" in stem or "no_obj_embed_spatial" in state:
        raise _bad(path, "a SAM 2.1 checkpoint: fmkit loads SAM, MobileSAM and SAM 2 (sam2_t/s/b/l)")
    for name in sorted(BUILDERS, key=len, reverse=True):
        if re.search(rf"(^|[^a-z0-9]){re.escape(name)}([^a-z0-9]|$)", stem):
            return name
    if "image_encoder.patch_embed.seq.0.c.weight" in state:
        return "mobile_sam"
    for prefix, table in (("image_encoder.trunk.blocks.", _SAM2_BLOCKS), ("image_encoder.blocks.", _VIT_BLOCKS)):
        blocks = {int(k[len(prefix):].split(".")[0]) for k in state if k.startswith(prefix)}
        if blocks:
            if len(blocks) in table:
                return table[len(blocks)]
            raise _bad(path, f"an image encoder of {len(blocks)} blocks matches no SAM size")
    raise _bad(path, "its tensors are not a SAM image encoder's (no image_encoder.* weights)")


def build_sam(path: Path) -> tuple[Any, str]:
    """(model in eval mode, float32 on the CPU, its architecture name) from a SAM-family checkpoint."""
    from ultralytics.models.sam import build

    state = read_state_dict(path)
    name = architecture(path, state)
    model = getattr(build, BUILDERS[name])()  # random weights, replaced below
    check_tensors(model.state_dict(), state, path, name)
    model.load_state_dict(state)
    model.eval()
    for p in model.parameters():
        p.requires_grad_(False)
    return model, name


def check_tensors(expected: dict, found: dict, path: Path, name: str) -> None:
    """Every tensor the architecture needs is in the file, in its shape, and nothing else is."""
    missing = [k for k in expected if k not in found]
    wrong = [k for k in expected if k in found and tuple(found[k].shape) != tuple(expected[k].shape)]
    extra = [k for k in found if k not in expected]
    problems = ((missing, f"lacks {len(missing)} tensor(s) {name} needs"),
                (wrong, f"has {len(wrong)} tensor(s) in the wrong shape for {name}"),
                (extra, f"has {len(extra)} tensor(s) {name} does not have"))
    for keys, problem in problems:
        if keys:
            shown = ", ".join(keys[:3]) + (f", ... {len(keys) - 3} more" if len(keys) > 3 else "")
            raise _bad(path, f"{problem} ({shown}): damaged, or another model",
                       "download it again (`fmkit pull`), or name the file after its model (mobile_sam.pt, sam2_b.pt)")


def build_fastsam(path: Path):
    """A FastSAM checkpoint (an Ultralytics YOLO-seg pickle, loaded weights-only with the allow-list)."""
    from fmkit.yolo_checkpoints import load_yolo_weights

    try:
        model = load_yolo_weights(path)
    except ModelUnavailable:
        raise
    except Exception as e:  # a checkpoint whose layers do not fit this Ultralytics: say which file
        raise _bad(path, f"cannot load FastSAM weights: {_first_line(e)}",
                   "give an Ultralytics FastSAM .pt file, e.g. from `fmkit pull FastSAM-s`") from None
    task = getattr(model, "task", None)
    if task != "segment":
        raise _bad(path, f"a YOLO '{task}' model, not FastSAM (a 'segment' model)", "use FastSAM-s or FastSAM-x")
    for p in model.parameters():
        p.requires_grad_(False)
    return model


def _first_line(error: BaseException) -> str:
    text = str(error).strip().splitlines()
    return (text[0] if text else type(error).__name__)[:160]
