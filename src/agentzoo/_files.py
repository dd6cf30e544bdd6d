"""Files and folders agentzoo creates for the user: private, created whole, and clear errors.

Journals, results databases and exported trajectories hold prompts, answers and whatever the
tools read, which may be secret. So a file agentzoo creates is 0600 and a folder it creates is
0700; a folder that already exists is the user's, and its mode is left alone.

A path that cannot be used (a folder where a file goes, a file where a folder goes, a folder
that is read-only) is an `UnusablePathError` naming the path and the reason, never an OSError
traceback.
"""

from __future__ import annotations

import errno
import os
import stat
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import IO

from .errors import UnusablePathError

FILE_MODE = 0o600
FOLDER_MODE = 0o700


def why(exc: OSError, path: str | os.PathLike[str]) -> str:
    """A short reason for an OSError on `path`, in words a user can act on."""
    code = exc.errno
    if code == errno.EROFS:
        return f"{path} is on a read-only file system"
    if code in (errno.EACCES, errno.EPERM):
        return f"{path} is not writable (permission denied)"
    if code == errno.ENOSPC:
        return f"no space left on the device of {path}"
    if code == errno.ENOTDIR:
        return f"a part of {path} is a file, not a folder"
    if code == errno.EISDIR:
        return f"{path} is a folder, not a file"
    return f"{path}: {exc.strerror or exc}"


def ensure_folder(path: str | os.PathLike[str], what: str) -> Path:
    """Make `path` an existing folder: the missing ones on the way are created 0700, an existing
    one is left as it is. `what` names it in errors (e.g. "results folder")."""
    path = Path(path)
    if path.is_dir():
        return path
    missing = []
    for p in (path, *path.parents):
        if p.is_dir():
            break
        if p.exists() or p.is_symlink():
            where = "" if p == path else f" ({p} is in the way)"
            raise UnusablePathError(f"{what} {path}: {p} is a file, not a folder{where}")
        missing.append(p)
    for p in reversed(missing):
        try:
            os.mkdir(p, FOLDER_MODE)
        except FileExistsError:
            if not p.is_dir():  # another process made a file there in the meantime
                raise UnusablePathError(f"{what} {path}: {p} is a file, not a folder") from None
        except OSError as exc:
            raise UnusablePathError(f"cannot create {what} {path}: {why(exc, os.path.abspath(p.parent))}") from None
    return path


def check_file_path(path: Path, what: str) -> bool:
    """Whether a file may be at `path`: False when there is none yet, True for a regular file;
    an `UnusablePathError` for a folder, a device, a pipe or a socket."""
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        if path.is_symlink():
            raise UnusablePathError(f"{what} {path} is a symbolic link to nothing") from None
        return False
    except NotADirectoryError:
        blocker = next((p for p in reversed(path.parents) if p.exists() and not p.is_dir()), "a part of it")
        raise UnusablePathError(f"{what} {path}: {blocker} is a file, not a folder") from None
    except OSError as exc:
        raise UnusablePathError(f"{what} {path}: {why(exc, path)}") from None
    if stat.S_ISDIR(mode):
        raise UnusablePathError(f"{what} {path} is a folder; expected a file")
    if not stat.S_ISREG(mode):
        raise UnusablePathError(f"{what} {path} is not a regular file (a device, pipe or socket)")
    return True


def create_whole(path: Path, fill: Callable[[Path], None], what: str) -> bool:
    """Create the file `path` (0600) as `fill` writes it, so that it is never seen half made.

    `fill` writes a temporary file beside it, which is then linked into place; if another
    process created `path` first, theirs is kept. True when this call created it.
    """
    ensure_folder(path.parent, f"folder of the {what}")
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)  # mode 0600
    except OSError as exc:
        raise UnusablePathError(f"cannot create {what} {path}: {why(exc, os.path.abspath(path.parent))}") from None
    os.close(fd)
    try:
        fill(Path(tmp))
        try:
            os.link(tmp, path)  # never replaces: a file made meanwhile by another process wins
        except FileExistsError:
            return False
        except OSError as exc:
            if exc.errno not in (errno.EPERM, errno.EOPNOTSUPP, errno.ENOSYS):  # no hard links here
                raise UnusablePathError(f"cannot create {what} {path}: {why(exc, path.parent)}") from None
            if path.exists():
                return False
            os.replace(tmp, path)
        return True
    finally:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass


def open_private(path: str | os.PathLike[str], what: str, mode: str = "a") -> IO[str]:
    """Open a text file to write (`a` appends, `w` replaces its content), creating it 0600 (and its
    missing folders 0700); an existing file keeps its mode. For exports of trajectories."""
    if mode not in ("a", "w"):
        raise ValueError(f"mode {mode!r}: expected 'a' or 'w'")
    path = Path(path)
    check_file_path(path, what)
    ensure_folder(path.parent, f"folder of the {what}")
    flags = os.O_WRONLY | os.O_CREAT | (os.O_APPEND if mode == "a" else os.O_TRUNC) | os.O_CLOEXEC
    try:
        fd = os.open(path, flags, FILE_MODE)
    except OSError as exc:
        raise UnusablePathError(f"cannot write {what} {path}: {why(exc, path)}") from None
    return os.fdopen(fd, mode, encoding="utf-8")
