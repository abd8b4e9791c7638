"""``privbill receipt verify``: check the provider's receipt for an accepted bill."""

from __future__ import annotations

import argparse
import json

from privbill.billing.receipts import verify_receipt
from privbill.cli.common import Subparsers, load_verifying_key
from privbill.errors import VerificationError
from privbill.files import read_bytes
from privbill.model import money
from privbill.model.receipts import Receipt


def cmd_receipt_verify(args: argparse.Namespace) -> int:
    receipt = Receipt.decode(read_bytes(args.receipt, "receipt"))
    provider = load_verifying_key(args.provider, "provider key")
    bill = read_bytes(args.bill, "payment message") if args.bill else None
    try:
        verify_receipt(receipt, provider, bill)
    except VerificationError as exc:
        if args.json:
            print(json.dumps({"valid": False, "error": str(exc)}))
        else:
            print(f"INVALID  {exc}")
        return 1
    amount = money.format_amount(receipt.total_fee, money.minor_unit(receipt.currency))
    if args.json:
        print(
            json.dumps(
                {
                    "valid": True,
                    "error": None,
                    "account": receipt.account,
                    "total_fee": receipt.total_fee,
                    "currency": receipt.currency,
                    "amount": amount,
                    "bill_hash": receipt.bill_hash.hex(),
                    "meters": list(receipt.meters),
                }
            )
        )
    else:
        print(f"VALID receipt  account {receipt.account}  total {receipt.currency} {amount}")
    return 0


def register(sub: Subparsers) -> None:
    r = sub.add_parser("receipt", help="check receipts")
    rsub = r.add_subparsers(dest="receipt_command", required=True, metavar="ACTION")
    rv = rsub.add_parser("verify", help="verify a receipt")
    rv.add_argument("receipt")
    rv.add_argument("--provider", required=True)
    rv.add_argument("--bill", help="also check the receipt is for this payment message")
    rv.add_argument("--json", action="store_true")
    rv.set_defaults(func=cmd_receipt_verify)
