"""`fmkit imagine`: diffuse, and with --verify let the detector check the picture and retry."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from fmkit import output
from fmkit.commands.common import (DeviceOpt, ForceOpt, JsonOpt, ModelOpt, OfflineOpt, ProfileOpt, QuietOpt,
                                   SeedOpt, SetOpt, fmkit_command, session)

IMAGE = "Image"
CHECK = "Check"


@fmkit_command
def imagine(
    prompt: Annotated[str, typer.Argument(metavar="PROMPT", help='What to draw, e.g. "two cats and a dog", '
                                                                 '"고양이 두 마리와 개 한 마리".')],
    verify: Annotated[bool, typer.Option("--verify/--no-verify", help="Check each image with the detector "
                                         "(objects and counts the prompt asks for) and retry.",
                                         rich_help_panel=CHECK)] = False,
    attempts: Annotated[Optional[int], typer.Option("--attempts", metavar="N", help="Images drawn at most "
                                                    "(default: agent.attempts).", rich_help_panel=CHECK)] = None,
    detector: Annotated[Optional[str], typer.Option("--detector", metavar="ALIAS|PATH", help="Detector (default: "
                                                    "detect.model).", rich_help_panel=CHECK)] = None,
    negative_prompt: Annotated[Optional[str], typer.Option("--negative-prompt", metavar="TEXT",
                                                           rich_help_panel=IMAGE)] = None,
    steps: Annotated[Optional[int], typer.Option("--steps", rich_help_panel=IMAGE)] = None,
    guidance: Annotated[Optional[float], typer.Option("--guidance", "-g", rich_help_panel=IMAGE)] = None,
    height: Annotated[Optional[int], typer.Option("--height", rich_help_panel=IMAGE)] = None,
    width: Annotated[Optional[int], typer.Option("--width", rich_help_panel=IMAGE)] = None,
    seed: SeedOpt = None,
    num_images: Annotated[Optional[int], typer.Option("--num-images", "-n", help="Images per attempt.",
                                                      rich_help_panel=IMAGE)] = None,
    scheduler: Annotated[Optional[str], typer.Option("--scheduler", rich_help_panel=IMAGE)] = None,
    output_path: Annotated[Optional[Path], typer.Option(
        "--output", "-o", metavar="PATH.png", help="Where to write the kept PNG (default: PROMPT-SEED.png here).",
        rich_help_panel="Output")] = None,
    force: ForceOpt = False,
    profile: ProfileOpt = None, sets: SetOpt = None, model: ModelOpt = None, device: DeviceOpt = None,
    offline: OfflineOpt = False, json_: JsonOpt = False, quiet: QuietOpt = False,
) -> None:
    """Draw a prompt; with --verify the detector checks the objects and counts it asks for,
    retrying with new seeds, and the best image is kept.

    Exit 0 when an image passed, 1 when none did (the best attempt is still written). Every PNG
    and --json line records the check: expected, found, passed.
    """
    from fmkit.agent.verify import check_attempts

    if attempts is not None:
        check_attempts(attempts)
    fk = session(profile, sets, offline, device, quiet)

    def on_attempt(a) -> None:
        output.notice(f"attempt {a.number} (seed {a.seed}): found {a.found or 'nothing asked'} -> "
                      f"{'pass' if a.passed else f'score {a.score:.2f}'}", quiet)

    result = fk.imagine(prompt, verify=verify, attempts=attempts, seed=seed, save=output_path or True, force=force,
                        model=model, detect_model=detector, on_attempt=on_attempt if verify else None,
                        progress=lambda what, total: output.progress_bar(what, total=total, quiet=quiet),
                        negative_prompt=negative_prompt, steps=steps, guidance=guidance, height=height,
                        width=width, num_images=num_images, scheduler=scheduler)
    if json_:
        output.emit_json(result.to_dict())
    elif result.path:
        output.stdout_console().print(f"{output.escape(result.path)}  [dim]({output.escape(result.reason)})[/dim]")
    if result.path is None:
        raise typer.Exit(1)
    if verify and result.passed is not True and (result.passed is False or result.unknown):
        output.stderr_console().print(f"[red]not verified:[/red] {output.escape(result.reason)}")
        raise typer.Exit(1)
