"""Selective disclosure: each statement against a cleartext computation; the tamper matrix of
request, consent and response; a response never reveals more than was requested and consented;
replays across meters, periods and requests; responses attached to a payment message."""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterator, Sequence
from decimal import Decimal
from typing import Any

import cbor2
import pytest

from cleartext import price_at
from helpers import MeterSetup, demo_description, make_meter
from privbill import disclosure
from privbill.billing.prover import prove_bill
from privbill.crypto import group
from privbill.crypto.signatures import SigningKey
from privbill.disclosure import proofs
from privbill.disclosure.ledger import DisclosureLedger, DisclosurePolicy
from privbill.disclosure.model import (
    REVEAL_PROOF_BYTES,
    BillReferenceError,
    Consent,
    ConsentError,
    DisclosureProofError,
    DisclosureRequest,
    DisclosureResponse,
    DisclosureScopeError,
    MeterRef,
    Register,
    RequestExpiredError,
    RequestMismatchError,
    SealReferences,
    Statement,
    WholePeriod,
    Window,
)
from privbill.disclosure.statements import OpenReadings, Sum, Threshold, WeightedSum
from privbill.disclosure.wording import describe
from privbill.errors import (
    CertificateError,
    CommitmentError,
    CoverageError,
    DecodeError,
    OpeningError,
    PrivbillError,
    SealChainError,
    SignatureError,
    UsageError,
)
from privbill.meter import Meter
from privbill.model import codec
from privbill.model.periods import BillingPeriod
from privbill.model.sealed import SealedReadings
from privbill.model.tariffs import SignedTariff, TariffBody
from privbill.provider import Provider

Obj = dict[str, Any]
Mutation = Callable[[Obj], None]
DAY = 86400
L = 900  # meter interval of the fixtures
#: These tests are about the proofs: every statement may be answered, opened readings and short
#: windows included (the policy has its own tests, test_disclosure_policy.py).
PERMISSIVE = DisclosurePolicy(min_window_s=0, allow_open=True)


# --- fixtures --------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def week(january: BillingPeriod) -> BillingPeriod:
    """5–11 January 2026 (local days in America/Denver, no DST change)."""
    return BillingPeriod(january.start + 4 * DAY, january.start + 11 * DAY)


@pytest.fixture(scope="module")
def issued(january: BillingPeriod) -> int:
    return january.end + 3600


@pytest.fixture(scope="module")
def now(issued: int) -> int:
    return issued + 600


def _first(period: BillingPeriod) -> int:
    return period.start // L


def make_request(
    provider: Provider,
    statements: Sequence[Statement],
    period: BillingPeriod,
    issued: int,
    *,
    account: str = "acct-1",
    **kw: Any,
) -> DisclosureRequest:
    meters = sorted({s.meter for s in statements})
    return DisclosureRequest.create(
        provider.key,
        requester="Example Power",
        purpose="billing reconciliation",
        account=account,
        meters=[MeterRef(m, L) for m in meters],
        period=period,
        timezone="America/Denver",
        statements=statements,
        issued_at=issued,
        **kw,
    )


def respond(
    req: DisclosureRequest,
    provider: Provider,
    meters: Sequence[MeterSetup],
    now: int,
    consent: Consent | None = None,
    **kw: Any,
) -> DisclosureResponse:
    kw.setdefault("ledger", DisclosureLedger())
    kw.setdefault("policy", PERMISSIVE)
    return disclosure.answer(
        req.encode(),
        consent or Consent.create(req, at=now),
        [m.sealed for m in meters],
        [m.openings for m in meters],
        provider=provider.public_key,
        now=now,
        **kw,
    )


@pytest.fixture(scope="module")
def full_statements(week: BillingPeriod, tariff: SignedTariff) -> list[Statement]:
    f = _first(week)
    day = Window(week.start + DAY, week.start + 2 * DAY)
    evening = Window(week.start + DAY + 17 * 3600, week.start + DAY + 20 * 3600)
    return [
        Sum("m-a", WholePeriod()),
        OpenReadings("m-a", (f + 100, f + 101, f + 300)),
        WeightedSum("m-a", day, 3600, tuple(300 + 7 * h for h in range(24)), "g/kWh"),
        Threshold("m-a", day, "sum-at-most", 500_000),
        Threshold("m-a", evening, "each-at-most", 1500),
        Sum("m-b", day),
        Sum("m-a", Register(tariff.hash(), 2)),
    ]


@pytest.fixture(scope="module")
def full_request(
    provider: Provider, full_statements: list[Statement], week: BillingPeriod, issued: int
) -> DisclosureRequest:
    return make_request(provider, full_statements, week, issued)


@pytest.fixture(scope="module")
def full_response(
    full_request: DisclosureRequest,
    provider: Provider,
    meter_a: MeterSetup,
    meter_b: MeterSetup,
    tariff: SignedTariff,
    now: int,
) -> bytes:
    return respond(full_request, provider, [meter_a, meter_b], now, tariffs=[tariff]).encode()


def check(
    response: bytes | DisclosureResponse,
    req: DisclosureRequest | bytes,
    provider: Provider,
    now: int,
    **kw: Any,
) -> disclosure.VerifiedDisclosure:
    return disclosure.verify(response, req, provider.public_key, now=now, **kw)


# --- correctness against cleartext -----------------------------------------------------------


