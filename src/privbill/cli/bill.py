"""``privbill bill prove|verify``: the customer's device proves a bill; anyone verifies it."""

from __future__ import annotations

import argparse
from typing import Any

from privbill.billing.prover import prove_bill
from privbill.billing.receipts import issue_receipt
from privbill.billing.verifier import VerifiedBill, verify_bill
from privbill.cli.common import (
    Subparsers,
    error_view,
    load_meter_dir,
    load_opening_key,
    load_signing_key,
    load_tariff,
    load_verifying_key,
    report,
    report_failure,
)
from privbill.errors import DecodeError, PrivbillError, UsageError, VerificationError
from privbill.files import read_bytes, write_atomic
from privbill.model import money
from privbill.model.periods import BillingPeriod


def cmd_bill_prove(args: argparse.Namespace) -> int:
    tariff = load_tariff(args.tariff)
    okey = load_opening_key(args.opening_key)
    inputs = [load_meter_dir(d, okey) for d in args.readings]
    try:
        msg = prove_bill(tariff, inputs, args.period, account=args.account)
    except VerificationError as exc:
        # The inputs cannot make a valid bill: that is bad input to the prover, not a bad bill.
        raise UsageError(f"cannot prove: {exc}") from None
    data = msg.encode()
    write_atomic(args.out, data)
    amount = money.format_amount(msg.total_fee, tariff.body.minor_unit)
    n = sum(m.readings for m in msg.meters)
    print(f"{args.out}  {n} readings  total {tariff.body.currency} {amount}  {len(data)} bytes")
    return 0


def bill_view(v: VerifiedBill | None, error: PrivbillError | None = None) -> dict[str, Any]:
    """The JSON result of ``bill verify``."""
    return {
        "valid": v is not None,
        "total_fee": v.total_fee if v else None,
        "currency": v.currency if v else None,
        "amount": v.amount if v else None,
        **(error_view(error) if error else {"error": None, "error_type": None}),
        "account": v.account if v else None,
        "period": v.period_label if v else None,
        "meters": [m.meter_id for m in v.meters] if v else None,
        "readings": v.readings if v else None,
        "bill_hash": v.bill_hash.hex() if v else None,
        "seconds": round(v.seconds, 4) if v else None,
    }


def cmd_bill_verify(args: argparse.Namespace) -> int:
    data = read_bytes(args.bill, "payment message")
    tariff = load_tariff(args.tariff)
    provider = load_verifying_key(args.provider, "provider key")
    period = BillingPeriod.parse(args.period, tariff.body.tz) if args.period else None
    try:
        v = verify_bill(
            data,
            tariff,
            provider,
            account=args.account,
            period=period,
            check_subgroup=args.strict_points,
        )
    except (VerificationError, DecodeError) as exc:
        return report_failure(args.json, exc, lambda e: bill_view(None, e))
    if args.receipt_out:
        if not args.receipt_key:
            raise UsageError("--receipt-out needs --receipt-key (the provider's private key)")
        key = load_signing_key(args.receipt_key, "provider key")
        if key.public_key() != provider:
            raise UsageError("--receipt-key is not the provider key the bill was verified with")
        write_atomic(args.receipt_out, issue_receipt(key, v).encode())
    ids = ", ".join(m.meter_id for m in v.meters)
    line = (
        f"VALID  {v.period_label}  meter {ids}  {v.readings} readings  "
        f"total {v.currency} {v.amount}  (verified in {v.seconds:.2f} s)"
    )
    return report(args.json, bill_view(v), [line])


def register(sub: Subparsers) -> None:
    b = sub.add_parser("bill", help="prove and verify bills")
    bsub = b.add_subparsers(dest="bill_command", required=True, metavar="ACTION")
    bp = bsub.add_parser("prove", help="build a payment message")
    bp.add_argument(
        "--readings", action="append", required=True, help="a meter's directory (repeatable)"
    )
    bp.add_argument("--tariff", required=True)
    bp.add_argument(
        "--period", required=True, help="YYYY-MM or YYYY-MM-DD/YYYY-MM-DD (end exclusive)"
    )
    bp.add_argument("--account", help="account (default: the meters' account)")
    bp.add_argument(
        "--opening-key", help="shared opening key, if the meter derives blinding factors"
    )
    bp.add_argument("--out", required=True)
    bp.set_defaults(func=cmd_bill_prove)
    bv = bsub.add_parser("verify", help="verify a payment message")
    bv.add_argument("bill")
    bv.add_argument("--tariff", required=True)
    bv.add_argument("--provider", required=True, help="provider public key (PEM)")
    bv.add_argument("--account", help="require the bill to be for this account")
    bv.add_argument(
        "--period", help="require this billing period (YYYY-MM or YYYY-MM-DD/YYYY-MM-DD)"
    )
    bv.add_argument("--json", action="store_true")
    bv.add_argument(
        "--strict-points",
        action="store_true",
        help="also check subgroup membership of sealed commitments",
    )
    bv.add_argument("--receipt-key", help="provider private key: issue a receipt for a valid bill")
    bv.add_argument("--receipt-out", help="where to write the receipt")
    bv.set_defaults(func=cmd_bill_verify)
