"""Mutations of real messages: byte-level (flips, overwrites, truncations, insertions, deletions,
duplications, splices) and CBOR-aware (decode, change one field — another type, a boundary
integer, a valid group element or scalar, a dropped, duplicated or swapped list entry, a missing
or unknown key, a subtree from another message — and encode canonically again, so that the
result decodes and reaches the checks behind the decoder).

Every mutation is a function of a :class:`random.Random`, so a seed reproduces it.
"""

from __future__ import annotations

import contextlib
import random
from collections.abc import Callable, Sequence
from typing import Any

from privbill.crypto import group
from privbill.errors import PrivbillError
from privbill.model import codec

Tree = Any

INTERESTING_BYTES = (
    0x00, 0x01, 0x17, 0x18, 0x19, 0x1A, 0x1B, 0x1F, 0x20, 0x38, 0x40, 0x58, 0x5F, 0x60, 0x78,
    0x7F, 0x80, 0x81, 0x98, 0x9F, 0xA0, 0xA1, 0xB8, 0xBF, 0xC0, 0xC2, 0xD8, 0xF4, 0xF5, 0xF6,
    0xF7, 0xF8, 0xF9, 0xFA, 0xFB, 0xFF,
)  # fmt: skip
INTERESTING_INTS = (
    0, 1, -1, 23, 24, 255, 256, 65535, 65536, 2**31 - 1, 2**32, 2**53, 2**62, 2**63 - 1,
    -(2**63), -(2**31), 86400, 3600, 900, 60,
)  # fmt: skip


def _points() -> list[bytes]:
    g = group.generator()
    identity = bytes([0xC0]) + bytes(47)  # the compressed identity: refused where forbidden
    return [
        identity,
        group.encode_point(g),
        group.encode_point(group.mul(g, 2)),
        group.encode_point(-g),
        bytes([0x80]) + bytes(47),  # compressed flag, x = 0: not on the curve
        bytes(48),
        bytes([0xFF]) * 48,
    ]


_POINTS: list[bytes] = []


def points() -> list[bytes]:
    if not _POINTS:
        _POINTS.extend(_points())
    return _POINTS


def scalars() -> list[bytes]:
    q = group.ORDER
    return [(v % 2**256).to_bytes(32, "big") for v in (0, 1, 2, q - 1, q, q + 1, 2**256 - 1)]


# --- byte level ------------------------------------------------------------------------------


def flip_bit(data: bytes, rng: random.Random, others: Sequence[bytes]) -> bytes:
    if not data:
        return data
    i = rng.randrange(len(data))
    return data[:i] + bytes([data[i] ^ (1 << rng.randrange(8))]) + data[i + 1 :]


def set_byte(data: bytes, rng: random.Random, others: Sequence[bytes]) -> bytes:
    if not data:
        return bytes([rng.choice(INTERESTING_BYTES)])
    i = rng.randrange(len(data))
    v = rng.choice(INTERESTING_BYTES) if rng.random() < 0.7 else rng.randrange(256)
    return data[:i] + bytes([v]) + data[i + 1 :]


def truncate(data: bytes, rng: random.Random, others: Sequence[bytes]) -> bytes:
    return data[: rng.randrange(len(data) + 1)]


def insert(data: bytes, rng: random.Random, others: Sequence[bytes]) -> bytes:
    i = rng.randrange(len(data) + 1)
    n = rng.choice((1, 1, 2, 3, 8, 48))
    blob = bytes(rng.choice(INTERESTING_BYTES) for _ in range(n))
    return data[:i] + blob + data[i:]


def delete(data: bytes, rng: random.Random, others: Sequence[bytes]) -> bytes:
    if not data:
        return data
    i = rng.randrange(len(data))
    return data[:i] + data[i + rng.choice((1, 2, 4, 32, 48, 256)) :]


def duplicate(data: bytes, rng: random.Random, others: Sequence[bytes]) -> bytes:
    if not data:
        return data
    i = rng.randrange(len(data))
    j = min(len(data), i + rng.choice((1, 4, 48, 200, 4096)))
    return data[:j] + data[i:j] + data[j:]


def splice(data: bytes, rng: random.Random, others: Sequence[bytes]) -> bytes:
    other = rng.choice(others) if others else data
    i = rng.randrange(len(data) + 1)
    j = rng.randrange(len(other) + 1)
    return data[:i] + other[j:]


def overwrite_range(data: bytes, rng: random.Random, others: Sequence[bytes]) -> bytes:
    """Copy a run of bytes of another message over this one, at the same length."""
    other = rng.choice(others) if others else data
    if not data or not other:
        return data
    n = rng.choice((4, 32, 48, 96))
    i, j = rng.randrange(len(data)), rng.randrange(len(other))
    chunk = other[j : j + n]
    return data[:i] + chunk + data[i + len(chunk) :]


BYTE_MUTATIONS: tuple[Callable[[bytes, random.Random, Sequence[bytes]], bytes], ...] = (
    flip_bit,
    set_byte,
    truncate,
    insert,
    delete,
    duplicate,
    splice,
    overwrite_range,
)


