"""``privbill meter record|status``: the meter's side — commit to and seal readings from a CSV,
and show what a meter directory holds.

A meter directory holds ``sealed.pbs`` (public: the certificate and every sealed run),
``meter-state.json`` (the meter's chain position, timezone and any open run) and one private
``openings-FIRST.pbo`` per recording. Sealed readings and openings cannot be recreated, so a
recording that cannot continue the directory's chain is refused instead of starting a new one.
"""

from __future__ import annotations

import argparse
import itertools
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from privbill.cli.common import (
    SEAL_CHOICES,
    SEAL_NAMES,
    STATE_FILE,
    UTC,
    MeterDir,
    Subparsers,
    View,
    add_json,
    add_progress,
    key_id,
    load_certificate,
    load_opening_key,
    load_signing_key,
    load_tariff,
    load_verifying_key,
    open_run_note,
    refuse_existing,
    report,
    step,
    write_output,
)
from privbill.errors import ReadingError, SignatureError, UsageError
from privbill.files import write_atomic
from privbill.interop import csv_readings
from privbill.interop.csv_readings import Row
from privbill.meter import Meter, MeterState, Recording
from privbill.model.certificates import MeterCertificate
from privbill.model.energy_registers import EnergyRegisters, RegisterConfig, register_config_for
from privbill.model.periods import interval_time, local_midnight, local_time, zone
from privbill.model.registers import DemandRegister
from privbill.model.sealed import SealedReadings
from privbill.model.seals import SealedRun

OUTAGE_HELP = (
    "record the meter's outage from FROM until UNTIL (exclusive): intervals without a reading "
    "there are sealed as 0 Wh in an outage run the meter signs; times are ISO 8601 with an "
    "offset, local date-times or dates (repeatable)"
)


# --- the directory's chain -----------------------------------------------------------------------


@dataclass
class Chain:
    """What a directory already holds for the meter, checked to continue."""

    state: MeterState | None
    runs: tuple[SealedRun, ...] = ()
    registers: tuple[DemandRegister, ...] = ()
    energy: tuple[EnergyRegisters, ...] = ()


def _span_text(runs: tuple[SealedRun, ...], tz: ZoneInfo) -> str:
    if not runs:
        return "no sealed runs"
    s0, s1 = runs[0].seal, runs[-1].seal
    return (
        f"{local_time(s0.first * s0.interval_s, tz)} until "
        f"{local_time(s1.end * s1.interval_s, tz)}, {len(runs)} run(s)"
    )


def continue_chain(d: MeterDir, cert: MeterCertificate, tz: ZoneInfo | None = None) -> Chain:
    """The directory's state and sealed runs, refusing anything a recording would damage."""
    state = d.state()
    sealed = d.sealed()
    tz = tz or d.timezone()
    if state is None:
        if sealed is not None:
            raise UsageError(
                f"{d.sealed_path} holds sealed readings of meter {sealed.certificate.meter_id} "
                f"({_span_text(sealed.runs, tz)}) but {d.state_path} is missing: recording now "
                "would start a new seal chain and replace them. Restore "
                f"{STATE_FILE} from a backup, or record into another directory (--out)",
                obj="readings",
            )
        if d.openings_paths():
            raise UsageError(
                f"{d.path} holds openings files but no {STATE_FILE}: record into another "
                "directory (--out), or restore the meter's state and sealed readings",
                obj="readings",
            )
        return Chain(None)
    if sealed is None:
        if state.seq:
            raise UsageError(
                f"{d.state_path} says the meter sealed {state.seq} run(s), but "
                f"{d.sealed_path} is missing: restore it from a backup (recording on would "
                "leave those readings unbillable)",
                obj="readings",
            )
        return Chain(state)
    if sealed.certificate.meter_id != cert.meter_id:
        raise UsageError(
            f"{d.path} holds readings of meter {sealed.certificate.meter_id}, not {cert.meter_id}",
            obj="readings",
        )
    if sealed.certificate.public_key != cert.public_key:
        raise UsageError(
            f"{d.path} holds readings sealed with another key of meter {cert.meter_id}; "
            "record with that meter's certificate, or into another directory (--out)",
            obj="readings",
        )
    last = sealed.runs[-1].seal
    if last.seq + 1 != state.seq or last.chain_hash() != state.prev:
        raise UsageError(
            f"{d.state_path} does not continue {d.sealed_path}: its last seal is number "
            f"{last.seq}, ending {local_time(last.end * last.interval_s, tz)}, but the state "
            f"expects number {state.seq} next; restore both files from the same backup",
            obj="meter state",
        )
    return Chain(state, sealed.runs, sealed.registers, sealed.energy_registers)


