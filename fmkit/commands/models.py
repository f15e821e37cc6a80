"""`fmkit models` (the catalog and what is on this machine) and `fmkit pull` (fetch for offline use)."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from fmkit import output
from fmkit.commands.common import JsonOpt, OfflineOpt, ProfileOpt, QuietOpt, SetOpt, fmkit_command
from fmkit.errors import FmkitError

# catalog, environment and profiles are imported when a command runs, so `fmkit --help` stays fast.


def _profile_models(profile: str | None, sets: list[str] | None) -> dict[str, str]:
    from fmkit.profiles import load_settings

    s = load_settings(profile, sets or ())
    return {"bert": s.bert.model, "generate": s.generate.model, "diffuse": s.diffuse.model, "detect": s.detect.model}


@fmkit_command
def models(profile: ProfileOpt = None, sets: SetOpt = None, offline: OfflineOpt = False,
           json_: JsonOpt = False) -> None:
    """The model catalog: alias, family, source, size, and whether it is on this machine (never uses the network)."""
    from fmkit import catalog, environment

    environment.prepare(offline=offline)
    used = {m: section for section, m in _profile_models(profile, sets).items()}
    rows = []
    for alias, spec in catalog.CATALOG.items():
        path = catalog.present(catalog.resolve(alias))
        rows.append({"alias": alias, "family": spec.family, "kind": spec.kind, "source": spec.location,
                     "size_mb": spec.size_mb, "present": path is not None, "path": str(path) if path else None,
                     "profile_uses": used.get(alias), "description": spec.description})
    if json_:
        for row in rows:
            output.emit_json(row)
        return
    from rich.table import Table

    t = Table(title="fmkit models (* = used by the active profile)", title_justify="left")
    t.add_column("alias", no_wrap=True)  # typed back as --model ALIAS: never cut
    t.add_column("size", no_wrap=True, justify="right")
    t.add_column("here", no_wrap=True)
    t.add_column("what (family; where it comes from)", overflow="fold")  # hub ids are copied too: fold, never "..."
    for r in rows:
        what = (f"{output.escape(r['description'])} [dim]({r['family']})[/dim]\n"
                f"[dim]{r['kind']}: {output.escape(r['source'])}[/dim]")
        t.add_row(("* " if r["profile_uses"] else "  ") + output.escape(r["alias"]),
                  f"{r['size_mb']} MB" if r["size_mb"] else "?",
                  "[green]yes[/green]" if r["present"] else "[dim]no[/dim]", what)
    output.stdout_console().print(t)


@fmkit_command
def pull(
    names: Annotated[Optional[list[str]], typer.Argument(metavar="[ALIAS|HUB_ID]...",
                                                         help="Models to fetch (default: the active profile's).")] = None,
    profile: ProfileOpt = None, sets: SetOpt = None, offline: OfflineOpt = False,
    json_: JsonOpt = False, quiet: QuietOpt = False,
) -> None:
    """Download models into the cache now, so lessons later work with no network."""
    from fmkit import catalog, environment

    environment.prepare(offline=offline, download_progress=not (quiet or json_))
    wanted = list(dict.fromkeys(names or _profile_models(profile, sets).values()))
    failed = 0
    for name in wanted:
        source = None
        try:
            source = catalog.resolve(name)
            path = catalog.present(source)
            status = "present"
            if path is None:
                output.notice(f"pulling {source.label} ...", quiet or json_)
                path = catalog.download(source, quiet=quiet or json_)
                status = "downloaded"
            elif source.kind == "local":
                status = "local"
        except FmkitError as e:
            if source is not None and e.hint == source.pull_hint:
                e.hint = catalog.unavailable_hint(source, pulling=True)  # not "run fmkit pull" again
            failed += 1
            if json_:
                output.emit_json({"model": name, "status": "error", "error": str(e)})
            else:
                output.print_error(e)
            continue
        if json_:
            output.emit_json({"model": name, "status": status, "path": str(path)})
        else:
            output.stdout_console().print(f"{output.escape(name)}: {status} [dim]{output.escape(str(path))}[/dim]")
    if failed:
        raise typer.Exit(1)
