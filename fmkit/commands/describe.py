"""`fmkit describe`: detect, build a scene, and let the chat model write about it (checked)."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from fmkit import output
from fmkit.commands.common import (DeviceOpt, JsonOpt, ModelOpt, OfflineOpt, ProfileOpt, QuietOpt, SetOpt,
                                   fmkit_command, iter_texts, session)


@fmkit_command
def describe(
    images: Annotated[list[str], typer.Argument(metavar="IMAGE...", help="Images; '-' reads one path per line.")],
    style: Annotated[str, typer.Option("--style", help="caption | list | story.")] = "caption",
    chat_model: Annotated[Optional[str], typer.Option("--chat-model", metavar="ALIAS|HUB_ID|PATH",
                                                      help="Chat model (default: the profile's agent.model).")] = None,
    conf: Annotated[Optional[float], typer.Option("--conf", help="Minimum detection confidence.")] = None,
    profile: ProfileOpt = None, sets: SetOpt = None, model: ModelOpt = None, device: DeviceOpt = None,
    offline: OfflineOpt = False, json_: JsonOpt = False, quiet: QuietOpt = False,
) -> None:
    """Describe images: the detector finds the objects, the chat model writes about exactly those.

    --model picks the detector (default: detect.model); --chat-model the writer (agent.model).
    """
    fk = session(profile, sets, offline, device, quiet)
    failed = 0
    for result in fk.describe(list(iter_texts(images, "image")), style=style, chat_model=chat_model, model=model,
                              conf=conf):
        if json_:
            output.emit_json(result.to_dict())
        elif not result.ok:
            output.stderr_console().print(f"[red]error:[/red] {output.escape(result.source)}: "
                                          f"{output.escape(result.error)}")
        else:
            output.stdout_console().print(f"[bold]{output.escape(result.source)}[/bold]  [dim]"
                                          f"({output.escape(result.scene.summary())})[/dim]")
            output.stdout_console().print(output.escape(result.text))
        failed += not result.ok
    if failed:
        raise typer.Exit(1)
