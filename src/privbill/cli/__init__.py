"""The ``privbill`` command line: one module per command group over the library's calls.

:mod:`privbill.cli.common` holds the loaders, the result reporter and the error → exit status
mapping; this module builds the parser from the groups and runs a command. Each command group
is a module with ``register(subparsers)``; :data:`COMMAND_GROUPS` lists them in the order
``privbill --help`` shows them. The groups of the provider service (:mod:`privbill.cli.service`)
and the household side (:mod:`privbill.cli.household`) import their optional dependencies only
when one of their commands runs, so ``privbill --help`` and ``privbill demo`` work without the
``service`` and ``agent`` extras.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import sys
from collections.abc import Sequence

from privbill import __version__
from privbill.cli.common import (
    EXIT_BROKEN_PIPE,
    EXIT_USAGE,
    ArgumentsError,
    Command,
    Parser,
    run,
)

__all__ = ["COMMAND_GROUPS", "build_parser", "main"]

COMMAND_GROUPS: tuple[str, ...] = (
    "privbill.cli.keygen",
    "privbill.cli.tariff",
    "privbill.cli.meter",
    "privbill.cli.bill",
    "privbill.cli.receipt",
    "privbill.cli.demo",
    "privbill.cli.disclose",
    "privbill.cli.service",
    "privbill.cli.household",
)

EXAMPLE = """\
a month end to end (docs/cli.md lists every command):
  privbill demo --seed 7 --out demo-out/           # simulated readings and a tariff description
  privbill keygen --out keys/ --opening-key        # provider key, meter key, certificate
  privbill tariff create demo-out/tariff.json --key keys/provider.pem --out tariff.pbt
  privbill meter record demo-out/readings.csv --key keys/meter-0001.pem \\
      --cert keys/meter-0001.cert --timezone America/Denver \\
      --opening-key keys/meter-0001.okey --out sealed/
  privbill bill explain --readings sealed/ --tariff tariff.pbt --period 2026-01 \\
      --opening-key keys/meter-0001.okey
  privbill bill prove --readings sealed/ --tariff tariff.pbt --period 2026-01 \\
      --opening-key keys/meter-0001.okey --out bill.pbm
  privbill bill verify bill.pbm --tariff tariff.pbt --provider keys/provider.pub

exit status: 0 success, 1 a well-formed object that fails verification, 2 bad usage or
unreadable input. Existing output files are refused unless --force is given.
"""


def build_parser() -> argparse.ArgumentParser:
    p = Parser(
        prog="privbill",
        description="Private billing from smart-meter readings: the provider learns the bill, "
        "not the readings.",
        epilog=EXAMPLE,
    )
    p.add_argument("--version", action="version", version=f"privbill {__version__}")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in COMMAND_GROUPS:
        importlib.import_module(name).register(sub)
    return p


def _usage_problem(exc: ArgumentsError, argv: Sequence[str]) -> int:
    if "--json" in argv:
        message = f"{exc.parser.prog}: {exc.message}"
        print(json.dumps({"error": message, "error_type": "UsageError"}))
    else:
        exc.parser.print_usage(sys.stderr)
        print(f"{exc.parser.prog}: error: {exc.message}", file=sys.stderr)
    return EXIT_USAGE


def _quiet_stdout() -> None:
    """After a broken pipe: send what is still buffered nowhere, so exiting prints nothing."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):  # no real file descriptor (tests)
        pass


def main(argv: Sequence[str] | None = None) -> int:
    args_list = list(sys.argv[1:] if argv is None else argv)
    try:
        try:
            args = build_parser().parse_args(args_list)
        except ArgumentsError as exc:
            return _usage_problem(exc, args_list)
        except SystemExit as exc:  # --help and --version
            return int(exc.code or 0) if isinstance(exc.code, int) else EXIT_USAGE
        func: Command = args.func
        status = run(func, args)
        sys.stdout.flush()
        return status
    except BrokenPipeError:
        _quiet_stdout()
        return EXIT_BROKEN_PIPE
