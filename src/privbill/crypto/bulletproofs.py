"""Aggregated range proofs: Bulletproofs (Bünz, Bootle, Boneh, Poelstra, Wuille, Maxwell 2018).

A proof shows that ``m`` Pedersen commitments ``V_j = v_j·G + γ_j·H`` (the generators of
:mod:`privbill.crypto.pedersen`) hold values in ``[0, 2^n)``, ``n ∈ {8, 16, 32, 64}``, with
``2·log2(n·m') + 9`` group elements and scalars (``m'`` is ``m`` rounded up to a power of two).
:func:`prove_ranges` / :func:`verify_ranges` prove ``a ≤ v < b`` for public bounds through shifted
commitments. The construction, the transcript and the measured costs are described in
``docs/bulletproofs.md``; the notation below follows the paper (section 4.2 for one value, 4.3
for aggregation, protocols 1 and 2 for the inner-product argument, section 6.2 for the
verifier's single multi-exponentiation).

Module layout: generators; statements (what is proven, the transcript instance); the proof
object and its byte encoding; the prover (range proof, then the inner-product argument); the
verifier (one multi-scalar multiplication, batch verification); the interval API.

The prover handles secrets with variable-time Python integers and multi-scalar multiplications;
run it in its own process on a shared machine (``docs/security.md``, side channels).
"""

from __future__ import annotations

import os
import secrets
import threading
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Final

from privbill.crypto import generator_cache, group, pedersen, transcript
from privbill.crypto.group import Point
from privbill.crypto.transcript import Transcript
from privbill.errors import RangeProofError as RangeProofError

#: Fiat–Shamir tags (``DeriveSessionID`` input) of the two statement kinds.
TAG_VALUES: Final = b"privbill/v1/bulletproofs-range/values"
TAG_INTERVALS: Final = b"privbill/v1/bulletproofs-range/intervals"
#: hash-to-curve purposes of the vector generators ``G_i``, ``H_i`` (message: ``i`` as 4 bytes
#: big-endian) and of the inner-product base ``U`` (message: empty).
G_PURPOSE: Final = b"bulletproofs-G"
H_PURPOSE: Final = b"bulletproofs-H"
U_PURPOSE: Final = b"bulletproofs-U"

#: Allowed bit lengths ``n``.
BIT_SIZES: Final = (8, 16, 32, 64)
#: Largest number of inner-product rounds, i.e. ``n·m' ≤ 2^MAX_ROUNDS``.
MAX_ROUNDS: Final = 24
#: Bounds of intervals must lie in ``(-BOUND_LIMIT, BOUND_LIMIT]``.
BOUND_LIMIT: Final = 2**128

#: Proof layout: A, S, T1, T2, then τx, μ, t̂, then L_j, R_j per round, then a, b.
FIXED_POINTS: Final = 4
FIXED_SCALARS: Final = 5
_PB: Final = group.POINT_BYTES
_SB: Final = group.SCALAR_BYTES
_FIXED_BYTES: Final = FIXED_POINTS * _PB + FIXED_SCALARS * _SB
_ROUND_BYTES: Final = 2 * _PB

#: Threads used for multi-scalar multiplications unless the caller says otherwise.
DEFAULT_WORKERS: Final = max(1, min(2, os.cpu_count() or 1))
#: Inner-product prover: generators are folded explicitly once ``FOLD_BLOCKS`` original
#: generators make up each current one (see :func:`_ipa_prove`).
FOLD_BLOCKS: Final = 16
# Below this many points a multi-scalar multiplication is not worth a thread.
_PARALLEL_MIN: Final = 8192

_Q: Final = group.ORDER


# --- generators ----------------------------------------------------------------------------

_GEN_LOCK = threading.Lock()
_GEN_G: list[Point] = []
_GEN_H: list[Point] = []
_GEN_U: list[Point] = []


def _index_messages(start: int, stop: int) -> list[bytes]:
    return [i.to_bytes(4, "big") for i in range(start, stop)]


def _derive(start: int, stop: int) -> tuple[list[Point], list[Point]]:
    msgs = _index_messages(start, stop)
    return group.hash_to_points(G_PURPOSE, msgs), group.hash_to_points(H_PURPOSE, msgs)


def precompute_generators(count: int) -> None:
    """Derive (and cache) the first ``count`` generators ``G_i`` and ``H_i`` now.

    Each costs one hash to the curve (about 40 µs per point with blst): ``n·m' = 65536`` needs
    several seconds. The first 131 072 come from the disk cache of
    :mod:`privbill.crypto.generator_cache` when it holds them (checked against digests pinned in
    code), and are written to it when it does not.
    """
    if count > 2**MAX_ROUNDS:
        raise RangeProofError("too many generators requested")
    with _GEN_LOCK:
        have = len(_GEN_G)
        directory = generator_cache.cache_dir() if count > have else None
        while count > have:
            index = have // generator_cache.CHUNK
            if directory is not None and index < len(generator_cache.PINNED):
                g, h = generator_cache.load_chunk(index, _derive, directory)
                skip = have - index * generator_cache.CHUNK
                g, h = g[skip:], h[skip:]
            else:
                g, h = _derive(have, count)
            _GEN_G.extend(g)
            _GEN_H.extend(h)
            have = len(_GEN_G)
        if not _GEN_U:
            _GEN_U.append(group.hash_to_point(U_PURPOSE, b""))


