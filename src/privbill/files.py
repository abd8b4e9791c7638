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


def write_atomic(path: str | os.PathLike[str], data: bytes, *, private: bool = False) -> None:
    """Write ``data`` to ``path`` so that the file is either complete or absent/unchanged."""
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{p.name}.", dir=p.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o600 if private else 0o644)
        os.replace(tmp, p)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
