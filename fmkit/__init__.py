"""fmkit: foundation-model lessons as commands and as a Python library. Importing this never imports torch.

    import fmkit
    fk = fmkit.Session(profile="laptop", offline=True)
    fk.tokenize("I read a good novel.", model="minilm")
    fmkit.generate("Star Trek", max_new_tokens=40, seed=1)   # the same on a default Session

Names are resolved lazily (PEP 562): `fmkit.Session` imports fmkit.api on first use, and a
lesson function builds one default Session the first time it is called.
"""

from __future__ import annotations

from typing import Any

__version__ = "0.1.0"
__all__ = ["Session", "FmkitError", "default_session", "tokenize", "attention", "positional", "generate",
           "diffuse", "detect", "segment"]

_LESSONS = ("tokenize", "attention", "positional", "generate", "diffuse", "detect", "segment")
_default = None


def default_session():
    """The Session behind fmkit.tokenize(...) and friends: profile and options from the environment."""
    global _default
    if _default is None:
        from fmkit.api import Session

        _default = Session()
    return _default


def __getattr__(name: str) -> Any:
    if name == "Session":
        from fmkit.api import Session

        return Session
    if name == "FmkitError":
        from fmkit.errors import FmkitError

        return FmkitError
    if name in _LESSONS:
        def lesson(*args: Any, **kwargs: Any) -> Any:
            return getattr(default_session(), name)(*args, **kwargs)

        lesson.__name__ = name
        lesson.__doc__ = f"fmkit.Session().{name}(...) on the default Session (see fmkit.Session.{name})."
        return lesson
    raise AttributeError(f"module 'fmkit' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted([*globals(), *__all__])
