"""A provider service on loopback (SQLite) shared by the live household tests."""

from __future__ import annotations

import contextlib
import os
import signal
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from helpers import demo_description
from household_helpers import Setup
from privbill.model.tariffs import SignedTariff, TariffBody
from privbill.provider import Provider
from privbill.service import auth, db
from privbill.service.client import Client
from service_helpers import CBOR, Service, write_key


@dataclass
class LiveService:
    service: Service
    url: str
    provider: Provider
    tariff: SignedTariff
    admin: str

    def operator(self) -> Client:
        return Client(self.url, token=self.admin)

    def enrol(self, s: Setup) -> None:
        with self.operator() as op:
            op.request("POST", "/v1/certificates", body=s.cert.encode(), content_type=CBOR)
            op.json(
                "PUT",
                f"/v1/accounts/{s.account}",
                json_body={"customer_key_pem": s.customer_key.public_key().to_pem().decode()},
            )


@pytest.fixture(scope="module")
def live_service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveService]:
    tmp: Path = tmp_path_factory.mktemp("household-service")
    url = f"sqlite:///{tmp / 'service.db'}"
    provider = Provider.generate("ed25519")
    tariff = provider.sign_tariff(TariffBody.from_description(demo_description()))
    db.migrate(url)
    engine = db.make_engine(url)
    admin = auth.create_operator_token(engine, "admin", list(auth.SCOPES))
    engine.dispose()
    svc = Service(url, write_key(tmp, provider.key, "provider.pem"), tmp, workers=1)
    svc.start()
    live = LiveService(svc, svc.url, provider, tariff, admin)
    with live.operator() as op:
        op.request("POST", "/v1/tariffs", body=tariff.encode(), content_type=CBOR)
    try:
        yield live
    finally:
        group = svc.api.pid if svc.api is not None else None
        svc.stop()
        if group is not None:  # the service's verification pool, started in its session
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(group, signal.SIGTERM)
