"""``privbill keygen``: a provider key, a meter key and the provider's certificate of the meter."""

from __future__ import annotations

import argparse
from pathlib import Path

from privbill.cli.common import ALG_CHOICES, Subparsers, load_signing_key
from privbill.crypto.signatures import SigningKey
from privbill.errors import UsageError
from privbill.files import write_atomic
from privbill.meter import Meter
from privbill.model.periods import check_interval_length
from privbill.provider import DEFAULT_VALID_FROM, DEFAULT_VALID_UNTIL, Provider


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


def register(sub: Subparsers) -> None:
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
