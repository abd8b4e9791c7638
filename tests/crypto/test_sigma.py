"""Sigma protocols for linear relations: notation, validation, completeness, soundness,
zero-knowledge simulation and batch verification."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from privbill.crypto import group, sigma, transcript
from privbill.crypto.group import Point
from privbill.crypto.sigma import (
    Equation,
    Flavor,
    Instance,
    LinearRelation,
    SeededPrng,
    SigmaError,
)

Q = group.ORDER
G = group.generator()


def point(k: int) -> Point:
    return group.mul(G, k)


def tag(flavor: Flavor, context: bytes = b"") -> bytes:
    return sigma.application_tag("test/sigma", flavor, context)


BOTH = pytest.mark.parametrize("flavor", [Flavor.BATCHABLE, Flavor.COMPACT])

# --- relations used throughout ---------------------------------------------------------------


def dleq(x: int = 1234567) -> tuple[LinearRelation, list[int]]:
    rel = LinearRelation()
    xs = rel.scalar("x")
    h = point(987654321)
    H, X, Y = rel.elements(H=h, X=point(x), Y=group.mul(h, x))
    rel.equation(X, xs * rel.G)
    rel.equation(Y, xs * H)
    return rel, rel.witness({xs: x})


def pedersen(m: int = 42, r: int = 777) -> tuple[LinearRelation, list[int]]:
    rel = LinearRelation()
    ms, rs = rel.scalars("m", "r")
    h = point(31337)
    H, C = rel.elements(H=h, C=group.msm([G, h], [m, r]))
    rel.equation(C, ms * rel.G + rs * H)
    return rel, rel.witness({"m": m, "r": r})


def bit(b: int, r: int = 99, s: int | None = None) -> tuple[LinearRelation, list[int]]:
    """The draft's ``Bit`` relation: ``C = b*G + r*H`` and ``C = b*C + s*H``."""
    h = point(4242)
    c = group.msm([G, h], [b, r])
    if s is None:  # b*C + s*H == C  <=>  s = (1 - b) * r  for b in {0, 1}
        s = (1 - b) * r % Q
    rel = LinearRelation()
    bs, rs, ss = rel.scalars("b", "r", "s")
    H, C = rel.elements(H=h, C=c)
    rel.equation(C, bs * rel.G + rs * H)
    rel.equation(C, bs * C + ss * H)
    return rel, rel.witness({bs: b, rs: r, ss: s})


def elgamal(x: int = 5555, r: int = 7777, m: int = 31) -> tuple[LinearRelation, list[int]]:
    """``X = x*G``, ``M = x*E0 - E1`` with ``E0 = r*G``, ``E1 = r*X - M``."""
    big_x, e0, msg = point(x), point(r), point(m)
    e1 = group.mul(big_x, r) - msg
    rel = LinearRelation()
    xs = rel.scalar("x")
    X, E0, E1, M = rel.elements(X=big_x, E0=e0, E1=e1, M=msg)
    rel.equation(X, xs * rel.G)
    rel.equation(M, xs * E0 - E1)
    return rel, [x]


RELATIONS: dict[str, Callable[[], tuple[LinearRelation, list[int]]]] = {
    "dleq": dleq,
    "pedersen": pedersen,
    "bit0": lambda: bit(0),
    "bit1": lambda: bit(1),
    "elgamal": elgamal,
}
ALL_RELATIONS = pytest.mark.parametrize("make", RELATIONS.values(), ids=RELATIONS.keys())


# --- notation ------------------------------------------------------------------------------


def test_chaum_pedersen_compiles_as_in_the_draft() -> None:
    rel = LinearRelation()
    x = rel.scalar("x")
    H, X, Y = rel.elements(H=point(2), X=point(3), Y=point(6))
    rel.equation(X, x * rel.G)
    rel.equation(Y, x * H)
    inst = rel.compile()
    assert inst.elements == (G, point(2), point(3), point(6))
    assert inst.equations == (
        Equation(image=((2, 1),), terms=((0, 0, 1),)),
        Equation(image=((3, 1),), terms=((0, 1, 1),)),
    )
    assert inst.num_scalars == 1 and inst.num_equations == 2 and inst.num_elements == 4


