"""Seals: the meter's signature over a contiguous run of committed readings.

A seal body names the meter, its sequence number, the run (first interval index, count, interval
length), the hash of the run's commitments and the hash of the previous seal body, which chains
the seals of one meter. A run the meter recorded while it had no supply carries ``outage: true``:
its commitments are to 0 Wh, and the meter's signature certifies the outage, so a customer can
neither claim one nor hide one. In a payment message each seal travels with its commitments
(:class:`SealedRun`), ``count × 48`` bytes of compressed points.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

from privbill.crypto import group
from privbill.crypto.hashing import DIGEST_BYTES, digest
from privbill.crypto.signatures import SIGNATURE_BYTES, SigningKey, VerifyingKey
from privbill.errors import CommitmentError, SignatureError
from privbill.model import codec
from privbill.model.ids import is_identifier
from privbill.model.periods import MAX_INTERVAL_S, MIN_INTERVAL_S

FORMAT: Final = "privbill/seal/1"
PURPOSE: Final = "seal"
OBJ: Final = "seal"
GENESIS: Final = bytes(DIGEST_BYTES)  # "previous seal" of a meter's first seal
MAX_RUN: Final = 1 << 20
MAX_ATTRIBUTES: Final = 8
_FIELDS: Final = frozenset(
    {"format", "meter_id", "seq", "first", "count", "interval_s", "commitments_hash", "prev",
     "signature"}
)  # fmt: skip


def commitments_hash(meter_id: str, first: int, count: int, commitments: bytes) -> bytes:
    """Hash of a run's commitments, bound to the meter and the run's position."""
    return digest(
        "seal-commitments",
        meter_id.encode(),
        first.to_bytes(8, "big"),
        count.to_bytes(8, "big"),
        commitments,
    )


def attributes_hash(meter_id: str, first: int, count: int, k: int, commitments: bytes) -> bytes:
    """Hash of a run's private-attribute commitments (``k`` per interval)."""
    return digest(
        "seal-attributes",
        meter_id.encode(),
        first.to_bytes(8, "big"),
        count.to_bytes(8, "big"),
        k.to_bytes(2, "big"),
        commitments,
    )


