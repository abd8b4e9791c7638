"""Cheating provers: the honest proving code run on witnesses the verifier must refuse.

A cheating prover knows every secret (readings, blinding factors) and wants a lower bill. It
produces proofs with the project's own proving routines, but for values it chooses: another split
of a hidden total into tiers, an understated peak, another row of a price table, another band. Where
an honest routine would refuse a false statement, the cheater switches that refusal off (for
range proofs: the bits of the out-of-range value, truncated) and sends whatever comes out.

Tests in ``test_cheating_*.py`` use these to search for forgeries; every forged bill with a lower
total must be refused.
"""

from __future__ import annotations

import collections
import contextlib
import dataclasses
import itertools
import random
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from privbill.billing import lookup as lookup_mod
from privbill.billing import polynomial as poly_mod
from privbill.billing import tiers as tier_proofs
from privbill.billing.bands import BandTable
from privbill.billing.cleartext import MeterReadings, cleartext_bill
from privbill.billing.prover import MeterInput, prove_bill
from privbill.billing.verifier import verify_bill
from privbill.crypto import bulletproofs, group, oror, pedersen, transcript
from privbill.crypto.group import Point
from privbill.crypto.signatures import SigningKey
from privbill.errors import ComponentProofError, PrivbillError
from privbill.meter import Meter
from privbill.model.bills import PaymentMessage
from privbill.model.component_proofs import (
    ComponentProof,
    DemandProof,
    LookupMeterProof,
    PartsProof,
    WindowProof,
)
from privbill.model.components import Demand, Lookup, Tier, tier_parts
from privbill.model.interval_components import IntervalProof
from privbill.model.periods import BillingPeriod, zone
from privbill.model.registers import register_schedules_for
from privbill.model.sealed import SealedReadings
from privbill.model.tariffs import SignedTariff, TariffBody
from privbill.provider import Provider

_Q = group.ORDER


@contextlib.contextmanager
def lenient_range_prover() -> Iterator[None]:
    """Let the range prover run on values outside their ranges (it proves the low bits)."""
    honest = bulletproofs._check_openings

    def cheating(
        statement: bulletproofs.RangeStatement, values: Sequence[int], blindings: Sequence[int]
    ) -> list[tuple[int, int]]:
        mask = (1 << statement.n) - 1
        return [
            ((sign * values[i] + offset) % _Q & mask, sign * blindings[i] % _Q)
            for i, sign, offset in statement.constraints
        ]

    bulletproofs._check_openings = cheating  # type: ignore[assignment]
    try:
        yield
    finally:
        bulletproofs._check_openings = honest  # type: ignore[assignment]


def prove_or_anyway(
    clauses: Sequence[oror.RelationLike], index: int, witness: Sequence[int], **kw: Any
) -> bytes:
    """The OR prover without its witness check: a proof for a clause that may not hold."""
    label, context = kw.get("label", "generic"), kw.get("context", b"")
    instances = oror._instances(clauses)
    commitments, state = oror.or_commit(instances, index, witness, check_witness=False)
    commitment_bytes = b"".join(transcript.encode_points(t) for t in commitments)
    challenge = oror.derive_or_challenge(oror.or_tag(label, context), instances, commitment_bytes)
    challenges, responses = oror.or_respond(state, challenge)
    return transcript.encode_scalars([*challenges, *(z for r in responses for z in r)])


def split_blinding(blinding: int, k: int) -> list[int]:
    rs = [group.random_scalar() for _ in range(k - 1)]
    rs.append((blinding - sum(rs)) % _Q)
    return rs