def check_certificate(cert: MeterCertificate, args: argparse.Namespace) -> str:
    """Verify the certificate's provider signature before sealing anything with it; return
    where the provider key came from."""
    if args.provider:
        source = str(args.provider)
    else:
        beside = Path(args.cert).parent / "provider.pub"
        if not beside.exists():
            raise UsageError(
                "cannot check the meter certificate: give --provider with the public key of "
                f"the provider that issued it (there is no provider.pub beside {args.cert})",
                obj="meter certificate",
            )
        source = str(beside)
    provider = load_verifying_key(source, "provider key")
    try:
        cert.verify(provider)
    except SignatureError as exc:
        raise UsageError(
            f"{args.cert} does not verify under the provider key {source}: {exc.detail} — "
            "the certificate is damaged or issued by another provider",
            obj="meter certificate",
            field=exc.field,
        ) from None
    return source


def seal_timezone(
    args: argparse.Namespace, state: MeterState | None, span: str
) -> tuple[str | None, str]:
    """The timezone runs are sealed in, and where it came from."""
    if args.timezone:
        zone(args.timezone)
        if state is not None and state.timezone and state.timezone != args.timezone:
            raise UsageError(
                f"the meter in {args.out} seals in {state.timezone} (its {STATE_FILE}); "
                f"--timezone {args.timezone} differs"
            )
        return args.timezone, "--timezone"
    if state is not None and state.timezone:
        return state.timezone, f"the directory's {STATE_FILE}"
    source = args.tariff or getattr(args, "registers", None)
    if source:
        tzname: str = load_tariff(source).body.timezone
        return tzname, f"the tariff {source}"
    if span == "reading":
        return None, ""
    raise UsageError(
        f"--seal {SEAL_NAMES[span]} seals at local midnight: give the meter's --timezone (e.g. "
        "America/Denver), or --tariff TARIFF.pbt to use the tariff's timezone"
    )


# --- outages -----------------------------------------------------------------------------------


def _outage_time(text: str, tz: ZoneInfo | None, flag: str) -> int:
    try:
        if len(text) == 10:
            if tz is None:
                raise UsageError(f"{flag} {text}: a date needs the meter's --timezone")
            return local_midnight(date.fromisoformat(text), tz)
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise UsageError(
            f"{flag} {text!r} is not a date or an ISO 8601 date-time (2026-01-05T14:00-07:00)"
        ) from None
    if moment.tzinfo is None:
        if tz is None:
            raise UsageError(f"{flag} {text}: a local time needs the meter's --timezone")
        moment = moment.replace(tzinfo=tz)
    return int(moment.timestamp())


