"""Verification jobs on PostgreSQL with procrastinate.

The API defers the job with the connection of the transaction that inserts the bill row
(:func:`enqueue_in`), so a committed bill always has its job and a rolled-back one never does.
``privbill worker`` runs a procrastinate worker on queue ``verify`` whose task calls
:func:`privbill.service.tasks.run_verification`; every worker also re-queues jobs left in
``doing`` by workers whose heartbeat stopped (a worker killed mid-verification), so no accepted
bill is left behind. The task is idempotent, so a retried job records nothing twice.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

import procrastinate
from sqlalchemy import Connection, Engine

from privbill.crypto.signatures import SigningKey
from privbill.service import db, metrics, tasks

log = logging.getLogger("privbill.service.queue")

QUEUE = "verify"
TASK_NAME = "privbill.verify_bill"


def conninfo(url: str) -> str:
    """A libpq connection string from a SQLAlchemy URL."""
    u = db.normalise_url(url)
    return "postgresql://" + u.split("://", 1)[1]


def make_app(url: str) -> procrastinate.App:
    return procrastinate.App(connector=procrastinate.PsycopgConnector(conninfo=conninfo(url)))


class PgQueue:
    """The API side: defer jobs inside the bill's transaction."""

    def __init__(self, url: str) -> None:
        self.app = make_app(url)

    def enqueue_in(self, conn: Connection, bill_id: int) -> None:
        raw: Any = conn.connection.driver_connection
        self.app.configure_task(TASK_NAME, queue=QUEUE, connection=raw).defer(bill_id=bill_id)


def run_worker(
    url: str,
    key: SigningKey,
    *,
    concurrency: int = 1,
    heartbeat_s: float = 10.0,
    stalled_s: float = 30.0,
) -> None:
    """Run one procrastinate worker until SIGINT/SIGTERM (it finishes the job it runs)."""
    from privbill.service.localqueue import warm_up

    engine: Engine = db.make_engine(url)
    app = make_app(url)
    warm_up()

    @app.task(name=TASK_NAME, queue=QUEUE, pass_context=False)
    def verify_bill_task(bill_id: int) -> str:
        out = tasks.run_verification(engine, key, bill_id)
        metrics.record_outcome(out.status, out.error_type, out.seconds)
        return out.status

    async def requeue_stalled(stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                stalled = await app.job_manager.get_stalled_jobs(
                    queue=QUEUE, seconds_since_heartbeat=stalled_s
                )
                for job in stalled:
                    await app.job_manager.retry_job(job)
                    log.warning("re-queued a stalled job", extra={"job_id": job.id})
            except Exception:
                log.exception("could not re-queue stalled jobs")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=max(1.0, stalled_s / 3))

    async def main() -> None:
        stop = asyncio.Event()
        async with app.open_async():
            sweeper = asyncio.create_task(requeue_stalled(stop))
            try:
                await app.run_worker_async(
                    queues=[QUEUE],
                    concurrency=concurrency,
                    update_heartbeat_interval=heartbeat_s,
                    stalled_worker_timeout=stalled_s,
                    install_signal_handlers=True,
                    wait=True,
                )
            finally:
                stop.set()
                await sweeper

    log.info("procrastinate worker started", extra={"concurrency": concurrency})
    asyncio.run(main())
    engine.dispose()
    log.info("procrastinate worker stopped")
