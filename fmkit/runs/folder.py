"""Files a capability writes with `-o OUTDIR`, at predictable names under exactly OUTDIR (a local
folder or an `s3://bucket/prefix/`), the same layout in both:

    OUTDIR/<name>              the source drawn over (boxes, masks): same file name as the source
    OUTDIR/<name>.json         that image's result (the `--json` object plus what made it),
                               written LAST: its presence marks a complete result
    OUTDIR/<extra files>       a capability's own (detect: labels/<stem>.txt with --save-txt)
    OUTDIR/coco.json           every image and object of the run in COCO format, --coco

<name> is the file name, or the path inside a folder given as a source. Re-runs are
idempotent: a result JSON records the source's identity (size and mtime locally, ETag and
size in S3), the model and the parameters; a source whose result matches is skipped, one
whose upload was replaced is redone in place, and --force redoes everything. A name taken by
another source's result (or by a file fmkit did not write) gets a numbered name (bus-2.jpg,
fmkit/io/names.py); an annotated image whose JSON never came (its writer was killed between
the two) and that holds exactly the bytes this run would write is taken back in place.

A capability subclasses OutputFolder with how its results are drawn (`render`), its extra files
(`extra_paths`, `write_extras`) and its COCO annotations (`coco_annotations`).
"""

from __future__ import annotations

import json
import posixpath
import threading
from pathlib import Path, PurePosixPath
from typing import Any

from fmkit import io
from fmkit.errors import OutputError
from fmkit.io.names import candidates, first_free
from fmkit.runs.results import ImageResult

ENCODABLE = (".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff")
SCHEMA = 1  # the version of the result JSON's layout; the gallery reads it


