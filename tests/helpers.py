"""Test helpers: the demo tariff description, certified meters with a month of readings."""

from __future__ import annotations

import json
import random
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import pytest

from privbill.billing.prover import MeterInput
from privbill.crypto.signatures import SigningKey
from privbill.meter import Meter
from privbill.model.certificates import MeterCertificate
from privbill.model.periods import BillingPeriod
from privbill.model.readings import Openings
from privbill.model.sealed import SealedReadings
from privbill.model.tariffs import SignedTariff
from privbill.provider import Provider

TZ = "America/Denver"
SHARED = Path(__file__).resolve().parents[2] / "shared"


def shared_path(*parts: str) -> Path:
    """A file under the shared folder beside the repository; skip clearly if it is absent."""
    p = SHARED.joinpath(*parts)
    if not p.exists():
        pytest.skip(f"shared data folder not present at {p}")
    return p


def demo_description() -> dict[str, Any]:
    text = resources.files("privbill").joinpath("data/demo-tou.json").read_text()
    return json.loads(text)


def with_cycle(desc: dict[str, Any], days: int, starting: str) -> dict[str, Any]:
    """``desc`` billed in cycles of ``days`` local days, one of them starting on ``starting``."""
    return {**desc, "billing_cycle": {"every_days": days, "starting": starting}}


@dataclass
class MeterSetup:
    key: SigningKey
    cert: MeterCertificate
    sealed: SealedReadings
    openings: Openings
    values: list[int]
    period: BillingPeriod

    def input(self) -> MeterInput:
        return MeterInput(self.sealed, [self.openings])


def make_meter(
    provider: Provider,
    meter_id: str,
    account: str,
    tariff: SignedTariff,
    period: BillingPeriod,
    *,
    seed: int = 1,
    span: str = "day",
    algorithm: str = "ecdsa-p256-sha256",
) -> MeterSetup:
    key = SigningKey.generate(algorithm)  # type: ignore[arg-type]
    cert = provider.certify_meter(meter_id, account, key.public_key())
    meter = Meter(cert, key, span, tariff.body.timezone)  # type: ignore[arg-type]
    first, count = period.intervals(cert.interval_s)
    rng = random.Random(seed)
    values = [rng.randrange(0, 1500) for _ in range(count)]
    rec = meter.record([(first + k, v) for k, v in enumerate(values)])
    return MeterSetup(
        key, cert, SealedReadings(cert, tuple(rec.runs)), rec.openings, values, period
    )
