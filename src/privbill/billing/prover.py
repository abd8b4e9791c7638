"""The customer side: build a payment message from sealed readings and their openings.

The prover checks what the meter handed over before using it — every seal signature, the seal
structure, and that every opening matches its sealed commitment (:func:`check_openings`) — so a
damaged or mismatched input fails here with a precise error instead of producing a bill the
provider rejects.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Literal, overload
from zoneinfo import ZoneInfo

from privbill.billing import components, coverage, demand, energy
from privbill.billing.load_range import meter_bound
from privbill.crypto import group, pedersen
from privbill.crypto.group import Point
from privbill.errors import (
    CertificateError,
    CoverageError,
    OpeningError,
    UsageError,
)
from privbill.model import codec, money
from privbill.model.bills import MeterSection, PaymentMessage
from privbill.model.component_proofs import ComponentProof
from privbill.model.periods import BillingPeriod, interval_time
from privbill.model.readings import Openings
from privbill.model.register_bills import RegisterBill
from privbill.model.registers import RegisterOpenings
from privbill.model.sealed import SealedReadings
from privbill.model.tariffs import SignedTariff


@dataclass(frozen=True, slots=True)
class MeterInput:
    """One meter's sealed output and the customer's openings for it (readings and, if the meter
    keeps demand registers, registers)."""

    sealed: SealedReadings
    openings: Sequence[Openings]
    opening_key: bytes | None = None
    register_openings: Sequence[RegisterOpenings] = ()


def _collect(
    inp: MeterInput, first: int, count: int, k: int, tz: ZoneInfo
) -> tuple[list[int], list[int], list[int], list[int]]:
    """Values, blindings, attribute values and attribute blindings (``k`` per interval) for
    intervals ``first .. first+count-1`` from the openings batches."""
    mid = inp.sealed.certificate.meter_id
    values: list[int | None] = [None] * count
    blindings: list[int] = [0] * count
    avalues: list[int] = [0] * (count * k)
    ablindings: list[int] = [0] * (count * k)
    for batch in inp.openings:
        if batch.meter_id != mid:
            raise OpeningError(
                f"openings of meter {batch.meter_id!r} given for meter {mid!r}",
                obj="openings",
                field="meter_id",
            )
        if batch.attributes != k:
            raise OpeningError(
                f"openings carry {batch.attributes} attribute(s), the meter {k}",
                obj="openings",
                field="attributes",
            )
        lo, hi = max(batch.first, first), min(batch.end, first + count)
        if lo >= hi:
            continue
        rs = batch.resolve(inp.opening_key)
        ars = batch.resolve_attributes(inp.opening_key)
        for i in range(lo, hi):
            values[i - first] = batch.values[i - batch.first]
            blindings[i - first] = rs[i - batch.first]
            src, dst = (i - batch.first) * k, (i - first) * k
            avalues[dst : dst + k] = batch.attribute_values[src : src + k]
            ablindings[dst : dst + k] = ars[src : src + k]
    missing = [n for n, v in enumerate(values) if v is None]
    if missing:
        raise OpeningError(
            f"no opening for {len(missing)} interval(s) of meter {mid!r}, the first at "
            f"{interval_time(first + missing[0], inp.sealed.certificate.interval_s, tz)}",
            obj="openings",
            field="values",
        )
    return [v for v in values if v is not None], blindings, avalues, ablindings


def check_openings(
    points: Sequence[Point], values: Sequence[int], blindings: Sequence[int]
) -> int | None:
    """Index of the first opening that does not match its commitment, or ``None``.

    One random linear combination checks all of them: with independent 128-bit weights ``ρ_i``,
    ``Σ ρ_i·C_i = (Σ ρ_i·c_i)·G + (Σ ρ_i·r_i)·H`` fails for any wrong opening except with
    probability 2^-128. The MSM runs over public points with public weights; the secrets meet the
    group in two scalar multiplications, done on the constant-time path. Only when the batch
    fails are the commitments recomputed one by one to name the culprit.
    """
    weights = [secrets.randbits(128) for _ in points]
    lhs = group.msm(points, weights)
    a = sum(w * v for w, v in zip(weights, values, strict=True))
    b = sum(w * r for w, r in zip(weights, blindings, strict=True))
    if pedersen.commit_ct(a, b) == lhs:
        return None
    for k, (pt, v, r) in enumerate(zip(points, values, blindings, strict=True)):
        if pedersen.commit(v, r) != pt:
            return k
    raise AssertionError("batch opening check failed but every opening matches")


def account_of(meters: Sequence[MeterInput], account: str | None) -> str:
    """The bill's account: ``account``, or the one account all meters belong to; no meter
    given twice."""
    accounts = {m.sealed.certificate.account for m in meters}
    if account is None:
        if len(accounts) != 1:
            raise CertificateError(
                f"meters belong to several accounts: {sorted(accounts)}",
                obj="meter certificate",
                field="account",
            )
        account = accounts.pop()
    ids = [m.sealed.certificate.meter_id for m in meters]
    if len(set(ids)) != len(ids):
        raise UsageError("the same meter is given twice")
    return account


BillPath = Literal["readings", "registers", "auto"]
PATHS: tuple[BillPath, ...] = ("auto", "registers", "readings")


@overload
def prove_bill(
    tariff: SignedTariff,
    meters: Sequence[MeterInput],
    period: BillingPeriod | str,
    *,
    account: str | None = None,
    path: Literal["readings"] = "readings",
    openings_checked: bool = False,
) -> PaymentMessage: ...


@overload
def prove_bill(
    tariff: SignedTariff,
    meters: Sequence[MeterInput],
    period: BillingPeriod | str,
    *,
    account: str | None = None,
    path: Literal["registers"],
    openings_checked: bool = False,
) -> RegisterBill: ...


@overload
def prove_bill(
    tariff: SignedTariff,
    meters: Sequence[MeterInput],
    period: BillingPeriod | str,
    *,
    account: str | None = None,
    path: BillPath,
    openings_checked: bool = False,
) -> PaymentMessage | RegisterBill: ...


def prove_bill(
    tariff: SignedTariff,
    meters: Sequence[MeterInput],
    period: BillingPeriod | str,
    *,
    account: str | None = None,
    path: BillPath = "readings",
    openings_checked: bool = False,
) -> PaymentMessage | RegisterBill:
    """Build the payment message for ``period`` (a :class:`BillingPeriod` or ``"YYYY-MM"``).

    ``path`` chooses the message: ``"readings"`` (the default) carries every sealed reading
    (``privbill/bill/1``); ``"registers"`` carries the meters' time-of-use energy registers
    instead (``privbill/register-bill/1``, :mod:`privbill.billing.register_bill`) and raises a
    typed error if they cannot serve the bill; ``"auto"`` takes the registers when every meter
    has a statement for the period under the tariff's calendar, else the readings.

    ``openings_checked`` says that every opening was checked against its sealed commitment
    before (the household agent checks each on arrival and keeps them in its store): the
    per-reading prover then skips decoding the commitments and the batch check when no tariff
    component needs the points — the bulk of a time-of-use bill's proving time. Seals are
    checked in any case; a wrong opening would make a bill the provider refuses, never one it
    accepts. (The register path checks every register against the readings regardless.)
    """
    if path not in PATHS:
        raise UsageError(f"path must be one of {', '.join(PATHS)}, not {path!r}")
    if path != "readings":
        from privbill.billing import register_bill  # it builds on this module

        per = BillingPeriod.parse(period, tariff.body.tz) if isinstance(period, str) else period
        if path == "registers" or (
            meters and register_bill.register_path_problem(tariff, meters, per) is None
        ):
            return register_bill.prove(tariff, meters, per, account=account)
    if not meters:
        raise UsageError("a bill needs at least one meter")
    body = tariff.body
    per = BillingPeriod.parse(period, body.tz) if isinstance(period, str) else period
    body.check_period(per)
    account = account_of(meters, account)

    sections: list[MeterSection] = []
    all_prices: list[int] = []
    all_values: list[int] = []
    all_blindings: list[int] = []
    meter_data: list[components.MeterData] = []
    for m, inp in enumerate(meters):
        cert = inp.sealed.certificate
        where = f"meters[{m}]"
        if cert.account != account:
            raise CertificateError(
                f"meter {cert.meter_id!r} belongs to account {cert.account!r}",
                obj="meter certificate",
                field="account",
            )
        cert.check_covers(per.start, per.end)
        first, count = per.intervals(cert.interval_s)
        runs = tuple(
            r for r in inp.sealed.runs if r.seal.first < first + count and r.seal.end > first
        )
        if not runs:
            day = datetime.fromtimestamp(per.start, body.tz).date()
            raise CoverageError(
                f"meter {cert.meter_id!r} has no sealed readings for the period starting {day}",
                obj="sealed readings",
                field="runs",
            )
        k_attr = len(cert.attributes)
        need_points = not openings_checked or bool(body.components)
        sealed = coverage.check_evidence(
            cert,
            runs,
            first,
            count,
            path=where,
            obj="sealed readings",
            tz=body.tz,
            points="curve" if need_points or k_attr else "none",
            attributes=True,
        )
        values, blindings, avalues, ablindings = _collect(inp, first, count, k_attr, body.tz)
        points = sealed.points if need_points else []
        bad = None if openings_checked else check_openings(points, values, blindings)
        if bad is not None:
            when = interval_time(first + bad, cert.interval_s, body.tz)
            raise OpeningError(
                f"opening of meter {cert.meter_id!r} at {when} does not match its sealed "
                "commitment",
                obj="openings",
                field="values",
            )
        apoints = sealed.attributes
        if k_attr:
            bad = check_openings(apoints, avalues, ablindings)
            if bad is not None:
                i, j = divmod(bad, k_attr)
                raise OpeningError(
                    f"attribute {cert.attributes[j]!r} of meter {cert.meter_id!r} at "
                    f"{interval_time(first + i, cert.interval_s, body.tz)} does not match its "
                    "sealed commitment",
                    obj="openings",
                    field="attribute_values",
                )
        registers = tuple(r for r in inp.sealed.registers if r.month == per)
        for k, reg in enumerate(registers):
            reg.check(cert, per, f"{where}.registers[{k}]")
        all_prices.extend(body.prices(first, count, cert.interval_s))
        all_values.extend(values)
        all_blindings.extend(blindings)
        sections.append(MeterSection(cert, runs, registers))
        meter_data.append(
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
                cert.channel,
                meter_bound(cert),
            )
        )

    fee, blinding = energy.prove(all_prices, all_values, all_blindings)
    subtotal = fee + body.fixed_charges(per)
    proofs: list[ComponentProof] = []
    if body.components:
        ids = [s.certificate.meter_id for s in sections]
        contexts = [
            components.context(tariff.hash(), account, per, ids, i)
            for i in range(len(body.components))
        ]
        meter_registers = demand.bill_registers(
            sections, meters[0].register_openings, meters[0].opening_key
        )
        proofs, subtotal, blinding = components.prove_all(
            body, per, meter_data, contexts, subtotal, blinding, meter_registers
        )
    if not codec.INT_MIN <= subtotal <= codec.INT_MAX:
        raise UsageError(
            f"the bill's total, {money.format_amount(subtotal, body.minor_unit)} {body.currency}, "
            "is beyond what a payment message carries (about ±9.2 million currency units)",
            obj="payment message",
            field="total_fee",
        )
    return PaymentMessage(
        account=account,
        period=per,
        tariff_hash=tariff.hash(),
        meters=tuple(sections),
        total_fee=subtotal,
        blinding=blinding,
        components=tuple(proofs),
    )
