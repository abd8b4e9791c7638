"""Helpers of the household-side tests: a provider, a certified meter, an agent's key and a
household store; meter messages made without a broker; the broker's address."""

from __future__ import annotations

import secrets
import socket
from dataclasses import dataclass
from pathlib import Path

import pytest

from helpers import demo_description
from privbill.crypto.signatures import SigningKey
from privbill.household.home import AgentConfig, AgentHome
from privbill.household.ingest import Ingestor
from privbill.household.meterlink import MeterLink
from privbill.household.store import HouseholdStore
from privbill.interop.csv_readings import Row
from privbill.model.certificates import MeterCertificate
from privbill.model.periods import BillingPeriod, zone
from privbill.model.tariffs import SignedTariff, TariffBody
from privbill.provider import Provider

TZ = "America/Denver"
BROKER = ("127.0.0.1", 1883)


def broker_or_skip() -> None:
    """The tests use the machine's Mosquitto; skip clearly where none listens."""
    try:
        with socket.create_connection(BROKER, timeout=2):
            return
    except OSError:
        pytest.skip(f"no MQTT broker at {BROKER[0]}:{BROKER[1]} (Mosquitto)")


@dataclass
class Setup:
    provider: Provider
    tariff: SignedTariff
    meter_key: SigningKey
    cert: MeterCertificate
    customer_key: SigningKey
    home: AgentHome
    prefix: str

    @property
    def meter_id(self) -> str:
        return self.cert.meter_id

    @property
    def account(self) -> str:
        return self.cert.account

    def store(self) -> HouseholdStore:
        return self.home.open_store(self.account)

    def meter_link(self, directory: Path, batch: int = 96, **kw: object) -> MeterLink:
        return MeterLink(
            directory, self.cert, self.meter_key, self.home.public_key(),
            seal_span="day", timezone=TZ, prefix=self.prefix, batch=batch, **kw,  # type: ignore[arg-type]
        )  # fmt: skip

    def write_files(self, d: Path) -> dict[str, Path]:
        files = {
            "provider.pem": self.provider.key.to_pem(),
            "provider.pub": self.provider.public_key.to_pem(),
            "meter.pem": self.meter_key.to_pem(),
            "meter.cert": self.cert.encode(),
            "customer.pem": self.customer_key.to_pem(),
            "tariff.pbt": self.tariff.encode(),
        }
        d.mkdir(parents=True, exist_ok=True)
        out = {}
        for name, data in files.items():
            (d / name).write_bytes(data)
            out[name] = d / name
        return out


def make_setup(tmp: Path, provider_url: str | None = None, *, mode: str = "device", policy: str | None = None,
               provider: Provider | None = None, tariff: SignedTariff | None = None) -> Setup:  # fmt: skip
    provider = provider or Provider.generate("ed25519")
    tariff = tariff or provider.sign_tariff(TariffBody.from_description(demo_description()))
    tag = secrets.token_hex(4)
    meter_key = SigningKey.generate()
    cert = provider.certify_meter(f"m-{tag}", f"acct-{tag}", meter_key.public_key())
    customer = SigningKey.generate("ed25519")
    prefix = f"privbill-test-{tag}"
    home = AgentHome.init(tmp / f"home-{tag}", AgentConfig(prefix=prefix, mode=mode))
    store = home.new_store(
        cert.account,
        {
            "provider_url": provider_url,
            "provider_key": provider.public_key.to_pem(),
            "customer_key": customer.to_pem(),
            "policy": policy,
            "tariff": None,
        },
    )
    store.add_meter(cert, None)
    store.close()
    return Setup(provider, tariff, meter_key, cert, customer, home, prefix)


def month_rows(tariff: SignedTariff, label: str = "2026-01", seed: int = 3) -> list[Row]:
    import random

    rng = random.Random(seed)
    period = BillingPeriod.parse(label, zone(TZ))
    first, count = period.intervals(900)
    return [Row(first + k, rng.randrange(0, 1500)) for k in range(count)]


def ingest_all(
    ing: Ingestor, meter_id: str, messages: list[tuple[int, str, int, bytes]]
) -> list[str]:
    out = []
    with ing.store.transaction():
        for _n, _kind, _first, payload in messages:
            out.append(ing.handle(meter_id, payload))
    return out