def forge_parts(
    tiers: Sequence[Tier],
    parts: Sequence[int],
    blinding: int,
    scale: int,
    context: bytes,
    *,
    order_boundaries: Sequence[int] | None = None,
    part_blindings: Sequence[int] | None = None,
) -> PartsProof:
    """A tier proof for the split ``parts`` of an amount committed with ``blinding``.

    Range proofs are made for the chosen parts (valid when they are in range); an order proof is
    made for each boundary the verifier asks about (or ``order_boundaries``): a valid one when a
    clause holds for the chosen parts, otherwise the OR prover run with a false witness.
    ``part_blindings`` (summing to ``blinding``) are the parts' blindings, random by default.
    """
    k = len(tiers)
    rs = list(part_blindings) if part_blindings is not None else split_blinding(blinding, k)
    # parts may be negative (mod q) for a cheater
    points = [pedersen.commit(v % _Q, r) for v, r in zip(parts, rs, strict=True)]
    ws = tier_proofs.widths(tiers, scale)
    bounds = [(0, 1 << tier_proofs.BITS) if w is None else (0, w + 1) for w in ws]
    with lenient_range_prover():
        ranges = bulletproofs.prove_ranges(
            [v % _Q for v in parts],
            rs,
            bounds,
            tier_proofs.BITS,
            context=context,
            commitments=points,
        )
    boundaries = (
        tier_proofs.ordered_boundaries(tiers) if order_boundaries is None else order_boundaries
    )
    order = []
    for j in boundaries:
        width = ws[j]
        assert width is not None
        clauses = tier_proofs._order_clauses(points, j, width)
        if parts[j] == width:
            index, witness = 0, [rs[j]]
        elif parts[j + 1] == 0:
            index, witness = 1, [rs[j + 1]]
        else:  # neither clause holds: try anyway
            index, witness = 0, [rs[j]]
        order.append(
            prove_or_anyway(clauses, index, witness, label=tier_proofs.OR_LABEL, context=context)
        )
    return PartsProof(
        b"".join(group.encode_point(p) for p in points), ranges.encode(), tuple(order)
    )


def splits_in_widths(amount: int, widths: Sequence[int | None], limit: int) -> Iterator[list[int]]:
    """Every split of ``amount`` into parts ``0 ≤ t_j ≤ w_j`` (unbounded where ``None``), up to
    ``limit`` of them, small parts first."""
    count = 0

    def rec(j: int, left: int, acc: list[int]) -> Iterator[list[int]]:
        nonlocal count
        if count >= limit:
            return
        if j == len(widths) - 1:
            w = widths[j]
            if w is None or left <= w:
                count += 1
                yield [*acc, left]
            return
        w = widths[j]
        top = left if w is None else min(left, w)
        for t in range(top + 1):
            yield from rec(j + 1, left - t, [*acc, t])

    yield from rec(0, amount, [])


def greedy_split(amount: int, widths: Sequence[int | None], order: Sequence[int]) -> list[int]:
    """Fill the tiers in the given order, each as far as it goes."""
    parts = [0] * len(widths)
    left = amount
    for j in order:
        w = widths[j]
        take = left if w is None else min(left, w)
        parts[j] = take
        left -= take
    if left:
        raise ValueError("amount does not fit")
    return parts


def fill_orders(k: int, limit: int = 120) -> Iterator[tuple[int, ...]]:
    """Orders in which a cheater might fill ``k`` tiers (all of them for small ``k``); the
    unbounded last tier goes last, otherwise it would swallow everything."""
    for perm in itertools.islice(itertools.permutations(range(k - 1)), limit):
        yield (*perm, k - 1)


# --- counting refusals ---------------------------------------------------------------------

#: Forgeries refused, per ``component/level`` (``level``: ``bill`` for a payment message given
#: to ``verify_bill``, ``proof`` for a component proof given to its verifier). The suite prints
#: the counts at the end of a run (``conftest.py``).
REFUSED: collections.Counter[str] = collections.Counter()


def refused(
    component: str,
    attempt: Callable[[], object],
    error: type[PrivbillError] | tuple[type[PrivbillError], ...] = PrivbillError,
    *,
    level: str = "proof",
    field: str | None = None,
    match: str | None = None,
) -> PrivbillError:
    """Run one forgery; it must raise ``error`` (a typed privbill error) whose field matches the
    regular expression ``field`` and whose message contains a match of ``match`` (when given).
    Counts it and returns the error."""
    try:
        result = attempt()
    except PrivbillError as exc:
        err = exc
    else:
        raise AssertionError(f"{component}: forgery accepted ({result!r})")
    assert isinstance(err, error), f"{component}: expected {error}, got {type(err)}: {err}"
    if field is not None:
        assert err.field is not None and re.fullmatch(field, err.field), (
            f"{component}: error names {err.field!r}, not {field!r}"
        )
    if match is not None:
        assert re.search(match, err.detail), f"{component}: {err.detail!r} !~ {match!r}"
    REFUSED[f"{component}/{level}"] += 1
    return err


def shift_total(bill: PaymentMessage, fee: int, blinding: int) -> PaymentMessage:
    """``bill`` with ``fee`` added to its total and ``blinding`` to its opening: what a cheater
    who changed a component's fee commitment by ``fee·G + blinding·H`` must claim."""
    return dataclasses.replace(
        bill, total_fee=bill.total_fee + fee, blinding=(bill.blinding + blinding) % _Q
    )