def test_chaum_pedersen_serialization_layout() -> None:
    rel, _ = dleq()
    inst = rel.compile()
    one = (1).to_bytes(32, "big")
    le = transcript.le
    expected = (
        le(2, 4)
        + le(1, 4) + le(2, 4) + one + le(1, 4) + le(0, 4) + le(0, 4) + one
        + le(1, 4) + le(3, 4) + one + le(1, 4) + le(0, 4) + le(1, 4) + one
        + transcript.encode_points(inst.elements[1:])
    )  # fmt: skip
    assert inst.to_bytes() == expected


def test_public_scalar_becomes_a_negated_image_term() -> None:
    """``OpensTo(m, H, C)``: ``C = m*G + r*H`` with public ``m``."""
    m = 17
    rel = LinearRelation()
    r = rel.scalar("r")
    H, C = rel.elements(H=point(5), C=point(m + 5 * 3))
    rel.equation(C, m * rel.G + r * H)
    assert rel.compile().equations == (Equation(image=((2, 1), (0, Q - m)), terms=((0, 1, 1),)),)


def test_constant_term_crossing_sides() -> None:
    rel, _ = elgamal()
    assert rel.compile().equations[1] == Equation(image=((4, 1), (3, 1)), terms=((0, 2, 1),))


def test_scalar_distributes_over_parentheses() -> None:
    """``AggregateEncryption``: ``M + E1 = r * (X1 + X2)``."""
    rel = LinearRelation()
    r = rel.scalar("r")
    X1, X2, M, E0, E1 = rel.elements(X1=point(2), X2=point(3), M=point(4), E0=point(5), E1=point(6))
    rel.equation(E0, r * rel.G)
    rel.equation(M + E1, r * (X1 + X2))
    assert rel.compile().equations[1] == Equation(
        image=((3, 1), (5, 1)), terms=((0, 1, 1), (0, 2, 1))
    )


def test_coefficients_and_negation() -> None:
    rel = LinearRelation()
    x, y = rel.scalars("x", "y")
    A, B = rel.elements(A=point(2), B=point(3))
    rel.equation(2 * A - B, 3 * x * rel.G - y * B + x * (A - 2 * B))
    eq = rel.compile().equations[0]
    assert eq.image == ((1, 2), (2, Q - 1))
    assert eq.terms == ((0, 0, 3), (1, 2, Q - 1), (0, 1, 1), (0, 2, Q - 2))


def test_witness_term_on_the_left_moves_right() -> None:
    rel = LinearRelation()
    x = rel.scalar("x")
    X = rel.element("X", point(9))
    rel.equation(x * rel.G, X)
    assert rel.compile().equations[0] == Equation(image=((1, Q - 1),), terms=((0, 0, Q - 1),))


def test_sum_builds_expressions() -> None:
    rel = LinearRelation()
    xs = rel.scalars("a", "b", "c")
    es = rel.element_vector("E", [point(k) for k in (2, 3, 4)])
    C = rel.element("C", point(20))
    rel.equation(C, sum((s * e for s, e in zip(xs, es, strict=True)), sigma.Expr(rel)))
    assert rel.compile().equations[0].terms == ((0, 1, 1), (1, 2, 1), (2, 3, 1))
    assert rel.element_names == ("G", "E_0", "E_1", "E_2", "C")


def test_relation_renders_in_the_draft_syntax() -> None:
    rel, _ = elgamal()
    text = str(rel)
    assert "Witness: x" in text
    assert "X = x * G" in text
    assert "M + E1 = x * E0" in text


def test_template_instances() -> None:
    rel = LinearRelation()
    x = rel.scalar("x")
    X = rel.element("X")
    rel.equation(X, x * rel.G)
    with pytest.raises(SigmaError, match="without a value"):
        rel.compile()
    a, b = rel.instance({"X": point(3)}), rel.instance({X: point(4)})
    assert a.elements[1] == point(3) and b.elements[1] == point(4)
    with pytest.raises(SigmaError):
        rel.instance({"G": point(5)})
    with pytest.raises(SigmaError):
        rel.instance({"nope": point(5)})
    rel.set_element(X, point(7))
    assert rel.compile().elements[1] == point(7)