def vector_generators(count: int) -> tuple[list[Point], list[Point]]:
    """``(G_0..G_{count-1}, H_0..H_{count-1})``."""
    precompute_generators(count)
    return _GEN_G[:count], _GEN_H[:count]


def generator_u() -> Point:
    """The base ``U`` of the inner-product argument."""
    precompute_generators(0)
    return _GEN_U[0]


# --- statements ----------------------------------------------------------------------------


def _next_power_of_two(m: int) -> int:
    return 1 << (m - 1).bit_length()


@dataclass(frozen=True, slots=True)
class RangeStatement:
    """What a proof is about: ``commitments`` and a list of constraints.

    Constraint ``j`` is ``(index, sign, offset)``: the committed value ``v`` of
    ``commitments[index]`` satisfies ``sign·v + offset ∈ [0, 2^n)`` (modulo ``q``); its shifted
    commitment is ``D_j = sign·V + offset·G``. ``instance`` is the encoded statement absorbed
    first by the transcript, ``tag`` its Fiat–Shamir tag.
    """

    tag: bytes
    n: int
    commitments: tuple[Point, ...]
    constraints: tuple[tuple[int, int, int], ...]
    instance: bytes

    @property
    def aggregate(self) -> int:
        """``m'``: the number of constraints padded to a power of two."""
        return _next_power_of_two(len(self.constraints))

    @property
    def size(self) -> int:
        """``N = n·m'``, the length of the bit vector."""
        return self.n * self.aggregate

    @property
    def rounds(self) -> int:
        """``k = log2(N)``: inner-product rounds."""
        return self.size.bit_length() - 1


def _check_n(n: int) -> None:
    if n not in BIT_SIZES:
        raise RangeProofError(f"bit length must be one of {BIT_SIZES}, got {n}")


def _encode_commitments(commitments: Sequence[Point]) -> bytes:
    return b"".join(c.to_compressed_bytes() for c in commitments)


def _instance_prefix(n: int, m: int, context: bytes) -> bytes:
    return transcript.le(n, 4) + transcript.le(m, 4) + transcript.serialize_varlen(bytes(context))


def _checked_statement(
    tag: bytes,
    n: int,
    commitments: Sequence[Point],
    constraints: list[tuple[int, int, int]],
    instance: bytes,
) -> RangeStatement:
    if not constraints:
        raise RangeProofError("a range proof needs at least one commitment")
    if (n * _next_power_of_two(len(constraints))).bit_length() - 1 > MAX_ROUNDS:
        raise RangeProofError("too many commitments for one proof")
    return RangeStatement(tag, n, tuple(commitments), tuple(constraints), instance)


def values_statement(
    commitments: Sequence[Point], n: int, *, context: bytes = b""
) -> RangeStatement:
    """Every committed value lies in ``[0, 2^n)``.

    Instance: ``LE(n, 4) || LE(m, 4) || SerializeVarLenString(context) || V_1 || ... || V_m``
    (48-byte compressed points), under :data:`TAG_VALUES`.
    """
    _check_n(n)
    m = len(commitments)
    instance = _instance_prefix(n, m, context) + _encode_commitments(commitments)
    constraints = [(i, 1, 0) for i in range(m)]
    return _checked_statement(TAG_VALUES, n, commitments, constraints, instance)


def check_bounds(bound: tuple[int, int], n: int) -> None:
    """``a < b``, ``b - a ≤ 2^n`` and both bounds in ``(-2^128, 2^128]``."""
    lo, hi = bound
    if not (isinstance(lo, int) and isinstance(hi, int)):
        raise RangeProofError("bounds are integers")
    if not -BOUND_LIMIT < lo < hi <= BOUND_LIMIT:
        raise RangeProofError("bounds must satisfy -2^128 < a < b <= 2^128")
    if hi - lo > 1 << n:
        raise RangeProofError(f"interval [{lo}, {hi}) is wider than 2^{n}")


def interval_constraints(bounds: Sequence[tuple[int, int]], n: int) -> list[tuple[int, int, int]]:
    """The constraints of ``a_i ≤ v_i < b_i``: ``v - a ∈ [0, 2^n)`` and, unless
    ``b - a = 2^n`` (then it is implied), ``(b - 1) - v ∈ [0, 2^n)``."""
    out: list[tuple[int, int, int]] = []
    for i, (lo, hi) in enumerate(bounds):
        check_bounds((lo, hi), n)
        out.append((i, 1, -lo))
        if hi - lo < 1 << n:
            out.append((i, -1, hi - 1))
    return out


def intervals_statement(
    commitments: Sequence[Point],
    bounds: Sequence[tuple[int, int]],
    n: int,
    *,
    context: bytes = b"",
) -> RangeStatement:
    """Committed value ``i`` lies in ``[a_i, b_i)``, ``bounds[i] = (a_i, b_i)``.

    Instance: ``LE(n, 4) || LE(m, 4) || SerializeVarLenString(context) || V_1 || ... || V_m``
    followed by ``a_i mod q || b_i mod q`` (32-byte big-endian scalars) for every ``i``, under
    :data:`TAG_INTERVALS`.
    """
    _check_n(n)
    if len(bounds) != len(commitments):
        raise RangeProofError("one (a, b) pair per commitment")
    constraints = interval_constraints(bounds, n)
    m = len(commitments)
    instance = b"".join(
        [
            _instance_prefix(n, m, context),
            _encode_commitments(commitments),
            *(group.encode_scalar(lo % _Q) + group.encode_scalar(hi % _Q) for lo, hi in bounds),
        ]
    )
    return _checked_statement(TAG_INTERVALS, n, commitments, constraints, instance)


