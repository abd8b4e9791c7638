"""Cheating provers against disclosure verification.

The prover here knows every opening of the sealed commitments (it is the customer's own device,
or anyone the customer's secrets leaked to) and tries to get a false or wider disclosure past
:func:`privbill.disclosure.verify`: values shifted by multiples of anything with proofs made for
them, shifted blinding factors, answers moved between statements, periods and requests, opened
readings changed or swapped, and threshold answers for false statements made with a range
prover whose range check is switched off. Every attempt must be refused with a typed error.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterator
from typing import Any

import cbor2
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from helpers import MeterSetup
from privbill import disclosure
from privbill.crypto import bulletproofs, gadgets, group, pedersen, sigma
from privbill.crypto.group import Point
from privbill.crypto.pedersen import Opening
from privbill.crypto.sigma import Flavor
from privbill.disclosure import proofs as disclosure_proofs
from privbill.disclosure.ledger import DisclosureLedger, DisclosurePolicy
from privbill.disclosure.model import (
    Consent,
    DisclosureProofError,
    DisclosureRequest,
    MeterRef,
    Statement,
    Window,
)
from privbill.disclosure.statements import OpenReadings, Sum, Threshold, WeightedSum
from privbill.errors import DecodeError, PrivbillError, VerificationError
from privbill.model import codec
from privbill.model.periods import BillingPeriod
from privbill.provider import Provider

Obj = dict[str, Any]
DAY = 86400
HOUR = 3600
L = 900
Q = group.ORDER
ANY = DisclosurePolicy(min_window_s=0, allow_open=True)


# --- a genuine response and what the cheater knows -------------------------------------------


@pytest.fixture(scope="module")
def week(january: BillingPeriod) -> BillingPeriod:
    return BillingPeriod(january.start + 4 * DAY, january.start + 11 * DAY)


@pytest.fixture(scope="module")
def now(january: BillingPeriod) -> int:
    return january.end + 5000


def _request(
    provider: Provider, statements: list[Statement], period: BillingPeriod, now: int
) -> DisclosureRequest:
    return DisclosureRequest.create(
        provider.key,
        requester="Example Power",
        purpose="settlement",
        account="acct-1",
        meters=[MeterRef("m-a", L)],
        period=period,
        timezone="America/Denver",
        statements=statements,
        issued_at=now - 60,
    )


@pytest.fixture(scope="module")
def statements(week: BillingPeriod, meter_a: MeterSetup) -> list[Statement]:
    s = week.start
    d1, d2 = Window(s + DAY, s + 2 * DAY), Window(s + 2 * DAY, s + 3 * DAY)
    f = s // L
    return [
        Sum("m-a", d1),
        Sum("m-a", d2),
        WeightedSum("m-a", d1, HOUR, tuple(300 + 11 * h for h in range(24)), "g/kWh"),
        OpenReadings("m-a", (f + 130, f + 131)),
        Threshold("m-a", d1, "sum-at-most", _sum(meter_a, d1)),  # the tightest true bound
        Threshold("m-a", Window(s + DAY, s + DAY + 2 * HOUR), "each-at-most", 1500),
    ]


def _sum(m: MeterSetup, w: Window) -> int:
    a0 = m.period.start // L
    return sum(m.values[w.start // L - a0 : w.end // L - a0])


@pytest.fixture(scope="module")
def case(
    provider: Provider, meter_a: MeterSetup, statements: list[Statement], week: BillingPeriod,
    now: int,
) -> tuple[DisclosureRequest, bytes]:  # fmt: skip
    req = _request(provider, statements, week, now)
    resp = disclosure.answer(
        req, Consent.create(req, at=now), [meter_a.sealed], [meter_a.openings],
        provider=provider.public_key, ledger=DisclosureLedger(), policy=ANY, now=now,
    )  # fmt: skip
    return req, resp.encode()


class Cheater:
    """What the customer's device knows: every reading and blinding factor."""

    def __init__(self, meter: MeterSetup, req: DisclosureRequest, data: bytes) -> None:
        self.meter, self.req = meter, req
        self.obj: Obj = cbor2.loads(data)
        self.consent = Consent.from_obj(self.obj["consent"])
        assert self.meter.openings.blindings is not None
        self.blindings = self.meter.openings.blindings
        self.a0 = meter.openings.first

    def intervals(self, k: int) -> list[int]:
        s = self.req.statements[k]
        return list(s.intervals(self.req, [], _NO_KEY))

    def values(self, k: int) -> list[int]:
        return [self.meter.values[i - self.a0] for i in self.intervals(k)]

    def opening_blindings(self, k: int) -> list[int]:
        return [self.blindings[i - self.a0] for i in self.intervals(k)]

    def points(self, k: int) -> list[Point]:
        return [
            pedersen.commit(c, r)
            for c, r in zip(self.values(k), self.opening_blindings(k), strict=True)
        ]

    def context(self, k: int, consent: Consent | None = None) -> bytes:
        c = consent or self.consent
        return disclosure_proofs.statement_context(
            self.req.hash(), c.hash(), k, self.req.statements[k], self.req.period
        )

    def weights(self, k: int) -> list[int]:
        s = self.req.statements[k]
        if isinstance(s, WeightedSum):
            return s.expanded_weights(self.req)
        return [1] * len(self.intervals(k))

    def proof_for(self, point: Point, value: int, witness: int, context: bytes) -> bytes:
        """A proof for a false value: the prover's witness check switched off."""
        stmt = gadgets.linear_statement([1], [point], value, context=context, flavor=Flavor.COMPACT)
        return sigma.prove_compact(stmt.tag, stmt.instance, [witness % Q], check_witness=False)

    def answer(self, k: int) -> Obj:
        return next(a for a in self.obj["answers"] if a["statement"] == k)


