"""`fmkit generate` on the tiny GPT-2: streaming, JSON, seeds, batching, parity with plain
transformers, context limits, and every bad input (one line, right exit code)."""

from __future__ import annotations

import json
import re
import signal
import subprocess
import time

import pytest
from generate_runs import generations as _generations
from generate_runs import run_events as _run
from generate_runs import settings_for as _settings
from processes import fmkit_popen

FP32 = ["--set", "generate.weights=float32"]


def _json_lines(stdout: str) -> list[dict]:
    return [json.loads(line) for line in stdout.splitlines()]


# --- parity with plain transformers ---------------------------------------------------------------


def test_greedy_fp32_equals_plain_transformers(tiny_gpt2):
    """Greedy tokens equal model.generate's and the text equals pipeline's, past the 20-token max_length trap."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer, pipeline

    tok = AutoTokenizer.from_pretrained(tiny_gpt2)
    model = AutoModelForCausalLM.from_pretrained(tiny_gpt2).eval()
    prompts = ["Star Trek", "The crew of the Enterprise explores", "Space"]
    ours = _generations(_run(tiny_gpt2, prompts, weights="float32", do_sample=False, max_new_tokens=40, batch_size=2))
    pipe = pipeline("text-generation", model=model, tokenizer=tok)
    for prompt, gen in zip(prompts, ours):
        ids = tok(prompt, return_tensors="pt")
        with torch.inference_mode():
            ref = model.generate(**ids, do_sample=False, max_new_tokens=40, pad_token_id=tok.eos_token_id)
        ref_new = ref[0, ids.input_ids.shape[1]:].tolist()
        if ref_new and ref_new[-1] == tok.eos_token_id:
            ref_new = ref_new[:-1]
        assert gen.token_ids == ref_new
        assert gen.new_tokens == len(ref_new) > 20 or tok.eos_token_id in ref[0].tolist()
        text = pipe(prompt, do_sample=False, max_new_tokens=40, return_full_text=False,
                    pad_token_id=tok.eos_token_id)[0]["generated_text"]
        assert gen.text == text


def test_cli_greedy_text_matches_task(cli, tiny_gpt2):
    r = cli(["generate", "Star Trek", "--model", tiny_gpt2, "--greedy", "-n", "25", "--json", *FP32])
    assert r.exit_code == 0, r.stderr
    [gen] = _generations(_run(tiny_gpt2, ["Star Trek"], weights="float32", do_sample=False, max_new_tokens=25))
    assert _json_lines(r.stdout)[0]["text"] == gen.text


def test_int8_laptop_default_runs_and_is_labelled(tiny_gpt2):
    from fmkit.generate.decode import TextGenerator

    gen = TextGenerator(_settings(tiny_gpt2))
    assert gen.weights.startswith("int8")
    [out] = _generations(_run(tiny_gpt2, ["Star Trek"], do_sample=False, max_new_tokens=30))
    assert out.new_tokens > 0 and isinstance(out.text, str)


# --- output: JSON and streaming -------------------------------------------------------------------


def test_json_objects_have_the_contract_keys(cli, tiny_gpt2):
    r = cli(["generate", "Star Trek", "Captain Kirk", "-m", tiny_gpt2, "--json", "--seed", "7", "-n", "12", "-r", "2"])
    assert r.exit_code == 0, r.stderr
    rows = _json_lines(r.stdout)  # every stdout line parses: nothing else is there
    assert [row["prompt"] for row in rows] == ["Star Trek", "Star Trek", "Captain Kirk", "Captain Kirk"]
    for row in rows:
        assert set(row) == {"prompt", "text", "model", "seed", "params", "new_tokens", "seconds", "tokens_per_second"}
        assert row["seed"] == 7 and row["params"]["max_new_tokens"] == 12 and row["params"]["num_return_sequences"] == 2
        assert 0 < row["new_tokens"] <= 12 and row["seconds"] > 0 and row["tokens_per_second"] > 0
    assert rows[0]["text"] != rows[1]["text"]  # two samples of one prompt differ


def test_stream_pieces_add_up_to_the_text_and_come_token_by_token(tiny_gpt2):
    from fmkit.generate.decode import Piece

    events = _run(tiny_gpt2, ["Star Trek", "Space"], stream=True, max_new_tokens=30, batch_size=2)
    gens = _generations(events)
    for gen in gens:
        pieces = [e for e in events if isinstance(e, Piece) and e.index == gen.index]
        assert pieces[0].first and pieces[0].prompt == gen.prompt
        assert "".join(p.text for p in pieces) == gen.text
    first_prompt_pieces = [e for e in events if isinstance(e, Piece) and e.index == 0]
    assert len(first_prompt_pieces) > 5  # streamed as it was produced, not in one lump


def test_stream_and_no_stream_print_the_same_text(cli, tiny_gpt2):
    args = ["generate", "Star Trek", "Space", "-m", tiny_gpt2, "--seed", "3", "-n", "15", "--quiet"]
    streamed, whole = cli(args), cli([*args, "--no-stream"])
    assert streamed.exit_code == whole.exit_code == 0
    assert streamed.stdout == whole.stdout
    assert streamed.stdout.startswith("Star Trek") and "\n\nSpace" in streamed.stdout
    assert streamed.stderr == ""


# --- seeds and batching ---------------------------------------------------------------------------


@pytest.mark.parametrize("weights", ["float32", "bfloat16"])
def test_same_seed_same_text_and_batching_does_not_change_it(tiny_gpt2, weights):
    prompts = ["Star Trek", "Captain Kirk and Mr. Spock beam down", "Space", "A good novel"]

    def texts(seed, batch_size):
        events = _run(tiny_gpt2, prompts, seed=seed, batch_size=batch_size, max_new_tokens=20, weights=weights)
        return [g.text for g in _generations(events)]

    one, four, again, other = texts(11, 1), texts(11, 4), texts(11, 3), texts(12, 4)
    assert one == four == again
    assert other != one


def test_same_seed_same_text_across_processes(cli, fmkit_proc, tiny_gpt2):
    args = ["generate", "Star Trek", "-m", tiny_gpt2, "--seed", "42", "-n", "20", "--json"]
    here = _json_lines(cli(args).stdout)
    there = fmkit_proc(args)
    assert there.returncode == 0, there.stderr
    assert _json_lines(there.stdout)[0]["text"] == here[0]["text"]
    # stderr holds fmkit's one summary line (rich may wrap it) and no library noise
    summary = " ".join(there.stderr.split())
    assert re.fullmatch(rf"1 text, 20 new tokens, [\d.]+ tokens/s, {re.escape(str(tiny_gpt2))} \(int8 dynamic\), seed 42",
                        summary), summary


def test_stdin_prompts_come_out_in_input_order(cli, tiny_gpt2):
    prompts = [f"Star Trek {'x ' * (i % 5)}{i}" for i in range(11)]
    r = cli(["generate", "-", "-m", tiny_gpt2, "--json", "-n", "5", "--set", "generate.batch_size=4"],
            input="\n".join(prompts) + "\n\n")
    assert r.exit_code == 0, r.stderr
    assert [row["prompt"] for row in _json_lines(r.stdout)] == prompts


def test_prompts_are_read_lazily_batch_by_batch(tiny_gpt2):
    """A 1,000-prompt pipe is never held at once: the task reads one batch ahead of its output."""
    from fmkit.generate.decode import Generation, GenerationParams, TextGenerator

    consumed = 0

    def prompts():
        nonlocal consumed
        for i in range(1000):
            consumed += 1
            yield f"prompt {i}"

    settings = _settings(tiny_gpt2, batch_size=4, max_new_tokens=2)
    events = TextGenerator(settings).run(prompts(), GenerationParams.from_settings(settings, 1))
    first = next(e for e in events if isinstance(e, Generation))
    assert first.index == 0 and consumed <= 5


# --- context limits -------------------------------------------------------------------------------


def test_too_long_prompt_fails_clearly_or_is_truncated(cli, tiny_gpt2):
    long_prompt = "Star Trek " * 200  # far beyond the tiny model's 128 positions
    r = cli(["generate", long_prompt, "-m", tiny_gpt2, "-n", "5"])
    assert r.exit_code == 2 and "reads at most 128" in r.stderr and "--truncate" in r.stderr
    assert "Traceback" not in r.stderr and r.stdout == ""
    r = cli(["generate", long_prompt, "-m", tiny_gpt2, "-n", "5", "--truncate", "--json"])
    assert r.exit_code == 0, r.stderr
    assert _json_lines(r.stdout)[0]["new_tokens"] <= 5 and "kept the last" in r.stderr


def test_max_new_tokens_beyond_context_is_capped_with_a_notice(cli, tiny_gpt2):
    r = cli(["generate", "Star Trek", "-m", tiny_gpt2, "-n", "500", "--json", "--greedy", *FP32])
    assert r.exit_code == 0, r.stderr
    assert "capped to" in r.stderr
    assert _json_lines(r.stdout)[0]["new_tokens"] <= 128


# --- bad input ------------------------------------------------------------------------------------


@pytest.mark.parametrize("args, code, words", [
    (["", ], 2, "prompt is empty"),
    (["x", "--temperature", "0"], 2, "temperature must be > 0 when sampling"),
    (["x", "--temperature", "-1"], 2, "temperature"),
    (["x", "--top-p", "0"], 2, "top_p"),
    (["x", "--top-p", "1.5"], 2, "top_p"),
    (["x", "--max-new-tokens", "0"], 2, "max_new_tokens"),
    (["x", "--max-new-tokens", "-3"], 2, "max_new_tokens"),
    (["x", "--num-return-sequences", "0"], 2, "num_return_sequences"),
    (["x", "--greedy", "-r", "2"], 2, "greedy decoding gives one answer"),
    (["x", "--model", "no-such-model-anywhere"], 1, "no-such-model-anywhere"),
    (["x", "--model", "./missing/folder"], 1, "does not exist"),
])
def test_bad_input_is_one_line_with_the_right_exit_code(cli, tiny_gpt2, args, code, words):
    model = [] if "--model" in args else ["--model", tiny_gpt2]
    r = cli(["generate", *args, *model])
    assert r.exit_code == code, (r.stdout, r.stderr)
    assert words in r.stderr and "Traceback" not in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1 and r.stdout == ""


def test_greedy_accepts_temperature_zero(cli, tiny_gpt2):
    r = cli(["generate", "x", "--greedy", "--temperature", "0", "-m", tiny_gpt2, "-n", "3", "--json"])
    assert r.exit_code == 0, r.stderr


def test_a_folder_that_is_not_a_text_generation_model_fails_cleanly(cli, tiny_bert):
    r = cli(["generate", "x", "-m", tiny_bert])
    assert r.exit_code == 1 and "Traceback" not in r.stderr
    assert "holds a BertModel: neither a causal language model nor a text-to-text encoder-decoder" in r.stderr


def test_a_sequence_that_ends_first_leaves_the_others_going(tiny_gpt2):
    """The first row of a batch meets its end token while the second goes on: the first is yielded
    (and forgotten) at once, and the loop carries on for the rest."""
    from fmkit.generate.decode import GenerationParams, TextGenerator

    settings = _settings(tiny_gpt2, weights="float32", max_new_tokens=20, batch_size=2)  # sampled: one RNG per row
    prompts, params = ["Star Trek", "Captain Kirk and Mr. Spock beam down"], GenerationParams.from_settings(settings, 1)
    generator = TextGenerator(settings)
    first, second = _generations(generator.run(prompts, params))
    # an "end" token that the first text reaches after a few tokens and the second never writes
    cut = next(k for k in range(2, 15) if first.token_ids[k] not in first.token_ids[:k] + second.token_ids)
    generator.eos_id = first.token_ids[cut]
    ended, going = _generations(generator.run(prompts, params))
    assert ended.token_ids == first.token_ids[:cut] and going.token_ids == second.token_ids


def test_ctrl_c_mid_stream_exits_130_without_traceback(tmp_path, tiny_gpt2):
    import os

    prompts = tmp_path / "prompts.txt"
    prompts.write_text("Star Trek\n" * 20000)
    with open(prompts) as stdin:
        proc = fmkit_popen(["generate", "-", "-m", tiny_gpt2, "-n", "100"], stdin=stdin, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, text=True, errors="replace", cwd=tmp_path, env=os.environ.copy())
        proc.stdout.readline()  # it is generating now (errors="replace": see test_hostile's Ctrl-C test)
        time.sleep(0.3)
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert "Traceback" not in err and "interrupted" in err
    assert out.endswith("\n")  # the terminal is left on a clean line


def test_int8_text_repeats_for_the_same_seed_and_batch(tiny_gpt2):
    prompts = ["Star Trek", "Space"]
    first = [g.text for g in _generations(_run(tiny_gpt2, prompts, seed=5, max_new_tokens=15))]
    again = [g.text for g in _generations(_run(tiny_gpt2, prompts, seed=5, max_new_tokens=15))]
    assert first == again


def test_thread_setting_applies_only_while_generating(tiny_gpt2):
    import torch

    from fmkit.generate.decode import GenerationParams, TextGenerator

    before = torch.get_num_threads()
    settings = _settings(tiny_gpt2, threads=1, max_new_tokens=3)
    seen = []
    for _ in TextGenerator(settings).run(["Star Trek"], GenerationParams.from_settings(settings, 1)):
        seen.append(torch.get_num_threads())
    assert seen and set(seen) == {1}
    assert torch.get_num_threads() == before
