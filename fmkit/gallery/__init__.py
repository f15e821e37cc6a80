"""`fmkit gallery`: one folder (index.html + manifest.js) that shows what detect found, what
segment cut out and what diffuse painted, with boxes as SVG overlays (only hit targets over an
image detect drew its boxes into: see collect.image_for), masks decoded from their RLE and painted
by the page (assets/masks.js), label filters, a confidence slider and sorting.
Works opened from disk and on any static web host; an open page picks up new results.

Light to import: standard library only (no PIL, no torch).
"""

from fmkit.gallery.writer import GalleryWriter, GallerySummary, build_gallery

__all__ = ["GalleryWriter", "GallerySummary", "build_gallery"]
