"""Polynomial (spline) charge on bands of each interval's consumption, the consumption hidden;
also the engine of the block charge (:mod:`privbill.billing.block`, the degree-1 case).

Statement. Interval ``i`` has the commitment ``C_i = c_i·G + r_i·H`` (all meters added). Band
``b`` is ``[l_b, u_b)`` with fee polynomial ``f_b(c) = Σ_k a_{b,k}·c^k`` (degree ``d ≤ 3``); the
interval's fee is ``f_b(c_i)`` for the band containing ``c_i``. The verifier learns only a
commitment to ``Σ_i f_{b(i)}(c_i)``.

Proof, per interval (``docs/interval_components.md`` has the soundness argument):

* powers (``d ≥ 2``): ``S_i`` (and ``K_i``) commit to ``c²`` (and ``c³``), with one Sigma proof
  of ``C = v·G + r·H``, ``S = v·C + ρ₂·H`` (and ``K = v·S + ρ₃·H``): the product statement of
  :mod:`privbill.crypto.gadgets` chained from ``C_i`` with the witness ``v`` shared;
* band (when the bands' fees differ, or there is a cap): ``F_i`` commits to the fee and ``Lo_i`` /
  ``Hi_i`` to the band's bounds (only those the table needs, :func:`band_table`), and a CDS OR
  over the bands whose clause ``b`` is the linear relation
  ``X_b = F − a_{b,0}·G − Σ_k a_{b,k}·P_k + ζ·(Lo − l_b·G) + ζ'·(Hi − u_b·G) = w·H``
  (``P = (C, S, K)``; ``ζ, ζ'`` the powers of a challenge drawn after ``F, Lo, Hi, S, K``);
* one aggregated range proof for all intervals: ``C − Lo ∈ [0, 2^n)``, ``Hi − G − C ∈ [0, 2^n)``.

The fee commitment is ``Σ F_i`` (or, without a band proof, ``Σ_k a_k·Σ_i P_{i,k}``).

Each interval's band proof and power proof have their own Fiat–Shamir transcripts (a statement
digest, the interval's index, the proof's label and ``C_i ‖ S_i ‖ K_i`` absorbed first), so a
change to one interval fails that interval only, and a change to its band proof does not fail
its power proof. The Sigma proofs
are sent in batchable form (their commitments ``T``); the verifier re-derives every challenge by
hashing and checks every equation of every interval with independent 128-bit weights in one
multi-scalar multiplication, then, only if that fails, interval by interval to name the culprit.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

from privbill.billing.bands import BandTable, band_table
from privbill.crypto import bulletproofs, group, pedersen, sigma, transcript
from privbill.crypto.group import Point
from privbill.crypto.hashing import digest
from privbill.crypto.transcript import CodecError, Transcript
from privbill.errors import ComponentProofError, DecodeError, UsageError
from privbill.model.interval_components import (
    PROOF_OBJ,
    IntervalProof,
    PolynomialCharge,
    PolynomialProof,
)

#: Flavor marker of the transcript tag (batchable CDS OR and Sigma proofs).
MARKER: Final = "BCDS"
#: Labels of an interval's two proofs in their transcripts.
BAND_LABEL: Final = b"band"
POWERS_LABEL: Final = b"powr"
PB: Final = group.POINT_BYTES
SB: Final = group.SCALAR_BYTES
_Q: Final = group.ORDER


def _random() -> int:
    return group.random_scalar()


def _weight() -> int:
    return secrets.randbits(128)


# --- shapes --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Layout:
    """What every interval of a component's proof carries."""

    table: BandTable

    @property
    def powers(self) -> int:
        """Power commitments per interval (``c²``, ``c³``)."""
        return max(0, self.table.degree - 1)

    @property
    def power_equations(self) -> int:
        return self.table.degree if self.table.degree >= 2 else 0

    @property
    def fields(self) -> frozenset[str]:
        out: set[str] = set()
        if self.table.band_proof:
            out |= {"fee", "band"}
            if self.table.lower_check:
                out.add("lower")
            if self.table.upper_check:
                out.add("upper")
        if self.powers:
            out |= {"powers", "power_proof"}
        return frozenset(out)

    @property
    def band_bytes(self) -> int:
        b = self.table.bands
        return b * PB + (b - 1) * SB + b * SB

    @property
    def power_proof_bytes(self) -> int:
        d = self.power_equations
        return d * PB + (d + 1) * SB

    def interval_bytes(self) -> int:
        """Proof bytes per interval (without the encoding's framing)."""
        n = 0
        if self.table.band_proof:
            n += (1 + self.table.checks) * PB + self.band_bytes
        if self.powers:
            n += self.powers * PB + self.power_proof_bytes
        return n


