"""What a payment message carries for each tariff component (in tariff order).

Proof bytes are opaque here; ``privbill.billing`` parses and checks them. Sizes are bounded so
that a hostile message cannot make a verifier allocate without limit.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar, Final, Self, cast

from privbill.crypto import group
from privbill.errors import DecodeError
from privbill.model import codec
from privbill.model.charge import ChargeProof
from privbill.model.components import KINDS, MAX_LOOKUP_VALUES
from privbill.model.interval_components import BlockProof, PolynomialProof
from privbill.model.registers import MAX_REGISTERS

OBJ: Final = "payment message"
MAX_PROOF_BYTES: Final = 1 << 20
MAX_PARTS: Final = 16


@dataclass(frozen=True, slots=True)
class PartsProof:
    """Commitments to the amount in each tier, their range proof, and the ordering proofs
    (one per tier boundary with a dearer tier before it and a cheaper one after it)."""

    parts: bytes
    ranges: bytes
    order: tuple[bytes, ...]

    def to_obj(self) -> dict[str, Any]:
        return {"parts": self.parts, "ranges": self.ranges, "order": list(self.order)}

    @classmethod
    def from_obj(cls, value: object, path: str) -> PartsProof:
        f = codec.Fields(value, OBJ, {"parts", "ranges", "order"}, path=path)
        parts = f.octets("parts", max_len=MAX_PARTS * group.POINT_BYTES)
        if not parts or len(parts) % group.POINT_BYTES:
            raise f.error("parts", "expected one or more 48-byte commitments")
        order = f.array("order", 0, MAX_PARTS)
        for i, o in enumerate(order):
            if not isinstance(o, bytes) or len(o) > MAX_PROOF_BYTES:
                raise f.error(f"order[{i}]", "expected a proof byte string")
        return cls(parts, f.octets("ranges", max_len=MAX_PROOF_BYTES), tuple(order))


@dataclass(frozen=True, slots=True)
class TieredProof(ChargeProof):
    kind: ClassVar[str] = "tiered"

    parts: PartsProof

    def to_obj(self) -> dict[str, Any]:
        return {"kind": self.kind, "tiers": self.parts.to_obj()}

    @classmethod
    def from_obj(cls, value: object, path: str) -> Self:
        f = codec.Fields(value, OBJ, {"kind", "tiers"}, path=path)
        return cls(PartsProof.from_obj(f.raw("tiers"), f"{path}.tiers"))


@dataclass(frozen=True, slots=True)
class HoursUseProof(ChargeProof):
    """Hours-use tiers: a commitment to the month's largest interval consumption, the range proof
    that it is at least every interval's, and the tier parts (widths multiples of that peak)."""

    kind: ClassVar[str] = "hours-use"

    peak: bytes
    ranges: bytes
    parts: PartsProof

    def to_obj(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "peak": self.peak,
            "ranges": self.ranges,
            "tiers": self.parts.to_obj(),
        }

    @classmethod
    def from_obj(cls, value: object, path: str) -> Self:
        f = codec.Fields(value, OBJ, {"kind", "peak", "ranges", "tiers"}, path=path)
        return cls(
            f.octets("peak", group.POINT_BYTES),
            f.octets("ranges", max_len=MAX_PROOF_BYTES),
            PartsProof.from_obj(f.raw("tiers"), f"{path}.tiers"),
        )


@dataclass(frozen=True, slots=True)
class WindowProof:
    """A demand window: commitment to its peak, the range proof that the peak is at least every
    interval in the window, and (for several demand tiers) the tier parts of the peak in W."""

    peak: bytes
    ranges: bytes
    tiers: PartsProof | None

    def to_obj(self) -> dict[str, Any]:
        return {
            "peak": self.peak,
            "ranges": self.ranges,
            "tiers": None if self.tiers is None else self.tiers.to_obj(),
        }

    @classmethod
    def from_obj(cls, value: object, path: str) -> WindowProof:
        wf = codec.Fields(value, OBJ, {"peak", "ranges", "tiers"}, path=path)
        tiers = wf.raw("tiers")
        return cls(
            wf.octets("peak", group.POINT_BYTES),
            wf.octets("ranges", max_len=MAX_PROOF_BYTES),
            None if tiers is None else PartsProof.from_obj(tiers, f"{path}.tiers"),
        )


@dataclass(frozen=True, slots=True)
class RegisterWindowProof:
    """A demand window proven from a meter-certified register instead of a range proof: the
    window's peak commitment is the commitment of the bill's (single) meter section's register
    ``register`` for the window, in the schedule whose hash matches the demand component;
    ``tiers`` as for a range-proven window. Encoded as ``{"register": i, "tiers": …}`` in place
    of ``{"peak", "ranges", "tiers"}``."""

    register: int  # index into the meter section's registers
    tiers: PartsProof | None

    def to_obj(self) -> dict[str, Any]:
        return {
            "register": self.register,
            "tiers": None if self.tiers is None else self.tiers.to_obj(),
        }

    @classmethod
    def from_obj(cls, value: object, path: str) -> RegisterWindowProof:
        f = codec.Fields(value, OBJ, REGISTER_WINDOW_FIELDS, path=path)
        tiers = f.raw("tiers")
        return cls(
            f.integer("register", 0, MAX_REGISTERS - 1),
            None if tiers is None else PartsProof.from_obj(tiers, f"{path}.tiers"),
        )


