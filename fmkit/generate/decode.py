"""Text generation with a causal LM (GPT-2, Bloom, Falcon, GPT-J, Llama) or a text-to-text
encoder-decoder (FLAN-T5): batched, streamed, reproducible.

`TextGenerator.run(prompts, params)` reads prompts lazily, generates `batch_size` of them at
a time (left-padded) with a plain decode loop over a KV cache, and yields events in input
order: `Piece`s of text for the sequence currently shown (streaming), `Notice`s, and one
`Generation` per finished sequence. Nothing is kept after it is yielded, so 1,000 piped
prompts run in flat memory. A causal LM continues the prompt; an encoder-decoder answers it
(its encoder reads the prompt once, its decoder writes: seq2seq.py).

Why our own loop instead of `model.generate`: a per-sequence RNG (the same seed gives the
same text whatever the batch), streaming with no extra thread (Ctrl-C lands in the main
thread), and less per-token overhead. Greedy decoding is exactly `generate`'s for every
family (tests/test_generate.py, tests/test_text2text.py).
"""

from __future__ import annotations

import inspect
import itertools
import time
from dataclasses import asdict, dataclass, field
from typing import Any, Callable, Iterable, Iterator

from fmkit import catalog, hardware
from fmkit.errors import BadInput
from fmkit.gc_pause import while_loading
from fmkit.generate.context import context_length, encoder_length, fit_causal, fit_encoder
from fmkit.generate.families import TEXT2TEXT
from fmkit.generate.loading import load_dtype, load_text_model
from fmkit.generate.memory_check import check_memory
from fmkit.generate.seq2seq import EncoderDecoderSteps, decoder_start_id
from fmkit.profiles import Settings
from fmkit.options import option


MIN_TEMPERATURE = 1e-4  # below this, sampling is greedy decoding in effect, and scores overflow before that


@dataclass(frozen=True)
class GenerationParams:
    """Decoding parameters of one run (defaults come from the profile's [generate] section)."""

    max_new_tokens: int
    do_sample: bool
    temperature: float
    top_k: int
    top_p: float
    repetition_penalty: float
    num_return_sequences: int
    seed: int

    @classmethod
    def from_settings(cls, settings: Settings, seed: int | None) -> "GenerationParams":
        g = settings.generate
        if seed is None:
            from fmkit.seeds import random_seed

            seed = random_seed()
        params = cls(g.max_new_tokens, g.do_sample, g.temperature, g.top_k, g.top_p,
                     g.repetition_penalty, g.num_return_sequences, seed)
        params.check()
        return params

    def check(self) -> None:
        """Combinations the profile schema cannot express; one line each, exit code 2."""
        if self.max_new_tokens < 1:
            raise BadInput(f"max-new-tokens must be >= 1, got {self.max_new_tokens}",
                           f"for example {option('max_new_tokens', 40)}")
        if self.num_return_sequences < 1:
            raise BadInput(f"num-return-sequences must be >= 1, got {self.num_return_sequences}")
        if not 0 < self.top_p <= 1:
            raise BadInput(f"top-p must be in (0, 1], got {self.top_p}", f"for example {option('top_p', 0.9)}; 1 turns it off")
        if self.do_sample and self.temperature <= 0:
            raise BadInput(f"temperature must be > 0 when sampling, got {self.temperature}",
                           "use --greedy for deterministic decoding, or e.g. --temperature 0.7")
        if self.do_sample and self.temperature < MIN_TEMPERATURE:  # scores / 1e-320 overflow to inf
            raise BadInput(f"temperature {self.temperature} is too small to sample with (at least {MIN_TEMPERATURE})",
                           "use --greedy for the most likely tokens, or e.g. --temperature 0.7")
        if not self.do_sample and self.num_return_sequences > 1:
            raise BadInput("greedy decoding gives one answer per prompt, not "
                           f"{self.num_return_sequences}", f"drop {option('greedy')}, or use {option('num_return_sequences', 1)}")

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d.pop("seed")
        return d


