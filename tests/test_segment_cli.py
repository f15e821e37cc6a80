"""`fmkit segment` as people and scripts run it: tables or JSON lines, files under -o, and every
bad input as one line with the contract's exit code (2 usage, 1 run time) and nothing
half-written."""

from __future__ import annotations

import json

import pytest

from test_detect import BUS, ZIDANE, _bomb_png
from tiny_sam import build_sam


@pytest.fixture(scope="session")
def mobile_sam(models_dir):
    return build_sam(models_dir / "sam", "mobile_sam")


@pytest.fixture
def seg(cli, mobile_sam):
    """fmkit segment with the tiny MobileSAM at 256 px; returns (result, parsed JSON lines or None)."""

    def go(*args, json_=True, input=None):
        r = cli(["segment", *map(str, args), "--model", mobile_sam, "--imgsz", "256", "--offline",
                 *(["--json"] if json_ else [])], input=input)
        return r, [json.loads(line) for line in r.stdout.splitlines()] if json_ and r.exit_code != 2 else None

    return go


def _one_error_line(r, code: int, says: str) -> None:
    assert r.exit_code == code, (r.exit_code, r.stdout, r.stderr)
    errors = [line for line in r.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and says in errors[0], r.stderr
    assert "Traceback" not in r.stderr + r.stdout


def test_tables_for_people_json_lines_for_scripts(seg, tmp_path):
    r, _ = seg(BUS, "--point", "410,520", "--box", "50,400,250,900", json_=False)
    assert r.exit_code == 0
    assert "bus.jpg  810x1080  2 masks" in r.stdout and "point 410,520" in r.stdout and "box 50,400,250,900" in r.stdout
    assert "1 images, 2 masks (object 2), 0 failed" in r.stdout
    r, lines = seg(BUS, ZIDANE, "--box", "0,0,100,100")
    assert r.exit_code == 0 and [len(o["masks"]) for o in lines] == [1, 1]
    assert lines[1]["masks"][0]["rle"]["size"] == [720, 1280]
    r, lines = seg("-", "--point", "1,1", input=f"{BUS}\n{ZIDANE}\n")  # paths on stdin, as detect reads them
    assert r.exit_code == 0 and [o["width"] for o in lines] == [810, 1280]


def test_outdir_files_and_never_clobbering(seg, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "bus.jpg").write_bytes(b"someone else's file")
    r, lines = seg(BUS, "--point", "400,500", "-o", out)
    assert r.exit_code == 0
    assert (out / "bus.jpg").read_bytes() == b"someone else's file"  # a file fmkit did not write: kept
    assert lines[0]["outputs"]["image"] == str(out / "bus-2.jpg")
    assert lines[0]["outputs"]["original"] == str(out / "originals" / "bus-2.jpg")
    assert json.loads((out / "bus-2.jpg.json").read_text())["masks"] == lines[0]["masks"]


@pytest.mark.parametrize("args, says", [
    (["--point", "410"], "the point '410' is not 2 numbers"),
    (["--point", "x,y"], "is not 2 numbers"),
    (["--box", "50,400,50,900"], "the box 50,400,50,900 is empty or inverted"),
    (["--box", "1,2,3"], "is not 4 numbers"),
    (["--set", "segment.imgsz=10"], "segment.imgsz"),
    (["--coco"], "write files"),
])
def test_usage_errors_exit_2_before_anything_is_made(seg, tmp_path, args, says):
    out = tmp_path / "out"
    r, _ = seg(BUS, *args, *(["-o", out] if args != ["--coco"] else []))
    _one_error_line(r, 2, says)
    assert not out.exists() and r.stdout == ""


def test_a_point_outside_the_image_stops_the_run_with_exit_2(seg, tmp_path):
    out = tmp_path / "out"
    r, _ = seg(ZIDANE, BUS, "--point", "900,100", "-o", out)  # inside zidane (1280 wide), outside bus (810)
    _one_error_line(r, 2, "the point 900,100 is outside")
    assert "bus.jpg (810x1080)" in r.stderr
    # zidane's result is either reported and complete, or (its files still being written when bus
    # stopped the run) removed unreported; bus gets nothing
    done = sorted(str(p.relative_to(out)) for p in out.rglob("*") if p.is_file())
    reported = [json.loads(line)["source"] for line in r.stdout.splitlines()]
    assert (done, reported) in (([], []), (["originals/zidane.jpg", "zidane.jpg", "zidane.jpg.json"], [str(ZIDANE)]))


def test_unreadable_and_oversized_images_are_exit_1_and_the_rest_goes_on(seg, tmp_path):
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "truncated.jpg").write_bytes(BUS.read_bytes()[:20000])
    _bomb_png(bad / "huge.png")  # 30000 x 30000 declared
    out = tmp_path / "out"
    r, lines = seg(bad / "truncated.jpg", bad / "huge.png", BUS, "--box", "0,0,10,10", "-o", out)
    assert r.exit_code == 1
    errors = {o["source"].rsplit("/", 1)[-1]: o.get("error") for o in lines}
    assert "truncated" in errors["truncated.jpg"] and "too large" in errors["huge.png"]
    assert errors["bus.jpg"] is None
    assert sorted(p.name for p in out.iterdir() if p.is_file()) == ["bus.jpg", "bus.jpg.json"]


