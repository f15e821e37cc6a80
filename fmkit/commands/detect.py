"""`fmkit detect`: YOLO object detection for images, folders, globs, stdin lists and a watched folder."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path
from typing import Annotated, Optional

import typer

from fmkit import output
from fmkit.commands.common import (DeviceOpt, ForceOpt, JsonOpt, ModelOpt, OfflineOpt, ProfileOpt, QuietOpt, SetOpt,
                                   fmkit_command, start)
from fmkit.errors import BadInput

MAX_ROWS = 25  # rows of one image's table shown to people; the rest are summarised


@fmkit_command
def detect(
    sources: Annotated[Optional[list[str]], typer.Argument(
        metavar="[SOURCE]...", help="Image files, folders, globs ('photos/*.jpg'), or '-' for paths on stdin.",
        show_default=False)] = None,
    out: Annotated[Optional[Path], typer.Option("--output", "-o", metavar="OUTDIR", rich_help_panel="Output",
                                                help="Write annotated images and one JSON per image into exactly this folder.")] = None,
    save_txt: Annotated[bool, typer.Option("--save-txt", rich_help_panel="Output",
                                           help="Also write YOLO label files (OUTDIR/labels/*.txt).")] = False,
    coco: Annotated[bool, typer.Option("--coco", rich_help_panel="Output",
                                       help="Also write one COCO-format JSON for the run (OUTDIR/coco.json).")] = False,
    recursive: Annotated[bool, typer.Option("--recursive", "-r", help="Look for images in subfolders too.")] = False,
    watch: Annotated[Optional[Path], typer.Option("--watch", metavar="DIR",
                                                  help="Keep watching DIR and detect each new image once it is complete (Ctrl-C stops).")] = None,
    interval: Annotated[float, typer.Option("--interval", min=0.05, help="Seconds between looks at the --watch folder.")] = 0.5,
    conf: Annotated[Optional[float], typer.Option("--conf", help="Minimum confidence, 0-1 (default: the profile's).")] = None,
    iou: Annotated[Optional[float], typer.Option("--iou", help="NMS IoU threshold, 0-1 (default: the profile's).")] = None,
    imgsz: Annotated[Optional[int], typer.Option("--imgsz", help="Inference size in pixels, a multiple of 32.")] = None,
    classes: Annotated[Optional[str], typer.Option("--classes", metavar="NAMES|IDS",
                                                   help="Only these classes, e.g. person,car or 0,2.")] = None,
    max_det: Annotated[Optional[int], typer.Option("--max-det", help="Most detections per image.")] = None,
    batch_size: Annotated[Optional[int], typer.Option("--batch-size", "-b", help="Images per forward pass.")] = None,
    half: Annotated[Optional[bool], typer.Option("--half/--no-half", help="float16 inference (CUDA only).",
                                                 show_default=False)] = None,
    max_polls: Annotated[Optional[int], typer.Option("--max-polls", hidden=True)] = None,  # tests stop --watch with it
    profile: ProfileOpt = None, sets: SetOpt = None, model: ModelOpt = None, device: DeviceOpt = None,
    offline: OfflineOpt = False, json_: JsonOpt = False, quiet: QuietOpt = False, force: ForceOpt = False,
) -> None:
    """Find objects in images with YOLO: a table per image and a summary, or JSON lines.

    [b]fmkit detect photo.jpg[/b]  ·  [b]fmkit detect photos/ -r -o results/ --coco[/b]

    [b]find . -name '*.jpg' | fmkit detect - --json[/b]  ·  [b]fmkit detect --watch uploads/ -o results/[/b]
    """
    if not sources and watch is None:
        raise BadInput("no images given", "give files, folders or globs, '-' for paths on stdin, or --watch DIR")
    if sources and watch is not None:
        raise BadInput("--watch takes no other sources", "run one watcher per folder")
    if watch is not None and out is None:
        raise BadInput("--watch needs -o OUTDIR", "results are written there, and a restart skips what is done")
    if watch is not None and not watch.is_dir():
        raise BadInput(f"--watch folder {watch} does not exist", "create it first")
    if (save_txt or coco) and out is None:
        raise BadInput("--save-txt and --coco write files", "add -o OUTDIR")
    # OpenMP threads that sleep while they wait, instead of spinning: on a busy machine (a
    # classroom server, CI) spinning threads stall each other and inference runs 3-5x slower.
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    settings = start("detect", profile, sets, offline, model, device,
                     {"conf": conf, "iou": iou, "imgsz": imgsz, "max_det": max_det, "batch_size": batch_size, "half": half})

    from fmkit.detect import detector as task
    from fmkit.detect.outputs import OutputFolder
    from fmkit.io.sources import expand

    folder = OutputFolder(out, save_txt=save_txt, coco=coco, force=force) if out else None  # fail before loading
    detector = task.Detector(settings, classes)
    notes = []
    if detector.random_weights:
        notes.append(f"{detector.label}: random weights (built from yaml), detections are meaningless")
    if settings.detect.half and not detector.half:
        notes.append("--half needs a CUDA GPU; running in float32")
    if detector.imgsz != settings.detect.imgsz:
        notes.append(f"imgsz {settings.detect.imgsz} rounded up to {detector.imgsz} (a multiple of the model stride)")
    for note in notes:
        output.notice(note, quiet)
    if folder is not None:
        folder.names = detector.names
    summary = task.RunSummary()
    show = _Renderer(json_, quiet)

    def handle(results) -> None:
        for result in results:
            if folder is not None:
                folder.write(result)
            result.image = None
            summary.add(result)
            show.result(result)

    began = time.perf_counter()
    try:
        if watch is None:
            handle(task.run(detector, expand(sources, recursive), keep_images=folder is not None))
        else:
            _watch(watch, recursive, interval, max_polls, detector, folder, handle, quiet)
    finally:
        summary.seconds = time.perf_counter() - began
        if folder is not None:
            coco_path = folder.close()
            if coco_path:
                output.notice(f"COCO annotations: {coco_path}", quiet or json_)
    if watch is None and not summary.images and not summary.failed:
        output.warn("no images to process (empty list on stdin?)")
    show.summary(summary, detector.label, folder)
    if summary.failed:
        raise typer.Exit(1)


def _watch(folder: Path, recursive: bool, interval: float, max_polls: int | None, detector, out, handle, quiet) -> None:
    """Poll the folder until Ctrl-C (or SIGTERM); each complete new image is detected once."""
    from fmkit.detect import detector as task
    from fmkit.detect.watch import FolderWatcher, watch

    watcher = FolderWatcher(folder, recursive, settle=max(interval, 1.0), exclude=out.folder, already_done=out.done)
    output.notice(f"watching {folder} (Ctrl-C stops); results go to {out.folder}", quiet)
    previous = signal.signal(signal.SIGTERM, _raise_interrupt)
    try:
        for ready in watch(watcher, interval, max_polls):
            if ready:
                handle(task.run(detector, ready, keep_images=True))
    except KeyboardInterrupt:
        output.notice("stopped watching", quiet)
    finally:
        signal.signal(signal.SIGTERM, previous)


def _raise_interrupt(signum, frame):
    raise KeyboardInterrupt


class _Renderer:
    """People get a table per image on stdout and errors on stderr; scripts get JSON lines."""

    def __init__(self, json_: bool, quiet: bool):
        self.json, self.quiet = json_, quiet

    def result(self, r) -> None:
        if self.json:
            output.emit_json(r.to_dict())
            return
        if not r.ok:
            from rich.markup import escape

            output.stderr_console().print(f"[bold red]error:[/bold red] {escape(r.source)}: {escape(r.error)}",
                                          soft_wrap=True)
            return
        from rich.table import Table

        from rich.markup import escape

        title = f"[bold]{escape(r.source)}[/bold]  {r.width}x{r.height}  {len(r.detections)} objects  {r.seconds * 1000:.0f} ms"
        if r.outputs:
            title += f"  -> {escape(r.outputs['image'])}"
        console = output.stdout_console()
        console.print(title, soft_wrap=True)
        if not r.detections:
            return
        t = Table(show_edge=False)
        for col, justify in (("class", "left"), ("conf", "right"), ("x1", "right"), ("y1", "right"),
                             ("x2", "right"), ("y2", "right")):
            t.add_column(col, justify=justify)
        for d in r.detections[:MAX_ROWS]:
            t.add_row(d.label, f"{d.confidence:.2f}", f"{d.x1:.0f}", f"{d.y1:.0f}", f"{d.x2:.0f}", f"{d.y2:.0f}")
        if len(r.detections) > MAX_ROWS:
            t.add_row(f"[dim]... {len(r.detections) - MAX_ROWS} more[/dim]", "", "", "", "", "")
        console.print(t)

    def summary(self, s, model: str, folder) -> None:
        line = (f"{s.images} images, {s.detections} objects, {s.failed} failed, {s.seconds:.2f} s "
                f"({s.images_per_second:.1f} images/s), model {model}")
        if self.json:
            output.notice(line, self.quiet)
            return
        from rich.table import Table

        console = output.stdout_console()
        if s.counts:
            console.print("[bold]objects per class[/bold]")
            t = Table(show_edge=False)
            t.add_column("class")
            t.add_column("count", justify="right")
            for label, n in s.counts.most_common():
                t.add_row(label, str(n))
            console.print(t)
        console.print(line + (f"; files in {folder.folder}" if folder is not None else ""), soft_wrap=True, markup=False)
