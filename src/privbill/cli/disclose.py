"""``privbill disclose request|answer|verify``: selective disclosure on the command line.

* ``request`` — the provider turns a JSON list of statements into a signed request;
* ``answer`` — the customer sees the request in plain words, confirms (or ``--yes``); the
  answers are checked against the customer's disclosure ledger and policy (``--ledger``,
  ``--min-window``, ``--allow-open``), the ledger is updated and the response written;
* ``record-bill`` — add what a submitted bill discloses to the ledger;
* ``verify`` — anyone with the provider's public key checks a response against its request.

Exit status as for ``bill verify``: 0 valid, 1 a well-formed response that fails (or a request
that fails its checks, or a customer who declines), 2 unreadable input or bad usage.

The JSON statement list is read by :func:`privbill.disclosure.statements.parse_statements`
(``docs/disclosure.md``).
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any, Final

from privbill.cli.common import (
    Subparsers,
    View,
    add_force,
    add_json,
    add_progress,
    decode_as,
    error_view,
    load_certificate,
    load_meter_dir,
    load_opening_key,
    load_signing_key,
    load_tariff,
    load_verifying_key,
    refuse_existing,
    report,
    report_failure,
    step,
    write_output,
)
from privbill.disclosure import (
    Consent,
    DisclosureLedger,
    DisclosurePolicy,
    DisclosurePolicyError,
    DisclosureRequest,
    DisclosureResponse,
    MeterRef,
    StatementResult,
    VerifiedDisclosure,
    answer,
    describe,
    record_bill,
    verify,
)
from privbill.disclosure import model as disclosure_model
from privbill.disclosure.model import DEFAULT_LIFETIME_S, DEFAULT_MIN_WINDOW_S
from privbill.disclosure.statements import LIST_OBJ, parse_statements
from privbill.disclosure.verified import VerifiedDisclosureJSON
from privbill.disclosure.wording import describe_duration
from privbill.errors import DecodeError, PrivbillError, UsageError, VerificationError
from privbill.files import read_bytes
from privbill.model.bills import PaymentMessage
from privbill.model.periods import BillingPeriod, zone
from privbill.model.tariffs import SignedTariff

# --- commands --------------------------------------------------------------------------------


def cmd_request(args: argparse.Namespace) -> int:
    refuse_existing([args.out], args.force)
    key = load_signing_key(args.key, "provider key")
    certs = [load_certificate(p) for p in args.cert]
    for c in certs:
        c.verify(key.public_key())
    accounts = {c.account for c in certs}
    account = args.account or (accounts.pop() if len(accounts) == 1 else None)
    if account is None:
        raise UsageError("the certificates name several accounts: give --account")
    tariffs = [load_tariff(p) for p in args.tariff]
    tzname = args.timezone or (tariffs[0].body.timezone if tariffs else "UTC")
    tz = zone(tzname)
    period = BillingPeriod.parse(args.period, tz)
    meters = [MeterRef(c.meter_id, c.interval_s) for c in certs]
    statements = parse_statements(
        read_bytes(args.statements, LIST_OBJ), meters, period, tz, tariffs
    )
    if args.valid_days <= 0:
        raise UsageError("--valid-days must be positive")
    req = DisclosureRequest.create(
        key,
        requester=args.requester,
        purpose=args.purpose,
        account=account,
        meters=meters,
        period=period,
        timezone=tzname,
        statements=statements,
        lifetime_s=args.valid_days * 86400,
    )
    write_output(args.out, req.encode(), force=args.force)
    view = {
        "file": args.out,
        "statements": len(statements),
        "account": account,
        "request_id": req.request_id.hex(),
        "hash": req.hash().hex(),
        "timezone": tzname,
    }
    line = (
        f"{args.out}  {len(statements)} statement(s) for account {account}  "
        f"request {req.request_id.hex()}  hash {req.hash().hex()[:16]}"
    )
    return report(args.json, view, [line])


def _consented(text: str | None, count: int) -> list[int]:
    """1-based statement numbers (as shown) → 0-based indices."""
    if text is None:
        return list(range(count))
    out = set()
    for part in text.split(","):
        part = part.strip()
        if not part.isdigit() or not 1 <= int(part) <= count:
            raise UsageError(f"--only: {part!r} is not a statement number 1..{count}")
        out.add(int(part) - 1)
    return sorted(out)


LEDGER_FILE = "disclosure-ledger.pbl"
_UNITS = {"d": 86400, "h": 3600, "m": 60, "s": 1}


def parse_duration(text: str) -> int:
    """``"23h"``, ``"1d"``, ``"90m"``, ``"0"`` → seconds."""
    t = text.strip().lower()
    if t == "0":
        return 0
    if len(t) < 2 or t[-1] not in _UNITS or not t[:-1].isdigit():
        raise UsageError(f"--min-window {text!r}: expected a number and a unit (d, h, m, s)")
    return int(t[:-1]) * _UNITS[t[-1]]


def default_ledger(readings: list[str]) -> Path:
    """The customer's ledger next to the meter directories: ``<parent>/disclosure-ledger.pbl``."""
    parents = {Path(d).resolve().parent for d in readings}
    if len(parents) != 1:
        raise UsageError("the meter directories have different parents: give --ledger")
    return parents.pop() / LEDGER_FILE


