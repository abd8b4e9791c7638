"""What every ``privbill`` command group shares: the parser's conventions, file loaders, the
VALID/INVALID/``--json`` reporter, progress lines and the mapping of errors to exit statuses.

Exit status: 0 success (a valid bill, receipt or response), 1 a well-formed object that fails
verification (or a customer who declines a disclosure), 2 unreadable input or bad usage, 141 the
reader of standard output went away (``privbill … | head``). Errors are one line on standard
error naming the object and field — or, with ``--json``, one JSON object on standard output with
``error`` and ``error_type``; no traceback, and no partial output file.

Outputs that exist are refused unless ``--force`` is given; data that cannot be recreated (sealed
readings, openings) is never replaced.

A command group is a module with a ``register(subparsers)`` function that adds its sub-commands
and sets ``func`` (``args -> exit status``) on each — and ``verifies=True`` on those whose job is
to verify an object, the only ones that exit 1 for a :class:`VerificationError`; it imports this
module, never another group.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeAlias, TypeVar
from zoneinfo import ZoneInfo

from privbill.billing.prover import MeterInput
from privbill.crypto.signatures import Algorithm, KeyError_, SigningKey, VerifyingKey
from privbill.errors import DecodeError, PrivbillError, UsageError, VerificationError
from privbill.files import read_bytes, write_atomic
from privbill.meter import MeterState
from privbill.model import certificates, codec, readings, sealed, tariffs
from privbill.model.certificates import MeterCertificate
from privbill.model.periods import interval_time, zone
from privbill.model.readings import OPENING_KEY_BYTES, Openings
from privbill.model.sealed import SealedReadings
from privbill.model.tariffs import SignedTariff

Subparsers: TypeAlias = "argparse._SubParsersAction[argparse.ArgumentParser]"
Command = Callable[[argparse.Namespace], int]
View = dict[str, Any]
T = TypeVar("T")

SEAL_CHOICES = {"per-reading": "reading", "daily": "day", "monthly": "month"}
SEAL_NAMES = {v: k for k, v in SEAL_CHOICES.items()}
ALG_CHOICES: dict[str, Algorithm] = {"ecdsa-p256": "ecdsa-p256-sha256", "ed25519": "ed25519"}
SEALED_FILE = "sealed.pbs"
STATE_FILE = "meter-state.json"
OPENINGS_GLOB = "openings-*.pbo"

EXIT_OK = 0
EXIT_INVALID = 1
EXIT_USAGE = 2
EXIT_BROKEN_PIPE = 141  # as a process ended by SIGPIPE

UTC = ZoneInfo("UTC")

#: What a file holds, by the kind in its ``format`` tag (``privbill/<kind>/<version>``).
KINDS = {
    "tariff": "a signed tariff",
    "tariff-description": "a tariff description",
    "bill": "a payment message (bill)",
    "register-bill": "a payment message (bill) from energy registers",
    "energy-registers": "energy registers",
    "receipt": "a receipt",
    "sealed-readings": "sealed readings",
    "openings": "openings (private readings)",
    "meter-certificate": "a meter certificate",
    "seal": "a seal",
    "demand-register": "a demand register",
    "register-openings": "register openings",
    "disclosure-request": "a disclosure request",
    "disclosure-response": "a disclosure response",
    "disclosure-consent": "a disclosure consent",
}


# --- the parser ------------------------------------------------------------------------------


class HelpFormatter(argparse.RawDescriptionHelpFormatter):
    """Descriptions and examples as written; every option's default shown after its help."""

    def _get_help_string(self, action: argparse.Action) -> str | None:
        text = action.help or ""
        if (
            "%(default)" in text
            or not action.option_strings
            or action.default in (None, False, argparse.SUPPRESS)
            or (isinstance(action.default, list) and not action.default)
        ):
            return text
        return f"{text} (default: %(default)s)"


class ArgumentsError(UsageError):
    """A usage problem found while parsing the command line (exit status 2)."""

    def __init__(self, parser: argparse.ArgumentParser, message: str) -> None:
        super().__init__(message, obj="command line")
        self.parser = parser
        self.message = message


