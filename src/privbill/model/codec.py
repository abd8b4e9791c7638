"""Canonical encoding: deterministic CBOR (RFC 8949 §4.2.1), decoded strictly and within bounds.

Every transmitted, signed or hashed object is a CBOR map with text keys whose ``"format"`` entry
names the object and its version (``privbill/<kind>/<version>``). Encoding is deterministic
(shortest heads, definite lengths, map keys sorted bytewise by their encoding).

Decoding is privbill's own parser, which accepts only what the encoder produces and checks it while it
reads, so no re-encoding pass is needed: shortest heads, definite lengths, map keys that are
text, unique and in order, no tags, no floats or other simple values than false, true and null,
integers within 64 bits, text that is valid UTF-8, and no trailing bytes. Each object kind
passes its own :class:`Limits` (nesting depth, entries of one array or map, data items in all),
derived from the model's own limits and checked *before* anything is allocated, and a declared
length is checked against the bytes that remain. Refusing any input therefore costs time and
memory linear in its size with a small constant (``docs/security.md`` §11 has the figures).
Field readers (:class:`Fields`) check types and ranges and name the offending field in a
:class:`DecodeError`.
"""

from __future__ import annotations

import gc
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Final, TypeVar

import cbor2

from privbill.errors import DecodeError, UsageError

MAX_OBJECT_BYTES: Final = 64 * 1024 * 1024
INT_MIN: Final = -(2**63)
INT_MAX: Final = 2**63 - 1
#: UTC seconds before 2^37 (the year 6325): every decoded time has a calendar date and a local
#: time in every zone, so no conversion of a hostile time can fail.
MAX_TIME: Final = 2**37

T = TypeVar("T")


def encode(obj: Mapping[str, Any]) -> bytes:
    """Deterministic CBOR of a map (keys sorted by their encoded bytes, shortest forms)."""
    return cbor2.dumps(obj, canonical=True)


# --- limits ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Limits:
    """What one decoded object may hold; the parser checks each bound before it allocates.

    ``depth``: arrays and maps nested in one another, the top-level map counting 1;
    ``container``: entries of one array or map; ``items``: data items in all, where every
    array, map, map key and value counts one and a byte or text string of ``n`` bytes counts
    ``1 + n // 64`` (so the bound is one on memory: a decoded item takes at most about 90 bytes,
    a string about one byte per byte); ``text``: bytes of one text string. A declared length
    longer than the bytes that remain is refused before anything is read.
    """

    depth: int
    items: int
    container: int
    text: int = 1 << 16

    def __post_init__(self) -> None:
        if not 1 <= self.depth <= MAX_DEPTH:
            raise UsageError(f"decoding depth must lie in [1, {MAX_DEPTH}]")
        if not 1 <= self.container <= self.items <= MAX_ITEMS:
            raise UsageError(f"decoding limits need 1 <= container <= items <= {MAX_ITEMS}")
        if not 1 <= self.text <= MAX_OBJECT_BYTES:
            raise UsageError(f"the text bound must lie in [1, {MAX_OBJECT_BYTES}]")


#: No object kind nests deeper or holds more items than these.
MAX_DEPTH: Final = 16
MAX_ITEMS: Final = 1 << 20
#: Bytes of a string that count as one more item (the parser counts ``n >> 6``).
ITEM_BYTES: Final = 1 << 6
#: The limits of an object kind that declares none: as much as any kind allows.
DEFAULT_LIMITS: Final = Limits(depth=MAX_DEPTH, items=MAX_ITEMS, container=MAX_ITEMS)


# --- the parser --------------------------------------------------------------------------------

_TYPES: Final = ("integer", "negative integer", "byte string", "text", "array", "map", "tag")
_MAX_KEYS: Final = 4096  # map keys remembered per decoding (one input cannot slow another)


class _State:
    __slots__ = ("container", "data", "depth", "end", "keys", "left", "text", "view")

    def __init__(self, data: bytes, limits: Limits) -> None:
        self.data = data
        self.view = memoryview(data)
        self.end = len(data)
        self.left = limits.items - 1  # the top-level map is an item
        self.depth = limits.depth
        self.container = limits.container
        self.text = limits.text
        self.keys: dict[bytes, str] = {}  # encoded map key -> key, for the keys seen first


