"""Proving and verifying a tariff's components for a whole bill.

Tiers, demand, block and polynomial charges see the account's load: per interval, the sum of the
meters' commitments (and, for the prover, of their values and blinding factors), so all meters
must share one interval length; tiers restricted to a channel see only the load of the meters
certified for it. Lookups see each meter on its own, with its private attribute commitments.
Each component gets its own transcript context, binding the tariff, account, period, meters and
the component's position.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from typing import TYPE_CHECKING, Any, Protocol, cast

from privbill.billing import energy
from privbill.billing.cleartext import component_schedule, demand_windows, tiered_indices
from privbill.billing.load_range import bits_for
from privbill.billing.peaks import Key, PeakSet, ProvedPeak, peak_differences, prove_peaks
from privbill.billing.range_batch import RangeBatch
from privbill.crypto import group
from privbill.crypto.group import Point
from privbill.crypto.hashing import digest
from privbill.errors import DecodeError, FeeMismatchError, TariffMismatchError
from privbill.model.component_proofs import OBJ, ComponentProof
from privbill.model.components import KINDS, Demand, HoursUse, Lookup, TieredEnergy
from privbill.model.periods import BillingPeriod
from privbill.model.tariffs import TariffBody

if TYPE_CHECKING:
    from privbill.billing.demand import MeterRegisters


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
    #: The most Wh the meter signs for an interval (its certificate's rating), ``None`` without
    #: a rating: bounds the load's range proofs (``billing/load_range.py``).
    max_wh: int | None = None

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


def load_points(meters: Sequence[MeterData]) -> list[Point]:
    if len(meters) == 1:
        return meters[0].points
    return [group.point_sum(col) for col in zip(*(m.points for m in meters), strict=True)]


def load_openings(meters: Sequence[MeterData]) -> tuple[list[int], list[int]]:
    if len(meters) == 1:
        return meters[0].values, meters[0].blindings
    values = [sum(col) for col in zip(*(m.values for m in meters), strict=True)]
    blinds = [sum(col) % group.ORDER for col in zip(*(m.blindings for m in meters), strict=True)]
    return values, blinds


def attribute_column(component: Lookup, m: MeterData) -> slice:
    """Where the lookup's attribute sits in ``m``'s attribute lists (the meter must commit to
    it)."""
    if component.attribute not in m.attribute_names:
        raise TariffMismatchError(
            f"meter {m.meter_id!r} does not commit to the attribute {component.attribute!r}",
            obj="tariff",
            field="components",
        )
    return m.column(component.attribute)


@dataclass(slots=True)
class LoadView:
    """What a bill's components look at: the period and its days, every meter (points, and the
    openings for the prover), the account's load when some component needs it (one interval
    length: ``interval_s``, ``first``, ``count``; the prover's ``values`` and ``blindings``),
    the meters' demand registers, and for a register bill ``amount``: the commitment to a tiered
    component's counted consumption in place of the readings'."""

    body: TariffBody
    period: BillingPeriod
    meters: Sequence[MeterData]
    days: int
    registers: MeterRegisters | None = None
    amount: Callable[[TieredEnergy], Point] | None = None
    interval_s: int = 0
    first: int = 0
    count: int = 0
    values: list[int] = field(default_factory=list)
    blindings: list[int] = field(default_factory=list)
    _points: list[Point] | None = None

    def bits(self, tariff_bits: int) -> int:
        """The range width of proofs over this load's intervals: the tariff's, or narrower when
        every meter's rating bounds their sum (``billing/load_range.py``)."""
        return bits_for(tariff_bits, [m.max_wh for m in self.meters])

    @property
    def points(self) -> list[Point]:
        """The load's commitments, interval by interval (added up once, on first use)."""
        if self._points is None:
            self._points = load_points(self.meters)
        return self._points

    def indices(self, component: TieredEnergy | HoursUse) -> list[int]:
        """The load's intervals the component counts (its time-of-use periods)."""
        return tiered_indices(self.body, component, self.first, self.count, self.interval_s)

    def windows(self, component: Demand) -> list[list[int]]:
        """For each demand window, the load's intervals in it."""
        return demand_windows(self.body, component, self.first, self.count, self.interval_s)

    def schedule(self, weekday: bytes, weekend: bytes) -> list[int]:
        """A component's schedule entry for each interval of the load."""
        return component_schedule(
            self.body, weekday, weekend, self.first, self.count, self.interval_s
        )

    def bands(self, component: Lookup, m: MeterData) -> list[int]:
        """The lookup's time band of each interval of meter ``m``."""
        first, count = self.period.intervals(m.interval_s)
        return component_schedule(
            self.body, component.weekday, component.weekend, first, count, m.interval_s
        )


@dataclass(slots=True)
class ChargeContext:
    """One component's place in the bill: its transcript context, its path for error naming,
    the bill-wide range-proof batch (verifier) and shared peaks. A component that settles last sees the rest
    of the bill: the prover's total and its blinding (``so_far``), the verifier's commitment to
    it (``bill``) with the billed total and blinding."""

    context: bytes
    path: str
    batch: RangeBatch | None = None
    so_far: int = 0
    so_far_blinding: int = 0
    bill: Point | None = None
    total_fee: int = 0
    blinding: int = 0
    #: The component's position in the tariff, and the bill's shared peaks
    #: (:mod:`privbill.billing.peaks`): the prover's proven peaks, the verifier's statements.
    index: int = 0
    peaks: Mapping[Key, ProvedPeak] | None = None
    peak_differences: Mapping[Key, list[Point]] = field(default_factory=dict)


