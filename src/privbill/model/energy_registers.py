"""Meter-certified time-of-use energy registers.

A meter configured with a tariff's time-of-use calendar (:class:`TouCalendar`: the number of
periods, the weekday and weekend 12 × 24 tables and the holidays) and its billing cycle keeps,
for the billing period it is recording, one *register* per time-of-use period: the sum of the
commitments of that period's readings, ``R_k = Σ_{i in k} C_i``, which opens to the period's
consumption and the sum of the readings' blinding factors. When it records the period's last
interval it seals the run that ends there and signs an :class:`EnergyRegisters` statement: the
meter, the billing period, the intervals covered, the calendar's hash, the registers and the
seals that cover those intervals (sequence numbers and the chain hashes at both ends, so that
coverage stays exact and the next bill continues the chain).

Nothing new is committed: a register is a sum anyone holding the sealed runs can recompute
(:func:`registers_from_runs`), and its opening is the sum of the readings' openings, which the
customer's device holds. A register bill (``model/register_bills.py``) carries the statement
instead of the readings.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any, Final

from privbill.crypto import group
from privbill.crypto.group import Point
from privbill.crypto.hashing import DIGEST_BYTES, digest
from privbill.crypto.signatures import SIGNATURE_BYTES, SigningKey, VerifyingKey
from privbill.errors import (
    CertificateError,
    CommitmentError,
    CoverageError,
    SignatureError,
    TariffMismatchError,
    UsageError,
)
from privbill.model import codec
from privbill.model.certificates import MeterCertificate
from privbill.model.ids import is_identifier
from privbill.model.periods import (
    MAX_CYCLE_DAYS,
    MAX_INTERVAL_S,
    MIN_INTERVAL_S,
    BillingCycle,
    BillingPeriod,
    zone,
)
from privbill.model.schedules import CELLS, schedule_indices
from privbill.model.seals import SealedRun
from privbill.model.tariffs import MAX_PERIODS, TariffBody, TimeOfUse

FORMAT: Final = "privbill/energy-registers/1"
PURPOSE: Final = "energy-registers"
CALENDAR_PURPOSE: Final = "energy-register-calendar"
OBJ: Final = "energy registers"
MAX_HOLIDAYS: Final = 10000
_FIELDS: Final = frozenset(
    {"format", "meter_id", "period", "interval_s", "first", "count", "calendar_hash", "periods",
     "registers", "seals", "signature"}
)  # fmt: skip
_SEAL_FIELDS: Final = frozenset({"first_seq", "last_seq", "chain_start", "chain_end"})


# --- the calendar ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class TouCalendar:
    """What a meter needs to sort intervals into time-of-use periods: ``periods`` periods and
    the weekday and weekend 12 × 24 tables of period numbers; listed holidays use the weekend
    table (exactly as in a :class:`~privbill.model.tariffs.TimeOfUse` energy price). Prices are
    not part of it: a tariff with new prices and the same calendar keeps the meter's registers."""

    periods: int
    weekday: bytes
    weekend: bytes
    holidays: tuple[date, ...] = ()

    def __post_init__(self) -> None:
        if not 1 <= self.periods <= MAX_PERIODS:
            raise UsageError(f"a calendar has 1..{MAX_PERIODS} periods", obj="calendar")
        for name, table in (("weekday", self.weekday), ("weekend", self.weekend)):
            if len(table) != CELLS:
                raise UsageError("a table is 12 months × 24 hours", obj="calendar", field=name)
            if any(v >= self.periods for v in table):
                raise UsageError(
                    f"the table names a period beyond {self.periods}", obj="calendar", field=name
                )
        if len(self.holidays) > MAX_HOLIDAYS or list(self.holidays) != sorted(set(self.holidays)):
            raise UsageError("holidays must be sorted and distinct", obj="calendar")

    def hash(self, timezone: str) -> bytes:
        """The calendar hash a statement carries: the meter's timezone (which fixes local hours
        and days), the period count, both tables and the holidays."""
        return _calendar_hash(
            timezone, self.periods, self.weekday, self.weekend, _holiday_bytes(self.holidays)
        )

    def periods_of(self, timezone: str, first: int, count: int, interval_s: int) -> list[int]:
        """The time-of-use period of each of ``count`` intervals from index ``first``."""
        return schedule_indices(
            self.weekday, self.weekend, self.holidays, zone(timezone), first, count, interval_s,
            "calendar",
        )  # fmt: skip

    def to_obj(self) -> dict[str, Any]:
        """JSON-friendly form (the meter state keeps it)."""
        return {
            "periods": self.periods,
            "weekday": self.weekday.hex(),
            "weekend": self.weekend.hex(),
            "holidays": [d.isoformat() for d in self.holidays],
        }

    @classmethod
    def from_obj(cls, d: Mapping[str, Any]) -> TouCalendar:
        """Raises :class:`UsageError` (or ``KeyError``/``TypeError``/``ValueError`` from the
        field accessors) on anything malformed."""
        periods = d["periods"]
        if isinstance(periods, bool) or not isinstance(periods, int):
            raise UsageError(
                "malformed register configuration", obj="register configuration", field="periods"
            )
        holidays = d["holidays"]
        if not isinstance(holidays, list):
            raise UsageError(
                "malformed register configuration", obj="register configuration", field="holidays"
            )
        return cls(
            periods,
            bytes.fromhex(d["weekday"]),
            bytes.fromhex(d["weekend"]),
            tuple(date.fromisoformat(h) for h in holidays),
        )


