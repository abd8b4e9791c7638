"""The meter: commit to each reading and seal runs of commitments.

Per interval the meter computes ``C = c·G + r·H`` (fixed-base tables for both generators), keeps the
compressed commitment for the current run and hands ``(c, r)`` to the customer's device. When a run
ends — after every reading, at local midnight, or at the start of a calendar month, depending on the
seal span — it signs a :class:`~privbill.model.seals.Seal` chained to the previous one.

The meter is stateful: its sequence number, the hash of its last seal and the next interval it
expects survive between calls (:class:`MeterState`, saved by the CLI next to the sealed output).
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Final, Literal

from privbill.crypto import group, pedersen
from privbill.crypto.signatures import SigningKey
from privbill.errors import ReadingError, UsageError
from privbill.model import money
from privbill.model.certificates import MeterCertificate
from privbill.model.periods import local_midnight, zone
from privbill.model.readings import (
    MAX_ATTRIBUTE_VALUE,
    OPENING_KEY_BYTES,
    Openings,
    derive_attribute_blinding,
    derive_blinding,
)
from privbill.model.seals import GENESIS, Seal, SealedRun

SealSpan = Literal["reading", "day", "month"]
SEAL_SPANS: Final[tuple[SealSpan, ...]] = ("reading", "day", "month")


@dataclass(slots=True)
class MeterState:
    """What a meter remembers between recordings: its chain position, the next interval it
    expects, and the commitments of a run it has not sealed yet."""

    seq: int = 0
    prev: bytes = GENESIS
    next_index: int | None = None
    pending: bytes = b""
    pending_attributes: bytes = b""

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
            if (
                len(prev) != 32
                or not isinstance(seq, int)
                or seq < 0
                or not (nxt is None or isinstance(nxt, int))
                or len(pending) % group.POINT_BYTES
                or (pending and nxt is None)
                or len(pending_attrs) % group.POINT_BYTES
            ):
                raise ValueError
        except (ValueError, KeyError, TypeError, AttributeError):
            raise UsageError("meter state file is damaged", obj="meter state") from None
        return cls(seq, prev, nxt, pending, pending_attrs)


@dataclass(slots=True)
class Recording:
    """The result of :meth:`Meter.record`: public sealed runs and the private openings."""

    runs: list[SealedRun]
    openings: Openings


@dataclass(slots=True)
class Meter:
    certificate: MeterCertificate
    key: SigningKey
    seal_span: SealSpan = "day"
    timezone: str = "UTC"
    opening_key: bytes | None = None
    state: MeterState = field(default_factory=MeterState)

    def __post_init__(self) -> None:
        if self.seal_span not in SEAL_SPANS:
            raise UsageError(f"seal span must be one of {', '.join(SEAL_SPANS)}")
        if self.key.public_key() != self.certificate.public_key:
            raise UsageError("the meter key does not match the certificate's public key")
        if self.opening_key is not None and len(self.opening_key) != OPENING_KEY_BYTES:
            raise UsageError("opening key must be 32 bytes")
        zone(self.timezone)
        pedersen.precompute()

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
        while d <= end_day:
            if self.seal_span == "day" or d.day == 1:
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
    ) -> Recording:
        """Commit to and seal consecutive readings ``(interval index, Wh)`` — or, for a meter
        certified with private attributes, ``(interval index, quantity, attribute values)``.

        Readings must continue where the meter stopped and have no gaps; they are all checked
        before anything is committed, so a bad batch changes nothing. Runs end at the seal span's
        boundaries. With ``close`` (the default) the last run is sealed when the readings end,
        even if its span has not; with ``close=False`` it stays open in the meter's state and the
        next recording continues it.
        """
        items = list(readings)
        if not items:
            raise ReadingError("no readings to record", obj="readings")
        k = len(self.certificate.attributes)
        first = items[0][0]
        expect = self.state.next_index if self.state.next_index is not None else first
        attrs: list[Sequence[int]] = []
        for item in items:
            index, wh = item[0], item[1]
            if index != expect:
                if index == items[0][0] and self.state.next_index is not None:
                    msg = f"readings start at interval {index} but the meter continues at {expect}"
                else:
                    kind = "duplicate or out of order" if index < expect else "gap before"
                    msg = f"{kind} interval {index} (expected {expect})"
                raise ReadingError(msg, obj="readings", field="interval_start")
            if not 0 <= wh <= money.MAX_WH_PER_INTERVAL:
                raise ReadingError(
                    f"consumption {wh} Wh out of range at interval {index}",
                    obj="readings",
                    field="wh",
                )
            a: Sequence[int] = item[2] if len(item) == 3 else ()
            if len(a) != k or not all(0 <= v <= MAX_ATTRIBUTE_VALUE for v in a):
                raise ReadingError(
                    f"interval {index} needs {k} attribute value(s) in [0, 2^32)",
                    obj="readings",
                    field="attributes",
                )
            attrs.append(a)
            expect = index + 1
        last = items[-1][0]
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
        if run_first is None:
            run_first = first
        for (index, wh, *_), a in zip(items, attrs, strict=True):
            r = derive_blinding(okey, mid, index) if okey is not None else group.random_scalar()
            pending += commit_bytes(wh, r)
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
                runs.append(self._seal(run_first, bytes(pending), bytes(pending_attrs)))
                pending.clear()
                pending_attrs.clear()
                run_first = index + 1
        self.state.next_index = last + 1
        self.state.pending = bytes(pending)
        self.state.pending_attributes = bytes(pending_attrs)
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
        return Recording(runs, openings)

    def _seal(self, first: int, commitments: bytes, attributes: bytes = b"") -> SealedRun:
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
        )
        self.state.seq += 1
        self.state.prev = seal.chain_hash()
        return SealedRun(seal, commitments, attributes)
