"""Time-of-use energy registers: the meter's signed statements, register bills and their
verification, the per-component fallback to the readings, and the defined behaviour for a
calendar change mid-period, a missed statement and a meter replaced mid-month."""

from __future__ import annotations

import dataclasses
import json
import random
from datetime import date, timedelta
from typing import Any

import pytest

from privbill.billing import register_bill
from privbill.billing.cleartext import MeterReadings
from privbill.billing.prover import MeterInput, prove_bill
from privbill.billing.verifier import verify_bill
from privbill.crypto import group
from privbill.crypto.signatures import SigningKey
from privbill.errors import (
    CertificateError,
    CommitmentError,
    CoverageError,
    DecodeError,
    TariffMismatchError,
    UsageError,
)
from privbill.meter import Meter, MeterState
from privbill.model.bills import PaymentMessage
from privbill.model.energy_registers import (
    EnergyRegisters,
    calendar_hash_for,
    calendar_of,
    check_against_runs,
    register_config_for,
)
from privbill.model.periods import BillingPeriod, zone
from privbill.model.register_bills import RegisterBill, decode_bill
from privbill.model.sealed import SealedReadings
from privbill.model.tariffs import SignedTariff
from privbill.provider import Provider
from registers_helpers import (
    TZ,
    Recorder,
    cleartext_total,
    day_index,
    new_meter,
    other_calendar_description,
    sign,
    tou_description,
)

JAN = BillingPeriod.parse("2026-01", zone(TZ))
FEB = BillingPeriod.parse("2026-02", zone(TZ))

TIERS_BY_PERIOD: dict[str, Any] = {
    "kind": "tiered",
    "name": "on-peak tiers",
    "periods": [2, 5],
    "unit": "month",
    "tiers": [{"up_to_kwh": "60", "price": "0.02"}, {"up_to_kwh": None, "price": "0.05"}],
}
WEEKEND_DEMAND: dict[str, Any] = {
    "kind": "demand",
    "name": "weekend afternoons",
    "windows": [{"name": "afternoon", "tiers": [{"up_to_kw": None, "price_per_kw": "3.00"}]}],
    "weekday_schedule": [[None] * 24 for _ in range(12)],
    "weekend_schedule": [[None] * 14 + [0] * 2 + [None] * 8 for _ in range(12)],
    "bits": 16,
}


@pytest.fixture(scope="module")
def tou(provider: Provider) -> SignedTariff:
    return sign(provider, tou_description())


@pytest.fixture(scope="module")
def rec(provider: Provider, tou: SignedTariff) -> Recorder:
    """December 30 to February 2, hourly, with the tariff's registers from the start."""
    r = new_meter(provider, register_config_for(tou.body))
    r.record_days("2025-12-30", "2026-02-02", seed=1)
    return r


def _jan(r: Recorder) -> EnergyRegisters:
    return next(s for s in r.statements if s.period == JAN)


def _verify(bill: Any, tariff: SignedTariff, provider: Provider, **kw: Any) -> Any:
    return verify_bill(bill.encode() if not isinstance(bill, bytes) else bill, tariff,
                       provider.public_key, **kw)  # fmt: skip


# --- the meter -------------------------------------------------------------------------------


def test_meter_signs_one_statement_per_billing_period(rec: Recorder, tou: SignedTariff) -> None:
    periods = [s.period for s in rec.statements]
    assert JAN in periods and len(periods) == 2  # December (partial: the meter started then)
    st = _jan(rec)
    first, count = JAN.intervals(3600)
    assert (st.first, st.count, st.interval_s) == (first, count, 3600)
    assert st.calendar_hash == calendar_hash_for(tou.body)
    assert st.periods == (0, 1, 2)  # winter periods only
    runs = [
        r for rec_ in rec.recordings for r in rec_.runs if first <= r.seal.first < first + count
    ]
    assert (runs[0].seal.seq, runs[-1].seal.seq) == (st.seals.first_seq, st.seals.last_seq)
    assert runs[0].seal.prev == st.seals.chain_start
    assert runs[-1].seal.chain_hash() == st.seals.chain_end
    check_against_runs(st, runs, calendar_of(tou.body), TZ)  # registers = Σ sealed commitments
    dec = next(s for s in rec.statements if s.period != JAN)
    assert dec.first == day_index("2025-12-30") and dec.span_end == JAN.start
    assert dec.seals.chain_end == st.seals.chain_start  # the chain continues


