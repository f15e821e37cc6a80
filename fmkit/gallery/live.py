"""`fmkit detect -o OUTDIR --gallery`: the results page kept current while detect runs.

The page is written once when the run starts (with what OUTDIR already holds); after each
image's result JSON is written, its card is added and only the data files (manifest.js,
stamp.js) are rewritten, nothing is listed or read again, so a page open over http picks the
new result up by itself. OUTDIR may be a bucket prefix (`-o s3://b/results/`): the page's files
are written there through the same store detect writes with.
"""

from __future__ import annotations


def attach(run, lang: str = "en") -> None:
    """Hook a GalleryWriter onto a DetectRun (which has created OUTDIR already)."""
    from fmkit.runs.folder import SCHEMA
    from fmkit.gallery.writer import GalleryWriter

    writer = GalleryWriter(run.folder.folder, lang=lang, store=run.folder.store)
    writer.refresh()
    before = run.on_written

    def on_written(result) -> None:
        if before is not None:
            before(result)
        writer.add({**result.to_dict(), "schema": SCHEMA, "identity": result.identity, "run": run.folder.run_key})

    run.on_written = on_written
