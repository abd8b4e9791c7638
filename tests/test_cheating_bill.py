"""Cheating at the level of the whole bill: the opened total and its blinding.

``verify_bill`` checks ``Σ fee commitments = total·G + blinding·H``. Over the group that is an
equation modulo the group order ``q``; it decides the integer equation only while the total is
far below ``q/2``, which the decoder guarantees (64-bit integers). A message handed to
``verify_bill`` as an object used to skip the decoder: a total off by a multiple of ``q`` — a
bill of about −5·10^67 currency units — verified, and a provider would have signed a receipt
for it. Regression tests for that, and the shifts of the total a cheater can try on the wire.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cheaters import bill_case, description, refused, shift_total
from privbill.billing.verifier import verify_bill
from privbill.crypto import group
from privbill.errors import DecodeError, FeeMismatchError
from privbill.provider import Provider

Q = group.ORDER


@pytest.fixture(scope="module")
def case(provider: Provider) -> Any:
    return bill_case(
        provider,
        description(["0.31", "-0.05", "0"], [], fixed={"per_day": "0.10"}),
        "2026-03-02/2026-03-04",
        lambda k, m: (k * 389) % 1200,
    )


def _verify_object(case: Any, bill: Any) -> int:
    return verify_bill(bill, case.tariff, case.provider.public_key).total_fee


def test_an_honest_bill_verifies_as_bytes_and_as_an_object(case: Any) -> None:
    assert _verify_object(case, case.honest) == case.verify(case.honest) == case.cleartext()


@pytest.mark.parametrize("k", [-1, -2, 1, -(2**64)])
def test_total_off_by_a_multiple_of_the_group_order(case: Any, k: int) -> None:
    """Regression: ``total − q`` opened the same commitment and was accepted (object path)."""
    forged = dataclasses.replace(case.honest, total_fee=case.honest.total_fee + k * Q)
    err = refused(
        "bill", lambda: _verify_object(case, forged), DecodeError, level="bill", field="total_fee"
    )
    assert "64 bits" in err.detail


def test_blinding_off_by_the_group_order(case: Any) -> None:
    forged = dataclasses.replace(case.honest, blinding=case.honest.blinding + Q)
    refused("bill", lambda: _verify_object(case, forged), DecodeError, level="bill")


@settings(max_examples=25, deadline=None, derandomize=True)
@given(
    st.integers(-(10**12), -1),
    st.sampled_from([0, 1, -1, 10**6, Q - 1]),
    st.booleans(),
)
def test_lower_totals_with_any_blinding(case: Any, delta: int, shift: int, as_object: bool) -> None:
    """The total moved down by ``delta`` with the blinding moved by ``shift``: value cannot be
    moved between the two (nobody knows ``log_G H``)."""
    forged = shift_total(case.honest, delta, shift)

    def attempt() -> int:
        return _verify_object(case, forged) if as_object else case.verify(forged)

    refused("bill", attempt, FeeMismatchError, level="bill", field="total_fee")