def test_a_truncated_checkpoint_is_one_line_exit_1(cli, mobile_sam, tmp_path):
    broken = tmp_path / "mobile_sam.pt"
    broken.write_bytes(mobile_sam.read_bytes()[:100_000])
    r = cli(["segment", BUS, "--model", broken, "-o", tmp_path / "out", "--offline"])
    _one_error_line(r, 1, f"{broken}: not a readable PyTorch checkpoint, truncated or damaged")
    assert list((tmp_path / "out").iterdir()) == []


def test_no_detections_under_from_detections_is_exit_1_with_a_hint(seg, tiny_yolo, tmp_path):
    r, _ = seg(BUS, "--from-detections", "--detect-model", tiny_yolo, "--set", "detect.conf=1.0",
                   "-o", tmp_path / "out", json_=False)
    _one_error_line(r, 1, "found no objects here")
    assert "--set detect.conf=0.5" in r.stderr
    assert list((tmp_path / "out").iterdir()) == []


def test_own_prompts_still_run_when_the_detector_finds_nothing(seg, tiny_yolo):
    r, lines = seg(BUS, "--point", "410,520", "--from-detections", "--detect-model", tiny_yolo,
                   "--set", "detect.conf=1.0")
    assert r.exit_code == 0, r.stderr
    assert [m["prompt"]["type"] for m in lines[0]["masks"]] == ["point"]


def test_detector_options_without_from_detections_are_a_usage_error(seg, tiny_yolo, tmp_path):
    for extra in (["--detect-model", tiny_yolo], ["--classes", "person"]):
        r, _ = seg(BUS, "--point", "1,1", *extra, "-o", tmp_path / "out", json_=False)
        _one_error_line(r, 2, "add --from-detections")
    assert not (tmp_path / "out").exists()


def test_only_the_asked_classes_prompt_sam(seg, tiny_yolo):
    r, everything = seg(ZIDANE, "--from-detections", "--detect-model", tiny_yolo)
    assert r.exit_code == 0
    labels = [m["label"] for m in everything[0]["masks"]]
    assert "person" in labels and set(labels) - {"person"}  # the tiny detector sees more than people
    r, people = seg(ZIDANE, "--from-detections", "--detect-model", tiny_yolo, "--classes", "person")
    assert r.exit_code == 0 and [m["label"] for m in people[0]["masks"]] == [x for x in labels if x == "person"]


def test_cutouts_of_two_sources_with_one_stem_stay_apart(seg, tmp_path):
    from PIL import Image

    photos = tmp_path / "photos"
    photos.mkdir()
    (photos / "bus.jpg").write_bytes(BUS.read_bytes())
    Image.open(BUS).save(photos / "bus.png")
    r, lines = seg(photos, "--box", "50,400,250,900", "-o", tmp_path / "out", "--cutout", "--force")
    assert r.exit_code == 0
    cuts = sorted(o["outputs"]["cutout"].rsplit("/", 1)[-1] for o in lines)
    assert cuts == ["bus.jpg.png", "bus.png"] and all((tmp_path / "out" / "cutouts" / c).is_file() for c in cuts)


def test_profiles_show_the_segment_section_and_its_origins(cli):
    r = cli(["profiles", "laptop", "--set", "segment.max_masks=7"])
    assert r.exit_code == 0
    rows = {line.split("│")[1].strip(): line for line in r.stdout.splitlines() if "segment." in line}
    assert '"mobile_sam"' in rows["segment.model"] and "profile laptop" in rows["segment.imgsz"]
    assert "│ 7 " in rows["segment.max_masks"] and "--set" in rows["segment.max_masks"]
    r = cli(["profiles", "gpu"])
    assert '"sam2_b"' in r.stdout


def test_bucket_to_bucket_same_layout_as_a_folder(seg, s3, bucket):
    s3.put_object(Bucket=bucket, Key="uploads/bus.jpg", Body=BUS.read_bytes())
    s3.put_object(Bucket=bucket, Key="uploads/notes.jpg", Body=b"not an image")
    r, lines = seg(f"s3://{bucket}/uploads/", "--box", "0,0,300,300", "-o", f"s3://{bucket}/results/", "--cutout")
    assert r.exit_code == 1  # the bad object is reported; the rest went on
    by = {o["source"].rsplit("/", 1)[-1]: o for o in lines}
    assert "not an image" in by["notes.jpg"]["error"]
    assert by["bus.jpg"]["outputs"]["original"] == f"s3://{bucket}/results/originals/bus.jpg"
    pages = s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix="results/")
    assert sorted(o["Key"] for page in pages for o in page.get("Contents", [])) == [
        "results/bus.jpg", "results/bus.jpg.json", "results/cutouts/bus.jpg.png", "results/originals/bus.jpg"]
    stored = json.loads(s3.get_object(Bucket=bucket, Key="results/bus.jpg.json")["Body"].read())
    assert stored["masks"] == by["bus.jpg"]["masks"]


def test_watching_a_folder_segments_what_is_there_and_stops(seg, tmp_path):
    inbox, out = tmp_path / "inbox", tmp_path / "out"
    inbox.mkdir()
    (inbox / "bus.jpg").write_bytes(BUS.read_bytes())
    r, lines = seg("--watch", inbox, "-o", out, "--interval", "0.2", "--max-polls", "12", "--point", "100,100")
    assert r.exit_code == 0 and [o["source"].rsplit("/", 1)[-1] for o in lines] == ["bus.jpg"]
    assert (out / "bus.jpg.json").is_file() and (out / "originals" / "bus.jpg").is_file()
