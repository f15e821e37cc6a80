"""How BERT reads text: WordPiece tokens, their ids, and where each came from in the input.

Always the *fast* (Rust, `tokenizers`) tokenizer, because offsets (character spans) only exist
there and because `fmkit tokenize -` streams 100k-line files. Two ways to get it, same object:

- the model folder ships `tokenizer.json`: `tokenizers.Tokenizer.from_file` (0.02 s). This is
  exactly the backend AutoTokenizer wraps (tests/test_tokenize.py compares the two), without
  importing transformers, which drags in torch (3-7 s on a busy 2-core laptop);
- otherwise (only vocab.txt): `AutoTokenizer.from_pretrained`, which converts it; we check
  `.is_fast` and use its `.backend_tokenizer`.
"""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from itertools import islice
from pathlib import Path
from typing import Any, Iterable, Iterator

from fmkit import catalog
from fmkit.errors import BadInput, ModelUnavailable

NO_LIMIT = 1_000_000  # transformers' "no maximum" sentinel is ~1e30; anything above this means unknown


@dataclass
class TextTokenizer:
    """A loaded fast tokenizer: the Rust backend, the model's maximum length, and its label."""

    backend: Any  # tokenizers.Tokenizer
    label: str
    max_length: int | None  # None: the model states no maximum
    json_tokens: list[str] | None = field(default=None, repr=False)  # filled by tokenize_json

    def configure(self, truncate: bool = True) -> None:
        """No padding (tokenizer.json files often ship padding=128!), truncation at the model maximum."""
        self.backend.no_padding()
        if truncate and self.max_length:
            self.backend.enable_truncation(self.max_length)
        else:
            self.backend.no_truncation()


def _read_json(path: Path) -> dict:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


def model_max_length(folder: Path, stated: int | None = None) -> int | None:
    """The longest input the model takes: the tokenizer's model_max_length, else the config's positions."""
    if stated is None:
        stated = _read_json(folder / "tokenizer_config.json").get("model_max_length")
    if isinstance(stated, int) and 0 < stated < NO_LIMIT:
        return stated
    positions = _read_json(folder / "config.json").get("max_position_embeddings")
    return positions if isinstance(positions, int) and positions > 0 else None


def build_tokenizer(folder: Path, label: str) -> TextTokenizer:
    """The fast tokenizer of a model folder (see the module docstring for the two paths)."""
    folder = Path(folder)
    if folder.is_file():
        raise ModelUnavailable(f"'{label}' is a file; a tokenizer needs a model folder",
                               "give the folder that holds tokenizer.json or vocab.txt")
    from fmkit.model_files import check_model_folder

    check_model_folder(folder, "model folder", json_only=True)  # a broken JSON file: one line naming it
    if (folder / "tokenizer.json").is_file():
        from tokenizers import Tokenizer

        try:
            backend = Tokenizer.from_file(str(folder / "tokenizer.json"))
        except Exception as e:  # a corrupt or foreign tokenizer.json
            raise ModelUnavailable(f"cannot read {folder / 'tokenizer.json'}: {str(e).splitlines()[0][:160]}") from None
        stated = None
    else:
        from transformers import AutoTokenizer

        try:
            tok = AutoTokenizer.from_pretrained(str(folder))
        except (OSError, ValueError, TypeError):
            raise ModelUnavailable(f"no tokenizer in '{label}' ({folder})",
                                   "the folder needs tokenizer.json or vocab.txt") from None
        if not getattr(tok, "is_fast", False):
            raise ModelUnavailable(f"'{label}' has only a slow (Python) tokenizer",
                                   "fmkit needs a fast tokenizer (tokenizer.json) for character offsets")
        backend, stated = tok.backend_tokenizer, tok.model_max_length
    result = TextTokenizer(backend, label, model_max_length(folder, stated))
    result.configure()
    return result


def load_tokenizer(model: str) -> TextTokenizer:
    """Resolve a --model value through the catalog and load its fast tokenizer once per process."""
    source = catalog.resolve(model)
    return catalog.load_once(source, "cpu", "tokenizer", lambda path: build_tokenizer(path, source.label),
                             "tokenizer")


