"""`fmkit profiles [NAME]`: list the profiles, or show one fully resolved with each value's origin."""

from __future__ import annotations

import os
from typing import Annotated, Any, Optional

import typer

from fmkit import environment, output
from fmkit.commands.common import JsonOpt, SetOpt, fmkit_command
from fmkit.profiles import available_profiles, choose_profile, load_settings, read_toml


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
    environment.prepare()
    if name is None and not sets:
        _list_profiles(json_)
        return
    settings = load_settings(name, sets or ())
    if json_:
        output.emit_json({"profile": settings.profile, "path": str(settings.profile_path),
                          "reason": settings.reason,
                          "settings": {k: {"value": v, "source": s} for k, v, s in settings.rows()}})
        return
    from rich.table import Table

    table = Table(title=f"profile {settings.profile} ({settings.profile_path}; chosen by {settings.reason})",
                  title_justify="left")
    for col in ("key", "value", "from"):
        table.add_column(col)
    for key, value, source in settings.rows():
        table.add_row(key, _show(value), source)
    output.stdout_console().print(table)


def _list_profiles(json_: bool) -> None:
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

    table = Table(title=f"profiles (active: {active}; {reason})", title_justify="left")
    for col in ("", "name", "description", "file"):
        table.add_column(col)
    for row in rows:
        desc = row["description"] + (f" (extends {row['extends']})" if row["extends"] else "")
        table.add_row("*" if row["active"] else "", row["name"], desc, row["path"])
    output.stdout_console().print(table)
