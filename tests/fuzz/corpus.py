"""Real messages to fuzz from: signed tariffs with every kind of component, honest bills that
verify under them, sealed readings, openings, certificates, demand registers, a receipt, a
dispute bundle, and a disclosure request, consent, response and ledger.

Built once per process (:func:`corpus`, a few seconds): hourly readings over short periods, so
that verification stays cheap enough to run thousands of mutated inputs.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Any

from cheaters import BillCase, bill_case, description
from privbill import disclosure
from privbill.billing.receipts import issue_receipt
from privbill.billing.verifier import verify_bill
from privbill.disclosure.ledger import DisclosureLedger, DisclosurePolicy
from privbill.disclosure.model import Consent, DisclosureRequest, MeterRef, WholePeriod, Window
from privbill.disclosure.statements import OpenReadings, Sum, Threshold, WeightedSum
from privbill.dispute import DisputeBundle
from privbill.provider import Provider

EVENING = [[1 if 17 <= h < 21 else 0 for h in range(24)] for _ in range(12)]
NOON = [[1 if 11 <= h < 14 else 0 for h in range(24)] for _ in range(12)]
#: Monthly components; the demand charge is proven from the meter's registers (cheap to verify).
#: Range-proven demand windows and hours-use tiers cost about a second a verification: they are
#: in :data:`SLOW_MONTHLY`, which only the long (atheris) run uses.
MONTHLY = [
    {
        "kind": "tiered",
        "name": "rise then fall",
        "tiers": [
            {"up_to_kwh": "50", "price": "0.10"},
            {"up_to_kwh": "100", "price": "0.20"},
            {"up_to_kwh": None, "price": "0.05"},
        ],
    },
    {
        "kind": "demand",
        "name": "evening and weekend noon",
        "windows": [
            {
                "name": "weekday evening",
                "tiers": [
                    {"up_to_kw": "0.1", "price_per_kw": "10"},
                    {"up_to_kw": "0.2", "price_per_kw": "20"},
                    {"up_to_kw": None, "price_per_kw": "5"},
                ],
            },
            {"name": "weekend noon", "tiers": [{"up_to_kw": None, "price_per_kw": "9"}]},
        ],
        "weekday_schedule": EVENING,
        "weekend_schedule": NOON,
        "bits": 8,
    },
    {
        "kind": "hours-use",
        "name": "energy by hours use",
        "tiers": [
            {"up_to_kwh_per_kw": "200", "price": "0.0612"},
            {"up_to_kwh_per_kw": None, "price": "0.0297"},
        ],
    },
    {"kind": "minimum", "per_month": "12.00"},
]
SLOW_MONTHLY = [MONTHLY[1], MONTHLY[2]]
MONTHLY = [MONTHLY[0], MONTHLY[1], MONTHLY[3]]
INTERVAL = [
    {
        "kind": "block",
        "name": "interval blocks",
        "bits": 8,
        "bands": [
            {"up_to_wh": "200", "price": "0.20"},
            {"up_to_wh": "400", "price": "0.05"},
            {"up_to_wh": None, "price": "0.15"},
        ],
    },
    {
        "kind": "polynomial",
        "name": "penalty",
        "bits": 8,
        "bands": [
            {"up_to_wh": "250", "coefficients": ["-0.0005", "0.1", "0.05"]},
            {"up_to_wh": None, "coefficients": ["0", "0.2", "0.05", "1"]},
        ],
    },
]
NIGHT = [[1] * 6 + [0] * 16 + [1] * 2 for _ in range(12)]
LOOKUP = {
    "kind": "lookup",
    "name": "per-km premium",
    "attribute": "road_class",
    "values": [0, 1, 2],
    "bands": [
        {"name": "day", "prices": ["0.031", "0.024", "0.052"]},
        {"name": "night", "prices": ["0.045", "-0.008", "0"]},
    ],
    "weekday_schedule": NIGHT,
    "weekend_schedule": NIGHT,
}
DAY = 86400


@dataclass
class Corpus:
    provider: Provider
    cases: dict[str, BillCase]  # by name: "monthly", "interval", "lookup"
    bills: dict[str, bytes]
    objects: dict[str, bytes]  # one real encoded object of every kind (hostile_cbor.decoders)
    request: bytes
    response: bytes
    receipt: bytes
    bundle: bytes
    now: int

    def totals(self) -> dict[str, int]:
        return {name: c.honest.total_fee for name, c in self.cases.items()}


@cache
def corpus(slow: bool = False) -> Corpus:
    """The corpus; ``slow`` adds a bill with range-proven demand and hours-use tiers."""
    provider = Provider.generate("ed25519")
    cases = {
        "monthly": bill_case(
            provider,
            description(["0.12", "-0.03", "0"], MONTHLY, fixed={"per_month": "4.20"}),
            "2026-02",
            lambda k, m: (k * 97 + 31 * m) % 256,
            registers=True,
        ),
        "interval": bill_case(
            provider,
            description(["0.10", "0", "-0.02"], INTERVAL),
            "2026-04-01/2026-04-02",
            lambda k, m: (k * 311 + 57 * m) % 500,
        ),
        "lookup": bill_case(
            provider,
            description(["0"], [LOOKUP], fixed={"per_month": "4.50"}),
            "2026-05-04/2026-05-05",
            lambda k, m: (k * 1777) % 9000,
            attributes=("road_class",),
            attribute=lambda k, m: (k * 7) % 3,
        ),
    }
    if slow:
        cases["slow"] = bill_case(
            provider,
            description(["0.12", "-0.03", "0"], SLOW_MONTHLY),
            "2026-02",
            lambda k, m: (k * 97 + 31 * m) % 256,
        )
    bills = {name: c.honest.encode() for name, c in cases.items()}
    monthly = cases["monthly"]
    inp = monthly.inputs[0]
    sealed = inp.sealed
    cert = sealed.certificate
    verified = verify_bill(bills["monthly"], monthly.tariff, provider.public_key)
    receipt = issue_receipt(provider.key, verified)
    bundle = DisputeBundle.assemble(
        bills["monthly"], monthly.tariff, (cert,), provider.public_key, receipt
    )
    period = monthly.period
    now = period.end + 3600
    first = period.start // cert.interval_s
    day = Window(period.start + DAY, period.start + 2 * DAY)
    request = DisclosureRequest.create(
        provider.key,
        requester="Example Power",
        purpose="fuzzing",
        account="acct",
        meters=[MeterRef(cert.meter_id, cert.interval_s)],
        period=period,
        timezone="UTC",
        statements=[
            Sum(cert.meter_id, WholePeriod()),
            OpenReadings(cert.meter_id, (first + 5, first + 9)),
            WeightedSum(cert.meter_id, day, 3600, tuple(300 + 7 * h for h in range(24)), "g/kWh"),
            Threshold(cert.meter_id, day, "sum-at-most", 500_000),
            Threshold(cert.meter_id, day, "each-at-most", 1500),
        ],
        issued_at=now - 600,
    )
    consent = Consent.create(request, at=now)
    ledger = DisclosureLedger()
    response = disclosure.answer(
        request.encode(),
        consent,
        [sealed],
        list(inp.openings),
        provider=provider.public_key,
        ledger=ledger,
        policy=DisclosurePolicy(min_window_s=0, allow_open=True),
        now=now,
    )
    objects: dict[str, bytes] = {
        "bill": bills["monthly"],
        "tariff": monthly.tariff.encode(),
        "sealed readings": sealed.encode(),
        "openings": inp.openings[0].encode(),
        "certificate": cert.encode(),
        "receipt": receipt.encode(),
        "disclosure request": request.encode(),
        "consent": consent.encode(),
        "disclosure response": response.encode(),
        "disclosure ledger": ledger.encode(),
        "demand register": sealed.registers[0].encode(),
        "register openings": inp.register_openings[0].encode(),
        "dispute bundle": bundle.encode(),
    }
    return Corpus(
        provider,
        cases,
        bills,
        objects,
        request.encode(),
        response.encode(),
        receipt.encode(),
        bundle.encode(),
        now,
    )


def summary() -> dict[str, Any]:
    c = corpus()
    return {k: len(v) for k, v in c.objects.items()}