class Parser(argparse.ArgumentParser):
    """``argparse`` with privbill's help format; parse errors raise :class:`ArgumentsError` so
    that ``main`` reports them like every other usage problem (also as JSON)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("formatter_class", HelpFormatter)
        super().__init__(*args, **kwargs)

    def error(self, message: str) -> Any:  # argparse's hook; never returns
        raise ArgumentsError(self, message)


def add_json(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--json",
        action="store_true",
        help="print the result (or the error, with error_type) as one JSON object on stdout",
    )


def add_force(p: argparse.ArgumentParser) -> None:
    p.add_argument("--force", action="store_true", help="replace output files that exist")


def add_progress(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--no-progress", action="store_true", help="no progress lines on stderr for long steps"
    )


# --- file kinds --------------------------------------------------------------------------------


def is_json(data: bytes) -> bool:
    """Whether ``data`` is JSON text (a description, a statement list) rather than CBOR."""
    if data.lstrip(b"\xef\xbb\xbf \t\r\n")[:1] not in (b"{", b"["):
        return False
    try:
        json.loads(data.decode("utf-8-sig"))
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError):
        return False
    return True


def sniff(data: bytes) -> str | None:
    """``"json"`` for JSON text, the ``format`` tag of a privbill CBOR object, else ``None``."""
    if is_json(data):
        return "json"
    # A bounded look at the top-level map (never a full decode: the file failed one already).
    return codec.format_of(data)


def kind_of(fmt: str) -> str:
    parts = fmt.split("/")
    kind = parts[1] if len(parts) == 3 and parts[0] == "privbill" else fmt
    return KINDS.get(kind, f"a {fmt!r} object")


def check_kind(data: bytes, path: str, what: str, fmt: str) -> None:
    """Refuse a file that is plainly another kind of object than ``fmt`` (``what``), naming what
    it is instead of failing somewhere inside the decoder."""
    found = sniff(data)
    if found is None or found == fmt:
        return
    shown = "JSON text" if found == "json" else kind_of(found)
    expected = KINDS.get(fmt.split("/")[1], what)
    raise DecodeError(f"{path} is {shown}, not {expected}", obj=what, field="format")


def decode_as(data: bytes, path: str, what: str, fmt: str, decode: Callable[[bytes], T]) -> T:
    """``decode(data)``; if that fails because the file is another kind of object, say which."""
    try:
        return decode(data)
    except DecodeError:
        check_kind(data, path, what, fmt)
        raise


def clearer(error: PrivbillError, data: bytes, path: str, what: str, fmt: str) -> PrivbillError:
    """A decoding error, or the clearer one naming what the file is instead."""
    if isinstance(error, DecodeError):
        try:
            check_kind(data, path, what, fmt)
        except DecodeError as kind_error:
            return kind_error
    return error


# --- keys --------------------------------------------------------------------------------------

_URL_RE = re.compile(r"\s*See https?://\S+ for more details\.?|\s*\(?https?://\S+\)?")
_NESTED_RE = re.compile(r"^(not a PEM (public|private) key: )+")


def clean_key_message(message: str) -> str:
    """A key-loading message without the nested prefixes and the library's FAQ link."""
    text = _NESTED_RE.sub("", _URL_RE.sub("", message)).strip()
    return text.rstrip(".") or "unreadable key"


def _key_problem(data: bytes, path: str, flag: str, private: bool, exc: KeyError_) -> str:
    text = data.decode("ascii", "replace")
    labels = re.findall(r"-----BEGIN ([A-Z0-9 ]+)-----", text)
    if not labels:
        return f"{path} is not a PEM key file (no -----BEGIN line)"
    if private and "PUBLIC KEY" in labels:
        return f"{path} holds a public key; {flag} needs a private key (the .pem file)"
    if "ENCRYPTED PRIVATE KEY" in labels:
        return f"{path} holds an encrypted private key; privbill reads unencrypted PKCS#8 keys"
    if labels[0] not in ("PRIVATE KEY", "PUBLIC KEY", "EC PRIVATE KEY"):
        return f"{path} holds a PEM {labels[0].lower()}, not a key"
    return f"{path}: {clean_key_message(str(exc))}"


def load_signing_key(path: str, what: str, flag: str = "--key") -> SigningKey:
    data = read_bytes(path, what)
    try:
        return SigningKey.from_pem(data)
    except KeyError_ as exc:
        raise DecodeError(_key_problem(data, path, flag, True, exc), obj=what) from None


def load_verifying_key(path: str, what: str, flag: str = "--provider") -> VerifyingKey:
    """A public key — or a private key's public half."""
    data = read_bytes(path, what)
    try:
        return VerifyingKey.from_pem(data)
    except KeyError_:
        pass
    try:
        return SigningKey.from_pem(data).public_key()
    except KeyError_ as exc:
        raise DecodeError(_key_problem(data, path, flag, False, exc), obj=what) from None


def key_id(key: VerifyingKey | bytes) -> str:
    raw = key.key_id if isinstance(key, VerifyingKey) else key
    return raw.hex()[:16]


# --- objects -----------------------------------------------------------------------------------