class OutputFolder:
    """Writes each result's files into OUTDIR, and the run's COCO file when closed."""

    def __init__(self, folder: str | Path, names: dict[int, str] | None = None, coco: bool = False,
                 force: bool = False, store_options: dict | None = None):
        """Checks (and creates) OUTDIR at once, before any model loads; `names` may come later."""
        self.store = io.store_for(str(folder), **(store_options or {}))
        self.folder = self.store.normalize(str(folder))
        self.store.prepare_folder(self.folder)
        self.names, self.force = names or {}, force
        self.coco: dict | None = {"images": [], "annotations": [], "categories": []} if coco else None
        self.run_key: dict[str, Any] = {}  # model and parameters: what makes a stored result reusable
        self.tag: dict[str, Any] = {}  # keys for each result JSON: {"written_by": the run's name}
        self.skipped = 0
        self._claimed: dict[str, str] = {}  # names this run writes (result name -> source), across writer threads
        self._probed: dict[str, str] = {}  # source uri -> the first name, found free by reusable() (saves HEADs)
        self._lock = threading.Lock()

    # --- what a capability says about its own results -------------------------------------

    def render(self, result: ImageResult, suffix: str) -> bytes | None:
        """The source drawn over with what was found, encoded for `suffix` (None: cannot encode)."""
        raise NotImplementedError

    def extra_paths(self, rel: PurePosixPath) -> dict[str, str]:
        """Files beside the image and JSON, by key (detect: {"txt": labels/<stem>.txt})."""
        return {}

    def write_extras(self, result: ImageResult, paths: dict[str, str]) -> None:
        """Write the files `extra_paths` named (after the image, before the JSON)."""

    def coco_annotations(self, record: dict) -> list[dict]:
        """COCO annotations (without ids) for one result JSON."""
        return []

    # --- names ---------------------------------------------------------------------------

    def paths(self, name: str) -> dict[str, str]:
        rel = PurePosixPath(name)
        return {"image": self.store.join(self.folder, str(rel)), "json": self.store.join(self.folder, f"{rel}.json"),
                **self.extra_paths(rel)}

    def stored(self, name: str) -> dict | None:
        """The result JSON already under this name, or None (missing or unreadable)."""
        try:
            data = json.loads(self.store.read_bytes(self.paths(name)["json"]))
        except (OSError, ValueError):
            return None
        except Exception:  # noqa: BLE001 - a bucket's missing key or denied read: treat as not there
            return None
        return data if isinstance(data, dict) else None

    def _holding(self, source, encoded: bytes | None = None) -> tuple[str | None, dict | None]:
        """(the name under which OUTDIR holds this source's result: bus.jpg, or bus-2.jpg when
        bus.jpg was taken; its JSON record), or (None, None). With `encoded`, an annotated image
        whose JSON never came (its writer was killed between the two) and that holds exactly
        these bytes is this result too: taken back rather than left beside a numbered copy."""
        first = result_name(source)
        orphan = None
        for candidate in candidates(first):
            paths = self.paths(candidate)
            has_image = self.store.exists(paths["image"])
            if not has_image and not self.store.exists(paths["json"]):
                if candidate == first and len(paths) == 2:  # nothing at all here: write_files need not ask again
                    self._probed[source.uri] = candidate
                return orphan, None
            found = self.stored(candidate)
            if found is not None:
                if found.get("source") == source.label:
                    return candidate, found
            elif encoded is not None and orphan is None and _same_bytes(self.store, paths["image"], encoded):
                orphan = candidate
        raise AssertionError("unreachable: candidates() never ends")

    def count_skipped(self, n: int = 1) -> None:
        """Sources whose results were already here (counted from several reading threads)."""
        with self._lock:
            self.skipped += n

    def reusable(self, source) -> dict | None:
        """The stored record when OUTDIR already holds this exact source's complete result, made the
        same way (skip it; it still goes into this run's COCO file); else None."""
        if self.force:
            return None
        name, found = self._holding(source)  # the record read once (a bucket: one GET per result)
        if not found or found.get("identity") != identity(source) or found.get("run") != self.run_key:
            return None
        if self.coco is not None:
            self._add_coco(found, name)
        return found

    def _place(self, source, encoded: bytes) -> str:
        """Where this source's result goes: where it already is (redone in place), or a dead
        writer's image of exactly these bytes, else the first name that neither another source's
        result, a foreign file, nor another image of this run (written in parallel) holds."""
        free = self._probed.pop(source.uri, None)  # found free by reusable() a moment ago, in the read thread
        held = None if free else self._holding(source, None if self.force else encoded)[0]
        self._probed.pop(source.uri, None)  # _holding may have noted it again: a stale note would misname a re-upload
        with self._lock:
            if held and self._claimed.get(held, source.label) == source.label:
                name = held
            elif free and free not in self._claimed:
                name = free
            else:
                name = first_free(result_name(source), lambda candidate: candidate in self._claimed or (
                    not self.force and any(self.store.exists(p) for p in self.paths(candidate).values())))
            self._claimed[name] = source.label
            return name

    # --- writing -------------------------------------------------------------------------

    def write_files(self, result: ImageResult, source) -> dict[str, str]:
        """Write the annotated image (and extra files); the JSON comes later in `commit`."""
        if not result.ok or result.image is None:
            self._probed.pop(source.uri, None)
            return {}
        suffix = PurePosixPath(result_name(source)).suffix
        encoded = self.render(result, suffix)
        if encoded is None:
            raise OutputError(f"cannot encode an annotated image as {suffix}", "use .jpg or .png sources")
        paths = self.paths(self._place(source, encoded))
        result.outputs = dict(paths)
        result.identity = identity(source)
        self.store.write_bytes(paths["image"], encoded, force=True)
        self.write_extras(result, paths)
        return result.outputs

    def discard(self, result: ImageResult, written) -> None:
        """Remove the files of a result that was written but never reported (the run was interrupted).
        Its JSON was never written; one found there is an earlier run's record of the same source,
        whose image was just redone: it goes too, or the next run would skip a result with no image."""
        try:
            written.result()
        except Exception:  # noqa: BLE001 - its own error is moot now; nothing to remove if nothing was written
            pass
        for key in result.outputs:
            try:
                self.store.delete(result.outputs[key])
            except Exception:  # noqa: BLE001 - best effort while stopping (a JSON that is not there included)
                pass

    def commit(self, result: ImageResult) -> None:
        """The result JSON, last: from now on the result counts as complete."""
        if not result.outputs:
            return
        record = {**result.to_dict(), "schema": SCHEMA, "identity": result.identity, "run": self.run_key, **self.tag}
        self.store.write_bytes(result.outputs["json"], json.dumps(record, ensure_ascii=False, indent=1) + "\n",
                               force=True)
        if self.coco is not None:
            image = result.outputs["image"]
            self._add_coco(record, self.store.relative(self.folder, image) or image)

    def _add_coco(self, record: dict, file_name: str) -> None:
        """One result (its JSON object) into the run's COCO file (from any thread)."""
        with self._lock:
            self._add_coco_unlocked(record, file_name)

    def _add_coco_unlocked(self, record: dict, file_name: str) -> None:
        images, annotations = self.coco["images"], self.coco["annotations"]
        image_id = len(images) + 1
        images.append({"id": image_id, "file_name": file_name, "width": record.get("width"),
                       "height": record.get("height"), "source": record.get("source")})
        for annotation in self.coco_annotations(record):
            annotations.append({"id": len(annotations) + 1, "image_id": image_id, **annotation})

    def close(self, complete: bool = True) -> str | None:
        """Write the run's COCO file (if asked for) under a free name; returns where.

        An interrupted run's file says so (`"info": {"complete": false}`) and is named coco-partial.json."""
        if self.coco is None or not (self.coco["images"] or complete):
            return None
        self.coco["categories"] = [{"id": i, "name": n} for i, n in sorted(self.names.items())]
        self.coco["info"] = {"complete": complete, "images": len(self.coco["images"]), **self.run_key}
        base = "coco.json" if complete else "coco-partial.json"
        replace = self.force and complete
        path = self.store.join(self.folder, first_free(base, lambda name: not replace and self.store.exists(
            self.store.join(self.folder, name))))
        self.store.write_bytes(path, json.dumps(self.coco, ensure_ascii=False) + "\n", force=True)
        return path


def result_name(source) -> str:
    """The name a source's result takes in OUTDIR (before numbering): its name or path inside the
    folder it came from; a format the annotated copy cannot be written in gets `.png` added."""
    name = source.name or posixpath.basename(source.uri.replace("\\", "/"))
    return name if name.lower().endswith(ENCODABLE) else name + ".png"


def identity(source) -> dict:
    """What a stored result records of its source, to know it is still the same file."""
    return {"source": source.label, "version": source.version}


def _same_bytes(store, uri: str, data: bytes) -> bool:
    try:
        entry = store.stat(uri)
        return entry is not None and entry.size == len(data) and store.read_bytes(uri) == data
    except Exception:  # noqa: BLE001 - unreadable: not ours to take back
        return False
