"""`fmkit positional`: the positional encodings that tell a transformer where each token is."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from fmkit import output
from fmkit.commands.common import (DeviceOpt, ForceOpt, JsonOpt, ModelOpt, OfflineOpt, ProfileOpt, QuietOpt, SetOpt,
                                   fmkit_command, session)
from fmkit.errors import BadInput


@fmkit_command
def positional(
    length: Annotated[Optional[int], typer.Option("--length", "-n", help="Number of positions (default: the "
                                                  "profile's bert.positional_length, 50).")] = None,
    dim: Annotated[Optional[int], typer.Option("--dim", "-d", help="Encoding width, even (default: the profile's "
                                               "bert.positional_dim, 128); a model's learned embeddings have the "
                                               "model's width.")] = None,
    dims: Annotated[Optional[str], typer.Option("--dims", metavar="I,J,...",
                                                help="Also plot these dimensions against position, e.g. 4,5,6,7.")]
    = None,
    learned: Annotated[bool, typer.Option("--learned", help="Show the profile's BERT's learned position "
                                                            "embeddings (implied by --model).")] = False,
    out: Annotated[Optional[Path], typer.Option("--output", "-o", metavar="FILE.png",
                                                help="Write a PNG instead of drawing in the terminal.",
                                                rich_help_panel="Output")] = None,
    profile: ProfileOpt = None, sets: SetOpt = None, model: ModelOpt = None, device: DeviceOpt = None,
    offline: OfflineOpt = False, json_: JsonOpt = False, quiet: QuietOpt = False, force: ForceOpt = False,
) -> None:
    """Show positional encodings: the sinusoids of "Attention Is All You Need", or BERT's learned ones.

    [dim]fmkit positional --length 50 --dim 128 -o pe.png --dims 4,5,6,7
    fmkit positional --model minilm -o learned.png   (BERT learns its positions)[/dim]
    """
    from fmkit.io.local import check_writable

    if out is not None:
        if out.suffix.lower() != ".png":
            raise BadInput(f"cannot write '{out.name}': fmkit positional writes .png", "use -o FILE.png, or --json")
        check_writable(out, force)  # before any model loads
    fk = session(profile, sets, offline, device, quiet)
    if model is not None or learned:
        output.notice(f"loading {model or fk.settings.bert.model} ...", quiet or json_)
    result = fk.positional(length, dim, dims=dims, model=model, learned=learned)
    if not json_:
        for note in result.notes:
            output.notice("note: " + note, quiet)
    if out is not None:
        result.save(out, force=force)
        if json_:
            output.emit_json({k: v for k, v in result.to_dict().items() if k != "matrix"} | {"path": str(out)})
        else:
            output.stdout_console().print(f"wrote {output.escape(str(out))} [dim]({result.kind}, {result.length} "
                                          f"positions x {result.dim} dims)[/dim]", soft_wrap=True)
    elif json_:
        output.emit_json(result.to_dict())
    else:
        from fmkit.render.terminal import positional_heatmap

        console = output.stdout_console()
        console.print(positional_heatmap(result, console.width))
