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
from dataclasses import dataclass, field
from datetime import date, timedelta
from importlib import resources
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from privbill.billing.cleartext import MeterReadings
from privbill.billing.prover import BillPath, MeterInput, prove_bill
from privbill.billing.receipts import issue_receipt, verify_receipt
from privbill.billing.verified import VerifiedBill
from privbill.billing.verifier import verify_bill
from privbill.cli.explain import Explanation, explain, kwh
from privbill.crypto import pedersen
from privbill.crypto.signatures import SigningKey
from privbill.errors import TariffMismatchError, UsageError
from privbill.interop import csv_readings, licence, roads
from privbill.interop.driving import drive_metres
from privbill.interop.loadprofile import synthetic_wh
from privbill.meter import Meter
from privbill.model.certificates import MeterCertificate, max_rating_w
from privbill.model.components import needs_calendar_month
from privbill.model.energy_registers import EnergyRegisters, calendar_of, register_config_for
from privbill.model.periods import BillingPeriod, check_interval_length
from privbill.model.readings import Openings
from privbill.model.register_bills import Bill, RegisterBill
from privbill.model.sealed import SealedReadings
from privbill.model.seals import SealedRun
from privbill.model.tariffs import SignedTariff, TariffBody
from privbill.provider import Provider

METER_ID = "0001"
SEAL_SPANS = {"per-reading": "reading", "daily": "day", "monthly": "month"}


#: Connection ratings a utility installs meters for, in W: single- and three-phase household
#: supplies, then current-transformer metering for businesses.
STANDARD_RATINGS_W = (24_000, 48_000, 100_000, 250_000, 500_000, 1_000_000, 2_000_000, 5_000_000)


def standard_rating_w(peak_wh: int, interval_s: int) -> int:
    """The smallest standard rating whose intervals hold ``peak_wh`` (the largest simulated
    reading), so the meter signs every reading of the simulation."""
    for rating in STANDARD_RATINGS_W:
        if -(-rating * interval_s // 3600) >= peak_wh:
            return rating
    return max_rating_w(interval_s)


@dataclass(frozen=True)
class Scenario:
    title: str
    tariff_file: str
    profile: str  # household, business, driving, tolling, licence
    account: str
    attributes: tuple[str, ...] = ()
    unit: str = "kWh"
    hidden: str = "no reading, no daily profile, no period totals"
    channels: tuple[str, ...] = ()  # one meter per channel (else one meter without a channel)
    interval_min: int = 15  # the default --interval


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
    "road-tolling": Scenario(
        "one car, road tolling by road class, zone and time band",
        "demo-road-tolling.json",
        "tolling",
        "demo-vehicle-0001",
        ("toll_cell",),
        "km",
        "no trip, no distance, no road class or zone, no time of driving",
    ),
    "licence": Scenario(
        "a design office, metered software licence",
        "demo-licence.json",
        "licence",
        "demo-licensee-0001",
        unit="thousand uses",
        hidden="no hourly count, no feature's monthly total, no time of use",
        channels=licence.FEATURES,
        interval_min=60,
    ),
}


def demo_tariff_description(scenario: str = "residential-tou") -> dict[str, Any]:
    name = SCENARIOS[scenario].tariff_file
    text = resources.files("privbill").joinpath(f"data/{name}").read_text(encoding="utf-8")
    desc: dict[str, Any] = json.loads(text)
    return desc


def _files(out: Path, names: list[str]) -> list[Path]:
    return [out / n for n in names]


@dataclass
class _DemoMeter:
    """One simulated meter of the demo (a licence's feature channel, or the only meter)."""

    meter_id: str
    channel: str | None
    cert: MeterCertificate
    values: list[int]
    attrs: list[tuple[int, ...]]
    meter: Meter | None = None
    runs: list[SealedRun] = field(default_factory=list)
    batches: list[Openings] = field(default_factory=list)
    statements: list[EnergyRegisters] = field(default_factory=list)

    @property
    def suffix(self) -> str:
        return "" if self.channel is None else f"-{self.channel}"


def _meter_ids(scenario: Scenario) -> list[tuple[str, str | None]]:
    if not scenario.channels:
        return [(METER_ID, None)]
    return [(f"{METER_ID}.{c}", c) for c in scenario.channels]


