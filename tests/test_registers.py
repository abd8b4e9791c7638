"""Meter-certified maximum-demand registers: the meter's monthly registers, their objects, and
the register path of the demand charge (no range proof), with every check of the verifier."""

from __future__ import annotations

import copy
import dataclasses
import json
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import cbor2
import pytest

from privbill.billing import components, demand, energy
from privbill.billing.cleartext import MeterReadings, cleartext_bill, demand_windows
from privbill.billing.prover import MeterInput, prove_bill
from privbill.billing.verifier import verify_bill
from privbill.crypto import group, pedersen
from privbill.crypto.group import Point
from privbill.crypto.signatures import SigningKey
from privbill.errors import (
    CertificateError,
    CommitmentError,
    CoverageError,
    DecodeError,
    OpeningError,
    PrivbillError,
    SignatureError,
    TariffMismatchError,
    UsageError,
)
from privbill.meter import Meter, MeterState, Recording
from privbill.model import codec
from privbill.model.bills import MeterSection, PaymentMessage
from privbill.model.component_proofs import DemandProof, RegisterWindowProof, is_register_window
from privbill.model.components import Demand
from privbill.model.periods import BillingPeriod, local_midnight, zone
from privbill.model.readings import (
    derive_attribute_blinding,
    derive_blinding,
    derive_register_blinding,
)
from privbill.model.registers import (
    DemandRegister,
    RegisterOpenings,
    RegisterSchedule,
    register_schedule_from,
    register_schedules_for,
    schedule_hash_for,
)
from privbill.model.schedules import HOURS, NONE
from privbill.model.sealed import SealedReadings
from privbill.model.tariffs import SignedTariff, TariffBody
from privbill.provider import Provider

TZ = "America/Denver"
HOUR = 3600
NIGHT, DAY, EVENING = 0, 1, 2
WEEKDAY = [[NIGHT] * 6 + [DAY] * 12 + [EVENING] * 6 for _ in range(12)]
WEEKEND = [[None] * 12 + [DAY] * 6 + [None] * 6 for _ in range(12)]
HOLIDAY = "2026-03-17"  # a Tuesday billed with the weekend schedule

TOU_DEMAND: dict[str, Any] = {
    "kind": "demand",
    "name": "time-of-use demand",
    "windows": [
        {"name": "night", "tiers": [{"up_to_kw": None, "price_per_kw": "0"}]},
        {"name": "day", "tiers": [{"up_to_kw": None, "price_per_kw": "12.50"}]},
        {
            "name": "evening",
            "tiers": [
                {"up_to_kw": "20", "price_per_kw": "8.00"},
                {"up_to_kw": None, "price_per_kw": "11.00"},
            ],
        },
    ],
    "weekday_schedule": WEEKDAY,
    "weekend_schedule": WEEKEND,
    "bits": 16,
}
FLAT_DEMAND: dict[str, Any] = {
    "kind": "demand",
    "name": "flat demand",
    "windows": [{"name": "all", "tiers": [{"up_to_kw": None, "price_per_kw": "5.00"}]}],
    "bits": 16,
}


WEEKEND_DEMAND: dict[str, Any] = {
    "kind": "demand",
    "name": "weekend afternoons",
    "windows": [{"name": "afternoon", "tiers": [{"up_to_kw": None, "price_per_kw": "9.00"}]}],
    "weekday_schedule": [[None] * 24 for _ in range(12)],
    "weekend_schedule": [[None] * 12 + [0] * 6 + [None] * 6 for _ in range(12)],
    "bits": 16,
}


def _description(components_: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "name": "registers",
        "currency": "USD",
        "timezone": TZ,
        "valid_from": "2026-01-01",
        "valid_until": "2027-01-01",
        "energy": {
            "kind": "time-of-use",
            "periods": [{"name": "off", "price": "0.09"}, {"name": "on", "price": "0.21"}],
            "weekday_schedule": [[0] * 15 + [1] * 4 + [0] * 5 for _ in range(12)],
            "weekend_schedule": [[0] * 24 for _ in range(12)],
            "holidays": [HOLIDAY],
        },
        "fixed": {"per_month": "9.00"},
        "components": components_,
    }


@pytest.fixture(scope="module")
def tariff(provider: Provider) -> SignedTariff:
    return provider.sign_tariff(
        TariffBody.from_description(_description([TOU_DEMAND, FLAT_DEMAND]))
    )


@pytest.fixture(scope="module")
def flat_tariff(provider: Provider) -> SignedTariff:
    return provider.sign_tariff(TariffBody.from_description(_description([FLAT_DEMAND])))


@pytest.fixture(scope="module")
def weekend_tariff(provider: Provider) -> SignedTariff:
    """A demand window of few intervals: range proofs stay quick."""
    return provider.sign_tariff(TariffBody.from_description(_description([WEEKEND_DEMAND])))


@pytest.fixture(scope="module")
def plain_tariff(provider: Provider) -> SignedTariff:
    """No demand charge: bills carry the registers without using them."""
    return provider.sign_tariff(TariffBody.from_description(_description([])))


def _period(text: str) -> BillingPeriod:
    return BillingPeriod.parse(text, zone(TZ))