def test_builder_rejects_misuse() -> None:
    rel = LinearRelation()
    x, y = rel.scalars("x", "y")
    A = rel.element("A", point(2))
    with pytest.raises(SigmaError, match="linear"):
        _ = x * (y * A)
    with pytest.raises(SigmaError):
        rel.scalar("x")  # duplicate name
    with pytest.raises(SigmaError):
        rel.element("G")
    with pytest.raises(SigmaError):
        rel.equation(A, 2 * A)  # no witness term
    with pytest.raises(SigmaError):
        rel.equation(x * A, y * rel.G)  # no image term
    other = LinearRelation()
    z = other.scalar("z")
    with pytest.raises(SigmaError):
        rel.equation(A, z * rel.G)
    with pytest.raises(SigmaError):
        _ = A + other.G
    with pytest.raises(SigmaError):
        rel.witness({x: 1})  # y missing
    with pytest.raises(SigmaError):
        rel.witness({"x": 1, "y": 2, "w": 3})
    with pytest.raises(SigmaError):
        rel.witness({2 * x: 1, y: 2})
    with pytest.raises(TypeError):
        _ = A + 1
    with pytest.raises(SigmaError):
        Equation(image=((0, Q),), terms=((0, 0, 1),))


# --- instance validation -------------------------------------------------------------------


def _problem(elements: list[Point], equations: list[Equation]) -> str | None:
    return Instance(elements, equations).problem()


def test_validation_checks() -> None:
    P, R = point(2), point(3)
    ok = Equation(((1, 1),), ((0, 0, 1),))
    assert _problem([G, P], [ok]) is None
    assert _problem([G, P], []).startswith("check 1")
    assert _problem([G, P], [Equation(((1, 1),), ())]).startswith("check 2")
    assert _problem([G, P], [Equation((), ((0, 0, 1),))]).startswith("check 2")
    assert _problem([G, P], [Equation(((1, 1),), ((0, 2**32, 1),))]).startswith("check 3")
    assert _problem([G, P], [Equation(((2, 1),), ((0, 0, 1),))]).startswith("check 4")
    assert _problem([G, P, R], [ok]).startswith("check 5")
    assert _problem([G, P], [Equation(((1, 1),), ((1, 0, 1),))]).startswith("check 6")
    assert _problem([P, P], [ok]).startswith("check 7")
    assert _problem([G, group.identity()], [ok]).startswith("check 8")
    assert _problem([G, P], [Equation(((1, 0),), ((0, 0, 1),))]).startswith("check 9")
    cancelling = Equation(((1, 1), (2, 1)), ((0, 0, 1),))
    assert _problem([G, P, -P], [cancelling]).startswith("check 9")
    zero_column = Equation(((1, 1),), ((0, 0, 1), (1, 2, 1), (1, 3, Q - 1)))
    assert _problem([G, P, R, R], [zero_column]).startswith("check 10")
    assert _problem([G, P, R, R], [Equation(((1, 1),), ((0, 0, 1), (1, 2, 1), (1, 3, 1)))]) is None


def test_invalid_instance_is_refused_by_prover_and_rejected_by_verifier() -> None:
    inst = Instance([G, point(2), point(3)], [Equation(((1, 1),), ((0, 0, 1),))])  # check 5
    t = tag(Flavor.BATCHABLE)
    with pytest.raises(SigmaError, match="check 5"):
        sigma.prove_batchable(t, inst, [2], check_witness=False)
    valid = Instance([G, point(2)], [Equation(((1, 1),), ((0, 0, 1),))])
    narg = sigma.prove_batchable(t, valid, [2])
    inst_same_bytes = Instance([G, point(2), point(3)], valid.equations)
    assert not sigma.verify_batchable(t, inst_same_bytes, narg)
    assert not sigma.batch_verify([(t, inst_same_bytes, narg)])


