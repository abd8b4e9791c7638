"""The customer's view of a bill: consumption and cost per tariff period, tiers reached, peak
demand, fixed charges — from cleartext readings, which never leave the customer's device.

Every fee comes from :func:`privbill.billing.cleartext.cleartext_bill`, the library's one
cleartext bill (which the proofs reproduce exactly); this module only groups the readings by
tariff period and names the tiers and peaks behind the fees, with the same library helpers.
``privbill bill explain`` and the demo both show it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from privbill.billing.cleartext import Breakdown, MeterReadings, clear_load, cleartext_bill
from privbill.model import money
from privbill.model.periods import BillingPeriod
from privbill.model.tariffs import TariffBody, TimeOfUse
from privbill.model.wording import kwh as kwh  # shown by `privbill bill explain` and the demo


@dataclass(frozen=True, slots=True)
class EnergyRow:
    """Consumption (Wh, or the meter's unit) and energy cost (10⁻⁹ currency) of one tariff
    period."""

    name: str
    quantity: int
    cost: int


@dataclass(frozen=True, slots=True)
class ComponentRow:
    label: str
    kind: str
    fee: int  # 10⁻⁹ currency
    detail: str = ""
    data: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Explanation:
    body: TariffBody
    period: BillingPeriod
    breakdown: Breakdown
    energy: list[EnergyRow]
    components: list[ComponentRow]
    meters: list[tuple[str, int, int]]  # meter id, readings, total quantity

    @property
    def total(self) -> int:
        return self.breakdown.total

    def amount(self, fee: int) -> str:
        return money.format_amount(fee, self.body.minor_unit)

    def _energy_json(self, r: EnergyRow) -> dict[str, Any]:
        return {
            "period": r.name,
            "quantity": r.quantity,
            "cost": self.amount(r.cost),
            "cost_fee": r.cost,
        }

    def _component_json(self, c: ComponentRow) -> dict[str, Any]:
        return {
            "name": c.label,
            "kind": c.kind,
            "fee": self.amount(c.fee),
            "total_fee": c.fee,
            "detail": c.detail,
            **c.data,
        }

    def to_json(self) -> dict[str, Any]:
        cur = self.body.currency
        return {
            "tariff": self.body.name,
            "period": self.period.label(self.body.tz),
            "currency": cur,
            "meters": [{"meter": m, "readings": n, "total": q} for m, n, q in self.meters],
            "energy": [self._energy_json(r) for r in self.energy],
            "components": [self._component_json(c) for c in self.components],
            "fixed": self.amount(self.breakdown.fixed),
            "minimum_top_up": self.amount(self.breakdown.minimum_top_up),
            "total_fee": self.total,
            "amount": self.amount(self.total),
        }


def explain(
    body: TariffBody,
    meters: Sequence[MeterReadings],
    period: BillingPeriod,
    meter_ids: Sequence[str] = (),
    unit: str = "kWh",
) -> Explanation:
    """The explanation of the bill for ``meters`` over ``period`` (readings cover it);
    ``unit`` names a thousand of the meters' unit (kWh of Wh, km of metres)."""
    breakdown = cleartext_bill(body, meters, period)
    tz = body.tz
    energy = body.energy
    names = list(energy.period_names) if isinstance(energy, TimeOfUse) else ["energy"]
    quantity = [0] * len(names)
    cost = [0] * len(names)
    for m in meters:
        n = len(m.values)
        prices = body.prices(m.first, n, m.interval_s)
        periods = (
            energy.periods(tz, m.first, n, m.interval_s)
            if isinstance(energy, TimeOfUse)
            else [0] * n
        )
        for p, price, v in zip(periods, prices, m.values, strict=True):
            quantity[p] += v
            cost[p] += price * v
    if sum(cost) != breakdown.energy:  # the same sum, grouped: cannot differ
        raise AssertionError("energy by period does not add up to the cleartext bill")
    rows = [EnergyRow(n, q, c) for n, q, c in zip(names, quantity, cost, strict=True) if q or c]

    comps: list[ComponentRow] = []
    fees = iter(breakdown.components)
    load = clear_load(body, meters, period) if body.components else None
    for c in body.components:
        assert load is not None
        for detail, data in c.explain(load, unit):
            label, fee = next(fees)
            comps.append(ComponentRow(label, c.kind, fee, detail, data))
    ids = list(meter_ids) or [str(i + 1) for i in range(len(meters))]
    meter_rows = [(i, len(m.values), sum(m.values)) for i, m in zip(ids, meters, strict=True)]
    return Explanation(body, period, breakdown, rows, comps, meter_rows)


def explanation_lines(e: Explanation, unit: str = "kWh") -> list[str]:
    """The explanation as a plain-text table."""
    cur = e.body.currency
    width = max([len(r.name) for r in e.energy] + [len(c.label) for c in e.components] + [24])
    lines = [f"  {'charge':<{width}} {unit:>12} {cur:>12}"]
    for r in e.energy:
        lines.append(f"  {r.name:<{width}} {kwh(r.quantity):>12} {e.amount(r.cost):>12}")
    for c in e.components:
        lines.append(f"  {c.label:<{width}} {'':>12} {e.amount(c.fee):>12}")
        if c.detail:
            lines.append(f"  {'':<{width}}   {c.detail}")
    lines.append(f"  {'fixed charges':<{width}} {'':>12} {e.amount(e.breakdown.fixed):>12}")
    if e.breakdown.minimum_top_up:
        top = e.amount(e.breakdown.minimum_top_up)
        lines.append(f"  {'raised to the minimum bill':<{width}} {'':>12} {top:>12}")
    total_q = sum(r.quantity for r in e.energy)
    lines.append(f"  {'total':<{width}} {kwh(total_q):>12} {e.amount(e.total):>12}")
    return lines