def _session(kind: str, context: bytes) -> bytes:
    tag = sigma.application_tag(f"interval-charge/{kind}", MARKER, context)
    return transcript.derive_session_id(tag)


def statement_digest(kind: str, table: BandTable, count: int, context: bytes) -> bytes:
    """Everything public about the statement except the commitments, hashed once."""
    rows = b"".join(
        lo.to_bytes(8, "big")
        + up.to_bytes(8, "big")
        + b"".join(a.to_bytes(16, "big", signed=True) for a in poly)
        for lo, up, poly in zip(table.lowers, table.uppers, table.polys, strict=True)
    )
    flags = bytes([table.bits, table.degree, table.lower_check, table.upper_check])
    return digest(
        "interval-charge-statement",
        kind.encode(),
        context,
        flags,
        count.to_bytes(4, "big"),
        rows,
    )


def _transcript(session: bytes, prefix: bytes, i: int, label: bytes, points: bytes) -> Transcript:
    """Interval ``i``'s transcript of the band proof or the power proof: the statement digest,
    the index, the proof's label and the interval's commitments ``C ‖ S ‖ K``."""
    t = Transcript(session)
    t.absorb_instance(prefix + transcript.le(i, 4) + label + points)
    return t


def _zetas(table: BandTable, zeta: int) -> tuple[int, int]:
    """Multipliers of the lower- and upper-bound equations in the combined clause (0: absent)."""
    lo = zeta if table.lower_check else 0
    up = (zeta * zeta % _Q if table.lower_check else zeta) if table.upper_check else 0
    return lo, up


def _enc(p: Point) -> bytes:
    return group.encode_point(p)


def _scalars(values: Sequence[int]) -> bytes:
    return b"".join(group.encode_scalar(v % _Q) for v in values)


# --- prover --------------------------------------------------------------------------------