def _out_files(scenario: Scenario) -> list[str]:
    """The files ``--out`` writes besides the meter directories."""
    names = ["provider.pem", "provider.pub", "tariff.json", "tariff.pbt", "bill.pbm"]
    names += ["receipt.pbr", *(f"meter-{METER_ID}.{x}" for x in ("pem", "pub", "okey"))]
    for mid, channel in _meter_ids(scenario):
        names.append(f"meter-{mid}.cert")
        names.append("readings.csv" if channel is None else f"readings-{channel}.csv")
    return names


def _sealed_dirs(scenario: Scenario) -> list[str]:
    return ["sealed" if c is None else f"sealed-{c}" for _, c in _meter_ids(scenario)]


def _simulate(
    scenario: Scenario, start: int, count: int, interval_s: int, tz: ZoneInfo, seed: int
) -> list[tuple[list[int], list[tuple[int, ...]]]]:
    """Per meter of the scenario, the values and attribute values of ``count`` intervals."""
    none: list[tuple[int, ...]] = [()] * count
    if scenario.profile == "driving":
        trips = drive_metres(start, count, interval_s, tz, seed=seed)
        return [([m for m, _ in trips], [(road,) for _, road in trips])]
    if scenario.profile == "tolling":
        car = roads.drive(start, count, interval_s, tz, seed=seed)
        return [([m for m, _ in car.readings], [(cell,) for _, cell in car.readings])]
    if scenario.profile == "licence":
        use = licence.usage(start, count, interval_s, tz, seed=seed)
        return [(use[c], none) for c in scenario.channels]
    return [(synthetic_wh(start, count, interval_s, tz, profile=scenario.profile, seed=seed), none)]


@dataclass
class _DemoRun:
    """What the demo's steps hand on: the scenario and its options, the parties' keys, the
    signed tariff and billing period, the meters and, once proven, the bill."""

    args: argparse.Namespace
    console: Console
    scenario: Scenario
    interval_s: int
    minutes: int
    seed: int
    out: Path | None
    provider: Provider
    meter_key: SigningKey
    certs: list[MeterCertificate]
    desc: dict[str, Any]
    tariff: SignedTariff
    period: BillingPeriod
    first: int
    count: int
    meters: list[_DemoMeter] = field(default_factory=list)
    opening_key: bytes = b""
    sealed: list[SealedReadings] = field(default_factory=list)

    @property
    def label(self) -> str:
        return self.period.label(self.tariff.body.tz)

    @property
    def show(self) -> bool:
        """Live progress on a terminal (else one line per step)."""
        return not self.args.no_progress and self.console.is_terminal


@dataclass(frozen=True)
class _Proven:
    """The bill as proven, encoded, verified and receipted, and how long each took."""

    msg: Bill
    encoded: bytes
    verified: VerifiedBill
    receipt: bytes
    path: BillPath
    prove_s: float
    verify_s: float


def run_demo(args: argparse.Namespace) -> int:
    from privbill.cli.common import report

    run = _set_up(args, Console(highlight=False, quiet=args.json))
    _install_meters(run)
    _record(run)
    proven = _prove_and_verify(run)
    encoded, verified = proven.encoded, proven.verified
    explanation = _show_the_customer(run, proven.msg.total_fee)
    cur = run.tariff.body.currency
    hidden = run.scenario.hidden
    if run.tariff.body.components and run.scenario.profile in ("household", "business"):
        hidden += ", no monthly consumption, no peak demand"
    total = run.count * len(run.meters)
    run.console.print(
        f"\n[bold]Provider learns[/]: account {run.scenario.account}, {run.label}, total "
        f"[bold]{cur} {verified.amount}[/] ({verified.total_fee} × 10⁻¹² {cur}) — {hidden}."
    )
    run.console.print(
        f"  payment message {len(encoded):,} bytes ({len(encoded) / total:.1f} bytes per reading)"
    )
    if run.out is not None:
        _write_files(run, run.out, encoded, proven.receipt)
    view = {
        "scenario": args.scenario,
        "seed": run.seed,
        "period": run.label,
        "readings": total,
        "total_fee": verified.total_fee,
        "currency": cur,
        "amount": verified.amount,
        "bill_bytes": len(encoded),
        "path": proven.path,
        "prove_seconds": round(proven.prove_s, 4),
        "verify_seconds": round(proven.verify_s, 4),
        "out": str(run.out) if run.out is not None else None,
        "customer_view": explanation.to_json(),
    }
    return report(args.json, view, [])