def test_serialization_round_trip_and_strict_parsing() -> None:
    for make in RELATIONS.values():
        inst = make()[0].compile()
        data = inst.to_bytes()
        parsed = Instance.from_bytes(data)
        assert parsed.to_bytes() == data
        assert parsed.elements == inst.elements
        for cut in range(len(data)):
            with pytest.raises(SigmaError):
                Instance.from_bytes(data[:cut])
        with pytest.raises(SigmaError):
            Instance.from_bytes(data + bytes(1))


def test_parser_rejects_huge_counts_and_noncanonical_coefficients() -> None:
    with pytest.raises(SigmaError):
        Instance.from_bytes(b"\xff\xff\xff\xff" + bytes(100))
    rel, _ = pedersen()
    data = bytearray(rel.compile().to_bytes())
    # the first image coefficient sits after LE(n_eq) || LE(n_img) || LE(index)
    data[12:44] = (1 + Q).to_bytes(32, "big")
    with pytest.raises(SigmaError, match="non-canonical"):
        Instance.from_bytes(bytes(data))


# --- completeness --------------------------------------------------------------------------


@ALL_RELATIONS
@BOTH
def test_completeness(make: Callable[[], tuple[LinearRelation, list[int]]], flavor: Flavor) -> None:
    rel, witness = make()
    t = tag(flavor)
    narg = sigma.prove(t, rel, witness, flavor)
    n_eq, n_sc = rel.compile().num_equations, rel.compile().num_scalars
    expected_len = 48 * n_eq + 32 * n_sc if flavor is Flavor.BATCHABLE else 32 * (n_sc + 1)
    assert len(narg) == expected_len
    assert sigma.verify(t, rel, narg, flavor)


@ALL_RELATIONS
def test_interactive_protocol(make: Callable[[], tuple[LinearRelation, list[int]]]) -> None:
    rel, witness = make()
    commitment, state = sigma.prover_commit(rel, witness)
    challenge = sigma.SYSTEM_RNG.random_scalar()
    response = sigma.prover_response(state, challenge)
    assert sigma.verifier(rel, commitment, challenge, response)
    assert not sigma.verifier(rel, commitment, challenge + 1, response)
    assert not sigma.verifier(rel, commitment[:-1], challenge, response)
    with pytest.raises(SigmaError, match="already used"):
        sigma.prover_response(state, challenge)
    assert "secret" in repr(state)


def test_prover_refuses_false_statements_and_bad_witness_lengths() -> None:
    rel, witness = pedersen()
    for flavor in Flavor:
        with pytest.raises(SigmaError, match="does not satisfy"):
            sigma.prove(tag(flavor), rel, [witness[0] + 1, witness[1]], flavor)
    with pytest.raises(SigmaError):
        sigma.prove_batchable(tag(Flavor.BATCHABLE), rel, witness[:1])
    with pytest.raises(SigmaError):
        sigma.prover_commit(rel, [*witness, 5])
    # bit relation with b = 2: no witness exists; the prover refuses
    fake, fake_witness = bit(2, s=0)
    with pytest.raises(SigmaError):
        sigma.prove_compact(tag(Flavor.COMPACT), fake, fake_witness)


def test_unchecked_false_witness_does_not_verify() -> None:
    rel, witness = pedersen()
    t = tag(Flavor.BATCHABLE)
    narg = sigma.prove_batchable(t, rel, [witness[0] + 1, witness[1]], check_witness=False)
    assert not sigma.verify_batchable(t, rel, narg)


def test_tags_must_name_flavor_and_ciphersuite() -> None:
    rel, witness = pedersen()
    with pytest.raises(SigmaError):
        sigma.prove_batchable(b"app-v1-CMPT-with-" + sigma.CIPHERSUITE_ID.encode(), rel, witness)
    with pytest.raises(SigmaError):
        sigma.prove_compact(b"app-v1-CMPT", rel, witness)
    with pytest.raises(SigmaError):
        sigma.verify_batchable(b"DSFS-CMPT-" + sigma.CIPHERSUITE_ID.encode(), rel, b"")


