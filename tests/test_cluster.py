"""`fmkit detect --cluster`: a real Dask LocalCluster (two worker processes on 127.0.0.1) and the
real SeaweedFS bucket (tests/seaweed.py). Results equal a single-process run's; a worker killed
mid-run costs nothing but time; a run restarted after its client was killed skips what is done;
an unreachable scheduler is one line within seconds."""

from __future__ import annotations

import io
import json
import logging
import os
import signal
import socket
import threading
import time

import pytest

from test_detect import BUS, ZIDANE

KOREAN = "고양이 사진.jpg"


@pytest.fixture(scope="module")
def dask_cluster(s3_server, tmp_path_factory):
    """Two worker processes, one thread each, bound to 127.0.0.1; they reach the bucket as the
    admin identity (AWS_* passed explicitly: no setting of this machine leaks in)."""
    from distributed import Client, LocalCluster

    home = tmp_path_factory.mktemp("worker-home")
    env = {**s3_server.env(), "AWS_EC2_METADATA_DISABLED": "true", "HOME": str(home),
           "AWS_CONFIG_FILE": str(home / "aws-config"), "AWS_SHARED_CREDENTIALS_FILE": str(home / "aws-credentials"),
           "OMP_WAIT_POLICY": "PASSIVE"}
    cluster = LocalCluster(host="127.0.0.1", n_workers=2, threads_per_worker=1, processes=True,
                           dashboard_address=None, env=env, silence_logs=logging.ERROR)
    client = Client(cluster, set_as_default=False)
    try:
        yield client
    finally:
        client.close()
        cluster.close()