def with_component(bill: PaymentMessage, index: int, proof: ComponentProof) -> PaymentMessage:
    comps = list(bill.components)
    comps[index] = proof
    return dataclasses.replace(bill, components=tuple(comps))


@contextlib.contextmanager
def or_prover_without_checks() -> Iterator[None]:
    """Let every OR prover (``oror.or_commit``) commit to a clause its witness does not satisfy."""
    honest = oror.or_commit

    def cheating(*args: Any, **kw: Any) -> Any:
        kw["check_witness"] = False
        return honest(*args, **kw)

    oror.or_commit = cheating  # type: ignore[assignment]
    try:
        yield
    finally:
        oror.or_commit = honest  # type: ignore[assignment]


# --- demand --------------------------------------------------------------------------------


def forge_demand(
    component: Demand,
    values: Sequence[int],
    blindings: Sequence[int],
    windows: Sequence[Sequence[int]],
    interval_s: int,
    context: bytes,
    peaks: Mapping[int, int] | None = None,
    splits: Mapping[int, Sequence[int]] | None = None,
    parts_from: DemandProof | None = None,
) -> tuple[DemandProof, int, int]:
    """:func:`privbill.billing.demand.prove` with a claimed peak per window (``peaks``; others
    the true maximum) and, for windows with several tiers, a claimed split of the demand into
    the tiers (``splits``; others in order). The peak range proof is made over the commitments
    the verifier derives, ``C_M − C_i``, for whatever the differences are (the lenient range
    prover proves the low bits of a negative one). ``parts_from``: send that proof's tier parts
    instead of proving new ones (the verifier checks the peak range proof first; the tier
    range proof is most of the cost)."""
    f = 3600 // interval_s
    fee, fee_blinding = 0, 0
    proofs: list[WindowProof | None] = []
    points = [pedersen.commit(v, r) for v, r in zip(values, blindings, strict=True)]
    for w, idx in enumerate(windows):
        win = component.windows[w]
        if not idx or not any(t.price for t in win.tiers):
            proofs.append(None)
            continue
        ctx = context + b"/window/" + w.to_bytes(2, "big")
        peak = (peaks or {}).get(w, max(values[k] for k in idx))
        r_peak = group.random_scalar()
        c_peak = pedersen.commit(peak, r_peak)
        with lenient_range_prover():
            ranges = bulletproofs.prove_chunked_values(
                [(peak - values[k]) % _Q for k in idx],
                [(r_peak - blindings[k]) % _Q for k in idx],
                component.bits,
                context=ctx,
                commitments=[c_peak - points[k] for k in idx],
            )
        parts = None
        if len(win.tiers) == 1:
            wfee, wblind = win.tiers[0].price * f * peak, win.tiers[0].price * f * r_peak
        else:
            split = (splits or {}).get(w) or tier_parts(win.tiers, f * peak)
            rs = split_blinding(f * r_peak % _Q, len(win.tiers))
            if parts_from is not None:
                given = parts_from.windows[w]
                assert isinstance(given, WindowProof)
                parts = given.tiers
            else:
                parts = forge_parts(win.tiers, list(split), f * r_peak, 1, ctx, part_blindings=rs)
            wfee = sum(t.price * v for t, v in zip(win.tiers, split, strict=True))
            wblind = sum(t.price * r for t, r in zip(win.tiers, rs, strict=True))
        fee += wfee
        fee_blinding += wblind
        proofs.append(WindowProof(group.encode_point(c_peak), ranges, parts))
    return DemandProof(tuple(proofs)), fee, fee_blinding % _Q


# --- block and polynomial charges ----------------------------------------------------------


@dataclass(frozen=True, slots=True)
class BandClaim:
    """What a cheater says about one interval of a block or polynomial charge. ``None`` fields
    take the values an honest prover would use for the claimed ``band``."""

    band: int
    fee: int | None = None  # the value the fee commitment opens to (default f_band(powers))
    powers: tuple[int, ...] | None = None  # values of S, K (default c², c³)
    v: int | None = None  # the power proof's witness for c (default c)
    lower: int | None = None  # value of Lo (default l_band)
    upper: int | None = None  # value of Hi (default u_band)