@dataclass
class Generation:
    """One generated sequence: sequence `sequence` of prompt number `index` (0-based input order)."""

    index: int
    sequence: int
    prompt: str
    text: str
    model: str
    seed: int
    params: dict[str, Any]
    new_tokens: int
    seconds: float
    token_ids: list[int] = field(default_factory=list, repr=False)
    prompt_tokens: int = 0

    @property
    def tokens_per_second(self) -> float:
        return self.new_tokens / self.seconds if self.seconds > 0 else 0.0

    def to_dict(self) -> dict[str, Any]:
        return {"prompt": self.prompt, "text": self.text, "model": self.model, "seed": self.seed,
                "params": self.params, "new_tokens": self.new_tokens, "seconds": round(self.seconds, 4),
                "tokens_per_second": round(self.tokens_per_second, 2)}

    def _repr_html_(self) -> str:
        from fmkit.render.notebook import generation_html

        return generation_html(self)


@dataclass(frozen=True)
class Piece:
    """New text of the sequence being shown (streaming); `first` marks its first piece."""

    index: int
    sequence: int
    text: str
    first: bool = False
    prompt: str = ""  # set on the first piece, so a viewer can show it before the continuation


@dataclass(frozen=True)
class Notice:
    """Something the user should know (a capped length, a truncated prompt)."""

    message: str


Event = Piece | Notice | Generation


class CausalSteps:
    """steps(new ids [rows, k]) -> next-token logits [rows, vocab], for a causal LM: the prompts
    first (prefill), then one token per call; the attention mask and positions grow with it."""

    def __init__(self, forward: Callable[[Any, Any, Any], Any], mask: Any, position: Any):
        self.forward, self.mask, self.position = forward, mask, position

    def __call__(self, ids: Any) -> Any:
        import torch

        logits = self.forward(ids, self.mask, self.position)
        self.mask = torch.cat([self.mask, torch.ones_like(self.mask[:, :1])], dim=1)
        self.position = self.position[:, -1:] + 1
        return logits


