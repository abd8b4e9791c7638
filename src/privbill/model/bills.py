"""The payment message: everything a verifier needs to check a bill with public keys alone."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final, Protocol

from privbill.crypto import group
from privbill.crypto.hashing import DIGEST_BYTES, digest
from privbill.model import codec
from privbill.model.certificates import MeterCertificate
from privbill.model.component_proofs import ComponentProof, component_proof_from_obj
from privbill.model.ids import is_identifier
from privbill.model.interval_components import MAX_INTERVALS
from privbill.model.periods import BillingPeriod
from privbill.model.registers import MAX_REGISTERS, DemandRegister
from privbill.model.seals import SealedRun

FORMAT: Final = "privbill/bill/1"
OBJ: Final = "payment message"
MAX_METERS: Final = 1024
#: A tariff has at most this many components, hence a bill as many component proofs.
MAX_COMPONENT_PROOFS: Final = 32
#: Decoding bounds. Depth 7: message → components → demand proof → windows → window → tier parts
#: → ordering proofs (and message → meters → section → runs → run → seal, or → registers →
#: register → schedules → entry). Items: a year of quarter-hour readings with a polynomial
#: charge (per interval a map of six proofs, 13 items) takes about 460 000; the bound keeps
#: what a hostile message can make the decoder build near 100 MiB (docs/security.md §11).
LIMITS: Final = codec.Limits(depth=7, items=codec.MAX_ITEMS, container=MAX_INTERVALS)


@dataclass(frozen=True, slots=True)
class MeterSection:
    """One meter's certificate, the sealed runs that cover the billing period and the meter's
    demand registers for the billing month (if any)."""

    certificate: MeterCertificate
    runs: tuple[SealedRun, ...]
    registers: tuple[DemandRegister, ...] = ()

    def to_obj(self) -> dict[str, Any]:
        obj: dict[str, Any] = {
            "certificate": self.certificate.to_obj(),
            "runs": [r.to_obj() for r in self.runs],
        }
        if self.registers:
            obj["registers"] = [r.to_obj() for r in self.registers]
        return obj

    @classmethod
    def from_obj(cls, value: object, path: str) -> MeterSection:
        f = codec.Fields(value, OBJ, {"certificate", "runs"}, {"registers"}, path=path)
        cert = MeterCertificate.from_obj(f.raw("certificate"), f"{path}.certificate")
        runs = f.each("runs", SealedRun.from_obj, 1)
        registers = (
            f.each("registers", lambda v, p: DemandRegister.from_obj(v, p, OBJ), 1, MAX_REGISTERS)
            if f.has("registers")
            else []
        )
        return cls(cert, tuple(runs), tuple(registers))

    @property
    def readings(self) -> int:
        return sum(r.seal.count for r in self.runs)


@dataclass(frozen=True, slots=True)
class PaymentMessage:
    account: str
    period: BillingPeriod
    tariff_hash: bytes
    meters: tuple[MeterSection, ...]
    total_fee: int  # pico-currency (10⁻¹²), fixed charges included
    blinding: int  # opening of the total fee commitment
    components: tuple[ComponentProof, ...] = ()  # one per tariff component, in tariff order

    def __repr__(self) -> str:
        return (
            f"PaymentMessage(account={self.account}, period={self.period}, "
            f"meters={len(self.meters)}, total_fee={self.total_fee})"
        )

    def to_obj(self) -> dict[str, Any]:
        return bill_obj(self, FORMAT)

    def encode(self) -> bytes:
        return codec.encode(self.to_obj())

    @staticmethod
    def hash_of(encoded: bytes) -> bytes:
        """The bill hash a receipt signs: a domain-separated hash of the encoded message."""
        return digest("bill", encoded)

    @classmethod
    def decode(cls, data: bytes) -> PaymentMessage:
        return cls.from_obj(codec.decode(data, OBJ, FORMAT, LIMITS))

    @classmethod
    def from_obj(cls, value: object) -> PaymentMessage:
        """The message from its decoded canonical map (format already checked)."""
        f = codec.Fields(
            value,
            OBJ,
            {
                "format",
                "account",
                "period",
                "tariff_hash",
                "meters",
                "total_fee",
                "blinding",
                "components",
            },
        )
        common = common_fields(f)
        meters = tuple(f.each("meters", MeterSection.from_obj, 1, MAX_METERS))
        return cls(common.account, common.period, common.tariff_hash, meters, *common.totals)


# --- what both payment messages carry (this one and model/register_bills.py's) ------------------


class _BillLike(Protocol):
    @property
    def account(self) -> str: ...
    @property
    def period(self) -> BillingPeriod: ...
    @property
    def tariff_hash(self) -> bytes: ...
    @property
    def meters(self) -> Sequence[Any]: ...
    @property
    def total_fee(self) -> int: ...
    @property
    def blinding(self) -> int: ...
    @property
    def components(self) -> tuple[ComponentProof, ...]: ...


def bill_obj(bill: _BillLike, fmt: str) -> dict[str, Any]:
    """The canonical map of a payment message of format ``fmt``."""
    return {
        "format": fmt,
        "account": bill.account,
        "period": bill.period.to_obj(),
        "tariff_hash": bill.tariff_hash,
        "meters": [m.to_obj() for m in bill.meters],
        "total_fee": bill.total_fee,
        "blinding": group.encode_scalar(bill.blinding),
        "components": [c.to_obj() for c in bill.components],
    }


@dataclass(frozen=True, slots=True)
class CommonFields:
    """The decoded fields every payment message has besides its meters."""

    account: str
    period: BillingPeriod
    tariff_hash: bytes
    #: ``(total_fee, blinding, components)``, in the messages' field order
    totals: tuple[int, int, tuple[ComponentProof, ...]]


def common_fields(f: codec.Fields) -> CommonFields:
    """Account, period (times in range, end after start), tariff hash, total fee, blinding (a
    canonical scalar) and component proofs of a payment message's map."""
    p = f.sub("period", {"start", "end"})
    start, end = p.time("start"), p.time("end")
    if end <= start:
        raise p.error("end", "period ends before it starts")
    try:
        blinding = group.decode_scalar(f.octets("blinding", group.SCALAR_BYTES))
    except group.GroupError as exc:
        raise f.error("blinding", str(exc)) from None
    return CommonFields(
        f.text("account", 64, is_identifier),
        BillingPeriod(start, end),
        f.octets("tariff_hash", DIGEST_BYTES),
        (
            f.integer("total_fee"),
            blinding,
            tuple(f.each("components", component_proof_from_obj, 0, MAX_COMPONENT_PROOFS)),
        ),
    )
