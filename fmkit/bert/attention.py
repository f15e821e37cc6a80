"""What BERT attends to: the real attention probabilities of every layer and head for one text.

transformers 5 computes attention with SDPA by default, and then `output_attentions=True`
silently returns an empty tuple; the model is therefore loaded with attn_implementation="eager",
and the result is checked (one [1, heads, n, n] tensor per layer, rows summing to 1) before
anyone draws it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterator

from fmkit import catalog, hardware
from fmkit.errors import BadInput, ModelUnavailable, RuntimeFailure
from fmkit.options import setting


@dataclass
class BertModel:
    """A loaded encoder with eager attention and its fast tokenizer."""

    model: Any
    tokenizer: Any
    label: str
    device: str

    @property
    def layers(self) -> int:
        return self.model.config.num_hidden_layers

    @property
    def heads(self) -> int:
        return self.model.config.num_attention_heads

    @property
    def max_positions(self) -> int | None:
        return getattr(self.model.config, "max_position_embeddings", None)


def load_bert(name: str, device_setting: str = "auto", dtype_setting: str = "auto") -> BertModel:
    """Resolve --model through the catalog; load model + tokenizer once per process (eager attention)."""
    source = catalog.resolve(name)
    device = hardware.resolve_device(device_setting)
    dtype = hardware.resolve_dtype(dtype_setting, device)

    def build(path):
        from transformers import AutoModel, AutoTokenizer

        from fmkit.model_files import check_loading_info, check_model_folder

        check_model_folder(path, "model folder", weights=True)  # JSON parses, weights whole: else one line
        try:
            tokenizer = AutoTokenizer.from_pretrained(str(path))
            model, info = AutoModel.from_pretrained(str(path), attn_implementation="eager", dtype=dtype,
                                                    output_loading_info=True)
        except (OSError, ValueError, KeyError, TypeError) as e:
            raise ModelUnavailable(f"cannot load '{source.label}' as a BERT-style model: {str(e).splitlines()[0][:160]}",
                                   "give a model folder with config.json, weights and a tokenizer") from None
        check_loading_info(info, path)  # a tensor missing from the files is never left random
        if not getattr(tokenizer, "is_fast", False):
            raise ModelUnavailable(f"'{source.label}' has no fast tokenizer", "fmkit needs tokenizer.json or vocab.txt")
        return BertModel(model.to(device).eval(), tokenizer, source.label, device)

    return catalog.load_once(source, device, dtype, build, "eager-attention")


@dataclass
class AttentionResult:
    """attentions[layer, head, i, j]: how much token i attends to token j (each row sums to 1)."""

    text: str
    model: str
    tokens: list[str]
    attentions: Any  # numpy float32 array [layers, heads, n, n]
    total_tokens: int  # tokens before truncation
    max_tokens: int
    notes: list[str] = field(default_factory=list)
    theme: str = "light"  # the profile's bert.theme, for show() and save()

    @property
    def layers(self) -> int:
        return int(self.attentions.shape[0])

    @property
    def heads(self) -> int:
        return int(self.attentions.shape[1])

    @property
    def truncated(self) -> bool:
        return self.total_tokens > len(self.tokens)

    def check_layer(self, layer: int | None) -> int:
        """A layer index (None = the last layer), or BadInput naming the valid range."""
        if layer is None:
            return self.layers - 1
        if not 0 <= layer < self.layers:
            raise BadInput(f"layer {layer} is out of range: {self.model} has layers 0-{self.layers - 1}",
                           "layers count from 0; leave --layer out for the last layer")
        return layer

    def check_head(self, head: int | None, default: int = 0) -> int:
        if head is None:
            return default
        if not 0 <= head < self.heads:
            raise BadInput(f"head {head} is out of range: {self.model} has heads 0-{self.heads - 1} in each layer",
                           "heads count from 0")
        return head

    def summary(self) -> dict:
        return {"text": self.text, "model": self.model, "tokens": self.tokens, "layers": self.layers,
                "heads": self.heads, "truncated": self.truncated, "total_tokens": self.total_tokens}

    def head_dict(self, layer: int, head: int, digits: int = 5) -> dict:
        """One head as JSON-ready data: rows are the attending tokens."""
        return {"text": self.text, "model": self.model, "layer": layer, "head": head, "tokens": self.tokens,
                "attention": self.attentions[layer, head].astype("float64").round(digits).tolist(), "truncated": self.truncated}

    def iter_heads(self, layers: list[int], heads: list[int]) -> Iterator[dict]:
        for layer in layers:
            for head in heads:
                yield self.head_dict(layer, head)

    def to_dict(self) -> dict:
        """What `fmkit attention -o FILE --json` prints (without the path); per-head data: head_dict()."""
        return self.summary()

    # --- showing and saving (drawing lives in fmkit/render) --------------------------------

    def show(self, layer: int | None = None, head: int | None = None, theme: str | None = None) -> None:
        """The offline viewer, inline in a notebook, opened on (layer, head)."""
        from IPython.display import HTML, display

        from fmkit.render.notebook import attention_iframe

        display(HTML(attention_iframe(self, layer, head, theme)))

    def _repr_html_(self) -> str:
        from fmkit.render.notebook import attention_iframe

        return attention_iframe(self)

    def save(self, path: str, layer: int | None = None, head: int | None = None, *, format: str = "auto",
             all_layers: bool = False, theme: str | None = None, force: bool = False) -> str:
        """Write the viewer (.html), a heatmap (.png: one head with `head`, a layer's heads, or
        `all_layers`), or a bertviz page (format="bertviz"/"bertviz-model"). Returns the format."""
        from fmkit.render.attention_files import save

        return save(self, path, layer, head, format=format, all_layers=all_layers, theme=theme or self.theme,
                    force=force)


def check_limit(max_tokens: int, bert: BertModel) -> int:
    positions = bert.max_positions or max_tokens
    return max(2, min(max_tokens, positions))


def compute_attention(bert: BertModel, text: str, max_tokens: int) -> AttentionResult:
    """Run the model once on `text` (cut at max_tokens, [CLS] ... [SEP] kept) and collect attention."""
    import torch

    limit = check_limit(max_tokens, bert)
    total = len(bert.tokenizer(text)["input_ids"])
    enc = bert.tokenizer(text, truncation=True, max_length=limit, return_tensors="pt").to(bert.device)
    with torch.inference_mode():
        out = bert.model(**enc, output_attentions=True)
    attentions = getattr(out, "attentions", None)
    n = enc["input_ids"].shape[1]
    if not attentions or len(attentions) != bert.layers:
        raise RuntimeFailure(f"{bert.label} returned {len(attentions or ())} attention maps for {bert.layers} layers",
                             "the model must be loaded with eager attention")
    stacked = torch.stack([a.float().cpu() for a in attentions])  # [layers, 1, heads, n, n]
    if tuple(stacked.shape) != (bert.layers, 1, bert.heads, n, n):
        raise RuntimeFailure(f"unexpected attention shape {tuple(stacked.shape)}; "
                             f"expected {(bert.layers, 1, bert.heads, n, n)}")
    probs = stacked[:, 0].numpy()
    if not (abs(probs.sum(-1) - 1.0) < 1e-2).all():
        raise RuntimeFailure(f"{bert.label}'s attention rows do not sum to 1: these are not probabilities")
    tokens = bert.tokenizer.convert_ids_to_tokens(enc["input_ids"][0].tolist())
    result = AttentionResult(text, bert.label, tokens, probs, total, limit)
    if result.truncated:
        why = (f"bert.attention_max_tokens = {max_tokens}; raise it with {setting('bert.attention_max_tokens', 'N')}"
               if limit == max_tokens else f"{bert.label} takes at most {limit} positions")
        result.notes.append(f"the text has {total} tokens; showing the first {len(tokens)} ({why})")
    return result
