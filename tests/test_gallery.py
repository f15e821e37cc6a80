"""`fmkit gallery` without a browser: what is read from a results folder, what the data file
holds, bad input, atomic writes, the live writer, and the heavy-import rule.
(test_gallery_browser.py drives the page itself in Chromium.)"""

from __future__ import annotations

import io
import json
import re
import subprocess
import sys
import threading
from pathlib import Path

import pytest

# --- fixtures: results folders written the way detect and diffuse write them ----------------

PARAMS = {"conf": 0.25, "iou": 0.7, "imgsz": 640}


def jpeg(size=(160, 120), color=(90, 140, 200)) -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", size, color).save(buf, format="JPEG", quality=70)
    return buf.getvalue()


def det(label, conf, x1, y1, x2, y2, class_id=0):
    return {"class_id": class_id, "label": label, "confidence": conf, "box": {"x1": x1, "y1": y1, "x2": x2, "y2": y2}}


def write_result(root: Path, name: str, detections, size=(160, 120), image: bytes | None = b"", **extra) -> dict:
    """OUTDIR/<name> (the image) and OUTDIR/<name>.json as `fmkit detect -o` writes them."""
    path = root / name
    path.parent.mkdir(parents=True, exist_ok=True)
    if image is not None:
        path.write_bytes(image or jpeg(size))
    obj = {"schema": 1, "source": f"uploads/{name}", "width": size[0], "height": size[1], "detections": detections,
           "model": "yolo11n.pt", "seconds": 0.042, "params": PARAMS,
           "outputs": {"image": str(path), "json": str(path) + ".json"}, **extra}
    Path(str(path) + ".json").write_text(json.dumps(obj, ensure_ascii=False), encoding="utf-8")
    return obj


def write_diffusion(root: Path, name: str, prompt: str, seed: int = 7, steps: int = 20):
    """A PNG with the text chunks `fmkit diffuse` writes (iTXt, UTF-8)."""
    from PIL import Image
    from PIL.PngImagePlugin import PngInfo

    info = PngInfo()
    for k, v in {"prompt": prompt, "negative_prompt": "blurry", "seed": str(seed), "steps": str(steps),
                 "guidance": "7.5", "scheduler": "euler", "height": "64", "width": "96", "model": "tiny-sd",
                 "fmkit_version": "0.1.0"}.items():
        info.add_itxt(k, v)
    Image.new("RGB", (96, 64), (200, 90, 40)).save(root / name, pnginfo=info)


def make_results(root: Path) -> Path:
    """4 detect results (person x3, car x2, dog x1, one with none), 1 diffusion PNG, and one of
    each problem: corrupt JSON, newer schema, image missing; plus files the gallery must skip."""
    root.mkdir(parents=True, exist_ok=True)
    write_result(root, "street.jpg", [det("person", 0.91, 10, 10, 60, 100), det("car", 0.35, 70, 40, 150, 100, 2),
                                      det("person", 0.15, 5, 5, 20, 30)])
    write_result(root, "park.jpg", [det("dog", 0.88, 20, 50, 90, 110, 16), det("person", 0.62, 100, 10, 150, 110)],
                 size=(160, 120), image=jpeg(color=(60, 170, 90)))
    write_result(root, "sub/garage.jpg", [det("car", 0.55, 0, 0, 80, 60, 2)], image=jpeg(color=(150, 150, 150)))
    write_result(root, "empty.jpg", [], image=jpeg(color=(230, 220, 200)))
    write_diffusion(root, "a-red-fox-7.png", "a red fox in the snow")
    (root / "broken.jpg.json").write_text("{not json", encoding="utf-8")
    (root / "broken.jpg").write_bytes(jpeg())
    write_result(root, "future.jpg", [det("person", 0.9, 1, 1, 5, 5)], schema=2)
    write_result(root, "lost.jpg", [det("person", 0.7, 1, 1, 50, 50)], image=None)
    (root / "coco.json").write_text('{"images": [], "annotations": [], "categories": []}')
    (root / "labels").mkdir()
    (root / "labels" / "street.txt").write_text("0 0.2 0.4 0.3 0.7\n")
    (root / "plain.png").write_bytes(b"")  # not a PNG from diffuse: skipped
    (root / ".street.123.tmp.jpg").write_bytes(b"half")  # a temporary write: skipped
    return root


def read_manifest(folder: Path) -> dict:
    text = (folder / "manifest.js").read_text(encoding="utf-8")
    prefix = "window.FMKIT_GALLERY = "
    body = text[text.index(prefix) + len(prefix):].rstrip().rstrip(";")
    return json.loads(body)