def _set_up(args: argparse.Namespace, console: Console) -> _DemoRun:
    """Check the options (before any work: never replace files unless --force), make the
    provider's and the meter's keys, certify the meters, sign the tariff, fix the period."""
    from privbill.cli.common import refuse_existing

    scenario = SCENARIOS[args.scenario]
    account = scenario.account
    minutes = args.interval if args.interval is not None else scenario.interval_min
    interval_s = check_interval_length(minutes * 60)
    seed = args.seed if args.seed is not None else secrets.randbelow(2**31)
    out = Path(args.out) if args.out else None
    if out is not None:
        refuse_existing(
            [*_files(out, _out_files(scenario)), *_files(out, _sealed_dirs(scenario))],
            args.force,
        )
    provider = Provider.generate("ed25519")
    meter_key = SigningKey.generate("ecdsa-p256-sha256")
    certs = [
        provider.certify_meter(
            mid,
            account,
            meter_key.public_key(),
            interval_s=interval_s,
            attributes=scenario.attributes,
            channel=channel,
        )
        for mid, channel in _meter_ids(scenario)
    ]
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
    run = _DemoRun(
        args, console, scenario, interval_s, minutes, seed, out, provider, meter_key, certs,
        desc, tariff, period, first, count,
    )  # fmt: skip
    what = "readings" if len(certs) == 1 else f"readings per meter, {len(certs)} meters"
    console.print(
        f"[bold]privbill demo[/]: {scenario.title}, {run.label} "
        f"({count} {what} of {minutes} min, seed {seed}: --seed {seed} repeats them)"
    )
    ids = ", ".join(c.meter_id for c in certs)
    console.print(
        f"  keys      provider Ed25519, meter ECDSA P-256; "
        f"certificate{'s' if len(certs) > 1 else ''} for meter{'s' if len(certs) > 1 else ''} "
        f"{ids}, account {account}"
    )
    if scenario.channels:
        console.print(
            f"  channels  one metering module, a meter per licensed feature: "
            f"{', '.join(scenario.channels)}"
        )
    console.print(f"  tariff    {tariff.body.name}, hash {tariff.hash().hex()[:16]}…")
    return run


def _install_meters(run: _DemoRun) -> None:
    """Simulate the period's readings, certify household and business meters with a standard
    rating for their connection, and set up each meter (energy registers with --registers)."""
    scenario, interval_s = run.scenario, run.interval_s
    tz = run.tariff.body.tz
    simulated = _simulate(scenario, run.first * interval_s, run.count, interval_s, tz, run.seed)
    if scenario.profile in ("household", "business"):
        # The utility installs a meter of a standard rating for the connection: the demand
        # proofs size their ranges from it (billing/load_range.py).
        run.certs = [
            run.provider.certify_meter(
                c.meter_id,
                c.account,
                c.public_key,
                interval_s=interval_s,
                attributes=c.attributes,
                channel=c.channel,
                rating_w=standard_rating_w(max(values, default=0), interval_s),
            )
            for c, (values, _) in zip(run.certs, simulated, strict=True)
        ]
        rated = ", ".join(f"{(c.rating_w or 0) / 1000:g} kW" for c in run.certs)
        run.console.print(f"  rating    meter rated {rated} (the width of its demand proofs)")
    run.meters = [
        _DemoMeter(cert.meter_id, cert.channel, cert, values, attrs)
        for cert, (values, attrs) in zip(run.certs, simulated, strict=True)
    ]
    pedersen.precompute()
    run.opening_key = Meter.new_opening_key()
    registers = getattr(run.args, "registers", False)
    if registers and calendar_of(run.tariff.body) is None:
        raise UsageError(f"--registers: the {run.args.scenario} tariff has no time-of-use calendar")
    for m in run.meters:
        m.meter = Meter(
            m.cert,
            run.meter_key,
            SEAL_SPANS[run.args.seal],  # type: ignore[arg-type]
            run.tariff.body.timezone,
            run.opening_key,
            energy_registers=register_config_for(run.tariff.body) if registers else None,
        )


