"""Decoding one image source into pixels, with a one-line reason when it cannot be done.

Sources come from fmkit.io.sources (a local file or an object in a bucket); the bytes are read
through the source's store, so this code never asks where they live.
"""

from __future__ import annotations

import os
import stat
import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from fmkit.io.sources import Source


class ImageError(Exception):
    """An image that cannot be decoded; the message is the one line the user reads."""


def _check_openable(source: "Source") -> None:
    """Empty files and things that are not files (a FIFO would block the reader forever) are
    named for what they are, before anything tries to read them."""
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


def _pil_open():
    """Pillow's own Image.open. Importing ultralytics replaces it with a wrapper that, on any
    file Pillow cannot identify, tries to pip-install pi-heif (and raises ModuleNotFoundError
    offline): a text file named .jpg must be a one-line error, not an install attempt."""
    from PIL import Image

    patches = sys.modules.get("ultralytics.utils.patches")
    return getattr(patches, "_image_open", None) or Image.open


def decode(source: "Source"):
    """One source -> RGB uint8 array (H, W, 3), EXIF orientation applied (as cv2.imread does).

    Raises ImageError with a one-line reason: empty, not an image, truncated or corrupt,
    too many pixels (Pillow's decompression-bomb limit), or unreadable.
    """
    import warnings

    import numpy as np
    from PIL import Image, ImageOps, UnidentifiedImageError

    try:
        _check_openable(source)
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with source.open() as f, _pil_open()(f) as im:
                limit = Image.MAX_IMAGE_PIXELS
                if limit and im.width * im.height > limit:
                    raise ImageError(f"image is {im.width}x{im.height} = {im.width * im.height / 1e6:.0f} megapixels, "
                                     f"over the {limit / 1e6:.0f}-megapixel safety limit (decompression bomb?)")
                im.load()
                im = ImageOps.exif_transpose(im)
                rgb = im if im.mode == "RGB" else im.convert("RGB")
                return np.asarray(rgb)
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
