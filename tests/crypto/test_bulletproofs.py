"""Aggregated Bulletproofs range proofs: completeness, soundness checks, encoding, transcript
binding, batch verification, intervals [a, b), and the group primitives they added."""

from __future__ import annotations

import dataclasses
import secrets

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from privbill.crypto import bulletproofs as bp
from privbill.crypto import group, pedersen, transcript
from privbill.crypto.bulletproofs import RangeProof, RangeProofError, RangeStatement
from privbill.crypto.group import Point

Q = group.ORDER
CTX = b"meter:0042|period:2026-01"


@pytest.fixture(scope="module", autouse=True)
def _generators() -> None:
    bp.precompute_generators(64 * 16)


def openings(values: list[int]) -> tuple[list[int], list[Point]]:
    blindings = [group.random_scalar() for _ in values]
    return blindings, [pedersen.commit(v, r) for v, r in zip(values, blindings, strict=True)]


def sample_values(n: int, m: int) -> list[int]:
    """Boundary values first (0, 2^n - 1, 1), then random ones."""
    edge = [0, (1 << n) - 1, 1]
    return [edge[i] if i < len(edge) else secrets.randbelow(1 << n) for i in range(m)]


@dataclasses.dataclass
class Case:
    n: int
    values: list[int]
    blindings: list[int]
    commitments: list[Point]
    proof: RangeProof


def make_case(n: int = 8, m: int = 3, context: bytes = CTX) -> Case:
    values = sample_values(n, m)
    blindings, commitments = openings(values)
    proof = bp.prove(values, blindings, n, context=context, commitments=commitments)
    return Case(n, values, blindings, commitments, proof)


@pytest.fixture(scope="module")
def case() -> Case:
    return make_case()


def other_point() -> Point:
    return group.mul(group.generator(), group.random_scalar())


# --- completeness and size -----------------------------------------------------------------


@pytest.mark.parametrize("m", [1, 2, 3, 5, 16])
@pytest.mark.parametrize("n", [8, 16, 32, 64])
def test_completeness_and_size(n: int, m: int) -> None:
    c = make_case(n, m)
    encoded = c.proof.encode()
    rounds = (n * m - 1).bit_length()  # ceil(log2(n*m))
    assert c.proof.rounds == rounds
    assert c.proof.num_elements == 2 * rounds + 9 == bp.proof_elements(n, m)
    assert c.proof.num_elements <= 2 * rounds + 10
    assert len(encoded) == 352 + 96 * rounds == bp.proof_size(n, m)
    assert RangeProof.decode(encoded) == c.proof
    assert RangeProof.decode(encoded).encode() == encoded
    assert bp.verify(c.commitments, n, encoded, context=CTX)
    assert bp.verify(c.commitments, n, c.proof, context=CTX, workers=1)


@pytest.mark.parametrize("fold_blocks", [2, 4, 8, 1 << 20])
def test_every_generator_folding_schedule_gives_the_same_statement(fold_blocks: int) -> None:
    """Folding every round, every 2 or 3 rounds, or never: all produce valid proofs."""
    values = sample_values(16, 5)
    blindings, commitments = openings(values)
    st = bp.values_statement(commitments, 16, context=CTX)
    proof = bp.prove_statement(st, values, blindings, fold_blocks=fold_blocks)
    assert bp.verify_statement(st, proof)


