"""Reading and writing privbill files: atomic writes, size limits, typed errors for bad input."""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path

from privbill.errors import DecodeError, UsageError
from privbill.model.codec import MAX_OBJECT_BYTES


def read_bytes(path: str | os.PathLike[str], what: str) -> bytes:
    p = Path(path)
    try:
        size = p.stat().st_size
        if size > MAX_OBJECT_BYTES:
            raise DecodeError(f"{p} is larger than {MAX_OBJECT_BYTES} bytes", obj=what)
        return p.read_bytes()
    except FileNotFoundError:
        raise UsageError(f"{p}: no such file", obj=what) from None
    except IsADirectoryError:
        raise UsageError(f"{p} is a directory", obj=what) from None
    except PermissionError:
        raise UsageError(f"{p}: permission denied", obj=what) from None


def write_atomic(
    path: str | os.PathLike[str], data: bytes, *, private: bool = False, replace: bool = True
) -> None:
    """Write ``data`` to ``path`` so that the file is either complete or absent/unchanged.

    ``private`` files (keys, readings, openings) are readable by their owner only. Without
    ``replace`` an existing file is left alone and :class:`FileExistsError` raised; the check and
    the write are one atomic step (a hard link, which never replaces)."""
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{p.name}.", dir=p.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o600 if private else 0o644)
        if replace:
            os.replace(tmp, p)
            return
        try:
            os.link(tmp, p)
        except FileExistsError:
            raise
        except OSError:  # a file system without hard links: check, then rename
            if p.exists():
                raise FileExistsError(17, "File exists", str(p)) from None
            os.replace(tmp, p)
            return
        os.unlink(tmp)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
