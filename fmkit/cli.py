"""The `fmkit` command line: one thin function per command (in fmkit/commands/), no model code.

Nothing here imports torch or any model library, so `fmkit --help` answers in a fraction of a
second; each command imports its task module when it runs.
"""

from __future__ import annotations

import sys
from typing import Annotated, Any

import typer
from typer.core import TyperCommand, TyperGroup

from fmkit import __version__
from fmkit.commands import doctor, models, profiles
from fmkit.commands import attention, positional, tokenize
from fmkit.commands import diffuse
from fmkit.commands import detect, segment
from fmkit.commands import generate
from fmkit.commands import bucket, gallery
from fmkit.commands import agent, describe, imagine


# Placeholders in --help for options without a metavar: words, not Python types ("<int>").
_TYPE_WORDS = {"int": "INTEGER", "float": "NUMBER", "str": "TEXT", "Path": "PATH"}


def _tidy_params(params: list) -> list:
    """Help that reads like a Unix tool's: flags show no `<bool>`, options a word (INTEGER, TEXT)
    instead of a Python type, arguments only their metavar (not `<list[str]>`)."""
    for param in params:
        if getattr(param, "_fmkit_tidy", False):
            continue
        param._fmkit_tidy = True
        if param.param_type_name == "argument":
            param.display_type_rich = lambda ctx: None  # the name (TEXT..., SOURCE...) says it all
        elif getattr(param, "is_flag", False) and param.metavar is None:
            param.metavar = ""
        elif param.metavar is None and hasattr(param, "bare_type"):
            bare = param.bare_type()
            param.metavar = _TYPE_WORDS.get(bare.removeprefix("list[").removesuffix("]"), bare.upper())
    return params


def _usage_pieces(command: Any, ctx: Any) -> list[str]:
    """`[OPTIONS] TEXT...` rather than typer's `[OPTIONS] {TEXT...}...`: required arguments bare,
    optional ones in [brackets], and one `...` for a repeatable one."""
    pieces = [command.options_metavar] if command.options_metavar else []
    for param in command.get_params(ctx):
        if param.param_type_name != "argument":
            continue
        name = param.metavar or param.name.upper()
        if param.nargs != 1 and not name.endswith("..."):
            name += "..."
        if not param.required and not name.startswith("["):
            name = f"[{name}]"
        pieces.append(name)
    return pieces


class FmkitCommand(TyperCommand):
    """A command whose --help reads well at 80 columns (see _tidy_params, _usage_pieces)."""

    def get_params(self, ctx: Any) -> list:
        return _tidy_params(super().get_params(ctx))

    def collect_usage_pieces(self, ctx: Any) -> list[str]:
        return _usage_pieces(self, ctx)


class FmkitGroup(TyperGroup):
    """Typer's group, but a usage error is ONE line on stderr (README: errors are one line):
    `error: no such option: --bogus (see 'fmkit generate --help')`, exit code 2.

    Typer would print click's usage line, a hint and a boxed panel. Runs for `fmkit` and for
    CliRunner alike, since both call main()."""

    def main(self, args: Any = None, prog_name: str | None = None, complete_var: str | None = None,
             standalone_mode: bool = True, **extra: Any) -> Any:
        if not standalone_mode:
            return super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        click = _click()
        try:
            rv = super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        except click.exceptions.NoArgsIsHelpError:
            sys.exit(2)  # the help was printed already
        except click.exceptions.UsageError as e:
            sys.exit(_one_line_error(e, _command_path(e.ctx, args)))
        except click.exceptions.ClickException as e:
            sys.exit(_one_line_error(e, None))
        except typer.Abort:
            _print_error("aborted", None)
            sys.exit(1)
        sys.exit(rv if isinstance(rv, int) else 0)  # a command's typer.Exit(code) comes back as its code

    def get_params(self, ctx: Any) -> list:
        return _tidy_params(super().get_params(ctx))

    def get_command(self, ctx: Any, name: str) -> Any:
        command = super().get_command(ctx, name)
        # Sub-apps (bucket) build their own commands and groups: give them the same tidy help.
        if type(command) is TyperCommand:
            command.__class__ = FmkitCommand
        elif type(command) is TyperGroup:
            command.__class__ = FmkitGroup
        return command


def _click():
    """The click typer runs on (typer >= 0.26 vendors its own copy as typer._click)."""
    try:
        from typer import _click as click
    except ImportError:  # pragma: no cover - older typer uses the click package
        import click
    return click


