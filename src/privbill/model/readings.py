"""Private readings: what the meter hands to the customer's device over the home link.

An :class:`Openings` batch holds, for one meter and a contiguous run of intervals, each interval's
consumption (Wh) and the blinding factor of its commitment. When meter and customer device share
an *opening key*, blinding factors are derived from it (:func:`derive_blinding`) and the batch
carries only the values.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass, field
from typing import Any, Final

from privbill.crypto import group
from privbill.errors import DecodeError, UsageError
from privbill.model import codec, money
from privbill.model.ids import is_identifier
from privbill.model.periods import MAX_INTERVAL_S, MIN_INTERVAL_S

FORMAT: Final = "privbill/openings/1"
OBJ: Final = "openings"
#: Decoding bounds: a flat map of lists of integers (readings, attribute values), at most
#: 2^20 of them together — a year of one-minute readings.
LIMITS: Final = codec.Limits(depth=2, items=codec.MAX_ITEMS, container=1 << 20)
OPENING_KEY_BYTES: Final = 32
_PRF_TAG: Final = b"privbill/v1/opening-prf\x00"


def derive_blinding(opening_key: bytes, meter_id: str, index: int) -> int:
    """Blinding factor of interval ``index``: HMAC-SHA-512 as a PRF, reduced modulo the order
    (64 uniform bytes: bias below 2^-250)."""
    if len(opening_key) != OPENING_KEY_BYTES:
        raise UsageError("an opening key is 32 bytes", obj="opening key")
    msg = _PRF_TAG + meter_id.encode() + b"\x00" + index.to_bytes(8, "big")
    return group.scalar_from_uniform_bytes(hmac.digest(opening_key, msg, "sha512"))


def derive_attribute_blinding(opening_key: bytes, meter_id: str, index: int, j: int) -> int:
    """Blinding factor of private attribute ``j`` of interval ``index`` (same PRF, its own input:
    the value's input followed by ``b"attr"`` and ``j``)."""
    if len(opening_key) != OPENING_KEY_BYTES:
        raise UsageError("an opening key is 32 bytes", obj="opening key")
    msg = _PRF_TAG + meter_id.encode() + b"\x00" + index.to_bytes(8, "big") + b"attr" + bytes([j])
    return group.scalar_from_uniform_bytes(hmac.digest(opening_key, msg, "sha512"))


def derive_register_blinding(
    opening_key: bytes, meter_id: str, month_start: int, schedule: int, window: int
) -> int:
    """Blinding factor of a demand register's commitment (same PRF, its own input: the month's
    start in UTC seconds, ``b"register"``, the schedule's and the window's position)."""
    if len(opening_key) != OPENING_KEY_BYTES:
        raise UsageError("an opening key is 32 bytes", obj="opening key")
    msg = (
        _PRF_TAG
        + meter_id.encode()
        + b"\x00"
        + month_start.to_bytes(8, "big")
        + b"register"
        + bytes([schedule, window])
    )
    return group.scalar_from_uniform_bytes(hmac.digest(opening_key, msg, "sha512"))


MAX_ATTRIBUTE_VALUE: Final = 2**32 - 1


@dataclass(slots=True)
class Openings:
    """Values and blinding factors of ``len(values)`` consecutive intervals from ``first``."""

    meter_id: str
    interval_s: int
    first: int
    values: list[int]
    blindings: list[int] | None  # None: derived from the opening key
    attributes: int = 0  # private attributes per interval
    attribute_values: list[int] = field(default_factory=list)  # interval by interval, k each
    attribute_blindings: list[int] | None = None  # None: derived (or no attributes)

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

    def resolve_attributes(self, opening_key: bytes | None) -> list[int]:
        """Blinding factors of the attribute commitments (interval by interval, k each)."""
        if not self.attributes or self.attribute_blindings is not None:
            return self.attribute_blindings or []
        if opening_key is None:
            raise DecodeError(
                "blinding factors are key-derived; the opening key is needed",
                obj=OBJ,
                field="attribute_blindings",
            )
        k = self.attributes
        return [
            derive_attribute_blinding(opening_key, self.meter_id, self.first + i, j)
            for i in range(len(self.values))
            for j in range(k)
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
        if self.attributes:
            obj["attributes"] = self.attributes
            obj["attribute_values"] = self.attribute_values
            if self.attribute_blindings is not None:
                obj["attribute_blindings"] = b"".join(
                    group.encode_scalar(r) for r in self.attribute_blindings
                )
        return obj

    def encode(self) -> bytes:
        return codec.encode(self.to_obj())

    @classmethod
    def decode(cls, data: bytes) -> Openings:
        f = codec.Fields(
            codec.decode(data, OBJ, FORMAT, LIMITS),
            OBJ,
            {"format", "meter_id", "interval_s", "first", "values"},
            {"blindings", "attributes", "attribute_values", "attribute_blindings"},
        )
        values = f.int_list("values", 0, money.MAX_WH_PER_INTERVAL, 1)
        blindings = decode_scalar_list(f, "blindings", len(values)) if f.has("blindings") else None
        k: int = 0
        avals: list[int] = []
        ablind: list[int] | None = None
        if f.has("attributes"):
            k = f.integer("attributes", 1, 8)
            avals = f.int_list(
                "attribute_values", 0, MAX_ATTRIBUTE_VALUE, len(values) * k, len(values) * k
            )
            if f.has("attribute_blindings"):
                ablind = decode_scalar_list(f, "attribute_blindings", len(values) * k)
        elif f.has("attribute_values") or f.has("attribute_blindings"):
            raise f.error("attributes", "missing field")
        if blindings is not None and k and ablind is None:
            raise f.error("attribute_blindings", "missing field")
        return cls(
            meter_id=f.text("meter_id", 64, is_identifier),
            interval_s=f.integer("interval_s", MIN_INTERVAL_S, MAX_INTERVAL_S),
            first=f.integer("first", 0),
            values=values,
            blindings=blindings,
            attributes=k,
            attribute_values=avals,
            attribute_blindings=ablind,
        )


def decode_scalar_list(f: codec.Fields, key: str, count: int) -> list[int]:
    """``count`` concatenated 32-byte scalars from field ``key``, strictly decoded."""
    raw = f.octets(key, count * group.SCALAR_BYTES)
    try:
        return [
            group.decode_scalar(raw[i : i + group.SCALAR_BYTES])
            for i in range(0, len(raw), group.SCALAR_BYTES)
        ]
    except group.GroupError as exc:
        raise f.error(key, str(exc)) from None
