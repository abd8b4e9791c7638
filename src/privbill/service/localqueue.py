"""The embedded queue: the ``bills`` table is the queue, a local process pool the workers.

Used with SQLite (and available on any database). A dispatcher thread claims pending bills by
setting a lease (``lease_until``, ``lease_owner``) in one transaction, hands them to a
:class:`~concurrent.futures.ProcessPoolExecutor` that runs :func:`privbill.service.tasks.
run_verification` — the same task code procrastinate runs — and renews the leases of the jobs it
is running. A job whose owner died (the API or a ``privbill worker`` killed) is claimed again
when its lease expires; a pool process killed mid-job breaks the pool, which is rebuilt and the
job's lease released at once. The task's guarded write makes every outcome happen once.
"""

from __future__ import annotations

import functools
import logging
import multiprocessing
import os
import secrets
import threading
import time
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any

from sqlalchemy import Engine, or_, select, update

from privbill.crypto.signatures import SigningKey
from privbill.service import db, metrics, tasks

log = logging.getLogger("privbill.service.queue")

# --- in the pool processes ---------------------------------------------------------------------

_ENGINE: Engine | None = None
_KEY: SigningKey | None = None


def _init_process(url: str, key_pem: bytes, log_level: int) -> None:
    global _ENGINE, _KEY
    import signal

    from privbill.service import logs

    if log_level:
        logs.setup(logging.getLevelName(log_level))

    # The parent handles shutdown; a pool process finishes its job and exits with the pool.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    _exit_with_parent(os.getppid())
    _ENGINE = db.make_engine(url)
    _KEY = SigningKey.from_pem(key_pem)
    warm_up()


def _exit_with_parent(parent: int, every_s: float = 1.0) -> None:
    """End this pool process when the server that started it is gone (killed with SIGKILL, it
    cannot tell the pool): otherwise the process would wait for work forever. A job it was
    running is safe to drop: its lease expires and another run redoes it idempotently."""

    def watch() -> None:
        while True:
            time.sleep(every_s)
            if os.getppid() != parent:
                os._exit(0)

    threading.Thread(target=watch, name="privbill-parent-watch", daemon=True).start()


def warm_up() -> None:
    """Fixed-base tables now, so that the first bill does not pay for them."""
    from privbill.crypto import pedersen

    pedersen.precompute()


def _run(bill_id: int) -> tasks.Outcome:
    assert _ENGINE is not None and _KEY is not None
    return tasks.run_verification(_ENGINE, _KEY, bill_id)


def _end_pool(pool: ProcessPoolExecutor, wait_s: float = 5.0) -> None:
    """Shut the pool down and make sure its processes are gone: idle ones exit on the pool's
    shutdown message; one still running a job past the grace period (its lease already
    released, so another run redoes it idempotently) is terminated. Without this, a server
    stopped by SIGTERM could exit before the pool's processes did and leave them behind."""
    # The executor has no public list of its processes; read it before shutdown clears it.
    procs = list((getattr(pool, "_processes", None) or {}).values())
    pool.shutdown(wait=False, cancel_futures=True)
    deadline = time.monotonic() + wait_s
    for proc in procs:
        proc.join(timeout=max(0.0, deadline - time.monotonic()))
    for proc in procs:
        if proc.is_alive():
            proc.terminate()
            proc.join(timeout=2.0)
            if proc.is_alive():
                proc.kill()
                proc.join(timeout=2.0)


# --- the dispatcher ----------------------------------------------------------------------------


