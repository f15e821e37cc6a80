"""`fmkit generate` on a tiny random FLAN-T5-shaped encoder-decoder: greedy parity with transformers'
own generate, seeds and batching, streaming, JSON, the encoder's length limit, weights; and the
family detection that sends a folder to the causal or the text-to-text path."""

from __future__ import annotations

import json

import pytest
from generate_runs import generations as _generations
from generate_runs import run_events as _events
from generate_runs import settings_for as _settings

FP32 = ["--set", "generate.weights=float32"]
PROMPTS = ["Star Trek", "translate: The crew of the Enterprise explores strange new worlds", "Space",
           "Captain Kirk and Mr. Spock beam down"]


@pytest.fixture(scope="session")
def tiny_t5(models_dir):
    from tiny_text_models import build_t5

    folder = models_dir / "tiny-t5"
    return folder if (folder / "config.json").is_file() else build_t5(folder)


def _reference(model_dir, prompt, max_new_tokens, **tokenize):
    """transformers' own greedy answer: (new token ids without the start and end tokens, text)."""
    import torch
    from transformers import AutoModelForSeq2SeqLM, AutoTokenizer

    tok = AutoTokenizer.from_pretrained(model_dir)
    model = AutoModelForSeq2SeqLM.from_pretrained(model_dir).eval()
    with torch.inference_mode():
        out = model.generate(**tok(prompt, return_tensors="pt", **tokenize), do_sample=False,
                             max_new_tokens=max_new_tokens)[0].tolist()
    assert out[0] == model.generation_config.decoder_start_token_id
    new = out[1:]
    if tok.eos_token_id in new:
        new = new[:new.index(tok.eos_token_id)]
    return new, tok.decode(new, skip_special_tokens=True)


# --- parity with transformers ---------------------------------------------------------------------


def test_greedy_batched_answers_equal_transformers_generate(tiny_t5):
    """Four prompts of different lengths, two per batch (left-padded encoder input): each answer is
    exactly the tokens transformers' generate gives that prompt alone."""
    gens = _generations(_events(tiny_t5, PROMPTS, weights="float32", do_sample=False, max_new_tokens=24,
                                batch_size=2))
    assert [g.prompt for g in gens] == PROMPTS
    for gen in gens:
        ids, text = _reference(tiny_t5, gen.prompt, 24)
        assert gen.token_ids == ids and gen.text == text
        assert gen.new_tokens == len(ids) > 0
    assert len({tuple(g.token_ids) for g in gens}) > 1  # the answer depends on the prompt: the encoder is read


def test_cli_json_answer_is_transformers_text(cli, tiny_t5):
    r = cli(["generate", "Star Trek", "Space", "-m", tiny_t5, "--greedy", "-n", "12", "--json", *FP32])
    assert r.exit_code == 0, r.stderr
    rows = [json.loads(line) for line in r.stdout.splitlines()]
    assert [row["prompt"] for row in rows] == ["Star Trek", "Space"]
    for row in rows:
        assert set(row) == {"prompt", "text", "model", "seed", "params", "new_tokens", "seconds", "tokens_per_second"}
        assert row["text"] == _reference(tiny_t5, row["prompt"], 12)[1]
        assert not row["text"].startswith(row["prompt"])  # an answer, not a continuation


# --- seeds, batching, streaming -------------------------------------------------------------------


def test_cli_shows_an_answer_on_its_own_line_and_a_continuation_inline(cli, tiny_t5, tiny_gpt2):
    """GPT-2 continues the prompt's text; an instruction model answers it: shown apart."""
    answer = _reference(tiny_t5, "Star Trek", 8)[1]
    r = cli(["generate", "Star Trek", "-m", tiny_t5, "--greedy", "-n", "8", *FP32])
    assert r.exit_code == 0 and r.stdout == f"Star Trek\n{answer}\n"
    text = json.loads(cli(["generate", "Star Trek", "-m", tiny_gpt2, "--greedy", "-n", "8", "--json", *FP32]).stdout)["text"]
    r = cli(["generate", "Star Trek", "-m", tiny_gpt2, "--greedy", "-n", "8", *FP32])
    assert r.exit_code == 0 and r.stdout == f"Star Trek{text}\n"


@pytest.mark.parametrize("weights", ["float32", "bfloat16"])
def test_same_seed_same_answers_whatever_the_batch(tiny_t5, weights):
    def texts(seed, batch_size, returns=1):
        events = _events(tiny_t5, PROMPTS, seed=seed, batch_size=batch_size, max_new_tokens=16, weights=weights,
                         num_return_sequences=returns)
        return [(g.index, g.sequence, g.text) for g in _generations(events)]

    one, all_at_once, other = texts(11, 1), texts(11, 4), texts(12, 4)
    assert one == all_at_once
    assert other != one
    two_each = texts(11, 3, returns=2)
    assert [t for t in two_each if t[1] == 0] == one  # a second sequence does not change the first
    assert any(a[2] != b[2] for a, b in zip(two_each[::2], two_each[1::2]))


