"""What a verifier learns from a valid payment message (either format): :class:`VerifiedBill`
and its one JSON view."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal, TypedDict

from privbill.model import money
from privbill.model.periods import BillingPeriod


@dataclass(frozen=True, slots=True)
class MeterSummary:
    meter_id: str
    readings: int
    seals: int
    first_seq: int
    last_seq: int
    chain_start: bytes  # ``prev`` of the first seal: links to the previous bill
    chain_end: bytes  # chain hash of the last seal: the next bill's first ``prev``


class MeterSummaryJSON(TypedDict):
    meter_id: str
    readings: int
    seals: int
    first_seq: int
    last_seq: int
    chain_start: str
    chain_end: str


class PeriodJSON(TypedDict):
    start: int
    end: int
    label: str


class VerifiedBillJSON(TypedDict):
    account: str
    period: PeriodJSON
    tariff_hash: str
    bill_hash: str
    currency: str
    total_fee: int
    amount: str
    fixed_fee: int
    readings: int
    meters: list[MeterSummaryJSON]
    path: str


@dataclass(frozen=True, slots=True)
class VerifiedBill:
    """What a verifier learns from a valid payment message."""

    account: str
    period: BillingPeriod
    period_label: str
    tariff_hash: bytes
    bill_hash: bytes
    currency: str
    minor_unit: int
    total_fee: int
    fixed_fee: int
    meters: tuple[MeterSummary, ...]
    seconds: float = field(compare=False)
    path: Literal["readings", "registers"] = "readings"  # which payment message it was

    @property
    def amount(self) -> str:
        return money.format_amount(self.total_fee, self.minor_unit)

    @property
    def readings(self) -> int:
        return sum(m.readings for m in self.meters)

    def to_json(self) -> VerifiedBillJSON:
        """The one JSON view of a verified bill (hashes in hex, money as integers and text)."""
        return {
            "account": self.account,
            "period": {
                "start": self.period.start,
                "end": self.period.end,
                "label": self.period_label,
            },
            "tariff_hash": self.tariff_hash.hex(),
            "bill_hash": self.bill_hash.hex(),
            "currency": self.currency,
            "total_fee": self.total_fee,
            "amount": self.amount,
            "fixed_fee": self.fixed_fee,
            "readings": self.readings,
            "meters": [
                {
                    "meter_id": m.meter_id,
                    "readings": m.readings,
                    "seals": m.seals,
                    "first_seq": m.first_seq,
                    "last_seq": m.last_seq,
                    "chain_start": m.chain_start.hex(),
                    "chain_end": m.chain_end.hex(),
                }
                for m in self.meters
            ],
            "path": self.path,
        }
