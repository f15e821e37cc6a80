"""`fmkit detect` with a tiny random-weight YOLO11 and Ultralytics' bundled real photos."""

from __future__ import annotations

import json
import os
import shutil
import struct
import subprocess
import sys
import zlib
from pathlib import Path

import pytest

ASSETS = Path(sys.prefix) / "lib" / f"python{sys.version_info.major}.{sys.version_info.minor}" / "site-packages" / "ultralytics" / "assets"
if not ASSETS.is_dir():  # another layout: ask the package where it lives, without importing it
    import importlib.util

    ASSETS = Path(importlib.util.find_spec("ultralytics").origin).parent / "assets"
BUS, ZIDANE = ASSETS / "bus.jpg", ASSETS / "zidane.jpg"


@pytest.fixture
def run(cli, tiny_yolo):
    """fmkit detect with the tiny model at 320 px (fast); returns (result, parsed JSON lines)."""

    def go(*args, input=None, json_=True):
        extra = ["--json"] if json_ else []
        r = cli(["detect", *map(str, args), "--model", tiny_yolo, "--imgsz", "320", *extra], input=input)
        lines = [json.loads(line) for line in r.stdout.splitlines()] if json_ else []
        return r, lines

    return go


def boxes(obj):
    return [(d["class_id"], d["confidence"], tuple(d["box"].values())) for d in obj["detections"]]


# --- results ------------------------------------------------------------------------------------


def test_json_schema_and_sizes(run, tiny_yolo):
    r, out = run(BUS, ZIDANE)
    assert r.exit_code == 0, r.stderr
    assert [Path(o["source"]).name for o in out] == ["bus.jpg", "zidane.jpg"]
    assert [(o["width"], o["height"]) for o in out] == [(810, 1080), (1280, 720)]
    for o in out:
        assert set(o) == {"source", "width", "height", "detections", "model", "seconds"}
        assert o["model"] == str(tiny_yolo) and o["seconds"] > 0
        assert o["detections"], "the tiny model is built to find something in the bundled photos"
        for d in o["detections"]:
            assert set(d) == {"class_id", "label", "confidence", "box"} and set(d["box"]) == {"x1", "y1", "x2", "y2"}
            assert 0.25 <= d["confidence"] <= 1
            assert 0 <= d["box"]["x1"] <= o["width"] and 0 <= d["box"]["y2"] <= o["height"]
    assert {"person"} <= {d["label"] for o in out for d in o["detections"]}


def test_same_detections_as_ultralytics_predict(run, tiny_yolo):
    from ultralytics import YOLO

    _, out = run(BUS, ZIDANE)
    model = YOLO(str(tiny_yolo))
    for obj, path in zip(out, (BUS, ZIDANE)):
        ref = model.predict(str(path), imgsz=320, verbose=False)[0].boxes
        theirs = sorted((int(c), round(s, 2), tuple(round(v) for v in b))
                        for b, s, c in zip(ref.xyxy.tolist(), ref.conf.tolist(), ref.cls.tolist()))
        ours = sorted((c, round(s, 2), tuple(round(v) for v in b)) for c, s, b in boxes(obj))
        assert len(ours) == len(theirs)
        matched = sum(a[0] == b[0] and abs(a[1] - b[1]) <= 0.011 and max(abs(x - y) for x, y in zip(a[2], b[2])) <= 1
                      for a, b in zip(ours, theirs))
        assert matched >= 0.95 * len(ours)


def test_thresholds_classes_and_max_det(run):
    _, base = run(BUS, ZIDANE)
    _, strict = run(BUS, ZIDANE, "--conf", "0.9")
    for b, s in zip(base, strict):
        assert all(d["confidence"] >= 0.9 for d in s["detections"])
        assert len(s["detections"]) < len(b["detections"])
    _, people = run(BUS, ZIDANE, "--classes", "person,car")
    labels = {d["label"] for o in people for d in o["detections"]}
    assert labels and labels <= {"person", "car"}
    _, by_id = run(BUS, ZIDANE, "--classes", "0,2")
    assert [boxes(o) for o in by_id] == [boxes(o) for o in people]
    _, few = run(BUS, "--max-det", "3")
    assert len(few[0]["detections"]) == 3


def test_unknown_class_lists_valid_names(run):
    r, out = run(BUS, "--classes", "persn")
    assert r.exit_code == 2 and not out
    assert "unknown class 'persn'" in r.stderr and "did you mean 'person'" in r.stderr and "toothbrush" in r.stderr


@pytest.mark.parametrize("value", ["1.5", "-0.1"])
def test_conf_outside_0_1_is_a_usage_error(run, value):
    r, out = run(BUS, "--conf", value)
    assert r.exit_code == 2 and not out
    assert "detect.conf" in r.stderr and "Traceback" not in r.stderr


