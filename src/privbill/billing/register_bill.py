"""Bills from meter-certified time-of-use energy registers.

Statement. For each meter, the meter signed registers ``R_k = Σ_{i in period k} C_i`` over the
intervals the meter had in the billing period (``model/energy_registers.py``); the bill's fee
is committed by ``Σ_m Σ_k p_k·R^m_k = F·G + R·H`` with ``p_k`` the tariff's price of period
``k``, ``F = Σ p_k·V_k`` and ``R = Σ p_k·ρ_k mod q``, where ``V_k`` and ``ρ_k`` are the sums of
the period's readings and blinding factors: exactly the per-reading path's ``F`` and ``R``
(``billing/energy.py``), with the additions done by the meter. The verifier checks one meter
signature per meter and one small multi-scalar multiplication, instead of decoding thousands of
commitments.

Per component. Tiers on the period's consumption (all periods, or some time-of-use periods)
commit to their amount by the sum of the registers of the counted periods — the same point as
the sum of the readings' commitments, so the proof is the per-reading one. A minimum bill needs
only the total. A demand charge whose every charged window is proven from the meter's
maximum-demand registers needs no reading either. Every other component (demand by range
proof, hours-use, block, polynomial, lookup) needs the readings: the bill then carries each
meter's sealed runs over its registers' intervals, checked as in a per-reading bill and bound to
the registers by the seal chain, and those components are proven and verified exactly as today.

A meter replaced during the period. Each meter's part of the period is the period within its
certificate's validity; its registers must cover exactly that part. Meters whose part is less
than the whole period must together tile it, one after another (the meter removed, then its
replacement), so that no part of the period goes unbilled. For components that need readings,
such a succession of meters counts as one meter whose readings follow one another.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass

from privbill.billing import components, coverage, energy
from privbill.billing.demand import MeterRegisters
from privbill.billing.load_range import meter_bound
from privbill.billing.prover import MeterInput, _collect, account_of, check_openings
from privbill.billing.verified import MeterSummary, VerifiedBill
from privbill.crypto import group
from privbill.crypto.group import Point
from privbill.crypto.signatures import VerifyingKey
from privbill.errors import (
    CertificateError,
    CommitmentError,
    CoverageError,
    DecodeError,
    FeeMismatchError,
    OpeningError,
    SealChainError,
    TariffMismatchError,
    UsageError,
)
from privbill.model import codec, money
from privbill.model.bills import OBJ
from privbill.model.certificates import MeterCertificate
from privbill.model.component_proofs import ComponentProof, DemandProof, RegisterWindowProof
from privbill.model.components import Minimum, TieredEnergy
from privbill.model.energy_registers import EnergyRegisters, calendar_hash_for, periods_in
from privbill.model.periods import BillingPeriod, interval_time, local_time
from privbill.model.register_bills import RegisterBill, RegisterSection
from privbill.model.seals import SealedRun
from privbill.model.tariffs import SignedTariff, TariffBody, TimeOfUse

STATEMENT_OBJ = "energy registers"


# --- shared rules --------------------------------------------------------------------------------


def meter_span(cert: MeterCertificate, period: BillingPeriod, path: str) -> tuple[int, int]:
    """``(first interval, count)`` of the meter's part of the period: the period within the
    certificate's validity."""
    lo, hi = max(period.start, cert.valid_from), min(period.end, cert.valid_until)
    if lo >= hi:
        raise CertificateError(
            f"the certificate of meter {cert.meter_id!r} is not valid in any part of the billing "
            "period",
            obj=OBJ,
            field=f"{path}.certificate.valid_from",
        )
    step = cert.interval_s
    if lo % step or hi % step:
        raise CoverageError(
            f"the part of the period meter {cert.meter_id!r} is certified for does not start and "
            f"end at its {step}-second intervals",
            obj=OBJ,
            field=f"{path}.certificate",
        )
    return lo // step, (hi - lo) // step