def forge_bands(
    kind: str,
    table: BandTable,
    values: Sequence[int],
    blindings: Sequence[int],
    context: bytes,
    claims: Sequence[BandClaim],
    ranges: bytes | None = None,
) -> tuple[tuple[IntervalProof, ...], bytes, int, int]:
    """The prover of ``billing/polynomial.py`` run on the cheater's claims: every commitment
    opens to the claimed value, every Sigma response is computed from the claimed openings (a
    real clause whose image is not a multiple of ``H`` is answered as if it were), and the range
    proof covers whatever ``c − Lo`` and ``Hi − 1 − c`` are. Honest claims give an honest proof.
    Returns ``(intervals, range proof, fee, fee blinding)`` as the cheater would bill them.

    ``ranges``, when given, is sent instead of a range proof (the Bulletproof is most of the
    cost): for forgeries whose Sigma proofs fail, which the verifier checks first; a test that
    names the failing field still tells if the Sigma check lets one through.
    """
    n = len(values)
    degree = table.degree
    n_pow = max(0, degree - 1)
    if not table.band_proof and not n_pow:  # one polynomial of degree ≤ 1: no proof at all
        poly = (*table.polys[0], 0)
        fee = sum(
            cl.fee if cl.fee is not None else poly[0] + poly[1] * c
            for cl, c in zip(claims, values, strict=True)
        )
        return (), b"", fee, poly[1] * sum(blindings) % _Q
    session = poly_mod._session(kind, context)
    prefix = poly_mod.statement_digest(kind, table, n, context)
    out: list[IntervalProof] = []
    r_vals: list[int] = []
    r_blinds: list[int] = []
    r_points: list[Point] = []
    fee_total, blind_total = 0, 0
    for i, (c, r, cl) in enumerate(zip(values, blindings, claims, strict=True)):
        b = cl.band
        c_point = pedersen.commit(c, r)
        pv = [c, *(cl.powers if cl.powers is not None else (c * c, c * c * c))][:degree]
        pr = [r % _Q, *(group.random_scalar() for _ in range(n_pow))][:degree]
        pw_points = [pedersen.commit(v, s) for v, s in zip(pv[1:], pr[1:], strict=True)]
        statement = group.encode_point(c_point) + b"".join(map(group.encode_point, pw_points))
        power_proof = None
        if n_pow:
            v = c if cl.v is None else cl.v
            chain = [c_point, *pw_points]
            ks = [group.random_scalar() for _ in range(degree + 1)]
            wit = [v, r, *((pr[k] - v * pr[k - 1]) % _Q for k in range(1, degree))]
            ts = [pedersen.commit(ks[0], ks[1])]
            ts += [
                group.mul(chain[k - 1], ks[0]) + pedersen.commit(0, ks[k + 1])
                for k in range(1, degree)
            ]
            t_bytes = b"".join(map(group.encode_point, ts))
            tr = poly_mod._transcript(session, prefix, i, poly_mod.POWERS_LABEL, statement)
            tr.absorb_bytes(t_bytes)
            e = tr.challenge()
            power_proof = t_bytes + _scalars([k + e * w for k, w in zip(ks, wit, strict=True)])
        poly = table.polys[b]
        fee = (
            cl.fee
            if cl.fee is not None
            else poly[0] + sum(a * x for a, x in zip(poly[1:], pv, strict=True))
        )
        fee_bytes = lo_bytes = hi_bytes = band = None
        if table.band_proof:
            phi, lam, mu = group.random_scalar(), group.random_scalar(), group.random_scalar()
            lo_v = table.lowers[b] if cl.lower is None else cl.lower
            hi_v = table.uppers[b] if cl.upper is None else cl.upper
            fee_bytes = pedersen.commit_bytes(fee, phi)
            first = fee_bytes
            if table.lower_check:
                lo_point = pedersen.commit(lo_v, lam)
                lo_bytes = group.encode_point(lo_point)
                first += lo_bytes
                r_vals.append((c - lo_v) % _Q)
                r_blinds.append((r - lam) % _Q)
                r_points.append(c_point - lo_point)
            if table.upper_check:
                hi_point = pedersen.commit(hi_v, mu)
                hi_bytes = group.encode_point(hi_point)
                first += hi_bytes
                r_vals.append((hi_v - 1 - c) % _Q)
                r_blinds.append((mu - r) % _Q)
                r_points.append(hi_point - pedersen.generator_g() - c_point)
            tr = poly_mod._transcript(session, prefix, i, poly_mod.BAND_LABEL, statement)
            tr.absorb_bytes(first)
            z_lo, z_up = poly_mod._zetas(table, tr.challenge())
            pre, nonces, ws, ts = [], [], [], []
            for j in range(table.bands):
                pj = table.polys[j]
                v_j = (
                    fee
                    - pj[0]
                    - sum(a * x for a, x in zip(pj[1:], pv, strict=True))
                    + z_lo * (lo_v - table.lowers[j])
                    + z_up * (hi_v - table.uppers[j])
                )
                w_j = (
                    phi
                    - sum(a * s for a, s in zip(pj[1:], pr, strict=True))
                    + z_lo * lam
                    + z_up * mu
                )
                e_j = group.random_scalar() * (j != b)
                k_j = group.random_scalar()
                ts.append(pedersen.commit_bytes(-e_j * v_j, k_j))
                pre.append(e_j)
                nonces.append(k_j)
                ws.append(w_j)
            tr.absorb_bytes(b"".join(ts))
            e = tr.challenge()
            cs = [(e - sum(pre) + p) % _Q if j == b else p for j, p in enumerate(pre)]
            zs = [k + cj * w for k, cj, w in zip(nonces, cs, ws, strict=True)]
            band = b"".join(ts) + _scalars(cs[:-1]) + _scalars(zs)
            blind_total += phi
        else:
            blind_total += sum(a * s for a, s in zip(poly[1:], pr, strict=True))
        fee_total += fee
        out.append(
            IntervalProof(
                fee=fee_bytes,
                lower=lo_bytes,
                upper=hi_bytes,
                band=band,
                powers=b"".join(map(group.encode_point, pw_points)) or None,
                power_proof=power_proof,
            )
        )
    if ranges is not None:
        return tuple(out), ranges, fee_total, blind_total % _Q
    ranges = b""
    if r_vals:
        with lenient_range_prover():
            ranges = bulletproofs.prove(
                r_vals, r_blinds, table.bits, context=context, commitments=r_points
            ).encode()
    return tuple(out), ranges, fee_total, blind_total % _Q


