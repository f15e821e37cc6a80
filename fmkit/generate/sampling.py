"""Choosing the next token from a step's logits: greedy, or sampled with one RNG per sequence.

Each sequence owns a torch.Generator seeded from (seed, sequence number), so the text a
prompt gets depends only on the seed, the parameters and the model: not on which other
prompts share its batch, nor on its position in the input. The transforms follow
transformers' order and semantics (repetition penalty, temperature, top-k, top-p), so
greedy decoding picks exactly the token `model.generate(do_sample=False)` picks.
"""

from __future__ import annotations

from typing import Any, Sequence


def apply_repetition_penalty(logits: Any, seen: Any, penalty: float) -> Any:
    """logits [rows, vocab]; seen [rows, n] ids already in each sequence (prompt + new).

    As transformers' RepetitionPenaltyLogitsProcessor: positive scores are divided by the
    penalty, negative ones multiplied, so a seen token always becomes less likely.
    """
    import torch

    if penalty == 1.0:
        return logits
    scores = torch.gather(logits, 1, seen)
    scores = torch.where(scores < 0, scores * penalty, scores / penalty)
    return logits.scatter(1, seen, scores)


def filter_top_k_top_p(logits: Any, top_k: int, top_p: float) -> Any:
    """Mask everything outside the top k and outside the smallest set with mass >= top_p (-inf)."""
    import torch

    if top_k and top_k < logits.shape[-1]:
        kth = torch.topk(logits, top_k, dim=-1).values[..., -1:]
        logits = logits.masked_fill(logits < kth, float("-inf"))
    if top_p < 1.0:
        sorted_logits, order = torch.sort(logits, descending=False, dim=-1)
        cumulative = sorted_logits.softmax(dim=-1).cumsum(dim=-1)
        drop = cumulative <= (1 - top_p)
        drop[..., -1:] = False  # always keep the most likely token
        logits = logits.masked_fill(drop.scatter(-1, order, drop), float("-inf"))
    return logits


def make_generators(seed: int, sequence_numbers: Sequence[int]) -> list[Any]:
    """One CPU generator per row, seeded from the seed and the row's sequence number."""
    import torch

    generators = []
    for number in sequence_numbers:
        g = torch.Generator(device="cpu")
        g.manual_seed((seed + 1_000_003 * number) % (2**63))
        generators.append(g)
    return generators


def next_tokens(logits: Any, seen: Any, *, do_sample: bool, temperature: float, top_k: int, top_p: float,
                repetition_penalty: float, generators: Sequence[Any]) -> Any:
    """logits [rows, vocab] (any dtype/device) -> next token ids [rows] (long, same device)."""
    import torch

    logits = apply_repetition_penalty(logits.float(), seen, repetition_penalty)
    if not do_sample:
        return logits.argmax(dim=-1)
    logits = filter_top_k_top_p(logits / temperature, top_k, top_p)
    probs = logits.softmax(dim=-1).cpu()
    picks = [torch.multinomial(probs[row], 1, generator=g) for row, g in enumerate(generators)]
    return torch.cat(picks).to(logits.device)
