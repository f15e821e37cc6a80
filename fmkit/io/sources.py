"""What `fmkit detect` reads: source arguments expanded lazily into image files, and images
decoded one at a time with a one-line reason when they cannot be.

Expansion streams: a folder of 10,000 images yields paths (sorted per folder), never pixels;
decoding happens later, a batch at a time. Every problem becomes a `Source` with `error`
set, so one bad file is one reported line and the rest of the run goes on.
"""

from __future__ import annotations

import glob
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Iterable, Iterator

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff")
_GLOB_CHARS = set("*?[")


@dataclass(frozen=True)
class Source:
    """One input: `label` is what we report, `name` the output file name (relative path)."""

    label: str
    path: Path | None = None
    name: str = ""
    error: str | None = None


class ImageError(Exception):
    """An image that cannot be decoded; the message is the one line the user reads."""


def is_image_name(path: str | Path) -> bool:
    return str(path).lower().endswith(IMAGE_SUFFIXES)


def _walk(folder: Path, recursive: bool) -> Iterator[Path]:
    """Image files under folder, sorted per folder, lazily; hidden files and folders skipped."""
    try:
        entries = sorted(os.scandir(folder), key=lambda e: e.name)
    except OSError as e:
        raise ImageError(f"cannot list folder: {e.strerror}") from None
    subfolders = []
    for entry in entries:
        if entry.name.startswith("."):
            continue
        if entry.is_dir():
            subfolders.append(entry)
        elif is_image_name(entry.name) and entry.is_file():
            yield Path(entry.path)
    if recursive:
        for entry in subfolders:
            yield from _walk(Path(entry.path), recursive)


def _folder(arg: str, recursive: bool) -> Iterator[Source]:
    folder = Path(arg)
    found = False
    try:
        for path in _walk(folder, recursive):
            found = True
            yield Source(str(path), path, path.relative_to(folder).as_posix())
    except ImageError as e:
        yield Source(arg, folder, error=str(e))
        return
    if not found:
        hint = "" if recursive else "; add --recursive to look in subfolders"
        yield Source(arg, folder, error=f"no images in this folder ({', '.join(IMAGE_SUFFIXES)}){hint}")


def expand(args: Iterable[str], recursive: bool = False, stdin: IO[str] | None = None) -> Iterator[Source]:
    """Arguments -> Sources, in order: files, folders, globs, and '-' (one path per stdin line)."""
    for arg in args:
        if arg == "-":
            for line in stdin or sys.stdin:
                line = line.strip()
                if line:
                    yield from expand([line], recursive)
            continue
        path = Path(arg).expanduser()
        if path.is_dir():
            yield from _folder(str(path), recursive)
        elif path.exists() or os.path.lexists(path):
            yield Source(arg, path, path.name)
        elif _GLOB_CHARS & set(arg):
            matches = sorted(glob.iglob(os.path.expanduser(arg), recursive=recursive))
            files = [m for m in matches if os.path.isfile(m)]
            if not files:
                yield Source(arg, error="no files match this pattern")
            for match in files:
                yield Source(match, Path(match), Path(match).name)
        else:
            yield Source(arg, path, path.name, error="no such file or folder")


def _pil_open():
    """Pillow's own Image.open. Importing ultralytics replaces it with a wrapper that, on any
    file Pillow cannot identify, tries to pip-install pi-heif (and raises ModuleNotFoundError
    offline): a text file named .jpg must be a one-line error, not an install attempt."""
    from PIL import Image

    patches = sys.modules.get("ultralytics.utils.patches")
    return getattr(patches, "_image_open", None) or Image.open


def decode(path: Path):
    """An image file -> RGB uint8 array (H, W, 3), EXIF orientation applied (as cv2.imread does).

    Raises ImageError with a one-line reason: empty, not an image, truncated or corrupt,
    too many pixels (Pillow's decompression-bomb limit), or unreadable.
    """
    import warnings

    import numpy as np
    from PIL import Image, ImageOps, UnidentifiedImageError

    try:
        if path.stat().st_size == 0:
            raise ImageError("empty file (0 bytes)")
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with _pil_open()(path) as im:
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
