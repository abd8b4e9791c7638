"""Proving and verifying a tariff's components for a whole bill.

The components see the account's load: per interval, the sum of the meters' commitments (and,
for the prover, of their values and blinding factors). Each component gets its own transcript
context, binding the tariff, account, period, meters and the component's position.
"""

from __future__ import annotations

from collections.abc import Sequence

from privbill.billing import demand, energy, minimum, tiered
from privbill.billing.cleartext import demand_windows, tiered_indices
from privbill.crypto import group
from privbill.crypto.group import Point
from privbill.crypto.hashing import digest
from privbill.errors import DecodeError, FeeMismatchError, TariffMismatchError
from privbill.model.component_proofs import (
    OBJ,
    ComponentProof,
    DemandProof,
    MinimumProof,
    TieredProof,
)
from privbill.model.components import Demand, Minimum, TieredEnergy
from privbill.model.periods import BillingPeriod
from privbill.model.tariffs import TariffBody


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


def aggregate_points(per_meter: Sequence[Sequence[Point]]) -> list[Point]:
    if len(per_meter) == 1:
        return list(per_meter[0])
    return [group.point_sum(col) for col in zip(*per_meter, strict=True)]


def prove_all(
    body: TariffBody,
    period: BillingPeriod,
    interval_s: int,
    values: Sequence[int],
    blindings: Sequence[int],
    contexts: Sequence[bytes],
    subtotal: int,
    subtotal_blinding: int,
) -> tuple[list[ComponentProof], int, int]:
    """Proofs for every component, and the billed total with the blinding to reveal."""
    first, count = period.intervals(interval_s)
    days = len(period.local_days(body.tz))
    proofs: list[ComponentProof | None] = []
    total, blind = subtotal, subtotal_blinding
    for i, c in enumerate(body.components):
        if isinstance(c, TieredEnergy):
            idx = tiered_indices(body, c, first, count, interval_s)
            tp, fee, fb = tiered.prove(c, values, blindings, idx, days, contexts[i])
            proofs.append(tp)
        elif isinstance(c, Demand):
            windows = demand_windows(body, c, first, count, interval_s)
            dp, fee, fb = demand.prove(c, values, blindings, windows, interval_s, contexts[i])
            proofs.append(dp)
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
    interval_s: int,
    points: Sequence[Point],
    contexts: Sequence[bytes],
    proofs: Sequence[ComponentProof],
    subtotal: Point,
    total_fee: int,
    blinding: int,
) -> None:
    """Check every component proof and the billed total; ``subtotal`` commits to energy and
    fixed charges. Raises a typed error naming what fails."""
    if len(proofs) != len(body.components):
        raise DecodeError(
            f"expected {len(body.components)} component proofs, got {len(proofs)}",
            obj=OBJ,
            field="components",
        )
    first, count = period.intervals(interval_s)
    days = len(period.local_days(body.tz))
    fees: list[Point] = [subtotal]
    minimum_at: int | None = None
    for i, (c, p) in enumerate(zip(body.components, proofs, strict=True)):
        path = f"components[{i}]"
        if isinstance(c, TieredEnergy) and isinstance(p, TieredProof):
            idx = tiered_indices(body, c, first, count, interval_s)
            fees.append(tiered.verify(c, points, idx, days, contexts[i], p, path))
        elif isinstance(c, Demand) and isinstance(p, DemandProof):
            windows = demand_windows(body, c, first, count, interval_s)
            fees.append(demand.verify(c, points, windows, interval_s, contexts[i], p, path))
        elif isinstance(c, Minimum) and isinstance(p, MinimumProof):
            minimum_at = i
        else:
            raise DecodeError(
                f"the tariff's component is {c.kind}, the proof is {p.kind}",
                obj=OBJ,
                field=f"{path}.kind",
            )
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