class _NoKey:
    """Register statements are not used here, so no tariff (nor provider key) is needed."""


_NO_KEY: Any = _NoKey()


def _verify(obj: Obj, req: DisclosureRequest, provider: Provider, now: int) -> Any:
    return disclosure.verify(codec.encode(obj), req, provider.public_key, now=now)


def _refused(obj: Obj, req: DisclosureRequest, provider: Provider, now: int) -> PrivbillError:
    with pytest.raises(PrivbillError) as ei:
        _verify(obj, req, provider, now)
    assert isinstance(ei.value, DecodeError | VerificationError), type(ei.value)
    return ei.value


@pytest.fixture()
def cheater(case: tuple[DisclosureRequest, bytes], meter_a: MeterSetup) -> Cheater:
    req, data = case
    return Cheater(meter_a, req, data)


def test_baseline_verifies(
    case: tuple[DisclosureRequest, bytes], provider: Provider, now: int, cheater: Cheater
) -> None:
    req, data = case
    v = disclosure.verify(data, req, provider.public_key, now=now)
    assert v.results[0].value == sum(cheater.values(0))
    w = cheater.weights(2)
    assert v.results[2].value == sum(a * c for a, c in zip(w, cheater.values(2), strict=True))


# --- revealed values shifted, with proofs made for them --------------------------------------

SHIFTS = [1, -1, 2, 96, 2**8, 2**16, 2**32, 2**40, 2**52, 2**62]


