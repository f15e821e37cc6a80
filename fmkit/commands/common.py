"""What every command shares: its common options, setup, text input, and error handling."""

from __future__ import annotations

import errno
import functools
import sys
from typing import Annotated, Any, Callable, Iterable, Iterator, Optional

import typer

from fmkit import output
from fmkit.errors import FmkitError, RuntimeFailure, is_out_of_memory
from fmkit.io.lines import read_lines
from fmkit.options import command_line

# --- options every model command takes (the CLI contract: README.md, "Commands" and "Exit codes") ---
ProfileOpt = Annotated[Optional[str], typer.Option(
    "--profile", "-p", metavar="NAME|PATH", help="Profile name or .toml file (default: $FMKIT_PROFILE, else picked from the hardware).",
    rich_help_panel="Profile")]
SetOpt = Annotated[Optional[list[str]], typer.Option(
    "--set", "-s", metavar="KEY=VALUE", help="Override a profile key, e.g. generate.top_k=40 (repeatable).",
    rich_help_panel="Profile")]
ModelOpt = Annotated[Optional[str], typer.Option(
    "--model", "-m", metavar="ALIAS|HUB_ID|PATH", help="Model to use instead of the profile's (see `fmkit models`).",
    rich_help_panel="Profile")]
DeviceOpt = Annotated[Optional[str], typer.Option(
    "--device", metavar="DEVICE", help="auto, cpu, cuda, cuda:N or mps (default: the profile's).",
    rich_help_panel="Profile")]
OfflineOpt = Annotated[bool, typer.Option(
    "--offline", help="Never touch the network (same as FMKIT_OFFLINE=1).", rich_help_panel="Profile")]
JsonOpt = Annotated[bool, typer.Option("--json", help="One JSON object per result on stdout, nothing else there.",
                                       rich_help_panel="Output")]
QuietOpt = Annotated[bool, typer.Option("--quiet", "-q", help="No progress or notices on stderr.",
                                        rich_help_panel="Output")]
ForceOpt = Annotated[bool, typer.Option("--force", "-f", help="Overwrite existing output files.",
                                        rich_help_panel="Output")]
SeedOpt = Annotated[Optional[int], typer.Option("--seed", help="Random seed; the same seed gives the same result.")]


def session(profile: str | None, sets: list[str] | None, offline: bool = False, device: str | None = None,
            quiet: bool = False):
    """The Session a command runs on: notes go to stderr (hidden by --quiet), options are labelled
    'command option' in `fmkit profiles`-style messages."""
    from fmkit.api import Session

    return Session(profile, offline=offline, set=sets or (), device=device,
                   notify=lambda message: output.notice(message, quiet), option_source="command option")


def iter_texts(texts: Iterable[str], what: str = "text") -> Iterator[str]:
    """Arguments, with '-' meaning one text per line of stdin (an empty one is the Session's to refuse)."""
    for text in texts:
        if text == "-":
            yield from read_lines()
        else:
            yield text


def show_image_run(run: Any, view: Any, watching: bool = False) -> None:
    """An image run (detect, segment) shown as it goes: each result through `view`, then the
    totals (after Ctrl-C too: what was done), a warning when nothing was given, exit 1 when an
    image failed. A run that stopped with an error gets no totals: they would only mislead."""
    try:
        for result in run:
            view.result(result)
    except FmkitError:
        raise
    except BaseException:
        view.summary(run.summary, run.model, run.folder, watching=watching)
        raise
    view.summary(run.summary, run.model, run.folder, watching=watching)
    if not watching and not run.summary.images and not run.summary.failed and not (run.folder and run.folder.skipped):
        output.warn("no images to process (empty list on stdin?)")
    if run.summary.failed:
        raise typer.Exit(1)


def fmkit_command(fn: Callable) -> Callable:
    """Turn fmkit's errors into one styled line and the right exit code; never a traceback."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        output.reset_consoles()
        try:
            with command_line():  # library messages name options as flags (fmkit/options.py)
                return fn(*args, **kwargs)
        except FmkitError as e:
            output.print_error(e)
            raise typer.Exit(e.exit_code) from None
        except KeyboardInterrupt:
            if sys.stdout.isatty():  # end a half-written line on a terminal; never add lines to a pipe
                sys.stdout.write("\n")
                sys.stdout.flush()
            output.stderr_console().print("[yellow]interrupted[/yellow]")
            raise typer.Exit(130) from None
        except BrokenPipeError:
            # The reader went away (`fmkit ... | head`): stop quietly, like other Unix tools.
            _silence_stdout()
            raise typer.Exit(141) from None
        except OSError as e:
            if e.errno not in (errno.ENOSPC, errno.EIO, errno.EDQUOT):
                raise
            # Files are written by fmkit/io, which reports its own errors: this is stdout (> /dev/full).
            _silence_stdout()
            output.print_error(RuntimeFailure(f"cannot write to stdout: {e.strerror}", "write the output elsewhere"))
            raise typer.Exit(1) from None
        except MemoryError:
            output.print_error(RuntimeFailure("out of memory", "try a smaller size or batch, or --profile laptop"))
            raise typer.Exit(1) from None
        except RuntimeError as e:
            if is_out_of_memory(e):
                output.print_error(RuntimeFailure(f"out of memory: {str(e).splitlines()[0][:160]}",
                                                  "try a smaller size or batch, or --profile laptop"))
                raise typer.Exit(1) from None
            raise

    return wrapper


def _silence_stdout() -> None:
    import os

    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass

