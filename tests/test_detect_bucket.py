"""`fmkit detect` over a real S3 server (SeaweedFS on 127.0.0.1, tests/seaweed.py): the course's
uploads/ -> results/ pipeline, idempotent re-runs, watching a prefix, and every bad input."""

from __future__ import annotations

import json
import threading
import time

import pytest

from test_detect import BUS, ZIDANE

KOREAN = "고양이 사진.jpg"




@pytest.fixture
def detect(cli, tiny_yolo):
    """fmkit detect with the tiny model at 160 px; returns (result, parsed JSON lines)."""

    def go(*args, input=None):
        r = cli(["detect", *map(str, args), "--model", tiny_yolo, "--imgsz", "160", "--json"], input=input)
        return r, [json.loads(line) for line in r.stdout.splitlines()]

    return go


def keys(s3, bucket: str, prefix: str = "") -> list[str]:
    pages = s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
    return sorted(o["Key"] for page in pages for o in page.get("Contents", []))


def upload(s3, bucket: str, files: dict[str, bytes]) -> None:
    for key, data in files.items():
        s3.put_object(Bucket=bucket, Key=key, Body=data)


def test_uploads_to_results_in_the_bucket_same_layout_as_a_folder(detect, s3, bucket, s3_env):
    upload(s3, bucket, {"uploads/bus.jpg": BUS.read_bytes(), f"uploads/{KOREAN}": ZIDANE.read_bytes(),
                        "uploads/day 2/bus.jpg": BUS.read_bytes(), "uploads/empty.jpg": b"",
                        "uploads/notes.jpg": b"not an image", "uploads/.hidden.jpg": BUS.read_bytes()})
    r, lines = detect(f"s3://{bucket}/uploads/", "-r", "-o", f"s3://{bucket}/results/")
    assert r.exit_code == 1  # two bad objects; the rest went on
    by = {o["source"].split("/uploads/", 1)[1]: o for o in lines}
    assert sorted(by) == ["bus.jpg", "day 2/bus.jpg", "empty.jpg", "notes.jpg", KOREAN]
    assert by["empty.jpg"]["error"] == "empty file (0 bytes)" and "not an image" in by["notes.jpg"]["error"]
    assert by[KOREAN]["width"] == 1280 and by["bus.jpg"]["outputs"]["json"] == f"s3://{bucket}/results/bus.jpg.json"
    assert keys(s3, bucket, "results/") == sorted(
        f"results/{n}" for n in ("bus.jpg", "bus.jpg.json", "day 2/bus.jpg", "day 2/bus.jpg.json",
                                 KOREAN, f"{KOREAN}.json"))  # no result JSON for a source that failed
    stored = json.loads(s3.get_object(Bucket=bucket, Key="results/bus.jpg.json")["Body"].read())
    assert stored["detections"] == by["bus.jpg"]["detections"]
    assert stored["identity"]["version"].endswith(f":{BUS.stat().st_size}")  # ETag and size
    assert s3_env.admin_secret not in r.stdout + r.stderr


def test_rerun_skips_done_redoes_replaced_and_force_redoes_all(detect, s3, bucket):
    upload(s3, bucket, {"uploads/a.jpg": BUS.read_bytes(), "uploads/b.jpg": ZIDANE.read_bytes()})
    args = (f"s3://{bucket}/uploads/", "-o", f"s3://{bucket}/results/")
    r, first = detect(*args)
    assert r.exit_code == 0 and len(first) == 2
    r, again = detect(*args)
    assert r.exit_code == 0 and again == [] and "skipped 2 images" in r.stderr
    upload(s3, bucket, {"uploads/b.jpg": BUS.read_bytes()})  # the upload was replaced
    r, redo = detect(*args)
    assert [o["source"].rsplit("/", 1)[1] for o in redo] == ["b.jpg"] and redo[0]["width"] == 810
    assert redo[0]["outputs"]["image"].endswith("/results/b.jpg")  # redone in place, not b-2.jpg
    r, forced = detect(*args, "--force")
    assert len(forced) == 2
    r, changed = detect(*args, "--conf", "0.9")  # other parameters: the stored results do not match
    assert len(changed) == 2


