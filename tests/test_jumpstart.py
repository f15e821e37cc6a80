"""The JumpStart text models on `fmkit generate`: tiny random Bloom, Falcon (falcon-rw's shape) and
GPT-J give transformers' own greedy text; the catalog aliases; GPT-J's memory check, which refuses
before anything is downloaded; what an offline machine is told instead."""

from __future__ import annotations

import pytest
from generate_runs import generations, run_events

from fmkit import catalog
from fmkit.errors import ModelUnavailable

PROMPTS = ["Star Trek", "The crew of the Enterprise explores strange", "Space"]


@pytest.fixture(scope="session", params=["bloom", "falcon", "gptj"])
def tiny_causal(request, models_dir):
    from tiny_text_models import build_causal

    folder = models_dir / f"tiny-{request.param}"
    return folder if (folder / "config.json").is_file() else build_causal(folder, request.param)


def _generate(model, prompts, **generate):
    return generations(run_events(model, prompts, seed=3, **generate))


def test_greedy_batched_text_equals_transformers_generate(tiny_causal):
    """Left-padded batches through transformers' forward and fmkit's loop: each prompt's tokens are
    exactly what transformers' generate gives it alone."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    gens = _generate(tiny_causal, PROMPTS, weights="float32", do_sample=False, max_new_tokens=25, batch_size=2)
    tok = AutoTokenizer.from_pretrained(tiny_causal)
    model = AutoModelForCausalLM.from_pretrained(tiny_causal).eval()
    for prompt, gen in zip(PROMPTS, gens):
        ids = tok(prompt, return_tensors="pt")
        with torch.inference_mode():
            ref = model.generate(**ids, do_sample=False, max_new_tokens=25, pad_token_id=tok.eos_token_id)
        new = ref[0, ids.input_ids.shape[1]:].tolist()
        if tok.eos_token_id in new:
            new = new[:new.index(tok.eos_token_id)]
        assert gen.token_ids == new and gen.text == tok.decode(new, skip_special_tokens=True)
    assert len({tuple(g.token_ids) for g in gens}) > 1  # the text depends on the prompt


def test_int8_and_sampling_run_on_each_family(tiny_causal):
    """The laptop default (int8) quantises these models' Linear layers, and a seed repeats its text."""
    first = _generate(tiny_causal, PROMPTS, max_new_tokens=12, batch_size=3)
    again = _generate(tiny_causal, PROMPTS, max_new_tokens=12, batch_size=3)
    assert [g.text for g in first] == [g.text for g in again]
    assert all(g.new_tokens > 0 for g in first)


# --- catalog --------------------------------------------------------------------------------------


@pytest.mark.parametrize("alias, family, hub_id", [
    ("flan-t5-small", "text2text", "google/flan-t5-small"),
    ("flan-t5-base", "text2text", "google/flan-t5-base"),
    ("bloomz-560m", "causal-lm", "bigscience/bloomz-560m"),
    ("falcon-rw-1b", "causal-lm", "tiiuae/falcon-rw-1b"),
    ("gpt-j-6b", "causal-lm", "EleutherAI/gpt-j-6b"),
])
def test_jumpstart_aliases(alias, family, hub_id):
    spec = catalog.CATALOG[alias]
    assert (spec.family, spec.kind, spec.location) == (family, "hub", hub_id)
    assert spec.size_mb and spec.parameters_m and "config.json" in spec.files
    assert any(f.endswith((".safetensors", ".bin")) for f in spec.files)


def test_offline_machine_is_told_to_pull_or_use_the_packaged_model(cli):
    r = cli(["generate", "Translate to German: How old are you?", "-m", "flan-t5-small"])
    assert r.exit_code == 1, r.stderr
    assert "'flan-t5-small' is not on this machine" in r.stderr and "fmkit pull flan-t5-small" in r.stderr
    assert "--model smollm2" in r.stderr and len(r.stderr.strip().splitlines()) == 1


# --- GPT-J: memory first, download after ----------------------------------------------------------


@pytest.fixture
def no_download(monkeypatch):
    """Fails the test if anything tries to fetch model files; records the attempt otherwise."""
    calls = []

    def local_path(source, allow_download=True):
        calls.append(source.label)
        raise ModelUnavailable(f"model '{source.label}' is not on this machine (test)")

    monkeypatch.setattr(catalog.fetch, "local_path", local_path)
    monkeypatch.setattr(catalog.fetch, "download", lambda *a, **k: pytest.fail("download attempted"))
    return calls


def _ram(monkeypatch, gib):
    from fmkit import hardware

    monkeypatch.setattr(hardware, "total_ram_mb", lambda: gib * 1024)


def test_gpt_j_on_a_small_machine_is_refused_before_any_download(cli, monkeypatch, no_download):
    _ram(monkeypatch, 8)
    r = cli(["generate", "Star Trek", "-m", "gpt-j-6b"])
    assert r.exit_code == 1 and no_download == []
    assert "gpt-j-6b needs ~24 GB of memory in float32 (this machine: 9 GB)" in r.stderr
    assert "use the gpu profile (float16, ~12 GB)" in r.stderr and "bfloat16" not in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1 and "Traceback" not in r.stderr


def test_gpt_j_with_16_gb_is_pointed_at_bfloat16_which_then_fits(cli, monkeypatch, no_download):
    _ram(monkeypatch, 16)
    r = cli(["generate", "Star Trek", "-m", "gpt-j-6b"])
    assert r.exit_code == 1 and no_download == []
    assert "(this machine: 17 GB)" in r.stderr and "--set generate.weights=bfloat16 (~12 GB)" in r.stderr
    r = cli(["generate", "Star Trek", "-m", "gpt-j-6b", "--set", "generate.weights=bfloat16"])
    assert r.exit_code == 1 and no_download == ["gpt-j-6b"]  # past the check: on to the files
    assert "not on this machine" in r.stderr


def test_gpt_j_check_on_a_gpu(monkeypatch):
    import torch

    from fmkit import hardware
    from fmkit.errors import RuntimeFailure
    from fmkit.generate.memory_check import check_memory

    spec = catalog.CATALOG["gpt-j-6b"]
    monkeypatch.setattr(hardware, "nvidia_gpus", lambda: (hardware.Gpu("small", 8 * 1024), hardware.Gpu("big", 24 * 1024)))
    with pytest.raises(RuntimeFailure, match=r"needs ~12 GB of GPU memory in float16 \(this GPU: 9 GB\)"):
        check_memory(spec, "cuda", torch.float16)
    check_memory(spec, "cuda:1", torch.float16)  # 24 GiB: fits
    check_memory(catalog.CATALOG["flan-t5-base"], "cuda", torch.float32)  # 1 GB: fits anywhere
