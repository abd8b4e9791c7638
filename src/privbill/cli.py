"""The ``privbill`` command.

Exit status: 0 success (a valid bill or receipt), 1 a well-formed bill or receipt that fails
verification, 2 unreadable input or bad usage. Errors are one line on standard error, naming the
object and field; no traceback, and no partial output file.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from privbill import __version__, cli_disclose
from privbill.billing.prover import MeterInput, prove_bill
from privbill.billing.receipts import issue_receipt, verify_receipt
from privbill.billing.verifier import VerifiedBill, verify_bill
from privbill.crypto.signatures import Algorithm, KeyError_, SigningKey, VerifyingKey
from privbill.errors import DecodeError, PrivbillError, UsageError, VerificationError
from privbill.files import read_bytes, write_atomic
from privbill.interop import csv_readings
from privbill.meter import Meter, MeterState
from privbill.model import money
from privbill.model.certificates import MeterCertificate
from privbill.model.periods import BillingPeriod, check_interval_length, zone
from privbill.model.readings import OPENING_KEY_BYTES, Openings
from privbill.model.receipts import Receipt
from privbill.model.sealed import SealedReadings
from privbill.model.tariffs import SignedTariff, TariffBody, describe
from privbill.provider import DEFAULT_VALID_FROM, DEFAULT_VALID_UNTIL, Provider
from privbill.service import cli as service_cli

SEAL_CHOICES = {"per-reading": "reading", "daily": "day", "monthly": "month"}
ALG_CHOICES: dict[str, Algorithm] = {"ecdsa-p256": "ecdsa-p256-sha256", "ed25519": "ed25519"}
SEALED_FILE = "sealed.pbs"
STATE_FILE = "meter-state.json"


# --- loading helpers -------------------------------------------------------------------------


def load_signing_key(path: str, what: str) -> SigningKey:
    try:
        return SigningKey.from_pem(read_bytes(path, what))
    except KeyError_ as exc:
        raise DecodeError(str(exc), obj=what) from None


def load_verifying_key(path: str, what: str) -> VerifyingKey:
    data = read_bytes(path, what)
    try:
        return VerifyingKey.from_pem(data)
    except KeyError_:
        pass
    try:  # a private key file also gives its public key
        return SigningKey.from_pem(data).public_key()
    except KeyError_ as exc:
        raise DecodeError(f"not a PEM public key: {exc}", obj=what) from None


def load_tariff(path: str) -> SignedTariff:
    return SignedTariff.decode(read_bytes(path, "tariff"))


def load_opening_key(path: str | None) -> bytes | None:
    if path is None:
        return None
    text = read_bytes(path, "opening key").decode("ascii", "replace").strip()
    try:
        key = bytes.fromhex(text)
    except ValueError:
        raise DecodeError("expected 64 hexadecimal digits", obj="opening key") from None
    if len(key) != OPENING_KEY_BYTES:
        raise DecodeError(f"expected {OPENING_KEY_BYTES} bytes", obj="opening key")
    return key


def load_meter_dir(path: str, opening_key: bytes | None) -> MeterInput:
    d = Path(path)
    if not d.is_dir():
        raise UsageError(f"{d} is not a directory of sealed readings", obj="readings")
    sealed = SealedReadings.decode(read_bytes(d / SEALED_FILE, "sealed readings"))
    batches = [Openings.decode(read_bytes(p, "openings")) for p in sorted(d.glob("openings-*.pbo"))]
    if not batches:
        raise UsageError(f"{d} holds no openings-*.pbo files", obj="openings")
    return MeterInput(sealed, batches, opening_key)


# --- commands --------------------------------------------------------------------------------


def cmd_keygen(args: argparse.Namespace) -> int:
    out = Path(args.out)
    interval_s = check_interval_length(args.interval * 60)
    written: list[tuple[Path, bytes, bool]] = []
    if args.provider_key:
        provider = Provider(load_signing_key(args.provider_key, "provider key"))
    else:
        provider = Provider.generate(ALG_CHOICES[args.provider_alg])
        written.append((out / "provider.pem", provider.key.to_pem(), True))
        written.append((out / "provider.pub", provider.public_key.to_pem(), False))
    meter_key = SigningKey.generate(ALG_CHOICES[args.meter_alg])
    cert = provider.certify_meter(
        args.meter_id,
        args.account,
        meter_key.public_key(),
        interval_s=interval_s,
        valid_from=DEFAULT_VALID_FROM,
        valid_until=DEFAULT_VALID_UNTIL,
        attributes=tuple(a for a in (args.attributes or "").split(",") if a),
    )
    stem = f"meter-{args.meter_id}"
    written += [
        (out / f"{stem}.pem", meter_key.to_pem(), True),
        (out / f"{stem}.pub", meter_key.public_key().to_pem(), False),
        (out / f"{stem}.cert", cert.encode(), False),
    ]
    if args.opening_key:
        written.append(
            (out / f"{stem}.okey", (Meter.new_opening_key().hex() + "\n").encode(), True)
        )
    if not args.force:
        for path, _, _ in written:
            if path.exists():
                raise UsageError(f"{path} exists (use --force to replace it)")
    for path, data, private in written:
        write_atomic(path, data, private=private)
        print(path)
    return 0


def cmd_tariff_create(args: argparse.Namespace) -> int:
    body = TariffBody.from_json(read_bytes(args.description, "tariff description"))
    signed = body.sign(load_signing_key(args.key, "provider key"))
    write_atomic(args.out, signed.encode())
    print(f"{args.out}  {body.name}  hash {signed.hash().hex()[:16]}")
    return 0


def cmd_tariff_show(args: argparse.Namespace) -> int:
    tariff = load_tariff(args.tariff)
    if args.provider:
        tariff.verify(load_verifying_key(args.provider, "provider key"))
    view = describe(tariff)
    if args.json:
        print(json.dumps(view, indent=2))
        return 0
    print(f"{view['name']}  ({view['utility']})")
    print(f"  currency {view['currency']}, timezone {view['timezone']}")
    print(f"  valid {view['valid_from']} .. {view['valid_until']} (end exclusive)")
    print(f"  hash {view['hash']}")
    e = view["energy"]
    if e["kind"] == "time-of-use":
        for i, p in enumerate(e["periods"]):
            print(f"  period {i}: {p['name']:<20} {p['price_per_kwh']} {view['currency']}/kWh")
    else:
        print(
            f"  dynamic: {e['count']} prices of {e['interval_minutes']} min from {e['start']}, "
            f"{e['min_price_per_kwh']}..{e['max_price_per_kwh']} {view['currency']}/kWh"
        )
    print(f"  fixed: {view['fixed']['per_day']} per day, {view['fixed']['per_month']} per month")
    if args.provider:
        print("  provider signature: valid")
    return 0


def _write_description(path: str, desc: dict[str, Any], notes: list[str]) -> None:
    body = TariffBody.from_description(desc)  # the result must be a valid tariff
    write_atomic(path, (json.dumps(desc, indent=2) + "\n").encode())
    for note in notes:
        print(f"note: {note}", file=sys.stderr)
    print(f"{path}  {body.name}  ({len(body.components)} components)")


def cmd_tariff_import_urdb(args: argparse.Namespace) -> int:
    from privbill.interop.urdb import load_rate, urdb_to_description

    rate = load_rate(read_bytes(args.rate, "URDB rate"))
    zone(args.timezone)
    desc, report = urdb_to_description(
        rate,
        timezone=args.timezone,
        interval_minutes=args.interval,
        valid_from=args.valid_from,
        valid_until=args.valid_until,
        allow_rounding=args.round_prices,
        demand_bits=args.demand_bits,
    )
    _write_description(args.out, desc, [f"rounded {r}" for r in report.rounded] + report.notes)
    return 0


def cmd_tariff_import_agile(args: argparse.Namespace) -> int:
    from privbill.interop.agile import agile_to_description

    pages = [read_bytes(p, "price feed") for p in args.feed]
    desc, rounded = agile_to_description(
        pages,
        vat=not args.exc_vat,
        standing_charge=args.standing_charge,
        allow_rounding=args.round_prices,
    )
    _write_description(args.out, desc, [f"rounded {r}" for r in rounded])
    return 0


def cmd_meter_record(args: argparse.Namespace) -> int:
    key = load_signing_key(args.key, "meter key")
    cert = MeterCertificate.decode(read_bytes(args.cert, "meter certificate"))
    out = Path(args.out)
    state_path = out / STATE_FILE
    sealed_path = out / SEALED_FILE
    state = MeterState()
    previous: tuple[Any, ...] = ()
    previous_registers: tuple[Any, ...] = ()
    if state_path.exists():
        state = MeterState.from_json(read_bytes(state_path, "meter state").decode())
        old = SealedReadings.decode(read_bytes(sealed_path, "sealed readings"))
        if old.certificate.meter_id != cert.meter_id:
            raise UsageError(
                f"{out} holds readings of meter {old.certificate.meter_id}", obj="readings"
            )
        previous = old.runs
        previous_registers = old.registers
    meter = Meter(
        cert,
        key,
        SEAL_CHOICES[args.seal],  # type: ignore[arg-type]
        args.timezone,
        load_opening_key(args.opening_key),
        state,
    )
    rows = csv_readings.read(Path(args.readings), cert.interval_s, cert.attributes)
    rec = meter.record(rows, close=not args.keep_open)
    sealed = SealedReadings(cert, (*previous, *rec.runs), (*previous_registers, *rec.registers))
    write_atomic(out / f"openings-{rec.openings.first}.pbo", rec.openings.encode(), private=True)
    write_atomic(sealed_path, sealed.encode())
    write_atomic(state_path, state.to_json().encode())
    still_open = len(state.pending) // 48
    tail = f", {still_open} in an open run" if still_open else ""
    print(
        f"{len(rows)} readings of meter {cert.meter_id}: {len(rec.runs)} runs sealed{tail} -> {out}"
    )
    return 0


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


def _bill_json(v: VerifiedBill | None, error: PrivbillError | None) -> dict[str, Any]:
    return {
        "valid": v is not None,
        "total_fee": v.total_fee if v else None,
        "currency": v.currency if v else None,
        "amount": v.amount if v else None,
        "error": str(error) if error else None,
        "error_type": type(error).__name__ if error else None,
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
    except VerificationError as exc:
        if args.json:
            print(json.dumps(_bill_json(None, exc)))
        else:
            print(f"INVALID  {exc}")
        return 1
    except DecodeError as exc:
        if args.json:
            print(json.dumps(_bill_json(None, exc)))
            return 2
        raise
    if args.receipt_out:
        if not args.receipt_key:
            raise UsageError("--receipt-out needs --receipt-key (the provider's private key)")
        key = load_signing_key(args.receipt_key, "provider key")
        if key.public_key() != provider:
            raise UsageError("--receipt-key is not the provider key the bill was verified with")
        write_atomic(args.receipt_out, issue_receipt(key, v).encode())
    if args.json:
        print(json.dumps(_bill_json(v, None)))
    else:
        ids = ", ".join(m.meter_id for m in v.meters)
        print(
            f"VALID  {v.period_label}  meter {ids}  {v.readings} readings  "
            f"total {v.currency} {v.amount}  (verified in {v.seconds:.2f} s)"
        )
    return 0


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


def cmd_demo(args: argparse.Namespace) -> int:
    from privbill.demo import run_demo

    return run_demo(args)


# --- parser ----------------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="privbill",
        description="Private billing from smart-meter readings: the provider learns the bill, not the readings.",
    )
    p.add_argument("--version", action="version", version=f"privbill {__version__}")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    k = sub.add_parser("keygen", help="provider key, meter key and meter certificate")
    k.add_argument("--out", required=True, help="directory for the key files")
    k.add_argument("--meter-id", default="0001")
    k.add_argument("--account", default="account-0001")
    k.add_argument(
        "--interval", type=int, default=15, help="meter interval in minutes (default 15)"
    )
    k.add_argument("--provider-key", help="certify with this existing provider key (PEM)")
    k.add_argument(
        "--attributes",
        help="comma-separated private attributes the meter commits per interval (e.g. road_class)",
    )
    k.add_argument("--provider-alg", choices=ALG_CHOICES, default="ed25519")
    k.add_argument("--meter-alg", choices=ALG_CHOICES, default="ecdsa-p256")
    k.add_argument(
        "--opening-key",
        action="store_true",
        help="also make a key shared by meter and customer device",
    )
    k.add_argument("--force", action="store_true", help="replace existing files")
    k.set_defaults(func=cmd_keygen)

    t = sub.add_parser("tariff", help="create, sign and show tariffs")
    tsub = t.add_subparsers(dest="tariff_command", required=True, metavar="ACTION")
    tc = tsub.add_parser("create", help="sign a tariff from its JSON description")
    tc.add_argument("description", help="JSON description (docs/tariff-format.md)")
    tc.add_argument("--key", required=True, help="provider private key (PEM)")
    tc.add_argument("--out", required=True)
    tc.set_defaults(func=cmd_tariff_create)
    ts = tsub.add_parser("show", help="print a signed tariff")
    ts.add_argument("tariff")
    ts.add_argument("--provider", help="also check the signature with this provider key")
    ts.add_argument("--json", action="store_true")
    ts.set_defaults(func=cmd_tariff_show)

    tu = tsub.add_parser("import-urdb", help="tariff description from an OpenEI URDB rate")
    tu.add_argument("rate", help="URDB rate JSON (API v8)")
    tu.add_argument("--timezone", required=True, help="IANA timezone of the rate's schedules")
    tu.add_argument("--interval", type=int, default=15, help="meter interval in minutes")
    tu.add_argument("--valid-from", help="first day (default: the rate's startdate)")
    tu.add_argument("--valid-until", help="first day no longer valid (default: after enddate)")
    tu.add_argument("--round-prices", action="store_true", help="round prices to 10^-6, reported")
    tu.add_argument(
        "--demand-bits",
        type=int,
        choices=(8, 16, 32),
        default=16,
        help="bound of one interval's Wh in demand proofs (16: up to 65 kWh per interval)",
    )
    tu.add_argument("--out", required=True, help="tariff description JSON to write")
    tu.set_defaults(func=cmd_tariff_import_urdb)
    ta = tsub.add_parser("import-agile", help="dynamic tariff from Agile-style half-hourly prices")
    ta.add_argument("feed", nargs="+", help="JSON pages with results[] of half-hourly prices")
    ta.add_argument(
        "--exc-vat", action="store_true", help="use value_exc_vat instead of value_inc_vat"
    )
    ta.add_argument("--standing-charge", help="GBP per day, e.g. 0.4798")
    ta.add_argument("--round-prices", action="store_true", help="round prices to 10^-6, reported")
    ta.add_argument("--out", required=True, help="tariff description JSON to write")
    ta.set_defaults(func=cmd_tariff_import_agile)

    m = sub.add_parser("meter", help="meter operations")
    msub = m.add_subparsers(dest="meter_command", required=True, metavar="ACTION")
    mr = msub.add_parser("record", help="commit to and seal readings from a CSV")
    mr.add_argument(
        "readings", help="CSV with columns interval_start (ISO 8601 with offset) and wh"
    )
    mr.add_argument("--key", required=True, help="meter private key (PEM)")
    mr.add_argument("--cert", required=True, help="meter certificate")
    mr.add_argument("--seal", choices=SEAL_CHOICES, default="daily")
    mr.add_argument("--timezone", default="UTC", help="local time for daily/monthly seals")
    mr.add_argument("--opening-key", help="derive blinding factors from this shared key")
    mr.add_argument(
        "--keep-open",
        action="store_true",
        help="leave the last run unsealed until its span ends (the next recording continues it)",
    )
    mr.add_argument("--out", required=True, help="directory for sealed readings and openings")
    mr.set_defaults(func=cmd_meter_record)

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

    r = sub.add_parser("receipt", help="check receipts")
    rsub = r.add_subparsers(dest="receipt_command", required=True, metavar="ACTION")
    rv = rsub.add_parser("verify", help="verify a receipt")
    rv.add_argument("receipt")
    rv.add_argument("--provider", required=True)
    rv.add_argument("--bill", help="also check the receipt is for this payment message")
    rv.add_argument("--json", action="store_true")
    rv.set_defaults(func=cmd_receipt_verify)

    d = sub.add_parser("demo", help="simulate a household, bill it privately, verify")
    d.add_argument(
        "--scenario",
        choices=("residential-tou", "residential-tiered", "commercial-demand", "pay-as-you-drive"),
        default="residential-tou",
        help="customer and tariff (default residential-tou)",
    )
    d.add_argument("--days", type=int, help="bill this many days instead of a calendar month")
    d.add_argument("--start", default="2026-01-01", help="first day (default 2026-01-01)")
    d.add_argument(
        "--interval", type=int, default=15, help="meter interval in minutes (default 15)"
    )
    d.add_argument("--seal", choices=SEAL_CHOICES, default="daily")
    d.add_argument("--seed", type=int, help="seed of the household simulation (readings only)")
    d.add_argument("--out", help="keep keys, tariff, readings, bill and receipt here")
    d.add_argument("--no-progress", action="store_true")
    d.set_defaults(func=cmd_demo)

    cli_disclose.register(sub)
    service_cli.register(sub)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:
        return int(exc.code or 0) if isinstance(exc.code, int) else 2
    func: Callable[[argparse.Namespace], int] = args.func
    try:
        return func(args)
    except VerificationError as exc:
        print(f"privbill: invalid: {exc}", file=sys.stderr)
        return 1
    except PrivbillError as exc:
        print(f"privbill: error: {exc}", file=sys.stderr)
        return 2
    except (money.AmountError, KeyError_) as exc:
        print(f"privbill: error: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        print(f"privbill: error: {exc.strerror or exc}: {exc.filename or ''}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("privbill: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