def test_each_upload_costs_few_requests(detect, s3, bucket, monkeypatch):
    """Per upload, counted on the wire: one GET of it, two PUTs (image, then JSON), at most two
    HEADs to find the result's name (--force overwrites without asking again what it found free),
    and where a result is already held: one HEAD and one GET of its JSON to know it is this one
    (a re-run that skips it reads that JSON once, not twice)."""
    from collections import Counter

    import fmkit.io as io
    from fmkit.io.s3 import S3Store

    sent: Counter = Counter()
    make_client = S3Store._make_client

    def counting_client(self):
        client = make_client(self)
        client.meta.events.register("before-send", lambda request, **_: sent.update([request.method]))
        return client

    monkeypatch.setattr(S3Store, "_make_client", counting_client)
    monkeypatch.setattr(io, "_REMOTE", {})  # a new store, so a new (counting) client
    upload(s3, bucket, {f"uploads/{i}.jpg": BUS.read_bytes() for i in range(3)})
    for held in (False, True):  # names free (a first run), then each result already held there
        sent.clear()
        r, lines = detect(f"s3://{bucket}/uploads/", "-o", f"s3://{bucket}/results/", "--force")
        assert r.exit_code == 0 and len(lines) == 3
        reads = 3 * (2 if held else 1) + 2  # uploads (+ the held JSONs, whose source is checked) + listings
        assert sent["PUT"] == 6 and sent["HEAD"] <= 3 * (1 if held else 2) and sent["GET"] <= reads, (held, sent)
    sent.clear()
    r, lines = detect(f"s3://{bucket}/uploads/", "-o", f"s3://{bucket}/results/")  # all done: skipped
    assert lines == [] and sent["PUT"] == 0 and sent["HEAD"] <= 3 and sent["GET"] <= 3 + 2, sent


def test_local_to_bucket_bucket_to_local_globs_and_stdin(detect, s3, bucket, tmp_path):
    upload(s3, bucket, {"uploads/bus.jpg": BUS.read_bytes(), "uploads/zidane.png": ZIDANE.read_bytes()})
    r, lines = detect(f"s3://{bucket}/uploads/*.jpg", "-o", tmp_path / "local")
    assert r.exit_code == 0 and [o["source"] for o in lines] == [f"s3://{bucket}/uploads/bus.jpg"]
    assert sorted(p.name for p in (tmp_path / "local").iterdir()) == ["bus.jpg", "bus.jpg.json"]
    r, lines = detect(BUS, "-o", f"s3://{bucket}/from-laptop/")
    assert r.exit_code == 0 and keys(s3, bucket, "from-laptop/") == ["from-laptop/bus.jpg", "from-laptop/bus.jpg.json"]
    r, lines = detect("-", input=f"s3://{bucket}/uploads/zidane.png\ns3://{bucket}/uploads/missing.jpg\n")
    assert [o.get("width") for o in lines] == [1280, None] and r.exit_code == 1
    assert "no such object" in lines[1]["error"]


def test_output_inside_the_input_prefix_is_refused(detect, bucket):
    r, _ = detect(f"s3://{bucket}/uploads/", "-r", "-o", f"s3://{bucket}/uploads/results/")
    assert r.exit_code == 2 and "inside the input" in r.stderr
    r, _ = detect("--watch", f"s3://{bucket}/uploads/", "-o", f"s3://{bucket}/uploads/")
    assert r.exit_code == 2 and "inside the input" in r.stderr