# --- CBOR-aware ------------------------------------------------------------------------------


def _paths(tree: Tree, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [prefix]
    if isinstance(tree, dict):
        for k, v in tree.items():
            out += _paths(v, (*prefix, k))
    elif isinstance(tree, list):
        # long lists (commitments per interval proof): a sample of entries is enough
        idx = range(len(tree)) if len(tree) <= 8 else (0, 1, len(tree) // 2, len(tree) - 1)
        for i in idx:
            out += _paths(tree[i], (*prefix, i))
    return out


def _get(tree: Tree, path: tuple[Any, ...]) -> Tree:
    for p in path:
        tree = tree[p]
    return tree


def _set(tree: Tree, path: tuple[Any, ...], value: Tree) -> Tree:
    if not path:
        return value
    parent = _get(tree, path[:-1])
    parent[path[-1]] = value
    return tree


def _other_value(value: Tree, rng: random.Random, donors: Sequence[Tree]) -> Tree:
    """A replacement for ``value``: the same type changed, another type, or a donor's subtree."""
    r = rng.random()
    if r < 0.15 and donors:
        donor = rng.choice(donors)
        paths = _paths(donor)
        return _get(donor, rng.choice(paths))
    if r < 0.3:
        return rng.choice([None, True, False, 0, -1, "", b"", [], {}, "x", 2**63 - 1])
    if isinstance(value, bool) or value is None:
        return rng.choice([not value, 1, None, "true"])
    if isinstance(value, int):
        choice = rng.random()
        if choice < 0.5:
            return rng.choice(INTERESTING_INTS)
        if choice < 0.8:
            return value + rng.choice((-1, 1, -value - 1 if value else 1, 2 * value or 1))
        return -value
    if isinstance(value, bytes):
        choice = rng.random()
        if len(value) == 48 and choice < 0.4:
            return rng.choice(points())
        if len(value) == 32 and choice < 0.4:
            return rng.choice(scalars())
        if value and choice < 0.6:
            i = rng.randrange(len(value))
            return value[:i] + bytes([value[i] ^ (1 << rng.randrange(8))]) + value[i + 1 :]
        if choice < 0.75:
            return value[: rng.randrange(len(value) + 1)]
        if choice < 0.9 and len(value) % 48 == 0 and value:
            # a run of commitments: one replaced by a valid point, or one dropped
            k = rng.randrange(len(value) // 48)
            rep = rng.choice(points()) if rng.random() < 0.7 else b""
            return value[: 48 * k] + rep + value[48 * (k + 1) :]
        return value + bytes(rng.choice((1, 32, 48)))
    if isinstance(value, str):
        return rng.choice(["", value + "x", value[:-1], value.upper(), "é" * 70, "privbill/bill/1"])
    if isinstance(value, list):
        out = list(value)
        choice = rng.random()
        if out and choice < 0.3:
            del out[rng.randrange(len(out))]
        elif out and choice < 0.55:
            i = rng.randrange(len(out))
            out.insert(i, out[i])
        elif len(out) > 1 and choice < 0.8:
            i, j = rng.sample(range(len(out)), 2)
            out[i], out[j] = out[j], out[i]
        elif choice < 0.9:
            out = []
        else:
            out.append(rng.choice([0, None, b"\x00" * 48, {}]))
        return out
    if isinstance(value, dict):
        out = dict(value)
        choice = rng.random()
        if out and choice < 0.5:
            del out[rng.choice(sorted(out))]
        elif choice < 0.7:
            out[rng.choice(["zzz", "kind", "format", "extra", "a"])] = rng.choice([0, "x", None])
        else:
            out = {}
        return out
    return value


def structured(data: bytes, rng: random.Random, donors: Sequence[bytes], rounds: int = 1) -> bytes:
    """``rounds`` CBOR-aware changes to ``data`` (a byte mutation if it does not decode)."""
    try:
        tree = codec.decode(data, "fuzz")
    except PrivbillError:
        return rng.choice(BYTE_MUTATIONS)(data, rng, donors)
    donor_trees: list[Tree] = []
    for d in donors[:4]:
        with contextlib.suppress(PrivbillError):
            donor_trees.append(codec.decode(d, "fuzz"))
    for _ in range(rounds):
        paths = _paths(tree)
        path = rng.choice(paths[1:] or paths)
        tree = _set(tree, path, _other_value(_get(tree, path), rng, donor_trees))
    try:
        return codec.encode(tree)
    except (TypeError, ValueError, OverflowError):  # an integer beyond what CBOR encodes
        return data


def mutate(data: bytes, rng: random.Random, donors: Sequence[bytes]) -> bytes:
    """One to three mutations, half of them CBOR-aware."""
    for _ in range(rng.choice((1, 1, 2, 3))):
        if rng.random() < 0.5:
            data = structured(data, rng, donors, rng.choice((1, 1, 2)))
        else:
            data = rng.choice(BYTE_MUTATIONS)(data, rng, donors)
    return data
