"""Block and polynomial charges on bands of each interval's consumption: the proven fee equals the
cleartext fee exactly, every part of a proof is checked, and no band choice lowers the fee."""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from privbill.billing import block, polynomial
from privbill.billing.bands import BandTable, band_table, min_on_integers
from privbill.crypto import bulletproofs, group, pedersen
from privbill.crypto.group import Point
from privbill.errors import (
    ComponentProofError,
    DecodeError,
    FeeMismatchError,
    ReadingError,
    TariffError,
)
from privbill.model import codec
from privbill.model.interval_components import (
    Band,
    BlockCharge,
    BlockProof,
    IntervalProof,
    PolynomialBand,
    PolynomialCharge,
    PolynomialProof,
    describe,
    evaluate,
    from_description,
    from_obj,
    proof_from_obj,
)
from privbill.provider import Provider

CTX = bytes(range(32))
HOUR = 3600
PATH = "components[2]"
N = 96

Component = BlockCharge | PolynomialCharge
Proof = BlockProof | PolynomialProof

INCREASING = BlockCharge("inclining", (Band(300, 100000), Band(800, 150000), Band(None, 210000)))
DECREASING = BlockCharge("declining", (Band(300, 200000), Band(800, 150000), Band(None, 110000)))
MIXED_CAP = BlockCharge("mixed", (Band(300, 200000), Band(800, 150000), Band(2000, 180000)))
FLAT = BlockCharge("flat", (Band(500, 120000), Band(None, 120000)))
CUBIC = PolynomialCharge(
    "penalty",
    (PolynomialBand(1000, (-500000, 100000, 50)), PolynomialBand(None, (0, 200000, 50, 1))),
)
CUBIC_CROSSING = PolynomialCharge(
    "crossing",
    (PolynomialBand(700, (1000, 100000, 50, -1)), PolynomialBand(None, (0, 100000, 500, 1))),
)
ONE_CUBIC = PolynomialCharge("single", (PolynomialBand(None, (5000, 100000, 50, 1)),))
STEPS = PolynomialCharge("steps", (PolynomialBand(700, (1000,)), PolynomialBand(None, (2500,))))


def commitments(values: Sequence[int]) -> tuple[list[int], list[Point]]:
    blindings = [group.random_scalar() for _ in values]
    return blindings, [pedersen.commit(v, r) for v, r in zip(values, blindings, strict=True)]


def module_for(c: Component) -> Any:
    return block if isinstance(c, BlockCharge) else polynomial


def prove(
    c: Component, values: Sequence[int], context: bytes = CTX
) -> tuple[Proof, int, int, list[Point]]:
    blindings, points = commitments(values)
    proof, fee, blind = module_for(c).prove(c, values, blindings, context)
    return proof, fee, blind, points


def verify(c: Component, points: Sequence[Point], proof: Proof, context: bytes = CTX) -> Point:
    result: Point = module_for(c).verify(c, points, context, proof, PATH)
    return result


def readings(n: int, seed: int, top: int = 2000) -> list[int]:
    rng = random.Random(seed)
    return [rng.randrange(0, top) for _ in range(n)]


# --- cleartext meaning ---------------------------------------------------------------------


def test_block_fee_is_the_band_price_times_the_whole_interval() -> None:
    assert INCREASING.fee([0, 299, 300, 799, 800, 5000]) == (
        100000 * 299 + 150000 * (300 + 799) + 210000 * (800 + 5000)
    )
    assert DECREASING.fee([299, 300]) == 200000 * 299 + 150000 * 300


def test_polynomial_fee_is_exact() -> None:
    c1, c2 = 999, 1000
    assert CUBIC.fee([c1, c2]) == (-500000 + 100000 * c1 + 50 * c1**2) + (
        200000 * c2 + 50 * c2**2 + c2**3
    )
    assert evaluate((3, -2, 0, 1), 4) == 3 - 8 + 64


def test_readings_above_the_cap_have_no_fee() -> None:
    with pytest.raises(ReadingError) as ei:
        MIXED_CAP.fee([10, 2000])
    assert ei.value.field == "values[1]"
    with pytest.raises(ReadingError):
        STEPS.fee([-1])