def test_people_get_tables_and_a_summary(run):
    r, _ = run(BUS, ZIDANE, json_=False)
    assert r.exit_code == 0
    assert "bus.jpg  810x1080" in r.stdout and "zidane.jpg  1280x720" in r.stdout
    assert "objects per class" in r.stdout and "person" in r.stdout
    assert "2 images" in r.stdout and "images/s" in r.stdout


# --- sources, batching, order, streaming --------------------------------------------------------


def _folder(tmp_path, n=5) -> Path:
    folder = tmp_path / "photos"
    folder.mkdir()
    for i in range(n):
        shutil.copy(BUS if i % 2 else ZIDANE, folder / f"img{i:02d}.jpg")
    return folder


def test_batches_keep_order_and_results(run, tmp_path):
    folder = _folder(tmp_path)
    (folder / "img02.jpg").write_bytes(b"")  # a failure in the middle of a batch
    (folder / "notes.txt").write_text("not an image; ignored in folders")
    r1, one = run(folder, "--batch-size", "1")
    r3, three = run(folder, "--batch-size", "3")
    assert r1.exit_code == r3.exit_code == 1
    assert [Path(o["source"]).name for o in three] == [f"img{i:02d}.jpg" for i in range(5)]
    assert [o.get("error") for o in three] == [None, None, "empty file (0 bytes)", None, None]
    assert [boxes(o) for o in one if "error" not in o] == [boxes(o) for o in three if "error" not in o]


def test_recursive_glob_and_stdin(run, tmp_path):
    folder = _folder(tmp_path, 2)
    (folder / "sub").mkdir()
    shutil.copy(BUS, folder / "sub" / "deep.jpg")
    _, flat = run(folder)
    _, deep = run(folder, "-r")
    assert len(flat) == 2 and len(deep) == 3
    _, globbed = run(str(folder / "img*.jpg"))
    assert [o["source"] for o in globbed] == [o["source"] for o in flat]
    r, piped = run("-", input=f"{folder / 'img01.jpg'}\n\n{BUS}\n")
    assert r.exit_code == 0 and [Path(o["source"]).name for o in piped] == ["img01.jpg", "bus.jpg"]
    r, nothing = run("-", input="")
    assert r.exit_code == 0 and not nothing and "no images to process" in r.stderr


def test_run_streams_sources_lazily(tiny_yolo):
    """A long source list is pulled a couple of batches ahead of the results, never all at once."""
    from fmkit.api import Session
    from fmkit.detect.detector import Detector
    from fmkit.detect.stream import detect_stream
    from fmkit.io.sources import Source

    settings = Session(set={"detect.model": str(tiny_yolo), "detect.imgsz": 160, "detect.batch_size": 2}).settings
    detector = Detector(settings)
    pulled = []

    def sources():
        for i in range(1000):
            pulled.append(i)
            yield Source(f"bus{i}", str(BUS), "bus.jpg")

    results = detect_stream(detector, sources())
    first = [next(results) for _ in range(3)]
    assert [r.source for r in first] == ["bus0", "bus1", "bus2"]
    assert len(pulled) <= 8  # 2 batches decoded ahead plus the batch being run
    assert first[0].image is None  # pixels are not kept unless annotated copies are wanted


# --- outputs ------------------------------------------------------------------------------------


def test_output_folder_annotated_json_txt_coco(run, tmp_path):
    from PIL import Image

    out = tmp_path / "results"
    r, lines = run(BUS, ZIDANE, "-o", out, "--save-txt", "--coco")
    assert r.exit_code == 0, r.stderr
    names = sorted(p.relative_to(out).as_posix() for p in out.rglob("*"))
    assert names == ["bus.jpg", "bus.jpg.json", "coco.json", "labels", "labels/bus.txt", "labels/zidane.txt",
                     "zidane.jpg", "zidane.jpg.json"]
    with Image.open(out / "bus.jpg") as annotated, Image.open(BUS) as original:
        assert annotated.size == original.size
        assert annotated.tobytes() != original.tobytes()  # boxes drawn
    saved = json.loads((out / "bus.jpg.json").read_text())
    assert {k: saved[k] for k in lines[0]} == lines[0] and saved["outputs"]["image"] == str(out / "bus.jpg")
    # ... plus what makes it reusable: the source's identity, the model and parameters, the layout version
    assert saved["schema"] == 1 and saved["identity"]["source"] == str(BUS) and saved["run"]["imgsz"] == 320
    txt = (out / "labels" / "zidane.txt").read_text().splitlines()
    assert len(txt) == len(lines[1]["detections"])
    first = txt[0].split()
    assert int(first[0]) == lines[1]["detections"][0]["class_id"] and 0 <= float(first[1]) <= 1
    coco = json.loads((out / "coco.json").read_text())
    assert [i["file_name"] for i in coco["images"]] == ["bus.jpg", "zidane.jpg"]
    assert len(coco["annotations"]) == sum(len(o["detections"]) for o in lines)
    assert len(coco["categories"]) == 80 and coco["categories"][0] == {"id": 0, "name": "person"}
    assert not list(out.rglob(".*"))  # no temporary files left behind


