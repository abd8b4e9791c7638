"""Shared fixtures: a provider, a certified meter, a signed TOU tariff and a month of readings."""

from __future__ import annotations

import pytest

from helpers import MeterSetup, demo_description, make_meter
from privbill.billing.prover import prove_bill
from privbill.model.bills import PaymentMessage
from privbill.model.periods import BillingPeriod
from privbill.model.tariffs import SignedTariff, TariffBody
from privbill.provider import Provider


@pytest.fixture(scope="session")
def provider() -> Provider:
    return Provider.generate("ed25519")


@pytest.fixture(scope="session")
def other_provider() -> Provider:
    return Provider.generate("ecdsa-p256-sha256")


@pytest.fixture(scope="session")
def tariff(provider: Provider) -> SignedTariff:
    return provider.sign_tariff(TariffBody.from_description(demo_description()))


@pytest.fixture(scope="session")
def january(tariff: SignedTariff) -> BillingPeriod:
    return BillingPeriod.parse("2026-01", tariff.body.tz)


@pytest.fixture(scope="session")
def february(tariff: SignedTariff) -> BillingPeriod:
    return BillingPeriod.parse("2026-02", tariff.body.tz)


@pytest.fixture(scope="session")
def meter_a(provider: Provider, tariff: SignedTariff, january: BillingPeriod) -> MeterSetup:
    return make_meter(provider, "m-a", "acct-1", tariff, january, seed=11)


@pytest.fixture(scope="session")
def meter_b(provider: Provider, tariff: SignedTariff, january: BillingPeriod) -> MeterSetup:
    return make_meter(provider, "m-b", "acct-1", tariff, january, seed=12, algorithm="ed25519")


@pytest.fixture(scope="session")
def bill(tariff: SignedTariff, meter_a: MeterSetup, january: BillingPeriod) -> PaymentMessage:
    return prove_bill(tariff, [meter_a.input()], january)


@pytest.fixture(scope="session")
def bill_bytes(bill: PaymentMessage) -> bytes:
    return bill.encode()


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """How many forgeries the cheating provers made, per component, and that each was refused
    (a test fails at the first one accepted)."""
    from cheaters import REFUSED

    if not REFUSED:
        return
    terminalreporter.write_sep("-", "forgeries refused by the verifiers")
    for key in sorted(REFUSED):
        component, level = key.split("/")
        terminalreporter.write_line(f"{component:>12} {level:>5}: {REFUSED[key]}")
    terminalreporter.write_line(f"{'total':>12}      : {sum(REFUSED.values())}")