def _scalars(values: Sequence[int]) -> bytes:
    return b"".join(group.encode_scalar(v % _Q) for v in values)


def true_claims(table: BandTable, values: Sequence[int]) -> list[BandClaim]:
    return [BandClaim(table.band_of(c)) for c in values]


# --- lookup --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RowClaim:
    """What a cheater says about one interval of a lookup: the attribute column ``row``, the
    time band whose prices it uses (``None``: the interval's own), the value its fee commitment
    opens to (``None``: that row's price times the quantity) and the attribute commitment it
    proves against (``None``: the meter's)."""

    row: int
    band: int | None = None
    fee: int | None = None
    attribute: Point | None = None
    attribute_blinding: int | None = None


def forge_lookup(
    component: Lookup,
    bands: Sequence[int],
    points: Sequence[Point],
    attributes: Sequence[Point],
    values: Sequence[int],
    blindings: Sequence[int],
    attribute_blindings: Sequence[int],
    context: bytes,
    claims: Mapping[int, RowClaim],
) -> tuple[LookupMeterProof, int, int]:
    """:func:`privbill.billing.lookup.prove` with the cheater's claims for some intervals (the
    others honest, ``claims`` covering every interval whose band prices differ that the cheater
    wants to change); the OR prover answers a clause its witness does not satisfy as if it did.
    ``attribute_blindings`` are those of the meter's attribute commitments; the true row of an
    interval without a claim is found by trying the table's values."""
    fee_total, blind_total = 0, 0
    fees = bytearray()
    ors: list[bytes] = []
    for i, band in enumerate(bands):
        prices = component.bands[band].prices
        if len(set(prices)) == 1:
            fee_total += prices[0] * values[i]
            blind_total += prices[0] * blindings[i]
            continue
        cl = claims.get(i) or RowClaim(_true_row(component, attributes[i], attribute_blindings[i]))
        use_band = band if cl.band is None else cl.band
        price = component.bands[use_band].prices[cl.row]
        fee = price * values[i] if cl.fee is None else cl.fee
        f_blind = group.random_scalar()
        f_point = pedersen.commit(fee, f_blind)
        fees += group.encode_point(f_point)
        a_point = attributes[i] if cl.attribute is None else cl.attribute
        a_blind = attribute_blindings[i] if cl.attribute_blinding is None else cl.attribute_blinding
        clauses = lookup_mod._clauses(component, use_band, a_point, points[i], f_point)
        witness = [a_blind, (f_blind - price * blindings[i]) % _Q]
        commitments, state = oror.or_commit(clauses, cl.row, witness, check_witness=False)
        tag = oror.or_tag(lookup_mod.LABEL, lookup_mod._context(context, i))
        t_bytes = b"".join(group.encode_point(t) for ts in commitments for t in ts)
        challenges, responses = oror.or_respond(
            state, oror.derive_or_challenge(tag, clauses, t_bytes)
        )
        ors.append(lookup_mod._encode_proof(commitments, challenges, responses))
        fee_total += fee
        blind_total += f_blind
    return LookupMeterProof(bytes(fees), tuple(ors)), fee_total, blind_total % _Q


