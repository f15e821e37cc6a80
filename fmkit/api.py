"""`fmkit.Session`: the one library under every front end (CLI, notebooks, the agent, the cluster).

    import fmkit
    fk = fmkit.Session(profile="laptop", offline=True, set={"detect.conf": 0.4})
    fk.tokenize("I read a good novel.", model="minilm")
    fk.attention("I read a good novel.", model="minilm").show(layer=5, head=11)
    fk.generate("Star Trek", max_new_tokens=40, seed=1)
    fk.diffuse("a cat", seed=7)[0].image
    for result in fk.detect("photos/"): ...
    for result in fk.segment("bus.jpg", from_detections=True): ...

A Session prepares the environment once (offline mode, quiet libraries), resolves settings
with the one precedence chain (defaults < profile < FMKIT_* environment < `set=` < keyword
arguments), keeps loaded models for its lifetime, and owns the loops (batching, watching,
writing outputs, out-of-memory fallback). Keyword arguments that name profile keys of the
lesson's section (`conf=0.4` for detect, `steps=2` for diffuse) are validated exactly like
`--set`: a typo raises ProfileError with the closest valid name. Library code never prints
to stdout and never exits; notes go to `notify` (default: the "fmkit" logger, which shows
warnings on stderr in scripts and notebooks).
"""

from __future__ import annotations

import functools
import logging
import uuid
from pathlib import Path
from typing import Any, Callable, ContextManager, Iterable, Iterator, Mapping

from fmkit import catalog, environment
from fmkit.errors import BadInput
from fmkit.options import option
from fmkit.api_setup import SetupMethods
from fmkit.profiles import Settings, load_settings

log = logging.getLogger("fmkit")

Progress = Callable[[str, int], ContextManager[Callable[[int], None]]]


def _log_notice(message: str) -> None:
    log.warning(message)


def _on_behalf(method: Callable) -> Callable:
    """Run a Session method with the catalog knowing whose models it loads and whom to tell
    (fmkit/catalog/context.py); runs that load later keep this context (contextvars)."""
    @functools.wraps(method)
    def wrapper(self: "Session", *args: Any, **kwargs: Any) -> Any:
        with catalog.on_behalf_of(self._owner, self.notify):
            return method(self, *args, **kwargs)

    return wrapper


def _texts(texts: str | Iterable[str], what: str, example: str = "") -> Iterator[str]:
    """One text or many; an empty one is a usage error. The one place texts are checked: lessons
    below the Session take them as given (the CLI's '-' is expanded before this)."""
    for text in [texts] if isinstance(texts, str) else texts:
        yield _text(text, what, example)


def _text(text: Any, what: str, example: str = "") -> str:
    if not isinstance(text, str):
        raise BadInput(f"each {what} must be text, got {type(text).__name__}", "pass a str or a list of str")
    if not text.strip():
        raise BadInput(f"the {what} is empty", f"give a non-empty {what}" + (f", e.g. {example!r}" if example else ""))
    return text


