"""Charge components beyond the per-interval energy price: tiers, demand, minimum bill.

Each component has a cleartext meaning (``fee``), written here once; ``privbill.billing`` proves
the same value in zero knowledge. Units are exact integers:

* tier bounds of energy in Wh, of demand in W; prices in 10⁻⁶ currency per kWh or per kW;
* fees in 10⁻⁹ currency (``price × Wh`` and ``price × W`` are both exactly 10⁻⁹ currency).

``TieredEnergy`` charges the period's consumption (all intervals, or those in some time-of-use
periods) by cumulative tiers. ``Demand`` charges, per window of a month × day-type × hour schedule,
the largest interval demand in the window (kW = Wh per interval × 3600 / interval seconds / 1000)
by tiers. ``Minimum`` raises the bill to a monthly minimum.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar, Final, Self, cast

from privbill.errors import DecodeError, TariffError, TariffMismatchError
from privbill.model import codec, money
from privbill.model.charge import ChargeComponent, Registry
from privbill.model.ids import is_identifier
from privbill.model.interval_components import BlockCharge, PolynomialCharge
from privbill.model.periods import local_time
from privbill.model.schedules import CELLS, NONE, check_table, parse_table, table_rows
from privbill.model.wording import kwh, price_text, schedule_lines, tier_lines

if TYPE_CHECKING:
    from privbill.billing.cleartext import ClearLoad

OBJ: Final = "tariff"
DESC: Final = "tariff description"
MAX_TIERS: Final = 16
MAX_WINDOWS: Final = 16
MAX_BOUND: Final = 2**48  # Wh or W
DEMAND_BITS: Final = (8, 16, 32)
#: Range of one interval's Wh in demand and hours-use proofs unless the tariff says otherwise:
#: 32 bits hold every reading a meter signs (``money.MAX_WH_PER_INTERVAL``), so no customer is too
#: large for a tariff; a tariff for small loads may declare 16 (or 8) to halve the proof's work.
DEFAULT_DEMAND_BITS: Final = 32
MAX_LOOKUP_VALUES: Final = 64
MAX_HOURS: Final = 2**20  # hours-use tier bounds, kWh per kW


@dataclass(frozen=True, slots=True)
class Tier:
    """Up to ``up_to`` (cumulative, Wh or W; ``None``: unbounded) at ``price`` per kWh or kW."""

    up_to: int | None
    price: int

    def to_obj(self) -> dict[str, Any]:
        return {"up_to": self.up_to, "price": self.price}


def tiered_fee(tiers: Sequence[Tier], amount: int, scale: int = 1) -> int:
    """Σ price_j × (part of ``amount`` in tier j); tier bounds multiplied by ``scale``."""
    fee, lower = 0, 0
    for t in tiers:
        upper = None if t.up_to is None else t.up_to * scale
        part = max(0, (amount if upper is None else min(amount, upper)) - lower)
        fee += t.price * part
        if upper is None or amount <= upper:
            break
        lower = upper
    return fee


def tier_parts(tiers: Sequence[Tier], amount: int, scale: int = 1) -> list[int]:
    """How much of ``amount`` falls in each tier (filled in order)."""
    parts, lower = [], 0
    for t in tiers:
        upper = None if t.up_to is None else t.up_to * scale
        part = max(0, (amount if upper is None else min(amount, upper)) - lower)
        parts.append(part)
        lower = upper if upper is not None else lower
    return parts


def _check_tiers(tiers: Sequence[Tier], where: str, *, nonnegative: bool) -> None:
    if not 1 <= len(tiers) <= MAX_TIERS:
        raise TariffError(f"expected 1..{MAX_TIERS} tiers", obj=OBJ, field=where)
    previous = 0
    for j, t in enumerate(tiers):
        last = j == len(tiers) - 1
        if (t.up_to is None) != last:
            raise TariffError(
                "only the last tier is unbounded, and it must be", obj=OBJ, field=f"{where}[{j}]"
            )
        if t.up_to is not None and not previous < t.up_to <= MAX_BOUND:
            raise TariffError("tier bounds must increase", obj=OBJ, field=f"{where}[{j}]")
        if abs(t.price) > money.MAX_ABS_PRICE or (nonnegative and t.price < 0):
            raise TariffError("price out of range", obj=OBJ, field=f"{where}[{j}].price")
        previous = t.up_to or previous


def _tiers_from_obj(f: codec.Fields, key: str) -> tuple[Tier, ...]:
    out = []
    lim = money.MAX_ABS_PRICE
    for j, item in enumerate(f.array(key, 1, MAX_TIERS)):
        t = codec.Fields(item, OBJ, {"up_to", "price"}, path=f"{f.path}.{key}[{j}]")
        up = None if t.raw("up_to") is None else t.integer("up_to", 1, MAX_BOUND)
        out.append(Tier(up, t.integer("price", -lim, lim)))
    return tuple(out)


def _periods_from_desc(d: Mapping[str, Any], where: str) -> tuple[int, ...] | None:
    periods = d.get("periods")
    if periods is None:
        return None
    if not isinstance(periods, list) or not all(
        isinstance(p, int) and not isinstance(p, bool) and 0 <= p < 64 for p in periods
    ):
        raise TariffError(
            "expected null or a list of period numbers", obj=DESC, field=f"{where}.periods"
        )
    return tuple(sorted(set(periods)))


def _tiers_from_desc(
    value: Any, where: str, bound_key: str, price_key: str, bound_digits: int = 3
) -> tuple[Tier, ...]:
    if not isinstance(value, list) or not 1 <= len(value) <= MAX_TIERS:
        raise TariffError(f"expected a list of 1..{MAX_TIERS} tiers", obj=DESC, field=where)
    out = []
    for j, item in enumerate(value):
        w = f"{where}[{j}]"
        if not isinstance(item, dict):
            raise TariffError("expected an object", obj=DESC, field=w)
        for k in item:
            if k not in (bound_key, price_key):
                raise TariffError("unknown field", obj=DESC, field=f"{w}.{k}")
        if price_key not in item:
            raise TariffError("missing field", obj=DESC, field=f"{w}.{price_key}")
        bound = item.get(bound_key)
        try:
            up = None if bound is None else money.parse_scaled(_decimal_text(bound), bound_digits)
            price = money.parse_price(_decimal_text(item[price_key]))
        except (money.AmountError, TypeError) as exc:
            raise TariffError(str(exc), obj=DESC, field=w) from None
        out.append(Tier(up, price))
    return tuple(out)


def _decimal_text(v: Any) -> str | int:
    if isinstance(v, float | bool) or not isinstance(v, str | int):
        raise money.AmountError(
            "write amounts as decimal strings, not JSON numbers with a fraction"
        )
    return v


def _check_periods(periods: tuple[int, ...] | None, n_periods: int | None, where: str) -> None:
    if periods is None:
        return
    if n_periods is None:
        raise TariffError(
            "period-restricted tiers need a time-of-use energy schedule",
            obj=OBJ,
            field=f"{where}.periods",
        )
    if not periods or list(periods) != sorted(set(periods)):
        raise TariffError("periods must be sorted and distinct", obj=OBJ, field=f"{where}.periods")
    if periods[-1] >= n_periods:
        raise TariffError("no such time-of-use period", obj=OBJ, field=f"{where}.periods")


def _check_keys(d: Mapping[str, Any], allowed: set[str], where: str) -> None:
    for k in d:
        if k not in allowed:
            raise TariffError("unknown field", obj=DESC, field=f"{where}.{k}")


def _periods_from_obj(f: codec.Fields) -> tuple[int, ...] | None:
    raw = f.raw("periods")
    return None if raw is None else tuple(f.int_list("periods", 0, 63, 1, 64))


def _unit_from_desc(d: Mapping[str, Any], where: str) -> bool:
    """Whether the description's ``unit`` is ``day`` (else ``month``, the default)."""
    unit = d.get("unit", "month")
    if unit not in ("month", "day"):
        raise TariffError("unit must be 'month' or 'day'", obj=DESC, field=f"{where}.unit")
    return bool(unit == "day")


