"""JSON lines for `fmkit tokenize --json`, written straight from the Rust encodings.

Why a separate fast path: at 100k lines, building Python token lists and calling json.dumps on
a dict per line costs twice as much as the tokenization itself. Token strings are looked up in
a table of pre-encoded JSON strings by id instead of being copied out of Rust one by one. The
result is byte-for-byte what `json.dumps(TokenizeResult.to_dict(), ensure_ascii=False)` gives
(tests/test_tokenize.py checks this), so the slow and fast paths cannot drift apart.
"""

from __future__ import annotations

from json.encoder import encode_basestring

from fmkit.bert.tokenizer import TextTokenizer, TokenBatch

_STR = encode_basestring  # C: a str as a JSON string literal (non-ASCII kept, like ensure_ascii=False)


def _token_table(tok: TextTokenizer) -> list[str]:
    """JSON string of every token id, built once per tokenizer (30k entries: ~20 ms)."""
    table = tok.json_tokens
    if table is None:
        vocab = tok.backend.get_vocab(with_added_tokens=True)
        table = ['""'] * (max(vocab.values(), default=-1) + 1)
        for token, i in vocab.items():
            table[i] = _STR(token)
        tok.json_tokens = table
    return table


def json_lines(batch: TokenBatch) -> str:
    """The whole batch as JSON lines (one object per input, newline-terminated).

    Lists of ints print the same in Python and JSON ("[1, 2]"), so `str()` (C speed) does the
    ids; offsets are tuples, "(0, 1)" -> "[0, 1]"; the special-token mask holds only 0 and 1.
    """
    table = _token_table(batch.tokenizer)
    model = _STR(batch.model)
    pair = f', "pair": {_STR(batch.pair)}, "segments": ' if batch.pair is not None else None
    out = []
    for text, enc in zip(batch.texts, batch.encodings):
        ids = enc.ids
        parts = ['{"text": ', _STR(text), ', "model": ', model,
                 ', "tokens": [', ", ".join([table[i] for i in ids]),
                 '], "ids": ', str(ids),
                 ', "offsets": ', str(enc.offsets).replace("(", "[").replace(")", "]"),
                 ', "special": ', str(enc.special_tokens_mask).replace("1", "true").replace("0", "false"),
                 ', "truncated": ', "true" if enc.overflowing else "false"]
        if pair is not None:
            parts += [pair, str(enc.type_ids)]
        parts.append("}\n")
        out.append("".join(parts))
    return "".join(out)