def test_application_tag_format() -> None:
    t = sigma.application_tag("gadget/x", Flavor.BATCHABLE, b"\x01\xff")
    assert t == b"privbill/v1/gadget/x-DSFS-with-sigma-proofs_Shake128_BLS12381/ctx:01ff"
    assert sigma.application_tag("a", "CDS") != sigma.application_tag("a", "CDS", b"\x00")
    for bad in ("", "Upper", "a b", "x/ctx:1", "-lead"):
        with pytest.raises(SigmaError):
            sigma.application_tag(bad, Flavor.COMPACT)
    with pytest.raises(SigmaError):
        sigma.application_tag("ok", "lower")


# --- soundness: every altered component is rejected -----------------------------------------


def _other_point(raw: bytes) -> bytes:
    return group.encode_point(group.decode_point(raw) + G)


@ALL_RELATIONS
def test_batchable_components_are_bound(
    make: Callable[[], tuple[LinearRelation, list[int]]],
) -> None:
    rel, witness = make()
    inst = rel.compile()
    t = tag(Flavor.BATCHABLE)
    narg = sigma.prove_batchable(t, inst, witness)
    assert sigma.verify_batchable(t, inst, narg)
    for i in range(inst.num_equations):  # each commitment element
        forged = narg[: 48 * i] + _other_point(narg[48 * i : 48 * i + 48]) + narg[48 * i + 48 :]
        assert not sigma.verify_batchable(t, inst, forged)
    base = 48 * inst.num_equations
    for j in range(inst.num_scalars):  # each response scalar
        z = int.from_bytes(narg[base + 32 * j : base + 32 * j + 32], "big")
        forged = (
            narg[: base + 32 * j] + ((z + 1) % Q).to_bytes(32, "big") + narg[base + 32 * j + 32 :]
        )
        assert not sigma.verify_batchable(t, inst, forged)
        noncanonical = (
            narg[: base + 32 * j] + (z + Q).to_bytes(32, "big") + narg[base + 32 * j + 32 :]
        )
        if z + Q < 2**256:
            assert not sigma.verify_batchable(t, inst, noncanonical)
    assert not sigma.verify_batchable(t, inst, narg + b"\x00")
    assert not sigma.verify_batchable(t, inst, narg[:-1])


@ALL_RELATIONS
def test_compact_components_are_bound(make: Callable[[], tuple[LinearRelation, list[int]]]) -> None:
    rel, witness = make()
    inst = rel.compile()
    t = tag(Flavor.COMPACT)
    narg = sigma.prove_compact(t, inst, witness)
    for j in range(inst.num_scalars + 1):  # the challenge, then each response
        v = int.from_bytes(narg[32 * j : 32 * j + 32], "big")
        forged = narg[: 32 * j] + ((v + 1) % Q).to_bytes(32, "big") + narg[32 * j + 32 :]
        assert not sigma.verify_compact(t, inst, forged)
    assert not sigma.verify_compact(t, inst, bytes(len(narg)))
    assert not sigma.verify_compact(t, inst, narg + b"\x00")


@ALL_RELATIONS
@BOTH
def test_statement_and_tag_are_bound(
    make: Callable[[], tuple[LinearRelation, list[int]]], flavor: Flavor
) -> None:
    rel, witness = make()
    inst = rel.compile()
    t = tag(flavor)
    narg = sigma.prove(t, inst, witness, flavor)
    for e in range(1, inst.num_elements):  # every statement element
        elements = list(inst.elements)
        elements[e] = elements[e] + G
        assert not sigma.verify(t, Instance(elements, inst.equations), narg, flavor)
    for e in range(len(inst.equations)):  # every coefficient of every equation
        eq = inst.equations[e]
        bumped = Equation(((eq.image[0][0], (eq.image[0][1] + 1) % Q), *eq.image[1:]), eq.terms)
        equations = list(inst.equations)
        equations[e] = bumped
        assert not sigma.verify(t, Instance(inst.elements, equations), narg, flavor)
    assert not sigma.verify(tag(flavor, b"other context"), inst, narg, flavor)
    other_protocol = sigma.application_tag("test/other", flavor)
    assert not sigma.verify(other_protocol, inst, narg, flavor)


