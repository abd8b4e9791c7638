"""Proving and verifying a tariff's components for a whole bill.

Tiers, demand, block and polynomial charges see the account's load: per interval, the sum of the
meters' commitments (and, for the prover, of their values and blinding factors), so all meters
must share one interval length; tiers restricted to a channel see only the load of the meters
certified for it. Lookups see each meter on its own, with its private attribute commitments.
Each component gets its own transcript context, binding the tariff, account, period, meters and
the component's position.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from privbill.billing import (
    block,
    demand,
    energy,
    hours_use,
    lookup,
    minimum,
    polynomial,
    tiered,
)
from privbill.billing.cleartext import component_schedule, demand_windows, tiered_indices
from privbill.billing.range_batch import RangeBatch
from privbill.crypto import group
from privbill.crypto.group import Point
from privbill.crypto.hashing import digest
from privbill.errors import DecodeError, FeeMismatchError, TariffMismatchError
from privbill.model.component_proofs import (
    OBJ,
    ComponentProof,
    DemandProof,
    HoursUseProof,
    LookupProof,
    MinimumProof,
    TieredProof,
)
from privbill.model.components import Demand, HoursUse, Lookup, Minimum, TieredEnergy
from privbill.model.interval_components import (
    BlockCharge,
    BlockProof,
    PolynomialCharge,
    PolynomialProof,
)
from privbill.model.periods import BillingPeriod
from privbill.model.tariffs import TariffBody


@dataclass(slots=True)
class MeterData:
    """What the components see of one meter over the billing period. The prover fills in the
    openings; the verifier has only the points."""

    meter_id: str
    interval_s: int
    attribute_names: tuple[str, ...]
    points: list[Point]
    attribute_points: list[Point]  # interval by interval, one per attribute
    values: list[int] = field(default_factory=list)
    blindings: list[int] = field(default_factory=list)
    attribute_values: list[int] = field(default_factory=list)
    attribute_blindings: list[int] = field(default_factory=list)
    channel: str | None = None  # from the certificate

    def column(self, name: str) -> slice:
        """Where attribute ``name`` sits in the interval-by-interval attribute lists."""
        return slice(self.attribute_names.index(name), None, len(self.attribute_names))


def context(
    tariff_hash: bytes, account: str, period: BillingPeriod, meters: Sequence[str], index: int
) -> bytes:
    return digest(
        "component-context",
        tariff_hash,
        account.encode(),
        period.start.to_bytes(8, "big"),
        period.end.to_bytes(8, "big"),
        "\x00".join(meters).encode(),
        index.to_bytes(4, "big"),
    )


def common_interval(intervals: Sequence[int]) -> int:
    if len(set(intervals)) != 1:
        raise TariffMismatchError(
            "meters with different interval lengths cannot share tiers or demand charges",
            obj="tariff",
            field="components",
        )
    return intervals[0]


def channel_meters(meters: Sequence[MeterData], channel: str | None, where: str) -> list[MeterData]:
    """The meters a component counts: all of them, or those certified for ``channel``."""
    if channel is None:
        return list(meters)
    chosen = [m for m in meters if m.channel == channel]
    if not chosen:
        raise TariffMismatchError(
            f"no meter of the bill is certified for the channel {channel!r}",
            obj="tariff",
            field=f"{where}.channel",
        )
    return chosen


def _load_points(meters: Sequence[MeterData]) -> list[Point]:
    if len(meters) == 1:
        return meters[0].points
    return [group.point_sum(col) for col in zip(*(m.points for m in meters), strict=True)]


def _load_openings(meters: Sequence[MeterData]) -> tuple[list[int], list[int]]:
    if len(meters) == 1:
        return meters[0].values, meters[0].blindings
    values = [sum(col) for col in zip(*(m.values for m in meters), strict=True)]
    blinds = [sum(col) % group.ORDER for col in zip(*(m.blindings for m in meters), strict=True)]
    return values, blinds


def _bands(body: TariffBody, c: Lookup, period: BillingPeriod, m: MeterData) -> list[int]:
    if c.attribute not in m.attribute_names:
        raise TariffMismatchError(
            f"meter {m.meter_id!r} does not commit to the attribute {c.attribute!r}",
            obj="tariff",
            field="components",
        )
    first, count = period.intervals(m.interval_s)
    return component_schedule(body, c.weekday, c.weekend, first, count, m.interval_s)


def _needs_load(body: TariffBody) -> bool:
    """Whether a component sees the load of every meter together."""
    return any(
        isinstance(c, HoursUse | Demand | BlockCharge | PolynomialCharge)
        or (isinstance(c, TieredEnergy) and c.channel is None)
        for c in body.components
    )


def prove_all(
    body: TariffBody,
    period: BillingPeriod,
    meters: Sequence[MeterData],
    contexts: Sequence[bytes],
    subtotal: int,
    subtotal_blinding: int,
    registers: demand.MeterRegisters | None = None,
) -> tuple[list[ComponentProof], int, int]:
    """Proofs for every component, and the billed total with the blinding to reveal."""
    days = len(period.local_days(body.tz))
    if _needs_load(body):
        interval_s = common_interval([m.interval_s for m in meters])
        first, count = period.intervals(interval_s)
        values, blindings = _load_openings(meters)
    proofs: list[ComponentProof | None] = []
    total, blind = subtotal, subtotal_blinding
    for i, c in enumerate(body.components):
        if isinstance(c, TieredEnergy) and c.channel is not None:
            chosen = channel_meters(meters, c.channel, f"components[{i}]")
            step = common_interval([m.interval_s for m in chosen])
            idx = tiered_indices(body, c, *period.intervals(step), step)
            cv, cb = _load_openings(chosen)
            tp, fee, fb = tiered.prove(c, cv, cb, idx, days, contexts[i])
            proofs.append(tp)
        elif isinstance(c, TieredEnergy):
            idx = tiered_indices(body, c, first, count, interval_s)
            tp, fee, fb = tiered.prove(c, values, blindings, idx, days, contexts[i])
            proofs.append(tp)
        elif isinstance(c, HoursUse):
            idx = tiered_indices(body, c, first, count, interval_s)
            hp, fee, fb = hours_use.prove(c, values, blindings, idx, interval_s, contexts[i], days)
            proofs.append(hp)
        elif isinstance(c, Demand):
            windows = demand_windows(body, c, first, count, interval_s)
            dp, fee, fb = demand.prove_with_registers(
                c, values, blindings, windows, interval_s, contexts[i], registers, body, period
            )
            proofs.append(dp)
        elif isinstance(c, BlockCharge):
            bp, fee, fb = block.prove(
                c, values, blindings, contexts[i], points=_load_points(meters)
            )
            proofs.append(bp)
        elif isinstance(c, PolynomialCharge):
            pp, fee, fb = polynomial.prove(
                c, values, blindings, contexts[i], points=_load_points(meters)
            )
            proofs.append(pp)
        elif isinstance(c, Lookup):
            parts = []
            fee, fb = 0, 0
            for n, m in enumerate(meters):
                lp, f, b = lookup.prove(
                    c,
                    _bands(body, c, period, m),
                    m.points,
                    m.attribute_points[m.column(c.attribute)],
                    m.values,
                    m.blindings,
                    m.attribute_values[m.column(c.attribute)],
                    m.attribute_blindings[m.column(c.attribute)],
                    contexts[i] + n.to_bytes(2, "big"),
                )
                parts.append(lp)
                fee += f
                fb += b
            proofs.append(LookupProof(tuple(parts)))
        else:
            proofs.append(None)  # the minimum is settled last, on the full subtotal
            continue
        total += fee
        blind = (blind + fb) % group.ORDER
    for i, c in enumerate(body.components):
        if isinstance(c, Minimum):
            mp, total, blind = minimum.prove(c, total, blind, contexts[i])
            proofs[i] = mp
    return [p for p in proofs if p is not None], total, blind


def verify_all(
    body: TariffBody,
    period: BillingPeriod,
    meters: Sequence[MeterData],
    contexts: Sequence[bytes],
    proofs: Sequence[ComponentProof],
    subtotal: Point,
    total_fee: int,
    blinding: int,
    registers: demand.MeterRegisters | None = None,
    tiered_amount: Callable[[TieredEnergy], Point] | None = None,
) -> None:
    """Check every component proof and the billed total; ``subtotal`` commits to energy and
    fixed charges. Raises a typed error naming what fails.

    ``tiered_amount``, when given, commits to a tiered component's counted consumption in place
    of the sum of the readings' commitments (a register bill: the sum of energy registers); the
    readings are then looked at only by components that need them."""
    if len(proofs) != len(body.components):
        raise DecodeError(
            f"expected {len(body.components)} component proofs, got {len(proofs)}",
            obj=OBJ,
            field="components",
        )
    days = len(period.local_days(body.tz))
    needs_load = any(
        isinstance(c, HoursUse | Demand | BlockCharge | PolynomialCharge)
        or (isinstance(c, TieredEnergy) and tiered_amount is None)
        for c in body.components
    )
    if needs_load:
        interval_s = common_interval([m.interval_s for m in meters])
        first, count = period.intervals(interval_s)
        points = _load_points(meters)
    fees: list[Point] = [subtotal]
    minimum_at: int | None = None
    # Every demand component's range proofs are verified together, after the loop.
    batch = RangeBatch()
    for i, (c, p) in enumerate(zip(body.components, proofs, strict=True)):
        path = f"components[{i}]"
        if isinstance(c, TieredEnergy) and isinstance(p, TieredProof) and c.channel is not None:
            if tiered_amount is not None:
                raise DecodeError(
                    "tiers that count one channel's meters need the readings: a register bill "
                    "cannot prove them",
                    obj=OBJ,
                    field=path,
                )
            chosen = channel_meters(meters, c.channel, path)
            step = common_interval([m.interval_s for m in chosen])
            idx = tiered_indices(body, c, *period.intervals(step), step)
            fees.append(tiered.verify(c, _load_points(chosen), idx, days, contexts[i], p, path))
        elif isinstance(c, TieredEnergy) and isinstance(p, TieredProof):
            if tiered_amount is not None:
                fees.append(tiered.verify_amount(c, tiered_amount(c), days, contexts[i], p, path))
            else:
                idx = tiered_indices(body, c, first, count, interval_s)
                fees.append(tiered.verify(c, points, idx, days, contexts[i], p, path))
        elif isinstance(c, HoursUse) and isinstance(p, HoursUseProof):
            idx = tiered_indices(body, c, first, count, interval_s)
            fees.append(hours_use.verify(c, points, idx, interval_s, contexts[i], p, path, days))
        elif isinstance(c, Demand) and isinstance(p, DemandProof):
            windows = demand_windows(body, c, first, count, interval_s)
            fees.append(
                demand.verify_with_registers(
                    c,
                    points,
                    windows,
                    interval_s,
                    contexts[i],
                    p,
                    path,
                    registers,
                    body,
                    period,
                    batch,
                )
            )
        elif isinstance(c, BlockCharge) and isinstance(p, BlockProof):
            fees.append(block.verify(c, points, contexts[i], p, path))
        elif isinstance(c, PolynomialCharge) and isinstance(p, PolynomialProof):
            fees.append(polynomial.verify(c, points, contexts[i], p, path))
        elif isinstance(c, Lookup) and isinstance(p, LookupProof):
            if len(p.meters) != len(meters):
                raise DecodeError(f"expected {len(meters)} meters", obj=OBJ, field=f"{path}.meters")
            for n, (m, mp) in enumerate(zip(meters, p.meters, strict=True)):
                fees.append(
                    lookup.verify(
                        c,
                        _bands(body, c, period, m),
                        m.points,
                        m.attribute_points[m.column(c.attribute)],
                        contexts[i] + n.to_bytes(2, "big"),
                        mp,
                        f"{path}.meters[{n}]",
                    )
                )
        elif isinstance(c, Minimum) and isinstance(p, MinimumProof):
            minimum_at = i
        else:
            raise DecodeError(
                f"the tariff's component is {c.kind}, the proof is {p.kind}",
                obj=OBJ,
                field=f"{path}.kind",
            )
    fees += batch.settle()
    full = group.point_sum(fees)
    if minimum_at is None:
        if not energy.verify(total_fee, blinding, full):
            raise FeeMismatchError(
                "total fee does not match the committed readings and the tariff",
                obj=OBJ,
                field="total_fee",
            )
        return
    c, p = body.components[minimum_at], proofs[minimum_at]
    assert isinstance(c, Minimum) and isinstance(p, MinimumProof)
    minimum.verify(
        c, full, total_fee, blinding, contexts[minimum_at], p, f"components[{minimum_at}]"
    )
