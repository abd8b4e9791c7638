"""The meter's public output: its certificate and sealed runs of commitments."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

from privbill.model import codec
from privbill.model.certificates import MeterCertificate
from privbill.model.seals import SealedRun

FORMAT: Final = "privbill/sealed-readings/1"
OBJ: Final = "sealed readings"


@dataclass(frozen=True, slots=True)
class SealedReadings:
    certificate: MeterCertificate
    runs: tuple[SealedRun, ...]

    def to_obj(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "certificate": self.certificate.to_obj(),
            "runs": [r.to_obj() for r in self.runs],
        }

    def encode(self) -> bytes:
        return codec.encode(self.to_obj())

    @classmethod
    def decode(cls, data: bytes) -> SealedReadings:
        f = codec.Fields(codec.decode(data, OBJ, FORMAT), OBJ, {"format", "certificate", "runs"})
        cert = MeterCertificate.from_obj(f.raw("certificate"), "certificate")
        runs = f.each("runs", SealedRun.from_obj, 1)
        return cls(cert, tuple(runs))
