"""Where output goes: data on stdout (rich for people, JSON lines with --json), everything
else (progress, notices, errors) on stderr. Files are written by fmkit/io (atomic, never clobbering).

rich already honours NO_COLOR, and drops colour and live progress when the stream is not a
terminal, so scripts get plain text and no control codes.
"""

from __future__ import annotations

import contextlib
import json
import re
import sys
from functools import lru_cache
from typing import Any, Callable, Iterator

from fmkit.errors import FmkitError


@lru_cache(maxsize=None)
def _console(stderr: bool):
    from rich.console import Console

    return Console(stderr=stderr, highlight=False, soft_wrap=False)


def stdout_console():
    """Rich console for data meant for people (tables, generated text)."""
    return _console(False)


def stderr_console():
    """Rich console for progress, notices and errors."""
    return _console(True)


def reset_consoles() -> None:
    """Forget cached consoles (tests swap sys.stdout/sys.stderr between runs)."""
    _console.cache_clear()


def emit_json(obj: Any) -> None:
    """One JSON object on one stdout line, flushed at once so pipes see it immediately."""
    sys.stdout.write(json.dumps(obj, ensure_ascii=False, default=str) + "\n")
    sys.stdout.flush()


def notice(message: str, quiet: bool = False) -> None:
    """A line for people on stderr (suppressed by --quiet)."""
    if not quiet:
        from rich.markup import escape

        stderr_console().print(f"[dim]{escape(message)}[/dim]", soft_wrap=True)


def warn(message: str) -> None:
    """A warning on stderr; shown even with --quiet."""
    from rich.markup import escape

    stderr_console().print(f"[yellow]warning:[/yellow] {escape(message)}", soft_wrap=True)


def print_error(error: FmkitError) -> None:
    """The one place an FmkitError becomes the one line a user reads."""
    from rich.markup import escape

    text = f"[bold red]error:[/bold red] {escape(error.message)}"
    if error.hint:
        text += f" [dim]({escape(error.hint)})[/dim]"
    stderr_console().print(text, soft_wrap=True)


@contextlib.contextmanager
def progress_bar(description: str, total: float | None, quiet: bool = False,
                 unit: str = "steps") -> Iterator[Callable[[float], None]]:
    """A transient progress bar on stderr; yields advance(n). Silent when quiet or not a TTY."""
    console = stderr_console()
    if quiet or not console.is_terminal:
        yield lambda n=1: None
        return
    from rich.progress import (BarColumn, DownloadColumn, MofNCompleteColumn, Progress, SpinnerColumn,
                               TextColumn, TimeRemainingColumn)

    count = DownloadColumn() if unit == "bytes" else MofNCompleteColumn()
    with Progress(SpinnerColumn(), TextColumn("{task.description}"), BarColumn(), count,
                  TimeRemainingColumn(), console=console, transient=True, redirect_stdout=False,
                  redirect_stderr=False) as progress:  # stdout is data: never routed through the bar
        task = progress.add_task(escape(description), total=total)  # a file name or prompt, never markup
        yield lambda n=1: progress.advance(task, n)


# --- text for messages and file names ----------------------------------------------------


def escape(text: str) -> str:
    """User-supplied text (a file name, a prompt) made safe to print through rich markup."""
    from rich.markup import escape as rich_escape

    return rich_escape(text)


def preview(text: str, n: int = 30) -> str:
    """A long input shortened for a one-line message: 'A very long prom...'."""
    return text if len(text) <= n else text[: n - 3] + "..."


def slug(text: str, max_len: int = 40) -> str:
    """A file-name-safe piece of text: 'A cat, in space!' -> 'a-cat-in-space'."""
    s = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")
    return (s[:max_len].rstrip("-")) or "untitled"