@pytest.fixture
def app():
    """A Typer app with just this command, as cli.py registers it."""
    import typer
    from typer.testing import CliRunner

    from fmkit.commands.gallery import gallery

    a = typer.Typer(context_settings={"help_option_names": ["-h", "--help"]}, add_completion=False)
    a.command("gallery")(gallery)

    @a.callback()
    def root():
        """fmkit (test app)."""

    runner = CliRunner()
    return lambda *args: runner.invoke(a, [str(x) for x in args], catch_exceptions=False)


# --- reading ---------------------------------------------------------------------------------


def test_reads_results_diffusion_and_problem_cards(tmp_path):
    from fmkit.gallery import build_gallery

    results = make_results(tmp_path / "results")
    s = build_gallery(results)
    assert (s.results, s.detect, s.diffuse, s.problems) == (8, 5, 1, 3)
    assert s.labels == {"person": 4, "car": 2, "dog": 1}  # lost.jpg's box counts: its JSON is fine
    m = read_manifest(results)
    items = {i["n"]: i for i in m["items"]}
    assert sorted(items) == ["a-red-fox-7.png", "broken.jpg", "empty.jpg", "future.jpg", "lost.jpg", "park.jpg",
                             "street.jpg", "sub/garage.jpg"]  # coco.json, labels/, plain.png, .tmp: skipped
    street = items["street.jpg"]
    assert street["k"] == "detect" and street["u"] == "street.jpg" and (street["w"], street["h"]) == (160, 120)
    assert [[m["labels"][d[0]], *d[1:]] for d in street["d"]][0] == ["person", 0.91, 10.0, 10.0, 60.0, 100.0]
    assert street["p"] == PARAMS and street["m"] == "yolo11n.pt" and street["a"] == 1  # boxes burnt in
    assert items["sub/garage.jpg"]["u"] == "sub/garage.jpg"
    fox = items["a-red-fox-7.png"]
    assert fox["k"] == "diffuse" and fox["p"]["prompt"] == "a red fox in the snow" and fox["p"]["seed"] == "7"
    assert (fox["w"], fox["h"], fox["m"]) == (96, 64, "tiny-sd")
    assert items["broken.jpg"]["e"] == "corrupt" and items["broken.jpg"]["u"] == "broken.jpg"  # the image still shows
    assert items["future.jpg"]["e"] == "newer_schema" and "d" not in items["future.jpg"]
    assert items["lost.jpg"]["e"] == "missing_image" and "u" not in items["lost.jpg"]


def test_prefers_a_clean_original_and_older_schema_says_so(tmp_path):
    from fmkit.gallery import build_gallery

    root = tmp_path / "r"
    obj = write_result(root, "bus.jpg", [det("bus", 0.8, 1, 2, 3, 4)])
    (root / "originals").mkdir()
    (root / "originals" / "bus.jpg").write_bytes(jpeg())
    obj["outputs"]["original"] = "originals/bus.jpg"
    (root / "bus.jpg.json").write_text(json.dumps(obj))
    write_result(root, "old.jpg", [], schema=0)
    (root / "list.jpg.json").write_text("[1, 2]")
    (root / "notes.json").write_text('{"whatever": 1}')  # some other JSON: not a result, no card
    build_gallery(root)
    items = {i["n"]: i for i in read_manifest(root)["items"]}
    assert set(items) == {"bus.jpg", "old.jpg", "list.jpg"}
    assert items["bus.jpg"]["u"] == "originals/bus.jpg" and "a" not in items["bus.jpg"]
    assert items["old.jpg"]["e"] == "older_schema" and items["list.jpg"]["e"] == "corrupt"


def test_data_file_escapes_everything_a_script_could_hide_in(tmp_path):
    from fmkit.gallery import build_gallery

    root = tmp_path / "r"
    label = "</script><script>alert(1)</script> & \u2028\u2029 \"quote'"
    write_result(root, "a <b>&amp; \u2028.jpg", [det(label, 0.5, 1, 1, 9, 9)])
    build_gallery(root)
    text = (root / "manifest.js").read_text(encoding="utf-8")
    body = text.split("window.FMKIT_GALLERY = ", 1)[1]
    assert not any(c in body for c in "<>&\u2028\u2029")
    m = read_manifest(root)
    assert m["labels"] == [label] and m["items"][0]["n"] == "a <b>&amp; \u2028.jpg"
    assert m["items"][0]["u"] == "a%20%3Cb%3E%26amp%3B%20%E2%80%A8.jpg"  # a URL, percent-encoded


