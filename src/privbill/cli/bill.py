"""``privbill bill prove|verify|explain``: the customer's device proves a bill and explains it;
anyone verifies it."""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from privbill.billing import coverage, register_bill
from privbill.billing.cleartext import MeterReadings
from privbill.billing.prover import PATHS, MeterInput, check_openings, prove_bill
from privbill.billing.receipts import issue_receipt
from privbill.billing.verifier import VerifiedBill, verify_bill
from privbill.cli.common import (
    MeterDir,
    Subparsers,
    View,
    add_force,
    add_json,
    add_progress,
    clearer,
    error_view,
    key_id,
    load_meter_dir,
    load_opening_key,
    load_signing_key,
    load_tariff,
    load_verifying_key,
    open_run_note,
    refuse_existing,
    report,
    report_failure,
    sniff,
    step,
    warn,
    write_output,
)
from privbill.cli.explain import explain, explanation_lines, kwh
from privbill.crypto import group
from privbill.errors import (
    CommitmentError,
    CoverageError,
    DecodeError,
    OpeningError,
    TariffMismatchError,
    UsageError,
    VerificationError,
)
from privbill.files import read_bytes
from privbill.model import bills, money, register_bills
from privbill.model.periods import BillingPeriod, interval_time
from privbill.model.register_bills import RegisterBill, decode_bill
from privbill.model.tariffs import SignedTariff, TimeOfUse

PERIOD_HELP = "YYYY-MM (a calendar month) or YYYY-MM-DD/YYYY-MM-DD (end date exclusive)"


# --- checks at the first step --------------------------------------------------------------------


def provider_mismatch(tariff: SignedTariff, inputs: Sequence[MeterInput]) -> str | None:
    """Words for a tariff signed by another provider key than the one that certified a meter
    (the provider would refuse the bill), or ``None``."""
    for inp in inputs:
        cert = inp.sealed.certificate
        if cert.issuer != tariff.issuer:
            return (
                f"the tariff is signed by provider key {key_id(tariff.issuer)}, but meter "
                f"{cert.meter_id} is certified by provider key {key_id(cert.issuer)}: the "
                "provider that certified the meter would refuse this bill; use that provider's "
                "tariff"
            )
    return None


def _open_run_hints(dirs: Sequence[str]) -> str:
    notes = []
    for path in dirs:
        d = MeterDir(Path(path))
        state = d.state()
        if state is not None and state.pending_first is not None:
            batches = d.openings()
            interval_s = batches[0].interval_s if batches else 900
            notes.append(f"{path}: {open_run_note(state, interval_s, d.timezone())}")
    return "".join(f"; {n}" for n in notes)


# --- prove -------------------------------------------------------------------------------------------


def cmd_bill_prove(args: argparse.Namespace) -> int:
    refuse_existing([args.out], args.force)
    tariff = load_tariff(args.tariff)
    okey = load_opening_key(args.opening_key)
    inputs = [load_meter_dir(d, okey) for d in args.readings]
    mismatch = provider_mismatch(tariff, inputs)
    if mismatch:
        raise UsageError(mismatch, obj="tariff", field="issuer")
    n = len(tariff.body.components)
    period = BillingPeriod.parse(args.period, tariff.body.tz)
    why_not = (
        register_bill.register_path_problem(tariff, inputs, period) if args.path == "auto" else None
    )
    try:
        with step(args, f"proving the bill ({n} component(s) beyond energy)"):
            msg = prove_bill(tariff, inputs, period, account=args.account, path=args.path)
    except VerificationError as exc:
        # The inputs cannot make a valid bill: that is bad input to the prover, not a bad bill.
        hint = _open_run_hints(args.readings) if isinstance(exc, CoverageError) else ""
        if args.path != "readings" and (
            (args.path == "registers" and isinstance(exc, CoverageError | TariffMismatchError))
            or (isinstance(exc, CommitmentError) and exc.obj == "energy registers")
        ):
            hint += "; --path readings bills from the sealed readings instead"
        raise UsageError(f"cannot prove: {exc}{hint}") from None
    data = msg.encode()
    write_output(args.out, data, force=args.force)
    amount = money.format_amount(msg.total_fee, tariff.body.minor_unit)
    readings = sum(m.readings for m in msg.meters)
    path = "registers" if isinstance(msg, RegisterBill) else "readings"
    view = {
        "file": args.out,
        "readings": readings,
        "total_fee": msg.total_fee,
        "currency": tariff.body.currency,
        "amount": amount,
        "bytes": len(data),
        "path": path,
        "registers_not_used": why_not,
    }
    how = (
        "from the meters' time-of-use registers"
        if path == "registers"
        else "from every sealed reading"
    )
    line = (
        f"{args.out}  {readings} readings  total {tariff.body.currency} {amount}  "
        f"{len(data)} bytes  ({how})"
    )
    lines = [line]
    if why_not is not None and isinstance(tariff.body.energy, TimeOfUse):
        lines.append(f"  registers not used: {why_not}")
    return report(args.json, view, lines)


