"""The meter link: what a meter publishes over MQTT and what its agent sends back.

Topics under a prefix (``privbill/v1`` by default), per meter:

* ``{prefix}/meter/{meter_id}/link`` — the meter's stream, QoS 1, one topic so that the broker
  keeps its order: **readings** messages (the commitments of consecutive intervals, public, and
  their openings, HPKE-encrypted to the household's agent) and **run** messages (a sealed run:
  the seal and its commitments, public). Every message carries the meter's link sequence number
  ``n`` (0, 1, 2, … over both kinds) and the meter's signature (purpose ``meter-link``) over
  its canonical CBOR, so nobody else can publish into the stream.
* ``{prefix}/meter/{meter_id}/head`` — retained: the last ``n`` the meter published, signed.
* ``{prefix}/meter/{meter_id}/resend`` — the agent asks the meter to publish ``n`` in
  ``[from, to)`` again (at most :data:`MAX_RESEND` at a time). A request reveals nothing and
  makes the meter publish only what it already published, so it is not signed.

Delivery is at least once (QoS 1, the meter re-publishes what it persisted but had no PUBACK
for); the agent deduplicates by ``n``: the same bytes again are ignored, other bytes under a
used ``n`` are refused (:class:`LinkReplayError`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar, Final

from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PublicKey

from privbill.crypto import group
from privbill.crypto.hashing import digest
from privbill.crypto.signatures import SIGNATURE_BYTES, SigningKey, VerifyingKey
from privbill.errors import DecodeError, LinkDecodeError, SignatureError
from privbill.household import hpke
from privbill.model import codec
from privbill.model.ids import is_identifier
from privbill.model.periods import MAX_INTERVAL_S, MIN_INTERVAL_S
from privbill.model.seals import MAX_RUN, SealedRun

DEFAULT_PREFIX: Final = "privbill/v1"
READINGS_FORMAT: Final = "privbill/link-readings/1"
RUN_FORMAT: Final = "privbill/link-run/1"
HEAD_FORMAT: Final = "privbill/link-head/1"
RESEND_FORMAT: Final = "privbill/link-resend/1"
PURPOSE: Final = "meter-link"
MAX_BATCH: Final = 4096  # readings per message
MAX_RESEND: Final = 4096  # messages per re-send request
MAX_MESSAGE_BYTES: Final = 8 * 1024 * 1024


def link_topic(prefix: str, meter_id: str) -> str:
    return f"{prefix}/meter/{meter_id}/link"


def head_topic(prefix: str, meter_id: str) -> str:
    return f"{prefix}/meter/{meter_id}/head"


def resend_topic(prefix: str, meter_id: str) -> str:
    return f"{prefix}/meter/{meter_id}/resend"


def parse_topic(prefix: str, topic: str) -> tuple[str, str]:
    """``(meter id, kind)`` of a topic under ``prefix``; kind is link, head or resend."""
    head = prefix + "/meter/"
    rest = topic[len(head) :] if topic.startswith(head) else ""
    parts = rest.split("/")
    if len(parts) != 2 or not is_identifier(parts[0]) or parts[1] not in ("link", "head", "resend"):
        raise LinkDecodeError(
            f"not a meter-link topic: {topic!r}", obj="link message", field="topic"
        )
    return parts[0], parts[1]


def message_digest(payload: bytes) -> bytes:
    """What the agent keeps of each message it accepted, to tell a duplicate from a replay."""
    return digest("meter-link-message", payload)


def _sign(key: SigningKey, body: dict[str, Any]) -> bytes:
    return codec.encode({**body, "signature": key.sign(PURPOSE, codec.encode(body))})


def _decode(payload: bytes, obj: str) -> dict[str, Any]:
    if len(payload) > MAX_MESSAGE_BYTES:
        raise LinkDecodeError(f"message larger than {MAX_MESSAGE_BYTES} bytes", obj=obj)
    try:
        value = codec.decode(payload, obj)
    except DecodeError as exc:
        raise LinkDecodeError(exc.detail, obj=obj, field=exc.field) from None
    return value


def _fields(value: dict[str, Any], obj: str, required: set[str]) -> codec.Fields:
    try:
        return codec.Fields(value, obj, required)
    except DecodeError as exc:
        raise LinkDecodeError(exc.detail, obj=obj, field=exc.field) from None


def _check_signature(obj: str, body: dict[str, Any], signature: bytes, key: VerifyingKey) -> None:
    if not key.verify(PURPOSE, codec.encode(body), signature):
        raise SignatureError("the meter's signature does not verify", obj=obj, field="signature")


def kind_of(payload: bytes) -> str:
    """The ``format`` of a link message (``readings`` or ``run``), checked to be canonical."""
    value = _decode(payload, "link message")
    fmt = value.get("format")
    if fmt == READINGS_FORMAT:
        return "readings"
    if fmt == RUN_FORMAT:
        return "run"
    raise LinkDecodeError(f"unknown format {fmt!r}", obj="link message", field="format")


# --- readings ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ReadingsMessage:
    """Commitments of ``count`` consecutive intervals from ``first`` and their openings (the
    :class:`~privbill.model.readings.Openings` encoding) sealed to the agent."""

    meter_id: str
    n: int
    first: int
    count: int
    interval_s: int
    commitments: bytes
    sealed_openings: bytes
    signature: bytes

    OBJ: ClassVar[str] = "readings message"

    def body(self) -> dict[str, Any]:
        return {
            "format": READINGS_FORMAT,
            "meter_id": self.meter_id,
            "n": self.n,
            "first": self.first,
            "count": self.count,
            "interval_s": self.interval_s,
            "commitments": self.commitments,
            "sealed_openings": self.sealed_openings,
        }

    def info(self) -> bytes:
        return hpke.openings_info(
            self.meter_id,
            self.n,
            self.first,
            self.count,
            digest("link-commitments", self.commitments),
        )

    @classmethod
    def make(
        cls,
        key: SigningKey,
        agent: X25519PublicKey,
        *,
        meter_id: str,
        n: int,
        first: int,
        interval_s: int,
        commitments: bytes,
        openings: bytes,
    ) -> bytes:
        count = len(commitments) // group.POINT_BYTES
        info = hpke.openings_info(
            meter_id, n, first, count, digest("link-commitments", commitments)
        )
        body = cls(meter_id, n, first, count, interval_s, commitments, b"", b"").body()
        body["sealed_openings"] = hpke.seal(openings, agent, info)
        return _sign(key, body)

    @classmethod
    def decode(cls, payload: bytes) -> ReadingsMessage:
        f = _fields(_decode(payload, cls.OBJ), cls.OBJ, {"format", "meter_id", "n", "first", "count", "interval_s", "commitments",
             "sealed_openings", "signature"},
        )  # fmt: skip
        try:
            if f.raw("format") != READINGS_FORMAT:
                raise f.error("format", f"expected {READINGS_FORMAT!r}")
            count = f.integer("count", 1, MAX_BATCH)
            return cls(
                meter_id=f.text("meter_id", 64, is_identifier),
                n=f.integer("n", 0),
                first=f.integer("first", 0),
                count=count,
                interval_s=f.integer("interval_s", MIN_INTERVAL_S, MAX_INTERVAL_S),
                commitments=f.octets("commitments", count * group.POINT_BYTES),
                sealed_openings=f.octets("sealed_openings", max_len=MAX_MESSAGE_BYTES),
                signature=f.octets("signature", SIGNATURE_BYTES),
            )
        except DecodeError as exc:
            raise LinkDecodeError(exc.detail, obj=cls.OBJ, field=exc.field) from None

    def verify(self, key: VerifyingKey) -> None:
        _check_signature(self.OBJ, self.body(), self.signature, key)


# --- sealed runs ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RunMessage:
    meter_id: str
    n: int
    run: SealedRun
    signature: bytes

    OBJ: ClassVar[str] = "run message"

    def body(self) -> dict[str, Any]:
        return {
            "format": RUN_FORMAT,
            "meter_id": self.meter_id,
            "n": self.n,
            "run": self.run.to_obj(),
        }

    @classmethod
    def make(cls, key: SigningKey, *, meter_id: str, n: int, run: SealedRun) -> bytes:
        return _sign(key, cls(meter_id, n, run, b"").body())

    @classmethod
    def decode(cls, payload: bytes) -> RunMessage:
        f = _fields(
            _decode(payload, cls.OBJ), cls.OBJ, {"format", "meter_id", "n", "run", "signature"}
        )
        try:
            if f.raw("format") != RUN_FORMAT:
                raise f.error("format", f"expected {RUN_FORMAT!r}")
            run = SealedRun.from_obj(f.raw("run"), "run")
            if run.seal.count > MAX_RUN:
                raise f.error("run", "run too long")
            return cls(
                meter_id=f.text("meter_id", 64, is_identifier),
                n=f.integer("n", 0),
                run=run,
                signature=f.octets("signature", SIGNATURE_BYTES),
            )
        except DecodeError as exc:
            raise LinkDecodeError(exc.detail, obj=cls.OBJ, field=exc.field) from None

    def verify(self, key: VerifyingKey) -> None:
        _check_signature(self.OBJ, self.body(), self.signature, key)


# --- head and re-send ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Head:
    """The last link sequence number the meter published (``-1``: none yet)."""

    meter_id: str
    last: int
    at: int
    signature: bytes

    OBJ: ClassVar[str] = "head message"

    def body(self) -> dict[str, Any]:
        return {"format": HEAD_FORMAT, "meter_id": self.meter_id, "last": self.last, "at": self.at}

    @classmethod
    def make(cls, key: SigningKey, *, meter_id: str, last: int, at: int) -> bytes:
        return _sign(key, cls(meter_id, last, at, b"").body())

    @classmethod
    def decode(cls, payload: bytes) -> Head:
        f = _fields(
            _decode(payload, cls.OBJ), cls.OBJ, {"format", "meter_id", "last", "at", "signature"}
        )
        try:
            if f.raw("format") != HEAD_FORMAT:
                raise f.error("format", f"expected {HEAD_FORMAT!r}")
            return cls(
                meter_id=f.text("meter_id", 64, is_identifier),
                last=f.integer("last", -1),
                at=f.integer("at", 0),
                signature=f.octets("signature", SIGNATURE_BYTES),
            )
        except DecodeError as exc:
            raise LinkDecodeError(exc.detail, obj=cls.OBJ, field=exc.field) from None

    def verify(self, key: VerifyingKey) -> None:
        _check_signature(self.OBJ, self.body(), self.signature, key)


@dataclass(frozen=True, slots=True)
class ResendRequest:
    meter_id: str
    start: int
    end: int

    OBJ: ClassVar[str] = "resend request"

    def encode(self) -> bytes:
        return codec.encode(
            {"format": RESEND_FORMAT, "meter_id": self.meter_id, "from": self.start, "to": self.end}
        )

    @classmethod
    def decode(cls, payload: bytes) -> ResendRequest:
        f = _fields(_decode(payload, cls.OBJ), cls.OBJ, {"format", "meter_id", "from", "to"})
        try:
            if f.raw("format") != RESEND_FORMAT:
                raise f.error("format", f"expected {RESEND_FORMAT!r}")
            start = f.integer("from", 0)
            end = f.integer("to", start + 1, start + MAX_RESEND)
            return cls(f.text("meter_id", 64, is_identifier), start, end)
        except DecodeError as exc:
            raise LinkDecodeError(exc.detail, obj=cls.OBJ, field=exc.field) from None