def _span(first_day: str, end_day: str, interval: int) -> range:
    tz = zone(TZ)
    a = local_midnight(date.fromisoformat(first_day), tz) // interval
    b = local_midnight(date.fromisoformat(end_day), tz) // interval
    return range(a, b)


def _values(indices: range, seed: int, hi: int = 30000) -> dict[int, int]:
    rng = random.Random(seed)
    return {k: rng.randrange(0, hi) for k in indices}


@dataclass
class Setup:
    meter: Meter
    values: dict[int, int]
    recordings: list[Recording]

    @property
    def registers(self) -> list[DemandRegister]:
        return [r for rec in self.recordings for r in rec.registers]

    @property
    def register_openings(self) -> list[RegisterOpenings]:
        return [o for rec in self.recordings for o in rec.register_openings]

    def sealed(self) -> SealedReadings:
        runs = tuple(r for rec in self.recordings for r in rec.runs)
        return SealedReadings(self.meter.certificate, runs, tuple(self.registers))

    def input(self, *, register_openings: bool = True) -> MeterInput:
        return MeterInput(
            self.sealed(),
            [rec.openings for rec in self.recordings],
            self.meter.opening_key,
            self.register_openings if register_openings else (),
        )


def _new_meter(
    provider: Provider,
    schedules: Sequence[RegisterSchedule],
    *,
    meter_id: str = "m-1",
    interval: int = HOUR,
    opening_key: bytes | None = None,
    algorithm: str = "ecdsa-p256-sha256",
    key: SigningKey | None = None,
) -> Meter:
    key = key or SigningKey.generate(algorithm)  # type: ignore[arg-type]
    cert = provider.certify_meter(meter_id, "acct", key.public_key(), interval_s=interval)
    return Meter(cert, key, "day", TZ, opening_key, register_schedules=schedules)


def _record(meter: Meter, values: dict[int, int], batch: int = 24) -> list[Recording]:
    """Record in batches (a day of hourly readings by default), as a meter would."""
    keys = sorted(values)
    return [
        meter.record([(k, values[k]) for k in keys[lo : lo + batch]])
        for lo in range(0, len(keys), batch)
    ]


def _local_index(when: str, interval: int) -> int:
    return int(datetime.fromisoformat(when).replace(tzinfo=zone(TZ)).timestamp()) // interval


def _setup(
    provider: Provider,
    tariff: SignedTariff,
    first_day: str,
    end_day: str,
    *,
    seed: int = 1,
    spikes: dict[str, int] | None = None,
    **kw: Any,
) -> Setup:
    meter = _new_meter(provider, register_schedules_for(tariff.body), **kw)
    values = _values(_span(first_day, end_day, meter.interval_s), seed)
    for when, wh in (spikes or {}).items():
        values[_local_index(when, meter.interval_s)] = wh
    return Setup(meter, values, _record(meter, values))


def _window_of(ts: int, schedule: RegisterSchedule) -> int:
    """The window of an interval starting at ``ts``, computed directly from local time."""
    local = datetime.fromtimestamp(ts, zone(TZ))
    weekend = local.weekday() >= 5 or local.date() in schedule.holidays
    table = schedule.weekend if weekend else schedule.weekday
    return table[(local.month - 1) * HOURS + local.hour]


def _expected_maxima(
    values: dict[int, int], month: BillingPeriod, schedule: RegisterSchedule, interval: int
) -> tuple[list[int], list[int | None]]:
    peaks: list[int] = [0] * schedule.windows
    where: list[int | None] = [None] * schedule.windows
    first, count = month.intervals(interval)
    for k in range(first, first + count):
        w = _window_of(k * interval, schedule)
        if w != NONE and (where[w] is None or values[k] > peaks[w]):
            peaks[w], where[w] = values[k], k
    return peaks, where


# --- the meter -------------------------------------------------------------------------------


