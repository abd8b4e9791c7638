"""One household's local store: SQLite, file mode 0600, and the only place openings are kept.

What it holds (tables): ``meta`` (account, provider service, keys of the household, consent
policy), ``meters`` (certificate, opening key if any, and how far each meter's link and chain
have been checked), ``readings`` (per interval: Wh, blinding factor unless key-derived, the
commitment), ``runs`` (sealed runs as the meter signed them), ``messages`` (a digest per accepted
link message, to tell a duplicate from a replay), ``tariffs``, ``bills`` (each period's payment
message, persisted before it is submitted, and its state), ``receipts``, ``disclosures``
(requests, decisions, answers) and the disclosure ``ledger``.

The class :class:`HouseholdStore` is the Python API other programs (the command line, a local
web page) read through: :meth:`bills`, :meth:`bill`, :meth:`explain`, :meth:`readings_view`,
:meth:`disclosures`, :meth:`status`. Writes go through the agent.
"""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from privbill.crypto import group
from privbill.disclosure.ledger import DisclosureLedger
from privbill.errors import StoreError
from privbill.model.certificates import MeterCertificate
from privbill.model.periods import BillingPeriod
from privbill.model.readings import Openings
from privbill.model.receipts import Receipt
from privbill.model.sealed import SealedReadings
from privbill.model.seals import GENESIS, SealedRun
from privbill.model.tariffs import SignedTariff

