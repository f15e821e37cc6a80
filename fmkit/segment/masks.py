"""Model masks -> `Mask` records: scaled to the original image, thresholded, run-length encoded
and dropped, a few at a time, so a run never holds every mask of a photo at full resolution
(16 float masks of a 12-megapixel photo would be 770 MB; a chunk here is at most 16 MB, or one mask)."""

from __future__ import annotations

from typing import Any, Callable, Iterator, Sequence

from fmkit.segment import rle
from fmkit.segment.results import Mask

FULL_RES_BUDGET = 2**22  # float pixels scaled at once (16 MB): masks per chunk = this / (H * W)


def chunks(n: int, height: int, width: int) -> Iterator[slice]:
    """Slices of at most FULL_RES_BUDGET pixels' worth of full-resolution masks (at least one)."""
    step = max(1, FULL_RES_BUDGET // max(1, height * width))
    for start in range(0, n, step):
        yield slice(start, min(n, start + step))


def records(full_res: Callable[[slice], Any], n: int, shape: tuple[int, int], scores: Sequence[float],
            prompts: Sequence[dict], labels: Sequence[str | None], keep_empty: bool = True) -> list[Mask]:
    """`full_res(slice)` -> (k, H, W) bool tensor for those masks; each becomes a Mask (RLE, area, box).

    An empty mask is kept for a prompt (it answers that prompt: nothing there) and dropped in
    everything mode (`keep_empty=False`)."""
    height, width = shape
    out: list[Mask] = []
    for part in chunks(n, height, width):
        block = full_res(part).cpu()
        for j, pixels in enumerate(block):
            i = part.start + j
            encoded = rle.encode(pixels)
            size = rle.area(encoded)
            if size == 0 and not keep_empty:
                continue
            out.append(Mask(len(out), float(scores[i]), size, rle.bbox(encoded) if size else (0.0, 0.0, 0.0, 0.0),
                            encoded, prompts[i], labels[i]))
        del block
    return out
