"""`pip install .` (not editable) must carry the profiles (configs/ ships as fmkit/configs) and the
pages' package files (fmkit/*/assets/: HTML, CSS and JavaScript read with importlib.resources)."""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile

from conftest import REPO

# What a wheel is built from. The build runs on a copy: setuptools writes build/ and
# fmkit.egg-info/ next to pyproject.toml, and a test run must leave the checkout as it was.
SOURCES = ("pyproject.toml", "README.md", "fmkit", "configs")


def copy_sources(target):
    target.mkdir()
    for name in SOURCES:
        src = REPO / name
        if src.is_dir():
            shutil.copytree(src, target / name, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        else:
            shutil.copy2(src, target / name)
    return target


def test_wheel_ships_the_builtin_profiles(tmp_path):
    before = {p.name for p in REPO.iterdir()}
    source = copy_sources(tmp_path / "src")
    r = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
                        "-w", str(tmp_path), str(source)], capture_output=True, text=True, timeout=180)
    assert {p.name for p in REPO.iterdir()} - before == set()  # no build/ left in the checkout
    assert r.returncode == 0, r.stderr
    wheel = next(tmp_path.glob("fmkit-*.whl"))
    names = set(zipfile.ZipFile(wheel).namelist())
    assert {"fmkit/configs/laptop.toml", "fmkit/configs/gpu.toml", "fmkit/cli.py"} <= names
    # every module of the checkout ships (the packages list in pyproject.toml is explicit)
    modules = {p.relative_to(REPO).as_posix() for p in (REPO / "fmkit").rglob("*.py") if "__pycache__" not in p.parts}
    assert modules - names == set()
    # every page asset too (package-data in pyproject.toml), and the ones the pages need are among them
    assets = {p.relative_to(REPO).as_posix() for p in (REPO / "fmkit").rglob("*")
              if p.is_file() and "assets" in p.relative_to(REPO / "fmkit").parts and "__pycache__" not in p.parts}
    assert {f"fmkit/render/assets/attention.{x}" for x in ("html", "css", "js")} <= assets
    assert {f"fmkit/gallery/assets/{x}" for x in ("page.html", "gallery.css", "gallery.js")} <= assets
    assert assets - names == set()
    target = tmp_path / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--target", str(target), str(wheel)],
                   check=True, capture_output=True, timeout=180)
    out = subprocess.run([sys.executable, "-m", "fmkit", "profiles", "gpu", "--json"], capture_output=True,
                         text=True, cwd=tmp_path, env={**__import__("os").environ, "PYTHONPATH": str(target)},
                         timeout=60)
    assert out.returncode == 0, out.stderr
    assert str(target / "fmkit" / "configs" / "gpu.toml") in out.stdout
    # the installed copy builds both pages from its own package files
    pages = ("import numpy as np, fmkit.render.inline as i; from fmkit.gallery.page import render_index; "
             "from fmkit.bert.attention import AttentionResult; from fmkit.render.attention_html import render_html; "
             "r = AttentionResult('a b', 'm', ['a', 'b'], np.full((1, 1, 2, 2), 0.5, 'float32'), 2, 8); "
             "print(i.__file__); print(len(render_index('ko')), len(render_html(r, 0, 0)))")
    out = subprocess.run([sys.executable, "-c", pages], capture_output=True, text=True, cwd=tmp_path,
                         env={**__import__("os").environ, "PYTHONPATH": str(target)}, timeout=60)
    assert out.returncode == 0, out.stderr
    where, sizes = out.stdout.splitlines()
    assert where == str(target / "fmkit" / "render" / "inline.py") and min(map(int, sizes.split())) > 5000