def _true_row(component: Lookup, attribute: Point, blinding: int) -> int:
    for j, v in enumerate(component.values):
        if pedersen.commit(v, blinding) == attribute:
            return j
    raise AssertionError("attribute commitment opens to no value of the table")


BandVerifier = Callable[[Sequence[Point], bytes, tuple[IntervalProof, ...], bytes], Point]


def attack_bands(
    name: str,
    kind: str,
    table: BandTable,
    values: Sequence[int],
    verify: BandVerifier,
    path: str,
    rng: random.Random,
) -> int:
    """Every forgery class against a block or polynomial charge on the readings ``values``;
    ``verify(points, context, intervals, ranges)`` is the component's verifier (returning the
    fee commitment). Each forgery bills less than the honest fee and must be refused with a
    :class:`ComponentProofError` naming the part that fails. Returns the number submitted.

    Classes: another band for a reading whose fee there is lower (consistent commitments: the
    range proof fails; or with the true band's bounds: the band proof fails); the fee commitment
    shifted down (value moved from the fee commitment to the opened total); two fee commitments
    that cancel except for the gain; an interval's proof replayed at another interval; the
    whole proof of cheaper readings replayed from another context; for degree ≥ 2 a wrong
    square or cube (commitments and fee consistent with it) and the power proof's other witness.
    """
    ctx = b"cheating/" + name.encode()
    blindings = [group.random_scalar() for _ in values]
    points = [pedersen.commit(v, r) for v, r in zip(values, blindings, strict=True)]
    honest = true_claims(table, values)
    iv, rg, honest_fee, honest_blind = forge_bands(kind, table, values, blindings, ctx, honest)
    # the forger is faithful: honest claims give a proof the verifier accepts
    assert verify(points, ctx, iv, rg) == pedersen.commit(honest_fee, honest_blind)
    p = re.escape(path)
    submitted = 0

    def submit(claims: Sequence[BandClaim], field: str) -> None:
        nonlocal submitted
        sigma_fails = not field.endswith("ranges")
        f_iv, f_rg, fee, _ = forge_bands(
            kind, table, values, blindings, ctx, claims, rg if sigma_fails else None
        )
        assert fee < honest_fee, (claims, fee, honest_fee)
        refused(name, lambda: verify(points, ctx, f_iv, f_rg), ComponentProofError, field=field)
        submitted += 1

    def fee_at(j: int, powers: Sequence[int]) -> int:
        poly = table.polys[j]
        return poly[0] + sum(a * x for a, x in zip(poly[1:], powers, strict=False))

    for i, c in enumerate(values):
        b = honest[i].band
        exact = (c, c * c, c**3)[: table.degree]
        true_fee = fee_at(b, exact)
        at = f"{p}\\.intervals\\[{i}\\]"
        for j in range(table.bands):
            if j == b or fee_at(j, exact) >= true_fee:
                continue
            # a cheaper band, everything consistent with it: only the range proof can object
            submit([*honest[:i], BandClaim(j), *honest[i + 1 :]], f"{p}\\.ranges")
            # the cheaper band's fee, the true band's bounds: the band proof objects
            lie = BandClaim(j, lower=table.lowers[b], upper=table.uppers[b])
            submit([*honest[:i], lie, *honest[i + 1 :]], f"{at}\\.band")
        if table.band_proof:
            delta = rng.choice([1, rng.randrange(1, 10**6)])
            shifted = BandClaim(b, fee=true_fee - delta)
            submit([*honest[:i], shifted, *honest[i + 1 :]], f"{at}\\.band")
        if table.degree >= 2 and c:
            # wrong powers: a square (with its product, or the true cube) or a cube that lowers
            # the fee, with the fee and band proof consistent with the lie
            d = rng.randrange(1, c * c + 1)
            lies = [(c * c + s, c * (c * c + s)) for s in (-d, d)]
            lies += [(c * c + s, c**3) for s in (-d, d)]
            lies += [(c * c, c**3 + s) for s in (-d, d)]
            cheaper = [
                lie[: table.degree - 1]
                for lie in lies
                if fee_at(b, (c, *lie)[: table.degree]) < true_fee
            ]
            squares = [lie for lie in cheaper if lie[0] != c * c]
            cubes = [lie for lie in cheaper if lie[0] == c * c]
            for lie in squares[:1] + cubes[:1]:
                claim = BandClaim(b, powers=lie)
                submit([*honest[:i], claim, *honest[i + 1 :]], f"{at}\\.power_proof")
            if squares:  # the witness v = c²'/c makes S = v·C + ρ·H hold; C = v·G + r·H fails
                v = squares[0][0] * pow(c, -1, _Q) % _Q
                claim = BandClaim(b, powers=squares[0], v=v)
                submit([*honest[:i], claim, *honest[i + 1 :]], f"{at}\\.power_proof")
    fees = [
        fee_at(h.band, (c, c * c, c**3)[: table.degree])
        for h, c in zip(honest, values, strict=True)
    ]
    if table.band_proof and len(values) >= 2:
        # two fee commitments that cancel, but for the cheater's gain
        i, k = sorted(rng.sample(range(len(values)), 2))
        x, gain = rng.randrange(1, 10**9), rng.randrange(1, 10**3)
        claims = list(honest)
        claims[i] = BandClaim(honest[i].band, fee=fees[i] + x)
        claims[k] = BandClaim(honest[k].band, fee=fees[k] - x - gain)
        submit(claims, f"{p}\\.intervals\\[{i}\\]\\.band")
    if iv and len(set(fees)) > 1:
        # the proof of a cheap interval replayed at a dear one
        cheap, dear = fees.index(min(fees)), fees.index(max(fees))
        replayed = list(iv)
        replayed[dear] = iv[cheap]
        refused(
            name,
            lambda: verify(points, ctx, tuple(replayed), rg),
            ComponentProofError,
            field=f"{p}\\.intervals\\[{dear}\\]\\.(band|power_proof)",
        )
        submitted += 1
    if iv and max(values) > 0:
        # the proof of cheaper readings (another bill, component or position) replayed here
        other = [min(v, max(0, v - 1)) if v == max(values) else v for v in values]
        o_claims = true_claims(table, other)
        o_iv, o_rg, o_fee, _ = forge_bands(
            kind, table, other, blindings, b"another/" + ctx, o_claims
        )
        if o_fee < honest_fee:
            refused(name, lambda: verify(points, ctx, o_iv, o_rg), ComponentProofError)
            submitted += 1
    return submitted


