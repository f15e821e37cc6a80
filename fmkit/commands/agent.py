"""`fmkit agent`: a request in English or Korean -> the chat model picks a tool -> fmkit runs it."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from fmkit import output
from fmkit.commands.common import (DeviceOpt, JsonOpt, OfflineOpt, ProfileOpt, QuietOpt, SeedOpt, SetOpt,
                                   fmkit_command, session)


@fmkit_command
def agent(
    request: Annotated[str, typer.Argument(metavar="REQUEST", help='What you want, e.g. "draw me a cat", '
                                                                   '"고양이 그려줘", "how many people are in photo.jpg?"')],
    files: Annotated[Optional[list[str]], typer.Argument(metavar="[FILES]...", help="Images the request is about.")] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Show the plan (tool and arguments) without running it.")] = False,
    chat_model: Annotated[Optional[str], typer.Option("--chat-model", "--model", "-m", metavar="ALIAS|HUB_ID|PATH",
                                                      help="Chat model (default: the profile's agent.model).")] = None,
    seed: SeedOpt = None,
    profile: ProfileOpt = None, sets: SetOpt = None, device: DeviceOpt = None,
    offline: OfflineOpt = False, json_: JsonOpt = False, quiet: QuietOpt = False,
) -> None:
    """Ask in words: the chat model picks a tool (imagine, detect, segment, describe, generate,
    tokenize, attention) and its arguments under a JSON schema, fmkit runs it and answers in one paragraph.

    Steps go to stderr; --json prints the whole trace.
    """
    fk = session(profile, sets, offline, device, quiet)
    result = fk.agent(request, files or [], dry_run=dry_run, chat_model=chat_model, seed=seed)
    if json_:
        output.emit_json(result.to_dict())
    else:
        output.stdout_console().print(output.escape(result.answer))
    if not result.ok:
        raise typer.Exit(1)
