"""The lean GPT-2 decode step (fmkit.generate.gpt2_decoder) against transformers' own forward:
the same logits at every step, with left padding, and the same tokens in every weight form."""

from __future__ import annotations

import json

import pytest


def _model(tiny_gpt2):
    from transformers import AutoModelForCausalLM

    return AutoModelForCausalLM.from_pretrained(tiny_gpt2).eval()


def test_logits_equal_transformers_at_every_step_with_left_padding(tiny_gpt2):
    """Prefill of two left-padded prompts, then 12 steps: logits equal the model's own forward."""
    import torch
    from transformers import DynamicCache

    from fmkit.generate.gpt2_decoder import Gpt2Decoder, supports

    model = _model(tiny_gpt2)
    assert supports(model)
    ids = torch.tensor([[0, 0, 0, 5, 9, 11], [3, 7, 2, 8, 4, 6]])
    mask = torch.tensor([[0, 0, 0, 1, 1, 1], [1, 1, 1, 1, 1, 1]])
    position = (mask.cumsum(-1) - 1).clamp(min=0)
    decoder, cache = Gpt2Decoder(model, 2, 6 + 12, "cpu"), DynamicCache()
    step = ids
    with torch.inference_mode():
        for _ in range(12):
            ours = decoder(step, mask, position)
            ref = model(input_ids=step, attention_mask=mask, position_ids=position, past_key_values=cache,
                        use_cache=True).logits[:, -1]
            assert torch.isfinite(ours).all()
            torch.testing.assert_close(ours, ref, rtol=1e-4, atol=1e-4)
            step = ours.argmax(-1, keepdim=True)
            mask = torch.cat([mask, torch.ones_like(mask[:, :1])], dim=1)
            position = position[:, -1:] + 1


@pytest.mark.parametrize("weights", ["float32", "int8", "bfloat16"])
def test_lean_step_and_transformers_forward_give_the_same_tokens(tiny_gpt2, weights):
    """The generator with and without the lean step: same greedy tokens and same sampled text.

    int8 quantises each layer's input with one scale for the whole batch, pad positions
    included, and the two paths fill pads differently: so int8 is compared on unpadded rows.
    """
    from fmkit.generate.decode import Generation, GenerationParams, TextGenerator
    from fmkit.profiles import load_settings

    settings = load_settings("laptop", [f"generate.model={json.dumps(str(tiny_gpt2))}",
                                        f'generate.weights="{weights}"', "generate.batch_size=3",
                                        "generate.max_new_tokens=30"])
    prompts = ["Star Trek", "The crew of the Enterprise explores strange", "Space"]
    if weights == "int8":
        prompts = ["The crew of the Enterprise explores strange"]
    results = {}
    for fast in (True, False):
        generator = TextGenerator(settings)
        assert generator.fast  # GPT-2 on the CPU takes the lean step by default
        generator.fast = fast
        for greedy in (True, False):
            params = GenerationParams.from_settings(settings, 5)
            params = type(params)(**{**params.__dict__, "do_sample": not greedy})
            results[fast, greedy] = [g.token_ids for g in generator.run(prompts, params)
                                     if isinstance(g, Generation)]
    assert results[True, True] == results[False, True]
    assert results[True, False] == results[False, False]


def test_other_model_families_keep_transformers_forward(tiny_gpt2):
    from fmkit.generate.gpt2_decoder import supports

    model = _model(tiny_gpt2)
    model.config.scale_attn_by_inverse_layer_idx = True  # an attention the lean step does not reproduce
    assert not supports(model)
    assert not supports(object())
