"""``privbill meter record``: the meter's side, committing to and sealing readings from a CSV."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from privbill.cli.common import (
    SEAL_CHOICES,
    SEALED_FILE,
    STATE_FILE,
    Subparsers,
    load_certificate,
    load_opening_key,
    load_signing_key,
)
from privbill.errors import UsageError
from privbill.files import read_bytes, write_atomic
from privbill.interop import csv_readings
from privbill.meter import Meter, MeterState
from privbill.model.sealed import SealedReadings


def cmd_meter_record(args: argparse.Namespace) -> int:
    key = load_signing_key(args.key, "meter key")
    cert = load_certificate(args.cert)
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


def register(sub: Subparsers) -> None:
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
