"""The prime-order group G1 of BLS12-381: the only module that imports the curve backend.

Scalars are plain Python ``int`` values in ``[0, ORDER)``; points are backend objects behind the
alias :data:`Point`. Everything that crosses a trust boundary goes through :func:`decode_point` /
:func:`decode_scalar`, which accept exactly one encoding per element.

Encodings (the ciphersuite ``sigma-proofs_Shake128_BLS12381`` uses the same ones):

* point: 48-byte compressed form of the pairing-friendly-curves draft, Appendix C (ZCash format);
  the identity is never accepted;
* scalar: 32-byte big-endian integer, strictly below :data:`ORDER`.

Secret scalars that meet the group on a machine others share go through
:func:`ct_linear_combination`, which uses blst (``pyblst``, byte-compatible) and its constant-time
scalar multiplication; everything else uses the faster, variable-time arkworks backend.
"""

from __future__ import annotations

import itertools
import secrets
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Final

import py_arkworks_bls12381 as _backend
import pyblst as _ct_backend

from privbill.errors import GroupError as GroupError

#: The backend point type (G1 of BLS12-381, projective coordinates).
Point = _backend.G1Point

#: Order q of G1 (the scalar field).
ORDER: Final = 0x73EDA753299D7D483339D80809A1D80553BDA402FFFE5BFEFFFFFFFF00000001
#: Base-field modulus p.
FIELD_MODULUS: Final = int(
    "1a0111ea397fe69a4b1ba7b6434bacd764774b84f38512bf6730d2a0f6b0f6241eabfffeb153ffffb9feffffffffaaab",
    16,
)
POINT_BYTES: Final = 48
SCALAR_BYTES: Final = 32

#: Version prefix of every privbill hash-to-curve domain-separation tag.
DST_PREFIX: Final = b"privbill-v1-BLS12381G1_XMD:SHA-256_SSWU_RO_"

_COMPRESSED_FLAG: Final = 0x80
_INFINITY_FLAG: Final = 0x40
_X_MASK_TOP: Final = 0x1F
_IDENTITY_BYTES: Final = bytes([_COMPRESSED_FLAG | _INFINITY_FLAG]) + bytes(POINT_BYTES - 1)


def generator() -> Point:
    """The standard generator of G1."""
    return _backend.G1Point()


def identity() -> Point:
    """The neutral element (never accepted by :func:`decode_point`)."""
    return _backend.G1Point.identity()


def is_identity(point: Point) -> bool:
    return point.to_compressed_bytes() == _IDENTITY_BYTES


def hash_to_point(purpose: bytes, message: bytes) -> Point:
    """RFC 9380 ``hash_to_curve`` (suite BLS12381G1_XMD:SHA-256_SSWU_RO_) under a privbill tag.

    ``purpose`` names what the point is for (for example ``b"pedersen-H"``); the full tag is
    ``DST_PREFIX + purpose``, so the points of different purposes and versions are independent
    and nobody knows a discrete-logarithm relation between them.
    """
    if not purpose:
        raise GroupError("hash_to_point needs a non-empty purpose")
    dst = DST_PREFIX + purpose
    if len(dst) > 255:
        raise GroupError("hash-to-curve domain-separation tag longer than 255 bytes")
    return _backend.G1Point.hash_to_curve(dst, message)


def hash_to_points(purpose: bytes, messages: Sequence[bytes]) -> list[Point]:
    """:func:`hash_to_point` for many messages: the same points, about three times faster.

    blst implements the same RFC 9380 suite (its output is byte-identical, which the test suite
    checks) in about 41 µs per point against 187 µs for arkworks; the result crosses over in
    compressed form. The points are in G1 by construction, so the subgroup check is skipped.
    """
    if not purpose:
        raise GroupError("hash_to_points needs a non-empty purpose")
    dst = DST_PREFIX + purpose
    if len(dst) > 255:
        raise GroupError("hash-to-curve domain-separation tag longer than 255 bytes")
    h2g = _ct_backend.BlstP1Element.hash_to_group
    unchecked = _backend.G1Point.from_compressed_bytes_unchecked
    return [unchecked(h2g(dst, bytes(m)).compress()) for m in messages]


# --- scalars -------------------------------------------------------------------------------


def random_scalar() -> int:
    """A uniform scalar in ``[1, ORDER)`` from the operating system's CSPRNG."""
    return 1 + secrets.randbelow(ORDER - 1)


