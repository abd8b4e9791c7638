"""HPKE (RFC 9180) for the meter link: openings encrypted to the household's agent.

Suite: DHKEM(X25519, HKDF-SHA256), HKDF-SHA256, ChaCha20-Poly1305, base mode (KEM 0x0020,
KDF 0x0001, AEAD 0x0003), from ``cryptography``'s ``hazmat.primitives.hpke``. Each message is
single-shot: a fresh encapsulated key (32 bytes) followed by the AEAD ciphertext.

The HPKE ``info`` binds a ciphertext to its purpose, meter and message:
``digest("meter-link-openings", meter id, n, first, count, commitments hash)`` (the framed
SHA-256 of :mod:`privbill.crypto.hashing`). A ciphertext copied into another message, another
meter's stream or another purpose does not decrypt. Base mode does not authenticate the sender;
the meter's signature over the whole message (ciphertext included) does.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Final

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.hpke import AEAD, KDF, KEM, Suite

from privbill.crypto.hashing import digest
from privbill.errors import DecodeError
from privbill.errors import DecryptError as DecryptError
from privbill.files import read_bytes, write_atomic

SUITE: Final = Suite(KEM.X25519, KDF.HKDF_SHA256, AEAD.CHACHA20_POLY1305)
SUITE_NAME: Final = "DHKEM(X25519, HKDF-SHA256), HKDF-SHA256, ChaCha20-Poly1305"
ENC_BYTES: Final = 32
TAG_BYTES: Final = 16


def openings_info(meter_id: str, n: int, first: int, count: int, commitments_hash: bytes) -> bytes:
    return digest(
        "meter-link-openings",
        meter_id.encode(),
        n.to_bytes(8, "big"),
        first.to_bytes(8, "big"),
        count.to_bytes(8, "big"),
        commitments_hash,
    )


def export_info(account: str, recipient: bytes) -> bytes:
    """``info`` of a household store exported to another agent (its key's raw bytes)."""
    return digest("household-export", account.encode(), recipient)


def seal(plaintext: bytes, recipient: X25519PublicKey, info: bytes) -> bytes:
    return SUITE.encrypt(plaintext, recipient, info=info)


def open_(ciphertext: bytes, key: X25519PrivateKey, info: bytes) -> bytes:
    if len(ciphertext) < ENC_BYTES + TAG_BYTES:
        raise DecryptError("ciphertext too short")
    try:
        return SUITE.decrypt(ciphertext, key, info=info)
    except (InvalidTag, ValueError) as exc:
        raise DecryptError(str(exc) or type(exc).__name__) from None


# --- keys ----------------------------------------------------------------------------------------


def generate() -> X25519PrivateKey:
    return X25519PrivateKey.generate()


def raw_public(key: X25519PublicKey) -> bytes:
    return key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def save_private(key: X25519PrivateKey, path: str | os.PathLike[str]) -> None:
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    write_atomic(path, pem, private=True, replace=False)


def save_public(key: X25519PublicKey, path: str | os.PathLike[str]) -> None:
    pem = key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    write_atomic(path, pem)


def load_private(path: str | os.PathLike[str]) -> X25519PrivateKey:
    data = read_bytes(path, "agent key")
    try:
        key = serialization.load_pem_private_key(data, None)
    except (ValueError, TypeError):
        raise DecodeError(f"{path} is not a PEM private key", obj="agent key") from None
    if not isinstance(key, X25519PrivateKey):
        raise DecodeError(f"{path} is not an X25519 key (the agent's HPKE key)", obj="agent key")
    return key


def load_public(path: str | os.PathLike[str]) -> X25519PublicKey:
    data = read_bytes(path, "agent public key")
    try:
        key = serialization.load_pem_public_key(data)
    except (ValueError, TypeError):
        key = None
    if key is None:
        try:
            return load_private(path).public_key()
        except DecodeError:
            raise DecodeError(f"{path} is not a PEM public key", obj="agent public key") from None
    if not isinstance(key, X25519PublicKey):
        raise DecodeError(
            f"{Path(path)} is not an X25519 public key (the agent's HPKE key)",
            obj="agent public key",
        )
    return key