def prove_bands(
    kind: str,
    table: BandTable,
    values: Sequence[int],
    blindings: Sequence[int],
    context: bytes,
    points: Sequence[Point] | None = None,
) -> tuple[tuple[IntervalProof, ...], bytes, int, int]:
    """``(interval proofs, range proof, fee, fee blinding)`` for the consumption ``values``
    committed with ``blindings`` (``points``, if given, are those commitments)."""
    n = len(values)
    if len(blindings) != n or (points is not None and len(points) != n):
        raise UsageError("one blinding (and commitment) per value", obj="polynomial charge")
    pedersen.precompute()
    layout = Layout(table)
    degree, bands = table.degree, table.bands
    need_band, n_pow = table.band_proof, layout.powers
    checks = table.lower_check or table.upper_check
    if not need_band and not n_pow:  # one fee polynomial of degree ≤ 1: Σ a_0 + a_1·c_i
        poly = (*table.polys[0], 0)
        fee = poly[0] * n + poly[1] * sum(values)
        return (), b"", fee, poly[1] * sum(blindings) % _Q
    session = _session(kind, context)
    prefix = statement_digest(kind, table, n, context)
    out: list[IntervalProof] = []
    range_values: list[int] = []
    range_blinds: list[int] = []
    fee_total, blind_total = 0, 0
    for i, (c, r) in enumerate(zip(values, blindings, strict=True)):
        r %= _Q
        if checks and c >= table.ceiling:
            raise ComponentProofError(
                f"an interval of {c} Wh is beyond what the tariff's {table.bits}-bit band proof "
                f"covers (below {table.ceiling} Wh)",
                obj="readings",
                field=f"values[{i}]",
            )
        # openings of P = (C, S, K)
        pv = [c, c * c, c * c * c][:degree]
        pr = ([r] + [_random() for _ in range(n_pow)])[:degree]
        b = table.band_of(c)
        fee = sum(a * v for a, v in zip(table.polys[b][1:], pv, strict=True)) + table.polys[b][0]
        c_bytes = _enc(points[i]) if points is not None else pedersen.commit_bytes(c, r)
        power_points = [pedersen.commit(v, s) for v, s in zip(pv[1:], pr[1:], strict=True)]
        powers = b"".join(_enc(p) for p in power_points)
        statement = c_bytes + powers
        # powers: witness (v, r, ρ₂ = s₂ − c·r, ρ₃ = s₃ − c·s₂); T_1 = k_v·G + k_r·H and
        # T_k = k_v·P_{k-1} + k_k·H
        power_proof = None
        if n_pow:
            pw_k = [_random() for _ in range(degree + 1)]
            pw_w = [c, r] + [(pr[k] - c * pr[k - 1]) for k in range(1, degree)]
            pw_t = [pedersen.commit_bytes(pw_k[0], pw_k[1])]
            for k in range(1, degree):
                pw_t.append(
                    pedersen.commit_bytes(pw_k[0] * pv[k - 1], pw_k[0] * pr[k - 1] + pw_k[k + 1])
                )
            t = _transcript(session, prefix, i, POWERS_LABEL, statement)
            t.absorb_bytes(b"".join(pw_t))
            e = t.challenge()
            zs = [(k + e * w) % _Q for k, w in zip(pw_k, pw_w, strict=True)]
            power_proof = b"".join(pw_t) + _scalars(zs)
        fee_bytes = lo_bytes = hi_bytes = band = None
        if need_band:
            fee_b, lo_b, hi_b = _random(), _random(), _random()
            fee_bytes = pedersen.commit_bytes(fee, fee_b)
            first = fee_bytes
            if table.lower_check:
                lo_bytes = pedersen.commit_bytes(table.lowers[b], lo_b)
                first += lo_bytes
                range_values.append(c - table.lowers[b])
                range_blinds.append((r - lo_b) % _Q)
            if table.upper_check:
                hi_bytes = pedersen.commit_bytes(table.uppers[b], hi_b)
                first += hi_bytes
                range_values.append(table.uppers[b] - 1 - c)
                range_blinds.append((hi_b - r) % _Q)
            t = _transcript(session, prefix, i, BAND_LABEL, statement)
            t.absorb_bytes(first)
            z_lo, z_up = _zetas(table, t.challenge())
            # clause j's image X_j has the opening (v_j, w_j); the real clause has v_b = 0
            or_t: list[bytes] = []
            pre: list[int] = []
            nonces: list[int] = []
            opens_w: list[int] = []
            for j in range(bands):
                poly = table.polys[j]
                v_j = (
                    fee
                    - poly[0]
                    - sum(a * v for a, v in zip(poly[1:], pv, strict=True))
                    + z_lo * (table.lowers[b] - table.lowers[j])
                    + z_up * (table.uppers[b] - table.uppers[j])
                )
                w_j = (
                    fee_b
                    - sum(a * s for a, s in zip(poly[1:], pr, strict=True))
                    + z_lo * lo_b
                    + z_up * hi_b
                )
                e_j = _random() * (j != b)
                k_j = _random()
                or_t.append(pedersen.commit_bytes(-e_j * v_j, k_j))
                pre.append(e_j)
                nonces.append(k_j)
                opens_w.append(w_j)
            t.absorb_bytes(b"".join(or_t))
            e = t.challenge()
            challenges = [(e - sum(pre) + p) % _Q if j == b else p for j, p in enumerate(pre)]
            responses = [
                (k + cj * w) % _Q for k, cj, w in zip(nonces, challenges, opens_w, strict=True)
            ]
            band = b"".join(or_t) + _scalars(challenges[:-1]) + _scalars(responses)
            fee_total += fee
            blind_total += fee_b
        else:
            fee_total += fee
            blind_total += sum(a * s for a, s in zip(table.polys[0][1:], pr, strict=True))
        out.append(
            IntervalProof(
                fee=fee_bytes,
                lower=lo_bytes,
                upper=hi_bytes,
                band=band,
                powers=powers or None,
                power_proof=power_proof,
            )
        )
    ranges = b""
    if range_values:
        ranges = bulletproofs.prove(
            range_values, range_blinds, table.bits, context=context
        ).encode()
    return tuple(out), ranges, fee_total, blind_total % _Q


# --- verifier ------------------------------------------------------------------------------


@dataclass(slots=True)
class _Check:
    """One interval's equations ``Σ scalar·point + g·G + h·H = 0`` (already weighted)."""

    bases: list[Point]
    scalars: list[int]
    g: int
    h: int
    where: str

    def holds(self) -> bool:
        pts = [*self.bases, pedersen.generator_g(), pedersen.generator_h()]
        return group.is_identity(group.msm(pts, [*self.scalars, self.g, self.h]))


def _point(data: bytes, where: str) -> Point:
    try:
        return group.decode_point(data)
    except group.GroupError as exc:
        raise DecodeError(str(exc), obj=PROOF_OBJ, field=where) from None


