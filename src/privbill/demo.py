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
import secrets
import time
from dataclasses import dataclass
from datetime import date, timedelta
from importlib import resources
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from privbill.billing.cleartext import MeterReadings
from privbill.billing.prover import BillPath, MeterInput, prove_bill
from privbill.billing.receipts import issue_receipt, verify_receipt
from privbill.billing.verifier import verify_bill
from privbill.cli.explain import Explanation, explain, kwh
from privbill.crypto import pedersen
from privbill.crypto.signatures import SigningKey
from privbill.errors import TariffMismatchError, UsageError
from privbill.interop import csv_readings
from privbill.interop.driving import drive_metres
from privbill.interop.loadprofile import synthetic_wh
from privbill.meter import Meter
from privbill.model.components import needs_calendar_month
from privbill.model.energy_registers import EnergyRegisters, calendar_of, register_config_for
from privbill.model.periods import BillingPeriod, check_interval_length
from privbill.model.readings import Openings
from privbill.model.register_bills import RegisterBill
from privbill.model.sealed import SealedReadings
from privbill.model.seals import SealedRun
from privbill.model.tariffs import TariffBody
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


def _files(out: Path, names: list[str]) -> list[Path]:
    return [out / n for n in names]


def run_demo(args: argparse.Namespace) -> int:
    from privbill.cli.common import refuse_existing, report, step, write_output

    console = Console(highlight=False, quiet=args.json)
    scenario = SCENARIOS[args.scenario]
    account = scenario.account
    interval_s = check_interval_length(args.interval * 60)
    seed = args.seed if args.seed is not None else secrets.randbelow(2**31)
    out = Path(args.out) if args.out else None
    if out is not None:  # before any work: never replace files unless --force
        refuse_existing([*_files(out, OUT_FILES), out / "sealed"], args.force)
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
    try:
        tariff.body.check_period(period)
    except TariffMismatchError as exc:
        raise UsageError(f"--scenario {args.scenario}: {exc}; drop --days") from None
    first, count = period.intervals(interval_s)
    label = period.label(tz)
    console.print(
        f"[bold]privbill demo[/]: {scenario.title}, {label} "
        f"({count} readings of {args.interval} min, seed {seed}: --seed {seed} repeats them)"
    )
    console.print(
        f"  keys      provider Ed25519, meter ECDSA P-256; certificate for meter {METER_ID}, "
        f"account {account}"
    )
    console.print(f"  tariff    {tariff.body.name}, hash {tariff.hash().hex()[:16]}…")

    attrs: list[tuple[int, ...]] = [()] * count
    if scenario.profile == "driving":
        trips = drive_metres(period.start, count, interval_s, tz, seed=seed)
        values = [m for m, _ in trips]
        attrs = [(road,) for _, road in trips]
    else:
        values = synthetic_wh(
            period.start, count, interval_s, tz, profile=scenario.profile, seed=seed
        )
    pedersen.precompute()
    opening_key = Meter.new_opening_key()
    registers = getattr(args, "registers", False)
    if registers and calendar_of(tariff.body) is None:
        raise UsageError(f"--registers: the {args.scenario} tariff has no time-of-use calendar")
    meter = Meter(
        cert,
        meter_key,
        SEAL_SPANS[args.seal],  # type: ignore[arg-type]
        tariff.body.timezone,
        opening_key,
        energy_registers=register_config_for(tariff.body) if registers else None,
    )

    runs: list[SealedRun] = []
    batches: list[Openings] = []
    statements: list[EnergyRegisters] = []
    per_day = 86400 // interval_s
    show = not args.no_progress and console.is_terminal
    meter_seconds = 0.0
    with (
        Progress(
            TextColumn("  meter    "),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=console,
            transient=True,
            disable=not show,
        ) as progress,
        _null() if show else step(args, f"meter: committing to and sealing {count} readings"),
    ):
        task = progress.add_task("meter", total=count)
        for lo in range(0, count, per_day):
            chunk = [(first + k, values[k], attrs[k]) for k in range(lo, min(lo + per_day, count))]
            t0 = time.perf_counter()
            rec = meter.record(chunk, close=lo + per_day >= count)
            meter_seconds += time.perf_counter() - t0
            runs.extend(rec.runs)
            batches.append(rec.openings)
            statements.extend(rec.energy_registers)
            progress.advance(task, len(chunk))
    console.print(
        f"  meter     {count} readings committed, {len(runs)} {args.seal} seals: "
        f"{meter_seconds / count * 1e3:.3f} ms per reading"
    )

    sealed = SealedReadings(cert, tuple(runs), (), tuple(statements))
    if registers:
        if not statements:
            raise UsageError("--registers: the meter signed no energy registers for the period")
        console.print(
            f"  registers the meter signed {len(statements[0].periods)} time-of-use energy "
            "registers at the period's end (sums of its commitments, one per period)"
        )
    path: BillPath = "registers" if registers else "readings"
    inputs = [MeterInput(sealed, batches, opening_key)]
    with console.status("  proving…", spinner="dots") if show else step(args, "proving the bill"):
        t0 = time.perf_counter()
        msg = prove_bill(tariff, inputs, period, path=path)
        prove_s = time.perf_counter() - t0
    encoded = msg.encode()
    console.print(f"  prove     {prove_s:.3f} s (every opening checked against its seal)")
    with _null() if show else step(args, "verifying the bill"):
        t0 = time.perf_counter()
        verified = verify_bill(encoded, tariff, provider.public_key, account=account, period=period)
        verify_s = time.perf_counter() - t0
    console.print(f"  verify    {verify_s:.3f} s  [bold green]VALID[/]")
    if isinstance(msg, RegisterBill) and msg.carries_readings:
        console.print(
            "            a component of this tariff needs the individual readings: the register "
            "bill carries the sealed runs for it"
        )
    if registers:
        per_reading = prove_bill(tariff, inputs, period).encode()
        again = [verify_bill(encoded, tariff, provider.public_key) for _ in range(5)]
        warm = sorted(v.seconds for v in again)[2]
        console.print(
            f"            {warm * 1e3:.2f} ms once the verifier is warm (a provider's month-end "
            f"run); the per-reading bill would be {len(per_reading):,} bytes"
        )
    receipt = issue_receipt(provider.key, verified)
    verify_receipt(receipt, provider.public_key, encoded)
    console.print("  receipt   signed by the provider; checks against the bill")

    named = {n: [a[j] for a in attrs] for j, n in enumerate(scenario.attributes)}
    readings = MeterReadings(interval_s, first, values, named)
    explanation = explain(tariff.body, [readings], period, [METER_ID])
    if explanation.total != msg.total_fee:
        raise AssertionError("the customer's view differs from the proven total")
    _customer_view(console, explanation, scenario.unit)
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

    if out is not None:
        files: dict[str, tuple[bytes, bool]] = {  # name: (data, private)
            "provider.pem": (provider.key.to_pem(), True),
            "provider.pub": (provider.public_key.to_pem(), False),
            f"meter-{METER_ID}.pem": (meter_key.to_pem(), True),
            f"meter-{METER_ID}.pub": (meter_key.public_key().to_pem(), False),
            f"meter-{METER_ID}.cert": (cert.encode(), False),
            f"meter-{METER_ID}.okey": ((opening_key.hex() + "\n").encode(), True),
            "tariff.json": (json.dumps(desc, indent=2).encode(), False),
            "tariff.pbt": (tariff.encode(), False),
            "readings.csv": (  # the household's readings: private
                csv_readings.format_rows(
                    [(first + k, v, attrs[k]) for k, v in enumerate(values)],
                    interval_s,
                    tz,
                    scenario.attributes,
                    "quantity" if scenario.attributes else "wh",
                ).encode(),
                True,
            ),
            "sealed/sealed.pbs": (sealed.encode(), False),
            "sealed/meter-state.json": (meter.state.to_json().encode(), True),
            "bill.pbm": (encoded, False),
            "receipt.pbr": (receipt.encode(), False),
        }
        for b in batches:
            files[f"sealed/openings-{b.first}.pbo"] = (b.encode(), True)
        for stale in (out / "sealed").glob("openings-*.pbo"):  # --force: a new meter directory
            stale.unlink()
        for name, (data, private) in files.items():
            write_output(out / name, data, force=args.force, private=private)
        console.print(f"  files     written to {out}/")
    view = {
        "scenario": args.scenario,
        "seed": seed,
        "period": label,
        "readings": count,
        "total_fee": verified.total_fee,
        "currency": cur,
        "amount": verified.amount,
        "bill_bytes": len(encoded),
        "path": path,
        "prove_seconds": round(prove_s, 4),
        "verify_seconds": round(verify_s, 4),
        "out": str(out) if out is not None else None,
        "customer_view": explanation.to_json(),
    }
    return report(args.json, view, [])


