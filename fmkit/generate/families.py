"""Which kind of text model a folder holds, read from its config: the one place that decides.

- causal-lm: a decoder that continues the prompt (GPT-2, Bloom, Falcon, GPT-J, Llama, ...).
- text2text: an encoder-decoder that reads the prompt and writes an answer (T5, FLAN-T5, BART).

Anything else (BERT, an image or speech model) is refused in one line, before its weights load.
"""

from __future__ import annotations

from typing import Any

from fmkit.errors import ModelUnavailable

CAUSAL_LM = "causal-lm"
TEXT2TEXT = "text2text"

_CAUSAL_HEADS = ("ForCausalLM", "LMHeadModel")
_SEQ2SEQ_HEADS = ("ForConditionalGeneration", "LMHeadModel")  # T5 v1.0 checkpoints say T5WithLMHeadModel
REFUSED_HINT = "give a GPT-2, Bloom, Falcon, GPT-J, Llama or FLAN-T5 model (see `fmkit models`)"


def text_family(config: Any, path: Any) -> str:
    """CAUSAL_LM or TEXT2TEXT from a transformers config; ModelUnavailable for anything else.

    An encoder-decoder counts as text2text only when transformers maps its model type to a
    sequence-to-sequence LM (so Whisper, an encoder-decoder for speech, is refused here).
    """
    from transformers.models.auto.modeling_auto import MODEL_FOR_SEQ_TO_SEQ_CAUSAL_LM_MAPPING_NAMES

    architectures = list(getattr(config, "architectures", None) or [])
    model_type = getattr(config, "model_type", "") or ""
    if getattr(config, "is_encoder_decoder", False):
        if model_type in MODEL_FOR_SEQ_TO_SEQ_CAUSAL_LM_MAPPING_NAMES and (
                not architectures or any(a.endswith(_SEQ2SEQ_HEADS) for a in architectures)):
            return TEXT2TEXT
    elif not architectures or any(a.endswith(_CAUSAL_HEADS) for a in architectures):
        return CAUSAL_LM
    held = architectures[0] if architectures else f"{model_type or 'model'} encoder-decoder"
    raise ModelUnavailable(f"{path} holds a {held}: neither a causal language model nor a text-to-text "
                           "encoder-decoder", REFUSED_HINT)


def model_class(family: str) -> Any:
    """The transformers auto class that loads a family."""
    from transformers import AutoModelForCausalLM, AutoModelForSeq2SeqLM

    return AutoModelForSeq2SeqLM if family == TEXT2TEXT else AutoModelForCausalLM
