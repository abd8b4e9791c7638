"""Seals: the meter's signature over a contiguous run of committed readings.

A seal body names the meter, its sequence number, the run (first interval index, count, interval
length), the hash of the run's commitments and the hash of the previous seal body, which chains
the seals of one meter. In a payment message each seal travels with its commitments
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

    def body(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "meter_id": self.meter_id,
            "seq": self.seq,
            "first": self.first,
            "count": self.count,
            "interval_s": self.interval_s,
            "commitments_hash": self.commitments_hash,
            "prev": self.prev,
        }

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
    ) -> Seal:
        count = len(commitments) // group.POINT_BYTES
        h = commitments_hash(meter_id, first, count, commitments)
        unsigned = cls(meter_id, seq, first, count, interval_s, h, prev, b"")
        return cls(meter_id, seq, first, count, interval_s, h, prev,
                   key.sign(PURPOSE, unsigned.body_bytes()))  # fmt: skip

    @classmethod
    def from_obj(cls, value: object, path: str = "") -> Seal:
        f = codec.Fields(value, OBJ, _FIELDS, path=path)
        if f.raw("format") != FORMAT:
            raise f.error("format", f"expected {FORMAT!r}")
        interval = f.integer("interval_s", MIN_INTERVAL_S, MAX_INTERVAL_S)
        return cls(
            meter_id=f.text("meter_id", 64, is_identifier),
            seq=f.integer("seq", 0),
            first=f.integer("first", 0),
            count=f.integer("count", 1, MAX_RUN),
            interval_s=interval,
            commitments_hash=f.octets("commitments_hash", DIGEST_BYTES),
            prev=f.octets("prev", DIGEST_BYTES),
            signature=f.octets("signature", SIGNATURE_BYTES),
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

    def to_obj(self) -> dict[str, Any]:
        return {"seal": self.seal.to_obj(), "commitments": self.commitments}

    @classmethod
    def from_obj(cls, value: object, path: str = "") -> SealedRun:
        f = codec.Fields(value, "sealed run", {"seal", "commitments"}, path=path)
        seal = Seal.from_obj(f.raw("seal"), f"{path}.seal" if path else "seal")
        comm = f.octets("commitments", seal.count * group.POINT_BYTES)
        return cls(seal, comm)

    def check_commitments(self, path: str = "") -> None:
        """Raise unless the commitments hash to the value the seal signs."""
        s = self.seal
        if commitments_hash(s.meter_id, s.first, s.count, self.commitments) != s.commitments_hash:
            raise CommitmentError(
                "commitments do not match the seal's commitments_hash",
                obj="sealed run",
                field=f"{path}.commitments" if path else "commitments",
            )
