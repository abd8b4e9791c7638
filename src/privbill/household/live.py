"""``privbill demo --live``: the provider service, a meter and the household agent running
together on this machine, and a bill arriving with its receipt.

It makes the keys, the demo's time-of-use tariff and a meter certificate; starts ``privbill
serve`` on a free loopback port (SQLite in the output directory); makes the agent's home with a
consent policy that answers period totals; starts ``privbill meter run`` on the synthetic
household (a month, accelerated) publishing to Mosquitto on 127.0.0.1:1883; asks, as the
provider, for the month's total consumption; and runs the agent until the receipt is in and
the disclosure answered. Then it stops the meter and the service.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import threading
import time
from datetime import date
from pathlib import Path
from typing import Any

from privbill.cli.common import report
from privbill.crypto.signatures import SigningKey
from privbill.errors import UsageError
from privbill.files import write_atomic
from privbill.model import money
from privbill.model.periods import BillingPeriod
from privbill.model.tariffs import TariffBody
from privbill.provider import Provider

METER_ID = "0001"
ACCOUNT = "acct-42"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _broker_up(host: str, port: int) -> None:
    try:
        with socket.create_connection((host, port), timeout=3):
            return
    except OSError:
        raise UsageError(
            f"no MQTT broker at {host}:{port}: the live demo needs Mosquitto "
            "(Debian: apt-get install mosquitto; it listens on 127.0.0.1:1883)"
        ) from None


def _spawn(args: list[str], log: Path) -> subprocess.Popen[bytes]:
    out = log.open("ab")
    return subprocess.Popen(
        [sys.executable, "-m", "privbill.cli", *args],
        stdout=out,
        stderr=subprocess.STDOUT,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
        start_new_session=True,
    )


def _stop(p: subprocess.Popen[bytes]) -> None:
    if p.poll() is None:
        p.send_signal(signal.SIGTERM)
        try:
            p.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(p.pid, signal.SIGKILL)
            p.wait(10)
    # what the process started in its own session (the service's verification pool) goes too
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(p.pid, signal.SIGTERM)


def run_live(args: argparse.Namespace) -> int:
    from privbill.demo import demo_tariff_description
    from privbill.household.agent import LOG as AGENT_LOG
    from privbill.household.agent import Agent
    from privbill.household.home import AgentConfig, AgentHome
    from privbill.household.mqtt import BrokerAddress
    from privbill.household.policy import EXAMPLE
    from privbill.service import auth, db
    from privbill.service.client import Client

    broker = BrokerAddress.parse(args.broker)
    _broker_up(broker.host, broker.port)
    out = Path(args.out or "live-out")
    if out.exists() and any(out.iterdir()) and not args.force:
        raise UsageError(f"{out} is not empty: use another --out, or --force to start it afresh")
    if out.exists() and args.force:
        import shutil

        shutil.rmtree(out)
    out.mkdir(parents=True)
    first = date.fromisoformat(args.start)
    if first.day != 1:
        raise UsageError("--start must be the first of a month for the live demo")

    # the parties' keys, the tariff, the meter's certificate
    provider = Provider.generate("ed25519")
    meter_key = SigningKey.generate()
    customer = SigningKey.generate("ed25519")
    cert = provider.certify_meter(METER_ID, ACCOUNT, meter_key.public_key())
    tariff = provider.sign_tariff(
        TariffBody.from_description(demo_tariff_description("residential-tou"))
    )
    tz = tariff.body.tz
    period = BillingPeriod.month(first.year, first.month, tz)
    days = len(period.local_days(tz))
    files = {
        "provider.pem": (provider.key.to_pem(), True),
        "provider.pub": (provider.public_key.to_pem(), False),
        "meter-0001.pem": (meter_key.to_pem(), True),
        "meter-0001.cert": (cert.encode(), False),
        "customer.pem": (customer.to_pem(), True),
        "tariff.pbt": (tariff.encode(), False),
        "policy.toml": (EXAMPLE.encode(), False),
    }
    for name, (data, private) in files.items():
        write_atomic(out / name, data, private=private)

    # the provider service
    url_db = f"sqlite:///{(out / 'service.db').resolve()}"
    db.migrate(url_db)
    engine = db.make_engine(url_db)
    token = auth.create_operator_token(engine, "live-demo", list(auth.SCOPES))
    engine.dispose()
    port = _free_port()
    url = f"http://127.0.0.1:{port}"

    def say(text: str) -> None:
        if not args.json:
            print(text, flush=True)

    procs: list[subprocess.Popen[bytes]] = []
    agent: Any = None
    try:
        serve = _spawn(
            ["serve", "--db", url_db, "--provider-key", str(out / "provider.pem"), "--port", str(port),
             "--workers", "1", "--publish-tariff", str(out / "tariff.pbt"),
             "--enrol-cert", str(out / "meter-0001.cert")],
            out / "service.log",
        )  # fmt: skip
        procs.append(serve)
        with Client(url, token=token, timeout=10) as op:
            deadline = time.monotonic() + 60
            while True:
                try:
                    if op.http.get("/readyz").status_code == 200:
                        break
                except Exception:  # not listening yet
                    pass
                if serve.poll() is not None or time.monotonic() > deadline:
                    raise UsageError(
                        f"the provider service did not start: see {out / 'service.log'}"
                    )
                time.sleep(0.2)
            op.json("PUT", f"/v1/accounts/{ACCOUNT}",
                    json_body={"customer_key_pem": customer.public_key().to_pem().decode()})  # fmt: skip
        say(f"provider service  {url}  (SQLite {out / 'service.db'}, log {out / 'service.log'})")

        # the household's agent
        prefix = f"privbill/demo-{secrets.token_hex(4)}"
        home = AgentHome.init(out / "agent-home", AgentConfig(str(broker), prefix, "device"))
        store = home.new_store(
            ACCOUNT,
            {"provider_url": url, "provider_key": provider.public_key.to_pem(),
             "customer_key": customer.to_pem(), "policy": EXAMPLE, "tariff": None},
        )  # fmt: skip
        store.add_meter(cert, None)
        store.close()
        say(
            f"agent             {out / 'agent-home'}  (store mode 0600; policy: period totals to the provider)"
        )

        # the meter
        meter = _spawn(
            ["meter", "run", "--key", str(out / "meter-0001.pem"), "--cert", str(out / "meter-0001.cert"),
             "--agent-key", str(home.path / "agent.pub"), "--out", str(out / "meter-0001"),
             "--synthetic", "--start", first.isoformat(), "--days", str(days), "--seed", str(args.seed if args.seed is not None else secrets.randbelow(2**31)),
             "--speed", str(args.speed), "--timezone", tariff.body.timezone, "--broker", str(broker),
             "--prefix", prefix],
            out / "meter.log",
        )  # fmt: skip
        procs.append(meter)
        say(
            f"meter {METER_ID}        publishing {days} days of 15-minute readings to {broker} under {prefix}/"
        )

        # the provider asks for the month's total consumption
        with Client(url, token=token) as op:
            request = op.json("POST", "/v1/disclosures", json_body={
                "account": ACCOUNT, "period": period.label(tz), "statements": [{"kind": "sum"}],
                "requester": tariff.body.utility, "purpose": "billing reconciliation",
                "timezone": tariff.body.timezone})  # fmt: skip

        AGENT_LOG[0] = (out / "agent.log").open("a")
        agent = Agent(home)
        agent.poll_s = 1.0
        stop = threading.Event()
        started = time.monotonic()
        state: dict[str, Any] = {}

        def idle(a: Any) -> None:
            h = a.households[ACCOUNT]
            b = h.store.bill(period)
            answered = h.store.disclosures("answered")
            if (b is not None and b.status == "valid" and answered) or (
                b is not None and b.status in ("invalid", "failed")
            ):
                state["bill"] = b
                stop.set()
            if time.monotonic() - started > args.timeout:
                stop.set()
            if meter.poll() is not None:
                state["meter_exit"] = meter.returncode
                stop.set()

        agent.connect()
        agent.run(stop, on_idle=idle)
        took = time.monotonic() - started
        b = state.get("bill")
        if b is None or b.status != "valid":
            why = b.error if b is not None else f"no bill after {args.timeout:.0f} s"
            raise UsageError(f"the live demo did not complete: {why} (logs in {out})")
        h = agent.households[ACCOUNT]
        e = h.store.explain(period)
        with Client(url, token=token) as op:
            disclosed = op.json("GET", f"/v1/disclosures/{request['request_id']}")["result"]
        total_wh = disclosed["results"][0]["value"]
        lines = [
            "",
            f"BILL  {b.label}  account {ACCOUNT}  {b.currency} {b.amount}  receipt verified  "
            f"({took:.1f} s from the first reading)",
            *(f"  {row.name:<20} {money.format_scaled(row.quantity, 3):>10} kWh  "
              f"{b.currency} {money.format_amount(row.cost, tariff.body.minor_unit):>8}" for row in e.energy),
            f"  {'fixed charges':<20} {'':>14}  {b.currency} "
            f"{money.format_amount(e.breakdown.fixed, tariff.body.minor_unit):>8}",
            f"  the provider learned: the total {b.currency} {b.amount} and, by the consent policy, "
            f"the month's consumption {money.format_scaled(total_wh, 3)} kWh — not one reading",
            f"  the broker carried {h.ingestor.counts['accepted']} messages: seals and commitments in "
            "public, openings HPKE-sealed to the agent",
            f"  see it again: privbill agent bills --home {out / 'agent-home'} --explain {b.label}",
        ]  # fmt: skip
        view = {
            "period": b.label,
            "amount": b.amount,
            "currency": b.currency,
            "total_fee": b.total_fee,
            "bill_hash": b.bill_hash,
            "receipt": b.receipt is not None,
            "seconds": round(took, 2),
            "disclosed_total_wh": total_wh,
            "out": str(out),
            "service_url": url,
        }
        return report(args.json, view, [line for line in lines if line is not None])
    finally:
        if agent is not None:
            agent.close()
            if AGENT_LOG[0] is not None:
                AGENT_LOG[0].close()
                AGENT_LOG[0] = None
        for p in reversed(procs):
            _stop(p)
        write_atomic(out / "live.json", json.dumps({"service": url}).encode())
