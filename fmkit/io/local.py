"""Local files: listing folders without loops, and writes that are atomic and never clobber.

Every file fmkit writes goes through `atomic_write`: a temporary file in the same folder, then a
rename, so a reader never sees half a file and Ctrl-C leaves the old file or nothing. A target
that exists is replaced only with --force, and never when it is not a regular file: a device
(/dev/null), a FIFO or a socket is refused instead of being swapped for a plain file.
"""

from __future__ import annotations

import contextlib
import errno
import os
import re
import stat as stat_mod
from pathlib import Path
from typing import BinaryIO, Callable, Iterator

from fmkit.errors import BadInput, OutputError, RuntimeFailure
from fmkit.io.names import first_free
from fmkit.io.store import Entry
from fmkit.options import option

# Errors that are the machine's fault, not the path's: exit 1 (run time), not 2 (usage).
_RUNTIME_ERRNOS = {errno.ENOSPC, errno.EDQUOT, errno.EIO, errno.EFBIG}


def _kind(mode: int) -> str | None:
    """What a non-regular file is, in words; None for a regular file."""
    for test, word in ((stat_mod.S_ISCHR, "a character device"), (stat_mod.S_ISBLK, "a block device"),
                       (stat_mod.S_ISFIFO, "a FIFO"), (stat_mod.S_ISSOCK, "a socket"), (stat_mod.S_ISDIR, "a folder")):
        if test(mode):
            return word
    return None


def check_writable(path: Path | str, force: bool = False) -> Path:
    """Fail before any work is done if `path` cannot be written (or exists without --force).

    A symlink to a regular file is written through (the link stays); to anything else, refused."""
    path = Path(path).expanduser()
    if path.is_symlink() and _into_proc(path):
        raise OutputError(f"output path {path} is a link into /proc (a process's open file, such as /dev/stdout)",
                          "give a regular file name; fmkit never replaces devices, FIFOs or sockets")
    if path.is_symlink():
        target = Path(os.path.realpath(path))
        if target.exists() and _kind(target.stat().st_mode):
            raise OutputError(f"output path {path} links to {_kind(target.stat().st_mode)} ({target})",
                              "give a regular file name; fmkit never replaces devices, FIFOs or sockets")
        if target.exists() and not force:
            raise OutputError(f"{path} already exists", f"pass {option('force')} to overwrite it, or choose another name")
        path = target
    parent = path.parent if str(path.parent) else Path(".")
    try:
        st = path.stat()
    except FileNotFoundError:
        st = None
    except OSError as e:
        raise OutputError(f"cannot write {path}: {e.strerror}", "choose another path") from None
    if st is not None and stat_mod.S_ISDIR(st.st_mode):
        raise OutputError(f"output path {path} is a folder", "give a file name")
    if st is not None and _kind(st.st_mode):
        raise OutputError(f"output path {path} is {_kind(st.st_mode)}",
                          "give a regular file name; fmkit never replaces devices, FIFOs or sockets")
    if not parent.is_dir():
        raise OutputError(f"output folder {parent} does not exist", "create it first, or choose another path")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise OutputError(f"cannot write to folder {parent} (permission denied)", "choose another path")
    if st is not None and not force:
        raise OutputError(f"{path} already exists", f"pass {option('force')} to overwrite it, or choose another name")
    return path


def _into_proc(path: Path) -> bool:
    """Whether a chain of links passes through /proc (/dev/stdout, /dev/fd/1, /proc/self/fd/1): its
    "target" is an open file of some process (a pipe, a terminal, a deleted file), never a place
    for a new file. realpath would name e.g. '/tmp/#123 (deleted)' and a write would create that."""
    hop = os.path.abspath(path)
    for _ in range(40):
        if os.path.realpath(os.path.dirname(hop)).startswith("/proc/"):
            return True
        if not os.path.islink(hop):
            return False
        hop = os.path.normpath(os.path.join(os.path.dirname(hop), os.readlink(hop)))
    return True  # a chain this long is a loop


def write_error(path: Path, e: OSError) -> Exception:
    """An OSError while writing -> the one-line error: a full disk is run time (1), a bad path usage (2)."""
    if e.errno in _RUNTIME_ERRNOS:
        return RuntimeFailure(f"cannot write {path}: {e.strerror or e}", "free some disk space, or write elsewhere")
    return OutputError(f"cannot write {path}: {e.strerror or e}", "choose another path")


