"""Tariffs: provider-signed prices for energy plus fixed charges.

Two energy-price shapes are supported:

* ``time-of-use``: a month × weekday/weekend × hour schedule of period numbers and a price per
  period, as utilities publish them (the OpenEI URDB shape). Listed holidays count as weekend days.
  An interval is priced by the local time at which it starts.
* ``dynamic``: an explicit list of prices, one per tariff interval (for example half-hourly prices
  that change every day, possibly negative). The meter interval must divide the tariff interval.

Fixed charges are per local day and per calendar month (prorated by days billed in the month,
rounded half up to the pico-currency unit). The tariff's validity window is in local dates.

The JSON description (``docs/tariff-format.md``) is parsed into a :class:`TariffBody`; the provider
signs its canonical CBOR, and :meth:`SignedTariff.hash` binds it into every bill.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from fractions import Fraction
from typing import Any, Final, Literal, cast
from zoneinfo import ZoneInfo

from privbill.crypto.hashing import DIGEST_BYTES, digest
from privbill.crypto.signatures import SIGNATURE_BYTES, SigningKey, VerifyingKey
from privbill.errors import SignatureError, TariffError, TariffMismatchError, UsageError
from privbill.model import codec, money
from privbill.model.components import (
    Component,
    component_from_description,
    component_from_obj,
    describe_component,
    needs_calendar_month,
    validate_components,
)
from privbill.model.periods import (
    MAX_CYCLE_DAYS,
    BillingCycle,
    BillingPeriod,
    local_midnight,
    zone,
)
from privbill.model.schedules import HOURS, MONTHS, check_table, parse_table, schedule_indices

FORMAT: Final = "privbill/tariff/2"
CALENDAR_MONTH: Final = BillingCycle()
DESCRIPTION_FORMAT: Final = "privbill/tariff-description/1"
PURPOSE: Final = "tariff"
OBJ: Final = "tariff"
MAX_PERIODS: Final = 64
MAX_DYNAMIC_PRICES: Final = 1 << 20
#: Decoding bounds. Depth 7: tariff → components → demand → windows → window → tiers → tier.
#: Items: the dynamic prices and everything else a tariff holds together (a string counts one
#: item per 64 bytes): 2^20, which keeps what a hostile tariff can make the decoder build near
#: 85 MiB (docs/security.md §11).
LIMITS: Final = codec.Limits(depth=7, items=codec.MAX_ITEMS, container=MAX_DYNAMIC_PRICES)

EnergyKind = Literal["time-of-use", "dynamic"]


# --- energy price shapes ---------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class TimeOfUse:
    """Month × day-type × hour schedule of period indices, and a price per period."""

    period_names: tuple[str, ...]
    period_prices: tuple[int, ...]  # nano-currency per kWh
    weekday: bytes  # 12 × 24 period indices, row-major by month then hour
    weekend: bytes
    holidays: tuple[date, ...] = ()

    kind: Literal["time-of-use"] = field(default="time-of-use", init=False)

    def to_obj(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "periods": [
                {"name": n, "price": p}
                for n, p in zip(self.period_names, self.period_prices, strict=True)
            ],
            "weekday": self.weekday,
            "weekend": self.weekend,
            "holidays": [d.isoformat() for d in self.holidays],
        }

    def validate(self) -> None:
        n = len(self.period_prices)
        if not 1 <= n <= MAX_PERIODS or len(self.period_names) != n:
            raise TariffError(
                f"a time-of-use tariff needs 1..{MAX_PERIODS} periods",
                obj=OBJ,
                field="energy.periods",
            )
        check_table(self.weekday, n, "energy.weekday_schedule")
        check_table(self.weekend, n, "energy.weekend_schedule")
        for i, p in enumerate(self.period_prices):
            if abs(p) > money.MAX_ABS_PRICE:
                raise TariffError("price out of range", obj=OBJ, field=f"energy.periods[{i}].price")
        if list(self.holidays) != sorted(set(self.holidays)):
            raise TariffError(
                "holidays must be sorted and distinct", obj=OBJ, field="energy.holidays"
            )

    def periods(self, tz: ZoneInfo, first: int, count: int, interval_s: int) -> list[int]:
        """The time-of-use period of each interval."""
        return schedule_indices(
            self.weekday, self.weekend, self.holidays, tz, first, count, interval_s, "energy"
        )

    def prices(self, tz: ZoneInfo, first: int, count: int, interval_s: int) -> list[int]:
        prices = self.period_prices
        return [prices[k] for k in self.periods(tz, first, count, interval_s)]


@dataclass(frozen=True, slots=True)
class Dynamic:
    """Explicit prices for consecutive tariff intervals starting at ``start`` (UTC seconds)."""

    interval_s: int
    start: int
    price_list: tuple[int, ...]

    kind: Literal["dynamic"] = field(default="dynamic", init=False)

    def to_obj(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "interval_s": self.interval_s,
            "start": self.start,
            "prices": list(self.price_list),
        }

    def validate(self) -> None:
        if self.interval_s <= 0 or 86400 % self.interval_s:
            raise TariffError(
                "tariff interval must divide a day", obj=OBJ, field="energy.interval_s"
            )
        if self.start % self.interval_s:
            raise TariffError(
                "start is not aligned to the tariff interval", obj=OBJ, field="energy.start"
            )
        if not 1 <= len(self.price_list) <= MAX_DYNAMIC_PRICES:
            raise TariffError(
                "a dynamic tariff needs at least one price", obj=OBJ, field="energy.prices"
            )
        for i, p in enumerate(self.price_list):
            if abs(p) > money.MAX_ABS_PRICE:
                raise TariffError("price out of range", obj=OBJ, field=f"energy.prices[{i}]")

    @property
    def end(self) -> int:
        return self.start + len(self.price_list) * self.interval_s

    def prices(self, tz: ZoneInfo, first: int, count: int, interval_s: int) -> list[int]:
        t = self.interval_s
        if t % interval_s:
            raise TariffMismatchError(
                f"meter interval {interval_s} s does not divide the tariff interval {t} s",
                obj=OBJ,
                field="energy.interval_s",
            )
        lo, hi = first * interval_s, (first + count) * interval_s
        if lo < self.start or hi > self.end:
            raise TariffMismatchError(
                "the dynamic tariff has no price for part of the billing period",
                obj=OBJ,
                field="energy.prices",
            )
        per = t // interval_s
        base = (lo - self.start) // interval_s
        pl = self.price_list
        return [pl[(base + k) // per] for k in range(count)]


Energy = TimeOfUse | Dynamic


# --- the tariff ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class TariffBody:
    name: str
    utility: str
    currency: str
    minor_unit: int
    timezone: str
    valid_from: int  # UTC seconds of local midnight, inclusive
    valid_until: int  # exclusive
    energy: Energy
    per_day: int  # pico-currency
    per_month: int  # pico-currency
    components: tuple[Component, ...] = ()
    cycle: BillingCycle = CALENDAR_MONTH

    @property
    def tz(self) -> ZoneInfo:
        return zone(self.timezone)

    def validate(self) -> None:
        money.check_currency(self.currency)
        zone(self.timezone)
        if not 0 <= self.minor_unit <= 9:
            raise TariffError("minor unit must be 0..9 digits", obj=OBJ, field="minor_unit")
        if self.valid_until <= self.valid_from:
            raise TariffError("validity window is empty", obj=OBJ, field="valid_until")
        for name in ("per_day", "per_month"):
            if abs(getattr(self, name)) > money.MAX_ABS_FIXED_FEE:
                raise TariffError("fixed charge out of range", obj=OBJ, field=f"fixed.{name}")
        self.energy.validate()
        n_periods = len(self.energy.period_prices) if isinstance(self.energy, TimeOfUse) else None
        validate_components(self.components, n_periods)
        if needs_calendar_month(self.components) and not self.cycle.monthly:
            raise TariffError(
                "monthly tiers, demand charges and minimum bills need a monthly billing cycle",
                obj=OBJ,
                field="billing_cycle",
            )

    def to_obj(self, issuer: bytes) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "name": self.name,
            "utility": self.utility,
            "currency": self.currency,
            "minor_unit": self.minor_unit,
            "timezone": self.timezone,
            "valid_from": self.valid_from,
            "valid_until": self.valid_until,
            "energy": self.energy.to_obj(),
            "fixed": {"per_day": self.per_day, "per_month": self.per_month},
            "components": [c.to_obj() for c in self.components],
            "billing_cycle": self.cycle.to_obj(),
            "issuer": issuer,
        }

    # --- what a bill needs -------------------------------------------------------------

    def check_period(self, period: BillingPeriod) -> None:
        if period.start < self.valid_from or period.end > self.valid_until:
            tz = self.tz

            def day(ts: int) -> str:
                return datetime.fromtimestamp(ts, tz).date().isoformat()

            if period.start < self.valid_from:
                which, detail = (
                    "valid_from",
                    (
                        f"the billing period starts {day(period.start)}, before the tariff's "
                        f"valid_from {day(self.valid_from)}"
                    ),
                )
            else:
                which, detail = (
                    "valid_until",
                    (
                        f"the billing period ends {day(period.end)} (exclusive), after the tariff's "
                        f"valid_until {day(self.valid_until)}"
                    ),
                )
            raise TariffMismatchError(
                f"tariff is not valid for the whole billing period: {detail} (the tariff is "
                f"valid from {day(self.valid_from)} until {day(self.valid_until)}, exclusive)",
                obj=OBJ,
                field=which,
            )
        try:
            period.local_days(self.tz)
        except UsageError as exc:
            raise TariffMismatchError(
                f"{exc.detail} in the tariff's timezone {self.timezone}", obj=OBJ, field="timezone"
            ) from None
        try:
            self.cycle.check(period, self.tz)
        except UsageError as exc:
            raise TariffMismatchError(exc.detail, obj=OBJ, field="billing_cycle") from None

    def prices(self, first: int, count: int, interval_s: int) -> list[int]:
        """Price (nano-currency per kWh) of each of ``count`` intervals from index ``first``."""
        return self.energy.prices(self.tz, first, count, interval_s)

    def fixed_charges(self, period: BillingPeriod) -> int:
        """Daily charges for every local day, plus the monthly charge: once per monthly cycle
        (prorated by days billed for a part of one), and for fixed cycles prorated by the days
        billed in each calendar month touched."""
        tz = self.tz
        days = period.local_days(tz)
        total = self.per_day * len(days)
        if self.cycle.monthly:
            cycle_days = len(self.cycle.period_of(days[0], tz).local_days(tz))
            return total + _round_half_up(Fraction(self.per_month * len(days), cycle_days))
        for _, _, frac in period.month_fractions(tz):
            total += _round_half_up(self.per_month * frac)
        return total

    # --- JSON description --------------------------------------------------------------

    @classmethod
    def from_description(cls, desc: Mapping[str, Any]) -> TariffBody:
        return _parse_description(desc)

    @classmethod
    def from_json(cls, text: str | bytes) -> TariffBody:
        try:
            desc = json.loads(text)
        except (json.JSONDecodeError, UnicodeDecodeError, RecursionError) as exc:
            raise TariffError(f"not valid JSON: {exc}", obj="tariff description") from None
        if not isinstance(desc, dict):
            raise TariffError("expected a JSON object", obj="tariff description")
        return _parse_description(desc)

    def sign(self, key: SigningKey) -> SignedTariff:
        self.validate()
        issuer = key.public_key().key_id
        sig = key.sign(PURPOSE, codec.encode(self.to_obj(issuer)))
        return SignedTariff(self, issuer, sig)


def _round_half_up(x: Fraction) -> int:
    n, d = x.numerator, x.denominator
    q, r = divmod(abs(n), d)
    if 2 * r >= d:
        q += 1
    return q if n >= 0 else -q


@dataclass(frozen=True, slots=True)
class SignedTariff:
    body: TariffBody
    issuer: bytes
    signature: bytes
    # Values derived from this immutable tariff, computed once: a provider verifies a month's
    # bills of every customer on a tariff against the same object.
    _memo: dict[object, Any] = field(
        default_factory=dict, init=False, repr=False, compare=False, hash=False
    )

    def body_bytes(self) -> bytes:
        cached = self._memo.get("body")
        if cached is None:
            cached = self._memo["body"] = codec.encode(self.body.to_obj(self.issuer))
        return cast(bytes, cached)

    def hash(self) -> bytes:
        """The tariff hash bound into bills: a domain-separated hash of the signed body."""
        cached = self._memo.get("hash")
        if cached is None:
            cached = self._memo["hash"] = digest("tariff-hash", self.body_bytes())
        return cast(bytes, cached)

    def check_period(self, period: BillingPeriod) -> None:
        """:meth:`TariffBody.check_period`, remembered for periods that passed."""
        key = ("period", period)
        if key not in self._memo:
            self.body.check_period(period)
            self._remember(key, True)

    def fixed_charges(self, period: BillingPeriod) -> int:
        """:meth:`TariffBody.fixed_charges`, remembered per period."""
        key = ("fixed", period)
        cached = self._memo.get(key)
        if cached is None:
            cached = self.body.fixed_charges(period)
            self._remember(key, cached)
        return cast(int, cached)

    def _remember(self, key: object, value: object) -> None:
        if len(self._memo) < 4096:
            self._memo[key] = value

    def encode(self) -> bytes:
        return codec.encode({**self.body.to_obj(self.issuer), "signature": self.signature})

    @classmethod
    def decode(cls, data: bytes) -> SignedTariff:
        obj = codec.decode(data, OBJ, FORMAT, LIMITS)
        return cls.from_obj(obj)

    @classmethod
    def from_obj(cls, value: object) -> SignedTariff:
        f = codec.Fields(
            value,
            OBJ,
            {"format", "name", "utility", "currency", "minor_unit", "timezone", "valid_from",
             "valid_until", "energy", "fixed", "components", "billing_cycle", "issuer",
             "signature"},
        )  # fmt: skip
        fixed = f.sub("fixed", {"per_day", "per_month"})
        lim = money.MAX_ABS_FIXED_FEE
        body = TariffBody(
            name=f.text("name", 200),
            utility=f.text("utility", 200),
            currency=f.text("currency", 3),
            minor_unit=f.integer("minor_unit", 0, 9),
            timezone=f.text("timezone", 64),
            valid_from=f.time("valid_from"),
            valid_until=f.time("valid_until"),
            energy=_energy_from_obj(f),
            per_day=fixed.integer("per_day", -lim, lim),
            per_month=fixed.integer("per_month", -lim, lim),
            components=tuple(f.each("components", component_from_obj, 0, 32)),
            cycle=_cycle_from_obj(f),
        )
        try:
            body.validate()
        except (TariffError, UsageError, money.AmountError) as exc:
            raise f.error(getattr(exc, "field", None) or "energy", str(exc)) from None
        return cls(body, f.octets("issuer", DIGEST_BYTES), f.octets("signature", SIGNATURE_BYTES))

    def verify(self, provider: VerifyingKey) -> None:
        if self.issuer != provider.key_id:
            raise SignatureError("tariff signed by another provider key", obj=OBJ, field="issuer")
        key = ("verified", provider.key_id)
        if key in self._memo:  # a signature that verified once verifies again
            return
        if not provider.verify(PURPOSE, self.body_bytes(), self.signature):
            raise SignatureError("provider signature does not verify", obj=OBJ, field="signature")
        self._remember(key, True)


def _cycle_from_obj(f: codec.Fields) -> BillingCycle:
    raw = f.raw("billing_cycle")
    kind = raw.get("kind") if isinstance(raw, dict) else None
    try:
        if kind == "monthly":
            c = f.sub("billing_cycle", {"kind", "day"})
            return BillingCycle(day=c.integer("day", 1, 28))
        if kind == "days":
            c = f.sub("billing_cycle", {"kind", "days", "anchor"})
            length = c.integer("days", 1, MAX_CYCLE_DAYS)
            try:
                anchor = date.fromisoformat(c.text("anchor", 10))
            except ValueError:
                raise c.error("anchor", "expected a date YYYY-MM-DD") from None
            return BillingCycle(days=length, anchor=anchor)
    except UsageError as exc:
        raise f.error("billing_cycle", exc.detail) from None
    raise f.error("billing_cycle.kind", f"unknown billing cycle kind {kind!r}")


def _energy_from_obj(f: codec.Fields) -> Energy:
    raw = f.raw("energy")
    kind = raw.get("kind") if isinstance(raw, dict) else None
    lim = money.MAX_ABS_PRICE
    if kind == "time-of-use":
        e = f.sub("energy", {"kind", "periods", "weekday", "weekend", "holidays"})
        names: list[str] = []
        prices: list[int] = []
        for i, item in enumerate(e.array("periods", 1, MAX_PERIODS)):
            p = codec.Fields(item, OBJ, {"name", "price"}, path=f"energy.periods[{i}]")
            names.append(p.text("name", 64))
            prices.append(p.integer("price", -lim, lim))
        holidays = []
        for i, h in enumerate(e.array("holidays", 0, 10000)):
            try:
                holidays.append(date.fromisoformat(h))
            except (TypeError, ValueError):
                raise e.error(f"holidays[{i}]", "expected a date YYYY-MM-DD") from None
        return TimeOfUse(
            tuple(names),
            tuple(prices),
            e.octets("weekday", MONTHS * HOURS),
            e.octets("weekend", MONTHS * HOURS),
            tuple(holidays),
        )
    if kind == "dynamic":
        e = f.sub("energy", {"kind", "interval_s", "start", "prices"})
        return Dynamic(
            e.integer("interval_s", 60, 86400),
            e.time("start"),
            tuple(e.int_list("prices", -lim, lim, 1, MAX_DYNAMIC_PRICES)),
        )
    raise f.error("energy.kind", f"unknown energy price kind {kind!r}")


# --- JSON description parsing ------------------------------------------------------------------

_DESC_TOP: Final = frozenset(
    {"format", "name", "utility", "currency", "minor_unit", "timezone", "valid_from",
     "valid_until", "energy", "fixed", "components", "billing_cycle", "description"}
)  # fmt: skip


def _desc_error(field_: str, message: str) -> TariffError:
    return TariffError(message, obj="tariff description", field=field_)


def _need(desc: Mapping[str, Any], key: str, kind: type | tuple[type, ...], where: str = "") -> Any:
    name = f"{where}.{key}" if where else key
    if key not in desc:
        raise _desc_error(name, "missing field")
    v = desc[key]
    if not isinstance(v, kind) or (isinstance(v, bool) and kind is not bool):
        raise _desc_error(
            name, f"expected {getattr(kind, '__name__', kind)}, got {type(v).__name__}"
        )
    return v


def _check_keys(desc: Mapping[str, Any], allowed: frozenset[str] | set[str], where: str) -> None:
    for k in desc:
        if k not in allowed:
            raise _desc_error(f"{where}.{k}" if where else k, "unknown field")


def _decimal(v: Any, where: str, parse: Callable[[str | int], int]) -> int:
    """Exact conversion of a decimal string (or integer) with ``parse``; floats are refused."""
    if isinstance(v, float):
        raise _desc_error(
            where, 'write amounts as decimal strings ("0.1234"), not JSON numbers with a fraction'
        )
    try:
        return parse(v)
    except money.AmountError as exc:
        raise _desc_error(where, str(exc)) from None


def _price(v: Any, where: str) -> int:
    return _decimal(v, where, money.parse_price)


def _fee(v: Any, where: str) -> int:
    return _decimal(v, where, money.parse_fee)


def _local_date(v: Any, where: str) -> date:
    if not isinstance(v, str):
        raise _desc_error(where, "expected a date YYYY-MM-DD")
    try:
        return date.fromisoformat(v)
    except ValueError:
        raise _desc_error(where, f"{v!r} is not a date YYYY-MM-DD") from None


def _parse_description(desc: Mapping[str, Any]) -> TariffBody:
    _check_keys(desc, _DESC_TOP, "")
    fmt = desc.get("format", DESCRIPTION_FORMAT)
    if fmt != DESCRIPTION_FORMAT:
        raise _desc_error("format", f"expected {DESCRIPTION_FORMAT!r}")
    currency = _need(desc, "currency", str)
    try:
        money.check_currency(currency)
    except money.AmountError as exc:
        raise _desc_error("currency", str(exc)) from None
    minor = desc.get("minor_unit", money.minor_unit(currency))
    if isinstance(minor, bool) or not isinstance(minor, int) or not 0 <= minor <= 9:
        raise _desc_error("minor_unit", "expected an integer 0..9")
    tzname = _need(desc, "timezone", str)
    try:
        tz = zone(tzname)
    except UsageError as exc:
        raise _desc_error("timezone", exc.detail) from None
    vf = _local_date(_need(desc, "valid_from", str), "valid_from")
    vu = _local_date(_need(desc, "valid_until", str), "valid_until")
    if vu <= vf:
        raise _desc_error("valid_until", "must be after valid_from")
    energy_desc = _need(desc, "energy", dict)
    energy = _parse_energy(energy_desc, tz)
    fixed = desc.get("fixed", {})
    if not isinstance(fixed, dict):
        raise _desc_error("fixed", "expected an object")
    _check_keys(fixed, {"per_day", "per_month"}, "fixed")
    body = TariffBody(
        name=_need(desc, "name", str),
        utility=desc.get("utility", "") if isinstance(desc.get("utility", ""), str) else "",
        currency=currency,
        minor_unit=minor,
        timezone=tzname,
        valid_from=local_midnight(vf, tz),
        valid_until=local_midnight(vu, tz),
        energy=energy,
        per_day=_fee(fixed.get("per_day", "0"), "fixed.per_day"),
        per_month=_fee(fixed.get("per_month", "0"), "fixed.per_month"),
        components=_components(desc.get("components", [])),
        cycle=_parse_cycle(desc.get("billing_cycle", "calendar-month")),
    )
    if "utility" in desc and not isinstance(desc["utility"], str):
        raise _desc_error("utility", "expected text")
    if len(body.name) > 200 or len(body.utility) > 200:
        raise _desc_error("name", "longer than 200 characters")
    body.validate()
    return body


def _parse_cycle(value: Any) -> BillingCycle:
    """``"calendar-month"`` (the default), ``{"monthly_from_day": D}`` (D = 1..28) or
    ``{"every_days": N, "starting": "YYYY-MM-DD"}``."""
    where = "billing_cycle"
    try:
        if value == "calendar-month":
            return BillingCycle()
        if isinstance(value, dict) and set(value) == {"monthly_from_day"}:
            day = value["monthly_from_day"]
            if isinstance(day, bool) or not isinstance(day, int):
                raise _desc_error(f"{where}.monthly_from_day", "expected a day 1..28")
            return BillingCycle(day=day)
        if isinstance(value, dict) and set(value) == {"every_days", "starting"}:
            n = value["every_days"]
            if isinstance(n, bool) or not isinstance(n, int) or not 1 <= n <= MAX_CYCLE_DAYS:
                raise _desc_error(f"{where}.every_days", f"expected 1..{MAX_CYCLE_DAYS} days")
            return BillingCycle(days=n, anchor=_local_date(value["starting"], f"{where}.starting"))
    except UsageError as exc:
        raise _desc_error(where, exc.detail) from None
    raise _desc_error(
        where,
        'expected "calendar-month", {"monthly_from_day": D} or '
        '{"every_days": N, "starting": "YYYY-MM-DD"}',
    )


def _components(value: Any) -> tuple[Component, ...]:
    if not isinstance(value, list) or len(value) > 32:
        raise _desc_error("components", "expected a list of up to 32 components")
    return tuple(component_from_description(c, f"components[{i}]") for i, c in enumerate(value))


def _parse_energy(e: Mapping[str, Any], tz: ZoneInfo) -> Energy:
    kind = e.get("kind")
    if kind == "time-of-use":
        _check_keys(
            e, {"kind", "periods", "weekday_schedule", "weekend_schedule", "holidays"}, "energy"
        )
        periods = _need(e, "periods", list, "energy")
        if not 1 <= len(periods) <= MAX_PERIODS:
            raise _desc_error("energy.periods", f"expected 1..{MAX_PERIODS} periods")
        names, prices = [], []
        for i, p in enumerate(periods):
            where = f"energy.periods[{i}]"
            if not isinstance(p, dict):
                raise _desc_error(where, "expected an object with name and price")
            _check_keys(p, {"name", "price"}, where)
            names.append(_need(p, "name", str, where))
            prices.append(_price(p.get("price"), f"{where}.price"))
        wd = parse_table(
            _need(e, "weekday_schedule", list, "energy"), len(periods), "energy.weekday_schedule"
        )
        we = parse_table(
            e.get("weekend_schedule", e.get("weekday_schedule")),
            len(periods),
            "energy.weekend_schedule",
        )
        hol = e.get("holidays", [])
        if not isinstance(hol, list):
            raise _desc_error("energy.holidays", "expected a list of dates")
        days = sorted({_local_date(h, f"energy.holidays[{i}]") for i, h in enumerate(hol)})
        return TimeOfUse(tuple(names), tuple(prices), wd, we, tuple(days))
    if kind == "dynamic":
        _check_keys(e, {"kind", "interval_minutes", "start", "prices"}, "energy")
        minutes = _need(e, "interval_minutes", int, "energy")
        if not 1 <= minutes <= 1440 or 1440 % minutes:
            raise _desc_error("energy.interval_minutes", "must divide a day (e.g. 15, 30, 60)")
        start_text = _need(e, "start", str, "energy")
        try:
            start_dt = datetime.fromisoformat(start_text)
        except ValueError:
            raise _desc_error("energy.start", "expected an ISO 8601 time with UTC offset") from None
        if start_dt.tzinfo is None:
            raise _desc_error("energy.start", "needs a UTC offset (e.g. 2026-01-01T00:00:00+00:00)")
        raw_prices = _need(e, "prices", list, "energy")
        if not raw_prices:
            raise _desc_error("energy.prices", "expected at least one price")
        plist = tuple(_price(p, f"energy.prices[{i}]") for i, p in enumerate(raw_prices))
        dyn = Dynamic(minutes * 60, int(start_dt.timestamp()), plist)
        if dyn.start % dyn.interval_s:
            raise _desc_error("energy.start", "not aligned to the tariff interval")
        return dyn
    raise _desc_error("energy.kind", f"expected 'time-of-use' or 'dynamic', got {kind!r}")


def describe(t: SignedTariff) -> dict[str, Any]:
    """A JSON-friendly view of a signed tariff (for ``privbill tariff show``)."""
    b = t.body
    tz = b.tz
    view: dict[str, Any] = {
        "name": b.name,
        "utility": b.utility,
        "currency": b.currency,
        "timezone": b.timezone,
        "valid_from": datetime.fromtimestamp(b.valid_from, tz).date().isoformat(),
        "valid_until": datetime.fromtimestamp(b.valid_until, tz).date().isoformat(),
        "hash": t.hash().hex(),
        "issuer": t.issuer.hex(),
        "billing_cycle": b.cycle.describe(),
        "fixed": {
            "per_day": money.format_scaled(b.per_day, money.FEE_DIGITS),
            "per_month": money.format_scaled(b.per_month, money.FEE_DIGITS),
        },
    }
    view["components"] = [describe_component(c) for c in b.components]
    e = b.energy
    if isinstance(e, TimeOfUse):
        view["energy"] = {
            "kind": e.kind,
            "periods": [
                {"name": n, "price_per_kwh": money.format_scaled(p, money.PRICE_DIGITS)}
                for n, p in zip(e.period_names, e.period_prices, strict=True)
            ],
            "weekday_schedule": [
                list(e.weekday[m * HOURS : (m + 1) * HOURS]) for m in range(MONTHS)
            ],
            "weekend_schedule": [
                list(e.weekend[m * HOURS : (m + 1) * HOURS]) for m in range(MONTHS)
            ],
            "holidays": [d.isoformat() for d in e.holidays],
        }
    else:
        view["energy"] = {
            "kind": e.kind,
            "interval_minutes": e.interval_s // 60,
            "start": datetime.fromtimestamp(e.start, tz).isoformat(),
            "count": len(e.price_list),
            "min_price_per_kwh": money.format_scaled(min(e.price_list), money.PRICE_DIGITS),
            "max_price_per_kwh": money.format_scaled(max(e.price_list), money.PRICE_DIGITS),
        }
    return view
