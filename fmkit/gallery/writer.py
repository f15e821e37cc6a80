"""Build and keep current the gallery of a results folder (local, or `s3://bucket/prefix/`).

    GalleryWriter(results, out, lang)   checks the folders; .refresh() reads everything and writes
                                        the page; .add(result) takes one new detect result and
                                        rewrites only the data (what `detect --gallery` calls)
    build_gallery(results, out, lang)   one-shot: what `fmkit gallery` calls

Where the page goes and how it links the images:
    beside the results (the default; or any -o in the same place: the same disk, the same bucket)
        relative links: the one folder (or prefix) is the whole site, served by any static host,
        an S3 static website, or opened from disk
    elsewhere (-o DIR for s3:// results)
        absolute links: presigned GET URLs (--presign SECONDS, a private bucket; the page says
        when they expire) or PUBLIC_URL_BASE + name (--public-url-base, a public bucket,
        website or CDN)
"""

from __future__ import annotations

import math
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote, urlsplit

from fmkit import io
from fmkit.errors import BadInput, FmkitError, OutputError
from fmkit.gallery.collect import Record, ResultsFolder, collect, record_from_dict
from fmkit.gallery.i18n import strings
from fmkit.gallery.page import MARKER, render_index, render_manifest, render_stamp

FILES = ("manifest.js", "stamp.js", "index.html")  # written in this order: data first, page last
CONTENT_TYPES = {"index.html": "text/html; charset=utf-8",  # what a bucket serves them as
                 "manifest.js": "text/javascript; charset=utf-8", "stamp.js": "text/javascript; charset=utf-8"}
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
    segment: int = 0
    masks: int = 0
    labels: Counter = field(default_factory=Counter)
    lang: str = "en"
    seconds: float = 0.0

    def to_dict(self) -> dict:
        return {"index": self.index, "results": self.results, "detect": self.detect, "diffuse": self.diffuse,
                "segment": self.segment, "problems": self.problems, "boxes": self.boxes, "masks": self.masks,
                "labels": dict(self.labels.most_common()),
                "lang": self.lang, "seconds": round(self.seconds, 3)}


def check_presign(presign: int | None) -> None:
    """--presign SECONDS: a positive number of seconds up to 7 days."""
    if presign is not None and (presign <= 0 or presign > MAX_PRESIGN):
        raise BadInput(f"--presign {presign} is out of range", f"give 1 to {MAX_PRESIGN} seconds (7 days)")