def _bits_from_desc(d: Mapping[str, Any], where: str) -> int:
    bits = d.get("bits", DEFAULT_DEMAND_BITS)
    if bits not in DEMAND_BITS:
        raise TariffError(f"bits must be one of {DEMAND_BITS}", obj=DESC, field=f"{where}.bits")
    return int(bits)


def _shown_tiers(ts: Sequence[Tier], unit: str, per: str, digits: int = 3) -> list[dict[str, Any]]:
    return [
        {
            f"up_to_{unit}": None if t.up_to is None else money.format_scaled(t.up_to, digits),
            per: money.format_scaled(t.price, money.PRICE_DIGITS),
        }
        for t in ts
    ]


def _schedule_from_desc(
    d: Mapping[str, Any], n: int, where: str, what: str, *, allow_none: bool
) -> tuple[bytes, bytes]:
    """The weekday and weekend tables of ``n`` windows or bands: one of them needs none."""
    if "weekday_schedule" in d:
        wd = parse_table(
            d["weekday_schedule"], n, f"{where}.weekday_schedule", allow_none=allow_none
        )
    elif n == 1:
        wd = bytes(CELLS)  # flat: every hour in window (band) 0
    else:
        raise TariffError(
            f"several {what} need a schedule", obj=DESC, field=f"{where}.weekday_schedule"
        )
    we = (
        parse_table(d["weekend_schedule"], n, f"{where}.weekend_schedule", allow_none=allow_none)
        if "weekend_schedule" in d
        else wd
    )
    return wd, we