# --- descriptions and canonical objects ----------------------------------------------------

BLOCK_DESC: dict[str, Any] = {
    "kind": "block",
    "name": "interval blocks",
    "bits": 16,
    "bands": [
        {"from_wh": "0", "up_to_wh": "300", "price": "0.10"},
        {"up_to_kwh": "0.8", "price": "0.15"},
        {"from_kwh": "0.8", "up_to_wh": None, "price": "0.21"},
    ],
}
POLY_DESC: dict[str, Any] = {
    "kind": "polynomial",
    "name": "penalty",
    "bands": [
        {"up_to_kwh": "1", "coefficients": ["-0.0005", "0.1", "0.05"]},
        {"up_to_wh": None, "coefficients": ["0", "0.2", "0.05", "1"]},
    ],
}


def test_descriptions_parse_exactly() -> None:
    # the constants above are in units 1000 times coarser than the description's (prices of
    # 10⁻⁶ currency per kWh, fees of 10⁻⁹): a description parses to 1000 times them exactly
    b = from_description(BLOCK_DESC, "components[0]")
    bands = tuple(Band(x.up_to, x.price * 1000) for x in INCREASING.bands)
    assert b == BlockCharge("interval blocks", bands, 16)
    p = from_description(POLY_DESC, "components[1]")
    pbands = tuple(
        PolynomialBand(x.up_to, tuple(a * 1000 for a in x.coefficients)) for x in CUBIC.bands
    )
    assert p == PolynomialCharge(CUBIC.name, pbands)
    assert p.bits == 16


@pytest.mark.parametrize("c", [INCREASING, MIXED_CAP, CUBIC, CUBIC_CROSSING, STEPS])
def test_round_trips(c: Component) -> None:
    assert from_description(describe(c), "x") == c
    obj = codec.decode(codec.encode({"format": "x", "c": c.to_obj()}), "tariff")["c"]
    assert from_obj(obj, "components[0]") == c


def _desc(base: dict[str, Any], edit: Callable[[dict[str, Any]], None]) -> dict[str, Any]:
    d: dict[str, Any] = {**base, "bands": [dict(b) for b in base["bands"]]}
    edit(d)
    return d


DESC_ERRORS: list[tuple[str, dict[str, Any], str]] = [
    ("unknown field", _desc(BLOCK_DESC, lambda d: d.update(tiers=[])), "w.tiers"),
    ("unknown kind", _desc(BLOCK_DESC, lambda d: d.update(kind="blocks")), "w.kind"),
    ("bad bits", _desc(BLOCK_DESC, lambda d: d.update(bits=12)), "w.bits"),
    (
        "float price",
        _desc(BLOCK_DESC, lambda d: d["bands"][0].update(price=0.1)),
        "w.bands[0].price",
    ),
    (
        "price too precise",
        _desc(BLOCK_DESC, lambda d: d["bands"][0].update(price="0.1234567891")),
        "w.bands[0].price",
    ),
    (
        "gap between bands",
        _desc(BLOCK_DESC, lambda d: d["bands"][2].update(from_kwh="0.9")),
        "w.bands[2].from_kwh",
    ),
    (
        "both bound units",
        _desc(BLOCK_DESC, lambda d: d["bands"][0].update(up_to_kwh="0.3")),
        "w.bands[0].up_to_kwh",
    ),
    (
        "no upper bound",
        _desc(BLOCK_DESC, lambda d: d["bands"][0].pop("up_to_wh")),
        "w.bands[0].up_to_wh",
    ),
    (
        "fractional Wh",
        _desc(BLOCK_DESC, lambda d: d["bands"][0].update(up_to_wh="300.5")),
        "w.bands[0].up_to_wh",
    ),
    (
        "unbounded band not last",
        _desc(BLOCK_DESC, lambda d: d["bands"][0].update(up_to_wh=None)),
        "w.bands",
    ),
    (
        "decreasing bounds",
        _desc(
            POLY_DESC, lambda d: d["bands"].insert(1, {"up_to_wh": "900", "coefficients": ["1"]})
        ),
        "w.bands[1]",
    ),
    (
        "band wider than the proof",
        _desc(BLOCK_DESC, lambda d: d.update(bits=8)),
        "w.bands[0]",
    ),
    (
        "cubic coefficient finer than 0.001 currency per kWh³",
        _desc(POLY_DESC, lambda d: d["bands"][1].update(coefficients=["0", "0", "0", "0.0005"])),
        "w.bands[1].coefficients[3]",
    ),
    (
        "quadratic coefficient too precise",
        _desc(POLY_DESC, lambda d: d["bands"][0].update(coefficients=["0", "0", "0.0000005"])),
        "w.bands[0].coefficients[2]",
    ),
    (
        "degree 4",
        _desc(POLY_DESC, lambda d: d["bands"][0].update(coefficients=["0"] * 5)),
        "w.bands[0].coefficients",
    ),
    (
        "coefficient out of range",
        _desc(POLY_DESC, lambda d: d["bands"][0].update(coefficients=["2000"])),
        "w.bands[0].coefficients[0]",
    ),
]