def _command_path(ctx: Any, args: Any) -> str:
    """'fmkit generate' for the --help hint (some click errors come without their context)."""
    if ctx is not None:
        return ctx.command_path
    argv = list(sys.argv[1:] if args is None else args)
    words = [a for a in argv[:2] if not a.startswith("-")]
    return " ".join(["fmkit", *words[:1]]) if words and words[0] in app_command_names() else "fmkit"


def app_command_names() -> set[str]:
    return {c.name for c in app.registered_commands} | {g.name for g in app.registered_groups}


def _one_line_error(error: Any, command_path: str | None) -> int:
    message = " ".join(line.strip() for line in error.format_message().splitlines() if line.strip())
    if message[:1].isupper() and not message[1:2].isupper():
        message = message[0].lower() + message[1:]
    _print_error(message.rstrip("."), f"see '{command_path} --help'" if command_path else None)
    return error.exit_code


def _print_error(message: str, hint: str | None) -> None:
    from fmkit import output
    from fmkit.errors import BadInput

    output.reset_consoles()
    output.print_error(BadInput(message, hint))


def _defer_help_only_imports() -> None:
    """typer.rich_utils imports rich.markdown (markdown-it, pygments) and rich.traceback at its top,
    ~60-100 ms that `fmkit --help` never uses (fmkit's help is rich markup, not markdown; pretty
    tracebacks only matter after a crash). Register stand-ins that import the real module on first
    use, so `fmkit --help` stays under 0.25 s. Only the CLI process does this (main())."""
    import importlib
    import types

    for module_name, names in (("rich.markdown", ("Markdown",)), ("rich.traceback", ("Traceback",))):
        if module_name in sys.modules:
            continue
        stub = types.ModuleType(module_name)

        def real(module_name: str = module_name, stub: types.ModuleType = stub) -> types.ModuleType:
            if sys.modules.get(module_name) is stub:
                del sys.modules[module_name]
            return importlib.import_module(module_name)

        class _Meta(type):
            def __getattr__(cls, attr: str, real: Any = real) -> Any:  # e.g. Traceback.from_exception
                return getattr(getattr(real(), cls.__name__), attr)

        for name in names:
            def new(cls: type, *a: Any, real: Any = real, **k: Any) -> Any:
                return getattr(real(), cls.__name__)(*a, **k)

            setattr(stub, name, _Meta(name, (), {"__new__": new}))  # a class, so `Markdown | Text` works

        def module_getattr(attr: str, real: Any = real) -> Any:
            if attr.startswith("__"):  # the import system asks for __path__ & co: not a use
                raise AttributeError(attr)
            return getattr(real(), attr)

        stub.__getattr__ = module_getattr  # type: ignore[attr-defined]
        sys.modules[module_name] = stub


app = typer.Typer(
    name="fmkit",
    cls=FmkitGroup,
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

app.command("tokenize", cls=FmkitCommand, rich_help_panel=LESSONS)(tokenize.tokenize)
app.command("attention", cls=FmkitCommand, rich_help_panel=LESSONS)(attention.attention)
app.command("positional", cls=FmkitCommand, rich_help_panel=LESSONS)(positional.positional)
app.command("diffuse", cls=FmkitCommand, rich_help_panel=LESSONS)(diffuse.diffuse)
app.command("detect", cls=FmkitCommand, rich_help_panel=LESSONS)(detect.detect)
app.command("segment", cls=FmkitCommand, rich_help_panel=LESSONS)(segment.segment)
app.command("generate", cls=FmkitCommand, rich_help_panel=LESSONS)(generate.generate)
app.command("gallery", cls=FmkitCommand, rich_help_panel=LESSONS)(gallery.gallery)
app.command("describe", cls=FmkitCommand, rich_help_panel=LESSONS)(describe.describe)
app.command("imagine", cls=FmkitCommand, rich_help_panel=LESSONS)(imagine.imagine)
app.command("agent", cls=FmkitCommand, rich_help_panel=LESSONS)(agent.agent)
app.command("profiles", cls=FmkitCommand, rich_help_panel=SETUP)(profiles.profiles)
app.command("doctor", cls=FmkitCommand, rich_help_panel=SETUP)(doctor.doctor)
app.command("models", cls=FmkitCommand, rich_help_panel=SETUP)(models.models)
app.command("pull", cls=FmkitCommand, rich_help_panel=SETUP)(models.pull)
app.add_typer(bucket.bucket_app, name="bucket", rich_help_panel=SETUP)


def main() -> None:
    _defer_help_only_imports()
    try:
        app(prog_name="fmkit")
    finally:
        # Python's last garbage collection at exit walks every object torch and transformers
        # made: 1.3 s of a 7 s `fmkit generate` on 2 cores (py-spy: gc_collect_main after the
        # command). The command has closed its files by now, so leave them to the process's end.
        import gc

        gc.freeze()
