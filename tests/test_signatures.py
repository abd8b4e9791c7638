from __future__ import annotations

import pytest

from privbill.crypto.signatures import KeyError_, SigningKey, VerifyingKey

P256_N = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551


@pytest.mark.parametrize("alg", ["ecdsa-p256-sha256", "ed25519"])
def test_sign_verify_and_domain_separation(alg: str) -> None:
    key = SigningKey.generate(alg)  # type: ignore[arg-type]
    pub = key.public_key()
    sig = key.sign("seal", b"body")
    assert len(sig) == 64
    assert pub.verify("seal", b"body", sig)
    assert not pub.verify("receipt", b"body", sig)
    assert not pub.verify("seal", b"body!", sig)
    assert not pub.verify("seal", b"body", sig[:-1])
    flipped = bytes([sig[0] ^ 1]) + sig[1:]
    assert not pub.verify("seal", b"body", flipped)
    other = SigningKey.generate(alg).public_key()  # type: ignore[arg-type]
    assert not other.verify("seal", b"body", sig)


def test_ecdsa_signatures_are_low_s_and_high_s_rejected() -> None:
    key = SigningKey.generate("ecdsa-p256-sha256")
    pub = key.public_key()
    for _ in range(8):
        sig = key.sign("x", b"m")
        s = int.from_bytes(sig[32:], "big")
        assert s <= P256_N // 2
        high = sig[:32] + (P256_N - s).to_bytes(32, "big")
        assert not pub.verify("x", b"m", high)


@pytest.mark.parametrize("alg", ["ecdsa-p256-sha256", "ed25519"])
def test_pem_roundtrip(alg: str) -> None:
    key = SigningKey.generate(alg)  # type: ignore[arg-type]
    again = SigningKey.from_pem(key.to_pem())
    assert again.public_key() == key.public_key()
    assert VerifyingKey.from_pem(key.public_key().to_pem()) == key.public_key()
    assert VerifyingKey.from_spki(key.public_key().spki) == key.public_key()
    enc = key.to_pem(password=b"pw")
    assert SigningKey.from_pem(enc, password=b"pw").public_key() == key.public_key()


def test_bad_keys() -> None:
    with pytest.raises(KeyError_):
        SigningKey.from_pem(b"-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n")
    with pytest.raises(KeyError_):
        VerifyingKey.from_spki(b"\x30\x00")
    with pytest.raises(KeyError_):
        SigningKey.generate("rsa")  # type: ignore[arg-type]


def test_repr_hides_private_key() -> None:
    key = SigningKey.generate()
    assert "secret" in repr(key)
    assert "PRIVATE" not in repr(key)


def test_der_encoding_is_not_accepted_as_signature() -> None:
    key = SigningKey.generate()
    sig = key.sign("x", b"m")
    r, s = int.from_bytes(sig[:32], "big"), int.from_bytes(sig[32:], "big")
    assert not key.public_key().verify("x", b"m", r.to_bytes(33, "big") + s.to_bytes(32, "big"))