def check_tiling(
    parts: Sequence[tuple[int, int]], period: BillingPeriod, tz_label: object = None
) -> list[int]:
    """Positions of the meters whose part (``(start, end)`` in UTC seconds) is less than the
    whole period, in time order; raise :class:`CoverageError` unless they tile the period."""
    partial = sorted(
        (p for p, (a, b) in enumerate(parts) if (a, b) != (period.start, period.end)),
        key=lambda p: parts[p][0],
    )
    if not partial:
        return partial
    expected = period.start
    for p in partial:
        a, b = parts[p]
        if a != expected:
            what = (
                "no meter of the bill is certified"
                if a > expected
                else "two meters of the bill are certified"
            )
            raise CoverageError(
                f"meters replaced during the period must follow one another: {what} from "
                f"{expected} until {a} (UTC seconds)",
                obj=OBJ,
                field=f"meters[{p}].certificate",
            )
        expected = b
    if expected != period.end:
        raise CoverageError(
            "meters replaced during the period must follow one another until its end: no meter "
            f"of the bill is certified from {expected} (UTC seconds)",
            obj=OBJ,
            field=f"meters[{partial[-1]}].certificate",
        )
    return partial


def combine(
    meters: Sequence[components.MeterData], partial: Sequence[int]
) -> list[components.MeterData]:
    """What components see: each meter certified for the whole period on its own, and the
    meters that replaced one another (``partial``, in time order) as one meter whose readings
    follow one another, at the position of the first of them in the bill."""
    if not partial:
        return list(meters)
    chain = [meters[p] for p in partial]
    if len({m.interval_s for m in chain}) != 1 or len({m.attribute_names for m in chain}) != 1:
        raise TariffMismatchError(
            "meters that replaced one another during the period have different interval "
            "lengths or attributes: components that need readings cannot join them",
            obj="tariff",
            field="components",
        )
    joined = components.MeterData(
        "+".join(m.meter_id for m in chain),
        chain[0].interval_s,
        chain[0].attribute_names,
        [p for m in chain for p in m.points],
        [p for m in chain for p in m.attribute_points],
        [v for m in chain for v in m.values],
        [b for m in chain for b in m.blindings],
        [v for m in chain for v in m.attribute_values],
        [b for m in chain for b in m.attribute_blindings],
        # one meter of the chain at a time: the largest of their bounds, if all have one
        max_wh=None if any(m.max_wh is None for m in chain) else max(m.max_wh or 0 for m in chain),
    )
    out: list[components.MeterData] = []
    first = min(partial)
    for p, m in enumerate(meters):
        if p == first:
            out.append(joined)
        elif p not in partial:
            out.append(m)
    return out


def needs_readings(body: TariffBody, proofs: Sequence[ComponentProof]) -> int | None:
    """Position of the first component whose proof needs the individual readings, or
    ``None``: tiers and the minimum bill never do; a demand charge does unless every charged
    window is proven from a maximum-demand register."""
    for i, (c, p) in enumerate(zip(body.components, proofs, strict=False)):
        if c.kind == p.kind and components.billing(c.kind).needs_readings(c, p):
            return i
    return None


def check_chain(
    statement: EnergyRegisters, runs: Sequence[SealedRun], path: str, obj: str = OBJ
) -> None:
    """The runs are the ones the statement says cover its intervals: same first and last
    sequence numbers, and the chain hashes at both ends (:class:`SealChainError`)."""
    s = statement.seals
    first, last = runs[0].seal, runs[-1].seal
    where = f"{path}.energy_registers.seals"
    if first.seq != s.first_seq or first.prev != s.chain_start:
        raise SealChainError(
            "the first sealed run is not the one the energy registers start from",
            obj=obj,
            field=f"{where}.first_seq" if first.seq != s.first_seq else f"{where}.chain_start",
        )
    if last.seq != s.last_seq or last.chain_hash() != s.chain_end:
        raise SealChainError(
            "the last sealed run is not the one the energy registers end with",
            obj=obj,
            field=f"{where}.last_seq" if last.seq != s.last_seq else f"{where}.chain_end",
        )


