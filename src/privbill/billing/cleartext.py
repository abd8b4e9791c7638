"""The bill in cleartext, from readings and a tariff: what the proofs must reproduce exactly.

The customer's device shows this breakdown to the customer; tests compare it with the proven
total and with NREL's System Advisor Model. Nothing here is sent to the provider.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from privbill.errors import TariffMismatchError, UsageError
from privbill.model.components import Demand, HoursUse, TieredEnergy
from privbill.model.periods import BillingPeriod
from privbill.model.schedules import NONE, schedule_indices
from privbill.model.tariffs import TariffBody, TimeOfUse


@dataclass(frozen=True, slots=True)
class MeterReadings:
    """One meter's consumption over the billing period: ``values[k]`` is interval ``first + k``;
    ``channel``: the channel its certificate names, if any."""

    interval_s: int
    first: int
    values: Sequence[int]
    attributes: Mapping[str, Sequence[int]] = field(default_factory=dict)
    channel: str | None = None


@dataclass(slots=True)
class Breakdown:
    """Every part of a bill, in 10⁻⁹ currency."""

    energy: int = 0
    components: list[tuple[str, int]] = field(default_factory=list)
    fixed: int = 0
    minimum_top_up: int = 0

    @property
    def total(self) -> int:
        return self.energy + sum(f for _, f in self.components) + self.fixed + self.minimum_top_up


def aggregate(meters: Sequence[MeterReadings], period: BillingPeriod) -> MeterReadings:
    """The account's load: the meters' values added interval by interval."""
    lengths = {m.interval_s for m in meters}
    if len(lengths) != 1:
        raise TariffMismatchError(
            "meters with different interval lengths cannot share tiers or demand charges",
            obj="tariff",
            field="components",
        )
    interval_s = lengths.pop()
    first, count = period.intervals(interval_s)
    total = [0] * count
    for m in meters:
        if m.first != first or len(m.values) != count:
            raise UsageError("meter readings do not cover the billing period")
        for k, v in enumerate(m.values):
            total[k] += v
    return MeterReadings(interval_s, first, total)


def channel_readings(
    meters: Sequence[MeterReadings], channel: str | None
) -> Sequence[MeterReadings]:
    """The meters a component counts: all, or those of ``channel`` (at least one)."""
    if channel is None:
        return meters
    chosen = [m for m in meters if m.channel == channel]
    if not chosen:
        raise TariffMismatchError(
            f"no meter is certified for the channel {channel!r}", obj="tariff", field="components"
        )
    return chosen


def tiered_indices(
    body: TariffBody, component: TieredEnergy | HoursUse, first: int, count: int, interval_s: int
) -> list[int]:
    """Indices (into the period) of the intervals whose consumption the tiers count."""
    if component.periods is None:
        return list(range(count))
    energy = body.energy
    assert isinstance(energy, TimeOfUse)
    wanted = set(component.periods)
    periods = energy.periods(body.tz, first, count, interval_s)
    return [k for k, p in enumerate(periods) if p in wanted]


def component_schedule(
    body: TariffBody, weekday: bytes, weekend: bytes, first: int, count: int, interval_s: int
) -> list[int]:
    """A component's schedule entry (window, band) for each interval; the tariff's holidays use
    the weekend table, as for time-of-use periods."""
    holidays = body.energy.holidays if isinstance(body.energy, TimeOfUse) else ()
    return schedule_indices(
        weekday, weekend, holidays, body.tz, first, count, interval_s, "components"
    )


def demand_windows(
    body: TariffBody, component: Demand, first: int, count: int, interval_s: int
) -> list[list[int]]:
    """For each window, the indices (into the period) of its intervals."""
    if 3600 % interval_s:
        raise TariffMismatchError(
            "demand charges need a meter interval that divides an hour",
            obj="tariff",
            field="components",
        )
    sched = component_schedule(body, component.weekday, component.weekend, first, count, interval_s)
    out: list[list[int]] = [[] for _ in component.windows]
    for k, w in enumerate(sched):
        if w != NONE:
            out[w].append(k)
    return out


@dataclass(slots=True)
class ClearLoad:
    """What a component's cleartext fee looks at: the meters' readings, the account's ``load``
    (every meter added, when some component needs it; else the first meter), the days billed,
    and for a component that settles last the rest of the bill (``so_far``)."""

    body: TariffBody
    period: BillingPeriod
    meters: Sequence[MeterReadings]
    load: MeterReadings
    days: int
    so_far: int = 0

    def counted(self, channel: str | None) -> MeterReadings:
        """The load of the meters of ``channel`` (all meters for ``None``)."""
        if channel is None:
            return self.load
        return aggregate(channel_readings(self.meters, channel), self.period)

    def indices(self, component: TieredEnergy | HoursUse, readings: MeterReadings) -> list[int]:
        return tiered_indices(
            self.body, component, readings.first, len(readings.values), readings.interval_s
        )

    def windows(self, component: Demand) -> list[list[int]]:
        m = self.load
        return demand_windows(self.body, component, m.first, len(m.values), m.interval_s)

    def schedule(self, weekday: bytes, weekend: bytes, m: MeterReadings) -> list[int]:
        return component_schedule(self.body, weekday, weekend, m.first, len(m.values), m.interval_s)


def clear_load(
    body: TariffBody, meters: Sequence[MeterReadings], period: BillingPeriod
) -> ClearLoad:
    needs_load = any(c.needs_load for c in body.components)
    load = aggregate(meters, period) if needs_load else meters[0]
    return ClearLoad(body, period, meters, load, len(period.local_days(body.tz)))


def cleartext_bill(
    body: TariffBody, meters: Sequence[MeterReadings], period: BillingPeriod
) -> Breakdown:
    body.check_period(period)
    b = Breakdown()
    for m in meters:
        prices = body.prices(m.first, len(m.values), m.interval_s)
        b.energy += sum(p * v for p, v in zip(prices, m.values, strict=True))
    b.fixed = body.fixed_charges(period)
    if not body.components:
        return b
    load = clear_load(body, meters, period)
    for c in body.components:
        if not c.settles_last:
            b.components += c.cleartext_fees(load)
    for c in body.components:
        if c.settles_last:
            load.so_far = b.total
            b.minimum_top_up += sum(fee for _, fee in c.cleartext_fees(load))
    return b