def scalar_from_int(value: int) -> int:
    """Reduce any integer (negative ones included) into ``[0, ORDER)``."""
    return value % ORDER


def signed_scalar(value: int) -> int:
    """The representative of ``value mod ORDER`` in ``(-ORDER/2, ORDER/2]``."""
    v = value % ORDER
    return v - ORDER if v > ORDER // 2 else v


def encode_scalar(value: int) -> bytes:
    if not 0 <= value < ORDER:
        raise GroupError("scalar out of range [0, q)")
    return value.to_bytes(SCALAR_BYTES, "big")


def decode_scalar(data: bytes) -> int:
    """Strict decoding: exactly 32 bytes, big-endian, value below the group order."""
    if len(data) != SCALAR_BYTES:
        raise GroupError(f"a scalar is {SCALAR_BYTES} bytes, got {len(data)}")
    value = int.from_bytes(data, "big")
    if value >= ORDER:
        raise GroupError("non-canonical scalar (not below the group order)")
    return value


def batch_invert(values: Sequence[int]) -> list[int]:
    """Inverses modulo the order of all ``values`` with one modular inversion (Montgomery's
    trick). Raises :class:`GroupError` if any value is zero modulo the order."""
    order = ORDER
    prefix: list[int] = []
    acc = 1
    for v in values:
        v %= order
        if v == 0:
            raise GroupError("zero has no inverse")
        prefix.append(acc)
        acc = acc * v % order
    inv = pow(acc, -1, order)
    out = [0] * len(prefix)
    for i in range(len(prefix) - 1, -1, -1):
        out[i] = inv * prefix[i] % order
        inv = inv * values[i] % order
    return out


def scalar_from_uniform_bytes(data: bytes) -> int:
    """Map at least 48 uniform bytes to a scalar with statistical bias below 2^-128."""
    if len(data) < SCALAR_BYTES + 16:
        raise GroupError("need at least 48 uniform bytes to derive a scalar")
    return int.from_bytes(data, "big") % ORDER


def _backend_scalar(value: int) -> _backend.Scalar:
    return _backend.Scalar.from_be_bytes((value % ORDER).to_bytes(SCALAR_BYTES, "big"))


def mul(point: Point, scalar: int) -> Point:
    """``scalar · point`` (variable time)."""
    return point * _backend_scalar(scalar)


# --- points --------------------------------------------------------------------------------


def encode_point(point: Point) -> bytes:
    """Compressed 48-byte encoding. The identity is refused: no protocol message carries it."""
    data = point.to_compressed_bytes()
    if data == _IDENTITY_BYTES:
        raise GroupError("refusing to encode the identity point")
    return data


def _check_canonical(data: bytes) -> None:
    if len(data) != POINT_BYTES:
        raise GroupError(f"a point is {POINT_BYTES} bytes, got {len(data)}")
    head = data[0]
    if not head & _COMPRESSED_FLAG:
        raise GroupError("point not in compressed form")
    if head & _INFINITY_FLAG:
        raise GroupError("identity point not allowed")
    x = int.from_bytes(bytes([head & _X_MASK_TOP]) + data[1:], "big")
    if x >= FIELD_MODULUS:
        raise GroupError("non-canonical point encoding (x not below the field modulus)")


def decode_point(data: bytes) -> Point:
    """Full validation: canonical, compressed, on the curve, in the prime-order subgroup, and not
    the identity. Use this for every point that is not covered by a verified meter seal."""
    _check_canonical(data)
    try:
        return _backend.G1Point.from_compressed_bytes(bytes(data))
    except ValueError:
        raise GroupError("not a point of the prime-order subgroup of G1") from None


def decode_points_on_curve(data: bytes, count: int) -> list[Point]:
    """Decode ``count`` concatenated points, checking canonical form, on-curve and non-identity
    but *not* subgroup membership.

    This is for points whose bytes are covered by a verified meter-seal signature: the meter
    computed them as ``c·G + r·H`` from subgroup generators, so a cofactor component can only come
    from a meter that is already broken, and such a meter could sign false readings anyway. See
    ``docs/security.md`` (point validation) for the argument. The subgroup check is 3x the cost of
    the rest of decoding; :func:`decode_points` performs it when a caller wants it.
    """
    if len(data) != count * POINT_BYTES:
        raise GroupError(f"expected {count} points ({count * POINT_BYTES} bytes), got {len(data)}")
    unchecked = _backend.G1Point.from_compressed_bytes_unchecked
    out: list[Point] = []
    append = out.append
    p = FIELD_MODULUS
    for off in range(0, len(data), POINT_BYTES):
        chunk = data[off : off + POINT_BYTES]
        head = chunk[0]
        if head & 0xC0 != _COMPRESSED_FLAG:
            _check_canonical(chunk)  # raises with the precise reason
        if int.from_bytes(chunk, "big") & ((1 << 381) - 1) >= p:
            raise GroupError(f"non-canonical point encoding at index {off // POINT_BYTES}")
        try:
            append(unchecked(chunk))
        except ValueError:
            raise GroupError(f"not a point on the curve at index {off // POINT_BYTES}") from None
    return out


