"""Sources -> frames a detector can batch: decoded, letterboxed, the original kept only when needed.

One geometry for both ways (`letterbox_geometry`: Ultralytics' LetterBox(auto=True) for one
image, so the detections are the ones `yolo predict` gives), two ways to get there:

- `CpuFrames` (a model on the CPU): Pillow decodes and cv2 letterboxes in ONE worker thread,
  about two batches ahead of inference. torch already uses every core for the model, and more
  busy threads stall its OpenMP barriers.
- `DeviceFrames` (a model on a GPU, whose CPU cores are otherwise idle): a pool of threads reads
  the bytes and the headers (every check that needs no pixels runs there); JPEGs are decoded in
  one batched call on the device (torchvision's decode_jpeg: nvJPEG on CUDA), other formats by
  Pillow in the threads; EXIF orientation and letterboxing (bilinear resize, as cv2's
  INTER_LINEAR, then the grey border) run on the device. Only compressed bytes cross the bus,
  and no CPU thread resizes pixels. Measured on an H200 (2026-12-04) the one decode thread
  held the GPU to ~120 images/s for yolo11n; see benchmarks/gpu.py for the rows that replace it.

Memory stays flat: at most ~two batches are read ahead, and a frame keeps the original pixels
only when annotated copies are written.
"""

from __future__ import annotations

import functools
import time
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Iterator

from fmkit import hardware
from fmkit.io.images import Encoded, ImageError, decode_encoded, read_encoded
from fmkit.io.sources import Source
from fmkit.runs.ahead import Frame, decoded_frame, read_ahead

PAD = 114  # the grey Ultralytics pads with


def letterbox_geometry(h0: int, w0: int, imgsz: int, stride: int) -> tuple[int, int, tuple[int, int, int, int]]:
    """(h1, w1, (top, bottom, left, right)): the resized size and the border that makes each side
    a multiple of `stride`, as Ultralytics' LetterBox(auto=True) computes them for one image."""
    r = min(imgsz / h0, imgsz / w0)
    w1, h1 = max(round(w0 * r), 1), max(round(h0 * r), 1)
    dw, dh = (imgsz - w1) % stride / 2, (imgsz - h1) % stride / 2
    return h1, w1, (round(dh - 0.1), round(dh + 0.1), round(dw - 0.1), round(dw + 0.1))


def letterbox_array(image, imgsz: int, stride: int):
    """RGB (H, W, 3) uint8 array -> padded (h, w, 3), with cv2 (what Ultralytics does)."""
    import cv2

    h0, w0 = image.shape[:2]
    h1, w1, (top, bottom, left, right) = letterbox_geometry(h0, w0, imgsz, stride)
    if (w1, h1) != (w0, h0):
        image = cv2.resize(image, (w1, h1), interpolation=cv2.INTER_LINEAR)
    return cv2.copyMakeBorder(image, top, bottom, left, right, cv2.BORDER_CONSTANT, value=(PAD, PAD, PAD))


def letterbox_tensor(image, imgsz: int, stride: int):
    """(3, H, W) uint8 tensor -> padded (3, h, w) float32 tensor of 0-255 values, on its device.

    Bilinear without antialiasing and half-pixel centres is cv2's INTER_LINEAR; values are
    rounded as cv2's uint8 output is, so both ways give the same pixels within 1 grey level."""
    import torch.nn.functional as F

    h0, w0 = image.shape[-2:]
    h1, w1, (top, bottom, left, right) = letterbox_geometry(h0, w0, imgsz, stride)
    x = image.float()
    if (h1, w1) != (h0, w0):
        x = F.interpolate(x[None], size=(h1, w1), mode="bilinear", align_corners=False)[0].round_().clamp_(0, 255)
    return F.pad(x, (left, right, top, bottom), value=float(PAD))


def orient(image, orientation: int):
    """Apply an EXIF orientation (1-8) to a (3, H, W) tensor, as Pillow's exif_transpose does
    (nvJPEG decodes the stored pixels; Pillow and cv2.imread turn them upright)."""
    if orientation == 2:
        return image.flip(-1)
    if orientation == 3:
        return image.flip(-1, -2)
    if orientation == 4:
        return image.flip(-2)
    if orientation == 5:
        return image.transpose(-1, -2)
    if orientation == 6:
        return image.rot90(-1, (-2, -1))
    if orientation == 7:
        return image.transpose(-1, -2).flip(-1, -2)
    if orientation == 8:
        return image.rot90(1, (-2, -1))
    return image


def windows(items: Iterator, size: int) -> Iterator[list]:
    """Consecutive lists of `size` items (the last may be shorter)."""
    window: list = []
    for item in items:
        window.append(item)
        if len(window) == size:
            yield window
            window = []
    if window:
        yield window


