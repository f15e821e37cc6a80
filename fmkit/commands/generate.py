"""`fmkit generate`: continue prompts with GPT-2 (or answer them with a chat or text-to-text model),
streaming the text as it comes."""

from __future__ import annotations

import sys
import time
from typing import Annotated, Optional

import typer

from fmkit import output
from fmkit.commands.common import (DeviceOpt, JsonOpt, ModelOpt, OfflineOpt, ProfileOpt, QuietOpt, SeedOpt, SetOpt,
                                   fmkit_command, iter_texts, session)

DECODING = "Decoding"


@fmkit_command
def generate(
    prompts: Annotated[list[str], typer.Argument(metavar="PROMPT...",
                                                 help="Text to continue; '-' reads one prompt per line from stdin.")],
    max_new_tokens: Annotated[Optional[int], typer.Option(
        "--max-new-tokens", "-n", help="How many tokens to generate per prompt (default: the profile's).",
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
        "--truncate", help="Cut a prompt longer than the model's context instead of failing (a causal model keeps "
                           "its end, a text-to-text model like FLAN-T5 its start).")] = False,
    stream: Annotated[bool, typer.Option(
        "--stream/--no-stream", help="Print tokens as they are generated, or each text when it is done.",
        rich_help_panel="Output")] = True,
    profile: ProfileOpt = None, sets: SetOpt = None, model: ModelOpt = None, device: DeviceOpt = None,
    offline: OfflineOpt = False, json_: JsonOpt = False, quiet: QuietOpt = False,
) -> None:
    """Continue text with GPT-2, or answer it with a chat or text-to-text model, token by token.

    [dim]fmkit generate "Star Trek" --seed 1
    cat prompts.txt | fmkit generate - --json[/dim]
    """
    fk = session(profile, sets, offline, device, quiet)
    live = stream and not json_
    run = fk.iter_generate(iter_texts(prompts, "prompt"), model=model, seed=seed, greedy=greedy, truncate=truncate,
                           stream=live, max_new_tokens=max_new_tokens, temperature=temperature, top_k=top_k,
                           top_p=top_p, repetition_penalty=repetition_penalty,
                           num_return_sequences=num_return_sequences)
    several = run.params.num_return_sequences > 1
    try:
        _show(run, json_, several, quiet)
    except KeyboardInterrupt:
        if live:
            _write("\n")  # the terminal (or the log) is left on a clean line
        raise


def _show(run, json_: bool, several: bool, quiet: bool) -> None:
    """Text as it streams (Piece), each finished sequence (Generation), then the summary line."""
    from fmkit.generate.decode import Generation, Piece

    started = time.perf_counter()
    count = tokens = 0
    showing = None  # (index, sequence) of the text on screen
    for event in run:
        if isinstance(event, Piece):
            if event.first:
                _write(("\n" if count else "") + _heading(event, several) + event.prompt + _between(run))
                showing = (event.index, event.sequence)
            _write(event.text)
        elif isinstance(event, Generation):
            count, tokens = count + 1, tokens + event.new_tokens
            if json_:
                output.emit_json(event.to_dict())
            elif showing == (event.index, event.sequence):
                _write("\n")
            else:
                _write(("\n" if count > 1 else "") + _heading(event, several) + event.prompt + _between(run)
                       + event.text + "\n")
    if count:
        rate = tokens / (time.perf_counter() - started)
        output.notice(f"{count} text{'s' if count > 1 else ''}, {tokens} new tokens, {rate:.1f} tokens/s, "
                      f"{run.model} ({run.weights}), seed {run.seed}", quiet)


def _between(run) -> str:
    """Nothing between a prompt and its continuation (GPT-2); an answer starts on its own line."""
    return "" if run.continues_prompt else "\n"


def _heading(event, several: bool) -> str:
    """Only when a prompt has several sequences: which one follows."""
    return f"[{event.index + 1}.{event.sequence + 1}] " if several else ""


def _write(text: str) -> None:
    sys.stdout.write(text)
    sys.stdout.flush()
