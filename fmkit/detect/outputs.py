"""Files `fmkit detect -o OUTDIR` writes, at predictable names under exactly OUTDIR (a local
folder or an `s3://bucket/prefix/`), the same layout in both:

    OUTDIR/<name>              the image with boxes drawn (same file name as the source)
    OUTDIR/<name>.json         that image's result (the `--json` object plus what made it),
                               written LAST: its presence marks a complete result
    OUTDIR/labels/<stem>.txt   YOLO label format: class x_center y_center width height (0-1), --save-txt
    OUTDIR/coco.json           every image and box of the run in COCO format, --coco

<name> is the file name, or the path inside a folder given as a source. Re-runs are
idempotent: a result JSON records the source's identity (size and mtime locally, ETag and
size in S3), the model and the parameters; a source whose result matches is skipped, one
whose upload was replaced is redone in place, and --force redoes everything. A name taken by
another source's result (or by a file fmkit did not write) gets a numbered name (bus-2.jpg).
"""

from __future__ import annotations

import json
import os
import shutil
import threading
from pathlib import Path, PurePosixPath
from typing import Any

from fmkit import io
from fmkit.detect.results import DetectResult
from fmkit.errors import OutputError

ENCODABLE = (".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff")
SCHEMA = 1  # the version of the result JSON's layout; the gallery reads it


def ensure_plot_font() -> None:
    """Ultralytics downloads Arial.ttf the first time it draws text with PIL (non-ASCII labels);
    a local TTF under $YOLO_CONFIG_DIR/Ultralytics/ under that name keeps it offline."""
    config = os.environ.get("YOLO_CONFIG_DIR")
    if not config:
        return
    folder = Path(config) / "Ultralytics"
    targets = [folder / "Arial.ttf", folder / "Arial.Unicode.ttf"]
    if all(t.exists() for t in targets):
        return
    try:
        import matplotlib

        font = Path(matplotlib.get_data_path()) / "fonts" / "ttf" / "DejaVuSans.ttf"
        folder.mkdir(parents=True, exist_ok=True)
        for target in targets:
            if not target.exists() and font.is_file():
                shutil.copyfile(font, target)
    except (ImportError, OSError):
        pass  # cv2 draws ASCII labels without any font file


def inside(inner: str, outer: str) -> bool:
    """Is location `inner` the same as or below `outer` (paths resolved, bucket keys compared)?"""
    if io.is_remote(inner) != io.is_remote(outer):
        return False
    if io.is_remote(inner):
        a, b = inner.rstrip("/") + "/", outer.rstrip("/") + "/"
    else:
        a, b = os.path.realpath(inner) + os.sep, os.path.realpath(outer) + os.sep
    return a.startswith(b)