def test_never_clobbers_other_files(run, tmp_path):
    out = tmp_path / "results"
    out.mkdir()
    (out / "bus.jpg").write_bytes(b"someone else's file")
    a, b = tmp_path / "a", tmp_path / "b"
    a.mkdir(), b.mkdir()
    shutil.copy(ZIDANE, a / "same.jpg")
    shutil.copy(BUS, b / "same.jpg")
    r, lines = run(BUS, a / "same.jpg", b / "same.jpg", "-o", out)
    assert r.exit_code == 0
    assert (out / "bus.jpg").read_bytes() == b"someone else's file"
    assert [Path(o["outputs"]["image"]).name for o in lines] == ["bus-2.jpg", "same.jpg", "same-2.jpg"]
    r, _ = run(BUS, "-o", out, "--coco")
    r2, _ = run(BUS, "-o", out, "--coco")  # a taken name gets a numbered one, coco.json too
    assert r.exit_code == 0 and r2.exit_code == 0, r2.stderr
    assert [json.loads((out / n).read_text())["images"][0]["file_name"] for n in ("coco.json", "coco-2.json")] \
        == ["bus-2.jpg", "bus-2.jpg"]  # the skipped image (its result was already there) is in the run's COCO file
    assert (out / "bus.jpg").read_bytes() == b"someone else's file"


def test_output_path_that_is_a_file_is_a_usage_error_before_any_model_loads(cli, tmp_path):
    target = tmp_path / "file"
    target.write_text("x")
    r = cli(["detect", BUS, "-o", target, "--model", tmp_path / "no-such-model.pt"])
    assert r.exit_code == 2 and "is a file" in r.stderr


# --- bad input ----------------------------------------------------------------------------------


def _bomb_png(path: Path, side: int = 30000) -> None:
    """A valid PNG header declaring side x side pixels (a few bytes on disk)."""
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    ihdr = struct.pack(">IIBBBBB", side, side, 8, 2, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 64))
                     + chunk(b"IEND", b""))


def test_every_bad_input_is_one_line_and_the_rest_goes_on(run, tmp_path):
    bad = tmp_path / "bad"
    bad.mkdir()
    (tmp_path / "empty_folder").mkdir()
    (bad / "truncated.jpg").write_bytes(BUS.read_bytes()[:20000])
    (bad / "zero.jpg").write_bytes(b"")
    (bad / "text.jpg").write_text("hello, I am not a picture\n")
    _bomb_png(bad / "bomb.png")
    args = [tmp_path / "missing.jpg", tmp_path / "empty_folder", bad / "truncated.jpg", BUS, bad / "zero.jpg",
            bad / "text.jpg", bad / "bomb.png"]
    r, lines = run(*args)
    assert r.exit_code == 1
    errors = {Path(o["source"]).name: o.get("error") for o in lines}
    assert list(errors) == ["missing.jpg", "empty_folder", "truncated.jpg", "bus.jpg", "zero.jpg", "text.jpg", "bomb.png"]
    assert errors["bus.jpg"] is None
    assert "no such file" in errors["missing.jpg"]
    assert "no images in this folder" in errors["empty_folder"]
    assert "truncated" in errors["truncated.jpg"]
    assert "empty file" in errors["zero.jpg"]
    assert "not an image" in errors["text.jpg"]
    assert "megapixels" in errors["bomb.png"] or "too large" in errors["bomb.png"]
    people, _ = run(*args, json_=False)
    assert people.exit_code == 1 and "Traceback" not in people.stderr
    error_lines = [line for line in people.stderr.splitlines() if line.startswith("error:")]
    assert len(error_lines) == 6
    assert "bus.jpg  810x1080" in people.stdout


def test_unreadable_file(run, tmp_path):
    locked = tmp_path / "locked.jpg"
    shutil.copy(BUS, locked)
    locked.chmod(0)
    try:
        if os.access(locked, os.R_OK):
            pytest.skip("running as root: chmod 000 files stay readable")
        r, lines = run(locked, ZIDANE)
        assert r.exit_code == 1 and "permission denied" in lines[0]["error"] and "error" not in lines[1]
    finally:
        locked.chmod(0o644)


