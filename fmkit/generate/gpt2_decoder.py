"""A lean decode step for GPT-2-family models: the same modules, without the per-token overhead.

Generating one token with GPT-2 124M on a 2-core CPU reads ~124 MB of int8 weights (~7 ms);
transformers' own forward spends about as long again around them: mask building, cache
bookkeeping, and a DynamicCache that copies every layer's keys and values into a longer
tensor at each step (torch.cat: ~2 ms per token at 128 tokens). This step calls the model's
own layers (so int8, bfloat16 and float32 weights all work) but keeps keys and values in
one preallocated tensor written in place, and builds the attention mask once per step.
Its float32 logits equal transformers' (tests/test_generate_fast.py); measured in
benchmarks/generate.py.

On CUDA a step costs less in the GPU than in launching its ~150 kernels one by one (GPT-2 124M
on an H200 decoded at 150-180 tokens/s either way: launch-bound). There, after the prompt is
read, each one-token step runs a static-shape version of the same maths (`static=True`: keys
and values written at a position held in a tensor, attention over the whole buffer with the
unwritten positions masked) that is captured once into a CUDA graph and replayed per token.
The static step is plain torch, so its logits are checked against the eager step on a CPU.

Only plain GPT-2 configurations qualify (`supports`); anything else keeps transformers' path.
"""

from __future__ import annotations

import logging
from typing import Any

log = logging.getLogger("fmkit.generate")


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

    def __init__(self, model: Any, rows: int, capacity: int, device: str, static: bool = False):
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
        # Zeros, not empty: the static step attends over the whole buffer, and a masked key
        # still multiplies its value by 0 (0 x NaN from uninitialised memory would be NaN).
        alloc = torch.zeros if static else torch.empty
        self.keys = alloc(shape, dtype=dtype, device=device)
        self.values = alloc(shape, dtype=dtype, device=device)
        self.length = 0  # positions filled so far
        self.rows, self.capacity = rows, capacity
        self.static = static
        self.graphs = static and str(device).startswith("cuda")  # capture the static step on CUDA
        self._graph = None
        if static:  # the static step's inputs: written before each step, read by the captured kernels
            self._ids = torch.zeros((rows, 1), dtype=torch.long, device=device)
            self._pos = torch.zeros((rows, 1), dtype=torch.long, device=device)
            self._valid = torch.zeros((rows, capacity), dtype=torch.bool, device=device)
            self._index = torch.zeros((1,), dtype=torch.long, device=device)
            self._logits = None

    def __call__(self, input_ids: Any, attention_mask: Any, position_ids: Any) -> Any:
        new = input_ids.shape[1]
        if self.static and new == 1 and self.length > 0:
            return self._static(input_ids, attention_mask, position_ids)
        start, end = self.length, self.length + new
        keys, values = self.keys[:, :, :, :end], self.values[:, :, :, :end]

        def store(layer: int, k: Any, v: Any) -> tuple[Any, Any]:
            self.keys[layer, :, :, start:end] = k
            self.values[layer, :, :, start:end] = v
            return keys[layer], values[layer]

        logits = self._forward(input_ids, position_ids, self._mask(attention_mask, new, end), store)
        self.length = end
        return logits

    def _forward(self, input_ids: Any, position_ids: Any, mask: Any, store) -> Any:
        """The model's layers over `input_ids` (rows, new); `store(layer, k, v)` keeps this step's
        keys and values (rows, heads, new, head_dim) and returns those to attend to."""
        import torch.nn.functional as F

        t = self.model.transformer
        rows, new = input_ids.shape
        x = t.wte(input_ids) + t.wpe(position_ids)
        for layer, block in enumerate(self.blocks):
            h = block.ln_1(x)
            q, k, v = (a.view(rows, new, self.heads, self.head_dim).transpose(1, 2)
                       for a in block.attn.c_attn(h).split(self.width, dim=2))
            keys, values = store(layer, k, v)
            a = F.scaled_dot_product_attention(q, keys, values, attn_mask=mask)
            x = x + block.attn.c_proj(a.transpose(1, 2).reshape(rows, new, self.width))
            h = block.ln_2(x)
            x = x + block.mlp.c_proj((self.act or block.mlp.act)(block.mlp.c_fc(h)))
        return self.model.lm_head(t.ln_f(x[:, -1]))

    # --- one token per row, static shapes (CUDA graphs) ------------------------------------

    def _static(self, input_ids: Any, attention_mask: Any, position_ids: Any) -> Any:
        """One decode step through the static buffers: copy the inputs in, run (or replay) the step."""
        start = self.length
        self._ids.copy_(input_ids)
        self._pos.copy_(position_ids)
        self._valid[:, : start + 1].copy_(attention_mask[:, : start + 1].bool())
        self._index.fill_(start)
        if not self.graphs:
            logits = self._static_step()
        else:
            if self._graph is None:
                self._capture()
            if self._graph is None:  # capture failed: this decoder runs the step eagerly
                logits = self._static_step()
            else:
                self._graph.replay()
                logits = self._logits
        self.length = start + 1
        return logits

    def _static_step(self) -> Any:
        """The eager step's maths for one token per row, with no shape depending on the position:
        keys and values land at `_index`, attention spans the whole buffer, `_valid` masks it."""

        def store(layer: int, k: Any, v: Any) -> tuple[Any, Any]:
            keys, values = self.keys[layer], self.values[layer]
            keys.index_copy_(2, self._index, k)
            values.index_copy_(2, self._index, v)
            return keys, values

        return self._forward(self._ids, self._pos, self._valid[:, None, None, :], store)

    def _capture(self) -> None:
        """Record the static step into a CUDA graph (torch.cuda.graphs: warm up on a side stream,
        then capture). Each warm-up and the capture write the same keys and values at the same
        position the real step writes, so they change nothing. On failure: eager, with a note."""
        import torch

        try:
            side = torch.cuda.Stream()
            side.wait_stream(torch.cuda.current_stream())
            with torch.cuda.stream(side):
                for _ in range(2):
                    self._static_step()
            torch.cuda.current_stream().wait_stream(side)
            graph = torch.cuda.CUDAGraph()
            with torch.cuda.graph(graph):
                self._logits = self._static_step()
            self._graph = graph
        except RuntimeError as e:  # an op this build cannot capture: correct, only slower
            log.debug("CUDA graph capture failed (%s); decoding without it", str(e).splitlines()[0])
            self.graphs = False

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
