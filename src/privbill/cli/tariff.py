"""``privbill tariff create|check|show|import-urdb|import-agile``: the provider's signed tariffs
and tariff descriptions from public price data."""

from __future__ import annotations

import argparse
import json
from datetime import datetime
from pathlib import Path
from typing import Any

from privbill.cli.common import (
    Subparsers,
    View,
    add_force,
    add_json,
    check_kind,
    is_json,
    key_id,
    load_signing_key,
    load_tariff,
    load_verifying_key,
    refuse_existing,
    report,
    sniff,
    warn,
    write_output,
)
from privbill.crypto.signatures import SigningKey
from privbill.errors import DecodeError, TariffError, UsageError
from privbill.files import read_bytes
from privbill.model import money, tariffs
from privbill.model.certificates import MeterCertificate
from privbill.model.components import TieredEnergy
from privbill.model.periods import zone
from privbill.model.tariffs import SignedTariff, TariffBody, TimeOfUse, describe
from privbill.model.wording import schedule_lines

DESCRIPTION = "tariff description"


# --- reading a description -------------------------------------------------------------------


def load_description(path: str) -> TariffBody:
    """A tariff description (JSON), refusing a signed tariff or other object by name."""
    data = read_bytes(path, DESCRIPTION)
    kind = sniff(data)
    if kind == tariffs.FORMAT:
        raise UsageError(
            f"{path} is already a signed tariff; `privbill tariff show {path}` prints it",
            obj=DESCRIPTION,
        )
    if kind not in (None, "json"):
        check_kind(data, path, DESCRIPTION, tariffs.DESCRIPTION_FORMAT)
    return TariffBody.from_json(data.decode("utf-8-sig", "replace"))


def _meter_key_warning(key_path: str, key: SigningKey) -> str | None:
    """If ``key`` is certified as a meter's key by a certificate beside it, say so."""
    public = key.public_key()
    for cert_path in sorted(Path(key_path).resolve().parent.glob("*.cert")):
        try:
            cert = MeterCertificate.decode(cert_path.read_bytes())
        except (DecodeError, OSError):
            continue
        if cert.public_key == public:
            return (
                f"{key_path} is the key of meter {cert.meter_id} (certified in {cert_path.name}), "
                "not a provider key: customers and verifiers check tariffs against the "
                "provider's key, so this tariff will not verify"
            )
    return None


# --- create / check ----------------------------------------------------------------------------


def cmd_tariff_create(args: argparse.Namespace) -> int:
    refuse_existing([args.out], args.force)
    body = load_description(args.description)
    key = load_signing_key(args.key, "provider key")
    warnings: list[str] = []
    note = _meter_key_warning(args.key, key)
    if note:
        warn(note, warnings)
    signed = body.sign(key)
    write_output(args.out, signed.encode(), force=args.force)
    view = {
        "file": args.out,
        "name": body.name,
        "hash": signed.hash().hex(),
        "provider_key_id": key_id(signed.issuer),
        "warnings": warnings,
    }
    return report(args.json, view, [f"{args.out}  {body.name}  hash {signed.hash().hex()[:16]}"])


def cmd_tariff_check(args: argparse.Namespace) -> int:
    data = read_bytes(args.description, DESCRIPTION)
    if sniff(data) == tariffs.FORMAT:
        raise UsageError(
            f"{args.description} is a signed tariff, not a description; "
            f"`privbill tariff show {args.description}` prints it",
            obj=DESCRIPTION,
        )
    try:
        json.loads(data.decode("utf-8-sig"))
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
        raise DecodeError(f"{args.description} is not valid JSON: {exc}", obj=DESCRIPTION) from None
    try:
        body = TariffBody.from_json(data.decode("utf-8-sig"))
    except TariffError as exc:
        view = {"valid": False, "error": str(exc), "error_type": type(exc).__name__}
        return report(args.json, view, [f"INVALID  {exc}"], 1)
    tz = body.tz
    valid = (
        f"{datetime.fromtimestamp(body.valid_from, tz).date()} until "
        f"{datetime.fromtimestamp(body.valid_until, tz).date()}"
    )
    energy = body.energy
    shape = (
        f"time-of-use, {len(energy.period_names)} periods"
        if isinstance(energy, TimeOfUse)
        else f"dynamic, {len(energy.price_list)} prices"
    )
    view = {
        "valid": True,
        "name": body.name,
        "currency": body.currency,
        "timezone": body.timezone,
        "energy": shape,
        "components": [c.kind for c in body.components],
    }
    line = (
        f"VALID  {body.name}  {body.currency}, {body.timezone}, {shape}, "
        f"{len(body.components)} component(s), valid {valid} (not signed: "
        "`privbill tariff create` signs it)"
    )
    return report(args.json, view, [line])


