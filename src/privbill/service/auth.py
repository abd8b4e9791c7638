"""Authentication and authorisation of the service.

Three kinds of caller (``docs/service.md``, auth model):

* **Operators** of the provider present ``Authorization: Bearer pbo_…``. Tokens are 32 random
  bytes; the database keeps only their SHA-256 and a set of scopes (:data:`SCOPES`).
* **Customers** sign each request with the key enrolled for their account (purpose
  ``service-request``) over the canonical CBOR of method, path with query, account, timestamp,
  a random nonce and the SHA-256 of the body. The service accepts a timestamp within
  :data:`MAX_SKEW_S` of its clock and each nonce once per account (nonces are kept until the
  timestamp could no longer be accepted), so a captured request cannot be replayed.
* **The submitter of a bill** holds the bill's bytes and so can compute its read token
  ``digest("service-bill-token", bill)`` (:func:`bill_token`); it reads that bill's status,
  receipt and dispute bundle and nothing else. The database keeps the token's SHA-256.

Submitting a bill needs no credential: the bill proves itself. It is size- and rate-limited.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass, field
from typing import Final

from sqlalchemy import Engine, delete, insert, select
from sqlalchemy.exc import IntegrityError

from privbill.crypto.hashing import digest
from privbill.crypto.signatures import KeyError_, SigningKey, VerifyingKey
from privbill.errors import AuthenticationError, ForbiddenError, UsageError
from privbill.model import codec
from privbill.service import db

SCOPES: Final = (
    "tariffs:write",
    "meters:write",
    "accounts:write",
    "bills:read",
    "bills:supersede",
    "disclosures:write",
    "disclosures:read",
    "disputes:read",
)
OPERATOR_PREFIX: Final = "pbo_"
REQUEST_FORMAT: Final = "privbill/service-request/1"
REQUEST_PURPOSE: Final = "service-request"
BILL_TOKEN_PURPOSE: Final = "service-bill-token"
MAX_SKEW_S: Final = 300
NONCE_BYTES: Final = 16

H_ACCOUNT: Final = "x-privbill-account"
H_TIMESTAMP: Final = "x-privbill-timestamp"
H_NONCE: Final = "x-privbill-nonce"
H_SIGNATURE: Final = "x-privbill-signature"
H_BILL_TOKEN: Final = "x-privbill-bill-token"


@dataclass(frozen=True, slots=True)
class Principal:
    kind: str  # "operator" | "customer" | "bill" | "anonymous"
    account: str | None = None
    scopes: frozenset[str] = field(default_factory=frozenset)
    bill_hash: str | None = None  # for "bill": the one bill it may read
    name: str | None = None

    def require_scope(self, scope: str) -> None:
        if self.kind == "anonymous":
            raise AuthenticationError("credentials required")
        if self.kind != "operator":
            raise ForbiddenError(f"needs an operator token with scope {scope!r}")
        if scope not in self.scopes:
            raise ForbiddenError(f"operator token lacks scope {scope!r}")

    def can_read_account(self, account: str, scope: str) -> bool:
        if self.kind == "operator":
            return scope in self.scopes
        return self.kind == "customer" and self.account == account

    def require_account(self, account: str, scope: str) -> None:
        if self.kind == "anonymous":
            raise AuthenticationError("credentials required")
        if not self.can_read_account(account, scope):
            raise ForbiddenError("not allowed for this account")

    def require_bill(self, account: str, bill_hash: str, scope: str = "bills:read") -> None:
        if self.kind == "bill" and self.bill_hash == bill_hash:
            return
        self.require_account(account, scope)


ANONYMOUS: Final = Principal("anonymous")


def sha256_hex(data: bytes | str) -> str:
    raw = data.encode() if isinstance(data, str) else data
    return hashlib.sha256(raw).hexdigest()


# --- operator tokens -------------------------------------------------------------------------


def create_operator_token(engine: Engine, name: str, scopes: list[str]) -> str:
    """Make a token, store its hash with ``scopes``; return the token (shown once)."""
    unknown = sorted(set(scopes) - set(SCOPES))
    if unknown:
        raise UsageError(
            f"unknown scope {unknown[0]!r}; known: {', '.join(SCOPES)}", obj="token", field="scopes"
        )
    token = OPERATOR_PREFIX + secrets.token_urlsafe(32)
    with db.transaction(engine) as conn:
        conn.execute(
            insert(db.operator_tokens).values(
                name=name,
                token_hash=sha256_hex(token),
                scopes=" ".join(sorted(set(scopes))),
                created_at=db.now(),
            )
        )
    return token


def operator_from_token(engine: Engine, token: str) -> Principal:
    if not token.startswith(OPERATOR_PREFIX):
        raise AuthenticationError("not an operator token")
    with engine.connect() as conn:
        row = conn.execute(
            select(db.operator_tokens).where(db.operator_tokens.c.token_hash == sha256_hex(token))
        ).first()
    if row is None or row.revoked_at is not None:
        raise AuthenticationError("unknown or revoked operator token")
    return Principal("operator", scopes=frozenset(row.scopes.split()), name=row.name)


# --- customer signed requests ----------------------------------------------------------------


def request_body(
    method: str, path: str, account: str, timestamp: int, nonce: bytes, body: bytes
) -> bytes:
    """The canonical bytes a customer signs for one request."""
    return codec.encode(
        {
            "format": REQUEST_FORMAT,
            "method": method.upper(),
            "path": path,
            "account": account,
            "timestamp": timestamp,
            "nonce": nonce,
            "body": hashlib.sha256(body).digest(),
        }
    )


def sign_request(
    key: SigningKey,
    account: str,
    method: str,
    path: str,
    body: bytes = b"",
    *,
    timestamp: int | None = None,
    nonce: bytes | None = None,
) -> dict[str, str]:
    """Headers that authenticate one request as ``account`` (client side)."""
    ts = db.now() if timestamp is None else timestamp
    n = secrets.token_bytes(NONCE_BYTES) if nonce is None else nonce
    sig = key.sign(REQUEST_PURPOSE, request_body(method, path, account, ts, n, body))
    return {
        H_ACCOUNT: account,
        H_TIMESTAMP: str(ts),
        H_NONCE: n.hex(),
        H_SIGNATURE: sig.hex(),
    }


def customer_from_signature(
    engine: Engine,
    method: str,
    path: str,
    headers: dict[str, str],
    body: bytes,
    now: int | None = None,
) -> Principal:
    account = headers.get(H_ACCOUNT, "")
    try:
        ts = int(headers.get(H_TIMESTAMP, ""))
        nonce = bytes.fromhex(headers.get(H_NONCE, ""))
        sig = bytes.fromhex(headers.get(H_SIGNATURE, ""))
    except ValueError:
        raise AuthenticationError("malformed signed-request headers") from None
    if len(nonce) != NONCE_BYTES:
        raise AuthenticationError(f"nonce must be {NONCE_BYTES} bytes")
    t = db.now() if now is None else now
    if abs(t - ts) > MAX_SKEW_S:
        raise AuthenticationError("request timestamp too far from the service's clock")
    with engine.connect() as conn:
        row = conn.execute(
            select(db.accounts.c.customer_key).where(db.accounts.c.account == account)
        ).first()
    if row is None or row.customer_key is None:
        raise AuthenticationError("no customer key enrolled for this account")
    try:
        key = VerifyingKey.from_spki(row.customer_key)
    except KeyError_:
        raise AuthenticationError("enrolled customer key is unusable") from None
    if not key.verify(REQUEST_PURPOSE, request_body(method, path, account, ts, nonce, body), sig):
        raise AuthenticationError("request signature does not verify")
    try:
        with db.transaction(engine) as conn:
            conn.execute(delete(db.request_nonces).where(db.request_nonces.c.expires_at < t))
            conn.execute(
                insert(db.request_nonces).values(
                    account=account, nonce=nonce.hex(), expires_at=ts + 2 * MAX_SKEW_S
                )
            )
    except IntegrityError:
        raise AuthenticationError("replayed request (nonce already used)") from None
    return Principal("customer", account=account)


# --- bill read tokens ------------------------------------------------------------------------


def bill_token(message: bytes) -> str:
    """The read token of a bill: only a holder of its bytes can compute it."""
    return digest(BILL_TOKEN_PURPOSE, message).hex()


def bill_token_matches(stored_hash: str, token: str) -> bool:
    return hmac.compare_digest(stored_hash, sha256_hex(token))