def test_every_statement_matches_cleartext(
    full_response: bytes,
    full_request: DisclosureRequest,
    provider: Provider,
    meter_a: MeterSetup,
    meter_b: MeterSetup,
    tariff: SignedTariff,
    week: BillingPeriod,
    now: int,
) -> None:
    v = check(full_response, full_request, provider, now, tariffs=[tariff])
    a0 = _first(meter_a.period)  # index of meter_a.values[0]
    f = _first(week)

    def wh(m: MeterSetup, i: int) -> int:
        return m.values[i - a0]

    week_idx = range(f, f + 7 * 96)
    day_idx = range(f + 96, f + 192)
    r = {x.index: x for x in v.results}
    assert r[0].value == sum(wh(meter_a, i) for i in week_idx) and r[0].intervals == 672
    assert r[1].readings == tuple((i, wh(meter_a, i)) for i in (f + 100, f + 101, f + 300))
    weights = [300 + 7 * (k // 4) for k in range(96)]
    assert r[2].value == sum(w * wh(meter_a, i) for w, i in zip(weights, day_idx, strict=True))
    assert r[3].holds is True and r[4].holds is True and r[3].value is None
    assert r[5].value == sum(wh(meter_b, i) for i in day_idx)
    # Register 2 of the demo tariff ("winter on-peak"), computed independently from the JSON
    # description: every interval priced at that period's price.
    desc = demo_description()
    peak = Decimal(desc["energy"]["periods"][2]["price"])
    on_peak = [i for i in week_idx if price_at(desc, i * L) == peak]
    assert on_peak and r[6].intervals == len(on_peak)
    assert r[6].value == sum(wh(meter_a, i) for i in on_peak)
    assert v.declined == () and v.account == "acct-1" and v.requester == "Example Power"
    assert v.request_hash == full_request.hash() and v.bill_hash is None


@pytest.mark.parametrize("test", ["sum-at-most", "sum-at-least", "each-at-most"])
def test_threshold_boundaries(
    test: str,
    provider: Provider,
    meter_a: MeterSetup,
    week: BillingPeriod,
    issued: int,
    now: int,
) -> None:
    """The tightest true bound verifies; one Wh tighter cannot be answered."""
    a0 = _first(meter_a.period)
    f = _first(week)
    window = Window(week.start + 2 * DAY, week.start + 3 * DAY)
    vals = meter_a.values[f + 192 - a0 : f + 288 - a0]
    tight = {"sum-at-most": sum(vals), "sum-at-least": sum(vals), "each-at-most": max(vals)}[test]
    false = tight + 1 if test == "sum-at-least" else tight - 1
    ok = make_request(provider, [Threshold("m-a", window, test, tight)], week, issued)  # type: ignore[arg-type]
    v = check(respond(ok, provider, [meter_a], now).encode(), ok, provider, now)
    assert v.results[0].holds is True
    bad = make_request(provider, [Threshold("m-a", window, test, false)], week, issued)  # type: ignore[arg-type]
    with pytest.raises(UsageError, match="not true"):
        respond(bad, provider, [meter_a], now)


def test_each_at_most_needs_32_bit_proofs(
    provider: Provider, meter_a: MeterSetup, week: BillingPeriod, issued: int, now: int
) -> None:
    """A bound of 2^16 Wh or more is proven with 32-bit ranges; 2^32 − 1 is the largest bound."""
    window = Window(week.start, week.start + 3 * 3600)
    for bound in (1 << 16, 2**32 - 1):
        st = Threshold("m-a", window, "each-at-most", bound)
        assert st.range_bits == 32
        req = make_request(provider, [st], week, issued)
        assert check(respond(req, provider, [meter_a], now).encode(), req, provider, now)
    with pytest.raises(UsageError):
        make_request(provider, [Threshold("m-a", window, "each-at-most", 2**32)], week, issued)


def test_range_groups_cover_exactly() -> None:
    for m in (1, 2, 3, 8, 96, 672, 2976):
        groups = proofs.range_groups(m)
        assert sum(size for _, size in groups) == m
        assert [a for a, _ in groups] == [sum(s for _, s in groups[:k]) for k in range(len(groups))]
        assert all(size & (size - 1) == 0 for _, size in groups)
    assert proofs.range_groups(96) == [(0, 64), (64, 32)]


def test_consent_to_a_subset(
    full_request: DisclosureRequest,
    provider: Provider,
    meter_a: MeterSetup,
    now: int,
) -> None:
    consent = Consent.create(full_request, [0, 3], at=now)
    resp = respond(full_request, provider, [meter_a], now, consent)
    assert [a.statement for a in resp.answers] == [0, 3]
    assert [m.meter_id for m in resp.meters] == ["m-a"]  # m-b is not needed
    v = check(resp.encode(), full_request, provider, now)
    assert v.declined == (1, 2, 4, 5, 6) and [r.index for r in v.results] == [0, 3]


def test_derived_blindings_and_opening_key(
    provider: Provider, tariff: SignedTariff, week: BillingPeriod, issued: int, now: int
) -> None:
    key = SigningKey.generate()
    cert = provider.certify_meter("m-k", "acct-1", key.public_key())
    okey = Meter.new_opening_key()
    meter = Meter(cert, key, "day", tariff.body.timezone, okey)
    f = _first(week)
    values = [(i * 37) % 900 for i in range(7 * 96)]
    rec = meter.record([(f + k, v) for k, v in enumerate(values)])
    assert rec.openings.blindings is None
    sealed = SealedReadings(cert, tuple(rec.runs))
    req = make_request(
        provider, [Sum("m-k", WholePeriod()), OpenReadings("m-k", (f + 5,))], week, issued
    )
    consent = Consent.create(req, at=now)
    args = (req, consent, [sealed], [rec.openings])
    with pytest.raises(OpeningError, match="opening key"):
        disclosure.answer(
            *args, provider=provider.public_key, now=now, ledger=DisclosureLedger(),
            policy=PERMISSIVE,
        )  # fmt: skip
    resp = disclosure.answer(
        *args, provider=provider.public_key, now=now, opening_key={"m-k": okey},
        ledger=DisclosureLedger(), policy=PERMISSIVE,
    )  # fmt: skip
    v = check(resp.encode(), req, provider, now)
    assert v.results[0].value == sum(values) and v.results[1].readings == ((f + 5, values[5]),)
    # A wrong opening key gives blinding factors that do not open the sealed commitments.
    with pytest.raises(OpeningError, match="does not match"):
        disclosure.answer(
            *args, provider=provider.public_key, now=now, opening_key=bytes(32),
            ledger=DisclosureLedger(), policy=PERMISSIVE,
        )  # fmt: skip


def test_signed_consent(
    provider: Provider, meter_a: MeterSetup, week: BillingPeriod, issued: int, now: int
) -> None:
    customer = SigningKey.generate("ed25519")
    req = make_request(provider, [Sum("m-a", WholePeriod())], week, issued)
    consent = Consent.create(req, at=now, key=customer)
    data = respond(req, provider, [meter_a], now, consent).encode()
    v = check(data, req, provider, now, customer_key=customer.public_key())
    assert v.customer_key_id == customer.public_key().key_id
    with pytest.raises(ConsentError, match="expected customer key"):
        check(data, req, provider, now, customer_key=SigningKey.generate().public_key())
    unsigned = respond(req, provider, [meter_a], now).encode()
    with pytest.raises(ConsentError, match="expected customer key"):
        check(unsigned, req, provider, now, customer_key=customer.public_key())
    obj = cbor2.loads(data)
    for key, value in (
        ("signature", _flip(obj["consent"]["signature"])),
        ("at", obj["consent"]["at"] + 1),
        ("customer_key", SigningKey.generate().public_key().spki),
    ):
        o = copy.deepcopy(obj)
        o["consent"][key] = value
        with pytest.raises(SignatureError):
            check(codec.encode(o), req, provider, now)
    o = copy.deepcopy(obj)
    del o["consent"]["signature"]
    with pytest.raises(DecodeError, match="signature"):
        check(codec.encode(o), req, provider, now)


# --- the customer side refuses what it must not answer ---------------------------------------


def test_answer_checks_its_inputs(
    full_request: DisclosureRequest,
    provider: Provider,
    other_provider: Provider,
    meter_a: MeterSetup,
    meter_b: MeterSetup,
    tariff: SignedTariff,
    week: BillingPeriod,
    issued: int,
    now: int,
) -> None:
    both = [meter_a, meter_b]
    with pytest.raises(SignatureError, match="another provider"):
        disclosure.answer(
            full_request, Consent.create(full_request, at=now), [], [],
            provider=other_provider.public_key, now=now, ledger=DisclosureLedger(),
        )  # fmt: skip
    with pytest.raises(RequestExpiredError):
        respond(full_request, provider, both, full_request.expires, tariffs=[tariff])
    other = make_request(provider, [Sum("m-a", WholePeriod())], week, issued)
    with pytest.raises(ConsentError, match="another request"):
        respond(full_request, provider, both, now, Consent.create(other, at=now))
    beyond = Consent(full_request.hash(), (0, 9), now)
    with pytest.raises(ConsentError, match="statement 9"):
        respond(full_request, provider, both, now, beyond)
    with pytest.raises(UsageError, match="needs the tariff"):
        respond(full_request, provider, both, now)
    with pytest.raises(UsageError, match="no sealed readings"):
        respond(full_request, provider, [meter_a], now, tariffs=[tariff])
    bad = copy.deepcopy(meter_a.openings)
    bad.values[_first(week) - _first(meter_a.period) + 150] += 1
    with pytest.raises(OpeningError, match="does not match"):
        disclosure.answer(
            full_request, Consent.create(full_request, at=now), [meter_a.sealed, meter_b.sealed],
            [bad, meter_b.openings], provider=provider.public_key, now=now, tariffs=[tariff],
            ledger=DisclosureLedger(), policy=PERMISSIVE,
        )  # fmt: skip
    with pytest.raises(OpeningError, match="no opening"):
        disclosure.answer(
            full_request, Consent.create(full_request, at=now), [meter_a.sealed, meter_b.sealed],
            [meter_a.openings], provider=provider.public_key, now=now, tariffs=[tariff],
            ledger=DisclosureLedger(), policy=PERMISSIVE,
        )  # fmt: skip
    stranger = make_meter(provider, "m-a", "acct-9", tariff, meter_a.period, seed=3)
    with pytest.raises(CertificateError, match="acct-9"):
        respond(full_request, provider, [stranger, meter_b], now, tariffs=[tariff])


def test_request_construction_is_checked(
    provider: Provider, week: BillingPeriod, issued: int, tariff: SignedTariff
) -> None:
    f = _first(week)
    bad: list[tuple[list[Statement], str]] = [
        ([Sum("m-a", Window(week.start + 60, week.start + DAY))], "aligned"),
        ([Sum("m-a", Window(week.start - DAY, week.start + DAY))], "inside the period"),
        ([OpenReadings("m-a", (f + 5, f + 5))], "increasing"),
        ([OpenReadings("m-a", (f - 1,))], "outside the period"),
        ([Sum("m-a", WholePeriod()), Sum("m-a", WholePeriod())], "twice"),
        ([WeightedSum("m-a", WholePeriod(), 3600, (1, 2), "g/kWh")], "weights"),
        ([WeightedSum("m-a", WholePeriod(), 1000, (1,), "g/kWh")], "multiple"),
        ([Threshold("m-a", WholePeriod(), "each-at-most", 2**32)], "bound"),
        ([Threshold("m-a", WholePeriod(), "sum-at-most", -1)], "bound"),
    ]
    for statements, match in bad:
        with pytest.raises(UsageError, match=match):
            make_request(provider, statements, week, issued)
    with pytest.raises(UsageError, match="not among"):
        DisclosureRequest.create(
            provider.key, requester="X", purpose="y", account="acct-1",
            meters=[MeterRef("m-b", L)], period=week, timezone="UTC",
            statements=[Sum("m-a", WholePeriod())],
        )  # fmt: skip
    with pytest.raises(UsageError, match="no statement"):
        DisclosureRequest.create(
            provider.key, requester="X", purpose="y", account="acct-1",
            meters=[MeterRef("m-a", L), MeterRef("m-b", L)], period=week, timezone="UTC",
            statements=[Sum("m-a", WholePeriod())],
        )  # fmt: skip


def test_describe_in_plain_words(
    full_request: DisclosureRequest,
    tariff: SignedTariff,
    provider: Provider,
    january: BillingPeriod,
    issued: int,
) -> None:
    one = make_request(provider, [Sum("m-a", WholePeriod())], january, issued)
    text = describe(one)
    assert text.startswith(
        "Example Power asks, for billing reconciliation, to learn your total consumption "
        "from 1 to 31 January 2026 on meter m-a."
    )
    assert (
        "reveals no single reading and no combination of readings within any stretch of time shorter than 23 hours"
        in text
    )
    assert "Totals over overlapping times reveal the consumption of their difference" in text
    full = describe(full_request, [tariff])
    lines = full.splitlines()
    assert lines[1] == "  1. your total consumption from 5 to 11 January 2026 on meter m-a;"
    assert "on 6 January 2026 from 01:00 to 01:15" in lines[2]  # the first opened interval
    assert "each hour's consumption multiplied by a public weight in g/kWh" in lines[3]
    assert "at most 500 kWh" in lines[4]
    assert "every 15-minute interval on 6 January 2026 from 17:00 to 20:00" in lines[5]
    assert "at most 1.5 kWh" in lines[5]
    assert '"winter on-peak" periods' in lines[7]
    assert "no single reading other than those listed" in full
    assert "Opened readings are learned exactly" in full
    assert "can, alone or with other figures, reveal individual readings" in full
    assert "finds your largest reading in that time" in full
    assert "several such statements with different amounts narrow the total down" in full
    assert "valid until" in full and "Account acct-1" in full
    # Without the tariff the register is named by number and tariff hash.
    assert f"tariff period 2 of the tariff {tariff.hash().hex()[:16]}" in describe(full_request)


def test_objects_round_trip(full_request: DisclosureRequest, full_response: bytes) -> None:
    assert DisclosureRequest.decode(full_request.encode()) == full_request
    resp = DisclosureResponse.decode(full_response)
    assert resp.encode() == full_response
    assert Consent.decode(resp.consent.encode()) == resp.consent
    assert "blinding" not in repr(resp) and "<value" in repr(resp.answers[0])
    # Non-canonical CBOR (a map key order changed) is refused.
    obj = cbor2.loads(full_response)
    loose = cbor2.dumps(dict(reversed(list(obj.items()))))
    with pytest.raises(DecodeError, match="canonical"):
        DisclosureResponse.decode(loose)


# --- what the response reveals ---------------------------------------------------------------


def _walk(node: Any, path: str = "") -> Iterator[tuple[str, Any]]:
    yield path, node
    if isinstance(node, dict):
        for k, v in node.items():
            yield from _walk(v, f"{path}.{k}")
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from _walk(v, f"{path}[{i}]")


def _blinding_bytes(m: MeterSetup, index: int) -> bytes:
    assert m.openings.blindings is not None
    return group.encode_scalar(m.openings.blindings[index - m.openings.first])


def test_response_reveals_only_what_was_consented(
    full_request: DisclosureRequest,
    provider: Provider,
    meter_a: MeterSetup,
    week: BillingPeriod,
    now: int,
) -> None:
    """Consent to the day's weighted sum and the two thresholds only: no reading, no blinding
    factor of any interval (nor their weighted sum), no sum of the week, nothing of meter
    m-b."""
    consent = Consent.create(full_request, [2, 3, 4], at=now)
    data = respond(full_request, provider, [meter_a], now, consent).encode()
    obj = cbor2.loads(data)
    f = _first(week)
    for i in range(f - 96, f + 8 * 96):  # every interval of the week and a day either side
        assert _blinding_bytes(meter_a, i) not in data, f"blinding factor of interval {i} leaked"
    keys = {p.rsplit(".", 1)[-1] for p, _ in _walk(obj) if "." in p}
    assert "values" not in keys and "blindings" not in keys and "blinding" not in keys
    assert [a["statement"] for a in obj["answers"]] == [2, 3, 4]
    assert set(obj["answers"][0]) == {"kind", "statement", "value", "proof"}
    assert len(obj["answers"][0]["proof"]) == REVEAL_PROOF_BYTES
    assert set(obj["answers"][1]) == set(obj["answers"][2]) == {"kind", "statement", "proofs"}
    # Only the weighted sum's value and the statement numbers are integers in the answers.
    ints = sorted(v for p, v in _walk(obj["answers"]) if isinstance(v, int))
    a0 = _first(meter_a.period)
    day = meter_a.values[f + 96 - a0 : f + 192 - a0]
    weighted = sum((300 + 7 * (k // 4)) * c for k, c in enumerate(day))
    assert ints == sorted([2, 3, 4, weighted])
    assert meter_a.openings.blindings is not None
    rs = meter_a.openings.blindings[f + 96 - a0 : f + 192 - a0]
    hidden = sum((300 + 7 * (k // 4)) * r for k, r in enumerate(rs)) % group.ORDER
    assert group.encode_scalar(hidden) not in data  # the weighted blinding stays hidden
    # Evidence: meter m-a only, and only the one daily run that holds the disclosed day.
    assert [m["certificate"]["meter_id"] for m in obj["meters"]] == ["m-a"]
    runs = obj["meters"][0]["runs"]
    assert [(r["seal"]["first"], r["seal"]["count"]) for r in runs] == [(f + 96, 96)]


def test_opened_readings_reveal_exactly_those_intervals(
    full_request: DisclosureRequest,
    provider: Provider,
    meter_a: MeterSetup,
    week: BillingPeriod,
    now: int,
) -> None:
    consent = Consent.create(full_request, [1], at=now)
    data = respond(full_request, provider, [meter_a], now, consent).encode()
    f = _first(week)
    opened = {f + 100, f + 101, f + 300}
    leaked = {i for i in range(f, f + 7 * 96) if _blinding_bytes(meter_a, i) in data}
    assert leaked == set()  # the values are revealed, their blinding factors are not
    ans = cbor2.loads(data)["answers"]
    a0 = _first(meter_a.period)
    assert len(ans) == 1 and ans[0]["values"] == [meter_a.values[i - a0] for i in sorted(opened)]
    # The runs span day 2 (intervals 100, 101) to day 4 (interval 300): three daily runs.
    runs = cbor2.loads(data)["meters"][0]["runs"]
    assert [r["seal"]["first"] for r in runs] == [f + 96, f + 192, f + 288]


def test_sum_reveals_only_the_sum(
    full_request: DisclosureRequest,
    provider: Provider,
    meter_b: MeterSetup,
    week: BillingPeriod,
    now: int,
) -> None:
    consent = Consent.create(full_request, [5], at=now)
    data = respond(full_request, provider, [meter_b], now, consent).encode()
    (ans,) = cbor2.loads(data)["answers"]
    f, b0 = _first(week), _first(meter_b.period)
    day = range(f + 96, f + 192)
    assert ans["value"] == sum(meter_b.values[i - b0] for i in day)
    assert set(ans) == {"kind", "statement", "value", "proof"}
    assert meter_b.openings.blindings is not None
    rs = [meter_b.openings.blindings[i - b0] for i in day]
    assert group.encode_scalar(sum(rs) % group.ORDER) not in data
    assert not any(group.encode_scalar(r) in data for r in rs)


# --- tamper matrix: the response -------------------------------------------------------------


def _flip(b: bytes, i: int = -1) -> bytes:
    i %= len(b)
    return b[:i] + bytes([b[i] ^ 0x01]) + b[i + 1 :]


def _set(path: Callable[[Obj], Any], key: Any, value: Callable[[Any], Any]) -> Mutation:
    def m(obj: Obj) -> None:
        node = path(obj)
        node[key] = value(node[key])

    return m


def _drop(path: Callable[[Obj], Any], key: Any) -> Mutation:
    def m(obj: Obj) -> None:
        del path(obj)[key]

    return m


def _swap(path: Callable[[Obj], Any], i: int, j: int) -> Mutation:
    def m(obj: Obj) -> None:
        node = path(obj)
        node[i], node[j] = node[j], node[i]

    return m


def _dup(path: Callable[[Obj], Any], i: int) -> Mutation:
    def m(obj: Obj) -> None:
        node = path(obj)
        node.insert(i + 1, copy.deepcopy(node[i]))

    return m


def _top(o: Obj) -> Obj:
    return o


def _consent(o: Obj) -> Obj:
    return o["consent"]


def _meters(o: Obj) -> list[Obj]:
    return o["meters"]


def _cert(o: Obj) -> Obj:
    return o["meters"][0]["certificate"]


def _runs(o: Obj) -> list[Obj]:
    return o["meters"][0]["runs"]


def _seal(k: int) -> Callable[[Obj], Obj]:
    return lambda o: o["meters"][0]["runs"][k]["seal"]


def _answers(o: Obj) -> list[Obj]:
    return o["answers"]


def _ans(k: int) -> Callable[[Obj], Obj]:
    return lambda o: o["answers"][k]


def _extra_run(where: str) -> Mutation:
    """Add the genuine neighbouring daily run of meter m-a (a valid chain, but not needed)."""

    def m(obj: Obj) -> None:
        runs = obj["meters"][0]["runs"]
        first = runs[0]["seal"]["first"] if where == "before" else runs[-1]["seal"]["first"]
        extra = EXTRA_RUNS[(first, where)]
        if where == "before":
            runs.insert(0, extra)
        else:
            runs.append(extra)

    return m


EXTRA_RUNS: dict[tuple[int, str], Obj] = {}  # filled by the full_obj fixture


def _swap_field(o: Obj, i: int, j: int, key: str) -> None:
    a, b = o["answers"][i], o["answers"][j]
    a[key], b[key] = b[key], a[key]


def _swap_threshold_proofs(o: Obj) -> None:
    a, b = o["answers"][3], o["answers"][4]
    a["proofs"], b["proofs"] = b["proofs"], a["proofs"]


RESPONSE_MATRIX: list[tuple[str, Mutation, type[PrivbillError]]] = [
    # top level
    ("format", _set(_top, "format", lambda v: "privbill/disclosure-response/3"), DecodeError),
    ("format of the first version", _set(_top, "format", lambda v: "privbill/disclosure-response/1"), DecodeError),
    ("request hash", _set(_top, "request_hash", _flip), RequestMismatchError),
    ("request hash dropped", _drop(_top, "request_hash"), DecodeError),
    ("unknown field", lambda o: o.__setitem__("note", "hi"), DecodeError),
    ("bill hash on a standalone response", lambda o: o.__setitem__("bill_hash", bytes(32)), DecodeError),
    # consent
    ("consent dropped", _drop(_top, "consent"), DecodeError),
    ("consent format", _set(_consent, "format", lambda v: "privbill/disclosure-consent/9"), DecodeError),
    ("consent request hash", _set(_consent, "request_hash", _flip), ConsentError),
    ("consent statement dropped", lambda o: o["consent"]["statements"].pop(), DisclosureScopeError),
    ("consent statement beyond the request", lambda o: o["consent"]["statements"].append(7), ConsentError),
    ("consent statements reordered", _swap(lambda o: o["consent"]["statements"], 0, 1), DecodeError),
    ("consent statement duplicated", _dup(lambda o: o["consent"]["statements"], 2), DecodeError),
    ("consent statements empty", _set(_consent, "statements", lambda v: []), DecodeError),
    ("consent before the request", _set(_consent, "at", lambda v: v - 3600), ConsentError),
    ("consent after expiry", _set(_consent, "at", lambda v: v + 30 * DAY), ConsentError),
    ("consent time shifted (unsigned)", _set(_consent, "at", lambda v: v + 1), DisclosureProofError),
    ("consent key without signature", lambda o: o["consent"].__setitem__("customer_key", SigningKey.generate().public_key().spki), DecodeError),
    ("consent unknown field", lambda o: o["consent"].__setitem__("note", 1), DecodeError),
    # meter sections
    ("meters empty", _set(_top, "meters", lambda v: []), DecodeError),
    ("meter section dropped", lambda o: o["meters"].pop(), DisclosureScopeError),
    ("meter sections reordered", _swap(_meters, 0, 1), DisclosureScopeError),
    ("meter section duplicated", _dup(_meters, 0), DisclosureScopeError),
    ("meter section as a reference", lambda o: o["meters"].__setitem__(1, {"meter_id": "m-b", "seals": [bytes(32)]}), DecodeError),
    ("certificate account", _set(_cert, "account", lambda v: "acct-2"), SignatureError),
    ("certificate meter id", _set(_cert, "meter_id", lambda v: "m-z"), DisclosureScopeError),
    ("certificate valid from", _set(_cert, "valid_from", lambda v: v + 1), SignatureError),
    ("certificate interval", _set(_cert, "interval_s", lambda v: 1800), SignatureError),
    ("certificate signature", _set(_cert, "signature", _flip), SignatureError),
    ("certificate field dropped", _drop(_cert, "valid_until"), DecodeError),
    ("first run dropped", lambda o: _runs(o).pop(0), CoverageError),
    ("middle run dropped", lambda o: _runs(o).pop(3), CoverageError),
    ("last run dropped", lambda o: _runs(o).pop(), CoverageError),
    ("run duplicated", _dup(_runs, 2), CoverageError),
    ("runs reordered", _swap(_runs, 2, 3), CoverageError),
    ("extra run before", _extra_run("before"), DisclosureScopeError),
    ("extra run after", _extra_run("after"), DisclosureScopeError),
    ("runs empty", lambda o: o["meters"][0].__setitem__("runs", []), DecodeError),
    ("seal meter id", _set(_seal(2), "meter_id", lambda v: "m-b"), SealChainError),
    ("seal seq", _set(_seal(2), "seq", lambda v: v + 1), SealChainError),
    ("seal prev", _set(_seal(2), "prev", _flip), SealChainError),
    ("first seal prev", _set(_seal(0), "prev", _flip), SealChainError),
    ("last seal prev", _set(_seal(-1), "prev", _flip), SealChainError),
    ("last seal signature", _set(_seal(-1), "signature", _flip), SignatureError),
    ("seal first", _set(_seal(2), "first", lambda v: v + 1), CoverageError),
    ("seal interval", _set(_seal(2), "interval_s", lambda v: 1800), SealChainError),
    ("seal signature", _set(_seal(2), "signature", _flip), SignatureError),
    ("last seal commitments hash", _set(_seal(-1), "commitments_hash", _flip), SignatureError),
    ("seal format", _set(_seal(2), "format", lambda v: "privbill/seal/9"), DecodeError),
    ("commitment byte flipped", _set(lambda o: _runs(o)[3], "commitments", lambda v: _flip(v, 100)), CommitmentError),
    ("commitments swapped", _set(lambda o: _runs(o)[3], "commitments", lambda v: v[48:96] + v[:48] + v[96:]), CommitmentError),
    ("commitments truncated", _set(lambda o: _runs(o)[3], "commitments", lambda v: v[:-48]), DecodeError),
    # answers
    ("answers empty", _set(_top, "answers", lambda v: []), DecodeError),
    ("answer dropped", lambda o: o["answers"].pop(3), DisclosureScopeError),
    ("last answer dropped", lambda o: o["answers"].pop(), DisclosureScopeError),
    ("answer duplicated", _dup(_answers, 0), DisclosureScopeError),
    ("answers reordered", _swap(_answers, 0, 5), DisclosureScopeError),
    ("answer statement index", _set(_ans(0), "statement", lambda v: 5), DisclosureScopeError),
    ("sum answered as a weighted sum", _set(_ans(0), "kind", lambda v: "weighted-sum"), DisclosureScopeError),
    ("answer kind unknown", _set(_ans(0), "kind", lambda v: "median"), DecodeError),
    ("answer unknown field", lambda o: o["answers"][0].__setitem__("note", 1), DecodeError),
    ("sum value + 1", _set(_ans(0), "value", lambda v: v + 1), DisclosureProofError),
    ("sum value negative", _set(_ans(0), "value", lambda v: -v), DecodeError),
    ("sum proof", _set(_ans(0), "proof", _flip), DisclosureProofError),
    ("sum proof challenge", _set(_ans(0), "proof", lambda v: _flip(v, 3)), DisclosureProofError),
    ("sum proof short", _set(_ans(0), "proof", lambda v: v[:-1]), DecodeError),
    ("sum proof response not canonical", _set(_ans(0), "proof", lambda v: v[:32] + group.ORDER.to_bytes(32, "big")), DisclosureProofError),
    ("sum proof dropped", _drop(_ans(0), "proof"), DecodeError),
    ("sum with a blinding instead of a proof", lambda o: (o["answers"][0].pop("proof"), o["answers"][0].__setitem__("blinding", bytes(32))), DecodeError),
    ("opened value + 1", lambda o: o["answers"][1]["values"].__setitem__(1, o["answers"][1]["values"][1] + 1), DisclosureProofError),
    ("opened values swapped", _swap(lambda o: o["answers"][1]["values"], 0, 2), DisclosureProofError),
    ("opened proof", _set(_ans(1), "proof", lambda v: _flip(v, 40)), DisclosureProofError),
    ("opened value dropped", lambda o: o["answers"][1]["values"].pop(), DisclosureScopeError),
    ("opened values empty", _set(_ans(1), "values", lambda v: []), DecodeError),
    ("opened reading added", lambda o: o["answers"][1]["values"].append(1), DisclosureScopeError),
    ("proofs swapped between sum and weighted sum", lambda o: _swap_field(o, 0, 2, "proof"), DisclosureProofError),
    ("weighted value + 1", _set(_ans(2), "value", lambda v: v + 1), DisclosureProofError),
    ("weighted value - 1", _set(_ans(2), "value", lambda v: v - 1), DisclosureProofError),
    ("threshold proof byte", lambda o: o["answers"][3]["proofs"].__setitem__(0, _flip(o["answers"][3]["proofs"][0], 500)), DisclosureProofError),
    ("threshold proof truncated", lambda o: o["answers"][3]["proofs"].__setitem__(0, o["answers"][3]["proofs"][0][:-32]), DisclosureProofError),
    ("threshold proofs empty", _set(_ans(3), "proofs", lambda v: []), DecodeError),
    ("threshold proof added", lambda o: o["answers"][3]["proofs"].append(o["answers"][3]["proofs"][0]), DisclosureProofError),
    ("threshold proofs swapped between statements", _swap_threshold_proofs, DisclosureProofError),
    ("each-at-most proof groups reordered", _swap(lambda o: o["answers"][4]["proofs"], 0, 1), DisclosureProofError),
    ("register sum + 1", _set(_ans(6), "value", lambda v: v + 1), DisclosureProofError),
    ("m-b sum + 1", _set(_ans(5), "value", lambda v: v + 1), DisclosureProofError),
]  # fmt: skip


@pytest.fixture(scope="module")
def full_obj(full_response: bytes, meter_a: MeterSetup) -> Obj:
    obj: Obj = cbor2.loads(full_response)
    runs = obj["meters"][0]["runs"]
    all_runs = [r.to_obj() for r in meter_a.sealed.runs]
    firsts = [r["seal"]["first"] for r in all_runs]
    lo = firsts.index(runs[0]["seal"]["first"])
    hi = firsts.index(runs[-1]["seal"]["first"])
    EXTRA_RUNS[(runs[0]["seal"]["first"], "before")] = all_runs[lo - 1]
    EXTRA_RUNS[(runs[-1]["seal"]["first"], "after")] = all_runs[hi + 1]
    return obj


def test_response_matrix_baseline(
    full_obj: Obj,
    full_request: DisclosureRequest,
    provider: Provider,
    tariff: SignedTariff,
    now: int,
) -> None:
    assert (
        len(check(codec.encode(full_obj), full_request, provider, now, tariffs=[tariff]).results)
        == 7
    )


@pytest.mark.parametrize(
    ("name", "mutate", "error"), RESPONSE_MATRIX, ids=[m[0] for m in RESPONSE_MATRIX]
)
def test_response_tamper(
    name: str,
    mutate: Mutation,
    error: type[PrivbillError],
    full_obj: Obj,
    full_request: DisclosureRequest,
    provider: Provider,
    tariff: SignedTariff,
    now: int,
) -> None:
    obj = copy.deepcopy(full_obj)
    mutate(obj)
    with pytest.raises(error) as ei:
        check(codec.encode(obj), full_request, provider, now, tariffs=[tariff])
    assert type(ei.value) is error, f"{name}: {type(ei.value).__name__}: {ei.value}"
    assert ei.value.obj, "every error names its object"


# --- tamper matrix: the request --------------------------------------------------------------


def _rq_meter(o: Obj) -> Obj:
    return o["meters"][0]


REQUEST_MATRIX: list[tuple[str, Mutation, type[PrivbillError]]] = [
    ("format", _set(_top, "format", lambda v: "privbill/disclosure-request/2"), DecodeError),
    ("request id", _set(_top, "request_id", _flip), SignatureError),
    ("request id short", _set(_top, "request_id", lambda v: v[:15]), DecodeError),
    ("requester", _set(_top, "requester", lambda v: "Someone Else"), SignatureError),
    ("requester empty", _set(_top, "requester", lambda v: " "), DecodeError),
    ("purpose", _set(_top, "purpose", lambda v: "marketing"), SignatureError),
    ("account", _set(_top, "account", lambda v: "acct-2"), SignatureError),
    ("account invalid", _set(_top, "account", lambda v: "no spaces allowed"), DecodeError),
    ("meter interval (open indices then outside)", _set(_rq_meter, "interval_s", lambda v: 300), DecodeError),
    ("meter interval not dividing a day", _set(_rq_meter, "interval_s", lambda v: 7), DecodeError),
    ("meters reordered", _swap(lambda o: o["meters"], 0, 1), SignatureError),
    ("meter duplicated", _dup(lambda o: o["meters"], 0), DecodeError),
    ("meter dropped", lambda o: o["meters"].pop(), DecodeError),
    ("period start a day later", _set(lambda o: o["period"], "start", lambda v: v + DAY), SignatureError),
    ("period reversed", _set(lambda o: o["period"], "end", lambda v: v - 8 * DAY), DecodeError),
    ("timezone", _set(_top, "timezone", lambda v: "Europe/Berlin"), SignatureError),
    ("timezone unknown", _set(_top, "timezone", lambda v: "Mars/Olympus"), DecodeError),
    ("statements reordered", _swap(lambda o: o["statements"], 0, 1), SignatureError),
    ("statement dropped", lambda o: o["statements"].pop(2), SignatureError),
    ("statement duplicated", _dup(lambda o: o["statements"], 0), DecodeError),
    ("statement meter", _set(lambda o: o["statements"][0], "meter", lambda v: "m-b"), SignatureError),
    ("statement kind unknown", _set(lambda o: o["statements"][0], "kind", lambda v: "max"), DecodeError),
    ("statement window widened", _set(lambda o: o["statements"][3]["select"], "to", lambda v: v + 3600), SignatureError),
    ("statement bound", _set(lambda o: o["statements"][3], "bound", lambda v: v - 1), SignatureError),
    ("statement weight", lambda o: o["statements"][2]["weights"].__setitem__(0, 0), SignatureError),
    ("statement weight dropped", lambda o: o["statements"][2]["weights"].pop(), DecodeError),
    ("register tariff hash", _set(lambda o: o["statements"][6]["select"], "tariff_hash", _flip), SignatureError),
    ("issued at", _set(_top, "issued_at", lambda v: v - 1), SignatureError),
    ("expires", _set(_top, "expires", lambda v: v + DAY), SignatureError),
    ("expires before issue", _set(_top, "expires", lambda v: 0), DecodeError),
    ("issuer", _set(_top, "issuer", _flip), SignatureError),
    ("signature", _set(_top, "signature", _flip), SignatureError),
    ("signature dropped", _drop(_top, "signature"), DecodeError),
    ("unknown field", lambda o: o.__setitem__("note", "x"), DecodeError),
]  # fmt: skip


@pytest.mark.parametrize(
    ("name", "mutate", "error"), REQUEST_MATRIX, ids=[m[0] for m in REQUEST_MATRIX]
)
def test_request_tamper(
    name: str,
    mutate: Mutation,
    error: type[PrivbillError],
    full_request: DisclosureRequest,
    full_response: bytes,
    provider: Provider,
    tariff: SignedTariff,
    now: int,
) -> None:
    obj: Obj = cbor2.loads(full_request.encode())
    mutate(obj)
    with pytest.raises(error) as ei:
        check(full_response, codec.encode(obj), provider, now, tariffs=[tariff])
    assert type(ei.value) is error, f"{name}: {type(ei.value).__name__}: {ei.value}"


def test_request_lifetime(
    full_request: DisclosureRequest,
    full_response: bytes,
    provider: Provider,
    other_provider: Provider,
    tariff: SignedTariff,
) -> None:
    args = (full_response, full_request, provider)
    with pytest.raises(RequestExpiredError, match="expired"):
        check(*args, full_request.expires, tariffs=[tariff])
    with pytest.raises(RequestExpiredError, match="not valid before"):
        check(*args, full_request.issued_at - 3600, tariffs=[tariff])
    assert check(*args, full_request.expires - 1, tariffs=[tariff]).results
    with pytest.raises(SignatureError, match="another provider"):
        disclosure.verify(full_response, full_request, other_provider.public_key, tariffs=[tariff],
                          now=full_request.issued_at)  # fmt: skip


def test_register_needs_the_signed_tariff(
    full_request: DisclosureRequest,
    full_response: bytes,
    provider: Provider,
    other_provider: Provider,
    now: int,
) -> None:
    with pytest.raises(UsageError, match="needs the tariff"):
        check(full_response, full_request, provider, now)
    foreign = other_provider.sign_tariff(TariffBody.from_description(demo_description()))
    with pytest.raises(UsageError, match="needs the tariff"):
        check(full_response, full_request, provider, now, tariffs=[foreign])


# --- replays ---------------------------------------------------------------------------------


def _rebind(data: bytes, req: DisclosureRequest, now: int) -> Obj:
    """The response re-addressed to ``req``, its consent re-made for it (all else kept)."""
    obj: Obj = cbor2.loads(data)
    obj["request_hash"] = req.hash()
    consent = Consent(req.hash(), tuple(obj["consent"]["statements"]), now)
    obj["consent"] = consent.to_obj()
    return obj


def test_replay_to_another_request(
    full_request: DisclosureRequest,
    full_response: bytes,
    provider: Provider,
    tariff: SignedTariff,
    full_statements: list[Statement],
    week: BillingPeriod,
    issued: int,
    now: int,
) -> None:
    twin = make_request(provider, full_statements, week, issued)  # same statements, new id
    assert twin.request_id != full_request.request_id
    with pytest.raises(RequestMismatchError):
        check(full_response, twin, provider, now, tariffs=[tariff])
    # Re-addressed with a fresh consent: every answer is bound to the original request, so the
    # first one already fails.
    rebound = codec.encode(_rebind(full_response, twin, now))
    with pytest.raises(DisclosureProofError) as ei:
        check(rebound, twin, provider, now, tariffs=[tariff])
    assert ei.value.field == "answers[0].value"


@pytest.mark.parametrize(
    ("kept", "field"),
    [(0, "answers[0].value"), (1, "answers[0].proof"), (2, "answers[0].value"),
     (5, "answers[0].value"), (6, "answers[0].value"), (3, "answers[0].proofs"),
     (4, "answers[0].proofs")],
    ids=["sum", "open", "weighted-sum", "sum m-b", "register sum", "sum-at-most", "each-at-most"],
)  # fmt: skip
def test_answers_are_bound_to_their_consent(
    kept: int,
    field: str,
    full_request: DisclosureRequest,
    provider: Provider,
    meter_a: MeterSetup,
    meter_b: MeterSetup,
    tariff: SignedTariff,
    full_statements: list[Statement],
    week: BillingPeriod,
    issued: int,
    now: int,
) -> None:
    """The consent-binding attack: whoever holds a valid response (the requester) asks the
    provider for another request with the same statement, fabricates the customer's unsigned
    consent to it and presents the old answer as the customer's answer to the new request; or
    re-uses it under a fabricated consent to the same request. Every kind of answer is refused,
    because its proof hashes the request and the consent it was made under."""
    consent = Consent.create(full_request, [kept], at=now)
    genuine = respond(full_request, provider, [meter_a, meter_b], now, consent, tariffs=[tariff])
    data = genuine.encode()
    assert check(data, full_request, provider, now, tariffs=[tariff]).results[0].index == kept
    twin = make_request(provider, full_statements, week, issued)
    forged = codec.encode(_rebind(data, twin, now))
    with pytest.raises(DisclosureProofError) as ei:
        check(forged, twin, provider, now, tariffs=[tariff])
    assert ei.value.field == field
    again = codec.encode(_rebind(data, full_request, now + 1))
    with pytest.raises(DisclosureProofError) as ei:
        check(again, full_request, provider, now, tariffs=[tariff])
    assert ei.value.field == field


def test_replay_to_another_meter(
    provider: Provider,
    meter_a: MeterSetup,
    meter_b: MeterSetup,
    week: BillingPeriod,
    issued: int,
    now: int,
) -> None:
    window = Window(week.start + DAY, week.start + DAY + 4 * 3600)
    both = make_request(
        provider,
        [
            Threshold("m-a", window, "each-at-most", 1499),
            Threshold("m-b", window, "each-at-most", 1499),
            Sum("m-a", window),
            Sum("m-b", window),
        ],
        week,
        issued,
    )
    data = respond(both, provider, [meter_a, meter_b], now).encode()
    assert check(data, both, provider, now).results[3].value is not None
    for i, j in ((0, 1), (2, 3)):
        obj = cbor2.loads(data)
        ans = obj["answers"]
        field = "proofs" if i == 0 else "value"
        ans[i][field], ans[j][field] = ans[j][field], ans[i][field]
        if i == 2:
            ans[i]["proof"], ans[j]["proof"] = ans[j]["proof"], ans[i]["proof"]
        with pytest.raises(DisclosureProofError):
            check(codec.encode(obj), both, provider, now)
    # Meter m-b's evidence presented as meter m-a's.
    obj = cbor2.loads(data)
    obj["meters"][0]["runs"] = obj["meters"][1]["runs"]
    with pytest.raises(SealChainError, match="m-b"):
        check(codec.encode(obj), both, provider, now)
    obj = cbor2.loads(data)
    obj["meters"][0] = obj["meters"][1]
    with pytest.raises(DisclosureScopeError):
        check(codec.encode(obj), both, provider, now)


def test_replay_to_another_period(
    provider: Provider,
    meter_a: MeterSetup,
    week: BillingPeriod,
    issued: int,
    now: int,
) -> None:
    later = BillingPeriod(week.start + 7 * DAY, week.end + 7 * DAY)
    jan = make_request(provider, [Sum("m-a", WholePeriod())], week, issued)
    nxt = make_request(provider, [Sum("m-a", WholePeriod())], later, issued)
    data = respond(jan, provider, [meter_a], now).encode()
    with pytest.raises(RequestMismatchError):
        check(data, nxt, provider, now)
    with pytest.raises(CoverageError):
        check(codec.encode(_rebind(data, nxt, now)), nxt, provider, now)


def test_replay_across_accounts(
    provider: Provider,
    tariff: SignedTariff,
    meter_a: MeterSetup,
    week: BillingPeriod,
    issued: int,
    now: int,
) -> None:
    """A response for account acct-1 does not answer the same question about acct-9."""
    mine = make_request(provider, [Sum("m-a", WholePeriod())], week, issued)
    theirs = make_request(provider, [Sum("m-a", WholePeriod())], week, issued, account="acct-9")
    data = respond(mine, provider, [meter_a], now).encode()
    with pytest.raises(CertificateError, match="acct-1"):
        check(codec.encode(_rebind(data, theirs, now)), theirs, provider, now)


# --- attached to a payment message -----------------------------------------------------------


@pytest.fixture(scope="module")
def attached(
    provider: Provider,
    meter_a: MeterSetup,
    week: BillingPeriod,
    issued: int,
    now: int,
    bill_bytes: bytes,
) -> tuple[DisclosureRequest, bytes]:
    f = _first(week)
    req = make_request(
        provider,
        [
            Sum("m-a", WholePeriod()),
            OpenReadings("m-a", (f + 10,)),
            Threshold("m-a", Window(week.start, week.start + 4 * 3600), "each-at-most", 1500),
        ],
        week,
        issued,
    )
    return req, respond(req, provider, [meter_a], now, bill=bill_bytes).encode()


def test_attached_to_a_bill(
    attached: tuple[DisclosureRequest, bytes],
    provider: Provider,
    meter_a: MeterSetup,
    bill_bytes: bytes,
    now: int,
) -> None:
    req, data = attached
    resp = DisclosureResponse.decode(data)
    assert resp.bill_hash is not None
    assert all(isinstance(m, SealReferences) for m in resp.meters)
    assert (
        resp.meters[0].seals
        == tuple(  # type: ignore[union-attr]
            r.seal.chain_hash() for r in meter_a.sealed.runs[4:11]
        )
    )
    v = check(data, req, provider, now, bill=bill_bytes)
    standalone = respond(req, provider, [meter_a], now).encode()
    w = check(standalone, req, provider, now)
    assert [r.value for r in v.results] == [r.value for r in w.results]
    assert v.results[1].readings == w.results[1].readings and v.bill_hash == resp.bill_hash
    assert len(data) < len(standalone) // 10  # the commitments travel once, in the bill


ATTACHED_MATRIX: list[tuple[str, Mutation, type[PrivbillError]]] = [
    ("bill hash", _set(_top, "bill_hash", _flip), BillReferenceError),
    ("bill hash dropped", _drop(_top, "bill_hash"), DecodeError),
    ("seal reference", lambda o: o["meters"][0]["seals"].__setitem__(2, _flip(o["meters"][0]["seals"][2])), BillReferenceError),
    ("seal reference dropped", lambda o: o["meters"][0]["seals"].pop(3), CoverageError),
    ("seal references reordered", _swap(lambda o: o["meters"][0]["seals"], 1, 2), CoverageError),
    ("seal reference short", lambda o: o["meters"][0]["seals"].__setitem__(0, bytes(31)), DecodeError),
    ("reference to another meter", _set(lambda o: o["meters"][0], "meter_id", lambda v: "m-b"), DisclosureScopeError),
    ("references empty", _set(lambda o: o["meters"][0], "seals", lambda v: []), DecodeError),
]  # fmt: skip


@pytest.mark.parametrize(
    ("name", "mutate", "error"), ATTACHED_MATRIX, ids=[m[0] for m in ATTACHED_MATRIX]
)
def test_attached_tamper(
    name: str,
    mutate: Mutation,
    error: type[PrivbillError],
    attached: tuple[DisclosureRequest, bytes],
    provider: Provider,
    bill_bytes: bytes,
    now: int,
) -> None:
    req, data = attached
    obj = cbor2.loads(data)
    mutate(obj)
    with pytest.raises(error) as ei:
        check(codec.encode(obj), req, provider, now, bill=bill_bytes)
    assert type(ei.value) is error, f"{name}: {type(ei.value).__name__}: {ei.value}"


def test_attached_needs_that_bill(
    attached: tuple[DisclosureRequest, bytes],
    provider: Provider,
    tariff: SignedTariff,
    meter_a: MeterSetup,
    meter_b: MeterSetup,
    january: BillingPeriod,
    now: int,
) -> None:
    req, data = attached
    with pytest.raises(UsageError, match="supply the bill"):
        check(data, req, provider, now)
    other = prove_bill(tariff, [meter_b.input(), meter_a.input()], january).encode()
    with pytest.raises(BillReferenceError, match="another payment message"):
        check(data, req, provider, now, bill=other)
    # The right hash but a bill without the meter cannot be made; a bill without meter m-a:
    only_b = prove_bill(tariff, [meter_b.input()], january)
    obj = cbor2.loads(data)
    obj["bill_hash"] = type(only_b).hash_of(only_b.encode())
    with pytest.raises(BillReferenceError, match="no section for meter"):
        check(codec.encode(obj), req, provider, now, bill=only_b)


# --- every field of every object: dropped, mistyped, or an unknown one added ----------------


def _wrong_type(v: object) -> object:
    if isinstance(v, bytes):
        return v.hex()
    if isinstance(v, str):
        return b"x"
    if isinstance(v, bool | int):
        return str(v)
    if isinstance(v, list):
        return {"x": 1}
    return [1]


def _maps(obj: Obj) -> list[tuple[str, Callable[[Obj], Obj]]]:
    """``(path, getter)`` of every map in a request or response, certificates and seals
    excepted (the bill tests cover them)."""
    out: list[tuple[str, Callable[[Obj], Obj]]] = [("", lambda o: o)]

    def visit(node: Any, path: str, get: Callable[[Obj], Any]) -> None:
        if isinstance(node, dict):
            if path.endswith(("certificate", "seal")):
                return
            if path:
                out.append((path, get))
            for k, v in node.items():
                visit(v, f"{path}.{k}" if path else k, lambda o, g=get, k=k: g(o)[k])
        elif isinstance(node, list):
            for i, v in enumerate(node):
                visit(v, f"{path}[{i}]", lambda o, g=get, i=i: g(o)[i])

    visit(obj, "", lambda o: o)
    return out


def _field_cases(obj: Obj) -> list[tuple[str, Mutation]]:
    cases: list[tuple[str, Mutation]] = []
    for path, get in _maps(obj):
        for key in list(get(obj)):
            where = f"{path}.{key}" if path else key
            cases.append((f"{where} dropped", _drop(get, key)))
            cases.append((f"{where} mistyped", _set(get, key, _wrong_type)))
        cases.append(
            (f"{path or 'top'} unknown field", lambda o, get=get: get(o).__setitem__("extra", 1))
        )
    return cases


def test_every_request_field(full_request: DisclosureRequest) -> None:
    obj: Obj = cbor2.loads(full_request.encode())
    cases = _field_cases(obj)
    assert len(cases) > 80
    for name, mutate in cases:
        o = copy.deepcopy(obj)
        mutate(o)
        with pytest.raises(DecodeError) as ei:
            DisclosureRequest.decode(codec.encode(o))
        assert ei.value.obj == "disclosure request", name


def test_every_response_field(
    full_response: bytes, attached: tuple[DisclosureRequest, bytes]
) -> None:
    for data in (full_response, attached[1]):
        obj: Obj = cbor2.loads(data)
        cases = _field_cases(obj)
        assert len(cases) > 40
        for name, mutate in cases:
            if name == "bill_hash dropped":
                continue  # covered by the attached tamper matrix: a reference without a bill
            o = copy.deepcopy(obj)
            mutate(o)
            with pytest.raises(DecodeError) as ei:
                DisclosureResponse.decode(codec.encode(o))
            assert ei.value.obj in (
                "disclosure response",
                "meter certificate",
                "sealed run",
                "seal",
            ), name
            assert ei.value.field, name


def test_disclosure_from_a_meter_with_private_attributes(
    provider: Provider, week: BillingPeriod, issued: int, now: int
) -> None:
    """A pay-as-you-drive meter's sealed runs carry attribute commitments; a disclosure of its
    total distance verifies, and reveals no attribute."""
    key = SigningKey.generate()
    cert = provider.certify_meter(
        "car-9", "acct-1", key.public_key(), interval_s=L, attributes=("road_class",)
    )
    meter = Meter(cert, key, "day", "America/Denver")
    first, count = week.intervals(L)
    rows = [(first + k, (k * 97) % 3000, (k % 3,)) for k in range(count)]
    rec = meter.record(rows)
    sealed = SealedReadings(cert, tuple(rec.runs))
    req = make_request(provider, [Sum("car-9", WholePeriod())], week, issued)
    response = disclosure.answer(
        req.encode(),
        Consent.create(req, at=now),
        [sealed],
        [rec.openings],
        provider=provider.public_key,
        ledger=DisclosureLedger(),
        now=now,
    )
    v = check(response.encode(), req, provider, now)
    assert v.results[0].value == sum(q for _, q, _ in rows)
