"""Shared fixtures: a provider, a certified meter, a signed TOU tariff and a month of readings."""

from __future__ import annotations

from typing import Any

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


# Running the suite in parallel (pytest-xdist, ``-n`` in pyproject's addopts): a worker gets a
# whole test file at a time, so a module's fixtures are made once and its tests keep their order;
# the service tests all go to one worker, as they share one running service and database (the
# scan for private values reads what the other service tests left there). Files with slow tests
# are handed out first, so that no long test starts last while the other worker sits idle.
SHARED_SCOPES = ("tests/service/",)


def _scope(nodeid: str) -> str:
    for shared in SHARED_SCOPES:
        if nodeid.startswith(shared):
            return shared
    return nodeid.split("::", 1)[0]


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    """``--dist loadfile`` (pyproject's addopts), with the shared scopes and the order above."""
    if config.getoption("dist") != "loadfile":
        return None
    from xdist.scheduler import LoadScopeScheduling

    class ByFile(LoadScopeScheduling):  # type: ignore[misc]
        def _split_scope(self, nodeid: str) -> str:
            return _scope(nodeid)

    config.option.loadscopereorder = False  # keep the order below, slow files first
    return ByFile(config, log)


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """In a pytest-xdist worker: the work units (see ``_scope``) with slow tests first, each
    unit's tests in their usual order. A run without workers keeps pytest's order."""
    if not hasattr(config, "workerinput"):
        return
    slow = {_scope(item.nodeid) for item in items if item.get_closest_marker("slow")}
    items.sort(key=lambda item: _scope(item.nodeid) not in slow)  # stable


def pytest_sessionfinish(session: pytest.Session) -> None:
    """Under pytest-xdist each worker counts its own refused forgeries: hand them to the
    controlling process, which reports the sum."""
    from cheaters import REFUSED

    workeroutput = getattr(session.config, "workeroutput", None)
    if workeroutput is not None:
        workeroutput["refused"] = dict(REFUSED)


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node: Any, error: object) -> None:
    """The counts of a pytest-xdist worker that has finished, added to the controller's."""
    from cheaters import REFUSED

    REFUSED.update(getattr(node, "workeroutput", {}).get("refused", {}))


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