@pytest.mark.parametrize(("name", "desc", "where"), DESC_ERRORS, ids=[e[0] for e in DESC_ERRORS])
def test_description_errors_name_the_field(name: str, desc: dict[str, Any], where: str) -> None:
    with pytest.raises(TariffError) as ei:
        from_description(desc, "w")
    assert ei.value.field == where, f"{name}: {ei.value}"


def test_canonical_object_errors() -> None:
    obj = INCREASING.to_obj()
    with pytest.raises(DecodeError) as ei:
        from_obj({**obj, "extra": 1}, "components[1]")
    assert ei.value.field == "components[1].extra"
    bad = {**obj, "bands": [{"up_to": 0, "price": 1}]}
    with pytest.raises(DecodeError) as ei:
        from_obj(bad, "components[1]")
    assert ei.value.field == "components[1].bands[0].up_to"
    with pytest.raises(DecodeError):
        from_obj({**CUBIC.to_obj(), "bands": [{"up_to": None, "coefficients": []}]}, "c")
    with pytest.raises(DecodeError) as ei:
        from_obj({**obj, "kind": "tiered"}, "c")
    assert ei.value.field == "c.kind"


# --- which band-bound checks a table needs -------------------------------------------------


@pytest.mark.parametrize(
    ("component", "lower", "upper", "band_proof"),
    [
        (INCREASING, False, True, True),
        (DECREASING, True, False, True),
        (MIXED_CAP, True, True, True),
        (FLAT, False, False, False),
        (BlockCharge("capped flat", (Band(500, 1), Band(900, 1))), False, True, True),
        (CUBIC, False, True, True),
        (CUBIC_CROSSING, True, True, True),
        (ONE_CUBIC, False, False, False),
        (STEPS, False, True, True),
    ],
)
def test_checks(component: Component, lower: bool, upper: bool, band_proof: bool) -> None:
    table = band_table(component)
    assert (table.lower_check, table.upper_check, table.band_proof) == (lower, upper, band_proof)


@settings(max_examples=300, deadline=None)
@given(
    st.lists(st.integers(-50, 50), min_size=1, max_size=4),
    st.integers(-300, 300),
    st.integers(0, 60),
)
def test_min_on_integers_is_exact(poly: list[int], lo: int, width: int) -> None:
    hi = lo + width
    assert min_on_integers(poly, lo, hi) == min(evaluate(poly, x) for x in range(lo, hi + 1))


@st.composite
def tables(draw: st.DrawFn) -> Component:
    n = draw(st.integers(1, 4))
    bounds = sorted(draw(st.sets(st.integers(1, 200), min_size=n, max_size=n)))
    capped = draw(st.booleans())
    uppers: list[int | None] = [*bounds[:-1], bounds[-1] if capped else None]
    if draw(st.booleans()):
        return BlockCharge("b", tuple(Band(u, draw(st.integers(-5, 5))) for u in uppers), 8)
    degree = draw(st.integers(0, 3))
    coefficient = st.lists(st.integers(-3, 3), min_size=degree + 1, max_size=degree + 1)
    return PolynomialCharge(
        "p", tuple(PolynomialBand(u, tuple(draw(coefficient))) for u in uppers), 8
    )


