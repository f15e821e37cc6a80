"""`fmkit diffuse`: text to image with Stable Diffusion, memory strategy from the profile."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from fmkit import output
from fmkit.commands.common import (DeviceOpt, ForceOpt, JsonOpt, ModelOpt, OfflineOpt, ProfileOpt, QuietOpt,
                                   SeedOpt, SetOpt, fmkit_command, iter_texts, session)

IMAGE = "Image"


@fmkit_command
def diffuse(
    prompts: Annotated[list[str], typer.Argument(metavar="PROMPT...",
                                                 help="What to draw; '-' reads one prompt per line from stdin.")],
    negative_prompt: Annotated[Optional[str], typer.Option("--negative-prompt", metavar="TEXT",
                                                           help="What to steer away from (needs --guidance > 1).",
                                                           rich_help_panel=IMAGE)] = None,
    steps: Annotated[Optional[int], typer.Option("--steps", help="Denoising steps (default: the profile's).",
                                                 rich_help_panel=IMAGE)] = None,
    guidance: Annotated[Optional[float], typer.Option("--guidance", "-g", help="Classifier-free guidance scale; "
                                                      "0 or 1 = off (default: the profile's).",
                                                      rich_help_panel=IMAGE)] = None,
    height: Annotated[Optional[int], typer.Option("--height", help="Pixels, a multiple of 8 (default: the profile's).",
                                                  rich_help_panel=IMAGE)] = None,
    width: Annotated[Optional[int], typer.Option("--width", help="Pixels, a multiple of 8 (default: the profile's).",
                                                 rich_help_panel=IMAGE)] = None,
    seed: SeedOpt = None,
    num_images: Annotated[Optional[int], typer.Option("--num-images", "-n", help="How many images per prompt "
                                                      "(seeds SEED, SEED+1, ...; default 1).",
                                                      rich_help_panel=IMAGE)] = None,
    scheduler: Annotated[Optional[str], typer.Option(
        "--scheduler", help="default, ddim, pndm, euler, euler-a, dpm++, lms, heun, unipc, or a diffusers class name.",
        rich_help_panel=IMAGE)] = None,
    output_path: Annotated[Optional[Path], typer.Option(
        "--output", "-o", metavar="PATH.png", help="Where to write the PNG (default: PROMPT-SEED.png here, never "
        "overwriting); more images get PATH-2.png, PATH-3.png ...", rich_help_panel="Output")] = None,
    force: ForceOpt = False,
    profile: ProfileOpt = None, sets: SetOpt = None, model: ModelOpt = None, device: DeviceOpt = None,
    offline: OfflineOpt = False, json_: JsonOpt = False, quiet: QuietOpt = False,
) -> None:
    """Draw an image from a prompt with Stable Diffusion; the profile picks model and memory savers.

    Every PNG carries its prompt, seed, steps, guidance, scheduler and model in text chunks.
    """
    fk = session(profile, sets, offline, device, quiet)
    run = fk.iter_diffuse(iter_texts(prompts, "prompt"), model=model, seed=seed, negative_prompt=negative_prompt,
                          save=output_path or True, force=force,
                          progress=lambda what, total: output.progress_bar(what, total=total, quiet=quiet),
                          steps=steps, guidance=guidance, height=height, width=width, num_images=num_images,
                          scheduler=scheduler)
    for result in run:
        if json_:
            output.emit_json(result.to_dict())
        elif not result.nsfw:
            output.stdout_console().print(
                f"{output.escape(str(result.path))}  [dim](seed {result.seed}, {result.params['steps']} steps, "
                f"{result.seconds:.1f} s, peak {result.peak_memory_mb:,.0f} MB, {result.strategy})[/dim]",
                soft_wrap=True)
    if run.flagged and not run.saved:
        raise typer.Exit(1)