def test_threaded_paths_agree(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(bp, "_PARALLEL_MIN", 0)
    values = sample_values(16, 3)
    blindings, commitments = openings(values)
    proof = bp.prove(values, blindings, 16, commitments=commitments, workers=2)
    assert bp.verify(commitments, 16, proof, workers=2)
    assert bp.verify(commitments, 16, proof, workers=1)


@pytest.mark.slow
def test_larger_aggregate_with_threads() -> None:
    values = sample_values(16, 600)  # N = 16 * 1024
    blindings, commitments = openings(values)
    proof = bp.prove(values, blindings, 16, commitments=commitments, workers=2)
    assert len(proof.encode()) == 352 + 96 * 14
    assert bp.verify(commitments, 16, proof, workers=2)


def test_proofs_are_randomised(case: Case) -> None:
    again = bp.prove(case.values, case.blindings, case.n, context=CTX)
    assert again.encode() != case.proof.encode()
    assert bp.verify(case.commitments, case.n, again, context=CTX)


# --- the prover refuses false statements ---------------------------------------------------


@pytest.mark.parametrize("n", [8, 16, 32, 64])
@pytest.mark.parametrize("bad", ["2^n", "-1", "q-1", "huge"])
def test_prover_refuses_out_of_range(n: int, bad: str) -> None:
    value = {"2^n": 1 << n, "-1": -1, "q-1": Q - 1, "huge": 1 << 200}[bad]
    with pytest.raises(RangeProofError, match="outside the range"):
        bp.prove([5, value], [1, 2], n)


def test_prover_refuses_mismatched_opening() -> None:
    commitments = [pedersen.commit(5, 1), pedersen.commit(6, 2)]
    with pytest.raises(RangeProofError, match="does not open"):
        bp.prove([5, 7], [1, 2], 8, commitments=commitments)
    with pytest.raises(RangeProofError, match="one blinding per value"):
        bp.prove([5, 6], [1], 8)


@pytest.mark.parametrize("n", [0, 1, 7, 12, 128])
def test_bit_length_restricted(n: int) -> None:
    with pytest.raises(RangeProofError, match="bit length"):
        bp.prove([1], [1], n)
    with pytest.raises(RangeProofError, match="bit length"):
        bp.values_statement([pedersen.commit(1, 1)], n)


def test_workers_must_be_positive(case: Case) -> None:
    st = bp.values_statement(case.commitments, 8, context=CTX)
    with pytest.raises(RangeProofError, match="worker"):
        bp.prove_statement(st, case.values, case.blindings, workers=0)
    with pytest.raises(RangeProofError, match="worker"):
        bp.verify_statement(st, case.proof, workers=0)
    with pytest.raises(RangeProofError, match="worker"):
        bp.batch_verify([(st, case.proof)], workers=0)


def test_empty_statement_refused() -> None:
    with pytest.raises(RangeProofError, match="at least one"):
        bp.values_statement([], 8)


# --- soundness: wrong statements and tampered proofs are rejected --------------------------


def test_proof_for_other_commitments_rejected(case: Case) -> None:
    other_value = [(case.values[0] + 1) % 256, *case.values[1:]]
    other_blinding = [case.blindings[0] + 1, *case.blindings[1:]]
    for values, blindings in ((other_value, case.blindings), (case.values, other_blinding)):
        commitments = [pedersen.commit(v, r) for v, r in zip(values, blindings, strict=True)]
        assert not bp.verify(commitments, 8, case.proof, context=CTX)
    # the right commitments, but a proof made for other values
    values = sample_values(8, 3)[::-1]
    blindings, commitments = openings(values)
    foreign = bp.prove(values, blindings, 8, context=CTX, commitments=commitments)
    assert not bp.verify(case.commitments, 8, foreign, context=CTX)


def _unchecked_openings(
    monkeypatch: pytest.MonkeyPatch, openings_of_constraints: list[tuple[int, int]]
) -> None:
    """Let the prover run on openings that do not match the statement (a cheating prover)."""
    monkeypatch.setattr(bp, "_check_openings", lambda *_: list(openings_of_constraints))


@pytest.mark.parametrize("value", [256, 300, 2**8 + 2**16, Q - 1])
def test_cheating_prover_with_out_of_range_value_rejected(
    monkeypatch: pytest.MonkeyPatch, value: int
) -> None:
    """The prover commits to the low n bits of an out-of-range value: the inner-product
    argument is consistent, the polynomial check t̂·G + τx·H = z²·V + δ·G + x·T1 + x²·T2 is
    not."""
    r = group.random_scalar()
    cs = [pedersen.commit(value, r), pedersen.commit(7, 1)]
    _unchecked_openings(monkeypatch, [(value, r), (7, 1)])
    st = bp.values_statement(cs, 8)
    proof = bp.prove_statement(st, [value, 7], [r, 1])
    assert not bp.verify_statement(st, proof)
    assert not bp.batch_verify([(st, proof)])


def test_cheating_prover_with_wrong_blinding_rejected(monkeypatch: pytest.MonkeyPatch) -> None:
    cs = [pedersen.commit(5, 11)]
    _unchecked_openings(monkeypatch, [(5, 12)])
    st = bp.values_statement(cs, 8)
    assert not bp.verify_statement(st, bp.prove_statement(st, [5], [11]))


def test_cheating_prover_control(monkeypatch: pytest.MonkeyPatch) -> None:
    """The hook itself does not break honest proofs."""
    cs = [pedersen.commit(5, 11)]
    _unchecked_openings(monkeypatch, [(5, 11)])
    st = bp.values_statement(cs, 8)
    assert bp.verify_statement(st, bp.prove_statement(st, [5], [11]))


POINT_FIELDS = ["A", "S", "T1", "T2"]
SCALAR_FIELDS = ["tau_x", "mu", "t_hat", "a", "b"]


@pytest.mark.parametrize("field", POINT_FIELDS)
def test_altered_point_rejected(case: Case, field: str) -> None:
    old: Point = getattr(case.proof, field)
    for new in (old + group.generator(), other_point(), -old):
        bad = dataclasses.replace(case.proof, **{field: new})
        assert not bp.verify(case.commitments, 8, bad, context=CTX)
        assert not bp.verify(case.commitments, 8, bad.encode(), context=CTX)


@pytest.mark.parametrize("field", SCALAR_FIELDS)
def test_altered_scalar_rejected(case: Case, field: str) -> None:
    old: int = getattr(case.proof, field)
    for new in ((old + 1) % Q, (old - 1) % Q, 0, secrets.randbelow(Q)):
        bad = dataclasses.replace(case.proof, **{field: new})
        assert not bp.verify(case.commitments, 8, bad, context=CTX)
        assert not bp.verify(case.commitments, 8, bad.encode(), context=CTX)
    # the same value plus q: not canonical, refused in memory and by the encoder
    bad = dataclasses.replace(case.proof, **{field: old + Q})
    assert not bp.verify(case.commitments, 8, bad, context=CTX)
    with pytest.raises(RangeProofError):
        bad.encode()


@pytest.mark.parametrize("side", ["L", "R"])
def test_altered_round_point_rejected(case: Case, side: str) -> None:
    points: tuple[Point, ...] = getattr(case.proof, side)
    assert len(points) == 5
    for j in range(len(points)):
        for new in (points[j] + group.generator(), other_point()):
            changed = list(points)
            changed[j] = new
            bad = dataclasses.replace(case.proof, **{side: tuple(changed)})
            assert not bp.verify(case.commitments, 8, bad, context=CTX)


def test_swapped_round_points_rejected(case: Case) -> None:
    p = case.proof
    swapped = dataclasses.replace(p, L=p.R, R=p.L)
    assert not bp.verify(case.commitments, 8, swapped, context=CTX)
    rotated = dataclasses.replace(p, L=p.L[1:] + p.L[:1], R=p.R[1:] + p.R[:1])
    assert not bp.verify(case.commitments, 8, rotated, context=CTX)


def test_every_byte_matters(case: Case) -> None:
    """Flipping any one bit of the encoding makes decoding fail or verification reject."""
    encoded = case.proof.encode()
    for pos in range(0, len(encoded), 7):
        for bit in (0, 5):
            data = bytearray(encoded)
            data[pos] ^= 1 << bit
            assert not bp.verify(case.commitments, 8, bytes(data), context=CTX), (pos, bit)


def test_truncated_and_extended_rejected(case: Case) -> None:
    encoded = case.proof.encode()
    variants = {
        "drop last byte": encoded[:-1],
        "drop a round": encoded[:-160] + encoded[-64:],
        "drop b": encoded[:-32],
        "empty": b"",
        "extra byte": encoded + b"\x00",
        "extra scalar": encoded + bytes(32),
        "extra round": encoded[:-64] + encoded[-160:-64] + encoded[-64:],
        "proof twice": encoded + encoded,
    }
    for name, data in variants.items():
        assert not bp.verify(case.commitments, 8, data, context=CTX), name
    for name in ("drop last byte", "drop b", "empty", "extra byte", "extra scalar"):
        with pytest.raises(RangeProofError, match="352"):
            RangeProof.decode(variants[name])
    # whole-round changes decode but have the wrong number of rounds for the statement
    assert RangeProof.decode(variants["drop a round"]).rounds == 4
    assert RangeProof.decode(variants["extra round"]).rounds == 6
    shorter = dataclasses.replace(case.proof, L=case.proof.L[:-1], R=case.proof.R[:-1])
    assert not bp.verify(case.commitments, 8, shorter, context=CTX)


def test_decode_rejects_non_canonical_elements(case: Case) -> None:
    encoded = case.proof.encode()
    # scalar tau_x replaced by q (not below the order)
    off = 4 * 48
    data = encoded[:off] + Q.to_bytes(32, "big") + encoded[off + 32 :]
    with pytest.raises(RangeProofError, match="scalar"):
        RangeProof.decode(data)
    # x-coordinate not below the field modulus
    bad_x = bytes([0x80 | 0x1F]) + b"\xff" * 47
    with pytest.raises(RangeProofError, match="point"):
        RangeProof.decode(bad_x + encoded[48:])
    # uncompressed flag cleared
    cleared = bytes([encoded[0] & 0x7F]) + encoded[1:]
    with pytest.raises(RangeProofError, match="point"):
        RangeProof.decode(cleared)


# --- identity points -----------------------------------------------------------------------


IDENTITY_BYTES = bytes([0xC0]) + bytes(47)


def _point_offsets(rounds: int) -> list[int]:
    fixed = [0, 48, 96, 144]
    per_round = [4 * 48 + 3 * 32 + 96 * j + s for j in range(rounds) for s in (0, 48)]
    return fixed + per_round


def test_identity_points_rejected(case: Case) -> None:
    encoded = case.proof.encode()
    offsets = _point_offsets(case.proof.rounds)
    assert len(offsets) == 4 + 2 * case.proof.rounds
    for off in offsets:
        data = encoded[:off] + IDENTITY_BYTES + encoded[off + 48 :]
        with pytest.raises(RangeProofError, match="identity"):
            RangeProof.decode(data)
        assert not bp.verify(case.commitments, 8, data, context=CTX)
    zero = group.identity()
    for field in POINT_FIELDS:
        bad = dataclasses.replace(case.proof, **{field: zero})
        assert not bp.verify(case.commitments, 8, bad, context=CTX)
        with pytest.raises(RangeProofError, match="identity"):
            bad.encode()
    for side in ("L", "R"):
        pts = list(getattr(case.proof, side))
        pts[2] = zero
        bad = dataclasses.replace(case.proof, **{side: tuple(pts)})
        assert not bp.verify(case.commitments, 8, bad, context=CTX)


def test_identity_commitment_is_a_commitment_to_zero() -> None:
    """The identity opens to (0, 0): it is a legitimate (if unhiding) commitment."""
    zero = group.identity()
    proof = bp.prove([0, 3], [0, 5], 8, commitments=[zero, pedersen.commit(3, 5)])
    assert bp.verify([zero, pedersen.commit(3, 5)], 8, proof)


# --- transcript binding --------------------------------------------------------------------


def test_binding_to_commitment_order_and_set(case: Case) -> None:
    cs = case.commitments
    for i in range(len(cs)):  # each commitment, replaced by another commitment to the same value
        other = pedersen.commit(case.values[i], case.blindings[i] + 1)
        assert not bp.verify([*cs[:i], other, *cs[i + 1 :]], 8, case.proof, context=CTX)
    assert not bp.verify([cs[1], cs[0], cs[2]], 8, case.proof, context=CTX)
    assert not bp.verify(cs[:2], 8, case.proof, context=CTX)
    assert not bp.verify([*cs, pedersen.commit(1, 1)], 8, case.proof, context=CTX)


def test_binding_to_context(case: Case) -> None:
    for ctx in (b"", CTX + b"\x00", CTX[:-1], b"meter:0043|period:2026-01"):
        assert not bp.verify(case.commitments, 8, case.proof, context=ctx)
    plain = bp.prove(case.values, case.blindings, 8)
    assert bp.verify(case.commitments, 8, plain)
    assert not bp.verify(case.commitments, 8, plain, context=CTX)


def test_binding_to_m_with_padding_commitment(case: Case) -> None:
    """m = 3 is padded with a commitment to zero (the identity) to m' = 4. Appending that very
    commitment gives the same equations but another m, which the transcript absorbs."""
    four = [*case.commitments, group.identity()]
    assert not bp.verify(four, 8, case.proof, context=CTX)
    proof4 = bp.prove([*case.values, 0], [*case.blindings, 0], 8, commitments=four, context=CTX)
    assert bp.verify(four, 8, proof4, context=CTX)
    assert not bp.verify(case.commitments, 8, proof4, context=CTX)


def _with_instance(statement: RangeStatement, instance: bytes) -> RangeStatement:
    return dataclasses.replace(statement, instance=instance)


def test_transcript_absorbs_n_m_context_and_commitments(case: Case) -> None:
    """Statements equal in every equation but one field of the absorbed instance."""
    st = bp.values_statement(case.commitments, 8, context=CTX)
    assert bp.verify_statement(st, case.proof)
    inst = st.instance
    prefix = transcript.le(8, 4) + transcript.le(3, 4) + transcript.serialize_varlen(CTX)
    assert inst.startswith(prefix)
    assert inst[len(prefix) :] == b"".join(c.to_compressed_bytes() for c in case.commitments)
    variants = [
        transcript.le(16, 4) + inst[4:],  # n
        inst[:4] + transcript.le(4, 4) + inst[8:],  # m
        inst[:8] + transcript.serialize_varlen(CTX + b"!") + inst[len(prefix) :],  # context
        inst[:-48] + pedersen.commit(9, 9).to_compressed_bytes(),  # a commitment
    ]
    for instance in variants:
        assert not bp.verify_statement(_with_instance(st, instance), case.proof)
    other_tag = dataclasses.replace(st, tag=bp.TAG_INTERVALS)
    assert not bp.verify_statement(other_tag, case.proof)


def test_binding_to_n() -> None:
    """A proof over 16-bit values is not a proof over 8-bit values (nor the converse), also
    when the vector length N agrees."""
    values = [3, 200]
    blindings, cs = openings(values)
    p16 = bp.prove(values, blindings, 16, commitments=cs)
    p8 = bp.prove(values, blindings, 8, commitments=cs)
    assert bp.verify(cs, 16, p16) and bp.verify(cs, 8, p8)
    assert not bp.verify(cs, 8, p16)
    assert not bp.verify(cs, 16, p8)
    assert not bp.verify(cs, 32, p16)
    four = [*cs, *cs]
    p8x4 = bp.prove(values * 2, blindings * 2, 8, commitments=four)  # N = 32, as p16
    assert p8x4.rounds == p16.rounds
    assert not bp.verify(cs, 16, p8x4)
    assert not bp.verify(four, 16, p8x4)


# --- batch verification --------------------------------------------------------------------


def _batch_items(count: int = 4) -> list[tuple[RangeStatement, RangeProof | bytes]]:
    items: list[tuple[RangeStatement, RangeProof | bytes]] = []
    for i, (n, m) in enumerate([(8, 1), (16, 3), (32, 2), (64, 5)][:count]):
        values = sample_values(n, m)
        blindings, cs = openings(values)
        st = bp.values_statement(cs, n, context=bytes([i]))
        proof = bp.prove_statement(st, values, blindings)
        items.append((st, proof.encode() if i % 2 else proof))
    bounds = [(100, 300), (-5, 5)]
    blindings, cs = openings([100, 4])
    ist = bp.intervals_statement(cs, bounds, 8)
    items.append((ist, bp.prove_statement(ist, [100, 4], blindings)))
    return items


def test_batch_accepts_good_proofs() -> None:
    items = _batch_items()
    assert bp.batch_verify(items)
    assert bp.batch_verify(items[:1])
    assert bp.batch_verify([])
    assert all(bp.verify_statement(st, p) for st, p in items)


def test_batch_rejects_one_bad_proof() -> None:
    items = _batch_items()
    for victim in range(len(items)):
        st, proof = items[victim]
        parsed = proof if isinstance(proof, RangeProof) else RangeProof.decode(proof)
        bad = dataclasses.replace(parsed, t_hat=(parsed.t_hat + 1) % Q)
        assert not bp.batch_verify([*items[:victim], (st, bad), *items[victim + 1 :]])
    # a valid proof paired with another statement
    (st0, p0), (st1, p1) = items[0], items[1]
    assert not bp.batch_verify([(st0, p1), (st1, p0), *items[2:]])
    # an undecodable member
    assert not bp.batch_verify([*items, (st0, b"\x00" * 640)])


def test_batch_weights_are_independent(monkeypatch: pytest.MonkeyPatch, case: Case) -> None:
    """Two equations that are each false but cancel in an unweighted sum: the batch's random
    weights must keep them apart."""
    first = case.proof
    second = dataclasses.replace(case.proof, a=(case.proof.a + 1) % Q)

    def fake(_st: RangeStatement, proof: RangeProof, w_ipa: int, w_poly: int) -> object:
        sign = 1 if proof is first else -1
        return bp._Equation([0] * 32, [0] * 32, 0, 0, 0, [group.generator()], [sign * w_ipa % Q])

    monkeypatch.setattr(bp, "_equation", fake)
    st = bp.values_statement(case.commitments, 8, context=CTX)
    assert not bp.batch_verify([(st, first), (st, second)])
    assert not bp.verify_statement(st, first)


def test_batch_rejects_compensating_errors() -> None:
    """Two proofs altered so that the unweighted sum of their equations still vanishes."""
    items = _batch_items(2)
    (st0, p0), (st1, p1) = items[0], items[1]
    a0 = p0 if isinstance(p0, RangeProof) else RangeProof.decode(p0)
    a1 = p1 if isinstance(p1, RangeProof) else RangeProof.decode(p1)
    shift = group.random_scalar()
    bad0 = dataclasses.replace(a0, A=a0.A + group.mul(pedersen.generator_h(), shift))
    bad1 = dataclasses.replace(a1, A=a1.A - group.mul(pedersen.generator_h(), shift))
    assert not bp.batch_verify([(st0, bad0), (st1, bad1)])


# --- intervals [a, b) ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("lo", "hi", "n"),
    [(10, 30, 8), (0, 256, 8), (1000, 1000 + 65536, 16), (-50, 50, 8), (7, 8, 8), (0, 2**64, 64)],
)
def test_interval_boundaries(lo: int, hi: int, n: int) -> None:
    inside = [lo, hi - 1, (lo + hi) // 2]
    blindings, cs = openings(inside)
    bounds = [(lo, hi)] * len(inside)
    proof = bp.prove_ranges(inside, blindings, bounds, n, context=CTX, commitments=cs)
    assert bp.verify_ranges(cs, bounds, n, proof, context=CTX)
    assert bp.verify_ranges(cs, bounds, n, proof.encode(), context=CTX)
    for outside in (lo - 1, hi):
        with pytest.raises(RangeProofError, match="outside the range"):
            bp.prove_ranges([outside], [1], [(lo, hi)], n)


def test_interval_constraint_count() -> None:
    # b - a = 2^n: the lower constraint alone implies v < b
    assert bp.interval_constraints([(5, 5 + 256)], 8) == [(0, 1, -5)]
    assert bp.interval_constraints([(5, 100)], 8) == [(0, 1, -5), (0, -1, 99)]
    _, cs = openings([5, 6, 7])
    st = bp.intervals_statement(cs, [(5, 261), (0, 10), (6, 8)], 8)
    assert len(st.constraints) == 5 and st.aggregate == 8 and st.rounds == 6


def test_interval_proof_bound_to_bounds() -> None:
    values = [20, 40]
    blindings, cs = openings(values)
    bounds = [(10, 30), (40, 41)]
    proof = bp.prove_ranges(values, blindings, bounds, 8, commitments=cs)
    assert bp.verify_ranges(cs, bounds, 8, proof)
    for other in ([(10, 31), (40, 41)], [(11, 30), (40, 41)], [(10, 30), (39, 41)]):
        assert not bp.verify_ranges(cs, other, 8, proof)
    assert not bp.verify_ranges(cs[::-1], bounds, 8, proof)
    assert not bp.verify_ranges(cs, bounds, 16, proof)
    assert not bp.verify_ranges(cs, bounds, 8, proof, context=b"x")
    # the same commitments under the plain statement: different tag and constraints
    assert not bp.verify(cs, 8, proof)


def test_interval_proof_for_shifted_value_rejected() -> None:
    """A proof for v = 29 in [10, 30) says nothing about the commitment to 30."""
    r = group.random_scalar()
    proof = bp.prove_ranges([29], [r], [(10, 30)], 8)
    assert bp.verify_ranges([pedersen.commit(29, r)], [(10, 30)], 8, proof)
    assert not bp.verify_ranges([pedersen.commit(30, r)], [(10, 30)], 8, proof)


@pytest.mark.parametrize(
    "bound",
    [(5, 5), (6, 5), (0, 257), (-(2**128), 0), (0, 2**128 + 1)],
)
def test_invalid_bounds_refused(bound: tuple[int, int]) -> None:
    c = pedersen.commit(5, 1)
    with pytest.raises(RangeProofError):
        bp.intervals_statement([c], [bound], 8)
    with pytest.raises(RangeProofError):
        bp.prove_ranges([5], [1], [bound], 8)


def test_interval_count_mismatch_refused() -> None:
    with pytest.raises(RangeProofError, match="one \\(a, b\\) pair"):
        bp.intervals_statement([pedersen.commit(5, 1)], [(0, 10), (0, 10)], 8)


# --- property tests ------------------------------------------------------------------------


@settings(max_examples=12, deadline=None)
@given(
    n=st.sampled_from([8, 16]),
    values=st.lists(st.integers(min_value=0, max_value=255), min_size=1, max_size=4),
    context=st.binary(max_size=12),
    flip=st.integers(min_value=0),
)
def test_property_roundtrip_and_tamper(
    n: int, values: list[int], context: bytes, flip: int
) -> None:
    blindings, cs = openings(values)
    proof = bp.prove(values, blindings, n, context=context, commitments=cs)
    encoded = proof.encode()
    assert len(encoded) == bp.proof_size(n, len(values))
    assert bp.verify(cs, n, encoded, context=context)
    data = bytearray(encoded)
    data[flip % len(data)] ^= 1 << (flip // len(data) % 8)
    assert not bp.verify(cs, n, bytes(data), context=context)


@settings(max_examples=10, deadline=None)
@given(
    lo=st.integers(min_value=-(2**40), max_value=2**40),
    width=st.integers(min_value=1, max_value=256),
    data=st.data(),
)
def test_property_intervals(lo: int, width: int, data: st.DataObject) -> None:
    hi = lo + width
    v = data.draw(st.integers(min_value=lo, max_value=hi - 1))
    proof = bp.prove_ranges([v], [7], [(lo, hi)], 8)
    assert bp.verify_ranges([pedersen.commit(v, 7)], [(lo, hi)], 8, proof)
    outside = data.draw(
        st.one_of(
            st.integers(max_value=lo - 1, min_value=lo - 1000),
            st.integers(min_value=hi, max_value=hi + 1000),
        )
    )
    with pytest.raises(RangeProofError):
        bp.prove_ranges([outside], [7], [(lo, hi)], 8)


# --- generators and group primitives -------------------------------------------------------


def test_generators_are_hash_to_curve_points() -> None:
    gs, hs = bp.vector_generators(5)
    for i in (0, 4):
        msg = i.to_bytes(4, "big")
        assert gs[i] == group.hash_to_point(bp.G_PURPOSE, msg)
        assert hs[i] == group.hash_to_point(bp.H_PURPOSE, msg)
    assert bp.generator_u() == group.hash_to_point(bp.U_PURPOSE, b"")
    bases = [*gs, *hs, bp.generator_u(), pedersen.generator_g(), pedersen.generator_h()]
    assert len({p.to_compressed_bytes() for p in bases}) == len(bases)


def test_hash_to_points_matches_hash_to_point() -> None:
    msgs = [b"", b"\x00", b"abc", bytes(range(100))]
    for purpose in (b"x", b"bulletproofs-G", b"pedersen-H"):
        assert group.hash_to_points(purpose, msgs) == [
            group.hash_to_point(purpose, m) for m in msgs
        ]
    with pytest.raises(group.GroupError):
        group.hash_to_points(b"", msgs)


def test_batch_invert() -> None:
    values = [1, 2, Q - 1, secrets.randbelow(Q - 1) + 1, 12345]
    assert group.batch_invert(values) == [pow(v, -1, Q) for v in values]
    assert group.batch_invert([]) == []
    with pytest.raises(group.GroupError):
        group.batch_invert([3, Q, 5])


def test_msm_many_and_split_match_msm() -> None:
    pts = [group.mul(group.generator(), i + 2) for i in range(2100)]
    scalars = [secrets.randbelow(Q) for _ in pts]
    whole = group.msm(pts, scalars)
    assert group.msm_split(pts, scalars, 2) == whole
    assert group.msm_split(pts, scalars, 1) == whole
    jobs = [(pts[i : i + 7], scalars[i : i + 7]) for i in range(0, 70, 7)]
    expected = [group.msm(p, s) for p, s in jobs]
    assert group.msm_many(jobs, 2) == expected == group.msm_many(jobs, 3)
    with pytest.raises(group.GroupError):
        group.msm_many(jobs, 0)
    with pytest.raises(group.GroupError):
        group.msm_split(pts, scalars[:-1], 2)


# --- chunked statements --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("m", "sizes"),
    [
        (1, [1]),
        (32, [32]),
        (33, [33]),
        (70, [64, 6]),
        (2976, [2048, 512, 256, 128, 32]),
        (4096, [4096]),
        (4097, [4096, 1]),
    ],
)
def test_chunk_sizes(m: int, sizes: list[int]) -> None:
    assert bp.chunk_sizes(m) == sizes


@given(st.integers(1, 1 << 16))
def test_chunk_sizes_pad_less_than_a_granule(m: int) -> None:
    sizes = bp.chunk_sizes(m)
    assert sum(sizes) == m
    padded = [1 << (s - 1).bit_length() for s in sizes]
    assert sum(padded) < m + bp.CHUNK_GRANULE or len(sizes) == 1
    assert sizes == sorted(sizes, reverse=True)
    assert len(sizes) <= max(1, -(-m // bp.CHUNK_GRANULE)).bit_length()


@pytest.fixture(scope="module")
def chunked() -> tuple[list[int], list[int], list[Point], bytes]:
    values = sample_values(8, 70)
    blindings, commitments = openings(values)
    proof = bp.prove_chunked_values(values, blindings, 8, context=CTX, commitments=commitments)
    return values, blindings, commitments, proof


def test_chunked_completeness_and_size(
    chunked: tuple[list[int], list[int], list[Point], bytes],
) -> None:
    _, _, commitments, proof = chunked
    assert len(proof) == bp.proof_size(8, 64) + bp.proof_size(8, 6)
    assert bp.verify_chunked_values(commitments, 8, proof, context=CTX)


def test_chunked_rejects_truncation_extension_and_context(
    chunked: tuple[list[int], list[int], list[Point], bytes],
) -> None:
    _, _, commitments, proof = chunked
    assert not bp.verify_chunked_values(commitments, 8, proof[:-1], context=CTX)
    assert not bp.verify_chunked_values(commitments, 8, proof + b"\0", context=CTX)
    assert not bp.verify_chunked_values(commitments, 8, proof, context=CTX + b"x")
    assert not bp.verify_chunked_values(commitments[::-1], 8, proof, context=CTX)
    assert not bp.verify_chunked_values(commitments[:69], 8, proof, context=CTX)


def test_chunk_proofs_answer_only_for_their_place(
    chunked: tuple[list[int], list[int], list[Point], bytes],
) -> None:
    """The second chunk's proof from another split of the same values (another context), or
    a plain proof of the same commitments, does not pass as a chunk."""
    values, blindings, commitments, proof = chunked
    first = bp.proof_size(8, 64)
    other = bp.prove_chunked_values(
        values, blindings, 8, context=CTX + b"/2", commitments=commitments
    )
    assert not bp.verify_chunked_values(commitments, 8, proof[:first] + other[first:], context=CTX)
    few = bp.prove(values[:5], blindings[:5], 8, context=CTX).encode()
    assert not bp.verify_chunked_values(commitments[:5], 8, few, context=CTX)
    honest = bp.prove_chunked_values(values[:5], blindings[:5], 8, context=CTX)
    assert bp.verify_chunked_values(commitments[:5], 8, honest, context=CTX)


def test_chunked_cheating_prover_out_of_range_in_the_last_chunk(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A value out of range in the small last chunk: that chunk's proof fails, the batch fails."""
    values = sample_values(8, 70)
    values[68] = 300
    blindings, commitments = openings(values)

    def unchecked(
        st: RangeStatement, v: list[int], r: list[int]
    ) -> list[tuple[int, int]]:  # the openings, out of range or not
        return [((sign * v[i] + off) % Q, sign * r[i] % Q) for i, sign, off in st.constraints]

    monkeypatch.setattr(bp, "_check_openings", unchecked)
    proof = bp.prove_chunked_values(values, blindings, 8, context=CTX, commitments=commitments)
    assert not bp.verify_chunked_values(commitments, 8, proof, context=CTX)
    statements = bp.chunked_values_statements(commitments, 8, context=CTX)
    parts = bp.split_chunked_proof(statements, proof)
    assert parts is not None
    assert [bp.verify_statement(s, p) for s, p in zip(statements, parts, strict=True)] == [
        True,
        False,
    ]


def test_prove_many_proves_each_job_in_place() -> None:
    """Several statements proven at once (two at a time, largest first) come back in the jobs'
    order, each verifying its own statement only; a false job fails the call."""
    jobs = []
    for m, n, ctx in ((3, 8, b"a"), (40, 16, b"b"), (1, 8, b"c")):
        values = [secrets.randbelow(1 << n) for _ in range(m)]
        blindings = [group.random_scalar() for _ in range(m)]
        commitments = [pedersen.commit(v, r) for v, r in zip(values, blindings, strict=True)]
        jobs.append((bp.values_statement(commitments, n, context=ctx), values, blindings))
    for workers in (1, 2):
        proofs = bp.prove_many(jobs, workers=workers)
        assert [bp.verify_statement(st, p) for (st, _, _), p in zip(jobs, proofs, strict=True)] == [
            True,
            True,
            True,
        ]
        assert not bp.verify_statement(jobs[0][0], proofs[2])
    st, values, blindings = jobs[1]
    false = (st, [values[0] + (1 << 16), *values[1:]], blindings)
    with pytest.raises(RangeProofError):
        bp.prove_many([jobs[0], false], workers=2)
    with pytest.raises(RangeProofError, match="at least one worker"):
        bp.prove_many(jobs, workers=0)


def test_prove_chunked_many_equals_one_call_per_job() -> None:
    a = [5, 200, 7] * 30
    b = [1, 2]
    ra = [group.random_scalar() for _ in a]
    rb = [group.random_scalar() for _ in b]
    out = bp.prove_chunked_many(
        [bp.ChunkedValues(a, ra, 8, b"x"), bp.ChunkedValues(b, rb, 8, b"y")]
    )
    ca = [pedersen.commit(v, r) for v, r in zip(a, ra, strict=True)]
    cb = [pedersen.commit(v, r) for v, r in zip(b, rb, strict=True)]
    assert bp.verify_chunked_values(ca, 8, out[0], context=b"x")
    assert bp.verify_chunked_values(cb, 8, out[1], context=b"y")
    assert not bp.verify_chunked_values(cb, 8, out[1], context=b"x")
    assert len(out[0]) == len(bp.prove_chunked_values(a, ra, 8, context=b"x"))
