"""Helpers of the service tests: customers with real bills, the service run for real as processes
(uvicorn on a loopback port, ``privbill worker``), and a throw-away PostgreSQL database."""

from __future__ import annotations

import contextlib
import os
import random
import secrets
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from helpers import demo_description
from privbill.billing.prover import MeterInput, prove_bill
from privbill.crypto.signatures import SigningKey
from privbill.meter import Meter
from privbill.model.certificates import MeterCertificate
from privbill.model.periods import BillingPeriod
from privbill.model.readings import Openings
from privbill.model.sealed import SealedReadings
from privbill.model.tariffs import SignedTariff, TariffBody
from privbill.provider import Provider
from privbill.service import auth, db
from privbill.service.client import Client

PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"
CBOR = "application/cbor"


@dataclass
class Month:
    label: str
    bill: bytes
    sealed: SealedReadings
    openings: Openings
    values: list[int]


@dataclass
class Customer:
    account: str
    meter_id: str
    meter_key: SigningKey
    cert: MeterCertificate
    customer_key: SigningKey
    meter: Meter
    months: dict[str, Month] = field(default_factory=dict)


@dataclass
class World:
    provider: Provider
    tariff: SignedTariff
    other_tariff: SignedTariff  # a second published tariff valid for the same months
    customers: list[Customer]


def record_month(
    c: Customer, tariff: SignedTariff, label: str, rng: random.Random, meter: Meter | None = None
) -> Month:
    period = BillingPeriod.parse(label, tariff.body.tz)
    first, count = period.intervals(c.cert.interval_s)
    values = [rng.randrange(0, 900) for _ in range(count)]
    m = meter or c.meter
    rec = m.record([(first + i, v) for i, v in enumerate(values)])
    sealed = SealedReadings(c.cert, tuple(rec.runs))
    bill = prove_bill(tariff, [MeterInput(sealed, [rec.openings])], label).encode()
    return Month(label, bill, sealed, rec.openings, values)


def prove_again(c: Customer, tariff: SignedTariff, label: str) -> bytes:
    m = c.months[label]
    return prove_bill(tariff, [MeterInput(m.sealed, [m.openings])], label).encode()


def build_world(
    n: int,
    months: tuple[str, ...] = ("2026-01", "2026-02"),
    seed: int = 1,
    provider: Provider | None = None,
    prefix: str = "",
) -> World:
    rng = random.Random(seed)
    provider = provider or Provider.generate("ed25519")
    desc = demo_description()
    tariff = provider.sign_tariff(TariffBody.from_description(desc))
    other = provider.sign_tariff(
        TariffBody.from_description({**desc, "name": "Another TOU (test)"})
    )
    customers = []
    for k in range(n):
        meter_key = SigningKey.generate()
        account = f"{prefix}acct-{k:04d}"
        meter_id = f"{prefix}m{k:04d}"
        cert = provider.certify_meter(meter_id, account, meter_key.public_key())
        meter = Meter(cert, meter_key, seal_span="day", timezone="America/Denver")
        c = Customer(account, meter_id, meter_key, cert, SigningKey.generate("ed25519"), meter)
        for label in months:
            c.months[label] = record_month(c, tariff, label, rng)
        customers.append(c)
    return World(provider, tariff, other, customers)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def write_key(tmp: Path, key: SigningKey, name: str) -> Path:
    p = tmp / name
    p.write_bytes(key.to_pem())
    return p


class Proc:
    """A ``privbill`` command run as a child process, its output in a log file."""

    def __init__(self, args: list[str], log: Path) -> None:
        self.log_path = log
        self._log = log.open("ab")
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        self.p = subprocess.Popen(
            [sys.executable, "-m", "privbill.cli", *args],
            stdout=self._log,
            stderr=subprocess.STDOUT,
            env=env,
            start_new_session=True,
        )

    @property
    def pid(self) -> int:
        return self.p.pid

    def alive(self) -> bool:
        return self.p.poll() is None

    def stop(self, timeout: float = 30) -> int:
        if self.alive():
            self.p.send_signal(signal.SIGTERM)
        try:
            rc = self.p.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill9()
            rc = self.p.wait(10)
        self._log.close()
        return rc

    def kill9(self) -> None:
        """SIGKILL the process and the pool processes it started (its process group)."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.p.pid, signal.SIGKILL)
        self.p.wait(10)

    def output(self) -> str:
        return self.log_path.read_text(errors="replace")


class Service:
    """``privbill serve`` on a loopback port (and ``privbill worker`` processes on PostgreSQL)."""

    def __init__(
        self,
        db_url: str,
        key_path: Path,
        tmp: Path,
        *,
        workers: int = 2,
        pg_workers: int = 1,
        extra: list[str] | None = None,
        worker_extra: list[str] | None = None,
    ) -> None:
        self.db_url = db_url
        self.key_path = key_path
        self.tmp = tmp
        self.workers = workers
        self.pg_workers = pg_workers
        self.extra = extra or []
        self.worker_extra = worker_extra or []
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.api: Proc | None = None
        self.worker_procs: list[Proc] = []
        self.starts = 0

    @property
    def postgres(self) -> bool:
        return self.db_url.startswith("postgresql")

    def start(self, wait: bool = True) -> None:
        self.starts += 1
        local = 0 if self.postgres else self.workers
        self.api = Proc(
            ["serve", "--db", self.db_url, "--provider-key", str(self.key_path),
             "--port", str(self.port), "--workers", str(local), "--lease-seconds", "3",
             "--grace-seconds", "20", *self.extra],
            self.tmp / f"serve-{self.port}-{self.starts}.log",
        )  # fmt: skip
        if wait:
            self.wait_ready()
        if self.postgres and not self.worker_procs:
            for _ in range(self.pg_workers):
                self.start_worker()

    def start_worker(self) -> Proc:
        n = len(self.worker_procs)
        w = Proc(
            ["worker", "--db", self.db_url, "--provider-key", str(self.key_path),
             "--heartbeat-seconds", "1", "--stalled-seconds", "3", "--lease-seconds", "3",
             *self.worker_extra],
            self.tmp / f"worker-{self.port}-{n}-{self.starts}.log",
        )  # fmt: skip
        self.worker_procs.append(w)
        return w

    def wait_ready(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.api is not None
            if not self.api.alive():
                raise RuntimeError(f"service exited:\n{self.api.output()[-3000:]}")
            try:
                if httpx.get(self.url + "/readyz", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise RuntimeError("service did not become ready")

    def stop(self) -> None:
        for w in self.worker_procs:
            w.stop()
        self.worker_procs = []
        if self.api is not None:
            self.api.stop()
            self.api = None


def wait_final(url: str, bill_hash: str, token: str, timeout: float = 120) -> dict[str, object]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        r = httpx.get(f"{url}/v1/bills/{bill_hash}", headers={"x-privbill-bill-token": token})
        r.raise_for_status()
        body: dict[str, object] = r.json()
        if body["status"] != "pending":
            return body
        time.sleep(0.05)
    raise TimeoutError(f"bill {bill_hash} still pending")


@contextlib.contextmanager
def pg_database() -> Iterator[str]:
    """A new, uniquely named PostgreSQL database, dropped afterwards."""
    import psycopg

    # The pytest-xdist worker (gw0, gw1, …) in the name too: whose database it is, at a glance.
    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    name = f"privbill_test_{worker}_{os.getpid()}_{secrets.token_hex(4)}"
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"
    finally:
        with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
            conn.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s",
                (name,),
            )
            conn.execute(f'DROP DATABASE IF EXISTS "{name}"')


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
