"""``privbill demo``: a simulated customer billed privately end to end (``privbill.demo``)."""

from __future__ import annotations

import argparse

from privbill.cli.common import SEAL_CHOICES, Subparsers, add_force, add_json, add_progress
from privbill.errors import UsageError


def cmd_demo(args: argparse.Namespace) -> int:
    if args.live:
        from privbill.household.live import run_live  # MQTT and the service only for --live

        return run_live(args)
    try:
        from privbill.demo import run_demo  # rich and the load profiles load only for the demo
    except ModuleNotFoundError as exc:
        if (exc.name or "").split(".")[0] != "rich":
            raise
        raise UsageError(
            "privbill demo needs the demo extra (rich): pip install 'privbill[demo]'",
            obj="options",
            field="demo",
        ) from None
    return run_demo(args)


def register(sub: Subparsers) -> None:
    d = sub.add_parser(
        "demo",
        help="simulate a customer (household, business, car, licensee), bill it privately, verify",
        description="Make keys, sign a demo tariff, simulate a month of readings, seal them, "
        "prove the bill, verify it and issue a receipt; print what the customer sees and what "
        "the provider learns. The seed is printed: --seed repeats the same readings.",
        epilog="examples:\n  privbill demo\n  privbill demo --days 7 --interval 30 --seed 7 "
        "--out demo-week/\n  privbill demo --scenario commercial-demand --start 2026-07-01\n"
        "  privbill demo --scenario road-tolling\n  privbill demo --scenario licence\n"
        "  privbill demo --registers",
    )
    d.add_argument(
        "--scenario",
        choices=(
            "residential-tou",
            "residential-tiered",
            "commercial-demand",
            "pay-as-you-drive",
            "road-tolling",
            "licence",
        ),
        default="residential-tou",
        help="customer and tariff",
    )
    d.add_argument("--days", type=int, help="bill this many days instead of a calendar month")
    d.add_argument("--start", default="2026-01-01", help="first day, YYYY-MM-DD")
    d.add_argument(
        "--interval",
        type=int,
        help="meter interval in minutes (default 15; 60 for the licence, which counts hours)",
    )
    d.add_argument("--seal", choices=SEAL_CHOICES, default="daily", help="seal span")
    d.add_argument(
        "--seed", type=int, help="seed of the simulated readings (default: a random one, printed)"
    )
    d.add_argument(
        "--registers",
        action="store_true",
        help="the meter keeps time-of-use energy registers; the bill is proven from them "
        "(about a kilobyte, verified in milliseconds)",
    )
    d.add_argument(
        "--out",
        help="keep keys, tariff, readings (private), the meter directory, bill and receipt here",
    )
    d.add_argument(
        "--live",
        action="store_true",
        help="run the provider service, a meter and the household agent together (MQTT on "
        "--broker) until a bill arrives with its receipt",
    )
    d.add_argument("--broker", default="127.0.0.1:1883", help="--live: the MQTT broker")
    d.add_argument(
        "--speed", type=float, default=0.0, help="--live: simulated seconds per second (0: at once)"
    )
    d.add_argument("--timeout", type=float, default=600.0, help="--live: give up after this long")
    add_force(d)
    add_progress(d)
    add_json(d)
    d.set_defaults(func=cmd_demo)
