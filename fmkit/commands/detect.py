"""`fmkit detect`: YOLO object detection for images, folders, globs, stdin lists and a watched folder."""

from __future__ import annotations

import os
from typing import Annotated, Optional

import typer

from fmkit import output
from fmkit.commands.common import (DeviceOpt, ForceOpt, JsonOpt, OfflineOpt, ProfileOpt, QuietOpt, SetOpt,
                                   fmkit_command, session, show_image_run)


@fmkit_command
def detect(
    sources: Annotated[Optional[list[str]], typer.Argument(
        metavar="[SOURCE]...", help="Image files, folders, globs ('photos/*.jpg'), or '-' for paths on stdin.",
        show_default=False)] = None,
    out: Annotated[Optional[str], typer.Option("--output", "-o", metavar="OUTDIR", rich_help_panel="Output",
                                               help="Write annotated images and one JSON per image into exactly "
                                                    "this folder (or s3://bucket/prefix/).")] = None,
    save_txt: Annotated[bool, typer.Option("--save-txt", rich_help_panel="Output",
                                           help="Also write YOLO label files (OUTDIR/labels/*.txt).")] = False,
    coco: Annotated[bool, typer.Option("--coco", rich_help_panel="Output",
                                       help="Also write one COCO-format JSON for the run (OUTDIR/coco.json).")] = False,
    recursive: Annotated[bool, typer.Option("--recursive", "-r", help="Look for images in subfolders too.")] = False,
    watch: Annotated[Optional[str], typer.Option("--watch", metavar="DIR",
                                                 help="Keep watching DIR (or s3://bucket/prefix/) and detect each new "
                                                      "image once it is complete (Ctrl-C stops).")] = None,
    interval: Annotated[float, typer.Option("--interval", help="Seconds between looks at the --watch folder.")] = 0.5,
    conf: Annotated[Optional[float], typer.Option("--conf", help="Minimum confidence, 0-1 (default: the profile's).")] = None,
    iou: Annotated[Optional[float], typer.Option("--iou", help="NMS IoU threshold, 0-1 (default: the profile's).")] = None,
    imgsz: Annotated[Optional[int], typer.Option("--imgsz", help="Inference size in pixels, a multiple of 32.")] = None,
    classes: Annotated[Optional[str], typer.Option("--classes", metavar="NAMES|IDS",
                                                   help="Only these classes, e.g. person,car or 0,2.")] = None,
    max_det: Annotated[Optional[int], typer.Option("--max-det", help="Most detections per image.")] = None,
    batch_size: Annotated[Optional[int], typer.Option("--batch-size", "-b", help="Images per forward pass.")] = None,
    half: Annotated[Optional[bool], typer.Option("--half/--no-half", help="float16 inference (CUDA only).",
                                                 show_default=False)] = None,
    gallery: Annotated[bool, typer.Option("--gallery", rich_help_panel="Output",
                                          help="Keep OUTDIR/index.html, a results page, current after each image "
                                               "(see fmkit gallery).")] = False,
    lang: Annotated[str, typer.Option("--lang", metavar="en|ko", rich_help_panel="Output",
                                      help="Language of the --gallery page.")] = "en",
    endpoint_url: Annotated[Optional[str], typer.Option("--endpoint-url", metavar="URL", rich_help_panel="Bucket",
                                                        help="S3-compatible server for s3:// sources and OUTDIR "
                                                             "(default: AWS_ENDPOINT_URL_S3, AWS_ENDPOINT_URL, "
                                                             "else AWS).")] = None,
    aws_profile: Annotated[Optional[str], typer.Option("--aws-profile", metavar="NAME", rich_help_panel="Bucket",
                                                       help="Profile in ~/.aws/credentials and ~/.aws/config "
                                                            "(default: AWS_PROFILE, else the standard chain).")]
    = None,
    region: Annotated[Optional[str], typer.Option("--region", metavar="REGION", rich_help_panel="Bucket",
                                                  help="AWS region (default: from the chain).")] = None,
    cluster: Annotated[Optional[str], typer.Option("--cluster", metavar="ADDRESS", rich_help_panel="Cluster",
                                                   help="Spread the run over a Dask cluster: tcp://HOST:8786 or "
                                                        "local:N (N processes here). SOURCE and OUTDIR: s3:// or "
                                                        "a filesystem all workers share.")] = None,
    max_polls: Annotated[Optional[int], typer.Option("--max-polls", hidden=True)] = None,  # tests stop --watch with it
    model: Annotated[Optional[str], typer.Option(
        "--model", "-m", metavar="ALIAS|PATH", rich_help_panel="Profile",
        help="yolo11n, PATH.pt or a model .yaml (random weights). .pt files are pickles: fmkit loads them "
             "weights-only and refuses any that want to run code.")] = None,
    profile: ProfileOpt = None, sets: SetOpt = None, device: DeviceOpt = None,
    offline: OfflineOpt = False, json_: JsonOpt = False, quiet: QuietOpt = False, force: ForceOpt = False,
) -> None:
    """Find objects in images with YOLO: a table per image and a summary, or JSON lines.

    [dim]fmkit detect photo.jpg
    fmkit detect photos/ -r -o results/ --coco
    find . -name '*.jpg' | fmkit detect - --json
    fmkit detect --watch uploads/ -o results/ --gallery
    fmkit detect s3://bucket/uploads/ -o s3://bucket/results/[/dim]
    """
    # OpenMP threads that sleep while they wait, instead of spinning: on a busy machine (a
    # classroom server, CI) spinning threads stall each other and inference runs 3-5x slower.
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    from fmkit.render.terminal import DetectView

    fk = session(profile, sets, offline, device, quiet)
    run = fk.detect(sources, model=model, output=out, recursive=recursive, watch=watch, interval=interval,
                    max_polls=max_polls, save_txt=save_txt, coco=coco, classes=classes, force=force,
                    store_options={"endpoint_url": endpoint_url, "profile": aws_profile, "region": region},
                    conf=conf, iou=iou, imgsz=imgsz, max_det=max_det, batch_size=batch_size, half=half,
                    cluster=cluster, progress=_progress(quiet))
    if gallery:
        if out is None:
            from fmkit.errors import BadInput

            raise BadInput("--gallery writes a page into OUTDIR", "add -o OUTDIR")
        from fmkit.gallery.live import attach

        attach(run, lang)
    show_image_run(run, DetectView(json_, quiet), watching=watch is not None)


def _progress(quiet: bool):
    """--cluster's progress bar on stderr, while stdout goes to a file or pipe (on a terminal the
    tables are the progress). Not output.progress_bar: its Live display would route stdout's JSON
    lines through the stderr console."""
    import contextlib
    import sys

    @contextlib.contextmanager
    def bar(description: str, total: int | None):
        console = output.stderr_console()
        if quiet or not console.is_terminal or sys.stdout.isatty():
            yield lambda n=1: None
            return
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

        with Progress(SpinnerColumn(), TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                      TimeElapsedColumn(), console=console, transient=True, redirect_stdout=False,
                      redirect_stderr=False) as progress:
            task = progress.add_task(description, total=total)
            yield lambda n=1: progress.advance(task, n)

    return bar