def photos(n: int) -> dict[str, bytes]:
    """n distinct real photos: bus and zidane, each cropped a little differently (other sizes,
    other letterbox shapes), as JPEG."""
    from PIL import Image

    out = {}
    for i in range(n):
        base = Image.open(BUS if i % 2 == 0 else ZIDANE)
        w, h = base.size
        cut = 9 * (i // 2)
        buf = io.BytesIO()
        base.crop((cut, cut // 2, w - cut // 3, h)).save(buf, "JPEG", quality=90)
        out[f"p{i:02d}.jpg"] = buf.getvalue()
    return out


def upload(s3, bucket: str, files: dict[str, bytes], prefix: str = "uploads/") -> None:
    for key, data in files.items():
        s3.put_object(Bucket=bucket, Key=prefix + key, Body=data)


def keys(s3, bucket: str, prefix: str) -> list[str]:
    pages = s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
    return sorted(o["Key"][len(prefix):] for page in pages for o in page.get("Contents", []))


def one_result_each(s3, bucket: str, names: list[str], prefix: str = "results/") -> None:
    """Exactly `name` and `name.json` per source, nothing else (no numbered copies, no strays)."""
    assert keys(s3, bucket, prefix) == sorted([*names, *(f"{n}.json" for n in names)])


def normalised(lines: list[dict], out: str) -> dict[str, dict]:
    """JSON lines by source, without timings (and the name of the run that wrote a stored result),
    with OUT's prefix replaced."""
    found = {}
    for line in lines:
        line = {k: v for k, v in line.items() if k not in ("seconds", "written_by")}
        if "detections" in line:  # random weights give exact score ties, which NMS may list in either order
            line["detections"] = sorted(line["detections"], key=lambda d: json.dumps(d, sort_keys=True))
        if "outputs" in line:
            line["outputs"] = {k: v.replace(out, "OUT/") for k, v in line["outputs"].items()}
        assert line["source"] not in found, f"two lines for {line['source']}"
        found[line["source"]] = line
    return found


@pytest.fixture
def detect(cli, tiny_yolo):
    """fmkit detect with the tiny model; returns (result, parsed JSON lines)."""

    def go(*args, imgsz=160):
        r = cli(["detect", *map(str, args), "--model", tiny_yolo, "--imgsz", str(imgsz), "--json"])
        return r, [json.loads(line) for line in r.stdout.splitlines()]

    return go


# --- no cluster needed: what is refused, and a scheduler that is not there ------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_unreachable_scheduler_is_one_line_within_seconds(detect, tmp_path):
    address = f"tcp://127.0.0.1:{_free_port()}"
    started = time.monotonic()
    r, lines = detect(BUS, "-o", tmp_path / "out", "--cluster", address)
    elapsed = time.monotonic() - started
    assert r.exit_code == 1 and lines == []
    [line] = [ln for ln in r.stderr.splitlines() if ln.strip()]
    assert line.startswith("error: cannot reach the Dask scheduler at " + address) and "dask scheduler" in line
    assert elapsed < 10, elapsed


@pytest.mark.parametrize("args, words", [
    (["--cluster", "8786"], "is not a Dask scheduler address"),
    (["--cluster", "local:0"], "N must be 1-256"),
    (["--set", "cluster.address=http://x:1"], "is not a Dask scheduler address"),  # the profile chain reaches it
    (["--cluster", "tcp://127.0.0.1:9", "relative/"], "is a relative path"),
    (["--cluster", "tcp://127.0.0.1:9", "--coco"], "--coco is not available with --cluster"),
])
def test_what_cannot_work_is_refused_before_any_cluster(detect, tmp_path, args, words):
    started = time.monotonic()
    r, _ = detect(BUS, "-o", tmp_path / "out", *args)
    assert r.exit_code == 2 and words in r.stderr and "Traceback" not in r.stderr, r.stderr
    assert time.monotonic() - started < 5  # refused before connecting (port 9 would take the full timeout)


def test_watch_with_a_cluster_is_refused_naming_where_the_address_came_from(detect, tmp_path, monkeypatch):
    (tmp_path / "in").mkdir()
    r, _ = detect("--watch", tmp_path / "in", "-o", tmp_path / "out", "--cluster", "local:2")
    assert r.exit_code == 2 and "--watch runs in one process" in r.stderr and "(--cluster)" in r.stderr
    monkeypatch.setenv("FMKIT_CLUSTER_ADDRESS", "local:2")
    r, _ = detect("--watch", tmp_path / "in", "-o", tmp_path / "out")
    assert r.exit_code == 2 and "env FMKIT_CLUSTER_ADDRESS" in r.stderr


# --- on the cluster ---------------------------------------------------------------------------------


def test_same_results_as_a_single_process_run(detect, dask_cluster, s3, bucket):
    files = {**photos(5), "bus.jpg": BUS.read_bytes(), f"day 2/{KOREAN}": ZIDANE.read_bytes(),
             "empty.jpg": b"", "notes.jpg": b"not an image"}
    upload(s3, bucket, files)
    src = f"s3://{bucket}/uploads/"
    # Both on one torch thread and one image per forward pass: oneDNN picks other kernels (other
    # float rounding) for other thread counts and batch shapes, and chunks make other batches.
    same = ("--set", "runtime.threads=1", "--set", "detect.batch_size=1")
    r1, single = detect(src, "-r", "-o", f"s3://{bucket}/one/", *same)
    r2, spread = detect(src, "-r", "-o", f"s3://{bucket}/many/", "--cluster", dask_cluster.scheduler.address,
                        "--set", "cluster.chunk_size=3", *same)
    assert r1.exit_code == r2.exit_code == 1, r2.stderr  # the two bad objects, reported; the rest went on
    assert len(single) == len(files)
    assert normalised(spread, f"s3://{bucket}/many/") == normalised(single, f"s3://{bucket}/one/")
    assert "not an image" in normalised(spread, "")[f"{src}notes.jpg"]["error"]
    assert keys(s3, bucket, "one/") == keys(s3, bucket, "many/")
    for key in keys(s3, bucket, "one/"):
        a = s3.get_object(Bucket=bucket, Key="one/" + key)["Body"].read()
        b = s3.get_object(Bucket=bucket, Key="many/" + key)["Body"].read()
        if key.endswith(".json"):
            a, b = (normalised([json.loads(x)], f"s3://{bucket}/{p}/") for x, p in ((a, "one"), (b, "many")))
            assert a == b, key  # stored results up to timings (and the order of tied boxes)
        else:  # annotated images: the same picture (byte for byte unless tied boxes were drawn in another order)
            from PIL import Image

            with Image.open(io.BytesIO(a)) as x, Image.open(io.BytesIO(b)) as y:
                assert x.size == y.size, key
                assert a == b or _close(x, y), key
    assert "7 images" in r2.stderr and "2 failed" in r2.stderr


def test_a_worker_killed_mid_run_costs_only_time(detect, dask_cluster, s3, bucket):
    files = photos(16)
    upload(s3, bucket, files)
    pids = dask_cluster.run(os.getpid)
    killed: dict = {}

    def killer():
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            done = [k for k in keys(s3, bucket, "results/") if k.endswith(".json")]
            busy = [w for w, tasks in dask_cluster.processing().items() if tasks]
            if len(done) >= 2 and busy:
                killed.update(pid=pids[busy[0]], done=len(done))
                os.kill(pids[busy[0]], signal.SIGKILL)
                return
            time.sleep(0.05)

    thread = threading.Thread(target=killer)
    thread.start()
    r, lines = detect(f"s3://{bucket}/uploads/", "-o", f"s3://{bucket}/results/", "--cluster",
                      dask_cluster.scheduler.address, "--set", "cluster.chunk_size=2", "--set", "runtime.threads=1",
                      imgsz=480)
    thread.join()
    assert killed and killed["done"] < len(files), "the worker was not killed mid-run"
    assert r.exit_code == 0, r.stderr
    assert sorted(o["source"].rsplit("/", 1)[1] for o in lines) == sorted(files)  # one line each
    one_result_each(s3, bucket, sorted(files))
    dask_cluster.wait_for_workers(2, timeout=60)
    assert killed["pid"] not in dask_cluster.run(os.getpid).values()  # really gone; the nanny started another


def test_rerun_of_a_chunk_takes_over_what_a_dead_worker_left(dask_cluster, s3, bucket, tiny_yolo, s3_env):
    """The task a lost worker was running, run again: a result the dead worker completed during this
    run is reported (not skipped), its half-written one (image, no JSON) is overwritten in place."""
    from fmkit.api import Session

    files = photos(3)
    upload(s3, bucket, files)
    out = f"s3://{bucket}/results/"
    fk = Session(set={"cluster.chunk_size": 3})
    list(fk.detect(f"s3://{bucket}/uploads/", model=str(tiny_yolo), output=out, imgsz=160,
                   cluster=dask_cluster.scheduler.address))
    one_result_each(s3, bucket, sorted(files))
    # As a worker that died mid-chunk leaves it: p00 complete, p01's image without its JSON, p02 not begun.
    s3.delete_object(Bucket=bucket, Key="results/p01.jpg.json")
    for name in ("p02.jpg", "p02.jpg.json"):
        s3.delete_object(Bucket=bucket, Key=f"results/{name}")
    # The chunk's task as the run submits it.
    from fmkit.cluster.worker import SourceRef, detect_chunk

    run = fk.detect(f"s3://{bucket}/uploads/", model=str(tiny_yolo), output=out, imgsz=160,
                    cluster=dask_cluster.scheduler.address)
    # The re-run task belongs to the run that wrote p00's result (its name is in the JSON).
    this_run = json.loads(s3.get_object(Bucket=bucket, Key="results/p00.jpg.json")["Body"].read())["written_by"]
    items = [SourceRef(f"s3://{bucket}/uploads/{n}", f"s3://{bucket}/uploads/{n}", n, *_version(s3, bucket, n))
             for n in sorted(files)]
    payload = dask_cluster.submit(detect_chunk, run.executor.spec, items, this_run, pure=False).result()
    assert payload["skipped"] == 0 and [e["result"]["source"].rsplit("/", 1)[1] for e in payload["results"]] == \
        sorted(files)
    one_result_each(s3, bucket, sorted(files))  # p01 in place, not p01-2.jpg next to a stray p01.jpg
    payload = dask_cluster.submit(detect_chunk, run.executor.spec, items, "another-run", pure=False).result()
    assert payload["skipped"] == 3 and payload["results"] == []  # results of another run: skipped
    run.close()


def test_workers_without_credentials_say_so_and_how_to_give_them_some(detect, s3_env, bucket, tmp_path):
    """The user running the command has credentials, the workers do not: one line that says it is
    the workers (and what gives them some), no misleading '0 images' totals before it."""
    import logging
    import warnings

    from distributed import LocalCluster

    bare = tmp_path / "worker-home"
    bare.mkdir()
    no_keys = {"AWS_ACCESS_KEY_ID": "", "AWS_SECRET_ACCESS_KEY": "", "AWS_EC2_METADATA_DISABLED": "true",
               "HOME": str(bare), "AWS_CONFIG_FILE": str(bare / "none"), "AWS_SHARED_CREDENTIALS_FILE": str(bare / "none")}
    with warnings.catch_warnings():  # another test's cluster may hold the dashboard port: a free one is taken
        warnings.filterwarnings("ignore", message="Port .* is already in use")
        cluster = LocalCluster(host="127.0.0.1", n_workers=1, threads_per_worker=1, processes=True,
                               dashboard_address=None, env=no_keys, silence_logs=logging.ERROR)
    with cluster:
        r, lines = detect(BUS, "-o", f"s3://{bucket}/results/", "--cluster", cluster.scheduler_address)
    assert r.exit_code == 1 and lines == []
    [line] = [ln for ln in r.stderr.splitlines() if ln.strip() and not ln.startswith("cluster ")]
    assert line.startswith("error: on worker ") and "no AWS credentials found" in line, line
    assert "instance role" in line and "dask worker" in line and "0 images" not in r.stderr


def _close(x, y) -> bool:
    """Two drawings of the same boxes in another order differ only where boxes overlap."""
    import numpy as np

    diff = np.abs(np.asarray(x.convert("RGB"), dtype=np.int16) - np.asarray(y.convert("RGB"), dtype=np.int16))
    return float((diff.max(axis=2) > 0).mean()) < 0.05


def _version(s3, bucket: str, name: str) -> tuple[str, int]:
    head = s3.head_object(Bucket=bucket, Key=f"uploads/{name}")
    size = head["ContentLength"]
    return f"{head['ETag'].strip(chr(34))}:{size}", size


def test_a_run_restarted_after_its_client_was_killed_skips_what_is_done(detect, dask_cluster, s3, bucket, tiny_yolo,
                                                                         tmp_path):
    import subprocess
    import sys

    files = photos(12)
    upload(s3, bucket, files)
    args = [f"s3://{bucket}/uploads/", "-o", f"s3://{bucket}/results/", "--cluster",
            dask_cluster.scheduler.address, "--set", "cluster.chunk_size=1", "--set", "runtime.threads=1"]
    client = subprocess.Popen([sys.executable, "-m", "fmkit", "detect", *args, "--model", str(tiny_yolo),
                               "--imgsz", "480", "--json"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              cwd=tmp_path, env=os.environ.copy())
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline and len([k for k in keys(s3, bucket, "results/") if k.endswith(".json")]) < 3:
        time.sleep(0.05)
    client.kill()
    client.communicate()
    time.sleep(0.5)
    done_before = {k[:-5] for k in keys(s3, bucket, "results/") if k.endswith(".json")}
    assert 3 <= len(done_before) < len(files), "the client was not killed mid-run"
    r, lines = detect(*args, imgsz=480)
    assert r.exit_code == 0, r.stderr
    redone = {o["source"].rsplit("/", 1)[1] for o in lines}
    # Nothing done before the crash is done again (tasks the dead client left running may
    # finish a few more meanwhile: those are skipped too).
    assert redone and redone <= set(files) - done_before, (redone, done_before)
    assert f"skipped {len(files) - len(redone)} images" in r.stderr
    one_result_each(s3, bucket, sorted(files))


def test_local_n_starts_its_own_workers_here_shares_relative_paths_and_stops_them(tiny_yolo, tmp_path, monkeypatch):
    import psutil

    from fmkit.api import Session

    monkeypatch.chdir(tmp_path)
    (tmp_path / "in").mkdir()
    for name, data in photos(2).items():
        (tmp_path / "in" / name).write_bytes(data)
    fk = Session()
    single = [r.to_dict() for r in fk.detect("in", model=str(tiny_yolo), output="one", imgsz=160)]
    before = {p.pid for p in psutil.Process().children(recursive=True)}
    run = fk.detect("in", model=str(tiny_yolo), output="many", imgsz=160, cluster="local:1")
    workers = {p.pid for p in psutil.Process().children(recursive=True)} - before
    spread = [r.to_dict() for r in run]
    assert workers and not {p.pid for p in psutil.Process().children(recursive=True)} & workers  # stopped
    assert normalised(spread, "many/") == normalised(single, "one/")
    assert spread[0]["outputs"]["json"].startswith("many/")  # relative, as the user wrote it
    assert sorted(p.name for p in (tmp_path / "many").iterdir()) == sorted(p.name for p in (tmp_path / "one").iterdir())
    assert run.executor.spec.settings.runtime.threads >= 1  # torch in the worker gets this machine's cores, not more