@settings(max_examples=200, deadline=None)
@given(tables(), st.data())
def test_no_band_the_checks_allow_is_cheaper(component: Component, data: st.DataObject) -> None:
    """The soundness condition behind dropping a band-bound check, in cleartext: whatever band
    the proof's checks let a prover claim for a consumption, its fee is at least the true one."""
    t: BandTable = band_table(component)
    c = data.draw(st.integers(0, t.ceiling - 1))
    true_fee = component.fee([c])
    for b in range(t.bands):
        ok_lower = not t.lower_check or 0 <= c - t.lowers[b] < 1 << t.bits
        ok_upper = not t.upper_check or 0 <= t.uppers[b] - 1 - c < 1 << t.bits
        if t.band_proof and ok_lower and ok_upper:
            assert evaluate(t.polys[b], c) >= true_fee


# --- proofs --------------------------------------------------------------------------------

CASES = [INCREASING, DECREASING, MIXED_CAP, FLAT, CUBIC, CUBIC_CROSSING, ONE_CUBIC, STEPS]


@pytest.mark.parametrize("component", CASES, ids=[c.name for c in CASES])
def test_proven_fee_equals_cleartext(component: Component) -> None:
    values = readings(N, 7, top=2000 if component is not MIXED_CAP else 1999)
    values[:4] = [0, 299, 300, 1000]
    proof, fee, blind, points = prove(component, values)
    assert fee == component.fee(values)
    commitment = verify(component, points, proof)
    assert commitment == pedersen.commit(fee, blind)
    # Through the canonical encoding and back.
    encoded = codec.encode({"format": "t", "p": proof.to_obj()})
    decoded = proof_from_obj(codec.decode(encoded, "payment message")["p"], PATH)
    assert decoded == proof
    assert verify(component, points, decoded) == commitment


def test_proof_sizes_follow_the_table() -> None:
    values = readings(8, 1)
    p_inc, *_ = prove(INCREASING, values)
    assert set(p_inc.intervals[0].to_obj()) == {"fee", "upper", "band"}
    assert len(p_inc.intervals[0].band or b"") == 3 * 48 + 2 * 32 + 3 * 32
    p_flat, *_ = prove(FLAT, values)
    assert p_flat.intervals == () and p_flat.ranges == b""
    p_cubic, *_ = prove(CUBIC, values)
    assert set(p_cubic.intervals[0].to_obj()) == {
        "fee",
        "upper",
        "band",
        "powers",
        "power_proof",
    }
    assert len(p_cubic.intervals[0].powers or b"") == 96
    assert len(p_cubic.intervals[0].power_proof or b"") == 3 * 48 + 4 * 32
    p_one, *_ = prove(ONE_CUBIC, values)
    assert set(p_one.intervals[0].to_obj()) == {"powers", "power_proof"}
    assert p_one.ranges == b""


def test_proofs_are_bound_to_their_context_and_kind() -> None:
    values = readings(16, 2)
    proof, _, _, points = prove(INCREASING, values)
    with pytest.raises(ComponentProofError):
        verify(INCREASING, points, proof, context=bytes(32))
    # The same table as a degree-1 polynomial: another transcript tag, so another proof.
    as_poly = PolynomialCharge(
        "same", tuple(PolynomialBand(b.up_to, (0, b.price)) for b in INCREASING.bands)
    )
    assert band_table(as_poly).polys == band_table(INCREASING).polys
    with pytest.raises(ComponentProofError):
        polynomial.verify(
            as_poly, points, CTX, PolynomialProof(proof.intervals, proof.ranges), PATH
        )
    # Other commitments (other readings): nothing transfers.
    _, other = commitments(values)
    with pytest.raises(ComponentProofError) as ei:
        verify(INCREASING, other, proof)
    assert ei.value.field == f"{PATH}.intervals[0].band"


def test_readings_beyond_the_proof_are_refused() -> None:
    narrow = BlockCharge("narrow", (Band(100, 5), Band(None, 7)), 8)
    blindings, _ = commitments([355, 356])
    with pytest.raises(ComponentProofError, match="beyond"):
        block.prove(narrow, [355, 356], blindings, CTX)
    _, fee, _ = block.prove(narrow, [355], blindings[:1], CTX)  # 100 + 2^8 - 1: the largest
    assert fee == 7 * 355
    with pytest.raises(ComponentProofError):
        block.prove(MIXED_CAP, [2000], blindings[:1], CTX)