class GalleryWriter:
    """The gallery of one results folder, written into `out` (default: the results folder
    itself, so the one folder is the whole site). `out` may be a local folder or an s3://
    prefix. Thread-safe: detect may call add() from its writer thread."""

    def __init__(self, results: str | Path, out: str | Path | None = None, lang: str = "en",
                 presign: int | None = None, force: bool = False, public_url_base: str | None = None,
                 store=None, store_options: dict | None = None):
        # Usage errors first, before any request goes out.
        strings(lang)  # unknown language
        results = str(results)
        check_presign(presign)
        if public_url_base is not None and urlsplit(public_url_base).scheme not in ("http", "https"):
            raise BadInput(f"--public-url-base {public_url_base!r} is not an http(s) URL",
                           "give the URL the RESULTS folder is served at, e.g. https://BUCKET.s3.REGION.amazonaws.com/results/")
        if presign and public_url_base:
            raise BadInput("--presign and --public-url-base both say how to link the images", "give one of them")
        results_store = store or io.store_for(results, **(store_options or {}))
        out_text = str(out) if out is not None else results
        self.out_store = io.store_for(out_text, **(store_options or {}))
        if self.out_store.place(out_text) == results_store.place(results):
            self.out_store = results_store  # one bucket, one client
        self.out = self.out_store.normalize(out_text, folder=True)
        self.links = self._link_mode(results_store, results, presign, public_url_base)
        # Then the places themselves.
        self.folder = ResultsFolder(results, store=results_store)
        if self.out != self.folder.uri:
            self.out_store.check_folder_writable(self.out)
        self.lang, self.presign, self.force, self.public_url_base = lang, presign, force, public_url_base
        self.records: dict[str, Record] = {}
        self._lock = threading.Lock()
        self._page_written = False
        self._writes = 0
        self._urls: dict[str, str] = {}  # presigned URLs, made once per image
        self._signed_at: float | None = None  # when the oldest of them was made
        self._relative = self._relative_prefix() if self.links == "relative" else None
        self.image_origins = self._image_origins()
        self._check_out()

    def _link_mode(self, results_store, results: str, presign: int | None, base: str | None) -> str:
        """How the page links its images: 'relative', 'presign' or 'base' (checked without I/O)."""
        same_place = self.out_store.place(self.out) == results_store.place(results)  # one disk, or one bucket
        if presign:
            if not results_store.can_presign:
                raise BadInput("--presign needs an s3:// RESULTS", "local images are linked directly; drop --presign")
            if same_place:
                raise BadInput("--presign is for a page outside the bucket: inside it, images are linked relatively",
                               "add -o DIR to write the page into a local folder with presigned image links")
            return "presign"
        if base:
            return "base"
        if same_place:
            return "relative"
        if not results_store.can_presign:
            raise BadInput("a page in a bucket cannot show images from this machine's disk",
                           "write the page to a local folder, or the results into the bucket (detect -o s3://...)")
        raise BadInput(f"a page outside {results_store.place(results)} needs absolute image links",
                       "pass --presign SECONDS (a private bucket) or --public-url-base URL (a public bucket or "
                       "website); or leave out -o to write the page into the results prefix")

    def _relative_prefix(self) -> str:
        """The path from the page's folder to the results folder ('.' when they are one)."""
        return self.out_store.link(self.out, self.folder.uri)

    def _image_origins(self) -> tuple[str, ...]:
        """Where absolute image links point (for the page's Content-Security-Policy)."""
        if self.links == "relative":
            return ()
        sample = self.image_url("fmkit-origin-probe.jpg", cache=False)
        parts = urlsplit(sample)
        return (f"{parts.scheme}://{parts.netloc}",)

    def _out_file(self, name: str) -> str:
        return self.out_store.join(self.out, name)

    def _check_out(self) -> None:
        """Fail before reading anything when -o holds a page file fmkit did not write."""
        if self.force:
            return
        for name in FILES:
            where = self._out_file(name)
            if self.out_store.exists(where) and not self._ours(where):
                raise OutputError(f"{where} exists and was not written by fmkit gallery",
                                  "pass --force to replace it, or choose another -o")

    def _ours(self, where: str) -> bool:
        """True when the file (or object) at `where` is one fmkit gallery wrote (its marker)."""
        try:
            start = self.out_store.read_head(where, 400)
        except (OSError, FmkitError):
            return False
        return MARKER.encode() in start

    # --- reading ---------------------------------------------------------------------------

    def collect(self) -> int:
        """Read every result of the folder again; returns how many there are."""
        records = collect(self.folder)
        with self._lock:
            self.records = {r.name: r for r in records}
            return len(self.records)

    def add(self, result: dict) -> None:
        """One detect result (the dict written to OUTDIR/<name>.json): add or replace its card
        and rewrite the data (not the page, once it exists). Reads nothing from a bucket: the
        result names its own files, which detect has just written."""
        outputs = result.get("outputs") if isinstance(result.get("outputs"), dict) else {}
        json_name = self.folder.inside(outputs["json"]) if isinstance(outputs.get("json"), str) else None
        image = self.folder.inside(outputs["image"]) if isinstance(outputs.get("image"), str) else None
        if json_name is None and image:
            json_name = f"{image}.json"
        if json_name is None:
            raise BadInput("this result has no files inside the results folder", "add results written with -o RESULTS")
        known = _Written(self.folder, {n for n in (json_name, image) if n})
        record = record_from_dict(self.folder, json_name, result, time.time(), known)
        with self._lock:
            self.records[record.name] = record
        self.write()

    def refresh(self) -> GallerySummary:
        """Read the folder again and write everything (the page too)."""
        self.collect()
        with self._lock:
            self._page_written = False
            self._urls.clear()
            self._signed_at = None
        return self.write()

    # --- writing ---------------------------------------------------------------------------

    def image_url(self, name: str, cache: bool = True) -> str:
        """The URL the page uses for an image inside the results folder: relative to the page
        (works from disk, on any static host and in the bucket), presigned, or under
        --public-url-base."""
        if self.links == "presign":
            url = self._urls.get(name) if cache else None
            if url is None:
                signed_at = time.time()
                url = self.folder.store.presign(self.folder.location(name), self.presign)
                if cache:
                    self._urls[name] = url
                    self._signed_at = signed_at if self._signed_at is None else min(self._signed_at, signed_at)
            return url
        if self.links == "base":
            return self.public_url_base.rstrip("/") + "/" + quote(name, safe="/")
        path = name if self._relative == "." else f"{self._relative}/{name}"
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
            if r.masks:  # [label index or -1, score, x1, y1, x2, y2, area, id, prompt type, RLE text]
                item["s"] = [[-1 if m.label is None else labels.setdefault(m.label, len(labels)), m.score, *m.box,
                              m.area, m.id, m.prompt, m.counts] for m in r.masks]
                item["ms"] = list(r.mask_size)
            for key, value in (("m", r.model), ("p", r.params), ("i", r.info), ("e", r.problem), ("ed", r.detail)):
                if value:
                    item[key] = value
            if r.annotated:
                item["a"] = 1
            items.append(item)
        now = time.time()
        presign = None
        if self.links == "presign":  # the earliest link's expiry, rounded down: every link works until then
            presign = {"seconds": self.presign, "expires": math.floor((self._signed_at or now) + self.presign)}
        return {"format": 1, "stamp": stamp, "generated": round(now, 3), "results": self.folder.uri,
                "lang": self.lang, "labels": list(labels), "items": items, "presign": presign}

    def write(self) -> GallerySummary:
        """manifest.js, stamp.js, then index.html (first time only), each atomically (a local
        file renamed into place; one PutObject in a bucket)."""
        started = time.perf_counter()
        with self._lock:
            if not self._page_written and self.out_store.folder_missing(self.out):
                self.out_store.prepare_folder(self.out)  # created now, once there is a page to write
            records = list(self.records.values())
            self._writes += 1
            stamp = f"{time.time_ns():x}-{self._writes}"
            self._put("manifest.js", render_manifest(self.manifest(records, stamp)))
            self._put("stamp.js", render_stamp(stamp))
            if not self._page_written:
                self._put("index.html", render_index(self.lang, self.image_origins))
                self._page_written = True
        return self.summary(records, time.perf_counter() - started)

    def _put(self, name: str, text: str) -> None:
        self.out_store.write_bytes(self._out_file(name), text.encode("utf-8"), force=True,
                                   content_type=CONTENT_TYPES[name])

    def summary(self, records: list[Record], seconds: float) -> GallerySummary:
        s = GallerySummary(self._out_file("index.html"), len(records), lang=self.lang, seconds=seconds)
        for r in records:
            s.detect += r.kind == "detect"
            s.diffuse += r.kind == "diffuse"
            s.problems += r.problem is not None
            s.segment += r.kind == "segment"
            s.boxes += len(r.detections)
            s.masks += len(r.masks)
            s.labels.update(d[0] for d in r.detections)
            s.labels.update(m.label for m in r.masks if m.label is not None)
        return s


def build_gallery(results: str | Path, out: str | Path | None = None, lang: str = "en",
                  presign: int | None = None, force: bool = False, public_url_base: str | None = None,
                  store_options: dict | None = None) -> GallerySummary:
    """Write the gallery of a results folder once. A folder without results is a usage error
    (nothing is written)."""
    started = time.perf_counter()
    writer = GalleryWriter(results, out, lang=lang, presign=presign, force=force, public_url_base=public_url_base,
                           store_options=store_options)
    if writer.collect() == 0:
        raise BadInput(f"{results} holds no results", "run `fmkit detect IMAGES -o RESULTS` (or fmkit segment, fmkit diffuse) first")
    summary = writer.write()
    summary.seconds = time.perf_counter() - started
    return summary


class _Written:
    """Names known to exist (a result's own files, just written by detect); anything else is
    asked of the folder."""

    def __init__(self, folder: ResultsFolder, names: set[str]):
        self.folder, self.names = folder, names

    def __contains__(self, name: object) -> bool:
        return name in self.names or (isinstance(name, str) and self.folder.exists(name))
