"""`pip install .` (not editable) must carry the profiles: configs/ ships as fmkit/configs."""

from __future__ import annotations

import subprocess
import sys
import zipfile

from conftest import REPO


def test_wheel_ships_the_builtin_profiles(tmp_path):
    r = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
                        "-w", str(tmp_path), str(REPO)], capture_output=True, text=True, timeout=180)
    assert r.returncode == 0, r.stderr
    wheel = next(tmp_path.glob("fmkit-*.whl"))
    names = set(zipfile.ZipFile(wheel).namelist())
    assert {"fmkit/configs/laptop.toml", "fmkit/configs/gpu.toml", "fmkit/cli.py"} <= names
    target = tmp_path / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--target", str(target), str(wheel)],
                   check=True, capture_output=True, timeout=180)
    out = subprocess.run([sys.executable, "-m", "fmkit", "profiles", "gpu", "--json"], capture_output=True,
                         text=True, cwd=tmp_path, env={**__import__("os").environ, "PYTHONPATH": str(target)},
                         timeout=60)
    assert out.returncode == 0, out.stderr
    assert str(target / "fmkit" / "configs" / "gpu.toml") in out.stdout