@dataclass(frozen=True, slots=True)
class Seal:
    meter_id: str
    seq: int
    first: int
    count: int
    interval_s: int
    commitments_hash: bytes
    prev: bytes
    signature: bytes
    attributes: int = 0  # private attribute commitments per interval
    attributes_hash: bytes = b""
    outage: bool = False  # the meter had no supply: every commitment of the run is to 0

    def body(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "format": FORMAT,
            "meter_id": self.meter_id,
            "seq": self.seq,
            "first": self.first,
            "count": self.count,
            "interval_s": self.interval_s,
            "commitments_hash": self.commitments_hash,
            "prev": self.prev,
        }
        if self.attributes:
            body["attributes"] = self.attributes
            body["attributes_hash"] = self.attributes_hash
        if self.outage:
            body["outage"] = True
        return body

    def body_bytes(self) -> bytes:
        return codec.encode(self.body())

    def chain_hash(self) -> bytes:
        """What the next seal's ``prev`` must be."""
        return digest("seal-chain", self.body_bytes())

    @property
    def end(self) -> int:
        """Index one past the run's last interval."""
        return self.first + self.count

    def to_obj(self) -> dict[str, Any]:
        return {**self.body(), "signature": self.signature}

    @classmethod
    def make(
        cls,
        key: SigningKey,
        *,
        meter_id: str,
        seq: int,
        first: int,
        interval_s: int,
        commitments: bytes,
        prev: bytes,
        attributes: int = 0,
        attribute_commitments: bytes = b"",
        outage: bool = False,
    ) -> Seal:
        count = len(commitments) // group.POINT_BYTES
        h = commitments_hash(meter_id, first, count, commitments)
        ah = (
            attributes_hash(meter_id, first, count, attributes, attribute_commitments)
            if attributes
            else b""
        )
        unsigned = cls(
            meter_id, seq, first, count, interval_s, h, prev, b"", attributes, ah, outage
        )
        sig = key.sign(PURPOSE, unsigned.body_bytes())
        return cls(meter_id, seq, first, count, interval_s, h, prev, sig, attributes, ah, outage)

    @classmethod
    def from_obj(cls, value: object, path: str = "") -> Seal:
        f = codec.Fields(
            value, OBJ, _FIELDS, {"attributes", "attributes_hash", "outage"}, path=path
        )
        if f.raw("format") != FORMAT:
            raise f.error("format", f"expected {FORMAT!r}")
        interval = f.integer("interval_s", MIN_INTERVAL_S, MAX_INTERVAL_S)
        attributes, ah = 0, b""
        if f.has("attributes") or f.has("attributes_hash"):
            if not f.has("attributes"):
                raise f.error("attributes", "missing field")
            if not f.has("attributes_hash"):
                raise f.error("attributes_hash", "missing field")
            attributes = f.integer("attributes", 1, MAX_ATTRIBUTES)
            ah = f.octets("attributes_hash", DIGEST_BYTES)
        if f.has("outage") and f.raw("outage") is not True:
            raise f.error("outage", "expected true (a run without outage has no outage field)")
        return cls(
            meter_id=f.text("meter_id", 64, is_identifier),
            seq=f.integer("seq", 0),
            first=f.integer("first", 0),
            count=f.integer("count", 1, MAX_RUN),
            interval_s=interval,
            commitments_hash=f.octets("commitments_hash", DIGEST_BYTES),
            prev=f.octets("prev", DIGEST_BYTES),
            signature=f.octets("signature", SIGNATURE_BYTES),
            attributes=attributes,
            attributes_hash=ah,
            outage=f.has("outage"),
        )

    def verify_signature(self, key: VerifyingKey, path: str = "") -> None:
        if not key.verify(PURPOSE, self.body_bytes(), self.signature):
            raise SignatureError(
                "meter signature does not verify",
                obj=OBJ,
                field=f"{path}.signature" if path else "signature",
            )


@dataclass(frozen=True, slots=True)
class SealedRun:
    """A seal and the commitments it covers."""

    seal: Seal
    commitments: bytes
    attributes: bytes = b""  # count × k points: interval by interval, k attributes each

    def to_obj(self) -> dict[str, Any]:
        obj: dict[str, Any] = {"seal": self.seal.to_obj(), "commitments": self.commitments}
        if self.seal.attributes:
            obj["attributes"] = self.attributes
        return obj

    @classmethod
    def from_obj(cls, value: object, path: str = "") -> SealedRun:
        f = codec.Fields(value, "sealed run", {"seal", "commitments"}, {"attributes"}, path=path)
        seal = Seal.from_obj(f.raw("seal"), f"{path}.seal" if path else "seal")
        comm = f.octets("commitments", seal.count * group.POINT_BYTES)
        attrs = b""
        if seal.attributes:
            if not f.has("attributes"):
                raise f.error("attributes", "missing field")
            attrs = f.octets("attributes", seal.count * seal.attributes * group.POINT_BYTES)
        elif f.has("attributes"):
            raise f.error("attributes", "the seal declares no attributes")
        return cls(seal, comm, attrs)

    def check_commitments(self, path: str = "") -> None:
        """Raise unless the commitments hash to the value the seal signs."""
        s = self.seal
        if commitments_hash(s.meter_id, s.first, s.count, self.commitments) != s.commitments_hash:
            raise CommitmentError(
                "commitments do not match the seal's commitments_hash",
                obj="sealed run",
                field=f"{path}.commitments" if path else "commitments",
            )
        if s.attributes and (
            attributes_hash(s.meter_id, s.first, s.count, s.attributes, self.attributes)
            != s.attributes_hash
        ):
            raise CommitmentError(
                "attribute commitments do not match the seal's attributes_hash",
                obj="sealed run",
                field=f"{path}.attributes" if path else "attributes",
            )
