"""Fixtures of the service tests: one world of customers, the service on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from service_helpers import CBOR, Running, World, build_world, pg_database, start_service


@pytest.fixture(scope="session")
def world() -> World:
    return build_world(4)


@pytest.fixture(scope="session", params=["sqlite", "postgresql"])
def db_url(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    if request.param == "sqlite":
        path = tmp_path_factory.mktemp("sqlite") / "service.db"
        yield f"sqlite:///{path}"
    else:
        with pg_database() as url:
            yield url


@pytest.fixture(scope="session")
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
