"""Commands of the household side: ``privbill meter run`` and ``privbill agent …``.

``agent init|run|web|status|bills|consent|export|import``. The MQTT client and the service client
load only when a command needs them.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
import time
from datetime import date, datetime
from pathlib import Path
from typing import Any

from privbill.cli.common import (
    SEAL_CHOICES,
    Subparsers,
    View,
    add_json,
    load_certificate,
    load_opening_key,
    load_signing_key,
    load_verifying_key,
    report,
    write_output,
)
from privbill.errors import UsageError
from privbill.files import read_bytes
from privbill.model.periods import local_midnight, local_time, zone


def _stop_on_signals() -> threading.Event:
    stop = threading.Event()

    def handler(_sig: int, _frame: Any) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, handler)
    signal.signal(signal.SIGINT, handler)
    return stop


# --- meter run ---------------------------------------------------------------------------------------


def cmd_meter_run(args: argparse.Namespace) -> int:
    from privbill.household import hpke
    from privbill.household.meterlink import Clock, MeterLink
    from privbill.household.mqtt import BrokerAddress
    from privbill.household.sources import (
        SyntheticSource,
        csv_source,
        greenbutton_source,
        now_index,
    )

    key = load_signing_key(args.key, "meter key")
    cert = load_certificate(args.cert)
    if args.provider:
        cert.verify(load_verifying_key(args.provider, "provider key"))
    agent_key = hpke.load_public(args.agent_key)
    tzname = args.timezone
    tz = zone(tzname)
    step = cert.interval_s
    sources = [s for s in (args.csv, args.green_button, args.synthetic) if s]
    if len(sources) != 1:
        raise UsageError("give one source: --csv FILE, --green-button FILE or --synthetic")
    if args.csv:
        source: Any = csv_source(args.csv, step, tz)
    elif args.green_button:
        source = greenbutton_source(args.green_button, step, tz)
    else:
        try:
            day = date.fromisoformat(args.start) if args.start else datetime.now(tz).date()
        except ValueError:
            raise UsageError(f"--start {args.start!r} is not a date YYYY-MM-DD") from None
        # from local midnight of --start, or from now (real time) without it
        first = local_midnight(day, tz) // step if args.start else now_index(step)
        count = None
        if args.days is not None:
            if args.days < 1:
                raise UsageError("--days must be at least 1")
            end_day = date.fromordinal(day.toordinal() + args.days)
            count = local_midnight(end_day, tz) // step - first
        source = SyntheticSource(first, step, tz, args.seed, count)
    ml = MeterLink(
        Path(args.out), cert, key, agent_key,
        seal_span=SEAL_CHOICES[args.seal], timezone=tzname,
        opening_key=load_opening_key(args.opening_key), prefix=args.prefix, batch=args.batch,
    )  # fmt: skip
    stop = _stop_on_signals()
    try:
        ml.connect(BrokerAddress.parse(args.broker))
        nxt = ml.next_index(source)
        print(
            f"meter {cert.meter_id}: {source.describe()}, from {local_time(nxt * step, tz)}, "
            f"publishing to {args.broker} under {args.prefix}/meter/{cert.meter_id}/",
            file=sys.stderr,
            flush=True,
        )
        stats = ml.run(source, Clock(args.speed), stop=stop, linger=not args.exit_at_end)
    finally:
        ml.close()
    view: View = {
        "meter_id": cert.meter_id,
        "measured": stats.measured,
        "messages": stats.messages,
        "republished": stats.republished,
        "resent": stats.resent,
    }
    return report(
        args.json,
        view,
        [
            f"meter {cert.meter_id}: {stats.measured} readings, {stats.messages} messages, "
            f"re-sent {stats.resent} on request"
        ],
    )


def add_meter_run(msub: Any) -> None:
    r = msub.add_parser(
        "run",
        help="run a meter: measure, commit, seal and publish over MQTT",
        description="Run a meter process: take readings from a source (a readings CSV, a Green "
        "Button file or the synthetic household load) in real time or accelerated, commit to "
        "and seal them as `meter record` does, and publish them over MQTT — sealed runs in "
        "public, each batch of openings HPKE-sealed to the household agent's key. The meter's "
        "state and every message are written to DIR before anything is published; a restarted "
        "meter continues its chain and re-sends what the agent asks for.",
        epilog="example:\n  privbill meter run --key keys/meter-0001.pem --cert keys/meter-0001.cert "
        "--agent-key home/agent.pub \\\n      --synthetic --start 2026-01-01 --days 31 --speed 0 "
        "--timezone America/Denver --out meter-0001/",
    )
    r.add_argument("--key", required=True, help="meter private key (PEM)")
    r.add_argument("--cert", required=True, help="meter certificate")
    r.add_argument("--provider", help="check the certificate against this provider public key")
    r.add_argument(
        "--agent-key", required=True, help="the household agent's public key (agent.pub)"
    )
    r.add_argument("--out", required=True, help="the meter's directory (state and sent messages)")
    src = r.add_argument_group("source (one of)")
    src.add_argument("--csv", help="readings CSV (interval_start, wh[, outage])")
    src.add_argument("--green-button", help="Green Button (ESPI XML) interval data")
    src.add_argument("--synthetic", action="store_true", help="the synthetic household load")
    src.add_argument("--start", help="synthetic: first local day, YYYY-MM-DD (default: now)")
    src.add_argument("--days", type=int, help="synthetic: this many days (default: without end)")
    src.add_argument("--seed", type=int, default=1, help="synthetic: seed of the household")
    r.add_argument("--speed", type=float, default=1.0,
                   help="simulated seconds per second: 1 real time, 0 as fast as possible")  # fmt: skip
    r.add_argument("--batch", type=int, default=96, help="readings per message at most")
    r.add_argument("--seal", choices=SEAL_CHOICES, default="daily", help="seal span")
    r.add_argument("--timezone", required=True, help="the meter's local time (IANA name)")
    r.add_argument(
        "--opening-key", help="derive blinding factors from this key shared with the agent"
    )
    r.add_argument("--broker", default="127.0.0.1:1883", help="MQTT broker HOST:PORT")
    r.add_argument("--prefix", default="privbill/v1", help="MQTT topic prefix")
    r.add_argument("--exit-at-end", action="store_true",
                   help="stop when the source ends instead of staying to answer re-send requests")  # fmt: skip
    add_json(r)
    r.set_defaults(func=cmd_meter_run)


# --- agent -------------------------------------------------------------------------------------------


def _home(args: argparse.Namespace) -> Any:
    from privbill.household.home import AgentHome

    return AgentHome.open(Path(args.home))


def cmd_init(args: argparse.Namespace) -> int:
    from privbill.household.home import AgentConfig, AgentHome
    from privbill.household.policy import ConsentPolicy

    path = Path(args.home)
    household: dict[str, Any] | None = None
    lines = []
    if args.account:  # every input is read and checked before anything is made
        if not args.cert or not args.provider_url:
            raise UsageError("a household needs --cert (each meter) and --provider-url")
        certs = [load_certificate(c) for c in args.cert]
        provider = (
            load_verifying_key(args.provider_key, "provider key") if args.provider_key else None
        )
        policy_text = read_bytes(args.policy, "consent policy").decode() if args.policy else None
        if policy_text is not None:
            ConsentPolicy.parse(policy_text)
        customer = None
        if args.customer_key:
            load_signing_key(args.customer_key, "customer key", "--customer-key")
            customer = read_bytes(args.customer_key, "customer key")
        okey = load_opening_key(args.opening_key)
        if provider is None:
            provider = _fetch_provider_key(args.provider_url)
            lines.append(
                f"provider key fetched from {args.provider_url}: compare its id "
                f"{provider.key_id.hex()[:16]} with the provider's published one"
            )
        for c in certs:
            c.verify(provider)
        household = {"certs": certs, "provider": provider, "policy": policy_text,
                     "customer": customer, "okey": okey}  # fmt: skip
    try:
        home = AgentHome.open(path)
    except UsageError:
        mode = "delegate" if args.delegate else "device"
        home = AgentHome.init(path, AgentConfig(args.broker, args.prefix, mode))
        lines.insert(
            0, f"{path}: agent home made ({mode}); meters seal openings to {path / 'agent.pub'}"
        )
    view: View = {
        "home": str(path),
        "mode": home.config.mode,
        "agent_public_key": str(path / "agent.pub"),
    }
    if household is not None:
        meta = {
            "provider_url": args.provider_url,
            "provider_key": household["provider"].to_pem(),
            "customer_key": household["customer"],
            "policy": household["policy"],
            "tariff": args.tariff,
        }
        store = home.new_store(args.account, meta)
        try:
            for c in household["certs"]:
                store.add_meter(c, household["okey"])
        finally:
            store.close()
        lines.append(
            f"household {args.account}: meter(s) "
            f"{', '.join(c.meter_id for c in household['certs'])}, provider {args.provider_url}"
            + (", consent policy set" if household["policy"] else "")
        )
        view["account"] = args.account
    return report(args.json, view, lines or [f"{path}: agent home ({home.config.mode})"])


def _fetch_provider_key(url: str) -> Any:
    from privbill.crypto.signatures import VerifyingKey
    from privbill.service.client import Client

    with Client(url) as c:
        return VerifyingKey.from_pem(c.json("GET", "/v1/provider")["pem"].encode())


def cmd_run(args: argparse.Namespace) -> int:
    from privbill.household.agent import Agent
    from privbill.household.mqtt import BrokerAddress

    home = _home(args)
    agent = Agent(home, broker=BrokerAddress.parse(args.broker) if args.broker else None)
    agent.disclosures = not args.no_disclosures
    agent.poll_s = args.poll_seconds
    stop = _stop_on_signals()
    deadline = None if args.for_seconds is None else time.monotonic() + args.for_seconds

    def idle(a: Agent) -> None:
        if deadline is not None and time.monotonic() > deadline:
            stop.set()

    page = None
    try:
        if args.web is not None:
            from privbill.household.web import WebPage

            page = WebPage(home, args.account)
            url = page.start(args.web)
            print(
                f"open {url}  (the household's page, 127.0.0.1 only)", file=sys.stderr, flush=True
            )
        agent.connect()
        print(
            f"agent {home.path}: {len(agent.households)} household(s), "
            f"{len(agent.by_meter)} meter(s), broker {agent.broker}",
            file=sys.stderr,
            flush=True,
        )
        agent.run(stop, on_idle=idle)
        counts = {a: dict(h.ingestor.counts) for a, h in agent.households.items()}
    finally:
        if page is not None:
            page.stop()
        agent.close()
    lines = [
        f"{a}: {c['accepted']} messages accepted, {c['duplicate']} duplicates"
        for a, c in counts.items()
    ]
    return report(args.json, {"households": counts, "refused": len(agent.refusals)}, lines)


def cmd_web(args: argparse.Namespace) -> int:
    from privbill.household.web import WebPage, serve_forever

    page = WebPage(_home(args), args.account)
    serve_forever(page, args.port, _stop_on_signals())
    return report(args.json, {"account": page.account, "stopped": True}, ["page stopped"])


def cmd_status(args: argparse.Namespace) -> int:
    home = _home(args)
    views = []
    lines = [f"{home.path}: agent home ({home.config.mode}), broker {home.config.broker}"]
    for account in [args.account] if args.account else home.accounts():
        store = home.open_store(account)
        try:
            st = store.status()
            if store.meta("exported_to"):
                st["exported"] = True
            views.append(st)
            lines.append(
                f"household {account}"
                + (" (exported: not served here)" if st.get("exported") else "")
            )
            for m in st["meters"]:
                step = m["interval_s"]
                until = (
                    datetime.fromtimestamp(m["sealed_end"] * step).isoformat()
                    if m["sealed_end"]
                    else "-"
                )
                lines.append(
                    f"  meter {m['meter_id']}: {m['readings']} readings, {m['runs']} sealed runs, "
                    f"sealed until {until} UTC, messages {m['next_n']}"
                    + (f" ({m['missing_messages']} missing)" if m["missing_messages"] else "")
                )
            by = ", ".join(f"{n} {s}" for s, n in st["bills_by_status"].items())
            lines.append(f"  bills: {st['bills']}" + (f" ({by})" if by else ""))
            for d in store.disclosures("waiting"):
                lines.append(
                    f"  disclosure {d['request_id']} waits for you: {d['requester']}, {d['purpose']}"
                )
                lines += ["    " + line for line in d["description"].splitlines()]
        finally:
            store.close()
    return report(args.json, {"home": str(home.path), "households": views}, lines)


def cmd_bills(args: argparse.Namespace) -> int:
    from privbill.cli.explain import explanation_lines

    home = _home(args)
    account = home.account_of(args.account)
    store = home.open_store(account)
    try:
        bills = store.bills()
        lines = [f"household {account}: {len(bills)} bill(s)"]
        for b in bills:
            lines.append(
                f"  {b.label:<24} {b.currency} {b.amount:>10}  {b.status:<9} bill {b.bill_hash[:16]}…"
                + ("  receipt" if b.receipt else "")
                + (f"  ({b.error})" if b.error and b.status != "valid" else "")
            )
        view: View = {"account": account, "bills": [b.view() for b in bills]}
        if args.explain:
            e = store.explain(args.explain)
            lines += ["", *explanation_lines(e)]
            view["explained"] = args.explain
        if args.receipt_out:
            b = store.bill(args.receipt_out[0])
            if b is None or b.receipt is None:
                raise UsageError(f"no receipt for {args.receipt_out[0]}")
            write_output(args.receipt_out[1], b.receipt, force=False)
    finally:
        store.close()
    return report(args.json, view, lines)


def cmd_consent(args: argparse.Namespace) -> int:
    from privbill.disclosure.model import DisclosureRequest

    home = _home(args)
    account = home.account_of(args.account)
    store = home.open_store(account)
    try:
        d = store.disclosure(args.request_id)
        if d is None:
            raise UsageError(f"no disclosure request {args.request_id}")
        if d["status"] not in ("waiting", "new"):
            raise UsageError(f"request {args.request_id} is {d['status']}, not waiting for you")
        n = len(DisclosureRequest.decode(d["request"]).statements)
        if args.decline:
            with store.transaction():
                store.decide(args.request_id, "declined", None, "declined by the person")
            return report(
                args.json, {"request_id": args.request_id, "status": "declined"}, ["declined"]
            )
        chosen = (
            list(range(n)) if not args.only else sorted({int(x) - 1 for x in args.only.split(",")})
        )
        if any(not 0 <= k < n for k in chosen):
            raise UsageError(f"--only: statements are numbered 1..{n}")
        with store.transaction():
            store.decide(args.request_id, "allowed", chosen, "agreed by the person")
    finally:
        store.close()
    line = (
        f"allowed: statement(s) {', '.join(str(k + 1) for k in chosen)}; the running agent answers"
    )
    return report(args.json, {"request_id": args.request_id, "status": "allowed"}, [line])


def cmd_export(args: argparse.Namespace) -> int:
    from privbill.household import hpke
    from privbill.household.home import export_household

    home = _home(args)
    account = home.account_of(args.account)
    data = export_household(home, account, hpke.load_public(args.to))
    write_output(args.out, data, force=False, private=True)
    return report(
        args.json,
        {"account": account, "file": args.out, "bytes": len(data)},
        [f"{args.out}: household {account} sealed to {args.to}; this agent no longer serves it"],
    )


def cmd_import(args: argparse.Namespace) -> int:
    from privbill.household.home import import_household

    home = _home(args)
    account = import_household(home, read_bytes(args.file, "household export"))
    return report(
        args.json, {"account": account}, [f"household {account} imported into {home.path}"]
    )


def register(sub: Subparsers) -> None:
    a = sub.add_parser(
        "agent",
        help="the household agent: keep readings, bill each period, answer disclosures",
        description="The household's agent on its own device, a home server or an on-line "
        "delegate serving many households: receives the meter's messages over MQTT, checks and "
        "keeps them in a local store, bills each period through the provider service and "
        "answers the disclosures its consent policy allows (docs/deployment.md).",
    )
    asub = a.add_subparsers(dest="agent_command", required=True, metavar="ACTION")

    def home_arg(p: argparse.ArgumentParser) -> None:
        p.add_argument("--home", required=True, help="the agent's home directory")

    i = asub.add_parser("init", help="make an agent home; add a household",
                        description="Make the agent's home (its HPKE key pair, configuration) if "
                        "it does not exist; with --account, add a household served by it.")  # fmt: skip
    home_arg(i)
    i.add_argument("--delegate", action="store_true", help="a delegate serving many households")
    i.add_argument("--broker", default="127.0.0.1:1883", help="MQTT broker HOST:PORT")
    i.add_argument("--prefix", default="privbill/v1", help="MQTT topic prefix")
    i.add_argument("--account", help="add the household of this account")
    i.add_argument(
        "--cert", action="append", help="a meter certificate of the household (repeatable)"
    )
    i.add_argument("--provider-url", help="the provider service's URL")
    i.add_argument(
        "--provider-key", help="the provider's public key (default: fetched from the service)"
    )
    i.add_argument(
        "--customer-key", help="the household's key enrolled with the provider (disclosures)"
    )
    i.add_argument("--opening-key", help="the opening key shared with the meter(s), if any")
    i.add_argument("--policy", help="consent policy (TOML)")
    i.add_argument("--tariff", help="the tariff's name or hash, if several are published")
    add_json(i)
    i.set_defaults(func=cmd_init)

    r = asub.add_parser("run", help="run the agent", description="Run until stopped (SIGTERM).")
    home_arg(r)
    r.add_argument("--broker", help="MQTT broker HOST:PORT (default: the home's)")
    r.add_argument("--no-disclosures", action="store_true", help="do not fetch disclosure requests")
    r.add_argument(
        "--poll-seconds", type=float, default=30.0, help="disclosure requests poll interval"
    )
    r.add_argument("--for-seconds", type=float, help="stop after this long")
    r.add_argument("--web", type=int, nargs="?", const=8750, metavar="PORT",
                   help="also serve the household's page on 127.0.0.1:PORT (default 8750)")  # fmt: skip
    r.add_argument("--account", help="--web: the household shown (default: the only one)")
    add_json(r)
    r.set_defaults(func=cmd_run)

    w = asub.add_parser("web", help="serve the household's page on 127.0.0.1",
                        description="Serve the household's own page (its bill explained, plots, "
                        "what the provider received, the requests for its data) on 127.0.0.1 "
                        "beside the running agent; prints the address with a secret to open "
                        "it (docs/deployment.md).")  # fmt: skip
    home_arg(w)
    w.add_argument("--account", help="the household (default: the only one)")
    w.add_argument("--port", type=int, default=8750, help="port on 127.0.0.1 (0: any free one)")
    add_json(w)
    w.set_defaults(func=cmd_web)

    s = asub.add_parser("status", help="what the agent holds per household")
    home_arg(s)
    s.add_argument("--account", help="only this household")
    add_json(s)
    s.set_defaults(func=cmd_status)

    b = asub.add_parser("bills", help="a household's bills, receipts and explanations")
    home_arg(b)
    b.add_argument("--account", help="the household (default: the only one)")
    b.add_argument("--explain", metavar="PERIOD", help="explain the bill of this period (YYYY-MM)")
    b.add_argument("--receipt-out", nargs=2, metavar=("PERIOD", "FILE"), help="write a receipt")
    add_json(b)
    b.set_defaults(func=cmd_bills)

    c = asub.add_parser("consent", help="answer a disclosure request that waits for you")
    home_arg(c)
    c.add_argument("request_id", help="the request's id, as `agent status` shows it")
    c.add_argument("--account", help="the household (default: the only one)")
    g = c.add_mutually_exclusive_group()
    g.add_argument("--only", help="statements to disclose, e.g. 1,3 (default: all)")
    g.add_argument("--decline", action="store_true", help="disclose nothing")
    add_json(c)
    c.set_defaults(func=cmd_consent)

    e = asub.add_parser("export", help="seal a household's store to another agent")
    home_arg(e)
    e.add_argument("--account", help="the household (default: the only one)")
    e.add_argument("--to", required=True, help="the receiving agent's public key (agent.pub)")
    e.add_argument("--out", required=True, help="export file")
    add_json(e)
    e.set_defaults(func=cmd_export)

    m = asub.add_parser("import", help="install a household exported to this agent")
    home_arg(m)
    m.add_argument("file", help="the export file (sealed to this home's key)")
    add_json(m)
    m.set_defaults(func=cmd_import)
