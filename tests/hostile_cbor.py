"""Hostile CBOR inputs of a chosen size: every shape that could make a decoder work or allocate
far more than the input's size. Shared by ``tests/test_decode_limits.py`` and
``benchmarks/bench_decode.py``.

Each shape is a function ``(size, fmt) -> bytes`` giving an input of about ``size`` bytes whose
top level is a map with ``"format": fmt`` (so a decoder cannot refuse it on the format alone)
and whose bulk sits under a key the target kind does not expect (or does expect, where that is
worse: a byte string in a field that wants a list).
"""

from __future__ import annotations

from collections.abc import Callable

import cbor2


def head(major: int, n: int) -> bytes:
    """The shortest CBOR head of major type ``major`` with argument ``n``."""
    if n < 24:
        return bytes([major << 5 | n])
    for ai, size in ((24, 1), (25, 2), (26, 4), (27, 8)):
        if n < 1 << (8 * size):
            return bytes([major << 5 | ai]) + n.to_bytes(size, "big")
    raise OverflowError(n)


def text(s: str) -> bytes:
    raw = s.encode()
    return head(3, len(raw)) + raw


def _top(fmt: str, key: str, value: bytes, extra: int = 0) -> bytes:
    """``{"format": fmt, key: value}`` with the keys in canonical order, plus ``extra``
    entries' worth of map count (for declaring more than is there)."""
    entries = sorted([(text("format"), text(fmt)), (text(key), value)])
    return head(5, 2 + extra) + b"".join(k + v for k, v in entries)


def deep_arrays(size: int, fmt: str) -> bytes:
    """``[[[[…]]]]`` nested ``size`` deep."""
    return _top(fmt, "zz", b"\x81" * (size - 1) + b"\x80")


