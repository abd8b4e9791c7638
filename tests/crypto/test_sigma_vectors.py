"""draft-irtf-cfrg-sigma-protocols test vectors, ciphersuite sigma-proofs_Shake128_BLS12381."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from privbill.crypto import sigma, transcript
from privbill.crypto.group import Point
from privbill.crypto.sigma import Flavor, Instance, LinearRelation, SigmaError

Vector = dict[str, Any]


def _flavor(v: Vector) -> Flavor:
    return {"batchable": Flavor.BATCHABLE, "compact": Flavor.COMPACT}[v["Flavor"]]


def _witness(v: Vector) -> list[int]:
    raw = bytes.fromhex(v["Witness"])
    return transcript.decode_scalars(raw, len(raw) // 32)


def _verify(v: Vector) -> bool:
    """The verifier's decision on a vector, parsing its instance as untrusted input."""
    try:
        instance = Instance.from_bytes(bytes.fromhex(v["Instance"]))
    except SigmaError:
        return False
    return sigma.verify(v["Tag"].encode(), instance, bytes.fromhex(v["NargString"]), _flavor(v))


# --- the relations of the vectors, written in the statement notation --------------------------


def _discrete_logarithm(p: list[Point]) -> LinearRelation:
    rel = LinearRelation()
    x = rel.scalar("x")
    X = rel.element("X", p[1])
    rel.equation(X, x * rel.G)
    return rel


def _dleq(p: list[Point]) -> LinearRelation:
    rel = LinearRelation()
    x = rel.scalar("x")
    X, H, Y = rel.elements(X=p[1], H=p[2], Y=p[3])
    rel.equation(X, x * rel.G)
    rel.equation(Y, x * H)
    return rel


def _pedersen_commitment(p: list[Point]) -> LinearRelation:
    rel = LinearRelation()
    m, r = rel.scalars("m", "r")
    H, C = rel.elements(H=p[1], C=p[2])
    rel.equation(C, m * rel.G + r * H)
    return rel


def _pedersen_commitment_dleq(p: list[Point]) -> LinearRelation:
    rel = LinearRelation()
    x0, x1 = rel.scalars("x0", "x1")
    G0, G1, X, G2, G3, Y = rel.elements(G0=p[1], G1=p[2], X=p[3], G2=p[4], G3=p[5], Y=p[6])
    rel.equation(X, x0 * G0 + x1 * G1)
    rel.equation(Y, x0 * G2 + x1 * G3)
    return rel


def _bbs_blind_commitment(p: list[Point]) -> LinearRelation:
    rel = LinearRelation()
    blind, m1, m2, m3 = rel.scalars("blind", "msg_1", "msg_2", "msg_3")
    Q2, J1, J2, J3, C = rel.elements(Q2=p[1], J1=p[2], J2=p[3], J3=p[4], C=p[5])
    rel.equation(C, blind * Q2 + m1 * J1 + m2 * J2 + m3 * J3)
    return rel


def _elgamal_decryption(p: list[Point]) -> LinearRelation:
    rel = LinearRelation()
    x = rel.scalar("x")
    X, E0, E1, M = rel.elements(X=p[1], E0=p[2], E1=p[3], M=p[4])
    rel.equation(X, x * rel.G)
    rel.equation(M, x * E0 - E1)
    return rel


NOTATION: dict[str, Callable[[list[Point]], LinearRelation]] = {
    "discrete_logarithm": _discrete_logarithm,
    "dleq": _dleq,
    "dleq_derived_element": _dleq,
    "pedersen_commitment": _pedersen_commitment,
    "pedersen_commitment_dleq": _pedersen_commitment_dleq,
    "bbs_blind_commitment_computation": _bbs_blind_commitment,
    "elgamal_decryption": _elgamal_decryption,
}

# Which check of the draft rejects the instance-validation vectors (the vectors' comments).
EXPECTED_PROBLEM = {
    "E1": "check 6",
    "E1b": "check 6",
    "E2": "check 9",
}
# Vectors whose instance bytes do not even parse (identity element; index past the elements).
UNPARSABLE = {"E3", "E4"}


# --- valid vectors -------------------------------------------------------------------------


