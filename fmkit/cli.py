"""The `fmkit` command line: one thin function per command (in fmkit/commands/), no model code.

Nothing here imports torch or any model library, so `fmkit --help` answers in a fraction of a
second; each command imports its task module when it runs.
"""

from __future__ import annotations

from typing import Annotated

import typer

from fmkit import __version__
from fmkit.commands import doctor, models, profiles
from fmkit.commands import attention, positional, tokenize
from fmkit.commands import diffuse
from fmkit.commands import detect
from fmkit.commands import generate

app = typer.Typer(
    name="fmkit",
    help="Foundation-model lessons from the command line: tokenize, attention, positional, generate, diffuse, detect.",
    rich_markup_mode="rich",
    context_settings={"help_option_names": ["-h", "--help"]},
    pretty_exceptions_show_locals=False,  # a traceback must never dump tensors
    no_args_is_help=True,
    add_completion=False,
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"fmkit {__version__}")
        raise typer.Exit()


@app.callback()
def root(
    version: Annotated[bool, typer.Option("--version", callback=_version, is_eager=True,
                                          help="Print the version and exit.")] = False,
) -> None:
    """Foundation-model lessons from the command line.

    Every model command takes --profile, --set KEY=VALUE, --model, --device, --json, --quiet
    and --offline. Exit codes: 0 success, 1 run-time failure, 2 usage error, 130 interrupted.
    """


LESSONS = "Lessons"
SETUP = "Setup"

app.command("tokenize", rich_help_panel=LESSONS)(tokenize.tokenize)
app.command("attention", rich_help_panel=LESSONS)(attention.attention)
app.command("positional", rich_help_panel=LESSONS)(positional.positional)
app.command("diffuse", rich_help_panel=LESSONS)(diffuse.diffuse)
app.command("detect", rich_help_panel=LESSONS)(detect.detect)
app.command("generate", rich_help_panel=LESSONS)(generate.generate)
app.command("profiles", rich_help_panel=SETUP)(profiles.profiles)
app.command("doctor", rich_help_panel=SETUP)(doctor.doctor)
app.command("models", rich_help_panel=SETUP)(models.models)
app.command("pull", rich_help_panel=SETUP)(models.pull)


def main() -> None:
    app(prog_name="fmkit")
