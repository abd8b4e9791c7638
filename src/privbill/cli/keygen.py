"""``privbill keygen``: a provider key, a meter key and the provider's certificate of the meter."""

from __future__ import annotations

import argparse
from decimal import Decimal, InvalidOperation
from pathlib import Path

from privbill.cli.common import (
    ALG_CHOICES,
    Subparsers,
    add_force,
    add_json,
    key_id,
    load_signing_key,
    refuse_existing,
    report,
    write_output,
)
from privbill.crypto.signatures import SigningKey
from privbill.errors import UsageError
from privbill.meter import Meter
from privbill.model.periods import check_interval_length
from privbill.provider import DEFAULT_VALID_FROM, DEFAULT_VALID_UNTIL, Provider


def cmd_keygen(args: argparse.Namespace) -> int:
    out = Path(args.out)
    interval_s = check_interval_length(args.interval * 60)
    written: list[tuple[Path, bytes, bool]] = []
    if args.provider_key:
        provider = Provider(load_signing_key(args.provider_key, "provider key", "--provider-key"))
    else:
        provider = Provider.generate(ALG_CHOICES[args.provider_alg])
        written.append((out / "provider.pem", provider.key.to_pem(), True))
    pub = out / "provider.pub"
    # The provider's public key goes beside the certificate it checks (``meter record`` looks
    # for it there); an identical copy is left as it is.
    if not (
        args.provider_key and pub.exists() and pub.read_bytes() == provider.public_key.to_pem()
    ):
        written.append((pub, provider.public_key.to_pem(), False))
    meter_key = SigningKey.generate(ALG_CHOICES[args.meter_alg])
    cert = provider.certify_meter(
        args.meter_id,
        args.account,
        meter_key.public_key(),
        interval_s=interval_s,
        valid_from=DEFAULT_VALID_FROM,
        valid_until=DEFAULT_VALID_UNTIL,
        attributes=tuple(a for a in (args.attributes or "").split(",") if a),
        channel=args.channel,
        rating_w=_rating_w(args.rating_kw),
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
    refuse_existing([p for p, _, _ in written], args.force)
    for path, data, private in written:
        write_output(path, data, force=args.force, private=private)
    view = {
        "files": [str(p) for p, _, _ in written],
        "meter_id": cert.meter_id,
        "account": cert.account,
        "channel": cert.channel,
        "rating_w": cert.rating_w,
        "interval_minutes": interval_s // 60,
        "provider_key_id": key_id(provider.public_key),
        "meter_key_id": key_id(meter_key.public_key()),
    }
    return report(args.json, view, [str(p) for p, _, _ in written])


def _rating_w(kw: str | None) -> int | None:
    """``--rating-kw`` in whole watts (exact decimal; ``None`` when not given)."""
    if kw is None:
        return None
    try:
        w = Decimal(kw) * 1000
    except InvalidOperation:
        raise UsageError(
            f"not a number of kW: {kw!r}", obj="options", field="--rating-kw"
        ) from None
    if not w.is_finite() or w != w.to_integral_value() or w < 1:
        raise UsageError(
            f"a rating is a positive whole number of watts, got {kw} kW",
            obj="options",
            field="--rating-kw",
        )
    return int(w)


def register(sub: Subparsers) -> None:
    k = sub.add_parser(
        "keygen",
        help="provider key, meter key and meter certificate",
        description="Make a provider key pair (or use --provider-key), a meter key pair and the "
        "provider's certificate binding the meter to an account. Private keys are written "
        "readable by their owner only.",
        epilog="example:\n  privbill keygen --out keys/ --meter-id 0001 --account acct-42 "
        "--opening-key",
    )
    k.add_argument("--out", required=True, help="directory for the key files")
    k.add_argument("--meter-id", default="0001", help="the meter's identifier")
    k.add_argument("--account", default="account-0001", help="the customer account it bills")
    k.add_argument("--interval", type=int, default=15, help="meter interval in minutes")
    k.add_argument("--provider-key", help="certify with this existing provider private key (PEM)")
    k.add_argument(
        "--attributes",
        help="comma-separated private attributes the meter commits per interval (e.g. road_class)",
    )
    k.add_argument(
        "--channel",
        help="what the meter counts, when the tariff prices it apart (e.g. a licensed feature: "
        "tiers with this channel count only its meters)",
    )
    k.add_argument(
        "--rating-kw",
        help="the meter's rated power in kW (nameplate or current-transformer rating): it signs "
        "no interval above it, and demand proofs size their ranges from it",
    )
    k.add_argument(
        "--provider-alg", choices=ALG_CHOICES, default="ed25519", help="provider key algorithm"
    )
    k.add_argument(
        "--meter-alg", choices=ALG_CHOICES, default="ecdsa-p256", help="meter key algorithm"
    )
    k.add_argument(
        "--opening-key",
        action="store_true",
        help="also make a key shared by meter and customer device (blinding factors derive "
        "from it, so openings files carry only the readings)",
    )
    add_force(k)
    add_json(k)
    k.set_defaults(func=cmd_keygen)