class ChargeBilling(Protocol):
    """A kind's billing module: its ``prove_charge`` gives ``(proof, fee, fee blinding)`` (for a
    component that settles last: what it adds to the total and to the blinding), its
    ``verify_charge`` the fee commitments (none for one that settles last: it checks the billed
    total itself)."""

    def prove_charge(
        self, component: Any, load: LoadView, ctx: ChargeContext
    ) -> tuple[ComponentProof, int, int]: ...

    def verify_charge(
        self, component: Any, proof: Any, load: LoadView, ctx: ChargeContext
    ) -> list[Point]: ...

    def needs_readings(self, component: Any, proof: Any) -> bool: ...


@cache
def billing(kind: str) -> ChargeBilling:
    """The module that proves and verifies components of ``kind`` (named by its class)."""
    cls = KINDS.component(kind)
    assert cls is not None
    return cast(ChargeBilling, importlib.import_module(cls.billing_module))


def load_view(
    body: TariffBody,
    period: BillingPeriod,
    meters: Sequence[MeterData],
    needs_load: bool,
    *,
    openings: bool,
    registers: MeterRegisters | None = None,
    amount: Callable[[TieredEnergy], Point] | None = None,
) -> LoadView:
    """The view of ``meters``; with ``needs_load`` the account's load (one interval length, or a
    :class:`TariffMismatchError`), with ``openings`` the prover's values and blindings of it."""
    view = LoadView(body, period, meters, len(period.local_days(body.tz)), registers, amount)
    if needs_load:
        view.interval_s = common_interval([m.interval_s for m in meters])
        view.first, view.count = period.intervals(view.interval_s)
        if openings:
            view.values, view.blindings = load_openings(meters)
        else:
            view._points = load_points(meters)
    return view


def _peak_sets(
    body: TariffBody,
    load: LoadView,
    contexts: Sequence[bytes],
    proofs: Sequence[ComponentProof] | None,
) -> list[PeakSet]:
    """Every range-proven window of the bill, from the kinds that have them (a module's
    ``charge_peak_sets``): the prover's (``proofs`` None) or those the proofs prove."""
    out: list[PeakSet] = []
    for i, c in enumerate(body.components):
        find = getattr(billing(c.kind), "charge_peak_sets", None)
        if find is not None and not c.settles_last:
            ctx = ChargeContext(contexts[i], f"components[{i}]", index=i)
            out += find(c, load, ctx, None if proofs is None else proofs[i])
    return out


def prove_all(
    body: TariffBody,
    period: BillingPeriod,
    meters: Sequence[MeterData],
    contexts: Sequence[bytes],
    subtotal: int,
    subtotal_blinding: int,
    registers: MeterRegisters | None = None,
) -> tuple[list[ComponentProof], int, int]:
    """Proofs for every component, and the billed total with the blinding to reveal."""
    needs_load = any(c.needs_load for c in body.components)
    load = load_view(body, period, meters, needs_load, openings=True, registers=registers)
    proofs: list[ComponentProof | None] = [None] * len(body.components)
    total, blind = subtotal, subtotal_blinding
    # Every window's peak is committed and range-proven first, all at once (billing/peaks.py).
    sets = _peak_sets(body, load, contexts, None)
    peaks = prove_peaks(sets, load.values, load.blindings, load.points) if sets else {}
    # Components that settle last (the minimum bill) see the total of all the others.
    for last in (False, True):
        for i, c in enumerate(body.components):
            if c.settles_last != last:
                continue
            ctx = ChargeContext(
                contexts[i],
                f"components[{i}]",
                so_far=total,
                so_far_blinding=blind,
                index=i,
                peaks=peaks,
            )
            proofs[i], fee, fb = billing(c.kind).prove_charge(c, load, ctx)
            total += fee
            blind = (blind + fb) % group.ORDER
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
    registers: MeterRegisters | None = None,
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
    # The verifier needs the account's load exactly where the prover does (tiers that count one
    # channel look at its meters alone), except that a register bill's tiers count its energy
    # registers; it adds the load up before any proof is looked at.
    needs_load = any(
        c.needs_load and not (tiered_amount is not None and isinstance(c, TieredEnergy))
        for c in body.components
    )
    load = load_view(
        body,
        period,
        meters,
        needs_load,
        openings=False,
        registers=registers,
        amount=tiered_amount,
    )
    fees: list[Point] = [subtotal]
    for i, (c, p) in enumerate(zip(body.components, proofs, strict=True)):
        if p.kind != c.kind:
            raise DecodeError(
                f"the tariff's component is {c.kind}, the proof is {p.kind}",
                obj=OBJ,
                field=f"components[{i}].kind",
            )
    # The statements of the windows' peaks (shared between windows: billing/peaks.py).
    sets = _peak_sets(body, load, contexts, proofs)
    differences = peak_differences(sets, load.points) if sets else {}
    # Every demand component's range proofs are verified together, after the loop.
    batch = RangeBatch()
    for i, (c, p) in enumerate(zip(body.components, proofs, strict=True)):
        if not c.settles_last:
            ctx = ChargeContext(
                contexts[i], f"components[{i}]", batch, index=i, peak_differences=differences
            )
            fees += billing(c.kind).verify_charge(c, p, load, ctx)
    fees += batch.settle()
    full = group.point_sum(fees)
    last = [i for i, c in enumerate(body.components) if c.settles_last]
    if not last:
        if not energy.verify(total_fee, blinding, full):
            raise FeeMismatchError(
                "total fee does not match the committed readings and the tariff",
                obj=OBJ,
                field="total_fee",
            )
        return
    for i in last:
        c = body.components[i]
        ctx = ChargeContext(
            contexts[i], f"components[{i}]", bill=full, total_fee=total_fee, blinding=blinding
        )
        billing(c.kind).verify_charge(c, proofs[i], load, ctx)
