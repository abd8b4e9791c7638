"""The strict deterministic-CBOR parser: its bounds (depth, entries, items, text) hold while it
reads, every hostile shape is refused with a DecodeError by every object kind, refusing costs
memory linear in the input, and it agrees with cbor2 on canonical encodings while refusing every
non-canonical variant. Time and memory at 64 MiB: ``benchmarks/bench_decode.py``."""

from __future__ import annotations

import random
import tracemalloc
from typing import Any

import cbor2
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import hostile_cbor
from hostile_cbor import SHAPES, decoders, head, text
from privbill.errors import DecodeError, PrivbillError
from privbill.model import codec

FMT = "privbill/bill/1"


def top(key: str, value: bytes) -> bytes:
    """``{key: value}`` (a key that sorts before "format" is not needed: one entry)."""
    return head(5, 1) + text(key) + value


# --- the bounds, exactly ------------------------------------------------------------------------


def test_depth_bound_is_exact() -> None:
    limits = codec.Limits(depth=4, items=100, container=10)
    ok = top("a", b"\x81\x81\x80")  # map(1) > [ (2) > [ (3) > [] (4)
    assert codec.decode(ok, "x", limits=limits) == {"a": [[[]]]}
    with pytest.raises(DecodeError, match="deeper than 4 levels") as ei:
        codec.decode(top("a", b"\x81\x81\x81\x80"), "x", limits=limits)
    assert ei.value.field == "a[0][0][0]"
    with pytest.raises(DecodeError, match="deeper than 4"):
        codec.decode(top("a", b"\x81\x81\xa1\x61b\xa0"), "x", limits=limits)


def test_container_bound_is_exact() -> None:
    limits = codec.Limits(depth=4, items=100, container=10)
    assert codec.decode(top("a", head(4, 10) + bytes(10)), "x", limits=limits)["a"] == [0] * 10
    with pytest.raises(DecodeError, match="array of 11 entries"):
        codec.decode(top("a", head(4, 11) + bytes(11)), "x", limits=limits)
    many = head(5, 11) + b"".join(text(f"k{i:02d}") + b"\x00" for i in range(11))
    with pytest.raises(DecodeError, match="map of 11 entries"):
        codec.decode(top("a", many), "x", limits=limits)


def test_item_bound_is_exact_and_counts_strings_by_size() -> None:
    # top map (1) + key (1) + array (1) + 7 entries = 10 items
    limits = codec.Limits(depth=4, items=10, container=10)
    assert codec.decode(top("a", head(4, 7) + bytes(7)), "x", limits=limits)
    with pytest.raises(DecodeError, match="too many data items"):
        codec.decode(top("a", head(4, 8) + bytes(8)), "x", limits=limits)
    # a byte string of 64·k bytes counts 1 + k: 3 + 7 = 10 fits, 3 + 8 does not
    assert codec.decode(top("a", head(2, 64 * 7) + bytes(64 * 7)), "x", limits=limits)
    with pytest.raises(DecodeError, match="too many data items"):
        codec.decode(top("a", head(2, 64 * 8) + bytes(64 * 8)), "x", limits=limits)


def test_text_bound() -> None:
    limits = codec.Limits(depth=2, items=1000, container=10, text=16)
    assert codec.decode(top("a", text("x" * 16)), "x", limits=limits) == {"a": "x" * 16}
    with pytest.raises(DecodeError, match="text of 17 bytes"):
        codec.decode(top("a", text("x" * 17)), "x", limits=limits)


def test_declared_lengths_are_checked_before_reading() -> None:
    for value in (head(2, 1 << 40), head(3, 1000), head(4, 1 << 20), head(5, 1 << 30)):
        with pytest.raises(DecodeError, match=r"truncated|at most"):
            codec.decode(top("a", value + b"\x00" * 8), "x")


def test_a_parse_error_names_the_field() -> None:
    data = codec.encode({"format": FMT, "meters": [{"runs": [1, 2]}]})
    bad = data.replace(b"\x82\x01\x02", b"\x82\x01\x18\x02")  # 2 in a two-byte head
    with pytest.raises(DecodeError) as ei:
        codec.decode(bad, "payment message")
    assert ei.value.field == "meters[0].runs[1]" and "shortest" in ei.value.detail


def test_format_of_is_bounded_and_lenient() -> None:
    data = codec.encode({"format": "privbill/tariff/2", "a": [[0] * 100] * 100})
    assert codec.format_of(data) == "privbill/tariff/2"
    assert codec.format_of(data, budget=50) is None  # gave up before reaching "format"
    assert codec.format_of(b"\x80") is None
    assert codec.format_of(b"") is None
    assert codec.format_of(codec.encode({"format": 1})) is None


def test_limits_are_checked() -> None:
    with pytest.raises(PrivbillError):
        codec.Limits(depth=0, items=10, container=1)
    with pytest.raises(PrivbillError):
        codec.Limits(depth=2, items=10, container=11)
    with pytest.raises(PrivbillError):
        codec.Limits(depth=2, items=codec.MAX_ITEMS + 1, container=1)


# --- every hostile shape, every kind ------------------------------------------------------------


@pytest.mark.parametrize("kind", sorted(decoders()))
def test_every_hostile_shape_is_refused_by_every_kind(kind: str) -> None:
    fmt, decode = decoders()[kind]
    for name, make in SHAPES.items():
        with pytest.raises(DecodeError):
            decode(make(4096, fmt))
        assert name


