"""``privbill meter run``: a meter process that measures, commits, seals and publishes.

Each step takes the readings that are due (real time, or an accelerated clock), commits to them
and seals the runs that end (:class:`~privbill.meter.Meter`), and builds the link messages: one
readings message (commitments, openings HPKE-sealed to the agent) and one run message per sealed
run, numbered ``n, n+1, …``. Then, **before anything is published**, it writes the meter's new
state and the messages in one SQLite transaction (``meter-link.sqlite``, WAL, synchronous FULL).
A meter killed at any point restarts from its last committed state: it re-publishes what has no
broker acknowledgement yet and measures on from the next interval, so its seal chain has neither
a fork (no state advanced without its messages kept) nor a gap (no message lost: the archive
keeps every message and answers the agent's re-send requests).
"""

from __future__ import annotations

import itertools
import os
import queue
import sqlite3
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PublicKey

from privbill.crypto.signatures import SigningKey
from privbill.errors import LinkDecodeError, UsageError
from privbill.household import link
from privbill.household.mqtt import BrokerAddress, Connection
from privbill.household.sources import Source
from privbill.interop.csv_readings import Row
from privbill.meter import Meter, MeterState
from privbill.model.certificates import MeterCertificate

DB_FILE = "meter-link.sqlite"
_SCHEMA = """
CREATE TABLE IF NOT EXISTS state (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    meter_id TEXT NOT NULL,
    certificate BLOB NOT NULL,
    meter_state TEXT NOT NULL,
    next_n INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS archive (
    n INTEGER PRIMARY KEY,
    kind TEXT NOT NULL,
    first INTEGER NOT NULL,
    payload BLOB NOT NULL,
    acked INTEGER NOT NULL DEFAULT 0
);
"""


def open_db(directory: Path) -> sqlite3.Connection:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / DB_FILE
    fresh = not path.exists()
    if fresh:
        fd = os.open(path, os.O_CREAT | os.O_WRONLY, 0o600)
        os.close(fd)
    db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=FULL")
    db.executescript(_SCHEMA)
    return db


@dataclass
class MeterLinkStats:
    measured: int = 0
    messages: int = 0
    republished: int = 0
    resent: int = 0