def _holiday_bytes(holidays: Sequence[date]) -> bytes:
    return b"".join(d.toordinal().to_bytes(4, "big") for d in holidays)


@functools.lru_cache(maxsize=64)
def _calendar_hash(
    timezone: str, periods: int, weekday: bytes, weekend: bytes, holidays: bytes
) -> bytes:
    return digest(
        CALENDAR_PURPOSE, timezone.encode(), periods.to_bytes(1, "big"), weekday, weekend, holidays
    )


def calendar_of(body: TariffBody) -> TouCalendar | None:
    """The time-of-use calendar of a tariff (``None`` for dynamic prices, which have none)."""
    e = body.energy
    if not isinstance(e, TimeOfUse):
        return None
    return TouCalendar(len(e.period_prices), e.weekday, e.weekend, e.holidays)


def calendar_hash_for(body: TariffBody) -> bytes | None:
    """The calendar hash a statement must carry to serve a bill under tariff ``body``."""
    e = body.energy
    if not isinstance(e, TimeOfUse):
        return None
    return _calendar_hash(
        body.timezone, len(e.period_prices), e.weekday, e.weekend, _holiday_bytes(e.holidays)
    )


@functools.lru_cache(maxsize=256)
def _periods_in(
    timezone: str,
    periods: int,
    weekday: bytes,
    weekend: bytes,
    holidays: tuple[date, ...],
    first: int,
    count: int,
    interval_s: int,
) -> tuple[tuple[int, ...], tuple[int, ...]]:
    idx = TouCalendar(periods, weekday, weekend, holidays).periods_of(
        timezone, first, count, interval_s
    )
    counts = [0] * periods
    for k in idx:
        counts[k] += 1
    present = tuple(k for k in range(periods) if counts[k])
    return present, tuple(counts[k] for k in present)


def periods_in(
    body: TariffBody, first: int, count: int, interval_s: int
) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """The time-of-use periods that have intervals among ``count`` intervals from ``first`` under
    the tariff's calendar, ascending, and how many intervals each has. Memoised: every bill of a
    billing period under one tariff asks the same question."""
    e = body.energy
    if not isinstance(e, TimeOfUse):
        raise TariffMismatchError(
            "dynamic prices have no time-of-use calendar", obj="tariff", field="energy"
        )
    return _periods_in(
        body.timezone,
        len(e.period_prices),
        e.weekday,
        e.weekend,
        e.holidays,
        first,
        count,
        interval_s,
    )


