"""What every group of HTTP endpoints shares: the database engine, the configuration, the
provider key, the submission rate limiter, the queue, the local dispatcher, who is calling
(:meth:`ApiContext.resolve`), bounded request bodies, bill lookup and authorisation, and the
OpenAPI pieces for CBOR bodies and errors."""

import threading
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Annotated, Any

from fastapi import Depends, Request
from sqlalchemy import Connection, Engine
from starlette.concurrency import run_in_threadpool

from privbill.crypto.signatures import SigningKey, VerifyingKey
from privbill.errors import (
    AuthenticationError,
    DecodeError,
    NotFoundError,
    PayloadTooLargeError,
    PrivbillError,
    ServiceError,
    VerificationError,
)
from privbill.service import auth, core

if TYPE_CHECKING:
    from privbill.service.localqueue import LocalDispatcher
    from privbill.service.pgqueue import PgQueue

CBOR = "application/cbor"
MiB = 1024 * 1024


@dataclass
class ServiceConfig:
    db_url: str
    provider_key: SigningKey
    workers: int = 2  # local pool size (SQLite); 0: verification by `privbill worker` only
    max_bill_bytes: int = 16 * MiB
    max_object_bytes: int = 4 * MiB  # tariffs, certificates, disclosure responses
    submit_rate: float = 200.0  # submissions per second per client address
    submit_burst: int = 400
    lease_s: float = 30.0
    shutdown_grace_s: float = 30.0


class _Bucket:
    __slots__ = ("stamp", "tokens")

    def __init__(self, tokens: float, stamp: float) -> None:
        self.tokens = tokens
        self.stamp = stamp


class RateLimiter:
    """Token bucket per client address (in this API process)."""

    def __init__(self, rate: float, burst: int) -> None:
        self.rate = rate
        self.burst = burst
        self._buckets: dict[str, _Bucket] = {}
        self._lock = threading.Lock()

    def take(self, client: str) -> float:
        """0 if allowed, else seconds until a token is free."""
        now = time.monotonic()
        with self._lock:
            b = self._buckets.get(client)
            if b is None:
                if len(self._buckets) > 100_000:
                    self._buckets.clear()
                b = self._buckets[client] = _Bucket(float(self.burst), now)
            b.tokens = min(float(self.burst), b.tokens + (now - b.stamp) * self.rate)
            b.stamp = now
            if b.tokens >= 1:
                b.tokens -= 1
                return 0.0
            return (1 - b.tokens) / self.rate


@dataclass
class ApiContext:
    """One application's shared state and request helpers."""

    engine: Engine
    config: ServiceConfig
    provider: VerifyingKey
    limiter: RateLimiter
    pgq: "PgQueue | None" = None
    #: Started with the application (SQLite with local workers), else ``None``.
    dispatcher: "LocalDispatcher | None" = field(default=None)

    def enqueue(self, conn: Connection, bill_id: int) -> None:
        """Queue a new bill for the workers (PostgreSQL: in the same transaction)."""
        if self.pgq is not None:
            self.pgq.enqueue_in(conn, bill_id)

    async def read_limited(self, request: Request, limit: int, what: str) -> bytes:
        """The request body, refused beyond ``limit`` bytes (before reading all of it) or
        empty."""
        length = request.headers.get("content-length")
        if length is not None and length.isdigit() and int(length) > limit:
            raise PayloadTooLargeError(f"larger than {limit} bytes", obj=what)
        chunks: list[bytes] = []
        size = 0
        async for chunk in request.stream():
            size += len(chunk)
            if size > limit:
                raise PayloadTooLargeError(f"larger than {limit} bytes", obj=what)
            chunks.append(chunk)
        data = b"".join(chunks)
        if not data:
            raise DecodeError("empty body", obj=what)
        return data

    async def resolve(self, request: Request, body: bytes | None) -> auth.Principal:
        """An operator's bearer token, a customer's request signature (over ``body``), a bill
        token, or nobody."""
        authz = request.headers.get("authorization", "")
        if authz:
            scheme, _, token = authz.partition(" ")
            if scheme.lower() != "bearer" or not token:
                raise AuthenticationError("expected Authorization: Bearer <operator token>")
            return await run_in_threadpool(auth.operator_from_token, self.engine, token.strip())
        if auth.H_SIGNATURE in request.headers:
            if body is None:
                body = await request.body()
            path = request.url.path + (f"?{request.url.query}" if request.url.query else "")
            headers = {k.lower(): v for k, v in request.headers.items()}
            return await run_in_threadpool(
                auth.customer_from_signature, self.engine, request.method, path, headers, body
            )
        bill_token = request.headers.get(auth.H_BILL_TOKEN)
        if bill_token:
            return auth.Principal("bill", name=bill_token)
        return auth.ANONYMOUS

    def authorise_bill(self, who: auth.Principal, row: Any, scope: str = "bills:read") -> None:
        if who.kind == "bill":
            if who.name is not None and auth.bill_token_matches(row.capability, who.name):
                return
            raise AuthenticationError("bill token does not match this bill")
        who.require_account(row.account, scope)

    def find_bill(self, bill_hash: str) -> Any:
        if len(bill_hash) != 64 or any(c not in "0123456789abcdef" for c in bill_hash):
            raise NotFoundError("no such bill", obj="bill", field="hash")
        return core.bill_row(self.engine, bill_hash)


async def principal(request: Request) -> auth.Principal:
    """Who calls: a dependency of every endpoint that asks (the application's context is in
    ``app.state.api``)."""
    ctx: ApiContext = request.app.state.api
    return await ctx.resolve(request, None)


#: An endpoint parameter that receives the caller.
Caller = Annotated[auth.Principal, Depends(principal)]


# --- OpenAPI pieces and error bodies -------------------------------------------------------------


def cbor_body(description: str) -> dict[str, Any]:
    return {
        "requestBody": {
            "required": True,
            "description": description,
            "content": {CBOR: {"schema": {"type": "string", "format": "binary"}}},
        }
    }


def cbor_response(description: str) -> dict[int | str, dict[str, Any]]:
    return {
        200: {
            "description": description,
            "content": {
                CBOR: {"schema": {"type": "string", "format": "binary"}},
                "application/json": {"schema": {"type": "object"}},
            },
        }
    }


ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"description": "malformed input"},
    401: {"description": "missing or invalid credentials"},
    403: {"description": "not allowed"},
    404: {"description": "not found"},
}


def wants_cbor(request: Request, fmt: str | None) -> bool:
    if fmt is not None:
        return fmt == "cbor"
    accept = request.headers.get("accept", "")
    return CBOR in accept and "application/json" not in accept


def error_body(exc: PrivbillError) -> dict[str, Any]:
    return {
        "error": {
            "type": type(exc).__name__,
            "message": str(exc),
            "object": exc.obj,
            "field": exc.field,
        }
    }


def status_of(exc: PrivbillError) -> int:
    if isinstance(exc, ServiceError):
        return exc.status
    if isinstance(exc, VerificationError):
        return 422
    return 400