# --- verify --------------------------------------------------------------------------------------


def bill_view(v: VerifiedBill | None, error: BaseException | None = None) -> View:
    """The JSON result of ``bill verify``: its documented keys, taken from the verified bill's
    one JSON view (:meth:`VerifiedBill.to_json`; the period by its label, the meters by id)."""
    j = v.to_json() if v else None
    return {
        "valid": j is not None,
        "total_fee": j["total_fee"] if j else None,
        "currency": j["currency"] if j else None,
        "amount": j["amount"] if j else None,
        **(error_view(error) if error else {"error": None, "error_type": None}),
        "account": j["account"] if j else None,
        "period": j["period"]["label"] if j else None,
        "meters": [m["meter_id"] for m in j["meters"]] if j else None,
        "readings": j["readings"] if j else None,
        "bill_hash": j["bill_hash"] if j else None,
        "seconds": round(v.seconds, 4) if v else None,
        "path": j["path"] if j else None,
    }


def outage_intervals(data: bytes) -> int:
    """Intervals of a (verified) payment message in runs its meters sealed as outages (a
    register bill that carries no runs shows none: its registers include the outages' zeros)."""
    if b"outage" not in data:  # the seal field's name: absent, no outage run
        return 0
    msg = decode_bill(data)
    runs = [r for m in msg.meters for r in m.runs]
    return sum(r.seal.count for r in runs if r.seal.outage)


def cmd_bill_verify(args: argparse.Namespace) -> int:
    if args.receipt_key and not args.receipt_out:
        raise UsageError("--receipt-key needs --receipt-out (where to write the receipt)")
    if args.receipt_out and not args.receipt_key:
        raise UsageError("--receipt-out needs --receipt-key (the provider's private key)")
    if args.receipt_out:
        refuse_existing([args.receipt_out], args.force)
    data = read_bytes(args.bill, "payment message")
    tariff = load_tariff(args.tariff)
    provider = load_verifying_key(args.provider, "provider key")
    receipt_key = (
        load_signing_key(args.receipt_key, "provider key", "--receipt-key")
        if args.receipt_key
        else None
    )
    if receipt_key is not None and receipt_key.public_key() != provider:
        raise UsageError("--receipt-key is not the provider key the bill is verified with")
    period = BillingPeriod.parse(args.period, tariff.body.tz) if args.period else None
    try:
        with step(args, "verifying the bill"):
            v = verify_bill(
                data,
                tariff,
                provider,
                account=args.account,
                period=period,
                check_subgroup=args.strict_points,
            )
    except (VerificationError, DecodeError) as exc:
        fmt = register_bills.FORMAT if sniff(data) == register_bills.FORMAT else bills.FORMAT
        error = clearer(exc, data, args.bill, "payment message", fmt)
        return report_failure(args.json, error, lambda e: bill_view(None, e))
    if receipt_key is not None:
        write_output(args.receipt_out, issue_receipt(receipt_key, v).encode(), force=args.force)
    ids = ", ".join(m.meter_id for m in v.meters)
    took = f"{v.seconds * 1e3:.1f} ms" if v.seconds < 0.01 else f"{v.seconds:.2f} s"
    lines = [
        f"VALID  {v.period_label}  meter {ids}  {v.readings} readings  "
        f"total {v.currency} {v.amount}  (verified in {took})"
    ]
    if v.path == "registers":
        lines.append("  from the meters' time-of-use registers (one signature per meter)")
    outages = outage_intervals(data)
    if outages:
        lines.append(f"  outage: {outages} interval(s) the meter sealed as outages (0 Wh)")
    if args.receipt_out:
        lines.append(f"  receipt written to {args.receipt_out}")
    view = {**bill_view(v), "outage_intervals": outages, "receipt": args.receipt_out}
    return report(args.json, view, lines)


