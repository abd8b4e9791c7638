"""``privbill disclose request|answer|verify``: selective disclosure on the command line.

* ``request`` — the provider turns a JSON list of statements into a signed request;
* ``answer`` — the customer sees the request in plain words, confirms (or ``--yes``); the
  answers are checked against the customer's disclosure ledger and policy (``--ledger``,
  ``--min-window``, ``--allow-open``), the ledger is updated and the response written;
* ``record-bill`` — add what a submitted bill discloses to the ledger;
* ``verify`` — anyone with the provider's public key checks a response against its request.

Exit status as for ``bill verify``: 0 valid, 1 a well-formed response that fails (or a request
that fails its checks, or a customer who declines), 2 unreadable input or bad usage.

The JSON statement list (``docs/disclosure.md``)::

    [{"kind": "sum", "meter": "0001"},
     {"kind": "sum", "meter": "0001", "from": "2026-01-05", "to": "2026-01-06"},
     {"kind": "sum", "meter": "0001", "register": "winter on-peak"},
     {"kind": "open", "meter": "0001", "at": ["2026-01-05T18:00:00-07:00"]},
     {"kind": "weighted-sum", "meter": "0001", "step_minutes": 60, "unit": "g/kWh",
      "from": "2026-01-05", "to": "2026-01-06", "weights": [412, 398, ...]},
     {"kind": "threshold", "meter": "0001", "test": "each-at-most", "bound_kwh": "3.5",
      "from": "2026-01-05", "to": "2026-01-06"}]

Times are dates (local midnight in the request's timezone) or ISO 8601 date-times with a UTC
offset; without ``from``/``to`` a statement covers the whole period. ``meter`` may be left out
when the request is about one meter.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Mapping, Sequence
from datetime import date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

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
from privbill.disclosure import StatementResult, VerifiedDisclosure, answer, record_bill, verify
from privbill.errors import DecodeError, PrivbillError, UsageError, VerificationError
from privbill.files import read_bytes
from privbill.model import disclosures, money
from privbill.model.bills import PaymentMessage
from privbill.model.disclosures import (
    DEFAULT_LIFETIME_S,
    DEFAULT_MIN_WINDOW_S,
    THRESHOLD_TESTS,
    Consent,
    DisclosurePolicyError,
    DisclosureRequest,
    DisclosureResponse,
    MeterRef,
    OpenReadings,
    Register,
    Selector,
    Statement,
    Sum,
    Threshold,
    WeightedSum,
    WholePeriod,
    Window,
    describe,
    describe_duration,
    describe_span,
)
from privbill.model.ledger import DisclosureLedger, DisclosurePolicy
from privbill.model.periods import BillingPeriod, local_midnight, zone
from privbill.model.tariffs import SignedTariff, TimeOfUse

OBJ = "statement list"


# --- the JSON statement list -----------------------------------------------------------------


def _err(k: int, key: str | None, message: str) -> UsageError:
    return UsageError(message, obj=OBJ, field=f"[{k}].{key}" if key else f"[{k}]")


def _time(value: Any, tz: ZoneInfo, k: int, key: str) -> int:
    if not isinstance(value, str):
        raise _err(k, key, "expected a date (YYYY-MM-DD) or an ISO 8601 date-time with offset")
    try:
        if len(value) == 10:
            return local_midnight(date.fromisoformat(value), tz)
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise _err(k, key, f"{value!r} is not an ISO 8601 date or date-time") from None
    if moment.tzinfo is None:
        raise _err(k, key, f"{value!r} has no UTC offset")
    return int(moment.timestamp())


def _selector(
    item: Mapping[str, Any],
    k: int,
    tz: ZoneInfo,
    period: BillingPeriod,
    tariffs: list[SignedTariff],
) -> Selector:
    if "register" in item:
        if "from" in item or "to" in item:
            raise _err(k, "register", "a register covers the whole period; drop from/to")
        return _register(item["register"], k, tariffs)
    if "from" not in item and "to" not in item:
        return WholePeriod()
    start = _time(item["from"], tz, k, "from") if "from" in item else period.start
    end = _time(item["to"], tz, k, "to") if "to" in item else period.end
    if (start, end) == (period.start, period.end):
        return WholePeriod()
    return Window(start, end)


def _register(value: Any, k: int, tariffs: list[SignedTariff]) -> Register:
    tous = [(t, t.body.energy) for t in tariffs if isinstance(t.body.energy, TimeOfUse)]
    if not tous:
        raise _err(k, "register", "a register statement needs --tariff (a time-of-use tariff)")
    for t, energy in tous:
        names = energy.period_names
        if isinstance(value, int) and not isinstance(value, bool) and 0 <= value < len(names):
            return Register(t.hash(), value)
        if isinstance(value, str) and value in names:
            return Register(t.hash(), names.index(value))
    known = [n for _, e in tous for n in e.period_names]
    raise _err(k, "register", f"unknown register {value!r}; the tariff has {known}")


def _bound(item: Mapping[str, Any], k: int) -> int:
    if ("bound_wh" in item) == ("bound_kwh" in item):
        raise _err(k, None, "give exactly one of bound_wh (integer) and bound_kwh (decimal text)")
    if "bound_wh" in item:
        wh = item["bound_wh"]
        if isinstance(wh, bool) or not isinstance(wh, int):
            raise _err(k, "bound_wh", "expected an integer number of Wh")
        return wh
    try:
        return money.parse_scaled(item["bound_kwh"], 3)
    except money.AmountError as exc:
        raise _err(k, "bound_kwh", str(exc)) from None


_KEYS = {
    "open": {"kind", "meter", "at", "indices"},
    "sum": {"kind", "meter", "from", "to", "register"},
    "weighted-sum": {"kind", "meter", "from", "to", "step_minutes", "weights", "unit"},
    "threshold": {"kind", "meter", "from", "to", "register", "test", "bound_wh", "bound_kwh"},
}


def parse_statements(
    text: bytes,
    meters: list[MeterRef],
    period: BillingPeriod,
    tz: ZoneInfo,
    tariffs: list[SignedTariff],
) -> list[Statement]:
    """The statements of a JSON statement list (see the module docstring)."""
    try:
        items = json.loads(text)
    except (json.JSONDecodeError, UnicodeDecodeError, RecursionError) as exc:
        raise UsageError(f"not valid JSON: {exc}", obj=OBJ) from None
    if isinstance(items, dict) and set(items) == {"statements"}:
        items = items["statements"]
    if not isinstance(items, list) or not items:
        raise UsageError("expected a non-empty JSON list of statements", obj=OBJ)
    lengths = {m.meter_id: m.interval_s for m in meters}
    out: list[Statement] = []
    for k, item in enumerate(items):
        if not isinstance(item, dict):
            raise _err(k, None, "expected a JSON object")
        kind = item.get("kind")
        if kind not in _KEYS:
            raise _err(k, "kind", f"expected one of {sorted(_KEYS)}")
        extra = sorted(set(item) - _KEYS[kind])
        if extra:
            raise _err(k, extra[0], f"unknown key for a {kind} statement")
        meter = item.get("meter")
        if meter is None:
            if len(lengths) != 1:
                raise _err(k, "meter", "name the meter (the request is about several)")
            meter = next(iter(lengths))
        if meter not in lengths:
            raise _err(k, "meter", f"no --cert for meter {meter!r}")
        step = lengths[meter]
        if kind == "open":
            out.append(OpenReadings(meter, tuple(_open_indices(item, k, step, tz))))
            continue
        sel = _selector(item, k, tz, period, tariffs)
        if kind == "sum":
            out.append(Sum(meter, sel))
        elif kind == "weighted-sum":
            if isinstance(sel, Register):
                raise _err(k, "register", "a weighted sum needs a window")
            minutes = item.get("step_minutes", step // 60)
            weights = item.get("weights")
            if not isinstance(weights, list) or not all(
                isinstance(w, int) and not isinstance(w, bool) for w in weights
            ):
                raise _err(k, "weights", "expected a list of integers")
            if isinstance(minutes, bool) or not isinstance(minutes, int):
                raise _err(k, "step_minutes", "expected an integer number of minutes")
            unit = item.get("unit")
            if not isinstance(unit, str):
                raise _err(k, "unit", 'expected the unit of the weights, e.g. "g/kWh"')
            out.append(WeightedSum(meter, sel, minutes * 60, tuple(weights), unit))
        else:
            test = item.get("test")
            if test not in THRESHOLD_TESTS:
                raise _err(k, "test", f"expected one of {list(THRESHOLD_TESTS)}")
            out.append(Threshold(meter, sel, test, _bound(item, k)))
    return out


def _open_indices(item: Mapping[str, Any], k: int, step: int, tz: ZoneInfo) -> list[int]:
    if ("at" in item) == ("indices" in item):
        raise _err(k, None, "give exactly one of at (start times) and indices")
    if "indices" in item:
        idx = item["indices"]
        if not isinstance(idx, list) or not all(
            isinstance(i, int) and not isinstance(i, bool) for i in idx
        ):
            raise _err(k, "indices", "expected a list of interval indices")
        return sorted(idx)
    times = item["at"]
    if not isinstance(times, list) or not times:
        raise _err(k, "at", "expected a list of interval start times")
    out = []
    for t in times:
        ts = _time(t, tz, k, "at")
        if ts % step:
            raise _err(k, "at", f"{t} is not the start of a {step // 60}-minute interval")
        out.append(ts // step)
    return sorted(out)


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
    statements = parse_statements(read_bytes(args.statements, OBJ), meters, period, tz, tariffs)
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
        sel = getattr(req.statements[k], "select", None)
        if isinstance(sel, Register) and sel.tariff_hash not in have:
            raise UsageError(
                f"statement {k + 1} is about a period of the tariff "
                f"{sel.tariff_hash.hex()[:16]}…: give that signed tariff with --tariff FILE",
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
        disclosures.REQUEST_FORMAT,
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
    tz = req.tz
    head = f"  {r.index + 1}. {r.kind:<12} meter {r.meter_id}  {r.intervals} reading(s)"
    if r.kind == "sum" and r.value is not None:
        return f"{head}: {money.format_scaled(r.value, 3)} kWh"
    if r.kind == "weighted-sum":
        s = req.statements[r.index]
        assert isinstance(s, WeightedSum)
        return f"{head}: {r.value} (Wh × {s.unit})"
    if r.kind == "threshold":
        return f"{head}: holds"
    step = req.meter(r.meter_id).interval_s
    shown = "; ".join(
        f"{describe_span(i * step, (i + 1) * step, tz)[3:]} {money.format_scaled(wh, 3)} kWh"
        for i, wh in r.readings or ()
    )
    return f"{head}: {shown}"


def disclosure_view(
    v: VerifiedDisclosure | None, error: PrivbillError | None = None
) -> dict[str, Any]:
    """The JSON result of ``disclose verify``."""
    return {
        "valid": v is not None,
        **(error_view(error) if error else {"error": None, "error_type": None}),
        "request_id": v.request_id.hex() if v else None,
        "requester": v.requester if v else None,
        "account": v.account if v else None,
        "period": {"start": v.period.start, "end": v.period.end} if v else None,
        "results": [
            {
                "statement": r.index,
                "kind": r.kind,
                "meter": r.meter_id,
                "intervals": r.intervals,
                "value": r.value,
                "readings": [list(p) for p in r.readings] if r.readings is not None else None,
                "holds": r.holds,
            }
            for r in v.results
        ]
        if v
        else None,
        "declined": list(v.declined) if v else None,
        "customer_key_id": v.customer_key_id.hex() if v and v.customer_key_id else None,
        "response_hash": v.response_hash.hex() if v else None,
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
            disclosures.REQUEST_FORMAT,
            DisclosureRequest.decode,
        )
        resp = decode_as(
            data,
            args.response,
            "disclosure response",
            disclosures.RESPONSE_FORMAT,
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
