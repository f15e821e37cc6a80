"""Read a results folder into gallery records: one per `fmkit detect` JSON, one per
`fmkit diffuse` PNG (its parameters are in PNG text chunks), and one card for every result that
cannot be shown (corrupt, newer schema, image missing) saying why.

All reading of the folder goes through `ResultsFolder` (local files today); switching to
`fmkit.io.store_for(uri)` means changing that one class.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any, Iterator

from fmkit.errors import BadInput
from fmkit.gallery.pngtext import read_png_info

SCHEMA = 1  # the newest result-JSON schema this gallery understands (no "schema" key = 1)
IMAGE_EXT = (".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff", ".gif")
SKIP_JSON = {"coco.json"}  # run-level files detect writes beside the results
DIFFUSE_PARAMS = ("prompt", "negative_prompt", "seed", "steps", "guidance", "scheduler", "height", "width",
                  "device", "dtype", "strategy", "fmkit_version")


@dataclass
class Entry:
    """One file of the results folder: its path inside the folder (POSIX), size and mtime."""

    name: str
    size: int
    mtime: float


class ResultsFolder:
    """The one reader of a results folder. Local paths only for now: this is the class to point
    at fmkit.io (list / read_bytes / stat) when s3:// results arrive."""

    def __init__(self, root: str | Path):
        text = str(root)
        if "://" in text:
            raise BadInput(f"cannot read {text}: only local results folders are supported in this version",
                           "copy the results to a local folder first")
        self.root = Path(text).expanduser()
        self.uri = text
        if not self.root.exists():
            raise BadInput(f"results folder {self.root} does not exist", "give the OUTDIR of `fmkit detect -o OUTDIR`")
        if not self.root.is_dir():
            raise BadInput(f"{self.root} is a file, not a results folder", "give the OUTDIR of `fmkit detect -o OUTDIR`")
        if not os.access(self.root, os.R_OK | os.X_OK):
            raise BadInput(f"cannot read results folder {self.root} (permission denied)", "check its permissions")

    def list(self) -> Iterator[Entry]:
        """Every file below the root, hidden files and folders (temporary writes) left out."""
        stack = [self.root]
        while stack:
            folder = stack.pop()
            try:
                items = list(os.scandir(folder))
            except OSError:
                continue  # an unreadable subfolder: its results are simply not listed
            for item in items:
                if item.name.startswith("."):
                    continue
                try:
                    if item.is_dir(follow_symlinks=False):
                        stack.append(Path(item.path))
                    elif item.is_file():
                        st = item.stat()
                        name = Path(item.path).relative_to(self.root).as_posix()
                        yield Entry(name, st.st_size, st.st_mtime)
                except OSError:
                    continue

    def read_bytes(self, name: str) -> bytes:
        return (self.root / name).read_bytes()

    def exists(self, name: str) -> bool:
        return (self.root / name).is_file()

    def inside(self, path: str) -> str | None:
        """A path from a result JSON as a name inside the folder, or None when it points
        elsewhere. detect writes paths as given on its command line (absolute, or relative to
        where it ran); `outputs.original` may be relative to the folder itself."""
        p = Path(path)
        root = self.root.resolve()
        candidates = [(p, True)] if p.is_absolute() else [(Path.cwd() / p, False), (self.root / p, True)]
        for candidate, accept_missing in candidates:
            try:
                rel = candidate.resolve().relative_to(root)
            except (ValueError, OSError):
                continue
            if rel.parts and (accept_missing or candidate.exists()):
                return rel.as_posix()
        return None


@dataclass
class Record:
    """What one card shows. `image` is a name inside the results folder (or None)."""

    name: str
    kind: str  # "detect" | "diffuse" | "problem"
    mtime: float
    image: str | None = None
    width: int | None = None
    height: int | None = None
    detections: list[tuple[str, float, float, float, float, float]] = field(default_factory=list)
    model: str | None = None
    params: dict[str, Any] = field(default_factory=dict)
    info: dict[str, Any] = field(default_factory=dict)
    problem: str | None = None  # corrupt | newer_schema | older_schema | missing_image | failed
    detail: str = ""
    annotated: bool = False  # boxes are also drawn into the image itself


def collect(folder: ResultsFolder) -> list[Record]:
    """Every result in the folder, in listing order (the page sorts)."""
    entries = {e.name: e for e in folder.list()}
    records = []
    for name, entry in entries.items():
        low = name.lower()
        if low.endswith(".json") and name not in SKIP_JSON:
            record = read_result(folder, entry, entries)
            if record is not None:
                records.append(_with_image(folder, record, entries))
        elif low.endswith(".png") and f"{name}.json" not in entries:
            record = read_diffusion(folder, entry)
            if record is not None:
                records.append(record)
    return records


