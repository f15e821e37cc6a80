"""Benchmark: a Session loads each model once. The second call on the same model against the first.

Baseline: the first call of each lesson in a fresh process, which loads the model (what every
`fmkit COMMAND` invocation pays). Measured: the second and third calls on the same Session.
Models: minilm (the real 6-layer BERT shipped in a package) for attention, a GPT-2 124M-shaped
random model for generate, a yolo11n-shaped random model for detect: nothing is downloaded.
One fresh process per lesson, so no lesson warms another's imports.

Run: .venv/bin/python benchmarks/session.py
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

CHILD = r"""
import json, sys, time
import fmkit
lesson, model, extra = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
fk = fmkit.Session(offline=True)
calls = {
    "attention": lambda: fk.attention("I read a good novel.", model=model),
    "generate": lambda: fk.generate("Star Trek", model=model, max_new_tokens=8, seed=1, greedy=True),
    "detect": lambda: list(fk.detect(extra["image"], model=model, imgsz=320)),
}
times = []
for _ in range(3):
    start = time.perf_counter()
    calls[lesson]()
    times.append(time.perf_counter() - start)
print(json.dumps(times))
"""


def build_models(folder: Path) -> dict[str, str]:
    from detect import build_model as build_yolo
    from generate import build_gpt2_124m as build_gpt2

    (folder / "yolo").mkdir()
    return {"generate": str(build_gpt2(folder / "gpt2")), "detect": str(build_yolo(folder / "yolo"))}


def main() -> None:
    import importlib.util

    bus = Path(importlib.util.find_spec("ultralytics").origin).parent / "assets" / "bus.jpg"
    with tempfile.TemporaryDirectory(prefix="fmkit-bench-session-") as tmp:
        models = {"attention": "minilm", **build_models(Path(tmp))}
        print("Session model cache: 1st call (loads the model) vs 2nd and 3rd calls on the same Session")
        print(f"{'lesson':<10} {'1st s':>8} {'2nd s':>8} {'3rd s':>8}   2nd / 1st")
        for lesson, model in models.items():
            out = subprocess.run([sys.executable, "-c", CHILD, lesson, model, json.dumps({"image": str(bus)})],
                                 capture_output=True, text=True, check=True,
                                 env={**__import__("os").environ, "FMKIT_HOME": tmp})
            first, second, third = json.loads(out.stdout.strip().splitlines()[-1])
            print(f"{lesson:<10} {first:8.3f} {second:8.3f} {third:8.3f}   {second / first:.3f}x "
                  f"(the model is loaded once: {first / second:.0f}x faster the second time)")


if __name__ == "__main__":
    main()