class Session(SetupMethods):
    """Settings, loaded models and the lesson loops, shared by every front end (see the module docstring)."""

    def __init__(self, profile: str | None = None, *, offline: bool | None = None,
                 set: Mapping[str, Any] | Iterable[str] | None = None, device: str | None = None,
                 notify: Callable[[str], None] | None = None, option_source: str = "keyword argument"):
        environment.prepare(offline=offline)
        self.profile = profile
        self._sets = dict(set) if isinstance(set, Mapping) else list(set or ())
        self.device = device
        self.notify = notify or _log_notice
        self.option_source = option_source
        self._owner = f"session-{uuid.uuid4().hex[:8]}"  # whose models these are (close() forgets them)
        self.settings = self.settings_for()  # a typo'd profile or key fails here, at once

    def __repr__(self) -> str:
        return f"fmkit.Session(profile={self.settings.profile!r}, device={self.settings.runtime.device!r})"

    def settings_for(self, section: str | None = None, model: str | None = None,
                     options: Mapping[str, Any] | None = None) -> Settings:
        """This session's settings with one call's model and options on top (validated)."""
        explicit: dict[str, Any] = {f"{section}.{k}": v for k, v in (options or {}).items()} if section else {}
        if section:
            explicit[f"{section}.model"] = str(model) if model is not None else None
        explicit["runtime.device"] = self.device
        return load_settings(self.profile, self._sets, explicit, option_source=self.option_source)

    def close(self) -> None:
        """Forget the models this Session loaded (freed once no other Session uses them)."""
        catalog.release(self._owner)

    def __enter__(self) -> "Session":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def model_map(self, lang: str = "en") -> list:
        """Every model family the course names: foundation or base model and why, open or API only,
        and how to try it here, its aliases joined with this machine (`fmkit models --map`; MapRow
        objects, words in `lang`: en | ko). Never touches the network."""
        from fmkit.model_map import model_map

        return model_map(lang)

    # --- How BERT reads text --------------------------------------------------------------

    @_on_behalf
    def tokenize(self, text: str, *, model: str | None = None, pair: str | None = None, special: bool = True,
                 **options: Any):
        """One text -> TokenizeResult (tokens, ids, character spans, special and ## pieces)."""
        return next(iter(self.iter_tokenize([text], model=model, pair=pair, special=special, **options))).items()[0]

    @_on_behalf
    def iter_tokenize(self, texts: Iterable[str], *, model: str | None = None, pair: str | None = None,
                      special: bool = True, **options: Any):
        """Many texts, streamed in batches of `bert.tokenize_batch_size` (TokenBatch objects)."""
        from fmkit.bert.tokenizer import load_tokenizer, tokenize_batches

        settings = self.settings_for("bert", model, options)
        if pair is not None:
            _text(pair, "pair text", "It was tired.")
        tok = load_tokenizer(settings.bert.model)
        return tokenize_batches(tok, _texts(texts, "text"), pair, special, settings.bert.tokenize_batch_size)

    @_on_behalf
    def attention(self, text: str, *, model: str | None = None, **options: Any):
        """Run BERT once on `text` -> AttentionResult with every layer's and head's attention."""
        from fmkit.bert.attention import compute_attention, load_bert

        settings = self.settings_for("bert", model, options)
        _text(text, "text", "I read a good novel.")
        bert = load_bert(settings.bert.model, settings.runtime.device, settings.runtime.dtype)
        result = compute_attention(bert, text, settings.bert.attention_max_tokens)
        result.theme = settings.bert.theme
        for note in result.notes:
            self.notify(note)
        return result

    @_on_behalf
    def positional(self, length: int | None = None, dim: int | None = None, *, dims: str | list[int] | None = None,
                   model: str | None = None, learned: bool = False, **options: Any):
        """The sinusoidal encoding (length x dim), or with `model`/`learned` BERT's learned one."""
        from fmkit.bert.positional import learned_positions, sinusoidal_result

        settings = self.settings_for("bert", model, {**options, "positional_length": length,
                                                     "positional_dim": dim})
        b = settings.bert
        dims_text = ",".join(map(str, dims)) if isinstance(dims, (list, tuple)) else dims
        if model is not None or learned:
            from fmkit.bert.attention import load_bert

            bert = load_bert(b.model, settings.runtime.device, settings.runtime.dtype)
            result = learned_positions(bert, b.positional_length, dims_text)
            if dim is not None and dim != result.dim:
                self.notify(f"--dim {dim} ignored: {result.model}'s position embeddings are {result.dim} wide")
        else:
            result = sinusoidal_result(b.positional_length, b.positional_dim, dims_text)
        result.theme = b.theme
        return result

    # --- How GPT-2 writes ------------------------------------------------------------------

    @_on_behalf
    def generate(self, prompts: str | Iterable[str], *, model: str | None = None, seed: int | None = None,
                 greedy: bool = False, truncate: bool = False, stream: bool = False, **options: Any):
        """Continue each prompt -> list of Generation (in input order). With `stream=True`, yields
        the new text piece by piece instead (one prompt at a time, as the terminal shows it)."""
        from fmkit.generate.decode import Generation, Piece

        run = self.iter_generate(prompts, model=model, seed=seed, greedy=greedy, truncate=truncate,
                                 stream=stream, **options)
        if stream:
            return (event.text for event in run if isinstance(event, Piece))
        return [event for event in run if isinstance(event, Generation)]

    @_on_behalf
    def iter_generate(self, prompts: str | Iterable[str], *, model: str | None = None, seed: int | None = None,
                      greedy: bool = False, truncate: bool = False, stream: bool = False, **options: Any):
        """GenerateRun: iterate for Piece (when streaming) and Generation events; notices go to notify."""
        from fmkit.generate.run import GenerateRun

        if greedy:
            options["do_sample"] = False
        settings = self.settings_for("generate", model, options)
        return GenerateRun(settings, _texts(prompts, "prompt"), seed=seed, truncate=truncate, stream=stream,
                           notify=self.notify)

    # --- How Stable Diffusion paints -------------------------------------------------------

    @_on_behalf
    def diffuse(self, prompts: str | Iterable[str], *, model: str | None = None, seed: int | None = None,
                negative_prompt: str | None = None, save: bool | str | Path = False, force: bool = False,
                progress: Progress | None = None, **options: Any) -> list:
        """Draw each prompt -> list of DiffuseResult (`.image` is a PIL image). `save=True` writes
        PROMPT-SEED.png files here, `save="fox.png"` that name (fox-2.png, ... for more images)."""
        return list(self.iter_diffuse(prompts, model=model, seed=seed, negative_prompt=negative_prompt, save=save,
                                      force=force, progress=progress, **options))

    @_on_behalf
    def iter_diffuse(self, prompts: str | Iterable[str], *, model: str | None = None, seed: int | None = None,
                     negative_prompt: str | None = None, save: bool | str | Path = False, force: bool = False,
                     progress: Progress | None = None, **options: Any):
        """The same as `diffuse`, one result at a time as each is rendered (and saved)."""
        from fmkit.diffuse.run import DiffuseRun

        settings = self.settings_for("diffuse", model, options)
        return DiffuseRun(settings, _texts(prompts, "prompt"), seed=seed, negative_prompt=negative_prompt,
                          save=save, force=force, progress=progress, notify=self.notify)

    # --- How YOLO sees ---------------------------------------------------------------------

    @_on_behalf
    def detect(self, sources: str | Path | Iterable[str | Path] | None = None, *, model: str | None = None,
               output: str | Path | None = None, recursive: bool = False, watch: str | Path | None = None,
               interval: float = 0.5, max_polls: int | None = None, save_txt: bool = False, coco: bool = False,
               classes: str | list | None = None, force: bool = False, store_options: dict | None = None,
               on_written: Callable | None = None, cluster: str | None = None, progress: Progress | None = None,
               **options: Any):
        """Detect objects -> DetectRun, an iterator of DetectResult in input order. Sources: files,
        folders, globs, `s3://` URIs; `output` writes annotated images and one JSON per image.
        `cluster` (default: the profile's cluster.address): a Dask scheduler `tcp://host:8786` or
        `local:N`; the run is spread over its workers (fmkit/cluster), results in the order they finish."""
        from fmkit.detect.run import DetectRun

        if isinstance(sources, (str, Path)):
            sources = [sources]
        sources = [str(s) for s in sources] if sources is not None else []
        settings = self.settings_for("detect", model, options)
        address, executor = (settings.cluster.address if cluster is None else cluster).strip(), None
        if address:  # the cluster is an executor the run plugs in (checked here, before anything is made)
            from fmkit.cluster import cluster_executor

            executor = cluster_executor(settings, address, cluster is not None, sources=sources,
                                        output=None if output is None else str(output),
                                        watch=None if watch is None else str(watch), coco=coco)
        return DetectRun(settings, sources, output=output, recursive=recursive, watch=watch, interval=interval,
                         max_polls=max_polls, save_txt=save_txt, coco=coco, classes=classes, force=force,
                         store_options=store_options, notify=self.notify, on_written=on_written,
                         executor=executor, progress=progress)

    # --- How Segment Anything cuts out ------------------------------------------------------

    @_on_behalf
    def segment(self, sources: str | Path | Iterable[str | Path] | None = None, *, model: str | None = None,
                points: Any = None, boxes: Any = None, from_detections: bool = False, detect_model: str | None = None,
                classes: str | list | None = None, output: str | Path | None = None, recursive: bool = False, watch: str | Path | None = None,
                interval: float = 0.5, max_polls: int | None = None, coco: bool = False, cutout: bool = False,
                force: bool = False, store_options: dict | None = None, on_written: Callable | None = None,
                **options: Any):
        """Cut objects out with Segment Anything -> SegmentRun, an iterator of SegmentResult in input
        order. `points` ('x,y' or (x, y), one or a list) and `boxes` ('x1,y1,x2,y2' or a 4-tuple)
        each get one mask on every image; `from_detections=True` prompts with the boxes the
        detector (detect.model, or `detect_model`) finds in each image (only `classes`, e.g.
        "person", when given); no prompt segments everything. Sources and `output` as for `detect`."""
        from fmkit.segment.prompts import Box, Detections, parse_prompts
        from fmkit.segment.run import SegmentRun

        if isinstance(sources, (str, Path)):
            sources = [sources]
        settings = self.settings_for("segment", model, options)
        prompts = parse_prompts(points, boxes)  # bad text is a usage error before any model loads
        detections = None
        if not from_detections and (detect_model or classes):
            given = option("detect_model", detect_model) if detect_model else option("classes", classes)
            raise BadInput(f"{given} picks the detector's boxes, but SAM is not prompted with them",
                           f"add {option('from_detections')}")
        if from_detections:  # the base model points, the foundation model cuts out: through detect()
            found = self.settings_for("detect", detect_model).detect
            said: set[str] = set()
            notify = self.notify

            def once(message: str) -> None:  # a detector's notes are said once, not once per image
                if message not in said:
                    said.add(message)
                    notify(message)

            def find(source) -> list | str:
                self.notify = once
                try:
                    (result,) = list(self.detect([source.uri], model=detect_model, classes=classes,
                                                 store_options=store_options, cluster=""))
                finally:
                    self.notify = notify
                return result.error or [Box(d.x1, d.y1, d.x2, d.y2, d.label, d.confidence) for d in result.detections]

            key = {"model": found.model, "conf": found.conf, "iou": found.iou, "imgsz": found.imgsz,
                   "max_det": found.max_det, "half": found.half, "classes": classes}  # what decides the boxes
            detections = Detections(f"{found.model} (conf {found.conf})", find, found.conf, key)
        return SegmentRun(settings, [str(s) for s in sources] if sources is not None else [], prompts=prompts,
                          detections=detections, output=output, recursive=recursive, watch=watch, interval=interval,
                          max_polls=max_polls, coco=coco, cutout=cutout, force=force, store_options=store_options,
                          notify=self.notify, on_written=on_written)

    # --- Vision + language: describe, imagine --verify, agent -------------------------------

    @_on_behalf
    def describe(self, sources: str | Path | Iterable[str | Path], *, style: str = "caption",
                 chat_model: str | None = None, model: str | None = None, **options: Any):
        """Detect, build a scene (labels, counts, places, sizes) and let the chat model
        (`agent.model`) write about it -> iterator of DescribeResult. The text never names an
        object the detector did not report (else a template sentence is used)."""
        from fmkit.agent.describe import STYLES, describe

        if style not in STYLES:
            raise BadInput(f"unknown style '{style}'", f"one of {', '.join(STYLES)}")
        if isinstance(sources, (str, Path)):
            sources = [sources]
        sources = [_text(str(s), "image path", "photo.jpg") for s in sources]  # '' is a usage error, not a missing file
        return describe(self, sources, style=style, chat_model=chat_model, notify=self.notify,
                        model=model, **options)

    @_on_behalf
    def imagine(self, prompt: str, *, verify: bool = True, attempts: int | None = None, seed: int | None = None,
                save: bool | str | Path = False, force: bool = False, model: str | None = None,
                detect_model: str | None = None, progress: Progress | None = None, on_attempt: Callable | None = None,
                **options: Any):
        """Diffuse `prompt`; with `verify`, detect on each image, compare with the objects and
        counts the prompt asks for, retry with new seeds up to `attempts`, keep the best ->
        ImagineResult (`.passed`, `.check()`, `.image`, `.path`)."""
        from fmkit.agent.verify import imagine

        _text(prompt, "prompt", "two cats and a dog")
        detect_options = {"model": detect_model} if detect_model else {}
        return imagine(self, prompt, verify=verify, attempts=attempts, seed=seed, save=save, force=force,
                       notify=self.notify, on_attempt=on_attempt, detect_options=detect_options,
                       progress=progress, model=model, **options)

    @_on_behalf
    def agent(self, request: str, files: Iterable[str | Path] | None = None, *, dry_run: bool = False,
              chat_model: str | None = None, seed: int | None = None):
        """English or Korean request -> the chat model picks a tool (a Session method) and its
        arguments under a JSON schema -> the tool runs -> AgentResult (plan, result, answer)."""
        from fmkit.agent.run import run_agent

        _text(request, "request", "draw me a cat")
        return run_agent(self, request, [str(f) for f in files or []], dry_run=dry_run, chat_model=chat_model,
                         seed=seed, notify=self.notify)
