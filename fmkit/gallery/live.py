"""`fmkit detect -o OUTDIR --gallery`: the results page kept current while detect runs.

The page is written once when the run starts (with what OUTDIR already holds); after each
image's result JSON is written, its card is added and only the data file is rewritten, so a
page open over http picks the new result up by itself.
"""

from __future__ import annotations


def attach(run, lang: str = "en") -> None:
    """Hook a GalleryWriter onto a DetectRun (which has created OUTDIR already)."""
    from fmkit.detect.outputs import SCHEMA
    from fmkit.gallery.writer import GalleryWriter

    writer = GalleryWriter(run.folder.folder, lang=lang)
    writer.refresh()
    before = run.on_written

    def on_written(result) -> None:
        if before is not None:
            before(result)
        writer.add({**result.to_dict(), "schema": SCHEMA, "identity": result.identity, "run": run.folder.run_key})

    run.on_written = on_written