# --- whole bills ---------------------------------------------------------------------------


def description(
    energy_prices: Sequence[str], components: list[dict[str, Any]], **extra: Any
) -> dict[str, Any]:
    """A tariff description in UTC: time-of-use periods at ``energy_prices`` (period ``k`` at
    hours ``h ≡ k`` modulo their count), the given components."""
    k = len(energy_prices)
    return {
        "name": "cheating",
        "currency": "USD",
        "timezone": "UTC",
        "valid_from": "2026-01-01",
        "valid_until": "2027-01-01",
        "energy": {
            "kind": "time-of-use",
            "periods": [{"name": f"p{j}", "price": p} for j, p in enumerate(energy_prices)],
            "weekday_schedule": [[h % k for h in range(24)]] * 12,
        },
        "components": components,
        **extra,
    }


@dataclass
class BillCase:
    """A signed tariff, one or more meters' sealed readings and openings for a period, and the
    honest bill; forgeries go through the canonical encoding to :func:`verify_bill`."""

    provider: Provider
    tariff: SignedTariff
    period: BillingPeriod
    inputs: list[MeterInput]
    values: list[list[int]]
    attributes: list[list[int]]
    honest: PaymentMessage

    def verify(self, bill: PaymentMessage) -> int:
        return verify_bill(bill.encode(), self.tariff, self.provider.public_key).total_fee

    def prove(self) -> PaymentMessage:
        return prove_bill(self.tariff, self.inputs, self.period)

    def forge(
        self,
        module: Any,
        function: str,
        make: Callable[..., Any],
        only: Callable[[Any], bool] = lambda component: True,
    ) -> PaymentMessage:
        """The bill as :func:`prove_bill` makes it with the component prover
        ``module.function`` replaced by the cheater's ``make`` (same arguments, same result)
        for the components ``only`` selects: the forged proofs, fees and blindings go into the
        bill's total and opening exactly as honest ones would."""
        honest = getattr(module, function)

        def cheating(*args: Any, **kw: Any) -> Any:
            return make(*args, **kw) if only(args[0]) else honest(*args, **kw)

        setattr(module, function, cheating)
        try:
            return self.prove()
        finally:
            setattr(module, function, honest)

    def cleartext(self) -> int:
        first, _ = self.period.intervals(self.inputs[0].sealed.certificate.interval_s)
        interval = self.inputs[0].sealed.certificate.interval_s
        meters = []
        for inp, vals, attrs in zip(self.inputs, self.values, self.attributes, strict=True):
            cert = inp.sealed.certificate
            named = {n: attrs for n in cert.attributes}
            meters.append(MeterReadings(interval, first, vals, named, cert.channel))
        return cleartext_bill(self.tariff.body, meters, self.period).total

    def refuse(
        self,
        component: str,
        forged: PaymentMessage,
        error: type[PrivbillError] | tuple[type[PrivbillError], ...] = PrivbillError,
        *,
        field: str | None = None,
        match: str | None = None,
    ) -> PrivbillError:
        """``forged`` bills less than the honest bill and ``verify_bill`` refuses it."""
        assert forged.total_fee < self.honest.total_fee, (forged.total_fee, self.honest.total_fee)
        return refused(
            component,
            lambda: self.verify(forged),
            error,
            level="bill",
            field=field,
            match=match,
        )