def test_page_elsewhere_links_back_to_the_images(tmp_path):
    from fmkit.gallery import build_gallery

    root = tmp_path / "results"
    write_result(root, "my photo #1.jpg", [det("cat", 0.9, 1, 1, 9, 9)])
    s = build_gallery(root, tmp_path / "site" / "gallery")
    assert s.index == str(tmp_path / "site" / "gallery" / "index.html")
    assert read_manifest(tmp_path / "site" / "gallery")["items"][0]["u"] == "../../results/my%20photo%20%231.jpg"
    assert not (root / "index.html").exists()


def test_page_has_a_strict_csp_and_every_word_in_the_language(tmp_path):
    from fmkit.gallery import build_gallery
    from fmkit.gallery.i18n import STRINGS

    assert STRINGS["en"].keys() == STRINGS["ko"].keys()
    root = make_results(tmp_path / "r")
    build_gallery(root, lang="ko")
    page = (root / "index.html").read_text(encoding="utf-8")
    assert '<html lang="ko">' in page and "<title>fmkit 갤러리</title>" in page and "Min confidence" not in page
    csp = page.split('http-equiv="Content-Security-Policy" content="', 1)[1].split('"', 1)[0]
    assert "default-src &#x27;none&#x27;" in csp and "connect-src &#x27;none&#x27;" in csp
    assert "unsafe-inline" not in csp and "unsafe-eval" not in csp and "http" not in csp
    assert "src=\"http" not in page and "//" not in page.split("<script src=", 1)[1][:20]
    # the policy's hashes are those of the script and style exactly as inlined, and nothing else
    import base64
    import hashlib
    import html

    def source(text):
        return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode("utf-8")).digest()).decode("ascii") + "'"

    [script] = re.findall(r"<script>(.*?)</script>", page, re.S)
    [style] = re.findall(r"<style>(.*?)</style>", page, re.S)
    policy = dict(d.strip().split(" ", 1) for d in html.unescape(csp).split(";"))
    assert policy["script-src"] == f"'self' {source(script)}" and policy["style-src"] == source(style)


# --- the command -----------------------------------------------------------------------------


def test_cli_writes_the_page_and_says_so_in_one_line(app, tmp_path):
    root = make_results(tmp_path / "r")
    r = app("gallery", root)
    assert r.exit_code == 0, r.output
    assert r.stdout.strip() == f"{root / 'index.html'}: 8 results, 7 boxes, 3 labels, 3 with problems"
    r = app("gallery", root, "--json", "--lang", "ko", "-o", tmp_path / "out")
    obj = json.loads(r.stdout)
    assert obj["results"] == 8 and obj["lang"] == "ko" and obj["labels"] == {"person": 4, "car": 2, "dog": 1}
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["index.html", "manifest.js", "stamp.js"]


@pytest.mark.parametrize("case", ["missing", "empty", "a-file", "out-is-file", "presign-local", "presign-range",
                                  "lang", "foreign-index"])
def test_bad_input_is_one_line_and_exit_2_and_writes_nothing(app, tmp_path, case):
    root = tmp_path / "r"
    root.mkdir()
    args, expect = [root], ""
    if case == "missing":
        args, expect = [tmp_path / "nope"], "does not exist"
    elif case == "empty":
        (root / "photo.jpg").write_bytes(jpeg())
        expect = "holds no results"
    elif case == "a-file":
        (tmp_path / "f.txt").write_text("x")
        args, expect = [tmp_path / "f.txt"], "is a file"
    else:
        write_result(root, "a.jpg", [])
        if case == "out-is-file":
            (tmp_path / "taken").write_text("x")
            args, expect = [root, "-o", tmp_path / "taken"], "is a file"
        elif case == "presign-local":
            args, expect = [root, "--presign", "3600"], "--presign needs an s3:// RESULTS"
        elif case == "presign-range":
            args, expect = ["s3://bucket/results/", "--presign", "604801"], "out of range"
        elif case == "lang":
            args, expect = [root, "--lang", "fr"], "unknown language"
        elif case == "foreign-index":
            (root / "index.html").write_text("<h1>my own page</h1>")
            expect = "was not written by fmkit gallery"
    before = sorted(p.name for p in tmp_path.rglob("*"))
    r = app("gallery", *args)
    assert r.exit_code == 2, r.output
    assert expect in r.stderr and len(r.stderr.strip().splitlines()) == 1 and r.stdout == ""
    assert sorted(p.name for p in tmp_path.rglob("*")) == before
    if case == "foreign-index":
        assert app("gallery", root, "--force").exit_code == 0
        assert "fmkit gallery" in (root / "index.html").read_text()