@pytest.mark.parametrize("interval", [900, HOUR])
def test_one_register_per_completed_month(
    provider: Provider, tariff: SignedTariff, interval: int
) -> None:
    # From 20 February (the meter starts mid-month: no February register) to 10 April; March
    # has the switch to daylight saving time (8 March, a 23-hour day) and a holiday.
    okey = Meter.new_opening_key() if interval == HOUR else None
    # Sunday 8 March, noon local time (MDT since 02:00): in the weekend's day window. The
    # holiday at 19:00: weekend table, so in no time-of-use window, but in the flat one.
    dst_noon, holiday_evening = "2026-03-08T12:00", f"{HOLIDAY}T19:00"
    spikes = {dst_noon: 35000, holiday_evening: 40000}
    setup = _setup(
        provider,
        tariff,
        "2026-02-20",
        "2026-04-10",
        interval=interval,
        opening_key=okey,
        spikes=spikes,
    )
    march = _period("2026-03")
    assert [r.month for r in setup.registers] == [march]
    assert march.intervals(interval)[1] == (31 * 24 - 1) * HOUR // interval
    reg, op = setup.registers[0], setup.register_openings[0]
    reg.verify_signature(setup.meter.certificate.public_key)
    assert DemandRegister.decode(reg.encode()) == reg
    decoded = RegisterOpenings.decode(op.encode())
    assert decoded.month == march and [s.values for s in decoded.schedules] == [
        s.values for s in op.schedules
    ]
    schedules = register_schedules_for(tariff.body)
    assert len(schedules) == 2 and [e.windows for e in reg.schedules] == [3, 1]
    blindings = op.resolve(okey)
    for s, (schedule, entry, opened) in enumerate(
        zip(schedules, reg.schedules, op.schedules, strict=True)
    ):
        assert entry.schedule_hash == schedule.hash(TZ) == opened.schedule_hash
        peaks, where = _expected_maxima(setup.values, march, schedule, interval)
        assert opened.values == peaks and opened.intervals == where
        for w in range(schedule.windows):
            assert pedersen.commit_bytes(peaks[w], blindings[s][w]) == entry.commitment(w)
    tou, flat = op.schedules
    assert (tou.values[DAY], tou.intervals[DAY]) == (35000, _local_index(dst_noon, interval))
    assert tou.values[EVENING] < 40000
    assert (flat.values[0], flat.intervals[0]) == (40000, _local_index(holiday_evening, interval))
    # April completes in a later recording: exactly one more register, for April.
    more = _values(_span("2026-04-10", "2026-05-02", interval), 7)
    recs = _record(setup.meter, more)
    assert [r.month for rec in recs for r in rec.registers] == [_period("2026-04")]
    assert setup.meter.state.registers is not None  # tracking May


def test_window_without_intervals_commits_to_zero(provider: Provider) -> None:
    schedule = RegisterSchedule(2, bytes(12 * 24), bytes(12 * 24))  # window 1 never used
    meter = _new_meter(provider, [schedule])
    recs = _record(meter, _values(_span("2026-06-01", "2026-07-01", HOUR), 3))
    (reg,) = [r for rec in recs for r in rec.registers]
    (op,) = [o for rec in recs for o in rec.register_openings]
    assert op.schedules[0].values[1] == 0 and op.schedules[0].intervals[1] is None
    r = op.resolve(None)[0][1]
    assert reg.schedules[0].commitment(1) == pedersen.commit_bytes(0, r)


def test_state_round_trip_mid_month(provider: Provider, tariff: SignedTariff) -> None:
    okey = Meter.new_opening_key()
    key = SigningKey.generate("ed25519")  # deterministic signatures: registers compare bytewise
    schedules = register_schedules_for(tariff.body)
    values = _values(_span("2026-03-01", "2026-04-01", HOUR), 5)
    whole = _new_meter(provider, schedules, opening_key=okey, key=key)
    (expected,) = [r for rec in _record(whole, values) for r in rec.registers]

    split = _new_meter(provider, schedules, opening_key=okey, key=key)
    keys = sorted(values)
    first = split.record([(k, values[k]) for k in keys[:400]], close=False)
    assert not first.registers
    tracker = split.state.registers
    assert tracker is not None and "<secret>" in repr(split.state)
    assert not any(m is not None and str(m[0]) in repr(split.state) for m in tracker.maxima[1])
    text = split.state.to_json()
    assert json.loads(text)["registers"]["start"] == _period("2026-03").start
    state = MeterState.from_json(text)
    assert state == split.state
    resumed = Meter(split.certificate, key, "day", TZ, okey, state, schedules)
    rest = resumed.record([(k, values[k]) for k in keys[400:]])
    assert rest.registers == [expected]
    assert resumed.state.registers is None  # the month is done

    # The state tracks these schedules: a meter configured otherwise refuses it.
    other = [RegisterSchedule(1, bytes(12 * 24), bytes(12 * 24))]
    with pytest.raises(UsageError, match="other demand-register schedules"):
        Meter(split.certificate, key, "day", TZ, okey, MeterState.from_json(text), other)
    damaged = json.loads(text)
    damaged["registers"]["maxima"][0][1] = [-5, 3]
    with pytest.raises(UsageError, match="damaged"):
        MeterState.from_json(json.dumps(damaged))
    # A state written before registers existed still loads.
    legacy = json.loads(text)
    del legacy["registers"]
    assert MeterState.from_json(json.dumps(legacy)).registers is None


def test_register_configuration(provider: Provider, tariff: SignedTariff) -> None:
    schedules = register_schedules_for(tariff.body)
    with pytest.raises(UsageError, match="divides an hour"):
        _new_meter(provider, schedules, interval=7200)
    with pytest.raises(UsageError, match="twice"):
        _new_meter(provider, [schedules[0], schedules[0]])
    with pytest.raises(UsageError, match="beyond"):
        RegisterSchedule(1, bytes([1]) * 288, bytes(288))
    with pytest.raises(UsageError, match="12 months"):
        RegisterSchedule(1, bytes(287), bytes(288))
    with pytest.raises(UsageError, match="sorted"):
        RegisterSchedule(1, bytes(288), bytes(288), (date(2026, 2, 1), date(2026, 1, 1)))
    c = tariff.body.components[0]
    assert isinstance(c, Demand)
    holiday = date.fromisoformat(HOLIDAY)
    assert register_schedule_from(c, [holiday]) == schedules[0]
    # The hash binds the timezone, the tables, the window count and the holidays.
    hashes = {
        schedules[0].hash(TZ),
        schedules[0].hash("Europe/Berlin"),
        register_schedule_from(c).hash(TZ),
        schedules[1].hash(TZ),
        dataclasses.replace(schedules[1], windows=2).hash(TZ),
    }
    assert len(hashes) == 5
    assert schedule_hash_for(c, tariff.body) == schedules[0].hash(TZ)
    # The register blinding factors have their own PRF input.
    okey = bytes(range(32))
    derived = {
        derive_register_blinding(okey, "m-1", 1000, 0, 0),
        derive_register_blinding(okey, "m-1", 1000, 0, 1),
        derive_register_blinding(okey, "m-1", 1000, 1, 0),
        derive_blinding(okey, "m-1", 1000),
        derive_attribute_blinding(okey, "m-1", 1000, 0),
    }
    assert len(derived) == 5


