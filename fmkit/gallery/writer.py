"""Build and keep current the gallery of a results folder.

    GalleryWriter(results, out, lang)   checks the folders; .refresh() reads everything and writes
                                        the page; .add(result) takes one new detect result and
                                        rewrites only the data (what `detect --gallery` calls)
    build_gallery(results, out, lang)   one-shot: what `fmkit gallery` calls
"""

from __future__ import annotations

import os
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

from fmkit.errors import BadInput, OutputError
from fmkit.gallery.collect import Record, ResultsFolder, collect, record_from_dict
from fmkit.gallery.i18n import strings
from fmkit.gallery.page import MARKER, render_index, render_manifest, render_stamp
from fmkit.io.local import atomic_write

FILES = ("manifest.js", "stamp.js", "index.html")  # written in this order: data first, page last
MAX_PRESIGN = 7 * 24 * 3600  # S3 presigned URLs live at most 7 days


@dataclass
class GallerySummary:
    """What a build wrote: the `--json` object of `fmkit gallery`."""

    index: str
    results: int
    detect: int = 0
    diffuse: int = 0
    problems: int = 0
    boxes: int = 0
    labels: Counter = field(default_factory=Counter)
    lang: str = "en"
    seconds: float = 0.0

    def to_dict(self) -> dict:
        return {"index": self.index, "results": self.results, "detect": self.detect, "diffuse": self.diffuse,
                "problems": self.problems, "boxes": self.boxes, "labels": dict(self.labels.most_common()),
                "lang": self.lang, "seconds": round(self.seconds, 3)}


def check_presign(results: str, presign: int | None) -> None:
    """--presign SECONDS: a positive number of seconds up to 7 days, and only for a bucket."""
    if presign is None:
        return
    if presign <= 0 or presign > MAX_PRESIGN:
        raise BadInput(f"--presign {presign} is out of range", f"give 1 to {MAX_PRESIGN} seconds (7 days)")
    if not str(results).startswith("s3://"):
        raise BadInput("--presign needs an s3:// RESULTS", "local images are linked directly; drop --presign")


