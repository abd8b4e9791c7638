"""Checking link messages as they arrive, and keeping what passes in the household store.

Every message is checked completely before anything is written, so a refused message changes
no state. In order, for a message on ``…/meter/{id}/link``:

1. decode strictly; the meter id in the body is the topic's; the meter is one the store serves
   (``LinkDecodeError``, ``UnknownMeterError``);
2. a sequence number ``n`` already accepted: the same bytes are a duplicate (ignored); other bytes
   are refused — :class:`LinkReplayError` if the meter signed them, ``SignatureError`` if not;
3. the meter's signature over the message (``SignatureError``);
4. ``n`` ahead of the next expected: held in memory until the gap is filled (re-send request);
5. readings: the interval length and the first interval continue the meter's stream
   (``LinkOrderError``); the openings decrypt under the agent's key with the message's HPKE info
   (``LinkDecryptError``) and decode to exactly the message's intervals; the commitments are
   points (``CommitmentError``); every opening matches its commitment, by one random linear
   combination (``OpeningError``);
6. runs: the seal's signature (``SignatureError``) and commitments hash (``CommitmentError``);
   its sequence number and ``prev`` continue the chain (``SealChainError``); it starts where the
   last run ended and covers only readings already received (``LinkOrderError``); its
   commitments are those received (``CommitmentError``); an outage run's readings are all 0
   (``OpeningError``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

from privbill.billing.prover import check_openings
from privbill.crypto import group
from privbill.errors import (
    CommitmentError,
    DecodeError,
    LinkDecodeError,
    LinkDecryptError,
    LinkOrderError,
    LinkReplayError,
    OpeningError,
    SealChainError,
    SignatureError,
    UnknownMeterError,
)
from privbill.household import hpke, link
from privbill.household.store import HouseholdStore, MeterRow
from privbill.model.periods import interval_time, zone
from privbill.model.readings import Openings

MAX_HELD = 20_000  # messages held per meter while a gap is re-sent


@dataclass
class MeterStream:
    """In-memory state of one meter's stream: messages ahead of a gap."""

    held: dict[int, bytes] = field(default_factory=dict)
    last_progress: float = 0.0
    last_resend: float = 0.0


def _times(m: MeterRow, index: int) -> str:
    return interval_time(index, m.certificate.interval_s, zone("UTC"))


