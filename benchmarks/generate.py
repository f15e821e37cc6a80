"""Benchmark: `fmkit generate` vs plain transformers.pipeline("text-generation").

Baseline: transformers.pipeline("text-generation") on the same model, greedy, 128 new tokens
from "Star Trek", float32, torch's default threads. fmkit runs the same request through its
task (fmkit.generate.decode) with the laptop profile as shipped (int8 weights, the lean GPT-2
decode step, one thread per core idle at start), and with each optimisation alone or all off.
Runs are interleaved (A B C ... A B C ...) and medians reported, because the machine is shared
and noisy. Also: time to first token, greedy agreement of lossy paths with float32, and the
cold start of the whole command (`fmkit generate --max-new-tokens 1`).

`--busy` runs the same comparison while one spinning process per core competes for the CPU
(what a laptop with a browser open, or a shared CI machine, looks like); cold start is then skipped.

The model is GPT-2 124M-shaped (GPT2Config() defaults, vocab 50257) with random weights and a
byte-level BPE vocabulary of 50257 tokens built here: nothing is downloaded. Random weights give
near-uniform logits, so the top two tokens are often within rounding error of each other: the
greedy agreement of lossy paths with float32 is far lower here than on the real GPT-2.

    .venv/bin/python benchmarks/generate.py [--rounds 5] [--model-dir DIR] [--busy]
"""

from __future__ import annotations

import argparse
import atexit
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
PROMPT = "Star Trek"
NEW_TOKENS = 128
REPO = Path(__file__).resolve().parent.parent


def build_gpt2_124m(folder: Path) -> Path:
    """GPT2Config() with random weights + a 50257-token byte-level BPE (256 bytes, 50000 merges, <|endoftext|>)."""
    if (folder / "model.safetensors").exists():
        return folder
    import torch
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers
    from transformers import GPT2Config, GPT2LMHeadModel, PreTrainedTokenizerFast
    from transformers.convert_slow_tokenizer import bytes_to_unicode

    vocab = {c: i for i, c in enumerate(bytes_to_unicode().values())}
    merges, letters = [], "etaoinshrdlucmfwypvbgkjqxz"
    queue = []
    for c in letters:  # "Ġx" = space + letter, as in GPT-2's own vocabulary
        merges.append(("Ġ", c))
        vocab["Ġ" + c] = len(vocab)
        queue.append("Ġ" + c)
    queue += list(letters)
    i = 0
    while len(vocab) < 50256:  # grow words letter by letter, breadth first
        base, i = queue[i], i + 1
        for c in letters:
            if base + c not in vocab and len(vocab) < 50256:
                merges.append((base, c))
                vocab[base + c] = len(vocab)
                queue.append(base + c)
    vocab["<|endoftext|>"] = 50256
    bpe = Tokenizer(models.BPE(vocab=vocab, merges=merges))
    bpe.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    bpe.decoder = decoders.ByteLevel()
    tokenizer = PreTrainedTokenizerFast(tokenizer_object=bpe, bos_token="<|endoftext|>", eos_token="<|endoftext|>",
                                        unk_token="<|endoftext|>", model_max_length=1024)
    torch.manual_seed(0)
    folder.mkdir(parents=True, exist_ok=True)
    GPT2LMHeadModel(GPT2Config()).eval().save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


def fmkit_variant(folder: Path, *sets: str):
    """(TextGenerator, params) for the laptop profile with extra --set values."""
    from fmkit.profiles import load_settings
    from fmkit.generate.decode import GenerationParams, TextGenerator

    settings = load_settings("laptop", [f'generate.model="{folder}"', "generate.do_sample=false",
                                        f"generate.max_new_tokens={NEW_TOKENS}", *sets])
    return TextGenerator(settings), GenerationParams.from_settings(settings, 0)


def adaptive(variant):
    """A variant whose thread count is chosen from the free cores before each run (choose_threads)."""
    variant[0].adaptive_threads = True
    return variant


