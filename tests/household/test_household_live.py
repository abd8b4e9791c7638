"""The household side for real: Mosquitto on 127.0.0.1:1883, the provider service on loopback,
``privbill meter run`` and ``privbill agent run`` as processes.

* a month of accelerated readings from the meter to a signed receipt, and a consented disclosure
  answered by the agent's policy, with no human step — while another client subscribed to ``#``
  records the broker's traffic, which is then searched for every opening;
* meter and agent killed (SIGKILL) and restarted at random points: no reading lost, one bill;
* tampered and replayed messages published into the meter's stream: refused by name, no state
  changed.
"""

from __future__ import annotations

import hashlib
import random
import re
import secrets
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from household_helpers import TZ, Setup, broker_or_skip, make_setup, month_rows
from privbill.billing.receipts import verify_receipt
from privbill.crypto import group
from privbill.household import link
from privbill.household.agent import Agent
from privbill.household.meterlink import DB_FILE
from privbill.household.mqtt import BrokerAddress, Connection
from privbill.household.policy import EXAMPLE
from privbill.household.sources import SyntheticSource
from privbill.model import codec
from privbill.model.periods import BillingPeriod, zone
from privbill.model.readings import Openings
from privbill.service.client import Client
from service_helpers import Proc

pytestmark = pytest.mark.slow


@pytest.fixture(autouse=True)
def _broker() -> None:
    broker_or_skip()


def wait_for(what: str, check: Callable[[], bool], timeout: float, procs: list[Proc] = ()) -> None:  # type: ignore[assignment]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.2)
    logs = "\n".join(p.output()[-3000:] for p in procs)
    raise AssertionError(f"timed out waiting for {what}\n{logs}")


def meter_proc(
    s: Setup, files: dict[str, Path], tmp: Path, *, speed: float, batch: int, n: int = 0
) -> Proc:
    return Proc(
        ["meter", "run", "--key", str(files["meter.pem"]), "--cert", str(files["meter.cert"]),
         "--agent-key", str(s.home.path / "agent.pub"), "--out", str(tmp / "meter"),
         "--synthetic", "--start", "2026-01-01", "--days", "31", "--seed", "5",
         "--speed", str(speed), "--batch", str(batch), "--timezone", TZ, "--prefix", s.prefix],
        tmp / f"meter-{n}.log",
    )  # fmt: skip


def agent_proc(s: Setup, tmp: Path, n: int = 0) -> Proc:
    return Proc(
        ["agent", "run", "--home", str(s.home.path), "--poll-seconds", "1"], tmp / f"agent-{n}.log"
    )


def bill_state(s: Setup) -> tuple[str, bool] | None:
    store = s.store()
    try:
        b = store.bill("2026-01")
        return None if b is None else (b.status, b.receipt is not None)
    finally:
        store.close()


class Capture:
    """Another MQTT client subscribed to '#': every message the broker carries."""

    def __init__(self) -> None:
        self.messages: list[tuple[str, bytes]] = []
        self.conn = Connection(
            BrokerAddress(), f"privbill-capture-{secrets.token_hex(4)}",
            on_message=lambda t, p, _m, _q: self.messages.append((t, p)), subscriptions=("#",),
        )  # fmt: skip

    def close(self) -> None:
        self.conn.close()

    def find(self, needles: list[bytes]) -> list[bytes]:
        return [n for n in needles if any(n in p for _t, p in self.messages)]


def cli_json(capsys: pytest.CaptureFixture[str], *args: str) -> dict:  # type: ignore[type-arg]
    import json

    from privbill.cli import main

    capsys.readouterr()
    assert main(list(args)) == 0
    return json.loads(capsys.readouterr().out)  # type: ignore[no-any-return]