def test_statement_encodes_canonically_and_round_trips(rec: Recorder) -> None:
    st = _jan(rec)
    assert EnergyRegisters.decode(st.encode()) == st
    assert len(st.encode()) < 600


def test_meter_state_keeps_the_running_registers(provider: Provider, tou: SignedTariff) -> None:
    """A meter restarted from its saved state mid-period signs the same registers as one that
    ran through (blinding factors derived from an opening key, so both commit alike)."""
    okey = Meter.new_opening_key()
    cfg = register_config_for(tou.body)
    a = new_meter(provider, cfg, opening_key=okey, meter_id="m-s")
    cert, key = a.meter.certificate, a.meter.key
    b = Recorder(Meter(cert, key, "day", TZ, opening_key=okey, energy_registers=cfg))

    def value(k: int) -> int:
        return (k * 7919) % 2500

    a.record_days("2026-01-01", "2026-02-01", value=value)
    b.record_days("2026-01-01", "2026-01-15", value=value)
    saved = b.meter.state.to_json()
    assert "energy_registers" in json.loads(saved)
    c = Recorder(Meter(cert, key, "day", TZ, opening_key=okey, state=MeterState.from_json(saved)))
    c.record_days("2026-01-15", "2026-02-01", value=value)
    (sa,), (sc,) = a.statements, c.statements
    assert sa.body() == sc.body()
    assert sa.registers == sc.registers


def test_damaged_state_is_refused(provider: Provider, tou: SignedTariff, rec: Recorder) -> None:
    state = json.loads(rec.meter.state.to_json())
    state["energy_registers"]["config"]["calendar"]["periods"] = "six"
    with pytest.raises(UsageError, match="damaged"):
        MeterState.from_json(json.dumps(state))


# --- register bills --------------------------------------------------------------------------


def test_register_bill_equals_the_per_reading_bill(
    rec: Recorder, tou: SignedTariff, provider: Provider
) -> None:
    rb = prove_bill(tou, [rec.input()], JAN, path="registers")
    pb = prove_bill(tou, [rec.input()], JAN)
    data = rb.encode()
    assert len(data) < 2048 and rb.kind == "registers" and not rb.carries_readings
    v = _verify(data, tou, provider, account="acct-1", period=JAN)
    w = _verify(pb, tou, provider)
    assert v.total_fee == w.total_fee == rb.total_fee
    assert v.total_fee == cleartext_total(tou, [rec.readings(JAN)], JAN)
    assert v.meters == w.meters  # readings, seals, chain ends: the same summary
    assert (v.path, w.path) == ("registers", "readings")
    assert v.to_json()["path"] == "registers"
    assert isinstance(decode_bill(data), RegisterBill)
    assert isinstance(decode_bill(pb.encode()), PaymentMessage)
    assert verify_bill(rb, tou, provider.public_key).total_fee == v.total_fee  # as an object


def test_auto_chooses_registers_when_the_meter_has_them(
    rec: Recorder, tou: SignedTariff, provider: Provider
) -> None:
    assert isinstance(prove_bill(tou, [rec.input()], JAN, path="auto"), RegisterBill)
    without = rec.input(statements=[])
    assert isinstance(prove_bill(tou, [without], JAN, path="auto"), PaymentMessage)
    with pytest.raises(UsageError, match="path"):
        prove_bill(tou, [rec.input()], JAN, path="fastest")  # type: ignore[call-overload]


def test_dynamic_tariffs_keep_the_per_reading_path(
    rec: Recorder, tou: SignedTariff, provider: Provider
) -> None:
    desc = tou_description()
    desc["energy"] = {
        "kind": "dynamic",
        "interval_minutes": 60,
        "start": "2026-01-01T00:00:00-07:00",
        "prices": [f"0.{5 + h % 7:02d}" for h in range(24 * 40)],
    }
    dynamic = sign(provider, desc)
    assert isinstance(prove_bill(dynamic, [rec.input()], JAN, path="auto"), PaymentMessage)
    with pytest.raises(TariffMismatchError, match="time-of-use"):
        prove_bill(dynamic, [rec.input()], JAN, path="registers")
    with pytest.raises(UsageError, match="dynamic"):
        register_config_for(dynamic.body)
    # A register bill presented under a dynamic tariff is refused by name.
    rb = prove_bill(tou, [rec.input()], JAN, path="registers")
    forged = dataclasses.replace(rb, tariff_hash=dynamic.hash())
    with pytest.raises(TariffMismatchError, match="time-of-use") as exc:
        _verify(forged, dynamic, provider)
    assert exc.value.field == "tariff_hash"