class GalleryWriter:
    """The gallery of one results folder, written into `out` (default: the results folder
    itself, so the one folder is the whole site). Thread-safe: detect may call add() from its
    writer thread."""

    def __init__(self, results: str | Path, out: str | Path | None = None, lang: str = "en",
                 presign: int | None = None, force: bool = False):
        strings(lang)  # unknown language: a usage error before anything is read
        check_presign(str(results), presign)
        self.folder = ResultsFolder(results)
        self.out = Path(out).expanduser() if out is not None else self.folder.root
        self.lang, self.presign, self.force = lang, presign, force
        self.records: dict[str, Record] = {}
        self._lock = threading.Lock()
        self._page_written = False
        self._writes = 0
        self._check_out()

    def _check_out(self) -> None:
        """Fail before reading anything when -o cannot hold the page (nothing is created yet)."""
        if self.out.exists() and not self.out.is_dir():
            raise OutputError(f"output path {self.out} is a file", "give a folder for -o")
        existing = next(p for p in (self.out, *self.out.absolute().parents) if p.exists())
        if not existing.is_dir():
            raise OutputError(f"cannot create output folder {self.out}: {existing} is a file", "choose another -o")
        if not os.access(existing, os.W_OK | os.X_OK):
            raise OutputError(f"cannot write to folder {existing} (permission denied)", "choose another -o")
        for name in FILES:
            path = self.out / name
            if path.exists() and not self.force and not _ours(path):
                raise OutputError(f"{path} exists and was not written by fmkit gallery",
                                  "pass --force to replace it, or choose another -o")

    # --- reading ---------------------------------------------------------------------------

    def collect(self) -> int:
        """Read every result of the folder again; returns how many there are."""
        records = collect(self.folder)
        with self._lock:
            self.records = {r.name: r for r in records}
            return len(self.records)

    def add(self, result: dict) -> None:
        """One detect result (the dict written to OUTDIR/<name>.json): add or replace its card
        and rewrite the data (not the page, once it exists)."""
        outputs = result.get("outputs") if isinstance(result.get("outputs"), dict) else {}
        json_name = self.folder.inside(outputs["json"]) if isinstance(outputs.get("json"), str) else None
        if json_name is None and isinstance(outputs.get("image"), str):
            image = self.folder.inside(outputs["image"])
            json_name = f"{image}.json" if image else None
        if json_name is None:
            raise BadInput("this result has no files inside the results folder", "add results written with -o RESULTS")
        record = record_from_dict(self.folder, json_name, result, time.time())
        with self._lock:
            self.records[record.name] = record
        self.write()

    def refresh(self) -> GallerySummary:
        """Read the folder again and write everything (the page too)."""
        self.collect()
        self._page_written = False
        return self.write()

    # --- writing ---------------------------------------------------------------------------

    def image_url(self, name: str) -> str:
        """The URL the page uses for an image inside the results folder: relative to the page
        (works from disk and on any static host). Presigned URLs plug in here."""
        if self.presign:  # pragma: no cover - s3:// results are refused by ResultsFolder until fmkit.io lands
            raise NotImplementedError("presigned URLs come with fmkit.io's S3 store")  # hook: store.presign(uri, seconds)
        prefix = os.path.relpath(self.folder.root.resolve(), self.out.resolve())
        path = name if prefix == "." else f"{Path(prefix).as_posix()}/{name}"
        return quote(path, safe="/")

    def manifest(self, records: list[Record], stamp: str) -> dict:
        labels: dict[str, int] = {}
        items = []
        for r in records:
            item = {"n": r.name, "k": r.kind, "t": round(r.mtime, 3)}
            if r.image:
                item["u"] = self.image_url(r.image)
            if r.width and r.height:
                item["w"], item["h"] = r.width, r.height
            if r.detections:
                item["d"] = [[labels.setdefault(d[0], len(labels)), *d[1:]] for d in r.detections]
            for key, value in (("m", r.model), ("p", r.params), ("i", r.info), ("e", r.problem), ("ed", r.detail)):
                if value:
                    item[key] = value
            if r.annotated:
                item["a"] = 1
            items.append(item)
        now = time.time()
        return {"format": 1, "stamp": stamp, "generated": round(now, 3), "results": self.folder.uri,
                "lang": self.lang, "labels": list(labels), "items": items,
                "presign": {"seconds": self.presign, "expires": round(now + self.presign)} if self.presign else None}

    def write(self) -> GallerySummary:
        """manifest.js, stamp.js, then index.html (first time only), each atomically."""
        started = time.perf_counter()
        with self._lock:
            if not self.out.is_dir():
                try:
                    self.out.mkdir(parents=True, exist_ok=True)
                except OSError as e:
                    raise OutputError(f"cannot create output folder {self.out}: {e.strerror}", "choose another -o") from None
            records = list(self.records.values())
            self._writes += 1
            stamp = f"{time.time_ns():x}-{self._writes}"
            atomic_write(self.out / "manifest.js", render_manifest(self.manifest(records, stamp)), force=True)
            atomic_write(self.out / "stamp.js", render_stamp(stamp), force=True)
            if not self._page_written:
                atomic_write(self.out / "index.html", render_index(self.lang), force=True)
                self._page_written = True
        return self.summary(records, time.perf_counter() - started)

    def summary(self, records: list[Record], seconds: float) -> GallerySummary:
        s = GallerySummary(str(self.out / "index.html"), len(records), lang=self.lang, seconds=seconds)
        for r in records:
            s.detect += r.kind == "detect"
            s.diffuse += r.kind == "diffuse"
            s.problems += r.problem is not None
            s.boxes += len(r.detections)
            s.labels.update(d[0] for d in r.detections)
        return s


def build_gallery(results: str | Path, out: str | Path | None = None, lang: str = "en",
                  presign: int | None = None, force: bool = False) -> GallerySummary:
    """Write the gallery of a results folder once. A folder without results is a usage error
    (nothing is written)."""
    started = time.perf_counter()
    writer = GalleryWriter(results, out, lang=lang, presign=presign, force=force)
    if writer.collect() == 0:
        raise BadInput(f"{results} holds no results", "run `fmkit detect IMAGES -o RESULTS` (or fmkit diffuse) first")
    summary = writer.write()
    summary.seconds = time.perf_counter() - started
    return summary


def _ours(path: Path) -> bool:
    try:
        with open(path, "rb") as f:
            return MARKER.encode() in f.read(400)
    except OSError:
        return False
