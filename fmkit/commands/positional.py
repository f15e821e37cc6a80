"""`fmkit positional`: the positional encodings that tell a transformer where each token is."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from fmkit import output
from fmkit.commands.common import (DeviceOpt, ForceOpt, JsonOpt, ModelOpt, OfflineOpt, ProfileOpt, QuietOpt, SetOpt,
                                   fmkit_command, start)
from fmkit.errors import BadInput

TERMINAL_ROWS = 24


@fmkit_command
def positional(
    length: Annotated[int, typer.Option("--length", "-n", help="Number of positions.")] = 50,
    dim: Annotated[Optional[int], typer.Option("--dim", "-d", help="Encoding width, even \\[default: 128]; a "
                                                                  "model's learned embeddings have the model's width.")]
    = None,
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
    fmkit positional --model minilm -o learned.png   (BERT learns its positions instead)[/dim]
    """
    settings = start("bert", profile, sets, offline, model, device)
    if out is not None:
        if out.suffix.lower() != ".png":
            raise BadInput(f"cannot write '{out.name}': fmkit positional writes .png", "use -o FILE.png, or --json")
        out = output.check_writable(out, force)

    from fmkit.bert.positional import check_size, learned_positions, sinusoidal_result

    if model is not None or learned:
        from fmkit.bert.attention import load_bert

        if length <= 0:
            check_size(length, 2)
        output.notice(f"loading {settings.bert.model} ...", quiet or json_)
        bert = load_bert(settings.bert.model, settings.runtime.device, settings.runtime.dtype)
        result = learned_positions(bert, length, dims)
        if dim is not None and dim != result.dim:
            output.warn(f"--dim {dim} ignored: {result.model}'s position embeddings are {result.dim} wide")
        if not json_:
            for note in result.notes:
                output.notice("note: " + note, quiet)
    else:
        result = sinusoidal_result(length, 128 if dim is None else dim, dims)

    if out is not None:
        from fmkit.render.positional_png import figure, save_png

        fig = figure(result, settings.bert.theme)
        output.atomic_write(out, lambda tmp: save_png(fig, tmp), force)
        if json_:
            output.emit_json({k: v for k, v in result.to_dict().items() if k != "matrix"} | {"path": str(out)})
        else:
            output.stdout_console().print(f"wrote {out} [dim]({result.kind}, {result.length} positions x "
                                          f"{result.dim} dims)[/dim]")
    elif json_:
        output.emit_json(result.to_dict())
    else:
        _print(result, settings.bert.theme)


def _print(result, theme: str) -> None:
    """A terminal heatmap: the --dims columns with values, else every k-th dimension as colour."""
    from fmkit.render.terminal import heatmap

    console = output.stdout_console()
    rows = min(result.length, TERMINAL_ROWS)
    if result.dims:
        cols = result.dims
    else:
        fit = max(1, (console.width - 8) // 6)  # columns that still show their numbers
        step = -(-result.dim // fit)
        cols = list(range(0, result.dim, step))
    limit = result.scale
    caption = f"rows: positions 0-{rows - 1}" + (f" of {result.length}" if rows < result.length else "")
    caption += "; columns: dims " + (",".join(map(str, cols)) if result.dims else f"0-{result.dim - 1} every {cols[1] - cols[0] if len(cols) > 1 else 1}")
    title = ("sinusoidal positional encoding" if result.kind == "sinusoidal"
             else f"{result.model}: learned position embeddings")
    table = heatmap(result.matrix[:rows][:, cols], [""] * rows, [f"d{c}" for c in cols], title=title,
                    caption=caption + f"; light = {-limit:.2g}, dark = {limit:.2g}",
                    theme=theme, vmin=-limit, vmax=limit, width=console.width)
    console.print(table)
