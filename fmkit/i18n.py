"""The languages fmkit speaks and the one lookup of a table of words (the course is taught in Korean).

Each feature keeps its own words (the gallery page's in fmkit/gallery/i18n.py, the model map's
in fmkit/model_map/words.py) as {lang: {key: text}}; this module is what they share: which
languages there are, and how an unknown one is refused. Data (aliases, file names, labels,
prompts, model names, makers) is never translated.
"""

from __future__ import annotations

from fmkit.errors import BadInput

LANGS = ("en", "ko")


def pick(table: dict[str, dict[str, str]], lang: str) -> dict[str, str]:
    """`table`'s words in `lang` (en | ko); an unknown language is a usage error naming the choices."""
    if lang not in LANGS or lang not in table:
        raise BadInput(f"unknown language {lang!r}", f"choose one of: {', '.join(LANGS)}")
    return table[lang]
