"""Where output goes: data on stdout (rich for people, JSON lines with --json), everything
else (progress, notices, errors) on stderr; and file writes that are atomic and never clobber.

rich already honours NO_COLOR, and drops colour and live progress when the stream is not a
terminal, so scripts get plain text and no control codes.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import sys
from functools import lru_cache
from pathlib import Path
from typing import Any, Callable, Iterator

from fmkit.errors import FmkitError, OutputError


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
                  TimeRemainingColumn(), console=console, transient=True) as progress:
        task = progress.add_task(description, total=total)
        yield lambda n=1: progress.advance(task, n)


# --- files ------------------------------------------------------------------------------------


def check_writable(path: Path, force: bool = False) -> Path:
    """Fail before any work is done if `path` cannot be written (or exists without --force)."""
    path = Path(path).expanduser()
    parent = path.parent if str(path.parent) else Path(".")
    if path.is_dir():
        raise OutputError(f"output path {path} is a folder", "give a file name")
    if not parent.is_dir():
        raise OutputError(f"output folder {parent} does not exist", "create it first, or choose another path")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise OutputError(f"cannot write to folder {parent} (permission denied)", "choose another path")
    if path.exists() and not force:
        raise OutputError(f"{path} already exists", "pass --force to overwrite it, or choose another name")
    return path


def atomic_write(path: Path, write: Callable[[Path], None] | bytes | str, force: bool = False) -> Path:
    """Write via a temporary file in the same folder, then rename: readers never see half a file,
    and an interrupted write (Ctrl-C, crash) leaves the old file, or nothing, behind."""
    path = check_writable(path, force)
    tmp = path.with_name(f".{path.stem}.{os.getpid()}.tmp{path.suffix}")
    try:
        if isinstance(write, bytes):
            tmp.write_bytes(write)
        elif isinstance(write, str):
            tmp.write_text(write, encoding="utf-8")
        else:
            write(tmp)
        if not force and path.exists():
            raise OutputError(f"{path} appeared while writing", "pass --force to overwrite it")
        os.replace(tmp, path)
    except OSError as e:  # permission, read-only or full disk, a folder that refuses new files (/proc)
        raise OutputError(f"cannot write {path}: {e.strerror or e}", "choose another path") from None
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
    return path


def unique_path(path: Path) -> Path:
    """`path` if free, else the first free `stem-2.ext`, `stem-3.ext`, ... (never clobbers)."""
    path = Path(path)
    if not path.exists():
        return path
    n = 2
    while (candidate := path.with_name(f"{path.stem}-{n}{path.suffix}")).exists():
        n += 1
    return candidate


def preview(text: str, n: int = 30) -> str:
    """A long input shortened for a one-line message: 'A very long prom...'."""
    return text if len(text) <= n else text[: n - 3] + "..."


def slug(text: str, max_len: int = 40) -> str:
    """A file-name-safe piece of text: 'A cat, in space!' -> 'a-cat-in-space'."""
    s = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")
    return (s[:max_len].rstrip("-")) or "untitled"
