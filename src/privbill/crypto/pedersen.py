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


#: One-off checks of public openings before the tables pay for themselves (see commit_public).
_PUBLIC_BEFORE_TABLES: Final = 16
_public_calls = 0


def commit_public(value: int, blinding: int) -> Point:
    """:func:`commit` for a public check (a verifier's ``F·G + R·H``): with the fixed-base
    tables once they exist, and until then by two variable-base multiplications (about 0.2 ms)
    rather than building the tables (about 10 ms) for a process that checks one bill. The
    tables are built at the 17th call: a verifier of many bills gets them."""
    global _public_calls
    if _table_g.cache_info().currsize and _table_h.cache_info().currsize:
        return commit(value, blinding)
    _public_calls += 1
    if _public_calls > _PUBLIC_BEFORE_TABLES:
        return commit(value, blinding)
    return group.mul(generator_g(), value) + group.mul(generator_h(), blinding)


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
