"""Crash safety with kill -9: a worker in the middle of verification, the API in the middle of
a submission burst. Afterwards every accepted submission has exactly one result and, if valid,
exactly one receipt — none lost, none duplicated."""

from __future__ import annotations

import contextlib
import os
import signal
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select

from privbill.service import db
from service_helpers import CBOR, Service, World, build_world, pg_database, start_service

N = 10


@pytest.fixture(scope="module")
def crowd() -> World:
    return build_world(N, months=("2026-01",), seed=23)


@contextlib.contextmanager
def fresh_db(kind: str, tmp: Path) -> Iterator[str]:
    if kind == "sqlite":
        yield f"sqlite:///{tmp / 'crash.db'}"
    else:
        with pg_database() as url:
            yield url


def _setup(svc: Service, w: World, admin: str) -> None:
    h = {"Authorization": f"Bearer {admin}", "content-type": CBOR}
    assert httpx.post(svc.url + "/v1/tariffs", content=w.tariff.encode(), headers=h).is_success
    for c in w.customers:
        r = httpx.post(svc.url + "/v1/certificates", content=c.cert.encode(), headers=h)
        assert r.is_success


def _counts(engine: object) -> dict[str, int]:
    with engine.connect() as conn:  # type: ignore[attr-defined]
        rows = conn.execute(select(db.bills.c.status, func.count()).group_by(db.bills.c.status))
        return {r[0]: int(r[1]) for r in rows}


def _wait_settled(engine: object, expected: int, timeout: float = 120) -> dict[str, int]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        counts = _counts(engine)
        if sum(counts.values()) >= expected and counts.get(db.PENDING, 0) == 0:
            return counts
        time.sleep(0.2)
    raise TimeoutError(f"not settled: {_counts(engine)}")


def _check_exactly_once(engine: object, accepted: set[str]) -> None:
    with engine.connect() as conn:  # type: ignore[attr-defined]
        bills = conn.execute(select(db.bills.c.id, db.bills.c.bill_hash, db.bills.c.status)).all()
        receipts = conn.execute(
            select(db.receipts.c.bill_id, func.count()).group_by(db.receipts.c.bill_id)
        ).all()
    by_hash = {b.bill_hash: b for b in bills}
    assert accepted <= set(by_hash), "an accepted submission was lost"
    per_bill = {r[0]: int(r[1]) for r in receipts}
    for h in accepted:
        b = by_hash[h]
        assert b.status == db.VALID, (h, b.status)
        assert per_bill.get(b.id) == 1, (h, per_bill.get(b.id))
    assert all(n == 1 for n in per_bill.values())
    assert set(per_bill) == {b.id for b in bills if b.status == db.VALID}


def _pool_children(pid: int) -> list[int]:
    """The local pool's processes (spawned children of the API), not the resource tracker."""
    out = []
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            kids = Path(f"/proc/{pid}/task/{tid}/children").read_text().split()
        except OSError:
            continue
        for k in map(int, kids):
            cmd = Path(f"/proc/{k}/cmdline").read_bytes()
            if b"spawn_main" in cmd and b"resource_tracker" not in cmd:
                out.append(k)
    return out


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
def test_worker_killed_mid_verification(kind: str, crowd: World, tmp_path: Path) -> None:
    with fresh_db(kind, tmp_path) as url:
        svc, admin, _t, engine = start_service(url, crowd, tmp_path, workers=2, pg_workers=1)
        try:
            _setup(svc, crowd, admin)
            accepted = set()
            for c in crowd.customers:
                r = httpx.post(
                    svc.url + "/v1/bills",
                    content=c.months["2026-01"].bill,
                    headers={"content-type": CBOR},
                )
                assert r.status_code == 202
                accepted.add(r.json()["bill_hash"])
            # Wait until verification is under way, then kill the verifying processes.
            deadline = time.monotonic() + 60
            while _counts(engine).get(db.VALID, 0) < 1 and time.monotonic() < deadline:
                time.sleep(0.02)
            assert _counts(engine).get(db.PENDING, 0) > 0, "too late: nothing left to interrupt"
            if svc.postgres:
                svc.worker_procs[0].kill9()
                svc.worker_procs = []
                svc.start_worker()  # a new worker re-queues the stalled job
            else:
                assert svc.api is not None
                victims = _pool_children(svc.api.pid)
                assert victims
                for v in victims:
                    os.kill(v, signal.SIGKILL)
            _wait_settled(engine, len(accepted))
            _check_exactly_once(engine, accepted)
        finally:
            svc.stop()
            engine.dispose()  # type: ignore[attr-defined]


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
def test_api_killed_mid_burst(kind: str, crowd: World, tmp_path: Path) -> None:
    with fresh_db(kind, tmp_path) as url:
        svc, admin, _t, engine = start_service(url, crowd, tmp_path, workers=2, pg_workers=1)
        try:
            _setup(svc, crowd, admin)
            accepted: set[str] = set()
            lock = threading.Lock()

            def submit(bill: bytes) -> None:
                try:
                    r = httpx.post(
                        svc.url + "/v1/bills",
                        content=bill,
                        headers={"content-type": CBOR},
                        timeout=20,
                    )
                except httpx.HTTPError:
                    return  # not accepted: the client knows it must retry
                if r.status_code in (200, 202):
                    with lock:
                        accepted.add(r.json()["bill_hash"])

            threads = [
                threading.Thread(target=submit, args=(c.months["2026-01"].bill,))
                for c in crowd.customers
            ]
            for t in threads:
                t.start()
                time.sleep(0.03)
                with lock:
                    if len(accepted) >= N // 3:
                        break
            assert svc.api is not None
            svc.api.kill9()  # the API and its pool processes, mid-burst
            for t in threads:
                if t.ident is not None:
                    t.join(30)
            assert 0 < len(accepted) < N
            svc.api = None
            svc.start()
            stored = sum(_counts(engine).values())
            _wait_settled(engine, stored)
            _check_exactly_once(engine, accepted)
            # The clients that were not answered retry: their bills are accepted once.
            for c in crowd.customers:
                r = httpx.post(
                    svc.url + "/v1/bills",
                    content=c.months["2026-01"].bill,
                    headers={"content-type": CBOR},
                )
                assert r.status_code in (200, 202)
                accepted.add(r.json()["bill_hash"])
            _wait_settled(engine, N)
            _check_exactly_once(engine, accepted)
            assert len(accepted) == N
        finally:
            svc.stop()
            engine.dispose()  # type: ignore[attr-defined]
