"""`fmkit segment`: Segment Anything cuts objects out of images, from points, boxes, a
detector's boxes, or everything at once."""

from __future__ import annotations

import os
from typing import Annotated, Optional

import typer

from fmkit.commands.common import (DeviceOpt, ForceOpt, JsonOpt, OfflineOpt, ProfileOpt, QuietOpt, SetOpt,
                                   fmkit_command, session, show_image_run)


@fmkit_command
def segment(
    sources: Annotated[Optional[list[str]], typer.Argument(
        metavar="[IMAGE]...", help="Image files, folders, globs ('photos/*.jpg'), s3:// URIs, or '-' for paths on "
                                   "stdin.", show_default=False)] = None,
    point: Annotated[Optional[list[str]], typer.Option(
        "--point", metavar="X,Y", rich_help_panel="Prompts",
        help="Cut out the object at this pixel (repeatable: one mask per point).")] = None,
    box: Annotated[Optional[list[str]], typer.Option(
        "--box", metavar="X1,Y1,X2,Y2", rich_help_panel="Prompts",
        help="Cut out the object in this box (repeatable: one mask per box).")] = None,
    from_detections: Annotated[bool, typer.Option(
        "--from-detections", rich_help_panel="Prompts",
        help="Prompt with the boxes the detector finds in each image (YOLO points, SAM cuts out).")] = False,
    detect_model: Annotated[Optional[str], typer.Option(
        "--detect-model", metavar="ALIAS|PATH", rich_help_panel="Prompts",
        help="Detector for --from-detections (default: the profile's detect.model).")] = None,
    classes: Annotated[Optional[str], typer.Option(
        "--classes", metavar="NAMES|IDS", rich_help_panel="Prompts",
        help="With --from-detections: only these detector classes, e.g. person or 0,2.")] = None,
    out: Annotated[Optional[str], typer.Option(
        "--output", "-o", metavar="OUTDIR", rich_help_panel="Output",
        help="Write images with masks drawn, the originals and one JSON per image into exactly this folder "
             "(or s3://bucket/prefix/).")] = None,
    coco: Annotated[bool, typer.Option("--coco", rich_help_panel="Output",
                                       help="Also write one COCO JSON for the run, masks as RLE "
                                            "(OUTDIR/coco.json).")] = False,
    cutout: Annotated[bool, typer.Option("--cutout", rich_help_panel="Output",
                                         help="Also write the masked pixels on a transparent background "
                                              "(OUTDIR/cutouts/NAME.png, e.g. bus.jpg.png).")] = False,
    recursive: Annotated[bool, typer.Option("--recursive", "-r", help="Look for images in subfolders too.")] = False,
    watch: Annotated[Optional[str], typer.Option("--watch", metavar="DIR",
                                                 help="Keep watching DIR (or s3://bucket/prefix/) and segment each "
                                                      "new image once it is complete (Ctrl-C stops).")] = None,
    interval: Annotated[float, typer.Option("--interval", help="Seconds between looks at the --watch folder.")] = 0.5,
    imgsz: Annotated[Optional[int], typer.Option("--imgsz", help="Encoder input side in pixels, a multiple of 64 "
                                                                 "(default: the profile's).")] = None,
    dtype: Annotated[Optional[str], typer.Option(
        "--dtype", metavar="DTYPE",
        help="What SAM computes in: auto, float32, bfloat16 or float16 (default: the profile's; auto = bfloat16 "
             "on a CPU with native bf16, float16 on CUDA).")] = None,
    endpoint_url: Annotated[Optional[str], typer.Option("--endpoint-url", metavar="URL", rich_help_panel="Bucket",
                                                        help="S3-compatible server for s3:// sources and OUTDIR.")]
    = None,
    aws_profile: Annotated[Optional[str], typer.Option("--aws-profile", metavar="NAME", rich_help_panel="Bucket",
                                                       help="Profile in ~/.aws/credentials and ~/.aws/config.")]
    = None,
    region: Annotated[Optional[str], typer.Option("--region", metavar="REGION", rich_help_panel="Bucket",
                                                  help="AWS region (default: from the chain).")] = None,
    max_polls: Annotated[Optional[int], typer.Option("--max-polls", hidden=True)] = None,  # tests stop --watch with it
    model: Annotated[Optional[str], typer.Option(
        "--model", "-m", metavar="ALIAS|PATH", rich_help_panel="Profile",
        help="mobile_sam, sam2_t, sam2_b, sam_b, FastSAM-s or a checkpoint file (loaded weights-only).")] = None,
    profile: ProfileOpt = None, sets: SetOpt = None, device: DeviceOpt = None,
    offline: OfflineOpt = False, json_: JsonOpt = False, quiet: QuietOpt = False, force: ForceOpt = False,
) -> None:
    """Cut objects out of images with Segment Anything: a table per image, or JSON lines.

    Prompted by a point or a box, SAM cuts out the object there; with no prompt
    it segments everything; with --from-detections the detector points, SAM cuts.

    [dim]fmkit segment bus.jpg --point 410,520
    fmkit segment bus.jpg --box 50,400,250,900 -o out/
    fmkit segment photos/ --from-detections -o out/ --coco --cutout
    fmkit segment bus.jpg --json[/dim]
    """
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # sleeping OpenMP threads: see `fmkit detect`
    from fmkit.render.terminal import SegmentView

    fk = session(profile, sets, offline, device, quiet)
    run = fk.segment(sources, model=model, points=point, boxes=box, from_detections=from_detections,
                     detect_model=detect_model, classes=classes, output=out, recursive=recursive, watch=watch, interval=interval,
                     max_polls=max_polls, coco=coco, cutout=cutout, force=force,
                     store_options={"endpoint_url": endpoint_url, "profile": aws_profile, "region": region},
                     imgsz=imgsz, dtype=dtype)
    show_image_run(run, SegmentView(json_, quiet), watching=watch is not None)
