"""What every ``privbill`` command group shares: file loaders, the VALID/INVALID/``--json``
reporter and the mapping of errors to exit statuses.

Exit status: 0 success (a valid bill, receipt or response), 1 a well-formed object that fails
verification, 2 unreadable input or bad usage. Errors are one line on standard error, naming the
object and field; no traceback, and no partial output file.

A command group is a module with a ``register(subparsers)`` function that adds its sub-commands
and sets ``func`` (``args -> exit status``) on each; it imports this module, never another group.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, TypeAlias

from privbill.billing.prover import MeterInput
from privbill.crypto.signatures import Algorithm, KeyError_, SigningKey, VerifyingKey
from privbill.errors import DecodeError, PrivbillError, UsageError, VerificationError
from privbill.files import read_bytes
from privbill.model import money
from privbill.model.certificates import MeterCertificate
from privbill.model.readings import OPENING_KEY_BYTES, Openings
from privbill.model.sealed import SealedReadings
from privbill.model.tariffs import SignedTariff

Subparsers: TypeAlias = "argparse._SubParsersAction[argparse.ArgumentParser]"
Command = Callable[[argparse.Namespace], int]

SEAL_CHOICES = {"per-reading": "reading", "daily": "day", "monthly": "month"}
ALG_CHOICES: dict[str, Algorithm] = {"ecdsa-p256": "ecdsa-p256-sha256", "ed25519": "ed25519"}
SEALED_FILE = "sealed.pbs"
STATE_FILE = "meter-state.json"

EXIT_OK = 0
EXIT_INVALID = 1
EXIT_USAGE = 2


# --- loaders ---------------------------------------------------------------------------------


def load_signing_key(path: str, what: str) -> SigningKey:
    try:
        return SigningKey.from_pem(read_bytes(path, what))
    except KeyError_ as exc:
        raise DecodeError(str(exc), obj=what) from None


def load_verifying_key(path: str, what: str) -> VerifyingKey:
    data = read_bytes(path, what)
    try:
        return VerifyingKey.from_pem(data)
    except KeyError_:
        pass
    try:  # a private key file also gives its public key
        return SigningKey.from_pem(data).public_key()
    except KeyError_ as exc:
        raise DecodeError(f"not a PEM public key: {exc}", obj=what) from None


def load_tariff(path: str) -> SignedTariff:
    return SignedTariff.decode(read_bytes(path, "tariff"))


def load_certificate(path: str) -> MeterCertificate:
    return MeterCertificate.decode(read_bytes(path, "meter certificate"))


def load_opening_key(path: str | None) -> bytes | None:
    if path is None:
        return None
    text = read_bytes(path, "opening key").decode("ascii", "replace").strip()
    try:
        key = bytes.fromhex(text)
    except ValueError:
        raise DecodeError("expected 64 hexadecimal digits", obj="opening key") from None
    if len(key) != OPENING_KEY_BYTES:
        raise DecodeError(f"expected {OPENING_KEY_BYTES} bytes", obj="opening key")
    return key


def load_meter_dir(path: str, opening_key: bytes | None) -> MeterInput:
    d = Path(path)
    if not d.is_dir():
        raise UsageError(f"{d} is not a directory of sealed readings", obj="readings")
    sealed = SealedReadings.decode(read_bytes(d / SEALED_FILE, "sealed readings"))
    batches = [Openings.decode(read_bytes(p, "openings")) for p in sorted(d.glob("openings-*.pbo"))]
    if not batches:
        raise UsageError(f"{d} holds no openings-*.pbo files", obj="openings")
    return MeterInput(sealed, batches, opening_key)


# --- the reporter ----------------------------------------------------------------------------


def error_view(error: PrivbillError) -> dict[str, Any]:
    """The ``error`` and ``error_type`` entries of every ``--json`` result."""
    return {"error": str(error), "error_type": type(error).__name__}


def report(
    as_json: bool,
    view: Mapping[str, Any],
    lines: list[str],
    status: int = EXIT_OK,
) -> int:
    """Print a result: its JSON view with ``--json``, else its text lines; return ``status``."""
    if as_json:
        print(json.dumps(view))
    else:
        for line in lines:
            print(line)
    return status


def report_failure(
    as_json: bool, error: PrivbillError, view: Callable[[PrivbillError], Mapping[str, Any]]
) -> int:
    """A verification that did not succeed: ``INVALID  reason`` (status 1) for a well-formed
    object that fails; unreadable input is reported as JSON with ``--json`` (status 2) and
    otherwise raised for :func:`run` to print."""
    if isinstance(error, VerificationError):
        return report(as_json, view(error), [f"INVALID  {error}"], EXIT_INVALID)
    if as_json:
        return report(True, view(error), [], EXIT_USAGE)
    raise error


# --- errors → exit status ----------------------------------------------------------------------


def run(func: Command, args: argparse.Namespace) -> int:
    """Run a command, turning every expected error into one line on stderr and an exit status."""
    try:
        return func(args)
    except VerificationError as exc:
        print(f"privbill: invalid: {exc}", file=sys.stderr)
        return EXIT_INVALID
    except PrivbillError as exc:
        print(f"privbill: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except (money.AmountError, KeyError_) as exc:
        print(f"privbill: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except OSError as exc:
        print(f"privbill: error: {exc.strerror or exc}: {exc.filename or ''}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("privbill: interrupted", file=sys.stderr)
        return 130
