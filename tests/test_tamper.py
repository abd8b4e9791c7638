"""Tamper matrix: every field of every object altered, dropped, duplicated, reordered or replayed
from another meter, period or tariff; truncated files; wrong keys. Each is rejected with its own
typed error."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import cbor2
import pytest

from helpers import MeterSetup, demo_description, make_meter
from privbill.billing.prover import prove_bill
from privbill.billing.verifier import verify_bill
from privbill.crypto import group
from privbill.crypto.signatures import SigningKey
from privbill.errors import (
    CertificateError,
    CommitmentError,
    CoverageError,
    DecodeError,
    FeeMismatchError,
    PrivbillError,
    SealChainError,
    SignatureError,
    TariffMismatchError,
)
from privbill.model import codec
from privbill.model.certificates import MeterCertificate
from privbill.model.periods import BillingPeriod
from privbill.model.receipts import Receipt
from privbill.model.seals import Seal
from privbill.model.tariffs import SignedTariff, TariffBody
from privbill.provider import Provider

Obj = dict[str, Any]
Mutation = Callable[[Obj], None]


def _flip(b: bytes, i: int = 0) -> bytes:
    return b[:i] + bytes([b[i] ^ 0x01]) + b[i + 1 :]


def _run(obj: Obj, k: int) -> Obj:
    return obj["meters"][0]["runs"][k]


def _seal(obj: Obj, k: int) -> Obj:
    return _run(obj, k)["seal"]


def _cert(obj: Obj) -> Obj:
    return obj["meters"][0]["certificate"]


def _set(path: Callable[[Obj], Obj], key: str, value: Callable[[Any], Any]) -> Mutation:
    def m(obj: Obj) -> None:
        node = path(obj)
        node[key] = value(node[key])

    return m


def _drop(path: Callable[[Obj], Obj], key: str) -> Mutation:
    def m(obj: Obj) -> None:
        del path(obj)[key]

    return m


def _top(o: Obj) -> Obj:
    return o


def _period(o: Obj) -> Obj:
    return o["period"]


def _swap_runs(i: int, j: int) -> Mutation:
    def m(obj: Obj) -> None:
        runs = obj["meters"][0]["runs"]
        runs[i], runs[j] = runs[j], runs[i]

    return m


def _swap_commitments(obj: Obj) -> None:
    r = _run(obj, 3)
    c = r["commitments"]
    r["commitments"] = c[48:96] + c[:48] + c[96:]


MATRIX: list[tuple[str, Mutation, type[PrivbillError]]] = [
    # payment message fields
    ("format altered", _set(_top, "format", lambda v: "privbill/bill/2"), DecodeError),
    ("account altered", _set(_top, "account", lambda v: "acct-2"), CertificateError),
    ("account dropped", _drop(_top, "account"), DecodeError),
    ("account wrong type", _set(_top, "account", lambda v: 7), DecodeError),
    ("unknown field added", lambda o: o.__setitem__("note", "hi"), DecodeError),
    # not one billing cycle of the tariff: refused before the seals are looked at
    (
        "period start one day later",
        _set(_period, "start", lambda v: v + 86400),
        TariffMismatchError,
    ),
    (
        "period start one day earlier",
        _set(_period, "start", lambda v: v - 86400),
        TariffMismatchError,
    ),
    (
        "period start not at midnight",
        _set(_period, "start", lambda v: v + 900),
        TariffMismatchError,
    ),
    ("period end earlier", _set(_period, "end", lambda v: v - 86400), TariffMismatchError),
    ("period end later", _set(_period, "end", lambda v: v + 86400), TariffMismatchError),
    ("period dropped", _drop(_top, "period"), DecodeError),
    (
        "period reversed",
        lambda o: o.__setitem__(
            "period", {"start": o["period"]["end"], "end": o["period"]["start"]}
        ),
        DecodeError,
    ),
    ("tariff hash altered", _set(_top, "tariff_hash", _flip), TariffMismatchError),
    ("tariff hash truncated", _set(_top, "tariff_hash", lambda v: v[:31]), DecodeError),
    ("total fee + 1", _set(_top, "total_fee", lambda v: v + 1), FeeMismatchError),
    (
        "total fee - 1 currency unit",
        _set(_top, "total_fee", lambda v: v - 10**12),
        FeeMismatchError,
    ),
    ("total fee as text", _set(_top, "total_fee", str), DecodeError),
    ("blinding altered", _set(_top, "blinding", lambda v: _flip(v, 31)), FeeMismatchError),
    (
        "blinding not canonical",
        _set(_top, "blinding", lambda v: group.ORDER.to_bytes(32, "big")),
        DecodeError,
    ),
    ("blinding dropped", _drop(_top, "blinding"), DecodeError),
    ("meters empty", lambda o: o.__setitem__("meters", []), DecodeError),
    (
        "meter duplicated",
        lambda o: o["meters"].append(copy.deepcopy(o["meters"][0])),
        CertificateError,
    ),
    # certificate fields
    ("certificate meter id", _set(_cert, "meter_id", lambda v: "m-z"), SignatureError),
    ("certificate account", _set(_cert, "account", lambda v: "acct-2"), SignatureError),
    (
        "certificate key",
        _set(_cert, "public_key", lambda v: SigningKey.generate().public_key().spki),
        SignatureError,
    ),
    ("certificate key garbage", _set(_cert, "public_key", lambda v: v[:-1]), DecodeError),
    ("certificate interval", _set(_cert, "interval_s", lambda v: 1800), SignatureError),
    ("certificate validity", _set(_cert, "valid_until", lambda v: v + 1), SignatureError),
    ("certificate issuer", _set(_cert, "issuer", _flip), SignatureError),
    ("certificate signature", _set(_cert, "signature", _flip), SignatureError),
    ("certificate signature dropped", _drop(_cert, "signature"), DecodeError),
    # runs: drop, duplicate, reorder
    ("run dropped (middle)", lambda o: o["meters"][0]["runs"].pop(10), CoverageError),
    ("run dropped (first)", lambda o: o["meters"][0]["runs"].pop(0), CoverageError),
    ("run dropped (last)", lambda o: o["meters"][0]["runs"].pop(), CoverageError),
    (
        "run duplicated",
        lambda o: o["meters"][0]["runs"].insert(5, copy.deepcopy(_run(o, 4))),
        CoverageError,
    ),
    ("runs reordered", _swap_runs(3, 4), CoverageError),
    ("runs empty", lambda o: o["meters"][0].__setitem__("runs", []), DecodeError),
    # seal fields
    ("seal meter id", _set(lambda o: _seal(o, 2), "meter_id", lambda v: "m-z"), SealChainError),
    ("seal seq", _set(lambda o: _seal(o, 2), "seq", lambda v: v + 1), SealChainError),
    ("seal prev", _set(lambda o: _seal(o, 2), "prev", _flip), SealChainError),
    ("first seal prev", _set(lambda o: _seal(o, 0), "prev", _flip), SealChainError),
    ("last seal prev", _set(lambda o: _seal(o, -1), "prev", _flip), SealChainError),
    (
        "only the first run kept",
        lambda o: o["meters"][0].__setitem__("runs", [_run(o, 0)]),
        CoverageError,
    ),
    ("seal first", _set(lambda o: _seal(o, 2), "first", lambda v: v + 1), CoverageError),
    ("seal count", _set(lambda o: _seal(o, 2), "count", lambda v: v - 1), DecodeError),
    ("seal interval", _set(lambda o: _seal(o, 2), "interval_s", lambda v: 1800), SealChainError),
    (
        "seal commitments hash",
        _set(lambda o: _seal(o, 2), "commitments_hash", _flip),
        SealChainError,
    ),
    (
        "last seal commitments hash",
        _set(lambda o: _seal(o, -1), "commitments_hash", _flip),
        SignatureError,
    ),
    ("last seal seq", _set(lambda o: _seal(o, -1), "seq", lambda v: v + 1), SealChainError),
    ("seal signature", _set(lambda o: _seal(o, 2), "signature", _flip), SignatureError),
    ("first seal signature", _set(lambda o: _seal(o, 0), "signature", _flip), SignatureError),
    (
        "seal signature short",
        _set(lambda o: _seal(o, 2), "signature", lambda v: v[:63]),
        DecodeError,
    ),
    (
        "seal format",
        _set(lambda o: _seal(o, 2), "format", lambda v: "privbill/seal/9"),
        DecodeError,
    ),
    ("seal field dropped", _drop(lambda o: _seal(o, 2), "prev"), DecodeError),
    # commitments
    (
        "commitment byte flipped",
        _set(lambda o: _run(o, 3), "commitments", lambda v: _flip(v, 100)),
        CommitmentError,
    ),
    ("commitments swapped", _swap_commitments, CommitmentError),
    (
        "commitments truncated",
        _set(lambda o: _run(o, 3), "commitments", lambda v: v[:-48]),
        DecodeError,
    ),
]


@pytest.fixture(scope="module")
def bill_obj(bill_bytes: bytes) -> Obj:
    return cbor2.loads(bill_bytes)


@pytest.mark.parametrize(("name", "mutate", "error"), MATRIX, ids=[m[0] for m in MATRIX])
def test_payment_message_tamper(
    name: str,
    mutate: Mutation,
    error: type[PrivbillError],
    bill_obj: Obj,
    tariff: SignedTariff,
    provider: Provider,
) -> None:
    obj = copy.deepcopy(bill_obj)
    mutate(obj)
    data = codec.encode(obj)
    with pytest.raises(error) as ei:
        verify_bill(data, tariff, provider.public_key)
    assert type(ei.value) is error, f"{name}: {type(ei.value).__name__}: {ei.value}"
    assert ei.value.obj, "every error names its object"


def _replace_runs(obj: Obj, runs: list[Obj]) -> bytes:
    o = copy.deepcopy(obj)
    o["meters"][0]["runs"] = runs
    return codec.encode(o)


def test_replay_run_from_another_meter(
    bill_obj: Obj, tariff: SignedTariff, provider: Provider, meter_b: MeterSetup
) -> None:
    runs = copy.deepcopy(bill_obj["meters"][0]["runs"])
    runs[7] = meter_b.sealed.runs[7].to_obj()
    with pytest.raises(SealChainError, match="m-b"):
        verify_bill(_replace_runs(bill_obj, runs), tariff, provider.public_key)


def test_replay_meter_section_from_another_account(
    bill_obj: Obj, tariff: SignedTariff, provider: Provider, january: BillingPeriod
) -> None:
    other = make_meter(provider, "m-o", "acct-9", tariff, january, seed=4)
    o = copy.deepcopy(bill_obj)
    o["meters"].append(
        {"certificate": other.cert.to_obj(), "runs": [r.to_obj() for r in other.sealed.runs]}
    )
    with pytest.raises(CertificateError, match="acct-9"):
        verify_bill(codec.encode(o), tariff, provider.public_key)


def test_second_meter_dropped_changes_fee(
    provider: Provider,
    tariff: SignedTariff,
    meter_a: MeterSetup,
    meter_b: MeterSetup,
    january: BillingPeriod,
) -> None:
    obj = cbor2.loads(prove_bill(tariff, [meter_a.input(), meter_b.input()], january).encode())
    obj["meters"].pop()
    with pytest.raises(FeeMismatchError):
        verify_bill(codec.encode(obj), tariff, provider.public_key)
    obj = cbor2.loads(prove_bill(tariff, [meter_a.input(), meter_b.input()], january).encode())
    obj["meters"].reverse()
    # Meter order is not significant to the fee, but the message must still be the one proven.
    assert verify_bill(codec.encode(obj), tariff, provider.public_key).total_fee > 0


def test_replay_from_another_period(
    provider: Provider,
    tariff: SignedTariff,
    meter_a: MeterSetup,
    february: BillingPeriod,
    bill_obj: Obj,
) -> None:
    # The same meter's February seals (a continuation of its chain) replayed into January's bill.
    from privbill.meter import Meter, MeterState

    last = meter_a.sealed.runs[-1].seal
    meter = Meter(
        meter_a.cert,
        meter_a.key,
        "day",
        tariff.body.timezone,
        None,
        MeterState(last.seq + 1, last.chain_hash(), last.end),
    )
    first, count = february.intervals(900)
    rec = meter.record([(first + k, 5) for k in range(count)])
    runs = copy.deepcopy(bill_obj["meters"][0]["runs"])
    runs[-1] = rec.runs[0].to_obj()
    with pytest.raises(CoverageError):
        verify_bill(_replace_runs(bill_obj, runs), tariff, provider.public_key)
    # And a February bill is not a January bill.
    feb = prove_bill(
        tariff,
        [
            type(meter_a.input())(
                type(meter_a.sealed)(meter_a.cert, tuple(rec.runs)), [rec.openings]
            )
        ],
        february,
    )
    jan = BillingPeriod(meter_a.period.start, meter_a.period.end)
    with pytest.raises(CoverageError, match="another billing period"):
        verify_bill(feb.encode(), tariff, provider.public_key, period=jan)


def test_certificate_for_another_period_or_provider(
    provider: Provider,
    other_provider: Provider,
    tariff: SignedTariff,
    meter_a: MeterSetup,
    bill_obj: Obj,
) -> None:
    expired = MeterCertificate.issue(
        provider.key, meter_id="m-a", account="acct-1", public_key=meter_a.key.public_key(),
        interval_s=900, valid_from=0, valid_until=meter_a.period.start + 86400,
    )  # fmt: skip
    o = copy.deepcopy(bill_obj)
    o["meters"][0]["certificate"] = expired.to_obj()
    with pytest.raises(CertificateError, match="not valid"):
        verify_bill(codec.encode(o), tariff, provider.public_key)
    foreign = other_provider.certify_meter("m-a", "acct-1", meter_a.key.public_key())
    o["meters"][0]["certificate"] = foreign.to_obj()
    with pytest.raises(SignatureError, match="another provider"):
        verify_bill(codec.encode(o), tariff, provider.public_key)


def _resealed_chain(key: SigningKey, runs: list[Obj], first_commitments: bytes) -> list[Obj]:
    """The meter's chain re-signed with the first run's commitments replaced."""
    out: list[Obj] = []
    prev = Seal.from_obj(runs[0]["seal"]).prev
    for k, r in enumerate(runs):
        seal = Seal.from_obj(r["seal"])
        comm = first_commitments if k == 0 else r["commitments"]
        s = Seal.make(key, meter_id=seal.meter_id, seq=seal.seq, first=seal.first,
                      interval_s=seal.interval_s, commitments=comm, prev=prev)  # fmt: skip
        out.append({"seal": s.to_obj(), "commitments": comm})
        prev = s.chain_hash()
    return out


def test_meter_signed_invalid_points(
    provider: Provider, tariff: SignedTariff, meter_a: MeterSetup, bill_obj: Obj
) -> None:
    """Even a (broken) meter's signature does not make bad points acceptable."""
    runs = bill_obj["meters"][0]["runs"]
    comm = runs[0]["commitments"]
    identity = bytes([0xC0]) + bytes(47)
    data = _replace_runs(bill_obj, _resealed_chain(meter_a.key, runs, identity + comm[48:]))
    with pytest.raises(CommitmentError, match="identity"):
        verify_bill(data, tariff, provider.public_key)
    not_on_curve = None
    for x in range(1, 100):
        cand = bytes([0x80]) + bytes(46) + bytes([x])
        try:
            group.decode_points_on_curve(cand, 1)
        except group.GroupError:
            not_on_curve = cand
            break
    assert not_on_curve is not None
    data = _replace_runs(
        bill_obj, _resealed_chain(meter_a.key, runs, comm[:48] + not_on_curve + comm[96:])
    )
    with pytest.raises(CommitmentError, match="curve"):
        verify_bill(data, tariff, provider.public_key)
    # Control: the same re-sealing with the original commitments verifies.
    data = _replace_runs(bill_obj, _resealed_chain(meter_a.key, runs, comm))
    assert verify_bill(data, tariff, provider.public_key).readings == 2976