def test_tiers_by_period_and_minimum_need_only_the_registers(
    rec: Recorder, provider: Provider
) -> None:
    desc = tou_description(components=[TIERS_BY_PERIOD, {"kind": "minimum", "per_month": "500"}])
    tariff = sign(provider, desc)
    rb = prove_bill(tariff, [rec.input()], JAN, path="registers")
    assert not rb.carries_readings
    v = _verify(rb, tariff, provider)
    assert v.total_fee == cleartext_total(tariff, [rec.readings(JAN)], JAN)
    assert (
        v.total_fee == _verify(prove_bill(tariff, [rec.input()], JAN), tariff, provider).total_fee
    )


def test_components_that_need_readings_fall_back_per_component(
    rec: Recorder, provider: Provider
) -> None:
    tariff = sign(provider, tou_description(components=[TIERS_BY_PERIOD, WEEKEND_DEMAND]))
    rb = prove_bill(tariff, [rec.input()], JAN, path="registers")
    assert rb.carries_readings and rb.meters[0].readings == 744
    v = _verify(rb, tariff, provider)
    assert v.total_fee == cleartext_total(tariff, [rec.readings(JAN)], JAN)
    # Without the runs the demand proof has nothing to stand on.
    stripped = dataclasses.replace(rb, meters=(dataclasses.replace(rb.meters[0], runs=()),))
    with pytest.raises(DecodeError, match="needs the sealed readings") as exc:
        _verify(stripped, tariff, provider)
    assert exc.value.field == "components[1]"
    # Runs where no component needs them are refused too (one form per bill).
    tiers_only = sign(provider, tou_description(components=[TIERS_BY_PERIOD]))
    lean = prove_bill(tiers_only, [rec.input()], JAN, path="registers")
    padded = dataclasses.replace(
        lean, meters=(dataclasses.replace(lean.meters[0], runs=rb.meters[0].runs),)
    )
    with pytest.raises(DecodeError, match="no component needs"):
        _verify(padded, tiers_only, provider)


def test_demand_from_its_own_registers_needs_no_reading(provider: Provider) -> None:
    desc = tou_description(components=[WEEKEND_DEMAND])
    tariff = sign(provider, desc)
    from privbill.model.registers import register_schedules_for

    r = new_meter(
        provider,
        register_config_for(tariff.body),
        meter_id="m-d",
        register_schedules=register_schedules_for(tariff.body),
    )
    r.record_days("2026-01-01", "2026-02-01", seed=3)
    rb = prove_bill(tariff, [r.input()], JAN, path="registers")
    assert not rb.carries_readings and rb.meters[0].registers
    assert _verify(rb, tariff, provider).total_fee == cleartext_total(
        tariff, [r.readings(JAN)], JAN
    )


# --- a calendar change mid-period ------------------------------------------------------------


@pytest.fixture(scope="module")
def changed(provider: Provider, tou: SignedTariff) -> tuple[Recorder, SignedTariff]:
    """Reconfigured on January 15 with another calendar: January completes under the old one,
    February is kept under the new one."""
    morning = sign(provider, other_calendar_description())
    r = new_meter(provider, register_config_for(tou.body), meter_id="m-cal")
    r.record_days("2026-01-01", "2026-01-15", seed=5)
    assert r.meter.configure_energy_registers(register_config_for(morning.body)) is False
    r.record_days("2026-01-15", "2026-03-01", seed=6)
    return r, morning


def test_calendar_change_takes_effect_at_the_next_period(
    changed: tuple[Recorder, SignedTariff], tou: SignedTariff, provider: Provider
) -> None:
    r, morning = changed
    jan = next(s for s in r.statements if s.period == JAN)
    feb = next(s for s in r.statements if s.period == FEB)
    assert jan.calendar_hash == calendar_hash_for(tou.body)
    assert feb.calendar_hash == calendar_hash_for(morning.body)
    assert jan.first == JAN.start // 3600 and jan.count == 744  # the whole month, old calendar
    assert _verify(prove_bill(tou, [r.input()], JAN, path="registers"), tou, provider)
    assert _verify(prove_bill(morning, [r.input()], FEB, path="registers"), morning, provider)


