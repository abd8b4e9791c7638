"""Private readings: what the meter hands to the customer's device over the home link.

An :class:`Openings` batch holds, for one meter and a contiguous run of intervals, each interval's
consumption (Wh) and the blinding factor of its commitment. When meter and customer device share
an *opening key*, blinding factors are derived from it (:func:`derive_blinding`) and the batch
carries only the values.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from typing import Any, Final

from privbill.crypto import group
from privbill.errors import DecodeError
from privbill.model import codec, money
from privbill.model.ids import is_identifier
from privbill.model.periods import MAX_INTERVAL_S, MIN_INTERVAL_S

FORMAT: Final = "privbill/openings/1"
OBJ: Final = "openings"
OPENING_KEY_BYTES: Final = 32
_PRF_TAG: Final = b"privbill/v1/opening-prf\x00"


def derive_blinding(opening_key: bytes, meter_id: str, index: int) -> int:
    """Blinding factor of interval ``index``: HMAC-SHA-512 as a PRF, reduced modulo the order
    (64 uniform bytes: bias below 2^-250)."""
    if len(opening_key) != OPENING_KEY_BYTES:
        raise ValueError("opening key must be 32 bytes")
    msg = _PRF_TAG + meter_id.encode() + b"\x00" + index.to_bytes(8, "big")
    return group.scalar_from_uniform_bytes(hmac.digest(opening_key, msg, "sha512"))


@dataclass(slots=True)
class Openings:
    """Values and blinding factors of ``len(values)`` consecutive intervals from ``first``."""

    meter_id: str
    interval_s: int
    first: int
    values: list[int]
    blindings: list[int] | None  # None: derived from the opening key

    def __repr__(self) -> str:
        return f"Openings(meter={self.meter_id}, first={self.first}, count={len(self.values)}, <secret>)"

    @property
    def end(self) -> int:
        return self.first + len(self.values)

    def resolve(self, opening_key: bytes | None) -> list[int]:
        """The blinding factors, deriving them from ``opening_key`` when they are not stored."""
        if self.blindings is not None:
            return self.blindings
        if opening_key is None:
            raise DecodeError(
                "blinding factors are key-derived; the opening key is needed",
                obj=OBJ,
                field="blindings",
            )
        return [
            derive_blinding(opening_key, self.meter_id, self.first + k)
            for k in range(len(self.values))
        ]

    def to_obj(self) -> dict[str, Any]:
        obj: dict[str, Any] = {
            "format": FORMAT,
            "meter_id": self.meter_id,
            "interval_s": self.interval_s,
            "first": self.first,
            "values": self.values,
        }
        if self.blindings is not None:
            obj["blindings"] = b"".join(group.encode_scalar(r) for r in self.blindings)
        return obj

    def encode(self) -> bytes:
        return codec.encode(self.to_obj())

    @classmethod
    def decode(cls, data: bytes) -> Openings:
        f = codec.Fields(
            codec.decode(data, OBJ, FORMAT),
            OBJ,
            {"format", "meter_id", "interval_s", "first", "values"},
            {"blindings"},
        )
        values = f.int_list("values", 0, money.MAX_WH_PER_INTERVAL, 1)
        blindings = None
        if f.has("blindings"):
            raw = f.octets("blindings", len(values) * group.SCALAR_BYTES)
            try:
                blindings = [
                    group.decode_scalar(raw[k : k + group.SCALAR_BYTES])
                    for k in range(0, len(raw), group.SCALAR_BYTES)
                ]
            except group.GroupError as exc:
                raise f.error("blindings", str(exc)) from None
        return cls(
            meter_id=f.text("meter_id", 64, is_identifier),
            interval_s=f.integer("interval_s", MIN_INTERVAL_S, MAX_INTERVAL_S),
            first=f.integer("first", 0),
            values=values,
            blindings=blindings,
        )
