"""The register bill: a payment message that carries the meters' signed time-of-use energy
registers (``model/energy_registers.py``) instead of their readings.

Its fields are those of the per-reading message (``model/bills.py``), with one meter section
per meter of ``{certificate, energy_registers}``; a section carries ``runs`` (its sealed runs over
the registers' intervals, exactly as in the per-reading message) only when a component of the
tariff needs the individual readings, and ``demand_registers`` when a demand charge is proven
from the meter's maximum-demand registers. The two formats are told apart by their ``format``
field (:func:`decode_bill`); neither changes the other's bytes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Final, Literal

from privbill.crypto.hashing import digest
from privbill.errors import DecodeError
from privbill.model import bills, codec
from privbill.model.bills import MAX_METERS, OBJ, PaymentMessage
from privbill.model.certificates import MeterCertificate
from privbill.model.component_proofs import ComponentProof
from privbill.model.energy_registers import EnergyRegisters
from privbill.model.periods import BillingPeriod
from privbill.model.registers import MAX_REGISTERS, DemandRegister
from privbill.model.seals import SealedRun

FORMAT: Final = "privbill/register-bill/1"
_FIELDS: Final = frozenset(
    {"format", "account", "period", "tariff_hash", "meters", "total_fee", "blinding",
     "components"}
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class RegisterSection:
    """One meter of a register bill: its certificate, its energy-register statement for the
    billing period and, when a component needs them, its sealed runs over the statement's
    intervals and its demand registers for the month."""

    certificate: MeterCertificate
    statement: EnergyRegisters
    runs: tuple[SealedRun, ...] = ()
    registers: tuple[DemandRegister, ...] = ()  # maximum-demand registers (``registers.py``)

    def to_obj(self) -> dict[str, Any]:
        obj: dict[str, Any] = {
            "certificate": self.certificate.to_obj(),
            "energy_registers": self.statement.to_obj(),
        }
        if self.runs:
            obj["runs"] = [r.to_obj() for r in self.runs]
        if self.registers:
            obj["demand_registers"] = [r.to_obj() for r in self.registers]
        return obj

    @classmethod
    def from_obj(cls, value: object, path: str) -> RegisterSection:
        f = codec.Fields(
            value, OBJ, {"certificate", "energy_registers"}, {"runs", "demand_registers"}, path
        )
        cert = MeterCertificate.from_obj(f.raw("certificate"), f"{path}.certificate")
        statement = EnergyRegisters.from_obj(
            f.raw("energy_registers"), f"{path}.energy_registers", OBJ
        )
        runs = f.each("runs", SealedRun.from_obj, 1) if f.has("runs") else []
        registers = (
            f.each(
                "demand_registers",
                lambda v, p: DemandRegister.from_obj(v, p, OBJ),
                1,
                MAX_REGISTERS,
            )
            if f.has("demand_registers")
            else []
        )
        return cls(cert, statement, tuple(runs), tuple(registers))

    @property
    def readings(self) -> int:
        """Intervals the statement covers."""
        return self.statement.count


@dataclass(frozen=True, slots=True)
class RegisterBill:
    """A payment message proven from energy registers (``docs/protocol.md`` §6.11)."""

    account: str
    period: BillingPeriod
    tariff_hash: bytes
    meters: tuple[RegisterSection, ...]
    total_fee: int  # pico-currency (10⁻¹²), fixed charges included
    blinding: int  # opening of the total fee commitment
    components: tuple[ComponentProof, ...] = ()  # one per tariff component, in tariff order

    kind: Literal["registers"] = field(default="registers", init=False)

    def __repr__(self) -> str:
        return (
            f"RegisterBill(account={self.account}, period={self.period}, "
            f"meters={len(self.meters)}, total_fee={self.total_fee})"
        )

    def to_obj(self) -> dict[str, Any]:
        return bills.bill_obj(self, FORMAT)

    def encode(self) -> bytes:
        return codec.encode(self.to_obj())

    @staticmethod
    def hash_of(encoded: bytes) -> bytes:
        """The bill hash a receipt signs (the same rule as for every payment message)."""
        return digest("bill", encoded)

    @classmethod
    def decode(cls, data: bytes) -> RegisterBill:
        return cls.from_obj(codec.decode(data, OBJ, FORMAT, bills.LIMITS))

    @classmethod
    def from_obj(cls, value: object) -> RegisterBill:
        """The bill from its decoded canonical map (format already checked)."""
        f = codec.Fields(value, OBJ, _FIELDS)
        common = bills.common_fields(f)
        meters = tuple(f.each("meters", RegisterSection.from_obj, 1, MAX_METERS))
        with_runs = {bool(m.runs) for m in meters}
        if len(with_runs) > 1:
            raise f.error("meters", "sealed runs are carried for every meter or for none")
        return cls(common.account, common.period, common.tariff_hash, meters, *common.totals)

    @property
    def carries_readings(self) -> bool:
        return bool(self.meters[0].runs)


Bill = PaymentMessage | RegisterBill


def decode_bill(data: bytes) -> Bill:
    """Either payment message, by its ``format``: ``privbill/bill/1`` (per reading) or
    ``privbill/register-bill/1``."""
    value = codec.decode(data, OBJ, limits=bills.LIMITS)
    fmt = value.get("format")
    if fmt == bills.FORMAT:
        return PaymentMessage.from_obj(value)
    if fmt == FORMAT:
        return RegisterBill.from_obj(value)
    raise DecodeError(
        f"expected format {bills.FORMAT!r} or {FORMAT!r}, got {fmt!r}", obj=OBJ, field="format"
    )


__all__ = ["FORMAT", "Bill", "RegisterBill", "RegisterSection", "decode_bill"]
