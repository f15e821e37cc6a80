"""`fmkit diffuse`: text to image with Stable Diffusion, memory strategy from the profile."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from fmkit import output
from fmkit.commands.common import (DeviceOpt, ForceOpt, JsonOpt, ModelOpt, OfflineOpt, ProfileOpt, QuietOpt,
                                   SeedOpt, SetOpt, fmkit_command, iter_texts, start)
from fmkit.errors import BadInput

IMAGE = "Image"


@fmkit_command
def diffuse(
    prompts: Annotated[list[str], typer.Argument(metavar="PROMPT...",
                                                 help="What to draw; '-' reads one prompt per line from stdin.")],
    negative_prompt: Annotated[Optional[str], typer.Option("--negative-prompt", "-n", metavar="TEXT",
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
    num_images: Annotated[int, typer.Option("--num-images", help="Images per prompt (seeds SEED, SEED+1, ...).",
                                            rich_help_panel=IMAGE)] = 1,
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
    settings = start("diffuse", profile, sets, offline, model, device, options={"scheduler": scheduler})
    from fmkit.diffuse.pipeline import DiffuseParams, check_params

    d = settings.diffuse
    base = DiffuseParams(prompt="x", negative_prompt=negative_prompt or "",
                         steps=d.steps if steps is None else steps,
                         guidance=d.guidance if guidance is None else guidance,
                         height=d.height if height is None else height, width=d.width if width is None else width,
                         seed=_random_seed() if seed is None else seed, num_images=num_images, scheduler=d.scheduler)
    check_params(base, d.max_pixels)
    targets = _Targets(output_path, force)
    quiet_notes = quiet or json_
    diffuser = None
    saved = flagged = 0
    for prompt in iter_texts(prompts, "prompt"):
        params = DiffuseParams(**{**base.to_dict(), "prompt": prompt})
        check_params(params, d.max_pixels)
        targets.check_first(params)
        if diffuser is None:
            from fmkit.diffuse.pipeline import Diffuser

            diffuser = Diffuser(settings)
            for note in diffuser.notes:
                output.warn(note)
            output.notice(f"{diffuser.model} on {diffuser.device} in {str(diffuser.dtype).removeprefix('torch.')}, "
                          f"memory strategy: {diffuser.plan.describe()}", quiet_notes)
        with output.progress_bar(f"denoising '{output.preview(prompt)}'", total=params.steps, quiet=quiet) as advance:
            results = diffuser.render(params, on_step=advance)
        if results and results[0].fallback_from:
            output.warn(f"out of memory with strategy {results[0].fallback_from}; "
                        f"retried once with {results[0].strategy}")
        for result in results:
            if result.nsfw:
                flagged += 1
                output.warn(f"seed {result.seed}: the safety checker flagged this image, so it was not saved "
                            "(the pipeline would have written a black image)")
            else:
                from fmkit.diffuse.pipeline import save_png

                save_png(result, targets.next(result.prompt, result.seed), force=force)
                saved += 1
            if json_:
                output.emit_json(result.to_dict())
            elif not result.nsfw:
                output.stdout_console().print(
                    f"{result.path}  [dim](seed {result.seed}, {result.params['steps']} steps, "
                    f"{result.seconds:.1f} s, peak {result.peak_memory_mb:,.0f} MB, {result.strategy})[/dim]")
    if flagged and not saved:
        raise typer.Exit(1)


class _Targets:
    """Output names: -o PATH (then PATH-2, PATH-3 ... for more images) or PROMPT-SEED.png, checked
    before any model work, so a bad path fails in a second instead of after the render."""

    def __init__(self, path: Path | None, force: bool):
        self.path, self.force, self.count = path, force, 0
        if path is not None and path.suffix.lower() != ".png":
            raise BadInput(f"output {path} must end in .png", "for example -o fox.png")

    def _explicit(self, n: int) -> Path:
        return self.path if n == 1 else self.path.with_name(f"{self.path.stem}-{n}{self.path.suffix}")

    def check_first(self, params) -> None:
        from fmkit.diffuse.pipeline import default_path

        if self.path is not None:
            for n in range(self.count + 1, self.count + params.num_images + 1):
                output.check_writable(self._explicit(n), self.force)
        else:
            output.check_writable(default_path(params.prompt, params.seed), False)

    def next(self, prompt: str, seed: int) -> Path:
        from fmkit.diffuse.pipeline import default_path

        self.count += 1
        return self._explicit(self.count) if self.path is not None else default_path(prompt, seed)


def _random_seed() -> int:
    import secrets

    return secrets.randbelow(2**31)