def transformers_forward(variant):
    """A variant that decodes through transformers' own forward and DynamicCache, not the lean step."""
    variant[0].fast = False
    return variant


def busy_cores():
    """One spinning process per core, until the returned function is called."""
    spinners = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(os.cpu_count() or 1)]

    def stop():
        for p in spinners:
            p.kill()
            p.wait()

    atexit.register(stop)  # also on an error or Ctrl-C
    return stop


def time_fmkit(variant) -> tuple[float, float, list[int]]:
    """(tokens/s, seconds to first token, token ids) for one greedy run, streaming as the CLI does."""
    from fmkit.generate.decode import Generation, Piece

    generator, params = variant
    if getattr(generator, "adaptive_threads", False):  # what fmkit generate does at start-up
        from fmkit.generate.quantize import choose_threads

        generator.threads = choose_threads(0)
    start = time.perf_counter()
    first = None
    for event in generator.run([PROMPT], params, stream=True):
        if isinstance(event, Piece) and first is None:
            first = time.perf_counter() - start
        if isinstance(event, Generation):
            gen = event
    seconds = time.perf_counter() - start
    return gen.new_tokens / seconds, first, gen.token_ids


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--model-dir", type=Path, default=Path(tempfile.gettempdir()) / "fmkit-bench-gpt2-124m")
    parser.add_argument("--busy", action="store_true", help="measure while one spinning process per core competes")
    args = parser.parse_args()

    from fmkit import environment

    environment.prepare()
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer, pipeline

    folder = build_gpt2_124m(args.model_dir)
    tokenizer = AutoTokenizer.from_pretrained(folder)
    pipe = pipeline("text-generation", model=AutoModelForCausalLM.from_pretrained(folder).eval(), tokenizer=tokenizer)
    default_threads = torch.get_num_threads()
    stop_load = busy_cores() if args.busy else None
    load = f"; BUSY: {os.cpu_count()} spinning processes compete for the cores" if args.busy else "; idle machine"
    print(f"model: GPT-2 124M shape, random weights ({folder}); greedy, {NEW_TOKENS} new tokens from {PROMPT!r}; "
          f"torch {torch.__version__}, {default_threads} threads, {args.rounds} interleaved rounds{load}")

    def run_pipeline():
        start = time.perf_counter()
        out = pipe(PROMPT, max_new_tokens=NEW_TOKENS, do_sample=False, return_tensors=True,
                   pad_token_id=tokenizer.eos_token_id)
        seconds = time.perf_counter() - start
        ids = out[0]["generated_token_ids"]
        ids = list(ids[len(tokenizer(PROMPT).input_ids):])
        return len(ids) / seconds, None, ids

    def run_pipeline_1_thread():
        torch.set_num_threads(1)
        try:
            return run_pipeline()
        finally:
            torch.set_num_threads(default_threads)

    torch_threads = f"generate.threads={default_threads}"
    variants = {
        "pipeline (baseline, float32)": run_pipeline,
        "pipeline, 1 thread (2nd baseline)": run_pipeline_1_thread,
        "fmkit laptop profile (as shipped)": adaptive(fmkit_variant(folder)),
        "fmkit int8, 1 thread": fmkit_variant(folder, "generate.threads=1"),
        "fmkit int8, torch's threads": fmkit_variant(folder, torch_threads),
        "fmkit int8, transformers' forward": transformers_forward(fmkit_variant(folder, torch_threads)),
        "fmkit float32 (exact), lean step": fmkit_variant(folder, 'generate.weights="float32"', torch_threads),
        "fmkit, every optimisation off (float32)": transformers_forward(
            fmkit_variant(folder, 'generate.weights="float32"', torch_threads)),
    }
    rates = {name: [] for name in variants}
    firsts = {name: [] for name in variants}
    tokens = {}
    for _ in range(args.rounds):
        for name, variant in variants.items():
            result = variant() if callable(variant) else time_fmkit(variant)
            rates[name].append(result[0])
            if result[1] is not None:
                firsts[name].append(result[1])
            tokens[name] = result[2]

    base_name = "pipeline (baseline, float32)"
    base, base_best = statistics.median(rates[base_name]), max(rates[base_name])
    reference = tokens["fmkit, every optimisation off (float32)"]
    print(f"\n{'path':42} {'median tok/s':>12} {'best tok/s':>10} {'1st token':>9} {'greedy = float32':>16}")
    for name in variants:
        first = f"{statistics.median(firsts[name]) * 1000:.0f} ms" if firsts[name] else "-"
        same = sum(a == b for a, b in zip(tokens[name], reference))
        print(f"{name:42} {statistics.median(rates[name]):12.1f} {max(rates[name]):10.1f} {first:>9} "
              f"{same:>10}/{len(reference)}   (all: " + ", ".join(f"{r:.1f}" for r in rates[name]) + ")")
    print("(median = typical on this shared machine; best = the least-disturbed run of each path)\n")
    one_name = "pipeline, 1 thread (2nd baseline)"
    for name in variants:
        if name.startswith("fmkit") and "1 thread" in name:
            print(f"fmkit vs BASELINE: {statistics.median(rates[name]) / statistics.median(rates[one_name]):.2f}x "
                  f"median, {max(rates[name]) / max(rates[one_name]):.2f}x best  [{name} vs {one_name}: "
                  "same threads, so this is the gain of fmkit's weights and decode loop alone]")
    print(f"(threads alone: pipeline with 1 thread runs at {statistics.median(rates[one_name]) / base:.2f}x "
          "the pipeline with torch's default threads)")
    for name in variants:
        if name.startswith("fmkit"):
            print(f"fmkit vs BASELINE: {statistics.median(rates[name]) / base:.2f}x median, "
                  f"{max(rates[name]) / base_best:.2f}x best  [{name} vs {base_name}]")
    exact = tokens["fmkit, every optimisation off (float32)"] == tokens[base_name]
    print(f"float32 greedy tokens identical to the pipeline's: {exact}")
    print("note: random weights give near-uniform logits, so lossy paths (int8, bfloat16) flip near-ties that a "
          "trained GPT-2 would not; agreement on real weights is much higher")
    if stop_load:
        stop_load()
        print("(cold start not measured with --busy)")
    else:
        cold_start(folder)


