"""Domain-separated hashing.

Every hash privbill computes is ``SHA-256(len(tag) || tag || len(part_1) || part_1 || ...)`` with
8-byte big-endian lengths, so that no two (tag, parts) tuples share an input. Tags are
``privbill/v1/<purpose>``.
"""

from __future__ import annotations

import hashlib
from typing import Final

from privbill.errors import UsageError

TAG_PREFIX: Final = b"privbill/v1/"
DIGEST_BYTES: Final = 32


def tag(purpose: str) -> bytes:
    """The full, versioned domain tag for ``purpose`` (ASCII, no spaces)."""
    if not purpose or not purpose.isascii() or " " in purpose:
        raise UsageError(f"bad hash purpose {purpose!r}", obj="hash")
    return TAG_PREFIX + purpose.encode("ascii")


def _frame(data: bytes) -> bytes:
    return len(data).to_bytes(8, "big") + data


def digest(purpose: str, *parts: bytes) -> bytes:
    """SHA-256 over the framed tag and parts."""
    h = hashlib.sha256(_frame(tag(purpose)))
    for part in parts:
        h.update(_frame(part))
    return h.digest()


def signing_input(purpose: str, body: bytes) -> bytes:
    """What a signature covers: the framed domain tag followed by the framed canonical body."""
    return _frame(tag(purpose)) + _frame(body)
