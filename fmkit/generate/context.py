"""How long a prompt may be, and what `--truncate` keeps, for each family of text model.

A causal LM reads prompt and answer in one context (GPT-2: 1,024 positions), so a long prompt
loses its *start*: the text continues from the end. An encoder-decoder reads the prompt alone
in its encoder (FLAN-T5: 512 tokens) and writes the answer in its decoder, so the prompt loses
its *end*: an instruction usually comes first ("Summarize: ...", "Translate to German: ..."),
and transformers' tokenizers truncate the same way by default (truncation_side="right").
"""

from __future__ import annotations

from typing import Any

from fmkit.errors import BadInput
from fmkit.options import option

_UNLIMITED = 1 << 20  # tokenizers without a limit say 1e30


def context_length(model: Any, tokenizer: Any) -> int:
    """The most positions a causal LM can attend to (GPT-2: n_positions = 1024)."""
    config = model.config
    for name in ("n_positions", "max_position_embeddings", "n_ctx"):
        value = getattr(config, name, None)
        if isinstance(value, int) and value > 0:
            return value
    return int(min(tokenizer.model_max_length, _UNLIMITED))


def encoder_length(model: Any, tokenizer: Any) -> int:
    """The most prompt tokens an encoder-decoder reads: the tokenizer's model_max_length (FLAN-T5:
    512; T5's relative positions would run longer, but it was trained on 512), else the config's."""
    limit = tokenizer.model_max_length
    if isinstance(limit, int) and 0 < limit < _UNLIMITED:
        return limit
    return context_length(model, tokenizer)


def _too_long(number: int, tokens: int, model_name: str, limit: int, what: str, kept: str) -> BadInput:
    return BadInput(f"prompt {number} is {tokens} tokens; {model_name} reads at most {limit} ({what})",
                    f"shorten it, or pass {option('truncate')} to keep its {kept} tokens")


def fit_causal(ids: list[int], max_new: int, truncate: bool, number: int, limit: int,
               model_name: str) -> tuple[list[int], int, list[str]]:
    """Prompt + new tokens into a causal LM's context: (prompt ids, new-token budget, notices)."""
    notes = []
    if len(ids) >= limit:
        if not truncate:
            raise _too_long(number, len(ids), model_name, limit, "prompt + new tokens", "last")
        keep = max(limit - max_new, limit // 2)
        notes.append(f"prompt {number}: {len(ids)} tokens, kept the last {keep} ({option('truncate')})")
        ids = ids[-keep:]
    if len(ids) + max_new > limit:
        capped = limit - len(ids)
        notes.append(f"prompt {number}: max-new-tokens {max_new} capped to {capped}: "
                     f"{model_name}'s context is {limit} tokens and the prompt takes {len(ids)}")
        max_new = capped
    return ids, max_new, notes


def fit_encoder(ids: list[int], max_new: int, truncate: bool, number: int, limit: int, model_name: str,
                eos_id: int | None) -> tuple[list[int], int, list[str]]:
    """A prompt into an encoder's input: (prompt ids, new-token budget, notices). The answer has
    its own decoder positions, so the budget is max_new as asked. Truncation keeps the first
    tokens and the closing end-of-sequence token the encoder was trained to see."""
    if len(ids) <= limit:
        return ids, max_new, []
    if not truncate:
        raise _too_long(number, len(ids), model_name, limit, "prompt", "first")
    closing = [eos_id] if eos_id is not None and ids[-1] == eos_id else []
    kept = ids[:limit - len(closing)] + closing
    return kept, max_new, [f"prompt {number}: {len(ids)} tokens, kept the first {len(kept)} ({option('truncate')})"]
