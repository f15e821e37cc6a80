"""Text lines from stdin: the one reader behind every `-` argument (prompts, texts, image paths)."""

from __future__ import annotations

import sys
from typing import IO, Iterator

from fmkit.errors import BadInput


def read_lines(stream: IO | None = None) -> Iterator[str]:
    """Non-empty lines of stdin, lazily (a 100k-line file is never held in memory).

    The one stdin reader of every command: bytes are decoded as UTF-8, strictly, so a binary
    file is one usage error naming the line, never a traceback from a library further down."""
    stream = stream or sys.stdin
    raw = getattr(stream, "buffer", None)
    for number, line in enumerate(raw if raw is not None else stream, 1):
        if isinstance(line, bytes):
            try:
                line = line.decode("utf-8")
            except UnicodeDecodeError:
                raise BadInput(f"stdin line {number} is not UTF-8 text",
                               "convert it first, e.g. iconv -f LATIN1 -t UTF-8") from None
        line = line.rstrip("\r\n")
        if line.strip():
            yield line