class Ingestor:
    """Checks one household's link messages and writes what passes (the caller commits)."""

    def __init__(self, store: HouseholdStore, key: X25519PrivateKey) -> None:
        self.store = store
        self.key = key
        self.streams: dict[str, MeterStream] = {mid: MeterStream() for mid in store.meter_ids()}
        self.counts: dict[str, int] = {"accepted": 0, "duplicate": 0, "held": 0, "refused": 0}

    def handle(self, meter_id: str, payload: bytes, *, drain: bool = True) -> str:
        """Process one message from ``…/meter/{meter_id}/link``; returns ``accepted``,
        ``duplicate`` or ``held`` (then the held successors that became next are processed
        too), or raises the typed error that refuses it."""
        m = self.store.meter(meter_id)
        if m is None:
            raise UnknownMeterError(f"no household here has meter {meter_id!r}", obj="link message")
        kind = link.kind_of(payload)
        msg: link.ReadingsMessage | link.RunMessage = (
            link.ReadingsMessage.decode(payload)
            if kind == "readings"
            else link.RunMessage.decode(payload)
        )
        if msg.meter_id != meter_id:
            raise LinkDecodeError(
                f"meter {msg.meter_id!r} in a message on meter {meter_id!r}'s topic",
                obj=msg.OBJ,
                field="meter_id",
            )
        digest = link.message_digest(payload)
        if msg.n < m.next_n:
            if self.store.message_digest(meter_id, msg.n) == digest:
                self.counts["duplicate"] += 1
                return "duplicate"
            msg.verify(m.certificate.public_key)  # SignatureError for a forgery
            raise LinkReplayError(
                f"message number {msg.n} of meter {meter_id!r} was already received with other "
                "content",
                obj=msg.OBJ,
                field="n",
            )
        msg.verify(m.certificate.public_key)
        stream = self.streams.setdefault(meter_id, MeterStream())
        if msg.n > m.next_n:
            if msg.n in stream.held or len(stream.held) >= MAX_HELD:
                self.counts["duplicate" if msg.n in stream.held else "refused"] += 1
                return "duplicate" if msg.n in stream.held else "dropped"
            stream.held[msg.n] = payload
            self.counts["held"] += 1
            return "held"
        self._apply(m, msg, digest)
        self.counts["accepted"] += 1
        if not drain:
            return "accepted"
        # Successors that were waiting for this one.
        while m.next_n in stream.held:
            nxt = stream.held.pop(m.next_n)
            try:
                self.handle(meter_id, nxt, drain=False)
            except (DecodeError, SignatureError, OpeningError, CommitmentError, SealChainError,
                    LinkOrderError, LinkDecryptError, LinkReplayError):  # fmt: skip
                self.counts["refused"] += 1
                break
        return "accepted"

    def _apply(
        self, m: MeterRow, msg: link.ReadingsMessage | link.RunMessage, digest: bytes
    ) -> None:
        if isinstance(msg, link.ReadingsMessage):
            self._readings(m, msg, digest)
        else:
            self._run(m, msg, digest)
        m.next_n = msg.n + 1
        self.store.save_meter(m)

    def _readings(self, m: MeterRow, msg: link.ReadingsMessage, digest: bytes) -> None:
        cert = m.certificate
        obj = msg.OBJ
        if msg.interval_s != cert.interval_s:
            raise LinkOrderError(
                f"{msg.interval_s}-second intervals; the meter's certificate says {cert.interval_s}",
                obj=obj,
                field="interval_s",
            )
        if m.next_index is not None and msg.first != m.next_index:
            what = "repeats readings" if msg.first < m.next_index else "skips readings"
            raise LinkOrderError(
                f"the message starts at {_times(m, msg.first)} but the meter's stream continues at "
                f"{_times(m, m.next_index)} ({what})",
                obj=obj,
                field="first",
            )
        if (
            msg.first * cert.interval_s < cert.valid_from
            or (msg.first + msg.count) * cert.interval_s > cert.valid_until
        ):
            raise LinkOrderError(
                "readings outside the meter certificate's validity", obj=obj, field="first"
            )
        try:
            plain = hpke.open_(msg.sealed_openings, self.key, msg.info())
        except hpke.DecryptError:
            raise LinkDecryptError(
                "the openings do not decrypt under this agent's key for this meter and message "
                "(altered, moved from another message, or sealed to another agent)",
                obj=obj,
                field="sealed_openings",
            ) from None
        try:
            openings = Openings.decode(plain)
        except DecodeError as exc:
            raise LinkDecodeError(
                f"openings: {exc.detail}", obj=obj, field="sealed_openings"
            ) from None
        if (
            openings.meter_id != msg.meter_id
            or openings.first != msg.first
            or openings.interval_s != msg.interval_s
            or len(openings.values) != msg.count
            or openings.attributes
        ):
            raise LinkDecodeError(
                "the openings are not those of the message's intervals",
                obj=obj,
                field="sealed_openings",
            )
        if openings.blindings is None and m.opening_key is None:
            raise OpeningError(
                "the meter derives blinding factors from an opening key this household does not have",
                obj=obj,
                field="sealed_openings",
            )
        blindings = openings.resolve(m.opening_key)
        try:
            points = group.decode_points_on_curve(msg.commitments, msg.count)
        except group.GroupError as exc:
            raise CommitmentError(str(exc), obj=obj, field="commitments") from None
        bad = check_openings(points, openings.values, blindings)
        if bad is not None:
            raise OpeningError(
                f"the opening at {_times(m, msg.first + bad)} does not match its commitment",
                obj=obj,
                field="commitments",
            )
        self.store.add_readings(
            m.meter_id,
            msg.n,
            digest,
            msg.first,
            openings.values,
            openings.blindings,
            msg.commitments,
        )
        if m.first_index is None:
            m.first_index = msg.first
            if m.sealed_end is None:
                m.sealed_end = msg.first
        m.next_index = msg.first + msg.count

    def _run(self, m: MeterRow, msg: link.RunMessage, digest: bytes) -> None:
        run = msg.run
        s = run.seal
        obj = msg.OBJ
        if s.meter_id != m.meter_id:
            raise LinkDecodeError(
                f"a seal of meter {s.meter_id!r}", obj=obj, field="run.seal.meter_id"
            )
        s.verify_signature(m.certificate.public_key, "run.seal")
        run.check_commitments("run")
        if s.interval_s != m.certificate.interval_s:
            raise LinkOrderError(
                "the seal's interval is not the certificate's", obj=obj, field="run.seal.interval_s"
            )
        if s.seq != m.next_seq:
            raise SealChainError(
                f"seal number {s.seq}; the chain continues with number {m.next_seq}",
                obj=obj,
                field="run.seal.seq",
            )
        if s.prev != m.prev:
            raise SealChainError(
                "the seal's prev is not the chain hash of the meter's previous seal",
                obj=obj,
                field="run.seal.prev",
            )
        start = m.sealed_end if m.sealed_end is not None else m.first_index
        if start is None or s.first != start or m.next_index is None or s.end > m.next_index:
            raise LinkOrderError(
                "the sealed run does not cover the next unsealed readings received",
                obj=obj,
                field="run.seal.first",
            )
        if self.store.commitments(m.meter_id, s.first, s.end) != run.commitments:
            raise CommitmentError(
                "the sealed commitments are not those the meter sent with the readings",
                obj=obj,
                field="run.commitments",
            )
        if s.outage and any(self.store.values(m.meter_id, s.first, s.end)):
            raise OpeningError(
                "an outage run with a reading that is not 0", obj=obj, field="run.seal.outage"
            )
        self.store.add_run(m.meter_id, msg.n, digest, run)
        m.next_seq = s.seq + 1
        m.prev = s.chain_hash()
        m.sealed_end = s.end