def _calendar_hash(body: TariffBody) -> bytes:
    h = calendar_hash_for(body)
    if h is None:
        raise TariffMismatchError(
            "a register bill needs a time-of-use tariff: dynamic prices have no calendar, and "
            "their bills are made per reading",
            obj=OBJ,
            field="tariff_hash",
        )
    return h


def _covering(runs: Sequence[SealedRun], first: int, count: int) -> tuple[SealedRun, ...]:
    return tuple(r for r in runs if r.seal.first < first + count and r.seal.end > first)


# --- the prover ----------------------------------------------------------------------------------


def statement_for(
    inp: MeterInput, period: BillingPeriod, first: int, count: int, path: str
) -> EnergyRegisters:
    """The meter's statement for ``period`` that covers exactly its part of it."""
    cert = inp.sealed.certificate
    found = inp.sealed.energy_registers_for(period)
    for st in found:
        if st.first == first and st.count == count:
            return st
    if not found:
        raise CoverageError(
            f"meter {cert.meter_id!r} signed no energy registers for this billing period (a "
            "missed statement): bill it per reading",
            obj="sealed readings",
            field=f"{path}.energy_registers",
        )
    raise CoverageError(
        f"the energy registers of meter {cert.meter_id!r} for this billing period cover "
        f"intervals {found[0].first}..{found[0].end - 1}, not its part of the period, "
        f"{first}..{first + count - 1} (the meter started or stopped inside the period): "
        "bill it per reading",
        obj="sealed readings",
        field=f"{path}.energy_registers",
    )


@dataclass(slots=True)
class _Prepared:
    section: RegisterSection
    data: components.MeterData
    part: tuple[int, int]
    fee: int
    blinding: int


def _prepare(
    inp: MeterInput,
    body: TariffBody,
    per: BillingPeriod,
    calendar_hash: bytes,
    account: str,
    path: str,
) -> _Prepared:
    """Everything the household's device checks of one meter before it proves: certificate,
    statement, seals, openings, and that each register is the sum of its period's sealed
    readings; and the meter's share of the energy fee and its blinding."""
    cert = inp.sealed.certificate
    tz = body.tz
    if cert.account != account:
        raise CertificateError(
            f"meter {cert.meter_id!r} belongs to account {cert.account!r}",
            obj="meter certificate",
            field="account",
        )
    first, count = meter_span(cert, per, path)
    statement = statement_for(inp, per, first, count, path)
    statement.check(cert, per, calendar_hash, f"{path}.energy_registers", "sealed readings")
    runs = _covering(inp.sealed.runs, first, count)
    if not runs:
        raise CoverageError(
            f"meter {cert.meter_id!r} has no sealed readings for its part of the period",
            obj="sealed readings",
            field=f"{path}.runs",
        )
    k_attr = len(cert.attributes)
    sealed = coverage.check_evidence(
        cert, runs, first, count, path=path, obj="sealed readings", tz=tz, attributes=True
    )
    check_chain(statement, runs, path, "sealed readings")
    values, blindings, avalues, ablindings = _collect(inp, first, count, k_attr, tz)
    points = sealed.points
    bad = check_openings(points, values, blindings)
    if bad is not None:
        raise OpeningError(
            f"opening of meter {cert.meter_id!r} at "
            f"{interval_time(first + bad, cert.interval_s, tz)} does not match its sealed "
            "commitment",
            obj="openings",
            field="values",
        )
    apoints = sealed.attributes
    if k_attr:
        bad = check_openings(apoints, avalues, ablindings)
        if bad is not None:
            raise OpeningError(
                f"an attribute of meter {cert.meter_id!r} at "
                f"{interval_time(first + bad // k_attr, cert.interval_s, tz)} does not match "
                "its sealed commitment",
                obj="openings",
                field="attribute_values",
            )
    # The registers must be what the sealed readings add up to, period by period.
    energy_prices = body.energy
    assert isinstance(energy_prices, TimeOfUse)
    idx = energy_prices.periods(tz, first, count, cert.interval_s)
    sums: dict[int, list[Point]] = {}
    value_sums: dict[int, int] = {}
    blind_sums: dict[int, int] = {}
    for k, pt, v, r in zip(idx, points, values, blindings, strict=True):
        sums.setdefault(k, []).append(pt)
        value_sums[k] = value_sums.get(k, 0) + v
        blind_sums[k] = blind_sums.get(k, 0) + r
    if tuple(sorted(sums)) != statement.periods:
        raise CommitmentError(
            f"the energy registers of meter {cert.meter_id!r} list periods "
            f"{list(statement.periods)}, its sealed readings have intervals in {sorted(sums)}",
            obj="energy registers",
            field=f"{path}.energy_registers.periods",
        )
    for pos, k in enumerate(statement.periods):
        if group.encode_point(group.point_sum(sums[k])) != statement.register(pos):
            raise CommitmentError(
                f"the energy register of meter {cert.meter_id!r} for period "
                f"{energy_prices.period_names[k]!r} is not the sum of that period's sealed "
                "readings: the meter's registers contradict its seals",
                obj="energy registers",
                field=f"{path}.energy_registers.registers[{pos}]",
            )
    prices = energy_prices.period_prices
    fee = sum(prices[k] * value_sums[k] for k in statement.periods)
    blinding = sum(prices[k] * blind_sums[k] for k in statement.periods) % group.ORDER
    demand_registers = tuple(r for r in inp.sealed.registers if r.month == per)
    return _Prepared(
        RegisterSection(cert, statement, tuple(runs), demand_registers),
        components.MeterData(
            cert.meter_id,
            cert.interval_s,
            cert.attributes,
            points,
            apoints,
            values,
            blindings,
            avalues,
            ablindings,
            max_wh=meter_bound(cert),
        ),
        (first * cert.interval_s, (first + count) * cert.interval_s),
        fee,
        blinding,
    )


