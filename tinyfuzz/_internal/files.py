"""Files that appear whole or not at all: datasets, crash files, reports, models, exports."""

from __future__ import annotations

import os
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from tinyfuzz.errors import InvalidArgument


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


_MODE = 0o666 & ~_umask()  # what open() would give: mkstemp's files are private to their owner


def check_writable(path: str | Path) -> Path:
    """``path`` as a Path, or a one-line error if it cannot be a file we write."""
    path = Path(path)
    parent = path.resolve().parent
    if path.is_dir():
        raise InvalidArgument(f"output {str(path)!r} is a directory: give a file name")
    if not parent.is_dir():
        raise InvalidArgument(f"output {str(path)!r}: directory {str(parent)!r} does not exist")
    return path


@contextmanager
def atomic_file(path: str | Path, *, binary: bool = False, fsync: bool = False,
                buffering: int = -1) -> Iterator:
    """A file written under a temporary name beside ``path`` and renamed onto it when the block
    ends without an error (removed if it raises): readers never see half a file. ``fsync``: on
    disk before the rename (crash files, which a killed campaign must not lose)."""
    path = check_writable(path)
    try:
        handle, temporary = tempfile.mkstemp(dir=path.resolve().parent, prefix=f".{path.name}.",
                                             suffix=".partial")
    except OSError as error:
        raise InvalidArgument(f"output {str(path)!r} is not writable: {error.strerror}") from None
    try:
        with os.fdopen(handle, "wb" if binary else "w", buffering=buffering,
                       encoding=None if binary else "utf-8",
                       newline=None if binary else "\n") as out:
            yield out
            if fsync:
                out.flush()
                os.fsync(out.fileno())
        os.chmod(temporary, _MODE)
        os.replace(temporary, path)
    except BaseException:
        if os.path.exists(temporary):
            os.unlink(temporary)
        raise
