"""How a causal LM's weights are held for generation: float32, bfloat16, or dynamic int8.

Decoding one token at a time on a CPU is limited by reading every weight once per token
(GPT-2 124M: ~0.5 GB in float32). Smaller weights therefore mean more tokens per second:
bfloat16 halves the bytes (AVX-512 bf16 kernels), dynamic int8 quarters them and runs on
VNNI integer kernels (torch.ao `quantize_dynamic`; activations are quantised on the fly).
Both are lossy; float32 is exact. Measured in benchmarks/generate.py.
"""

from __future__ import annotations

from typing import Any



def conv1d_to_linear(model: Any) -> int:
    """Replace GPT-2's transformers Conv1D layers by equivalent nn.Linear layers, in place.

    Conv1D is a Linear with a transposed weight (in, out); torch.ao's dynamic quantisation
    only knows nn.Linear, so GPT-2 must be converted first. Returns how many were replaced.
    """
    import torch
    from transformers.pytorch_utils import Conv1D

    replaced = 0
    for parent in list(model.modules()):
        for name, child in list(parent.named_children()):
            if isinstance(child, Conv1D):
                n_in, n_out = child.weight.shape
                linear = torch.nn.Linear(n_in, n_out, device="meta")  # no wasted random init
                linear.weight = torch.nn.Parameter(child.weight.detach().t().contiguous(), requires_grad=False)
                linear.bias = torch.nn.Parameter(child.bias.detach(), requires_grad=False)
                setattr(parent, name, linear.eval())
                replaced += 1
    return replaced


def quantize_int8(model: Any, lm_head: bool = True) -> Any:
    """Dynamic int8 quantisation of every nn.Linear (optionally not the output layer).

    The embedding matrix stays float32 for lookups; GPT-2 ties it to lm_head, and the
    quantised lm_head gets its own int8 copy (~40 MB), so the tie is simply broken.
    """
    import warnings

    import torch

    conv1d_to_linear(model)
    skip = set()
    if not lm_head:
        skip = {name for name, module in model.named_modules() if module is model.get_output_embeddings()}
    targets = {name for name, module in model.named_modules()
               if isinstance(module, torch.nn.Linear) and name not in skip}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch.ao announces its future move to torchao
        return torch.ao.quantization.quantize_dynamic(model, targets, dtype=torch.qint8, inplace=True)


def prepare_weights(model: Any, weights: str, device: str, lm_head_int8: bool = True) -> tuple[Any, str]:
    """Put a float32 model into the requested form; returns (model, what was done).

    int8 kernels exist for CPUs only: elsewhere the model keeps its loaded dtype.
    """
    import torch

    if weights == "int8":
        if device != "cpu":
            return model, f"{str(next(model.parameters()).dtype).removeprefix('torch.')} (int8 is CPU-only)"
        return quantize_int8(model, lm_head_int8), "int8 dynamic" + ("" if lm_head_int8 else " (lm_head float32)")
    if weights == "bfloat16":
        return model.to(torch.bfloat16), "bfloat16"
    return model, str(next(model.parameters()).dtype).removeprefix("torch.")


def choose_threads(requested: int = 0, sample_s: float = 0.1) -> int:
    """Threads for token-by-token decoding: `requested` when > 0, else one per core that is idle now.

    Decoding reads every weight once per token. On an idle 2-core CPU two threads read them
    faster than one (int8: ~70 vs ~47 tokens/s), but when another process keeps a core busy,
    torch's threads wait for each other at every layer and two threads fall 3-5x behind one.
    So count the cores that are free right now (less than half busy over `sample_s`), at least one.
    """
    if requested > 0:
        return requested
    import os

    try:
        import psutil

        busy = psutil.cpu_percent(interval=sample_s, percpu=True)
    except Exception:  # no psutil, or no /proc: torch's own default
        return 0
    free = sum(1 for percent in busy if percent < 50)
    return max(1, min(free, os.cpu_count() or 1))
