"""The Bulletproof generator disk cache: pinned digests re-derived; bad files never trusted."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import pytest

from privbill.crypto import bulletproofs as bp
from privbill.crypto import generator_cache as gc
from privbill.crypto import group


@pytest.fixture
def fresh(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[Path]:
    """An empty in-memory generator list and a private cache directory."""
    saved = (list(bp._GEN_G), list(bp._GEN_H))
    bp._GEN_G.clear()
    bp._GEN_H.clear()
    monkeypatch.setenv(gc.ENV_VAR, str(tmp_path))
    try:
        yield tmp_path
    finally:
        bp._GEN_G[:] = saved[0]
        bp._GEN_H[:] = saved[1]


_REF: list[tuple[list[bytes], list[bytes]]] = []


def _reference(count: int) -> tuple[list[bytes], list[bytes]]:
    """The first ``count`` generators, derived directly (once per test run)."""
    if not _REF:
        g, h = bp._derive(0, 100)
        _REF.append(([p.to_compressed_bytes() for p in g], [p.to_compressed_bytes() for p in h]))
    assert count <= 100
    return _REF[0][0][:count], _REF[0][1][:count]


def _loaded(count: int) -> tuple[list[bytes], list[bytes]]:
    g, h = bp.vector_generators(count)
    return [p.to_compressed_bytes() for p in g], [p.to_compressed_bytes() for p in h]


def _derived_digest(k: int) -> str:
    g, h = bp._derive(k * gc.CHUNK, (k + 1) * gc.CHUNK)
    return gc.chunk_digest(k, gc.encode_chunk(g, h))


@pytest.mark.slow
def test_every_pinned_digest_is_the_derivation() -> None:
    assert len(gc.PINNED) == 32
    with ProcessPoolExecutor(2) as pool:
        derived = list(pool.map(_derived_digest, range(len(gc.PINNED))))
    assert derived == list(gc.PINNED)


def test_first_chunk_written_then_loaded(fresh: Path) -> None:
    want = _reference(100)
    assert _loaded(100) == want
    path = gc.chunk_path(fresh, 0)
    data = path.read_bytes()
    assert len(data) == gc.CHUNK_BYTES and gc.chunk_digest(0, data) == gc.PINNED[0]
    # A second process (simulated by an empty in-memory list) loads the file.
    bp._GEN_G.clear()
    bp._GEN_H.clear()
    stamp = path.stat().st_mtime_ns
    assert _loaded(gc.CHUNK + 0)[0][:100] == want[0]
    assert path.stat().st_mtime_ns == stamp  # read, not rewritten


@pytest.mark.parametrize(
    "damage",
    ["flip-byte", "truncate", "other-chunk", "empty", "valid-points-wrong-order"],
)
def test_damaged_chunk_is_rederived_and_rewritten(fresh: Path, damage: str) -> None:
    want = _reference(50)
    _loaded(50)
    path = gc.chunk_path(fresh, 0)
    good = path.read_bytes()
    if damage == "flip-byte":
        bad = bytearray(good)
        bad[1234] ^= 1
        path.write_bytes(bytes(bad))
    elif damage == "truncate":
        path.write_bytes(good[:-96])
    elif damage == "other-chunk":
        g, h = bp._derive(gc.CHUNK, 2 * gc.CHUNK)  # real generators, wrong index
        path.write_bytes(gc.encode_chunk(g, h))
    elif damage == "empty":
        path.write_bytes(b"")
    else:  # G and H swapped: every point valid, order wrong
        half = len(good) // 2
        path.write_bytes(good[half:] + good[:half])
    bp._GEN_G.clear()
    bp._GEN_H.clear()
    assert _loaded(50) == want
    assert path.read_bytes() == good


def test_off_switch_writes_nothing(monkeypatch: pytest.MonkeyPatch, fresh: Path) -> None:
    monkeypatch.setenv(gc.ENV_VAR, "off")
    assert gc.cache_dir() is None
    assert _loaded(20) == _reference(20)
    assert not any(fresh.iterdir())


def test_unwritable_cache_still_gives_generators(
    monkeypatch: pytest.MonkeyPatch, fresh: Path
) -> None:
    blocker = fresh / "not-a-directory"
    blocker.write_bytes(b"x")
    monkeypatch.setenv(gc.ENV_VAR, str(blocker / "cache"))
    assert _loaded(20) == _reference(20)


def test_partial_list_continues_from_the_chunk(fresh: Path) -> None:
    # Asking for more than one chunk after a partial in-memory list keeps the order exact.
    bp.precompute_generators(10)
    g, _ = bp.vector_generators(gc.CHUNK + 3)
    ref_g, _ = bp._derive(gc.CHUNK - 2, gc.CHUNK + 3)
    assert [p.to_compressed_bytes() for p in g[gc.CHUNK - 2 :]] == [
        p.to_compressed_bytes() for p in ref_g
    ]


def test_trusted_xy_decoder_refuses_points_off_the_curve() -> None:
    data = bytearray(group.encode_points_xy([group.generator()]))
    data[-1] ^= 1
    with pytest.raises(group.GroupError):
        group.decode_points_xy_trusted(bytes(data), 1)
    with pytest.raises(group.GroupError):
        group.decode_points_xy_trusted(bytes(95), 1)
