"""Pedersen commitments ``C = v·G + r·H`` over G1.

``G`` is the standard generator; ``H`` comes from hash-to-curve under the privbill tag
``pedersen-H``, so nobody knows ``log_G H``. Values are integers; callers state the bound that keeps
their sums far below the group order (see ``docs/security.md``).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Final

from privbill.crypto import group
from privbill.crypto.group import FixedBase, Point

H_PURPOSE: Final = b"pedersen-H"


@cache
def generator_g() -> Point:
    return group.generator()


@cache
def generator_h() -> Point:
    return group.hash_to_point(H_PURPOSE, b"")


@cache
def _table_g() -> FixedBase:
    table = FixedBase(generator_g())
    group.register_fixed_base(table)
    return table


@cache
def _table_h() -> FixedBase:
    table = FixedBase(generator_h())
    group.register_fixed_base(table)
    return table


def precompute() -> None:
    """Build the fixed-base tables for G and H now (about 10 ms) rather than on first use."""
    _table_g()
    _table_h()


def commit(value: int, blinding: int) -> Point:
    """``value·G + blinding·H``. ``value`` may be negative; both are reduced modulo the order."""
    return _table_g().mul(value % group.ORDER) + _table_h().mul(blinding % group.ORDER)


def commit_ct(value: int, blinding: int) -> Point:
    """:func:`commit` through the constant-time path (for secrets on shared machines)."""
    return group.ct_linear_combination([generator_g(), generator_h()], [value, blinding])


def commit_bytes(value: int, blinding: int) -> bytes:
    """Compressed encoding of :func:`commit`."""
    return group.encode_point(commit(value, blinding))


@dataclass(frozen=True, slots=True)
class Opening:
    """The secret pair behind a commitment."""

    value: int
    blinding: int

    def __repr__(self) -> str:  # never print the blinding factor
        return "Opening(<secret>)"

    def commitment(self) -> Point:
        return commit(self.value, self.blinding)


def verify_opening(commitment: Point, value: int, blinding: int) -> bool:
    return commit(value, blinding) == commitment
