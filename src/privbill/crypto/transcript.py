"""The Fiat–Shamir transformation of draft-irtf-cfrg-fiat-shamir, SHAKE128 suite.

This module holds three layers, each a direct transcription of the draft:

* the **XOF duplex sponge** (draft section "XOF duplex sponge"): ``Init`` pads the 32-byte session
  identifier with zeros to the SHAKE128 rate (R = 168 bytes), ``Absorb`` appends to the XOF input,
  ``Squeeze`` reads the XOF output stream of a finalised *copy* of the absorbing state, and
  consecutive squeezes continue that stream until the next non-empty absorb. SHAKE128 from
  :mod:`hashlib` provides exactly the operations the draft names (update, copy, finalise and read),
  so no permutation-level code is needed;
* ``DeriveSessionID`` (draft section "Session identifiers");
* the **codecs and (de)serialisation** (draft sections "Codecs" and "Non-interactive argument
  string"): little-endian integers, field elements, variable-length strings, the
  distribution-preserving decoders ``DecodeUint`` / ``DecodeField``, and the ciphersuite codecs of
  ``sigma-proofs_Shake128_BLS12381`` (48-byte compressed G1 points, 32-byte big-endian scalars,
  challenges from ``DecodeField`` over 48 squeezed bytes).

:class:`Transcript` and :class:`NargReader` combine them into the sequential interface the draft's
implementation guidance asks for: a prover message is encoded, absorbed and (where the protocol
serialises it) written in one call, and a verifier reads the NARG string front to back and must
call :meth:`NargReader.finish` to reject trailing bytes.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from functools import lru_cache
from typing import TYPE_CHECKING, Final, Literal

from privbill.crypto import group
from privbill.crypto.group import Point
from privbill.errors import CodecError as CodecError

if TYPE_CHECKING:
    from _hashlib import HASHXOF

#: SHAKE128 rate in bytes.
RATE: Final = 168
#: Length of a session identifier.
SESSION_ID_BYTES: Final = 32
#: Domain separator of ``DeriveSessionID`` (exactly 32 bytes, used as a session identifier).
SESSION_ID_DOMAIN: Final = b"irtf-cfrg-fiat-shamir/session-id"
#: Extra bytes squeezed by ``DecodeUint`` to make the modular reduction statistically uniform.
DECODE_EXTRA_BYTES: Final = 16
#: Largest value of a 4-byte little-endian length or index.
MAX_U32: Final = 2**32 - 1

#: Element and scalar sizes of the ciphersuite ``sigma-proofs_Shake128_BLS12381``.
NE: Final = group.POINT_BYTES
NS: Final = group.SCALAR_BYTES
#: Bytes squeezed for one challenge scalar: ``Ns + 16``.
CHALLENGE_BYTES: Final = NS + DECODE_EXTRA_BYTES

ByteOrder = Literal["little", "big"]


# --- duplex sponge -------------------------------------------------------------------------


class _XofReader:
    """The output stream of a finalised SHAKE128 state, read incrementally.

    ``hashlib`` returns the output prefix of a requested length; the reader keeps the bytes it has
    produced so far and extends them in whole rate blocks, so the stream is computed once.
    """

    __slots__ = ("_buffer", "_position", "_xof")

    def __init__(self, xof: HASHXOF) -> None:
        self._xof = xof
        self._buffer = b""
        self._position = 0

    def read(self, n: int) -> bytes:
        end = self._position + n
        if end > len(self._buffer):
            blocks = -(-end // RATE)
            self._buffer = self._xof.digest(blocks * RATE)
        out = self._buffer[self._position : end]
        self._position = end
        return out


class DuplexSponge:
    """The XOF duplex sponge of the draft, instantiated with SHAKE128.

    ``DuplexSponge(session_id)`` is ``Init``; :meth:`absorb` and :meth:`squeeze` are ``Absorb``
    and ``Squeeze``. The state after ``Init`` (and after absorbing an instance) may be copied with
    :meth:`copy` to start many executions from a common prefix.
    """

    __slots__ = ("_ctx", "_reader")

    def __init__(self, session_id: bytes) -> None:
        if len(session_id) != SESSION_ID_BYTES:
            raise CodecError(f"a session identifier is {SESSION_ID_BYTES} bytes")
        self._ctx = hashlib.shake_128(bytes(session_id) + bytes(RATE - SESSION_ID_BYTES))
        self._reader: _XofReader | None = None

    @classmethod
    def _from_parts(cls, ctx: HASHXOF) -> DuplexSponge:
        sponge = cls.__new__(cls)
        sponge._ctx = ctx
        sponge._reader = None
        return sponge

    def absorb(self, data: bytes) -> None:
        """``Absorb(x)``: append ``data`` to the XOF input; a non-empty absorb ends the current
        output stream."""
        if data:
            self._ctx.update(data)
            self._reader = None

    def squeeze(self, n: int) -> bytes:
        """``Squeeze(n)``: the next ``n`` bytes of the output stream over everything absorbed."""
        if n < 0:
            raise CodecError("cannot squeeze a negative number of bytes")
        if self._reader is None:
            self._reader = _XofReader(self._ctx.copy())
        return self._reader.read(n)

    def copy(self) -> DuplexSponge:
        """An independent copy of the absorbing state (an open output stream is not shared)."""
        if self._reader is not None:
            raise CodecError("copy the sponge before squeezing from it")
        return DuplexSponge._from_parts(self._ctx.copy())


@lru_cache(maxsize=1024)
def _initial_state(session_id: bytes) -> DuplexSponge:
    return DuplexSponge(session_id)


def init(session_id: bytes) -> DuplexSponge:
    """``Init(session_id)``, served from a cache of initialised states (the draft's efficiency
    section: the padded session identifier fills one rate block and can be precomputed)."""
    return _initial_state(bytes(session_id)).copy()


@lru_cache(maxsize=1024)
def derive_session_id(tag: bytes) -> bytes:
    """``DeriveSessionID(tag)``: the 32-byte session identifier of an application tag."""
    sponge = DuplexSponge(SESSION_ID_DOMAIN)
    sponge.absorb(bytes(tag))
    return sponge.squeeze(SESSION_ID_BYTES)


# --- integers ------------------------------------------------------------------------------


def le(n: int, width: int) -> bytes:
    """``LE(n, w)``: ``n`` as a ``w``-byte little-endian string; fails unless ``0 <= n < 256^w``."""
    if n < 0 or n >= 1 << (8 * width):
        raise CodecError(f"integer does not fit in {width} bytes")
    return n.to_bytes(width, "little")


def le2ip(data: bytes) -> int:
    """``LE2IP(x)``: the little-endian integer of ``data``."""
    return int.from_bytes(data, "little")


def byte_length(modulus: int) -> int:
    """``Ns``: the smallest integer with ``256^Ns >= modulus``."""
    if modulus < 2:
        raise CodecError("modulus must be at least 2")
    return ((modulus - 1).bit_length() + 7) // 8


def serialize_uint(x: int, modulus: int, byteorder: ByteOrder = "little") -> bytes:
    """``SerializeUint(x, M)``: ``x`` in ``[0, M)`` on ``Ns`` bytes (little-endian by default)."""
    if not 0 <= x < modulus:
        raise CodecError("integer out of range [0, M)")
    return x.to_bytes(byte_length(modulus), byteorder)


def deserialize_uint(
    data: bytes, modulus: int, byteorder: ByteOrder = "little"
) -> tuple[int, bytes]:
    """``DeserializeUint(input, M)``: read ``Ns`` bytes; reject short input and values ``>= M``.
    Returns the value and the unread remainder."""
    ns = byte_length(modulus)
    if len(data) < ns:
        raise CodecError("input shorter than one integer")
    x = int.from_bytes(data[:ns], byteorder)
    if x >= modulus:
        raise CodecError("non-canonical integer (not below the modulus)")
    return x, data[ns:]


def serialize_field(coordinates: Sequence[int], p: int, byteorder: ByteOrder = "little") -> bytes:
    """``SerializeField(a, p, m)`` with ``m = len(coordinates)``; ``byteorder="big"`` is the
    ``I2OSP`` serialisation a profile may pin instead of the default."""
    return b"".join(serialize_uint(a, p, byteorder) for a in coordinates)


def deserialize_field(
    data: bytes, p: int, m: int = 1, byteorder: ByteOrder = "little"
) -> tuple[tuple[int, ...], bytes]:
    """``DeserializeField(input, p, m)``: ``m`` canonical coordinates and the unread remainder."""
    coords: list[int] = []
    for _ in range(m):
        x, data = deserialize_uint(data, p, byteorder)
        coords.append(x)
    return tuple(coords), data


def serialize_varlen(data: bytes) -> bytes:
    """``SerializeVarLenString(s)``: ``LE(len(s), 4) || s``."""
    return le(len(data), 4) + data


def deserialize_varlen(data: bytes) -> tuple[bytes, bytes]:
    """``DeserializeVarLenString(input)``: the string and the unread remainder."""
    if len(data) < 4:
        raise CodecError("input shorter than a length prefix")
    n = le2ip(data[:4])
    if len(data) - 4 < n:
        raise CodecError("length prefix exceeds the remaining input")
    return data[4 : 4 + n], data[4 + n :]


def deserialize_bytes(data: bytes, n: int) -> tuple[bytes, bytes]:
    """``DeserializeBytes(input, N)``."""
    if len(data) < n:
        raise CodecError(f"input shorter than {n} bytes")
    return data[:n], data[n:]


def decode_uint(buf: bytes, modulus: int) -> int:
    """``DecodeUint(buf, M)``: ``LE2IP(buf) mod M`` for a buffer of ``Ns + 16`` bytes."""
    if len(buf) != byte_length(modulus) + DECODE_EXTRA_BYTES:
        raise CodecError("DecodeUint needs exactly Ns + 16 bytes")
    return le2ip(buf) % modulus


def decode_field(buf: bytes, p: int, m: int = 1) -> tuple[int, ...]:
    """``DecodeField(buf, p, m)``: ``m`` coordinates, each ``DecodeUint`` of ``Ns + 16`` bytes."""
    width = byte_length(p) + DECODE_EXTRA_BYTES
    if len(buf) != m * width:
        raise CodecError("DecodeField needs exactly m * (Ns + 16) bytes")
    return tuple(decode_uint(buf[i * width : (i + 1) * width], p) for i in range(m))


# --- ciphersuite codecs (sigma-proofs_Shake128_BLS12381) ------------------------------------


def encode_scalars(scalars: Sequence[int]) -> bytes:
    """``Scalar.serialize``: 32-byte big-endian encodings, concatenated."""
    try:
        return b"".join(group.encode_scalar(s) for s in scalars)
    except group.GroupError as exc:
        raise CodecError(str(exc)) from None


def decode_scalars(data: bytes, count: int) -> list[int]:
    """``Scalar.deserialize``: exactly ``count`` canonical scalars."""
    if len(data) != count * NS:
        raise CodecError(f"expected {count} scalars ({count * NS} bytes), got {len(data)}")
    out: list[int] = []
    order = group.ORDER
    for off in range(0, len(data), NS):
        value = int.from_bytes(data[off : off + NS], "big")
        if value >= order:
            raise CodecError("non-canonical scalar (not below the group order)")
        out.append(value)
    return out


def encode_points(points: Sequence[Point]) -> bytes:
    """``Group.serialize``: 48-byte compressed encodings; fails on the identity."""
    try:
        return b"".join(group.encode_point(p) for p in points)
    except group.GroupError as exc:
        raise CodecError(str(exc)) from None


def decode_points(data: bytes, count: int) -> list[Point]:
    """``Group.deserialize``: exactly ``count`` points, each fully validated (canonical, on the
    curve, in G1, not the identity)."""
    if len(data) != count * NE:
        raise CodecError(f"expected {count} points ({count * NE} bytes), got {len(data)}")
    try:
        return [group.decode_point(data[off : off + NE]) for off in range(0, len(data), NE)]
    except group.GroupError as exc:
        raise CodecError(str(exc)) from None


def decode_challenge(buf: bytes) -> int:
    """The ciphersuite's challenge decoder: ``DecodeField(buf, q, 1)`` over 48 bytes."""
    return decode_field(buf, group.ORDER, 1)[0]