def prove(
    tariff: SignedTariff,
    meters: Sequence[MeterInput],
    period: BillingPeriod | str,
    *,
    account: str | None = None,
) -> RegisterBill:
    """A register bill for ``period``, from each meter's energy-register statement for it and
    the readings' openings (which the household holds and checks: the registers must equal the
    sums of the sealed readings). Raises a typed error naming what is missing or wrong — a
    missed statement is a :class:`CoverageError`."""
    if not meters:
        raise UsageError("a bill needs at least one meter")
    body = tariff.body
    per = BillingPeriod.parse(period, body.tz) if isinstance(period, str) else period
    body.check_period(per)
    calendar_hash = _calendar_hash(body)
    account = account_of(meters, account)
    prepared = [
        _prepare(inp, body, per, calendar_hash, account, f"meters[{m}]")
        for m, inp in enumerate(meters)
    ]
    partial = check_tiling([p.part for p in prepared], per)
    fee = sum(p.fee for p in prepared)
    blinding = sum(p.blinding for p in prepared) % group.ORDER
    subtotal = fee + body.fixed_charges(per)
    proofs: list[ComponentProof] = []
    if body.components:
        ids = [p.section.certificate.meter_id for p in prepared]
        contexts = [
            components.context(tariff.hash(), account, per, ids, i)
            for i in range(len(body.components))
        ]
        regs = None
        if len(prepared) == 1 and prepared[0].section.registers:
            s = prepared[0].section
            regs = MeterRegisters(
                s.certificate,
                s.registers,
                tuple(meters[0].register_openings),
                meters[0].opening_key,
            )
        proofs, subtotal, blinding = components.prove_all(
            body,
            per,
            combine([p.data for p in prepared], partial) if _loads(body) else [],
            contexts,
            subtotal,
            blinding,
            regs,
        )
    if not codec.INT_MIN <= subtotal <= codec.INT_MAX:
        raise UsageError(
            f"the bill's total, {money.format_amount(subtotal, body.minor_unit)} {body.currency}, "
            "is beyond what a payment message carries (about ±9.2 million currency units)",
            obj="payment message",
            field="total_fee",
        )
    with_runs = needs_readings(body, proofs) is not None
    used_demand_registers = any(
        isinstance(w, RegisterWindowProof)
        for p in proofs
        if isinstance(p, DemandProof)
        for w in p.windows
    )
    sections = tuple(
        RegisterSection(
            p.section.certificate,
            p.section.statement,
            p.section.runs if with_runs else (),
            p.section.registers if used_demand_registers else (),
        )
        for p in prepared
    )
    return RegisterBill(
        account=account,
        period=per,
        tariff_hash=tariff.hash(),
        meters=sections,
        total_fee=subtotal,
        blinding=blinding,
        components=tuple(proofs),
    )