def outage_indices(ranges: list[list[str]], interval_s: int, tz: ZoneInfo | None) -> set[int]:
    out: set[int] = set()
    for a_text, b_text in ranges:
        a = _outage_time(a_text, tz, "--outage")
        b = _outage_time(b_text, tz, "--outage")
        for t, text in ((a, a_text), (b, b_text)):
            if t % interval_s:
                raise UsageError(
                    f"--outage {text} is not the start of a {interval_s // 60}-minute interval"
                )
        if b <= a:
            raise UsageError(f"--outage {a_text} {b_text}: the outage must end after it starts")
        out.update(range(a // interval_s, b // interval_s))
    return out


def merge_outages(
    rows: list[Row], outages: set[int], k: int, interval_s: int, tz: ZoneInfo
) -> list[Row]:
    """The CSV's rows with the outage intervals marked (a reading there must be 0) or filled
    in, checked to leave no gap."""
    by_index = {r.index: r for r in rows}
    for i in outages:
        r = by_index.get(i)
        if r is not None and r.value:
            raise ReadingError(
                f"the reading at {interval_time(i, interval_s, tz)} is inside --outage but "
                f"reads {r.value}",
                obj="readings",
                field="wh",
            )
        attrs = r.attributes if r is not None else (0,) * k
        by_index[i] = Row(i, 0, attrs, True)
    items = [by_index[i] for i in sorted(by_index)]
    for a, b in itertools.pairwise(items):
        if b.index != a.index + 1:
            start, until = a.index + 1, b.index
            raise ReadingError(
                f"no readings from {interval_time(start, interval_s, tz)} until "
                f"{local_time(until * interval_s, tz)} ({until - start} interval(s)); if the "
                "meter had no supply then, record the gap as an outage: --outage "
                f"{datetime.fromtimestamp(start * interval_s, tz).isoformat()} "
                f"{datetime.fromtimestamp(until * interval_s, tz).isoformat()}",
                obj="readings CSV",
                field="interval_start",
            )
    return items


def segments(items: list[Row]) -> list[list[Row]]:
    """Runs of consecutive rows with the same outage mark."""
    out: list[list[Row]] = []
    for r in items:
        if out and out[-1][-1].outage == r.outage:
            out[-1].append(r)
        else:
            out.append([r])
    return out


# --- record --------------------------------------------------------------------------------------


def cmd_meter_record(args: argparse.Namespace) -> int:
    key = load_signing_key(args.key, "meter key")
    cert = load_certificate(args.cert)
    provider_source = check_certificate(cert, args)
    d = MeterDir(Path(args.out))
    chain = continue_chain(d, cert, zone(args.timezone) if args.timezone else None)
    state = chain.state
    span = (
        SEAL_CHOICES[args.seal]
        if args.seal
        else (state.seal_span if state is not None and state.seal_span else "day")
    )
    tzname, tz_source = seal_timezone(args, state, span)
    config = _register_config(args, tzname)
    tz = zone(tzname) if tzname else None
    shown_tz = tz or UTC
    length = cert.interval_s
    rows = csv_readings.parse_rows(
        csv_readings.read_text(Path(args.readings)),
        length,
        cert.attributes,
        tz=tz,
        gaps=True,
    )
    outages = outage_indices(args.outage or [], length, tz)
    items = merge_outages(rows, outages, len(cert.attributes), length, shown_tz)
    if not items:
        raise ReadingError("no readings and no --outage to record", obj="readings CSV")
    first, end = items[0].index, items[-1].index + 1
    if first * length < cert.valid_from or end * length > cert.valid_until:
        raise ReadingError(
            f"readings from {local_time(first * length, shown_tz)} until "
            f"{local_time(end * length, shown_tz)} are outside the certificate's validity, "
            f"{local_time(cert.valid_from, shown_tz)} until {local_time(cert.valid_until, shown_tz)}",
            obj="readings",
        )
    parts = segments(items)
    refuse_existing([d.path / f"openings-{p[0].index}.pbo" for p in parts], force=False)
    meter = Meter(
        cert,
        key,
        span,  # type: ignore[arg-type]
        tzname or "UTC",
        load_opening_key(args.opening_key),
        state if state is not None else MeterState(),
    )
    config_now = True
    if config is not None:
        config_now = meter.configure_energy_registers(config)
    recordings: list[Recording] = []
    with step(args, f"committing to and sealing {len(items)} readings"):
        for j, part in enumerate(parts):
            last = j == len(parts) - 1
            recordings.append(
                meter.record(
                    [(r.index, r.value, r.attributes) for r in part],
                    close=last and not args.keep_open,
                    outage=part[0].outage,
                )
            )
    new_state = meter.state
    if tzname is None:
        new_state.timezone = None  # per-reading seals: no local time was chosen
    runs = tuple(r for rec in recordings for r in rec.runs)
    registers = tuple(g for rec in recordings for g in rec.registers)
    energy = tuple(g for rec in recordings for g in rec.energy_registers)
    for rec in recordings:
        write_output(
            d.path / f"openings-{rec.openings.first}.pbo",
            rec.openings.encode(),
            force=False,
            private=True,
        )
    all_runs = (*chain.runs, *runs)
    if all_runs:
        sealed = SealedReadings(
            cert, all_runs, (*chain.registers, *registers), (*chain.energy, *energy)
        )
        write_atomic(d.sealed_path, sealed.encode())
    write_atomic(d.state_path, new_state.to_json().encode(), private=True)

    outage_n = sum(1 for r in items if r.outage)
    open_n = len(new_state.pending) // 48
    where = f"local midnight in {tzname}" if tzname and span != "reading" else "every reading"
    span_name = SEAL_NAMES[span]
    lines = [
        f"{d.path}: {len(items)} readings of meter {cert.meter_id}, "
        f"{local_time(first * length, shown_tz)} until {local_time(end * length, shown_tz)}",
        f"  {len(runs)} run(s) sealed ({span_name}, at {where}"
        + (f", timezone from {tz_source}" if tz_source else "")
        + f"); certificate checked against {provider_source}",
    ]
    if outage_n:
        lines.append(f"  outage: {outage_n} interval(s) sealed as 0 Wh in outage runs")
    if open_n:
        lines.append(
            f"  {open_n} reading(s) in an open run (--keep-open): the next recording continues it"
        )
    if config is not None and not config_now:
        lines.append(
            "  energy registers: the new calendar takes over at the next billing period; the "
            "current one completes under the calendar it started with"
        )
    shown_tz_name = tzname or "UTC"
    for st in energy:
        lines.append(
            f"  energy registers signed for {st.period.label(zone(shown_tz_name))}: "
            f"{len(st.periods)} time-of-use register(s) over {st.count} intervals"
        )
    view: View = {
        "directory": str(d.path),
        "meter_id": cert.meter_id,
        "readings": len(items),
        "first": first,
        "end": end,
        "from": local_time(first * length, shown_tz),
        "until": local_time(end * length, shown_tz),
        "runs_sealed": len(runs),
        "seal": span_name,
        "timezone": tzname,
        "timezone_from": tz_source or None,
        "outage_intervals": outage_n,
        "open_run_readings": open_n,
        "provider_key": provider_source,
        "energy_registers_signed": [st.period.label(zone(shown_tz_name)) for st in energy],
        "energy_registers_pending": config is not None and not config_now,
    }
    return report(args.json, view, lines)


def _register_config(args: argparse.Namespace, tzname: str | None) -> RegisterConfig | None:
    """The energy-register configuration ``--registers TARIFF`` asks for (``None`` without)."""
    if not args.registers:
        return None
    tariff = load_tariff(args.registers)
    if tzname is None or tzname != tariff.body.timezone:
        raise UsageError(
            f"--registers: the tariff's calendar is in {tariff.body.timezone}, the meter seals "
            f"in {tzname or 'no local time (per-reading seals without --timezone)'}; its "
            f"registers would never match the tariff: record with --timezone "
            f"{tariff.body.timezone}",
            obj="meter",
        )
    try:
        return register_config_for(tariff.body)
    except UsageError as exc:
        raise UsageError(f"--registers {args.registers}: {exc.detail}", obj="tariff") from None


# --- status ----------------------------------------------------------------------------------------


def _outage_spans(runs: tuple[SealedRun, ...]) -> list[tuple[int, int]]:
    spans: list[tuple[int, int]] = []
    for r in runs:
        s = r.seal
        if not s.outage:
            continue
        if spans and spans[-1][1] == s.first:
            spans[-1] = (spans[-1][0], s.end)
        else:
            spans.append((s.first, s.end))
    return spans


def cmd_meter_status(args: argparse.Namespace) -> int:
    d = MeterDir(Path(args.directory))
    if not d.path.is_dir():
        what = "is not a directory" if d.path.exists() else "does not exist (no such directory)"
        raise UsageError(f"{d.path} {what}", obj="readings")
    state = d.state()
    sealed = d.sealed()
    tz = zone(args.timezone) if args.timezone else d.timezone()
    problems: list[str] = []
    if sealed is None:
        if state is None:
            raise UsageError(
                f"{d.path} holds no sealed readings and no meter state", obj="readings"
            )
        note = open_run_note(state, 900, tz)
        view: View = {"directory": str(d.path), "runs": 0, "open_run": note or None}
        lines = [f"{d.path}: no sealed runs yet"] + ([f"  {note}"] if note else [])
        return report(args.json, view, lines)
    cert = sealed.certificate
    length = cert.interval_s
    runs = sealed.runs
    first, end = runs[0].seal.first, runs[-1].seal.end
    head = runs[-1].seal
    if state is None:
        problems.append(f"{STATE_FILE} is missing: `meter record` cannot continue this chain")
    elif head.seq + 1 != state.seq or head.chain_hash() != state.prev:
        problems.append(f"{STATE_FILE} does not continue {d.sealed_path.name}")
    covered: set[int] = set()
    openings = d.openings()
    for b in openings:
        covered.update(range(b.first, b.end))
    missing = [i for i in range(first, end) if i not in covered]
    if missing:
        problems.append(
            f"no openings for {len(missing)} sealed interval(s), the first at "
            f"{interval_time(missing[0], length, tz)}"
        )
    outages = _outage_spans(runs)
    outage_n = sum(b - a for a, b in outages)
    note = open_run_note(state, length, tz)
    spans = {r.seal.count for r in runs}
    lines = [
        f"{d.path}: meter {cert.meter_id}, account {cert.account}, {length // 60}-minute "
        f"intervals, certified by provider key {key_id(cert.issuer)}",
        f"  readings {local_time(first * length, tz)} until {local_time(end * length, tz)} "
        f"({end - first} intervals in {len(runs)} sealed runs, seals {runs[0].seal.seq}..{head.seq})",
        f"  seals: {SEAL_NAMES.get(state.seal_span, '?') if state and state.seal_span else 'unknown span'}"
        + (f", local time {state.timezone}" if state and state.timezone else "")
        + (f"; runs of {min(spans)}..{max(spans)} readings" if spans else ""),
        f"  chain head: seal {head.seq}, hash {head.chain_hash().hex()[:16]}… (the next seal's prev)",
        f"  openings: {len(openings)} file(s)"
        + ("" if missing else ", every sealed interval opened"),
    ]
    if outages:
        shown = "; ".join(
            f"{local_time(a * length, tz)} until {local_time(b * length, tz)}" for a, b in outages
        )
        lines.append(f"  outages certified by the meter: {outage_n} interval(s): {shown}")
    if note:
        lines.append(f"  open run: {note}")
    if sealed.registers:
        lines.append(f"  demand registers: {len(sealed.registers)} month(s)")
    if state is not None and state.energy_config is not None:
        cal = state.energy_config.calendar.hash(state.timezone or "UTC").hex()[:16]
        lines.append(
            f"  energy registers: calendar {cal}… ({state.energy_config.calendar.periods} "
            f"periods, billing {state.energy_config.cycle.describe()})"
            + ("; a new calendar waits for the next period" if state.energy_pending else "")
        )
    if sealed.energy_registers:
        labels = [st.period.label(tz) for st in sealed.energy_registers]
        lines.append(
            f"  energy-register statements: {len(labels)} ({', '.join(labels[-3:])}"
            + (", …" if len(labels) > 3 else "")
            + ")"
        )
    lines += [f"  PROBLEM: {p}" for p in problems]
    view = {
        "directory": str(d.path),
        "meter_id": cert.meter_id,
        "account": cert.account,
        "interval_minutes": length // 60,
        "provider_key_id": key_id(cert.issuer),
        "first": first,
        "end": end,
        "from": local_time(first * length, tz),
        "until": local_time(end * length, tz),
        "intervals": end - first,
        "runs": len(runs),
        "first_seq": runs[0].seal.seq,
        "last_seq": head.seq,
        "chain_head": head.chain_hash().hex(),
        "seal": SEAL_NAMES.get(state.seal_span) if state and state.seal_span else None,
        "timezone": state.timezone if state else None,
        "outage_intervals": outage_n,
        "outages": [[a, b] for a, b in outages],
        "open_run_readings": len(state.pending) // 48 if state else 0,
        "energy_register_statements": [st.period.label(tz) for st in sealed.energy_registers],
        "openings_files": len(openings),
        "missing_openings": len(missing),
        "problems": problems,
    }
    return report(args.json, view, lines, 1 if problems else 0)


# --- parser ----------------------------------------------------------------------------------------


def register(sub: Subparsers) -> None:
    m = sub.add_parser(
        "meter",
        help="meter operations: record readings, show a meter directory",
        description="The meter's side: commit to each reading, seal runs of commitments, keep "
        "the chain in a directory.",
    )
    msub = m.add_subparsers(dest="meter_command", required=True, metavar="ACTION")
    mr = msub.add_parser(
        "record",
        help="commit to and seal readings from a CSV",
        description="Commit to and seal the readings of a CSV (columns interval_start, ISO 8601 "
        "with offset, and wh; optional outage) into a meter directory, continuing its chain. "
        "A directory whose sealed readings cannot be continued is refused, never replaced.",
        epilog="examples:\n  privbill meter record readings.csv --key keys/meter-0001.pem "
        "--cert keys/meter-0001.cert \\\n      --timezone America/Denver --opening-key "
        "keys/meter-0001.okey --out sealed/\n  privbill meter record feb.csv … --outage "
        "2026-02-03T14:00 2026-02-03T16:30 --out sealed/",
    )
    mr.add_argument("readings", help="CSV: interval_start (ISO 8601 with offset), wh[, outage]")
    mr.add_argument("--key", required=True, help="meter private key (PEM)")
    mr.add_argument("--cert", required=True, help="meter certificate")
    mr.add_argument(
        "--provider",
        help="provider public key to check the certificate with (default: provider.pub beside "
        "the certificate)",
    )
    mr.add_argument(
        "--seal",
        choices=SEAL_CHOICES,
        help="run length: per-reading, daily or monthly seals (default: as the directory's "
        "previous recordings, else daily)",
    )
    mr.add_argument(
        "--timezone",
        help="local time of daily/monthly seals, IANA name (default: as the directory's previous "
        "recordings, else the --tariff's; required otherwise)",
    )
    mr.add_argument("--tariff", help="take the seal timezone from this signed tariff")
    mr.add_argument("--opening-key", help="derive blinding factors from this shared key")
    mr.add_argument(
        "--registers",
        metavar="TARIFF",
        help="keep time-of-use energy registers with this signed tariff's calendar and billing "
        "cycle and sign them at the end of each billing period (remembered in the meter state; "
        "a new calendar takes over at the next billing period)",
    )
    mr.add_argument(
        "--outage", nargs=2, action="append", metavar=("FROM", "UNTIL"), help=OUTAGE_HELP
    )
    mr.add_argument(
        "--keep-open",
        action="store_true",
        help="leave the last run unsealed until its span ends (the next recording continues it)",
    )
    mr.add_argument("--out", required=True, help="meter directory: sealed readings and openings")
    add_progress(mr)
    add_json(mr)
    mr.set_defaults(func=cmd_meter_record)

    ms = msub.add_parser(
        "status",
        help="what a meter directory holds: meter, dates, runs, outages, chain head",
        description="Show a meter directory. Exit status 1 if it has a problem (a missing or "
        "mismatched meter state, sealed intervals without openings).",
        epilog="example:\n  privbill meter status sealed/",
    )
    ms.add_argument("directory", help="meter directory written by `privbill meter record`")
    ms.add_argument("--timezone", help="show times in this timezone (default: the meter's)")
    add_json(ms)
    ms.set_defaults(func=cmd_meter_status)

    from privbill.cli.household import add_meter_run  # the meter as a running process

    add_meter_run(msub)