class OutputFolder:
    """Writes each result's files into OUTDIR, and the run's COCO file when closed."""

    def __init__(self, folder: str | Path, names: dict[int, str] | None = None, save_txt: bool = False,
                 coco: bool = False, force: bool = False, store_options: dict | None = None):
        """Checks (and creates) OUTDIR at once, before any model loads; `names` may come later."""
        self.folder = str(folder) if io.is_remote(str(folder)) else os.path.expanduser(str(folder))
        self.store = io.store_for(self.folder, **(store_options or {}))
        self.store.prepare_folder(self.folder)
        self.names, self.save_txt, self.force = names or {}, save_txt, force
        self.coco: dict | None = {"images": [], "annotations": [], "categories": []} if coco else None
        self.run_key: dict[str, Any] = {}  # model and parameters: what makes a stored result reusable
        self.tag: dict[str, Any] = {}  # extra keys for each result JSON (a cluster run's name)
        self.skipped = 0
        self._claimed: dict[str, str] = {}  # names this run writes (result name -> source), across writer threads
        self._probed: dict[str, str] = {}  # source uri -> the first free name done() found (saves a bucket's HEADs)
        self._lock = threading.Lock()
        ensure_plot_font()

    # --- names ---------------------------------------------------------------------------

    def paths(self, name: str) -> dict[str, str]:
        rel = PurePosixPath(name)
        paths = {"image": self.store.join(self.folder, str(rel)), "json": self.store.join(self.folder, f"{rel}.json")}
        if self.save_txt:
            paths["txt"] = self.store.join(self.folder, str(PurePosixPath("labels") / rel.with_suffix(".txt")))
        return paths

    def stored(self, name: str) -> dict | None:
        """The result JSON already under this name, or None (missing or unreadable)."""
        try:
            data = json.loads(self.store.read_bytes(self.paths(name)["json"]))
        except (OSError, ValueError):
            return None
        except Exception:  # noqa: BLE001 - a bucket's missing key or denied read: treat as not there
            return None
        return data if isinstance(data, dict) else None

    def _holding(self, source) -> tuple[str | None, dict | None]:
        """(the name under which OUTDIR holds this source's result: bus.jpg, or bus-2.jpg when
        bus.jpg was taken; its JSON record), or (None, None)."""
        rel = PurePosixPath(_output_name(source.name or os.path.basename(source.uri)))
        candidate, n = str(rel), 1
        while self.store.exists(self.paths(candidate)["image"]) or self.store.exists(self.paths(candidate)["json"]):
            found = self.stored(candidate)
            if found and found.get("source") == source.label:
                return candidate, found
            n += 1
            candidate = str(rel.with_name(f"{rel.stem}-{n}{rel.suffix}"))
        if not self.save_txt:  # the first name nothing holds: write_files need not ask the store again
            self._probed[source.uri] = candidate
        return None, None

    def done(self, source) -> bool:
        """True when OUTDIR already holds this exact source's result, made the same way (skip it);
        a skipped result still goes into this run's COCO file."""
        if self.force:
            return False
        name, found = self._holding(source)  # the record read once (a bucket: one GET per result)
        if not found or found.get("identity") != _identity(source) or found.get("run") != self.run_key:
            return False
        if self.coco is not None:
            self._add_coco(found, name)
        return True

    def _free_name(self, source) -> str:
        """Where this source's result goes: where it already is (redone in place), else the first
        name that neither another source's result, a foreign file, nor another image of this run
        (written in parallel) holds: bus.jpg, bus-2.jpg ..."""
        free = self._probed.pop(source.uri, None)  # found free by done() a moment ago, in the decode thread
        held = None if free else self._holding(source)[0]
        with self._lock:
            if held and self._claimed.get(held, source.label) == source.label:
                self._claimed[held] = source.label
                return held
            if free and free not in self._claimed:
                self._claimed[free] = source.label
                return free
            rel = PurePosixPath(_output_name(source.name or os.path.basename(source.uri)))
            candidate, n = str(rel), 1
            while candidate in self._claimed or (  # --force overwrites: no need to ask the store
                    not self.force and any(self.store.exists(p) for p in self.paths(candidate).values())):
                n += 1
                candidate = str(rel.with_name(f"{rel.stem}-{n}{rel.suffix}"))
            self._claimed[candidate] = source.label
            return candidate

    # --- writing -------------------------------------------------------------------------

    def write_files(self, result: DetectResult, source) -> dict[str, str]:
        """Write the annotated image (and label file); the JSON comes later in `commit`."""
        if not result.ok or result.image is None:
            self._probed.pop(source.uri, None)
            return {}
        name = self._free_name(source)
        paths = self.paths(name)
        result.outputs = dict(paths)
        result.identity = _identity(source)
        self.store.write_bytes(paths["image"], self._annotated(result, PurePosixPath(name).suffix), force=True)
        if "txt" in paths:
            self.store.write_bytes(paths["txt"], yolo_labels(result), force=True)
        return result.outputs

    def discard(self, result: DetectResult, written) -> None:
        """Remove the files of a result that was written but never reported (the run was interrupted)."""
        try:
            written.result()
        except Exception:  # noqa: BLE001 - its own error is moot now; nothing to remove if nothing was written
            pass
        for key in ("image", "txt"):
            if key in result.outputs:
                try:
                    self.store.delete(result.outputs[key])
                except Exception:  # noqa: BLE001 - best effort while stopping
                    pass

    def commit(self, result: DetectResult) -> None:
        """The result JSON, last: from now on the result counts as complete."""
        if not result.outputs:
            return
        record = {**result.to_dict(), "schema": SCHEMA, "identity": result.identity, "run": self.run_key, **self.tag}
        self.store.write_bytes(result.outputs["json"], json.dumps(record, ensure_ascii=False, indent=1) + "\n",
                               force=True)
        if self.coco is not None:
            image = result.outputs["image"]
            self._add_coco(record, image[len(self.folder):].lstrip("/\\") if image.startswith(self.folder) else image)

    def _annotated(self, result: DetectResult, suffix: str) -> bytes:
        from fmkit.render.detections import annotate

        encoded = annotate(result.image, result.detections, self.names, suffix)
        if encoded is None:
            raise OutputError(f"cannot encode an annotated image as {suffix}", "use .jpg or .png sources")
        return encoded

    def _add_coco(self, record: dict, file_name: str) -> None:
        """One result (its JSON object) into the run's COCO file."""
        images, annotations = self.coco["images"], self.coco["annotations"]
        image_id = len(images) + 1
        images.append({"id": image_id, "file_name": file_name, "width": record.get("width"),
                       "height": record.get("height"), "source": record.get("source")})
        for d in record.get("detections", []):
            box = d["box"]
            w, h = box["x2"] - box["x1"], box["y2"] - box["y1"]
            annotations.append({"id": len(annotations) + 1, "image_id": image_id, "category_id": d["class_id"],
                                "bbox": [round(box["x1"], 2), round(box["y1"], 2), round(w, 2), round(h, 2)],
                                "area": round(w * h, 2), "iscrowd": 0, "score": round(d["confidence"], 4)})

    def close(self, complete: bool = True) -> str | None:
        """Write the run's COCO file (if asked for) under a free name; returns where.

        An interrupted run's file says so (`"info": {"complete": false}`) and is named coco-partial.json."""
        if self.coco is None or not (self.coco["images"] or complete):
            return None
        self.coco["categories"] = [{"id": i, "name": n} for i, n in sorted(self.names.items())]
        self.coco["info"] = {"complete": complete, "images": len(self.coco["images"]), **self.run_key}
        base = "coco.json" if complete else "coco-partial.json"
        name, n = base, 1
        while self.store.exists(self.store.join(self.folder, name)) and not (self.force and complete):
            n += 1
            name = base.replace(".json", f"-{n}.json")
        path = self.store.join(self.folder, name)
        self.store.write_bytes(path, json.dumps(self.coco, ensure_ascii=False) + "\n", force=True)
        return path


def _output_name(name: str) -> str:
    return name if name.lower().endswith(ENCODABLE) else name + ".png"


def _identity(source) -> dict:
    return {"source": source.label, "version": source.version}


def yolo_labels(result: DetectResult) -> str:
    """YOLO txt: one 'class x_center y_center width height' line per box, normalised to 0-1."""
    lines = []
    for d in result.detections:
        xc, yc = (d.x1 + d.x2) / 2 / result.width, (d.y1 + d.y2) / 2 / result.height
        w, h = (d.x2 - d.x1) / result.width, (d.y2 - d.y1) / result.height
        lines.append(f"{d.class_id} {xc:.6f} {yc:.6f} {w:.6f} {h:.6f}")
    return "".join(line + "\n" for line in lines)
