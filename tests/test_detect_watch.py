"""`fmkit detect --watch`: files appear while it runs, half-written files wait, Ctrl-C stops it."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from processes import fmkit_popen

from test_detect import BUS, ZIDANE


def test_watcher_waits_for_complete_files_and_hands_each_out_once(tmp_path):
    from fmkit.runs.watch import FolderWatcher

    folder = tmp_path / "uploads"
    folder.mkdir()
    watcher = FolderWatcher(folder, settle=0.3, already_done=lambda source: source.name == "old.jpg")
    (folder / "old.jpg").write_bytes(BUS.read_bytes())  # has a result from an earlier run
    (folder / "a.jpg").write_bytes(BUS.read_bytes())
    (folder / "b.jpg.part").write_bytes(b"still downloading")
    growing = folder / "growing.jpg"
    data = ZIDANE.read_bytes()
    growing.write_bytes(data[:1000])
    assert watcher.ready() == []  # first sight: nothing is known to be stable yet
    time.sleep(0.35)
    with open(growing, "ab") as f:
        f.write(data[1000:5000])  # still being written
    assert [s.name for s in watcher.ready()] == ["a.jpg"]
    with open(growing, "ab") as f:
        f.write(data[5000:])
    assert watcher.ready() == []  # complete now, but only just written
    time.sleep(0.35)
    ready = watcher.ready()  # unchanged since the last look, and settled
    assert [s.name for s in ready] == ["growing.jpg"] and ready[0].path.stat().st_size == len(data)
    time.sleep(0.35)
    assert watcher.ready() == []  # each version once
    growing.write_bytes(BUS.read_bytes())  # replaced: a new version
    time.sleep(0.35)
    watcher.ready()
    assert [s.name for s in watcher.ready()] == ["growing.jpg"]


def test_watch_processes_files_appearing_while_it_runs(cli, tiny_yolo, tmp_path):
    uploads, results = tmp_path / "uploads", tmp_path / "results"
    uploads.mkdir()

    def uploader():
        time.sleep(0.3)
        data = BUS.read_bytes()
        with open(uploads / "slow.jpg", "wb") as f:  # a slow upload: half, a pause, the rest
            f.write(data[: len(data) // 2])
            f.flush()
            time.sleep(0.5)
            f.write(data[len(data) // 2:])
        (uploads / "notes.jpg").write_text("not an image")
        tmp = uploads / "zidane.jpg.part"
        tmp.write_bytes(ZIDANE.read_bytes())
        tmp.rename(uploads / "zidane.jpg")

    writer = threading.Thread(target=uploader)
    writer.start()
    args = ["detect", "--watch", uploads, "-o", results, "--model", tiny_yolo, "--imgsz", "160", "--json",
            "--interval", "0.1", "--max-polls", "40"]
    r = cli(args)
    writer.join()
    lines = [json.loads(line) for line in r.stdout.splitlines()]
    by_name = {Path(o["source"]).name: o for o in lines}
    assert sorted(by_name) == ["notes.jpg", "slow.jpg", "zidane.jpg"]  # each exactly once
    assert len(lines) == 3
    assert by_name["slow.jpg"]["width"] == 810 and "error" not in by_name["slow.jpg"]  # never read half-written
    assert "not an image" in by_name["notes.jpg"]["error"]
    assert r.exit_code == 1  # a bad file was reported; the watcher went on
    assert sorted(p.name for p in results.iterdir()) == ["slow.jpg", "slow.jpg.json", "zidane.jpg", "zidane.jpg.json"]

    again = cli(args[:-1] + ["15"])  # restart: what has results is not redone
    assert [Path(json.loads(line)["source"]).name for line in again.stdout.splitlines()] == ["notes.jpg"]


def test_watch_needs_an_output_folder(cli, tmp_path):
    r = cli(["detect", "--watch", tmp_path])
    assert r.exit_code == 2 and "--watch needs -o" in r.stderr
    r = cli(["detect", "--watch", tmp_path / "nope", "-o", tmp_path / "out"])
    assert r.exit_code == 2 and "does not exist" in r.stderr
    assert not (tmp_path / "out").exists()  # nothing is created before the arguments are checked


@pytest.mark.skipif(sys.platform == "win32", reason="SIGINT to a child process")
def test_ctrl_c_stops_the_watcher_cleanly(tiny_yolo, tmp_path):
    uploads, results = tmp_path / "uploads", tmp_path / "results"
    uploads.mkdir()
    proc = fmkit_popen(["detect", "--watch", uploads, "-o", results, "--model", tiny_yolo, "--imgsz", "160", "--json",
                        "--interval", "0.1"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=tmp_path,
                       env=os.environ)
    try:
        (uploads / "bus.jpg").write_bytes(BUS.read_bytes())
        deadline = time.time() + 60
        while not (results / "bus.jpg.json").exists() and time.time() < deadline and proc.poll() is None:
            time.sleep(0.1)
        assert (results / "bus.jpg.json").exists(), proc.stderr.read() if proc.poll() is not None else "timed out"
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 130, err  # the contract's code for Ctrl-C, like every other command
    assert [json.loads(line)["width"] for line in out.splitlines()] == [810]  # on disk = reported
    assert "interrupted" in err and "1 images" in err and "Traceback" not in err
    assert sorted(p.name for p in results.iterdir()) == ["bus.jpg", "bus.jpg.json"]  # no temp files left