@dataclass(frozen=True, slots=True)
class TieredEnergy(ChargeComponent):
    """Cumulative tiers on the billing period's consumption (all intervals, or the intervals of
    some time-of-use periods). With ``per_day`` the tier bounds are per day, scaled by the days
    billed; otherwise they are per calendar month (and the bill must be one). With ``channel``
    only the meters certified for that channel count (a licensed feature, one register of a
    multi-channel meter); otherwise every meter of the bill does."""

    kind: ClassVar[str] = "tiered"
    billing_module: ClassVar[str] = "privbill.billing.tiered"

    name: str
    periods: tuple[int, ...] | None
    per_day: bool
    tiers: tuple[Tier, ...]
    channel: str | None = None

    @classmethod
    def from_obj(cls, value: object, path: str) -> Self:
        f = codec.Fields(
            value, OBJ, {"kind", "name", "periods", "per_day", "tiers"}, {"channel"}, path=path
        )
        periods = _periods_from_obj(f)
        per_day = f.raw("per_day")
        if not isinstance(per_day, bool):
            raise f.error("per_day", "expected true or false")
        channel = f.text("channel", 64, is_identifier) if f.has("channel") else None
        return cls(f.text("name", 64), periods, per_day, _tiers_from_obj(f, "tiers"), channel)

    @classmethod
    def from_description(cls, d: dict[str, Any], name: str, where: str) -> Self:
        _check_keys(d, {"kind", "name", "periods", "unit", "tiers", "channel"}, where)
        periods = _periods_from_desc(d, where)
        per_day = _unit_from_desc(d, where)
        tiers = _tiers_from_desc(d.get("tiers"), f"{where}.tiers", "up_to_kwh", "price")
        channel = d.get("channel")
        if channel is not None and (not isinstance(channel, str) or not is_identifier(channel)):
            raise TariffError(
                "expected the name of a meter channel (an identifier)",
                obj=DESC,
                field=f"{where}.channel",
            )
        return cls(name, periods, per_day, tiers, channel)

    def to_obj(self) -> dict[str, Any]:
        obj: dict[str, Any] = {
            "kind": self.kind,
            "name": self.name,
            "periods": None if self.periods is None else list(self.periods),
            "per_day": self.per_day,
            "tiers": [t.to_obj() for t in self.tiers],
        }
        if self.channel is not None:
            obj["channel"] = self.channel
        return obj

    def describe(self) -> dict[str, Any]:
        shown: dict[str, Any] = {
            "kind": self.kind,
            "name": self.name,
            "periods": None if self.periods is None else list(self.periods),
            "unit": "day" if self.per_day else "month",
            "tiers": _shown_tiers(self.tiers, "kwh", "price"),
        }
        if self.channel is not None:
            shown["channel"] = self.channel
        return shown

    def describe_lines(self, number: int, period_names: Sequence[str], currency: str) -> list[str]:
        on = (
            "all consumption"
            if self.periods is None
            else "consumption in " + ", ".join(period_names[p] for p in self.periods)
        )
        if self.channel is not None:
            on += f" of the meters of channel {self.channel!r}"
        per = "per day (bounds times the days billed)" if self.per_day else "per calendar month"
        # a channel's meter counts uses, minutes, calls: "kWh" reads "thousand"
        unit = "kWh" if self.channel is None else "thousand"
        return [
            f"  {number}. tiers {self.name!r}: {on}, tiers {per}",
            *tier_lines(self.tiers, unit, unit, currency, "       "),
        ]

    def validate(self, n_periods: int | None, where: str) -> None:
        _check_tiers(self.tiers, f"{where}.tiers", nonnegative=False)
        _check_periods(self.periods, n_periods, where)
        if self.channel is not None and not is_identifier(self.channel):
            raise TariffError("a channel name is an identifier", obj=OBJ, field=f"{where}.channel")

    @property
    def needs_load(self) -> bool:
        return self.channel is None

    @property
    def needs_calendar_month(self) -> bool:
        return not self.per_day

    def scale(self, days: int) -> int:
        return days if self.per_day else 1

    def fee(self, consumption_wh: int, days: int) -> int:
        return tiered_fee(self.tiers, consumption_wh, self.scale(days))

    def _counted(self, load: ClearLoad) -> int:
        counted = load.counted(self.channel)
        return sum(counted.values[k] for k in load.indices(self, counted))

    def cleartext_fees(self, load: ClearLoad) -> list[tuple[str, int]]:
        return [(self.name, self.fee(self._counted(load), load.days))]

    def explain(self, load: ClearLoad, unit: str) -> list[tuple[str, dict[str, Any]]]:
        consumption = self._counted(load)
        parts = tier_parts(self.tiers, consumption, self.scale(load.days))
        reached = max((j for j, p in enumerate(parts) if p), default=0)
        shown = ", ".join(
            f"tier {j + 1}: {kwh(p)} {unit}" for j, p in enumerate(parts) if p or j == 0
        )
        detail = (
            f"{kwh(consumption)} {unit}; {shown} (tier {reached + 1} of {len(self.tiers)} reached)"
        )
        data = {"consumption_wh": consumption, "tier_wh": parts, "tier_reached": reached + 1}
        return [(detail, data)]