def test_stream_pieces_add_up_to_the_answer(tiny_t5):
    from fmkit.generate.decode import Piece

    events = _events(tiny_t5, PROMPTS[:2], stream=True, max_new_tokens=20, batch_size=2, do_sample=False,
                     weights="float32")
    gens = _generations(events)
    for gen in gens:
        pieces = [e for e in events if isinstance(e, Piece) and e.index == gen.index]
        assert pieces[0].first and pieces[0].prompt == gen.prompt
        assert "".join(p.text for p in pieces) == gen.text
    assert len([e for e in events if isinstance(e, Piece) and e.index == 0]) > 5  # token by token


# --- the encoder's limit --------------------------------------------------------------------------


def test_prompt_longer_than_the_encoder_fails_or_keeps_its_start(cli, tiny_t5):
    """The tiny T5's encoder reads 64 tokens (tokenizer model_max_length, as flan-t5's 512)."""
    long_prompt = "Summarize: " + "Star Trek is a science fiction franchise. " * 20
    r = cli(["generate", long_prompt, "-m", tiny_t5, "-n", "5"])
    assert r.exit_code == 2 and "reads at most 64 (prompt)" in r.stderr and "--truncate" in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1 and "Traceback" not in r.stderr and r.stdout == ""

    r = cli(["generate", long_prompt, "-m", tiny_t5, "-n", "12", "--greedy", "--truncate", "--json", *FP32])
    assert r.exit_code == 0, r.stderr
    assert "kept the first 64" in r.stderr
    # the same answer as transformers' own truncation of the prompt (its start and the closing </s>)
    expected = _reference(tiny_t5, long_prompt, 12, truncation=True, max_length=64)[1]
    assert json.loads(r.stdout)["text"] == expected


def test_new_tokens_are_not_capped_by_the_encoder_length(tiny_t5):
    """The answer has the decoder's own positions: 100 new tokens after a prompt of 64 is fine."""
    from fmkit.generate.decode import Notice

    prompt = "Star Trek " * 40  # 64+ tokens: truncated to the encoder's 64
    events = _events(tiny_t5, [prompt], truncate=True, max_new_tokens=100, weights="float32", do_sample=False)
    assert not any("capped" in e.message for e in events if isinstance(e, Notice))
    [gen] = _generations(events)
    assert gen.prompt_tokens == 64
    assert gen.token_ids == _reference(tiny_t5, prompt, 100, truncation=True, max_length=64)[0]


# --- weights --------------------------------------------------------------------------------------


def test_int8_is_not_applied_to_t5_and_says_so(tiny_t5):
    from fmkit.generate.decode import TextGenerator

    generator = TextGenerator(_settings(tiny_t5, weights="int8"))
    assert generator.weights == "float32, no int8 for text2text"
    int8 = _generations(_events(tiny_t5, PROMPTS[:2], weights="int8", do_sample=False, max_new_tokens=10))
    fp32 = _generations(_events(tiny_t5, PROMPTS[:2], weights="float32", do_sample=False, max_new_tokens=10))
    assert [g.token_ids for g in int8] == [g.token_ids for g in fp32]


def test_bfloat16_loads_in_bfloat16(tiny_t5):
    import torch

    from fmkit.generate.decode import TextGenerator

    generator = TextGenerator(_settings(tiny_t5, weights="bfloat16"))
    assert generator.weights == "bfloat16"
    assert {p.dtype for p in generator.model.parameters()} == {torch.bfloat16}


# --- which family a folder holds ------------------------------------------------------------------


def test_family_detection_from_the_config(tmp_path):
    from transformers import BertConfig, GPT2Config, T5Config, WhisperConfig

    from fmkit.errors import ModelUnavailable
    from fmkit.generate.families import CAUSAL_LM, TEXT2TEXT, text_family

    assert text_family(T5Config(architectures=["T5ForConditionalGeneration"]), tmp_path) == TEXT2TEXT
    assert text_family(T5Config(architectures=["T5WithLMHeadModel"]), tmp_path) == TEXT2TEXT  # T5 v1.0 checkpoints
    assert text_family(GPT2Config(architectures=["GPT2LMHeadModel"]), tmp_path) == CAUSAL_LM
    for config, held in [(BertConfig(architectures=["BertModel"]), "BertModel"),
                         (T5Config(architectures=["T5EncoderModel"]), "T5EncoderModel"),
                         (WhisperConfig(architectures=["WhisperForConditionalGeneration"]), "Whisper")]:
        with pytest.raises(ModelUnavailable, match=f"holds a {held}.*neither a causal language model"):
            text_family(config, tmp_path)