def test_unreadable_file_message_even_as_root(run, tmp_path, monkeypatch):
    """Root reads chmod-000 files, so the permission error is raised where the file is opened."""
    from fmkit.io import images

    real_open = images._pil_open()

    def guarded_open(f, *args, **kwargs):
        if Path(getattr(f, "name", "")).name == "locked.jpg":
            raise PermissionError(13, "Permission denied", str(f.name))
        return real_open(f, *args, **kwargs)

    monkeypatch.setattr(images, "_pil_open", lambda: guarded_open)
    shutil.copy(BUS, tmp_path / "locked.jpg")
    r, lines = run(tmp_path / "locked.jpg", ZIDANE)
    assert r.exit_code == 1
    assert lines[0]["error"] == "permission denied: cannot read this file" and "error" not in lines[1]


def test_no_sources_and_bad_models(cli, tmp_path, tiny_yolo):
    r = cli(["detect"])
    assert r.exit_code == 2 and "no images given" in r.stderr
    broken = tmp_path / "broken.pt"
    broken.write_bytes(b"not a checkpoint")
    r = cli(["detect", BUS, "--model", broken])
    assert r.exit_code == 1 and "cannot load YOLO weights" in r.stderr and "Traceback" not in r.stderr
    r = cli(["detect", BUS, "--model", "yolo11n", "--offline"])
    assert r.exit_code == 1 and "not on this machine" in r.stderr and "fmkit pull yolo11n" in r.stderr


def test_model_from_yaml_says_random_weights(cli, tiny_yolo):
    from fmkit import catalog

    assert catalog.resolve("yolo11n.yaml").kind == "yolo-yaml"  # Ultralytics' packaged configs, by name
    yaml = tiny_yolo.parent / "tiny-yolo11t.yaml"  # the tiny builder's config: a 'yolo11t' (fast to build)
    r = cli(["detect", BUS, "--model", yaml, "--imgsz", "160", "--json", "--classes", "person"])
    assert r.exit_code == 0, r.stderr
    assert "random weights" in r.stderr
    assert json.loads(r.stdout)["width"] == 810  # COCO names given to an 80-class yaml model


def test_bfloat16_on_cpu_finds_the_same_objects(run):
    """runtime.dtype=bfloat16 autocasts the backbone; boxes move by pixels, not to other objects."""
    _, exact = run(ZIDANE)
    r, fast = run(ZIDANE, "--set", 'runtime.dtype="bfloat16"')
    assert r.exit_code == 0

    def centre(d):
        b = d["box"]
        return d["label"], (b["x1"] + b["x2"]) / 2, (b["y1"] + b["y2"]) / 2

    found = [centre(d) for d in fast[0]["detections"]]
    top = [centre(d) for d in exact[0]["detections"][:10]]
    matched = sum(any(lb == la and abs(xb - xa) <= 8 and abs(yb - ya) <= 8 for lb, xb, yb in found) for la, xa, ya in top)
    assert matched >= 8, (top, found)


def test_half_on_cpu_says_it_runs_float32(run):
    r, lines = run(ZIDANE, "--half", "--device", "cpu")
    assert r.exit_code == 0 and "--half needs a CUDA GPU" in r.stderr and lines[0]["detections"]


def test_no_network_no_font_download(run, tmp_path, monkeypatch):
    import socket

    def refuse(*args, **kwargs):
        raise AssertionError("detect tried to use the network")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    r, lines = run(BUS, "-o", tmp_path / "out")
    assert r.exit_code == 0 and (tmp_path / "out" / "bus.jpg").is_file()
    assert (Path(os.environ["YOLO_CONFIG_DIR"]) / "Ultralytics" / "Arial.ttf").is_file()


def test_subprocess_is_quiet_and_leaves_cwd_empty(fmkit_proc, tiny_yolo, tmp_path):
    env = {"YOLO_CONFIG_DIR": str(tmp_path / "fresh-yolo-config")}  # first run: Ultralytics creates settings
    r = fmkit_proc(["detect", BUS, "--model", tiny_yolo, "--imgsz", "160", "--json", "-o", tmp_path / "o"], env=env)
    assert r.returncode == 0, r.stderr
    assert len(r.stdout.splitlines()) == 1 and json.loads(r.stdout)["width"] == 810
    assert "Ultralytics" not in r.stdout + r.stderr
    settings = json.loads((tmp_path / "fresh-yolo-config" / "Ultralytics" / "settings.json").read_text())
    assert settings["sync"] is False
    assert not list((tmp_path / "cwd").iterdir())


def test_help_imports_no_model_library():
    code = ("import sys; from typer.testing import CliRunner; from fmkit.cli import app; "
            "r = CliRunner().invoke(app, ['detect', '--help']); assert r.exit_code == 0 and '--classes' in r.stdout; "
            "print(sorted(m for m in ('torch', 'ultralytics', 'cv2', 'PIL') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.stdout.strip() == "[]", out.stderr
