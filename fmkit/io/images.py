"""Reading one image source into pixels, with a one-line reason when it cannot be done.

Sources come from fmkit.io.sources (a local file or an object in a bucket); the bytes are read
through the source's store, so this code never asks where they live. Two steps, so that a
caller may decode elsewhere (detect decodes JPEGs on a GPU): `read_encoded` reads the bytes and
the header (format, size, EXIF orientation) and applies every check that needs no pixels;
`decode_encoded` turns them into an RGB array. `decode` does both.
"""

from __future__ import annotations

import contextlib
import io
import os
import stat
import sys
import threading
import warnings
from dataclasses import dataclass
from typing import TYPE_CHECKING, Iterator

if TYPE_CHECKING:
    from fmkit.io.sources import Source


class ImageError(Exception):
    """An image that cannot be decoded; the message is the one line the user reads."""


@dataclass(frozen=True)
class Encoded:
    """An image's bytes and what its header says. `orientation` is the EXIF tag (1 = upright)."""

    data: bytes
    format: str  # Pillow's name: JPEG, PNG, WEBP ...
    mode: str  # Pillow's mode before conversion: RGB, L, CMYK, P ...
    width: int
    height: int
    orientation: int = 1


def _check_openable(source: "Source") -> int | None:
    """Empty files and things that are not files (a FIFO would block the reader forever) are
    named for what they are, before anything tries to read them. Returns the size, when known."""
    if source.is_local:
        try:
            st = os.stat(source.uri)
        except FileNotFoundError:
            raise ImageError("no such file (it was removed)") from None
        if stat.S_ISDIR(st.st_mode):
            raise ImageError("is a folder, not an image")
        if not stat.S_ISREG(st.st_mode):
            raise ImageError("not a regular file (a FIFO, socket or device), so not an image")
        size = st.st_size
    else:
        size = source.size
    if size == 0:
        raise ImageError("empty file (0 bytes)")
    return size


def _pil_open():
    """Pillow's own Image.open. Importing ultralytics replaces it with a wrapper that, on any
    file Pillow cannot identify, tries to pip-install pi-heif (and raises ModuleNotFoundError
    offline): a text file named .jpg must be a one-line error, not an install attempt."""
    from PIL import Image

    patches = sys.modules.get("ultralytics.utils.patches")
    return getattr(patches, "_image_open", None) or Image.open


_OPEN_LOCK = threading.Lock()


def _open(f):
    """Pillow's open of `f` (header only) with its decompression-bomb warning as an error, and
    the size checked. Opening is quick; it runs under a lock because `warnings.catch_warnings`
    changes process-wide filters and detect reads images in several threads."""
    from PIL import Image

    with _OPEN_LOCK, warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        im = _pil_open()(f)
    limit = Image.MAX_IMAGE_PIXELS
    if limit and im.width * im.height > limit:
        im.close()
        raise ImageError(f"image is {im.width}x{im.height} = {im.width * im.height / 1e6:.0f} megapixels, "
                         f"over the {limit / 1e6:.0f}-megapixel safety limit (decompression bomb?)")
    return im


@contextlib.contextmanager
def _reasons() -> Iterator[None]:
    """Every way reading or decoding fails -> ImageError with its one line."""
    from PIL import Image, UnidentifiedImageError

    try:
        yield
    except ImageError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as e:
        raise ImageError(f"image too large: {e}") from None
    except UnidentifiedImageError:
        raise ImageError("not an image Pillow can read (wrong extension, or not an image at all)") from None
    except PermissionError:
        raise ImageError("permission denied: cannot read this file") from None
    except IsADirectoryError:
        raise ImageError("is a folder, not an image") from None
    except FileNotFoundError:
        raise ImageError("no such file (it was removed)") from None
    except (OSError, SyntaxError, ValueError) as e:
        raise ImageError(f"corrupt or truncated image: {str(e).splitlines()[0]}") from None


def _to_rgb(im):
    """A loaded Pillow image -> RGB uint8 array (H, W, 3), EXIF orientation applied (as cv2.imread does)."""
    import numpy as np
    from PIL import ImageOps

    im = ImageOps.exif_transpose(im)
    rgb = im if im.mode == "RGB" else im.convert("RGB")
    return np.asarray(rgb)


def decode(source: "Source"):
    """One source -> RGB uint8 array (H, W, 3), EXIF orientation applied.

    Raises ImageError with a one-line reason: empty, not an image, truncated or corrupt,
    too many pixels (Pillow's decompression-bomb limit), or unreadable.
    """
    with _reasons():
        _check_openable(source)
        with source.open() as f, _open(f) as im:
            im.load()
            return _to_rgb(im)


MAX_ENCODED_BYTES = 256 * 1024 * 1024  # as io/s3.py's MAX_READ_BYTES: a file read_encoded holds in memory


def read_encoded(source: "Source") -> Encoded:
    """The source's bytes and header, every check that needs no pixels done (ImageError otherwise)."""
    with _reasons():
        size = _check_openable(source)
        if size and size > MAX_ENCODED_BYTES:  # read whole into memory, by several threads at once
            raise ImageError(f"too large to read at once ({size / 2**20:.0f} MiB; "
                             f"the most is {MAX_ENCODED_BYTES / 2**20:.0f} MiB)")
        with source.open() as f:
            data = f.read()
        with _open(io.BytesIO(data)) as im:
            # Only a JPEG's orientation is needed (its pixels are decoded elsewhere, as stored);
            # other formats' EXIF may sit after the pixels, and reading it would decode them twice.
            orientation = im.getexif().get(0x0112, 1) if im.format == "JPEG" else 1
            return Encoded(data, im.format or "", im.mode, im.width, im.height,
                           orientation if orientation in range(1, 9) else 1)


def decode_encoded(encoded: Encoded):
    """Encoded bytes -> RGB uint8 array (H, W, 3), EXIF orientation applied (ImageError otherwise)."""
    with _reasons():
        with _open(io.BytesIO(encoded.data)) as im:
            im.load()
            return _to_rgb(im)