def test_off_subgroup_point_under_strict_check(
    provider: Provider, tariff: SignedTariff, meter_a: MeterSetup, january: BillingPeriod
) -> None:
    from privbill.meter import Meter

    # A meter that signs a cofactor point in its first reading: whole fresh chain.
    off = None
    for x in range(1, 1000):
        cand = bytearray(x.to_bytes(48, "big"))
        cand[0] |= 0x80
        try:
            pts = group.decode_points_on_curve(bytes(cand), 1)
        except group.GroupError:
            continue
        if not pts[0].is_in_subgroup():
            off = bytes(cand)
            break
    assert off is not None
    setup = make_meter(provider, "m-s", "acct-s", tariff, january, seed=8)
    meter = Meter(setup.cert, setup.key, "day", tariff.body.timezone)
    first, count = january.intervals(900)
    rec = meter.record([(first + k, 1) for k in range(count)])
    runs = _resealed_chain(
        setup.key, [r.to_obj() for r in rec.runs], off + rec.runs[0].commitments[48:]
    )
    msg = cbor2.loads(prove_bill(tariff, [setup.input()], january).encode())
    msg["account"] = "acct-s"
    msg["meters"][0]["runs"] = runs
    data = codec.encode(msg)
    with pytest.raises(CommitmentError, match="subgroup"):
        verify_bill(data, tariff, provider.public_key, check_subgroup=True)
    with pytest.raises(FeeMismatchError):
        verify_bill(data, tariff, provider.public_key)