def test_valid_vector_is_reproduced_byte_for_byte(sigma_vector: Vector) -> None:
    v = sigma_vector
    assert v["Ciphersuite"] == sigma.CIPHERSUITE_ID
    assert v["Expected"] == "accept"
    tag = v["Tag"].encode()
    flavor = _flavor(v)
    assert transcript.derive_session_id(tag).hex() == v["SessionId"]
    instance = Instance.from_bytes(bytes.fromhex(v["Instance"]))
    assert instance.to_bytes().hex() == v["Instance"]
    assert instance.is_valid()
    witness = _witness(v)
    assert instance.is_satisfied_by(witness)

    narg = sigma.prove(tag, instance, witness, flavor, sigma.vector_prng(v["Relation"], flavor))
    assert narg.hex() == v["NargString"]
    assert sigma.verify(tag, instance, narg, flavor)


def test_valid_vector_relation_in_notation(sigma_vector: Vector) -> None:
    v = sigma_vector
    parsed = Instance.from_bytes(bytes.fromhex(v["Instance"]))
    rel = NOTATION[v["Relation"]](list(parsed.elements))
    assert rel.compile().to_bytes().hex() == v["Instance"]
    assert len(rel.scalar_names) == len(_witness(v))


def test_fresh_proofs_of_vector_statements_verify(sigma_vector: Vector) -> None:
    v = sigma_vector
    tag, flavor = v["Tag"].encode(), _flavor(v)
    instance = Instance.from_bytes(bytes.fromhex(v["Instance"]))
    narg = sigma.prove(tag, instance, _witness(v), flavor)
    assert narg.hex() != v["NargString"]
    assert sigma.verify(tag, instance, narg, flavor)
    other = Flavor.COMPACT if flavor is Flavor.BATCHABLE else Flavor.BATCHABLE
    other_tag = tag.replace(flavor.value.encode(), other.value.encode())
    assert not sigma.verify(other_tag, instance, narg, other)


# --- adversarial vectors -------------------------------------------------------------------


def test_adversarial_vector(
    adversarial_vector: Vector, valid_sigma_vectors: dict[str, Vector]
) -> None:
    v = adversarial_vector
    name = v["Id"].rsplit("/", 1)[1]
    assert _verify(v) is (v["Expected"] == "accept")
    if "BaseId" in v:
        assert _verify(valid_sigma_vectors[v["BaseId"]])
    if name in UNPARSABLE:
        with pytest.raises(SigmaError):
            Instance.from_bytes(bytes.fromhex(v["Instance"]))
    if name in EXPECTED_PROBLEM:
        problem = Instance.from_bytes(bytes.fromhex(v["Instance"])).problem()
        assert problem is not None and problem.startswith(EXPECTED_PROBLEM[name])


def test_every_adversarial_reject_has_an_accepted_baseline(
    adversarial_sigma_vectors: list[Vector], valid_sigma_vectors: dict[str, Vector]
) -> None:
    rejects = [v for v in adversarial_sigma_vectors if v["Expected"] == "reject"]
    assert rejects
    for v in rejects:
        assert not _verify(v), v["Id"]
        assert _verify(valid_sigma_vectors[v["BaseId"]]), v["BaseId"]


# --- batch verification over the vectors ---------------------------------------------------


def _batch_item(v: Vector) -> tuple[bytes, Instance, bytes]:
    return (
        v["Tag"].encode(),
        Instance.from_bytes(bytes.fromhex(v["Instance"])),
        bytes.fromhex(v["NargString"]),
    )


def test_batch_of_valid_batchable_vectors(valid_sigma_vectors: dict[str, Vector]) -> None:
    batch = [_batch_item(v) for v in valid_sigma_vectors.values() if v["Flavor"] == "batchable"]
    assert len(batch) == 7
    assert sigma.batch_verify(batch)
    for k in range(len(batch)):
        assert sigma.batch_verify(batch[: k + 1])


def test_batch_with_any_invalid_batchable_vector_is_rejected(
    valid_sigma_vectors: dict[str, Vector], adversarial_sigma_vectors: list[Vector]
) -> None:
    good = [_batch_item(v) for v in valid_sigma_vectors.values() if v["Flavor"] == "batchable"]
    bad = [
        v
        for v in adversarial_sigma_vectors
        if v["Flavor"] == "batchable" and v["Expected"] == "reject"
    ]
    assert bad
    for v in bad:
        try:
            item = _batch_item(v)
        except SigmaError:
            continue  # the instance itself does not parse: nothing to batch
        assert not sigma.batch_verify([*good[:3], item, *good[3:]]), v["Id"]
