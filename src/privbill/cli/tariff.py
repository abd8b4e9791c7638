"""``privbill tariff create|show|import-urdb|import-agile``: the provider's signed tariffs and
tariff descriptions from public price data."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from privbill.cli.common import Subparsers, load_signing_key, load_tariff, load_verifying_key
from privbill.files import read_bytes, write_atomic
from privbill.model.periods import zone
from privbill.model.tariffs import TariffBody, describe


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


def register(sub: Subparsers) -> None:
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