class TextGenerator:
    """A loaded model + tokenizer (once per process) that turns prompts into Generations."""

    @while_loading
    def __init__(self, settings: Settings):
        import torch

        g = settings.generate
        self.device = hardware.resolve_device(settings.runtime.device)
        from fmkit.generate.quantize import choose_threads

        self.threads = choose_threads(g.threads or settings.runtime.threads) if self.device == "cpu" else 0
        dtype = hardware.resolve_dtype(settings.runtime.dtype, self.device)
        weights = g.weights
        if weights == "auto":
            weights = {torch.float32: "float32", torch.bfloat16: "bfloat16"}.get(dtype, "auto")
        self.source = catalog.resolve(g.model)
        self.model_name = self.source.label
        check_memory(self.source.spec, self.device, load_dtype(weights, dtype))  # before any download
        loaded = catalog.load_once(
            self.source, self.device, dtype, lambda p: load_text_model(p, self.device, dtype, weights, g.int8_lm_head),
            "generate", weights, g.int8_lm_head)
        self.model, self.tokenizer, self.weights, self.family = loaded.model, loaded.tokenizer, loaded.weights, loaded.family
        self.batch_size = g.batch_size
        # transformers 5.2x renamed forward's `past_key_values` to `cache` (the old name warns).
        forward = inspect.signature(self.model.forward).parameters
        self.cache_arg = "cache" if "cache" in forward else "past_key_values"
        from fmkit.generate.gpt2_decoder import supports

        # GPT-2 decodes through the lean step on a CPU and on CUDA (there as a CUDA graph per
        # batch); MPS and other model families keep transformers' forward.
        self.fast = (self.device == "cpu" or self.device.startswith("cuda")) and supports(self.model)
        if self.family == TEXT2TEXT:  # the prompt fills the encoder; the answer has its own positions
            self.context, self.start_id = encoder_length(self.model, self.tokenizer), decoder_start_id(self.model)
        else:
            self.context = context_length(self.model, self.tokenizer)
        self.eos_id = self.tokenizer.eos_token_id
        pad = self.tokenizer.pad_token_id
        self.pad_id = pad if pad is not None else (self.eos_id if self.eos_id is not None else 0)
        # Chat models (SmolLM2, Qwen ... Instruct) ship a chat template: a prompt becomes the
        # user's turn and the text is the assistant's answer. GPT-2 has none: plain continuation.
        self.chat = bool(getattr(self.tokenizer, "chat_template", None))
        # GPT-2 continues the prompt's text; a chat or text-to-text model answers it (shown apart).
        self.continues_prompt = self.family != TEXT2TEXT and not self.chat

    def encode(self, prompt: str) -> list[int]:
        """Prompt -> input ids: through the chat template where the model has one."""
        if self.chat:
            ids = self.tokenizer.apply_chat_template([{"role": "user", "content": prompt}], tokenize=True,
                                                     add_generation_prompt=True)
            if not isinstance(ids, list):  # transformers 5 may hand back a BatchEncoding
                ids = ids["input_ids"]
            return list(ids)
        return list(self.tokenizer(prompt)["input_ids"])  # special tokens as the pipeline adds them (GPT-2: none)

    # --- input checks ------------------------------------------------------------------

    def _fit(self, ids: list[int], max_new: int, truncate: bool, number: int) -> tuple[list[int], int, list[str]]:
        """Fit a prompt (and, for a causal LM, its new tokens) into the model: (prompt ids, new-token budget, notices)."""
        if not ids:
            ids = [self.eos_id if self.eos_id is not None else self.pad_id]  # the tokenizer made nothing of it
        if self.family == TEXT2TEXT:
            return fit_encoder(ids, max_new, truncate, number, self.context, self.model_name, self.eos_id)
        return fit_causal(ids, max_new, truncate, number, self.context, self.model_name)

    # --- generation ----------------------------------------------------------------------

    def run(self, prompts: Iterable[str], params: GenerationParams, truncate: bool = False,
            stream: bool = False) -> Iterator[Event]:
        """Yield events for every prompt, batch by batch, in input order."""
        import torch

        params.check()
        numbered = enumerate(prompts)
        previous = torch.get_num_threads()
        try:
            if self.threads > 0:
                torch.set_num_threads(self.threads)
            while batch := list(itertools.islice(numbered, self.batch_size)):
                yield from self._run_batch(batch, params, truncate, stream)
        finally:
            torch.set_num_threads(previous)

    def _run_batch(self, batch: list[tuple[int, str]], params: GenerationParams, truncate: bool,
                   stream: bool) -> Iterator[Event]:
        import torch

        from fmkit.generate.sampling import make_generators, next_tokens

        # 1. Tokenize and fit each prompt; one row per (prompt, sequence), prompt-major.
        rows, notes = self._rows(batch, params, truncate)
        for note in notes:
            yield Notice(note)
        n = len(rows)
        # 2. Left padding: every row's last prompt token sits in the last column.
        input_ids, mask = self._left_padded(rows)
        generators = make_generators(params.seed, [r["sequence"] for r in rows]) if params.do_sample else []

        # 3. Decode: the prompts first, then one token per step for every unfinished row.
        steps = max(r["budget"] for r in rows)
        forward, step_input, seen = self._steps(input_ids, mask, steps)
        started = time.perf_counter()
        head = 0  # the first row not yet yielded: the one being streamed
        with torch.inference_mode():
            for step in range(steps):
                chosen = next_tokens(forward(step_input), seen, do_sample=params.do_sample,
                                     temperature=params.temperature, top_k=params.top_k, top_p=params.top_p,
                                     repetition_penalty=params.repetition_penalty, generators=generators)
                now = time.perf_counter() - started
                for i, token in enumerate(chosen.tolist()):
                    r = rows[i]
                    if not r or r["done"]:  # yielded and forgotten ({}), or finished and waiting for its turn
                        continue
                    if token == self.eos_id:
                        r["done"] = True
                    else:
                        r["new"].append(token)
                        r["done"] = len(r["new"]) >= r["budget"]
                    if r["done"]:
                        r["seconds"] = now
                if stream and head < n:
                    yield from self._stream_piece(rows[head], head)
                while head < n and rows[head]["done"]:
                    yield self._finish(rows[head], params)
                    rows[head] = {}  # forget it: flat memory
                    head += 1
                    if stream and head < n:
                        yield from self._stream_piece(rows[head], head)
                if head >= n:
                    break
                finished = torch.tensor([not r or r["done"] for r in rows], device=self.device)
                chosen = chosen.masked_fill(finished, self.pad_id)
                step_input = chosen[:, None]
                seen = torch.cat([seen, torch.where(finished[:, None], seen[:, -1:], step_input)], dim=1)
        del forward  # its keys and values

    def _rows(self, batch: list[tuple[int, str]], params: GenerationParams,
              truncate: bool) -> tuple[list[dict[str, Any]], list[str]]:
        """One row per (prompt, sequence), prompt-major, each prompt fitted to the context; and
        the notices fitting produced (a capped length, a truncated prompt)."""
        rows: list[dict[str, Any]] = []
        notices: list[str] = []
        for index, prompt in batch:
            ids, budget, notes = self._fit(self.encode(prompt), params.max_new_tokens, truncate, index + 1)
            notices += notes
            for seq in range(params.num_return_sequences):
                rows.append({"index": index, "sequence": seq, "prompt": prompt, "ids": ids, "budget": budget,
                             "new": [], "shown": "", "done": False, "seconds": 0.0})
        return rows, notices

    def _left_padded(self, rows: list[dict[str, Any]]) -> tuple[Any, Any]:
        """(input ids, attention mask), (rows, longest prompt), on the device: pads on the left."""
        import torch

        width = max(len(r["ids"]) for r in rows)
        input_ids = torch.full((len(rows), width), self.pad_id, dtype=torch.long)
        mask = torch.zeros((len(rows), width), dtype=torch.long)
        for i, r in enumerate(rows):
            input_ids[i, width - len(r["ids"]):] = torch.tensor(r["ids"])
            mask[i, width - len(r["ids"]):] = 1
        return input_ids.to(self.device), mask.to(self.device)

    def _steps(self, input_ids: Any, mask: Any, steps: int) -> tuple[Callable[[Any], Any], Any, Any]:
        """(steps(ids) -> logits, the first step's input, the tokens each row has seen so far).

        Repetition penalty looks at the tokens of the sequence being written, as transformers'
        does: a causal LM's prompt and continuation (pads replaced by a real token), an
        encoder-decoder's answer only (from its start token on).
        """
        import torch

        if self.family == TEXT2TEXT:
            start = torch.full((input_ids.shape[0], 1), self.start_id, dtype=torch.long, device=input_ids.device)
            return EncoderDecoderSteps(self.model, input_ids, mask, self.cache_arg), start, start
        seen = torch.where(mask.bool(), input_ids, input_ids[:, -1:])
        position = (mask.cumsum(-1) - 1).clamp(min=0)
        forward = self._decoder(input_ids.shape[0], input_ids.shape[1] + steps)
        return CausalSteps(forward, mask, position), input_ids, seen

    def _decoder(self, rows: int, capacity: int) -> Callable[[Any, Any, Any], Any]:
        """forward(input ids, attention mask, position ids) -> last logits, keeping its own cache.

        GPT-2 gets the lean step (gpt2_decoder: same layers, no per-token cache copies; on CUDA
        its one-token steps replay a CUDA graph); other models transformers' own forward.
        """
        if self.fast:
            from fmkit.generate.gpt2_decoder import Gpt2Decoder

            return Gpt2Decoder(self.model, rows, capacity, self.device, static=self.device.startswith("cuda"))
        from transformers import DynamicCache

        cache = DynamicCache()

        def forward(input_ids: Any, attention_mask: Any, position_ids: Any) -> Any:
            out = self.model(input_ids=input_ids, attention_mask=attention_mask, position_ids=position_ids,
                             use_cache=True, logits_to_keep=1, **{self.cache_arg: cache})
            return out.logits[:, -1, :]

        return forward

    def _stream_piece(self, row: dict[str, Any], position: int) -> Iterator[Piece]:
        """The text of `row` not yet shown; held back while it ends in half a UTF-8 character."""
        text = self.tokenizer.decode(row["new"], skip_special_tokens=True)
        first = "started" not in row
        if text.endswith("\ufffd") and not row["done"]:
            text = text[:-1]
            while text.endswith("\ufffd"):
                text = text[:-1]
        if first or len(text) > len(row["shown"]):
            row["started"] = True
            piece = text[len(row["shown"]):] if text.startswith(row["shown"]) else text
            row["shown"] = text
            yield Piece(row["index"], row["sequence"], piece, first, row["prompt"] if first else "")

    def _finish(self, row: dict[str, Any], params: GenerationParams) -> Generation:
        text = self.tokenizer.decode(row["new"], skip_special_tokens=True)
        return Generation(index=row["index"], sequence=row["sequence"], prompt=row["prompt"], text=text,
                          model=self.model_name, seed=params.seed, params=params.to_dict(),
                          new_tokens=len(row["new"]), seconds=row["seconds"], token_ids=list(row["new"]),
                          prompt_tokens=len(row["ids"]))