@pytest.mark.parametrize("source, extra, out", [
    ("{u}", ["-r"], "{u}results/"), ("{u}", [], "{u}"), ("{u}*.jpg", ["-r"], "{u}"), ("{u}*.jpg", [], "{u}"),
    ("--watch", ["{u}", "-r"], "{u}results/"), ("--watch", ["{u}"], "{u}"),
    ("{u}", [], "{u}results/"), ("{u}*.jpg", [], "{u}results/"),  # allowed: results are never read back
])
def test_output_inside_the_input_gets_one_exit_code_locally_and_in_a_bucket(detect, s3, bucket, tmp_path,
                                                                           source, extra, out):
    """The same usage error is exit 2 wherever the files are (a glob's folder counts as its input)."""
    upload(s3, bucket, {"uploads/bus.jpg": BUS.read_bytes()})
    (tmp_path / "uploads").mkdir()
    (tmp_path / "uploads" / "bus.jpg").write_bytes(BUS.read_bytes())
    codes = []
    for u in (f"{tmp_path}/uploads/", f"s3://{bucket}/uploads/"):
        r, _ = detect(source.format(u=u), *[e.format(u=u) for e in extra], "-o", out.format(u=u), "--max-polls", "1")
        codes.append((r.exit_code, "inside the input" in r.stderr))
    assert codes[0] == codes[1] and codes[0] in ((2, True), (0, False)), codes
    assert codes[0][0] == (0 if out.endswith("results/") and "-r" not in extra else 2)


def test_watch_a_prefix_processes_each_new_upload_once(cli, tiny_yolo, s3, bucket):
    upload(s3, bucket, {"uploads/first.jpg": BUS.read_bytes()})

    def wait_for(key: str) -> None:  # the watcher has finished this result (however busy the machine is)
        deadline = time.monotonic() + 60
        while key not in keys(s3, bucket, "results/") and time.monotonic() < deadline:
            time.sleep(0.1)

    def uploader():
        wait_for("results/first.jpg.json")
        upload(s3, bucket, {"uploads/second.jpg": ZIDANE.read_bytes()})
        wait_for("results/second.jpg.json")
        upload(s3, bucket, {"uploads/first.jpg": ZIDANE.read_bytes()})  # replaced: detected again

    writer = threading.Thread(target=uploader)
    writer.start()
    r = cli(["detect", "--watch", f"s3://{bucket}/uploads/", "-o", f"s3://{bucket}/results/", "--model", tiny_yolo,
             "--imgsz", "160", "--json", "--interval", "0.1", "--max-polls", "120"])
    writer.join()
    names = [json.loads(line)["source"].rsplit("/", 1)[1] for line in r.stdout.splitlines()]
    assert r.exit_code == 0, r.stderr
    assert names == ["first.jpg", "second.jpg", "first.jpg"]
    assert "images/s" not in r.stderr  # a watcher's rate would say nothing


def test_read_only_identity_gets_one_line_naming_the_action_and_key(cli, tiny_yolo, s3_env, s3, bucket, monkeypatch):
    upload(s3, bucket, {"uploads/bus.jpg": BUS.read_bytes()})
    for var, value in s3_env.env(reader=True).items():
        monkeypatch.setenv(var, value)
    r = cli(["detect", f"s3://{bucket}/uploads/", "-o", f"s3://{bucket}/results/", "--model", tiny_yolo,
             "--imgsz", "160"])
    assert r.exit_code == 1 and "Traceback" not in r.stderr, (r.stdout, r.stderr)
    [line] = [ln for ln in r.stderr.splitlines() if ln.startswith("error:")]
    assert "denied" in line and "PutObject" in line and f"s3://{bucket}/results/" in line
    assert s3_env.reader_secret not in r.stdout + r.stderr
    assert keys(s3, bucket, "results/") == []


@pytest.mark.parametrize("args, code, words", [
    (["s3://no-such-bucket-fmkit/uploads/"], 1, "does not exist"),
    (["s3://Bad_Bucket/uploads/"], 2, "bucket names are 3-63 characters"),
    (["--endpoint-url", "http://127.0.0.1:9", "s3://whatever/uploads/"], 1, "cannot reach"),
])
def test_bad_buckets_are_one_line(detect, s3_env, args, code, words):
    started = time.monotonic()
    r, _ = detect(*args)
    assert r.exit_code == code, r.stderr
    assert words in r.stderr and "Traceback" not in r.stderr
    assert time.monotonic() - started < 15  # an unreachable endpoint fails in seconds, not minutes


def test_wrong_secret_is_rejected_and_never_printed(detect, s3_env, bucket, monkeypatch):
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "wrong-SECRET-never-shown-123")
    r, _ = detect(f"s3://{bucket}/uploads/")
    assert r.exit_code == 1 and "rejected" in r.stderr
    assert "wrong-SECRET-never-shown-123" not in r.stdout + r.stderr