def test_tariff_whose_calendar_the_meter_did_not_keep_falls_back(
    changed: tuple[Recorder, SignedTariff], tou: SignedTariff, provider: Provider
) -> None:
    r, morning = changed
    # January billed under the morning calendar: the meter kept January under the old one.
    assert isinstance(prove_bill(morning, [r.input()], JAN, path="auto"), PaymentMessage)
    with pytest.raises(TariffMismatchError, match="calendar") as exc:
        prove_bill(morning, [r.input()], JAN, path="registers")
    assert exc.value.field == "meters[0].energy_registers.calendar_hash"


# --- a missed statement ----------------------------------------------------------------------


def test_missed_statement_bills_per_reading_and_the_chain_continues(
    rec: Recorder, tou: SignedTariff, provider: Provider
) -> None:
    """January's statement never reached the household: January is billed per reading, and
    February's register bill starts where January's bill ended."""
    without_jan = [s for s in rec.statements if s.period != JAN]
    jan_bill = prove_bill(tou, [rec.input(statements=without_jan)], JAN, path="auto")
    assert isinstance(jan_bill, PaymentMessage)
    with pytest.raises(CoverageError, match="missed statement"):
        prove_bill(tou, [rec.input(statements=without_jan)], JAN, path="registers")
    r2 = new_meter(provider, register_config_for(tou.body), meter_id="m-miss")
    r2.record_days("2026-01-01", "2026-03-01", seed=8)
    feb = [s for s in r2.statements if s.period == FEB]
    jan_v = _verify(prove_bill(tou, [r2.input(statements=feb)], JAN, path="auto"), tou, provider)
    feb_v = _verify(prove_bill(tou, [r2.input()], FEB, path="auto"), tou, provider)
    assert (jan_v.path, feb_v.path) == ("readings", "registers")
    assert jan_v.meters[0].chain_end == feb_v.meters[0].chain_start


def test_meter_configured_inside_a_run_signs_no_statement(
    provider: Provider, tou: SignedTariff
) -> None:
    """Registers that began inside an open run would not cover whole seals: none is signed for
    that period; the next period has one."""
    r = new_meter(provider, None, meter_id="m-late")
    lo = day_index("2026-01-10")
    r.recordings.append(r.meter.record([(lo + k, 100) for k in range(5)], close=False))
    assert r.meter.configure_energy_registers(register_config_for(tou.body)) is True
    rest = [(k, 100) for k in range(lo + 5, day_index("2026-03-01"))]
    r.recordings.append(r.meter.record(rest))
    assert [s.period for s in r.statements] == [FEB]


# --- a meter replaced mid-month ----------------------------------------------------------------


@pytest.fixture(scope="module")
def replaced(provider: Provider, tou: SignedTariff) -> tuple[Recorder, Recorder]:
    """Meter A recorded until January 12 (its certificate ends then) and was removed; meter B,
    certified from January 12, continues."""
    swap = day_index("2026-01-12") * 3600
    cfg = register_config_for(tou.body)
    a = new_meter(provider, cfg, meter_id="m-old", valid_until=swap)
    b = new_meter(provider, cfg, meter_id="m-new", valid_from=swap)
    a.record_days("2026-01-01", "2026-01-12", seed=21)
    runs, final = a.meter.decommission()
    assert runs == [] and final is not None
    a.extra_statements.append(final)
    b.record_days("2026-01-12", "2026-02-01", seed=22)
    return a, b


def _joined(a: Recorder, b: Recorder, period: BillingPeriod) -> Any:
    first, count = period.intervals(3600)
    values = {**a.values, **b.values}
    return MeterReadings(3600, first, [values[k] for k in range(first, first + count)])