@pytest.mark.parametrize("k", [0, 2], ids=["sum", "weighted-sum"])
@pytest.mark.parametrize("delta", SHIFTS)
def test_shifted_value_with_a_proof_for_it(
    k: int, delta: int, cheater: Cheater, case: Any, provider: Provider, now: int
) -> None:
    """The cheater knows the blinding ``R`` of the derived point ``P`` and proves ``P − V'·G =
    ρ·H`` for ``V' = V + δ`` with every witness it can think of (``R``, ``R ± δ``,
    ``R + δ·R``): knowing ``log_H G`` would be needed. Values outside 64 bits (or negative
    sums) do not even decode."""
    req = case[0]
    w = cheater.weights(k)
    point = group.msm(cheater.points(k), w)
    value = sum(a * c for a, c in zip(w, cheater.values(k), strict=True))
    blind = sum(a * r for a, r in zip(w, cheater.opening_blindings(k), strict=True)) % Q
    forged = value + delta
    representable = codec.INT_MIN <= forged <= codec.INT_MAX and (k != 0 or forged >= 0)
    ctx = cheater.context(k)
    for witness in (blind, blind + delta, blind - delta, blind * (1 + delta)):
        obj = copy.deepcopy(cheater.obj)
        ans = next(a for a in obj["answers"] if a["statement"] == k)
        ans["value"] = forged
        ans["proof"] = cheater.proof_for(point, forged, witness, ctx)
        err = _refused(obj, req, provider, now)
        assert isinstance(err, DisclosureProofError if representable else DecodeError)


@pytest.mark.parametrize("k", [0, 2], ids=["sum", "weighted-sum"])
def test_shifted_blinding(
    k: int, cheater: Cheater, case: Any, provider: Provider, now: int
) -> None:
    """A valid proof for ``V + δ`` about the point ``(V + δ)·G + R·H`` — a point the cheater
    can open, but not the one the verifier derives from the seals."""
    req = case[0]
    w = cheater.weights(k)
    value = sum(a * c for a, c in zip(w, cheater.values(k), strict=True))
    blind = sum(a * r for a, r in zip(w, cheater.opening_blindings(k), strict=True)) % Q
    for delta in (1, 1000, -5):
        forged = value + delta
        own = pedersen.commit(forged, blind)
        proof = gadgets.prove_linear(
            [1], [own], [Opening(forged % Q, blind)], forged, context=cheater.context(k),
            flavor=Flavor.COMPACT,
        )  # fmt: skip
        obj = copy.deepcopy(cheater.obj)
        ans = next(a for a in obj["answers"] if a["statement"] == k)
        ans["value"], ans["proof"] = forged, proof
        assert isinstance(_refused(obj, req, provider, now), DisclosureProofError)


def test_values_modulo_the_group_order_do_not_decode(
    cheater: Cheater, case: Any, provider: Provider, now: int
) -> None:
    """``V ± q`` opens the same point but is not a 64-bit integer: refused while decoding."""
    req = case[0]
    for k in (0, 2):
        for forged in (cheater.answer(k)["value"] + Q, cheater.answer(k)["value"] - Q):
            obj = copy.deepcopy(cheater.obj)
            next(a for a in obj["answers"] if a["statement"] == k)["value"] = forged
            assert isinstance(_refused(obj, req, provider, now), DecodeError)


# --- opened readings ---------------------------------------------------------------------------


def _open_proof(cheater: Cheater, values: list[int], ctx: bytes) -> bytes:
    rho = disclosure_proofs.open_weights(ctx, values)
    point = group.msm(cheater.points(3), rho)
    value = sum(a * c for a, c in zip(rho, values, strict=True))
    blind = sum(a * r for a, r in zip(rho, cheater.opening_blindings(3), strict=True))
    return cheater.proof_for(point, value, blind, ctx)


