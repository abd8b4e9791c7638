"""``privbill demo``: one simulated household, billed privately end to end.

Provider and meter keys are made, the provider certifies the meter and signs a residential
time-of-use tariff, the meter commits to and seals a month of quarter-hourly readings (BDEW H25
household profile with per-household randomness), the customer's device proves the bill, and the
provider verifies it and issues a receipt. The output shows what the customer sees and what the
provider learns, with sizes and timings.
"""

from __future__ import annotations

import argparse
import json
import time
from dataclasses import dataclass
from datetime import date, timedelta
from importlib import resources
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from privbill.billing.cleartext import MeterReadings, cleartext_bill
from privbill.billing.prover import MeterInput, prove_bill
from privbill.billing.receipts import issue_receipt, verify_receipt
from privbill.billing.verifier import verify_bill
from privbill.crypto import pedersen
from privbill.crypto.signatures import SigningKey
from privbill.errors import UsageError
from privbill.files import write_atomic
from privbill.interop import csv_readings
from privbill.interop.driving import drive_metres
from privbill.interop.loadprofile import synthetic_wh
from privbill.meter import Meter
from privbill.model import money
from privbill.model.components import needs_calendar_month
from privbill.model.periods import BillingPeriod, check_interval_length
from privbill.model.readings import Openings
from privbill.model.sealed import SealedReadings
from privbill.model.seals import SealedRun
from privbill.model.tariffs import TariffBody, TimeOfUse
from privbill.provider import Provider

METER_ID = "0001"
SEAL_SPANS = {"per-reading": "reading", "daily": "day", "monthly": "month"}


@dataclass(frozen=True)
class Scenario:
    title: str
    tariff_file: str
    profile: str  # household, business, driving
    account: str
    attributes: tuple[str, ...] = ()
    unit: str = "kWh"
    hidden: str = "no reading, no daily profile, no period totals"


SCENARIOS: dict[str, Scenario] = {
    "residential-tou": Scenario(
        "one household, time-of-use", "demo-tou.json", "household", "demo-household-0001"
    ),
    "residential-tiered": Scenario(
        "one household, inclining-block tiers",
        "demo-tiered.json",
        "household",
        "demo-household-0001",
    ),
    "commercial-demand": Scenario(
        "a small business, time-of-use with demand charges",
        "demo-commercial.json",
        "business",
        "demo-business-0001",
    ),
    "pay-as-you-drive": Scenario(
        "one car, pay-as-you-drive insurance",
        "demo-payd.json",
        "driving",
        "demo-policy-0001",
        ("road_class",),
        "km",
        "no trip, no distance, no road class, no time of driving",
    ),
}


def demo_tariff_description(scenario: str = "residential-tou") -> dict[str, Any]:
    name = SCENARIOS[scenario].tariff_file
    text = resources.files("privbill").joinpath(f"data/{name}").read_text(encoding="utf-8")
    desc: dict[str, Any] = json.loads(text)
    return desc