def cold_start(folder: Path, rounds: int = 3) -> None:
    """Wall time of a whole process: `fmkit generate ... --max-new-tokens 1` vs a plain pipeline script."""
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_VERBOSITY": "error"}
    fmkit = [sys.executable, "-m", "fmkit", "generate", PROMPT, "--max-new-tokens", "1", "--model", str(folder),
             "--quiet", "--greedy"]
    plain = [sys.executable, "-W", "ignore", "-c",
             "from transformers import pipeline; import sys; "
             f"p = pipeline('text-generation', model={str(folder)!r}); "
             f"print(p({PROMPT!r}, max_new_tokens=1, do_sample=False, pad_token_id=50256)[0]['generated_text'])"]
    commands = {"pipeline script (baseline)": plain, "fmkit generate, laptop (int8)": fmkit,
                "fmkit generate, float32": [*fmkit, "--set", 'generate.weights="float32"']}
    walls = {name: [] for name in commands}
    for _ in range(rounds):
        for name, cmd in commands.items():
            start = time.perf_counter()
            subprocess.run(cmd, capture_output=True, check=True, cwd=REPO, env=env)
            walls[name].append(time.perf_counter() - start)
    print(f"\ncold start, whole process, --max-new-tokens 1 (median of {rounds}):")
    for name, values in walls.items():
        print(f"  {name:32} {statistics.median(values):5.1f} s   (" + ", ".join(f"{v:.1f}" for v in values) + ")")
    base = statistics.median(walls["pipeline script (baseline)"])
    for name in list(commands)[1:]:
        print(f"fmkit vs BASELINE: {base / statistics.median(walls[name]):.2f}x  [cold start, {name}; > 1 = faster]")


if __name__ == "__main__":
    main()