# --- proof object --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RangeProof:
    """A range proof: ``A, S, T1, T2, τx, μ, t̂, (L_j, R_j)_j, a, b``."""

    A: Point
    S: Point
    T1: Point
    T2: Point
    tau_x: int
    mu: int
    t_hat: int
    L: tuple[Point, ...]
    R: tuple[Point, ...]
    a: int
    b: int

    @property
    def rounds(self) -> int:
        return len(self.L)

    @property
    def num_elements(self) -> int:
        """Group elements plus scalars: ``2k + 9``."""
        return FIXED_POINTS + FIXED_SCALARS + len(self.L) + len(self.R)

    def encode(self) -> bytes:
        """``A || S || T1 || T2 || τx || μ || t̂ || L_1 || R_1 || ... || L_k || R_k || a || b``
        (48-byte compressed points, 32-byte big-endian scalars): the transcript order."""
        if len(self.L) != len(self.R):
            raise RangeProofError("as many L as R points")
        try:
            parts = [group.encode_point(p) for p in (self.A, self.S, self.T1, self.T2)]
            parts += [group.encode_scalar(s) for s in (self.tau_x, self.mu, self.t_hat)]
            for left, right in zip(self.L, self.R, strict=True):
                parts += [group.encode_point(left), group.encode_point(right)]
            parts += [group.encode_scalar(self.a), group.encode_scalar(self.b)]
        except group.GroupError as exc:
            raise RangeProofError(f"cannot encode proof: {exc}") from None
        return b"".join(parts)

    @classmethod
    def decode(cls, data: bytes) -> RangeProof:
        """Strict decoding: the length must be ``352 + 96k`` for ``3 ≤ k ≤ 24``; every point is
        fully validated (canonical, on the curve, in G1, not the identity) and every scalar
        canonical."""
        data = bytes(data)
        rounds, rest = divmod(len(data) - _FIXED_BYTES, _ROUND_BYTES)
        if len(data) < _FIXED_BYTES or rest or not 3 <= rounds <= MAX_ROUNDS:
            raise RangeProofError(
                f"a range proof is 352 + 96k bytes (3 <= k <= 24), got {len(data)}"
            )
        off = 0

        def point() -> Point:
            nonlocal off
            chunk = data[off : off + _PB]
            off += _PB
            try:
                return group.decode_point(chunk)
            except group.GroupError as exc:
                raise RangeProofError(f"invalid point at byte {off - _PB}: {exc}") from None

        def scalar() -> int:
            nonlocal off
            chunk = data[off : off + _SB]
            off += _SB
            try:
                return group.decode_scalar(chunk)
            except group.GroupError as exc:
                raise RangeProofError(f"invalid scalar at byte {off - _SB}: {exc}") from None

        A, S, T1, T2 = point(), point(), point(), point()
        tau_x, mu, t_hat = scalar(), scalar(), scalar()
        left: list[Point] = []
        right: list[Point] = []
        for _ in range(rounds):
            left.append(point())
            right.append(point())
        a, b = scalar(), scalar()
        assert off == len(data)
        return cls(A, S, T1, T2, tau_x, mu, t_hat, tuple(left), tuple(right), a, b)


def proof_size(n: int, m: int) -> int:
    """Bytes of a proof for ``m`` constraints of ``n`` bits: ``352 + 96·log2(n·m')``."""
    return _FIXED_BYTES + _ROUND_BYTES * ((n * _next_power_of_two(m)).bit_length() - 1)


def proof_elements(n: int, m: int) -> int:
    """Group elements plus scalars of such a proof: ``9 + 2·log2(n·m')``."""
    return FIXED_POINTS + FIXED_SCALARS + 2 * ((n * _next_power_of_two(m)).bit_length() - 1)


# --- prover --------------------------------------------------------------------------------


def _random_scalars(count: int) -> list[int]:
    """``count`` uniform scalars from 48 bytes of ``secrets`` output each (bias < 2^-128)."""
    raw = secrets.token_bytes(48 * count)
    return [int.from_bytes(raw[i : i + 48], "big") % _Q for i in range(0, 48 * count, 48)]


def _inner(xs: Sequence[int], ys: Sequence[int]) -> int:
    return sum(map(int.__mul__, xs, ys)) % _Q


def _workers_for(points: int, workers: int) -> int:
    return workers if points >= _PARALLEL_MIN else 1


def _check_workers(workers: int) -> None:
    if workers < 1:
        raise RangeProofError("at least one worker")


def _challenge(t: Transcript) -> int:
    c = t.challenge()
    if c == 0:  # probability 2^-254; the caller can prove again with fresh randomness
        raise RangeProofError("zero challenge")
    return c


def _absorb_points(t: Transcript, points: Sequence[Point]) -> None:
    try:
        t.absorb_points(points)
    except transcript.CodecError:  # the identity: probability about 2^-254 for an honest prover
        raise RangeProofError("degenerate prover message (identity point)") from None


def _scaled(
    values: Sequence[int], factor: int, weights: Sequence[int] | None, offset: int
) -> list[int]:
    """``values[i]·factor·weights[offset + i]`` (weights default to 1)."""
    q = _Q
    if weights is None:
        if factor == 1:
            return list(values)
        return [v * factor % q for v in values]
    w = weights[offset : offset + len(values)]
    if factor == 1:
        return [v * x % q for v, x in zip(values, w, strict=True)]
    return [v * x % q * factor % q for v, x in zip(values, w, strict=True)]