@dataclass(frozen=True, slots=True)
class RegisterConfig:
    """What a utility loads into a meter for energy registers: the tariff's calendar and its
    billing cycle (interpreted in the meter's timezone)."""

    calendar: TouCalendar
    cycle: BillingCycle

    def to_obj(self) -> dict[str, Any]:
        return {"calendar": self.calendar.to_obj(), "cycle": self.cycle.to_obj()}

    @classmethod
    def from_obj(cls, d: Mapping[str, Any]) -> RegisterConfig:
        """Raises :class:`UsageError` (or ``KeyError``/``TypeError``/``ValueError`` from the
        field accessors) on anything malformed."""
        c = d["cycle"]
        if c["kind"] == "monthly":
            cycle = BillingCycle(day=int(c["day"]))
        elif c["kind"] == "days":
            days = c["days"]
            if isinstance(days, bool) or not isinstance(days, int) or days > MAX_CYCLE_DAYS:
                raise UsageError(
                    "malformed register configuration", obj="register configuration", field="days"
                )
            cycle = BillingCycle(days=days, anchor=date.fromisoformat(c["anchor"]))
        else:
            raise UsageError(
                "malformed register configuration", obj="register configuration", field="cycle"
            )
        return cls(TouCalendar.from_obj(d["calendar"]), cycle)


def register_config_for(body: TariffBody) -> RegisterConfig:
    """The energy-register configuration for meters of customers on tariff ``body``."""
    cal = calendar_of(body)
    if cal is None:
        raise UsageError(
            "energy registers need a time-of-use tariff: dynamic prices have no calendar "
            "(their bills keep the per-reading path)",
            obj="tariff",
            field="energy",
        )
    return RegisterConfig(cal, body.cycle)


# --- the signed statement ----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ChainSpan:
    """The seals that cover a statement's intervals: sequence numbers ``first_seq..last_seq``,
    ``chain_start`` (the ``prev`` of the first, which the previous bill's last seal hashes to)
    and ``chain_end`` (the chain hash of the last, which the next bill's first seal names)."""

    first_seq: int
    last_seq: int
    chain_start: bytes
    chain_end: bytes

    @property
    def seals(self) -> int:
        return self.last_seq - self.first_seq + 1

    def to_obj(self) -> dict[str, Any]:
        return {
            "first_seq": self.first_seq,
            "last_seq": self.last_seq,
            "chain_start": self.chain_start,
            "chain_end": self.chain_end,
        }