# --- explain -------------------------------------------------------------------------------------


def certified_readings(
    inp: MeterInput, period: BillingPeriod, tz: ZoneInfo
) -> tuple[MeterReadings, int]:
    """One meter's readings over ``period`` from its openings, after the checks the prover makes
    (coverage, seal signatures, commitments, every opening against its commitment); and how many
    of them the meter sealed as outages."""
    sealed = inp.sealed
    cert = sealed.certificate
    first, count = period.intervals(cert.interval_s)
    runs = tuple(r for r in sealed.runs if r.seal.first < first + count and r.seal.end > first)
    path = f"meter {cert.meter_id}"
    coverage.check_runs(
        runs, cert.meter_id, cert.interval_s, first, count, path, len(cert.attributes), tz
    )
    for k, run in enumerate(runs):
        run.seal.verify_signature(cert.public_key, f"{path}.runs[{k}].seal")
        run.check_commitments(f"{path}.runs[{k}]")
    values: dict[int, int] = {}
    blindings: dict[int, int] = {}
    attrs: dict[str, dict[int, int]] = {a: {} for a in cert.attributes}
    k_attr = len(cert.attributes)
    for batch in inp.openings:
        if batch.meter_id != cert.meter_id or batch.end <= first or batch.first >= first + count:
            continue
        rs = batch.resolve(inp.opening_key)
        for j, v in enumerate(batch.values):
            i = batch.first + j
            if first <= i < first + count:
                values[i], blindings[i] = v, rs[j]
                for a, name in enumerate(cert.attributes):
                    attrs[name][i] = batch.attribute_values[j * k_attr + a]
    missing = [i for i in range(first, first + count) if i not in values]
    if missing:
        raise OpeningError(
            f"no opening for {len(missing)} reading(s) of meter {cert.meter_id}, the first at "
            f"{interval_time(missing[0], cert.interval_s, tz)}",
            obj="openings",
        )
    order = range(first, first + count)
    try:
        points = group.decode_points_on_curve(b"".join(r.commitments for r in runs), count)
    except group.GroupError as exc:
        raise CommitmentError(str(exc), obj="sealed readings", field="runs") from None
    bad = check_openings(points, [values[i] for i in order], [blindings[i] for i in order])
    if bad is not None:
        raise OpeningError(
            f"the opening at {interval_time(first + bad, cert.interval_s, tz)} does not match "
            "its sealed commitment",
            obj="openings",
        )
    outage = sum(r.seal.count for r in runs if r.seal.outage)
    named = {a: [attrs[a][i] for i in order] for a in cert.attributes}
    readings = MeterReadings(
        cert.interval_s, first, [values[i] for i in order], named, cert.channel
    )
    return readings, outage


def cmd_bill_explain(args: argparse.Namespace) -> int:
    tariff = load_tariff(args.tariff)
    body = tariff.body
    tz = body.tz
    okey = load_opening_key(args.opening_key)
    inputs = [load_meter_dir(d, okey) for d in args.readings]
    period = BillingPeriod.parse(args.period, tz)
    warnings: list[str] = []
    mismatch = provider_mismatch(tariff, inputs)
    if mismatch:
        warn(mismatch, warnings)
    # A meter that commits private attributes counts something else than Wh (metres driven).
    # So does a meter certified for a channel (a licensed feature's uses).
    unit = (
        "thousand units"
        if any(i.sealed.certificate.attributes or i.sealed.certificate.channel for i in inputs)
        else "kWh"
    )
    try:
        body.check_period(period)
        with step(args, "checking the sealed readings"):
            found = [certified_readings(inp, period, tz) for inp in inputs]
        e = explain(
            body,
            [r for r, _ in found],
            period,
            [i.sealed.certificate.meter_id for i in inputs],
            unit,
        )
    except VerificationError as exc:
        hint = _open_run_hints(args.readings) if isinstance(exc, CoverageError) else ""
        raise UsageError(f"cannot explain: {exc}{hint}") from None
    accounts = sorted({i.sealed.certificate.account for i in inputs})
    lines = [
        f"{body.name}: account {', '.join(accounts)}, {period.label(tz)} "
        "(from your readings, on this device; the provider learns only the total)"
    ]
    for (mid, n, q), (_, outage) in zip(e.meters, found, strict=True):
        extra = f", {outage} outage interval(s) sealed by the meter (0 Wh)" if outage else ""
        lines.append(f"  meter {mid}: {n} readings, total {kwh(q)} {unit}{extra}")
    lines += explanation_lines(e, unit)
    view: dict[str, Any] = {
        **e.to_json(),
        "accounts": accounts,
        "outage_intervals": [o for _, o in found],
        "warnings": warnings,
    }
    return report(args.json, view, lines)