def _fold_bases(
    base: list[Point],
    weights: list[int] | None,
    coeffs: list[int],
    n: int,
    workers: int,
) -> list[Point]:
    """``B'[i] = Σ_t coeffs[t]·weights[i + t·n]·base[i + t·n]`` for ``i < n``: one small
    multi-scalar multiplication per new generator."""
    jobs: list[tuple[Sequence[Point], Sequence[int]]] = []
    q = _Q
    for i in range(n):
        column = base[i::n]
        if weights is None:
            jobs.append((column, coeffs))
        else:
            jobs.append((column, [c * w % q for c, w in zip(coeffs, weights[i::n], strict=True)]))
    return group.msm_many(jobs, _workers_for(len(base), workers))


def _ipa_prove(
    t: Transcript,
    g_vec: list[Point],
    h_vec: list[Point],
    h_weights: list[int],
    u: Point,
    u_scale: int,
    a: list[int],
    b: list[int],
    workers: int,
    fold_blocks: int = FOLD_BLOCKS,
) -> tuple[list[Point], list[Point], int, int]:
    """The inner-product argument (protocol 2) for
    ``P = <a, G> + <b, H'> + <a, b>·(u_scale·U)`` with ``H'_i = h_weights[i]·H_i``.

    Each round sends ``L = <a_lo, G_hi> + <b_hi, H_lo> + c_L·U'`` and
    ``R = <a_hi, G_lo> + <b_lo, H_hi> + c_R·U'``, receives ``x``, and folds
    ``a' = x·a_lo + x⁻¹·a_hi``, ``b' = x⁻¹·b_lo + x·b_hi``, ``G' = x⁻¹·G_lo + x·G_hi``,
    ``H' = x·H_lo + x⁻¹·H_hi``.

    The generators are not folded every round. The current generators are kept implicitly as
    ``G_cur[i] = Σ_t cg[t]·G_base[i + t·n]`` over a base vector that is ``T = len(cg)`` times
    longer, so L and R are multi-scalar multiplications over the base with challenge-product
    coefficients. When ``T`` reaches ``fold_blocks`` the base is replaced by the current
    generators, each computed as one ``T``-point multi-scalar multiplication. Folding every
    round instead costs one full scalar multiplication per generator and round; the measured
    comparison is in ``docs/bulletproofs.md``.
    """
    q = _Q
    n = len(a)
    g_base, h_base = g_vec, h_vec
    g_w: list[int] | None = None
    h_w: list[int] | None = h_weights
    cg: list[int] = [1]
    ch: list[int] = [1]
    lefts: list[Point] = []
    rights: list[Point] = []
    while n > 1:
        n2 = n // 2
        a_lo, a_hi, b_lo, b_hi = a[:n2], a[n2:], b[:n2], b[n2:]
        c_left = _inner(a_lo, b_hi)
        c_right = _inner(a_hi, b_lo)
        lp: list[Point] = []
        ls: list[int] = []
        rp: list[Point] = []
        rs: list[int] = []
        for blk, (fg, fh) in enumerate(zip(cg, ch, strict=True)):
            off = blk * n
            lp += g_base[off + n2 : off + n]
            ls += _scaled(a_lo, fg, g_w, off + n2)
            lp += h_base[off : off + n2]
            ls += _scaled(b_hi, fh, h_w, off)
            rp += g_base[off : off + n2]
            rs += _scaled(a_hi, fg, g_w, off)
            rp += h_base[off + n2 : off + n]
            rs += _scaled(b_lo, fh, h_w, off + n2)
        lp.append(u)
        ls.append(c_left * u_scale % q)
        rp.append(u)
        rs.append(c_right * u_scale % q)
        left, right = group.msm_many([(lp, ls), (rp, rs)], _workers_for(len(lp), workers))
        _absorb_points(t, [left, right])
        lefts.append(left)
        rights.append(right)
        x = _challenge(t)
        x_inv = pow(x, -1, q)
        a = [(lo * x + hi * x_inv) % q for lo, hi in zip(a_lo, a_hi, strict=True)]
        b = [(lo * x_inv + hi * x) % q for lo, hi in zip(b_lo, b_hi, strict=True)]
        cg = [c * f % q for c in cg for f in (x_inv, x)]
        ch = [c * f % q for c in ch for f in (x, x_inv)]
        n = n2
        if n > 1 and len(cg) >= fold_blocks:
            g_base = _fold_bases(g_base, g_w, cg, n, workers)
            h_base = _fold_bases(h_base, h_w, ch, n, workers)
            g_w = h_w = None
            cg, ch = [1], [1]
    return lefts, rights, a[0], b[0]


def _check_openings(
    statement: RangeStatement, values: Sequence[int], blindings: Sequence[int]
) -> list[tuple[int, int]]:
    """The (value, blinding) of every constraint's shifted commitment, after checking that the
    openings match the commitments and every constraint holds."""
    m = len(statement.commitments)
    if len(values) != m or len(blindings) != m:
        raise RangeProofError("one value and one blinding per commitment")
    for i, (v, r, c) in enumerate(zip(values, blindings, statement.commitments, strict=True)):
        if pedersen.commit(v, r) != c:
            raise RangeProofError(f"commitment {i} does not open to the given value")
    bound = 1 << statement.n
    out: list[tuple[int, int]] = []
    for idx, sign, offset in statement.constraints:
        d = (sign * values[idx] + offset) % _Q
        if d >= bound:
            raise RangeProofError(f"value {idx} is outside the range it is claimed to be in")
        out.append((d, sign * blindings[idx] % _Q))
    return out