def test_replaced_meter_month_bills_from_both_meters_registers(
    replaced: tuple[Recorder, Recorder], tou: SignedTariff, provider: Provider
) -> None:
    a, b = replaced
    final = a.extra_statements[0]
    assert final.span_end == day_index("2026-01-12") * 3600 and final.first == JAN.start // 3600
    rb = prove_bill(tou, [a.input(), b.input()], JAN, path="registers")
    v = _verify(rb, tou, provider)
    assert v.total_fee == cleartext_total(tou, [_joined(a, b, JAN)], JAN)
    assert [m.readings for m in v.meters] == [11 * 24, 20 * 24]
    # The per-reading path cannot bill a meter certified for part of the period.
    with pytest.raises(CertificateError):
        prove_bill(tou, [a.input(), b.input()], JAN)
    assert isinstance(prove_bill(tou, [a.input(), b.input()], JAN, path="auto"), RegisterBill)


def test_replaced_meters_with_components(
    replaced: tuple[Recorder, Recorder], provider: Provider
) -> None:
    """Tiers by period from the registers alone; a demand charge sees the two meters' readings
    one after the other."""
    a, b = replaced
    for comps in ([TIERS_BY_PERIOD], [TIERS_BY_PERIOD, WEEKEND_DEMAND]):
        tariff = sign(provider, tou_description(components=comps))
        rb = prove_bill(tariff, [a.input(), b.input()], JAN, path="registers")
        assert rb.carries_readings == (len(comps) == 2)
        v = _verify(rb, tariff, provider)
        assert v.total_fee == cleartext_total(tariff, [_joined(a, b, JAN)], JAN)


def test_replacement_rules(
    replaced: tuple[Recorder, Recorder], tou: SignedTariff, provider: Provider
) -> None:
    a, b = replaced
    rb = prove_bill(tou, [a.input(), b.input()], JAN, path="registers")
    # Dropping the removed meter leaves January 1–11 unbilled.
    only_new = dataclasses.replace(rb, meters=rb.meters[1:])
    with pytest.raises(CoverageError, match="follow one another") as exc:
        _verify(only_new, tou, provider)
    assert exc.value.field == "meters[0].certificate"
    with pytest.raises(CoverageError):
        prove_bill(tou, [b.input()], JAN, path="registers")
    # The order of the sections does not matter, their parts do.
    swapped = prove_bill(tou, [b.input(), a.input()], JAN, path="registers")
    assert _verify(swapped, tou, provider).total_fee == rb.total_fee


def test_partial_statement_of_a_meter_certified_all_month_is_refused(
    provider: Provider, tou: SignedTariff
) -> None:
    """A meter removed on January 12 whose certificate still runs: its registers leave the rest
    of the month out, and no register bill is made from them (the cheating tests show the
    verifier refusing one)."""
    a = new_meter(provider, register_config_for(tou.body), meter_id="m-cut")
    a.record_days("2026-01-01", "2026-01-12", seed=4)
    _, final = a.meter.decommission()
    assert final is not None and final.count == 11 * 24
    with pytest.raises(CoverageError, match="not its part of the period"):
        prove_bill(tou, [a.input(statements=[final])], JAN, path="registers")
    reason = register_bill.register_path_problem(tou, [a.input(statements=[final])], JAN)
    assert reason is not None and "started or stopped" in reason


# --- the household's check -------------------------------------------------------------------


def test_household_refuses_registers_that_are_not_the_sum_of_its_readings(
    rec: Recorder, tou: SignedTariff, provider: Provider
) -> None:
    """A meter that signs a register other than the sum of its sealed readings (here: one
    reading left out of on-peak) is caught by the household's device before proving, and by
    anyone holding the sealed readings (a dispute)."""
    st = _jan(rec)
    first = st.first
    runs = [r for x in rec.recordings for r in x.runs if first <= r.seal.first < st.end]
    jan2 = runs[1]  # daily seals
    pts = group.decode_points_on_curve(jan2.commitments, jan2.seal.count)
    on_peak = st.periods.index(2)
    hour = 15  # 15:00 local on January 2 (a weekday): on-peak
    wrong = group.decode_point(st.register(on_peak)) - pts[hour]
    regs = bytearray(st.registers)
    regs[48 * on_peak : 48 * on_peak + 48] = group.encode_point(wrong)
    bad = EnergyRegisters.make(
        rec.meter.key, **{f.name: getattr(st, f.name) for f in dataclasses.fields(st)
                          if f.name not in ("registers", "signature")},
        registers=bytes(regs),
    )  # fmt: skip
    others = [s for s in rec.statements if s.period != JAN]
    with pytest.raises(CommitmentError, match="not the sum") as exc:
        prove_bill(tou, [rec.input(statements=[*others, bad])], JAN, path="registers")
    assert exc.value.field == f"meters[0].energy_registers.registers[{on_peak}]"
    with pytest.raises(CommitmentError, match="not the sum"):
        check_against_runs(bad, runs, calendar_of(tou.body), TZ)