def test_unreadable_results_folder(app, tmp_path):
    import os

    root = tmp_path / "r"
    write_result(root, "a.jpg", [])
    root.chmod(0)
    try:
        if os.access(root, os.R_OK):
            pytest.skip("running as root: permissions are not enforced")
        r = app("gallery", root, "-o", tmp_path / "out")
        assert r.exit_code == 2 and "permission denied" in r.stderr
    finally:
        root.chmod(0o755)


def test_help_and_import_stay_light():
    code = ("import sys, typer; from typer.testing import CliRunner; import fmkit.gallery; "
            "from fmkit.commands.gallery import gallery; a = typer.Typer(); a.command('gallery')(gallery); "
            "a.callback()(lambda: None); r = CliRunner().invoke(a, ['gallery', '--help']); "
            "assert r.exit_code == 0 and '--presign' in r.stdout, r.stdout; "
            "print(sorted(m for m in ('torch', 'PIL', 'ultralytics', 'numpy', 'boto3', 'botocore') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.stdout.strip() == "[]", out.stderr


# --- live writer and atomic writes -------------------------------------------------------------


def test_writer_adds_results_and_readers_never_see_half_a_file(tmp_path):
    from fmkit.gallery import GalleryWriter

    root = tmp_path / "r"
    root.mkdir()
    writer = GalleryWriter(root, lang="en")
    assert writer.refresh().results == 0  # detect --gallery starts on an empty folder
    page = (root / "index.html").read_bytes()
    stamps, bad, done = set(), [], threading.Event()

    def reader():
        while not done.is_set():
            text = (root / "manifest.js").read_text(encoding="utf-8")
            if not text.endswith("};\n"):
                bad.append(len(text))
            stamps.add((root / "stamp.js").read_text())

    t = threading.Thread(target=reader)
    t.start()
    try:
        for i in range(40):
            writer.add(write_result(root, f"img{i:02d}.jpg", [det("person", 0.5 + i / 100, 1, 1, 9, 9)] * (i % 3),
                                    image=jpeg()))
    finally:
        done.set()
        t.join()
    assert not bad and len(stamps) > 1
    m = read_manifest(root)
    assert len(m["items"]) == 40 and m["stamp"] in (root / "stamp.js").read_text()
    assert (root / "index.html").read_bytes() == page  # the page itself is written once
    assert not [p for p in root.iterdir() if p.name.startswith(".")]  # no temporary files left
    assert writer.refresh().results == 40  # re-reading the folder finds the same


def test_writer_add_takes_paths_as_detect_wrote_them(tmp_path, monkeypatch):
    """detect -o results (relative): its outputs are relative to where it ran, not to RESULTS."""
    from fmkit.gallery import GalleryWriter

    monkeypatch.chdir(tmp_path)
    obj = write_result(Path("results"), "sub/cat.jpg", [det("cat", 0.9, 1, 1, 9, 9)], image=jpeg())
    writer = GalleryWriter("results")
    assert obj["outputs"]["json"] == "results/sub/cat.jpg.json"
    writer.add(obj)
    item = read_manifest(tmp_path / "results")["items"][0]
    assert item["n"] == "sub/cat.jpg" and item["u"] == "sub/cat.jpg" and "e" not in item
    with pytest.raises(Exception, match="no files inside the results folder"):
        writer.add({"detections": [], "outputs": {"json": str(tmp_path / "elsewhere.jpg.json")}})


def test_a_real_detect_outdir(cli, tiny_yolo, tmp_path):
    """The page's data equals what `fmkit detect -o` wrote (tiny random YOLO, real photos)."""
    from test_detect import BUS, ZIDANE

    from fmkit.gallery import build_gallery

    out = tmp_path / "results"
    r = cli(["detect", BUS, ZIDANE, "-o", out, "--model", tiny_yolo, "--imgsz", "160", "--conf", "0.01"])
    assert r.exit_code == 0, r.stderr
    s = build_gallery(out)
    written = [json.loads((out / f"{n}.json").read_text()) for n in ("bus.jpg", "zidane.jpg")]
    assert s.results == 2 and s.problems == 0 and s.boxes == sum(len(w["detections"]) for w in written)
    items = {i["n"]: i for i in read_manifest(out)["items"]}
    assert (items["bus.jpg"]["w"], items["bus.jpg"]["h"]) == (written[0]["width"], written[0]["height"])