def cmd_record_bill(args: argparse.Namespace) -> int:
    tariff = load_tariff(args.tariff)
    ledger = DisclosureLedger.load(args.ledger)
    entries = record_bill(ledger, read_bytes(args.bill, "payment message"), tariff)
    ledger.save(args.ledger)
    view: View = {
        "ledger": str(args.ledger),
        "recorded": len(entries),
        "entries": len(ledger.entries),
    }
    line = f"{args.ledger}  {len(entries)} figure(s) of the bill recorded, {len(ledger.entries)} in all"
    return report(args.json, view, [line])


def check_tariffs_given(
    req: DisclosureRequest, chosen: Sequence[int], tariffs: Sequence[SignedTariff]
) -> None:
    """Every register statement names its tariff by hash: it must be among ``--tariff``."""
    have = {t.hash() for t in tariffs}
    for k in chosen:
        needed = req.statements[k].tariff_hash()
        if needed is not None and needed not in have:
            raise UsageError(
                f"statement {k + 1} is about a period of the tariff "
                f"{needed.hex()[:16]}…: give that signed tariff with --tariff FILE",
                obj="tariff",
            )


def cmd_answer(args: argparse.Namespace) -> int:
    refuse_existing([args.out], args.force)
    provider = load_verifying_key(args.provider, "provider key")
    req_bytes = read_bytes(args.request, "disclosure request")
    req = decode_as(
        req_bytes,
        args.request,
        "disclosure request",
        disclosure_model.REQUEST_FORMAT,
        DisclosureRequest.decode,
    )
    req.verify(provider)  # only an authentic, current request is shown to the customer
    req.check_time(int(time.time()))
    policy = DisclosurePolicy(parse_duration(args.min_window), args.allow_open)
    ledger_path = args.ledger or default_ledger(args.readings)
    ledger = DisclosureLedger.load(ledger_path)
    tariffs = [load_tariff(p) for p in args.tariff]
    chosen = _consented(args.only, len(req.statements))
    check_tariffs_given(req, chosen, tariffs)
    okey = load_opening_key(args.opening_key)
    inputs = [load_meter_dir(d, okey) for d in args.readings]
    bill = read_bytes(args.bill, "payment message") if args.bill else None
    customer = (
        load_signing_key(args.customer_key, "customer key", "--customer-key")
        if args.customer_key
        else None
    )
    shown = sys.stderr if args.json else sys.stdout  # with --json, stdout holds the result only
    print(describe(req, tariffs, policy.min_window_s), file=shown)
    print(file=shown)
    numbers = ", ".join(str(k + 1) for k in chosen)
    if len(chosen) < len(req.statements):
        print(f"You are about to disclose statement(s) {numbers} only.", file=shown)
    if not args.yes:
        prompt = f"Disclose {numbers} to {req.requester}? [y/N] "
        try:
            if args.json:
                print(prompt, end="", file=shown, flush=True)
                reply = input("")
            else:
                reply = input(prompt)
        except EOFError:
            reply = ""
        if reply.strip().lower() not in ("y", "yes"):
            declined: View = {"declined": True, "file": None, "statements": []}
            return report(args.json, declined, ["Declined: nothing was disclosed."], 1)
    consent = Consent.create(req, chosen, key=customer)
    try:
        with step(args, f"answering {len(chosen)} statement(s)"):
            resp = answer(
                req,
                consent,
                [i.sealed for i in inputs],
                [o for i in inputs for o in i.openings],
                provider=provider,
                ledger=ledger,
                policy=policy,
                opening_key=okey,
                tariffs=tariffs,
                bill=bill,
            )
    except DisclosurePolicyError as exc:
        refused: View = {
            "declined": False,
            "refused": exc.detail,
            "file": None,
            "statements": [],
        }
        return report(args.json, refused, [f"REFUSED  {exc.detail}", "Nothing was disclosed."], 1)
    except VerificationError as exc:
        # The customer's own readings cannot answer: bad input to the answer, not a bad object.
        raise UsageError(f"cannot answer: {exc}") from None
    data = resp.encode()
    ledger.save(ledger_path)  # recorded before the answer leaves the device
    write_output(args.out, data, force=args.force)
    view: View = {
        "declined": False,
        "file": args.out,
        "statements": [k + 1 for k in chosen],
        "requester": req.requester,
        "bytes": len(data),
    }
    line = f"{args.out}  {len(chosen)} statement(s) answered for {req.requester}  {len(data)} bytes"
    return report(args.json, view, [line])