SCHEMA_VERSION = 1
_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value BLOB);
CREATE TABLE IF NOT EXISTS meters (
    meter_id TEXT PRIMARY KEY,
    certificate BLOB NOT NULL,
    opening_key BLOB,
    next_n INTEGER NOT NULL DEFAULT 0,
    first_index INTEGER,
    next_index INTEGER,
    next_seq INTEGER NOT NULL DEFAULT 0,
    prev BLOB NOT NULL,
    sealed_end INTEGER,
    head INTEGER NOT NULL DEFAULT -1
);
CREATE TABLE IF NOT EXISTS readings (
    meter_id TEXT NOT NULL,
    idx INTEGER NOT NULL,
    value INTEGER NOT NULL,
    blinding BLOB,
    commitment BLOB NOT NULL,
    PRIMARY KEY (meter_id, idx)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS runs (
    meter_id TEXT NOT NULL,
    seq INTEGER NOT NULL,
    first INTEGER NOT NULL,
    count INTEGER NOT NULL,
    run BLOB NOT NULL,
    chain_hash BLOB NOT NULL,
    PRIMARY KEY (meter_id, seq)
);
CREATE TABLE IF NOT EXISTS messages (
    meter_id TEXT NOT NULL,
    n INTEGER NOT NULL,
    digest BLOB NOT NULL,
    PRIMARY KEY (meter_id, n)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS tariffs (
    tariff_hash TEXT PRIMARY KEY,
    tariff BLOB NOT NULL,
    fetched_at INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS bills (
    period_start INTEGER NOT NULL,
    period_end INTEGER NOT NULL,
    label TEXT NOT NULL,
    tariff_hash TEXT NOT NULL,
    message BLOB NOT NULL,
    bill_hash TEXT NOT NULL UNIQUE,
    total_fee INTEGER NOT NULL,
    currency TEXT NOT NULL,
    amount TEXT NOT NULL,
    status TEXT NOT NULL,
    token TEXT,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt REAL NOT NULL DEFAULT 0,
    error TEXT,
    created_at INTEGER NOT NULL,
    submitted_at INTEGER,
    PRIMARY KEY (period_start, period_end)
);
CREATE TABLE IF NOT EXISTS receipts (
    bill_hash TEXT PRIMARY KEY,
    receipt BLOB NOT NULL,
    received_at INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS disclosures (
    request_id TEXT PRIMARY KEY,
    request BLOB NOT NULL,
    requester TEXT NOT NULL,
    purpose TEXT NOT NULL,
    description TEXT NOT NULL,
    status TEXT NOT NULL,
    statements TEXT,
    reason TEXT,
    response BLOB,
    received_at INTEGER NOT NULL,
    decided_at INTEGER,
    answered_at INTEGER
);
CREATE TABLE IF NOT EXISTS ledger (id INTEGER PRIMARY KEY CHECK (id = 1), ledger BLOB NOT NULL);
"""

BILL_STATES = ("proved", "submitted", "pending", "valid", "invalid", "failed")


@dataclass
class MeterRow:
    meter_id: str
    certificate: MeterCertificate
    opening_key: bytes | None
    next_n: int
    first_index: int | None
    next_index: int | None
    next_seq: int
    prev: bytes
    sealed_end: int | None
    head: int

    def __repr__(self) -> str:  # the opening key is a secret
        return f"MeterRow({self.meter_id}, next_n={self.next_n}, sealed_end={self.sealed_end})"


@dataclass(frozen=True)
class BillRow:
    period: BillingPeriod
    label: str
    tariff_hash: str
    message: bytes
    bill_hash: str
    total_fee: int
    currency: str
    amount: str
    status: str
    token: str | None
    attempts: int
    next_attempt: float
    error: str | None
    created_at: int
    submitted_at: int | None
    receipt: bytes | None = None

    def view(self) -> dict[str, Any]:
        return {
            "period": self.label,
            "period_start": self.period.start,
            "period_end": self.period.end,
            "bill_hash": self.bill_hash,
            "tariff_hash": self.tariff_hash,
            "total_fee": self.total_fee,
            "amount": self.amount,
            "currency": self.currency,
            "status": self.status,
            "attempts": self.attempts,
            "error": self.error,
            "receipt": self.receipt is not None,
            "created_at": self.created_at,
            "submitted_at": self.submitted_at,
            "bytes": len(self.message),
        }


def _create_private(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
    os.close(fd)


class HouseholdStore:
    """A household's store (see the module's description)."""

    def __init__(self, path: Path, db: sqlite3.Connection) -> None:
        self.path = path
        self.db = db
        self._meters: dict[str, MeterRow] = {}

    # --- opening and creating -----------------------------------------------------------------

    @classmethod
    def _connect(cls, path: Path) -> sqlite3.Connection:
        db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=FULL")
        db.execute("PRAGMA foreign_keys=ON")
        return db

    @classmethod
    def create(cls, path: Path, account: str, meta: dict[str, Any]) -> HouseholdStore:
        if path.exists():
            raise StoreError(f"{path} exists: a household store is never replaced", obj="store")
        old = os.umask(0o077)
        try:
            _create_private(path)
            db = cls._connect(path)
            db.executescript(_SCHEMA)
        finally:
            os.umask(old)
        s = cls(path, db)
        with s.transaction():
            s._set_meta("schema", str(SCHEMA_VERSION))
            s._set_meta("account", account)
            s._set_meta("created_at", str(int(time.time())))
            for k, v in meta.items():
                s._set_meta(k, v)
            s.db.execute("INSERT INTO ledger VALUES (1, ?)", (DisclosureLedger().encode(),))
        return s

    @classmethod
    def open_readonly(cls, path: Path) -> HouseholdStore:
        """The store for reading only (a local page beside the running agent): every view works,
        every write fails."""
        store = cls.open(path)
        store.db.close()
        store.db = sqlite3.connect(
            f"file:{path}?mode=ro", uri=True, isolation_level=None, check_same_thread=False
        )
        return store

    @classmethod
    def open(cls, path: Path) -> HouseholdStore:
        if not path.is_file():
            raise StoreError(f"{path}: no household store", obj="store")
        mode = path.stat().st_mode & 0o777
        if mode & 0o077:
            raise StoreError(
                f"{path} is readable by others (mode {mode:o}); it holds openings: chmod 600 it",
                obj="store",
            )
        old = os.umask(0o077)
        try:
            db = cls._connect(path)
        finally:
            os.umask(old)
        try:
            row = db.execute("SELECT value FROM meta WHERE key = 'schema'").fetchone()
        except sqlite3.DatabaseError as exc:
            db.close()
            raise StoreError(f"{path} is not a household store: {exc}", obj="store") from None
        if row is None or str(row[0]) != str(SCHEMA_VERSION):
            db.close()
            raise StoreError(f"{path} is not a household store of this version", obj="store")
        return cls(path, db)

    def close(self) -> None:
        self.db.close()

    @contextlib.contextmanager
    def transaction(self, *, durable: bool = True) -> Iterator[None]:
        """One transaction. ``durable=False`` (link messages) commits without waiting for the disk
        (WAL, ``synchronous=NORMAL``): it survives the agent being killed, and what a power cut
        loses the meter re-sends, since nothing depends on it; bills, receipts, decisions and the
        ledger are written durably (``FULL``), which also syncs everything before them."""
        if not durable:
            self.db.execute("PRAGMA synchronous=NORMAL")
        self.db.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            self.db.execute("ROLLBACK")
            self._meters.clear()
            raise
        finally:
            if not durable and not self.db.in_transaction:
                self.db.execute("PRAGMA synchronous=FULL")
        self.db.execute("COMMIT")
        if not durable:
            self.db.execute("PRAGMA synchronous=FULL")

    # --- meta -------------------------------------------------------------------------------------

    def _set_meta(self, key: str, value: Any) -> None:
        self.db.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (key, value))

    def set_meta(self, key: str, value: Any) -> None:
        with self.transaction():
            self._set_meta(key, value)

    def meta(self, key: str, default: Any = None) -> Any:
        row = self.db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return default if row is None else row[0]

    @property
    def account(self) -> str:
        return str(self.meta("account"))

    # --- meters -----------------------------------------------------------------------------------

    def add_meter(self, cert: MeterCertificate, opening_key: bytes | None) -> None:
        if cert.account != self.account:
            raise StoreError(
                f"meter {cert.meter_id} is certified for account {cert.account}, not {self.account}",
                obj="meter certificate",
                field="account",
            )
        with self.transaction():
            self.db.execute(
                "INSERT INTO meters (meter_id, certificate, opening_key, prev) VALUES (?, ?, ?, ?)",
                (cert.meter_id, cert.encode(), opening_key, GENESIS),
            )

    def meter_ids(self) -> list[str]:
        return [r[0] for r in self.db.execute("SELECT meter_id FROM meters ORDER BY meter_id")]

    def meter(self, meter_id: str) -> MeterRow | None:
        if meter_id in self._meters:
            return self._meters[meter_id]
        r = self.db.execute(
            "SELECT meter_id, certificate, opening_key, next_n, first_index, next_index, next_seq, "
            "prev, sealed_end, head FROM meters WHERE meter_id = ?",
            (meter_id,),
        ).fetchone()
        if r is None:
            return None
        row = MeterRow(r[0], MeterCertificate.decode(r[1]), r[2], *r[3:])
        self._meters[meter_id] = row
        return row

    def save_meter(self, m: MeterRow) -> None:
        self.db.execute(
            "UPDATE meters SET next_n = ?, first_index = ?, next_index = ?, next_seq = ?, prev = ?, "
            "sealed_end = ?, head = ? WHERE meter_id = ?",
            (m.next_n, m.first_index, m.next_index, m.next_seq, m.prev, m.sealed_end, m.head,
             m.meter_id),
        )  # fmt: skip

    # --- link messages ------------------------------------------------------------------------------

    def message_digest(self, meter_id: str, n: int) -> bytes | None:
        r = self.db.execute(
            "SELECT digest FROM messages WHERE meter_id = ? AND n = ?", (meter_id, n)
        ).fetchone()
        return None if r is None else bytes(r[0])

    def add_readings(
        self,
        meter_id: str,
        n: int,
        digest: bytes,
        first: int,
        values: Sequence[int],
        blindings: Sequence[int] | None,
        commitments: bytes,
    ) -> None:
        pb = group.POINT_BYTES
        enc = group.encode_scalar
        rows = [
            (
                meter_id,
                first + k,
                v,
                None if blindings is None else enc(blindings[k]),
                commitments[k * pb : (k + 1) * pb],
            )
            for k, v in enumerate(values)
        ]
        self.db.executemany("INSERT INTO readings VALUES (?, ?, ?, ?, ?)", rows)
        self.db.execute("INSERT INTO messages VALUES (?, ?, ?)", (meter_id, n, digest))

    def add_run(self, meter_id: str, n: int, digest: bytes, run: SealedRun) -> None:
        s = run.seal
        self.db.execute(
            "INSERT INTO runs VALUES (?, ?, ?, ?, ?, ?)",
            (meter_id, s.seq, s.first, s.count, _encode_run(run), s.chain_hash()),
        )
        self.db.execute("INSERT INTO messages VALUES (?, ?, ?)", (meter_id, n, digest))

    def commitments(self, meter_id: str, first: int, end: int) -> bytes:
        rows = self.db.execute(
            "SELECT commitment FROM readings WHERE meter_id = ? AND idx >= ? AND idx < ? ORDER BY idx",
            (meter_id, first, end),
        ).fetchall()
        return b"".join(bytes(r[0]) for r in rows)

    def values(self, meter_id: str, first: int, end: int) -> list[int]:
        return [
            r[0]
            for r in self.db.execute(
                "SELECT value FROM readings WHERE meter_id = ? AND idx >= ? AND idx < ? ORDER BY idx",
                (meter_id, first, end),
            )
        ]

    # --- what bills and disclosures need --------------------------------------------------------------

    def runs(
        self, meter_id: str, first: int | None = None, end: int | None = None
    ) -> list[SealedRun]:
        q = "SELECT run FROM runs WHERE meter_id = ?"
        args: list[Any] = [meter_id]
        if first is not None and end is not None:
            q += " AND first < ? AND first + count > ?"
            args += [end, first]
        return [_decode_run(bytes(r[0])) for r in self.db.execute(q + " ORDER BY seq", args)]

    def sealed(
        self, meter_id: str, first: int | None = None, end: int | None = None
    ) -> SealedReadings:
        m = self.meter(meter_id)
        if m is None:
            raise StoreError(f"no meter {meter_id} in this store", obj="store")
        return SealedReadings(m.certificate, tuple(self.runs(meter_id, first, end)))

    def openings(self, meter_id: str, first: int, end: int) -> Openings:
        m = self.meter(meter_id)
        if m is None:
            raise StoreError(f"no meter {meter_id} in this store", obj="store")
        rows = self.db.execute(
            "SELECT idx, value, blinding FROM readings WHERE meter_id = ? AND idx >= ? AND idx < ? "
            "ORDER BY idx",
            (meter_id, first, end),
        ).fetchall()
        if len(rows) != end - first:
            raise StoreError(
                f"the store holds {len(rows)} of the {end - first} readings of meter {meter_id} "
                "in this range",
                obj="store",
            )
        derived = rows[0][2] is None if rows else True
        blindings = None if derived else [group.decode_scalar(bytes(r[2])) for r in rows]
        return Openings(meter_id, m.certificate.interval_s, first, [r[1] for r in rows], blindings)

    # --- tariffs ----------------------------------------------------------------------------------------

    def add_tariff(self, tariff: SignedTariff) -> None:
        self.db.execute(
            "INSERT OR IGNORE INTO tariffs VALUES (?, ?, ?)",
            (tariff.hash().hex(), tariff.encode(), int(time.time())),
        )

    def tariffs(self) -> list[SignedTariff]:
        return [
            SignedTariff.decode(bytes(r[0])) for r in self.db.execute("SELECT tariff FROM tariffs")
        ]

    def tariff(self, tariff_hash: str) -> SignedTariff | None:
        r = self.db.execute(
            "SELECT tariff FROM tariffs WHERE tariff_hash = ?", (tariff_hash,)
        ).fetchone()
        return None if r is None else SignedTariff.decode(bytes(r[0]))

    # --- bills ------------------------------------------------------------------------------------------

    _BILL_COLS = (
        "b.period_start, b.period_end, b.label, b.tariff_hash, b.message, b.bill_hash, b.total_fee, "
        "b.currency, b.amount, b.status, b.token, b.attempts, b.next_attempt, b.error, b.created_at, "
        "b.submitted_at, r.receipt"
    )

    def _bill_rows(self, where: str = "", args: Sequence[Any] = ()) -> list[BillRow]:
        rows = self.db.execute(
            f"SELECT {self._BILL_COLS} FROM bills b LEFT JOIN receipts r ON r.bill_hash = b.bill_hash "
            f"{where} ORDER BY b.period_start",
            args,
        ).fetchall()
        return [
            BillRow(
                period=BillingPeriod(r[0], r[1]),
                label=r[2],
                tariff_hash=r[3],
                message=bytes(r[4]),
                bill_hash=r[5],
                total_fee=r[6],
                currency=r[7],
                amount=r[8],
                status=r[9],
                token=r[10],
                attempts=r[11],
                next_attempt=r[12],
                error=r[13],
                created_at=r[14],
                submitted_at=r[15],
                receipt=None if r[16] is None else bytes(r[16]),
            )
            for r in rows
        ]

    def bills(self) -> list[BillRow]:
        return self._bill_rows()

    def bill(self, period: BillingPeriod | str) -> BillRow | None:
        if isinstance(period, str):
            rows = self._bill_rows("WHERE b.label = ?", (period,))
        else:
            rows = self._bill_rows(
                "WHERE b.period_start = ? AND b.period_end = ?", (period.start, period.end)
            )
        return rows[0] if rows else None

    def add_bill(
        self,
        period: BillingPeriod,
        label: str,
        tariff_hash: str,
        message: bytes,
        bill_hash: str,
        total_fee: int,
        currency: str,
        amount: str,
    ) -> None:
        """Persist a proved bill. A period has at most one bill, ever: a second one is refused by
        the table's key, so a crash between proving and submitting never leads to a different
        bill for the same period."""
        self.db.execute(
            "INSERT INTO bills (period_start, period_end, label, tariff_hash, message, bill_hash, "
            "total_fee, currency, amount, status, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, "
            "'proved', ?)",
            (period.start, period.end, label, tariff_hash, message, bill_hash, total_fee, currency,
             amount, int(time.time())),
        )  # fmt: skip

    def update_bill(self, bill_hash: str, **fields: Any) -> None:
        allowed = {"status", "token", "attempts", "next_attempt", "error", "submitted_at"}
        if not fields or set(fields) - allowed:
            raise StoreError(
                f"cannot update bill fields {sorted(set(fields) - allowed)}", obj="store"
            )
        cols = ", ".join(f"{k} = ?" for k in fields)
        self.db.execute(
            f"UPDATE bills SET {cols} WHERE bill_hash = ?", (*fields.values(), bill_hash)
        )

    def add_receipt(self, bill_hash: str, receipt: Receipt) -> None:
        self.db.execute(
            "INSERT OR IGNORE INTO receipts VALUES (?, ?, ?)",
            (bill_hash, receipt.encode(), int(time.time())),
        )

    def receipt(self, bill_hash: str) -> Receipt | None:
        r = self.db.execute(
            "SELECT receipt FROM receipts WHERE bill_hash = ?", (bill_hash,)
        ).fetchone()
        return None if r is None else Receipt.decode(bytes(r[0]))

    # --- disclosures ---------------------------------------------------------------------------------

    def disclosure(self, request_id: str) -> dict[str, Any] | None:
        rows = self.disclosures(request_id=request_id)
        return rows[0] if rows else None

    def disclosures(
        self, status: str | None = None, request_id: str | None = None
    ) -> list[dict[str, Any]]:
        q = (
            "SELECT request_id, requester, purpose, description, status, statements, reason, "
            "received_at, decided_at, answered_at, request FROM disclosures"
        )
        args: list[Any] = []
        if status is not None:
            q += " WHERE status = ?"
            args.append(status)
        elif request_id is not None:
            q += " WHERE request_id = ?"
            args.append(request_id)
        out = []
        for r in self.db.execute(q + " ORDER BY received_at, request_id", args):
            out.append(
                {
                    "request_id": r[0],
                    "requester": r[1],
                    "purpose": r[2],
                    "description": r[3],
                    "status": r[4],
                    "statements": json.loads(r[5]) if r[5] else None,
                    "reason": r[6],
                    "received_at": r[7],
                    "decided_at": r[8],
                    "answered_at": r[9],
                    "request": bytes(r[10]),
                }
            )
        return out

    def add_disclosure(
        self, request_id: str, request: bytes, requester: str, purpose: str, description: str
    ) -> bool:
        cur = self.db.execute(
            "INSERT OR IGNORE INTO disclosures (request_id, request, requester, purpose, "
            "description, status, received_at) VALUES (?, ?, ?, ?, ?, 'new', ?)",
            (request_id, request, requester, purpose, description, int(time.time())),
        )
        return cur.rowcount == 1

    def decide(
        self, request_id: str, status: str, statements: Sequence[int] | None, reason: str | None
    ) -> None:
        """Record a decision: ``allowed`` (to be answered), ``waiting`` (for the person),
        ``declined``, ``refused`` (the ledger's policy), ``answered``, ``failed``."""
        self.db.execute(
            "UPDATE disclosures SET status = ?, statements = ?, reason = ?, decided_at = ? "
            "WHERE request_id = ?",
            (status, None if statements is None else json.dumps(list(statements)), reason,
             int(time.time()), request_id),
        )  # fmt: skip

    def answered(self, request_id: str, response: bytes) -> None:
        self.db.execute(
            "UPDATE disclosures SET status = 'answered', response = ?, answered_at = ? "
            "WHERE request_id = ?",
            (response, int(time.time()), request_id),
        )

    def ledger(self) -> DisclosureLedger:
        r = self.db.execute("SELECT ledger FROM ledger WHERE id = 1").fetchone()
        return DisclosureLedger.decode(bytes(r[0]))

    def save_ledger(self, ledger: DisclosureLedger) -> None:
        self.db.execute("UPDATE ledger SET ledger = ? WHERE id = 1", (ledger.encode(),))

    # --- views (the command line and a local page read these) -------------------------------------------

    def readings_view(self, meter_id: str, first: int, end: int) -> list[tuple[int, int]]:
        """``(interval index, Wh)`` of the stored readings in ``[first, end)``."""
        return [
            (r[0], r[1])
            for r in self.db.execute(
                "SELECT idx, value FROM readings WHERE meter_id = ? AND idx >= ? AND idx < ? ORDER BY idx",
                (meter_id, first, end),
            )
        ]

    def explain(self, period: BillingPeriod | str) -> Any:
        """The customer's view of a stored bill (:class:`privbill.cli.explain.Explanation`): energy
        and cost per tariff period, components, fixed charges — from the local readings."""
        from privbill.billing.cleartext import MeterReadings
        from privbill.cli.explain import explain

        b = self.bill(period)
        if b is None:
            raise StoreError(f"no bill for {period}", obj="store")
        tariff = self.tariff(b.tariff_hash)
        if tariff is None:
            raise StoreError(
                f"the tariff {b.tariff_hash[:16]}… of the bill is not stored", obj="store"
            )
        meters = []
        ids = []
        for mid in self.meter_ids():
            m = self.meter(mid)
            assert m is not None
            first, count = b.period.intervals(m.certificate.interval_s)
            meters.append(
                MeterReadings(
                    m.certificate.interval_s, first, self.values(mid, first, first + count)
                )
            )
            ids.append(mid)
        return explain(tariff.body, meters, b.period, ids)

    def status(self) -> dict[str, Any]:
        meters = []
        for mid in self.meter_ids():
            m = self.meter(mid)
            assert m is not None
            n_readings = self.db.execute(
                "SELECT COUNT(*) FROM readings WHERE meter_id = ?", (mid,)
            ).fetchone()[0]
            n_runs = self.db.execute(
                "SELECT COUNT(*) FROM runs WHERE meter_id = ?", (mid,)
            ).fetchone()[0]
            meters.append(
                {
                    "meter_id": mid,
                    "interval_s": m.certificate.interval_s,
                    "readings": n_readings,
                    "runs": n_runs,
                    "next_n": m.next_n,
                    "head": m.head,
                    "first_index": m.first_index,
                    "next_index": m.next_index,
                    "sealed_end": m.sealed_end,
                    "missing_messages": max(0, m.head + 1 - m.next_n),
                }
            )
        bills = self.bills()
        return {
            "account": self.account,
            "store": str(self.path),
            "meters": meters,
            "bills": len(bills),
            "bills_by_status": {
                s: sum(1 for b in bills if b.status == s)
                for s in BILL_STATES
                if any(b.status == s for b in bills)
            },
            "disclosures_waiting": len(self.disclosures("waiting")),
        }


def _encode_run(run: SealedRun) -> bytes:
    from privbill.model import codec

    return codec.encode(run.to_obj())


def _decode_run(data: bytes) -> SealedRun:
    from privbill.model import codec

    return SealedRun.from_obj(codec.decode(data, "sealed run"))
