"""A lean decode step for GPT-2-family models: the same modules, without the per-token overhead.

Generating one token with GPT-2 124M on a 2-core CPU reads ~124 MB of int8 weights (~7 ms);
transformers' own forward spends about as long again around them: mask building, cache
bookkeeping, and a DynamicCache that copies every layer's keys and values into a longer
tensor at each step (torch.cat: ~2 ms per token at 128 tokens). This step calls the model's
own layers (so int8, bfloat16 and float32 weights all work) but keeps keys and values in
one preallocated tensor written in place, and builds the attention mask once per step.
Its float32 logits equal transformers' (tests/test_generate_fast.py); measured in
benchmarks/generate.py.

Only plain GPT-2 configurations qualify (`supports`); anything else keeps transformers' path.
"""

from __future__ import annotations

from typing import Any


def supports(model: Any) -> bool:
    """True for a GPT-2 LM head model whose attention is the standard one this step reproduces."""
    config = getattr(model, "config", None)
    transformer = getattr(model, "transformer", None)
    return (getattr(config, "model_type", None) == "gpt2" and transformer is not None
            and getattr(config, "scale_attn_weights", True)
            and not getattr(config, "scale_attn_by_inverse_layer_idx", False)
            and not getattr(config, "reorder_and_upcast_attn", False)
            and not getattr(config, "add_cross_attention", False)
            and hasattr(model, "lm_head"))


class Gpt2Decoder:
    """Keys/values for `rows` sequences of up to `capacity` positions; `__call__` runs one step.

    Call it first with the (left-padded) prompts, then with one new token per row; pass the
    attention mask of everything seen so far, as for transformers' forward. Returns the
    last position's logits, (rows, vocab).
    """

    def __init__(self, model: Any, rows: int, capacity: int, device: str):
        import torch

        config = model.config
        self.model = model
        self.blocks = list(model.transformer.h)
        self.heads = config.n_head
        self.head_dim = config.n_embd // config.n_head
        self.width = config.n_embd
        dtype = model.transformer.wte.weight.dtype
        self.act = None  # the model's own activation module, unless torch has it as one fused op
        fused = getattr(config, "activation_function", "") in ("gelu_new", "gelu_pytorch_tanh")
        if fused and dtype == torch.float32:  # in bfloat16, 6 rounded ops and 1 fused op part more
            from functools import partial

            import torch.nn.functional as F

            self.act = partial(F.gelu, approximate="tanh")  # gelu_new's formula in one op (6 ops there)
        shape = (len(self.blocks), rows, self.heads, capacity, self.head_dim)
        self.keys = torch.empty(shape, dtype=dtype, device=device)
        self.values = torch.empty(shape, dtype=dtype, device=device)
        self.length = 0  # positions filled so far

    def __call__(self, input_ids: Any, attention_mask: Any, position_ids: Any) -> Any:
        import torch.nn.functional as F

        t = self.model.transformer
        rows, new = input_ids.shape
        start, end = self.length, self.length + new
        x = t.wte(input_ids) + t.wpe(position_ids)
        mask = self._mask(attention_mask, new, end)
        keys, values = self.keys[:, :, :, :end], self.values[:, :, :, :end]
        for layer, block in enumerate(self.blocks):
            h = block.ln_1(x)
            q, k, v = block.attn.c_attn(h).split(self.width, dim=2)
            q = q.view(rows, new, self.heads, self.head_dim).transpose(1, 2)
            self.keys[layer, :, :, start:end] = k.view(rows, new, self.heads, self.head_dim).transpose(1, 2)
            self.values[layer, :, :, start:end] = v.view(rows, new, self.heads, self.head_dim).transpose(1, 2)
            a = F.scaled_dot_product_attention(q, keys[layer], values[layer], attn_mask=mask)
            x = x + block.attn.c_proj(a.transpose(1, 2).reshape(rows, new, self.width))
            h = block.ln_2(x)
            x = x + block.mlp.c_proj((self.act or block.mlp.act)(block.mlp.c_fc(h)))
        self.length = end
        return self.model.lm_head(t.ln_f(x[:, -1]))

    def _mask(self, attention_mask: Any, new: int, end: int) -> Any:
        """Boolean (rows, 1, new, end): causal, padding hidden; None when every key may be seen.

        A left pad attends to itself only, so its row is never all-masked (which would give NaN
        keys and values that poison later layers through 0 x NaN).
        """
        import torch

        valid = attention_mask[:, :end].bool()
        if new == 1:
            return None if bool(valid.all()) else valid[:, None, None, :]
        query = torch.arange(end - new, end, device=valid.device)[:, None]
        key = torch.arange(end, device=valid.device)[None, :]
        allowed = (key <= query) & valid[:, None, None, :]
        return allowed | (key == query)
