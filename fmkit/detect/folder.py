"""detect's `-o OUTDIR`: the layout and rules of every image capability (fmkit/runs/folder.py),
with boxes and labels drawn into the image, YOLO label files (--save-txt) and COCO boxes (--coco):

    OUTDIR/<name>              the image with boxes drawn (same file name as the source)
    OUTDIR/<name>.json         that image's result, written last
    OUTDIR/labels/<stem>.txt   YOLO label format: class x_center y_center width height (0-1), --save-txt
    OUTDIR/coco.json           every image and box of the run in COCO format, --coco
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path, PurePosixPath

from fmkit.detect.results import DetectResult
from fmkit.runs.folder import SCHEMA, OutputFolder, identity, result_name

__all__ = ["DetectionFolder", "SCHEMA", "identity", "result_name", "yolo_labels"]


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


class DetectionFolder(OutputFolder):
    """OUTDIR for detect: boxes drawn, label files, COCO boxes."""

    def __init__(self, folder, names: dict[int, str] | None = None, save_txt: bool = False, coco: bool = False,
                 force: bool = False, store_options: dict | None = None):
        self.save_txt = save_txt
        super().__init__(folder, names=names, coco=coco, force=force, store_options=store_options)
        ensure_plot_font()

    def render(self, result: DetectResult, suffix: str) -> bytes | None:
        from fmkit.render.detections import annotate

        return annotate(result.image, result.detections, self.names, suffix)

    def extra_paths(self, rel: PurePosixPath) -> dict[str, str]:
        if not self.save_txt:
            return {}
        return {"txt": self.store.join(self.folder, str(PurePosixPath("labels") / rel.with_suffix(".txt")))}

    def write_extras(self, result: DetectResult, paths: dict[str, str]) -> None:
        if "txt" in paths:
            self.store.write_bytes(paths["txt"], yolo_labels(result), force=True)

    def coco_annotations(self, record: dict) -> list[dict]:
        out = []
        for d in record.get("detections", []):
            box = d["box"]
            w, h = box["x2"] - box["x1"], box["y2"] - box["y1"]
            out.append({"category_id": d["class_id"], "bbox": [round(box["x1"], 2), round(box["y1"], 2), round(w, 2),
                                                               round(h, 2)],
                        "area": round(w * h, 2), "iscrowd": 0, "score": round(d["confidence"], 4)})
        return out


def yolo_labels(result: DetectResult) -> str:
    """YOLO txt: one 'class x_center y_center width height' line per box, normalised to 0-1."""
    lines = []
    for d in result.detections:
        xc, yc = (d.x1 + d.x2) / 2 / result.width, (d.y1 + d.y2) / 2 / result.height
        w, h = (d.x2 - d.x1) / result.width, (d.y2 - d.y1) / result.height
        lines.append(f"{d.class_id} {xc:.6f} {yc:.6f} {w:.6f} {h:.6f}")
    return "".join(line + "\n" for line in lines)
