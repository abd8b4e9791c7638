"""Operations: health and readiness, Prometheus metrics, JSON logs, graceful shutdown."""

from __future__ import annotations

import json
import time
from pathlib import Path

import httpx

from privbill.service.client import Client
from service_helpers import Running, World, start_service, wait_final


def test_health_readiness_and_metrics(running: Running) -> None:
    assert httpx.get(running.url + "/healthz").json() == {"status": "ok"}
    ready = httpx.get(running.url + "/readyz").json()
    assert ready["status"] == "ready" and ready["schema"] == "0002"
    c = running.world.customers[0]
    with Client(running.url) as cl:
        sub = cl.submit(c.months["2026-01"].bill)
    assert wait_final(running.url, sub["bill_hash"], sub["token"])["status"] == "valid"
    text = httpx.get(running.url + "/metrics").text
    assert 'privbill_bills{status="valid"}' in text
    assert "privbill_queue_depth 0.0" in text
    assert 'privbill_http_requests_total{method="POST",route="/v1/bills",status="202"}' in text
    assert 'privbill_submissions_total{outcome="accepted"}' in text
    if not running.service.postgres:  # the local pool reports into the API's registry
        assert 'privbill_bills_verified_total{result="valid"}' in text
        assert "privbill_verification_seconds_bucket" in text


def test_logs_are_json_lines(running: Running) -> None:
    assert running.service.api is not None
    lines = [ln for ln in running.service.api.output().splitlines() if ln.strip()]
    records = [json.loads(ln) for ln in lines]
    assert any(r["msg"] == "request" and r["route"] == "/v1/bills" for r in records)
    assert all({"ts", "level", "logger", "msg"} <= set(r) for r in records)


def test_graceful_shutdown_finishes_running_jobs(
    world: World, tmp_path: Path, tmp_path_factory: object
) -> None:
    db_url = f"sqlite:///{tmp_path / 'grace.db'}"
    svc, admin, _tokens, engine = start_service(db_url, world, tmp_path, workers=1)
    try:
        with Client(svc.url, token=admin) as op:
            op.request(
                "POST", "/v1/tariffs", body=world.tariff.encode(), content_type="application/cbor"
            )
            for c in world.customers:
                op.request(
                    "POST",
                    "/v1/certificates",
                    body=c.cert.encode(),
                    content_type="application/cbor",
                )
        subs = []
        with Client(svc.url) as cl:
            for c in world.customers:
                subs.append(cl.submit(c.months["2026-02"].bill))
        assert svc.api is not None
        group = svc.api.pid  # the server runs in its own session: its pool shares its group
        assert _group_members(group), "the server and its pool processes"
        t0 = time.monotonic()
        rc = svc.api.stop()
        # uvicorn re-raises SIGTERM after its graceful shutdown: "killed by SIGTERM" is the
        # normal exit status of a stopped server.
        assert rc in (0, -15) and time.monotonic() - t0 < 25
        out = svc.api.output()
        assert '"local queue stopped"' in out and '"service stopped"' in out
        stopped = json.loads(next(ln for ln in out.splitlines() if "local queue stopped" in ln))
        verified_before = out.split("local queue stopped")[0].count('"bill verified"')
        assert verified_before >= 1  # the job that was running finished, it was not dropped
        assert stopped["released"] == 0
        # The verification pool's processes are gone too (none left behind the server).
        deadline = time.monotonic() + 10
        while _group_members(group) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert _group_members(group) == []
        svc.api = None
        # Whatever was not finished is picked up after a restart; nothing is lost.
        svc.start()
        for s in subs:
            assert wait_final(svc.url, s["bill_hash"], s["token"])["status"] == "valid"
    finally:
        svc.stop()
        engine.dispose()  # type: ignore[attr-defined]


def test_pool_processes_end_when_the_server_is_killed(world: World, tmp_path: Path) -> None:
    """A server killed with SIGKILL cannot tell its verification pool to stop: the pool's
    processes notice that their parent is gone and exit instead of waiting forever."""
    import os
    import signal

    db_url = f"sqlite:///{tmp_path / 'orphans.db'}"
    svc, admin, _tokens, _engine = start_service(db_url, world, tmp_path, workers=2)
    try:
        with Client(svc.url, token=admin) as op:
            op.request(
                "POST", "/v1/tariffs", body=world.tariff.encode(), content_type="application/cbor"
            )
            c = world.customers[0]
            op.request(
                "POST", "/v1/certificates", body=c.cert.encode(), content_type="application/cbor"
            )
        with Client(svc.url) as cl:
            sub = cl.submit(world.customers[0].months["2026-01"].bill)
        assert wait_final(svc.url, sub["bill_hash"], sub["token"])["status"] == "valid"
        assert svc.api is not None
        group = svc.api.pid
        assert len(_group_members(group)) >= 2, "the server and at least one pool process"
        os.kill(svc.api.pid, signal.SIGKILL)  # the server alone, not its process group
        svc.api.p.wait(10)
        deadline = time.monotonic() + 15
        while _group_members(group) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert _group_members(group) == []
        svc.api = None
    finally:
        svc.stop()


def _group_members(pgid: int) -> list[int]:
    """Live processes (not zombies) of process group ``pgid``, from /proc."""
    members = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2 :].split()  # after "pid (comm) "
        state, pgrp = fields[0], int(fields[2])
        if pgrp == pgid and state != "Z":
            members.append(int(entry.name))
    return members