class _Bad(Exception):
    """A parse failure; ``path`` collects the map keys and array indices on the way out."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message
        self.path: list[str] = []

    def field(self) -> str | None:
        return "".join(reversed(self.path)).lstrip(".") or None


def _fail(message: str) -> _Bad:
    return _Bad(message)


def _truncated(what: str, at: int, need: int, left: int) -> _Bad:
    return _fail(f"truncated input: the {what} at byte {at} needs {need} bytes, {left} remain")


def _argument(data: bytes, pos: int, ai: int, end: int, at: int) -> tuple[int, int]:
    """The argument of a head whose additional information ``ai`` is 24..31 (RFC 8949 §3)."""
    if ai == 24:
        if pos + 1 > end:
            raise _truncated("head", at, 2, end - at)
        v = data[pos]
        if v < 24:
            raise _fail(f"not canonical CBOR: the head at byte {at} is not in its shortest form")
        return v, pos + 1
    if 25 <= ai <= 27:
        size = 1 << (ai - 24)
        if pos + size > end:
            raise _truncated("head", at, 1 + size, end - at)
        v = int.from_bytes(data[pos : pos + size], "big")
        if v < (24 if size == 1 else 1 << (4 * size)):
            raise _fail(f"not canonical CBOR: the head at byte {at} is not in its shortest form")
        return v, pos + size
    if ai == 31:
        raise _fail(f"not canonical CBOR: indefinite length at byte {at}")
    raise _fail(f"not valid CBOR: reserved additional information {ai} at byte {at}")


def _simple(ai: int, at: int) -> object:
    if ai == 20:
        return False
    if ai == 21:
        return True
    if ai == 22:
        return None
    if 25 <= ai <= 27:
        raise _fail(f"floating-point value at byte {at}: floats are not allowed")
    if ai == 31:
        raise _fail(f"not valid CBOR: break outside an indefinite-length item at byte {at}")
    raise _fail(f"simple value at byte {at} is not allowed (only false, true and null)")


def _item(st: _State, pos: int, depth: int) -> tuple[Any, int]:
    """The data item at ``pos`` (inside ``depth`` containers) and the position after it."""
    data = st.data
    end = st.end
    if pos >= end:
        raise _truncated("item", pos, 1, 0)
    at = pos
    ib = data[pos]
    pos += 1
    major = ib >> 5
    ai = ib & 31
    if major == 7:
        return _simple(ai, at), pos
    n, pos = (ai, pos) if ai < 24 else _argument(data, pos, ai, end, at)
    if major == 2:
        if n > end - pos:
            raise _truncated(f"byte string of {n} bytes", at, pos - at + n, end - at)
        st.left -= n >> 6
        if st.left < 0:
            raise _fail(f"too many data items: the byte string at byte {at} passes the limit")
        return data[pos : pos + n], pos + n
    if major == 0:
        if n > INT_MAX:
            raise _fail(f"integer outside 64 bits at byte {at}")
        return n, pos
    if major == 5:
        return _map(st, pos, depth + 1, n, at)
    if major == 4:
        if depth + 1 > st.depth:
            raise _fail(f"arrays and maps nested deeper than {st.depth} levels at byte {at}")
        if n > st.container:
            raise _fail(f"array of {n} entries at byte {at}: at most {st.container} allowed")
        if n > end - pos:
            raise _truncated(f"array of {n} entries", at, pos - at + n, end - at)
        st.left -= n
        if st.left < 0:
            raise _fail(f"too many data items: the array at byte {at} passes the limit")
        out: list[Any] = [None] * n
        depth += 1
        i = 0
        try:
            for i in range(n):
                # Fast paths for the commonest items; anything else (and every error) in _item.
                ib = data[pos] if pos < end else 0xFF
                if ib < 0x18:
                    out[i] = ib
                    pos += 1
                elif ib == 0x80 and depth < st.depth:
                    out[i] = []
                    pos += 1
                elif ib == 0xA0 and depth < st.depth:
                    out[i] = {}
                    pos += 1
                else:
                    out[i], pos = _item(st, pos, depth)
        except _Bad as exc:
            exc.path.append(f"[{i}]")
            raise
        return out, pos
    if major == 3:
        if n > st.text:
            raise _fail(f"text of {n} bytes at byte {at}: at most {st.text} allowed")
        if n > end - pos:
            raise _truncated(f"text of {n} bytes", at, pos - at + n, end - at)
        st.left -= n >> 6
        if st.left < 0:
            raise _fail(f"too many data items: the text at byte {at} passes the limit")
        try:
            if n <= 4096:
                return data[pos : pos + n].decode("utf-8"), pos + n
            return str(st.view[pos : pos + n], "utf-8"), pos + n  # no copy of a long text
        except UnicodeDecodeError:
            raise _fail(f"text at byte {at} is not valid UTF-8") from None
    if major == 1:
        if n > INT_MAX:
            raise _fail(f"integer outside 64 bits at byte {at}")
        return -1 - n, pos
    if n in (2, 3):  # what an encoder writes for an integer beyond 64 bits
        raise _fail(
            f"not canonical CBOR: a bignum (tag {n}) at byte {at}: integers lie within 64 bits "
            "and tags are not allowed"
        )
    raise _fail(f"not canonical CBOR: tag {n} at byte {at} (tags are not allowed)")


def _map(st: _State, pos: int, depth: int, n: int, at: int) -> tuple[dict[str, Any], int]:
    """A map of ``n`` entries whose head ends at ``pos``: text keys, unique, in canonical order."""
    data = st.data
    end = st.end
    if depth > st.depth:
        raise _fail(f"arrays and maps nested deeper than {st.depth} levels at byte {at}")
    if n > st.container:
        raise _fail(f"map of {n} entries at byte {at}: at most {st.container} allowed")
    if 2 * n > end - pos:
        raise _truncated(f"map of {n} entries", at, pos - at + 2 * n, end - at)
    st.left -= 2 * n
    if st.left < 0:
        raise _fail(f"too many data items: the map at byte {at} passes the limit")
    out: dict[str, Any] = {}
    previous = b""
    keys = st.keys
    key: str | None = None
    try:
        for _ in range(n):
            key = None
            kat = pos
            if pos >= end:
                raise _truncated("map key", pos, 1, 0)
            kb = data[pos]
            if kb >> 5 != 3:
                kind = _TYPES[kb >> 5] if kb < 0xE0 else "simple value"
                raise _fail(f"map key is not text: a {kind} at byte {kat}")
            ai = kb & 31
            klen, kpos = (ai, pos + 1) if ai < 24 else _argument(data, pos + 1, ai, end, kat)
            pos = kpos + klen
            if klen > 63:
                if klen > st.text:
                    raise _fail(f"text of {klen} bytes at byte {kat}: at most {st.text} allowed")
                st.left -= klen >> 6
                if st.left < 0:
                    raise _fail(f"too many data items: the map key at byte {kat} passes the limit")
            if pos > end:
                raise _truncated(f"text of {klen} bytes", kat, pos - kat, end - kat)
            raw = data[kat:pos]
            if raw <= previous:
                what = "duplicate map key" if raw == previous else "map keys out of canonical order"
                raise _fail(f"not canonical CBOR: {what} at byte {kat}")
            previous = raw
            cached = keys.get(raw)
            if cached is None:
                try:
                    cached = data[kpos:pos].decode("utf-8")
                except UnicodeDecodeError:
                    raise _fail(f"text at byte {kat} is not valid UTF-8") from None
                if len(keys) < _MAX_KEYS and klen <= 64:
                    keys[raw] = cached
            key = cached
            ib = data[pos] if pos < end else 0xFF
            if ib < 0x18:
                out[key] = ib
                pos += 1
            elif ib == 0xA0 and depth < st.depth:
                out[key] = {}
                pos += 1
            elif ib == 0x58 and pos + 2 <= end:  # a byte string of 24..63 bytes (a commitment)
                size = data[pos + 1]
                if size < 24 or size > 63 or pos + 2 + size > end:
                    out[key], pos = _item(st, pos, depth)
                else:
                    out[key] = data[pos + 2 : pos + 2 + size]
                    pos += 2 + size
            else:
                out[key], pos = _item(st, pos, depth)
    except _Bad as exc:
        if key is not None:
            exc.path.append(f".{key}" if key else "['']")
        raise
    return out, pos


def decode(
    data: bytes, obj: str, fmt: str | None = None, limits: Limits = DEFAULT_LIMITS
) -> dict[str, Any]:
    """Decode one canonical CBOR map within ``limits``; with ``fmt``, require that format."""
    if isinstance(data, bytearray | memoryview):
        data = bytes(data)
    elif not isinstance(data, bytes):
        raise DecodeError("expected bytes", obj=obj)
    if not data:
        raise DecodeError("empty input", obj=obj)
    if len(data) > MAX_OBJECT_BYTES:
        raise DecodeError(f"input larger than {MAX_OBJECT_BYTES} bytes", obj=obj)
    if data[0] >> 5 != 5:
        raise DecodeError("top level is not a map", obj=obj)
    st = _State(data, limits)
    # What the parser builds is a tree (no reference cycles): the cyclic garbage collector,
    # which would otherwise rescan every container built so far again and again, stays off.
    collecting = gc.isenabled()
    gc.disable()
    try:
        ai = data[0] & 31
        n, pos = (ai, 1) if ai < 24 else _argument(data, 1, ai, st.end, 0)
        value, pos = _map(st, pos, 1, n, 0)
    except _Bad as exc:
        # An object of another kind may break this kind's bounds: name its format instead.
        got = format_of(data) if fmt is not None else None
        if got is not None and got != fmt:
            raise DecodeError(
                f"expected format {fmt!r}, got {got!r}", obj=obj, field="format"
            ) from None
        raise DecodeError(exc.message, obj=obj, field=exc.field()) from None
    finally:
        if collecting:
            gc.enable()
    if pos != st.end:
        raise DecodeError(f"{st.end - pos} trailing bytes after the object", obj=obj)
    if fmt is not None:
        got = value.get("format")
        if got != fmt:
            raise DecodeError(f"expected format {fmt!r}, got {got!r}", obj=obj, field="format")
    return value


def format_of(data: bytes, budget: int = 1 << 16) -> str | None:
    """The ``format`` text of a CBOR map, looked up cheaply (for naming a file of another
    kind): at most ``budget`` data items are stepped over without being built; ``None`` when the
    input is not a map, has no ``format`` text, or the budget runs out first."""
    try:
        if not data or data[0] >> 5 != 5:
            return None
        end = len(data)
        ai = data[0] & 31
        n, pos = (ai, 1) if ai < 24 else _argument(data, 1, ai, end, 0)
        for _ in range(n):
            if pos >= end or data[pos] >> 5 != 3:
                return None
            ai = data[pos] & 31
            klen, kpos = (ai, pos + 1) if ai < 24 else _argument(data, pos + 1, ai, end, pos)
            pos = kpos + klen
            if data[kpos:pos] == b"format":
                st = _State(data, Limits(1, 2, 1))
                value, _ = _item(st, pos, 1)
                return value if isinstance(value, str) else None
            pos, budget = _skip(data, pos, end, budget)
    except _Bad:
        return None
    return None


def _skip(data: bytes, pos: int, end: int, budget: int) -> tuple[int, int]:
    """The position after the item at ``pos``, stepping over at most ``budget`` items."""
    pending = 1
    while pending:
        budget -= 1
        if budget < 0 or pos >= end:
            raise _Bad("gave up")
        at = pos
        ib = data[pos]
        major, ai = ib >> 5, ib & 31
        pending -= 1
        if major == 7:
            if ai in (24, 25, 26, 27):
                pos += 1 + (1 << (ai - 24))
            else:
                pos += 1
            continue
        n, pos = (ai, pos + 1) if ai < 24 else _argument(data, pos + 1, ai, end, at)
        if major in (2, 3):
            pos += n
        elif major == 4:
            pending += n
        elif major == 5:
            pending += 2 * n
        elif major == 6:
            pending += 1
    return pos, budget


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

    def time(self, key: str) -> int:
        """UTC seconds in ``[0, MAX_TIME]``."""
        return self.integer(key, 0, MAX_TIME)

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
