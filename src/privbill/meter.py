"""The meter: commit to each reading and seal runs of commitments.

Per interval the meter computes ``C = c·G + r·H`` (fixed-base tables for both generators), keeps the
compressed commitment for the current run and hands ``(c, r)`` to the customer's device. When a run
ends — after every reading, at local midnight, or at the start of a calendar month, depending on the
seal span — it signs a :class:`~privbill.model.seals.Seal` chained to the previous one.

The meter is stateful: its sequence number, the hash of its last seal and the next interval it
expects survive between calls (:class:`MeterState`, saved by the CLI next to the sealed output).

A meter configured with demand-register schedules (:class:`~privbill.model.registers.RegisterSchedule`)
also keeps, for the calendar month it is recording (in its timezone), the largest interval value
of each window and where it occurred. After the month's last interval it signs a
:class:`~privbill.model.registers.DemandRegister` with a commitment to each window's maximum and
hands the openings to the customer's device. A month the meter did not record from its first
interval gets no register.

A meter configured with time-of-use energy registers (:class:`~privbill.model.energy_registers.
RegisterConfig`: a tariff's calendar and billing cycle) adds each reading's commitment to the
register of its time-of-use period, seals at every billing-period boundary, and after the
period's last interval signs an :class:`~privbill.model.energy_registers.EnergyRegisters`
statement (``docs/protocol.md`` §7). A new configuration given while a period is being recorded
takes effect at the next billing-period boundary, like the passive calendar of a DLMS/COSEM
activity calendar; :meth:`Meter.decommission` signs the registers of a period cut short by the
meter's removal.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Final, Literal

from privbill.crypto import group, pedersen
from privbill.crypto.group import Point
from privbill.crypto.signatures import SigningKey
from privbill.errors import ReadingError, UsageError
from privbill.model import money
from privbill.model.certificates import MeterCertificate
from privbill.model.energy_registers import ChainSpan, EnergyRegisters, RegisterConfig
from privbill.model.periods import (
    BillingPeriod,
    interval_time,
    local_midnight,
    local_time,
    zone,
)
from privbill.model.readings import (
    MAX_ATTRIBUTE_VALUE,
    OPENING_KEY_BYTES,
    Openings,
    derive_attribute_blinding,
    derive_blinding,
    derive_register_blinding,
)
from privbill.model.registers import (
    MAX_SCHEDULES,
    DemandRegister,
    RegisterEntry,
    RegisterOpenings,
    RegisterSchedule,
    ScheduleOpenings,
)
from privbill.model.schedules import NONE, schedule_indices
from privbill.model.seals import GENESIS, Seal, SealedRun

SealSpan = Literal["reading", "day", "month"]
SEAL_SPANS: Final[tuple[SealSpan, ...]] = ("reading", "day", "month")


def _damaged() -> UsageError:
    return UsageError("meter state file is damaged", obj="meter state")


@dataclass(slots=True)
class RegisterTracker:
    """The running maxima of the month a meter is recording (meter-internal, like the readings
    themselves): per schedule and window, ``(Wh, interval index)`` of the first interval that
    reached the maximum so far, or ``None`` while the window has had no interval."""

    start: int  # the month, UTC seconds [start, end)
    end: int
    complete: bool  # recorded from the month's first interval
    schedules: list[bytes]  # hashes of the schedules tracked
    maxima: list[list[tuple[int, int] | None]]

    def __repr__(self) -> str:  # the running maxima are the customer's data
        return f"RegisterTracker(start={self.start}, schedules={len(self.schedules)}, <secret>)"

    def to_obj(self) -> dict[str, object]:
        return {
            "start": self.start,
            "end": self.end,
            "complete": self.complete,
            "schedules": [h.hex() for h in self.schedules],
            "maxima": [[None if m is None else list(m) for m in row] for row in self.maxima],
        }

    @classmethod
    def from_obj(cls, d: dict[str, object]) -> RegisterTracker:
        """Raises :class:`UsageError` (or ``KeyError``/``TypeError`` from the field accessors) on
        anything malformed."""
        start, end, complete = d["start"], d["end"], d["complete"]
        if (
            not isinstance(start, int)
            or not isinstance(end, int)
            or isinstance(start, bool)
            or isinstance(end, bool)
            or not 0 <= start < end
            or not isinstance(complete, bool)
        ):
            raise _damaged()
        raw_sched, raw_max = d["schedules"], d["maxima"]
        if not isinstance(raw_sched, list) or not isinstance(raw_max, list):
            raise _damaged()
        schedules = [bytes.fromhex(h) for h in raw_sched]
        if len(raw_max) != len(schedules) or any(len(h) != 32 for h in schedules):
            raise _damaged()
        maxima: list[list[tuple[int, int] | None]] = []
        for row in raw_max:
            if not isinstance(row, list) or not row:
                raise _damaged()
            out: list[tuple[int, int] | None] = []
            for m in row:
                if m is None:
                    out.append(None)
                    continue
                if (
                    not isinstance(m, list)
                    or len(m) != 2
                    or not all(isinstance(x, int) and not isinstance(x, bool) for x in m)
                    or not 0 <= m[0] <= money.MAX_WH_PER_INTERVAL
                    or m[1] < 0
                ):
                    raise _damaged()
                out.append((m[0], m[1]))
            maxima.append(out)
        return cls(start, end, complete, schedules, maxima)


@dataclass(slots=True)
class EnergyTracker:
    """The running time-of-use energy registers of the billing period a meter is recording
    (meter-internal): per period the sum of its readings' commitments so far, and where the
    seal chain stood when the tracking began. ``usable`` is false when the tracking began
    inside a run (the meter was configured mid-run) or the period is not aligned to the meter's
    intervals: such a period gets no statement."""

    start: int  # the billing period, UTC seconds [start, end)
    end: int
    first: int  # first interval tracked
    calendar_hash: bytes
    first_seq: int
    chain_start: bytes
    usable: bool
    sums: dict[int, Point] = field(default_factory=dict)

    def __repr__(self) -> str:  # the running sums are the customer's data
        return f"EnergyTracker(start={self.start}, first={self.first}, <secret>)"

    def to_obj(self) -> dict[str, object]:
        return {
            "start": self.start,
            "end": self.end,
            "first": self.first,
            "calendar_hash": self.calendar_hash.hex(),
            "first_seq": self.first_seq,
            "chain_start": self.chain_start.hex(),
            "usable": self.usable,
            "sums": {str(k): group.encode_point(p).hex() for k, p in sorted(self.sums.items())},
        }

    @classmethod
    def from_obj(cls, d: dict[str, object]) -> EnergyTracker:
        """Raises :class:`UsageError` (or ``KeyError``/``TypeError`` from the field accessors) on
        anything malformed."""
        ints = [d["start"], d["end"], d["first"], d["first_seq"]]
        if any(isinstance(v, bool) or not isinstance(v, int) or v < 0 for v in ints):
            raise _damaged()
        start, end, first, first_seq = (int(v) for v in ints)  # type: ignore[call-overload]
        usable, raw_sums = d["usable"], d["sums"]
        if not isinstance(usable, bool) or not isinstance(raw_sums, dict) or end <= start:
            raise _damaged()
        calendar_hash = bytes.fromhex(str(d["calendar_hash"]))
        chain_start = bytes.fromhex(str(d["chain_start"]))
        if len(calendar_hash) != 32 or len(chain_start) != 32:
            raise _damaged()
        sums: dict[int, Point] = {}
        for k, v in raw_sums.items():
            try:
                sums[int(k)] = group.decode_point(bytes.fromhex(str(v)))
            except group.GroupError:
                raise _damaged() from None
        return cls(start, end, first, calendar_hash, first_seq, chain_start, usable, sums)


@dataclass(slots=True)
class MeterState:
    """What a meter remembers between recordings: its chain position, the next interval it
    expects, the commitments of a run it has not sealed yet and, with demand registers, the
    running maxima of the month being recorded."""

    seq: int = 0
    prev: bytes = GENESIS
    next_index: int | None = None
    pending: bytes = b""
    pending_attributes: bytes = b""
    registers: RegisterTracker | None = None
    pending_outage: bool = False  # the unsealed run is an outage run
    timezone: str | None = None  # the local time the chain's runs were sealed in
    seal_span: SealSpan | None = None
    energy_config: RegisterConfig | None = None  # time-of-use energy registers in use
    energy_pending: RegisterConfig | None = None  # in use from the next billing period
    energy: EnergyTracker | None = None  # the running registers of the current period

    @property
    def pending_first(self) -> int | None:
        """First interval of the unsealed run, if any."""
        if not self.pending or self.next_index is None:
            return None
        return self.next_index - len(self.pending) // group.POINT_BYTES

    def to_json(self) -> str:
        return json.dumps(
            {
                "seq": self.seq,
                "prev": self.prev.hex(),
                "next_index": self.next_index,
                "pending": self.pending.hex(),
                "pending_attributes": self.pending_attributes.hex(),
                "registers": None if self.registers is None else self.registers.to_obj(),
                "pending_outage": self.pending_outage,
                "timezone": self.timezone,
                "seal_span": self.seal_span,
                **(
                    {
                        "energy_registers": {
                            "config": _config_obj(self.energy_config),
                            "pending": _config_obj(self.energy_pending),
                            "tracker": None if self.energy is None else self.energy.to_obj(),
                        }
                    }
                    if self.energy_config or self.energy_pending or self.energy
                    else {}
                ),
            }
        )

    @classmethod
    def from_json(cls, text: str) -> MeterState:
        try:
            d = json.loads(text)
            prev = bytes.fromhex(d["prev"])
            pending = bytes.fromhex(d.get("pending", ""))
            pending_attrs = bytes.fromhex(d.get("pending_attributes", ""))
            seq, nxt = d["seq"], d["next_index"]
            raw_registers = d.get("registers")
            registers = None if raw_registers is None else RegisterTracker.from_obj(raw_registers)
            pending_outage = d.get("pending_outage", False)
            tzname = d.get("timezone")
            span = d.get("seal_span")
            energy = d.get("energy_registers")
            config = pending_config = tracker_e = None
            if energy is not None:
                if not isinstance(energy, dict):
                    raise _damaged()
                config = _config_from(energy["config"])
                pending_config = _config_from(energy["pending"])
                raw_tracker = energy["tracker"]
                tracker_e = None if raw_tracker is None else EnergyTracker.from_obj(raw_tracker)
            if (
                not isinstance(pending_outage, bool)
                or not (tzname is None or isinstance(tzname, str))
                or not (span is None or span in SEAL_SPANS)
            ):
                raise _damaged()
            if (
                len(prev) != 32
                or not isinstance(seq, int)
                or seq < 0
                or not (nxt is None or isinstance(nxt, int))
                or len(pending) % group.POINT_BYTES
                or (pending and nxt is None)
                or len(pending_attrs) % group.POINT_BYTES
            ):
                raise _damaged()
        except (ValueError, KeyError, TypeError, AttributeError, RecursionError, UsageError):
            raise UsageError("meter state file is damaged", obj="meter state") from None
        return cls(
            seq,
            prev,
            nxt,
            pending,
            pending_attrs,
            registers,
            pending_outage,
            tzname,
            span,
            config,
            pending_config,
            tracker_e,
        )


def _config_obj(config: RegisterConfig | None) -> dict[str, object] | None:
    return None if config is None else config.to_obj()


def _config_from(value: object) -> RegisterConfig | None:
    if value is None:
        return None
    if not isinstance(value, dict):
        raise _damaged()
    return RegisterConfig.from_obj(value)


@dataclass(slots=True)
class Recording:
    """The result of :meth:`Meter.record`: public sealed runs and the private openings, the
    demand registers of the months completed by the recording (public) with their openings, and
    the energy-register statements of the billing periods it completed (public)."""

    runs: list[SealedRun]
    openings: Openings
    registers: list[DemandRegister] = field(default_factory=list)
    register_openings: list[RegisterOpenings] = field(default_factory=list)
    energy_registers: list[EnergyRegisters] = field(default_factory=list)


@dataclass(slots=True)
class Meter:
    certificate: MeterCertificate
    key: SigningKey
    seal_span: SealSpan = "day"
    timezone: str = "UTC"
    opening_key: bytes | None = None
    state: MeterState = field(default_factory=MeterState)
    register_schedules: Sequence[RegisterSchedule] = ()
    energy_registers: RegisterConfig | None = None
    _register_hashes: tuple[bytes, ...] = field(default=(), init=False, repr=False)

    def __post_init__(self) -> None:
        if self.seal_span not in SEAL_SPANS:
            raise UsageError(f"seal span must be one of {', '.join(SEAL_SPANS)}")
        if self.key.public_key() != self.certificate.public_key:
            raise UsageError("the meter key does not match the certificate's public key")
        if self.opening_key is not None and len(self.opening_key) != OPENING_KEY_BYTES:
            raise UsageError("opening key must be 32 bytes")
        zone(self.timezone)
        self.register_schedules = tuple(self.register_schedules)
        if self.register_schedules:
            if 3600 % self.interval_s:
                raise UsageError("demand registers need a meter interval that divides an hour")
            if len(self.register_schedules) > MAX_SCHEDULES:
                raise UsageError(f"at most {MAX_SCHEDULES} demand-register schedules")
        self._register_hashes = tuple(s.hash(self.timezone) for s in self.register_schedules)
        if len(set(self._register_hashes)) != len(self._register_hashes):
            raise UsageError("a demand-register schedule is configured twice")
        self._check_register_state()
        if self.energy_registers is not None:
            self.configure_energy_registers(self.energy_registers)
        pedersen.precompute()

    def configure_energy_registers(self, config: RegisterConfig) -> bool:
        """Load a time-of-use calendar and billing cycle for energy registers. Returns ``True``
        if it is in use at once, ``False`` if it waits for the next billing-period boundary
        (a period is being recorded under another configuration; it completes under that one).
        The configuration persists in the meter state."""
        if self.interval_s > 3600:
            raise UsageError("energy registers need a meter interval of at most an hour")
        st = self.state
        if st.energy_config == config:
            st.energy_pending = None
            return True
        if st.energy is not None and st.energy_config is not None:
            st.energy_pending = config
            return False
        st.energy_config, st.energy_pending = config, None
        return True

    def _start_energy(self, index: int, run_first: int) -> EnergyTracker | None:
        """The tracker of the billing period that interval ``index`` starts (or begins the
        meter's tracking in), after a pending configuration has taken over."""
        st = self.state
        if st.energy_pending is not None:
            st.energy_config, st.energy_pending = st.energy_pending, None
        cfg = st.energy_config
        if cfg is None:
            return None
        tz = zone(self.timezone)
        length = self.interval_s
        day = datetime.fromtimestamp(index * length, tz).date()
        per = cfg.cycle.period_of(day, tz)
        usable = per.start % length == 0 and per.end % length == 0 and run_first == index
        return EnergyTracker(
            per.start,
            per.end,
            index,
            cfg.calendar.hash(self.timezone),
            st.seq,
            st.prev,
            usable,
        )

    def _energy_statement(self, tracker: EnergyTracker, end: int) -> EnergyRegisters:
        """Sign the registers of intervals ``[tracker.first, end)``; the runs covering them are
        sealed already."""
        periods = sorted(tracker.sums)
        return EnergyRegisters.make(
            self.key,
            meter_id=self.meter_id,
            period=BillingPeriod(tracker.start, tracker.end),
            interval_s=self.interval_s,
            first=tracker.first,
            count=end - tracker.first,
            calendar_hash=tracker.calendar_hash,
            periods=periods,
            registers=b"".join(group.encode_point(tracker.sums[k]) for k in periods),
            seals=ChainSpan(
                tracker.first_seq, self.state.seq - 1, tracker.chain_start, self.state.prev
            ),
        )

    def decommission(self) -> tuple[list[SealedRun], EnergyRegisters | None]:
        """The meter is being removed: seal the open run, if any, and sign the energy registers
        of the billing period so far (``None`` without usable registers). A replacement meter
        continues the period; the certificate of this one should end where its readings end
        (``docs/protocol.md`` §7)."""
        st = self.state
        runs: list[SealedRun] = []
        first = st.pending_first
        if first is not None:
            runs.append(self._seal(first, st.pending, st.pending_attributes, st.pending_outage))
            st.pending, st.pending_attributes, st.pending_outage = b"", b"", False
        statement = None
        t = st.energy
        if t is not None and t.usable and st.next_index is not None and st.next_index > t.first:
            statement = self._energy_statement(t, st.next_index)
        st.energy = None
        return runs, statement

    def _check_register_state(self) -> None:
        tracker = self.state.registers
        if tracker is not None and tuple(tracker.schedules) != self._register_hashes:
            raise UsageError(
                "the meter state tracks other demand-register schedules than the meter has",
                obj="meter state",
                field="registers",
            )

    def _month(self, ts: int) -> tuple[int, int]:
        """The local calendar month containing UTC second ``ts``, as UTC seconds [start, end)."""
        tz = zone(self.timezone)
        d = datetime.fromtimestamp(ts, tz).date()
        nxt = date(d.year + (d.month == 12), d.month % 12 + 1, 1)
        return local_midnight(d.replace(day=1), tz), local_midnight(nxt, tz)

    @property
    def meter_id(self) -> str:
        return self.certificate.meter_id

    @property
    def interval_s(self) -> int:
        return self.certificate.interval_s

    @staticmethod
    def new_opening_key() -> bytes:
        return secrets.token_bytes(OPENING_KEY_BYTES)

    def _boundaries(self, first: int, last: int) -> set[int]:
        """Interval indices at which a new run must start (exclusive end of a run)."""
        if self.seal_span == "reading":
            return set(range(first + 1, last + 2))
        tz = zone(self.timezone)
        length = self.interval_s
        d = datetime.fromtimestamp(first * length, tz).date()
        end_day = datetime.fromtimestamp((last + 1) * length, tz).date()
        out: set[int] = set()
        cycles = [c.cycle for c in (self.state.energy_config, self.state.energy_pending) if c]
        while d <= end_day:
            if self.seal_span == "day" or d.day == 1 or any(c.first_day(d) == d for c in cycles):
                ts = local_midnight(d, tz)
                if ts % length == 0:
                    out.add(ts // length)
            d = date.fromordinal(d.toordinal() + 1)
        return out

    def record(
        self,
        readings: Iterable[tuple[int, int] | tuple[int, int, Sequence[int]]],
        *,
        close: bool = True,
        outage: bool = False,
    ) -> Recording:
        """Commit to and seal consecutive readings ``(interval index, Wh)`` — or, for a meter
        certified with private attributes, ``(interval index, quantity, attribute values)``.

        Readings must continue where the meter stopped and have no gaps; they are all checked
        before anything is committed, so a bad batch changes nothing. Runs end at the seal span's
        boundaries. With ``close`` (the default) the last run is sealed when the readings end,
        even if its span has not; with ``close=False`` it stays open in the meter's state and the
        next recording continues it.

        With ``outage`` the meter records intervals in which it had no supply: every reading must
        be 0, and the runs are sealed as outage runs (``Seal.outage``), apart from the runs of
        ordinary readings before and after them.
        """
        items = list(readings)
        if not items:
            raise ReadingError("no readings to record", obj="readings")
        attrs = self._checked(items, outage)
        k = len(self.certificate.attributes)
        first, last = items[0][0], items[-1][0]
        self._check_register_state()
        boundaries = self._boundaries(first, last)
        commit_bytes = pedersen.commit_bytes
        okey, mid = self.opening_key, self.meter_id
        values: list[int] = []
        blindings: list[int] = []
        avalues: list[int] = []
        ablindings: list[int] = []
        runs: list[SealedRun] = []
        run_first = self.state.pending_first
        pending = bytearray(self.state.pending)
        pending_attrs = bytearray(self.state.pending_attributes)
        if run_first is not None and self.state.pending_outage != outage:
            # An outage starts or ends: the open run is sealed as what it is.
            runs.append(self._seal(run_first, bytes(pending), bytes(pending_attrs), not outage))
            pending.clear()
            pending_attrs.clear()
            run_first = None
        if run_first is None:
            run_first = first
        demand = _DemandPass(self, first, len(items))
        energy = _EnergyPass(self, first, len(items))
        commit = pedersen.commit
        encode = group.encode_point
        for pos, ((index, wh, *_), a) in enumerate(zip(items, attrs, strict=True)):
            demand.add(index, wh)
            r = derive_blinding(okey, mid, index) if okey is not None else group.random_scalar()
            point = commit(wh, r)
            pending += encode(point)
            energy.add(pos, index, point, run_first)
            values.append(wh)
            blindings.append(r)
            for j, v in enumerate(a):
                s = (
                    derive_attribute_blinding(okey, mid, index, j)
                    if okey is not None
                    else group.random_scalar()
                )
                pending_attrs += commit_bytes(v, s)
                avalues.append(v)
                ablindings.append(s)
            if index + 1 in boundaries or (close and index == last):
                runs.append(self._seal(run_first, bytes(pending), bytes(pending_attrs), outage))
                pending.clear()
                pending_attrs.clear()
                run_first = index + 1
            energy.after(index)
        self.state.next_index = last + 1
        self.state.pending = bytes(pending)
        self.state.pending_attributes = bytes(pending_attrs)
        self.state.registers = demand.tracker
        self.state.energy = energy.tracker
        self.state.pending_outage = outage and bool(pending)
        self.state.timezone = self.timezone
        self.state.seal_span = self.seal_span
        derived = okey is not None
        openings = Openings(
            mid,
            self.interval_s,
            first,
            values,
            None if derived else blindings,
            k,
            avalues,
            None if derived or not k else ablindings,
        )
        return Recording(runs, openings, demand.registers, demand.openings, energy.statements)

    def _checked(
        self,
        items: Sequence[tuple[int, int] | tuple[int, int, Sequence[int]]],
        outage: bool,
    ) -> list[Sequence[int]]:
        """Every reading's attribute values, after checking the whole batch: consecutive
        intervals continuing the meter's, consumption within the meter's range (its rating),
        0 in an outage, one attribute value per certified attribute in ``[0, 2^32)``."""
        k = len(self.certificate.attributes)
        tz = zone(self.timezone)
        length = self.interval_s

        def at(i: int) -> str:
            return interval_time(i, length, tz)

        first = items[0][0]
        expect = self.state.next_index if self.state.next_index is not None else first
        top = self.certificate.max_wh()
        rated = self.certificate.rating_w is not None
        attrs: list[Sequence[int]] = []
        for pos, item in enumerate(items):
            index, wh = item[0], item[1]
            if index != expect:
                if pos == 0:  # only the meter's state sets what the first reading must be
                    what = (
                        "they were recorded already"
                        if index < expect
                        else f"no readings from {at(expect)} until {local_time(index * length, tz)}"
                    )
                    msg = (
                        f"readings start at {at(index)} but the meter continues at {at(expect)} "
                        f"({what})"
                    )
                elif index < expect:
                    msg = (
                        f"reading at {at(index)} is a duplicate or out of order: the next "
                        f"reading is due at {at(expect)}"
                    )
                else:
                    msg = (
                        f"gap: no reading from {at(expect)} until {local_time(index * length, tz)}"
                    )
                raise ReadingError(msg, obj="readings", field="interval_start")
            if not 0 <= wh <= top:
                rating = (
                    f" (the meter's rating of {self.certificate.rating_w} W over "
                    f"{length // 60} minutes)"
                    if rated
                    else ""
                )
                raise ReadingError(
                    f"consumption {wh} Wh at {at(index)} is out of range [0, {top}]{rating}",
                    obj="readings",
                    field="wh",
                )
            if outage and wh:
                raise ReadingError(
                    f"the reading at {at(index)} is in an outage and must be 0, not {wh}",
                    obj="readings",
                    field="wh",
                )
            a: Sequence[int] = item[2] if len(item) == 3 else ()
            if len(a) != k or not all(0 <= v <= MAX_ATTRIBUTE_VALUE for v in a):
                raise ReadingError(
                    f"the reading at {at(index)} needs {k} attribute value(s) in [0, 2^32)",
                    obj="readings",
                    field="attributes",
                )
            attrs.append(a)
            expect = index + 1
        return attrs

    def _register(self, tracker: RegisterTracker) -> tuple[DemandRegister, RegisterOpenings]:
        """Commit to a finished month's maxima and sign the register."""
        okey, mid = self.opening_key, self.meter_id
        entries: list[RegisterEntry] = []
        opened: list[ScheduleOpenings] = []
        for s, (h, row) in enumerate(zip(tracker.schedules, tracker.maxima, strict=True)):
            values = [0 if m is None else m[0] for m in row]
            blindings = [
                derive_register_blinding(okey, mid, tracker.start, s, w)
                if okey is not None
                else group.random_scalar()
                for w in range(len(row))
            ]
            entries.append(
                RegisterEntry(
                    h,
                    b"".join(
                        pedersen.commit_bytes(v, r) for v, r in zip(values, blindings, strict=True)
                    ),
                )
            )
            opened.append(
                ScheduleOpenings(
                    h,
                    values,
                    [None if m is None else m[1] for m in row],
                    None if okey is not None else blindings,
                )
            )
        month = BillingPeriod(tracker.start, tracker.end)
        register = DemandRegister.make(self.key, meter_id=mid, month=month, schedules=entries)
        return register, RegisterOpenings(mid, month, opened)

    def _seal(
        self, first: int, commitments: bytes, attributes: bytes = b"", outage: bool = False
    ) -> SealedRun:
        k = len(self.certificate.attributes)
        seal = Seal.make(
            self.key,
            meter_id=self.meter_id,
            seq=self.state.seq,
            first=first,
            interval_s=self.interval_s,
            commitments=commitments,
            prev=self.state.prev,
            attributes=k,
            attribute_commitments=attributes,
            outage=outage,
        )
        self.state.seq += 1
        self.state.prev = seal.chain_hash()
        return SealedRun(seal, commitments, attributes)


class _DemandPass:
    """One recording's maximum-demand registers: each reading updates the month's maxima of
    every register schedule; a month's last interval signs its register (if the meter saw the
    whole month)."""

    def __init__(self, meter: Meter, first: int, count: int) -> None:
        self.meter = meter
        self.schedules = meter.register_schedules
        tz = zone(meter.timezone)
        self.windows = [
            schedule_indices(
                s.weekday, s.weekend, s.holidays, tz, first, count, meter.interval_s, "registers"
            )
            for s in self.schedules
        ]
        self.first = first
        self.tracker = meter.state.registers
        self.month = (0, 0)
        self.registers: list[DemandRegister] = []
        self.openings: list[RegisterOpenings] = []

    def add(self, index: int, wh: int) -> None:
        if not self.schedules:
            return
        meter = self.meter
        ts = index * meter.interval_s
        if not self.month[0] <= ts < self.month[1]:
            self.month = meter._month(ts)
        month = self.month
        tracker = self.tracker
        if tracker is None or tracker.start != month[0]:
            tracker = self.tracker = RegisterTracker(
                month[0],
                month[1],
                ts == month[0],
                list(meter._register_hashes),
                [[None] * s.windows for s in self.schedules],
            )
        for row, wins in zip(tracker.maxima, self.windows, strict=True):
            w = wins[index - self.first]
            if w != NONE:
                cur = row[w]
                if cur is None or wh > cur[0]:
                    row[w] = (wh, index)
        if (index + 1) * meter.interval_s >= month[1]:
            if tracker.complete:
                reg, reg_open = meter._register(tracker)
                self.registers.append(reg)
                self.openings.append(reg_open)
            self.tracker = None


class _EnergyPass:
    """One recording's time-of-use energy registers: each reading's commitment is added to its
    period's running sum; a billing period's last interval signs the statement."""

    def __init__(self, meter: Meter, first: int, count: int) -> None:
        self.meter = meter
        self.count = count
        self.tracker = meter.state.energy
        self.on = self.tracker is not None or meter.state.energy_config is not None
        self.periods: list[int] = []  # time-of-use period of the readings from `start` on
        self.start = 0
        self.statements: list[EnergyRegisters] = []
        cfg = meter.state.energy_config
        if self.tracker is not None and self.tracker.usable and cfg is not None:
            self.periods = cfg.calendar.periods_of(
                meter.timezone,
                first,
                min(count, self.tracker.end // meter.interval_s - first),
                meter.interval_s,
            )

    def add(self, pos: int, index: int, point: Point, run_first: int) -> None:
        if not self.on:
            return
        meter, length = self.meter, self.meter.interval_s
        ts = index * length
        energy = self.tracker
        if energy is None or not energy.start <= ts < energy.end:
            energy = self.tracker = meter._start_energy(index, run_first)
            self.start = pos
            cfg = meter.state.energy_config
            self.periods = (
                cfg.calendar.periods_of(
                    meter.timezone,
                    index,
                    min(self.count - pos, energy.end // length - index),
                    length,
                )
                if energy is not None and energy.usable and cfg is not None
                else []
            )
        if energy is not None and energy.usable:
            k_tou = self.periods[pos - self.start]
            running = energy.sums.get(k_tou)
            energy.sums[k_tou] = point if running is None else running + point

    def after(self, index: int) -> None:
        """After the reading's run is sealed: a period's last interval ends its statement."""
        energy = self.tracker
        if energy is not None and (index + 1) * self.meter.interval_s >= energy.end:
            # The period's last interval: its run is sealed (a period end is a boundary).
            if energy.usable:
                self.statements.append(self.meter._energy_statement(energy, index + 1))
            self.tracker = None