OUT_FILES = [
    "provider.pem",
    "provider.pub",
    f"meter-{METER_ID}.pem",
    f"meter-{METER_ID}.pub",
    f"meter-{METER_ID}.cert",
    f"meter-{METER_ID}.okey",
    "tariff.json",
    "tariff.pbt",
    "readings.csv",
    "bill.pbm",
    "receipt.pbr",
]


def _customer_view(console: Console, e: Explanation, unit: str) -> None:
    """The bill as the customer's device shows it (from the cleartext readings, never sent
    anywhere): the shared explanation, as a table."""
    cur = e.body.currency
    details = any(c.detail for c in e.components)
    table = Table(title="Customer's view (stays on the device)", title_justify="left")
    table.add_column("charge")
    table.add_column(unit, justify="right")
    table.add_column(cur, justify="right")
    if details:
        table.add_column("")
    rows: list[tuple[str, str, str, str]] = [
        (r.name, kwh(r.quantity), e.amount(r.cost), "") for r in e.energy
    ]
    rows += [(c.label, "", e.amount(c.fee), c.detail) for c in e.components]
    rows.append(("fixed charges", "", e.amount(e.breakdown.fixed), ""))
    if e.breakdown.minimum_top_up:
        rows.append(("raised to the minimum", "", e.amount(e.breakdown.minimum_top_up), ""))
    total_q = sum(r.quantity for r in e.energy)
    rows.append(("[bold]total[/]", kwh(total_q), f"[bold]{e.amount(e.total)}[/]", ""))
    for row in rows:
        table.add_row(*(row if details else row[:3]))
    console.print()
    console.print(table)


class _null:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> None:
        return None
