"""`fmkit doctor`: what this machine is and what fmkit will do on it, read off the machine."""

from __future__ import annotations

from fmkit import output
from fmkit.commands.common import JsonOpt, OfflineOpt, ProfileOpt, SetOpt, fmkit_command, session


@fmkit_command
def doctor(profile: ProfileOpt = None, sets: SetOpt = None, offline: OfflineOpt = False,
           json_: JsonOpt = False) -> None:
    """Show Python, library versions, devices, memory, the chosen profile, offline state and caches."""
    report = session(profile, sets, offline).doctor()
    if json_:
        output.emit_json(report)
    else:
        from fmkit.render.terminal import doctor_table

        output.stdout_console().print(doctor_table(report))
