"""segment's `-o OUTDIR`: the layout and rules of every image capability (fmkit/runs/folder.py),
with masks drawn into the image, the clean original beside it, cut-outs and COCO masks:

    OUTDIR/<name>                the image with translucent masks, outlines and prompts
    OUTDIR/<name>.json           that image's result (masks as COCO RLE), written last
    OUTDIR/originals/<name>      the clean image (outputs.original: the gallery draws masks over it)
    OUTDIR/cutouts/<name>.png    the masked pixels on a transparent background, --cutout
    OUTDIR/coco.json             every image and mask of the run in COCO format (RLE), --coco
"""

from __future__ import annotations

from pathlib import PurePosixPath

from fmkit.runs.folder import OutputFolder
from fmkit.segment.results import SegmentResult

UNLABELLED = "object"  # the COCO category of masks no detector named


class SegmentFolder(OutputFolder):
    """OUTDIR for segment: masks drawn, the original kept, cut-outs, COCO masks."""

    def __init__(self, folder, coco: bool = False, cutout: bool = False, force: bool = False,
                 store_options: dict | None = None):
        self.cutout = cutout
        super().__init__(folder, names={0: UNLABELLED}, coco=coco, force=force, store_options=store_options)

    def render(self, result: SegmentResult, suffix: str) -> bytes | None:
        from fmkit.render.masks import annotate

        return annotate(result.image, result.masks, suffix)

    def extra_paths(self, rel: PurePosixPath) -> dict[str, str]:
        paths = {"original": self.store.join(self.folder, str(PurePosixPath("originals") / rel))}
        if self.cutout:
            # Named after the whole result name (bus.jpg -> bus.jpg.png), as unique as result names are:
            # with_suffix would send bus.jpg and bus.png to one file.
            name = rel if rel.suffix.lower() == ".png" else rel.with_name(rel.name + ".png")
            paths["cutout"] = self.store.join(self.folder, str(PurePosixPath("cutouts") / name))
        return paths

    def write_extras(self, result: SegmentResult, paths: dict[str, str]) -> None:
        from fmkit.render.masks import cutout, encode

        self.store.write_bytes(paths["original"], encode(result.image, PurePosixPath(paths["image"]).suffix),
                               force=True)
        if "cutout" in paths:
            png = cutout(result.image, result.masks)
            if png is None:  # no mask covers anything: no cut-out, and the JSON names none
                result.outputs.pop("cutout", None)
            else:
                self.store.write_bytes(paths["cutout"], png, force=True)

    def coco_annotations(self, record: dict) -> list[dict]:
        """One annotation per mask, `segmentation` as RLE; categories are the labels met so far
        (run under the folder's lock, so the names grow consistently across writer threads)."""
        ids = {name: i for i, name in self.names.items()}
        out = []
        for m in record.get("masks", []):
            label = m.get("label") or UNLABELLED
            if label not in ids:
                ids[label] = len(self.names)
                self.names[ids[label]] = label
            b = m["box"]
            out.append({"category_id": ids[label], "segmentation": m["rle"], "area": m["area"],
                        "bbox": [b["x1"], b["y1"], round(b["x2"] - b["x1"], 1), round(b["y2"] - b["y1"], 1)],
                        "iscrowd": 0, "score": m["score"]})
        return out
