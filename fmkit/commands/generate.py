"""`fmkit generate`: continue prompts with a GPT-2-family model, streaming the text as it comes."""

from __future__ import annotations

import sys
import time
from typing import Annotated, Optional

import typer

from fmkit import output
from fmkit.commands.common import (DeviceOpt, JsonOpt, ModelOpt, OfflineOpt, ProfileOpt, QuietOpt, SeedOpt, SetOpt,
                                   fmkit_command, iter_texts, start)

DECODING = "Decoding"


@fmkit_command
def generate(
    prompts: Annotated[list[str], typer.Argument(metavar="PROMPT...",
                                                 help="Text to continue; '-' reads one prompt per line from stdin.")],
    max_new_tokens: Annotated[Optional[int], typer.Option(
        "--max-new-tokens", "-n", help="Tokens to generate per prompt (default: the profile's).",
        rich_help_panel=DECODING)] = None,
    temperature: Annotated[Optional[float], typer.Option(
        help="Sampling temperature, > 0; lower is more conservative.", rich_help_panel=DECODING)] = None,
    top_k: Annotated[Optional[int], typer.Option(
        help="Sample among the k most likely tokens; 0 = no limit.", rich_help_panel=DECODING)] = None,
    top_p: Annotated[Optional[float], typer.Option(
        help="Nucleus sampling: the smallest set of tokens with this much probability, in (0, 1].",
        rich_help_panel=DECODING)] = None,
    repetition_penalty: Annotated[Optional[float], typer.Option(
        help="> 1 discourages repeating tokens; 1 = off.", rich_help_panel=DECODING)] = None,
    num_return_sequences: Annotated[Optional[int], typer.Option(
        "--num-return-sequences", "-r", help="Sequences per prompt.", rich_help_panel=DECODING)] = None,
    greedy: Annotated[bool, typer.Option(
        "--greedy", help="Always take the most likely token (deterministic, no sampling).",
        rich_help_panel=DECODING)] = False,
    seed: SeedOpt = None,
    truncate: Annotated[bool, typer.Option(
        "--truncate", help="Keep the end of a prompt longer than the model's context instead of failing.")] = False,
    stream: Annotated[bool, typer.Option(
        "--stream/--no-stream", help="Print tokens as they are generated, or each text when it is done.",
        rich_help_panel="Output")] = True,
    profile: ProfileOpt = None, sets: SetOpt = None, model: ModelOpt = None, device: DeviceOpt = None,
    offline: OfflineOpt = False, json_: JsonOpt = False, quiet: QuietOpt = False,
) -> None:
    """Continue text with a GPT-2-family model, token by token.

    [dim]fmkit generate "Star Trek" --seed 1[/dim]   ·   [dim]cat prompts.txt | fmkit generate - --json[/dim]
    """
    settings = start("generate", profile, sets, offline, model, device, options={
        "max_new_tokens": max_new_tokens, "temperature": temperature, "top_k": top_k, "top_p": top_p,
        "repetition_penalty": repetition_penalty, "num_return_sequences": num_return_sequences,
        "do_sample": False if greedy else None})

    from fmkit.generate.decode import Generation, GenerationParams, Notice, Piece, TextGenerator

    params = GenerationParams.from_settings(settings, seed)
    texts = iter_texts(prompts, "prompt")
    first = next(texts, None)  # an empty argument fails here, before the model loads
    if first is None:
        return
    generator = TextGenerator(settings)
    started = time.perf_counter()
    live = stream and not json_
    count = tokens = 0
    showing = None  # (index, sequence) of the text on screen
    for event in generator.run(_chain(first, texts), params, truncate=truncate, stream=live):
        if isinstance(event, Notice):
            output.notice(event.message, quiet)
        elif isinstance(event, Piece):
            if event.first:
                _write(("\n" if count else "") + _heading(event.index, event.sequence, params) + event.prompt)
                showing = (event.index, event.sequence)
            _write(event.text)
        elif isinstance(event, Generation):
            count, tokens = count + 1, tokens + event.new_tokens
            if json_:
                output.emit_json(event.to_dict())
            elif showing == (event.index, event.sequence):
                _write("\n")
            else:
                _write(("\n" if count > 1 else "") + _heading(event.index, event.sequence, params)
                       + event.prompt + event.text + "\n")
    if count:
        rate = tokens / (time.perf_counter() - started)
        output.notice(f"{count} text{'s' if count > 1 else ''}, {tokens} new tokens, {rate:.1f} tokens/s, "
                      f"{generator.model_name} ({generator.weights}), seed {params.seed}", quiet)


def _chain(first: str, rest):
    yield first
    yield from rest


def _heading(index: int, sequence: int, params) -> str:
    """Only when a prompt has several sequences: which one follows."""
    if params.num_return_sequences > 1:
        return f"[{index + 1}.{sequence + 1}] "
    return ""


def _write(text: str) -> None:
    sys.stdout.write(text)
    sys.stdout.flush()
