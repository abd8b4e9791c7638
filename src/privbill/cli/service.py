"""Commands of the provider service: ``serve``, ``worker``, ``submit``, ``provider …`` and
``dispute verify``.

Registered into the ``privbill`` command by :func:`register`. ``dispute verify`` needs no service
and no database. Exit status as elsewhere: 0 success, 1 a well-formed object that fails (an
invalid bill, a bundle that does not verify), 2 bad input or usage, or an error from the service.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from typing import Any

from privbill.cli.common import (
    Subparsers,
    View,
    add_force,
    add_json,
    error_view,
    load_signing_key,
    load_verifying_key,
    refuse_existing,
    report,
    write_output,
)
from privbill.crypto.signatures import SigningKey
from privbill.errors import UsageError, VerificationError
from privbill.files import read_bytes

DEFAULT_DB = "sqlite:///privbill-service.db"
DEFAULT_URL = "http://127.0.0.1:8080"


def _signing_key(path: str, what: str) -> SigningKey:
    return load_signing_key(path, what, "--provider-key")


def _token(args: argparse.Namespace) -> str:
    token: str | None = args.token or os.environ.get("PRIVBILL_TOKEN")
    if not token:
        raise UsageError("an operator token is needed: --token or $PRIVBILL_TOKEN")
    return token


def _client(args: argparse.Namespace, **kw: Any) -> Any:
    from privbill.service.client import Client

    return Client(args.to, **kw)


def _call(fn: Any) -> Any:
    """Turn a service error into the CLI's error (exit 2) with the service's message."""
    from privbill.service.client import ServiceCallError

    try:
        return fn()
    except ServiceCallError as exc:
        raise UsageError(str(exc), obj="service") from None
    except OSError as exc:  # connection refused and friends
        raise UsageError(f"cannot reach the service: {exc}", obj="service") from None
    except Exception as exc:
        import httpx

        if isinstance(exc, httpx.HTTPError):
            raise UsageError(f"cannot reach the service: {exc}", obj="service") from None
        raise


# --- serve and worker ----------------------------------------------------------------------------


def cmd_serve(args: argparse.Namespace) -> int:
    import uvicorn

    from privbill.service import logs
    from privbill.service.app import ServiceConfig, create_app
    from privbill.service.db import migrate

    logs.setup(args.log_level)
    key = _signing_key(args.provider_key, "provider key")
    if not args.no_migrate:
        migrate(args.db)
    if args.publish_tariff or args.enrol_cert:
        _bootstrap(args.db, key, args.publish_tariff, args.enrol_cert)
    config = ServiceConfig(
        db_url=args.db,
        provider_key=key,
        workers=args.workers,
        max_bill_bytes=args.max_bill_mib * 1024 * 1024,
        submit_rate=args.submit_rate,
        submit_burst=max(1, int(args.submit_rate * 2)),
        lease_s=args.lease_seconds,
        shutdown_grace_s=args.grace_seconds,
    )
    app = create_app(config)
    from privbill.service.logs import uvicorn_log_config

    uvicorn.run(
        app,
        host=args.host,
        port=args.port,
        log_config=uvicorn_log_config(),
        timeout_graceful_shutdown=int(args.grace_seconds),
        access_log=False,
    )
    return 0


def _bootstrap(url: str, key: SigningKey, tariffs: list[str], certs: list[str]) -> None:
    """Publish tariffs and register certificates given on the command line (quick start)."""
    from privbill.model.certificates import MeterCertificate
    from privbill.service import core
    from privbill.service.db import make_engine

    engine = make_engine(url)
    try:
        for path in tariffs:
            view = core.publish_tariff(engine, key.public_key(), read_bytes(path, "tariff"))
            print(f"tariff {view['name']}  {view['tariff_hash'][:16]}", file=sys.stderr)
        for path in certs:
            cert = MeterCertificate.decode(read_bytes(path, "meter certificate"))
            core.register_certificate(engine, key.public_key(), cert)
            print(f"meter {cert.meter_id}  account {cert.account}", file=sys.stderr)
    finally:
        engine.dispose()


def cmd_worker(args: argparse.Namespace) -> int:
    from privbill.service import logs
    from privbill.service.db import is_postgres, migrate, normalise_url

    logs.setup(args.log_level)
    key = _signing_key(args.provider_key, "provider key")
    if args.migrate:
        migrate(args.db)
    if args.metrics_port:
        from prometheus_client import start_http_server

        from privbill.service.metrics import REGISTRY

        start_http_server(args.metrics_port, addr="127.0.0.1", registry=REGISTRY)
    if is_postgres(normalise_url(args.db)):
        from privbill.service.pgqueue import run_worker

        run_worker(
            args.db,
            key,
            concurrency=args.concurrency,
            heartbeat_s=args.heartbeat_seconds,
            stalled_s=args.stalled_seconds,
        )
        return 0
    import signal
    import threading

    from privbill.service.localqueue import LocalDispatcher

    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    d = LocalDispatcher(args.db, key, args.processes, lease_s=args.lease_seconds)
    d.start()
    while not stop.wait(0.5):
        pass
    d.stop(args.grace_seconds)
    return 0


# --- submit ---------------------------------------------------------------------------------------


def _submit_when_up(c: Any, bill: bytes, query: dict[str, str], wait_s: float) -> Any:
    """Submit; while the service is not listening yet (just started), retry for ``wait_s``."""
    import httpx

    deadline = time.monotonic() + wait_s
    while True:
        try:
            return _call(lambda: c.submit(bill, **query))
        except UsageError as exc:
            refused = isinstance(exc.__context__, httpx.ConnectError)
            if not refused or time.monotonic() > deadline:
                raise
        time.sleep(0.25)


def cmd_submit(args: argparse.Namespace) -> int:
    from privbill.service.client import Client

    bill = read_bytes(args.bill, "payment message")
    customer = None
    if args.key:
        if not args.account:
            from privbill.model.register_bills import decode_bill

            args.account = decode_bill(bill).account
        customer = (args.account, load_signing_key(args.key, "customer key", "--key"))
    query: dict[str, str] = {}
    if args.supersedes or args.reason:
        if not (args.supersedes and args.reason):
            raise UsageError("--supersedes and --reason come together")
        query = {"supersedes": args.supersedes, "reason": args.reason}
    with Client(args.to, customer=customer) as c:
        sub = _submit_when_up(c, bill, query, args.connect_wait)
    h = sub["bill_hash"]
    word = "accepted" if sub["status"] == "pending" else sub["status"]
    print(f"{word}  bill {h[:16]}…  ({len(bill)} bytes)", file=sys.stderr)
    if not args.wait:
        return report(args.json, dict(sub), [h])
    t0 = time.monotonic()
    delay = 0.05
    with Client(args.to, bill_token=sub["token"]) as c:
        while True:
            status = _call(lambda: c.json("GET", f"/v1/bills/{h}"))
            elapsed = time.monotonic() - t0
            if status["status"] != "pending":
                break
            if sys.stderr.isatty():
                print(f"\rwaiting for verification … {elapsed:5.1f} s", end="", file=sys.stderr)
            if elapsed > args.timeout:
                print("", file=sys.stderr)
                raise UsageError(f"no result after {args.timeout:.0f} s (still pending)")
            time.sleep(delay)
            delay = min(0.5, delay * 1.5)
        if sys.stderr.isatty():
            print("\r" + " " * 40 + "\r", end="", file=sys.stderr)
        receipt = None
        if status["status"] in ("valid", "superseded"):
            receipt = _call(lambda: c.cbor(f"/v1/bills/{h}/receipt"))
            if args.receipt_out:
                write_output(args.receipt_out, receipt, force=args.force)
    if status["status"] == "invalid":
        return report(args.json, dict(status), [f"INVALID  {status['error']}"], 1)
    r = status["result"]
    line = (
        f"VALID  {r['period']['label']}  account {r['account']}  {r['readings']} readings  "
        f"total {r['currency']} {r['amount']}  receipt {'saved' if args.receipt_out else 'issued'}"
    )
    return report(args.json, dict(status), [line])


# --- provider -------------------------------------------------------------------------------------


def cmd_token(args: argparse.Namespace) -> int:
    from privbill.service.auth import SCOPES, create_operator_token
    from privbill.service.db import make_engine, migrate

    scopes = list(SCOPES) if "all" in args.scope else args.scope
    migrate(args.db)
    engine = make_engine(args.db)
    try:
        token = create_operator_token(engine, args.name, scopes)
    finally:
        engine.dispose()
    return report(args.json, {"name": args.name, "scopes": scopes, "token": token}, [token])


def cmd_publish_tariff(args: argparse.Namespace) -> int:
    data = read_bytes(args.tariff, "tariff")
    with _client(args, token=_token(args)) as c:
        view = _call(
            lambda: c.json("POST", "/v1/tariffs", body=data, content_type="application/cbor")
        )
    return report(args.json, view, [f"published  {view['name']}  {view['tariff_hash']}"])


def cmd_enrol_meter(args: argparse.Namespace) -> int:
    if args.out:
        refuse_existing([args.out], args.force)
    with _client(args, token=_token(args)) as c:
        if args.cert:
            data = read_bytes(args.cert, "meter certificate")
            view = _call(
                lambda: c.json(
                    "POST", "/v1/certificates", body=data, content_type="application/cbor"
                )
            )
        else:
            if not (args.meter_id and args.account and args.meter_key):
                raise UsageError("give --cert, or --meter-id, --account and --meter-key")
            pem = read_bytes(args.meter_key, "meter public key").decode("ascii", "replace")
            spec = {
                "meter_id": args.meter_id,
                "account": args.account,
                "public_key_pem": pem,
                "interval_s": args.interval * 60,
            }
            view = _call(lambda: c.json("POST", "/v1/meters", json_body=spec))
            if args.out:
                write_output(args.out, bytes.fromhex(view["certificate_hex"]), force=args.force)
        if args.customer_key:
            pem = read_bytes(args.customer_key, "customer key").decode("ascii", "replace")
            _call(
                lambda: c.json(
                    "PUT", f"/v1/accounts/{view['account']}", json_body={"customer_key_pem": pem}
                )
            )
    line = (
        f"enrolled  meter {view['meter_id']}  account {view['account']}  {view['cert_hash'][:16]}"
    )
    return report(args.json, view, [line])


def cmd_enrol_account(args: argparse.Namespace) -> int:
    pem = read_bytes(args.customer_key, "customer key").decode("ascii", "replace")
    with _client(args, token=_token(args)) as c:
        view = _call(
            lambda: c.json(
                "PUT", f"/v1/accounts/{args.account}", json_body={"customer_key_pem": pem}
            )
        )
    line = f"enrolled  account {view['account']}  customer key {view['customer_key_id'][:16]}"
    return report(args.json, view, [line])


def cmd_revoke_meter(args: argparse.Namespace) -> int:
    with _client(args, token=_token(args)) as c:
        view = _call(
            lambda: c.json(
                "POST", f"/v1/meters/{args.meter_id}/revoke", json_body={"reason": args.reason}
            )
        )
    line = f"revoked  meter {view['meter_id']}  {len(view['revoked'])} certificate(s)"
    return report(args.json, view, [line])


def cmd_request_disclosure(args: argparse.Namespace) -> int:
    if args.out:
        refuse_existing([args.out], args.force)
    try:
        statements = json.loads(read_bytes(args.statements, "statement list"))
    except (ValueError, RecursionError) as exc:
        raise UsageError(f"not valid JSON: {exc}", obj="statement list") from None
    if isinstance(statements, dict) and set(statements) == {"statements"}:
        statements = statements["statements"]
    spec = {
        "account": args.account,
        "period": args.period,
        "statements": statements,
        "requester": args.requester,
        "purpose": args.purpose,
        "tariffs": args.tariff,
        "valid_days": args.valid_days,
    }
    if args.timezone:
        spec["timezone"] = args.timezone
    with _client(args, token=_token(args)) as c:
        view = _call(lambda: c.json("POST", "/v1/disclosures", json_body=spec))
    if args.out:
        write_output(args.out, bytes.fromhex(view["request_hex"]), force=args.force)
    line = f"request {view['request_id']}  {view['statements']} statement(s) for {view['account']}"
    return report(args.json, view, [line])


def cmd_export_dispute(args: argparse.Namespace) -> int:
    refuse_existing([args.out], args.force)
    with _client(args, token=_token(args)) as c:
        data = _call(lambda: c.cbor(f"/v1/bills/{args.bill_hash}/dispute"))
    write_output(args.out, data, force=args.force)
    view: View = {"file": args.out, "bill_hash": args.bill_hash, "bytes": len(data)}
    line = f"{args.out}  dispute bundle for bill {args.bill_hash[:16]}…  {len(data)} bytes"
    return report(args.json, view, [line])


# --- dispute verify (offline) ---------------------------------------------------------------------


def cmd_dispute_verify(args: argparse.Namespace) -> int:
    from privbill.dispute import DisputeBundle, verify_bundle

    data = read_bytes(args.bundle, "dispute bundle")
    trusted = load_verifying_key(args.provider, "provider key") if args.provider else None
    try:
        bundle = DisputeBundle.decode(data)
        v = verify_bundle(bundle, trusted)
    except VerificationError as exc:
        return report(args.json, {"valid": False, **error_view(exc)}, [f"INVALID  {exc}"], 1)
    r = bundle.receipt
    view: View = {
        "valid": True,
        "bill": v.to_json(),
        "provider_key_id": bundle.provider_key.key_id.hex(),
        "receipt_issued_at": r.issued_at,
        "provider_trusted": trusted is not None,
    }
    note = "" if trusted else "  (compare with the provider's published key id)"
    lines = [
        f"VALID  {v.period_label}  account {v.account}  {v.readings} readings  "
        f"total {v.currency} {v.amount}  receipt issued {r.issued_at}",
        f"  provider key {bundle.provider_key.key_id.hex()}{note}",
    ]
    return report(args.json, view, lines)


# --- parser ---------------------------------------------------------------------------------------


def _remote(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--to",
        default=os.environ.get("PRIVBILL_URL", DEFAULT_URL),
        help="the service's URL ($PRIVBILL_URL)",
    )
    p.add_argument("--token", help="operator token (default: $PRIVBILL_TOKEN)")
    add_json(p)


def register(subparsers: Subparsers) -> None:
    """Add the service commands to the ``privbill`` command's subparsers."""
    s = subparsers.add_parser(
        "serve",
        help="run the provider's HTTP service",
        epilog="example:\n  privbill serve --db sqlite:///privbill-service.db "
        "--provider-key keys/provider.pem",
    )
    s.add_argument(
        "--db", default=DEFAULT_DB, help="sqlite:///FILE or postgresql+psycopg://USER@HOST/DB"
    )
    s.add_argument("--provider-key", required=True, help="provider private key (PEM)")
    s.add_argument("--host", default="127.0.0.1", help="address to listen on")
    s.add_argument("--port", type=int, default=8080, help="port to listen on")
    s.add_argument(
        "--workers",
        type=int,
        default=2,
        help="verification processes in this server (SQLite; 0: use `privbill worker`)",
    )
    s.add_argument(
        "--publish-tariff", action="append", default=[], help="publish this tariff at start"
    )
    s.add_argument(
        "--enrol-cert", action="append", default=[], help="register this meter certificate at start"
    )
    s.add_argument("--max-bill-mib", type=int, default=16, help="largest bill accepted, in MiB")
    s.add_argument("--submit-rate", type=float, default=200.0, help="submissions/s per client")
    s.add_argument(
        "--lease-seconds", type=float, default=30.0, help="a verification's lease on its bill"
    )
    s.add_argument("--grace-seconds", type=float, default=30.0, help="graceful shutdown limit")
    s.add_argument("--no-migrate", action="store_true", help="do not upgrade the schema at start")
    s.add_argument("--log-level", default="info", help="debug, info, warning or error")
    add_json(s)
    s.set_defaults(func=cmd_serve)

    w = subparsers.add_parser(
        "worker",
        help="verify submitted bills (any machine reaching the db)",
        epilog="example:\n  privbill worker --db postgresql+psycopg://privbill@db/privbill "
        "--provider-key keys/provider.pem",
    )
    w.add_argument(
        "--db", default=DEFAULT_DB, help="sqlite:///FILE or postgresql+psycopg://USER@HOST/DB"
    )
    w.add_argument("--provider-key", required=True, help="provider private key (signs receipts)")
    w.add_argument("--processes", type=int, default=1, help="local pool size (SQLite)")
    w.add_argument("--concurrency", type=int, default=1, help="jobs at once (PostgreSQL)")
    w.add_argument(
        "--heartbeat-seconds", type=float, default=10.0, help="how often the worker says it lives"
    )
    w.add_argument(
        "--stalled-seconds",
        type=float,
        default=30.0,
        help="re-queue jobs of workers silent this long",
    )
    w.add_argument(
        "--lease-seconds", type=float, default=30.0, help="a verification's lease on its bill"
    )
    w.add_argument("--grace-seconds", type=float, default=30.0, help="graceful shutdown limit")
    w.add_argument("--metrics-port", type=int, help="serve Prometheus metrics on 127.0.0.1:PORT")
    w.add_argument("--migrate", action="store_true", help="upgrade the schema first")
    w.add_argument("--log-level", default="info", help="debug, info, warning or error")
    add_json(w)
    w.set_defaults(func=cmd_worker)

    sb = subparsers.add_parser(
        "submit",
        help="submit a payment message and wait for the receipt",
        description="Exit status 0 for a bill the service verified, 1 for one it found "
        "invalid, 2 for bad input or a service error.",
        epilog="example:\n  privbill submit bill.pbm --to http://127.0.0.1:8080 "
        "--receipt-out receipt.pbr",
    )
    sb.add_argument("bill", help="payment message (.pbm)")
    sb.add_argument(
        "--to",
        default=os.environ.get("PRIVBILL_URL", DEFAULT_URL),
        help="the service's URL ($PRIVBILL_URL)",
    )
    sb.add_argument("--no-wait", dest="wait", action="store_false", help="return once accepted")
    sb.add_argument("--timeout", type=float, default=300.0, help="seconds to wait for the result")
    sb.add_argument(
        "--connect-wait",
        type=float,
        default=15.0,
        help="keep trying this long while the service is not listening yet",
    )
    sb.add_argument("--receipt-out", help="write the receipt here (.pbr)")
    sb.add_argument("--key", help="customer key (PEM): sign the request as the account")
    sb.add_argument("--account", help="account to sign as (default: the bill's)")
    sb.add_argument("--supersedes", help="hash of the bill this one replaces")
    sb.add_argument("--reason", help="why it is replaced (recorded)")
    add_force(sb)
    add_json(sb)
    sb.set_defaults(func=cmd_submit, verifies=True)

    p = subparsers.add_parser("provider", help="operate the provider service")
    psub = p.add_subparsers(dest="provider_command", required=True, metavar="ACTION")
    t = psub.add_parser(
        "token",
        help="create an operator token (direct database access)",
        epilog="example:\n  privbill provider token --db sqlite:///privbill-service.db "
        "--name ops --scope all",
    )
    t.add_argument(
        "--db", default=DEFAULT_DB, help="sqlite:///FILE or postgresql+psycopg://USER@HOST/DB"
    )
    t.add_argument("--name", required=True, help="who or what the token is for")
    t.add_argument("--scope", action="append", required=True, help="a scope, or 'all' (repeatable)")
    add_json(t)
    t.set_defaults(func=cmd_token)
    pt = psub.add_parser(
        "publish-tariff",
        help="publish a signed tariff",
        epilog="example:\n  privbill provider publish-tariff tariff.pbt",
    )
    pt.add_argument("tariff", help="signed tariff (.pbt)")
    _remote(pt)
    pt.set_defaults(func=cmd_publish_tariff)
    em = psub.add_parser(
        "enrol-meter",
        help="issue or register a meter certificate",
        epilog="example:\n  privbill provider enrol-meter --cert keys/meter-0001.cert "
        "--customer-key customer.pub",
    )
    em.add_argument("--cert", help="register this certificate (made by `privbill keygen`)")
    em.add_argument("--meter-id", help="the meter to certify (without --cert)")
    em.add_argument("--account", help="the account the meter bills (without --cert)")
    em.add_argument("--meter-key", help="meter public key (PEM) to certify")
    em.add_argument("--interval", type=int, default=15, help="meter interval in minutes")
    em.add_argument("--customer-key", help="also enrol the account's customer key (PEM)")
    em.add_argument("--out", help="write the issued certificate here")
    add_force(em)
    _remote(em)
    em.set_defaults(func=cmd_enrol_meter)
    ea = psub.add_parser(
        "enrol-account",
        help="enrol an account's customer key",
        epilog="example:\n  privbill provider enrol-account --account acct-42 "
        "--customer-key customer.pub",
    )
    ea.add_argument("--account", required=True, help="the account")
    ea.add_argument("--customer-key", required=True, help="customer public key (PEM)")
    _remote(ea)
    ea.set_defaults(func=cmd_enrol_account)
    rm = psub.add_parser(
        "revoke-meter",
        help="revoke a meter's certificates",
        epilog="example:\n  privbill provider revoke-meter 0001 --reason 'meter replaced'",
    )
    rm.add_argument("meter_id", help="the meter")
    rm.add_argument("--reason", required=True, help="why (recorded)")
    _remote(rm)
    rm.set_defaults(func=cmd_revoke_meter)
    rd = psub.add_parser(
        "request-disclosure",
        help="ask an account for a consented disclosure",
        epilog="example:\n  privbill provider request-disclosure examples/statements.json "
        "--account acct-42 --period 2026-01 --requester 'Example Power' --purpose settlement",
    )
    rd.add_argument("statements", help="JSON statement list (docs/disclosure.md)")
    rd.add_argument("--account", required=True, help="the account asked")
    rd.add_argument("--period", required=True, help="YYYY-MM or YYYY-MM-DD/YYYY-MM-DD")
    rd.add_argument("--requester", required=True, help="who asks, as shown to the customer")
    rd.add_argument("--purpose", required=True, help="why, as shown to the customer")
    rd.add_argument("--timezone", help="IANA timezone of the dates (default: the meter's tariff)")
    rd.add_argument(
        "--tariff", action="append", default=[], help="tariff hash for register statements"
    )
    rd.add_argument("--valid-days", type=int, default=14, help="days the request stays open")
    rd.add_argument("--out", help="also write the signed request here")
    add_force(rd)
    _remote(rd)
    rd.set_defaults(func=cmd_request_disclosure)
    ed = psub.add_parser(
        "export-dispute",
        help="export a bill's dispute bundle",
        epilog="example:\n  privbill provider export-dispute BILL_HASH --out bill.pbx",
    )
    ed.add_argument("bill_hash", help="the bill's hash (hex)")
    ed.add_argument("--out", required=True, help="dispute bundle to write (.pbx)")
    add_force(ed)
    _remote(ed)
    ed.set_defaults(func=cmd_export_dispute)

    d = subparsers.add_parser("dispute", help="check dispute bundles offline")
    dsub = d.add_subparsers(dest="dispute_command", required=True, metavar="ACTION")
    dv = dsub.add_parser(
        "verify",
        help="verify a dispute bundle (no service, no database)",
        description="Exit status 0 for a bundle that verifies, 1 for one that does not, 2 for "
        "unreadable input.",
        epilog="example:\n  privbill dispute verify bill.pbx --provider keys/provider.pub",
    )
    dv.add_argument("bundle", help="dispute bundle (.pbx)")
    dv.add_argument("--provider", help="the provider public key you trust (PEM)")
    add_json(dv)
    dv.set_defaults(func=cmd_dispute_verify, verifies=True)