# --- objects ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def march(provider: Provider, tariff: SignedTariff) -> Setup:
    return _setup(provider, tariff, "2026-02-25", "2026-04-02", seed=21)


def _reg_obj(setup: Setup) -> dict[str, Any]:
    obj: dict[str, Any] = cbor2.loads(setup.registers[0].encode())
    return obj


REGISTER_DECODE = [
    ("unknown field", lambda o: o.__setitem__("extra", 1), "extra"),
    ("missing signature", lambda o: o.pop("signature"), "signature"),
    ("wrong format", lambda o: o.__setitem__("format", "privbill/demand-register/2"), "format"),
    ("bad meter id", lambda o: o.__setitem__("meter_id", "not an id"), "meter_id"),
    ("month backwards", lambda o: o["month"].__setitem__("end", o["month"]["start"]), "month.end"),
    ("no schedules", lambda o: o.__setitem__("schedules", []), "schedules"),
    (
        "commitments cut",
        lambda o: o["schedules"][0].__setitem__(
            "commitments", o["schedules"][0]["commitments"][:-1]
        ),
        "schedules[0].commitments",
    ),
    (
        "schedule twice",
        lambda o: o["schedules"].__setitem__(1, copy.deepcopy(o["schedules"][0])),
        "schedules[1].schedule_hash",
    ),
    (
        "short schedule hash",
        lambda o: o["schedules"][0].__setitem__("schedule_hash", b"x"),
        "schedules[0].schedule_hash",
    ),
    ("short signature", lambda o: o.__setitem__("signature", b"s"), "signature"),
]


@pytest.mark.parametrize(
    ("name", "mutate", "field"), REGISTER_DECODE, ids=[t[0] for t in REGISTER_DECODE]
)
def test_register_decoding_is_strict(
    march: Setup, name: str, mutate: Callable[[dict[str, Any]], object], field: str
) -> None:
    obj = _reg_obj(march)
    mutate(obj)
    with pytest.raises(DecodeError) as ei:
        DemandRegister.decode(codec.encode(obj))
    assert ei.value.field == field, f"{name}: {ei.value}"


def test_register_openings_decoding(march: Setup) -> None:
    op = march.register_openings[0]
    assert "<secret>" in repr(op) and str(op.schedules[0].values[1]) not in repr(op)
    base: dict[str, Any] = cbor2.loads(op.encode())
    cases: list[tuple[Callable[[dict[str, Any]], object], str]] = [
        (
            lambda o: o["schedules"][0]["intervals"].__setitem__(1, None),
            "schedules[0].intervals[1]",
        ),
        (lambda o: o["schedules"][0]["values"].__setitem__(0, 2**32), "schedules[0].values[0]"),
        (lambda o: o["schedules"][1].pop("blindings"), "schedules[1].blindings"),
        (
            lambda o: o["schedules"][0].__setitem__("blindings", b"\xff" * 96),
            "schedules[0].blindings",
        ),
        (lambda o: o["schedules"][0]["intervals"].pop(), "schedules[0].intervals"),
        (lambda o: o.__setitem__("extra", 0), "extra"),
    ]
    for mutate, field in cases:
        obj = copy.deepcopy(base)
        mutate(obj)
        with pytest.raises(DecodeError) as ei:
            RegisterOpenings.decode(codec.encode(obj))
        assert ei.value.field == field, str(ei.value)
    derived = copy.deepcopy(base)
    for s in derived["schedules"]:
        del s["blindings"]
    with pytest.raises(DecodeError, match="opening key"):
        RegisterOpenings.decode(codec.encode(derived)).resolve(None)


@pytest.fixture(scope="module")
def carried(plain_tariff: SignedTariff, march: Setup) -> PaymentMessage:
    return prove_bill(plain_tariff, [march.input()], "2026-03")


def test_sections_carry_registers_only_when_there_are_some(
    march: Setup, carried: PaymentMessage, plain_tariff: SignedTariff, provider: Provider
) -> None:
    sealed = march.sealed()
    assert SealedReadings.decode(sealed.encode()) == sealed
    obj = cbor2.loads(sealed.encode())
    obj["registers"] = []
    with pytest.raises(DecodeError) as ei:
        SealedReadings.decode(codec.encode(obj))
    assert ei.value.field == "registers"
    plain = SealedReadings(sealed.certificate, sealed.runs)
    assert "registers" not in cbor2.loads(plain.encode())
    msg = carried
    assert msg.meters[0].registers == tuple(march.registers)  # the March register only
    verify_bill(msg.encode(), plain_tariff, provider.public_key)
    mobj = cbor2.loads(msg.encode())
    assert PaymentMessage.decode(msg.encode()) == msg
    mobj["meters"][0]["registers"] = []
    with pytest.raises(DecodeError) as ei:
        PaymentMessage.decode(codec.encode(mobj))
    assert ei.value.field == "meters[0].registers"