def prove_statement(
    statement: RangeStatement,
    values: Sequence[int],
    blindings: Sequence[int],
    *,
    workers: int = DEFAULT_WORKERS,
    fold_blocks: int = FOLD_BLOCKS,
) -> RangeProof:
    """Prove ``statement`` with the openings ``(values[i], blindings[i])`` of its commitments.

    Raises :class:`RangeProofError` if an opening does not match or a value is out of range.
    """
    q = _Q
    _check_workers(workers)
    openings = _check_openings(statement, values, blindings)
    n = statement.n
    m_pad = statement.aggregate
    big_n = statement.size
    openings += [(0, 0)] * (m_pad - len(openings))  # padding: commitments to 0 with blinding 0
    g_vec, h_vec = vector_generators(big_n)
    g, h, u = pedersen.generator_g(), pedersen.generator_h(), generator_u()

    a_left = [(d >> k) & 1 for d, _ in openings for k in range(n)]
    alpha, rho, tau1, tau2 = (group.random_scalar() for _ in range(4))
    s_left = _random_scalars(big_n)
    s_right = _random_scalars(big_n)

    # A = α·H + <a_L, G> + <a_R, H_vec> with a_R = a_L - 1: two 0/1 multi-exponentiations.
    ones, zeros = group.msm_many(
        [(g_vec, a_left), (h_vec, [1 - bit for bit in a_left])],
        _workers_for(big_n, workers),
    )
    big_a = group.mul(h, alpha) + ones - zeros
    big_s = group.mul(h, rho) + group.msm_split(g_vec + h_vec, s_left + s_right, workers)

    t = Transcript.from_tag(statement.tag)
    t.absorb_instance(statement.instance)
    _absorb_points(t, [big_a, big_s])
    y = _challenge(t)
    z = _challenge(t)

    y_pows = [1] * big_n
    for i in range(1, big_n):
        y_pows[i] = y_pows[i - 1] * y % q
    z_pows = [z * z % q]  # z^(2+j) for constraint j
    for _ in range(1, m_pad):
        z_pows.append(z_pows[-1] * z % q)
    two_z = [zj << k for zj in z_pows for k in range(n)]  # z^(2+j)·2^k at index j·n + k

    # l(X) = l0 + l1·X, r(X) = r0 + r1·X (section 4.3)
    l0 = [(bit - z) % q for bit in a_left]
    l1 = s_left
    r0 = [(yp * (bit - 1 + z) + tz) % q for yp, bit, tz in zip(y_pows, a_left, two_z, strict=True)]
    r1 = [yp * s % q for yp, s in zip(y_pows, s_right, strict=True)]
    t1 = (_inner(l0, r1) + _inner(l1, r0)) % q
    t2 = _inner(l1, r1)
    big_t1 = group.msm([g, h], [t1, tau1])
    big_t2 = group.msm([g, h], [t2, tau2])
    _absorb_points(t, [big_t1, big_t2])
    x = _challenge(t)

    lx = [(c + x * s) % q for c, s in zip(l0, l1, strict=True)]
    rx = [(c + x * s) % q for c, s in zip(r0, r1, strict=True)]
    t_hat = _inner(lx, rx)
    gamma_term = sum(zj * gamma for zj, (_, gamma) in zip(z_pows, openings, strict=True))
    tau_x = (tau2 * x % q * x + tau1 * x + gamma_term) % q
    mu = (alpha + rho * x) % q
    t.absorb_scalars([tau_x, mu, t_hat])
    w = _challenge(t)

    y_inv = pow(y, -1, q)
    h_weights = [1] * big_n
    for i in range(1, big_n):
        h_weights[i] = h_weights[i - 1] * y_inv % q
    lefts, rights, a_fin, b_fin = _ipa_prove(
        t, g_vec, h_vec, h_weights, u, w, lx, rx, workers, fold_blocks
    )
    return RangeProof(
        big_a, big_s, big_t1, big_t2, tau_x, mu, t_hat, tuple(lefts), tuple(rights), a_fin, b_fin
    )


def prove_many(
    jobs: Sequence[tuple[RangeStatement, Sequence[int], Sequence[int]]],
    *,
    workers: int = DEFAULT_WORKERS,
) -> list[RangeProof]:
    """:func:`prove_statement` of every ``(statement, values, blindings)``, in order.

    The proofs are independent, so with ``workers > 1`` that many of them run at once in
    threads, largest first, each with ``workers`` threads of its own for its multi-scalar
    multiplications: while one proof holds the interpreter lock for its scalar arithmetic,
    another's multiplications keep the cores busy (one proof alone leaves about an eighth of
    the second core idle). A failing job raises its :class:`RangeProofError` once all are done.
    """
    _check_workers(workers)
    if workers == 1 or len(jobs) < 2:
        return [prove_statement(st, v, r, workers=workers) for st, v, r in jobs]
    order = sorted(range(len(jobs)), key=lambda i: -jobs[i][0].size)
    with ThreadPoolExecutor(max_workers=min(workers, len(jobs))) as pool:
        futures = {
            i: pool.submit(prove_statement, jobs[i][0], jobs[i][1], jobs[i][2], workers=workers)
            for i in order
        }
    return [futures[i].result() for i in range(len(jobs))]


