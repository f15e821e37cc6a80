"""benchmarks/gpu.py never rots: CI has no GPU, so its --smoke mode runs the same code on the CPU
with tiny models (every row: generate, cold start, diffuse, memory caps, detect) and must print
each row. The figures it prints on a CPU mean nothing; that it runs end to end does."""

from __future__ import annotations

import os
import subprocess
import sys

from conftest import REPO


def test_gpu_benchmark_smoke_runs_every_row(tmp_path):
    env = {**os.environ, "FMKIT_HOME": str(tmp_path / "home")}
    r = subprocess.run([sys.executable, str(REPO / "benchmarks" / "gpu.py"), "--smoke"], capture_output=True,
                       text=True, timeout=600, env=env, cwd=tmp_path)
    assert r.returncode == 0, r.stderr[-3000:]
    rows = [line.split()[0] for line in r.stdout.splitlines() if line.strip()]
    for row in ("generate", "diffuse", "detect"):
        assert row in rows, r.stdout
    assert "fmkit vs pipeline" in r.stdout and "fmkit vs predict" in r.stdout and "of the ceiling" in r.stdout
    assert not list(tmp_path.glob("runs")), "Ultralytics wrote runs/ into the working directory"