# --- show ----------------------------------------------------------------------------------------


def component_lines(body: TariffBody) -> list[str]:
    names = body.energy.period_names if isinstance(body.energy, TimeOfUse) else ()
    out: list[str] = []
    for i, c in enumerate(body.components, 1):
        out += c.describe_lines(i, names, body.currency)
    return out


def show_lines(body: TariffBody, head: list[str]) -> list[str]:
    tz = body.tz
    cur = body.currency
    lines = [
        f"{body.name}  ({body.utility})" if body.utility else body.name,
        f"  currency {cur}, timezone {body.timezone}",
        f"  valid {datetime.fromtimestamp(body.valid_from, tz).date()} until "
        f"{datetime.fromtimestamp(body.valid_until, tz).date()} (exclusive)",
        *head,
    ]
    e = body.energy
    if isinstance(e, TimeOfUse):
        lines.append(f"energy: time-of-use, {len(e.period_names)} period(s)")
        for i, (n, p) in enumerate(zip(e.period_names, e.period_prices, strict=True)):
            lines.append(
                f"  {i:>2}  {n:<24} {money.format_scaled(p, money.PRICE_DIGITS)} {cur}/kWh"
            )
        lines += schedule_lines(e.weekday, e.weekend)
        hol = ", ".join(d.isoformat() for d in e.holidays) or "none"
        lines.append(f"  holidays (priced as weekends): {hol}")
    else:
        start = datetime.fromtimestamp(e.start, tz)
        lo = money.format_scaled(min(e.price_list), money.PRICE_DIGITS)
        hi = money.format_scaled(max(e.price_list), money.PRICE_DIGITS)
        lines.append(
            f"energy: dynamic, {len(e.price_list)} prices of {e.interval_s // 60} min from "
            f"{start:%Y-%m-%d %H:%M %Z}, {lo}..{hi} {cur}/kWh"
        )
    day = money.format_scaled(body.per_day, money.FEE_DIGITS)
    month = money.format_scaled(body.per_month, money.FEE_DIGITS)
    lines.append(f"fixed charges: {day} {cur} per day, {month} {cur} per month")
    comps = component_lines(body)
    lines += ["components:", *comps] if comps else ["components: none"]
    return lines


def _json_view(t: SignedTariff, signed: bool) -> View:
    view = describe(t)
    if not signed:
        view["hash"] = None
        view["issuer"] = None
    e = t.body.energy
    names = e.period_names if isinstance(e, TimeOfUse) else ()
    for c, v in zip(t.body.components, view["components"], strict=True):
        if isinstance(c, TieredEnergy) and c.periods is not None:
            v["period_names"] = [names[p] for p in c.periods]
    view["signed"] = signed
    return view


def cmd_tariff_show(args: argparse.Namespace) -> int:
    data = read_bytes(args.tariff, "tariff")
    if is_json(data):  # a description: shown as it would be signed
        body = load_description(args.tariff)
        tariff = SignedTariff(body, b"", b"")
        head = ["  not signed: a tariff description (`privbill tariff create` signs it)"]
        signed = False
    else:
        tariff = load_tariff(args.tariff)
        head = [f"  hash {tariff.hash().hex()}", f"  provider key {key_id(tariff.issuer)}"]
        signed = True
        if args.provider:
            tariff.verify(load_verifying_key(args.provider, "provider key"))
            head[-1] += " (signature: valid)"
    view = _json_view(tariff, signed)
    if args.provider and signed:
        view["signature_valid"] = True
    return report(args.json, view, show_lines(tariff.body, head))


# --- importers -------------------------------------------------------------------------------------


def _write_description(args: argparse.Namespace, desc: dict[str, Any], notes: list[str]) -> int:
    body = TariffBody.from_description(desc)  # the result must be a valid tariff
    write_output(args.out, (json.dumps(desc, indent=2) + "\n").encode(), force=args.force)
    for note in notes:
        warn(note, label="note")
    view = {
        "file": args.out,
        "name": body.name,
        "components": [c.kind for c in body.components],
        "notes": notes,
    }
    return report(
        args.json, view, [f"{args.out}  {body.name}  ({len(body.components)} components)"]
    )


def cmd_tariff_import_urdb(args: argparse.Namespace) -> int:
    from privbill.interop.urdb import load_rate, urdb_to_description

    refuse_existing([args.out], args.force)
    rate = load_rate(read_bytes(args.rate, "URDB rate"))
    zone(args.timezone)
    desc, rep = urdb_to_description(
        rate,
        timezone=args.timezone,
        interval_minutes=args.interval,
        valid_from=args.valid_from,
        valid_until=args.valid_until,
        allow_rounding=args.round_prices,
    )
    notes = (
        [f"rounded {r}" for r in rep.rounded] + rep.notes + [f"ignored {i}" for i in rep.ignored]
    )
    return _write_description(args, desc, notes)