def _commitments_for(
    values: Sequence[int], blindings: Sequence[int], commitments: Sequence[Point] | None
) -> Sequence[Point]:
    if len(values) != len(blindings):
        raise RangeProofError("one blinding per value")
    if commitments is None:
        return [pedersen.commit(v, r) for v, r in zip(values, blindings, strict=True)]
    return commitments


def prove(
    values: Sequence[int],
    blindings: Sequence[int],
    n: int,
    *,
    context: bytes = b"",
    commitments: Sequence[Point] | None = None,
    workers: int = DEFAULT_WORKERS,
) -> RangeProof:
    """Prove that ``pedersen.commit(values[i], blindings[i])`` holds a value in ``[0, 2^n)``.

    ``commitments`` (checked against the openings) saves recomputing them; the verifier needs
    them, in the same order, with the same ``n`` and ``context``.
    """
    commitments = _commitments_for(values, blindings, commitments)
    statement = values_statement(commitments, n, context=context)
    return prove_statement(statement, values, blindings, workers=workers)


# --- verifier ------------------------------------------------------------------------------


@dataclass(slots=True)
class _Equation:
    """One proof's verification equation ``Σ scalar·point = 0``, split into the coefficients of
    the shared bases (vector generators, G, H, U) and of the proof's own points."""

    g_vec: list[int]
    h_vec: list[int]
    g: int
    h: int
    u: int
    points: list[Point]
    scalars: list[int]


def _replay(statement: RangeStatement, proof: RangeProof) -> list[int] | None:
    """The challenges ``y, z, x, w, x_1..x_k`` (``None`` if a message is degenerate)."""
    t = Transcript.from_tag(statement.tag)
    t.absorb_instance(statement.instance)
    try:
        t.absorb_points([proof.A, proof.S])
        out = [t.challenge(), t.challenge()]
        t.absorb_points([proof.T1, proof.T2])
        out.append(t.challenge())
        t.absorb_scalars([proof.tau_x, proof.mu, proof.t_hat])
        out.append(t.challenge())
        for left, right in zip(proof.L, proof.R, strict=True):
            t.absorb_points([left, right])
            out.append(t.challenge())
    except transcript.CodecError:
        return None
    return None if 0 in out else out


def _equation(
    statement: RangeStatement, proof: RangeProof, weight_ipa: int, weight_poly: int
) -> _Equation | None:
    """The proof's checks as one linear combination that is zero iff (with overwhelming
    probability over the weights) both hold:

    * ``weight_poly · (t̂·G + τx·H - Σ_j z^(2+j)·D_j - δ(y,z)·G - x·T1 - x²·T2)``;
    * ``weight_ipa · (A + x·S - z·<1, G_vec> + <z·y^N + ζ, H'> - μ·H + w·t̂·U
      + Σ_j (x_j²·L_j + x_j⁻²·R_j) - <a·s, G_vec> - <b·s⁻¹, H'> - a·b·w·U)``

    with ``H'_i = y^-i·H_i``, ``ζ`` the vector ``z^(2+j)·2^k`` at index ``j·n + k``, and
    ``s_i = Π_j x_j^(±1)`` (``+`` where bit ``k - j`` of ``i`` is set).
    """
    q = _Q
    k = statement.rounds
    if len(proof.L) != k or len(proof.R) != k:
        return None
    if not all(0 <= v < q for v in (proof.tau_x, proof.mu, proof.t_hat, proof.a, proof.b)):
        return None
    ch = _replay(statement, proof)
    if ch is None:
        return None
    y, z, x, w = ch[:4]
    xs = ch[4:]
    n = statement.n
    m_pad = statement.aggregate
    big_n = statement.size
    inverses = group.batch_invert([y, *xs])
    y_inv, xs_inv = inverses[0], inverses[1:]

    # s_i, first round's challenge at the most significant bit of i
    s_first = 1
    for xi in xs_inv:
        s_first = s_first * xi % q
    s = [s_first]
    for xj in xs:
        sq = xj * xj % q
        nxt = [0] * (2 * len(s))
        nxt[0::2] = s
        nxt[1::2] = [v * sq % q for v in s]
        s = nxt
    # s_i⁻¹ = s_(N-1-i): the complement index flips every exponent

    y_inv_pows = [1] * big_n
    for i in range(1, big_n):
        y_inv_pows[i] = y_inv_pows[i - 1] * y_inv % q
    sum_y = sum(y_inv_pows) % q * pow(y, big_n - 1, q) % q  # Σ_{i<N} y^i
    z_pows = [z * z % q]
    for _ in range(1, m_pad):
        z_pows.append(z_pows[-1] * z % q)
    delta = ((z - z * z) * sum_y - ((1 << n) - 1) * z * sum(z_pows)) % q

    a, b = proof.a, proof.b
    w1 = weight_ipa
    neg_z = -z % q
    g_coef = [(neg_z - a * v) * w1 % q for v in s]
    zeta = [zj << kk for zj in z_pows for kk in range(n)]
    h_coef = [
        (z + yi * (zt - b * sv)) * w1 % q
        for yi, zt, sv in zip(y_inv_pows, zeta, reversed(s), strict=True)
    ]

    w2 = weight_poly
    commit_coef = [0] * len(statement.commitments)
    g_shift = 0
    for zj, (idx, sign, offset) in zip(z_pows, statement.constraints, strict=False):
        commit_coef[idx] += zj * sign
        g_shift += zj * offset
    coef_g = w2 * (proof.t_hat - delta - g_shift) % q
    coef_h = (w2 * proof.tau_x - w1 * proof.mu) % q
    coef_u = w1 * w % q * (proof.t_hat - a * b) % q

    points: list[Point] = [proof.A, proof.S, proof.T1, proof.T2]
    scalars: list[int] = [w1, w1 * x % q, -w2 * x % q, -w2 * x % q * x % q]
    for xj, xj_inv, left, right in zip(xs, xs_inv, proof.L, proof.R, strict=True):
        points += [left, right]
        scalars += [w1 * xj % q * xj % q, w1 * xj_inv % q * xj_inv % q]
    for c, coef in zip(statement.commitments, commit_coef, strict=True):
        if coef % q:
            points.append(c)
            scalars.append(-w2 * coef % q)
    return _Equation(g_coef, h_coef, coef_g, coef_h, coef_u, points, scalars)


