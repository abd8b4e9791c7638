"""``privbill agent run``: the home agent — or a delegate serving many households.

The loop: take the messages MQTT delivered (acknowledged to the broker only after they are in
the store), check and keep them (:mod:`~privbill.household.ingest`), ask meters to re-send what
is missing, and per household: bill each billing period once its meters' seals cover it, submit
and fetch the receipt with back-off, and answer disclosure requests its consent policy allows.

*One bill per period, ever.* A period's payment message is persisted (with the figures it
discloses recorded in the ledger) before it is submitted; afterwards only those bytes are sent
again — the service treats a re-submission as the same bill — and the store's key on the period
refuses a second bill.
"""

from __future__ import annotations

import contextlib
import json
import queue
import random
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import httpx
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

from privbill.billing.prover import MeterInput, prove_bill
from privbill.crypto.signatures import KeyError_, SigningKey, VerifyingKey
from privbill.disclosure import (
    Consent,
    DisclosurePolicyError,
    DisclosureRequest,
    answer,
    describe,
    record_bill,
)
from privbill.errors import AgentError, PrivbillError, UsageError, VerificationError
from privbill.household import link
from privbill.household.home import AgentHome
from privbill.household.ingest import Ingestor
from privbill.household.mqtt import BrokerAddress, Connection
from privbill.household.policy import ConsentPolicy
from privbill.household.store import BillRow, HouseholdStore
from privbill.model import money
from privbill.model.bills import PaymentMessage
from privbill.model.periods import BillingPeriod
from privbill.model.receipts import Receipt
from privbill.model.tariffs import SignedTariff

MAX_BACKOFF_S = 300.0
# Messages asked for per re-send request: below the broker's per-client queue (Mosquitto keeps
# 1000 by default and drops beyond), so a re-sent chunk arrives whole.
RESEND_CHUNK = 500
LOG: list[Any] = [None]  # where log lines go: standard error unless set


def log(event: str, **fields: Any) -> None:
    """One JSON line on standard error (never a reading, opening or key)."""
    line = json.dumps({"ts": round(time.time(), 3), "event": event, **fields})
    print(line, file=LOG[0] or sys.stderr, flush=True)


def backoff(attempts: int) -> float:
    """Seconds before retry ``attempts`` (1, 2, …): exponential from 1 s, capped, with jitter."""
    base = min(MAX_BACKOFF_S, 2.0 ** max(0, attempts - 1))
    return base * (0.5 + random.random() / 2)


