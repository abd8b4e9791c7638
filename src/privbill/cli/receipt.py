"""``privbill receipt verify``: check the provider's receipt for an accepted bill."""

from __future__ import annotations

import argparse

from privbill.billing.receipts import verify_receipt
from privbill.cli.common import (
    Subparsers,
    View,
    add_json,
    decode_as,
    error_view,
    load_verifying_key,
    report,
    report_failure,
)
from privbill.errors import DecodeError, VerificationError
from privbill.files import read_bytes
from privbill.model import money, receipts
from privbill.model.receipts import Receipt


def receipt_view(r: Receipt | None, error: BaseException | None = None) -> View:
    """The JSON result of ``receipt verify``."""
    return {
        "valid": r is not None,
        **(error_view(error) if error else {"error": None, "error_type": None}),
        "account": r.account if r else None,
        "total_fee": r.total_fee if r else None,
        "currency": r.currency if r else None,
        "amount": money.format_amount(r.total_fee, money.minor_unit(r.currency)) if r else None,
        "bill_hash": r.bill_hash.hex() if r else None,
        "meters": list(r.meters) if r else None,
    }


def cmd_receipt_verify(args: argparse.Namespace) -> int:
    data = read_bytes(args.receipt, "receipt")
    provider = load_verifying_key(args.provider, "provider key")
    bill = read_bytes(args.bill, "payment message") if args.bill else None
    try:
        receipt = decode_as(data, args.receipt, "receipt", receipts.FORMAT, Receipt.decode)
        verify_receipt(receipt, provider, bill)
    except (VerificationError, DecodeError) as exc:
        return report_failure(args.json, exc, lambda e: receipt_view(None, e))
    view = receipt_view(receipt)
    line = f"VALID receipt  account {receipt.account}  total {receipt.currency} {view['amount']}"
    return report(args.json, view, [line])


def register(sub: Subparsers) -> None:
    r = sub.add_parser("receipt", help="check receipts")
    rsub = r.add_subparsers(dest="receipt_command", required=True, metavar="ACTION")
    rv = rsub.add_parser(
        "verify",
        help="verify a receipt",
        description="Exit status 0 for a valid receipt, 1 for one that fails (another provider, "
        "another bill), 2 for unreadable input.",
        epilog="example:\n  privbill receipt verify receipt.pbr --provider keys/provider.pub "
        "--bill bill.pbm",
    )
    rv.add_argument("receipt", help="receipt (.pbr)")
    rv.add_argument("--provider", required=True, help="provider public key (PEM)")
    rv.add_argument("--bill", help="also check the receipt is for this payment message")
    add_json(rv)
    rv.set_defaults(
        func=cmd_receipt_verify, verifies=True, json_error=lambda e: receipt_view(None, e)
    )