def test_register_window_proof_object() -> None:
    rp = RegisterWindowProof(2, None)
    obj = rp.to_obj()
    assert is_register_window(obj) and not is_register_window({"peak": b"", "ranges": b""})
    assert RegisterWindowProof.from_obj(obj, "w") == rp
    for bad, field in [
        ({"register": 16, "tiers": None}, "w.register"),
        ({"register": 0}, "w.tiers"),
        ({"register": 0, "tiers": None, "peak": b""}, "w.peak"),
        ({"register": 0, "tiers": {"parts": b"", "ranges": b"", "order": []}}, "w.tiers.parts"),
    ]:
        with pytest.raises(DecodeError) as ei:
            RegisterWindowProof.from_obj(bad, "w")
        assert ei.value.field == field


# --- the register path of the demand charge ----------------------------------------------------


@dataclass
class Bill:
    """A bill's demand components proven along one path, with everything needed to check it."""

    tariff: SignedTariff
    message: PaymentMessage  # from prove_bill: the meter sections, registers included
    proofs: list[DemandProof]
    total: int
    blinding: int


def _openings(setup: Setup, period: BillingPeriod) -> tuple[list[int], list[int]]:
    first, count = period.intervals(setup.meter.interval_s)
    values, blindings = [], []
    for rec in setup.recordings:
        rs = rec.openings.resolve(setup.meter.opening_key)
        for k, (v, r) in enumerate(zip(rec.openings.values, rs, strict=True)):
            if first <= rec.openings.first + k < first + count:
                values.append(v)
                blindings.append(r)
    return values, blindings


def _windows(body: TariffBody, c: Demand, period: BillingPeriod, interval: int) -> list[list[int]]:
    first, count = period.intervals(interval)
    return demand_windows(body, c, first, count, interval)


def _contexts(tariff: SignedTariff, msg: PaymentMessage) -> list[bytes]:
    ids = [m.certificate.meter_id for m in msg.meters]
    return [
        components.context(tariff.hash(), msg.account, msg.period, ids, i)
        for i in range(len(tariff.body.components))
    ]


def _message(tariff: SignedTariff, setup: Setup, period: BillingPeriod) -> PaymentMessage:
    """A payment message's public part for one meter, as the prover selects it (runs and
    registers of the period); total and components are filled in by :func:`_prove`."""
    sealed = setup.sealed()
    cert = sealed.certificate
    first, count = period.intervals(cert.interval_s)
    runs = tuple(r for r in sealed.runs if r.seal.first < first + count and r.seal.end > first)
    registers = tuple(r for r in sealed.registers if r.month == period)
    section = MeterSection(cert, runs, registers)
    return PaymentMessage(cert.account, period, tariff.hash(), (section,), 0, 0)


def _prove(
    tariff: SignedTariff,
    setup: Setup,
    month: str,
    *,
    registers: demand.MeterRegisters | str | None = "from bill",
    register_openings: bool = True,
) -> Bill:
    """Energy, fixed charges and the demand components of a single-meter bill, the demand
    charges by :func:`demand.prove_with_registers`."""
    body = tariff.body
    period = _period(month)
    msg = _message(tariff, setup, period)
    interval = setup.meter.interval_s
    values, blindings = _openings(setup, period)
    first, count = period.intervals(interval)
    fee, blinding = energy.prove(body.prices(first, count, interval), values, blindings)
    total = fee + body.fixed_charges(period)
    regs = (
        demand.bill_registers(
            msg.meters,
            setup.register_openings if register_openings else (),
            setup.meter.opening_key,
        )
        if registers == "from bill"
        else registers
    )
    assert not isinstance(regs, str)
    proofs = []
    for c, ctx in zip(body.components, _contexts(tariff, msg), strict=True):
        assert isinstance(c, Demand)
        windows = _windows(body, c, period, interval)
        dp, f, b = demand.prove_with_registers(
            c, values, blindings, windows, interval, ctx, regs, body, period
        )
        proofs.append(dp)
        total += f
        blinding = (blinding + b) % group.ORDER
    return Bill(tariff, msg, proofs, total, blinding)


def _points(msg: PaymentMessage) -> list[Point]:
    return [
        p
        for run in msg.meters[0].runs
        for p in group.decode_points_on_curve(run.commitments, run.seal.count)
    ]