class LocalDispatcher:
    def __init__(
        self,
        url: str,
        key: SigningKey,
        workers: int,
        *,
        lease_s: float = 30.0,
        poll_s: float = 0.05,
    ) -> None:
        self.url = url
        self.key_pem = key.to_pem()
        self.workers = max(1, workers)
        self.lease_s = lease_s
        self.poll_s = poll_s
        self.owner = f"{os.getpid()}-{secrets.token_hex(4)}"
        # Pool processes log like this one if it has set up JSON logs (0: leave them be).
        root = logging.getLogger()
        self.log_level = root.level if root.handlers else 0
        self.engine = db.make_engine(url)
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._inflight: dict[int, Future[tasks.Outcome]] = {}
        self._lock = threading.Lock()
        self._pool: ProcessPoolExecutor | None = None
        self._thread: threading.Thread | None = None
        self._broken = False
        self.completed = 0

    # -- life cycle --

    def start(self) -> None:
        self._pool = self._new_pool()
        self._thread = threading.Thread(target=self._loop, name="privbill-dispatcher", daemon=True)
        self._thread.start()
        log.info("local queue started", extra={"workers": self.workers, "owner": self.owner})

    def _new_pool(self) -> ProcessPoolExecutor:
        # spawn, not fork: a forked child would inherit the parent's open SQLite files and
        # threads mid-transaction.
        return ProcessPoolExecutor(
            max_workers=self.workers,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=_init_process,
            initargs=(self.url, self.key_pem, self.log_level),
        )

    def wake(self) -> None:
        self._wake.set()

    def stop(self, grace_s: float = 30.0) -> None:
        """Stop claiming, let running jobs finish for up to ``grace_s``, release the rest."""
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        deadline = time.monotonic() + grace_s
        while time.monotonic() < deadline:
            with self._lock:
                if not self._inflight:
                    break
            time.sleep(0.05)
        with self._lock:
            left = list(self._inflight)
        self._release(left)
        if self._pool is not None:
            _end_pool(self._pool)
        log.info("local queue stopped", extra={"released": len(left), "owner": self.owner})

    # -- queue operations --

    def _claim(self, n: int) -> list[int]:
        t = time.time()
        with db.transaction(self.engine) as conn:
            ids = [
                r.id
                for r in conn.execute(
                    select(db.bills.c.id)
                    .where(
                        db.bills.c.status == db.PENDING,
                        or_(db.bills.c.lease_until.is_(None), db.bills.c.lease_until < int(t)),
                    )
                    .order_by(db.bills.c.id)
                    .limit(n)
                ).all()
            ]
            if ids:
                conn.execute(
                    update(db.bills)
                    .where(db.bills.c.id.in_(ids), db.bills.c.status == db.PENDING)
                    .values(
                        lease_until=int(t + self.lease_s),
                        lease_owner=self.owner,
                        attempts=db.bills.c.attempts + 1,
                    )
                )
        return ids

    def _renew(self) -> None:
        with self._lock:
            ids = list(self._inflight)
        if not ids:
            return
        with db.transaction(self.engine) as conn:
            conn.execute(
                update(db.bills)
                .where(
                    db.bills.c.id.in_(ids),
                    db.bills.c.status == db.PENDING,
                    db.bills.c.lease_owner == self.owner,
                )
                .values(lease_until=int(time.time() + self.lease_s))
            )

    def _release(self, ids: list[int]) -> None:
        if not ids:
            return
        try:
            with db.transaction(self.engine) as conn:
                conn.execute(
                    update(db.bills)
                    .where(
                        db.bills.c.id.in_(ids),
                        db.bills.c.status == db.PENDING,
                        db.bills.c.lease_owner == self.owner,
                    )
                    .values(lease_until=None, lease_owner=None)
                )
        except Exception:
            log.exception("could not release leases")

    # -- the loop --

    def _done(self, bill_id: int, fut: Future[tasks.Outcome]) -> None:
        with self._lock:
            self._inflight.pop(bill_id, None)
        try:
            out = fut.result()
        except BrokenProcessPool:
            self._broken = True
            log.warning("worker process died; the job will run again", extra={"bill_id": bill_id})
            self._release([bill_id])
        except Exception as exc:
            log.error(
                "verification job failed",
                extra={"bill_id": bill_id, "exc_type": type(exc).__name__},
            )
        else:
            self.completed += 1
            metrics.record_outcome(out.status, out.error_type, out.seconds)
        self._wake.set()

    def _loop(self) -> None:
        last_renew = time.monotonic()
        capacity = 2 * self.workers
        while not self._stop.is_set():
            try:
                if self._broken:
                    self._rebuild()
                with self._lock:
                    free = capacity - len(self._inflight)
                claimed = self._claim(free) if free > 0 else []
                for bill_id in claimed:
                    self._submit(bill_id)
                if time.monotonic() - last_renew > self.lease_s / 3:
                    self._renew()
                    last_renew = time.monotonic()
                if not claimed:
                    self._wake.wait(self.poll_s)
                    self._wake.clear()
            except Exception:
                log.exception("dispatcher error")
                time.sleep(0.5)

    def _submit(self, bill_id: int) -> None:
        assert self._pool is not None
        try:
            fut = self._pool.submit(_run, bill_id)
        except (BrokenProcessPool, RuntimeError):
            self._broken = True
            self._release([bill_id])
            return
        with self._lock:
            self._inflight[bill_id] = fut
        fut.add_done_callback(functools.partial(self._done, bill_id))

    def _rebuild(self) -> None:
        old = self._pool
        self._pool = self._new_pool()
        self._broken = False
        if old is not None:
            old.shutdown(wait=False, cancel_futures=True)
        log.warning("worker pool rebuilt")

    def status(self) -> dict[str, Any]:
        with self._lock:
            inflight = len(self._inflight)
        return {"workers": self.workers, "inflight": inflight, "completed": self.completed}