def load_tariff(path: str) -> SignedTariff:
    data = read_bytes(path, "tariff")
    if is_json(data):
        raise UsageError(
            f"{path} is a tariff description (JSON), not a signed tariff: sign it with "
            f"`privbill tariff create {path} --key PROVIDER.pem --out TARIFF.pbt`",
            obj="tariff",
        )
    return decode_as(data, path, "tariff", tariffs.FORMAT, SignedTariff.decode)


def load_certificate(path: str) -> MeterCertificate:
    data = read_bytes(path, "meter certificate")
    return decode_as(data, path, "meter certificate", certificates.FORMAT, MeterCertificate.decode)


def load_opening_key(path: str | None) -> bytes | None:
    if path is None:
        return None
    text = read_bytes(path, "opening key").decode("ascii", "replace").strip()
    try:
        key = bytes.fromhex(text)
    except ValueError:
        raise DecodeError(
            f"{path} is not an opening key (expected 64 hexadecimal digits)", obj="opening key"
        ) from None
    if len(key) != OPENING_KEY_BYTES:
        raise DecodeError(
            f"{path} holds {len(key)} bytes; an opening key has {OPENING_KEY_BYTES}",
            obj="opening key",
        )
    return key


# --- a meter's directory -----------------------------------------------------------------------


@dataclass(frozen=True)
class MeterDir:
    """What ``meter record`` keeps in a directory: the public sealed readings, the meter's state
    and one private openings file per recording."""

    path: Path

    @property
    def sealed_path(self) -> Path:
        return self.path / SEALED_FILE

    @property
    def state_path(self) -> Path:
        return self.path / STATE_FILE

    def openings_paths(self) -> list[Path]:
        return sorted(self.path.glob(OPENINGS_GLOB)) if self.path.is_dir() else []

    def state(self) -> MeterState | None:
        if not self.state_path.exists():
            return None
        return MeterState.from_json(read_bytes(self.state_path, "meter state").decode())

    def sealed(self) -> SealedReadings | None:
        if not self.sealed_path.exists():
            return None
        data = read_bytes(self.sealed_path, "sealed readings")
        return decode_as(
            data,
            str(self.sealed_path),
            "sealed readings",
            sealed.FORMAT,
            SealedReadings.decode,
        )

    def openings(self) -> list[Openings]:
        out = []
        for p in self.openings_paths():
            data = read_bytes(p, "openings")
            out.append(decode_as(data, str(p), "openings", readings.FORMAT, Openings.decode))
        return out

    def timezone(self) -> ZoneInfo:
        """The local time the meter seals in (from its state), for messages; else UTC."""
        state = self.state()
        return zone(state.timezone) if state is not None and state.timezone else UTC


def open_run_note(state: MeterState | None, interval_s: int, tz: ZoneInfo) -> str:
    """Words on the readings a ``--keep-open`` recording left unsealed, or ``""``."""
    if state is None or state.pending_first is None:
        return ""
    n = len(state.pending) // 48
    return (
        f"{n} reading(s) from {interval_time(state.pending_first, interval_s, tz)} are in an "
        "open run (recorded with --keep-open) and not sealed yet; a later `privbill meter "
        "record` without --keep-open seals them"
    )


def load_meter_dir(path: str, opening_key: bytes | None) -> MeterInput:
    """Sealed readings and openings of one meter directory, checked for what a bill needs."""
    d = MeterDir(Path(path))
    if not d.path.exists():
        raise UsageError(f"{d.path}: no such directory", obj="readings")
    if not d.path.is_dir():
        raise UsageError(f"{d.path} is not a directory of sealed readings", obj="readings")
    sealed = d.sealed()
    state = d.state()
    if sealed is None:
        if state is not None and state.pending_first is not None:
            interval_s = state_interval(d)
            raise UsageError(
                f"{d.path} has no sealed runs yet: "
                f"{open_run_note(state, interval_s, d.timezone())}",
                obj="readings",
            )
        raise UsageError(
            f"{d.path} holds no {SEALED_FILE}: record readings into it with "
            f"`privbill meter record READINGS.csv … --out {d.path}`",
            obj="readings",
        )
    batches = d.openings()
    if not batches:
        raise UsageError(f"{d.path} holds no {OPENINGS_GLOB} files", obj="openings")
    if opening_key is None and any(
        b.blindings is None or (b.attributes and b.attribute_blindings is None) for b in batches
    ):
        raise UsageError(
            f"the openings in {d.path} derive their blinding factors from the meter's opening "
            "key: give --opening-key FILE (the .okey file keygen wrote)",
            obj="openings",
        )
    return MeterInput(sealed, batches, opening_key)


def state_interval(d: MeterDir) -> int:
    """The meter interval of a directory's openings (for messages about an open run)."""
    batches = d.openings()
    return batches[0].interval_s if batches else 900


# --- outputs -------------------------------------------------------------------------------------