def test_verifier_needs_exactly_one_proof_per_interval() -> None:
    values = readings(8, 3)
    proof, _, _, points = prove(CUBIC, values)
    with pytest.raises(DecodeError) as ei:
        verify(CUBIC, points[:-1], proof)
    assert ei.value.field == f"{PATH}.intervals"
    p_flat, fee, blind, pts = prove(FLAT, values)
    assert verify(FLAT, pts, p_flat) == pedersen.commit(fee, blind)
    with pytest.raises(DecodeError) as ei:
        verify(FLAT, pts, BlockProof(proof.intervals, b""))
    assert ei.value.field == f"{PATH}.intervals"
    with pytest.raises(DecodeError) as ei:
        verify(FLAT, pts, BlockProof((), b"x"))
    assert ei.value.field == f"{PATH}.ranges"


# --- tampering -----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def mixed() -> tuple[BlockProof, list[Point], int]:
    values = readings(N, 11, top=1999)
    proof, fee, _, points = prove(MIXED_CAP, values)
    assert isinstance(proof, BlockProof)
    return proof, points, fee


@pytest.fixture(scope="module")
def cubic() -> tuple[PolynomialProof, list[Point], int]:
    values = readings(N, 12)
    proof, fee, _, points = prove(CUBIC_CROSSING, values)
    assert isinstance(proof, PolynomialProof)
    return proof, points, fee


def _flip(data: bytes | None, i: int) -> bytes:
    assert data is not None
    return data[:i] + bytes([data[i] ^ 1]) + data[i + 1 :]


def _other_point() -> bytes:
    return pedersen.commit_bytes(12345, group.random_scalar())


Edit = Callable[[list[dict[str, Any]]], None]


def _set(i: int, key: str, value: Callable[[dict[str, Any]], Any]) -> Edit:
    def edit(items: list[dict[str, Any]]) -> None:
        items[i][key] = value(items[i])

    return edit


def _swap(i: int, j: int, key: str | None = None) -> Edit:
    def edit(items: list[dict[str, Any]]) -> None:
        if key is None:
            items[i], items[j] = items[j], items[i]
        else:
            items[i][key], items[j][key] = items[j][key], items[i][key]

    return edit


def _drop_everywhere(key: str) -> Edit:
    def edit(items: list[dict[str, Any]]) -> None:
        for it in items:
            del it[key]

    return edit