def bill_case(
    provider: Provider,
    desc: dict[str, Any],
    period: str,
    values: Callable[[int, int], int],
    *,
    interval: int = 3600,
    meters: int = 1,
    attributes: tuple[str, ...] = (),
    attribute: Callable[[int, int], int] = lambda k, m: 0,
    meter_ids: Sequence[str] | None = None,
    registers: bool = False,
    channels: Sequence[str | None] | None = None,
    ratings: Sequence[int | None] | None = None,
) -> BillCase:
    """Sign ``desc``, record ``values(k, m)`` for interval ``k`` of meter ``m`` over ``period``
    (and ``attribute(k, m)`` for a meter committing to ``attributes``; with ``registers``, the
    meter keeps the demand registers of the tariff; with ``channels``, meter ``m`` is certified
    for ``channels[m]``, and rated ``ratings[m]`` W) and prove the honest bill; the honest bill must verify and equal the
    cleartext bill."""
    tz = zone(desc["timezone"])
    per = BillingPeriod.parse(period, tz)
    if "billing_cycle" not in desc and not per.is_calendar_month(tz):
        days = per.local_days(tz)  # the tariff bills in cycles of this period's length
        desc = {**desc, "billing_cycle": {"every_days": len(days), "starting": str(days[0])}}
    tariff = provider.sign_tariff(TariffBody.from_description(desc))
    first, count = per.intervals(interval)
    inputs, all_values, all_attrs = [], [], []
    for m in range(meters):
        key = SigningKey.generate()
        mid = meter_ids[m] if meter_ids else f"m-{m}"
        cert = provider.certify_meter(
            mid,
            "acct",
            key.public_key(),
            interval_s=interval,
            attributes=attributes,
            channel=channels[m] if channels else None,
            rating_w=ratings[m] if ratings else None,
        )
        vals = [values(k, m) for k in range(count)]
        attrs = [attribute(k, m) for k in range(count)]
        readings = [
            (first + k, v, (a,) * len(attributes)) if attributes else (first + k, v)
            for k, (v, a) in enumerate(zip(vals, attrs, strict=True))
        ]
        schedules = register_schedules_for(tariff.body) if registers else ()
        meter = Meter(cert, key, "day", tariff.body.timezone, register_schedules=schedules)  # type: ignore[arg-type]
        rec = meter.record(readings)
        sealed = SealedReadings(cert, tuple(rec.runs), tuple(rec.registers))
        inputs.append(MeterInput(sealed, [rec.openings], None, rec.register_openings))
        all_values.append(vals)
        all_attrs.append(attrs)
    honest = prove_bill(tariff, inputs, per)
    case = BillCase(provider, tariff, per, inputs, all_values, all_attrs, honest)
    assert case.verify(honest) == honest.total_fee == case.cleartext()
    return case