def _verify(bill: Bill, registers: demand.MeterRegisters | str | None = "from bill") -> None:
    """Check the bill's total against the sealed commitments and the demand proofs."""
    body, msg = bill.tariff.body, bill.message
    interval = msg.meters[0].certificate.interval_s
    points = _points(msg)
    first, count = msg.period.intervals(interval)
    total = energy.fee_commitment(body.prices(first, count, interval), points)
    total = total + group.mul(group.generator(), body.fixed_charges(msg.period))
    regs = demand.bill_registers(msg.meters) if registers == "from bill" else registers
    assert not isinstance(regs, str)
    for i, (c, ctx, proof) in enumerate(
        zip(body.components, _contexts(bill.tariff, msg), bill.proofs, strict=True)
    ):
        assert isinstance(c, Demand)
        windows = _windows(body, c, msg.period, interval)
        path = f"components[{i}]"
        total = total + demand.verify_with_registers(
            c, points, windows, interval, ctx, proof, path, regs, body, msg.period
        )
    assert energy.verify(bill.total, bill.blinding, total)


def _kinds(proof: DemandProof) -> list[str | None]:
    return [
        None if w is None else ("register" if isinstance(w, RegisterWindowProof) else "range")
        for w in proof.windows
    ]


@pytest.fixture(scope="module")
def register_bill(tariff: SignedTariff, march: Setup) -> Bill:
    return _prove(tariff, march, "2026-03")


def test_register_bill_equals_cleartext(
    tariff: SignedTariff, march: Setup, register_bill: Bill
) -> None:
    bill = register_bill
    _verify(bill)
    period = _period("2026-03")
    first, count = period.intervals(HOUR)
    readings = MeterReadings(HOUR, first, [march.values[k] for k in range(first, first + count)])
    expected = cleartext_bill(tariff.body, [readings], period)
    assert bill.total == expected.total
    assert [fee for _, fee in expected.components if fee] and expected.total > expected.fixed
    # Night has no price (no proof); day and flat are single-tier; evening has tier parts.
    assert [_kinds(p) for p in bill.proofs] == [[None, "register", "register"], ["register"]]
    evening = bill.proofs[0].windows[2]
    assert isinstance(evening, RegisterWindowProof) and evening.tiers is not None
    obj = bill.proofs[0].to_obj()["windows"][1]
    assert obj == {"register": 0, "tiers": None}


def test_register_path_verifies_much_cheaper(
    flat_tariff: SignedTariff, provider: Provider, record_property: Callable[[str, object], None]
) -> None:
    """Flat demand over a month of hourly readings: the register path needs no range proof.
    Times are measured and reported (``record_property``), not asserted."""
    setup = _setup(provider, flat_tariff, "2026-07-01", "2026-08-01", seed=8)
    period = _period("2026-07")
    first, count = period.intervals(HOUR)
    readings = MeterReadings(HOUR, first, [setup.values[k] for k in range(first, first + count)])
    times: dict[str, float] = {}
    sizes: dict[str, int] = {}
    totals: dict[str, int] = {}
    for path, regs in (("register", "from bill"), ("range", None)):
        t0 = time.perf_counter()
        bill = _prove(flat_tariff, setup, "2026-07", registers=regs)
        times[f"{path} prove s"] = time.perf_counter() - t0
        t0 = time.perf_counter()
        _verify(bill)
        times[f"{path} verify s"] = time.perf_counter() - t0
        sizes[path] = len(codec.encode(bill.proofs[0].to_obj()))
        totals[path] = bill.total
        assert _kinds(bill.proofs[0]) == [path]
    for name, value in {**times, **{f"{k} proof bytes": v for k, v in sizes.items()}}.items():
        record_property(name, value)
    print(", ".join(f"{k} {v:.4f}" for k, v in times.items()), sizes)
    assert (
        totals["register"]
        == totals["range"]
        == cleartext_bill(flat_tariff.body, [readings], period).total
    )
    assert sizes["register"] < 100 < 1000 < sizes["range"]


@pytest.fixture(scope="module")
def weekend_march(provider: Provider, weekend_tariff: SignedTariff) -> Setup:
    return _setup(provider, weekend_tariff, "2026-03-01", "2026-04-01", seed=31)


def test_prover_falls_back_to_the_range_proof(
    provider: Provider, weekend_tariff: SignedTariff, weekend_march: Setup, march: Setup
) -> None:
    bill = _prove(weekend_tariff, weekend_march, "2026-03")
    assert [_kinds(p) for p in bill.proofs] == [["register"]]
    _verify(bill)
    # Without the register's openings: the range proof, for the same total.
    fallback = _prove(weekend_tariff, weekend_march, "2026-03", register_openings=False)
    assert [_kinds(p) for p in fallback.proofs] == [["range"]]
    assert fallback.total == bill.total
    _verify(fallback)
    # A month without a register (the meter did not record all of it): the range proof.
    late = _setup(provider, weekend_tariff, "2026-03-02", "2026-04-01", seed=31)
    assert not late.registers
    # Two meters: the load is a sum no single meter saw; no register path.
    two = (march.sealed(), weekend_march.sealed())
    sections = [MeterSection(s.certificate, s.runs, s.registers) for s in two]
    assert demand.bill_registers(sections, march.register_openings) is None
    assert demand.bill_registers(sections[:1], march.register_openings) is not None


# --- tampering -----------------------------------------------------------------------------