# (name, edit of the interval maps, error, field the error names below components[2])
BLOCK_TAMPER: list[tuple[str, Edit, type[Exception], str]] = [
    (
        "fee replaced",
        _set(5, "fee", lambda it: _other_point()),
        ComponentProofError,
        "intervals[5].band",
    ),
    ("fee not a point", _set(5, "fee", lambda it: bytes(48)), DecodeError, "intervals[5].fee"),
    (
        "lower replaced",
        _set(6, "lower", lambda it: _other_point()),
        ComponentProofError,
        "intervals[6].band",
    ),
    (
        "upper not canonical",
        _set(6, "upper", lambda it: b"\xff" * 48),
        DecodeError,
        "intervals[6].upper",
    ),
    (
        "band response altered",
        _set(7, "band", lambda it: _flip(it["band"], len(it["band"]) - 1)),
        ComponentProofError,
        "intervals[7].band",
    ),
    (
        "band challenge altered",
        _set(7, "band", lambda it: _flip(it["band"], 3 * 48 + 31)),
        ComponentProofError,
        "intervals[7].band",
    ),
    (
        "band commitment not a point",
        _set(7, "band", lambda it: _flip(it["band"], 40)),
        DecodeError,
        "intervals[7].band",
    ),
    (
        "band commitment replaced",
        _set(7, "band", lambda it: _other_point() + it["band"][48:]),
        ComponentProofError,
        "intervals[7].band",
    ),
    (
        "band truncated",
        _set(8, "band", lambda it: it["band"][:-32]),
        DecodeError,
        "intervals[8].band",
    ),
    (
        "fee swapped between intervals",
        _swap(9, 40, "fee"),
        ComponentProofError,
        "intervals[9].band",
    ),
    (
        "upper swapped between intervals",
        _swap(10, 41, "upper"),
        ComponentProofError,
        "intervals[10].band",
    ),
    (
        "band swapped between intervals",
        _swap(11, 42, "band"),
        ComponentProofError,
        "intervals[11].band",
    ),
    ("intervals swapped", _swap(12, 43), ComponentProofError, "intervals[12].band"),
    ("lower dropped everywhere", _drop_everywhere("lower"), DecodeError, "intervals[0].lower"),
    ("fee dropped everywhere", _drop_everywhere("fee"), DecodeError, "intervals[0].fee"),
    (
        "upper dropped in one interval",
        lambda items: items[13].pop("upper"),
        DecodeError,
        "intervals[13]",
    ),
    ("interval dropped", lambda items: items.pop(), DecodeError, "intervals"),
    ("interval duplicated", lambda items: items.append(items[0]), DecodeError, "intervals"),
]
POLY_TAMPER: list[tuple[str, Edit, type[Exception], str]] = [
    ("powers replaced", _set(3, "powers", lambda it: _other_point() + it["powers"][48:]),
     ComponentProofError, "intervals[3].power_proof"),
    ("cube replaced", _set(3, "powers", lambda it: it["powers"][:48] + _other_point()),
     ComponentProofError, "intervals[3].power_proof"),
    ("power proof altered",
     _set(4, "power_proof", lambda it: _flip(it["power_proof"], len(it["power_proof"]) - 1)),
     ComponentProofError, "intervals[4].power_proof"),
    ("power proof truncated", _set(4, "power_proof", lambda it: it["power_proof"][:-32]),
     DecodeError, "intervals[4].power_proof"),
    ("powers swapped between intervals", _swap(5, 50, "powers"), ComponentProofError,
     "intervals[5].power_proof"),
    ("power proofs swapped", _swap(6, 51, "power_proof"), ComponentProofError,
     "intervals[6].power_proof"),
    ("fee replaced", _set(7, "fee", lambda it: _other_point()), ComponentProofError,
     "intervals[7].band"),
    ("band swapped between intervals", _swap(8, 52, "band"), ComponentProofError,
     "intervals[8].band"),
    ("powers dropped everywhere", _drop_everywhere("powers"), DecodeError,
     "intervals[0].powers"),
]  # fmt: skip


def _tampered(proof: Proof, edit: Edit) -> Proof:
    obj = codec.decode(codec.encode({"format": "t", "p": proof.to_obj()}), "payment message")["p"]
    edit(obj["intervals"])
    return proof_from_obj(codec.decode(codec.encode(obj), "payment message"), PATH)


def _check_tamper(
    component: Component,
    proof: Proof,
    points: list[Point],
    edit: Edit,
    error: type[Exception],
    field: str,
) -> None:
    with pytest.raises(error) as ei:
        verify(component, points, _tampered(proof, edit))
    assert type(ei.value) is error
    assert getattr(ei.value, "field", None) == f"{PATH}.{field}", str(ei.value)


@pytest.mark.parametrize(
    ("name", "edit", "error", "field"), BLOCK_TAMPER, ids=[t[0] for t in BLOCK_TAMPER]
)
def test_block_tamper(
    name: str,
    edit: Edit,
    error: type[Exception],
    field: str,
    mixed: tuple[BlockProof, list[Point], int],
) -> None:
    proof, points, _ = mixed
    _check_tamper(MIXED_CAP, proof, points, edit, error, field)


@pytest.mark.parametrize(
    ("name", "edit", "error", "field"), POLY_TAMPER, ids=[t[0] for t in POLY_TAMPER]
)
def test_polynomial_tamper(
    name: str,
    edit: Edit,
    error: type[Exception],
    field: str,
    cubic: tuple[PolynomialProof, list[Point], int],
) -> None:
    proof, points, _ = cubic
    _check_tamper(CUBIC_CROSSING, proof, points, edit, error, field)