@dataclass
class TokenizeResult:
    """One input as the model sees it. offsets are (start, end) character spans in `text`
    (or in `pair`, for tokens whose segment is 1); special tokens have (0, 0)."""

    text: str
    model: str
    tokens: list[str]
    ids: list[int]
    offsets: list[tuple[int, int]]
    special: list[bool]
    truncated: bool
    pair: str | None = None
    segments: list[int] | None = None  # token type ids: 0 = first text, 1 = pair
    word_ids: list[int | None] | None = None

    @property
    def continuation(self) -> list[bool]:
        """True for a piece that continues the previous token's word (BERT writes them ##ing)."""
        out, prev = [], None
        for i, (w, s) in enumerate(zip(self.word_ids or [None] * len(self.ids), self.special)):
            seg = self.segments[i] if self.segments else 0
            out.append(not s and w is not None and prev == (w, seg))
            prev = (w, seg) if not s else None
        return out

    def span_text(self, i: int) -> str:
        """The characters of the input that token i came from ('' for special tokens)."""
        if self.special[i]:
            return ""
        source = self.pair if self.segments and self.segments[i] == 1 and self.pair is not None else self.text
        start, end = self.offsets[i]
        return source[start:end]

    def to_dict(self) -> dict:
        d = {"text": self.text, "model": self.model, "tokens": self.tokens, "ids": self.ids,
             "offsets": [list(o) for o in self.offsets], "special": self.special, "truncated": self.truncated}
        if self.pair is not None:
            d["pair"] = self.pair
            d["segments"] = self.segments
        return d

    def _repr_html_(self) -> str:
        from fmkit.render.notebook import tokens_html

        return tokens_html(self)


@dataclass
class TokenBatch:
    """Up to batch_size consecutive inputs and their raw `tokenizers.Encoding`s (kept raw so that
    the JSON path can skip building Python token lists; see tokenize_json.py)."""

    texts: list[str]
    encodings: list[Any]
    pair: str | None
    model: str
    tokenizer: Any = field(default=None, repr=False)  # the TextTokenizer that made it (JSON fast path)

    @property
    def max_length(self) -> int | None:
        return self.tokenizer.max_length if self.tokenizer else None

    def items(self) -> list[TokenizeResult]:
        out = []
        for text, enc in zip(self.texts, self.encodings):
            out.append(TokenizeResult(
                text=text, model=self.model, tokens=enc.tokens, ids=enc.ids, offsets=enc.offsets,
                special=[m == 1 for m in enc.special_tokens_mask], truncated=bool(enc.overflowing),
                pair=self.pair, segments=enc.type_ids if self.pair is not None else None, word_ids=enc.word_ids))
        return out

    @property
    def truncated(self) -> list[int]:
        """Indexes (within this batch) of inputs cut at the model's maximum length."""
        return [i for i, enc in enumerate(self.encodings) if enc.overflowing]


def _check_utf8(text: str) -> None:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise BadInput("the input is not UTF-8 text", "convert it first, e.g. iconv -t UTF-8") from None


def tokenize(tok: TextTokenizer, text: str, pair: str | None = None, special: bool = True) -> TokenizeResult:
    """One text (and optional second segment) -> its tokens."""
    return next(tokenize_batches(tok, [text], pair, special)).items()[0]


def tokenize_batches(tok: TextTokenizer, texts: Iterable[str], pair: str | None = None,
                     special: bool = True, batch_size: int = 1000) -> Iterator[TokenBatch]:
    """Stream texts through the fast tokenizer, batch_size at a time, in input order.

    `texts` is consumed lazily (stdin is never read whole). While the caller renders batch k,
    a worker thread already encodes batch k+1: `encode_batch` runs in Rust without the GIL,
    so encoding and JSON writing overlap on two cores.
    """
    texts = iter(texts)

    def encode(chunk: list[str]):
        try:
            if pair is None:
                return tok.backend.encode_batch(chunk, add_special_tokens=special)
            return tok.backend.encode_batch([(t, pair) for t in chunk], add_special_tokens=special)
        except TypeError:  # tokenizers rejects str with lone surrogates: bytes that were not UTF-8
            for text in (*chunk, pair or ""):
                _check_utf8(text)
            raise

    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="fmkit-tokenize") as pool:
        chunk = list(islice(texts, batch_size))
        pending = pool.submit(encode, chunk) if chunk else None
        while pending is not None:
            current, encodings = chunk, pending.result()
            chunk = list(islice(texts, batch_size))
            pending = pool.submit(encode, chunk) if chunk else None
            yield TokenBatch(current, encodings, pair, tok.label, tok)
