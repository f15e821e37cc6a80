"""`fmkit gallery`: write the results page of a detect OUTDIR (and the images diffuse painted)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from fmkit import output
from fmkit.commands.common import ForceOpt, JsonOpt, QuietOpt, fmkit_command


@fmkit_command
def gallery(
    results: Annotated[str, typer.Argument(metavar="RESULTS", show_default=False,
                                           help="The OUTDIR of `fmkit detect -o OUTDIR` (or a folder of fmkit diffuse PNGs).")],
    out: Annotated[Optional[Path], typer.Option("--output", "-o", metavar="DIR", rich_help_panel="Output",
                                                help="Write index.html and manifest.js here (default: into RESULTS, so one folder is the whole site).")] = None,
    lang: Annotated[str, typer.Option("--lang", metavar="en|ko", help="Language of every word on the page.")] = "en",
    presign: Annotated[Optional[int], typer.Option("--presign", metavar="SECONDS",
                                                   help="For a private s3:// bucket: presigned image links valid this long (at most 604800, 7 days).")] = None,
    force: ForceOpt = False, json_: JsonOpt = False, quiet: QuietOpt = False,
) -> None:
    """Write a web page of the results: boxes you can filter by label and confidence, counts per
    label, least-certain-first review, prompts of generated images.

    [b]fmkit gallery results/[/b]  ·  [b]fmkit gallery results/ --lang ko[/b]  ·  [b]python -m http.server -d results[/b]
    """
    from fmkit.gallery import build_gallery

    summary = build_gallery(results, out, lang=lang, presign=presign, force=force)
    if json_:
        output.emit_json(summary.to_dict())
    elif not quiet:
        problems = f", {summary.problems} with problems" if summary.problems else ""
        output.stdout_console().print(
            f"{summary.index}: {summary.results} results, {summary.boxes} boxes, {len(summary.labels)} labels{problems}",
            markup=False, highlight=False, soft_wrap=True)
