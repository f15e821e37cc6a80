"""PNG size and text chunks (tEXt, zTXt, iTXt) read straight from the bytes, without PIL.

`fmkit diffuse` stores its parameters (prompt, seed, steps, model, ...) in these chunks. Reading
them here needs no image decoding and no heavy import, and works on bytes from any store.
Chunks after the image data are not read: PIL and fmkit write text chunks before IDAT.
"""

from __future__ import annotations

import struct
import zlib

SIGNATURE = b"\x89PNG\r\n\x1a\n"


def read_png_info(data: bytes) -> tuple[int, int, dict[str, str]] | None:
    """(width, height, {key: text}) of a PNG, or None when `data` is not a readable PNG."""
    if not data.startswith(SIGNATURE):
        return None
    pos, size, text = len(SIGNATURE), None, {}
    while pos + 8 <= len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + length]
        if len(body) < length:
            break
        pos += 12 + length  # length, type, body, CRC
        if kind == b"IHDR" and length >= 8:
            size = struct.unpack(">II", body[:8])
        elif kind in (b"tEXt", b"zTXt", b"iTXt"):
            item = _text_chunk(kind, body)
            if item:
                text.setdefault(*item)
        elif kind in (b"IDAT", b"IEND"):
            break
    if size is None:
        return None
    return size[0], size[1], text


def text_complete(data: bytes) -> bool:
    """True when `data` (the first bytes of a PNG) reaches the image data, so every text chunk
    before it was read: then the rest of the file need not be fetched."""
    if not data.startswith(SIGNATURE):
        return True  # not a PNG: more bytes would not help
    pos = len(SIGNATURE)
    while pos + 8 <= len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        if kind in (b"IDAT", b"IEND"):
            return True
        pos += 12 + length
    return False


def _text_chunk(kind: bytes, body: bytes) -> tuple[str, str] | None:
    key, sep, rest = body.partition(b"\0")
    if not sep:
        return None
    try:
        if kind == b"tEXt":
            return key.decode("latin-1"), rest.decode("latin-1")
        if kind == b"zTXt":  # compression method byte, then zlib data
            return key.decode("latin-1"), zlib.decompress(rest[1:]).decode("latin-1")
        # iTXt: compressed flag, method, language\0, translated keyword\0, UTF-8 text
        compressed, rest = rest[0], rest[2:]
        _lang, _, rest = rest.partition(b"\0")
        _translated, _, value = rest.partition(b"\0")
        if compressed:
            value = zlib.decompress(value)
        return key.decode("latin-1"), value.decode("utf-8")
    except (IndexError, zlib.error, UnicodeDecodeError):
        return None
