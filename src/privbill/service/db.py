"""Storage: SQLAlchemy 2 tables, engines for SQLite (default) and PostgreSQL, migrations.

What is stored (and what is not) is listed in ``docs/service.md``: payment messages exactly as
submitted, receipts, meter certificates, signed tariffs, disclosure requests and responses,
accounts' public keys, hashed operator tokens and request nonces. No table has a column for a
reading or an opening; a bill's JSON view holds only what verification reveals.

The schema is created and upgraded only by the Alembic migrations in
``privbill/service/migrations`` (:func:`migrate`); the table objects below describe it for
queries, and a test checks that both agree.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from importlib import resources
from typing import Any

from sqlalchemy import (
    BigInteger,
    Column,
    Engine,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    create_engine,
    event,
)
from sqlalchemy.engine import Connection
from sqlalchemy.pool import NullPool

metadata = MetaData()

#: Bill states. ``pending`` waits for a worker; ``valid`` has a receipt; ``invalid`` carries the
#: typed error; ``superseded`` was valid and replaced by a later bill with a recorded reason.
PENDING = "pending"
VALID = "valid"
INVALID = "invalid"
SUPERSEDED = "superseded"

accounts = Table(
    "accounts",
    metadata,
    Column("account", String(64), primary_key=True),
    Column("customer_key", LargeBinary, nullable=True),  # SubjectPublicKeyInfo DER
    Column("created_at", BigInteger, nullable=False),
    Column("updated_at", BigInteger, nullable=False),
)

certificates = Table(
    "certificates",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("cert_hash", String(64), nullable=False, unique=True),
    Column("meter_id", String(64), nullable=False, index=True),
    Column("account", String(64), ForeignKey("accounts.account"), nullable=False, index=True),
    Column("certificate", LargeBinary, nullable=False),
    Column("valid_from", BigInteger, nullable=False),
    Column("valid_until", BigInteger, nullable=False),
    Column("created_at", BigInteger, nullable=False),
    Column("revoked_at", BigInteger, nullable=True),
    Column("revoke_reason", Text, nullable=True),
)

tariffs = Table(
    "tariffs",
    metadata,
    Column("tariff_hash", String(64), primary_key=True),
    Column("name", Text, nullable=False),
    Column("tariff", LargeBinary, nullable=False),
    Column("valid_from", BigInteger, nullable=False),
    Column("valid_until", BigInteger, nullable=False),
    Column("published_at", BigInteger, nullable=False),
)

bills = Table(
    "bills",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("bill_hash", String(64), nullable=False, unique=True),
    Column("account", String(64), nullable=False, index=True),
    Column("period_start", BigInteger, nullable=False),
    Column("period_end", BigInteger, nullable=False),
    Column("tariff_hash", String(64), nullable=False),
    Column("message", LargeBinary, nullable=False),
    Column("size", Integer, nullable=False),
    Column("status", String(16), nullable=False, index=True),
    # 1 while the bill is the account's bill for its period (pending or valid), NULL otherwise:
    # the unique constraint below allows one current bill per account and period.
    Column("current", Integer, nullable=True),
    Column("capability", String(64), nullable=False),  # SHA-256 of the submitter's read token
    Column("error_type", String(64), nullable=True),
    Column("error", Text, nullable=True),
    Column("result", Text, nullable=True),  # VerifiedBill.to_json()
    Column("total_fee", BigInteger, nullable=True),
    Column("currency", String(3), nullable=True),
    Column("supersedes", String(64), nullable=True),
    Column("supersede_reason", Text, nullable=True),
    Column("superseded_by", String(64), nullable=True),
    Column("submitted_at", BigInteger, nullable=False),
    Column("verified_at", BigInteger, nullable=True),
    Column("verify_seconds", BigInteger, nullable=True),  # microseconds
    Column("attempts", Integer, nullable=False, default=0),
    Column("lease_until", BigInteger, nullable=True),  # local queue only
    Column("lease_owner", String(64), nullable=True),
    UniqueConstraint("account", "period_start", "period_end", "current", name="uq_bills_current"),
)
Index("ix_bills_queue", bills.c.status, bills.c.lease_until)

bill_meters = Table(
    "bill_meters",
    metadata,
    Column("bill_id", Integer, ForeignKey("bills.id"), primary_key=True),
    Column("meter_id", String(64), primary_key=True),
    Column("period_start", BigInteger, nullable=False),
    Column("period_end", BigInteger, nullable=False),
    Column("chain_start", String(64), nullable=False),
    Column("chain_end", String(64), nullable=False),
    Column("first_seq", BigInteger, nullable=False),
    Column("last_seq", BigInteger, nullable=False),
)
Index("ix_bill_meters_meter", bill_meters.c.meter_id, bill_meters.c.period_start)

receipts = Table(
    "receipts",
    metadata,
    Column("bill_id", Integer, ForeignKey("bills.id"), primary_key=True),
    Column("receipt", LargeBinary, nullable=False),
    Column("issued_at", BigInteger, nullable=False),
)

disclosure_requests = Table(
    "disclosure_requests",
    metadata,
    Column("request_id", String(32), primary_key=True),
    Column("account", String(64), nullable=False, index=True),
    Column("request", LargeBinary, nullable=False),
    Column("status", String(16), nullable=False),  # pending | answered | rejected
    Column("created_at", BigInteger, nullable=False),
    Column("expires", BigInteger, nullable=False),
)

disclosure_answers = Table(
    "disclosure_answers",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column(
        "request_id",
        String(32),
        ForeignKey("disclosure_requests.request_id"),
        nullable=False,
        index=True,
    ),
    Column("response", LargeBinary, nullable=False),
    Column("status", String(16), nullable=False),  # valid | invalid
    Column("error_type", String(64), nullable=True),
    Column("error", Text, nullable=True),
    Column("result", Text, nullable=True),  # VerifiedDisclosure.to_json()
    Column("received_at", BigInteger, nullable=False),
)

operator_tokens = Table(
    "operator_tokens",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("name", String(100), nullable=False),
    Column("token_hash", String(64), nullable=False, unique=True),
    Column("scopes", Text, nullable=False),  # space-separated
    Column("created_at", BigInteger, nullable=False),
    Column("revoked_at", BigInteger, nullable=True),
)

request_nonces = Table(
    "request_nonces",
    metadata,
    Column("account", String(64), primary_key=True),
    Column("nonce", String(64), primary_key=True),
    Column("expires_at", BigInteger, nullable=False, index=True),
)


def now() -> int:
    return int(time.time())


def is_postgres(url: str) -> bool:
    return url.startswith("postgresql")


def normalise_url(url: str) -> str:
    """Accept a plain file path for SQLite; use psycopg 3 for PostgreSQL."""
    if "://" not in url:
        return f"sqlite:///{url}"
    if url.startswith("postgresql://") or url.startswith("postgres://"):
        return "postgresql+psycopg://" + url.split("://", 1)[1]
    return url


def make_engine(url: str, *, pool: bool = True) -> Engine:
    url = normalise_url(url)
    if url.startswith("sqlite"):
        engine = create_engine(
            url,
            connect_args={"timeout": 30, "check_same_thread": False},
            poolclass=NullPool,
        )

        @event.listens_for(engine, "connect")
        def _pragmas(dbapi_conn: Any, _record: Any) -> None:
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.close()

        @event.listens_for(engine, "begin")
        def _begin(conn: Connection) -> None:
            # Writing transactions (:func:`transaction`) take the write lock at BEGIN, so that
            # read-then-write never fails with "database is locked" half-way (SQLite serialises
            # writers anyway); reads begin deferred and run beside the writer (WAL).
            conn.exec_driver_sql("BEGIN IMMEDIATE" if conn.info.get("immediate") else "BEGIN")

        # Let the "begin" event issue BEGIN itself.
        @event.listens_for(engine, "connect")
        def _no_autobegin(dbapi_conn: Any, _record: Any) -> None:
            dbapi_conn.isolation_level = None

        return engine
    if pool:
        return create_engine(url, pool_size=10, max_overflow=20, pool_pre_ping=True)
    return create_engine(url, poolclass=NullPool)


@contextmanager
def transaction(engine: Engine) -> Iterator[Connection]:
    """One writing transaction: committed if the block ends normally, else rolled back."""
    with engine.connect() as conn:
        conn.info["immediate"] = True
        try:
            with conn.begin():
                yield conn
        finally:
            conn.info.pop("immediate", None)


def migrate(url: str) -> None:
    """Bring the database at ``url`` to the newest schema (Alembic ``upgrade head``)."""
    from alembic import command
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option(
        "script_location", str(resources.files("privbill.service").joinpath("migrations"))
    )
    cfg.set_main_option("sqlalchemy.url", normalise_url(url).replace("%", "%%"))
    cfg.attributes["configure_logger"] = False
    command.upgrade(cfg, "head")
