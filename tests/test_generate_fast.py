"""generate's fast paths against the plain ones: the lean GPT-2 decode step (gpt2_decoder) gives
transformers' logits at every step and the same tokens in every weight form; the int8 layers
(int8_linear) compute exactly what torch.ao's quantize_dynamic does."""

from __future__ import annotations

import inspect
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
    # transformers 5.2x renamed forward's `past_key_values` to `cache` (as TextGenerator does)
    cache_arg = "cache" if "cache" in inspect.signature(model.forward).parameters else "past_key_values"
    step = ids
    with torch.inference_mode():
        for _ in range(12):
            ours = decoder(step, mask, position)
            ref = model(input_ids=step, attention_mask=mask, position_ids=position, use_cache=True,
                        **{cache_arg: cache}).logits[:, -1]
            assert torch.isfinite(ours).all()
            torch.testing.assert_close(ours, ref, rtol=1e-4, atol=1e-4)
            step = ours.argmax(-1, keepdim=True)
            mask = torch.cat([mask, torch.ones_like(mask[:, :1])], dim=1)
            position = position[:, -1:] + 1


def test_static_step_for_cuda_graphs_gives_the_eager_step_logits(tiny_gpt2):
    """The static-shape step that CUDA replays as a graph (keys written at a tensor index, attention
    over the whole zeroed buffer, unwritten positions masked): the eager step's logits, on a CPU."""
    import torch

    from fmkit.generate.gpt2_decoder import Gpt2Decoder

    model = _model(tiny_gpt2)
    ids = torch.tensor([[0, 0, 0, 5, 9, 11], [3, 7, 2, 8, 4, 6]])
    mask = torch.tensor([[0, 0, 0, 1, 1, 1], [1, 1, 1, 1, 1, 1]])
    position = (mask.cumsum(-1) - 1).clamp(min=0)
    eager, static = Gpt2Decoder(model, 2, 6 + 12, "cpu"), Gpt2Decoder(model, 2, 6 + 12, "cpu", static=True)
    assert not static.graphs  # graphs are CUDA-only; the static maths runs anywhere
    step = ids
    with torch.inference_mode():
        for i in range(12):
            ref, ours = eager(step, mask, position), static(step, mask, position)
            torch.testing.assert_close(ours, ref, rtol=1e-5, atol=1e-5)
            step = ref.argmax(-1, keepdim=True)
            mask = torch.cat([mask, torch.ones_like(mask[:, :1])], dim=1)
            position = position[:, -1:] + 1
    assert static.length == eager.length == 6 + 11


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


def test_int8_layers_equal_torch_quantize_dynamic_exactly(tiny_gpt2):
    """A Linear and a GPT-2 Conv1D (transposed weight), quantised ours and torch.ao's way: same outputs."""
    import warnings

    import torch
    from transformers.pytorch_utils import Conv1D

    from fmkit.generate.int8_linear import int8_linear
    from fmkit.generate.quantize import quantize_int8

    torch.manual_seed(0)
    linear, conv = torch.nn.Linear(48, 80), Conv1D(80, 48)
    as_linear = torch.nn.Linear(48, 80)
    with torch.no_grad():
        as_linear.weight.copy_(conv.weight.t())
        as_linear.bias.copy_(conv.bias)
    x = torch.randn(3, 5, 48) * 4
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for ours, layer in ((int8_linear(linear.weight, linear.bias), linear),
                            (int8_linear(conv.weight.t(), conv.bias), as_linear)):
            ref = torch.ao.quantization.quantize_dynamic(torch.nn.Sequential(layer), {torch.nn.Linear},
                                                         dtype=torch.qint8)
            with torch.inference_mode():
                assert torch.equal(ours(x), ref(x))
    model = _model(tiny_gpt2)
    quantize_int8(model)
    kinds = {type(m).__name__ for m in model.modules()}
    assert "Conv1D" not in kinds and "Int8Linear" in kinds
    assert not any(isinstance(m, torch.nn.Linear) for m in model.modules())  # lm_head too
