"""Read a results folder into gallery records: one per `fmkit detect` or `fmkit segment` JSON
(boxes, or masks as COCO RLE text the page decodes), one per `fmkit diffuse` PNG (its parameters are in PNG text chunks), and one card for every result that
cannot be shown (corrupt, newer schema, image missing) saying why.

All reading goes through `ResultsFolder`, which reads through `fmkit.io` (a local folder or an
`s3://bucket/prefix/`): one listing (streamed page by page from a bucket), each result JSON, and
the first bytes of each diffuse PNG (its text chunks come before the pixels). Images themselves
are never downloaded.
"""

from __future__ import annotations

import json
import os
import posixpath
import re
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Container, Iterable, Iterator, TypeVar

from fmkit import io
from fmkit.errors import AccessDenied, CredentialsError, FmkitError
from fmkit.gallery.pngtext import read_png_info, text_complete
from fmkit.io.store import Entry

SCHEMA = 1  # the newest result-JSON schema this gallery understands (no "schema" key = 1)
IMAGE_EXT = (".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff", ".gif")
SKIP_JSON = {"coco.json"}  # run-level files detect writes beside the results
DIFFUSE_PARAMS = ("prompt", "negative_prompt", "seed", "steps", "guidance", "scheduler", "height", "width",
                  "device", "dtype", "strategy", "fmkit_version")
PNG_HEAD = 64 * 1024  # bytes read from each PNG: the text chunks diffuse writes sit before the pixels
READERS = 8  # concurrent reads from a bucket (botocore's connection pool holds 10)
RLE_TEXT = re.compile(r"[0-o]*")  # COCO compressed counts: characters '0' (48) to 'o' (111)

T = TypeVar("T")
R = TypeVar("R")


class ResultsFolder:
    """The one reader of a results folder: a local path or `s3://bucket/prefix/`, through
    fmkit.io. Names are POSIX paths relative to the folder ('sub/bus.jpg')."""

    def __init__(self, root: str | Path, store=None, **store_options):
        self.store = store or io.store_for(str(root), **store_options)
        self.uri = self.store.normalize(str(root), folder=True)  # an invalid bucket name: a usage error
        # There and readable: a missing folder is a usage error; a wrong secret, a missing bucket or a
        # denied listing fail here, in one line (exit 1), before anything else is read.
        self.store.check_folder(self.uri, "results folder", "give the OUTDIR of `fmkit detect -o OUTDIR` or `fmkit segment -o OUTDIR`")

    def location(self, name: str) -> str:
        """The full URI (or path) of a name inside the folder."""
        return self.store.join(self.uri, name)

    def list(self) -> Iterator[Entry]:
        """Every file below the root (streamed; hidden names, temporary writes, left out)."""
        return self.store.list(self.uri, recursive=True)

    def read_bytes(self, name: str) -> bytes:
        return self.store.read_bytes(self.location(name))

    def read_head(self, name: str, length: int) -> bytes:
        """The first `length` bytes (a ranged GET from a bucket; a short read locally)."""
        return self.store.read_head(self.location(name), length)

    def exists(self, name: str) -> bool:
        return self.store.exists(self.location(name))

    def map(self, fn: Callable[[T], R], items: Iterable[T]) -> Iterator[R]:
        """fn over items, in order: concurrently where each read is a round trip (a bucket), in
        this thread otherwise."""
        if not self.store.reads_are_round_trips:
            return map(fn, items)
        pool = ThreadPoolExecutor(READERS, thread_name_prefix="fmkit-gallery-read")

        def results() -> Iterator[R]:
            try:
                yield from pool.map(fn, items)
            finally:
                pool.shutdown(wait=True, cancel_futures=True)

        return results()

    def inside(self, path: str) -> str | None:
        """A path from a result JSON as a name inside the folder, or None when it points
        elsewhere. detect writes paths as given on its command line (absolute, or relative to
        where it ran; `s3://bucket/key` for a bucket); `outputs.original` may be relative to the
        folder itself."""
        if "://" in path or os.path.isabs(path):
            return self.store.relative(self.uri, path)
        cwd_relative = self.store.is_relative(path) and self.store.exists(path)  # where detect ran
        here = self.store.relative(self.uri, path) if cwd_relative else None
        return here or self.store.relative(self.uri, self.location(posixpath.normpath(path)))