def test_range_proof_tamper(mixed: tuple[BlockProof, list[Point], int]) -> None:
    proof, points, _ = mixed
    for ranges in (_flip(proof.ranges, 400), proof.ranges[:-96], b""):
        with pytest.raises(ComponentProofError) as ei:
            verify(MIXED_CAP, points, BlockProof(proof.intervals, ranges))
        assert ei.value.field == f"{PATH}.ranges"


def test_strict_proof_decoding() -> None:
    good = {"fee": bytes(48), "band": b"x"}
    cases: list[tuple[dict[str, Any], str]] = [
        ({"kind": "block", "intervals": [{**good, "powers": bytes(48)}], "ranges": b""},
         "c.intervals[0].powers"),
        ({"kind": "block", "intervals": [{"fee": bytes(48)}], "ranges": b""},
         "c.intervals[0].band"),
        ({"kind": "block", "intervals": [{**good, "fee": bytes(47)}], "ranges": b""},
         "c.intervals[0].fee"),
        ({"kind": "block", "intervals": [{**good, "band": bytes(5000)}], "ranges": b""},
         "c.intervals[0].band"),
        ({"kind": "block", "intervals": [good, {**good, "upper": bytes(48)}], "ranges": b""},
         "c.intervals[1]"),
        ({"kind": "block", "intervals": [], "ranges": b"", "extra": 1}, "c.extra"),
        ({"kind": "polynomial", "intervals": [{"powers": bytes(48)}], "ranges": b""},
         "c.intervals[0].power_proof"),
        ({"kind": "polynomial", "intervals": [{"powers": bytes(144), "power_proof": b""}],
          "ranges": b""}, "c.intervals[0].powers"),
        ({"kind": "polynomial", "intervals": [{"upper": bytes(48)}], "ranges": b""},
         "c.intervals[0].band"),
        ({"kind": "polynomial", "intervals": [{}], "ranges": b""}, "c.intervals[0]"),
        ({"kind": "lookup", "intervals": [], "ranges": b""}, "c.kind"),
    ]  # fmt: skip
    for obj, field in cases:
        with pytest.raises(DecodeError) as ei:
            proof_from_obj(obj, "c")
        assert ei.value.field == field, obj


# --- cheating provers ----------------------------------------------------------------------


def _cheapest_band(component: Component) -> Callable[[BandTable, int], int]:
    def band_of(self: BandTable, c: int) -> int:
        fees = [evaluate(p, c) for p in self.polys]
        return fees.index(min(fees))

    return band_of


@pytest.mark.parametrize("component", [INCREASING, DECREASING, MIXED_CAP, CUBIC_CROSSING])
def test_claiming_a_cheaper_band_is_refused_and_rejected(
    component: Component, monkeypatch: pytest.MonkeyPatch
) -> None:
    values = [250, 700, 900, 1500, 1900, 600, 100, 850]
    assert any(
        evaluate(
            band_table(component).polys[_cheapest_band(component)(band_table(component), c)], c
        )
        < component.fee([c])
        for c in values
    )
    blindings, points = commitments(values)
    monkeypatch.setattr(BandTable, "band_of", _cheapest_band(component))
    # An honest prover's range proof cannot cover a band the consumption is not in.
    with pytest.raises(bulletproofs.RangeProofError):
        module_for(component).prove(component, values, blindings, CTX)

    # A cheating prover that proves some other in-range values instead is rejected.
    real = bulletproofs.prove

    def fake_range_proof(vals: Sequence[int], blinds: Sequence[int], n: int, **kw: Any) -> Any:
        return real([v % (1 << n) for v in vals], list(blinds), n, context=CTX)

    monkeypatch.setattr(polynomial.bulletproofs, "prove", fake_range_proof)
    proof, fee, _ = module_for(component).prove(component, values, blindings, CTX)
    assert fee < component.fee(values)
    with pytest.raises(ComponentProofError) as ei:
        verify(component, points, proof)
    assert ei.value.field == f"{PATH}.ranges"