def encode_points_xy(points: Sequence[Point]) -> bytes:
    """Concatenated 96-byte uncompressed encodings (``x ‖ y``, big-endian) of ``points``."""
    return b"".join(p.to_xy_bytes_be() for p in points)


def decode_points_xy_trusted(data: bytes, count: int) -> list[Point]:
    """Decode ``count`` concatenated 96-byte uncompressed points (``x ‖ y``, big-endian) with the
    on-curve check only (about 1 µs each).

    Only for bytes whose integrity is established otherwise: the Bulletproof generator cache
    checks every chunk against a digest pinned in code before it decodes it
    (:mod:`privbill.crypto.generator_cache`). Never use it for input from another party.
    """
    if len(data) != count * 96:
        raise GroupError(f"expected {count} uncompressed points, got {len(data)} bytes")
    load = _backend.G1Point.from_xy_bytes_unchecked_be
    try:
        return [load(data[off : off + 96]) for off in range(0, len(data), 96)]
    except ValueError:
        raise GroupError("not a point on the curve") from None


def decode_points(data: bytes, count: int) -> list[Point]:
    """Like :func:`decode_points_on_curve` with the prime-order-subgroup check as well."""
    pts = decode_points_on_curve(data, count)
    for i, pt in enumerate(pts):
        if not pt.is_in_subgroup():
            raise GroupError(f"point at index {i} is not in the prime-order subgroup")
    return pts


# --- multi-scalar multiplication -----------------------------------------------------------


def msm(points: Sequence[Point], scalars: Sequence[int]) -> Point:
    """``Σ scalars[i] · points[i]`` by Pippenger's method. Scalars may be any integers (reduced
    modulo the order). The lengths must match: the backend would silently truncate."""
    if len(points) != len(scalars):
        raise GroupError(f"msm length mismatch: {len(points)} points, {len(scalars)} scalars")
    if not points:
        return identity()
    if len(points) <= _SMALL_MSM:
        return _small_msm(points, scalars)
    order = ORDER
    from_be = _backend.Scalar.from_be_bytes
    conv = [from_be((s % order).to_bytes(SCALAR_BYTES, "big")) for s in scalars]
    return _backend.G1Point.multiexp_unchecked(list(points), conv)


#: Up to this many terms, an MSM is computed term by term: the backend's multi-exponentiation
#: has a fixed cost that dominates tiny inputs, and bases with registered tables are 6x faster.
_SMALL_MSM: Final = 4
_FIXED_BASES: list[FixedBase] = []


def register_fixed_base(table: FixedBase) -> None:
    """Let :func:`msm` use ``table`` whenever its base appears in a small multi-scalar
    multiplication (the Pedersen generators register themselves when their tables are built)."""
    if not any(t.base == table.base for t in _FIXED_BASES):
        _FIXED_BASES.append(table)


def _fixed_table(point: Point) -> FixedBase | None:
    """The registered table of ``point``'s value, if any. Compared as points (projective
    equality, a few field multiplications) rather than by encoding, which would normalise the
    point first (a field inversion for every term of every small MSM)."""
    for t in _FIXED_BASES:
        if point is t.base or point == t.base:
            return t
    return None


def _small_msm(points: Sequence[Point], scalars: Sequence[int]) -> Point:
    acc = identity()
    for p, s in zip(points, scalars, strict=True):
        table = _fixed_table(p)
        acc = acc + (table.mul(s % ORDER) if table is not None else mul(p, s))
    return acc