# --- sequential interface ------------------------------------------------------------------


class Transcript:
    """A duplex sponge with the ciphersuite codecs: what the prover and verifier both run.

    ``Transcript(session_id)`` initialises the sponge; the instance is absorbed first with
    :meth:`absorb_instance` (which must be non-empty), then prover messages, and challenges are
    squeezed with :meth:`challenge`.
    """

    __slots__ = ("_instance_absorbed", "_sponge")

    def __init__(self, session_id: bytes) -> None:
        self._sponge = init(session_id)
        self._instance_absorbed = False

    @classmethod
    def from_tag(cls, tag: bytes) -> Transcript:
        return cls(derive_session_id(tag))

    def absorb_instance(self, encoded_instance: bytes) -> None:
        if self._instance_absorbed:
            raise CodecError("the instance is absorbed once, before any prover message")
        if not encoded_instance:
            raise CodecError("the encoded instance must be non-empty")
        self._sponge.absorb(encoded_instance)
        self._instance_absorbed = True

    def _check_started(self) -> None:
        if not self._instance_absorbed:
            raise CodecError("absorb the instance before any prover message")

    def absorb_bytes(self, message: bytes) -> None:
        """Absorb an already-encoded prover message (fixed length, known to both sides)."""
        self._check_started()
        self._sponge.absorb(message)

    def absorb_points(self, points: Sequence[Point]) -> bytes:
        """Encode, absorb and return a group-element prover message."""
        encoded = encode_points(points)
        self.absorb_bytes(encoded)
        return encoded

    def absorb_scalars(self, scalars: Sequence[int]) -> bytes:
        """Encode, absorb and return a scalar prover message."""
        encoded = encode_scalars(scalars)
        self.absorb_bytes(encoded)
        return encoded

    def challenge(self) -> int:
        """A verifier message: one scalar, ``DecodeField`` of ``Ns + 16`` squeezed bytes."""
        self._check_started()
        return decode_challenge(self._sponge.squeeze(CHALLENGE_BYTES))

    def squeeze(self, n: int) -> bytes:
        self._check_started()
        return self._sponge.squeeze(n)


class NargReader:
    """Front-to-back deserialisation of an untrusted NARG string.

    Every read consumes a length fixed by the message type; :meth:`finish` must be called after
    the last expected message and fails if bytes remain (unread bytes make a proof malleable).
    """

    __slots__ = ("_data",)

    def __init__(self, data: bytes) -> None:
        self._data = bytes(data)

    def read_bytes(self, n: int) -> bytes:
        out, self._data = deserialize_bytes(self._data, n)
        return out

    def read_points(self, count: int) -> tuple[list[Point], bytes]:
        """``count`` fully-validated points and their bytes."""
        raw = self.read_bytes(count * NE)
        return decode_points(raw, count), raw

    def read_scalars(self, count: int) -> list[int]:
        return decode_scalars(self.read_bytes(count * NS), count)

    def finish(self) -> None:
        if self._data:
            raise CodecError(f"{len(self._data)} trailing bytes after the last message")