def _with_register(bill: Bill, reg: DemandRegister) -> demand.MeterRegisters:
    regs = demand.bill_registers(bill.message.meters)
    assert regs is not None
    return dataclasses.replace(regs, registers=(reg, *regs.registers[1:]))


def _edit(reg: DemandRegister, mutate: Callable[[dict[str, Any]], object]) -> DemandRegister:
    obj: dict[str, Any] = cbor2.loads(reg.encode())
    mutate(obj)
    return DemandRegister.decode(codec.encode(obj))


def _swap_windows(o: dict[str, Any]) -> None:
    c = o["schedules"][0]["commitments"]
    o["schedules"][0]["commitments"] = c[48:96] + c[:48] + c[96:]


def _flip_signature(o: dict[str, Any]) -> None:
    o["signature"] = bytes([o["signature"][0] ^ 1]) + o["signature"][1:]


EDITS: list[tuple[str, Callable[[dict[str, Any]], object], type[PrivbillError]]] = [
    ("signature altered", _flip_signature, SignatureError),
    ("meter id changed", lambda o: o.__setitem__("meter_id", "m-9"), CertificateError),
    (
        "month shifted",
        lambda o: o["month"].__setitem__("end", o["month"]["end"] + 3600),
        CoverageError,
    ),
    (
        "schedule hash changed",
        lambda o: o["schedules"][0].__setitem__("schedule_hash", bytes(32)),
        SignatureError,
    ),
    ("commitments swapped between windows", _swap_windows, SignatureError),
]


@pytest.mark.parametrize(("name", "mutate", "error"), EDITS, ids=[e[0] for e in EDITS])
def test_register_tamper(
    register_bill: Bill,
    name: str,
    mutate: Callable[[dict[str, Any]], object],
    error: type[PrivbillError],
) -> None:
    reg = _edit(register_bill.message.meters[0].registers[0], mutate)
    with pytest.raises(error) as ei:
        _verify(register_bill, _with_register(register_bill, reg))
    assert type(ei.value) is error, f"{name}: {type(ei.value).__name__}: {ei.value}"


@pytest.mark.parametrize(("name", "mutate", "error"), EDITS, ids=[e[0] for e in EDITS])
def test_register_tamper_in_the_payment_message(
    provider: Provider,
    carried: PaymentMessage,
    plain_tariff: SignedTariff,
    name: str,
    mutate: Callable[[dict[str, Any]], object],
    error: type[PrivbillError],
) -> None:
    """The verifier checks every register a meter section carries, used or not."""
    obj = cbor2.loads(carried.encode())
    mutate(obj["meters"][0]["registers"][0])
    with pytest.raises(error) as ei:
        verify_bill(codec.encode(obj), plain_tariff, provider.public_key)
    assert type(ei.value) is error, f"{name}: {type(ei.value).__name__}: {ei.value}"
    assert ei.value.field is not None and ei.value.field.startswith("meters[0].registers[0]")


def test_register_of_another_month(
    provider: Provider, tariff: SignedTariff, register_bill: Bill
) -> None:
    setup = _setup(provider, tariff, "2026-02-01", "2026-04-01", seed=6)
    (feb, _) = setup.registers
    assert feb.month == _period("2026-02")
    regs = demand.bill_registers(register_bill.message.meters)
    assert regs is not None
    with pytest.raises(CoverageError):  # its own month
        _verify(
            register_bill,
            dataclasses.replace(regs, registers=(feb,), certificate=setup.meter.certificate),
        )
    # Relabelled as March: the meter's signature no longer covers it.
    relabelled = _edit(feb, lambda o: o.__setitem__("month", _period("2026-03").to_obj()))
    with pytest.raises(SignatureError):
        _verify(
            register_bill,
            dataclasses.replace(regs, registers=(relabelled,), certificate=setup.meter.certificate),
        )


def test_register_of_another_meter(
    provider: Provider, tariff: SignedTariff, register_bill: Bill
) -> None:
    other = _setup(provider, tariff, "2026-03-01", "2026-04-01", meter_id="m-2", seed=2)
    with pytest.raises(CertificateError):
        _verify(register_bill, _with_register(register_bill, other.registers[0]))
    # The same meter id, certified again with another key: its register does not verify here.
    twin = _setup(provider, tariff, "2026-03-01", "2026-04-01", meter_id="m-1", seed=2)
    with pytest.raises(SignatureError):
        _verify(register_bill, _with_register(register_bill, twin.registers[0]))


def test_register_of_another_schedule(
    provider: Provider, weekend_tariff: SignedTariff, weekend_march: Setup
) -> None:
    """A genuine register of the same meter and month that tracks other windows (here: the
    weekend afternoon window one hour longer)."""
    c = weekend_tariff.body.components[0]
    assert isinstance(c, Demand)
    schedule = register_schedule_from(c, [date.fromisoformat(HOLIDAY)])
    table = bytearray(schedule.weekend)
    for m in range(12):
        table[m * HOURS + 18] = 0
    wrong = dataclasses.replace(schedule, weekend=bytes(table))
    meter = _new_meter(provider, [wrong], key=weekend_march.meter.key)
    recs = _record(meter, weekend_march.values)
    (reg,) = [r for rec in recs for r in rec.registers]
    bill = _prove(weekend_tariff, weekend_march, "2026-03")
    with pytest.raises(TariffMismatchError):
        _verify(bill, _with_register(bill, reg))
    # The prover does not use it: its schedule is not the component's.
    regs = _with_register(bill, reg)
    regs = dataclasses.replace(
        regs, openings=tuple(o for rec in recs for o in rec.register_openings)
    )
    proved = _prove(weekend_tariff, weekend_march, "2026-03", registers=regs)
    assert [_kinds(p) for p in proved.proofs] == [["range"]]
    _verify(proved, regs)