def denied(e: FmkitError) -> bool:
    """No credentials, rejected ones, or an action refused: the whole run fails, not one card."""
    return isinstance(e, (AccessDenied, CredentialsError))


@dataclass(frozen=True)
class SegmentMask:
    """One mask of a segment result, as the page needs it: label (None when no detector named
    it), score, box, pixel count, id, the prompt's type, and the RLE text (decoded by the page)."""

    label: str | None
    score: float
    box: tuple[float, float, float, float]
    area: int
    id: int
    prompt: str
    counts: str


@dataclass
class Record:
    """What one card shows. `image` is a name inside the results folder (or None)."""

    name: str
    kind: str  # "detect" | "segment" | "diffuse" | "problem"
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
    annotated: bool = False  # boxes (or masks) are also drawn into the image itself
    masks: list[SegmentMask] = field(default_factory=list)
    mask_size: tuple[int, int] | None = None  # (height, width) every mask's RLE covers


def collect(folder: ResultsFolder) -> list[Record]:
    """Every result in the folder, in listing order (the page sorts)."""
    entries = {e.name: e for e in folder.list()}
    work = []
    for name, entry in entries.items():
        low = name.lower()
        if low.endswith(".json") and name not in SKIP_JSON:
            work.append((True, entry))
        elif low.endswith(".png") and f"{name}.json" not in entries:
            work.append((False, entry))

    def read(job: tuple[bool, Entry]) -> Record | None:
        is_json, entry = job
        if not is_json:
            return read_diffusion(folder, entry)
        record = read_result(folder, entry, entries)
        return None if record is None else _with_image(folder, record, entries)

    return [r for r in folder.map(read, work) if r is not None]


def read_result(folder: ResultsFolder, entry: Entry, entries: Container[str] | None = None) -> Record | None:
    """A detect result JSON -> Record; a problem Record when it cannot be shown; None when the
    file is some other JSON (not named after an image and not shaped like a result)."""
    named_like_result = entry.name[:-5].lower().endswith(IMAGE_EXT)
    try:
        data = json.loads(folder.read_bytes(entry.name))
    except OSError as e:
        return _problem(entry, "unreadable", e.strerror or str(e)) if named_like_result else None
    except FmkitError as e:  # from a bucket: gone since the listing, or too big
        if denied(e):
            raise
        return _problem(entry, "unreadable", e.message) if named_like_result else None
    except (ValueError, UnicodeDecodeError) as e:
        return _problem(entry, "corrupt", str(e)[:200]) if named_like_result else None
    if not isinstance(data, dict):
        return _problem(entry, "corrupt", f"a JSON {type(data).__name__}, not an object") if named_like_result else None
    if not named_like_result and "detections" not in data and "masks" not in data and "schema" not in data:
        return None
    return record_from_dict(folder, entry.name, data, entry.mtime, entries)


def _with_image(folder: ResultsFolder, record: Record, entries: Container[str] | None) -> Record:
    """A problem card still shows the image beside its JSON when there is one (no boxes)."""
    if record.kind == "problem" and record.image is None:
        if (record.name in entries) if entries is not None else folder.exists(record.name):
            record.image = record.name
    return record


def record_from_dict(folder: ResultsFolder, json_name: str, data: dict, mtime: float,
                     entries: Container[str] | None = None) -> Record:
    """One result object (as detect writes it) -> Record. Also used for results handed to
    GalleryWriter.add() straight from detect."""
    return _with_image(folder, _record(folder, json_name, data, mtime, entries), entries)


def _record(folder: ResultsFolder, json_name: str, data: dict, mtime: float,
            entries: Container[str] | None) -> Record:
    entry = _named(json_name, mtime)
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
    try:
        masks, mask_size = _masks(data.get("masks") or [], width, height)
    except (TypeError, ValueError, KeyError, AttributeError) as e:
        return _problem(entry, "corrupt", f"bad masks: {e}"[:200])
    image, annotated = image_for(folder, json_name, data, entries)
    params = data.get("params") if isinstance(data.get("params"), dict) else {}
    info = {k: data[k] for k in ("source", "seconds", "identity") if k in data}
    kind = "segment" if "masks" in data else "detect"
    record = Record(json_name[:-5], kind, mtime, image, width, height, detections,
                    _text(data.get("model")), params, info, annotated=annotated, masks=masks, mask_size=mask_size)
    if image is None:
        record.problem, record.detail = "missing_image", json_name[:-5]
    return record


