"""The meter's public output: its certificate and sealed runs of commitments."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

from privbill.model import codec
from privbill.model.certificates import MeterCertificate
from privbill.model.energy_registers import EnergyRegisters
from privbill.model.periods import BillingPeriod
from privbill.model.registers import DemandRegister
from privbill.model.seals import SealedRun

FORMAT: Final = "privbill/sealed-readings/1"
OBJ: Final = "sealed readings"
#: Decoding bounds. Depth 5: readings → registers → register → schedules → entry (runs → run →
#: seal is 4). A day's run takes 25 items: the bound leaves room for 40 000 runs.
LIMITS: Final = codec.Limits(depth=5, items=codec.MAX_ITEMS, container=1 << 20)


@dataclass(frozen=True, slots=True)
class SealedReadings:
    certificate: MeterCertificate
    runs: tuple[SealedRun, ...]
    registers: tuple[DemandRegister, ...] = ()  # the meter's demand registers, month by month
    energy_registers: tuple[EnergyRegisters, ...] = ()  # energy registers, period by period

    def to_obj(self) -> dict[str, Any]:
        obj: dict[str, Any] = {
            "format": FORMAT,
            "certificate": self.certificate.to_obj(),
            "runs": [r.to_obj() for r in self.runs],
        }
        if self.registers:
            obj["registers"] = [r.to_obj() for r in self.registers]
        if self.energy_registers:
            obj["energy_registers"] = [r.to_obj() for r in self.energy_registers]
        return obj

    def encode(self) -> bytes:
        return codec.encode(self.to_obj())

    @classmethod
    def decode(cls, data: bytes) -> SealedReadings:
        f = codec.Fields(
            codec.decode(data, OBJ, FORMAT, LIMITS),
            OBJ,
            {"format", "certificate", "runs"},
            {"registers", "energy_registers"},
        )
        cert = MeterCertificate.from_obj(f.raw("certificate"), "certificate")
        runs = f.each("runs", SealedRun.from_obj, 1)
        registers = (
            f.each("registers", lambda v, p: DemandRegister.from_obj(v, p, OBJ), 1)
            if f.has("registers")
            else []
        )
        energy = (
            f.each("energy_registers", lambda v, p: EnergyRegisters.from_obj(v, p, OBJ), 1)
            if f.has("energy_registers")
            else []
        )
        return cls(cert, tuple(runs), tuple(registers), tuple(energy))

    def energy_registers_for(self, period: BillingPeriod) -> tuple[EnergyRegisters, ...]:
        """The meter's energy-register statements for billing period ``period``."""
        return tuple(r for r in self.energy_registers if r.period == period)