def _loads(body: TariffBody) -> bool:
    """Whether any component looks at readings or the per-interval load at all (the prover
    then hands them over; tiers are proven from the same values)."""
    return bool(body.components) and not all(isinstance(c, Minimum) for c in body.components)


def register_path_problem(
    tariff: SignedTariff, meters: Sequence[MeterInput], period: BillingPeriod
) -> str | None:
    """Why a register bill cannot be made for ``period`` (in words), or ``None`` when every
    meter has a statement under the tariff's calendar for exactly its part of the period. Only
    the public parts are looked at; the prover checks the rest."""
    body = tariff.body
    calendar_hash = calendar_hash_for(body)
    if calendar_hash is None:
        return "the tariff has dynamic prices, which have no time-of-use calendar"
    if any(isinstance(c, TieredEnergy) and c.channel is not None for c in body.components):
        return "the tariff has tiers that count one channel's meters, which need the readings"
    parts = []
    for m, inp in enumerate(meters):
        cert = inp.sealed.certificate
        try:
            first, count = meter_span(cert, period, f"meters[{m}]")
            st = statement_for(inp, period, first, count, f"meters[{m}]")
        except (CertificateError, CoverageError) as exc:
            return exc.detail
        if st.calendar_hash != calendar_hash:
            return (
                f"meter {cert.meter_id!r} kept its registers under another calendar than the "
                "tariff's"
            )
        parts.append((first * cert.interval_s, (first + count) * cert.interval_s))
    try:
        check_tiling(parts, period)
    except CoverageError as exc:
        return exc.detail
    return None


# --- the verifier --------------------------------------------------------------------------------