def _record(run: _DemoRun) -> None:
    """Each meter commits to and seals its readings a day at a time, as a meter would."""
    from privbill.cli.common import step

    args, console, count, first = run.args, run.console, run.count, run.first
    per_day = 86400 // run.interval_s
    total = count * len(run.meters)
    meter_seconds = 0.0
    with (
        Progress(
            TextColumn("  meter    "),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=console,
            transient=True,
            disable=not run.show,
        ) as progress,
        _null() if run.show else step(args, f"meter: committing to and sealing {total} readings"),
    ):
        task = progress.add_task("meter", total=total)
        for m in run.meters:
            assert m.meter is not None
            for lo in range(0, count, per_day):
                chunk = [
                    (first + k, m.values[k], m.attrs[k])
                    for k in range(lo, min(lo + per_day, count))
                ]
                t0 = time.perf_counter()
                rec = m.meter.record(chunk, close=lo + per_day >= count)
                meter_seconds += time.perf_counter() - t0
                m.runs.extend(rec.runs)
                m.batches.append(rec.openings)
                m.statements.extend(rec.energy_registers)
                progress.advance(task, len(chunk))
    seals = sum(len(m.runs) for m in run.meters)
    console.print(
        f"  meter     {total} readings committed, {seals} {args.seal} seals: "
        f"{meter_seconds / total * 1e3:.3f} ms per reading"
    )
    run.sealed = [
        SealedReadings(m.cert, tuple(m.runs), (), tuple(m.statements)) for m in run.meters
    ]


def _prove_and_verify(run: _DemoRun) -> _Proven:
    """The customer's device proves the bill (from the energy registers with --registers); the
    provider verifies it and signs a receipt, which is checked against the bill."""
    from privbill.cli.common import step

    args, console, meters, tariff = run.args, run.console, run.meters, run.tariff
    registers = getattr(args, "registers", False)
    if registers:
        if not all(m.statements for m in meters):
            raise UsageError("--registers: the meter signed no energy registers for the period")
        console.print(
            f"  registers the meter signed {len(meters[0].statements[0].periods)} time-of-use "
            "energy registers at the period's end (sums of its commitments, one per period)"
        )
    path: BillPath = "registers" if registers else "readings"
    inputs = [
        MeterInput(sr, m.batches, run.opening_key) for sr, m in zip(run.sealed, meters, strict=True)
    ]
    show = run.show
    with console.status("  proving…", spinner="dots") if show else step(args, "proving the bill"):
        t0 = time.perf_counter()
        msg = prove_bill(tariff, inputs, run.period, path=path)
        prove_s = time.perf_counter() - t0
    encoded = msg.encode()
    console.print(f"  prove     {prove_s:.3f} s (every opening checked against its seal)")
    with _null() if show else step(args, "verifying the bill"):
        t0 = time.perf_counter()
        verified = verify_bill(
            encoded,
            tariff,
            run.provider.public_key,
            account=run.scenario.account,
            period=run.period,
        )
        verify_s = time.perf_counter() - t0
    console.print(f"  verify    {verify_s:.3f} s  [bold green]VALID[/]")
    if isinstance(msg, RegisterBill) and msg.carries_readings:
        console.print(
            "            a component of this tariff needs the individual readings: the register "
            "bill carries the sealed runs for it"
        )
    if registers:
        per_reading = prove_bill(tariff, inputs, run.period).encode()
        again = [verify_bill(encoded, tariff, run.provider.public_key) for _ in range(5)]
        warm = sorted(v.seconds for v in again)[2]
        console.print(
            f"            {warm * 1e3:.2f} ms once the verifier is warm (a provider's month-end "
            f"run); the per-reading bill would be {len(per_reading):,} bytes"
        )
    receipt = issue_receipt(run.provider.key, verified)
    verify_receipt(receipt, run.provider.public_key, encoded)
    console.print("  receipt   signed by the provider; checks against the bill")
    return _Proven(msg, encoded, verified, receipt.encode(), path, prove_s, verify_s)


def _show_the_customer(run: _DemoRun, total_fee: int) -> Explanation:
    """The bill as the customer's device explains it from the cleartext readings (and must
    equal the proven total), with the scenario's own breakdown."""
    scenario, console = run.scenario, run.console
    readings = [
        MeterReadings(
            run.interval_s,
            run.first,
            m.values,
            {n: [a[j] for a in m.attrs] for j, n in enumerate(scenario.attributes)},
            m.channel,
        )
        for m in run.meters
    ]
    explanation = explain(
        run.tariff.body, readings, run.period, [m.meter_id for m in run.meters], scenario.unit
    )
    if explanation.total != total_fee:
        raise AssertionError("the customer's view differs from the proven total")
    _customer_view(console, explanation, scenario.unit, mixed=bool(scenario.channels))
    if scenario.profile == "tolling":
        by_cell: dict[int, int] = {}
        for m in run.meters:
            for v, a in zip(m.values, m.attrs, strict=True):
                by_cell[a[0]] = by_cell.get(a[0], 0) + v
        console.print(
            "  by zone and road class: "
            + "; ".join(
                f"{roads.cell_name(c)} {kwh(v)} km" for c, v in sorted(by_cell.items()) if v
            )
        )
    if scenario.channels:
        console.print(
            "  by feature: "
            + ", ".join(f"{m.channel} {sum(m.values):,}" for m in run.meters)
            + " uses this month"
        )
    return explanation