@dataclass(frozen=True, slots=True)
class HoursUse(ChargeComponent):
    """Tiers whose widths are hours of the month's billing demand ("kWh per kW", hours-use or
    load-factor tiers): tier ``j`` holds up to ``up_to_j × D`` Wh of the counted consumption,
    where ``D`` is the billing demand in W — the largest interval demand of the month
    (Wh per interval × 3600 / interval seconds). Bounds are whole hours (kWh per kW).

    With ``per_day`` the widths are per day of billing demand ("kWh/kW daily"): ``up_to_j × D ×
    days billed``.

    Prices must not increase from one tier to the next: then a larger ``D`` can only raise the
    fee, so proving ``D`` at least the largest interval demand is enough (the customer cannot gain
    by overstating it). ``bits`` bounds one interval's consumption in that proof."""

    kind: ClassVar[str] = "hours-use"
    billing_module: ClassVar[str] = "privbill.billing.hours_use"

    name: str
    periods: tuple[int, ...] | None
    tiers: tuple[Tier, ...]
    bits: int = DEFAULT_DEMAND_BITS
    per_day: bool = False

    @classmethod
    def from_obj(cls, value: object, path: str) -> Self:
        f = codec.Fields(
            value, OBJ, {"kind", "name", "periods", "tiers", "bits"}, {"per_day"}, path=path
        )
        periods = _periods_from_obj(f)
        per_day = f.has("per_day")
        if per_day and f.raw("per_day") is not True:
            raise f.error("per_day", "written only as true (absent for monthly tiers)")
        return cls(
            f.text("name", 64),
            periods,
            _tiers_from_obj(f, "tiers"),
            f.integer("bits", 8, 64),
            per_day,
        )

    @classmethod
    def from_description(cls, d: dict[str, Any], name: str, where: str) -> Self:
        _check_keys(d, {"kind", "name", "periods", "tiers", "bits", "unit"}, where)
        tiers = _tiers_from_desc(
            d.get("tiers"), f"{where}.tiers", "up_to_kwh_per_kw", "price", bound_digits=0
        )
        bits = _bits_from_desc(d, where)
        per_day = _unit_from_desc(d, where)
        return cls(name, _periods_from_desc(d, where), tiers, bits, per_day)

    def to_obj(self) -> dict[str, Any]:
        obj: dict[str, Any] = {
            "kind": self.kind,
            "name": self.name,
            "periods": None if self.periods is None else list(self.periods),
            "tiers": [t.to_obj() for t in self.tiers],
            "bits": self.bits,
        }
        if self.per_day:  # written only when true: one encoding, monthly tariffs unchanged
            obj["per_day"] = True
        return obj

    def describe(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "name": self.name,
            "periods": None if self.periods is None else list(self.periods),
            "unit": "day" if self.per_day else "month",
            "tiers": _shown_tiers(self.tiers, "kwh_per_kw", "price", 0),
            "bits": self.bits,
        }

    def describe_lines(self, number: int, period_names: Sequence[str], currency: str) -> list[str]:
        on = (
            "all consumption"
            if self.periods is None
            else "consumption in " + ", ".join(period_names[p] for p in self.periods)
        )
        per = " per day" if self.per_day else ""
        out = [
            f"  {number}. hours-use tiers {self.name!r}: {on}, tier widths in kWh per kW of the "
            f"month's billing demand (its largest interval demand){per}"
        ]
        lower = "0"
        for t in self.tiers:
            upper = None if t.up_to is None else str(t.up_to)
            span = f"{lower}..{upper} kWh/kW" if upper else f"above {lower} kWh/kW"
            out.append(f"       {span:<24} {price_text(t.price)} {currency}/kWh")
            lower = upper or lower
        return out

    def validate(self, n_periods: int | None, where: str) -> None:
        _check_tiers(self.tiers, f"{where}.tiers", nonnegative=False)
        if any(t.up_to is not None and t.up_to > MAX_HOURS for t in self.tiers):
            raise TariffError(
                f"hours-use tier bounds are at most {MAX_HOURS} kWh per kW",
                obj=OBJ,
                field=f"{where}.tiers",
            )
        for j in range(len(self.tiers) - 1):
            if self.tiers[j + 1].price > self.tiers[j].price:
                raise TariffError(
                    "hours-use tier prices must not increase (a later tier dearer than an earlier "
                    "one would reward overstating the billing demand)",
                    obj=OBJ,
                    field=f"{where}.tiers[{j + 1}].price",
                )
        _check_periods(self.periods, n_periods, where)
        if self.bits not in DEMAND_BITS:
            raise TariffError(f"bits must be one of {DEMAND_BITS}", obj=OBJ, field=f"{where}.bits")

    @property
    def needs_load(self) -> bool:
        return True

    @property
    def needs_calendar_month(self) -> bool:
        return True

    def scale(self, days: int) -> int:
        """Multiplier of the billing demand in the tier widths: the days billed, or 1."""
        return days if self.per_day else 1

    def fee(self, consumption_wh: int, peak_wh: int, interval_s: int, days: int = 1) -> int:
        """Fee of ``consumption_wh`` with the month's largest interval ``peak_wh`` (``days``
        billed: used by per-day tiers)."""
        return tiered_fee(
            self.tiers, consumption_wh, peak_wh * (3600 // interval_s) * self.scale(days)
        )

    def cleartext_fees(self, load: ClearLoad) -> list[tuple[str, int]]:
        m = load.load
        amount = sum(m.values[k] for k in load.indices(self, m))
        return [(self.name, self.fee(amount, max(m.values), m.interval_s, load.days))]


@dataclass(frozen=True, slots=True)
class DemandWindow:
    name: str
    tiers: tuple[Tier, ...]  # bounds in W, prices per kW

    def to_obj(self) -> dict[str, Any]:
        return {"name": self.name, "tiers": [t.to_obj() for t in self.tiers]}


@dataclass(frozen=True, slots=True)
class Demand(ChargeComponent):
    """Per window: tiers on the window's largest interval demand in the billing month.

    ``weekday``/``weekend`` map each month and local hour to a window (255: none); a flat demand
    charge is one window covering every hour. ``bits`` bounds one interval's consumption in the
    zero-knowledge proof (values must be below 2^bits Wh)."""

    kind: ClassVar[str] = "demand"
    billing_module: ClassVar[str] = "privbill.billing.demand"

    name: str
    windows: tuple[DemandWindow, ...]
    weekday: bytes
    weekend: bytes
    bits: int = DEFAULT_DEMAND_BITS

    @classmethod
    def from_obj(cls, value: object, path: str) -> Self:
        f = codec.Fields(
            value, OBJ, {"kind", "name", "windows", "weekday", "weekend", "bits"}, path=path
        )
        windows = []
        for w, item in enumerate(f.array("windows", 1, MAX_WINDOWS)):
            wf = codec.Fields(item, OBJ, {"name", "tiers"}, path=f"{path}.windows[{w}]")
            windows.append(DemandWindow(wf.text("name", 64), _tiers_from_obj(wf, "tiers")))
        return cls(
            f.text("name", 64),
            tuple(windows),
            f.octets("weekday", CELLS),
            f.octets("weekend", CELLS),
            f.integer("bits", 8, 64),
        )

    @classmethod
    def from_description(cls, d: dict[str, Any], name: str, where: str) -> Self:
        _check_keys(
            d, {"kind", "name", "windows", "weekday_schedule", "weekend_schedule", "bits"}, where
        )
        raw_windows = d.get("windows")
        if not isinstance(raw_windows, list) or not 1 <= len(raw_windows) <= MAX_WINDOWS:
            raise TariffError(
                f"expected 1..{MAX_WINDOWS} windows", obj=DESC, field=f"{where}.windows"
            )
        windows = []
        for w, item in enumerate(raw_windows):
            ww = f"{where}.windows[{w}]"
            if not isinstance(item, dict):
                raise TariffError("expected an object", obj=DESC, field=ww)
            _check_keys(item, {"name", "tiers"}, ww)
            wname = item.get("name", f"window {w}")
            if not isinstance(wname, str):
                raise TariffError("expected text", obj=DESC, field=f"{ww}.name")
            windows.append(
                DemandWindow(
                    wname,
                    _tiers_from_desc(item.get("tiers"), f"{ww}.tiers", "up_to_kw", "price_per_kw"),
                )
            )
        wd, we = _schedule_from_desc(d, len(windows), where, "windows", allow_none=True)
        return cls(name, tuple(windows), wd, we, _bits_from_desc(d, where))

    def to_obj(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "name": self.name,
            "windows": [w.to_obj() for w in self.windows],
            "weekday": self.weekday,
            "weekend": self.weekend,
            "bits": self.bits,
        }

    def describe(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "name": self.name,
            "windows": [
                {"name": w.name, "tiers": _shown_tiers(w.tiers, "kw", "price_per_kw")}
                for w in self.windows
            ],
            "weekday_schedule": table_rows(self.weekday),
            "weekend_schedule": table_rows(self.weekend),
            "bits": self.bits,
        }

    def describe_lines(self, number: int, period_names: Sequence[str], currency: str) -> list[str]:
        out = [
            f"  {number}. demand {self.name!r}: the month's largest interval demand in each window"
        ]
        for w, win in enumerate(self.windows):
            out.append(f"       window {w}: {win.name}")
            out += tier_lines(win.tiers, "kW", "kW", currency, "         ")
        return out + schedule_lines(self.weekday, self.weekend, "       ")

    def validate(self, n_periods: int | None, where: str) -> None:
        if not 1 <= len(self.windows) <= MAX_WINDOWS:
            raise TariffError(
                f"expected 1..{MAX_WINDOWS} windows", obj=OBJ, field=f"{where}.windows"
            )
        for w, win in enumerate(self.windows):
            _check_tiers(win.tiers, f"{where}.windows[{w}].tiers", nonnegative=True)
        check_table(self.weekday, len(self.windows), f"{where}.weekday_schedule", allow_none=True)
        check_table(self.weekend, len(self.windows), f"{where}.weekend_schedule", allow_none=True)
        if self.bits not in DEMAND_BITS:
            raise TariffError(f"bits must be one of {DEMAND_BITS}", obj=OBJ, field=f"{where}.bits")

    @property
    def needs_load(self) -> bool:
        return True

    @property
    def needs_calendar_month(self) -> bool:
        return True

    def fee(self, window: int, max_wh: int, interval_s: int) -> int:
        """Fee of one window given its largest interval consumption."""
        return tiered_fee(self.windows[window].tiers, max_wh * (3600 // interval_s))

    def cleartext_fees(self, load: ClearLoad) -> list[tuple[str, int]]:
        m = load.load
        return [
            (
                f"{self.name}: {self.windows[w].name}",
                self.fee(w, max((m.values[k] for k in idx), default=0), m.interval_s),
            )
            for w, idx in enumerate(load.windows(self))
        ]

    def explain(self, load: ClearLoad, unit: str) -> list[tuple[str, dict[str, Any]]]:
        m = load.load
        out: list[tuple[str, dict[str, Any]]] = []
        for idx in load.windows(self):
            if not idx:
                out.append(("no interval in this window", {}))
                continue
            k = max(idx, key=lambda j: (m.values[j], -j))
            watts = m.values[k] * (3600 // m.interval_s)
            when = local_time((m.first + k) * m.interval_s, load.body.tz)
            detail = f"peak {money.format_scaled(watts, 3)} kW at {when}"
            out.append((detail, {"peak_w": watts, "peak_at": when}))
        return out


@dataclass(frozen=True, slots=True)
class Minimum(ChargeComponent):
    """The bill (everything else included) is at least ``per_month`` per calendar month."""

    kind: ClassVar[str] = "minimum"
    billing_module: ClassVar[str] = "privbill.billing.minimum"
    settles_last: ClassVar[bool] = True
    at_most_one: ClassVar[bool] = True

    per_month: int

    @classmethod
    def from_obj(cls, value: object, path: str) -> Self:
        f = codec.Fields(value, OBJ, {"kind", "per_month"}, path=path)
        return cls(f.integer("per_month", 1, money.MAX_ABS_FIXED_FEE))

    @classmethod
    def from_description(cls, d: dict[str, Any], name: str, where: str) -> Self:
        _check_keys(d, {"kind", "name", "per_month"}, where)
        try:
            amount = money.parse_fee(_decimal_text(d.get("per_month")))
        except money.AmountError as exc:
            raise TariffError(str(exc), obj=DESC, field=f"{where}.per_month") from None
        return cls(amount)

    def to_obj(self) -> dict[str, Any]:
        return {"kind": self.kind, "per_month": self.per_month}

    def describe(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "per_month": money.format_scaled(self.per_month, money.FEE_DIGITS),
        }

    def describe_lines(self, number: int, period_names: Sequence[str], currency: str) -> list[str]:
        fee = money.format_scaled(self.per_month, money.FEE_DIGITS)
        return [f"  {number}. minimum bill: {fee} {currency} per calendar month"]

    def validate(self, n_periods: int | None, where: str) -> None:
        if not 0 < self.per_month <= money.MAX_ABS_FIXED_FEE:
            raise TariffError("minimum must be positive", obj=OBJ, field=f"{where}.per_month")

    @property
    def needs_load(self) -> bool:
        return False

    @property
    def needs_calendar_month(self) -> bool:
        return True

    def cleartext_fees(self, load: ClearLoad) -> list[tuple[str, int]]:
        """The top-up that raises the rest of the bill to the minimum."""
        return [("minimum", max(0, self.per_month - load.so_far))]

    def explain(self, load: ClearLoad, unit: str) -> list[tuple[str, dict[str, Any]]]:
        """Nothing: the top-up is shown with the bill's total."""
        return []


@dataclass(frozen=True, slots=True)
class LookupBand:
    name: str
    prices: tuple[int, ...]  # one per allowed attribute value: 10⁻⁶ currency per 1000 units

    def to_obj(self) -> dict[str, Any]:
        return {"name": self.name, "prices": list(self.prices)}


@dataclass(frozen=True, slots=True)
class Lookup(ChargeComponent):
    """Price per unit of the metered quantity from a public table, indexed by a private
    attribute the meter commits to with each reading (a road class, a toll zone) and by a public
    time band (a month × day-type × hour schedule, like time-of-use periods).

    Prices are in 10⁻⁶ currency per 1000 quantity units (per km when the meter counts metres,
    per kWh when it counts Wh), so ``price × quantity`` is a fee in 10⁻⁹ currency. The attribute
    of every interval must be one of ``values``."""

    kind: ClassVar[str] = "lookup"
    billing_module: ClassVar[str] = "privbill.billing.lookup"
    explain_text: ClassVar[str] = "priced by the private attribute of each reading"

    name: str
    attribute: str
    values: tuple[int, ...]
    bands: tuple[LookupBand, ...]
    weekday: bytes
    weekend: bytes

    @classmethod
    def from_obj(cls, value: object, path: str) -> Self:
        f = codec.Fields(
            value,
            OBJ,
            {"kind", "name", "attribute", "values", "bands", "weekday", "weekend"},
            path=path,
        )
        lim = money.MAX_ABS_PRICE
        bands = []
        for b, item in enumerate(f.array("bands", 1, MAX_WINDOWS)):
            bf = codec.Fields(item, OBJ, {"name", "prices"}, path=f"{path}.bands[{b}]")
            bands.append(
                LookupBand(
                    bf.text("name", 64),
                    tuple(bf.int_list("prices", -lim, lim, 1, MAX_LOOKUP_VALUES)),
                )
            )
        return cls(
            f.text("name", 64),
            f.text("attribute", 64, is_identifier),
            tuple(f.int_list("values", 0, 2**32 - 1, 1, MAX_LOOKUP_VALUES)),
            tuple(bands),
            f.octets("weekday", CELLS),
            f.octets("weekend", CELLS),
        )

    @classmethod
    def from_description(cls, d: dict[str, Any], name: str, where: str) -> Self:
        _check_keys(
            d,
            {
                "kind",
                "name",
                "attribute",
                "values",
                "bands",
                "weekday_schedule",
                "weekend_schedule",
            },
            where,
        )
        attribute = d.get("attribute")
        if not isinstance(attribute, str) or not is_identifier(attribute):
            raise TariffError(
                "expected the meter attribute's name", obj=DESC, field=f"{where}.attribute"
            )
        values = d.get("values")
        if not isinstance(values, list) or not all(
            isinstance(v, int) and not isinstance(v, bool) for v in values
        ):
            raise TariffError(
                "expected a list of integer attribute values", obj=DESC, field=f"{where}.values"
            )
        raw_bands = d.get("bands")
        if not isinstance(raw_bands, list) or not raw_bands:
            raise TariffError("expected a list of bands", obj=DESC, field=f"{where}.bands")
        bands = []
        for b, item in enumerate(raw_bands):
            bw = f"{where}.bands[{b}]"
            if not isinstance(item, dict):
                raise TariffError("expected an object", obj=DESC, field=bw)
            _check_keys(item, {"name", "prices"}, bw)
            prices = item.get("prices")
            if not isinstance(prices, list):
                raise TariffError("expected a list of prices", obj=DESC, field=f"{bw}.prices")
            try:
                parsed = tuple(money.parse_price(_decimal_text(p)) for p in prices)
            except money.AmountError as exc:
                raise TariffError(str(exc), obj=DESC, field=f"{bw}.prices") from None
            bands.append(LookupBand(str(item.get("name", f"band {b}")), parsed))
        wd, we = _schedule_from_desc(d, len(bands), where, "bands", allow_none=False)
        return cls(name, attribute, tuple(values), tuple(bands), wd, we)

    def to_obj(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "name": self.name,
            "attribute": self.attribute,
            "values": list(self.values),
            "bands": [b.to_obj() for b in self.bands],
            "weekday": self.weekday,
            "weekend": self.weekend,
        }

    def describe(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "name": self.name,
            "attribute": self.attribute,
            "values": list(self.values),
            "bands": [
                {"name": b.name, "prices": [price_text(p) for p in b.prices]} for b in self.bands
            ],
            "weekday_schedule": table_rows(self.weekday),
            "weekend_schedule": table_rows(self.weekend),
        }

    def describe_lines(self, number: int, period_names: Sequence[str], currency: str) -> list[str]:
        out = [
            f"  {number}. lookup {self.name!r}: price per 1000 units by private attribute "
            f"{self.attribute!r} (values {', '.join(map(str, self.values))}) and time band"
        ]
        for b, band in enumerate(self.bands):
            prices = ", ".join(price_text(p) for p in band.prices)
            out.append(f"       band {b}: {band.name}: {prices} {currency}")
        return out + schedule_lines(self.weekday, self.weekend, "       ")

    def validate(self, n_periods: int | None, where: str) -> None:
        if not 1 <= len(self.values) <= MAX_LOOKUP_VALUES or len(set(self.values)) != len(
            self.values
        ):
            raise TariffError(
                f"expected 1..{MAX_LOOKUP_VALUES} distinct attribute values",
                obj=OBJ,
                field=f"{where}.values",
            )
        if any(not 0 <= v < 2**32 for v in self.values):
            raise TariffError("attribute values are in [0, 2^32)", obj=OBJ, field=f"{where}.values")
        if not 1 <= len(self.bands) <= MAX_WINDOWS:
            raise TariffError(f"expected 1..{MAX_WINDOWS} bands", obj=OBJ, field=f"{where}.bands")
        for b, band in enumerate(self.bands):
            if len(band.prices) != len(self.values):
                raise TariffError(
                    "one price per attribute value", obj=OBJ, field=f"{where}.bands[{b}].prices"
                )
            if any(abs(p) > money.MAX_ABS_PRICE for p in band.prices):
                raise TariffError("price out of range", obj=OBJ, field=f"{where}.bands[{b}].prices")
        check_table(self.weekday, len(self.bands), f"{where}.weekday_schedule")
        check_table(self.weekend, len(self.bands), f"{where}.weekend_schedule")

    @property
    def needs_load(self) -> bool:
        return False

    @property
    def needs_calendar_month(self) -> bool:
        return False

    def fee(self, band: int, value: int, quantity: int) -> int:
        return self.bands[band].prices[self.values.index(value)] * quantity

    def cleartext_fees(self, load: ClearLoad) -> list[tuple[str, int]]:
        fee = 0
        for m in load.meters:
            if self.attribute not in m.attributes:
                raise TariffMismatchError(
                    f"no {self.attribute!r} attribute in the readings",
                    obj="tariff",
                    field="components",
                )
            bands = load.schedule(self.weekday, self.weekend, m)
            attrs = m.attributes[self.attribute]
            fee += sum(self.fee(b, a, q) for b, a, q in zip(bands, attrs, m.values, strict=True))
        return [(self.name, fee)]


# --- the registry: every kind, in the order descriptions name them ---------------------------

Component = TieredEnergy | HoursUse | Demand | Minimum | Lookup | BlockCharge | PolynomialCharge
KINDS: Final = Registry(
    (TieredEnergy, HoursUse, Demand, Minimum, Lookup, BlockCharge, PolynomialCharge)
)


def validate_components(components: Sequence[Component], n_periods: int | None) -> None:
    seen: dict[str, int] = {}
    for i, c in enumerate(components):
        c.validate(n_periods, f"components[{i}]")
        seen[c.kind] = seen.get(c.kind, 0) + 1
    for cls in KINDS:
        if cls.at_most_one and seen.get(cls.kind, 0) > 1:
            raise TariffError(f"at most one {cls.kind} charge", obj=OBJ, field="components")


def needs_calendar_month(components: Sequence[Component]) -> bool:
    return any(c.needs_calendar_month for c in components)


def component_from_obj(value: object, path: str) -> Component:
    kind = value.get("kind") if isinstance(value, dict) else None
    cls = KINDS.component(kind)
    if cls is None:
        raise DecodeError(f"unknown component kind {kind!r}", obj=OBJ, field=f"{path}.kind")
    return cast(Component, cls.from_obj(value, path))


def component_from_description(d: Any, where: str) -> Component:
    if not isinstance(d, dict):
        raise TariffError("expected an object", obj=DESC, field=where)
    kind = d.get("kind")
    name = d.get("name", kind or "")
    if not isinstance(name, str) or len(name) > 64:
        raise TariffError("expected a name of up to 64 characters", obj=DESC, field=f"{where}.name")
    cls = KINDS.component(kind)
    if cls is None:
        *first, last = (repr(k) for k in KINDS.kinds())
        raise TariffError(
            f"expected kind {', '.join(first)} or {last}, got {kind!r}",
            obj=DESC,
            field=f"{where}.kind",
        )
    return cast(Component, cls.from_description(d, name, where))


def describe_component(c: Component) -> dict[str, Any]:
    """A JSON-friendly view (decimal strings) for ``privbill tariff show``."""
    return c.describe()


__all__ = [
    "KINDS",
    "NONE",
    "BlockCharge",
    "ChargeComponent",
    "Component",
    "Demand",
    "DemandWindow",
    "HoursUse",
    "Lookup",
    "LookupBand",
    "Minimum",
    "PolynomialCharge",
    "Tier",
    "TieredEnergy",
    "component_from_description",
    "component_from_obj",
    "describe_component",
    "needs_calendar_month",
    "tier_parts",
    "tiered_fee",
    "validate_components",
]
