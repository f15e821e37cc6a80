"""Ultralytics .pt checkpoints (YOLO detectors, FastSAM; detect and segment both load them):
pickles, and unpickling can run code. They are loaded with torch's `weights_only=True` and an
allow-list of the classes YOLO weights are made of; a file that names anything else
(`os.system`, `builtins.eval`, ...) is refused before any of it runs, and the message says so
instead of calling it a corrupt file. Then the model is assembled as Ultralytics' own
load_checkpoint does (float32, fused, eval mode).

Shared by two capabilities, so it lives beside model_files.py rather than inside either.
Heavy imports (torch, ultralytics) happen only inside the functions that need them.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

from fmkit.errors import ModelUnavailable
from fmkit.model_files import require

_NN_MODULE_HOMES = ("torch.nn.modules.", "ultralytics.nn.modules.", "ultralytics.nn.tasks")
_DATA_HOMES = ("ultralytics.utils.loss", "ultralytics.utils.tal")  # a pickled training criterion
_GLOBAL_IN_ERROR = re.compile(r"GLOBAL ([\w.]+)")


class UnsafePickle(ModelUnavailable):
    """A .pt file that names a function or class outside the YOLO allow-list: unpickling could run code."""


def _bad_yolo(path: Path, problem: str) -> ModelUnavailable:
    return ModelUnavailable(f"cannot load YOLO weights from {path}: {problem}",
                            "give an Ultralytics .pt file, e.g. from `fmkit pull yolo11n`")


def _refuse(path: Path, name: str) -> UnsafePickle:
    return UnsafePickle(f"{path} is a pickle that wants to run code (GLOBAL {name[:120]}), not plain YOLO "
                        "weights; fmkit refused to load it and nothing in it ran",
                        "use weights from a source you trust, e.g. `fmkit pull yolo11n` or your own training run")


def _yolo_allowed(name: str) -> Any:
    """The object a checkpoint may name as `module.Name`, or None when it is not on the allow-list.

    Allowed: torch.nn and Ultralytics layer classes (nn.Module subclasses only), Ultralytics'
    loss/assigner classes, and the few data types real checkpoints hold (Ultralytics'
    IterableSimpleNamespace, numpy dtypes and scalars, paths), under old names too.
    """
    import importlib

    import torch

    fixed = _yolo_fixed_globals()
    if name in fixed:
        return fixed[name]
    module, _, attr = name.rpartition(".")
    if not module or not attr.isidentifier() or attr.startswith("_"):
        return None
    if module.startswith(_NN_MODULE_HOMES) or module in _DATA_HOMES:
        try:
            obj = getattr(importlib.import_module(module), attr, None)
        except ImportError:
            return None
        if isinstance(obj, type) and (issubclass(obj, torch.nn.Module) if module not in _DATA_HOMES
                                      else obj.__module__ == module):
            return obj
    return None


_FIXED: dict | None = None


def _yolo_fixed_globals() -> dict:
    """Data globals and legacy aliases of real Ultralytics checkpoints (as Ultralytics' own safe loader)."""
    global _FIXED
    if _FIXED is not None:
        return _FIXED
    import enum
    import pathlib
    import pickle

    import numpy as np
    import torch

    fixed: dict[str, Any] = {}
    scalar = np.float64(0).__reduce__()[0]
    for name in ("numpy.core.multiarray.scalar", "numpy._core.multiarray.scalar"):
        fixed[name] = scalar
    fixed["numpy.dtype"] = np.dtype
    for dtype in (np.float64, np.float32, np.int64, np.int32, np.bool_):
        cls = type(np.dtype(dtype))
        fixed[f"{cls.__module__}.{cls.__qualname__}"] = cls
    path_cls = pathlib.WindowsPath if os.name == "nt" else pathlib.PosixPath
    for module in ("pathlib", "pathlib._local"):
        for cls_name in ("PosixPath", "WindowsPath"):
            fixed[f"{module}.{cls_name}"] = path_cls
    try:
        from ultralytics.nn.tasks import DetectionModel
        from ultralytics.utils import IterableSimpleNamespace

        fixed["ultralytics.utils.IterableSimpleNamespace"] = IterableSimpleNamespace
        fixed["ultralytics.yolo.utils.IterableSimpleNamespace"] = IterableSimpleNamespace
        fixed["ultralytics.nn.tasks.YOLOv10DetectionModel"] = DetectionModel
        fixed["ultralytics.nn.modules.block.Silence"] = torch.nn.Identity
    except ImportError:
        pass

    def restricted_getattr(obj, attr):  # checkpoints pickle e.g. Detect.forward through getattr
        if isinstance(obj, type) and not attr.startswith("__") and issubclass(obj, (torch.nn.Module, enum.Enum)):
            return getattr(obj, attr)
        if isinstance(obj, torch.nn.Module) and attr in ("forward", "forward_fuse"):
            return getattr(type(obj), attr).__get__(obj)
        raise pickle.UnpicklingError(f"getattr({type(obj).__name__}, {attr!r}) is not allowed in YOLO weights")

    fixed["builtins.getattr"] = restricted_getattr
    _FIXED = fixed
    return fixed


_STRING_OPS = {"UNICODE", "BINUNICODE", "SHORT_BINUNICODE", "BINUNICODE8", "STRING", "BINSTRING", "SHORT_BINSTRING"}


def pickle_globals(data: bytes) -> list[str]:
    """The `module.name` globals the first pickle in `data` would import, found without running it.

    GLOBAL carries the name; STACK_GLOBAL takes the two strings pushed (or fetched from the memo)
    just before it. Raises ValueError when `data` does not start with a pickle.
    """
    import pickletools

    found: list[str] = []
    strings: list[str] = []
    memo: dict[int, Any] = {}
    last: Any = None
    for op, arg, _pos in pickletools.genops(data):
        name = op.name
        if name in ("GLOBAL", "INST"):
            found.append(str(arg).replace(" ", "."))
            last = None
        elif name == "STACK_GLOBAL":
            found.append(".".join(strings[-2:]) if len(strings) >= 2 else "?")
            last = None
        elif name in _STRING_OPS:
            strings.append(str(arg))
            last = str(arg)
        elif name in ("PUT", "BINPUT", "LONG_BINPUT", "MEMOIZE"):
            memo[len(memo) if name == "MEMOIZE" else arg] = last
        elif name in ("GET", "BINGET", "LONG_BINGET"):
            last = memo.get(arg)
            if isinstance(last, str):
                strings.append(last)
        else:
            last = None
    return found


def load_yolo_checkpoint(path: Path) -> dict:
    """An Ultralytics checkpoint dict, loaded with torch.load(weights_only=True) and the YOLO allow-list.

    A file that names anything off the list is refused (UnsafePickle) before torch unpickles it;
    an empty, truncated or foreign file is one ModelUnavailable line that says so.
    """
    import pickle
    import zipfile

    import torch

    path = require(path, "YOLO weights")
    size = path.stat().st_size
    if size == 0:
        raise _bad_yolo(path, "the file is empty (0 bytes)")
    if zipfile.is_zipfile(path):  # torch.save's format: data.pkl inside a zip
        scan = getattr(torch.serialization, "get_unsafe_globals_in_checkpoint", None)
        try:
            names = scan(str(path)) if scan else []
        except Exception as e:  # a damaged archive, or a zip that torch did not write
            raise _bad_yolo(path, f"not a readable PyTorch checkpoint, damaged or truncated ({_first_line(e)})") from None
    else:  # a bare pickle (or torch's legacy format): scan its first pickle for what it imports
        with open(path, "rb") as f:
            head = f.read(min(size, 64 * 2**20))
        try:
            names = pickle_globals(head)
        except Exception:
            raise _bad_yolo(path, "not a PyTorch checkpoint (truncated, damaged or another format)") from None
    allowed = []
    for name in names:
        obj = _yolo_allowed(name)
        if obj is None:
            raise _refuse(path, name)
        allowed.append((obj, name))
    try:
        with torch.serialization.safe_globals(allowed):
            ckpt = torch.load(str(path), map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as e:
        match = _GLOBAL_IN_ERROR.search(str(e))
        if match:
            raise _refuse(path, match.group(1)) from None
        raise _bad_yolo(path, "not plain YOLO weights: torch's weights-only loader refused it "
                          f"({_unpickler_reason(e)}); fmkit does not load arbitrary pickles") from None
    except (RuntimeError, EOFError, ValueError, OSError, zipfile.BadZipFile) as e:
        raise _bad_yolo(path, f"not a readable PyTorch checkpoint, truncated or damaged ({_first_line(e)})") \
            from None
    if not isinstance(ckpt, dict) or not isinstance(ckpt.get("ema") or ckpt.get("model"), torch.nn.Module):
        raise _bad_yolo(path, "a PyTorch file, but not an Ultralytics checkpoint (no 'model' in it)")
    return ckpt


def _first_line(error: BaseException) -> str:
    text = str(error).strip().splitlines()
    return (text[0] if text else type(error).__name__)[:160]


def _unpickler_reason(error: BaseException) -> str:
    """The useful line of torch's long weights-only message (e.g. 'Unsupported operand 149')."""
    lines = [ln.strip() for ln in str(error).splitlines() if ln.strip()]
    for line in lines:
        if line.startswith(("Unsupported", "Trying", "Could not", "Can only")) or "not allowed" in line:
            return line[:160]
    return lines[-1][:160] if lines else type(error).__name__


def load_yolo_weights(path: Path):
    """A fused float32 DetectionModel (eval mode, CPU) from an Ultralytics .pt file, loaded safely.

    What ultralytics' load_checkpoint does after unpickling, with load_yolo_checkpoint's
    weights-only load instead of its plain torch.load.
    """
    import torch
    from ultralytics.nn.tasks import guess_model_task
    from ultralytics.utils import DEFAULT_CFG_DICT

    ckpt = load_yolo_checkpoint(path)
    train_args = ckpt.get("train_args") or {}
    model = (ckpt.get("ema") or ckpt["model"]).float()
    if ckpt.get("modelopt"):  # a quantisation-aware-training checkpoint: re-apply its fake quantisation
        from ultralytics.nn.tasks import restore_qat

        restore_qat(model, ckpt["modelopt"])
    model.args = {**DEFAULT_CFG_DICT, **(dict(train_args) if isinstance(train_args, dict) else {})}
    model.pt_path = str(path)
    model.task = getattr(model, "task", None) or guess_model_task(model)
    if not hasattr(model, "stride"):
        model.stride = torch.tensor([32.0])
    model = (model.fuse() if hasattr(model, "fuse") else model).eval()
    for m in model.modules():
        if hasattr(m, "inplace"):
            m.inplace = True
        elif isinstance(m, torch.nn.Upsample) and not hasattr(m, "recompute_scale_factor"):
            m.recompute_scale_factor = None
    return model