def _write_files(run: _DemoRun, out: Path, encoded: bytes, receipt: bytes) -> None:
    """Everything the demo made, for the other commands: keys (private ones owner-only), the
    tariff, the bill and receipt, and per meter its certificate, readings, sealed readings,
    state and openings."""
    from privbill.cli.common import write_output

    args, scenario, tz = run.args, run.scenario, run.tariff.body.tz
    files: dict[str, tuple[bytes, bool]] = {  # name: (data, private)
        "provider.pem": (run.provider.key.to_pem(), True),
        "provider.pub": (run.provider.public_key.to_pem(), False),
        f"meter-{METER_ID}.pem": (run.meter_key.to_pem(), True),
        f"meter-{METER_ID}.pub": (run.meter_key.public_key().to_pem(), False),
        f"meter-{METER_ID}.okey": ((run.opening_key.hex() + "\n").encode(), True),
        "tariff.json": (json.dumps(run.desc, indent=2).encode(), False),
        "tariff.pbt": (run.tariff.encode(), False),
        "bill.pbm": (encoded, False),
        "receipt.pbr": (receipt, False),
    }
    for m, sr, sdir in zip(run.meters, run.sealed, _sealed_dirs(scenario), strict=True):
        assert m.meter is not None
        files[f"meter-{m.meter_id}.cert"] = (m.cert.encode(), False)
        files[f"readings{m.suffix}.csv"] = (  # the customer's readings: private
            csv_readings.format_rows(
                [(run.first + k, v, m.attrs[k]) for k, v in enumerate(m.values)],
                run.interval_s,
                tz,
                scenario.attributes,
                "wh" if scenario.profile in ("household", "business") else "quantity",
            ).encode(),
            True,
        )
        files[f"{sdir}/sealed.pbs"] = (sr.encode(), False)
        files[f"{sdir}/meter-state.json"] = (m.meter.state.to_json().encode(), True)
        for b in m.batches:
            files[f"{sdir}/openings-{b.first}.pbo"] = (b.encode(), True)
        for stale in (out / sdir).glob("openings-*.pbo"):  # --force: a new meter directory
            stale.unlink()
    for name, (data, private) in files.items():
        write_output(out / name, data, force=args.force, private=private)
    run.console.print(f"  files     written to {out}/")


def _customer_view(console: Console, e: Explanation, unit: str, *, mixed: bool = False) -> None:
    """The bill as the customer's device shows it (from the cleartext readings, never sent
    anywhere): the shared explanation, as a table. ``mixed``: the meters count different things
    (a licence's features), so quantities are shown per component, not added up."""
    cur = e.body.currency
    details = any(c.detail for c in e.components)
    table = Table(title="Customer's view (stays on the device)", title_justify="left")
    table.add_column("charge")
    table.add_column(unit, justify="right")
    table.add_column(cur, justify="right")
    if details:
        table.add_column("")
    rows: list[tuple[str, str, str, str]] = [
        (r.name, kwh(r.quantity), e.amount(r.cost), "")
        for r in e.energy
        if not (mixed and r.cost == 0)
    ]
    rows += [(c.label, "", e.amount(c.fee), c.detail) for c in e.components]
    rows.append(("fixed charges", "", e.amount(e.breakdown.fixed), ""))
    if e.breakdown.minimum_top_up:
        rows.append(("raised to the minimum", "", e.amount(e.breakdown.minimum_top_up), ""))
    total_q = sum(r.quantity for r in e.energy)
    shown_q = "" if mixed else kwh(total_q)
    rows.append(("[bold]total[/]", shown_q, f"[bold]{e.amount(e.total)}[/]", ""))
    for row in rows:
        table.add_row(*(row if details else row[:3]))
    console.print()
    console.print(table)


class _null:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> None:
        return None
