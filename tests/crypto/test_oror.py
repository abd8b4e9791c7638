"""Cramer–Damgård–Schoenmakers OR composition of linear relations."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from privbill.crypto import group, oror, pedersen, sigma, transcript
from privbill.crypto.group import Point
from privbill.crypto.sigma import Equation, Instance, LinearRelation, SeededPrng, SigmaError

Q = group.ORDER
G = group.generator()
H = group.hash_to_point(b"test-or-H", b"")


def point(k: int) -> Point:
    return group.mul(G, k)


def dlog_clause(x: int) -> Instance:
    rel = LinearRelation()
    xs = rel.scalar("x")
    X = rel.element("X", point(x))
    rel.equation(X, xs * rel.G)
    return rel.compile()


def opening_clause(commitment: Point) -> Instance:
    rel = LinearRelation()
    m, r = rel.scalars("m", "r")
    Hv, C = rel.elements(H=H, C=commitment)
    rel.equation(C, m * rel.G + r * Hv)
    return rel.compile()


def opens_to_clause(commitment: Point, value: int) -> Instance:
    """``C - value*G = r*H``."""
    rel = LinearRelation()
    r = rel.scalar("r")
    Hv, C = rel.elements(H=H, C=commitment)
    rel.equation(C - value * rel.G, r * Hv)
    return rel.compile()


def mixed_clauses() -> tuple[list[Instance], list[list[int]]]:
    """Clauses of different shapes, each with its witness."""
    m, r, x = 11, 22, 33
    c = group.msm([G, H], [m, r])
    clauses = [dlog_clause(x), opening_clause(c), opens_to_clause(c, m), dlog_clause(x + 1)]
    witnesses = [[x], [m, r], [r], [x + 1]]
    return clauses, witnesses


# --- completeness --------------------------------------------------------------------------


@pytest.mark.parametrize("index", range(4))
def test_every_clause_can_be_the_real_one(index: int) -> None:
    clauses, witnesses = mixed_clauses()
    proof = oror.prove_or(clauses, index, witnesses[index], context=b"ctx")
    assert len(proof) == oror.proof_length(clauses) == 32 * (4 + 1 + 2 + 1 + 1)
    assert oror.verify_or(clauses, proof, context=b"ctx")


def test_single_clause() -> None:
    clause = dlog_clause(5)
    proof = oror.prove_or([clause], 0, [5])
    assert oror.verify_or([clause], proof)


@pytest.mark.parametrize("n", [2, 8])
def test_set_membership_sizes(n: int) -> None:
    r = 4242
    values = list(range(100, 100 + n))
    c = group.msm([G, H], [values[n - 1], r])
    clauses = [opens_to_clause(c, v) for v in values]
    proof = oror.prove_or(clauses, n - 1, [r], label="set")
    assert oror.verify_or(clauses, proof, label="set")
    assert not oror.verify_or(clauses, proof, label="generic")


def test_interactive_challenges_sum_to_the_challenge() -> None:
    clauses, witnesses = mixed_clauses()
    commitments, state = oror.or_commit(clauses, 2, witnesses[2])
    challenge = sigma.SYSTEM_RNG.random_scalar()
    challenges, responses = oror.or_respond(state, challenge)
    assert sum(challenges) % Q == challenge
    assert oror.or_verifier(clauses, commitments, challenge, challenges, responses)
    assert not oror.or_verifier(clauses, commitments, challenge + 1, challenges, responses)
    for j in range(len(clauses)):  # each clause transcript is itself accepting
        assert sigma.verifier(clauses[j], commitments[j], challenges[j], responses[j])
    with pytest.raises(SigmaError, match="already used"):
        oror.or_respond(state, challenge)
    assert "secret" in repr(state)


def test_real_and_simulated_clauses_share_one_code_path(monkeypatch: pytest.MonkeyPatch) -> None:
    """The prover makes the same calls, in the same order, whichever clause is real."""
    clauses = [dlog_clause(x) for x in (3, 4, 5)]
    calls: list[tuple[int, int]] = []
    original = sigma.simulate_commitment

    def recording(rel: sigma.RelationLike, response: list[int], challenge: int) -> list[Point]:
        calls.append((id(rel), len(response)))
        return original(rel, response, challenge)

    monkeypatch.setattr(sigma, "simulate_commitment", recording)
    traces = []
    for index in range(3):
        calls.clear()
        oror.or_commit(clauses, index, [3 + index])
        traces.append(list(calls))
    assert traces[0] == traces[1] == traces[2]
    assert len(traces[0]) == 2 * len(clauses)  # witness check and commitment for each clause


# --- soundness -----------------------------------------------------------------------------


def test_every_scalar_of_the_proof_is_bound() -> None:
    clauses, witnesses = mixed_clauses()
    proof = oror.prove_or(clauses, 1, witnesses[1])
    for j in range(len(proof) // 32):
        v = int.from_bytes(proof[32 * j : 32 * j + 32], "big")
        forged = proof[: 32 * j] + ((v + 1) % Q).to_bytes(32, "big") + proof[32 * j + 32 :]
        assert not oror.verify_or(clauses, forged), j
        if v + Q < 2**256:
            noncanonical = proof[: 32 * j] + (v + Q).to_bytes(32, "big") + proof[32 * j + 32 :]
            assert not oror.verify_or(clauses, noncanonical), j
    assert not oror.verify_or(clauses, proof + b"\x00")
    assert not oror.verify_or(clauses, proof[:-1])
    assert not oror.verify_or(clauses, b"")


def test_shifting_challenge_between_clauses_is_rejected() -> None:
    clauses, witnesses = mixed_clauses()
    proof = oror.prove_or(clauses, 0, witnesses[0])
    c = transcript.decode_scalars(proof[:128], 4)
    shifted = [(c[0] + 1) % Q, (c[1] - 1) % Q, c[2], c[3]]  # same sum
    forged = transcript.encode_scalars(shifted) + proof[128:]
    assert not oror.verify_or(clauses, forged)


def test_statement_label_and_context_are_bound() -> None:
    clauses, witnesses = mixed_clauses()
    proof = oror.prove_or(clauses, 3, witnesses[3], label="mixed", context=b"period-1")
    assert oror.verify_or(clauses, proof, label="mixed", context=b"period-1")
    assert not oror.verify_or(clauses, proof, label="mixed", context=b"period-2")
    assert not oror.verify_or(clauses, proof, label="other", context=b"period-1")
    assert not oror.verify_or(clauses[::-1], proof, label="mixed", context=b"period-1")
    swapped = [clauses[0], clauses[3], clauses[2], clauses[1]]  # same shapes, other order
    assert not oror.verify_or(swapped, proof, label="mixed", context=b"period-1")
    for j, clause in enumerate(clauses):  # change one element of each clause in turn
        elements = list(clause.elements)
        elements[-1] = elements[-1] + G
        altered = [*clauses[:j], Instance(elements, clause.equations), *clauses[j + 1 :]]
        assert not oror.verify_or(altered, proof, label="mixed", context=b"period-1"), j


def test_no_witness_no_proof() -> None:
    clauses = [dlog_clause(x) for x in (3, 4)]
    with pytest.raises(SigmaError, match="does not satisfy"):
        oror.prove_or(clauses, 0, [4])
    with pytest.raises(SigmaError):
        oror.prove_or(clauses, 2, [3])
    with pytest.raises(SigmaError):
        oror.prove_or(clauses, 0, [3, 3])
    with pytest.raises(SigmaError):
        oror.prove_or([], 0, [])


def test_forged_proof_from_simulation_is_rejected() -> None:
    """Simulating every clause for a self-chosen challenge does not give a valid NARG string."""
    clauses = [dlog_clause(x) for x in (3, 4, 5)]
    challenge = sigma.SYSTEM_RNG.random_scalar()
    _, challenges, responses = oror.or_simulate(clauses, challenge)
    forged = transcript.encode_scalars([*challenges, *(z for resp in responses for z in resp)])
    assert not oror.verify_or(clauses, forged)


def test_invalid_clause_is_rejected() -> None:
    valid = dlog_clause(3)
    invalid = Instance([G, point(2), point(3)], [Equation(((1, 1),), ((0, 0, 1),))])
    proof = oror.prove_or([valid, dlog_clause(4)], 0, [3])
    assert not oror.verify_or([valid, invalid], proof)
    with pytest.raises(SigmaError):
        oror.prove_or([valid, invalid], 0, [3])


# --- zero knowledge ------------------------------------------------------------------------


@pytest.mark.parametrize("n", [1, 3, 6])
def test_simulated_transcripts_are_accepted(n: int) -> None:
    clauses = [dlog_clause(x) for x in range(10, 10 + n)]
    challenge = sigma.SYSTEM_RNG.random_scalar()
    commitments, challenges, responses = oror.or_simulate(clauses, challenge)
    assert oror.or_verifier(clauses, commitments, challenge, challenges, responses)


def test_proof_shape_does_not_depend_on_the_real_clause() -> None:
    """With the same randomness the prover consumes the same number of scalars and outputs the
    same length whichever clause is real."""
    clauses = [opens_to_clause(group.msm([G, H], [7, 9]), v) for v in (5, 6, 7)]
    c2 = group.msm([G, H], [5, 9])
    alt = [opens_to_clause(c2, v) for v in (5, 6, 7)]
    p_last = oror.prove_or(clauses, 2, [9], rng=SeededPrng(b"same"))
    p_first = oror.prove_or(alt, 0, [9], rng=SeededPrng(b"same"))
    assert len(p_last) == len(p_first)
    assert oror.verify_or(clauses, p_last) and oror.verify_or(alt, p_first)


@settings(max_examples=25, deadline=None)
@given(
    n=st.integers(min_value=1, max_value=5),
    data=st.data(),
)
def test_random_or_statements(n: int, data: st.DataObject) -> None:
    secrets_ = [data.draw(st.integers(min_value=1, max_value=Q - 1)) for _ in range(n)]
    clauses = [dlog_clause(x) for x in secrets_]
    index = data.draw(st.integers(min_value=0, max_value=n - 1))
    context = data.draw(st.binary(max_size=16))
    proof = oror.prove_or(clauses, index, [secrets_[index]], context=context)
    assert oror.verify_or(clauses, proof, context=context)
    bad = bytearray(proof)
    bad[data.draw(st.integers(0, len(proof) - 1))] ^= 1 << data.draw(st.integers(0, 7))
    assert not oror.verify_or(clauses, bytes(bad), context=context)


# --- batchable OR: one of several commitments is to zero ------------------------------------


def _zero_or_transcript(label: bytes) -> transcript.Transcript:
    t = transcript.Transcript(transcript.derive_session_id(b"test/zero-or"))
    t.absorb_instance(label)
    return t


def _in_set_proof(value: int, blinding: int, values: list[int], index: int) -> bytes:
    """Clause ``j``: ``C − values[j]·G`` is a multiple of ``H`` (it opens to ``value − v_j``)."""
    openings = [(value - v, blinding) for v in values]
    return oror.prove_zero_or(_zero_or_transcript(b"set"), openings, index)


def _in_set_holds(c: Point, values: list[int], proof: bytes, label: bytes = b"set") -> bool:
    n_points, n_scalars = oror.zero_or_length(len(values))
    t_bytes = proof[: n_points * group.POINT_BYTES]
    ts = group.decode_points(t_bytes, n_points)
    scalars = transcript.decode_scalars(proof[len(t_bytes) :], n_scalars)
    images = [([1], -v) for v in values]
    terms = oror.zero_or_terms(_zero_or_transcript(label), t_bytes, ts, scalars, [c], images)
    bases, coefs, g, h = terms
    pts = [*bases, G, pedersen.generator_h()]
    return group.is_identity(group.msm(pts, [*coefs, g, h]))


@pytest.mark.parametrize("index", range(4))
def test_zero_or_every_clause_can_be_the_real_one(index: int) -> None:
    values = [3, 17, 250, 4096]
    r = group.random_scalar()
    c = pedersen.commit(values[index], r)
    proof = _in_set_proof(values[index], r, values, index)
    n_points, n_scalars = oror.zero_or_length(4)
    assert len(proof) == n_points * group.POINT_BYTES + n_scalars * group.SCALAR_BYTES
    assert _in_set_holds(c, values, proof)
    assert not _in_set_holds(c, values, proof, label=b"other")
    assert not _in_set_holds(c, [*values[:-1], 4097], proof)
    assert not _in_set_holds(pedersen.commit(values[index] + 1, r), values, proof)


def test_zero_or_without_a_true_clause_does_not_verify() -> None:
    values = [3, 17, 250]
    r = group.random_scalar()
    for index in range(3):  # the committed 18 is none of the values
        proof = _in_set_proof(18, r, values, index)
        assert not _in_set_holds(pedersen.commit(18, r), values, proof)


def test_zero_or_altered_scalars_do_not_verify() -> None:
    values = [3, 17, 250]
    r = group.random_scalar()
    c = pedersen.commit(17, r)
    proof = _in_set_proof(17, r, values, 1)
    start = 3 * group.POINT_BYTES
    for k in range(5):  # c_0, c_1, z_0, z_1, z_2: the last bit of each
        i = start + k * group.SCALAR_BYTES + group.SCALAR_BYTES - 1
        bad = proof[:i] + bytes([proof[i] ^ 1]) + proof[i + 1 :]
        assert not _in_set_holds(c, values, bad)