def deep_maps(size: int, fmt: str) -> bytes:
    """``{"": {"": {…}}}`` nested about ``size / 2`` deep."""
    return _top(fmt, "zz", b"\xa1\x60" * (size // 2) + b"\xa0")


def wide_empty_arrays(size: int, fmt: str) -> bytes:
    """One array of ``size`` empty arrays."""
    return _top(fmt, "zz", head(4, size) + b"\x80" * size)


def chunked_empty_arrays(size: int, fmt: str) -> bytes:
    """Arrays of 1000 empty arrays each, as many as fit: every container within any bound."""
    chunk = head(4, 1000) + b"\x80" * 1000
    n = size // len(chunk)
    return _top(fmt, "zz", head(4, n) + chunk * n)


def empty_maps(size: int, fmt: str) -> bytes:
    """Arrays of 1000 empty maps each."""
    chunk = head(4, 1000) + b"\xa0" * 1000
    n = size // len(chunk)
    return _top(fmt, "zz", head(4, n) + chunk * n)


def tiny_maps(size: int, fmt: str) -> bytes:
    """Arrays of 1000 ``{"": {}}`` each: the most memory per input byte a map can take."""
    chunk = head(4, 1000) + b"\xa1\x60\xa0" * 1000
    n = size // len(chunk)
    return _top(fmt, "zz", head(4, n) + chunk * n)


def tiny_integers(size: int, fmt: str) -> bytes:
    """Arrays of 1000 one-byte integers each."""
    chunk = head(4, 1000) + b"\x17" * 1000
    n = size // len(chunk)
    return _top(fmt, "zz", head(4, n) + chunk * n)


def short_strings(size: int, fmt: str) -> bytes:
    """Arrays of 1000 two-character texts each (a new string object per item)."""
    chunk = head(4, 1000) + b"\x62ab" * 1000
    n = size // len(chunk)
    return _top(fmt, "zz", head(4, n) + chunk * n)


def many_keys(size: int, fmt: str) -> bytes:
    """One map with as many distinct keys (in canonical order) as fit."""
    # four hex digits give 65536 keys (6 bytes an entry); six-digit ones (8 bytes) follow in
    # canonical (length-first) order
    short = min(size // 6, 1 << 16)
    long = max(0, (size - 6 * short) // 8)
    keys = b"".join(text(f"{k:04x}") + b"\x00" for k in range(short))
    more = b"".join(text(f"{k:06x}") + b"\x00" for k in range(long))
    return _top(fmt, "zz", head(5, short + long) + keys + more)


def declared_bytes(size: int, fmt: str) -> bytes:
    """A byte string declaring 2^63 bytes, then ``size`` bytes."""
    return _top(fmt, "zz", head(2, 1 << 63) + bytes(size))


def declared_array(size: int, fmt: str) -> bytes:
    """An array declaring 2^40 entries, then ``size`` bytes of them."""
    return _top(fmt, "zz", head(4, 1 << 40) + b"\x00" * size)


def declared_map(size: int, fmt: str) -> bytes:
    """The top-level map declaring 2^60 entries."""
    return _top(fmt, "zz", b"\x00" * size, extra=(1 << 60))


def _big(size: int) -> int:
    """A byte string this long stays just within the 2^20-item bound at 64 MiB (a string
    counts one item per 64 bytes), so that the parser copies it and reads on."""
    return size * 15 // 16


def big_bytes_wrong_place(size: int, fmt: str) -> bytes:
    """A byte string of nearly the whole input where an identifier (text) belongs."""
    n = _big(size)
    return _top(fmt, "account", head(2, n) + bytes(n))


def big_text_bad_utf8(size: int, fmt: str) -> bytes:
    """A text of nearly the whole input whose last byte breaks UTF-8."""
    return _top(fmt, "zz", head(3, size) + b"a" * (size - 1) + b"\xff")


def late_non_canonical(size: int, fmt: str) -> bytes:
    """Most of the input in a byte string, then an integer in a two-byte head."""
    n = _big(size)
    return _top(fmt, "zz", head(4, 2) + head(2, n) + bytes(n) + b"\x18\x01")


def late_key_order(size: int, fmt: str) -> bytes:
    """A big byte string, then map keys out of order."""
    n = _big(size)
    inner = head(5, 2) + text("b") + head(2, n) + bytes(n) + text("a") + b"\x00"
    return _top(fmt, "zz", inner)


def late_tag_float(size: int, fmt: str) -> bytes:
    """Tiny maps up to the bound's edge, then a float."""
    body = tiny_maps(size, fmt)
    return body[:-3] + b"\xf9\x3c\x00"


def bytes_then_items(size: int, fmt: str) -> bytes:
    """Half the input a byte string, the rest tiny maps: both kinds of allocation at once."""
    half = size // 2
    chunk = head(4, 1000) + b"\xa1\x60\xa0" * 1000
    n = half // len(chunk)
    value = head(4, 2) + head(2, half) + bytes(half) + head(4, n) + chunk * n
    return _top(fmt, "zz", value)


def truncated_honest(size: int, fmt: str) -> bytes:
    """A map that claims one more entry than it has (the input ends early)."""
    n = _big(size)
    return _top(fmt, "zz", head(2, n) + bytes(n), extra=1)


def indefinite(size: int, fmt: str) -> bytes:
    """An indefinite-length array of ``size`` integers."""
    return _top(fmt, "zz", b"\x9f" + b"\x00" * size + b"\xff")


def tagged(size: int, fmt: str) -> bytes:
    """Nested tags (bignum inside self-describe), then a big byte string."""
    n = max(0, size - 3016)
    return _top(fmt, "zz", b"\xd9\xd9\xf7" * 1000 + b"\xc2" + head(2, n) + bytes(n))


SHAPES: dict[str, Callable[[int, str], bytes]] = {
    "deep arrays": deep_arrays,
    "deep maps": deep_maps,
    "one array of empty arrays": wide_empty_arrays,
    "arrays of 1000 empty arrays": chunked_empty_arrays,
    "arrays of 1000 empty maps": empty_maps,
    "arrays of 1000 {'': {}}": tiny_maps,
    "arrays of 1000 tiny integers": tiny_integers,
    "arrays of 1000 short texts": short_strings,
    "map with many keys": many_keys,
    "byte string declaring 2^63 bytes": declared_bytes,
    "array declaring 2^40 entries": declared_array,
    "map declaring 2^60 entries": declared_map,
    "big byte string where text belongs": big_bytes_wrong_place,
    "big text, bad UTF-8 at its end": big_text_bad_utf8,
    "big byte string, then non-shortest integer": late_non_canonical,
    "big byte string, then keys out of order": late_key_order,
    "tiny maps, then a float": late_tag_float,
    "half bytes and half tiny maps": bytes_then_items,
    "truncated map": truncated_honest,
    "indefinite-length array": indefinite,
    "tags": tagged,
}


def check_shapes_are_cbor() -> None:
    """Sanity: the small shapes that are well-formed CBOR parse with cbor2 (used by a test)."""
    for name in ("arrays of 1000 empty maps", "map with many keys"):
        cbor2.loads(SHAPES[name](10_000, "privbill/bill/1"))


def decoders() -> dict[str, tuple[str, Callable[[bytes], object]]]:
    """Every object kind's decoder and format, by kind."""
    from privbill import dispute
    from privbill.disclosure import ledger
    from privbill.disclosure import model as disclosures
    from privbill.model import (
        bills,
        certificates,
        readings,
        receipts,
        registers,
        sealed,
        tariffs,
    )

    return {
        "bill": (bills.FORMAT, bills.PaymentMessage.decode),
        "tariff": (tariffs.FORMAT, tariffs.SignedTariff.decode),
        "sealed readings": (sealed.FORMAT, sealed.SealedReadings.decode),
        "openings": (readings.FORMAT, readings.Openings.decode),
        "certificate": (certificates.FORMAT, certificates.MeterCertificate.decode),
        "receipt": (receipts.FORMAT, receipts.Receipt.decode),
        "disclosure request": (disclosures.REQUEST_FORMAT, disclosures.DisclosureRequest.decode),
        "consent": (disclosures.CONSENT_FORMAT, disclosures.Consent.decode),
        "disclosure response": (
            disclosures.RESPONSE_FORMAT,
            disclosures.DisclosureResponse.decode,
        ),
        "disclosure ledger": (ledger.LEDGER_FORMAT, ledger.DisclosureLedger.decode),
        "demand register": (registers.FORMAT, registers.DemandRegister.decode),
        "register openings": (registers.OPENINGS_FORMAT, registers.RegisterOpenings.decode),
        "dispute bundle": (dispute.FORMAT, dispute.DisputeBundle.decode),
    }
