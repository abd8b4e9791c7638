"""Disk cache of the Bulletproof vector generators, checked against digests pinned in code.

The generators ``G_i``, ``H_i`` (:mod:`privbill.crypto.bulletproofs`) come from RFC 9380
hash-to-curve and never change; deriving the 2 × 131 072 of a month's 32-bit demand proof costs
several seconds. This module keeps them on disk in chunks of :data:`CHUNK` generators, one file per
chunk, in uncompressed form (96 bytes ``x ‖ y`` per point: loading is a field-element read and an
on-curve check, about 1 µs, where decompression costs 40 µs).

A cached chunk is used only if its bytes hash to the digest pinned here for that chunk index
(:data:`PINNED`); the digests were computed from the derivation, and a test re-derives every one
of them. A missing, truncated, corrupted or foreign file is therefore never trusted: the chunk is
derived again and the file rewritten (atomically: temporary file, then rename). Generators past
the pinned range are derived and not cached.

The cache directory is ``$PRIVBILL_CACHE_DIR`` if set (the value ``off`` disables the cache),
else the platform's user cache directory (``$XDG_CACHE_HOME/privbill`` or ``~/.cache/privbill``;
``~/Library/Caches/privbill`` on macOS; ``%LOCALAPPDATA%\\privbill\\Cache`` on Windows).
"""

from __future__ import annotations

import contextlib
import os
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Final

from privbill.crypto import group
from privbill.crypto.group import Point
from privbill.crypto.hashing import digest
from privbill.errors import UsageError

#: Generators per chunk file (``G`` and ``H`` each).
CHUNK: Final = 4096
#: Bytes of one uncompressed point.
POINT_XY_BYTES: Final = 96
CHUNK_BYTES: Final = 2 * CHUNK * POINT_XY_BYTES
ENV_VAR: Final = "PRIVBILL_CACHE_DIR"
#: Hash purpose of a chunk digest; the chunk index and the bytes are its parts.
DIGEST_PURPOSE: Final = "bulletproofs-generator-chunk"
FILE_PREFIX: Final = "bulletproofs-v1-"

#: ``digest(DIGEST_PURPOSE, index (4 bytes), G_{4096k}..G_{4096k+4095} ‖ H_… (uncompressed))``
#: for chunks ``k = 0 … 31`` (the first 131 072 generators: a month of quarter hours with 32-bit
#: demand proofs, the default of imported tariffs, needs them all). Re-derived by
#: ``tests/crypto/test_generator_cache.py``.
PINNED: Final[tuple[str, ...]] = (
    "2bd377ae3f68494b8d07fb629fd077cfdc0233082f50c5091be53c0cd5627273",
    "cb957bb524cbde0411b6074c51fed3f1358f3b99718c129962127778501ff520",
    "c7f5cba11c39f9038c77fec103ac5468fe0cb4852113a2e8733e3f917a202915",
    "0616773e51f04602469fe8e7aa4654812c8913c30a07187c4ad4bae8958331bd",
    "6ab8b3f3dc9f93497bfb1ac3cad22b4213e2749c3fb9e511ddcd39df65f6029c",
    "9f7a9702e35eaab2e8748569967f16d3d72667743e2458cd89787f4dd9e1b1f3",
    "551cdc76bb5a554b4d346a764a8325bb9745052e6d19c7e824c8b1ea7bbb01f1",
    "d4859ea02ae07bfd9ca9084abdbce18b214d694a265b282a281414058742019c",
    "8825f36144be540b4cb07752c4a25b6454ede66550517c04ab44414537dc6b84",
    "101bdf19d9f1ed032f4c9d20566dd416bd0ed639f0cc7decbce85ef30bcb6836",
    "5a1ce7bd321534e6accb836c48e98d8125381802e13f3cce24e3eaeecd2a29bc",
    "2c698a7f36664e7ad28906c523e285f1de178046dcb8a67388947d072211f3a9",
    "755b31fd1417a33f79e2a815d96b83d424c5cecd73dfafad98573839f8108921",
    "df19956972358a95cfcd0212a94b4e6369dd916be97f92a379141a56df1f02bf",
    "88973774c5fdfa559a9184fd7391ce94d0cd20ab4bc2985f76f8881e3a975259",
    "ff619077fbe8928b2f22ca4152da648f79cbc253f5f991301edfd9c4adc142c0",
    "be2d879dbc4135d56230a0aef6aac4ae8f4808eff6b166ffadc750f0e005b558",
    "d5e1f2dbeeac6e96dfaa6d00e9dfb1705013ca90220d56bc0cdc355517db888a",
    "e7a3024e8df70427f9bdfe7633c954e844bf5b3d41adf23f8a22200f9089b103",
    "97e54d6a72b805bd311033d688a8f9e2184ccec09f7bf2375e13561d1895816c",
    "379d34ccd057416ded41f83c635692075c1096434553d0bfa48c001cbf11ab10",
    "a354a4bc7cf76b1d14ba36e3803be0bc79a91ddfbe74ea3fb0d59bf2131ffa9e",
    "ccd0c5c67604d77289b79239267b99d1f4abfa4354c0cc147b7ece195cf7ca89",
    "f37b0d9781419e30222494bd9a0f1d3f3db6ac7a7e9aa4e45b4e06b1bd62c201",
    "70f8f7804b7f23a620eee276141833457d3e10a3181f1da5f3d6584e85b93e2d",
    "0db2c2726f54aba8ca0b33bb4c5bece6416f14c1182437f3cbec10dd2ccf9138",
    "7d77e81a1d7e027fe2e32f44d64caca4c88ed95006afea9f3de7176e18bcac9e",
    "d7e9369245b282308946731119be097f0addbc94fe842bcec29dcec0549ec5db",
    "1a02114a14eccb644ac8eee8fe477835e7e14033afddfb466c3b15198c965aba",
    "cf68d1675dbce8c37f19d7dd2bfa1581300b4e05b2a25616b57a6a125cb82675",
    "0c1224f49eab2f1b01fa639935be71c0b826723b720c96f699c84ee00f2d906e",
    "fe58d43c4a3a2f4d19679db6d0765b6c1573d3c040753fb24d9402e96f537c6b",
)