def image_for(folder: ResultsFolder, json_name: str, data: dict,
              entries: Container[str] | None = None) -> tuple[str | None, bool]:
    """Which image a card shows, and whether boxes are already drawn into it: the clean
    original when the result names one (outputs.original), else the annotated copy beside
    the JSON, else outputs.image. The one place to change when detect writes originals.

    An annotated image is shown as it is, and the page draws no boxes over it, only invisible
    hit targets (hover names a box, a click opens the view; the caption says the boxes are in
    the picture). Why not the original under the page's overlays: `fmkit detect -o` writes the
    annotated copy only, and the source it read may be on another disk, in a bucket the page
    cannot reach, or gone, so the page has nothing else it can link; and drawing over the
    annotated copy showed every box twice, in other colours, offset. Clean images (an
    outputs.original, a diffusion) keep the drawn overlays, which the filters can hide."""
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
    """A PNG written by `fmkit diffuse` (a "prompt" text chunk) -> Record; other PNGs -> None.
    Reads the first PNG_HEAD bytes; the whole file only when its text chunks go on past them."""
    if entry.size == 0:
        return None  # listed as empty: nothing to read
    try:
        data = folder.read_head(entry.name, PNG_HEAD)
        if len(data) >= PNG_HEAD and not text_complete(data):
            data = folder.read_bytes(entry.name)
    except OSError:
        return None
    except FmkitError as e:
        if denied(e):
            raise
        return None
    info = read_png_info(data)
    if info is None or "prompt" not in info[2]:
        return None
    width, height, text = info
    params = {k: text[k] for k in DIFFUSE_PARAMS if k in text}
    return Record(entry.name, "diffuse", entry.mtime, entry.name, width, height, [], text.get("model"), params)


def _problem(entry: Entry, problem: str, detail: str) -> Record:
    """A card that says why this result cannot be shown (the image beside it is added later)."""
    return Record(entry.name[:-5], "problem", entry.mtime, problem=problem, detail=detail)


def _named(name: str, mtime: float = 0.0) -> Entry:
    return Entry(name, name, 0, "", mtime)


def _detection(d: dict) -> tuple[str, float, float, float, float, float]:
    box = d["box"]
    label = d.get("label")
    label = str(label) if label is not None else str(d["class_id"])
    coords = [round(float(box[k]), 1) for k in ("x1", "y1", "x2", "y2")]
    return (label, round(float(d["confidence"]), 4), *coords)


def _masks(items: list, width: int | None, height: int | None) -> tuple[list[SegmentMask], tuple[int, int] | None]:
    """A segment result's masks; all of them cover one image (their RLE size), which is the
    result's own size when it gives one."""
    masks, size = [], None
    for m in items:
        rle = m["rle"]
        h, w = (int(v) for v in rle["size"])
        if size is None:
            size = (h, w)
            if (width and width != w) or (height and height != h):
                raise ValueError(f"a mask covers {w}x{h}, the image is {width}x{height}")
        elif size != (h, w):
            raise ValueError(f"masks of one image cover {size[1]}x{size[0]} and {w}x{h}")
        counts = rle["counts"]
        if not isinstance(counts, str) or not RLE_TEXT.fullmatch(counts):
            raise ValueError("a mask's counts are not COCO compressed RLE text")
        box = m["box"]
        label = m.get("label")
        prompt = m.get("prompt") if isinstance(m.get("prompt"), dict) else {}
        masks.append(SegmentMask(None if label is None else str(label), round(float(m["score"]), 4),
                                 tuple(round(float(box[k]), 1) for k in ("x1", "y1", "x2", "y2")),
                                 int(m["area"]), int(m["id"]), str(prompt.get("type", "")), counts))
    return masks, size


def _size(value) -> int | None:
    return int(value) if isinstance(value, (int, float)) and not isinstance(value, bool) and value > 0 else None


def _text(value) -> str | None:
    return None if value is None else str(value)
