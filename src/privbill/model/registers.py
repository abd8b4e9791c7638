"""Meter-certified maximum-demand registers.

A meter configured with demand-register schedules (:class:`RegisterSchedule`: the windows of a
tariff's demand component) keeps, for the calendar month it is recording (in its timezone), the
largest interval value of each window. When it records the month's last interval it signs a
:class:`DemandRegister`: the meter id, the month ``[start, end)`` and, per schedule, the
schedule's hash and one Pedersen commitment per window to the window's maximum (a commitment to 0
for a window without intervals in the month). The openings of those commitments
(:class:`RegisterOpenings`) go to the customer's device, like the readings' openings.

A single-meter bill may use a register commitment as a demand window's ``C_M`` in place of the
range proof (``privbill.billing.demand``): the meter vouches for the maximum exactly as it
vouches for every reading.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any, Final

from privbill.crypto import group
from privbill.crypto.hashing import DIGEST_BYTES, digest
from privbill.crypto.signatures import SIGNATURE_BYTES, SigningKey, VerifyingKey
from privbill.errors import CertificateError, CoverageError, DecodeError, SignatureError, UsageError
from privbill.model import codec, money
from privbill.model.certificates import MeterCertificate
from privbill.model.components import MAX_WINDOWS, Demand
from privbill.model.ids import is_identifier
from privbill.model.periods import BillingPeriod
from privbill.model.readings import (
    OPENING_KEY_BYTES,
    decode_scalar_list,
    derive_register_blinding,
)
from privbill.model.schedules import CELLS, NONE
from privbill.model.tariffs import TariffBody, TimeOfUse

FORMAT: Final = "privbill/demand-register/1"
OPENINGS_FORMAT: Final = "privbill/register-openings/1"
PURPOSE: Final = "demand-register"
SCHEDULE_PURPOSE: Final = "demand-register-schedule"
OBJ: Final = "demand register"
OPENINGS_OBJ: Final = "register openings"
MAX_SCHEDULES: Final = 16
#: Registers per meter section of a bill (``model/bills.py``).
MAX_REGISTERS: Final = 16
#: Decoding bounds: register → schedules → entry; openings → schedules → entry → values.
LIMITS: Final = codec.Limits(depth=3, items=512, container=MAX_SCHEDULES)
OPENINGS_LIMITS: Final = codec.Limits(depth=4, items=2048, container=MAX_SCHEDULES)
MAX_HOLIDAYS: Final = 10000
_FIELDS: Final = frozenset({"format", "meter_id", "month", "schedules", "signature"})


# --- schedules ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RegisterSchedule:
    """The windows a register tracks: ``windows`` windows and the weekday and weekend 12 × 24
    tables that map each month and local hour to a window (255: none), exactly as a
    :class:`~privbill.model.components.Demand` component holds them. Listed holidays use the
    weekend table (as in the tariff)."""

    windows: int
    weekday: bytes
    weekend: bytes
    holidays: tuple[date, ...] = ()

    def __post_init__(self) -> None:
        if not 1 <= self.windows <= MAX_WINDOWS:
            raise UsageError(f"a demand register has 1..{MAX_WINDOWS} windows", obj=OBJ)
        for name, table in (("weekday", self.weekday), ("weekend", self.weekend)):
            if len(table) != CELLS:
                raise UsageError("schedule must be 12 months × 24 hours", obj=OBJ, field=name)
            if any(v >= self.windows and v != NONE for v in table):
                raise UsageError(
                    f"schedule names a window beyond {self.windows}", obj=OBJ, field=name
                )
        if len(self.holidays) > MAX_HOLIDAYS or list(self.holidays) != sorted(set(self.holidays)):
            raise UsageError("holidays must be sorted and distinct", obj=OBJ, field="holidays")

    def hash(self, timezone: str) -> bytes:
        """The schedule hash a register carries: the meter's timezone (which fixes months and
        local hours), the window count, both tables and the holidays."""
        return digest(
            SCHEDULE_PURPOSE,
            timezone.encode(),
            self.windows.to_bytes(1, "big"),
            self.weekday,
            self.weekend,
            b"".join(d.toordinal().to_bytes(4, "big") for d in self.holidays),
        )


def register_schedule_from(demand: Demand, holidays: Sequence[date] = ()) -> RegisterSchedule:
    """The register schedule that matches a demand component (and the tariff's holidays)."""
    return RegisterSchedule(
        len(demand.windows), demand.weekday, demand.weekend, tuple(sorted(set(holidays)))
    )


def tariff_holidays(body: TariffBody) -> tuple[date, ...]:
    return body.energy.holidays if isinstance(body.energy, TimeOfUse) else ()


def register_schedules_for(body: TariffBody) -> tuple[RegisterSchedule, ...]:
    """One register schedule per distinct demand component of a tariff, in tariff order: what a
    utility configures in the meters of the customers on that tariff."""
    out: list[RegisterSchedule] = []
    for c in body.components:
        if isinstance(c, Demand):
            s = register_schedule_from(c, tariff_holidays(body))
            if s not in out:
                out.append(s)
    return tuple(out)


def schedule_hash_for(demand: Demand, body: TariffBody) -> bytes:
    """The schedule hash a register must carry to serve ``demand`` under tariff ``body``."""
    return register_schedule_from(demand, tariff_holidays(body)).hash(body.timezone)


# --- the signed register -----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RegisterEntry:
    """One schedule of a register: its hash and a commitment per window (48 bytes each)."""

    schedule_hash: bytes
    commitments: bytes

    @property
    def windows(self) -> int:
        return len(self.commitments) // group.POINT_BYTES

    def commitment(self, window: int) -> bytes:
        n = group.POINT_BYTES
        return self.commitments[window * n : (window + 1) * n]

    def to_obj(self) -> dict[str, Any]:
        return {"schedule_hash": self.schedule_hash, "commitments": self.commitments}


def _month_from(f: codec.Fields) -> BillingPeriod:
    m = f.sub("month", {"start", "end"})
    start, end = m.time("start"), m.time("end")
    if end <= start:
        raise m.error("end", "month ends before it starts")
    return BillingPeriod(start, end)


def _distinct_hashes(f: codec.Fields, hashes: Sequence[bytes]) -> None:
    seen: set[bytes] = set()
    for i, h in enumerate(hashes):
        if h in seen:
            raise f.error(f"schedules[{i}].schedule_hash", "schedule listed twice")
        seen.add(h)


@dataclass(frozen=True, slots=True)
class DemandRegister:
    """A meter's signed maximum-demand register for one calendar month."""

    meter_id: str
    month: BillingPeriod
    schedules: tuple[RegisterEntry, ...]
    signature: bytes

    def body(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "meter_id": self.meter_id,
            "month": self.month.to_obj(),
            "schedules": [s.to_obj() for s in self.schedules],
        }

    def body_bytes(self) -> bytes:
        return codec.encode(self.body())

    def to_obj(self) -> dict[str, Any]:
        return {**self.body(), "signature": self.signature}

    def encode(self) -> bytes:
        return codec.encode(self.to_obj())

    def position(self, schedule_hash: bytes) -> int | None:
        """Where the schedule with this hash sits in the register, if it is there."""
        for s, entry in enumerate(self.schedules):
            if entry.schedule_hash == schedule_hash:
                return s
        return None

    @classmethod
    def make(
        cls,
        key: SigningKey,
        *,
        meter_id: str,
        month: BillingPeriod,
        schedules: Sequence[RegisterEntry],
    ) -> DemandRegister:
        unsigned = cls(meter_id, month, tuple(schedules), b"")
        return cls(meter_id, month, tuple(schedules), key.sign(PURPOSE, unsigned.body_bytes()))

    @classmethod
    def from_obj(cls, value: object, path: str = "", obj: str = OBJ) -> DemandRegister:
        f = codec.Fields(value, obj, _FIELDS, path=path)
        if f.raw("format") != FORMAT:
            raise f.error("format", f"expected {FORMAT!r}")
        entries: list[RegisterEntry] = []
        for i, item in enumerate(f.array("schedules", 1, MAX_SCHEDULES)):
            where = f"{path}.schedules[{i}]" if path else f"schedules[{i}]"
            ef = codec.Fields(item, obj, {"schedule_hash", "commitments"}, path=where)
            comm = ef.octets("commitments", max_len=MAX_WINDOWS * group.POINT_BYTES)
            if not comm or len(comm) % group.POINT_BYTES:
                raise ef.error("commitments", "expected one 48-byte commitment per window")
            entries.append(RegisterEntry(ef.octets("schedule_hash", DIGEST_BYTES), comm))
        _distinct_hashes(f, [e.schedule_hash for e in entries])
        return cls(
            meter_id=f.text("meter_id", 64, is_identifier),
            month=_month_from(f),
            schedules=tuple(entries),
            signature=f.octets("signature", SIGNATURE_BYTES),
        )

    @classmethod
    def decode(cls, data: bytes) -> DemandRegister:
        return cls.from_obj(codec.decode(data, OBJ, FORMAT, LIMITS))

    def verify_signature(self, key: VerifyingKey, path: str = "") -> None:
        if not key.verify(PURPOSE, self.body_bytes(), self.signature):
            raise SignatureError(
                "meter signature does not verify",
                obj=OBJ,
                field=f"{path}.signature" if path else "signature",
            )

    def check(self, certificate: MeterCertificate, month: BillingPeriod, path: str = "") -> None:
        """Raise unless this is ``certificate``'s meter's register for ``month``: the meter id
        (:class:`CertificateError`), the month (:class:`CoverageError`), the meter signature
        (:class:`SignatureError`)."""

        def where(name: str) -> str:
            return f"{path}.{name}" if path else name

        if self.meter_id != certificate.meter_id:
            raise CertificateError(
                f"register of meter {self.meter_id!r}, not {certificate.meter_id!r}",
                obj=OBJ,
                field=where("meter_id"),
            )
        if self.month != month:
            raise CoverageError(
                "register is for another month than the billing period",
                obj=OBJ,
                field=where("month"),
            )
        self.verify_signature(certificate.public_key, path)


# --- the customer's openings -------------------------------------------------------------------


@dataclass(slots=True)
class ScheduleOpenings:
    """One schedule of a register: per window the maximum (Wh), the interval where it was first
    reached (``None``: no interval in the window) and, unless derived, the blinding factor."""

    schedule_hash: bytes
    values: list[int]
    intervals: list[int | None]
    blindings: list[int] | None  # None: derived from the opening key

    def __repr__(self) -> str:
        return f"ScheduleOpenings(windows={len(self.values)}, <secret>)"

    def to_obj(self) -> dict[str, Any]:
        obj: dict[str, Any] = {
            "schedule_hash": self.schedule_hash,
            "values": self.values,
            "intervals": self.intervals,
        }
        if self.blindings is not None:
            obj["blindings"] = b"".join(group.encode_scalar(r) for r in self.blindings)
        return obj


@dataclass(slots=True)
class RegisterOpenings:
    """The meter's private output for a register: what each of its commitments opens to."""

    meter_id: str
    month: BillingPeriod
    schedules: list[ScheduleOpenings]

    def __repr__(self) -> str:
        return f"RegisterOpenings(meter={self.meter_id}, month={self.month.start}, <secret>)"

    def resolve(self, opening_key: bytes | None) -> list[list[int]]:
        """Blinding factors per schedule and window, derived from ``opening_key`` when the
        openings do not carry them."""
        out: list[list[int]] = []
        for s, sch in enumerate(self.schedules):
            if sch.blindings is not None:
                out.append(sch.blindings)
                continue
            if opening_key is None or len(opening_key) != OPENING_KEY_BYTES:
                raise DecodeError(
                    "blinding factors are key-derived; the opening key is needed",
                    obj=OPENINGS_OBJ,
                    field=f"schedules[{s}].blindings",
                )
            out.append(
                [
                    derive_register_blinding(opening_key, self.meter_id, self.month.start, s, w)
                    for w in range(len(sch.values))
                ]
            )
        return out

    def to_obj(self) -> dict[str, Any]:
        return {
            "format": OPENINGS_FORMAT,
            "meter_id": self.meter_id,
            "month": self.month.to_obj(),
            "schedules": [s.to_obj() for s in self.schedules],
        }

    def encode(self) -> bytes:
        return codec.encode(self.to_obj())

    @classmethod
    def decode(cls, data: bytes) -> RegisterOpenings:
        f = codec.Fields(
            codec.decode(data, OPENINGS_OBJ, OPENINGS_FORMAT, OPENINGS_LIMITS),
            OPENINGS_OBJ,
            {"format", "meter_id", "month", "schedules"},
        )
        schedules: list[ScheduleOpenings] = []
        for i, item in enumerate(f.array("schedules", 1, MAX_SCHEDULES)):
            sf = codec.Fields(
                item,
                OPENINGS_OBJ,
                {"schedule_hash", "values", "intervals"},
                {"blindings"},
                path=f"schedules[{i}]",
            )
            values = sf.int_list("values", 0, money.MAX_WH_PER_INTERVAL, 1, MAX_WINDOWS)
            raw = sf.array("intervals", len(values), len(values))
            intervals: list[int | None] = []
            for w, at in enumerate(raw):
                if at is None:
                    if values[w]:
                        raise sf.error(
                            f"intervals[{w}]", "a window without intervals has maximum 0"
                        )
                elif isinstance(at, bool) or not isinstance(at, int) or at < 0:
                    raise sf.error(f"intervals[{w}]", "expected an interval index or null")
                intervals.append(at)
            blindings = (
                decode_scalar_list(sf, "blindings", len(values)) if sf.has("blindings") else None
            )
            if schedules and (blindings is None) != (schedules[0].blindings is None):
                raise sf.error("blindings", "blinding factors are given for all schedules or none")
            schedules.append(
                ScheduleOpenings(
                    sf.octets("schedule_hash", DIGEST_BYTES), values, intervals, blindings
                )
            )
        _distinct_hashes(f, [s.schedule_hash for s in schedules])
        return cls(
            meter_id=f.text("meter_id", 64, is_identifier),
            month=_month_from(f),
            schedules=schedules,
        )


__all__ = [
    "FORMAT",
    "OPENINGS_FORMAT",
    "PURPOSE",
    "SCHEDULE_PURPOSE",
    "DemandRegister",
    "RegisterEntry",
    "RegisterOpenings",
    "RegisterSchedule",
    "ScheduleOpenings",
    "register_schedule_from",
    "register_schedules_for",
    "schedule_hash_for",
    "tariff_holidays",
]
