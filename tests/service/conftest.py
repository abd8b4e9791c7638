"""Fixtures of the service tests: one world of customers, the service on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from privbill.service import auth, db
from privbill.service.client import Client
from service_helpers import Service, World, build_world, pg_database, write_key

CBOR = "application/cbor"


@pytest.fixture(scope="session")
def world() -> World:
    return build_world(4)


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def db_url(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    if request.param == "sqlite":
        path = tmp_path_factory.mktemp("sqlite") / "service.db"
        yield f"sqlite:///{path}"
    else:
        with pg_database() as url:
            yield url


@dataclass
class Running:
    service: Service
    url: str
    world: World
    admin: str  # token with every scope
    tokens: dict[str, str]  # one token per single scope
    engine: object
    tmp: Path

    def operator(self, scope: str | None = None) -> Client:
        return Client(self.url, token=self.admin if scope is None else self.tokens[scope])

    def customer(self, k: int) -> Client:
        c = self.world.customers[k]
        return Client(self.url, customer=(c.account, c.customer_key))


def start_service(
    db_url: str, world: World, tmp: Path, **kw: object
) -> tuple[Service, str, dict[str, str], object]:
    db.migrate(db_url)
    engine = db.make_engine(db_url)
    admin = auth.create_operator_token(engine, "admin", list(auth.SCOPES))
    tokens = {s: auth.create_operator_token(engine, f"only-{s}", [s]) for s in auth.SCOPES}
    key_path = write_key(tmp, world.provider.key, "provider.pem")
    svc = Service(db_url, key_path, tmp, **kw)  # type: ignore[arg-type]
    svc.start()
    return svc, admin, tokens, engine


@pytest.fixture(scope="module")
def running(
    db_url: str, world: World, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Running]:
    tmp = tmp_path_factory.mktemp("svc")
    svc, admin, tokens, engine = start_service(db_url, world, tmp)
    r = Running(svc, svc.url, world, admin, tokens, engine, tmp)
    with r.operator() as op:
        op.request("POST", "/v1/tariffs", body=world.tariff.encode(), content_type=CBOR)
        op.request("POST", "/v1/tariffs", body=world.other_tariff.encode(), content_type=CBOR)
        for c in world.customers:
            op.request("POST", "/v1/certificates", body=c.cert.encode(), content_type=CBOR)
            op.json(
                "PUT",
                f"/v1/accounts/{c.account}",
                json_body={"customer_key_pem": c.customer_key.public_key().to_pem().decode()},
            )
    try:
        yield r
    finally:
        svc.stop()
        engine.dispose()  # type: ignore[attr-defined]