def test_every_byte_of_an_opening_proof_matters() -> None:
    rel, witness = pedersen()
    for flavor in Flavor:
        t = tag(flavor)
        narg = sigma.prove(t, rel, witness, flavor)
        inst = rel.compile()
        for i in range(len(narg)):
            flipped = narg[:i] + bytes([narg[i] ^ 0x01]) + narg[i + 1 :]
            assert not sigma.verify(t, inst, flipped, flavor), (flavor, i)


# --- zero knowledge ------------------------------------------------------------------------


@ALL_RELATIONS
def test_simulated_transcripts_are_accepted(
    make: Callable[[], tuple[LinearRelation, list[int]]],
) -> None:
    rel, _ = make()  # the simulator never sees the witness
    for _ in range(3):
        challenge = sigma.SYSTEM_RNG.random_scalar()
        response = sigma.simulate_response(rel)
        commitment = sigma.simulate_commitment(rel, response, challenge)
        assert sigma.verifier(rel, commitment, challenge, response)


def test_simulated_compact_transcript_matches_the_compact_verifier_equation() -> None:
    """A compact NARG string is (challenge, response) whose simulated commitment hashes back to
    the challenge; a simulated pair for an arbitrary challenge passes every check except that
    last one, which only the random oracle (or a witness) can satisfy."""
    rel, witness = pedersen()
    t = tag(Flavor.COMPACT)
    narg = sigma.prove_compact(t, rel, witness)
    challenge, *response = transcript.decode_scalars(narg, 3)
    commitment = sigma.simulate_commitment(rel, response, challenge)
    assert sigma.verifier(rel, commitment, challenge, response)
    assert sigma.derive_challenge(t, rel, transcript.encode_points(commitment)) == challenge


# --- randomness ----------------------------------------------------------------------------


def test_seeded_prng_is_deterministic_and_separated() -> None:
    a, b = SeededPrng(b"seed"), SeededPrng(b"seed")
    assert [a.random_scalar() for _ in range(3)] == [b.random_scalar() for _ in range(3)]
    assert SeededPrng(b"seed").random_scalar() != SeededPrng(b"seed2").random_scalar()
    expected = transcript.DuplexSponge(transcript.derive_session_id(b"seed")).squeeze(48)
    assert SeededPrng(b"seed").random_scalar() == int.from_bytes(expected, "little") % Q


def test_system_rng_yields_distinct_scalars() -> None:
    values = {sigma.SYSTEM_RNG.random_scalar() for _ in range(16)}
    assert len(values) == 16
    assert all(0 <= v < Q for v in values)


# --- batch verification --------------------------------------------------------------------


def _batch(n: int) -> list[tuple[bytes, Instance, bytes]]:
    items = []
    makers = list(RELATIONS.values())
    for i in range(n):
        rel, witness = makers[i % len(makers)]()
        t = tag(Flavor.BATCHABLE, i.to_bytes(2, "big"))
        items.append((t, rel.compile(), sigma.prove_batchable(t, rel, witness)))
    return items


def test_batch_verification_accepts_valid_and_rejects_one_bad_proof() -> None:
    items = _batch(12)
    assert sigma.batch_verify(items)
    assert sigma.batch_verify([])
    for k in (0, 5, 11):
        t, inst, narg = items[k]
        z = int.from_bytes(narg[-32:], "big")
        bad = narg[:-32] + ((z + 1) % Q).to_bytes(32, "big")
        assert not sigma.batch_verify([*items[:k], (t, inst, bad), *items[k + 1 :]])
        swapped_commitment = _other_point(narg[:48]) + narg[48:]
        assert not sigma.batch_verify([*items[:k], (t, inst, swapped_commitment), *items[k + 1 :]])
        assert not sigma.batch_verify([*items[:k], (t, inst, narg[:-1]), *items[k + 1 :]])
    wrong_tag = [(tag(Flavor.BATCHABLE, b"x"), items[0][1], items[0][2]), *items[1:]]
    assert not sigma.batch_verify(wrong_tag)


