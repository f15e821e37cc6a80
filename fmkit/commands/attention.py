"""`fmkit attention`: where each token looks, in the terminal, a PNG, or an offline HTML viewer."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from fmkit import output
from fmkit.commands.common import (DeviceOpt, ForceOpt, JsonOpt, ModelOpt, OfflineOpt, ProfileOpt, QuietOpt, SetOpt,
                                   fmkit_command, read_lines, session)


@fmkit_command
def attention(
    text: Annotated[str, typer.Argument(metavar="TEXT", help="The sentence to look at; '-' reads it from stdin.")],
    out: Annotated[Optional[Path], typer.Option("--output", "-o", metavar="PATH",
                                                help="Write .html (offline viewer) or .png (heatmap) instead of "
                                                     "drawing in the terminal.", rich_help_panel="Output")] = None,
    fmt: Annotated[str, typer.Option("--format", metavar="FORMAT",
                                     help="auto (from the suffix), html (fmkit's offline viewer), png, "
                                          "bertviz (bertviz head view; needs internet to display), "
                                          "bertviz-model (bertviz model view).", rich_help_panel="Output")] = "auto",
    layer: Annotated[Optional[int], typer.Option("--layer", "-l", help="Layer, counting from 0 "
                                                 "(default: the last layer).")] = None,
    head: Annotated[Optional[int], typer.Option("--head", "-H", help="Head, counting from 0 (default: head 0 in "
                                                "the terminal; every head of the layer in a PNG).")] = None,
    all_layers: Annotated[bool, typer.Option("--all", help="PNG: every layer x every head in one grid.")] = False,
    profile: ProfileOpt = None, sets: SetOpt = None, model: ModelOpt = None, device: DeviceOpt = None,
    offline: OfflineOpt = False, json_: JsonOpt = False, quiet: QuietOpt = False, force: ForceOpt = False,
) -> None:
    """Show BERT's attention for one sentence: which tokens each token looks at, per layer and head.

    [dim]fmkit attention "I read a good novel." --head 11 --model minilm
    fmkit attention "The cat sat." -o attn.html --model minilm[/dim]
    """
    from fmkit.io.local import check_writable
    from fmkit.render.attention_files import check_request, choose_format, describe

    kind = choose_format(out, fmt)
    check_request(kind, layer, head, all_layers)
    if out is not None:
        check_writable(out, force)  # before the model loads
    if text == "-":
        text = "\n".join(read_lines())
    fk = session(profile, sets, offline, device, quiet)
    output.notice(f"loading {model or fk.settings.bert.model} ...", quiet or json_)
    result = fk.attention(text, model=model)
    chosen_layer, chosen_head = result.check_layer(layer), result.check_head(head)
    if kind is not None:
        result.save(out, layer, head, format=kind, all_layers=all_layers, force=force)
        if json_:
            output.emit_json({**result.to_dict(), "path": str(out), "format": kind})
        else:
            output.stdout_console().print(f"wrote {output.escape(str(out))} "
                                          f"[dim]({describe(result, kind, layer, head, all_layers)})[/dim]",
                                          soft_wrap=True)  # a path is never broken across lines
    elif json_:
        layers = [chosen_layer] if layer is not None else list(range(result.layers))
        heads = [chosen_head] if head is not None else list(range(result.heads))
        for row in result.iter_heads(layers, heads):
            output.emit_json(row)
    else:
        from fmkit.render.terminal import attention_heatmap

        console = output.stdout_console()
        console.print(attention_heatmap(result, chosen_layer, chosen_head, console.width))