def atomic_write(path: Path | str, write: Callable[[Path], None] | bytes | str, force: bool = False) -> Path:
    """Write via a hidden temporary file in the same folder, then rename (see the module docstring)."""
    path = check_writable(path, force)
    _remove_stale_temps(path.parent)
    tmp = path.with_name(f".{path.stem}.{os.getpid()}.tmp{path.suffix}")
    try:
        if isinstance(write, bytes):
            tmp.write_bytes(write)
        elif isinstance(write, str):
            tmp.write_text(write, encoding="utf-8")
        else:
            write(tmp)
        if not force and path.exists():
            raise OutputError(f"{path} appeared while writing", f"pass {option('force')} to overwrite it")
        os.replace(tmp, path)
    except OSError as e:  # permission, read-only or full disk, a folder that refuses new files (/proc)
        raise write_error(path, e) from None
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
    return path


_STALE_TEMP = re.compile(r"\..+\.([0-9]+)\.tmp(\.[^.]*)?")
_CLEANED: set[str] = set()


def _remove_stale_temps(folder: Path) -> None:
    """Delete atomic_write temporaries (`.NAME.PID.tmp.EXT`) that a killed process left behind.

    SIGKILL (or a power cut) mid-save cannot be caught, so the temporary of that save stays; the
    next fmkit write into the same folder removes those whose PID is no longer running. Once per
    folder per process (a big output folder is listed once, not per file); POSIX only, since
    os.kill(pid, 0) is the liveness test there (on Windows it would end the process)."""
    if os.name != "posix":
        return
    key = os.path.realpath(folder)
    if key in _CLEANED:
        return
    _CLEANED.add(key)
    try:
        entries = [e for e in os.scandir(folder) if e.name.startswith(".") and ".tmp" in e.name]
    except OSError:
        return
    for entry in entries:
        match = _STALE_TEMP.fullmatch(entry.name)
        if not match or int(match.group(1)) == os.getpid() or _alive(int(match.group(1))):
            continue
        with contextlib.suppress(OSError):
            if entry.is_file(follow_symlinks=False):
                os.unlink(entry.path)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError, ValueError):
        return True  # another user's process (or a PID we cannot ask about): leave its file alone
    return True


def unique_path(path: Path) -> Path:
    """`path` if free, else the first free `stem-2.ext`, `stem-3.ext`, ... (never clobbers)."""
    return first_free(Path(path), os.path.lexists)


def _entry(path: str, name: str, st: os.stat_result) -> Entry:
    return Entry(path, name, st.st_size, f"{st.st_size}:{st.st_mtime_ns}", st.st_mtime)