def _result_line(r: StatementResult, req: DisclosureRequest) -> str:
    return f"  {r.index + 1}. {req.statements[r.index].result_words(r, req)}"


#: The keys of a verified disclosure's JSON view, all ``None`` when it does not verify.
_NO_RESULT: Final[dict[str, None]] = dict.fromkeys(VerifiedDisclosureJSON.__annotations__)


def disclosure_view(
    v: VerifiedDisclosure | None, error: PrivbillError | None = None
) -> dict[str, Any]:
    """The JSON result of ``disclose verify``: the verified disclosure's one JSON view
    (:meth:`VerifiedDisclosure.to_json`), whether it is valid, the error and the time taken."""
    return {
        "valid": v is not None,
        **(error_view(error) if error else {"error": None, "error_type": None}),
        **(v.to_json() if v else _NO_RESULT),
        "seconds": round(v.seconds, 4) if v else None,
    }


def cmd_verify(args: argparse.Namespace) -> int:
    data = read_bytes(args.response, "disclosure response")
    req_bytes = read_bytes(args.request, "disclosure request")
    provider = load_verifying_key(args.provider, "provider key")
    tariffs = [load_tariff(p) for p in args.tariff]
    bill: bytes | PaymentMessage | None = (
        read_bytes(args.bill, "payment message") if args.bill else None
    )
    customer = load_verifying_key(args.customer_key, "customer key") if args.customer_key else None
    now = None
    if args.at:
        try:
            moment = datetime.fromisoformat(args.at)
        except ValueError:
            raise UsageError(f"--at {args.at!r} is not an ISO 8601 date-time") from None
        if moment.tzinfo is None:
            raise UsageError("--at needs a UTC offset")
        now = int(moment.timestamp())
    try:
        req = decode_as(
            req_bytes,
            args.request,
            "disclosure request",
            disclosure_model.REQUEST_FORMAT,
            DisclosureRequest.decode,
        )
        resp = decode_as(
            data,
            args.response,
            "disclosure response",
            disclosure_model.RESPONSE_FORMAT,
            DisclosureResponse.decode,
        )
        if resp.bill_hash is not None and bill is None:
            raise UsageError(
                "the response is attached to a payment message: give the bill with --bill FILE",
                obj="disclosure response",
            )
        if resp.request_hash == req.hash():
            check_tariffs_given(req, list(resp.consent.statements), tariffs)
        with step(args, "verifying the disclosure"):
            v = verify(
                data,
                req,
                provider,
                tariffs=tariffs,
                bill=bill,
                customer_key=customer,
                now=now,
                check_subgroup=args.strict_points,
            )
    except (VerificationError, DecodeError) as exc:
        return report_failure(args.json, exc, lambda e: disclosure_view(None, e))
    total = len(req.statements)
    lines = [
        f"VALID  disclosure to {v.requester}  account {v.account}  "
        f"{len(v.results)} of {total} statement(s)  (verified in {v.seconds:.2f} s)",
        *(_result_line(r, req) for r in v.results),
    ]
    if v.declined:
        lines.append(f"  declined: {', '.join(str(k + 1) for k in v.declined)}")
    return report(args.json, disclosure_view(v), lines)


# --- parser ----------------------------------------------------------------------------------