def test_refusal_memory_is_linear_in_the_input() -> None:
    """Refusing 32 KiB of any shape allocates at most 100 bytes per input byte (a one-byte
    empty array becomes a 56-byte object and an 8-byte reference, about 85 bytes with the
    allocator's overhead); the item bound caps it at 2^20 items whatever the size."""
    fmt, decode = decoders()["bill"]
    for name, make in SHAPES.items():
        data = make(32 * 1024, fmt)
        tracemalloc.start()
        try:
            with pytest.raises(DecodeError):
                decode(data)
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
        assert peak <= 100 * len(data) + (1 << 18), (name, peak)


def test_the_item_bound_caps_memory_whatever_the_size() -> None:
    """With a bound of 20 000 items a 4 MiB input of tiny maps costs what 20 000 items cost."""
    limits = codec.Limits(depth=8, items=20_000, container=20_000)
    data = SHAPES["arrays of 1000 {'': {}}"](4 << 20, FMT)
    tracemalloc.start()
    try:
        with pytest.raises(DecodeError, match="too many data items"):
            codec.decode(data, "x", FMT, limits)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak <= 20_000 * 100 + (1 << 16), peak


def test_hostile_shapes_are_cbor() -> None:
    hostile_cbor.check_shapes_are_cbor()


# --- agreement with cbor2, and non-canonical variants -------------------------------------------

scalars = (
    st.none()
    | st.booleans()
    | st.integers(codec.INT_MIN, codec.INT_MAX)
    | st.binary(max_size=80)
    | st.text(max_size=30)
)
values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=6) | st.dictionaries(st.text(max_size=8), inner, max_size=6)
    ),
    max_leaves=30,
)
maps = st.dictionaries(st.text(max_size=8), values, max_size=6)


@settings(max_examples=150, deadline=None)
@given(maps)
def test_round_trip_agrees_with_cbor2(value: dict[str, Any]) -> None:
    data = codec.encode(value)
    decoded = codec.decode(data, "x")
    assert decoded == value == cbor2.loads(data)
    assert codec.encode(decoded) == data


def _items(data: bytes) -> list[tuple[int, int, int, int]]:
    """``(offset, major, argument, head length)`` of every data item of a canonical encoding."""
    out = []
    pos = 0
    pending = 1
    while pending:
        pending -= 1
        ib = data[pos]
        major, ai = ib >> 5, ib & 31
        size = 0 if ai < 24 else 1 << (ai - 24)
        arg = ai if ai < 24 else int.from_bytes(data[pos + 1 : pos + 1 + size], "big")
        out.append((pos, major, arg, 1 + size))
        pos += 1 + size
        if major in (2, 3):
            pos += arg
        elif major == 4:
            pending += arg
        elif major == 5:
            pending += 2 * arg
    return out


def _widen(data: bytes, at: int, major: int, arg: int, hlen: int) -> bytes | None:
    """The same item with a head one size longer than the shortest (None if none is longer)."""
    sizes = (0, 1, 2, 4, 8)
    current = sizes.index(hlen - 1)
    if current == len(sizes) - 1:
        return None
    size = sizes[current + 1]
    new = bytes([major << 5 | (24 + (0, 1, 2, 4, 8).index(size) - 1)]) + arg.to_bytes(size, "big")
    return data[:at] + new + data[at + hlen :]


@settings(max_examples=100, deadline=None)
@given(maps, st.randoms(use_true_random=False))
def test_non_canonical_variants_are_refused(value: dict[str, Any], rnd: random.Random) -> None:
    data = codec.encode(value)
    items = [i for i in _items(data) if i[1] != 7]  # simple values have no argument to widen
    at, major, arg, hlen = rnd.choice(items)
    widened = _widen(data, at, major, arg, hlen)
    if widened is not None:
        assert cbor2.loads(widened) == value  # the same value, only not canonical
        with pytest.raises(DecodeError, match="shortest"):
            codec.decode(widened, "x")
    # an indefinite-length form of the top-level map
    if value:
        indefinite = b"\xbf" + data[_items(data)[0][3] :] + b"\xff"
        assert cbor2.loads(indefinite) == value
        with pytest.raises(DecodeError):
            codec.decode(indefinite, "x")
    # keys out of order
    if len(value) >= 2:
        keys = sorted(value, key=lambda k: (len(k.encode()), k.encode()))
        swapped = cbor2.dumps({keys[-1]: value[keys[-1]], **{k: value[k] for k in keys[:-1]}})
        with pytest.raises(DecodeError, match="order"):
            codec.decode(swapped, "x")


@pytest.mark.parametrize(
    ("data", "match"),
    [
        (top("a", b"\xf9\x3c\x00"), "float"),
        (top("a", b"\xfa\x3f\x80\x00\x00"), "float"),
        (top("a", b"\xfb" + bytes(8)), "float"),
        (top("a", b"\xf7"), "simple"),  # undefined
        (top("a", b"\xf8\x20"), "simple"),
        (top("a", b"\xe0"), "simple"),
        (top("a", b"\xff"), "break"),
        (top("a", b"\x1c"), "reserved"),
        (top("a", b"\x62\xc3\x28"), "UTF-8"),  # invalid UTF-8
        (top("a", b"\x63\xed\xa0\x80"), "UTF-8"),  # a surrogate
        (top("a", b"\x3b\x80" + bytes(7)), "64 bits"),  # -2^63 - 1
        (top("a", b"\x5f\x41\x00\xff"), "indefinite"),
        (head(5, 1) + b"\x41a\x00", "not text"),  # a byte-string key
        (head(5, 1) + b"\x7f\x61a\xff\x00", "indefinite"),
    ],
)
def test_what_the_encoder_never_writes_is_refused(data: bytes, match: str) -> None:
    with pytest.raises(DecodeError, match=match):
        codec.decode(data, "x")


def test_extremes_of_64_bits_are_accepted() -> None:
    value = {"a": codec.INT_MAX, "b": codec.INT_MIN}
    assert codec.decode(codec.encode(value), "x") == value