# --- readers of payment messages ----------------------------------------------------------------


def test_sealed_readings_keep_the_statements(rec: Recorder) -> None:
    sealed = rec.sealed()
    again = SealedReadings.decode(sealed.encode())
    assert again.energy_registers == sealed.energy_registers
    assert again.energy_registers_for(JAN) == (_jan(rec),)
    plain = SealedReadings(sealed.certificate, sealed.runs)
    assert b"energy_registers" not in plain.encode()  # the format's bytes are unchanged


def test_register_path_problem_names_the_reason(rec: Recorder, tou: SignedTariff) -> None:
    assert register_bill.register_path_problem(tou, [rec.input()], JAN) is None
    reason = register_bill.register_path_problem(tou, [rec.input(statements=[])], JAN)
    assert reason is not None and "missed statement" in reason


# --- every field of a register bill ---------------------------------------------------------------


def _leaves(obj: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    if isinstance(obj, dict):
        return [p for k, v in obj.items() for p in [(*path, k), *_leaves(v, (*path, k))]]
    if isinstance(obj, list):
        return [p for i, v in enumerate(obj) for p in [(*path, i), *_leaves(v, (*path, i))]]
    return []


def _mutations(obj: dict[str, Any], path: tuple[Any, ...]) -> list[tuple[str, dict[str, Any]]]:
    import copy

    out = []
    parent_path, key = path[:-1], path[-1]

    def at(o: Any) -> Any:
        for k in parent_path:
            o = o[k]
        return o

    value = at(obj)[key]
    if isinstance(key, str):
        dropped = copy.deepcopy(obj)
        del at(dropped)[key]
        out.append(("dropped", dropped))
    else:
        dropped = copy.deepcopy(obj)
        del at(dropped)[key]
        out.append(("removed", dropped))
        doubled = copy.deepcopy(obj)
        at(doubled).insert(key, copy.deepcopy(value))
        out.append(("duplicated", doubled))
    altered = copy.deepcopy(obj)
    if isinstance(value, bool):
        at(altered)[key] = not value
    elif isinstance(value, int):
        at(altered)[key] = value + 1
    elif isinstance(value, bytes) and value:
        at(altered)[key] = value[:-1] + bytes([value[-1] ^ 1])
    elif isinstance(value, str):
        at(altered)[key] = value + "x"
    else:
        return out
    out.append(("altered", altered))
    return out


def test_every_field_altered_dropped_or_duplicated_is_refused(
    rec: Recorder, tou: SignedTariff, provider: Provider
) -> None:
    """Tamper matrix: each field of a register bill (and of its statement and certificate)
    altered, dropped, or — in lists — removed or duplicated; and a fallback bill's sections and
    first run. Every variant is refused with a typed error."""
    from privbill.errors import PrivbillError
    from privbill.model import codec

    lean = prove_bill(tou, [rec.input()], JAN, path="registers").to_obj()
    tariff = sign(provider, tou_description(components=[WEEKEND_DEMAND]))
    full = prove_bill(tariff, [rec.input()], JAN, path="registers").to_obj()
    cases = [(lean, tou, p) for p in _leaves(lean)]
    cases += [
        (full, tariff, p)
        for p in _leaves(full)
        if len(p) < 4 or p[2] != "runs" or (p[3] == 0 and len(p) < 7)
    ]
    tried, accepted = 0, []
    for obj, t, path in cases:
        for how, changed in _mutations(obj, path):
            try:
                verify_bill(codec.encode(changed), t, provider.public_key)
            except PrivbillError:
                tried += 1
            else:
                accepted.append((how, path))
    assert not accepted, accepted
    assert tried > 150


# --- disclosures and disputes work from the full sealed readings -----------------------------------


def test_disclosure_attached_to_a_register_bill(
    rec: Recorder, tou: SignedTariff, provider: Provider
) -> None:
    """A request for January's on-peak total, answered with the register bill at hand: the bill
    has no seals to refer to, so the answer carries the sealed readings and stands on its own;
    it verifies, and the disclosed total is what the meter's signed on-peak register holds."""
    from privbill import disclosure
    from privbill.disclosure.ledger import DisclosureLedger, DisclosurePolicy
    from privbill.disclosure.model import (
        Consent,
        DisclosureRequest,
        MeterRef,
        Register,
        SealedEvidence,
    )
    from privbill.disclosure.statements import Sum

    bill = prove_bill(tou, [rec.input()], JAN, path="registers").encode()
    issued = JAN.end + 3600
    req = DisclosureRequest.create(
        provider.key,
        requester="Example Power",
        purpose="billing reconciliation",
        account="acct-1",
        meters=[MeterRef("m-1", 3600)],
        period=JAN,
        timezone=TZ,
        statements=[Sum("m-1", Register(tou.hash(), 2))],
        issued_at=issued,
    )
    inp = rec.input()
    resp = disclosure.answer(
        req.encode(),
        Consent.create(req, at=issued + 60),
        [inp.sealed],
        list(inp.openings),
        provider=provider.public_key,
        ledger=DisclosureLedger(),
        policy=DisclosurePolicy(min_window_s=0, allow_open=True),
        tariffs=[tou],
        bill=bill,
        now=issued + 60,
    )
    assert isinstance(resp.meters[0], SealedEvidence) and resp.bill_hash is None
    v = disclosure.verify(
        resp.encode(), req.encode(), provider.public_key, tariffs=[tou], now=issued + 60
    )
    (result,) = v.results
    st = _jan(rec)
    first, _ = JAN.intervals(3600)
    on_peak = [
        rec.values[k]
        for k, p in zip(
            range(first, st.end),
            tou.body.energy.periods(zone(TZ), first, st.count, 3600),  # type: ignore[union-attr]
            strict=True,
        )
        if p == 2
    ]
    assert result.value == sum(on_peak)


def test_ledger_records_a_register_bill_like_a_per_reading_one(
    rec: Recorder, tou: SignedTariff
) -> None:
    from privbill.disclosure import record_bill
    from privbill.disclosure.ledger import DisclosureLedger

    a, b = DisclosureLedger(), DisclosureLedger()
    reg = record_bill(a, prove_bill(tou, [rec.input()], JAN, path="registers"), tou, at=1)
    per = record_bill(b, prove_bill(tou, [rec.input()], JAN), tou, at=1)
    assert [(e.kind, e.terms, e.what) for e in reg] == [(e.kind, e.terms, e.what) for e in per]


def test_dispute_bundle_and_the_registers_against_the_seals(
    rec: Recorder, tou: SignedTariff, provider: Provider
) -> None:
    from privbill.billing.receipts import issue_receipt
    from privbill.dispute import DisputeBundle, check_registers, verify_bundle

    bill = prove_bill(tou, [rec.input()], JAN, path="registers")
    data = bill.encode()
    v = verify_bill(data, tou, provider.public_key)
    bundle = DisputeBundle.assemble(
        data, tou, (rec.cert,), provider.public_key, issue_receipt(provider.key, v)
    )
    assert verify_bundle(DisputeBundle.decode(bundle.encode()), provider.public_key) == v
    # The household's sealed readings show each register is its period's sum.
    assert check_registers(data, tou, [rec.sealed()]) == 3
    # Seals from elsewhere do not pass for the meter's.
    other = new_meter(provider, register_config_for(tou.body), meter_id="m-1")
    other.record_days("2026-01-01", "2026-02-01", seed=99)
    with pytest.raises(CoverageError, match="under the bill's certificate"):
        check_registers(data, tou, [other.sealed()])
    with pytest.raises(DecodeError, match="not a register bill"):
        check_registers(prove_bill(tou, [rec.input()], JAN).encode(), tou, [rec.sealed()])


# --- random tariffs ----------------------------------------------------------------------------


@pytest.mark.parametrize("seed", range(12))
def test_register_bill_equals_the_cleartext_bill_on_random_tariffs(
    provider: Provider, seed: int
) -> None:
    """Random time-of-use calendars (1–8 periods; zero and negative prices; random weekday,
    weekend and holiday tables; several timezones), random per-period tiers and fixed charges,
    periods of one to five days in cycles of their length, hourly or quarter-hour meters: the
    register bill verifies to the per-reading bill's total and to the cleartext bill."""
    rng = random.Random(seed)
    zone_name = rng.choice(["UTC", "America/Denver", "Europe/Berlin", "Australia/Sydney"])
    k = rng.randrange(1, 9)
    prices = [
        "0" if rng.random() < 0.15 else f"{rng.randrange(-30, 80) / 100:.2f}" for _ in range(k)
    ]
    table = [[rng.randrange(k) for _ in range(24)] for _ in range(12)]
    weekend = [[rng.randrange(k) for _ in range(24)] for _ in range(12)]
    start = rng.choice(["2026-03-07", "2026-03-28", "2026-10-03", "2026-06-12", "2026-01-01"])
    days = rng.randrange(1, 6)
    components: list[dict[str, Any]] = []
    if rng.random() < 0.5:
        components.append(
            {
                "kind": "tiered",
                "name": "tiers",
                "periods": sorted(rng.sample(range(k), rng.randrange(1, k + 1))),
                "unit": "day",
                "tiers": [
                    {"up_to_kwh": "3", "price": f"0.{rng.randrange(10, 40)}"},
                    {"up_to_kwh": None, "price": f"0.{rng.randrange(1, 40):02d}"},
                ],
            }
        )
    desc = {
        "name": f"random {seed}",
        "currency": "EUR",
        "timezone": zone_name,
        "valid_from": "2026-01-01",
        "valid_until": "2027-01-01",
        "energy": {
            "kind": "time-of-use",
            "periods": [{"name": f"p{j}", "price": p} for j, p in enumerate(prices)],
            "weekday_schedule": table,
            "weekend_schedule": weekend,
            "holidays": sorted({f"2026-{rng.randrange(1, 13):02d}-{rng.randrange(1, 29):02d}"
                                for _ in range(3)}),
        },
        "fixed": {"per_day": f"0.{rng.randrange(0, 99):02d}"},
        "components": components,
        "billing_cycle": {"every_days": days, "starting": start},
    }  # fmt: skip
    tariff = sign(provider, desc)
    tz = zone(zone_name)
    first_day = date.fromisoformat(start)
    period = BillingPeriod.for_dates(first_day, first_day + timedelta(days=days), tz)
    interval = rng.choice([900, 3600])
    key = SigningKey.generate()
    cert = provider.certify_meter(f"r{seed}", "acct-r", key.public_key(), interval_s=interval)
    meter = Meter(cert, key, "day", zone_name, energy_registers=register_config_for(tariff.body))
    first, count = period.intervals(interval)
    values = [rng.randrange(0, 3000) for _ in range(count)]
    rec_ = meter.record([(first + i, v) for i, v in enumerate(values)])
    sealed = SealedReadings(cert, tuple(rec_.runs), (), tuple(rec_.energy_registers))
    inp = MeterInput(sealed, [rec_.openings])
    rb = prove_bill(tariff, [inp], period, path="registers")
    assert not rb.carries_readings
    total = verify_bill(rb.encode(), tariff, provider.public_key).total_fee
    per_reading = verify_bill(prove_bill(tariff, [inp], period).encode(), tariff,
                              provider.public_key).total_fee  # fmt: skip
    assert (
        total
        == per_reading
        == cleartext_total(tariff, [MeterReadings(interval, first, values)], period)
    )


@pytest.mark.parametrize("path", ["registers", "readings"])
def test_both_payment_messages_bound_the_period_alike(
    rec: Recorder, tou: SignedTariff, provider: Provider, path: str
) -> None:
    """A period end beyond the last representable time (or before its start) is refused when
    the message is decoded, by the same rule for either format, naming ``period.end``."""
    import copy

    from privbill.errors import DecodeError
    from privbill.model import codec

    obj = prove_bill(tou, [rec.input()], JAN, path=path).to_obj()
    for end in (codec.MAX_TIME + 1, 2**62, obj["period"]["start"]):
        changed = copy.deepcopy(obj)
        changed["period"]["end"] = end
        with pytest.raises(DecodeError) as ei:
            decode_bill(codec.encode(changed))
        assert ei.value.field == "period.end"
