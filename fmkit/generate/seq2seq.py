"""Decode steps for an encoder-decoder (T5, FLAN-T5): the encoder reads the prompts once, then the
decoder writes the answer one token per step.

Why fmkit's own loop and not `model.generate` with a streamer: the loop in decode.py is the one
every family shares, so a T5 answer gets the same guarantees as a GPT-2 continuation: one RNG
per sequence (the same seed gives the same text whatever the batch), pieces streamed in the main
thread (Ctrl-C lands cleanly), the same sampling transforms, batching, notices and results.
Only the step differs, and this module is that step. Greedy decoding picks exactly the tokens
`model.generate(do_sample=False)` picks (tests/test_text2text.py). As with causal LMs, fmkit's
parameters rule: a checkpoint's generation_config (beams, BART's forced first token) is not read.
"""

from __future__ import annotations

from typing import Any


def decoder_start_id(model: Any) -> int:
    """The token every answer starts from (T5: the pad token, 0), as transformers' generate picks it."""
    for config in (model.generation_config, model.config):
        for name in ("decoder_start_token_id", "bos_token_id"):
            value = getattr(config, name, None)
            if isinstance(value, int):
                return value
    from fmkit.errors import ModelUnavailable
    from fmkit.generate.families import REFUSED_HINT

    raise ModelUnavailable(f"{type(model).__name__} names no decoder start token (config.json: "
                           "decoder_start_token_id)", REFUSED_HINT)


class EncoderDecoderSteps:
    """steps(decoder ids [rows, k]) -> next-token logits [rows, vocab].

    The first call runs the encoder over the left-padded prompts (`attention_mask` marks the
    real tokens); every call runs the decoder on its new tokens only, with the self-attention
    keys/values and the cross-attention keys/values of the encoder output cached.
    """

    def __init__(self, model: Any, input_ids: Any, attention_mask: Any, cache_arg: str):
        from transformers import DynamicCache, EncoderDecoderCache

        self.model, self.input_ids, self.attention_mask = model, input_ids, attention_mask
        self.cache_arg = cache_arg
        self.cache = EncoderDecoderCache(DynamicCache(config=model.config), DynamicCache(config=model.config))
        self.encoded = None

    def __call__(self, decoder_ids: Any) -> Any:
        if self.encoded is None:
            self.encoded = self.model.get_encoder()(input_ids=self.input_ids, attention_mask=self.attention_mask)
        out = self.model(encoder_outputs=self.encoded, attention_mask=self.attention_mask,
                         decoder_input_ids=decoder_ids, use_cache=True, **{self.cache_arg: self.cache})
        return out.logits[:, -1, :]