def register(subparsers: Subparsers) -> None:
    """Add ``disclose request|answer|verify`` to the ``privbill`` command's subparsers."""
    d = subparsers.add_parser(
        "disclose",
        help="selective disclosure: request, answer, verify",
        description="Consented disclosure of certified figures (docs/disclosure.md): the "
        "provider signs a request, the customer sees it in plain words and answers what they "
        "agree to, anyone verifies the answer.",
    )
    dsub = d.add_subparsers(dest="disclose_command", required=True, metavar="ACTION")

    r = dsub.add_parser(
        "request",
        help="sign a disclosure request (provider)",
        epilog="example:\n  privbill disclose request statements.json --key keys/provider.pem "
        '--cert keys/meter-0001.cert \\\n      --period 2026-01 --requester "Example Power" '
        '--purpose "billing reconciliation" --out request.pbq',
    )
    r.add_argument("statements", help="JSON list of statements (docs/disclosure.md)")
    r.add_argument("--key", required=True, help="provider private key (PEM)")
    r.add_argument(
        "--cert", action="append", required=True, help="certificate of a meter (repeatable)"
    )
    r.add_argument("--period", required=True, help="YYYY-MM or YYYY-MM-DD/YYYY-MM-DD")
    r.add_argument("--requester", required=True, help="who asks, as the customer knows them")
    r.add_argument(
        "--purpose",
        required=True,
        help='why, as a noun phrase the customer understands ("billing reconciliation")',
    )
    r.add_argument("--account", help="account (default: the certificates' account)")
    r.add_argument("--timezone", help="local time for dates (default: the tariff's, else UTC)")
    r.add_argument(
        "--tariff", action="append", default=[], help="signed tariff for register statements"
    )
    r.add_argument(
        "--valid-days",
        type=int,
        default=DEFAULT_LIFETIME_S // 86400,
        help="days the customer may answer",
    )
    r.add_argument("--out", required=True, help="request to write (.pbq)")
    add_force(r)
    add_json(r)
    r.set_defaults(func=cmd_request)

    a = dsub.add_parser(
        "answer",
        help="show a request, consent and answer it (customer)",
        description="Show a request in plain words, ask for consent (or --yes) and write the "
        "answer. Exit status 1 when the customer declines.",
        epilog="example:\n  privbill disclose answer request.pbq --provider keys/provider.pub "
        "--readings sealed/ \\\n      --opening-key keys/meter-0001.okey --out response.pbd",
    )
    a.add_argument("request", help="disclosure request (.pbq)")
    a.add_argument("--provider", required=True, help="provider public key (PEM)")
    a.add_argument(
        "--readings", action="append", required=True, help="a meter directory (repeatable)"
    )
    a.add_argument("--opening-key", help="shared opening key, if the meter derives blindings")
    a.add_argument("--only", help="consent to these statements only, e.g. 1,3 (default: all)")
    a.add_argument("--customer-key", help="sign the consent with this private key (PEM)")
    a.add_argument(
        "--tariff", action="append", default=[], help="signed tariff for register statements"
    )
    a.add_argument("--bill", help="attach to this payment message (refer to its seals)")
    a.add_argument("--yes", action="store_true", help="consent without asking")
    a.add_argument(
        "--ledger",
        help=f"the customer's disclosure ledger (default: {LEDGER_FILE} beside --readings)",
    )
    a.add_argument(
        "--min-window",
        default=f"{DEFAULT_MIN_WINDOW_S // 3600}h",
        help="refuse what would reveal readings of a shorter stretch, e.g. 23h, 1d, 0 "
        f"(default {describe_duration(DEFAULT_MIN_WINDOW_S)})",
    )
    a.add_argument("--allow-open", action="store_true", help="allow open statements")
    a.add_argument("--out", required=True, help="response to write (.pbd)")
    add_force(a)
    add_progress(a)
    add_json(a)
    a.set_defaults(func=cmd_answer, verifies=True)  # a request that fails its checks: 1

    b = dsub.add_parser(
        "record-bill",
        help="record what a submitted bill discloses (customer)",
        epilog="example:\n  privbill disclose record-bill bill.pbm --tariff tariff.pbt "
        "--ledger disclosure-ledger.pbl",
    )
    b.add_argument("bill", help="the payment message (.pbm)")
    b.add_argument("--tariff", required=True, help="the bill's signed tariff (.pbt)")
    b.add_argument("--ledger", required=True, help="the customer's disclosure ledger (.pbl)")
    add_json(b)
    b.set_defaults(func=cmd_record_bill)

    v = dsub.add_parser(
        "verify",
        help="verify a disclosure response",
        description="Exit status 0 for a valid response, 1 for one that fails, 2 for "
        "unreadable input or bad usage.",
        epilog="example:\n  privbill disclose verify response.pbd --request request.pbq "
        "--provider keys/provider.pub",
    )
    v.add_argument("response", help="disclosure response (.pbd)")
    v.add_argument("--request", required=True, help="the request it answers")
    v.add_argument("--provider", required=True, help="provider public key (PEM)")
    v.add_argument(
        "--tariff", action="append", default=[], help="signed tariff for register statements"
    )
    v.add_argument("--bill", help="the payment message an attached response refers to")
    v.add_argument("--customer-key", help="require the consent to be signed by this key")
    v.add_argument("--at", help="check the request's lifetime at this ISO 8601 time, not now")
    v.add_argument(
        "--strict-points",
        action="store_true",
        help="also check subgroup membership of sealed commitments",
    )
    add_progress(v)
    add_json(v)
    v.set_defaults(func=cmd_verify, verifies=True, json_error=lambda e: disclosure_view(None, e))
