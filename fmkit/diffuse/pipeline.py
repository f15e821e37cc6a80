"""Text to image with a Stable Diffusion pipeline, memory strategy chosen by the profile.

One render runs diffusers' own StableDiffusionPipeline in its three stages, so that with
`one_at_a_time` only the component in use is in memory:

    1. text encoder: prompt -> embeddings            (then freed)
    2. UNet + scheduler: noise -> latents, N steps   (then freed)
    3. VAE: latents -> pixels; safety checker if the profile asks for it

Which savers run comes from the memory Choice (strategy.py: the planner's fastest ladder step
that fits runtime.max_memory, or the profile's own savers) and becomes diffusers' calls in
memory.py. Results are DiffuseResult objects; writing the PNG (with its parameters in text
chunks) is `save_png`.
"""

from __future__ import annotations

import contextlib
import gc
import json
import logging
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator

from fmkit import __version__, catalog, hardware, output
from fmkit.io.local import atomic_write, unique_path
from fmkit.options import option
from fmkit.errors import BadInput, Interrupted, ModelUnavailable, RuntimeFailure, is_out_of_memory
from fmkit.diffuse import planner
from fmkit.diffuse.memory import (MemoryPlan, apply_layerwise_casting, apply_to_component, apply_to_pipeline,
                                  compute_dtype, load_dtype, return_freed_memory_to_os)

log = logging.getLogger("fmkit.diffuse")

SCHEDULER_ALIASES = {
    "ddim": "DDIMScheduler", "pndm": "PNDMScheduler", "euler": "EulerDiscreteScheduler",
    "euler-a": "EulerAncestralDiscreteScheduler", "dpm++": "DPMSolverMultistepScheduler",
    "lms": "LMSDiscreteScheduler", "heun": "HeunDiscreteScheduler", "unipc": "UniPCMultistepScheduler",
}
COMPONENTS = ("text_encoder", "unet", "vae", "safety_checker")


@dataclass(frozen=True)
class DiffuseParams:
    """What to render; sizes and steps already merged from the profile and the options."""

    prompt: str
    negative_prompt: str = ""
    steps: int = 4
    guidance: float = 0.0
    height: int = 512
    width: int = 512
    seed: int = 0
    num_images: int = 1
    scheduler: str = "default"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class DiffuseResult:
    """One rendered image and how it was made. `image` is a PIL image (None when flagged)."""

    prompt: str
    seed: int
    model: str
    params: dict[str, Any]
    seconds: float
    peak_memory_mb: float
    strategy: str
    nsfw: bool = False
    fallback_from: str | None = None  # the strategy that ran out of memory, when a retry happened
    memory_plan: dict[str, Any] | None = None  # planner.Choice.to_dict(): strategy, reason, budget, estimate
    image: Any = field(default=None, repr=False)
    path: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"prompt": self.prompt, "path": self.path, "seed": self.seed, "model": self.model,
                "params": self.params, "seconds": round(self.seconds, 3),
                "peak_memory_mb": round(self.peak_memory_mb, 1), "strategy": self.strategy,
                "memory_plan": self.memory_plan, "nsfw": self.nsfw, "fallback_from": self.fallback_from}

    def _repr_mimebundle_(self, include=None, exclude=None) -> dict:
        from fmkit.render.notebook import diffuse_bundle

        return diffuse_bundle(self)


def check_params(p: DiffuseParams, max_pixels: int) -> None:
    """Reject bad input before any model is loaded (BadInput: exit 2)."""
    if not p.prompt.strip():
        raise BadInput("the prompt is empty", 'give a prompt, e.g. fmkit diffuse "a red fox in the snow"')
    for name, value in (("height", p.height), ("width", p.width)):
        if value < 8 or value % 8:
            raise BadInput(f"--{name} {value} is not a positive multiple of 8",
                           f"use e.g. {max(8, round(value / 8) * 8)}")
    if p.height * p.width > max_pixels:
        raise BadInput(f"{p.width}x{p.height} is {p.width * p.height} pixels, over this profile's limit of "
                       f"{max_pixels} (e.g. {_square(max_pixels)})",
                       "choose a smaller size, or raise diffuse.max_pixels (--set diffuse.max_pixels=N)")
    if p.steps < 1:
        raise BadInput(f"--steps {p.steps}: need at least 1 denoising step", "use e.g. --steps 4")
    if p.guidance < 0:
        raise BadInput(f"--guidance {p.guidance} is negative", "use 0 (off) or a scale such as 7.5")
    if p.num_images < 1:
        raise BadInput(f"--num-images {p.num_images}: need at least 1", "use --num-images 1")
    if p.seed < 0 or p.seed + p.num_images > 2**63:
        raise BadInput(f"--seed {p.seed} is out of range", "use a seed between 0 and 2**63 - num_images")


