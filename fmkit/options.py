"""How a library message names an option: `--height 512` to someone at the command line,
`height=512` to a Python caller, who never typed a flag.

The CLI marks its calls (`command_line()`, entered by commands.common.fmkit_command); library
code writes `option("height", 512)` or `option("force")` and never a flag by hand. Names are the
Python keyword arguments; the flag is the name with dashes, unless FLAGS says otherwise.
"""

from __future__ import annotations

import contextlib
import contextvars
from typing import Any, Iterator

FLAGS = {"output": "-o", "length": "--length", "dim": "--dim", "set": "--set"}  # keyword -> flag, where not derived
_MISSING = object()
_CLI: contextvars.ContextVar[bool] = contextvars.ContextVar("fmkit_command_line", default=False)


@contextlib.contextmanager
def command_line() -> Iterator[None]:
    token = _CLI.set(True)
    try:
        yield
    finally:
        _CLI.reset(token)


def option(name: str, value: Any = _MISSING) -> str:
    """'--height 512' on the command line, 'height=512' from Python; a flag without a value is
    '--force' there and 'force=True' here."""
    if _CLI.get():
        flag = FLAGS.get(name, "--" + name.replace("_", "-"))
        return flag if value is _MISSING else f"{flag} {value}"
    return f"{name}=True" if value is _MISSING else f"{name}={value!r}" if isinstance(value, str) else f"{name}={value}"


def setting(key: str, value: Any) -> str:
    """A profile key set for one call: '--set generate.weights=bfloat16' on the command line,
    "set={'generate.weights': 'bfloat16'}" from Python."""
    if _CLI.get():
        return f"--set {key}={value}"
    return f"set={{{key!r}: {value!r}}}"
