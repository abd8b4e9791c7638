"""Signatures through ``cryptography``: ECDSA P-256 with SHA-256 (default) and Ed25519.

Every signature covers :func:`privbill.crypto.hashing.signing_input` of a purpose and a canonical
body, so a signature made for one purpose never verifies for another. Signatures have one encoding:
ECDSA as 64 bytes ``r || s`` (big-endian) with ``s`` in the lower half of the group order
("low-S", signatures are normalised when made and high-S ones are rejected), Ed25519 as its
64-byte RFC 8032 form. Keys load from and save to PEM (PKCS#8 for private, SubjectPublicKeyInfo
for public keys).
"""

from __future__ import annotations

from typing import Final, Literal

from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from cryptography.hazmat.primitives.asymmetric.utils import (
    decode_dss_signature,
    encode_dss_signature,
)

from privbill.crypto.hashing import digest, signing_input
from privbill.errors import KeyLoadError

Algorithm = Literal["ecdsa-p256-sha256", "ed25519"]
ALGORITHMS: Final[tuple[Algorithm, ...]] = ("ecdsa-p256-sha256", "ed25519")
SIGNATURE_BYTES: Final = 64

_P256_ORDER: Final = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551


#: A key that cannot be loaded or does not have a supported algorithm.
KeyError_ = KeyLoadError


def _algorithm_of(key: object) -> Algorithm:
    if isinstance(key, ec.EllipticCurvePrivateKey | ec.EllipticCurvePublicKey):
        if not isinstance(key.curve, ec.SECP256R1):
            raise KeyError_(f"unsupported elliptic curve {key.curve.name}; use P-256")
        return "ecdsa-p256-sha256"
    if isinstance(key, ed25519.Ed25519PrivateKey | ed25519.Ed25519PublicKey):
        return "ed25519"
    raise KeyError_(f"unsupported key type {type(key).__name__}; use P-256 or Ed25519")


class VerifyingKey:
    """A public key with its algorithm."""

    __slots__ = ("_key", "algorithm", "spki")

    def __init__(self, key: ec.EllipticCurvePublicKey | ed25519.Ed25519PublicKey) -> None:
        self.algorithm: Algorithm = _algorithm_of(key)
        self._key = key
        self.spki: bytes = key.public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )

    @classmethod
    def from_spki(cls, der: bytes) -> VerifyingKey:
        try:
            key = serialization.load_der_public_key(der)
        except (ValueError, TypeError, UnsupportedAlgorithm) as exc:
            raise KeyError_(f"not a DER SubjectPublicKeyInfo: {exc}") from None
        if not isinstance(key, ec.EllipticCurvePublicKey | ed25519.Ed25519PublicKey):
            raise KeyError_(f"unsupported public key type {type(key).__name__}")
        vk = cls(key)
        if vk.spki != der:
            raise KeyError_("public key encoding is not canonical")
        return vk

    @classmethod
    def from_pem(cls, pem: bytes) -> VerifyingKey:
        try:
            key = serialization.load_pem_public_key(pem)
        except (ValueError, TypeError, UnsupportedAlgorithm) as exc:
            raise KeyError_(f"not a PEM public key: {exc}") from None
        if not isinstance(key, ec.EllipticCurvePublicKey | ed25519.Ed25519PublicKey):
            raise KeyError_(f"unsupported public key type {type(key).__name__}")
        return cls(key)

    def to_pem(self) -> bytes:
        return self._key.public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )

    @property
    def key_id(self) -> bytes:
        """32-byte identifier: a domain-separated hash of the SubjectPublicKeyInfo."""
        return digest("key-id", self.spki)

    def verify(self, purpose: str, body: bytes, signature: bytes) -> bool:
        """True iff ``signature`` is this key's signature over ``(purpose, body)``."""
        if len(signature) != SIGNATURE_BYTES:
            return False
        message = signing_input(purpose, body)
        try:
            if isinstance(self._key, ed25519.Ed25519PublicKey):
                self._key.verify(signature, message)
            else:
                r = int.from_bytes(signature[:32], "big")
                s = int.from_bytes(signature[32:], "big")
                if not (0 < r < _P256_ORDER and 0 < s <= _P256_ORDER // 2):
                    return False
                self._key.verify(encode_dss_signature(r, s), message, ec.ECDSA(hashes.SHA256()))
        except InvalidSignature:
            return False
        return True

    def __eq__(self, other: object) -> bool:
        return isinstance(other, VerifyingKey) and other.spki == self.spki

    def __hash__(self) -> int:
        return hash(self.spki)

    def __repr__(self) -> str:
        return f"VerifyingKey({self.algorithm}, id={self.key_id[:8].hex()})"


class SigningKey:
    """A private key with its algorithm. Its repr never shows key material."""

    __slots__ = ("_key", "algorithm")

    def __init__(self, key: ec.EllipticCurvePrivateKey | ed25519.Ed25519PrivateKey) -> None:
        self.algorithm: Algorithm = _algorithm_of(key)
        self._key = key

    @classmethod
    def generate(cls, algorithm: Algorithm = "ecdsa-p256-sha256") -> SigningKey:
        if algorithm == "ecdsa-p256-sha256":
            return cls(ec.generate_private_key(ec.SECP256R1()))
        if algorithm == "ed25519":
            return cls(ed25519.Ed25519PrivateKey.generate())
        raise KeyError_(f"unknown signature algorithm {algorithm!r}; use one of {ALGORITHMS}")

    @classmethod
    def from_pem(cls, pem: bytes, password: bytes | None = None) -> SigningKey:
        try:
            key = serialization.load_pem_private_key(pem, password=password)
        except (ValueError, TypeError, UnsupportedAlgorithm) as exc:
            raise KeyError_(f"not a PEM private key: {exc}") from None
        if not isinstance(key, ec.EllipticCurvePrivateKey | ed25519.Ed25519PrivateKey):
            raise KeyError_(f"unsupported private key type {type(key).__name__}")
        return cls(key)

    def to_pem(self, password: bytes | None = None) -> bytes:
        enc: serialization.KeySerializationEncryption = (
            serialization.BestAvailableEncryption(password)
            if password
            else serialization.NoEncryption()
        )
        return self._key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, enc
        )

    def public_key(self) -> VerifyingKey:
        return VerifyingKey(self._key.public_key())

    def sign(self, purpose: str, body: bytes) -> bytes:
        message = signing_input(purpose, body)
        if isinstance(self._key, ed25519.Ed25519PrivateKey):
            return self._key.sign(message)
        r, s = decode_dss_signature(self._key.sign(message, ec.ECDSA(hashes.SHA256())))
        if s > _P256_ORDER // 2:
            s = _P256_ORDER - s
        return r.to_bytes(32, "big") + s.to_bytes(32, "big")

    def __repr__(self) -> str:
        return f"SigningKey({self.algorithm}, <secret>)"
