"""Canonical encoding: deterministic CBOR (RFC 8949 §4.2.1) with strict decoding.

Every transmitted, signed or hashed object is a CBOR map with text keys whose ``"format"`` entry
names the object and its version (``privbill/<kind>/<version>``). Encoding is deterministic
(shortest integer forms, definite lengths, map keys sorted bytewise). Decoding accepts only what
the encoder would produce: no trailing bytes, no tags, no floats, no indefinite lengths, no
duplicate keys, integers within 64 bits, and bytes that re-encode identically. Field readers
(:class:`Fields`) check types and ranges and name the offending field in a :class:`DecodeError`.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Mapping
from typing import Any, Final, TypeVar

import cbor2

from privbill.errors import DecodeError

MAX_OBJECT_BYTES: Final = 64 * 1024 * 1024
INT_MIN: Final = -(2**63)
INT_MAX: Final = 2**63 - 1

T = TypeVar("T")


def encode(obj: Mapping[str, Any]) -> bytes:
    """Deterministic CBOR of a map (keys sorted by their encoded bytes, shortest forms)."""
    return cbor2.dumps(obj, canonical=True)


def _no_tags(_decoder: object, tag: object) -> object:
    raise DecodeError("CBOR tags are not allowed")


def decode(data: bytes, obj: str, fmt: str | None = None) -> dict[str, Any]:
    """Decode one canonical CBOR map; with ``fmt``, require ``"format" == fmt``."""
    if not isinstance(data, bytes | bytearray | memoryview):
        raise DecodeError("expected bytes", obj=obj)
    data = bytes(data)
    if not data:
        raise DecodeError("empty input", obj=obj)
    if len(data) > MAX_OBJECT_BYTES:
        raise DecodeError(f"input larger than {MAX_OBJECT_BYTES} bytes", obj=obj)
    stream = io.BytesIO(data)
    try:
        decoder = cbor2.CBORDecoder(
            stream, tag_hook=_no_tags, allow_indefinite=False, allow_duplicate_keys=False
        )
        value = decoder.decode()
    except DecodeError as exc:
        raise DecodeError(exc.detail, obj=obj) from None
    except (cbor2.CBORDecodeError, ValueError, TypeError, EOFError, OverflowError) as exc:
        reason = str(exc) or type(exc).__name__
        if "premature end" in reason or "truncated" in reason.lower() or isinstance(exc, EOFError):
            reason = f"truncated input ({reason})"
        raise DecodeError(f"not valid CBOR: {reason}", obj=obj) from None
    if stream.tell() != len(data):
        raise DecodeError(f"{len(data) - stream.tell()} trailing bytes after the object", obj=obj)
    if not isinstance(value, dict):
        raise DecodeError("top level is not a map", obj=obj)
    _check_plain(value, obj, "")
    if encode(value) != data:
        raise DecodeError("encoding is not canonical (deterministic CBOR)", obj=obj)
    if fmt is not None:
        got = value.get("format")
        if got != fmt:
            raise DecodeError(f"expected format {fmt!r}, got {got!r}", obj=obj, field="format")
    return value


def _check_plain(value: object, obj: str, path: str) -> None:
    """Only maps with text keys, lists, text, bytes, bool, None and 64-bit integers."""
    if isinstance(value, bool) or value is None or isinstance(value, str | bytes):
        return
    if isinstance(value, int):
        if not INT_MIN <= value <= INT_MAX:
            raise DecodeError("integer outside 64 bits", obj=obj, field=path or None)
        return
    if isinstance(value, list):
        for i, item in enumerate(value):
            _check_plain(item, obj, f"{path}[{i}]")
        return
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str):
                raise DecodeError("map key is not text", obj=obj, field=path or None)
            _check_plain(item, obj, f"{path}.{key}" if path else key)
        return
    raise DecodeError(f"unsupported CBOR type {type(value).__name__}", obj=obj, field=path or None)


class Fields:
    """Typed, range-checked access to the fields of one decoded map.

    Construction rejects unknown and missing fields; every accessor names the field in its error.
    """

    __slots__ = ("_map", "obj", "path")

    def __init__(
        self,
        value: object,
        obj: str,
        required: frozenset[str] | set[str],
        optional: frozenset[str] | set[str] = frozenset(),
        path: str = "",
    ) -> None:
        self.obj = obj
        self.path = path
        if not isinstance(value, dict):
            raise DecodeError("expected a map", obj=obj, field=path or None)
        self._map: dict[str, Any] = value
        for key in value:
            if key not in required and key not in optional:
                raise DecodeError("unknown field", obj=obj, field=self._name(key))
        for key in sorted(required):
            if key not in value:
                raise DecodeError("missing field", obj=obj, field=self._name(key))

    def _name(self, key: str) -> str:
        return f"{self.path}.{key}" if self.path else key

    def error(self, key: str, message: str) -> DecodeError:
        return DecodeError(message, obj=self.obj, field=self._name(key))

    def has(self, key: str) -> bool:
        return key in self._map

    def raw(self, key: str) -> Any:
        return self._map[key]

    def integer(self, key: str, lo: int = INT_MIN, hi: int = INT_MAX) -> int:
        v = self._map[key]
        if isinstance(v, bool) or not isinstance(v, int):
            raise self.error(key, f"expected an integer, got {type(v).__name__}")
        if not lo <= v <= hi:
            raise self.error(key, f"value {v} outside [{lo}, {hi}]")
        return v

    def text(
        self, key: str, max_len: int = 256, pattern: Callable[[str], bool] | None = None
    ) -> str:
        v = self._map[key]
        if not isinstance(v, str):
            raise self.error(key, f"expected text, got {type(v).__name__}")
        if len(v) > max_len:
            raise self.error(key, f"text longer than {max_len} characters")
        if pattern is not None and not pattern(v):
            raise self.error(key, f"invalid value {v!r}")
        return v

    def octets(self, key: str, length: int | None = None, max_len: int = MAX_OBJECT_BYTES) -> bytes:
        v = self._map[key]
        if not isinstance(v, bytes):
            raise self.error(key, f"expected a byte string, got {type(v).__name__}")
        if length is not None and len(v) != length:
            raise self.error(key, f"expected {length} bytes, got {len(v)}")
        if len(v) > max_len:
            raise self.error(key, f"byte string longer than {max_len}")
        return v

    def array(self, key: str, min_len: int = 0, max_len: int = 1 << 24) -> list[Any]:
        v = self._map[key]
        if not isinstance(v, list):
            raise self.error(key, f"expected a list, got {type(v).__name__}")
        if not min_len <= len(v) <= max_len:
            raise self.error(key, f"list length {len(v)} outside [{min_len}, {max_len}]")
        return v

    def int_list(
        self, key: str, lo: int, hi: int, min_len: int = 0, max_len: int = 1 << 24
    ) -> list[int]:
        items = self.array(key, min_len, max_len)
        for i, v in enumerate(items):
            if isinstance(v, bool) or not isinstance(v, int) or not lo <= v <= hi:
                raise self.error(f"{key}[{i}]", f"expected an integer in [{lo}, {hi}]")
        return items

    def sub(
        self,
        key: str,
        required: frozenset[str] | set[str],
        optional: frozenset[str] | set[str] = frozenset(),
    ) -> Fields:
        return Fields(self._map[key], self.obj, required, optional, self._name(key))

    def each(
        self,
        key: str,
        parse: Callable[[object, str], T],
        min_len: int = 0,
        max_len: int = 1 << 24,
    ) -> list[T]:
        """Parse every element of a list field with ``parse(value, path)``."""
        items = self.array(key, min_len, max_len)
        return [parse(item, f"{self._name(key)}[{i}]") for i, item in enumerate(items)]