def _split(data: bytes, n_points: int, n_scalars: int, where: str) -> tuple[list[Point], list[int]]:
    if len(data) != n_points * PB + n_scalars * SB:
        raise DecodeError(
            f"expected {n_points * PB + n_scalars * SB} bytes, got {len(data)}",
            obj=PROOF_OBJ,
            field=where,
        )
    try:
        pts = group.decode_points(data[: n_points * PB], n_points)
        scs = transcript.decode_scalars(data[n_points * PB :], n_scalars)
    except (group.GroupError, CodecError) as exc:
        raise DecodeError(str(exc), obj=PROOF_OBJ, field=where) from None
    return pts, scs


def verify_bands(
    kind: str,
    table: BandTable,
    points: Sequence[Point],
    context: bytes,
    intervals: Sequence[IntervalProof],
    ranges: bytes,
    path: str,
) -> Point:
    """The fee commitment of a block or polynomial charge, or a typed error naming what fails."""
    n = len(points)
    layout = Layout(table)
    degree, bands = table.degree, table.bands
    need_band, n_pow = table.band_proof, layout.powers
    checks = table.lower_check or table.upper_check
    g, h = pedersen.generator_g(), pedersen.generator_h()
    if not need_band and not n_pow:
        if intervals:
            raise DecodeError(
                "this charge needs no per-interval proof", obj=PROOF_OBJ, field=f"{path}.intervals"
            )
        if ranges:
            raise DecodeError(
                "this charge needs no range proof", obj=PROOF_OBJ, field=f"{path}.ranges"
            )
        poly = table.polys[0]
        parts = [group.mul(g, poly[0] * n)] if poly[0] and n else []
        if degree and poly[1]:
            parts.append(group.mul(group.point_sum(points), poly[1]))
        return group.point_sum(parts)
    if len(intervals) != n:
        raise DecodeError(
            f"expected {n} interval proofs, got {len(intervals)}",
            obj=PROOF_OBJ,
            field=f"{path}.intervals",
        )
    expected = layout.fields
    if not checks and ranges:
        raise DecodeError("this charge needs no range proof", obj=PROOF_OBJ, field=f"{path}.ranges")
    session = _session(kind, context)
    prefix = statement_digest(kind, table, n, context)
    band_checks: list[_Check] = []
    power_checks: list[_Check] = []
    fees: list[Point] = []
    power_points: list[list[Point]] = []
    diffs: list[Point] = []
    for i, (c_point, ip) in enumerate(zip(points, intervals, strict=True)):
        where = f"{path}.intervals[{i}]"
        present = ip.present()
        if present != expected:
            missing = sorted(expected - present)
            extra = sorted(present - expected)
            name = missing[0] if missing else extra[0]
            raise DecodeError(
                "missing field" if missing else "this charge carries no such field",
                obj=PROOF_OBJ,
                field=f"{where}.{name}",
            )
        pw_pts: list[Point] = []
        if n_pow:
            assert ip.powers is not None
            if len(ip.powers) != n_pow * PB:
                raise DecodeError(
                    f"expected {n_pow} commitments", obj=PROOF_OBJ, field=f"{where}.powers"
                )
            try:
                pw_pts = group.decode_points(ip.powers, n_pow)
            except group.GroupError as exc:
                raise DecodeError(str(exc), obj=PROOF_OBJ, field=f"{where}.powers") from None
        statement = _enc(c_point) + (ip.powers or b"")
        f_pt = lo_pt = hi_pt = None
        if need_band:
            assert ip.fee is not None and ip.band is not None
            f_pt = _point(ip.fee, f"{where}.fee")
            first = ip.fee
            if ip.lower is not None:
                lo_pt = _point(ip.lower, f"{where}.lower")
                first += ip.lower
                diffs.append(c_point - lo_pt)
            if ip.upper is not None:
                hi_pt = _point(ip.upper, f"{where}.upper")
                first += ip.upper
                diffs.append(hi_pt - g - c_point)
            or_ts, scs = _split(ip.band, bands, 2 * bands - 1, f"{where}.band")
            t = _transcript(session, prefix, i, BAND_LABEL, statement)
            t.absorb_bytes(first)
            z_lo, z_up = _zetas(table, t.challenge())
            t.absorb_bytes(ip.band[: bands * PB])
            e = t.challenge()
        if n_pow:
            assert ip.power_proof is not None
            d = layout.power_equations
            pw_ts, pw_z = _split(ip.power_proof, d, d + 1, f"{where}.power_proof")
            t = _transcript(session, prefix, i, POWERS_LABEL, statement)
            t.absorb_bytes(ip.power_proof[: d * PB])
            e_pow = t.challenge()
        base_p = [c_point, *pw_pts][:degree]
        if need_band:
            assert f_pt is not None
            cs = scs[: bands - 1]
            cs.append((e - sum(cs)) % _Q)
            zs = scs[bands - 1 :]
            coef_f, coef_lo, coef_hi, coef_g, coef_h = 0, 0, 0, 0, 0
            coef_p = [0] * degree
            bases: list[Point] = []
            scalars: list[int] = []
            for j in range(bands):
                rho = _weight()
                rc = rho * cs[j]
                poly = table.polys[j]
                coef_h += rho * zs[j]
                coef_f -= rc
                for k in range(degree):
                    coef_p[k] += rc * poly[k + 1]
                coef_g += rc * (poly[0] + z_lo * table.lowers[j] + z_up * table.uppers[j])
                coef_lo -= rc * z_lo
                coef_hi -= rc * z_up
                bases.append(or_ts[j])
                scalars.append(-rho)
            bases += [f_pt, *base_p]
            scalars += [coef_f, *coef_p]
            if lo_pt is not None:
                bases.append(lo_pt)
                scalars.append(coef_lo)
            if hi_pt is not None:
                bases.append(hi_pt)
                scalars.append(coef_hi)
            band_checks.append(_Check(bases, scalars, coef_g, coef_h, f"{where}.band"))
            fees.append(f_pt)
        if n_pow:
            # z_v·G + z_r·H = T_1 + e·C;  z_v·P_{k-1} + z_{k+1}·H = T_k + e·P_k
            z_v = pw_z[0]
            sig = [_weight() for _ in range(len(pw_ts))]
            p_coef = [0] * len(base_p)
            p_coef[0] -= sig[0] * e_pow
            coef_h = sig[0] * pw_z[1]
            for k in range(1, len(pw_ts)):
                p_coef[k - 1] += sig[k] * z_v
                p_coef[k] -= sig[k] * e_pow
                coef_h += sig[k] * pw_z[k + 1]
            power_checks.append(
                _Check(
                    [*pw_ts, *base_p],
                    [*(-s for s in sig), *p_coef],
                    sig[0] * z_v,
                    coef_h,
                    f"{where}.power_proof",
                )
            )
            power_points.append(pw_pts)
    all_checks = band_checks + power_checks
    bases = [c for ch in all_checks for c in ch.bases]
    scalars = [s for ch in all_checks for s in ch.scalars]
    coef_g = sum(ch.g for ch in all_checks)
    coef_h = sum(ch.h for ch in all_checks)
    total = group.msm_split(
        [*bases, g, h], [*scalars, coef_g, coef_h], bulletproofs.DEFAULT_WORKERS
    )
    if not group.is_identity(total):
        for i in range(n):
            for group_checks in (power_checks, band_checks):
                if group_checks and not group_checks[i].holds():
                    raise ComponentProofError(
                        "interval proof does not verify", obj=PROOF_OBJ, field=group_checks[i].where
                    )
        raise ComponentProofError(
            "interval proofs do not verify", obj=PROOF_OBJ, field=f"{path}.intervals"
        )
    if checks and not bulletproofs.verify(diffs, table.bits, ranges, context=context):
        raise ComponentProofError(
            "band range proof does not verify", obj=PROOF_OBJ, field=f"{path}.ranges"
        )
    if need_band:
        return group.point_sum(fees)
    poly = table.polys[0]
    parts = [group.mul(g, poly[0] * n)] if poly[0] else []
    sums = [group.point_sum(points)]
    sums += [group.point_sum([pp[k] for pp in power_points]) for k in range(n_pow)]
    parts.append(group.msm(sums, list(poly[1:])))
    return group.point_sum(parts)


# --- the polynomial charge -----------------------------------------------------------------


def prove(
    component: PolynomialCharge,
    values: Sequence[int],
    blindings: Sequence[int],
    context: bytes,
    *,
    points: Sequence[Point] | None = None,
) -> tuple[PolynomialProof, int, int]:
    """``(proof, fee, fee blinding)`` for the per-interval consumption ``values`` committed with
    ``blindings`` (``points``: those commitments, if at hand)."""
    intervals, ranges, fee, blind = prove_bands(
        component.kind, band_table(component), values, blindings, context, points
    )
    return PolynomialProof(intervals, ranges), fee, blind


def verify(
    component: PolynomialCharge,
    points: Sequence[Point],
    context: bytes,
    proof: PolynomialProof,
    path: str,
) -> Point:
    """The fee commitment, or a typed error naming the part that fails."""
    return verify_bands(
        component.kind, band_table(component), points, context, proof.intervals, proof.ranges, path
    )