def msm_many(
    jobs: Sequence[tuple[Sequence[Point], Sequence[int]]], workers: int = 1
) -> list[Point]:
    """:func:`msm` of every ``(points, scalars)`` job, in order.

    With ``workers > 1`` the jobs are split into that many contiguous chunks computed in threads:
    the backend releases the interpreter lock inside its multi-exponentiation, so the chunks run
    on separate cores (the scalar conversions before each call still hold the lock).
    """
    if workers < 1:
        raise GroupError("msm_many needs at least one worker")
    if workers == 1 or len(jobs) < 2:
        return [msm(p, s) for p, s in jobs]
    chunks = min(workers, len(jobs))
    bounds = [len(jobs) * i // chunks for i in range(chunks + 1)]

    def run(lo: int, hi: int) -> list[Point]:
        return [msm(p, s) for p, s in jobs[lo:hi]]

    with ThreadPoolExecutor(max_workers=chunks) as pool:
        parts = list(pool.map(run, bounds[:-1], bounds[1:]))
    return [pt for part in parts for pt in part]


def msm_split(points: Sequence[Point], scalars: Sequence[int], workers: int = 1) -> Point:
    """:func:`msm` computed as ``workers`` partial multi-exponentiations in threads, summed."""
    if len(points) != len(scalars):
        raise GroupError(f"msm length mismatch: {len(points)} points, {len(scalars)} scalars")
    parts = max(1, min(workers, len(points) // 1024))
    if parts == 1:
        return msm(points, scalars)
    cut = [len(points) * i // parts for i in range(parts + 1)]
    jobs = [(points[lo:hi], scalars[lo:hi]) for lo, hi in itertools.pairwise(cut)]
    return point_sum(msm_many(jobs, parts))


def point_sum(points: Sequence[Point]) -> Point:
    """``Σ points[i]`` by plain additions (cheaper than an MSM with unit scalars)."""
    return sum(points, identity())


class FixedBase:
    """Precomputed multiples of one base point for fast ``k · base`` with 8-bit windows.

    ``table[j][b] = b · 256^j · base``; a multiplication by a ``bits``-bit scalar is one table
    lookup and one addition per byte. 32 × 256 points (about 8192 additions to build) cover full
    scalars. The lookups are indexed by the scalar's bytes: this is not a constant-time
    implementation (see ``docs/security.md``).
    """

    __slots__ = ("_identity", "_table", "base", "bits")

    def __init__(self, base: Point, bits: int = 256) -> None:
        if bits <= 0 or bits % 8:
            raise GroupError("FixedBase bits must be a positive multiple of 8")
        self.base = base
        self.bits = bits
        self._identity = identity()
        table: list[list[Point]] = []
        step = base
        for _ in range(bits // 8):
            row = [self._identity, step]
            acc = step
            for _ in range(254):
                acc = acc + step
                row.append(acc)
            table.append(row)
            step = acc + step
        self._table = table

    def mul(self, scalar: int) -> Point:
        """``scalar · base`` for ``0 <= scalar < 2**bits`` (reduce modulo the order first)."""
        if not 0 <= scalar < (1 << self.bits):
            raise GroupError(f"FixedBase scalar out of range [0, 2^{self.bits})")
        # map() stops at the shorter input: only the scalar's own bytes are looked up.
        nbytes = (scalar.bit_length() + 7) // 8
        return sum(
            map(list.__getitem__, self._table, scalar.to_bytes(nbytes, "little")), self._identity
        )


# --- constant-time path for secret scalars -------------------------------------------------

_CT_CACHE: dict[bytes, _ct_backend.BlstP1Element] = {}


def _ct_point(point: Point) -> _ct_backend.BlstP1Element:
    key = point.to_compressed_bytes()
    elem = _CT_CACHE.get(key)
    if elem is None:
        elem = _ct_backend.BlstP1Element.uncompress(key)
        if len(_CT_CACHE) < 64:  # only long-lived bases (generators) are worth keeping
            _CT_CACHE[key] = elem
    return elem


def ct_linear_combination(points: Sequence[Point], scalars: Sequence[int]) -> Point:
    """``Σ scalars[i] · points[i]`` with blst's constant-time scalar multiplication.

    For a handful of secret scalars (a commitment's value and blinding); about 60 µs per term.
    The conversion of each Python ``int`` to bytes happens in Python and is not constant-time.
    """
    if len(points) != len(scalars) or not points:
        raise GroupError("ct_linear_combination needs equal, non-empty point and scalar lists")
    acc: _ct_backend.BlstP1Element | None = None
    for pt, sc in zip(points, scalars, strict=True):
        term = _ct_point(pt).scalar_mul(sc % ORDER)
        acc = term if acc is None else acc + term
    assert acc is not None
    return _backend.G1Point.from_compressed_bytes_unchecked(acc.compress())