@dataclass
class Household:
    """One household served by the agent: its store and what the agent derived from it."""

    store: HouseholdStore
    ingestor: Ingestor
    provider_url: str | None
    provider_key: VerifyingKey | None
    customer_key: SigningKey | None
    tariff_choice: str | None
    policy: ConsentPolicy
    bill_wait_until: float = 0.0
    bill_attempts: int = 0
    disclosure_wait_until: float = 0.0
    events: list[dict[str, Any]] = field(default_factory=list)

    @property
    def account(self) -> str:
        return self.store.account

    @classmethod
    def load(cls, store: HouseholdStore, key: X25519PrivateKey) -> Household:
        pem = store.meta("provider_key")
        cust = store.meta("customer_key")
        try:
            provider_key = VerifyingKey.from_pem(bytes(pem)) if pem else None
            customer_key = SigningKey.from_pem(bytes(cust)) if cust else None
        except KeyError_ as exc:
            raise AgentError(f"the store's keys are damaged: {exc}", obj="store") from None
        policy_text = store.meta("policy")
        policy = ConsentPolicy.parse(str(policy_text)) if policy_text else ConsentPolicy()
        return cls(
            store,
            Ingestor(store, key),
            store.meta("provider_url"),
            provider_key,
            customer_key,
            store.meta("tariff"),
            policy,
        )

    # --- the provider service -----------------------------------------------------------------

    def client(self, **kw: Any) -> Any:
        from privbill.service.client import Client

        if not self.provider_url:
            raise AgentError("the household has no provider service configured", obj="store")
        return Client(self.provider_url, timeout=30.0, **kw)

    def tariff_for(self, at: int) -> SignedTariff:
        """The signed tariff that applies at Unix time ``at``: from the store, else fetched from
        the provider service and checked against the provider's key."""
        choice = self.tariff_choice
        for t in self.store.tariffs():
            b = t.body
            if b.valid_from <= at < b.valid_until and (
                choice is None or choice in (b.name, t.hash().hex())
            ):
                return t
        with self.client() as c:
            listed = c.json("GET", f"/v1/tariffs?valid_at={at}")
            if choice is not None:
                listed = [t for t in listed if choice in (t["name"], t["tariff_hash"])]
            if len(listed) != 1:
                when = datetime.fromtimestamp(at).isoformat()
                raise AgentError(
                    f"{len(listed)} published tariffs apply at {when}: choose one with "
                    "`privbill agent init … --tariff NAME`"
                    if listed
                    else f"no published tariff applies at {when}",
                    obj="tariff",
                )
            data = c.cbor(f"/v1/tariffs/{listed[0]['tariff_hash']}?format=cbor")
        tariff = SignedTariff.decode(data)
        if self.provider_key is None:
            raise AgentError("the household has no provider key to check tariffs with", obj="store")
        tariff.verify(self.provider_key)
        with self.store.transaction():
            self.store.add_tariff(tariff)
        log("tariff", account=self.account, tariff=tariff.hash().hex()[:16], name=tariff.body.name)
        return tariff

    # --- billing ---------------------------------------------------------------------------------

    def covered_until(self) -> tuple[int, int] | None:
        """``(first second, end second)`` sealed for every meter, or ``None``."""
        spans = []
        for mid in self.store.meter_ids():
            m = self.store.meter(mid)
            assert m is not None
            if m.first_index is None or m.sealed_end is None or m.sealed_end <= m.first_index:
                return None
            step = m.certificate.interval_s
            spans.append((m.first_index * step, m.sealed_end * step))
        if not spans:
            return None
        return max(a for a, _ in spans), min(b for _, b in spans)

    def next_period(self) -> tuple[BillingPeriod, SignedTariff] | None:
        """The next period to bill: after the last billed one (or the first full one), ending
        where every meter's seals reach."""
        span = self.covered_until()
        if span is None:
            return None
        start, end = span
        bills = self.store.bills()
        t = bills[-1].period.end if bills else start
        tariff = self.tariff_for(t)
        body = tariff.body
        period = body.cycle.period_of(datetime.fromtimestamp(t, body.tz).date(), body.tz)
        if period.start < t:  # readings start inside a cycle: the first full cycle is next
            period = body.cycle.period_of(
                datetime.fromtimestamp(period.end, body.tz).date(), body.tz
            )
        if period.end > end:
            return None
        if period.end > body.valid_until:
            tariff = self.tariff_for(period.start)
        return period, tariff

    def prove_next(self) -> BillRow | None:
        """Prove and persist the next due bill (with its figures in the ledger), if any."""
        nxt = self.next_period()
        if nxt is None:
            return None
        period, tariff = nxt
        inputs = []
        for mid in self.store.meter_ids():
            m = self.store.meter(mid)
            assert m is not None
            first, count = period.intervals(m.certificate.interval_s)
            inputs.append(
                MeterInput(
                    self.store.sealed(mid, first, first + count),
                    [self.store.openings(mid, first, first + count)],
                    m.opening_key,
                )
            )
        t0 = time.perf_counter()
        paid = prove_bill(tariff, inputs, period, openings_checked=True)  # checked on arrival
        data = paid.encode()
        label = period.label(tariff.body.tz)
        ledger = self.store.ledger()
        record_bill(ledger, data, tariff)
        body = tariff.body
        amount = money.format_amount(paid.total_fee, body.minor_unit)
        with self.store.transaction():
            self.store.add_bill(
                period, label, tariff.hash().hex(), data, PaymentMessage.hash_of(data).hex(),
                paid.total_fee, body.currency, amount,
            )  # fmt: skip
            self.store.save_ledger(ledger)
        log("bill proved", account=self.account, period=label, seconds=round(time.perf_counter() - t0, 3),
            bytes=len(data))  # fmt: skip
        return self.store.bill(period)

    def submit_due(self, now: float) -> None:
        """Submit proved bills and follow submitted ones to their receipt, with back-off."""
        for b in self.store.bills():
            if b.status not in ("proved", "pending") or b.next_attempt > now:
                continue
            try:
                self._advance(b)
            except (httpx.HTTPError, OSError) as exc:
                self._retry(b, f"provider service unreachable: {type(exc).__name__}")
            except PrivbillError as exc:
                status = getattr(exc, "status", None)
                if status is not None and (status >= 500 or status == 429):
                    self._retry(b, str(exc))
                else:
                    with self.store.transaction():
                        self.store.update_bill(b.bill_hash, status="failed", error=str(exc))
                    log("bill failed", account=self.account, period=b.label, error=str(exc))

    def _retry(self, b: BillRow, reason: str) -> None:
        attempts = b.attempts + 1
        wait = backoff(attempts)
        with self.store.transaction():
            self.store.update_bill(
                b.bill_hash, attempts=attempts, next_attempt=time.time() + wait, error=reason
            )
        log(
            "bill retry",
            account=self.account,
            period=b.label,
            attempts=attempts,
            wait_s=round(wait, 2),
            reason=reason,
        )

    def _advance(self, b: BillRow) -> None:
        from privbill.service.auth import bill_token

        token = bill_token(b.message)
        if b.status == "proved":
            with self.client() as c:
                sub = c.submit(b.message)
            if sub["bill_hash"] != b.bill_hash:
                raise AgentError("the service names another bill hash", obj="service")
            with self.store.transaction():
                self.store.update_bill(
                    b.bill_hash, status="pending", token=token, submitted_at=int(time.time()),
                    attempts=0, next_attempt=time.time() + 0.2, error=None,
                )  # fmt: skip
            log("bill submitted", account=self.account, period=b.label, bill=b.bill_hash[:16])
            return
        with self.client(bill_token=token) as c:
            st = c.json("GET", f"/v1/bills/{b.bill_hash}")
            if st["status"] == "pending":
                with self.store.transaction():
                    self.store.update_bill(b.bill_hash, next_attempt=time.time() + min(5.0, 0.2 * (b.attempts + 1)),
                                           attempts=b.attempts + 1)  # fmt: skip
                return
            if st["status"] == "invalid":
                with self.store.transaction():
                    self.store.update_bill(
                        b.bill_hash,
                        status="invalid",
                        error=f"{st.get('error_type')}: {st.get('error')}",
                    )
                log("bill invalid", account=self.account, period=b.label, error=st.get("error"))
                return
            data = c.cbor(f"/v1/bills/{b.bill_hash}/receipt")
        receipt = Receipt.decode(data)
        if self.provider_key is None:
            raise AgentError("no provider key to check the receipt with", obj="store")
        receipt.verify(self.provider_key, bytes.fromhex(b.bill_hash))
        with self.store.transaction():
            self.store.add_receipt(b.bill_hash, receipt)
            self.store.update_bill(b.bill_hash, status="valid", error=None)
        log("receipt", account=self.account, period=b.label, amount=b.amount, currency=b.currency)

    # --- disclosures -----------------------------------------------------------------------------

    def fetch_disclosures(self) -> None:
        if self.customer_key is None or self.provider_key is None:
            return
        with self.client(customer=(self.account, self.customer_key)) as c:
            pending = c.json("GET", f"/v1/accounts/{self.account}/disclosures?status=pending")
        for item in pending:
            rid = item["request_id"]
            if self.store.disclosure(rid) is not None:
                continue
            data = bytes.fromhex(item["request_hex"])
            req = DisclosureRequest.decode(data)
            req.verify(self.provider_key)
            if req.account != self.account or req.request_id.hex() != rid:
                log(
                    "disclosure refused",
                    account=self.account,
                    request=rid,
                    reason="not this account's",
                )
                continue
            ok, reasons = self.policy.decide(req)
            with self.store.transaction():
                self.store.add_disclosure(
                    rid,
                    data,
                    req.requester,
                    req.purpose,
                    describe(req, self.store.tariffs(), self.policy.ledger.min_window_s),
                )
                if ok:
                    self.store.decide(
                        rid, "allowed", list(range(len(req.statements))), "; ".join(reasons)
                    )
                else:
                    self.store.decide(rid, "waiting", None, "; ".join(reasons))
            log(
                "disclosure request",
                account=self.account,
                request=rid,
                decision="allowed" if ok else "waiting",
            )

    def answer_allowed(self) -> None:
        if self.customer_key is None or self.provider_key is None:
            return
        for d in self.store.disclosures("allowed"):
            req = DisclosureRequest.decode(d["request"])
            span = self.covered_until()
            if span is not None and span[0] > req.period.start:
                with self.store.transaction():
                    self.store.decide(d["request_id"], "failed", d["statements"],
                                      "the request's period starts before the readings this agent holds")  # fmt: skip
                continue
            if span is None or span[1] < req.period.end:
                continue  # the readings of the period are not all here yet
            consent = Consent.create(req, d["statements"], key=self.customer_key)
            ids = sorted({s.meter for s in req.statements})
            ledger = self.store.ledger()
            sealed = []
            openings = []
            okeys: dict[str, bytes] = {}
            for mid in ids:
                m = self.store.meter(mid)
                if m is None:
                    continue
                first, count = req.period.intervals(m.certificate.interval_s)
                sealed.append(self.store.sealed(mid, first, first + count))
                openings.append(self.store.openings(mid, first, first + count))
                if m.opening_key is not None:
                    okeys[mid] = m.opening_key
            try:
                resp = answer(
                    req, consent, sealed, openings, provider=self.provider_key, ledger=ledger,
                    policy=self.policy.ledger, opening_key=okeys or None, tariffs=self.store.tariffs(),
                )  # fmt: skip
            except DisclosurePolicyError as exc:
                with self.store.transaction():
                    self.store.decide(d["request_id"], "refused", d["statements"], exc.detail)
                log(
                    "disclosure refused",
                    account=self.account,
                    request=d["request_id"],
                    reason=exc.detail,
                )
                continue
            except (VerificationError, UsageError) as exc:
                with self.store.transaction():
                    self.store.decide(d["request_id"], "failed", d["statements"], str(exc))
                log(
                    "disclosure failed",
                    account=self.account,
                    request=d["request_id"],
                    reason=str(exc),
                )
                continue
            data = resp.encode()
            with self.store.transaction():
                self.store.save_ledger(ledger)  # recorded before the answer leaves the device
                self.store.decide(d["request_id"], "sending", d["statements"], d["reason"])
                self.store.db.execute(
                    "UPDATE disclosures SET response = ? WHERE request_id = ?",
                    (data, d["request_id"]),
                )
        for d in self.store.disclosures("sending"):
            row = self.store.db.execute(
                "SELECT response FROM disclosures WHERE request_id = ?", (d["request_id"],)
            ).fetchone()
            with self.client(customer=(self.account, self.customer_key)) as c:
                c.request(
                    "POST",
                    f"/v1/disclosures/{d['request_id']}/response",
                    body=bytes(row[0]),
                    content_type="application/cbor",
                )
            with self.store.transaction():
                self.store.answered(d["request_id"], bytes(row[0]))
            log("disclosure answered", account=self.account, request=d["request_id"])