def test_window_proof_form_is_checked(tariff: SignedTariff, register_bill: Bill) -> None:
    bill = register_bill

    def with_windows(i: int, windows: list[Any]) -> Bill:
        proofs = list(bill.proofs)
        proofs[i] = DemandProof(tuple(windows))
        return dataclasses.replace(bill, proofs=proofs)

    tou = list(bill.proofs[0].windows)
    day = tou[1]
    assert isinstance(day, RegisterWindowProof)
    cases: list[tuple[Bill, demand.MeterRegisters | str | None, type[PrivbillError], str]] = [
        (
            with_windows(0, [None, RegisterWindowProof(3, None), tou[2]]),
            "from bill",
            DecodeError,
            "register",
        ),
        (
            with_windows(0, [None, day, RegisterWindowProof(0, None)]),
            "from bill",
            DecodeError,
            "tiers",
        ),
        (
            with_windows(0, [None, RegisterWindowProof(0, tou[2].tiers), tou[2]]),
            "from bill",
            DecodeError,
            "tiers",
        ),  # type: ignore[union-attr]
        (with_windows(0, [day, day, tou[2]]), "from bill", DecodeError, "windows[0]"),
        (bill, None, DecodeError, "register"),  # no registers: a multi-meter bill, say
    ]
    for b, regs, error, field in cases:
        with pytest.raises(error) as ei:
            _verify(b, regs)
        assert type(ei.value) is error and field in (ei.value.field or ""), str(ei.value)
    # A register commitment that is not a group element: only a meter can sign it.
    regs = demand.bill_registers(bill.message.meters)
    assert regs is not None
    reg = regs.registers[0]
    entry = dataclasses.replace(reg.schedules[0], commitments=bytes(48) * 3)
    bad = dataclasses.replace(reg, schedules=(entry, *reg.schedules[1:]))
    key = SigningKey.generate()
    forged = DemandRegister.make(
        key, meter_id=bad.meter_id, month=bad.month, schedules=bad.schedules
    )
    cert = dataclasses.replace(regs.certificate, public_key=key.public_key())
    with pytest.raises(CommitmentError):
        _verify(bill, dataclasses.replace(regs, registers=(forged,), certificate=cert))


def test_prover_checks_register_openings(tariff: SignedTariff, march: Setup) -> None:
    regs = demand.bill_registers(
        _message(tariff, march, _period("2026-03")).meters, march.register_openings
    )
    assert regs is not None
    op = copy.deepcopy(march.register_openings[0])
    sch = op.schedules[0]
    sch.values[1], sch.values[2] = sch.values[2], sch.values[1]
    with pytest.raises(OpeningError, match="does not match the register"):
        _prove(tariff, march, "2026-03", registers=dataclasses.replace(regs, openings=(op,)))
    # A meter whose register disagrees with its readings (it signs a smaller maximum).
    reg = regs.registers[0]
    lie = copy.deepcopy(march.register_openings[0])
    lie.schedules[1].values[0] -= 1
    rs = lie.resolve(None)
    entry = dataclasses.replace(
        reg.schedules[1], commitments=pedersen.commit_bytes(lie.schedules[1].values[0], rs[1][0])
    )
    signed = DemandRegister.make(
        march.meter.key, meter_id=reg.meter_id, month=reg.month, schedules=(reg.schedules[0], entry)
    )
    with pytest.raises(OpeningError, match="readings"):
        _prove(
            tariff,
            march,
            "2026-03",
            registers=dataclasses.replace(regs, registers=(signed,), openings=(lie,)),
        )


def test_register_path_through_prove_bill_and_verify_bill(
    provider: Provider, tariff: SignedTariff, march: Setup
) -> None:
    """End to end: a bill with the meter's registers uses them instead of range proofs, and its
    total equals the cleartext bill."""
    period = _period("2026-03")
    msg = prove_bill(tariff, [march.input()], period)
    obj = cbor2.loads(msg.encode())
    windows = [w for c in obj["components"] if c["kind"] == "demand" for w in c["windows"] if w]
    assert windows and all(is_register_window(w) for w in windows)
    v = verify_bill(msg.encode(), tariff, provider.public_key)
    first, count = period.intervals(march.meter.interval_s)
    values = [march.values[first + k] for k in range(count)]
    expected = cleartext_bill(
        tariff.body, [MeterReadings(march.meter.interval_s, first, values)], period
    )
    assert v.total_fee == expected.total
    # Without the register openings the prover falls back to range proofs: same total.
    fallback = prove_bill(tariff, [march.input(register_openings=False)], period)
    assert verify_bill(fallback.encode(), tariff, provider.public_key).total_fee == v.total_fee