@pytest.mark.parametrize(
    "change",
    [
        lambda v: [v[0] + 1, v[1]],
        lambda v: [v[0], v[1] - 1],
        lambda v: [v[1], v[0]],
        lambda v: [v[0] + v[1] // 2 + 1, v[1] - v[1] // 2 - 1],  # the same sum, another split
        lambda v: [v[0] + v[1], 0],
        lambda v: [0, 0],
    ],
    ids=["first+1", "second-1", "swapped", "same sum", "all in the first", "zeros"],
)
def test_changed_opened_readings(
    change: Callable[[list[int]], list[int]],
    cheater: Cheater,
    case: Any,
    provider: Provider,
    now: int,
) -> None:
    """The cheater changes the opened values and proves the combination with the weights
    derived from its new values and the true blinding factors."""
    req = case[0]
    values = change(cheater.values(3))
    assert values != cheater.values(3) and all(0 <= v < 2**32 for v in values)
    obj = copy.deepcopy(cheater.obj)
    ans = next(a for a in obj["answers"] if a["statement"] == 3)
    ans["values"] = values
    ans["proof"] = _open_proof(cheater, values, cheater.context(3))
    assert isinstance(_refused(obj, req, provider, now), DisclosureProofError)
    # The cheater's proof method itself is sound: with the true values it verifies.
    ok = copy.deepcopy(cheater.obj)
    next(a for a in ok["answers"] if a["statement"] == 3)["proof"] = _open_proof(
        cheater, cheater.values(3), cheater.context(3)
    )
    assert _verify(ok, req, provider, now).results[3].readings is not None


# --- answers moved -----------------------------------------------------------------------------


def test_answer_moved_between_statements(
    cheater: Cheater, case: Any, provider: Provider, now: int
) -> None:
    """The first day's sum presented as the second day's (statement index rewritten), and the
    second day's value with the first day's proof."""
    req = case[0]
    obj = copy.deepcopy(cheater.obj)
    first = copy.deepcopy(cheater.answer(0))
    first["statement"] = 1
    obj["answers"][1] = first
    assert isinstance(_refused(obj, req, provider, now), DisclosureProofError)
    obj = copy.deepcopy(cheater.obj)
    obj["answers"][1]["proof"] = cheater.answer(0)["proof"]
    assert isinstance(_refused(obj, req, provider, now), DisclosureProofError)


def test_answer_moved_to_another_period(
    provider: Provider,
    meter_a: MeterSetup,
    statements: list[Statement],
    week: BillingPeriod,
    now: int,
    case: Any,
) -> None:
    """The same statements (the same windows, the same meter) asked for a longer period: the
    proofs are bound to the period they were made for."""
    longer = BillingPeriod(week.start - DAY, week.end)
    other = _request(provider, statements, longer, now)
    obj: Obj = cbor2.loads(case[1])
    obj["request_hash"] = other.hash()
    obj["consent"] = Consent(other.hash(), tuple(obj["consent"]["statements"]), now).to_obj()
    err = _refused(obj, other, provider, now)
    assert isinstance(err, DisclosureProofError) and err.field == "answers[0].value"


def test_answer_moved_to_another_consent(
    cheater: Cheater, case: Any, provider: Provider, now: int
) -> None:
    """A cheater who knows the openings can of course answer under any consent it makes; one
    who holds only the response cannot: every answer but the first is kept, the consent changed
    (another time), and the first answer re-proven under the new consent by the cheater — the
    remaining answers are still bound to the old one."""
    req = case[0]
    obj = copy.deepcopy(cheater.obj)
    new = Consent(req.hash(), tuple(obj["consent"]["statements"]), now + 7)
    obj["consent"] = new.to_obj()
    w = cheater.weights(0)
    point = group.msm(cheater.points(0), w)
    value = sum(cheater.values(0))
    blind = sum(cheater.opening_blindings(0)) % Q
    obj["answers"][0]["proof"] = cheater.proof_for(point, value, blind, cheater.context(0, new))
    err = _refused(obj, req, provider, now)
    assert isinstance(err, DisclosureProofError) and err.field == "answers[1].value"


# --- threshold answers for false statements ------------------------------------------------------


def _unchecked_openings(
    statement: bulletproofs.RangeStatement, values: Any, blindings: Any
) -> list[tuple[int, int]]:
    """The range prover's opening and range checks, switched off: the cheater proves whatever
    values it likes (bits beyond the range are dropped by the prover)."""
    return [
        ((sign * values[idx] + offset) % Q, sign * blindings[idx] % Q)
        for idx, sign, offset in statement.constraints
    ]


@pytest.fixture()
def lying_range_prover(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setattr(bulletproofs, "_check_openings", _unchecked_openings)
    yield


def _threshold_answer(
    cheater: Cheater, k: int, statement: Threshold, diffs: list[int], blinds: list[int]
) -> list[bytes]:
    points = statement.derived_points(cheater.points(k))
    return list(
        disclosure_proofs.prove_ranges(
            diffs, blinds, points, statement.range_bits, cheater.context(k)
        )
    )


@pytest.mark.usefixtures("lying_range_prover")
def test_false_sum_threshold(
    provider: Provider, meter_a: MeterSetup, statements: list[Statement], week: BillingPeriod,
    now: int,
) -> None:  # fmt: skip
    """``Σ c ≤ X`` with ``X`` one Wh (and far) below the true sum: the derived commitment holds a
    negative number; proofs made for it, for it modulo ``2^n``, or borrowed from a true bound,
    are refused."""
    s = statements[4]
    assert isinstance(s, Threshold)
    for gap in (1, 1000, s.bound // 2):
        false = Threshold(s.meter, s.select, s.test, s.bound - gap)
        req = _request(provider, [false, s], week, now)
        genuine = disclosure.answer(
            req, Consent.create(req, [1], at=now), [meter_a.sealed], [meter_a.openings],
            provider=provider.public_key, ledger=DisclosureLedger(), policy=ANY, now=now,
        )  # fmt: skip
        cheater = Cheater(meter_a, req, genuine.encode())
        consent = Consent.create(req, [0, 1], at=now)
        cheater.consent = consent
        total = sum(cheater.values(0))
        blind = -sum(cheater.opening_blindings(0)) % Q
        n = false.range_bits
        attempts = {
            "negative difference": [false.bound - total],
            "difference modulo 2^n": [(false.bound - total) % 2**n],
            "difference + q": [false.bound - total + Q],
        }
        for name, diffs in attempts.items():
            obj = copy.deepcopy(cheater.obj)
            obj["consent"] = consent.to_obj()
            proofs = _threshold_answer(cheater, 0, false, diffs, [blind])
            true_answer = s.prove(
                1, cheater.req, cheater.values(1), cheater.opening_blindings(1),
                cheater.points(1), cheater.context(1),
            )  # fmt: skip
            obj["answers"] = [
                {"kind": "threshold", "statement": 0, "proofs": proofs},
                true_answer.to_obj(),
            ]
            err = _refused(obj, req, provider, now)
            assert isinstance(err, DisclosureProofError), name
            assert err.field == "answers[0].proofs", name
        # The proof of the true statement 1 (the same window, the true bound) presented for the
        # false statement 0.
        obj = copy.deepcopy(cheater.obj)
        obj["consent"] = consent.to_obj()
        true1 = s.prove(
            1, cheater.req, cheater.values(1), cheater.opening_blindings(1), cheater.points(1),
            cheater.context(1),
        )  # fmt: skip
        obj["answers"] = [
            {"kind": "threshold", "statement": 0, "proofs": list(true1.proofs)},
            true1.to_obj(),
        ]
        assert isinstance(_refused(obj, req, provider, now), DisclosureProofError)


@pytest.mark.usefixtures("lying_range_prover")
def test_false_each_at_most(
    provider: Provider, meter_a: MeterSetup, week: BillingPeriod, now: int
) -> None:
    """No interval above ``Y`` with one interval above it: every range proof the cheater can
    make — for the true derived commitments (one negative), with the offending one replaced by
    a commitment to 0 it can open, or with wider ranges — is refused."""
    s = week.start
    window = Window(s + DAY, s + DAY + 2 * HOUR)
    a0 = meter_a.period.start // L
    vals = meter_a.values[window.start // L - a0 : window.end // L - a0]
    y = sorted(vals)[-2]  # the largest reading is above Y, the rest are not
    assert max(vals) > y
    false = Threshold("m-a", window, "each-at-most", y)
    true = Threshold("m-a", window, "each-at-most", max(vals))
    req = _request(provider, [false, true], week, now)
    genuine = disclosure.answer(
        req, Consent.create(req, [1], at=now), [meter_a.sealed], [meter_a.openings],
        provider=provider.public_key, ledger=DisclosureLedger(), policy=ANY, now=now,
    )  # fmt: skip
    cheater = Cheater(meter_a, req, genuine.encode())
    consent = Consent.create(req, [0, 1], at=now)
    cheater.consent = consent
    values, blinds = cheater.values(0), cheater.opening_blindings(0)
    diffs = [y - c for c in values]
    neg = [-r % Q for r in blinds]
    bad = diffs.index(min(diffs))
    true_answer = true.prove(
        1, cheater.req, cheater.values(1), cheater.opening_blindings(1), cheater.points(1),
        cheater.context(1),
    ).to_obj()  # fmt: skip

    def submit(proofs: list[bytes]) -> PrivbillError:
        obj = copy.deepcopy(cheater.obj)
        obj["consent"] = consent.to_obj()
        obj["answers"] = [{"kind": "threshold", "statement": 0, "proofs": proofs}, true_answer]
        return _refused(obj, req, provider, now)

    assert isinstance(
        submit(_threshold_answer(cheater, 0, false, diffs, neg)), DisclosureProofError
    )
    # The offending derived commitment replaced by one the cheater opens to 0.
    points = false.derived_points(cheater.points(0))
    fake_r = group.random_scalar()
    points[bad] = pedersen.commit(0, fake_r)
    mended = [*diffs]
    mended[bad] = 0
    mended_r = [*neg]
    mended_r[bad] = fake_r
    proofs = disclosure_proofs.prove_ranges(
        mended, mended_r, points, false.range_bits, cheater.context(0)
    )
    assert isinstance(submit(list(proofs)), DisclosureProofError)
    # Wider ranges (64 bits where the statement's bound needs 16): the verifier fixes n.
    wide = disclosure_proofs.prove_ranges(
        [d % 2**64 for d in diffs], neg, false.derived_points(cheater.points(0)),
        64, cheater.context(0),
    )  # fmt: skip
    assert isinstance(submit(list(wide)), DisclosureProofError)
    # The true statement's proofs (bound max(vals)) for the false one.
    assert isinstance(submit(list(true_answer["proofs"])), DisclosureProofError)


# --- random mutations of a real response -----------------------------------------------------


@settings(
    max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    k=st.integers(0, 5),
    shift=st.booleans(),
    delta=st.integers(-(2**64), 2**64).filter(bool),
    position=st.integers(0, 1 << 16),
)
def test_random_mutations_are_refused(
    k: int,
    shift: bool,
    delta: int,
    position: int,
    case: tuple[DisclosureRequest, bytes],
    provider: Provider,
    now: int,
) -> None:
    """In any answer, a revealed integer shifted or a proof byte flipped: only typed errors
    escape, and no mutated response verifies."""
    req, data = case
    obj: Obj = cbor2.loads(data)
    ans = obj["answers"][k]
    flip = delta % 255 + 1
    if shift and "value" in ans:
        ans["value"] += delta
    elif shift and "values" in ans:
        ans["values"][position % len(ans["values"])] += delta
    elif "proof" in ans:
        p = ans["proof"]
        i = position % len(p)
        ans["proof"] = p[:i] + bytes([p[i] ^ flip]) + p[i + 1 :]
    else:
        j = position % len(ans["proofs"])
        p = ans["proofs"][j]
        i = (position >> 4) % len(p)
        ans["proofs"][j] = p[:i] + bytes([p[i] ^ flip]) + p[i + 1 :]
    with pytest.raises(PrivbillError) as ei:
        _verify(obj, req, provider, now)
    assert isinstance(ei.value, DecodeError | VerificationError)