def refuse_existing(paths: Iterable[str | Path], force: bool) -> None:
    """Before any work: refuse outputs that exist unless ``--force``."""
    if force:
        return
    for p in paths:
        if Path(p).exists():
            raise UsageError(f"{p} exists: use --force to replace it", obj="output")


def write_output(path: str | Path, data: bytes, *, force: bool, private: bool = False) -> None:
    """Write atomically; an existing file is replaced only with ``--force``."""
    try:
        write_atomic(path, data, private=private, replace=force)
    except FileExistsError:
        raise UsageError(f"{path} exists: use --force to replace it", obj="output") from None


def warn(message: str, warnings: list[str] | None = None, *, label: str = "warning") -> None:
    """A warning (or note) on stderr, also collected for the ``--json`` view."""
    print(f"privbill: {label}: {message}", file=sys.stderr)
    if warnings is not None:
        warnings.append(message)


# --- progress ------------------------------------------------------------------------------------


def progress_delay() -> float:
    """Seconds a step runs before its progress line appears (``PRIVBILL_PROGRESS_DELAY``)."""
    try:
        return max(0.0, float(os.environ.get("PRIVBILL_PROGRESS_DELAY", "1")))
    except ValueError:
        return 1.0


def _spinner(what: str) -> AbstractContextManager[object] | None:
    """A transient spinner on stderr, or ``None`` without rich (it comes with the demo extra;
    the plain progress lines serve then)."""
    try:
        from rich.console import Console
    except ModuleNotFoundError:
        return None
    return Console(stderr=True).status(what, spinner="dots")


@contextmanager
def step(args: argparse.Namespace, what: str) -> Iterator[None]:
    """Progress of a possibly long step on stderr: on a terminal a transient spinner; otherwise
    ``privbill: WHAT…`` once the step has run for a second, and ``privbill: WHAT: done in N s``
    when it ends. Quick steps print nothing."""
    if getattr(args, "no_progress", False):
        yield
        return
    spinner = _spinner(what) if sys.stderr.isatty() else None
    if spinner is not None:
        with spinner:
            yield
        return
    started = time.perf_counter()
    shown = threading.Event()

    def show() -> None:
        print(f"privbill: {what}…", file=sys.stderr, flush=True)
        shown.set()

    timer = threading.Timer(progress_delay(), show)
    timer.daemon = True
    timer.start()
    try:
        yield
    finally:
        timer.cancel()
        if timer.is_alive():
            timer.join()
        if shown.is_set():
            took = time.perf_counter() - started
            print(f"privbill: {what}: done in {took:.1f} s", file=sys.stderr, flush=True)


# --- the reporter ----------------------------------------------------------------------------


def error_view(error: BaseException) -> View:
    """The ``error`` and ``error_type`` entries of every ``--json`` result."""
    return {"error": message_of(error), "error_type": type(error).__name__}


def report(
    as_json: bool,
    view: Mapping[str, Any],
    lines: Sequence[str],
    status: int = EXIT_OK,
) -> int:
    """Print a result: its JSON view with ``--json`` (``error``/``error_type`` null on success),
    else its text lines; return ``status``."""
    if as_json:
        print(json.dumps({"error": None, "error_type": None, **view}))
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


def message_of(exc: BaseException) -> str:
    if isinstance(exc, KeyError_):
        return clean_key_message(str(exc))
    if isinstance(exc, OSError) and not isinstance(exc, BrokenPipeError):
        return f"{exc.strerror or exc}: {exc.filename or ''}".rstrip(": ")
    return str(exc)


def status_of(exc: BaseException, verifies: bool) -> int:
    """1 for an object that fails verification in a command that verifies one; 2 for everything
    else — in a command that makes something, a failing check of its own inputs (a certificate
    of another provider, a meter id the certificate format refuses) is bad usage."""
    return EXIT_INVALID if verifies and isinstance(exc, VerificationError) else EXIT_USAGE


def run(func: Command, args: argparse.Namespace) -> int:
    """Run a command, turning every expected error into one line on stderr (or, with ``--json``,
    one JSON object on stdout) and an exit status."""
    try:
        return func(args)
    except (PrivbillError, OSError) as exc:
        if isinstance(exc, BrokenPipeError):
            raise
        status = status_of(exc, getattr(args, "verifies", False))
        if getattr(args, "json", False):
            view: Callable[[BaseException], Mapping[str, Any]] = getattr(
                args, "json_error", error_view
            )
            print(json.dumps({**view(exc), **error_view(exc)}))
        else:
            label = "invalid" if status == EXIT_INVALID else "error"
            print(f"privbill: {label}: {message_of(exc)}", file=sys.stderr)
        return status
    except KeyboardInterrupt:
        print("privbill: interrupted", file=sys.stderr)
        return 130
