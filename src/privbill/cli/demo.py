"""``privbill demo``: a simulated customer billed privately end to end (``privbill.demo``)."""

from __future__ import annotations

import argparse

from privbill.cli.common import SEAL_CHOICES, Subparsers


def cmd_demo(args: argparse.Namespace) -> int:
    from privbill.demo import run_demo  # rich and the load profiles load only for the demo

    return run_demo(args)


def register(sub: Subparsers) -> None:
    d = sub.add_parser("demo", help="simulate a household, bill it privately, verify")
    d.add_argument(
        "--scenario",
        choices=("residential-tou", "residential-tiered", "commercial-demand", "pay-as-you-drive"),
        default="residential-tou",
        help="customer and tariff (default residential-tou)",
    )
    d.add_argument("--days", type=int, help="bill this many days instead of a calendar month")
    d.add_argument("--start", default="2026-01-01", help="first day (default 2026-01-01)")
    d.add_argument(
        "--interval", type=int, default=15, help="meter interval in minutes (default 15)"
    )
    d.add_argument("--seal", choices=SEAL_CHOICES, default="daily")
    d.add_argument("--seed", type=int, help="seed of the household simulation (readings only)")
    d.add_argument("--out", help="keep keys, tariff, readings, bill and receipt here")
    d.add_argument("--no-progress", action="store_true")
    d.set_defaults(func=cmd_demo)
