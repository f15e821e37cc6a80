"""`fmkit profiles [NAME]`: list the profiles, or show one fully resolved with each value's origin."""

from __future__ import annotations

import os
from typing import Annotated, Any, Optional

import typer

from fmkit import output
from fmkit.commands.common import JsonOpt, SetOpt, fmkit_command

# fmkit.profiles and fmkit.environment are imported when the command runs (`fmkit --help` stays fast).


def _show(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return f'"{value}"' if isinstance(value, str) else str(value)


@fmkit_command
def profiles(
    name: Annotated[Optional[str], typer.Argument(metavar="[NAME|PATH]", help="Show this profile resolved.")] = None,
    sets: SetOpt = None,
    json_: JsonOpt = False,
) -> None:
    """List profiles, or show one with every setting and where its value came from."""
    from fmkit import environment
    from fmkit.profiles import load_settings

    environment.prepare()
    if name is None and not sets:
        _list_profiles(json_)
        return
    settings = load_settings(name, sets or ())
    # NAME here is this command's argument, not --profile (load_settings takes it as the request).
    reason = "the NAME argument" if name else settings.reason
    if json_:
        output.emit_json({"profile": settings.profile, "path": str(settings.profile_path),
                          "reason": "argument" if name else settings.reason,
                          "settings": {k: {"value": v, "source": s} for k, v, s in settings.rows()}})
        return
    from rich.table import Table

    console = output.stdout_console()
    # The file path goes on its own line (soft-wrapped, never cut), so it can be copied whole.
    console.print(f"profile [bold]{output.escape(settings.profile)}[/bold] (chosen by {output.escape(reason)})\n"
                  f"file: {output.escape(str(settings.profile_path))}", soft_wrap=True)
    table = Table()
    table.add_column("key", no_wrap=True)  # keys are typed back into --set: never cut
    table.add_column("value", overflow="fold")
    table.add_column("from", overflow="fold")
    for key, value, source in settings.rows():
        table.add_row(key, output.escape(_show(value)), output.escape(source))
    console.print(table)


def _list_profiles(json_: bool) -> None:
    from fmkit.profiles import available_profiles, choose_profile, read_toml

    active, reason = choose_profile(None, os.environ)
    rows = []
    for pname, path in available_profiles().items():
        data = read_toml(path)
        rows.append({"name": pname, "path": str(path), "active": pname == active,
                     "extends": data.get("extends"), "description": data.get("description", "")})
    if json_:
        for row in rows:
            output.emit_json(row)
        return
    from rich.table import Table

    console = output.stdout_console()
    table = Table(title=f"profiles (active: {output.escape(active)}; {output.escape(reason)})", title_justify="left")
    table.add_column("")
    table.add_column("name", no_wrap=True)  # typed back as --profile NAME: never cut
    table.add_column("description")
    for row in rows:
        desc = row["description"] + (f" (extends {row['extends']})" if row["extends"] else "")
        table.add_row("*" if row["active"] else "", output.escape(row["name"]), output.escape(desc))
    console.print(table)
    # Paths on lines of their own (soft-wrapped, never cut), so each can be copied whole.
    for row in rows:
        console.print(f"{output.escape(row['name'])}: {output.escape(row['path'])}", soft_wrap=True)