def read_result(folder: ResultsFolder, entry: Entry, entries: dict[str, Entry] | None = None) -> Record | None:
    """A detect result JSON -> Record; a problem Record when it cannot be shown; None when the
    file is some other JSON (not named after an image and not shaped like a result)."""
    named_like_result = entry.name[:-5].lower().endswith(IMAGE_EXT)
    try:
        data = json.loads(folder.read_bytes(entry.name))
    except OSError as e:
        return _problem(entry, "unreadable", e.strerror or str(e)) if named_like_result else None
    except (ValueError, UnicodeDecodeError) as e:
        return _problem(entry, "corrupt", str(e)[:200]) if named_like_result else None
    if not isinstance(data, dict):
        return _problem(entry, "corrupt", f"a JSON {type(data).__name__}, not an object") if named_like_result else None
    if not named_like_result and "detections" not in data and "schema" not in data:
        return None
    return record_from_dict(folder, entry.name, data, entry.mtime, entries)


def _with_image(folder: ResultsFolder, record: Record, entries: dict[str, Entry] | None) -> Record:
    """A problem card still shows the image beside its JSON when there is one (no boxes)."""
    if record.kind == "problem" and record.image is None:
        if (record.name in entries) if entries is not None else folder.exists(record.name):
            record.image = record.name
    return record


def record_from_dict(folder: ResultsFolder, json_name: str, data: dict, mtime: float,
                     entries: dict[str, Entry] | None = None) -> Record:
    """One result object (as detect writes it) -> Record. Also used for results handed to
    GalleryWriter.add() straight from detect."""
    return _with_image(folder, _record(folder, json_name, data, mtime, entries), entries)


def _record(folder: ResultsFolder, json_name: str, data: dict, mtime: float,
            entries: dict[str, Entry] | None) -> Record:
    entry = Entry(json_name, 0, mtime)
    schema = data.get("schema", SCHEMA)
    if not isinstance(schema, int) or isinstance(schema, bool) or schema < 1:
        return _problem(entry, "older_schema", f"schema {schema!r}")
    if schema > SCHEMA:
        return _problem(entry, "newer_schema", f"schema {schema}")
    if data.get("error"):
        return _problem(entry, "failed", str(data["error"])[:300])
    try:
        detections = [_detection(d) for d in data.get("detections") or []]
        width, height = _size(data.get("width")), _size(data.get("height"))
    except (TypeError, ValueError, KeyError, AttributeError) as e:
        return _problem(entry, "corrupt", f"bad detections: {e}"[:200])
    image, annotated = image_for(folder, json_name, data, entries)
    params = data.get("params") if isinstance(data.get("params"), dict) else {}
    info = {k: data[k] for k in ("source", "seconds", "identity") if k in data}
    record = Record(json_name[:-5], "detect", mtime, image, width, height, detections,
                    _text(data.get("model")), params, info, annotated=annotated)
    if image is None:
        record.problem, record.detail = "missing_image", json_name[:-5]
    return record


def image_for(folder: ResultsFolder, json_name: str, data: dict,
              entries: dict[str, Entry] | None = None) -> tuple[str | None, bool]:
    """Which image a card shows, and whether boxes are already drawn into it: the clean
    original when the result names one (outputs.original), else the annotated copy beside
    the JSON, else outputs.image. The one place to change when detect writes originals."""
    outputs = data.get("outputs") if isinstance(data.get("outputs"), dict) else {}

    def present(name: str | None) -> bool:
        return name is not None and (name in entries if entries is not None else folder.exists(name))

    original = folder.inside(outputs["original"]) if isinstance(outputs.get("original"), str) else None
    if present(original):
        return original, False
    beside = json_name[:-5]
    if present(beside):
        return beside, True
    named = folder.inside(outputs["image"]) if isinstance(outputs.get("image"), str) else None
    if present(named):
        return named, True
    return None, False


def read_diffusion(folder: ResultsFolder, entry: Entry) -> Record | None:
    """A PNG written by `fmkit diffuse` (a "prompt" text chunk) -> Record; other PNGs -> None."""
    try:
        info = read_png_info(folder.read_bytes(entry.name))
    except OSError:
        return None
    if info is None or "prompt" not in info[2]:
        return None
    width, height, text = info
    params = {k: text[k] for k in DIFFUSE_PARAMS if k in text}
    return Record(entry.name, "diffuse", entry.mtime, entry.name, width, height, [], text.get("model"), params)


def _problem(entry: Entry, problem: str, detail: str) -> Record:
    """A card that says why this result cannot be shown (the image beside it is added later)."""
    return Record(entry.name[:-5], "problem", entry.mtime, problem=problem, detail=detail)


def _detection(d: dict) -> tuple[str, float, float, float, float, float]:
    box = d["box"]
    label = d.get("label")
    label = str(label) if label is not None else str(d["class_id"])
    coords = [round(float(box[k]), 1) for k in ("x1", "y1", "x2", "y2")]
    return (label, round(float(d["confidence"]), 4), *coords)


def _size(value) -> int | None:
    return int(value) if isinstance(value, (int, float)) and not isinstance(value, bool) and value > 0 else None


def _text(value) -> str | None:
    return None if value is None else str(value)
