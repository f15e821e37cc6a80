"""Atomic writes, no clobbering, clear errors for unwritable paths, numbered names."""

from __future__ import annotations

import os

import pytest

from fmkit import output
from fmkit.io import local
from fmkit.errors import OutputError


def test_atomic_write_creates_and_refuses_to_clobber(tmp_path):
    target = tmp_path / "a.txt"
    local.atomic_write(target, "one")
    with pytest.raises(OutputError, match="already exists"):
        local.atomic_write(target, "two")
    assert target.read_text() == "one"
    local.atomic_write(target, b"three", force=True)
    assert target.read_text() == "three"


def test_failed_write_leaves_no_partial_file(tmp_path):
    target = tmp_path / "img.png"

    def boom(tmp):
        tmp.write_bytes(b"half")
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        local.atomic_write(target, boom)
    assert list(tmp_path.iterdir()) == []


def test_missing_folder_and_folder_target_are_usage_errors(tmp_path):
    with pytest.raises(OutputError, match="does not exist") as e:
        local.check_writable(tmp_path / "nope" / "x.png")
    assert e.value.exit_code == 2
    with pytest.raises(OutputError, match="is a folder"):
        local.check_writable(tmp_path)


@pytest.mark.skipif(os.geteuid() == 0, reason="root can write into read-only folders")
def test_read_only_folder_is_refused(tmp_path):
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o500)
    try:
        with pytest.raises(OutputError, match="permission denied"):
            local.check_writable(ro / "x.png")
    finally:
        ro.chmod(0o700)


def test_unwritable_folder_is_refused_before_any_work(tmp_path, monkeypatch):
    monkeypatch.setattr(os, "access", lambda path, mode: False)
    with pytest.raises(OutputError, match="permission denied") as e:
        local.check_writable(tmp_path / "x.png")
    assert e.value.exit_code == 2


def test_unique_path_numbers_instead_of_clobbering(tmp_path):
    p = tmp_path / "cat.png"
    assert local.unique_path(p) == p
    p.write_text("x")
    assert local.unique_path(p).name == "cat-2.png"
    (tmp_path / "cat-2.png").write_text("x")
    assert local.unique_path(p).name == "cat-3.png"


def test_slug_is_file_name_safe():
    assert output.slug("A cat, in space!") == "a-cat-in-space"
    assert output.slug("!!!") == "untitled"
    assert len(output.slug("x" * 100)) == 40


def test_json_lines_go_to_stdout_one_per_line(capsys):
    output.emit_json({"a": 1, "t": "é"})
    output.emit_json({"b": 2})
    out = capsys.readouterr().out
    assert out == '{"a": 1, "t": "é"}\n{"b": 2}\n'


def test_library_messages_name_options_as_the_caller_typed_them(tmp_path):
    """`--force` at the command line, `force=True` from Python: a notebook user never typed a flag."""
    from fmkit.errors import OutputError
    from fmkit.io.local import atomic_write
    from fmkit.options import command_line, option, setting

    target = tmp_path / "x.txt"
    target.write_text("x")
    with pytest.raises(OutputError) as python_side:
        atomic_write(target, "y")
    assert "force=True" in python_side.value.hint and "--force" not in python_side.value.hint
    with command_line(), pytest.raises(OutputError) as cli_side:
        atomic_write(target, "y")
    assert "--force" in cli_side.value.hint
    assert option("output", "OUT") == "output='OUT'" and option("interval", 1) == "interval=1"
    with command_line():
        assert option("output", "OUT") == "-o OUT" and option("max_new_tokens", 40) == "--max-new-tokens 40"
        assert setting("generate.weights", "bfloat16") == "--set generate.weights=bfloat16"
    assert setting("generate.weights", "bfloat16") == "set={'generate.weights': 'bfloat16'}"