def test_wrong_tariff_and_keys(
    provider: Provider, other_provider: Provider, tariff: SignedTariff, bill_bytes: bytes
) -> None:
    desc = demo_description()
    desc["fixed"]["per_month"] = "0"
    cheaper = provider.sign_tariff(TariffBody.from_description(desc))
    with pytest.raises(TariffMismatchError, match="another tariff"):
        verify_bill(bill_bytes, cheaper, provider.public_key)
    foreign = other_provider.sign_tariff(TariffBody.from_description(demo_description()))
    with pytest.raises(SignatureError):
        verify_bill(bill_bytes, foreign, provider.public_key)
    with pytest.raises(SignatureError):
        verify_bill(bill_bytes, tariff, other_provider.public_key)


@pytest.mark.parametrize("cut", [0, 1, 10, 100, 5000, -1000, -33, -1])
def test_truncated_bill(
    cut: int, bill_bytes: bytes, tariff: SignedTariff, provider: Provider
) -> None:
    with pytest.raises(DecodeError):
        verify_bill(bill_bytes[:cut], tariff, provider.public_key)


def test_truncated_and_tampered_objects(
    provider: Provider, tariff: SignedTariff, meter_a: MeterSetup, bill_bytes: bytes
) -> None:
    from privbill.billing.receipts import issue_receipt
    from privbill.model.readings import Openings
    from privbill.model.sealed import SealedReadings

    v = verify_bill(bill_bytes, tariff, provider.public_key)
    receipt = issue_receipt(provider.key, v).encode()
    for decode, data in [
        (Receipt.decode, receipt),
        (SignedTariff.decode, tariff.encode()),
        (MeterCertificate.decode, meter_a.cert.encode()),
        (SealedReadings.decode, meter_a.sealed.encode()),
        (Openings.decode, meter_a.openings.encode()),
    ]:
        decode(data)
        for cut in (1, len(data) // 2, len(data) - 1):
            with pytest.raises(DecodeError):
                decode(data[:cut])
        with pytest.raises(DecodeError):
            decode(data + b"\x00")
    obj = cbor2.loads(receipt)
    for field, change in [
        ("total_fee", lambda v: v - 1),
        ("bill_hash", _flip),
        ("account", lambda v: "acct-2"),
        ("currency", lambda v: "EUR"),
        ("meters", lambda v: [*v, "m-z"]),
        ("issued_at", lambda v: v + 1),
        ("tariff_hash", _flip),
        ("signature", _flip),
    ]:
        o = copy.deepcopy(obj)
        o[field] = change(o[field])
        with pytest.raises(SignatureError):
            Receipt.decode(codec.encode(o)).verify(provider.public_key)
