"""Files that appear whole or not at all (datasets, crash files, reports, models, exports), and
values read from files, read again only when the file changes (``FileMemo``)."""

from __future__ import annotations

import os
import sys
import tempfile
from collections import OrderedDict
from contextlib import contextmanager
from pathlib import Path
from typing import Callable, Iterator, TypeVar

from tinyfuzz.errors import InvalidArgument

_T = TypeVar("_T")


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


_MODE = 0o666 & ~_umask()  # what open() would give: mkstemp's files are private to their owner


def read_text(path: str | Path) -> str:
    """A text file read as UTF-8, or a one-line error naming the file, where it stops being UTF-8
    and the fix (a UnicodeDecodeError traceback otherwise)."""
    try:
        return Path(path).read_text(encoding="utf-8")
    except UnicodeDecodeError as error:
        line = Path(path).read_bytes()[:error.start].count(b"\n") + 1
        raise InvalidArgument(f"{path}:{line}: not UTF-8 text (byte {error.start}): save it as "
                              "UTF-8") from None


def check_writable(path: str | Path) -> Path:
    """``path`` as a Path, or a one-line error if it cannot be a file we write."""
    path = Path(path)
    parent = path.resolve().parent
    if path.is_dir():
        raise InvalidArgument(f"output {str(path)!r} is a directory: give a file name")
    if not parent.is_dir():
        raise InvalidArgument(f"output {str(path)!r}: directory {str(parent)!r} does not exist")
    if not os.access(parent, os.W_OK):
        raise InvalidArgument(f"output {str(path)!r}: directory {str(parent)!r} is not writable")
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


def is_stdout(path: str | Path) -> bool:
    """``-`` means standard output, as Unix tools read it."""
    return str(path) == "-"


def output_name(path: str | Path) -> str:
    """``path`` as a summary names it."""
    return "standard output" if is_stdout(path) else str(path)


@contextmanager
def output_file(path: str | Path, *, buffering: int = -1) -> Iterator:
    """``atomic_file(path)`` for text, or standard output for ``-``."""
    if is_stdout(path):
        yield sys.stdout
        sys.stdout.flush()
        return
    with atomic_file(path, buffering=buffering) as out:
        yield out


class FileMemo:
    """Values made from files, keyed by the file's resolved path (however it was spelled) and
    checked against its modification time and size (a stat, not a read): an edited file is read
    again. The ``size`` files used last are kept."""

    def __init__(self, size: int = 16):
        self._size = size
        self._values: OrderedDict[tuple, tuple[tuple[int, int], object]] = OrderedDict()

    def get(self, path: Path, make: Callable[[], _T], *extra) -> _T:
        """The value ``make()`` gave for this file (and ``extra`` key parts) as it is now.
        ``path.stat()``'s ``OSError``, for a missing file, is the caller's to report."""
        status = path.stat()
        key, stamp = (str(path.resolve()), *extra), (status.st_mtime_ns, status.st_size)
        known = self._values.get(key)
        if known is not None and known[0] == stamp:
            self._values.move_to_end(key)
            return known[1]  # type: ignore[return-value]
        value = make()
        self._values[key] = stamp, value  # replaces the value of the file as it was
        self._values.move_to_end(key)
        while len(self._values) > self._size:
            self._values.popitem(last=False)
        return value