def _as_proof(proof: RangeProof | bytes) -> RangeProof | None:
    if isinstance(proof, RangeProof):
        return proof
    try:
        return RangeProof.decode(proof)
    except RangeProofError:
        return None


def _check_equations(equations: Sequence[_Equation], workers: int) -> bool:
    """Sum the equations and evaluate them with one multi-scalar multiplication."""
    q = _Q
    size = max(len(e.g_vec) for e in equations)
    if len(equations) == 1:
        g_all, h_all = equations[0].g_vec, equations[0].h_vec
    else:
        g_all = [0] * size
        h_all = [0] * size
        for e in equations:
            for i, v in enumerate(e.g_vec):
                g_all[i] += v
            for i, v in enumerate(e.h_vec):
                h_all[i] += v
    g_vec, h_vec = vector_generators(size)
    points: list[Point] = [*g_vec, *h_vec, pedersen.generator_g(), pedersen.generator_h()]
    points.append(generator_u())
    scalars: list[int] = [*g_all, *h_all]
    scalars += [sum(e.g for e in equations) % q, sum(e.h for e in equations) % q]
    scalars.append(sum(e.u for e in equations) % q)
    for e in equations:
        points += e.points
        scalars += e.scalars
    return group.is_identity(group.msm_split(points, scalars, workers))


def verify_statement(
    statement: RangeStatement, proof: RangeProof | bytes, *, workers: int = DEFAULT_WORKERS
) -> bool:
    """Verify a proof of ``statement`` with one multi-scalar multiplication of
    ``2N + 2k + m + 7`` points (``workers`` threads compute parts of it)."""
    _check_workers(workers)
    parsed = _as_proof(proof)
    if parsed is None:
        return False
    eq = _equation(statement, parsed, 1, group.random_scalar())
    return eq is not None and _check_equations([eq], workers)


def batch_verify(
    items: Iterable[tuple[RangeStatement, RangeProof | bytes]], *, workers: int = DEFAULT_WORKERS
) -> bool:
    """Verify several proofs (any sizes, any statements) at once: each proof's equation gets
    two random weights and the sum is checked with one multi-scalar multiplication. ``True``
    only if every proof is valid (with probability ``1 - 2^-250``); an empty batch is valid."""
    _check_workers(workers)
    equations: list[_Equation] = []
    for statement, proof in items:
        parsed = _as_proof(proof)
        if parsed is None:
            return False
        eq = _equation(statement, parsed, group.random_scalar(), group.random_scalar())
        if eq is None:
            return False
        equations.append(eq)
    return not equations or _check_equations(equations, workers)


def verify(
    commitments: Sequence[Point],
    n: int,
    proof: RangeProof | bytes,
    *,
    context: bytes = b"",
    workers: int = DEFAULT_WORKERS,
) -> bool:
    """Verify that every commitment holds a value in ``[0, 2^n)``."""
    statement = values_statement(commitments, n, context=context)
    return verify_statement(statement, proof, workers=workers)


# --- intervals [a, b) ----------------------------------------------------------------------


def prove_ranges(
    values: Sequence[int],
    blindings: Sequence[int],
    bounds: Sequence[tuple[int, int]],
    n: int,
    *,
    context: bytes = b"",
    commitments: Sequence[Point] | None = None,
    workers: int = DEFAULT_WORKERS,
) -> RangeProof:
    """Prove ``bounds[i][0] ≤ values[i] < bounds[i][1]`` for the commitments
    ``pedersen.commit(values[i], blindings[i])``; every interval is at most ``2^n`` wide.

    Each value contributes the constraint ``v - a ∈ [0, 2^n)`` and, unless ``b - a = 2^n``,
    ``(b - 1) - v ∈ [0, 2^n)``; all constraints are aggregated into one proof.
    """
    commitments = _commitments_for(values, blindings, commitments)
    statement = intervals_statement(commitments, bounds, n, context=context)
    return prove_statement(statement, values, blindings, workers=workers)


def verify_ranges(
    commitments: Sequence[Point],
    bounds: Sequence[tuple[int, int]],
    n: int,
    proof: RangeProof | bytes,
    *,
    context: bytes = b"",
    workers: int = DEFAULT_WORKERS,
) -> bool:
    """Verify a :func:`prove_ranges` proof."""
    statement = intervals_statement(commitments, bounds, n, context=context)
    return verify_statement(statement, proof, workers=workers)


