"""The ``privbill`` command line: one module per command group over the library's calls.

:mod:`privbill.cli.common` holds the loaders, the result reporter and the error → exit status
mapping; this module builds the parser from the groups and runs a command. Each command group
is a module with ``register(subparsers)``; :data:`COMMAND_GROUPS` lists them in the order
``privbill --help`` shows them. A group from another package registers itself the same way: add
its module to the list.
"""

from __future__ import annotations

import argparse
import importlib
from collections.abc import Sequence

from privbill import __version__
from privbill.cli.common import Command, run

__all__ = ["COMMAND_GROUPS", "build_parser", "main"]

COMMAND_GROUPS: tuple[str, ...] = (
    "privbill.cli.keygen",
    "privbill.cli.tariff",
    "privbill.cli.meter",
    "privbill.cli.bill",
    "privbill.cli.receipt",
    "privbill.cli.demo",
    "privbill.cli.disclose",
)


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="privbill",
        description="Private billing from smart-meter readings: the provider learns the bill, not the readings.",
    )
    p.add_argument("--version", action="version", version=f"privbill {__version__}")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in COMMAND_GROUPS:
        importlib.import_module(name).register(sub)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:
        return int(exc.code or 0) if isinstance(exc.code, int) else 2
    func: Command = args.func
    return run(func, args)
