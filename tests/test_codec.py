from __future__ import annotations

import cbor2
import pytest

from privbill.errors import DecodeError
from privbill.model import codec


def test_roundtrip_is_deterministic() -> None:
    obj = {"format": "privbill/x/1", "b": 1, "a": [1, b"xy", "t", None, True], "aa": {"k": -5}}
    data = codec.encode(obj)
    assert codec.decode(data, "x", "privbill/x/1") == obj
    assert codec.encode(dict(reversed(list(obj.items())))) == data


@pytest.mark.parametrize(
    ("data", "match"),
    [
        (b"", "empty"),
        (codec.encode({"a": 1}) + b"\x00", "trailing"),
        (codec.encode({"a": 1})[:-1], "truncated|CBOR"),
        (bytes.fromhex("a161611801"), "canonical"),  # 1 encoded in two bytes
        (bytes.fromhex("bf616101ff"), "CBOR"),  # indefinite-length map
        (bytes.fromhex("a2616101616102"), "CBOR"),  # duplicate key
        (bytes.fromhex("a16161c11a00000001"), "tag|unsupported"),  # tag 1 (epoch time)
        (bytes.fromhex("a16161c24101"), "canonical"),  # tag 2 (bignum 1)
        (bytes.fromhex("a16161d9fffe00"), "tag"),  # unknown tag
        (bytes.fromhex("a16161f93c00"), "float|unsupported"),  # half float 1.0
        (bytes.fromhex("a1016161"), "key is not text"),  # integer key
        (bytes.fromhex("83010203"), "not a map"),
        (bytes.fromhex("a161611bffffffffffffffff"), "64 bits"),  # 2^64 - 1
    ],
)
def test_strict_decoding(data: bytes, match: str) -> None:
    with pytest.raises(DecodeError, match=match):
        codec.decode(data, "thing")


def test_key_order_must_be_canonical() -> None:
    # {"b": 1, "a": 2} with keys in the wrong order
    data = bytes.fromhex("a2616201616102")
    assert cbor2.loads(data) == {"b": 1, "a": 2}
    with pytest.raises(DecodeError, match="canonical"):
        codec.decode(data, "thing")


def test_format_tag_checked() -> None:
    data = codec.encode({"format": "privbill/other/1"})
    with pytest.raises(DecodeError) as ei:
        codec.decode(data, "seal", "privbill/seal/1")
    assert ei.value.field == "format"


def test_fields_name_the_field() -> None:
    f = codec.Fields({"a": 1, "b": "x", "c": b"\x00"}, "obj", {"a", "b", "c"})
    assert f.integer("a", 0, 5) == 1
    with pytest.raises(DecodeError) as ei:
        f.integer("b")
    assert ei.value.field == "b" and ei.value.obj == "obj"
    with pytest.raises(DecodeError, match="outside"):
        f.integer("a", 2, 5)
    with pytest.raises(DecodeError, match="expected 2 bytes"):
        f.octets("c", 2)
    with pytest.raises(DecodeError) as ei:
        codec.Fields({"a": 1, "zz": 2}, "obj", {"a"})
    assert ei.value.field == "zz" and "unknown" in str(ei.value)
    with pytest.raises(DecodeError) as ei:
        codec.Fields({"a": 1}, "obj", {"a", "b"}, path="meters[0]")
    assert ei.value.field == "meters[0].b" and "missing" in str(ei.value)
    with pytest.raises(DecodeError, match="integer"):
        codec.Fields({"a": True}, "obj", {"a"}).integer("a")


def test_oversize_input_refused() -> None:
    with pytest.raises(DecodeError, match="larger"):
        codec.decode(b"\xa0" * (codec.MAX_OBJECT_BYTES + 1), "thing")