REGISTER_WINDOW_FIELDS: Final = frozenset({"register", "tiers"})


def is_register_window(value: object) -> bool:
    """Whether a decoded window entry is the register form (it has a ``register`` field)."""
    return isinstance(value, dict) and "register" in value


@dataclass(frozen=True, slots=True)
class DemandProof(ChargeProof):
    kind: ClassVar[str] = "demand"

    # None: no interval in the period, or no price
    windows: tuple[WindowProof | RegisterWindowProof | None, ...]

    def to_obj(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "windows": [None if w is None else w.to_obj() for w in self.windows],
        }

    @classmethod
    def from_obj(cls, value: object, path: str) -> Self:
        f = codec.Fields(value, OBJ, {"kind", "windows"}, path=path)
        windows: list[WindowProof | RegisterWindowProof | None] = []
        for w, item in enumerate(f.array("windows", 1, 16)):
            wpath = f"{path}.windows[{w}]"
            if item is None:
                windows.append(None)
            elif is_register_window(item):
                windows.append(RegisterWindowProof.from_obj(item, wpath))
            else:
                windows.append(WindowProof.from_obj(item, wpath))
        return cls(tuple(windows))


@dataclass(frozen=True, slots=True)
class MinimumProof(ChargeProof):
    """``applied``: the bill is the minimum, and ``ranges`` proves the rest did not reach it."""

    kind: ClassVar[str] = "minimum"

    applied: bool
    ranges: bytes

    def to_obj(self) -> dict[str, Any]:
        return {"kind": self.kind, "applied": self.applied, "ranges": self.ranges}

    @classmethod
    def from_obj(cls, value: object, path: str) -> Self:
        f = codec.Fields(value, OBJ, {"kind", "applied", "ranges"}, path=path)
        applied = f.raw("applied")
        if not isinstance(applied, bool):
            raise f.error("applied", "expected true or false")
        ranges = f.octets("ranges", max_len=MAX_PROOF_BYTES)
        if not applied and ranges:
            raise f.error("ranges", "a minimum that is not applied carries no proof")
        return cls(applied, ranges)


def lookup_proof_bytes(values: int) -> int:
    """Bytes of one interval's lookup proof for a table with ``values`` attribute values: per
    clause two commitments, a challenge and two responses."""
    return values * (2 * group.POINT_BYTES + 3 * group.SCALAR_BYTES)


@dataclass(frozen=True, slots=True)
class LookupMeterProof:
    """One meter's intervals whose band prices differ: a fee commitment and an OR proof each."""

    fees: bytes
    proofs: tuple[bytes, ...]

    def to_obj(self) -> dict[str, Any]:
        return {"fees": self.fees, "proofs": list(self.proofs)}


@dataclass(frozen=True, slots=True)
class LookupProof(ChargeProof):
    kind: ClassVar[str] = "lookup"

    meters: tuple[LookupMeterProof, ...]

    def to_obj(self) -> dict[str, Any]:
        return {"kind": self.kind, "meters": [m.to_obj() for m in self.meters]}

    @classmethod
    def from_obj(cls, value: object, path: str) -> Self:
        f = codec.Fields(value, OBJ, {"kind", "meters"}, path=path)
        meters = []
        for m, item in enumerate(f.array("meters", 1, 1024)):
            mf = codec.Fields(item, OBJ, {"fees", "proofs"}, path=f"{path}.meters[{m}]")
            fees = mf.octets("fees", max_len=(1 << 20) * group.POINT_BYTES)
            proofs = mf.array("proofs", 0, 1 << 20)
            for i, p in enumerate(proofs):
                if not isinstance(p, bytes) or len(p) > lookup_proof_bytes(MAX_LOOKUP_VALUES):
                    raise mf.error(f"proofs[{i}]", "expected a proof byte string")
            meters.append(LookupMeterProof(fees, tuple(proofs)))
        return cls(tuple(meters))


ComponentProof = (
    TieredProof
    | HoursUseProof
    | DemandProof
    | MinimumProof
    | LookupProof
    | BlockProof
    | PolynomialProof
)
for _proof in (
    TieredProof,
    HoursUseProof,
    DemandProof,
    MinimumProof,
    LookupProof,
    BlockProof,
    PolynomialProof,
):
    KINDS.register_proof(_proof)


def component_proof_from_obj(value: object, path: str) -> ComponentProof:
    kind = value.get("kind") if isinstance(value, dict) else None
    cls = KINDS.proof(kind)
    if cls is None:
        raise DecodeError(f"unknown component proof kind {kind!r}", obj=OBJ, field=f"{path}.kind")
    return cast(ComponentProof, cls.from_obj(value, path))
