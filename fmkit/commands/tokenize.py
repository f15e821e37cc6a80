"""`fmkit tokenize`: the tokens, ids and character spans BERT sees for a text."""

from __future__ import annotations

import sys
from typing import Annotated, Optional

import typer

from fmkit import output
from fmkit.commands.common import (DeviceOpt, JsonOpt, ModelOpt, OfflineOpt, ProfileOpt, QuietOpt, SetOpt,
                                   fmkit_command, iter_texts, session)

MAX_TRUNCATION_WARNINGS = 3


@fmkit_command
def tokenize(
    texts: Annotated[list[str], typer.Argument(metavar="TEXT...",
                                               help="Texts to tokenize; '-' reads one text per line from stdin.")],
    pair: Annotated[Optional[str], typer.Option("--pair", metavar="TEXT",
                                                help="Second sentence: shows segment ids (0 = TEXT, 1 = pair).")] = None,
    special: Annotated[bool, typer.Option("--special/--no-special",
                                          help="Add the model's special tokens ([CLS] ... [SEP]).")] = True,
    profile: ProfileOpt = None, sets: SetOpt = None, model: ModelOpt = None, device: DeviceOpt = None,
    offline: OfflineOpt = False, json_: JsonOpt = False, quiet: QuietOpt = False,
) -> None:
    """Show how BERT splits text: position, token, id, character span, special or ## continuation.

    [dim]Example: fmkit tokenize "I read a good novel." --model minilm[/dim]
    """
    fk = session(profile, sets, offline, device, quiet)
    batches = fk.iter_tokenize(iter_texts(texts), model=model, pair=pair, special=special)
    truncated = 0
    for batch in batches:
        for i in batch.truncated:
            truncated += 1
            if truncated <= MAX_TRUNCATION_WARNINGS:
                output.warn(f"{output.preview(batch.texts[i])!r} truncated at {batch.max_length} tokens (model maximum)")
        if json_:
            from fmkit.bert.tokens_json import json_lines

            sys.stdout.write(json_lines(batch))
            sys.stdout.flush()
        else:
            from fmkit.render.terminal import tokens_table

            for item in batch.items():
                output.stdout_console().print(tokens_table(item))
    if truncated > MAX_TRUNCATION_WARNINGS:
        output.warn(f"{truncated} texts in all were truncated at the model's maximum length")