@dataclass(frozen=True, slots=True)
class EnergyRegisters:
    """A meter's signed time-of-use energy registers for (part of) one billing period."""

    meter_id: str
    period: BillingPeriod  # the billing period the registers belong to
    interval_s: int
    first: int  # first interval covered
    count: int  # intervals covered: [first, first + count)
    calendar_hash: bytes
    periods: tuple[int, ...]  # time-of-use periods with intervals in the span, ascending
    registers: bytes  # one 48-byte commitment per listed period
    seals: ChainSpan
    signature: bytes

    @property
    def end(self) -> int:
        """Index one past the last interval covered."""
        return self.first + self.count

    @property
    def span_start(self) -> int:
        return self.first * self.interval_s

    @property
    def span_end(self) -> int:
        return self.end * self.interval_s

    def register(self, position: int) -> bytes:
        n = group.POINT_BYTES
        return self.registers[position * n : (position + 1) * n]

    def body(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "meter_id": self.meter_id,
            "period": self.period.to_obj(),
            "interval_s": self.interval_s,
            "first": self.first,
            "count": self.count,
            "calendar_hash": self.calendar_hash,
            "periods": list(self.periods),
            "registers": self.registers,
            "seals": self.seals.to_obj(),
        }

    def body_bytes(self) -> bytes:
        return codec.encode(self.body())

    def to_obj(self) -> dict[str, Any]:
        return {**self.body(), "signature": self.signature}

    def encode(self) -> bytes:
        return codec.encode(self.to_obj())

    @classmethod
    def make(
        cls,
        key: SigningKey,
        *,
        meter_id: str,
        period: BillingPeriod,
        interval_s: int,
        first: int,
        count: int,
        calendar_hash: bytes,
        periods: Sequence[int],
        registers: bytes,
        seals: ChainSpan,
    ) -> EnergyRegisters:
        args = (
            meter_id, period, interval_s, first, count, calendar_hash, tuple(periods), registers,
            seals,
        )  # fmt: skip
        unsigned = cls(*args, b"")
        return cls(*args, key.sign(PURPOSE, unsigned.body_bytes()))

    @classmethod
    def from_obj(cls, value: object, path: str = "", obj: str = OBJ) -> EnergyRegisters:
        f = codec.Fields(value, obj, _FIELDS, path=path)
        if f.raw("format") != FORMAT:
            raise f.error("format", f"expected {FORMAT!r}")
        p = f.sub("period", {"start", "end"})
        start, end = p.integer("start", 0), p.integer("end", 0)
        if end <= start:
            raise p.error("end", "period ends before it starts")
        periods = f.int_list("periods", 0, MAX_PERIODS - 1, 1, MAX_PERIODS)
        if periods != sorted(set(periods)):
            raise f.error("periods", "periods must be ascending and distinct")
        registers = f.octets("registers", len(periods) * group.POINT_BYTES)
        s = f.sub("seals", _SEAL_FIELDS)
        first_seq = s.integer("first_seq", 0)
        last_seq = s.integer("last_seq", first_seq)
        seals = ChainSpan(
            first_seq,
            last_seq,
            s.octets("chain_start", DIGEST_BYTES),
            s.octets("chain_end", DIGEST_BYTES),
        )
        return cls(
            meter_id=f.text("meter_id", 64, is_identifier),
            period=BillingPeriod(start, end),
            interval_s=f.integer("interval_s", MIN_INTERVAL_S, MAX_INTERVAL_S),
            first=f.integer("first", 0),
            count=f.integer("count", 1, 1 << 20),
            calendar_hash=f.octets("calendar_hash", DIGEST_BYTES),
            periods=tuple(periods),
            registers=registers,
            seals=seals,
            signature=f.octets("signature", SIGNATURE_BYTES),
        )

    @classmethod
    def decode(cls, data: bytes) -> EnergyRegisters:
        return cls.from_obj(codec.decode(data, OBJ, FORMAT))

    def verify_signature(self, key: VerifyingKey, path: str = "", obj: str = OBJ) -> None:
        if not key.verify(PURPOSE, self.body_bytes(), self.signature):
            raise SignatureError(
                "meter signature does not verify",
                obj=obj,
                field=f"{path}.signature" if path else "signature",
            )

    def check(
        self,
        certificate: MeterCertificate,
        period: BillingPeriod,
        calendar_hash: bytes,
        path: str = "",
        obj: str = OBJ,
    ) -> None:
        """Raise unless this statement is ``certificate``'s meter's (:class:`CertificateError`),
        for ``period`` (:class:`CoverageError`), under the calendar with ``calendar_hash``
        (:class:`TariffMismatchError`), in the certificate's interval length
        (:class:`CoverageError`), and signed by the meter (:class:`SignatureError`)."""

        def where(name: str) -> str:
            return f"{path}.{name}" if path else name

        if self.meter_id != certificate.meter_id:
            raise CertificateError(
                f"energy registers of meter {self.meter_id!r}, not {certificate.meter_id!r}",
                obj=obj,
                field=where("meter_id"),
            )
        if self.period != period:
            raise CoverageError(
                "energy registers of another billing period", obj=obj, field=where("period")
            )
        if self.calendar_hash != calendar_hash:
            raise TariffMismatchError(
                "energy registers kept under another time-of-use calendar than the tariff's",
                obj=obj,
                field=where("calendar_hash"),
            )
        if self.interval_s != certificate.interval_s:
            raise CoverageError(
                f"energy registers of {self.interval_s}-second intervals, the certificate "
                f"says {certificate.interval_s}",
                obj=obj,
                field=where("interval_s"),
            )
        if not (period.start <= self.span_start and self.span_end <= period.end):
            raise CoverageError(
                "energy registers cover intervals outside their billing period",
                obj=obj,
                field=where("first"),
            )
        self.verify_signature(certificate.public_key, path, obj)

    def points(
        self, *, check_subgroup: bool = False, path: str = "", obj: str = OBJ
    ) -> list[Point]:
        """The register commitments: canonical, on the curve, not the identity (and in the
        prime-order subgroup with ``check_subgroup``). Covered by the meter's signature like a
        seal's commitments (``docs/security.md`` §4)."""
        decode = group.decode_points if check_subgroup else group.decode_points_on_curve
        try:
            return decode(self.registers, len(self.periods))
        except group.GroupError as exc:
            raise CommitmentError(
                str(exc), obj=obj, field=f"{path}.registers" if path else "registers"
            ) from None