def verify(
    encoded: bytes,
    msg: RegisterBill,
    tariff: SignedTariff,
    provider: VerifyingKey,
    check_subgroup: bool,
    t0: float,
) -> VerifiedBill:
    """Verify a decoded register bill whose tariff has been checked
    (:func:`privbill.billing.verifier.check_tariff`). Order (``docs/protocol.md`` §11a): the
    calendar; per meter the certificate, its part of the period, the statement (meter, period,
    calendar, interval length, span, periods, signature) and its registers, and the sealed runs
    when the bill carries them; the meters' parts tile the period; which components need the
    readings; the fee."""
    body = tariff.body
    per = msg.period
    calendar_hash = _calendar_hash(body)
    energy_prices = body.energy
    assert isinstance(energy_prices, TimeOfUse)
    prices = energy_prices.period_prices
    seen: set[str] = set()
    fee_prices: list[int] = []
    fee_points: list[Point] = []
    by_period: list[tuple[int, Point]] = []
    parts: list[tuple[int, int]] = []
    meter_data: list[components.MeterData] = []
    summaries: list[MeterSummary] = []
    for m, section in enumerate(msg.meters):
        path = f"meters[{m}]"
        cert = section.certificate
        coverage.check_certificate(cert, provider, msg.account, seen, path, OBJ)
        first, count = meter_span(cert, per, path)
        st = section.statement
        spath = f"{path}.energy_registers"
        st.check(cert, per, calendar_hash, spath, OBJ)
        if st.first != first or st.count != count:
            tz = body.tz
            step = cert.interval_s
            raise CoverageError(
                f"the energy registers cover {local_time(st.span_start, tz)} until "
                f"{local_time(st.span_end, tz)}, the meter's part of the period is "
                f"{local_time(first * step, tz)} until {local_time((first + count) * step, tz)}",
                obj=OBJ,
                field=f"{spath}.first" if st.first != first else f"{spath}.count",
            )
        present, _ = periods_in(body, first, count, cert.interval_s)
        if st.periods != present:
            raise CoverageError(
                f"the energy registers list periods {list(st.periods)}, the calendar has "
                f"intervals in {list(present)}",
                obj=OBJ,
                field=f"{spath}.periods",
            )
        regs = st.points(check_subgroup=check_subgroup, path=spath, obj=OBJ)
        for k, pt in zip(st.periods, regs, strict=True):
            fee_prices.append(prices[k])
            fee_points.append(pt)
            by_period.append((k, pt))
        points: list[Point] = []
        apoints: list[Point] = []
        if section.runs:
            sealed = coverage.check_evidence(
                cert,
                section.runs,
                first,
                count,
                path=path,
                obj=OBJ,
                tz=body.tz,
                points="subgroup" if check_subgroup else "curve",
                attributes=True,
            )
            check_chain(st, section.runs, path)
            points, apoints = sealed.points, sealed.attributes
        meter_data.append(
            components.MeterData(
                cert.meter_id,
                cert.interval_s,
                cert.attributes,
                points,
                apoints,
                max_wh=meter_bound(cert),
            )
        )
        parts.append((first * cert.interval_s, (first + count) * cert.interval_s))
        s = st.seals
        summaries.append(
            MeterSummary(
                cert.meter_id, count, s.seals, s.first_seq, s.last_seq, s.chain_start, s.chain_end
            )
        )
    partial = check_tiling(parts, per)

    needed = needs_readings(body, msg.components)
    if needed is not None and not msg.carries_readings:
        raise DecodeError(
            "this component needs the sealed readings, which the bill does not carry",
            obj=OBJ,
            field=f"components[{needed}]",
        )
    if needed is None and msg.carries_readings:
        raise DecodeError(
            "the bill carries sealed readings that no component needs",
            obj=OBJ,
            field="meters[0].runs",
        )

    fixed = tariff.fixed_charges(per)
    commitment = energy.fee_commitment(fee_prices, fee_points)
    if body.components:
        ids = [s.meter_id for s in summaries]
        contexts = [
            components.context(msg.tariff_hash, msg.account, per, ids, i)
            for i in range(len(body.components))
        ]
        demand_registers = None
        if len(msg.meters) == 1 and msg.meters[0].registers:
            only = msg.meters[0]
            demand_registers = MeterRegisters(only.certificate, only.registers)

        def tiered_amount(c: TieredEnergy) -> Point:
            wanted = None if c.periods is None else set(c.periods)
            return group.point_sum([pt for k, pt in by_period if wanted is None or k in wanted])

        components.verify_all(
            body,
            per,
            combine(meter_data, partial) if msg.carries_readings else meter_data,
            contexts,
            msg.components,
            commitment + group.mul(group.generator(), fixed),
            msg.total_fee,
            msg.blinding,
            demand_registers,
            tiered_amount,
        )
    else:
        if msg.components:
            raise DecodeError("the tariff has no components to prove", obj=OBJ, field="components")
        if not energy.verify(msg.total_fee - fixed, msg.blinding, commitment):
            raise FeeMismatchError(
                "total fee does not match the energy registers and the tariff",
                obj=OBJ,
                field="total_fee",
            )
    return VerifiedBill(
        account=msg.account,
        period=per,
        period_label=per.label(body.tz),
        tariff_hash=msg.tariff_hash,
        bill_hash=RegisterBill.hash_of(encoded),
        currency=body.currency,
        minor_unit=body.minor_unit,
        total_fee=msg.total_fee,
        fixed_fee=fixed,
        meters=tuple(summaries),
        seconds=time.perf_counter() - t0,
        path="registers",
    )


__all__ = [
    "check_chain",
    "check_tiling",
    "combine",
    "meter_span",
    "needs_readings",
    "prove",
    "register_path_problem",
    "statement_for",
    "verify",
]