def test_batch_rejects_compact_tags() -> None:
    rel, witness = pedersen()
    t = tag(Flavor.COMPACT)
    with pytest.raises(SigmaError):
        sigma.batch_verify([(t, rel, sigma.prove_compact(t, rel, witness))])


def test_batch_rejects_two_proofs_whose_errors_cancel() -> None:
    """Two proofs of the same statement with opposite errors in their commitments pass the
    plain sum of verification equations but not the randomised one."""
    rel, witness = pedersen()
    inst = rel.compile()
    t = tag(Flavor.BATCHABLE)
    a = sigma.prove_batchable(t, inst, witness)
    b = sigma.prove_batchable(t, inst, witness)
    delta = point(12345)
    a_bad = group.encode_point(group.decode_point(a[:48]) + delta) + a[48:]
    b_bad = group.encode_point(group.decode_point(b[:48]) - delta) + b[48:]
    assert sigma.batch_verify([(t, inst, a), (t, inst, b)])
    assert not sigma.batch_verify([(t, inst, a_bad), (t, inst, b_bad)])


# --- property tests ------------------------------------------------------------------------


@settings(max_examples=40, deadline=None)
@given(
    m=st.integers(min_value=0, max_value=Q - 1),
    r=st.integers(min_value=1, max_value=Q - 1),
    flavor=st.sampled_from(list(Flavor)),
)
def test_pedersen_openings_prove_and_verify(m: int, r: int, flavor: Flavor) -> None:
    rel, witness = pedersen(m, r)
    t = tag(flavor)
    narg = sigma.prove(t, rel, witness, flavor)
    assert sigma.verify(t, rel, narg, flavor)


@settings(max_examples=30, deadline=None)
@given(data=st.data())
def test_random_relations_prove_and_verify(data: st.DataObject) -> None:
    n_scalars = data.draw(st.integers(min_value=1, max_value=3))
    n_equations = data.draw(st.integers(min_value=1, max_value=3))
    witness = [data.draw(st.integers(min_value=1, max_value=Q - 1)) for _ in range(n_scalars)]
    rel = LinearRelation()
    xs = rel.scalars(*(f"x{k}" for k in range(n_scalars)))
    base_points = [point(data.draw(st.integers(2, 2**64))) for _ in range(2)]
    bases = [rel.element(f"B{k}", p) for k, p in enumerate(base_points)]
    value_of = {0: G, bases[0].index: base_points[0], bases[1].index: base_points[1]}
    for i in range(n_equations):
        coeffs = [data.draw(st.integers(min_value=1, max_value=50)) for _ in xs]
        picks = [data.draw(st.sampled_from([rel.G, *bases])) for _ in xs]
        image_value = group.msm(
            [value_of[p.index] for p in picks],
            [c * w for c, w in zip(coeffs, witness, strict=True)],
        )
        Y = rel.element(f"Y{i}", image_value)
        terms = (c * x * p for c, x, p in zip(coeffs, xs, picks, strict=True))
        rel.equation(Y, sum(terms, sigma.Expr(rel)))
    inst = rel.compile()
    if not inst.is_valid():  # e.g. an unused base element: nothing to prove
        assert inst.problem() is not None
        return
    assert Instance.from_bytes(inst.to_bytes()).to_bytes() == inst.to_bytes()
    flavor = data.draw(st.sampled_from(list(Flavor)))
    t = tag(flavor)
    narg = sigma.prove(t, inst, witness, flavor)
    assert sigma.verify(t, inst, narg, flavor)
    bad = bytearray(narg)
    bad[data.draw(st.integers(0, len(narg) - 1))] ^= 1 << data.draw(st.integers(0, 7))
    assert not sigma.verify(t, inst, bytes(bad), flavor)