# --- anyone's check against the sealed readings ------------------------------------------------


def registers_from_runs(
    runs: Sequence[SealedRun],
    calendar: TouCalendar,
    timezone: str,
    first: int,
    count: int,
    interval_s: int,
) -> dict[int, Point]:
    """``Σ C_i`` per time-of-use period over intervals ``[first, first + count)`` of ``runs``
    (which must cover them): what the meter's registers must be."""
    data = b"".join(r.commitments for r in runs)
    run_first = runs[0].seal.first if runs else first
    n = group.POINT_BYTES
    lo = (first - run_first) * n
    chunk = data[lo : lo + count * n]
    try:
        points = group.decode_points_on_curve(chunk, count)
    except group.GroupError as exc:
        raise CommitmentError(str(exc), obj="sealed readings", field="runs") from None
    idx = calendar.periods_of(timezone, first, count, interval_s)
    buckets: dict[int, list[Point]] = {}
    for k, pt in zip(idx, points, strict=True):
        buckets.setdefault(k, []).append(pt)
    return {k: group.point_sum(buckets[k]) for k in sorted(buckets)}


def check_against_runs(
    statement: EnergyRegisters,
    runs: Sequence[SealedRun],
    calendar: TouCalendar,
    timezone: str,
    path: str = "",
) -> None:
    """Raise :class:`CommitmentError` unless every register of ``statement`` is the sum of the
    sealed commitments of its period (``runs``: the meter's sealed runs over the statement's
    intervals, checked by the caller). Needs no opening: an arbiter holding the sealed readings
    can show that a meter signed registers that contradict its own seals."""
    expected = registers_from_runs(
        runs, calendar, timezone, statement.first, statement.count, statement.interval_s
    )
    where = f"{path}.registers" if path else "registers"
    if tuple(expected) != statement.periods:
        raise CommitmentError(
            f"the registers list periods {list(statement.periods)}, the sealed readings "
            f"have intervals in {list(expected)}",
            obj=OBJ,
            field=f"{path}.periods" if path else "periods",
        )
    for pos, k in enumerate(statement.periods):
        if group.encode_point(expected[k]) != statement.register(pos):
            raise CommitmentError(
                f"the register of period {k} is not the sum of the sealed readings of that period",
                obj=OBJ,
                field=f"{where}[{pos}]",
            )


__all__ = [
    "CALENDAR_PURPOSE",
    "FORMAT",
    "PURPOSE",
    "ChainSpan",
    "EnergyRegisters",
    "RegisterConfig",
    "TouCalendar",
    "calendar_hash_for",
    "calendar_of",
    "check_against_runs",
    "periods_in",
    "register_config_for",
    "registers_from_runs",
]
