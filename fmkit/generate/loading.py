"""A text-generation model from a local folder: its family read from config.json, its weights in the
form the profile asks for (float32, bfloat16, int8), its tokenizer set up for left padding.

int8 applies to causal LMs only. T5's feed-forward block reads `self.wo.weight.dtype` on every
call (transformers keeps `wo` in float32 for FLAN-T5's large activations), and an int8 layer
holds packed weights, not a `weight` tensor: quantising T5 would fail at its first forward. A
text2text model asked for int8 therefore stays float32, and its weights label says so.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fmkit.errors import ModelUnavailable
from fmkit.generate.families import REFUSED_HINT, TEXT2TEXT, model_class, text_family

NO_INT8 = "no int8 for text2text"


@dataclass
class TextModel:
    model: Any
    tokenizer: Any
    weights: str  # what was done to the weights, as the summary line shows it
    family: str  # families.CAUSAL_LM or families.TEXT2TEXT


def load_dtype(weights: str, dtype: Any) -> Any:
    """The dtype the weights are read in: float32 for int8 (quantised from float32) and float32,
    bfloat16 straight away for bfloat16 (half the peak memory of reading float32 first), else the
    runtime dtype (float16 on CUDA)."""
    import torch

    return {"int8": torch.float32, "float32": torch.float32, "bfloat16": torch.bfloat16}.get(weights, dtype)


def load_text_model(path: Any, device: str, dtype: Any, weights: str, int8_lm_head: bool) -> TextModel:
    """The model in `path`, ready to generate on `device`; one line for folders that hold something else."""
    from transformers import AutoConfig, AutoTokenizer
    from transformers.utils import logging as transformers_logging

    from fmkit.generate.quantize import prepare_weights
    from fmkit.model_files import check_loading_info, check_model_folder

    transformers_logging.disable_progress_bar()  # its "Loading weights" bar ignores HF_HUB_DISABLE_PROGRESS_BARS
    check_model_folder(path, "model folder", weights=True)  # JSON parses, weights whole: else one line
    try:
        config = AutoConfig.from_pretrained(path)
        family = text_family(config, path)
        tokenizer = AutoTokenizer.from_pretrained(path)
        model, info = model_class(family).from_pretrained(path, dtype=load_dtype(weights, dtype),
                                                          output_loading_info=True)
    except (OSError, ValueError, KeyError, TypeError) as e:
        raise ModelUnavailable(f"cannot load a text generation model from {path}: {str(e).splitlines()[0][:160]}",
                               REFUSED_HINT) from None
    check_loading_info(info, path)  # a tensor missing from the files is never left random
    model = model.to(device).eval()
    if family == TEXT2TEXT and weights == "int8":
        model, label = prepare_weights(model, "float32", device)
        label = f"{label}, {NO_INT8}"
    else:
        model, label = prepare_weights(model, weights, device, int8_lm_head)
    tokenizer.padding_side = "left"
    return TextModel(model, tokenizer, label, family)
