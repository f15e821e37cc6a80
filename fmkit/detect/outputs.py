"""Files `fmkit detect -o OUTDIR` writes, at predictable paths under exactly OUTDIR:

    OUTDIR/<name>              the image with boxes drawn (same file name as the source)
    OUTDIR/<name>.json         that image's result (the same object `--json` prints)
    OUTDIR/labels/<stem>.txt   YOLO label format: class x_center y_center width height (0-1), --save-txt
    OUTDIR/coco.json           every image and box of the run in COCO format, --coco

<name> is the file name, or the path inside a folder given as a source. Every write is
atomic. A name already taken (another file, or a second source with the same name) gets a
numbered name instead (bus-2.jpg); --force overwrites.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path, PurePosixPath

from fmkit import output
from fmkit.errors import OutputError
from fmkit.detect.detector import ImageResult

ENCODABLE = (".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff")


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


class OutputFolder:
    """Writes each result's files into OUTDIR, and the run's COCO file when closed."""

    def __init__(self, folder: Path, names: dict[int, str] | None = None, save_txt: bool = False, coco: bool = False,
                 force: bool = False):
        """Checks (and creates) OUTDIR at once, before any model loads; `names` may come later."""
        self.folder = Path(folder).expanduser()
        if self.folder.exists() and not self.folder.is_dir():
            raise OutputError(f"output path {self.folder} is a file", "give a folder for -o")
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise OutputError(f"cannot create output folder {self.folder}: {e.strerror}", "choose another path") from None
        if not os.access(self.folder, os.W_OK | os.X_OK):
            raise OutputError(f"cannot write to folder {self.folder} (permission denied)", "choose another path")
        self.names, self.save_txt, self.force = names or {}, save_txt, force
        self.coco_path = self.folder / "coco.json"
        if coco and self.coco_path.exists() and not force:
            raise OutputError(f"{self.coco_path} already exists", "pass --force to overwrite it, or choose another -o")
        self.coco: dict | None = {"images": [], "annotations": [], "categories": []} if coco else None
        ensure_plot_font()

    # --- names ---------------------------------------------------------------------------

    def paths(self, name: str) -> dict[str, Path]:
        rel = PurePosixPath(name)
        paths = {"image": self.folder / rel, "json": self.folder / f"{rel}.json"}
        if self.save_txt:
            paths["txt"] = self.folder / "labels" / rel.with_suffix(".txt")
        return paths

    def done(self, name: str) -> bool:
        """True when a result for this name is already in OUTDIR (watch mode skips it)."""
        return self.paths(name)["json"].exists()

    def _free_name(self, name: str) -> str:
        if self.force or not any(p.exists() for p in self.paths(name).values()):
            return name
        rel = PurePosixPath(name)
        n = 2
        while True:
            candidate = str(rel.with_name(f"{rel.stem}-{n}{rel.suffix}"))
            if not any(p.exists() for p in self.paths(candidate).values()):
                return candidate
            n += 1

    # --- writing -------------------------------------------------------------------------

    def write(self, result: ImageResult) -> dict[str, str]:
        """Write one successful result's files; returns {"image", "json", ["txt"]} paths."""
        if not result.ok or result.image is None:
            return {}
        name = result.name or Path(result.source).name
        if not name.lower().endswith(ENCODABLE):
            name += ".png"
        paths = self.paths(self._free_name(name))
        for p in paths.values():
            p.parent.mkdir(parents=True, exist_ok=True)
        result.outputs = {k: str(p) for k, p in paths.items()}
        output.atomic_write(paths["image"], self._annotated(result, paths["image"].suffix), force=self.force)
        if "txt" in paths:
            output.atomic_write(paths["txt"], yolo_labels(result), force=self.force)
        output.atomic_write(paths["json"], json.dumps(result.to_dict(), ensure_ascii=False, indent=1) + "\n",
                            force=self.force)
        if self.coco is not None:
            self._add_coco(result, paths["image"].relative_to(self.folder).as_posix())
        return result.outputs

    def _annotated(self, result: ImageResult, suffix: str) -> bytes:
        """The source image with labelled boxes, encoded in the source's format."""
        import cv2
        import numpy as np
        from ultralytics.utils.plotting import Annotator, colors

        bgr = np.ascontiguousarray(result.image[..., ::-1])
        annotator = Annotator(bgr, example=str(list(self.names.values())))
        for d in result.detections:
            annotator.box_label((d.x1, d.y1, d.x2, d.y2), f"{d.label} {d.confidence:.2f}", color=colors(d.class_id, True))
        ok, encoded = cv2.imencode(suffix.lower(), np.asarray(annotator.result()))
        if not ok:
            raise OutputError(f"cannot encode an annotated image as {suffix}", "use .jpg or .png sources")
        return encoded.tobytes()

    def _add_coco(self, result: ImageResult, file_name: str) -> None:
        images, annotations = self.coco["images"], self.coco["annotations"]
        image_id = len(images) + 1
        images.append({"id": image_id, "file_name": file_name, "width": result.width, "height": result.height,
                       "source": result.source})
        for d in result.detections:
            w, h = d.x2 - d.x1, d.y2 - d.y1
            annotations.append({"id": len(annotations) + 1, "image_id": image_id, "category_id": d.class_id,
                                "bbox": [round(d.x1, 2), round(d.y1, 2), round(w, 2), round(h, 2)],
                                "area": round(w * h, 2), "iscrowd": 0, "score": round(d.confidence, 4)})

    def close(self) -> Path | None:
        """Write the run's COCO file (if asked for); returns its path."""
        if self.coco is None:
            return None
        self.coco["categories"] = [{"id": i, "name": n} for i, n in sorted(self.names.items())]
        output.atomic_write(self.coco_path, json.dumps(self.coco, ensure_ascii=False) + "\n", force=True)
        return self.coco_path


def yolo_labels(result: ImageResult) -> str:
    """YOLO txt: one 'class x_center y_center width height' line per box, normalised to 0-1."""
    lines = []
    for d in result.detections:
        xc, yc = (d.x1 + d.x2) / 2 / result.width, (d.y1 + d.y2) / 2 / result.height
        w, h = (d.x2 - d.x1) / result.width, (d.y2 - d.y1) / result.height
        lines.append(f"{d.class_id} {xc:.6f} {yc:.6f} {w:.6f} {h:.6f}")
    return "".join(line + "\n" for line in lines)
