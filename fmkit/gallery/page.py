"""The gallery folder: index.html (the page, the same for every run in one language), manifest.js
(the data, `window.FMKIT_GALLERY = {...}`) and stamp.js (a few bytes the open page polls to know
when manifest.js changed).

A script file rather than JSON because Chrome refuses fetch() of local files opened from disk.
Write order is data first, page last, each file atomically: a reader never sees half a page,
and a page never points at data that is not there yet. The page, its style and its script are
package files (assets/page.html, gallery.css; masks.js, the RLE decoder and mask painter, then
gallery.js, as one script), inlined here and allowed by hash.
"""

from __future__ import annotations

import html

from fmkit.gallery.i18n import strings
from fmkit.render.inline import asset, csp_hash, script_json

MARKER = "fmkit gallery"  # in every file we write: we overwrite our own files, never someone else's


def _asset(name: str) -> str:
    return asset("fmkit.gallery", name)


def _script() -> str:
    """The page's one inline script: the mask decoder and painter, then the page itself."""
    return _asset("masks.js") + "\n" + _asset("gallery.js")


def csp(image_origins: tuple[str, ...] = ()) -> str:
    """Only the page's own script (by hash) and the folder's own files ('self': manifest.js,
    stamp.js, the images); no fetch, no frames, no forms. `image_origins` adds the bucket's
    https origin when images are presigned URLs."""
    images = " ".join(("'self'", "data:", *image_origins))
    script, style = _script(), _asset("gallery.css")
    return ("default-src 'none'; "
            f"script-src 'self' {csp_hash(script)}; style-src {csp_hash(style)}; img-src {images}; "
            "connect-src 'none'; base-uri 'none'; form-action 'none'; object-src 'none'")


def render_index(lang: str, image_origins: tuple[str, ...] = ()) -> str:
    """index.html for `lang`: every word from i18n, the data left to manifest.js."""
    words = strings(lang)
    esc = {k: html.escape(v) for k, v in words.items()}
    return _asset("page.html").format(lang=lang, marker=MARKER, csp=html.escape(csp(image_origins)),
                                      style=_asset("gallery.css"), script=_script(),
                                      strings=script_json(words), **esc)


def render_manifest(manifest: dict) -> str:
    return f"// {MARKER} data\nwindow.FMKIT_GALLERY = {script_json(manifest)};\n"


def render_stamp(stamp: str) -> str:
    return f"// {MARKER} stamp\nwindow.FMKIT_GALLERY_STAMP = {script_json(stamp)};\n"
