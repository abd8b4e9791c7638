"""Gadgets over Pedersen commitments: opening, equality, linear combination, powers, table."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from privbill.crypto import gadgets, group, oror, pedersen, sigma, transcript
from privbill.crypto.pedersen import Opening
from privbill.crypto.sigma import Flavor, SigmaError

Q = group.ORDER
BOTH = pytest.mark.parametrize("flavor", [Flavor.BATCHABLE, Flavor.COMPACT])


def opening(value: int) -> Opening:
    return Opening(value, group.random_scalar())


def flip(proof: bytes, i: int) -> bytes:
    return proof[:i] + bytes([proof[i] ^ 1]) + proof[i + 1 :]


# --- opening -------------------------------------------------------------------------------


@BOTH
def test_opening(flavor: Flavor) -> None:
    o = opening(1234)
    c = o.commitment()
    proof = gadgets.prove_opening(c, o, context=b"meter-7", flavor=flavor)
    assert gadgets.verify_opening(c, proof, context=b"meter-7", flavor=flavor)
    assert not gadgets.verify_opening(c, proof, context=b"meter-8", flavor=flavor)
    assert not gadgets.verify_opening(c, proof, flavor=flavor)
    assert not gadgets.verify_opening(opening(1234).commitment(), proof, context=b"meter-7")
    for i in range(0, len(proof), 7):
        assert not gadgets.verify_opening(c, flip(proof, i), context=b"meter-7", flavor=flavor)


def test_opening_needs_the_opening() -> None:
    o = opening(5)
    with pytest.raises(SigmaError):
        gadgets.prove_opening(o.commitment(), Opening(6, o.blinding))


def test_opening_statement_is_the_pedersen_relation() -> None:
    o = opening(77)
    st_ = gadgets.opening_statement(o.commitment())
    assert st_.instance.elements == (group.generator(), pedersen.generator_h(), o.commitment())
    assert st_.instance.is_satisfied_by([o.value, o.blinding])
    assert st_.tag.startswith(
        b"privbill/v1/gadget/opening-DSFS-with-sigma-proofs_Shake128_BLS12381"
    )


# --- equality ------------------------------------------------------------------------------


@BOTH
def test_equal(flavor: Flavor) -> None:
    a, b = opening(99), opening(99)
    proof = gadgets.prove_equal(a.commitment(), b.commitment(), a, b, flavor=flavor)
    assert gadgets.verify_equal(a.commitment(), b.commitment(), proof, flavor=flavor)
    assert not gadgets.verify_equal(b.commitment(), a.commitment(), proof, flavor=flavor)
    other = opening(99).commitment()
    assert not gadgets.verify_equal(a.commitment(), other, proof, flavor=flavor)
    assert not gadgets.verify_equal(a.commitment(), b.commitment(), proof, context=b"x")


def test_equal_refuses_different_values() -> None:
    a, b = opening(1), opening(2)
    with pytest.raises(SigmaError):
        gadgets.prove_equal(a.commitment(), b.commitment(), a, b)


# --- linear combination --------------------------------------------------------------------


@BOTH
def test_linear_with_public_target(flavor: Flavor) -> None:
    coeffs = [3, -2, 5]
    ops = [opening(v) for v in (10, 4, 7)]
    cs = [o.commitment() for o in ops]
    target = 3 * 10 - 2 * 4 + 5 * 7
    proof = gadgets.prove_linear(coeffs, cs, ops, target, context=b"bill", flavor=flavor)
    assert gadgets.verify_linear(coeffs, cs, target, proof, context=b"bill", flavor=flavor)
    assert not gadgets.verify_linear(coeffs, cs, target + 1, proof, context=b"bill", flavor=flavor)
    assert not gadgets.verify_linear([3, -2, 6], cs, target, proof, context=b"bill", flavor=flavor)
    assert not gadgets.verify_linear(
        coeffs, cs[::-1], target, proof, context=b"bill", flavor=flavor
    )
    assert not gadgets.verify_linear(coeffs, cs, target, proof, context=b"other", flavor=flavor)


@BOTH
def test_linear_with_committed_target(flavor: Flavor) -> None:
    coeffs = [1, 1, 1, 1]
    ops = [opening(v) for v in (250, 300, 275, 310)]
    cs = [o.commitment() for o in ops]
    total = opening(1135)
    proof = gadgets.prove_linear(coeffs, cs, ops, total.commitment(), total, flavor=flavor)
    assert gadgets.verify_linear(coeffs, cs, total.commitment(), proof, flavor=flavor)
    assert not gadgets.verify_linear(coeffs, cs, opening(1135).commitment(), proof, flavor=flavor)
    assert not gadgets.verify_linear(coeffs, cs, 1135, proof, flavor=flavor)


def test_linear_refuses_false_or_trivial_statements() -> None:
    ops = [opening(v) for v in (1, 2)]
    cs = [o.commitment() for o in ops]
    with pytest.raises(SigmaError):
        gadgets.prove_linear([1, 1], cs, ops, 4)
    wrong = opening(4)
    with pytest.raises(SigmaError):
        gadgets.prove_linear([1, 1], cs, ops, wrong.commitment(), wrong)
    exact = Opening(3, (ops[0].blinding + ops[1].blinding) % Q)  # C_t == C_0 + C_1
    with pytest.raises(SigmaError, match="check 9"):
        gadgets.prove_linear([1, 1], cs, ops, exact.commitment(), exact)
    with pytest.raises(SigmaError):
        gadgets.prove_linear([1], cs, ops, 3)
    with pytest.raises(SigmaError):
        gadgets.prove_linear([1, 1], cs, ops, 3, ops[0])


# --- powers --------------------------------------------------------------------------------


def holds(terms: oror.Terms) -> bool:
    bases, scalars, g, h = terms
    pts = [*bases, pedersen.generator_g(), pedersen.generator_h()]
    return group.is_identity(group.msm(pts, [*scalars, g, h]))


def powers_statement(label: bytes, chain: list[bytes]) -> transcript.Transcript:
    t = transcript.Transcript(transcript.derive_session_id(b"test/powers"))
    t.absorb_instance(label + b"".join(chain))
    return t


def powers_verify(value_points: list[group.Point], proof: bytes, label: bytes = b"s") -> bool:
    d = len(value_points)
    n_points, n_scalars = gadgets.powers_length(d)
    t_bytes = proof[: n_points * group.POINT_BYTES]
    ts = group.decode_points(t_bytes, n_points)
    zs = transcript.decode_scalars(proof[len(t_bytes) :], n_scalars)
    t = powers_statement(label, [group.encode_point(p) for p in value_points])
    return holds(gadgets.powers_terms(t, t_bytes, ts, zs, value_points))


def prove_powers_of(value: int, d: int, label: bytes = b"s") -> tuple[list[group.Point], bytes]:
    rs = [group.random_scalar() for _ in range(d)]
    chain = [pedersen.commit(value**k, r) for k, r in zip(range(1, d + 1), rs, strict=True)]
    t = powers_statement(label, [group.encode_point(p) for p in chain])
    return chain, gadgets.prove_powers(t, value, rs)


@pytest.mark.parametrize("d", [2, 3])
def test_powers(d: int) -> None:
    chain, proof = prove_powers_of(1234, d)
    assert len(proof) == d * group.POINT_BYTES + (d + 1) * group.SCALAR_BYTES
    assert powers_verify(chain, proof)
    assert not powers_verify(chain, proof, label=b"other statement")
    if d == 3:
        assert not powers_verify([chain[0], chain[2], chain[1]], proof)
    for k in range(1, d):  # a power replaced by a commitment to another value
        wrong = [*chain[:k], pedersen.commit(1234 ** (k + 1) + 1, group.random_scalar())]
        assert not powers_verify([*wrong, *chain[k + 1 :]], proof)
    for k in range(d + 1):  # each response altered (its last bit: still a canonical scalar)
        i = d * group.POINT_BYTES + k * group.SCALAR_BYTES + group.SCALAR_BYTES - 1
        assert not powers_verify(chain, flip(proof, i))


def test_powers_of_a_false_chain_do_not_verify() -> None:
    # S commits to c² + 1: the honest prover's equations for c cannot hold
    c, rs = 41, [group.random_scalar(), group.random_scalar()]
    chain = [pedersen.commit(c, rs[0]), pedersen.commit(c * c + 1, rs[1])]
    t = powers_statement(b"s", [group.encode_point(p) for p in chain])
    proof = gadgets.prove_powers(t, c, rs)
    assert not powers_verify(chain, proof)


# --- table membership ----------------------------------------------------------------------


TARIFF = [[0, 21], [1, 28], [2, 35], [3, 17]]  # (band, price) rows


def test_table_membership_of_a_tuple() -> None:
    band, price = opening(2), opening(35)
    cs = [band.commitment(), price.commitment()]
    proof = gadgets.prove_membership(cs, [band, price], TARIFF, context=b"tariff-v3")
    assert len(proof) == 32 * (len(TARIFF) + 2 * len(TARIFF))
    assert gadgets.verify_membership(cs, TARIFF, proof, context=b"tariff-v3")
    assert not gadgets.verify_membership(cs, TARIFF, proof, context=b"tariff-v4")
    assert not gadgets.verify_membership(cs[::-1], TARIFF, proof, context=b"tariff-v3")
    altered = [*TARIFF[:2], [2, 36], TARIFF[3]]
    assert not gadgets.verify_membership(cs, altered, proof, context=b"tariff-v3")
    assert not gadgets.verify_membership(cs, TARIFF[::-1], proof, context=b"tariff-v3")


def test_table_refuses_values_outside_the_table() -> None:
    band, price = opening(2), opening(28)  # a mixed row
    with pytest.raises(SigmaError):
        gadgets.prove_membership([band.commitment(), price.commitment()], [band, price], TARIFF)
    with pytest.raises(SigmaError):
        gadgets.prove_membership(
            [band.commitment(), price.commitment()], [band, price], TARIFF, row=1
        )
    with pytest.raises(SigmaError):
        gadgets.table_clauses([band.commitment()], TARIFF)  # rows have two columns
    with pytest.raises(SigmaError):
        gadgets.table_clauses([band.commitment()], [])


@pytest.mark.parametrize("size", [1, 2, 8])
def test_set_membership(size: int) -> None:
    values = [100 * k for k in range(size)]
    o = opening(values[-1])
    proof = gadgets.prove_in_set(o.commitment(), o, values, context=b"c")
    assert gadgets.verify_in_set(o.commitment(), values, proof, context=b"c")
    assert not gadgets.verify_in_set(opening(values[-1]).commitment(), values, proof, context=b"c")
    for i in range(0, len(proof), 13):
        assert not gadgets.verify_in_set(o.commitment(), values, flip(proof, i), context=b"c")


def test_repeated_rows_and_explicit_row() -> None:
    o = opening(5)
    values = [5, 7, 5]
    for row in (0, 2):
        proof = gadgets.prove_membership([o.commitment()], [o], [[v] for v in values], row=row)
        assert gadgets.verify_in_set(o.commitment(), values, proof)


# --- zero knowledge ------------------------------------------------------------------------


def test_gadget_statements_have_accepting_simulations() -> None:
    a, b = opening(6), opening(7)
    statements = [
        gadgets.opening_statement(a.commitment()),
        gadgets.equal_statement(a.commitment(), b.commitment()),
        gadgets.linear_statement([1, 1], [a.commitment(), b.commitment()], 13),
    ]
    for st_ in statements:
        challenge = sigma.SYSTEM_RNG.random_scalar()
        response = sigma.simulate_response(st_.instance)
        commitment = sigma.simulate_commitment(st_.instance, response, challenge)
        assert sigma.verifier(st_.instance, commitment, challenge, response)
    clauses = gadgets.table_clauses([a.commitment()], [[1], [2], [6]])
    challenge = sigma.SYSTEM_RNG.random_scalar()
    sim = oror.or_simulate(clauses, challenge)
    assert oror.or_verifier(clauses, sim[0], challenge, sim[1], sim[2])


# --- batch verification --------------------------------------------------------------------


def test_batch_of_opening_proofs_with_one_bad_proof() -> None:
    ops = [opening(v) for v in range(20)]
    items = [(o.commitment(), gadgets.prove_opening(o.commitment(), o, context=b"p")) for o in ops]
    assert gadgets.verify_openings_batch(items, context=b"p")
    assert not gadgets.verify_openings_batch(items, context=b"q")
    commitment, proof = items[7]
    z = int.from_bytes(proof[-32:], "big")
    bad = proof[:-32] + ((z + 1) % Q).to_bytes(32, "big")
    assert not gadgets.verify_openings_batch(
        [*items[:7], (commitment, bad), *items[8:]], context=b"p"
    )
    swapped = [*items[:7], (items[8][0], proof), (commitment, items[8][1]), *items[9:]]
    assert not gadgets.verify_openings_batch(swapped, context=b"p")


def test_batch_of_mixed_gadget_statements() -> None:
    a, b = opening(6), opening(7)
    ca, cb = a.commitment(), b.commitment()
    twin = opening(6)
    items = [
        (gadgets.opening_statement(ca), gadgets.prove_opening(ca, a)),
        (
            gadgets.equal_statement(ca, twin.commitment()),
            gadgets.prove_equal(ca, twin.commitment(), a, twin),
        ),
        (
            gadgets.linear_statement([2, 1], [ca, cb], 19),
            gadgets.prove_linear([2, 1], [ca, cb], [a, b], 19),
        ),
    ]
    assert gadgets.batch_verify(items)
    for k in range(len(items)):
        statement, proof = items[k]
        broken = [*items[:k], (statement, flip(proof, len(proof) - 1)), *items[k + 1 :]]
        assert not gadgets.batch_verify(broken)
    compact = gadgets.opening_statement(ca, flavor=Flavor.COMPACT)
    with pytest.raises(SigmaError):
        gadgets.batch_verify([(compact, gadgets.prove_opening(ca, a, flavor=Flavor.COMPACT))])


def test_proofs_do_not_cross_gadgets() -> None:
    a, b = opening(6), opening(6)
    ca, cb = a.commitment(), b.commitment()
    eq_proof = gadgets.prove_equal(ca, cb, a, b)
    # same relation shape, different tag: an equality proof is not accepted under another tag
    st_ = gadgets.equal_statement(ca, cb)
    assert sigma.verify(st_.tag, st_.instance, eq_proof)
    renamed = sigma.application_tag("gadget/other", Flavor.BATCHABLE)
    assert not sigma.verify(renamed, st_.instance, eq_proof)


# --- property tests ------------------------------------------------------------------------


@settings(max_examples=25, deadline=None)
@given(
    value=st.integers(min_value=0, max_value=2**32),
    d=st.sampled_from([2, 3]),
)
def test_random_powers(value: int, d: int) -> None:
    chain, proof = prove_powers_of(value, d)
    assert powers_verify(chain, proof)


@settings(max_examples=25, deadline=None)
@given(
    terms=st.lists(
        st.tuples(st.integers(1, 1000) | st.integers(-1000, -1), st.integers(0, 10**6)),
        min_size=1,
        max_size=5,
    ),
    context=st.binary(max_size=24),
)
def test_random_linear_combinations(terms: list[tuple[int, int]], context: bytes) -> None:
    coeffs = [a for a, _ in terms]
    ops = [opening(v) for _, v in terms]
    cs = [o.commitment() for o in ops]
    target = sum(a * v for a, v in terms)
    proof = gadgets.prove_linear(coeffs, cs, ops, target, context=context)
    assert gadgets.verify_linear(coeffs, cs, target, proof, context=context)
    assert not gadgets.verify_linear(coeffs, cs, target + 1, proof, context=context)


@settings(max_examples=20, deadline=None)
@given(values=st.lists(st.integers(0, 10**9), min_size=1, max_size=6, unique=True), data=st.data())
def test_random_sets(values: list[int], data: st.DataObject) -> None:
    chosen = data.draw(st.sampled_from(values))
    o = opening(chosen)
    proof = gadgets.prove_in_set(o.commitment(), o, values)
    assert gadgets.verify_in_set(o.commitment(), values, proof)
    others = [v for v in values if v != chosen] or [chosen + 1]
    assert not gadgets.verify_in_set(o.commitment(), others, proof)