def run_demo(args: argparse.Namespace) -> int:
    console = Console(highlight=False)
    scenario = SCENARIOS[args.scenario]
    account = scenario.account
    interval_s = check_interval_length(args.interval * 60)
    provider = Provider.generate("ed25519")
    meter_key = SigningKey.generate("ecdsa-p256-sha256")
    cert = provider.certify_meter(
        METER_ID,
        account,
        meter_key.public_key(),
        interval_s=interval_s,
        attributes=scenario.attributes,
    )
    desc = demo_tariff_description(args.scenario)
    try:
        first_day = date.fromisoformat(args.start)
    except ValueError:
        raise UsageError(f"--start {args.start!r} is not a date YYYY-MM-DD") from None
    if args.days is not None:
        if not 1 <= args.days <= 366:
            raise UsageError("--days must be between 1 and 366")
        # The demo's provider bills in cycles of --days days from --start.
        if needs_calendar_month(TariffBody.from_description(desc).components):
            raise UsageError(
                f"the {args.scenario} scenario bills calendar months: leave out --days"
            )
        desc["billing_cycle"] = {"every_days": args.days, "starting": first_day.isoformat()}
    tariff = provider.sign_tariff(TariffBody.from_description(desc))
    tz = tariff.body.tz
    if args.days is None:
        period = BillingPeriod.month(first_day.year, first_day.month, tz)
        if first_day.day != 1:
            raise UsageError("--start must be the first of a month unless --days is given")
    else:
        period = BillingPeriod.for_dates(first_day, first_day + timedelta(days=args.days), tz)
    tariff.body.check_period(period)
    first, count = period.intervals(interval_s)
    label = period.label(tz)
    seed_text = f", seed {args.seed}" if args.seed is not None else ""
    console.print(
        f"[bold]privbill demo[/]: {scenario.title}, {label} "
        f"({count} readings of {args.interval} min{seed_text})"
    )
    console.print(
        f"  keys      provider Ed25519, meter ECDSA P-256; certificate for meter {METER_ID}, "
        f"account {account}"
    )
    console.print(f"  tariff    {tariff.body.name}, hash {tariff.hash().hex()[:16]}…")

    attrs: list[tuple[int, ...]] = [()] * count
    if scenario.profile == "driving":
        trips = drive_metres(period.start, count, interval_s, tz, seed=args.seed)
        values = [m for m, _ in trips]
        attrs = [(road,) for _, road in trips]
    else:
        values = synthetic_wh(
            period.start, count, interval_s, tz, profile=scenario.profile, seed=args.seed
        )
    pedersen.precompute()
    opening_key = Meter.new_opening_key()
    meter = Meter(cert, meter_key, SEAL_SPANS[args.seal], tariff.body.timezone, opening_key)  # type: ignore[arg-type]

    runs: list[SealedRun] = []
    batches: list[Openings] = []
    per_day = 86400 // interval_s
    show = not args.no_progress and console.is_terminal
    meter_seconds = 0.0
    with Progress(
        TextColumn("  meter    "),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=True,
        disable=not show,
    ) as progress:
        task = progress.add_task("meter", total=count)
        for lo in range(0, count, per_day):
            chunk = [(first + k, values[k], attrs[k]) for k in range(lo, min(lo + per_day, count))]
            t0 = time.perf_counter()
            rec = meter.record(chunk, close=lo + per_day >= count)
            meter_seconds += time.perf_counter() - t0
            runs.extend(rec.runs)
            batches.append(rec.openings)
            progress.advance(task, len(chunk))
    console.print(
        f"  meter     {count} readings committed, {len(runs)} {args.seal} seals: "
        f"{meter_seconds / count * 1e3:.3f} ms per reading"
    )

    sealed = SealedReadings(cert, tuple(runs))
    with console.status("  proving…", spinner="dots") if show else _null():
        t0 = time.perf_counter()
        msg = prove_bill(tariff, [MeterInput(sealed, batches, opening_key)], period)
        prove_s = time.perf_counter() - t0
    encoded = msg.encode()
    console.print(f"  prove     {prove_s:.3f} s (every opening checked against its seal)")
    t0 = time.perf_counter()
    verified = verify_bill(encoded, tariff, provider.public_key, account=account, period=period)
    verify_s = time.perf_counter() - t0
    console.print(f"  verify    {verify_s:.3f} s  [bold green]VALID[/]")
    receipt = issue_receipt(provider.key, verified)
    verify_receipt(receipt, provider.public_key, encoded)
    console.print("  receipt   signed by the provider; checks against the bill")

    named = {n: [a[j] for a in attrs] for j, n in enumerate(scenario.attributes)}
    readings = MeterReadings(interval_s, first, values, named)
    _customer_view(console, tariff.body, readings, period, msg.total_fee, scenario.unit)
    cur = tariff.body.currency
    hidden = scenario.hidden
    if tariff.body.components and not scenario.attributes:
        hidden += ", no monthly consumption, no peak demand"
    console.print(
        f"\n[bold]Provider learns[/]: account {account}, {label}, total "
        f"[bold]{cur} {verified.amount}[/] ({verified.total_fee} × 10⁻⁹ {cur}) — {hidden}."
    )
    console.print(
        f"  payment message {len(encoded):,} bytes ({len(encoded) / count:.1f} bytes per reading)"
    )

    if args.out:
        out = Path(args.out)
        files: dict[str, bytes] = {
            "provider.pem": provider.key.to_pem(),
            "provider.pub": provider.public_key.to_pem(),
            f"meter-{METER_ID}.pem": meter_key.to_pem(),
            f"meter-{METER_ID}.pub": meter_key.public_key().to_pem(),
            f"meter-{METER_ID}.cert": cert.encode(),
            f"meter-{METER_ID}.okey": (opening_key.hex() + "\n").encode(),
            "tariff.json": json.dumps(desc, indent=2).encode(),
            "tariff.pbt": tariff.encode(),
            "readings.csv": csv_readings.format_rows(
                [(first + k, v, attrs[k]) for k, v in enumerate(values)],
                interval_s,
                tz,
                scenario.attributes,
                "quantity" if scenario.attributes else "wh",
            ).encode(),
            f"sealed/{'sealed.pbs'}": sealed.encode(),
            "bill.pbm": encoded,
            "receipt.pbr": receipt.encode(),
        }
        for b in batches:
            files[f"sealed/openings-{b.first}.pbo"] = b.encode()
        for name, data in files.items():
            private = name.endswith((".pem", ".okey", ".pbo"))
            write_atomic(out / name, data, private=private)
        console.print(f"  files     written to {out}/")
    return 0


def _customer_view(
    console: Console,
    body: TariffBody,
    readings: MeterReadings,
    period: BillingPeriod,
    total: int,
    unit: str,
) -> None:
    """The bill as the customer's device shows it: consumption and cost by time-of-use period,
    then every component, from the cleartext readings (never sent anywhere)."""
    breakdown = cleartext_bill(body, [readings], period)
    values, first, interval_s = list(readings.values), readings.first, readings.interval_s
    assert breakdown.total == total
    prices = body.prices(first, len(values), interval_s)
    energy = body.energy
    if isinstance(energy, TimeOfUse):
        names = list(energy.period_names)
        periods = energy.periods(body.tz, first, len(values), interval_s)
    else:
        names, periods = ["energy"], [0] * len(values)
    kwh = [0] * len(names)
    cost = [0] * len(names)
    for k, (p, wh) in enumerate(zip(prices, values, strict=True)):
        kwh[periods[k]] += wh
        cost[periods[k]] += p * wh
    cur, minor = body.currency, body.minor_unit
    table = Table(title="Customer's view (stays on the device)", title_justify="left")
    table.add_column("charge")
    table.add_column(unit, justify="right")
    table.add_column(cur, justify="right")
    for n, e, c in zip(names, kwh, cost, strict=True):
        if e:
            table.add_row(n, f"{e / 1000:,.3f}", money.format_amount(c, minor))
    for name, fee in breakdown.components:
        table.add_row(name, "", money.format_amount(fee, minor))
    table.add_row("fixed charges", "", money.format_amount(breakdown.fixed, minor))
    if breakdown.minimum_top_up:
        table.add_row(
            "raised to the minimum", "", money.format_amount(breakdown.minimum_top_up, minor)
        )
    table.add_row(
        "[bold]total[/]",
        f"{sum(kwh) / 1000:,.3f}",
        f"[bold]{money.format_amount(total, minor)}[/]",
    )
    console.print()
    console.print(table)


class _null:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> None:
        return None