def test_a_month_from_meter_to_receipt_with_no_human_step(
    live_service, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:  # type: ignore[no-untyped-def]
    s = make_setup(tmp_path, live_service.url, provider=live_service.provider, tariff=live_service.tariff,
                   policy=EXAMPLE)  # fmt: skip
    live_service.enrol(s)
    files = s.write_files(tmp_path / "files")
    capture = Capture()
    agent = agent_proc(s, tmp_path)
    meter = meter_proc(s, files, tmp_path, speed=0, batch=96)
    with live_service.operator() as op:  # the provider asks for the month's total
        req = op.json("POST", "/v1/disclosures", json_body={
            "account": s.account, "period": "2026-01", "statements": [{"kind": "sum"}],
            "requester": "Example Power", "purpose": "billing reconciliation",
            "timezone": TZ})  # fmt: skip
        # ... and for one day's total, which the policy does not allow: it waits for the person
        day = op.json("POST", "/v1/disclosures", json_body={
            "account": s.account, "period": "2026-01",
            "statements": [{"kind": "sum", "from": "2026-01-05", "to": "2026-01-06"}],
            "requester": "Example Power", "purpose": "a day", "timezone": TZ})  # fmt: skip
    try:
        wait_for("the receipt", lambda: bill_state(s) == ("valid", True), 90, [agent, meter])
        with Client(live_service.url, token=live_service.admin) as op:
            wait_for("the disclosure answer",
                     lambda: op.json("GET", f"/v1/disclosures/{req['request_id']}")["status"] == "answered",
                     60, [agent])  # fmt: skip
            result = op.json("GET", f"/v1/disclosures/{req['request_id']}")["result"]
            assert op.json("GET", f"/v1/disclosures/{day['request_id']}")["status"] == "pending"
        status = cli_json(capsys, "agent", "status", "--home", str(s.home.path), "--json")
        (hh,) = status["households"]
        assert hh["disclosures_waiting"] == 1 and hh["bills_by_status"] == {"valid": 1}
        assert cli_json(capsys, "agent", "consent", "--home", str(s.home.path), day["request_id"],
                        "--json")["status"] == "allowed"  # fmt: skip
        with Client(live_service.url, token=live_service.admin) as op:
            wait_for("the person's answer",
                     lambda: op.json("GET", f"/v1/disclosures/{day['request_id']}")["status"] == "answered",
                     60, [agent])  # fmt: skip
        bills = cli_json(capsys, "agent", "bills", "--home", str(s.home.path), "--json")
        assert [(b["period"], b["status"], b["receipt"]) for b in bills["bills"]] == [
            ("2026-01", "valid", True)
        ]
    finally:
        meter.stop()
        agent.stop()
        time.sleep(0.5)
        capture.close()
    store = s.store()
    b = store.bill("2026-01")
    assert b is not None and b.receipt is not None
    from privbill.model.receipts import Receipt

    verify_receipt(Receipt.decode(b.receipt), live_service.provider.public_key, b.message)
    period = BillingPeriod.parse("2026-01", zone(TZ))
    first, count = period.intervals(900)
    values = store.values(s.meter_id, first, first + count)
    assert len(values) == count == 2976
    expected = [r.value for r in SyntheticSource(first, 900, zone(TZ), 5, count).rows_from(first)]
    assert values == expected
    assert result["results"][0]["value"] == sum(values)  # the consented figure, certified
    assert {d["request_id"] for d in store.disclosures("answered")} == {
        req["request_id"],
        day["request_id"],
    }
    explained = store.explain("2026-01")
    assert explained.total == b.total_fee  # the customer's view is the bill proven

    # The broker's traffic carries no opening in clear.
    rows = store.db.execute(
        "SELECT blinding FROM readings WHERE meter_id = ?", (s.meter_id,)
    ).fetchall()
    blindings = [bytes(r[0]) for r in rows]
    needles = blindings + [b.hex().encode() for b in blindings[:200]]
    day_values = [codec.encode({"v": values[k : k + 96]})[3:] for k in range(0, count, 96)]
    needles += day_values
    ours = [p for t, p in capture.messages if t.startswith(s.prefix + "/")]
    assert len(ours) >= 62, "the capture saw the meter's stream"
    assert capture.find(needles) == []
    # ... and the same scan finds an opening when one is there in clear
    planted = Openings(
        s.meter_id, 900, first, values[:96], [group.decode_scalar(x) for x in blindings[:96]]
    ).encode()
    capture.messages.append((s.prefix + "/planted", planted))
    assert capture.find(needles[:96] + day_values[:1]) == needles[:96] + day_values[:1]
    store.close()


def test_kill_9_meter_and_agent_at_random_points_one_bill_no_reading_lost(
    live_service, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    s = make_setup(
        tmp_path, live_service.url, provider=live_service.provider, tariff=live_service.tariff
    )
    live_service.enrol(s)
    files = s.write_files(tmp_path / "files")
    rng = random.Random(int.from_bytes(secrets.token_bytes(4), "big"))
    speed = 31 * 86400 / 15  # the month in about 15 s
    starts = {"meter": 0, "agent": 0}
    procs = {
        "agent": agent_proc(s, tmp_path),
        "meter": meter_proc(s, files, tmp_path, speed=speed, batch=16),
    }
    kills: list[str] = []
    try:
        for _ in range(6):
            time.sleep(rng.uniform(0.5, 3.0))
            who = rng.choice(["meter", "agent"])
            procs[who].kill9()
            kills.append(who)
            starts[who] += 1
            procs[who] = (
                meter_proc(s, files, tmp_path, speed=speed, batch=16, n=starts[who])
                if who == "meter"
                else agent_proc(s, tmp_path, starts[who])
            )
        # and once right after the bill was persisted, before it was certainly submitted
        wait_for("the bill", lambda: bill_state(s) is not None, 120, list(procs.values()))
        procs["agent"].kill9()
        starts["agent"] += 1
        procs["agent"] = agent_proc(s, tmp_path, starts["agent"])
        wait_for("the receipt", lambda: bill_state(s) == ("valid", True), 120, list(procs.values()))
    finally:
        for p in procs.values():
            p.stop()
    store = s.store()
    period = BillingPeriod.parse("2026-01", zone(TZ))
    first, count = period.intervals(900)
    expected = [r.value for r in SyntheticSource(first, 900, zone(TZ), 5, count).rows_from(first)]
    assert store.values(s.meter_id, first, first + count) == expected, kills
    m = store.meter(s.meter_id)
    assert m is not None and m.sealed_end == first + count and m.next_seq == 31
    assert len(store.bills()) == 1
    bill_hash = store.bills()[0].bill_hash
    store.close()
    with Client(live_service.url, customer=(s.account, s.customer_key)) as c:
        bills = c.json("GET", f"/v1/accounts/{s.account}/bills")
    listed = bills["bills"] if isinstance(bills, dict) else bills
    assert [x["bill_hash"] for x in listed] == [bill_hash]
    # the meter's chain: every message number once, seals in sequence
    import sqlite3

    db = sqlite3.connect(tmp_path / "meter" / DB_FILE)
    ns = [r[0] for r in db.execute("SELECT n FROM archive ORDER BY n")]
    assert ns == list(range(len(ns)))
    seqs = [codec.decode(bytes(p), "x")["run"]["seal"]["seq"] for (p,) in db.execute(
        "SELECT payload FROM archive WHERE kind = 'run' ORDER BY n")]  # fmt: skip
    assert seqs == list(range(31))
    db.close()


def test_tampered_and_replayed_messages_through_the_broker(tmp_path: Path) -> None:
    s = make_setup(tmp_path)
    ml = s.meter_link(tmp_path / "meter", batch=48)
    rows = month_rows(s.tariff)[:96]
    msgs = ml.build(rows[:48])
    ml.commit(msgs)
    later = ml.build(rows[48:])
    ml.commit(later)
    ml.close()
    agent = Agent(s.home)
    agent.billing = agent.disclosures = False
    stop = threading.Event()
    agent.connect()
    th = threading.Thread(target=agent.run, args=(stop,), daemon=True)
    th.start()
    pub = Connection(BrokerAddress(), f"privbill-test-pub-{secrets.token_hex(4)}")
    topic = link.link_topic(s.prefix, s.meter_id)

    def digest() -> str:
        store = s.store()
        try:
            h = hashlib.sha256()
            for table in ("meters", "readings", "runs", "messages"):
                h.update(
                    repr(
                        store.db.execute(f"SELECT * FROM {table} ORDER BY 1, 2").fetchall()
                    ).encode()
                )
            return h.hexdigest()
        finally:
            store.close()

    def settle() -> None:
        time.sleep(0.3)
        wait_for("the agent to drain", lambda: agent.inbox.empty(), 10)
        time.sleep(0.3)

    try:
        pub.publish_wait(topic, msgs[0][3])
        wait_for(
            "the first message",
            lambda: agent.households[s.account].store.meter(s.meter_id).next_n == 1,
            10,
        )  # type: ignore[union-attr]
        settle()
        before = digest()
        obj = codec.decode(msgs[0][3], "x")
        cases = {
            "SignatureError": codec.encode({**obj, "n": 1}),
            "LinkDecodeError": msgs[0][3] + b"\x00",
        }
        flipped = bytearray(obj["sealed_openings"])
        flipped[40] ^= 1
        cases["SignatureError "] = codec.encode({**obj, "sealed_openings": bytes(flipped)})
        refusals_before = len(agent.refusals)
        for payload in cases.values():
            pub.publish_wait(topic, payload)
        pub.publish_wait(topic, msgs[0][3])  # a replay of the same message: a duplicate
        pub.publish_wait(link.link_topic(s.prefix, "m-elsewhere"), msgs[0][3])  # not subscribed
        settle()
        got = [e for _m, e, _t in agent.refusals[refusals_before:]]
        assert got == [k.strip() for k in cases], agent.refusals
        assert digest() == before
        assert agent.households[s.account].ingestor.counts["duplicate"] >= 1
        # the meter's real messages still go through afterwards
        for m in msgs[1:] + later:
            pub.publish_wait(topic, m[3])
        wait_for(
            "the rest",
            lambda: (
                agent.households[s.account].store.meter(s.meter_id).next_n == len(msgs) + len(later)
            ),
            10,
        )  # type: ignore[union-attr]
    finally:
        stop.set()
        th.join(10)
        agent.close()
        pub.close()


def test_a_delegate_serves_households_apart_from_green_button_and_csv_meters(
    tmp_path: Path,
) -> None:
    """One agent (delegate mode) for two households: one meter reads a Green Button file, the
    other a readings CSV; both run as ``privbill meter run`` processes that stop when their source
    ends, before the agent ever connected — the agent catches up by re-send requests answered by
    meters started again. Each household's readings are in its own store only."""
    from privbill.household.home import AgentHome
    from privbill.interop import csv_readings, greenbutton

    a = make_setup(tmp_path / "a", mode="delegate")
    home: AgentHome = a.home
    b = make_setup(tmp_path / "b", provider=a.provider, tariff=a.tariff)
    # household b joins a's delegate home (its meter will seal openings to the delegate's key)
    store_b = home.new_store(b.account, {"provider_url": None, "provider_key": a.provider.public_key.to_pem(),
                                          "customer_key": None, "policy": None, "tariff": None})  # fmt: skip
    store_b.add_meter(b.cert, None)
    store_b.close()
    b.home = home
    b.prefix = a.prefix
    fa = a.write_files(tmp_path / "fa")
    fb = b.write_files(tmp_path / "fb")
    gb = (
        Path(__file__).resolve().parents[1]
        / "data"
        / "greenbutton"
        / "denver-2026-03-07-two-days.xml"
    )
    rows = month_rows(a.tariff)[:200]
    csv_path = tmp_path / "b.csv"
    csv_path.write_text(csv_readings.format_rows([(r.index, r.value) for r in rows], 900, zone(TZ)))

    def meter(s: Setup, files: dict[str, Path], source: list[str], n: int, *extra: str) -> Proc:
        return Proc(
            ["meter", "run", "--key", str(files["meter.pem"]), "--cert", str(files["meter.cert"]),
             "--agent-key", str(home.path / "agent.pub"), "--out", str(tmp_path / f"meter-{s.meter_id}"),
             *source, "--speed", "0", "--timezone", TZ, "--prefix", a.prefix, *extra],
            tmp_path / f"meter-{s.meter_id}-{n}.log",
        )  # fmt: skip

    first = [
        meter(a, fa, ["--green-button", str(gb)], 0, "--exit-at-end"),
        meter(b, fb, ["--csv", str(csv_path)], 0, "--exit-at-end"),
    ]
    for p in first:
        assert p.p.wait(60) == 0, p.output()
    # the meters run again (nothing new to measure) and answer re-send requests
    again = [
        meter(a, fa, ["--green-button", str(gb)], 1),
        meter(b, fb, ["--csv", str(csv_path)], 1),
    ]
    agent = Agent(home)
    agent.billing = agent.disclosures = False
    stop = threading.Event()
    agent.connect()
    th = threading.Thread(target=agent.run, args=(stop,), daemon=True)
    th.start()
    try:
        gb_rows = greenbutton.parse(gb.read_bytes(), 900, zone(TZ)).rows

        def caught_up() -> bool:
            ma = agent.households[a.account].store.meter(a.meter_id)
            mb = agent.households[b.account].store.meter(b.meter_id)
            return (ma is not None and ma.next_index == gb_rows[-1].index + 1
                    and mb is not None and mb.next_index == rows[-1].index + 1)  # fmt: skip

        wait_for("the delegate to catch up", caught_up, 60, again)
    finally:
        stop.set()
        th.join(10)
        agent.close()
        for p in again:
            p.stop()
    for p in again:  # everything the agent has came by re-send
        assert re.search(r"re-sent [1-9]\d* on request", p.output()), p.output()
    sa, sb = a.store(), home.open_store(b.account)
    try:
        assert sa.path != sb.path
        assert sa.meter_ids() == [a.meter_id] and sb.meter_ids() == [b.meter_id]
        va = sa.values(a.meter_id, gb_rows[0].index, gb_rows[-1].index + 1)
        assert va == [r.value for r in gb_rows]
        vb = sb.values(b.meter_id, rows[0].index, rows[-1].index + 1)
        assert vb == [r.value for r in rows]
        assert (
            sa.db.execute(
                "SELECT COUNT(*) FROM readings WHERE meter_id != ?", (a.meter_id,)
            ).fetchone()[0]
            == 0
        )
        assert (
            sb.db.execute(
                "SELECT COUNT(*) FROM readings WHERE meter_id != ?", (b.meter_id,)
            ).fetchone()[0]
            == 0
        )
    finally:
        sa.close()
        sb.close()


def test_submission_backs_off_while_the_service_is_down_and_sends_the_same_bill(
    live_service, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    """The bill is persisted before it is submitted; with the service unreachable the agent backs
    off (attempt counted, next attempt later); when it is back the same bytes go out and the
    receipt comes back. No second bill is ever made for the period."""
    from privbill.household.agent import Household
    from privbill.household.ingest import Ingestor
    from privbill.model.receipts import Receipt
    from service_helpers import free_port

    s = make_setup(tmp_path, f"http://127.0.0.1:{free_port()}", provider=live_service.provider,
                   tariff=live_service.tariff)  # fmt: skip
    live_service.enrol(s)
    ml = s.meter_link(tmp_path / "meter")
    msgs = []
    rows = month_rows(s.tariff)
    for k in range(0, len(rows), 96):
        part = ml.build(rows[k : k + 96])
        ml.commit(part)
        msgs += part
    ml.close()
    store = s.store()
    ing = Ingestor(store, s.home.key())
    with store.transaction():
        for _n, _k, _f, p in msgs:
            ing.handle(s.meter_id, p)
        store.add_tariff(live_service.tariff)  # fetched earlier; the service is down now
    h = Household.load(store, s.home.key())
    b = h.prove_next()
    assert b is not None and b.status == "proved"
    message = b.message
    h.submit_due(time.time())
    b = store.bill("2026-01")
    assert (
        b is not None and b.status == "proved" and b.attempts == 1 and b.next_attempt > time.time()
    )
    assert "unreachable" in (b.error or "")
    assert h.prove_next() is None  # nothing else is due: one bill for the period
    h.provider_url = live_service.url  # the service is back
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        h.submit_due(time.time() + 3600)  # as if the back-off had passed
        b = store.bill("2026-01")
        assert b is not None
        if b.status == "valid":
            break
        time.sleep(0.3)
    assert b.status == "valid" and b.message == message and b.receipt is not None
    verify_receipt(Receipt.decode(b.receipt), live_service.provider.public_key, message)
    assert len(store.bills()) == 1
    store.close()
