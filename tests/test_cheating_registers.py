"""Cheating with energy registers: a customer who holds every reading, blinding factor and
genuine meter-signed statement, and assembles register bills that bill less.

Each forgery is a register bill built the way :func:`privbill.billing.register_bill.prove`
builds one — the fee and blinding computed from the openings of the statements the cheater
chose — so that the only thing wrong is the cheat itself: registers kept under another calendar,
for another period or by another meter; registers edited after signing; a statement covering
part of the period; a replaced meter left out; a bill replayed for another period or account;
runs from another seal chain; the total moved; a tier split forged on the registers' amount.
Every one must be refused with a typed error naming the field at fault.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import pytest

from cheaters import forge_parts, refused, shift_total
from privbill.billing import register_bill
from privbill.billing import tiers as tier_proofs
from privbill.billing.prover import prove_bill
from privbill.billing.verifier import verify_bill
from privbill.crypto import group, pedersen
from privbill.errors import (
    CertificateError,
    ComponentProofError,
    CoverageError,
    FeeMismatchError,
    SealChainError,
    SignatureError,
    TariffMismatchError,
)
from privbill.meter import Meter
from privbill.model.energy_registers import EnergyRegisters, register_config_for
from privbill.model.periods import BillingPeriod, zone
from privbill.model.register_bills import RegisterBill, RegisterSection
from privbill.model.tariffs import SignedTariff
from privbill.provider import Provider
from registers_helpers import (
    TZ,
    Recorder,
    day_index,
    new_meter,
    other_calendar_description,
    sign,
    tou_description,
)

JAN = BillingPeriod.parse("2026-01", zone(TZ))
FEB = BillingPeriod.parse("2026-02", zone(TZ))
_Q = group.ORDER


def evening_heavy(k: int) -> int:
    """High consumption 15:00–19:00 local (the tariff's on-peak), low otherwise."""
    hour = datetime.fromtimestamp(k * 3600, zone(TZ)).hour
    return 3000 + k % 7 if 15 <= hour < 19 else 300 + k % 5


def quiet(k: int) -> int:
    return 40 + k % 3


@pytest.fixture(scope="module")
def tou(provider: Provider) -> SignedTariff:
    return sign(provider, tou_description())


@pytest.fixture(scope="module")
def home(provider: Provider, tou: SignedTariff) -> Recorder:
    """The cheater's meter: an evening-heavy January, a quiet February."""
    r = new_meter(provider, register_config_for(tou.body), meter_id="home")
    r.record_days("2026-01-01", "2026-02-01", value=evening_heavy)
    r.record_days("2026-02-01", "2026-03-01", value=quiet)
    return r


@pytest.fixture(scope="module")
def honest(home: Recorder, tou: SignedTariff) -> RegisterBill:
    return prove_bill(tou, [home.input()], JAN, path="registers")


def _openings(r: Recorder) -> tuple[dict[int, int], dict[int, int]]:
    values: dict[int, int] = {}
    blindings: dict[int, int] = {}
    for rec in r.recordings:
        o = rec.openings
        rs = o.resolve(r.meter.opening_key)
        for j, v in enumerate(o.values):
            values[o.first + j] = v
            blindings[o.first + j] = rs[j]
    return values, blindings


def forge(
    tariff: SignedTariff,
    period: BillingPeriod,
    sections: Sequence[tuple[Recorder, EnergyRegisters]],
    *,
    account: str = "acct-1",
    calendar_of: SignedTariff | None = None,
) -> RegisterBill:
    """A register bill for ``period`` from the chosen statements, with the fee and blinding the
    statements' registers open to under ``tariff``'s prices (periods as the meter sorted them,
    under ``calendar_of``'s calendar, by default the tariff's)."""
    body = tariff.body
    cal = (calendar_of or tariff).body.energy
    prices = body.energy.period_prices  # type: ignore[union-attr]
    fee, blinding = 0, 0
    out = []
    for r, st in sections:
        values, blindings = _openings(r)
        idx = cal.periods(zone(TZ), st.first, st.count, st.interval_s)  # type: ignore[union-attr]
        for k, i in zip(idx, range(st.first, st.end), strict=True):
            fee += prices[k] * values[i]
            blinding += prices[k] * blindings[i]
        out.append(RegisterSection(r.meter.certificate, st))
    return RegisterBill(
        account=account,
        period=period,
        tariff_hash=tariff.hash(),
        meters=tuple(out),
        total_fee=fee + body.fixed_charges(period),
        blinding=blinding % _Q,
        components=(),
    )


def _statement(r: Recorder, period: BillingPeriod) -> EnergyRegisters:
    return next(s for s in r.statements if s.period == period)


def _refuse(
    honest_total: int,
    forged: RegisterBill,
    tariff: SignedTariff,
    provider: Provider,
    error: Any,
    field: str,
    **kw: Any,
) -> None:
    assert forged.total_fee < honest_total, (forged.total_fee, honest_total)
    refused(
        "registers",
        lambda: verify_bill(forged.encode(), tariff, provider.public_key, **kw),
        error,
        level="bill",
        field=field,
    )


def test_forge_reproduces_the_honest_bill(
    home: Recorder, honest: RegisterBill, tou: SignedTariff, provider: Provider
) -> None:
    """The forging routine is sound: with the honest statement it makes the honest bill."""
    again = forge(tou, JAN, [(home, _statement(home, JAN))])
    assert again.total_fee == honest.total_fee and again.blinding == honest.blinding
    assert verify_bill(again.encode(), tou, provider.public_key).total_fee == honest.total_fee


def test_registers_from_another_calendar(
    provider: Provider, tou: SignedTariff, honest: RegisterBill
) -> None:
    """A meter that kept its registers under a morning-peak calendar (genuinely signed) puts
    the evening's consumption off-peak."""
    morning = sign(provider, other_calendar_description())
    r = new_meter(provider, register_config_for(morning.body), meter_id="home")
    r.record_days("2026-01-01", "2026-02-01", value=evening_heavy)
    forged = forge(tou, JAN, [(r, _statement(r, JAN))], calendar_of=morning)
    _refuse(
        honest.total_fee,
        forged,
        tou,
        provider,
        TariffMismatchError,
        r"meters\[0\]\.energy_registers\.calendar_hash",
    )


def test_registers_of_another_period(
    home: Recorder, tou: SignedTariff, honest: RegisterBill, provider: Provider
) -> None:
    """February's (quiet) registers presented for January."""
    forged = forge(tou, JAN, [(home, _statement(home, FEB))])
    _refuse(
        honest.total_fee,
        forged,
        tou,
        provider,
        CoverageError,
        r"meters\[0\]\.energy_registers\.period",
    )


def test_registers_of_another_meter(
    home: Recorder, tou: SignedTariff, honest: RegisterBill, provider: Provider
) -> None:
    """A quiet neighbour's genuine registers under the cheater's certificate; and relabelled
    with the cheater's meter id."""
    other = new_meter(provider, register_config_for(tou.body), meter_id="shed")
    other.record_days("2026-01-01", "2026-02-01", value=quiet)
    st = _statement(other, JAN)
    cheap = forge(tou, JAN, [(other, st)])
    as_home = dataclasses.replace(cheap, meters=(RegisterSection(home.meter.certificate, st),))
    _refuse(
        honest.total_fee,
        as_home,
        tou,
        provider,
        CertificateError,
        r"meters\[0\]\.energy_registers\.meter_id",
    )
    relabelled = dataclasses.replace(st, meter_id="home")
    forged = dataclasses.replace(
        cheap, meters=(RegisterSection(home.meter.certificate, relabelled),)
    )
    _refuse(
        honest.total_fee,
        forged,
        tou,
        provider,
        SignatureError,
        r"meters\[0\]\.energy_registers\.signature",
    )


def test_registers_edited_after_signing(
    home: Recorder, tou: SignedTariff, honest: RegisterBill, provider: Provider
) -> None:
    """The on-peak register moved down by a day of on-peak readings, the opening adjusted; or
    on-peak relabelled off-peak (the period list swapped)."""
    st = _statement(home, JAN)
    values, blindings = _openings(home)
    pos = st.periods.index(2)
    jan2 = day_index("2026-01-02")
    peak = [jan2 + h for h in range(15, 19)]
    moved = sum(values[i] for i in peak)
    rmoved = sum(blindings[i] for i in peak)
    reg = group.decode_point(st.register(pos)) - pedersen.commit(moved, rmoved)
    regs = bytearray(st.registers)
    regs[48 * pos : 48 * pos + 48] = group.encode_point(reg)
    edited = dataclasses.replace(st, registers=bytes(regs))
    price = tou.body.energy.period_prices[2]  # type: ignore[union-attr]
    forged = dataclasses.replace(
        forge(tou, JAN, [(home, st)]),
        meters=(RegisterSection(home.meter.certificate, edited),),
    )
    forged = shift_total(forged, -price * moved, -price * rmoved)  # type: ignore[arg-type]
    _refuse(
        honest.total_fee,
        forged,
        tou,
        provider,
        SignatureError,
        r"meters\[0\]\.energy_registers\.signature",
    )


def test_partial_registers_of_a_meter_certified_all_month(
    provider: Provider, tou: SignedTariff
) -> None:
    """The meter was decommissioned on January 12 but its certificate runs on (the meter kept
    recording afterwards somewhere): registers for part of the month bill less."""
    r = new_meter(provider, register_config_for(tou.body), meter_id="cut")
    r.record_days("2026-01-01", "2026-01-12", value=evening_heavy)
    _, partial = r.meter.decommission()
    assert partial is not None
    r.record_days("2026-01-12", "2026-02-01", value=evening_heavy)
    honest = prove_bill(tou, [r.input()], JAN, path="auto")
    forged = forge(tou, JAN, [(r, partial)])
    _refuse(
        honest.total_fee,
        forged,
        tou,
        provider,
        CoverageError,
        r"meters\[0\]\.energy_registers\.count",
    )


def test_replaced_meter_left_out(provider: Provider, tou: SignedTariff) -> None:
    """After a replacement on January 12, the bill names only the new meter."""
    swap = day_index("2026-01-12") * 3600
    cfg = register_config_for(tou.body)
    a = new_meter(provider, cfg, meter_id="old", valid_until=swap)
    b = new_meter(provider, cfg, meter_id="new", valid_from=swap)
    a.record_days("2026-01-01", "2026-01-12", value=evening_heavy)
    _, final = a.meter.decommission()
    assert final is not None
    a.extra_statements.append(final)
    b.record_days("2026-01-12", "2026-02-01", value=evening_heavy)
    honest = prove_bill(tou, [a.input(), b.input()], JAN, path="registers")
    assert verify_bill(honest.encode(), tou, provider.public_key).total_fee == honest.total_fee
    forged = forge(tou, JAN, [(b, _statement(b, JAN))])
    _refuse(honest.total_fee, forged, tou, provider, CoverageError, r"meters\[0\]\.certificate")


def test_bill_replayed_for_another_period_or_account(
    home: Recorder, tou: SignedTariff, provider: Provider
) -> None:
    """The quiet February bill submitted when January is due; moved to January; and a
    neighbour's bill presented for the cheater's account."""
    feb = prove_bill(tou, [home.input()], FEB, path="registers")
    jan = prove_bill(tou, [home.input()], JAN, path="registers")
    _refuse(jan.total_fee, feb, tou, provider, CoverageError, "period", period=JAN)
    moved = dataclasses.replace(feb, period=JAN)
    _refuse(
        jan.total_fee,
        moved,
        tou,
        provider,
        CoverageError,
        r"meters\[0\]\.energy_registers\.period",
    )
    other = new_meter(provider, register_config_for(tou.body), meter_id="nb", account="acct-2")
    other.record_days("2026-01-01", "2026-02-01", value=quiet)
    theirs = prove_bill(tou, [other.input()], JAN, path="registers")
    as_mine = dataclasses.replace(theirs, account="acct-1")
    _refuse(
        jan.total_fee,
        as_mine,
        tou,
        provider,
        CertificateError,
        r"meters\[0\]\.certificate\.account",
    )
    _refuse(jan.total_fee, theirs, tou, provider, CertificateError, "account", account="acct-1")


@pytest.mark.parametrize(
    ("delta", "shift"), [(-1, 0), (-(10**9), 0), (-(10**12), 1), (-5, _Q - 1), (-(10**6), 12345)]
)
def test_total_moved_down(
    honest: RegisterBill, tou: SignedTariff, provider: Provider, delta: int, shift: int
) -> None:
    forged = shift_total(honest, delta, shift)  # type: ignore[arg-type]
    _refuse(honest.total_fee, forged, tou, provider, FeeMismatchError, "total_fee")  # type: ignore[arg-type]


def test_runs_from_another_chain(provider: Provider, tou: SignedTariff) -> None:
    """A demand charge needs the readings: the cheater pairs the genuine statement with runs of
    a second, forked chain of the same meter whose January peaks are lower."""
    weekend = {
        "kind": "demand",
        "name": "weekend afternoons",
        "windows": [{"name": "pm", "tiers": [{"up_to_kw": None, "price_per_kw": "30.00"}]}],
        "weekday_schedule": [[None] * 24 for _ in range(12)],
        "weekend_schedule": [[None] * 14 + [0] * 2 + [None] * 8 for _ in range(12)],
        "bits": 16,
    }
    tariff = sign(provider, tou_description(components=[weekend]))
    okey = Meter.new_opening_key()
    r = new_meter(provider, register_config_for(tariff.body), meter_id="fork", opening_key=okey)
    r.record_days("2026-01-01", "2026-02-01", value=evening_heavy)
    honest = prove_bill(tariff, [r.input()], JAN, path="registers")
    fork = Recorder(
        Meter(
            r.meter.certificate,
            r.meter.key,
            "day",
            TZ,
            opening_key=okey,
            energy_registers=register_config_for(tariff.body),
        )
    )
    fork.record_days("2026-01-01", "2026-02-01", value=quiet)
    forked = prove_bill(tariff, [fork.input()], JAN, path="registers")
    genuine = honest.meters[0].statement
    mixed = dataclasses.replace(
        forked,
        meters=(dataclasses.replace(forked.meters[0], statement=genuine),),
    )
    # The forked chain's seals have the same numbers but other hashes.
    assert forked.meters[0].runs[0].seal.seq == genuine.seals.first_seq
    _refuse(
        honest.total_fee,
        mixed,
        tariff,
        provider,
        SealChainError,
        r"meters\[0\]\.energy_registers\.seals\.(chain_start|chain_end)",
    )


def test_tier_split_forged_on_the_registers_amount(
    home: Recorder, provider: Provider, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Declining on-peak tiers: the cheater puts the whole on-peak amount in the cheap second
    tier (the first left short), with a false order proof."""
    tiered = {
        "kind": "tiered",
        "name": "declining on-peak",
        "periods": [2],
        "unit": "month",
        "tiers": [{"up_to_kwh": "100", "price": "0.30"}, {"up_to_kwh": None, "price": "0.01"}],
    }
    tariff = sign(provider, tou_description(components=[tiered]))
    honest = prove_bill(tariff, [home.input()], JAN, path="registers")
    assert verify_bill(honest.encode(), tariff, provider.public_key).total_fee == honest.total_fee
    real_prove = tier_proofs.prove

    def cheating(
        tiers: Any, amount: int, blinding: int, scale: int, context: bytes
    ) -> tuple[Any, int, int]:
        parts = [0, amount]  # tier 1 (0.30) left empty
        rs = [group.random_scalar(), 0]
        rs[1] = (blinding - rs[0]) % _Q
        proof = forge_parts(tiers, parts, blinding, scale, context, part_blindings=rs)
        fee = sum(t.price * v for t, v in zip(tiers, parts, strict=True))
        fb = sum(t.price * r for t, r in zip(tiers, rs, strict=True)) % _Q
        return proof, fee, fb

    monkeypatch.setattr(tier_proofs, "prove", cheating)
    forged = register_bill.prove(tariff, [home.input()], JAN)
    monkeypatch.setattr(tier_proofs, "prove", real_prove)
    _refuse(
        honest.total_fee,
        forged,
        tariff,
        provider,
        ComponentProofError,
        r"components\[0\]\.tiers\.order\[0\]",
    )