class LocalStore:
    """Paths on this machine's file systems, behind the interface of fmkit/io/store.py."""

    scheme = "file"
    complete_when_listed = False  # an upload may still be growing: watchers wait until it settles
    reads_are_round_trips = False
    can_presign = False

    def join(self, root: str, name: str) -> str:
        return os.path.join(root, *name.split("/")) if name else root

    def normalize(self, uri: str, folder: bool = False) -> str:
        return os.path.expanduser(str(uri))

    def link(self, from_folder: str, to: str) -> str:
        real = os.path.realpath
        return Path(os.path.relpath(real(os.path.expanduser(to)), real(os.path.expanduser(from_folder)))).as_posix()

    def place(self, uri: str) -> str:
        return "local"

    def contains(self, root: str, uri: str) -> bool:
        inner = os.path.realpath(os.path.expanduser(uri))
        outer = os.path.realpath(os.path.expanduser(root))
        return (inner + os.sep).startswith(outer.rstrip(os.sep) + os.sep)

    def relative(self, root: str, uri: str) -> str | None:
        """`uri` (absolute, or relative to the working directory) as a POSIX name inside `root`."""
        if not self.contains(root, uri):
            return None
        name = Path(os.path.realpath(os.path.expanduser(uri))).relative_to(os.path.realpath(os.path.expanduser(root)))
        return name.as_posix() if name.parts else None

    def is_relative(self, uri: str) -> bool:
        return not os.path.isabs(os.path.expanduser(uri))

    def folder_missing(self, uri: str) -> bool:
        return not os.path.isdir(os.path.expanduser(uri))

    def check_folder(self, uri: str, what: str, hint: str) -> None:
        folder = Path(uri).expanduser()
        if not folder.exists():
            raise BadInput(f"{what} {folder} does not exist", hint)
        if not folder.is_dir():
            raise BadInput(f"{folder} is a file, not a {what}", hint)
        if not os.access(folder, os.R_OK | os.X_OK):
            raise BadInput(f"cannot read {what} {folder} (permission denied)", "check its permissions")

    def check_folder_writable(self, uri: str) -> None:
        """The folder, or the nearest existing folder above it, can take new files (nothing is created)."""
        folder = Path(uri).expanduser()
        if folder.exists() and not folder.is_dir():
            raise OutputError(f"output path {folder} is a file", "give a folder for -o")
        existing = next(p for p in (folder, *folder.absolute().parents) if p.exists())
        if not existing.is_dir():
            raise OutputError(f"cannot create output folder {folder}: {existing} is a file", "choose another -o")
        if not os.access(existing, os.W_OK | os.X_OK):
            raise OutputError(f"cannot write to folder {existing} (permission denied)", "choose another -o")

    def read_head(self, uri: str, length: int = 1024) -> bytes:
        with open(os.path.expanduser(uri), "rb") as f:
            return f.read(length)

    def presign(self, uri: str, seconds: int = 3600) -> str:
        raise BadInput(f"{option('presign')} is for images in a bucket", "local images are linked directly")

    def list(self, root: str, recursive: bool = True, exclude: str | None = None) -> Iterator[Entry]:
        """Regular files under `root`, sorted per folder, lazily. Hidden names are skipped, each real
        folder is visited once (a symlink loop ends instead of repeating), and `exclude` (an output
        folder inside the input) is never entered."""
        root = os.path.expanduser(root)
        skip = os.path.realpath(exclude) if exclude else None
        seen: set[tuple[int, int]] = set()

        def walk(folder: str, prefix: str) -> Iterator[Entry]:
            st = os.stat(folder)
            if (st.st_dev, st.st_ino) in seen:
                return
            seen.add((st.st_dev, st.st_ino))
            entries = sorted(os.scandir(folder), key=lambda e: e.name)
            subfolders = []
            for entry in entries:
                if entry.name.startswith("."):
                    continue
                try:
                    if entry.is_dir():
                        subfolders.append(entry)
                    elif entry.is_file():
                        yield _entry(entry.path, prefix + entry.name, entry.stat())
                except OSError:
                    continue  # vanished or unreadable meanwhile
            if recursive:
                for entry in subfolders:
                    if skip and os.path.realpath(entry.path) == skip:
                        continue
                    try:
                        yield from walk(entry.path, prefix + entry.name + "/")
                    except OSError:
                        continue

        yield from walk(root, "")

    def stat(self, uri: str) -> Entry | None:
        try:
            st = os.stat(os.path.expanduser(uri))
        except OSError:
            return None
        return _entry(uri, os.path.basename(uri), st)

    def exists(self, uri: str) -> bool:
        return os.path.lexists(os.path.expanduser(uri))

    def is_folder(self, uri: str) -> bool:
        return os.path.isdir(os.path.expanduser(uri))

    def open(self, uri: str) -> BinaryIO:
        return open(os.path.expanduser(uri), "rb")

    def read_bytes(self, uri: str) -> bytes:
        return Path(uri).expanduser().read_bytes()

    def write_bytes(self, uri: str, data: bytes | str, force: bool = False, content_type: str | None = None) -> None:
        Path(uri).expanduser().parent.mkdir(parents=True, exist_ok=True)
        atomic_write(uri, data, force=force)

    def delete(self, uri: str) -> None:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(os.path.expanduser(uri))

    def prepare_folder(self, root: str) -> None:
        """Create the output folder now, so a bad -o fails in a second, not after the model loads."""
        folder = Path(root).expanduser()
        if folder.exists() and not folder.is_dir():
            raise OutputError(f"output path {folder} is a file", "give a folder for -o")
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise OutputError(f"cannot create output folder {folder}: {e.strerror}", "choose another path") from None
        if not os.access(folder, os.W_OK | os.X_OK):
            raise OutputError(f"cannot write to folder {folder} (permission denied)", "choose another path")