def test_one_sided_checks_only_let_a_prover_overpay(monkeypatch: pytest.MonkeyPatch) -> None:
    """With inclining prices only the upper bound is checked: a prover may claim a dearer band
    (and pays more), never a cheaper one."""
    values = [100, 250, 900]
    blindings, points = commitments(values)
    true_band = BandTable.band_of
    monkeypatch.setattr(
        BandTable, "band_of", lambda self, c: min(true_band(self, c) + 1, self.bands - 1)
    )
    proof, fee, blind = block.prove(INCREASING, values, blindings, CTX)
    assert verify(INCREASING, points, proof) == pedersen.commit(fee, blind)
    assert fee > INCREASING.fee(values)


# --- property tests ------------------------------------------------------------------------


@settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(tables(), st.data())
def test_random_tables_prove_the_cleartext_fee(component: Component, data: st.DataObject) -> None:
    t = band_table(component)
    top = t.ceiling - 1
    values = data.draw(st.lists(st.integers(0, top), min_size=1, max_size=6))
    proof, fee, blind, points = prove(component, values)
    assert fee == component.fee(values)
    assert verify(component, points, proof) == pedersen.commit(fee, blind)


# --- a month of quarter hours --------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize("component", [INCREASING, CUBIC], ids=["block", "cubic"])
def test_a_month_of_quarter_hours(component: Component) -> None:
    values = readings(2976, 21, top=2500)
    proof, fee, blind, points = prove(component, values)
    assert fee == component.fee(values)
    assert verify(component, points, proof) == pedersen.commit(fee, blind)
    assert isinstance(proof.intervals[0], IntervalProof)


def test_block_and_polynomial_in_a_whole_bill(provider: Provider) -> None:
    """Both charges in one tariff, two meters, through prove_bill and verify_bill; the total
    equals the cleartext bill, and a tampered band proof is rejected with its field."""
    import cbor2

    from privbill.billing.cleartext import MeterReadings, cleartext_bill
    from privbill.billing.prover import MeterInput, prove_bill
    from privbill.billing.verifier import verify_bill
    from privbill.crypto.signatures import SigningKey
    from privbill.meter import Meter
    from privbill.model import codec
    from privbill.model.periods import BillingPeriod
    from privbill.model.sealed import SealedReadings
    from privbill.model.tariffs import TariffBody

    desc = {
        "name": "interval charges",
        "currency": "USD",
        "timezone": "UTC",
        "valid_from": "2026-01-01",
        "valid_until": "2027-01-01",
        "billing_cycle": {"every_days": 1, "starting": "2026-01-01"},
        "energy": {"kind": "time-of-use", "periods": [{"name": "all", "price": "0.02"}], "weekday_schedule": [[0] * 24] * 12},
        "components": [
            {"kind": "block", "name": "blocks", "bits": 16,
             "bands": [{"up_to_wh": "300", "price": "0.10"}, {"up_to_kwh": "0.8", "price": "0.15"}, {"up_to_wh": None, "price": "0.21"}]},
            {"kind": "polynomial", "name": "penalty",
             "bands": [{"up_to_kwh": "1", "coefficients": ["0", "0.1"]}, {"up_to_wh": None, "coefficients": ["0", "0.2", "1"]}]},
        ],
    }  # fmt: skip
    tariff = provider.sign_tariff(TariffBody.from_description(desc))
    period = BillingPeriod.parse("2026-04-01/2026-04-02", tariff.body.tz)
    first, count = period.intervals(HOUR)
    inputs, readings = [], []
    for m in range(2):
        key = SigningKey.generate()
        cert = provider.certify_meter(f"m{m}", "acct", key.public_key(), interval_s=HOUR)
        values = [(k * 311 + m * 97) % 1400 for k in range(count)]
        rec = Meter(cert, key, "day", "UTC").record([(first + k, v) for k, v in enumerate(values)])
        inputs.append(MeterInput(SealedReadings(cert, tuple(rec.runs)), [rec.openings]))
        readings.append(MeterReadings(HOUR, first, values))
    data = prove_bill(tariff, inputs, period).encode()
    v = verify_bill(data, tariff, provider.public_key)
    assert v.total_fee == cleartext_bill(tariff.body, readings, period).total
    obj = cbor2.loads(data)
    assert [c["kind"] for c in obj["components"]] == ["block", "polynomial"]
    obj["total_fee"] += 1
    with pytest.raises(FeeMismatchError):
        verify_bill(codec.encode(obj), tariff, provider.public_key)
