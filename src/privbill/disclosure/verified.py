"""What a verifier learns from a valid disclosure response: :class:`VerifiedDisclosure` and its
one JSON view (the disclosure counterpart of :mod:`privbill.billing.verified`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TypedDict

from privbill.model.periods import BillingPeriod


@dataclass(frozen=True, slots=True)
class StatementResult:
    """What the verifier learned from one answered statement."""

    index: int  # position in the request
    kind: str
    meter_id: str
    intervals: int  # how many readings the statement is about
    value: int | None = None  # sum and weighted-sum
    readings: tuple[tuple[int, int], ...] | None = None  # open: (interval index, Wh)
    holds: bool | None = None  # threshold: True (a false threshold cannot be answered)

    def to_json(self) -> StatementResultJSON:
        return {
            "statement": self.index,
            "kind": self.kind,
            "meter": self.meter_id,
            "intervals": self.intervals,
            "value": self.value,
            "readings": [list(p) for p in self.readings] if self.readings is not None else None,
            "holds": self.holds,
        }


class StatementResultJSON(TypedDict):
    statement: int
    kind: str
    meter: str
    intervals: int
    value: int | None
    readings: list[list[int]] | None
    holds: bool | None


class PeriodJSON(TypedDict):
    start: int
    end: int


class VerifiedDisclosureJSON(TypedDict):
    request_id: str
    request_hash: str
    requester: str
    account: str
    period: PeriodJSON
    consent_hash: str
    consented_at: int
    customer_key_id: str | None
    declined: list[int]
    results: list[StatementResultJSON]
    response_hash: str
    bill_hash: str | None


@dataclass(frozen=True, slots=True)
class VerifiedDisclosure:
    """A verified response: the request, the consent, and one result per consented statement."""

    request_hash: bytes
    request_id: bytes
    requester: str
    account: str
    period: BillingPeriod
    consent_hash: bytes
    consented_at: int
    customer_key_id: bytes | None
    declined: tuple[int, ...]  # statements requested but not consented
    results: tuple[StatementResult, ...]
    response_hash: bytes
    bill_hash: bytes | None
    seconds: float = field(compare=False)

    def to_json(self) -> VerifiedDisclosureJSON:
        """The one JSON view of a verified disclosure (hashes in hex; values as integers)."""
        return {
            "request_id": self.request_id.hex(),
            "request_hash": self.request_hash.hex(),
            "requester": self.requester,
            "account": self.account,
            "period": {"start": self.period.start, "end": self.period.end},
            "consent_hash": self.consent_hash.hex(),
            "consented_at": self.consented_at,
            "customer_key_id": self.customer_key_id.hex() if self.customer_key_id else None,
            "declined": list(self.declined),
            "results": [r.to_json() for r in self.results],
            "response_hash": self.response_hash.hex(),
            "bill_hash": self.bill_hash.hex() if self.bill_hash else None,
        }