def _square(pixels: int) -> str:
    side = int(pixels ** 0.5) // 8 * 8
    return f"{side}x{side}"


def peak_memory_mb(device: str) -> float:
    """Peak memory of this run: CUDA allocator peak on a GPU, else the process's peak RSS (by the OS)."""
    import torch

    if device.startswith("cuda"):
        return torch.cuda.max_memory_allocated() / 2**20
    try:
        import resource
        import sys

        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        return peak / 2**20 if sys.platform == "darwin" else peak / 1024
    except ImportError:  # Windows
        import psutil

        return psutil.Process().memory_info().peak_wset / 2**20


def _is_compile_failure(error: BaseException) -> bool:
    from fmkit.diffuse.speed import is_compile_failure

    return is_compile_failure(error)


_HELD: dict[tuple, Any] = {}  # settings -> the Choice whose whole pipeline was loaded for them (Diffuser._still_loaded)


class Diffuser:
    """A Stable Diffusion pipeline folder plus the profile's device, dtype and memory plan.
    `notify` hears what the user should know mid-run (a compile that failed and was dropped)."""

    def __init__(self, settings: Any, notify: Callable[[str], None] = lambda message: None):
        d = settings.diffuse
        self.source = catalog.resolve(d.model)
        self.folder = Path(catalog.local_path(self.source))
        index = self.folder / "model_index.json"
        if not index.is_file():
            raise ModelUnavailable(f"{self.folder} is not a diffusers pipeline folder (no model_index.json)",
                                   "give a Stable Diffusion folder saved with save_pretrained, or an alias")
        from fmkit.model_files import read_json

        self.index = read_json(index, "pipeline index")
        if self.index.get("_class_name") not in ("StableDiffusionPipeline", None):
            raise ModelUnavailable(f"{self.source.label} is a {self.index.get('_class_name')}, "
                                   "not a StableDiffusionPipeline", "fmkit diffuse runs SD 1.x/2.x pipelines")
        from fmkit.diffuse import strategy

        strategy.check_saver_keys(settings)  # a profile mistake fails before anything loads
        self.model = self.source.label
        self.notify = notify
        self.device = hardware.resolve_device(settings.runtime.device)
        self.dtype = compute_dtype(d.compute_dtype, settings.runtime.dtype, self.device)
        hardware.apply_threads(settings.runtime.threads)
        self.scheduler_config = read_json(self.folder / "scheduler" / "scheduler_config.json", "scheduler config")
        self.scheduler_cls = self._scheduler_class(d.scheduler)
        self.safety_checker = d.safety_checker
        self._has_checker = (self.index.get("safety_checker") or [None])[0] is not None \
            and (self.folder / "safety_checker").is_dir()
        self._check_files()
        # The budget is read with the libraries imported (their RSS is part of it on a CPU), before any weights.
        from diffusers import StableDiffusionPipeline  # noqa: F401
        from fmkit.diffuse.sizes import read_components

        inputs = strategy.plan_inputs(settings, read_components(self.folder), self.device,
                                      str(self.dtype).removeprefix("torch."), self.safety_checker and self._has_checker)
        self._held_key = (str(self.folder), self.device, str(self.dtype), self.safety_checker,
                          settings.runtime.max_memory, repr(d))
        self.choice = self._still_loaded() or strategy.choose(settings, inputs)
        self.plan = self.choice.plan.for_device(self.device)
        if self.plan.one_at_a_time:
            return_freed_memory_to_os()
        self.notes: list[str] = []  # things the user should know (no checker shipped, ...)
        if self.safety_checker and not self._has_checker:
            self.notes.append(f"{self.model} ships no safety checker; images are not checked")

    # --- loading ---------------------------------------------------------------------------

    def _check_files(self) -> None:
        """Every folder the render will read, checked now (JSON parses, weights whole): a damaged
        pipeline fails before any weights load, naming the file, never with silent zeros."""
        from fmkit.model_files import check_model_folder

        for name in ("scheduler", "tokenizer"):
            check_model_folder(self.folder / name, f"{name} folder")
        for name in ("text_encoder", "unet", "vae"):
            check_model_folder(self.folder / name, f"{name} folder", weights=True)
        if self.safety_checker and self._has_checker:
            check_model_folder(self.folder / "safety_checker", "safety_checker folder", weights=True)
            check_model_folder(self.folder / "feature_extractor", "feature_extractor folder")

    def _still_loaded(self) -> "planner.Choice | None":
        """The Choice whose pipeline an earlier call with the same settings left loaded. It fit
        then; measured again, the budget counts that pipeline as used and would pick a smaller
        plan, loading a second copy beside it (each `imagine --verify` attempt, a notebook loop)."""
        held = _HELD.get(self._held_key)
        if held is None or not catalog.is_loaded(self.source, self.device, self.dtype,
                                                 held.plan.for_device(self.device), self.safety_checker):
            return None
        return held

    def _pipeline(self, plan: MemoryPlan):
        """The pipeline object: all components (cached per process), or a shell with only the
        tokenizer and scheduler when components are loaded one at a time."""
        if plan.one_at_a_time:
            return catalog.load_once(self.source, self.device, self.dtype, self._build_shell, "shell")
        return catalog.load_once(self.source, self.device, self.dtype, lambda _: self._build_full(plan),
                                 plan, self.safety_checker)

    def _build_shell(self, folder: Path):
        from diffusers import AutoencoderKL, StableDiffusionPipeline
        from diffusers.image_processor import VaeImageProcessor
        from diffusers.utils import logging as diffusers_logging

        diffusers_logging.disable_progress_bar()  # "Loading pipeline components..." is noise here

        pipe = StableDiffusionPipeline.from_pretrained(
            folder, text_encoder=None, unet=None, vae=None, safety_checker=None, feature_extractor=None,
            image_encoder=None, requires_safety_checker=False)
        # Without a VAE the pipeline assumes 8x downsampling: take the real factor from its config.
        blocks = AutoencoderKL.load_config(folder / "vae")["block_out_channels"]
        pipe.vae_scale_factor = 2 ** (len(blocks) - 1)
        pipe.image_processor = VaeImageProcessor(vae_scale_factor=pipe.vae_scale_factor)
        pipe.set_progress_bar_config(disable=True)
        return pipe

    def _build_full(self, plan: MemoryPlan):
        pipe = self._build_shell(self.folder)
        for name in COMPONENTS:
            setattr(pipe, name, self._load(name, plan))
        if pipe.safety_checker is not None:
            pipe.feature_extractor = self._feature_extractor()
        applied = apply_to_pipeline(pipe, plan, self.device, self.dtype)
        log.debug("pipeline savers applied: %s", applied)
        return pipe

    def _load(self, name: str, plan: MemoryPlan):
        """One component in the plan's load dtype (None: not shipped, or not wanted)."""
        from fmkit.diffuse import weights as diffuse_load

        if name == "text_encoder":
            return diffuse_load.load_text_encoder(self.folder, self.dtype)
        if name == "unet":
            from diffusers import UNet2DConditionModel

            def prepare(model):  # layerwise casting set up on the meta model: weights arrive in fp8/bf16
                apply_layerwise_casting(model, name, plan, self.dtype)

            return diffuse_load.load_diffusers_model(UNet2DConditionModel, self.folder, "unet",
                                                     load_dtype(plan, self.dtype), prepare)
        if name == "vae":
            from diffusers import AutoencoderKL

            return diffuse_load.load_diffusers_model(AutoencoderKL, self.folder, "vae", self.dtype)
        if name == "safety_checker" and self.safety_checker and self._has_checker:
            from diffusers.pipelines.stable_diffusion.safety_checker import StableDiffusionSafetyChecker

            return StableDiffusionSafetyChecker.from_pretrained(self.folder / "safety_checker",
                                                                torch_dtype=self.dtype).eval()
        return None

    def _feature_extractor(self):
        from transformers import CLIPImageProcessor

        return CLIPImageProcessor.from_pretrained(self.folder / "feature_extractor")

    @contextlib.contextmanager
    def _resident(self, pipe, name: str, plan: MemoryPlan) -> Iterator[None]:
        """With one_at_a_time: load `name` into the pipeline for the block, free it after."""
        if not plan.one_at_a_time:
            yield
            return
        setattr(pipe, name, self._load(name, plan))
        if name == "safety_checker" and pipe.safety_checker is not None:
            pipe.feature_extractor = self._feature_extractor()
        apply_to_component(pipe, name, plan, self.device, self.dtype)
        try:
            yield
        finally:
            setattr(pipe, name, None)
            from fmkit.diffuse.weights import release_memory

            release_memory()

    def _scheduler_class(self, name: str):
        """The scheduler class for `name` (default, an alias, or a class name compatible with the
        pipeline's own scheduler); checked when the Diffuser is made, before any weights load."""
        import diffusers

        own = getattr(diffusers, self.scheduler_config.get("_class_name", ""), None)
        if own is None:
            raise ModelUnavailable(f"{self.model}: unknown scheduler class {self.scheduler_config.get('_class_name')}")
        if name in ("", "default"):
            return own
        compatible = {n: getattr(diffusers, n) for n in [own.__name__, *own._compatibles] if hasattr(diffusers, n)}
        cls = compatible.get(SCHEDULER_ALIASES.get(name.lower(), name))
        if cls is None:
            import difflib

            close = difflib.get_close_matches(name, [*SCHEDULER_ALIASES, *compatible], n=1)
            hint = f"did you mean '{close[0]}'? " if close else ""
            raise BadInput(f"unknown scheduler '{name}'", hint + "choose: default, " + ", ".join(SCHEDULER_ALIASES))
        return cls

    # --- rendering -------------------------------------------------------------------------

    def render(self, params: DiffuseParams, on_step: Callable[[], None] | None = None) -> list[DiffuseResult]:
        """Render params.num_images images. On out-of-memory, retry once with the next step down
        (the ladder's, or the custom plan's next-lower savers); when torch.compile itself fails,
        render again uncompiled and say so. The retries run after the `except` blocks: a caught
        error's traceback holds the failed pipeline's frames, which must be freed first."""
        smaller = f"try a smaller {option('height')}/{option('width')} or {option('num_images')}"
        try:
            return self._render(params, self.plan, on_step)
        except Exception as e:  # MemoryError and torch.OutOfMemoryError included
            compile_failed = self._compile_failure(e)
            if compile_failed is None and not is_out_of_memory(e):
                raise
        if compile_failed is not None:
            return self._render_uncompiled(params, on_step, compile_failed)
        lower = planner.lower(self.choice)
        if lower is None:
            raise RuntimeFailure(f"out of memory with strategy {self.plan.describe()}, and none uses less", smaller)
        failed_plan = self.plan
        self._forget_pipeline()
        log.info("out of memory with %s; retrying with %s", failed_plan.describe(), lower.plan.describe())
        self.choice, self.plan = lower, lower.plan.for_device(self.device)
        if self.plan.one_at_a_time:
            return_freed_memory_to_os()
        try:
            images = self._render(params, self.plan, on_step)
        except Exception as e:
            compile_failed = self._compile_failure(e)
            if compile_failed is None and not is_out_of_memory(e):
                raise
            if compile_failed is None:
                raise RuntimeFailure(f"out of memory again after retrying with strategy {self.plan.describe()}",
                                     smaller) from None
        else:
            compile_failed = None
        if compile_failed is not None:
            images = self._render_uncompiled(params, on_step, compile_failed)
        for image in images:
            image.fallback_from = failed_plan.describe()
        return images

    def _compile_failure(self, error: BaseException) -> str | None:
        """The one-line reason when `error` is torch.compile failing (not out of memory), else None."""
        if not (self.plan.compile and not is_out_of_memory(error) and _is_compile_failure(error)):
            return None
        first = (str(error).strip().splitlines() or [type(error).__name__])[0][:160]
        return f"{type(error).__name__}: {first}"

    def _render_uncompiled(self, params: DiffuseParams, on_step, reason: str) -> list[DiffuseResult]:
        from dataclasses import replace

        self.notify(f"torch.compile failed ({reason}); rendering without compiling")
        self._forget_pipeline()
        self.plan = replace(self.plan, compile=False)
        self.choice = replace(self.choice, plan=replace(self.choice.plan, compile=False))
        return self._render(params, self.plan, on_step)

    def _forget_pipeline(self) -> None:
        import torch

        catalog.clear_loaded()
        gc.collect()
        if self.device.startswith("cuda"):
            torch.cuda.empty_cache()

    def _render(self, p: DiffuseParams, plan: MemoryPlan, on_step: Callable[[], None] | None) -> list[DiffuseResult]:
        import torch

        if self.device.startswith("cuda"):
            torch.cuda.reset_peak_memory_stats()
        started = time.perf_counter()
        pipe = self._pipeline(plan)
        if not plan.one_at_a_time:  # a whole pipeline stays loaded: the next call with these settings reuses it
            _HELD[self._held_key] = self.choice
        # A fresh scheduler from the folder's config each time: no state or choice carries over.
        pipe.scheduler = scheduler = self.scheduler_cls.from_config(self.scheduler_config)
        # Generators on the CPU: the same seed gives the same noise on every device.
        generators = [torch.Generator("cpu").manual_seed(p.seed + i) for i in range(p.num_images)]
        cfg = p.guidance > 1.0

        def step_end(_pipe, _step, _timestep, kwargs):
            if on_step:
                on_step()
            return kwargs

        try:
            with torch.inference_mode():
                # 1. prompt -> embeddings (CLIP text encoder)
                with self._resident(pipe, "text_encoder", plan):
                    embeds, negative = pipe.encode_prompt(p.prompt, self.device, p.num_images, cfg,
                                                          p.negative_prompt or None)
                embeds = embeds.to(self.dtype)
                negative = negative.to(self.dtype) if negative is not None else None
                # 2. noise -> latents (UNet + scheduler, p.steps steps)
                with self._resident(pipe, "unet", plan):
                    latents = pipe(prompt_embeds=embeds, negative_prompt_embeds=negative, height=p.height,
                                   width=p.width, num_inference_steps=p.steps, guidance_scale=p.guidance,
                                   generator=generators, output_type="latent", callback_on_step_end=step_end,
                                   return_dict=False)[0]
                # 3. latents -> pixels (VAE), then the safety checker when the profile wants it
                with self._resident(pipe, "vae", plan):
                    vae = pipe.vae
                    pixels = vae.decode(latents.to(vae.dtype) / vae.config.scaling_factor, return_dict=False)[0]
                if not torch.isfinite(pixels).all():  # an overflow (fp16, a huge guidance): never a black PNG
                    raise RuntimeFailure("the image came out as NaN/inf (the numbers overflowed); nothing was saved",
                                         "lower --guidance, or use float32 (--set diffuse.compute_dtype=float32)")
                flagged = [False] * len(pixels)
                if self.safety_checker and self._has_checker:
                    with self._resident(pipe, "safety_checker", plan):
                        pixels, nsfw = pipe.run_safety_checker(pixels, self.device, embeds.dtype)
                    flagged = [bool(x) for x in (nsfw or flagged)]
                images = pipe.image_processor.postprocess(pixels.float(), output_type="pil",
                                                          do_denormalize=[True] * len(pixels))
        except KeyboardInterrupt:
            raise Interrupted("interrupted while rendering; no image was written") from None
        seconds = time.perf_counter() - started
        peak = peak_memory_mb(self.device)
        # seeds reproduce an image on the same device and dtype, so both travel with it
        params = {**p.to_dict(), "scheduler": type(scheduler).__name__, "device": self.device,
                  "dtype": str(self.dtype).removeprefix("torch.")}
        return [DiffuseResult(prompt=p.prompt, seed=p.seed + i, model=self.model,
                             params={**params, "seed": p.seed + i, "num_images": p.num_images},
                             seconds=seconds, peak_memory_mb=peak, strategy=plan.describe(), nsfw=flagged[i],
                             memory_plan=self.choice.to_dict(), image=None if flagged[i] else images[i])
                for i in range(len(images))]


