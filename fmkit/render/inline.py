"""What a self-contained page needs to inline its parts under a strict Content-Security-Policy:
its HTML, CSS and JavaScript as package files (read once per process), data as JSON that cannot
end a <script> element, and the CSP hash of exactly the text that goes between the tags.

Used by the attention viewer (render/attention_html.py), the gallery (gallery/page.py) and
bertviz's page (render/bertviz.py). Standard library only: importing it stays cheap.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import json
from importlib import resources


@functools.cache
def asset(package: str, name: str) -> str:
    """The UTF-8 text of `package`/assets/`name` (a file shipped in the wheel), read once."""
    return (resources.files(package) / "assets" / name).read_bytes().decode("utf-8")


def csp_hash(text: str) -> str:
    """The CSP source that allows an inline <script> or <style> whose content is `text`, byte for
    byte: "'sha256-<base64>'"."""
    digest = base64.b64encode(hashlib.sha256(text.encode("utf-8")).digest()).decode("ascii")
    return f"'sha256-{digest}'"


def script_json(obj, compact: bool = True) -> str:
    """JSON that is safe inside <script> and in a .js file: no '<', '>', '&', U+2028 or U+2029
    left literally (written as \\u003c ...: the same values to JSON.parse and to JS), so a string
    holding "</script>" cannot close the element it sits in. Compact for the gallery's data (10,000
    results); compact=False keeps json.dumps' spacing (the attention viewer's data, as always)."""
    text = json.dumps(obj, ensure_ascii=False, separators=(",", ":") if compact else None)
    return (text.replace("&", "\\u0026").replace("<", "\\u003c").replace(">", "\\u003e")
            .replace("\u2028", "\\u2028").replace("\u2029", "\\u2029"))