class MeterLink:
    """The meter process's state and loop (one meter, one agent key)."""

    def __init__(
        self,
        directory: Path,
        certificate: MeterCertificate,
        key: SigningKey,
        agent_key: X25519PublicKey,
        *,
        seal_span: str = "day",
        timezone: str = "UTC",
        opening_key: bytes | None = None,
        prefix: str = link.DEFAULT_PREFIX,
        batch: int = 96,
    ) -> None:
        if not 1 <= batch <= link.MAX_BATCH:
            raise UsageError(f"--batch must be 1..{link.MAX_BATCH}")
        self.directory = directory
        self.cert = certificate
        self.key = key
        self.agent_key = agent_key
        self.prefix = prefix
        self.batch = batch
        self.db = open_db(directory)
        row = self.db.execute(
            "SELECT meter_id, certificate, meter_state, next_n FROM state"
        ).fetchone()
        if row is None:
            state = MeterState()
            self.next_n = 0
            self.db.execute(
                "INSERT INTO state VALUES (1, ?, ?, ?, 0)",
                (certificate.meter_id, certificate.encode(), state.to_json()),
            )
        else:
            if row[0] != certificate.meter_id or row[1] != certificate.encode():
                raise UsageError(
                    f"{directory / DB_FILE} belongs to meter {row[0]} with another certificate; "
                    "run this meter in another directory",
                    obj="meter state",
                )
            state = MeterState.from_json(row[2])
            self.next_n = int(row[3])
            if state.timezone and state.timezone != timezone and seal_span != "reading":
                raise UsageError(
                    f"the meter in {directory} seals in {state.timezone}, not {timezone}",
                    obj="meter state",
                )
        self.meter = Meter(
            certificate,
            key,
            seal_span,  # type: ignore[arg-type]
            timezone,
            opening_key,
            state,
        )
        self.stats = MeterLinkStats()
        self._resends: queue.Queue[link.ResendRequest] = queue.Queue()
        self._pending: list[tuple[int, Any]] = []  # (n, publish info) awaiting PUBACK
        self.conn: Connection | None = None
        self.head_every = 5.0  # seconds between heads while idle

    # --- the link ---------------------------------------------------------------------------

    @property
    def meter_id(self) -> str:
        return self.cert.meter_id

    def connect(self, broker: BrokerAddress) -> None:
        self.conn = Connection(
            broker,
            f"privbill-meter-{self.meter_id}-{os.getpid()}",
            on_message=self._on_message,
            subscriptions=(link.resend_topic(self.prefix, self.meter_id),),
        )

    def _on_message(self, topic: str, payload: bytes, _mid: int, _qos: int) -> None:
        try:
            req = link.ResendRequest.decode(payload)
        except LinkDecodeError as exc:
            print(f"privbill meter: refused a re-send request: {exc}", file=sys.stderr)
            return
        if req.meter_id == self.meter_id:
            self._resends.put(req)

    def close(self) -> None:
        if self.conn is not None:
            self.flush_acks(5.0)
            self.conn.close()
            self.conn = None
        self.db.close()

    # --- steps ------------------------------------------------------------------------------

    def next_index(self, source: Source) -> int:
        nxt = self.meter.state.next_index
        return source.first if nxt is None else nxt

    def build(self, rows: list[Row]) -> list[tuple[int, str, int, bytes]]:
        """Commit to and seal ``rows`` and make their messages ``(n, kind, first, payload)``;
        the meter's state advances in memory only."""
        out: list[tuple[int, str, int, bytes]] = []
        n = self.next_n
        for outage, group_rows in itertools.groupby(rows, key=lambda r: r.outage):
            items = list(group_rows)
            rec = self.meter.record([(r.index, r.value) for r in items], close=False, outage=outage)
            commitments = b"".join(self.meter_commitments(rec, items[0].index, len(items)))
            payload = link.ReadingsMessage.make(
                self.key,
                self.agent_key,
                meter_id=self.meter_id,
                n=n,
                first=items[0].index,
                interval_s=self.cert.interval_s,
                commitments=commitments,
                openings=rec.openings.encode(),
            )
            out.append((n, "readings", items[0].index, payload))
            n += 1
            for run in rec.runs:
                out.append(
                    (
                        n,
                        "run",
                        run.seal.first,
                        link.RunMessage.make(self.key, meter_id=self.meter_id, n=n, run=run),
                    )
                )
                n += 1
        return out

    def meter_commitments(self, rec: Any, first: int, count: int) -> list[bytes]:
        """The commitments of ``count`` intervals from ``first`` just recorded: from the sealed
        runs and the still open run."""
        by_index: dict[int, bytes] = {}
        for run in rec.runs:
            s = run.seal
            for k in range(s.count):
                by_index[s.first + k] = run.commitments[k * 48 : (k + 1) * 48]
        pf = self.meter.state.pending_first
        if pf is not None:
            pend = self.meter.state.pending
            for k in range(len(pend) // 48):
                by_index[pf + k] = pend[k * 48 : (k + 1) * 48]
        return [by_index[i] for i in range(first, first + count)]

    def commit(self, messages: list[tuple[int, str, int, bytes]]) -> None:
        """Persist the meter's state with its messages, atomically, before publishing."""
        self.db.execute("BEGIN IMMEDIATE")
        try:
            self.db.executemany(
                "INSERT INTO archive (n, kind, first, payload) VALUES (?, ?, ?, ?)", messages
            )
            next_n = messages[-1][0] + 1 if messages else self.next_n
            self.db.execute(
                "UPDATE state SET meter_state = ?, next_n = ? WHERE id = 1",
                (self.meter.state.to_json(), next_n),
            )
            self.db.execute("COMMIT")
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        self.next_n = next_n

    def publish(self, messages: list[tuple[int, str, int, bytes]]) -> None:
        assert self.conn is not None
        topic = link.link_topic(self.prefix, self.meter_id)
        for n, _kind, _first, payload in messages:
            self._pending.append((n, self.conn.publish(topic, payload)))
            self.stats.messages += 1

    def publish_head(self) -> None:
        assert self.conn is not None
        payload = link.Head.make(
            self.key, meter_id=self.meter_id, last=self.next_n - 1, at=int(time.time())
        )
        self.conn.publish(link.head_topic(self.prefix, self.meter_id), payload, retain=True)

    def flush_acks(self, wait: float = 0.0) -> int:
        """Mark acknowledged messages; with ``wait``, wait up to that long for all of them."""
        deadline = time.monotonic() + wait
        while True:
            done = [n for n, info in self._pending if info.is_published()]
            if done:
                self.db.executemany(
                    "UPDATE archive SET acked = 1 WHERE n = ?", [(n,) for n in done]
                )
                keep = set(done)
                self._pending = [(n, i) for n, i in self._pending if n not in keep]
            if not self._pending or time.monotonic() >= deadline:
                return len(self._pending)
            time.sleep(0.02)

    def republish_unacked(self) -> None:
        """After a restart: publish again what the broker never acknowledged."""
        rows = self.db.execute(
            "SELECT n, kind, first, payload FROM archive WHERE acked = 0 ORDER BY n"
        ).fetchall()
        self.publish([(r[0], r[1], r[2], r[3]) for r in rows])
        self.stats.republished += len(rows)

    def serve_resends(self) -> None:
        assert self.conn is not None
        topic = link.link_topic(self.prefix, self.meter_id)
        while True:
            try:
                req = self._resends.get_nowait()
            except queue.Empty:
                return
            rows = self.db.execute(
                "SELECT payload FROM archive WHERE n >= ? AND n < ? ORDER BY n",
                (req.start, min(req.end, req.start + link.MAX_RESEND)),
            ).fetchall()
            for (payload,) in rows:
                self.conn.publish(topic, payload)
            self.stats.resent += len(rows)

    # --- the loop ---------------------------------------------------------------------------

    def due_rows(self, rows: Iterator[Row], clock: Clock) -> Iterator[list[Row]]:
        """Batches of readings as they fall due on ``clock``."""
        held: Row | None = None
        while True:
            batch: list[Row] = []
            while len(batch) < self.batch:
                r = held if held is not None else next(rows, None)
                held = None
                if r is None:
                    break
                due = clock.due((r.index + 1) * self.cert.interval_s)
                if due > time.time():
                    held = r
                    break
                batch.append(r)
            if batch:
                yield batch
                continue
            if held is None:
                return
            yield []  # nothing due yet: the caller serves re-sends and waits

    def run(
        self,
        source: Source,
        clock: Clock,
        *,
        stop: threading.Event,
        linger: bool = True,
        on_step: Any = None,
    ) -> MeterLinkStats:
        assert self.conn is not None
        self.republish_unacked()
        self.publish_head()
        start = self.next_index(source)
        rows = source.rows_from(start)
        clock.anchor(start * self.cert.interval_s)
        last_head = [time.monotonic()]

        def head(every: float) -> None:
            # The head is retained, but a subscriber whose queue at the broker overflowed may have
            # missed it: published again now and then, it tells the agent how far the stream goes.
            if time.monotonic() - last_head[0] > every:
                self.publish_head()
                last_head[0] = time.monotonic()

        for batch in self.due_rows(rows, clock):
            if stop.is_set():
                break
            self.serve_resends()
            if not batch:
                self.flush_acks()
                head(self.head_every)
                stop.wait(min(1.0, max(0.01, clock.wait_hint())))
                continue
            messages = self.build(batch)
            self.commit(messages)
            self.publish(messages)
            self.stats.measured += len(batch)
            if len(self._pending) > 2000:
                self.flush_acks(30.0)
            else:
                self.flush_acks()
            head(0.5)
            if on_step is not None:
                on_step(self, batch)
        self.flush_acks(30.0)
        self.publish_head()
        while linger and not stop.is_set():
            self.serve_resends()
            self.flush_acks()
            head(self.head_every)
            stop.wait(0.05)
        return self.stats


@dataclass
class Clock:
    """When a reading is due: ``speed`` simulated seconds per second; ``speed == 1`` is the
    wall clock itself (readings of the past are published at once); ``speed == 0`` is as fast
    as possible."""

    speed: float = 0.0
    _sim: float = 0.0
    _wall: float = 0.0

    def anchor(self, sim_start: int) -> None:
        self._sim = float(sim_start)
        self._wall = time.time()

    def due(self, sim_t: int) -> float:
        if self.speed == 0:
            return 0.0
        if self.speed == 1:
            return float(sim_t)
        return self._wall + (sim_t - self._sim) / self.speed

    def wait_hint(self) -> float:
        return 0.05 if self.speed != 1 else 1.0