class CpuFrames:
    """Decode with Pillow and letterbox with cv2, in one thread ahead of inference."""

    def __init__(self, imgsz: int, stride: int):
        self.imgsz, self.stride = imgsz, stride

    def batches(self, sources: Iterable[Source], batch_size: int, keep_images: bool = False,
                skip: Callable[[Source], bool] | None = None) -> Iterator[list[Frame]]:
        frame = functools.partial(self._frame, keep_images, skip)
        return windows(read_ahead(sources, frame, 1, 2 * batch_size), batch_size)

    def _frame(self, keep_image: bool, skip, source: Source) -> Frame:
        return decoded_frame(source, lambda image: letterbox_array(image, self.imgsz, self.stride), keep_image, skip)


@dataclass
class _Read:
    """A source read by a DeviceFrames thread: JPEG bytes for the device, or pixels Pillow decoded."""

    frame: Frame
    encoded: Encoded | None = None
    pixels: Any = None  # RGB (H, W, 3) uint8 array, for formats the device does not decode


class DeviceFrames:
    """Read in many threads, decode JPEGs in batches on `device`, letterbox there (module docstring)."""

    JPEG_MODES = ("RGB", "L")  # what nvJPEG turns into RGB as Pillow does; CMYK and others go through Pillow

    def __init__(self, imgsz: int, stride: int, device: str, readers: int | None = None):
        self.imgsz, self.stride, self.device = imgsz, stride, device
        self.readers = readers or max(2, min(16, hardware.usable_cores()))

    def batches(self, sources: Iterable[Source], batch_size: int, keep_images: bool = False,
                skip: Callable[[Source], bool] | None = None) -> Iterator[list[Frame]]:
        read = functools.partial(self._read, skip)
        for window in windows(read_ahead(sources, read, self.readers, 2 * batch_size), batch_size):
            yield self._decode(window, keep_images)

    def _read(self, skip, source: Source) -> _Read:
        start = time.perf_counter()
        if source.error:
            return _Read(Frame(source, error=source.error))
        if skip is not None and skip(source):
            return _Read(Frame(source, skipped=True))
        try:
            encoded = read_encoded(source)
            if encoded.format == "JPEG" and encoded.mode in self.JPEG_MODES:
                return _Read(Frame(source, seconds=time.perf_counter() - start), encoded)
            pixels = decode_encoded(encoded)
        except ImageError as e:
            return _Read(Frame(source, error=str(e), seconds=time.perf_counter() - start))
        return _Read(Frame(source, seconds=time.perf_counter() - start), pixels=pixels)

    def _decode(self, window: list[_Read], keep_images: bool) -> list[Frame]:
        """One batched decode of the window's JPEGs on the device, then orientation and letterbox."""
        import torch

        start = time.perf_counter()
        jpegs = [r for r in window if r.encoded is not None]
        decoded = self._decode_jpegs([r.encoded for r in jpegs])
        for r, image in zip(jpegs, decoded):
            if isinstance(image, str):
                r.frame.error = image
            else:
                r.pixels = orient(image, r.encoded.orientation)
        ready = [r for r in window if r.frame.error is None and r.pixels is not None]
        for r in ready:
            image = r.pixels
            if not isinstance(image, torch.Tensor):  # decoded by Pillow: a read-only (H, W, 3) array
                image = torch.tensor(image, device=self.device).permute(2, 0, 1)
            r.frame.shape = (int(image.shape[-2]), int(image.shape[-1]))
            r.frame.boxed = letterbox_tensor(image, self.imgsz, self.stride)
            if keep_images:
                r.frame.image = r.pixels if not isinstance(r.pixels, torch.Tensor) else \
                    image.permute(1, 2, 0).contiguous().cpu().numpy()
        share = (time.perf_counter() - start) / max(len(ready), 1)
        for r in ready:
            r.frame.seconds += share
        return [r.frame for r in window]

    def _decode_jpegs(self, encoded: list[Encoded]) -> list:
        """RGB (3, H, W) uint8 tensors on the device, in one call; a file that call cannot decode
        gets Pillow's verdict instead: its pixels (uploaded), or the one-line reason (a str)."""
        if not encoded:
            return []
        import torch
        from torchvision.io import ImageReadMode, decode_jpeg

        data = [torch.frombuffer(bytearray(e.data), dtype=torch.uint8) for e in encoded]
        try:
            return list(decode_jpeg(data, mode=ImageReadMode.RGB, device=self.device))
        except RuntimeError:
            if len(data) == 1:
                return [self._pillow(encoded[0])]
        return [self._decode_jpegs([e])[0] for e in encoded]  # find the one(s) that fail

    def _pillow(self, encoded: Encoded):
        import torch

        try:
            pixels = decode_encoded(encoded)
        except ImageError as e:
            return str(e)
        # Pillow applied the orientation already: hand back what nvJPEG would have (stored pixels).
        image = torch.tensor(pixels, device=self.device).permute(2, 0, 1)
        return _unorient(image, encoded.orientation)


def _unorient(image, orientation: int):
    """The inverse of `orient` (only used when Pillow stood in for nvJPEG)."""
    inverse = {6: 8, 8: 6}.get(orientation, orientation)  # 2, 3, 4, 5, 7 are their own inverses
    return orient(image, inverse)
