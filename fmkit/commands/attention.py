"""`fmkit attention`: where each token looks, in the terminal, a PNG, or an offline HTML viewer."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from fmkit import output
from fmkit.commands.common import (DeviceOpt, ForceOpt, JsonOpt, ModelOpt, OfflineOpt, ProfileOpt, QuietOpt, SetOpt,
                                   fmkit_command, start)
from fmkit.errors import BadInput

FORMATS = ("auto", "html", "png", "bertviz", "bertviz-model")
SUFFIXES = {".html": "html", ".htm": "html", ".png": "png"}


def _format(out: Path | None, fmt: str) -> str | None:
    if fmt not in FORMATS:
        raise BadInput(f"unknown --format '{fmt}'", "one of " + ", ".join(FORMATS))
    if out is None:
        if fmt != "auto":
            raise BadInput(f"--format {fmt} writes a file", "add -o PATH")
        return None
    if fmt != "auto":
        return fmt
    found = SUFFIXES.get(out.suffix.lower())
    if found is None:
        raise BadInput(f"cannot tell the format of '{out.name}' from its suffix", "use .html or .png, or --format")
    return found


@fmkit_command
def attention(
    text: Annotated[str, typer.Argument(metavar="TEXT", help="The sentence to look at.")],
    out: Annotated[Optional[Path], typer.Option("--output", "-o", metavar="PATH",
                                                help="Write .html (offline viewer) or .png (heatmap) instead of "
                                                     "drawing in the terminal.", rich_help_panel="Output")] = None,
    fmt: Annotated[str, typer.Option("--format", metavar="FORMAT",
                                     help="auto (from the suffix), html (fmkit's offline viewer), png, "
                                          "bertviz (bertviz head view; needs internet to display), "
                                          "bertviz-model (bertviz model view).", rich_help_panel="Output")] = "auto",
    layer: Annotated[Optional[int], typer.Option("--layer", "-l", help="Layer, counting from 0 "
                                                 "\\[default: the last layer].")] = None,
    head: Annotated[Optional[int], typer.Option("--head", "-H", help="Head, counting from 0 \\[default: head 0 in "
                                                "the terminal; every head of the layer in a PNG].")] = None,
    all_layers: Annotated[bool, typer.Option("--all", help="PNG: every layer x every head in one grid.")] = False,
    profile: ProfileOpt = None, sets: SetOpt = None, model: ModelOpt = None, device: DeviceOpt = None,
    offline: OfflineOpt = False, json_: JsonOpt = False, quiet: QuietOpt = False, force: ForceOpt = False,
) -> None:
    """Show BERT's attention for one sentence: which tokens each token looks at, per layer and head.

    [dim]fmkit attention "I read a good novel." --head 11     (last layer, head 11, in the terminal)
    fmkit attention "The cat sat on the mat." -o attn.html  (offline viewer: every layer and head)[/dim]
    """
    settings = start("bert", profile, sets, offline, model, device)
    if not text.strip():
        raise BadInput("the text is empty", "give a sentence to look at")
    for name, value in (("--layer", layer), ("--head", head)):
        if value is not None and value < 0:
            raise BadInput(f"{name} {value} is negative", "layers and heads count from 0")
    kind = _format(out, fmt)
    if all_layers and kind not in ("png", None):
        raise BadInput("--all draws a PNG grid", "use -o FILE.png, or leave --all out (the HTML shows every head)")
    if out is not None:
        out = output.check_writable(out, force)

    from fmkit.bert.attention import compute_attention, load_bert

    output.notice(f"loading {settings.bert.model} ...", quiet or json_)
    bert = load_bert(settings.bert.model, settings.runtime.device, settings.runtime.dtype)
    result = compute_attention(bert, text, settings.bert.attention_max_tokens)
    chosen_layer = result.check_layer(layer)
    chosen_head = result.check_head(head)
    for note in result.notes:
        output.warn(note)
    theme = settings.bert.theme

    if kind is None:
        if json_:
            layers = [chosen_layer] if layer is not None else list(range(result.layers))
            heads = [chosen_head] if head is not None else list(range(result.heads))
            for row in result.iter_heads(layers, heads):
                output.emit_json(row)
        else:
            _print_head(result, chosen_layer, chosen_head, theme)
        return

    if kind == "html":
        from fmkit.render.attention_html import render_html

        output.atomic_write(out, render_html(result, chosen_layer, chosen_head, theme), force)
    elif kind in ("bertviz", "bertviz-model"):
        from fmkit.render.bertviz import bertviz_html

        page = bertviz_html(result, "model" if kind == "bertviz-model" else "head", chosen_layer, head, theme)
        output.atomic_write(out, page, force)
    else:
        from fmkit.render.attention_png import grid_figure, head_figure, save_png

        if all_layers:
            fig = grid_figure(result, list(range(result.layers)), theme)
        elif head is not None:
            fig = head_figure(result, chosen_layer, chosen_head, theme)
        else:
            fig = grid_figure(result, [chosen_layer], theme)
        output.atomic_write(out, lambda tmp: save_png(fig, tmp), force)
    if json_:
        output.emit_json({**result.summary(), "path": str(out), "format": kind})
    else:
        output.stdout_console().print(f"wrote {out} [dim]({kind}, {result.layers} layers x {result.heads} heads, "
                                      f"{len(result.tokens)} tokens)[/dim]")


def _print_head(result, layer: int, head: int, theme: str) -> None:
    from rich.markup import escape

    from fmkit.render.terminal import heatmap

    console = output.stdout_console()
    table = heatmap(result.attentions[layer, head], result.tokens, result.tokens,
                    title=f"{escape(result.model)}: layer {layer} (of 0-{result.layers - 1}), head {head} "
                          f"(of 0-{result.heads - 1})",
                    caption="rows attend to columns (each row sums to 1)",
                    theme=theme, width=console.width)
    console.print(table)