Derive = Callable[[int, int], tuple[list[Point], list[Point]]]


def cache_dir() -> Path | None:
    """Where chunk files live, or ``None`` when caching is switched off."""
    env = os.environ.get(ENV_VAR)
    if env is not None:
        return None if env.strip().lower() in ("", "off", "0", "none") else Path(env)
    if sys.platform == "darwin":
        return Path.home() / "Library" / "Caches" / "privbill"
    if sys.platform == "win32":
        base = os.environ.get("LOCALAPPDATA")
        return Path(base) / "privbill" / "Cache" if base else None
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg) if xdg else Path.home() / ".cache") / "privbill"


def chunk_path(directory: Path, index: int) -> Path:
    return directory / f"{FILE_PREFIX}{index:04d}.bin"


def encode_chunk(g: list[Point], h: list[Point]) -> bytes:
    if len(g) != CHUNK or len(h) != CHUNK:
        raise UsageError(f"a chunk holds {CHUNK} generators of each kind", obj="generator cache")
    return group.encode_points_xy(g) + group.encode_points_xy(h)


def chunk_digest(index: int, data: bytes) -> str:
    return digest(DIGEST_PURPOSE, index.to_bytes(4, "big"), data).hex()


def _decode_chunk(data: bytes) -> tuple[list[Point], list[Point]]:
    pts = group.decode_points_xy_trusted(data, 2 * CHUNK)
    return pts[:CHUNK], pts[CHUNK:]


def _write(path: Path, data: bytes) -> None:
    """Best effort: a cache that cannot be written is only slower."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    except OSError:
        return
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(tmp, path)
    except OSError:
        with contextlib.suppress(OSError):
            os.unlink(tmp)


def load_chunk(
    index: int, derive: Derive, directory: Path | None
) -> tuple[list[Point], list[Point]]:
    """Chunk ``index``: from the cache if its bytes match the pinned digest, else derived by
    ``derive(start, stop)`` (and written to the cache when it is in the pinned range)."""
    start = index * CHUNK
    pinned = PINNED[index] if index < len(PINNED) else None
    if directory is not None and pinned is not None:
        path = chunk_path(directory, index)
        try:
            data = path.read_bytes()
        except OSError:
            data = b""
        if len(data) == CHUNK_BYTES and chunk_digest(index, data) == pinned:
            return _decode_chunk(data)
    g, h = derive(start, start + CHUNK)
    if directory is not None and pinned is not None:
        data = encode_chunk(g, h)
        if chunk_digest(index, data) == pinned:  # never write what the pin would refuse
            _write(chunk_path(directory, index), data)
    return g, h
