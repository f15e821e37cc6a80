"""Masks as COCO run-length encoding (pycocotools): what the JSON, the COCO file and the gallery
hold. A 1080x810 mask is 875 kB as a bool array and a few hundred bytes as RLE, so a mask is
encoded the moment it exists and its full-resolution pixels are dropped."""

from __future__ import annotations

from typing import Any


def encode(mask: Any) -> dict:
    """(H, W) bool or 0/1 array (numpy or a CPU tensor) -> {"size": [H, W], "counts": "<text>"}."""
    import numpy as np
    from pycocotools import mask as coco_mask

    if hasattr(mask, "numpy"):
        mask = mask.numpy()
    fortran = np.asfortranarray(mask, dtype=np.uint8)  # pycocotools reads column-major uint8
    rle = coco_mask.encode(fortran)
    return {"size": [int(rle["size"][0]), int(rle["size"][1])], "counts": rle["counts"].decode("ascii")}


def decode(rle: dict):
    """{"size", "counts"} -> (H, W) bool numpy array."""
    from pycocotools import mask as coco_mask

    return coco_mask.decode(_native(rle)).astype(bool)


def area(rle: dict) -> int:
    """Pixels in the mask, counted from the runs (no pixels decoded)."""
    from pycocotools import mask as coco_mask

    return int(coco_mask.area(_native(rle)))


def bbox(rle: dict) -> tuple[float, float, float, float]:
    """(x1, y1, x2, y2) of the mask's pixels, exclusive at the right and bottom; zeros when empty."""
    from pycocotools import mask as coco_mask

    x, y, w, h = (float(v) for v in coco_mask.toBbox(_native(rle)))
    return x, y, x + w, y + h


def _native(rle: dict) -> dict:
    counts = rle["counts"]
    return {"size": list(rle["size"]), "counts": counts.encode("ascii") if isinstance(counts, str) else counts}