# --- output -----------------------------------------------------------------------------------


def png_text(result: DiffuseResult) -> dict[str, str]:
    """The PNG text chunks: enough to reproduce the image from the file alone."""
    p = result.params
    return {"prompt": result.prompt, "negative_prompt": p["negative_prompt"], "seed": str(result.seed),
            "steps": str(p["steps"]), "guidance": str(p["guidance"]), "scheduler": p["scheduler"],
            "height": str(p["height"]), "width": str(p["width"]), "model": result.model,
            "device": p["device"], "dtype": p["dtype"], "strategy": result.strategy, "fmkit_version": __version__,
            "fmkit": json.dumps({**p, "model": result.model, "fmkit_version": __version__})}


def save_png(result: DiffuseResult, path: Path, force: bool = False) -> Path:
    """Write the image atomically (temp file + rename) with its parameters as PNG text chunks."""
    from PIL.PngImagePlugin import PngInfo

    info = PngInfo()
    for k, v in png_text(result).items():
        info.add_itxt(k, v)  # iTXt: UTF-8, so any prompt survives
    written = atomic_write(Path(path), lambda tmp: result.image.save(tmp, format="PNG", pnginfo=info), force)
    result.path = str(written)
    return written


def default_path(prompt: str, seed: int, folder: Path = Path(".")) -> Path:
    """'a red fox', seed 7 -> ./a-red-fox-7.png, or a numbered name if that exists."""
    return unique_path(folder / f"{output.slug(prompt)}-{seed}.png")
