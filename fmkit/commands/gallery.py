"""`fmkit gallery`: write the results page of a detect or segment OUTDIR, local or in a bucket
(and the images diffuse painted)."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from fmkit import output
from fmkit.commands.common import ForceOpt, JsonOpt, QuietOpt, fmkit_command


@fmkit_command
def gallery(
    results: Annotated[str, typer.Argument(metavar="RESULTS", show_default=False,
                                           help="The OUTDIR of `fmkit detect -o OUTDIR` or `fmkit segment -o OUTDIR`: a folder or s3://BUCKET/PREFIX/ "
                                                "(or a folder of fmkit diffuse PNGs).")],
    out: Annotated[Optional[str], typer.Option("--output", "-o", metavar="DIR", rich_help_panel="Output",
                                               help="Write index.html, manifest.js and stamp.js here (default: into "
                                                    "RESULTS, so one folder or prefix is the whole site).")] = None,
    lang: Annotated[str, typer.Option("--lang", metavar="en|ko", help="Language of every word on the page.")] = "en",
    presign: Annotated[Optional[int], typer.Option("--presign", metavar="SECONDS", rich_help_panel="Bucket",
                                                   help="For s3:// RESULTS and a page in -o DIR: presigned image links "
                                                        "valid this long (1-604800, 7 days); the page says when they expire.")] = None,
    public_url_base: Annotated[Optional[str], typer.Option(
        "--public-url-base", metavar="URL", rich_help_panel="Bucket",
        help="For s3:// RESULTS readable by anyone and a page in -o DIR: the URL RESULTS is served at "
             "(e.g. https://BUCKET.s3.REGION.amazonaws.com/results/); images are linked under it.")] = None,
    endpoint_url: Annotated[Optional[str], typer.Option("--endpoint-url", metavar="URL", rich_help_panel="Bucket",
                                                        help="S3-compatible server (default: AWS_ENDPOINT_URL_S3, "
                                                             "AWS_ENDPOINT_URL, else AWS).")] = None,
    aws_profile: Annotated[Optional[str], typer.Option("--aws-profile", metavar="NAME", rich_help_panel="Bucket",
                                                       help="Profile in ~/.aws/credentials and ~/.aws/config "
                                                            "(default: AWS_PROFILE, else the standard chain).")] = None,
    region: Annotated[Optional[str], typer.Option("--region", metavar="REGION", rich_help_panel="Bucket",
                                                  help="AWS region (default: from the chain).")] = None,
    force: ForceOpt = False, json_: JsonOpt = False, quiet: QuietOpt = False,
) -> None:
    """Write a web page of the results: boxes and masks you can filter by label and confidence,
    counts per label, least-certain-first review, prompts of generated images.

    [b]fmkit gallery results/[/b]  ·  [b]fmkit gallery results/ --lang ko[/b]  ·  [b]python -m http.server -d results[/b]

    [b]fmkit gallery s3://BUCKET/results/[/b] (the page goes beside the results)  ·  [b]fmkit gallery s3://BUCKET/results/ -o site/ --presign 86400[/b]
    """
    from fmkit.gallery import build_gallery

    summary = build_gallery(results, out, lang=lang, presign=presign, force=force, public_url_base=public_url_base,
                            store_options={"endpoint_url": endpoint_url, "profile": aws_profile, "region": region})
    if json_:
        output.emit_json(summary.to_dict())
    elif not quiet:
        problems = f", {summary.problems} with problems" if summary.problems else ""
        masks = f", {summary.masks} masks" if summary.masks else ""
        output.stdout_console().print(
            f"{summary.index}: {summary.results} results, {summary.boxes} boxes{masks}, {len(summary.labels)} labels"
            f"{problems}",
            markup=False, highlight=False, soft_wrap=True)
