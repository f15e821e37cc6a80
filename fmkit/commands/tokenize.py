"""`fmkit tokenize`: the tokens, ids and character spans BERT sees for a text."""

from __future__ import annotations

import sys
from typing import Annotated, Optional

import typer

from fmkit import output
from fmkit.commands.common import (DeviceOpt, JsonOpt, ModelOpt, OfflineOpt, ProfileOpt, QuietOpt, SetOpt,
                                   fmkit_command, iter_texts, start)
from fmkit.errors import BadInput

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
    settings = start("bert", profile, sets, offline, model, device)
    if pair is not None and not pair.strip():
        raise BadInput("the --pair text is empty", "give a non-empty second sentence, or leave --pair out")
    from fmkit.bert.tokenizer import load_tokenizer, tokenize_batches

    tok = load_tokenizer(settings.bert.model)
    batches = tokenize_batches(tok, iter_texts(texts), pair, special, settings.bert.tokenize_batch_size)
    truncated = 0
    try:
        for batch in batches:
            for i in batch.truncated:
                truncated += 1
                if truncated <= MAX_TRUNCATION_WARNINGS:
                    output.warn(f"{output.preview(batch.texts[i])!r} truncated at {tok.max_length} tokens (model maximum)")
            if json_:
                from fmkit.bert.tokens_json import json_lines

                sys.stdout.write(json_lines(tok, batch))
                sys.stdout.flush()
            else:
                for item in batch.items():
                    _print_table(item)
    except UnicodeDecodeError:
        raise BadInput("stdin is not UTF-8 text", "convert it first, e.g. iconv -t UTF-8") from None
    if truncated > MAX_TRUNCATION_WARNINGS:
        output.warn(f"{truncated} texts in all were truncated at {tok.max_length} tokens")


def _print_table(item) -> None:
    """One rich table per text: the people view of a Tokenized result."""
    from rich.markup import escape
    from rich.table import Table

    kinds = item.continuation
    t = Table(title=escape(item.text) + (f"  [dim]+[/dim]  {escape(item.pair)}" if item.pair is not None else ""),
              title_justify="left", caption=f"{item.model}: {len(item.ids)} tokens"
              + (" [yellow](truncated at the model's maximum length)[/yellow]" if item.truncated else ""),
              caption_justify="left")
    t.add_column("#", justify="right", style="dim")
    t.add_column("token", style="bold")
    t.add_column("id", justify="right")
    t.add_column("span", justify="right", style="dim")
    t.add_column("text")
    if item.segments is not None:
        t.add_column("segment", justify="right")
    t.add_column("kind")
    for i, (token, tid, (a, b), sp) in enumerate(zip(item.tokens, item.ids, item.offsets, item.special)):
        kind = "[magenta]special[/magenta]" if sp else ("[cyan]## continuation[/cyan]" if kinds[i] else "word")
        row = [str(i), escape(token), str(tid), "" if sp else f"{a}:{b}", escape(item.span_text(i))]
        if item.segments is not None:
            row.append(str(item.segments[i]))
        t.add_row(*row, kind)
    output.stdout_console().print(t)