# --- parser --------------------------------------------------------------------------------------


def register(sub: Subparsers) -> None:
    b = sub.add_parser(
        "bill",
        help="prove, verify and explain bills",
        description="Bills: the customer's device proves one from sealed readings and openings "
        "(and explains it); anyone with the provider's public key verifies it.",
    )
    bsub = b.add_subparsers(dest="bill_command", required=True, metavar="ACTION")

    bp = bsub.add_parser(
        "prove",
        help="build a payment message",
        epilog="example:\n  privbill bill prove --readings sealed/ --tariff tariff.pbt --period "
        "2026-01 \\\n      --opening-key keys/meter-0001.okey --out bill.pbm",
    )
    bp.add_argument(
        "--readings", action="append", required=True, help="a meter directory (repeatable)"
    )
    bp.add_argument("--tariff", required=True, help="signed tariff (.pbt)")
    bp.add_argument("--period", required=True, help=PERIOD_HELP)
    bp.add_argument("--account", help="account (default: the meters' account)")
    bp.add_argument(
        "--opening-key", help="shared opening key, if the meter derives blinding factors"
    )
    bp.add_argument(
        "--path",
        choices=PATHS,
        default="auto",
        help="registers: bill from the meters' signed time-of-use energy registers (a bill of "
        "about a kilobyte); readings: from every sealed reading; auto: registers when every "
        "meter has them for the period under the tariff's calendar",
    )
    bp.add_argument("--out", required=True, help="payment message to write (.pbm)")
    add_force(bp)
    add_progress(bp)
    add_json(bp)
    bp.set_defaults(func=cmd_bill_prove)

    bv = bsub.add_parser(
        "verify",
        help="verify a payment message",
        description="Exit status 0 for a valid bill, 1 for a well-formed bill that fails, 2 for "
        "unreadable input or bad usage.",
        epilog="example:\n  privbill bill verify bill.pbm --tariff tariff.pbt --provider "
        "keys/provider.pub \\\n      --receipt-key keys/provider.pem --receipt-out receipt.pbr",
    )
    bv.add_argument("bill", help="payment message (.pbm)")
    bv.add_argument("--tariff", required=True, help="signed tariff (.pbt)")
    bv.add_argument("--provider", required=True, help="provider public key (PEM)")
    bv.add_argument("--account", help="require the bill to be for this account")
    bv.add_argument("--period", help=f"require this billing period: {PERIOD_HELP}")
    bv.add_argument(
        "--strict-points",
        action="store_true",
        help="also check subgroup membership of sealed commitments",
    )
    bv.add_argument("--receipt-key", help="provider private key: issue a receipt for a valid bill")
    bv.add_argument("--receipt-out", help="where to write the receipt (with --receipt-key)")
    add_force(bv)
    add_progress(bv)
    add_json(bv)
    bv.set_defaults(func=cmd_bill_verify, verifies=True, json_error=lambda e: bill_view(None, e))

    be = bsub.add_parser(
        "explain",
        help="the customer's view: kWh and cost per period, tiers, peaks, fixed charges",
        description="Explain the bill of a period from your sealed readings and openings (on "
        "your device; nothing is sent): consumption and cost per tariff period, the tiers "
        "reached, peak demand per window, every component and the fixed charges. The readings "
        "are checked as `bill prove` checks them, and the total is the one it proves.",
        epilog="example:\n  privbill bill explain --readings sealed/ --tariff tariff.pbt "
        "--period 2026-01 --opening-key keys/meter-0001.okey",
    )
    be.add_argument(
        "--readings", action="append", required=True, help="a meter directory (repeatable)"
    )
    be.add_argument("--tariff", required=True, help="signed tariff (.pbt)")
    be.add_argument("--period", required=True, help=PERIOD_HELP)
    be.add_argument(
        "--opening-key", help="shared opening key, if the meter derives blinding factors"
    )
    add_progress(be)
    add_json(be)
    be.set_defaults(func=cmd_bill_explain)
