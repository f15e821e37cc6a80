"""How a causal LM's weights are held for generation: float32, bfloat16, or dynamic int8.

Decoding one token at a time on a CPU is limited by reading every weight once per token
(GPT-2 124M: ~0.5 GB in float32). Smaller weights therefore mean more tokens per second:
bfloat16 halves the bytes (AVX-512 bf16 kernels), dynamic int8 quarters them and runs on
VNNI integer kernels (torch.ao's dynamic int8 kernels; activations are quantised on the fly).
Both are lossy; float32 is exact. Measured in benchmarks/generate.py.
"""

from __future__ import annotations

from typing import Any


def quantize_int8(model: Any, lm_head: bool = True) -> Any:
    """Dynamic int8 quantisation of every Linear and GPT-2 Conv1D layer (optionally not the output layer).

    The embedding matrix stays float32 for lookups; GPT-2 ties it to lm_head, and the
    quantised lm_head gets its own int8 copy (~40 MB), so the tie is simply broken.
    The layers are quantised two at a time: torch's quantise and pack kernels release the GIL.
    """
    import warnings
    from concurrent.futures import ThreadPoolExecutor

    import torch
    from transformers.pytorch_utils import Conv1D

    from fmkit.generate.int8_linear import int8_linear

    # torch 2.14 marks its quantised-tensor constructors deprecated (torch.ao moves to torchao);
    # the kernels work, and the notice says nothing to a student.
    warnings.filterwarnings("ignore", message=r"torch\.quantize_per_tensor", category=UserWarning)

    skip = None if lm_head else model.get_output_embeddings()
    jobs = []
    for parent in list(model.modules()):
        for name, child in parent.named_children():
            if child is skip:
                continue
            if isinstance(child, Conv1D):  # weight (in, out): the Linear's weight transposed
                jobs.append((parent, name, child.weight.t(), child.bias))
            elif isinstance(child, torch.nn.Linear):
                jobs.append((parent, name, child.weight, child.bias))
    # The biggest first (GPT-2's output layer is 30% of its weights), so both threads end together.
    jobs.sort(key=lambda job: -job[2].numel())
    with ThreadPoolExecutor(2) as pool:
        built = list(pool.map(lambda job: int8_linear(job[2], job[3]), jobs))
    for (parent, name, _, _), module in zip(jobs, built):
        setattr(parent, name, module)
    return model


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
    faster than one (int8: 81 vs 51 tokens/s), but when other processes keep the cores busy,
    torch's threads wait for each other at every layer and two threads fall ~2x behind one
    (20 vs 40 tokens/s; benchmarks/generate.py --busy).
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