# --- many values: power-of-two chunks ------------------------------------------------------

#: Chunk unit of :func:`chunked_values_statements`, in constraints.
CHUNK_GRANULE: Final = 32
_CHUNK_TAG: Final = b"/chunk/"


def chunk_sizes(m: int) -> list[int]:
    """The constraints per chunk of an ``m``-value statement, largest first.

    One aggregated proof pads ``m`` to a power of two ``m'``: 2976 quarter hours become 4096,
    and prover and verifier pay for the padding (the verifier's MSM has ``2·n·m'`` generators).
    Split instead by the binary digits of ``⌈m / CHUNK_GRANULE⌉``, each chunk is a power of two
    times the granule and only the last one pads (by less than the granule): 2976 = 2048 + 512 +
    256 + 128 + 32. Every chunk uses the same vector generators from index 0, so a batch of the
    chunks costs the verifier one MSM the size of the largest chunk (2048 values instead of 4096).
    At most ``log2(m / CHUNK_GRANULE) + 1`` chunks; ``m ≤ CHUNK_GRANULE`` is one chunk."""
    if m <= CHUNK_GRANULE:
        return [m]
    units = -(-m // CHUNK_GRANULE)
    sizes = [CHUNK_GRANULE << b for b in reversed(range(units.bit_length())) if units >> b & 1]
    sizes[-1] -= units * CHUNK_GRANULE - m
    return sizes


def chunk_context(context: bytes, index: int, count: int) -> bytes:
    """The context of chunk ``index`` of ``count``: ``context || "/chunk/" || BE16(index) ||
    BE16(count)``, so a chunk's proof answers only for its own place in its own split."""
    return context + _CHUNK_TAG + index.to_bytes(2, "big") + count.to_bytes(2, "big")


def chunked_values_statements(
    commitments: Sequence[Point], n: int, *, context: bytes = b""
) -> list[RangeStatement]:
    """``every value in [0, 2^n)`` as one :func:`values_statement` per chunk of
    :func:`chunk_sizes`, in order, each under its :func:`chunk_context`."""
    sizes = chunk_sizes(len(commitments))
    out: list[RangeStatement] = []
    start = 0
    for i, size in enumerate(sizes):
        ctx = chunk_context(context, i, len(sizes))
        out.append(values_statement(commitments[start : start + size], n, context=ctx))
        start += size
    return out


def prove_chunked_values(
    values: Sequence[int],
    blindings: Sequence[int],
    n: int,
    *,
    context: bytes = b"",
    commitments: Sequence[Point] | None = None,
    workers: int = DEFAULT_WORKERS,
) -> bytes:
    """Prove every ``pedersen.commit(values[i], blindings[i])`` holds a value in ``[0, 2^n)``,
    chunk by chunk (:func:`chunk_sizes`): the encoded proofs of the chunks, concatenated."""
    job = ChunkedValues(values, blindings, n, context, commitments)
    return prove_chunked_many([job], workers=workers)[0]


@dataclass(frozen=True, slots=True)
class ChunkedValues:
    """One :func:`prove_chunked_values` call's arguments, for :func:`prove_chunked_many`."""

    values: Sequence[int]
    blindings: Sequence[int]
    n: int
    context: bytes = b""
    commitments: Sequence[Point] | None = None


def prove_chunked_many(
    jobs: Sequence[ChunkedValues], *, workers: int = DEFAULT_WORKERS
) -> list[bytes]:
    """:func:`prove_chunked_values` of every job, their chunks proven together by
    :func:`prove_many` (so a bill's several statements share the cores)."""
    flat: list[tuple[RangeStatement, Sequence[int], Sequence[int]]] = []
    counts: list[int] = []
    for job in jobs:
        commitments = _commitments_for(job.values, job.blindings, job.commitments)
        statements = chunked_values_statements(commitments, job.n, context=job.context)
        start = 0
        for st in statements:
            end = start + len(st.commitments)
            flat.append((st, job.values[start:end], job.blindings[start:end]))
            start = end
        counts.append(len(statements))
    proofs = prove_many(flat, workers=workers)
    out: list[bytes] = []
    start = 0
    for count in counts:
        out.append(b"".join(p.encode() for p in proofs[start : start + count]))
        start += count
    return out


def split_chunked_proof(statements: Sequence[RangeStatement], data: bytes) -> list[bytes] | None:
    """The chunks' encoded proofs, cut from ``data`` at the lengths their statements fix
    (``None`` unless ``data`` is exactly that long: nothing missing, nothing appended)."""
    sizes = [proof_size(st.n, len(st.constraints)) for st in statements]
    if len(data) != sum(sizes):
        return None
    out: list[bytes] = []
    start = 0
    for size in sizes:
        out.append(bytes(data[start : start + size]))
        start += size
    return out


def verify_chunked_values(
    commitments: Sequence[Point],
    n: int,
    proof: bytes,
    *,
    context: bytes = b"",
    workers: int = DEFAULT_WORKERS,
) -> bool:
    """Verify a :func:`prove_chunked_values` proof: its chunks as one batch."""
    statements = chunked_values_statements(commitments, n, context=context)
    parts = split_chunked_proof(statements, proof)
    if parts is None:
        return False
    return batch_verify(zip(statements, parts, strict=True), workers=workers)
