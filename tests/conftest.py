"""Shared test setup: every cache and settings folder points into a temp dir, and tiny
random-weight models are built once per session (no hub, no network)."""

from __future__ import annotations

import atexit
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

# Before fmkit or any model library is imported: nothing may touch the user's real caches,
# and an accidental hub access must fail at once instead of retrying for 30 s.
_SESSION_DIR = Path(tempfile.mkdtemp(prefix="fmkit-tests-"))
# ... and nothing is left behind: the caches and tiny models go when the test run ends
# (FMKIT_KEEP_TEST_DIR=1 keeps them, to look at after a failure).
if not os.environ.get("FMKIT_KEEP_TEST_DIR"):
    atexit.register(shutil.rmtree, _SESSION_DIR, ignore_errors=True)
for _var, _sub in (("HF_HOME", "hf"), ("YOLO_CONFIG_DIR", "yolo"), ("MPLCONFIGDIR", "mpl"),
                   ("FMKIT_HOME", "fmkit-home")):
    os.environ[_var] = str(_SESSION_DIR / _sub)
os.environ["HF_HUB_OFFLINE"] = "1"
os.environ.setdefault("CUDA_VISIBLE_DEVICES", "")  # tests are CPU tests, even on a GPU box
for _var in [v for v in os.environ if v.startswith("FMKIT_") and v != "FMKIT_HOME"]:
    del os.environ[_var]

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(autouse=True)
def _isolated_env(tmp_path, monkeypatch):
    """Each test gets its own FMKIT_HOME; environment changes made by fmkit are undone after."""
    saved = dict(os.environ)
    monkeypatch.setenv("FMKIT_HOME", str(tmp_path / "fmkit-home"))
    from fmkit import environment

    environment.network_reachable.cache_clear()
    yield
    os.environ.clear()
    os.environ.update(saved)


@pytest.fixture(scope="session")
def models_dir() -> Path:
    path = _SESSION_DIR / "models"
    path.mkdir(exist_ok=True)
    return path


@pytest.fixture(scope="session")
def tiny_bert(models_dir) -> Path:
    from tiny_text_models import build_bert

    return build_bert(models_dir / "tiny-bert")


@pytest.fixture(scope="session")
def tiny_gpt2(models_dir) -> Path:
    from tiny_text_models import build_gpt2

    return build_gpt2(models_dir / "tiny-gpt2")


@pytest.fixture(scope="session")
def tiny_sd(models_dir) -> Path:
    from tiny_sd import build_sd

    return build_sd(models_dir / "tiny-sd")


@pytest.fixture(scope="session")
def tiny_yolo(models_dir) -> Path:
    from tiny_yolo import build_yolo

    return build_yolo(models_dir / "tiny-yolo")


@pytest.fixture
def cli():
    """Run fmkit in-process: cli(["tokenize", "x"], input="...") -> click Result with
    separate .stdout and .stderr, and .exit_code."""
    from typer.testing import CliRunner

    from fmkit.cli import app

    runner = CliRunner()

    def run(args, input=None, env=None):
        return runner.invoke(app, [str(a) for a in args], input=input, env=env, catch_exceptions=False)

    return run


@pytest.fixture
def fmkit_proc(tmp_path):
    """Run fmkit as a real subprocess (`python -m fmkit`), as a course script would, in an
    empty working directory (so tests can check that nothing lands there)."""
    workdir = tmp_path / "cwd"
    workdir.mkdir()

    def run(args, input=None, env=None, timeout=120, cwd=None):
        full_env = {**os.environ, **(env or {})}
        return subprocess.run([sys.executable, "-m", "fmkit", *map(str, args)], input=input, env=full_env,
                              capture_output=True, text=True, timeout=timeout, cwd=cwd or workdir)

    return run


from seaweed import bucket, debug_logs, s3, s3_env, s3_server  # noqa: E402,F401  (SeaweedFS S3 server for test_s3_store/test_bucket)
