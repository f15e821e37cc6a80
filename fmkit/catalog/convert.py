"""Converters that make a package's model files loadable, registered by the capability that knows
the format (the GGUF chat model: fmkit/generate registers "gguf"), so the catalog never imports
a capability. A catalog entry names its converter (`ModelSpec.convert`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable

from fmkit.catalog import context
from fmkit.errors import ModelUnavailable

Converter = Callable[[str, Path, Callable[[str], None]], Path]  # (alias, package folder, notify) -> folder
_CONVERTERS: dict[str, Converter] = {}


def register_converter(name: str, converter: Converter) -> None:
    _CONVERTERS[name] = converter


def converted(source, found: Path) -> Path:
    """The folder a loader reads: `found` itself, or what the entry's converter made of it (once)."""
    name = source.spec.convert if source.spec else ""
    if not name:
        return found
    converter = _CONVERTERS.get(name)
    if converter is None:  # a programming error: the capability that registers it was never imported
        raise ModelUnavailable(f"model '{source.label}' needs the '{name}' converter, which is not registered",
                               "import the capability that reads this format (fmkit.generate for gguf)")
    return converter(source.spec.alias, found, context.notify)
