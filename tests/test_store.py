"""The storage interface (fmkit/io/store.py) answered the same way by both stores: local paths
and a real S3 server (SeaweedFS on 127.0.0.1), so no capability needs to look at a URI's scheme.
Also the one rule for output names (fmkit/io/names.py)."""

from __future__ import annotations

import os
from pathlib import Path, PurePosixPath

import pytest

from fmkit import io
from fmkit.io.names import candidates, first_free, numbered


def test_numbered_names_one_rule_for_every_writer():
    assert numbered("bus.jpg", 1) == "bus.jpg" and numbered("bus.jpg", 2) == "bus-2.jpg"
    assert numbered("sub/bus.jpg", 3) == "sub/bus-3.jpg" and numbered("coco.json", 2) == "coco-2.json"
    assert numbered("README", 2) == "README-2" and numbered(".hidden", 2) == ".hidden-2"
    assert numbered(Path("/tmp/a/fox.png"), 2) == Path("/tmp/a/fox-2.png")
    assert numbered(PurePosixPath("x.tar.gz"), 2) == PurePosixPath("x.tar-2.gz")
    gen = candidates("a.png")
    assert [next(gen) for _ in range(3)] == ["a.png", "a-2.png", "a-3.png"]
    taken = {"a.png", "a-2.png"}
    assert first_free("a.png", taken.__contains__) == "a-3.png"


def test_local_store_answers_the_questions(tmp_path, monkeypatch):
    store = io.store_for(str(tmp_path))
    (tmp_path / "out" / "sub").mkdir(parents=True)
    (tmp_path / "out" / "sub" / "bus.jpg").write_bytes(b"0123456789")
    out = str(tmp_path / "out")
    assert store.complete_when_listed is False and store.place(out) == "local"
    assert store.contains(out, str(tmp_path / "out" / "sub")) and not store.contains(out, str(tmp_path / "outer"))
    assert store.relative(out, str(tmp_path / "out" / "sub" / "bus.jpg")) == "sub/bus.jpg"
    assert store.relative(out, str(tmp_path / "elsewhere.jpg")) is None and store.relative(out, out) is None
    monkeypatch.chdir(tmp_path)
    assert store.relative(out, "out/sub/bus.jpg") == "sub/bus.jpg"  # relative to the working directory
    assert store.is_relative("out") and not store.is_relative(out)
    assert store.folder_missing(str(tmp_path / "nope")) and not store.folder_missing(out)
    assert store.read_head(str(tmp_path / "out" / "sub" / "bus.jpg"), 4) == b"0123"
    monkeypatch.setenv("HOME", str(tmp_path))
    assert store.normalize("~/out") == out
    from fmkit.errors import BadInput

    with pytest.raises(BadInput, match="presign"):
        store.presign(out + "/sub/bus.jpg")
    os.symlink(tmp_path / "out", tmp_path / "link")  # links resolved: the same folder by another name
    assert store.contains(out, str(tmp_path / "link" / "sub"))


def test_s3_store_answers_the_same_questions(s3_env, bucket):
    store = io.store_for(f"s3://{bucket}/")
    store.write_bytes(f"s3://{bucket}/results/sub/bus.jpg", b"0123456789")
    root = f"s3://{bucket}/results/"
    assert store.complete_when_listed is True and store.place(root) == f"s3://{bucket}"
    assert store.contains(root, f"s3://{bucket}/results/sub/x") and store.contains(f"s3://{bucket}/results", root)
    assert not store.contains(root, f"s3://{bucket}/resultsx/y")
    assert store.relative(root, f"s3://{bucket}/results/sub/bus.jpg") == "sub/bus.jpg"
    assert store.relative(f"s3://{bucket}/results", f"s3://{bucket}/uploads/a.jpg") is None
    assert not store.is_relative(root) and not store.folder_missing(f"s3://{bucket}/never-written/")
    assert store.read_head(f"s3://{bucket}/results/sub/bus.jpg", 4) == b"0123"
    assert store.normalize(root) == root


def test_inside_compares_places_and_paths(tmp_path, s3_env, bucket):
    assert io.inside(str(tmp_path / "a" / "b"), str(tmp_path / "a"))
    assert not io.inside(str(tmp_path / "ab"), str(tmp_path / "a"))
    assert io.inside(f"s3://{bucket}/uploads/results/", f"s3://{bucket}/uploads")
    assert not io.inside(f"s3://{bucket}/uploads-2/", f"s3://{bucket}/uploads")
    assert not io.inside(f"s3://{bucket}/uploads/", str(tmp_path))  # another place entirely
