"""One diffuse run, as every front end calls it: parameters merged and checked, images
rendered prompt by prompt, saved (when asked) with their parameters, results out.

Sizes, steps, guidance and the number of images come from the one settings chain (profile,
environment, `--set`, options), so `fmkit profiles` shows where each came from. Output names
are checked before the model loads, so a bad path fails in a second, not after the render.
Notes (a missing safety checker, an out-of-memory retry, a flagged image) go to `notify`.
"""

from __future__ import annotations

import contextvars

from pathlib import Path
from typing import Callable, Iterable, Iterator

from fmkit.diffuse.pipeline import DiffuseParams, DiffuseResult, check_params, default_path, save_png
from fmkit.errors import BadInput
from fmkit.io.local import check_writable
from fmkit.profiles import Settings
from fmkit.seeds import random_seed
from fmkit.io.names import numbered


def _no_progress(description: str, total: int):
    import contextlib

    return contextlib.nullcontext(lambda n=1: None)


class OutputNames:
    """Where images go: PATH (then PATH-2, PATH-3 ... for more images), or PROMPT-SEED.png here."""

    def __init__(self, save: bool | str | Path, force: bool):
        self.path = None if isinstance(save, bool) else Path(save).expanduser()
        self.enabled, self.force, self.count = bool(save), force, 0
        if self.path is not None and self.path.suffix.lower() != ".png":
            raise BadInput(f"output {self.path} must end in .png", "for example -o fox.png")

    def _explicit(self, n: int) -> Path:
        return numbered(self.path, n)  # fox.png, fox-2.png ...: the one naming rule (fmkit/io/names.py)

    def check(self, params: DiffuseParams) -> None:
        if not self.enabled:
            return
        if self.path is not None:
            for n in range(self.count + 1, self.count + params.num_images + 1):
                check_writable(self._explicit(n), self.force)
        else:
            check_writable(default_path(params.prompt, params.seed), False)

    def next(self, prompt: str, seed: int) -> Path:
        self.count += 1
        return self._explicit(self.count) if self.path is not None else default_path(prompt, seed)


class DiffuseRun:
    def __init__(self, settings: Settings, prompts: Iterable[str], *, seed: int | None = None,
                 negative_prompt: str | None = None, save: bool | str | Path = False, force: bool = False,
                 progress=None, notify: Callable[[str], None] = lambda m: None):
        from fmkit.diffuse.strategy import check_saver_keys

        check_saver_keys(settings)  # a saver key without strategy = custom: exit 2 before anything loads
        d = settings.diffuse
        self.settings, self.notify, self.progress = settings, notify, progress or _no_progress
        self.base = DiffuseParams(prompt="x", negative_prompt=negative_prompt or "", steps=d.steps,
                                  guidance=d.guidance, height=d.height, width=d.width,
                                  seed=random_seed() if seed is None else seed, num_images=d.num_images,
                                  scheduler=d.scheduler)
        check_params(self.base, d.max_pixels)
        self.names = OutputNames(save, force)
        self.force = force
        self.prompts = prompts
        self.diffuser = None
        self.saved = self.flagged = 0
        self._context = contextvars.copy_context()  # the Session the model loads for (catalog/context.py)

    def __iter__(self) -> Iterator[DiffuseResult]:
        for prompt in self.prompts:
            params = DiffuseParams(**{**self.base.to_dict(), "prompt": prompt})
            check_params(params, self.settings.diffuse.max_pixels)
            self.names.check(params)
            if self.diffuser is None:
                from fmkit.diffuse.pipeline import Diffuser

                self.diffuser = self._context.run(Diffuser, self.settings, notify=self.notify)
                for note in self.diffuser.notes:
                    self.notify(note)
                self.notify(self.describe)
            from fmkit.output import preview

            with self.progress(f"denoising '{preview(prompt)}'", params.steps) as advance:
                results = self.diffuser.render(params, on_step=advance)
            if results and results[0].fallback_from:
                self.notify(f"out of memory with strategy {results[0].fallback_from}; "
                            f"retried once with {results[0].strategy}")
            for result in results:
                if result.nsfw:
                    self.flagged += 1
                    self.notify(f"seed {result.seed}: the safety checker flagged this image, so it was not saved "
                                "(the pipeline would have written a black image)")
                elif self.names.enabled:
                    save_png(result, self.names.next(result.prompt, result.seed), force=self.force)
                    self.saved += 1
                yield result

    @property
    def describe(self) -> str:
        """The summary line: model, device, dtype, the memory plan and why, e.g. 'sd15 on cuda in
        float16, memory plan resident: est. peak 2.6 GiB fits 70.5 GiB free on cuda (savers: resident+compile)'."""
        d = self.diffuser
        return (f"{d.model} on {d.device} in {str(d.dtype).removeprefix('torch.')}, memory plan "
                f"{d.choice.reason} (savers: {d.plan.describe()})") if d else ""