class Agent:
    """The running agent over an :class:`AgentHome` (one household, or many as a delegate)."""

    def __init__(
        self, home: AgentHome, *, broker: BrokerAddress | None = None, prefix: str | None = None
    ) -> None:
        self.home = home
        cfg = home.config
        self.broker = broker or BrokerAddress.parse(cfg.broker)
        self.prefix = prefix or cfg.prefix
        self.key = home.key()
        self.households: dict[str, Household] = {}
        self.by_meter: dict[str, Household] = {}
        for account in home.accounts():
            store = home.open_store(account)
            if store.meta("exported_to"):
                store.close()
                continue
            h = Household.load(store, self.key)
            self.households[account] = h
            for mid in store.meter_ids():
                self.by_meter[mid] = h
        self.inbox: queue.Queue[tuple[str, bytes, int, int]] = queue.Queue()
        self.conn: Connection | None = None
        self.heads: dict[str, int] = {}
        self.refusals: list[tuple[str, str, str]] = []  # (meter id, error type, message)
        self.billing = True
        self.disclosures = True
        self.poll_s = 2.0

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()
            self.conn = None
        for h in self.households.values():
            h.store.close()

    def connect(self) -> None:
        subs = []
        for mid in self.by_meter:
            subs += [link.link_topic(self.prefix, mid), link.head_topic(self.prefix, mid)]
        ident = self.home.public_key()
        from privbill.household import hpke

        cid = "privbill-agent-" + hpke.raw_public(ident).hex()[:16]
        self.conn = Connection(
            self.broker,
            cid,
            persistent=True,
            manual_ack=True,
            on_message=lambda t, p, mid, qos: self.inbox.put((t, p, mid, qos)),
            subscriptions=tuple(subs),
        )

    # --- ingestion -------------------------------------------------------------------------------

    def drain(self, max_messages: int = 2000, wait: float = 0.2) -> int:
        """Process what arrived (up to ``max_messages``), one transaction per household, then
        acknowledge to the broker."""
        batch: list[tuple[str, bytes, int, int]] = []
        try:
            batch.append(self.inbox.get(timeout=wait))
            while len(batch) < max_messages:
                batch.append(self.inbox.get_nowait())
        except queue.Empty:
            pass
        if not batch:
            return 0
        by_household: dict[str, list[tuple[str, str, bytes]]] = {}
        for topic, payload, _mid, _qos in batch:
            try:
                meter_id, kind = link.parse_topic(self.prefix, topic)
            except PrivbillError as exc:
                self._refused("?", exc)
                continue
            if kind == "head":
                self._head(meter_id, payload)
                continue
            h = self.by_meter.get(meter_id)
            if h is None:
                continue
            by_household.setdefault(h.account, []).append((meter_id, kind, payload))
        for account, items in by_household.items():
            h = self.households[account]
            with h.store.transaction(durable=False):
                for meter_id, _kind, payload in items:
                    self.ingest(h, meter_id, payload)
        if self.conn is not None:
            for _t, _p, mid, qos in batch:
                self.conn.ack(mid, qos)
        return len(batch)

    def ingest(self, h: Household, meter_id: str, payload: bytes) -> str:
        try:
            out = h.ingestor.handle(meter_id, payload)
        except PrivbillError as exc:
            self._refused(meter_id, exc)
            return "refused"
        if out in ("accepted", "duplicate"):
            h.ingestor.streams[meter_id].last_progress = time.monotonic()
        return out

    def _refused(self, meter_id: str, exc: PrivbillError) -> None:
        self.refusals.append((meter_id, type(exc).__name__, str(exc)))
        del self.refusals[:-1000]
        log("refused", meter=meter_id, error_type=type(exc).__name__, error=str(exc))

    def _head(self, meter_id: str, payload: bytes) -> None:
        h = self.by_meter.get(meter_id)
        if h is None:
            return
        m = h.store.meter(meter_id)
        try:
            head = link.Head.decode(payload)
            if head.meter_id != meter_id:
                raise AgentError("head of another meter", obj="head message", field="meter_id")
            assert m is not None
            head.verify(m.certificate.public_key)
        except PrivbillError as exc:
            self._refused(meter_id, exc)
            return
        self.heads[meter_id] = max(self.heads.get(meter_id, -1), head.last)

    def request_missing(self, quiet_s: float = 0.5) -> None:
        """Ask meters to re-send what the agent lacks: the gap before held messages, or up to the
        meter's head, once the stream has been quiet for ``quiet_s``."""
        if self.conn is None:
            return
        now = time.monotonic()
        for meter_id, h in self.by_meter.items():
            m = h.store.meter(meter_id)
            assert m is not None
            stream = h.ingestor.streams[meter_id]
            head = self.heads.get(meter_id, -1)
            target = min(stream.held) if stream.held else head + 1
            if target <= m.next_n:
                continue
            if now - stream.last_progress < quiet_s or now - stream.last_resend < 2 * quiet_s:
                continue
            end = min(target, m.next_n + RESEND_CHUNK)
            req = link.ResendRequest(meter_id, m.next_n, end)
            self.conn.publish(link.resend_topic(self.prefix, meter_id), req.encode())
            stream.last_resend = now
            log("resend requested", meter=meter_id, start=m.next_n, end=end)

    # --- the loop --------------------------------------------------------------------------------

    def periodic(self, now: float) -> None:
        for h in self.households.values():
            if self.billing and h.bill_wait_until <= now:
                try:
                    if h.prove_next() is not None:
                        h.bill_attempts = 0
                        continue  # one bill per pass: ingestion goes on in between
                    h.submit_due(now)
                except (PrivbillError, httpx.HTTPError, OSError) as exc:
                    h.bill_attempts += 1
                    h.bill_wait_until = now + backoff(h.bill_attempts)
                    log("billing waits", account=h.account, error=str(exc) or type(exc).__name__,
                        wait_s=round(h.bill_wait_until - now, 2))  # fmt: skip
            if self.disclosures and h.disclosure_wait_until <= now:
                h.disclosure_wait_until = now + self.poll_s
                try:
                    h.fetch_disclosures()
                    h.answer_allowed()
                except (PrivbillError, httpx.HTTPError, OSError) as exc:
                    h.disclosure_wait_until = now + backoff(3)
                    log("disclosures wait", account=h.account, error=str(exc) or type(exc).__name__)

    def run(self, stop: threading.Event, *, on_idle: Callable[[Agent], None] | None = None) -> None:
        if self.conn is None:
            self.connect()
        last_periodic = 0.0
        while not stop.is_set():
            self.drain()
            now = time.time()
            self.request_missing()
            if now - last_periodic >= 0.25:
                last_periodic = now
                self.periodic(now)
            if on_idle is not None:
                on_idle(self)
        # Whatever arrived and was not yet processed stays unacknowledged: the broker re-delivers.
        with contextlib.suppress(Exception):
            self.drain(wait=0.0)