def cmd_tariff_import_agile(args: argparse.Namespace) -> int:
    from privbill.interop.agile import agile_to_description

    refuse_existing([args.out], args.force)
    pages = [read_bytes(p, "price feed") for p in args.feed]
    desc, rounded = agile_to_description(
        pages,
        vat=not args.exc_vat,
        standing_charge=args.standing_charge,
        allow_rounding=args.round_prices,
    )
    return _write_description(args, desc, [f"rounded {r}" for r in rounded])


# --- parser ----------------------------------------------------------------------------------------


def register(sub: Subparsers) -> None:
    t = sub.add_parser(
        "tariff",
        help="create, check, show and import tariffs",
        description="The provider's tariffs: JSON descriptions (docs/tariff-format.md), signed "
        "tariffs (.pbt) and importers from public price data.",
    )
    tsub = t.add_subparsers(dest="tariff_command", required=True, metavar="ACTION")

    tc = tsub.add_parser(
        "create",
        help="sign a tariff from its JSON description",
        epilog="example:\n  privbill tariff create my-tou.json --key keys/provider.pem "
        "--out tariff.pbt",
    )
    tc.add_argument("description", help="JSON description (docs/tariff-format.md)")
    tc.add_argument("--key", required=True, help="provider private key (PEM)")
    tc.add_argument("--out", required=True, help="signed tariff to write (.pbt)")
    add_force(tc)
    add_json(tc)
    tc.set_defaults(func=cmd_tariff_create)

    tk = tsub.add_parser(
        "check",
        help="validate a JSON description without signing it",
        description="Exit status 0 for a valid description, 1 for one that names a field "
        "wrongly or out of range, 2 for a file that is not JSON.",
        epilog="example:\n  privbill tariff check my-tou.json",
    )
    tk.add_argument("description", help="JSON description (docs/tariff-format.md)")
    add_json(tk)
    tk.set_defaults(func=cmd_tariff_check)

    ts = tsub.add_parser(
        "show",
        help="print a tariff: prices, schedules, holidays, components",
        description="Print a signed tariff (or a description): periods and prices, the month × "
        "hour schedule of each day type, holidays, fixed charges and every component with its "
        "period names.",
        epilog="example:\n  privbill tariff show tariff.pbt --provider keys/provider.pub",
    )
    ts.add_argument("tariff", help="signed tariff (.pbt) or tariff description (JSON)")
    ts.add_argument("--provider", help="also check the signature with this provider key")
    add_json(ts)
    ts.set_defaults(func=cmd_tariff_show, verifies=True)  # --provider checks the signature

    tu = tsub.add_parser(
        "import-urdb",
        help="tariff description from an OpenEI URDB rate",
        epilog="example:\n  privbill tariff import-urdb rate.json --timezone America/Denver "
        "--round-prices --out my-tou.json",
    )
    tu.add_argument("rate", help="URDB rate JSON (API v8)")
    tu.add_argument("--timezone", required=True, help="IANA timezone of the rate's schedules")
    tu.add_argument("--interval", type=int, default=15, help="meter interval in minutes")
    tu.add_argument("--valid-from", help="first day (default: the rate's startdate)")
    tu.add_argument("--valid-until", help="first day no longer valid (default: after enddate)")
    tu.add_argument(
        "--round-prices",
        action="store_true",
        help="round prices finer than 10^-6 per kWh/kW to 10^-6 (each rounding is reported)",
    )
    tu.add_argument("--out", required=True, help="tariff description JSON to write")
    add_force(tu)
    add_json(tu)
    tu.set_defaults(func=cmd_tariff_import_urdb)

    ta = tsub.add_parser(
        "import-agile",
        help="dynamic tariff from Agile-style half-hourly prices",
        epilog="example:\n  privbill tariff import-agile agile.json --standing-charge 0.4798 "
        "--out agile-tariff.json",
    )
    ta.add_argument("feed", nargs="+", help="JSON pages with results[] of half-hourly prices")
    ta.add_argument(
        "--exc-vat", action="store_true", help="use value_exc_vat instead of value_inc_vat"
    )
    ta.add_argument("--standing-charge", help="GBP per day, e.g. 0.4798")
    ta.add_argument(
        "--round-prices",
        action="store_true",
        help="round prices finer than 10^-6 GBP per kWh to 10^-6 (each rounding is reported)",
    )
    ta.add_argument("--out", required=True, help="tariff description JSON to write")
    add_force(ta)
    add_json(ta)
    ta.set_defaults(func=cmd_tariff_import_agile)
