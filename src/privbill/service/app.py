"""The HTTP API (FastAPI), versioned under ``/v1``; ``docs/service.md`` lists every endpoint.

Binary objects travel as their canonical CBOR (``application/cbor``); everything else, and the
views for people, is JSON. Errors are JSON ``{"error": {"type", "message", "object", "field"}}``
with the status of :mod:`privbill.errors` (400 for malformed input).
"""

import json
import logging
import threading
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, PlainTextResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pydantic import BaseModel, Field
from sqlalchemy import Connection, text
from starlette.concurrency import run_in_threadpool

from privbill import __version__
from privbill.crypto.signatures import SigningKey
from privbill.dispute import DisputeBundle
from privbill.errors import (
    AuthenticationError,
    DecodeError,
    ForbiddenError,
    NotFoundError,
    PayloadTooLargeError,
    PrivbillError,
    RateLimitedError,
    ServiceError,
    UsageError,
    VerificationError,
)
from privbill.model.certificates import MeterCertificate
from privbill.model.register_bills import decode_bill
from privbill.service import auth, core, db, disclosure_endpoints, metrics

log = logging.getLogger("privbill.service.api")

CBOR = "application/cbor"
API_TITLE = "privbill provider service"
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


# --- request/response models (JSON) ------------------------------------------------------------


class MeterSpec(BaseModel):
    meter_id: str = Field(max_length=64)
    account: str = Field(max_length=64)
    public_key_pem: str = Field(max_length=4096)
    interval_s: int = Field(default=900, ge=60, le=86400)
    valid_from: int | None = Field(default=None, ge=0, le=2**62)
    valid_until: int | None = Field(default=None, ge=0, le=2**62)
    attributes: list[str] = Field(default_factory=list, max_length=8)
    channel: str | None = Field(default=None, max_length=64)
    rating_w: int | None = Field(default=None, ge=1, le=2**48)


class RevokeSpec(BaseModel):
    reason: str = Field(min_length=1, max_length=1000)
    cert_hash: str | None = Field(default=None, max_length=64)


class AccountSpec(BaseModel):
    customer_key_pem: str = Field(max_length=4096)


class DisclosureSpec(BaseModel):
    account: str = Field(max_length=64)
    period: str = Field(max_length=64, description="YYYY-MM or YYYY-MM-DD/YYYY-MM-DD")
    statements: list[dict[str, Any]] = Field(min_length=1, max_length=256)
    requester: str = Field(min_length=1, max_length=200)
    purpose: str = Field(min_length=1, max_length=1000)
    timezone: str | None = Field(default=None, max_length=64)
    tariffs: list[str] = Field(default_factory=list, max_length=16)
    valid_days: int = Field(default=14, ge=1, le=366)


def _cbor_body(description: str) -> dict[str, Any]:
    return {
        "requestBody": {
            "required": True,
            "description": description,
            "content": {CBOR: {"schema": {"type": "string", "format": "binary"}}},
        }
    }


def _cbor_response(description: str) -> dict[int | str, dict[str, Any]]:
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


def _wants_cbor(request: Request, fmt: str | None) -> bool:
    if fmt is not None:
        return fmt == "cbor"
    accept = request.headers.get("accept", "")
    return CBOR in accept and "application/json" not in accept


def _error_body(exc: PrivbillError) -> dict[str, Any]:
    return {
        "error": {
            "type": type(exc).__name__,
            "message": str(exc),
            "object": exc.obj,
            "field": exc.field,
        }
    }


def _status_of(exc: PrivbillError) -> int:
    if isinstance(exc, ServiceError):
        return exc.status
    if isinstance(exc, VerificationError):
        return 422
    return 400


# --- the application ---------------------------------------------------------------------------


def create_app(config: ServiceConfig) -> FastAPI:
    engine = db.make_engine(config.db_url)
    provider = config.provider_key.public_key()
    limiter = RateLimiter(config.submit_rate, config.submit_burst)
    postgres = db.is_postgres(db.normalise_url(config.db_url))
    dispatcher: Any = None
    pgq: Any = None
    if postgres:
        from privbill.service.pgqueue import PgQueue

        pgq = PgQueue(config.db_url)

    def enqueue(conn: Connection, bill_id: int) -> None:
        if pgq is not None:
            pgq.enqueue_in(conn, bill_id)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        nonlocal dispatcher
        if not postgres and config.workers > 0:
            from privbill.service.localqueue import LocalDispatcher

            dispatcher = LocalDispatcher(
                config.db_url, config.provider_key, config.workers, lease_s=config.lease_s
            )
            dispatcher.start()
        log.info("service started", extra={"postgres": postgres, "workers": config.workers})
        try:
            yield
        finally:
            if dispatcher is not None:
                await run_in_threadpool(dispatcher.stop, config.shutdown_grace_s)
            engine.dispose()
            log.info("service stopped")

    collector = metrics.use_database(engine)

    app = FastAPI(
        title=API_TITLE,
        version=__version__,
        description=(
            "The provider side of privbill: tariffs, meter certificates, customer accounts, "
            "bill submission and verification with signed receipts, consented disclosures and "
            "dispute bundles. Binary objects are canonical CBOR (application/cbor)."
        ),
        lifespan=lifespan,
    )
    app.state.engine = engine
    app.state.config = config
    app.state.metrics_collector = collector

    # -- errors and request logging --

    @app.exception_handler(PrivbillError)
    async def _privbill_error(_request: Request, exc: PrivbillError) -> JSONResponse:
        headers = {}
        if isinstance(exc, RateLimitedError):
            headers["Retry-After"] = "1"
        if isinstance(exc, AuthenticationError):
            headers["WWW-Authenticate"] = "Bearer"
        return JSONResponse(_error_body(exc), status_code=_status_of(exc), headers=headers)

    @app.exception_handler(RequestValidationError)
    async def _validation_error(_request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = exc.errors()
        first = errors[0] if errors else {}
        loc = ".".join(str(p) for p in first.get("loc", ()) if p not in ("body", "query"))
        err = UsageError(str(first.get("msg", "invalid request")), obj="request", field=loc or None)
        return JSONResponse(_error_body(err), status_code=422)

    @app.middleware("http")
    async def _observe(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        t0 = time.perf_counter()
        try:
            response = await call_next(request)
        except Exception:
            log.exception("unhandled error", extra={"path": request.url.path})
            response = JSONResponse(
                {"error": {"type": "InternalError", "message": "internal error"}}, status_code=500
            )
        route = request.scope.get("route")
        name = getattr(route, "path", "unmatched")
        dt = time.perf_counter() - t0
        metrics.HTTP_REQUESTS.labels(request.method, name, str(response.status_code)).inc()
        metrics.HTTP_SECONDS.labels(name).observe(dt)
        log.info(
            "request",
            extra={
                "method": request.method,
                "route": name,
                "status": response.status_code,
                "ms": round(dt * 1000, 2),
            },
        )
        return response

    # -- helpers --

    async def read_limited(request: Request, limit: int, what: str) -> bytes:
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

    async def principal(request: Request) -> auth.Principal:
        return await resolve(request, None)

    async def resolve(request: Request, body: bytes | None) -> auth.Principal:
        authz = request.headers.get("authorization", "")
        if authz:
            scheme, _, token = authz.partition(" ")
            if scheme.lower() != "bearer" or not token:
                raise AuthenticationError("expected Authorization: Bearer <operator token>")
            return await run_in_threadpool(auth.operator_from_token, engine, token.strip())
        if auth.H_SIGNATURE in request.headers:
            if body is None:
                body = await request.body()
            path = request.url.path + (f"?{request.url.query}" if request.url.query else "")
            headers = {k.lower(): v for k, v in request.headers.items()}
            return await run_in_threadpool(
                auth.customer_from_signature, engine, request.method, path, headers, body
            )
        bill_token = request.headers.get(auth.H_BILL_TOKEN)
        if bill_token:
            return auth.Principal("bill", name=bill_token)
        return auth.ANONYMOUS

    Caller = Annotated[auth.Principal, Depends(principal)]

    def authorise_bill(who: auth.Principal, row: Any, scope: str = "bills:read") -> None:
        if who.kind == "bill":
            if who.name is not None and auth.bill_token_matches(row.capability, who.name):
                return
            raise AuthenticationError("bill token does not match this bill")
        who.require_account(row.account, scope)

    def find_bill(bill_hash: str) -> Any:
        if len(bill_hash) != 64 or any(c not in "0123456789abcdef" for c in bill_hash):
            raise NotFoundError("no such bill", obj="bill", field="hash")
        return core.bill_row(engine, bill_hash)

    # -- operations --

    @app.get("/healthz", tags=["operations"], summary="liveness")
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get(
        "/readyz",
        tags=["operations"],
        summary="readiness: database reachable and migrated",
        responses={503: {"description": "not ready"}},
    )
    def readyz() -> JSONResponse:
        try:
            with engine.connect() as conn:
                version = conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
        except Exception as exc:
            return JSONResponse(
                {"status": "not ready", "reason": type(exc).__name__}, status_code=503
            )
        body: dict[str, Any] = {"status": "ready", "schema": version}
        if dispatcher is not None:
            body["local_workers"] = dispatcher.status()
        return JSONResponse(body)

    @app.get("/metrics", tags=["operations"], summary="Prometheus metrics")
    def metrics_endpoint() -> Response:
        return Response(generate_latest(metrics.REGISTRY), media_type=CONTENT_TYPE_LATEST)

    # -- provider key and tariffs --

    @app.get("/v1/provider", tags=["provider"], summary="the provider's public key")
    def get_provider() -> dict[str, Any]:
        return core.provider_view(provider)

    @app.get(
        "/v1/provider/key.pem",
        tags=["provider"],
        summary="the provider's public key (PEM)",
        response_class=PlainTextResponse,
    )
    def get_provider_pem() -> PlainTextResponse:
        return PlainTextResponse(
            provider.to_pem().decode("ascii"), media_type="application/x-pem-file"
        )

    @app.post(
        "/v1/tariffs",
        tags=["tariffs"],
        summary="publish a signed tariff (operator, tariffs:write)",
        status_code=201,
        openapi_extra=_cbor_body("signed tariff, canonical CBOR (privbill/tariff/1)"),
        responses=ERRORS,
    )
    async def post_tariff(request: Request, who: Caller) -> dict[str, Any]:
        who.require_scope("tariffs:write")
        data = await read_limited(request, config.max_object_bytes, "tariff")
        return await run_in_threadpool(core.publish_tariff, engine, provider, data)

    @app.get("/v1/tariffs", tags=["tariffs"], summary="list published tariffs")
    def list_tariffs(
        valid_at: Annotated[
            int | None, Query(ge=0, le=2**62, description="only tariffs valid at this Unix time")
        ] = None,
    ) -> list[dict[str, Any]]:
        return core.list_tariffs(engine, valid_at)

    @app.get(
        "/v1/tariffs/{tariff_hash}",
        tags=["tariffs"],
        summary="one tariff: CBOR (Accept: application/cbor or ?format=cbor) or JSON view",
        responses={**_cbor_response("the signed tariff"), 404: {"description": "not found"}},
    )
    def get_tariff(
        tariff_hash: str,
        request: Request,
        format: Annotated[str | None, Query(pattern="^(json|cbor)$")] = None,
    ) -> Response:
        t = core.get_tariff(engine, tariff_hash.lower()[:64])
        if _wants_cbor(request, format):
            return Response(t.encode(), media_type=CBOR)
        return JSONResponse(core.tariff_json(t))

    # -- accounts and meters --

    @app.put(
        "/v1/accounts/{account}",
        tags=["accounts"],
        summary="enrol an account's customer key (operator, accounts:write)",
        responses=ERRORS,
    )
    def put_account(account: str, spec: AccountSpec, who: Caller) -> dict[str, Any]:
        who.require_scope("accounts:write")
        return core.enrol_account(engine, account, spec.customer_key_pem.encode())

    @app.post(
        "/v1/meters",
        tags=["meters"],
        summary="issue a meter certificate (operator, meters:write)",
        status_code=201,
        responses=ERRORS,
    )
    def post_meter(spec: MeterSpec, who: Caller) -> dict[str, Any]:
        who.require_scope("meters:write")
        _cert, view = core.issue_certificate(engine, config.provider_key, spec.model_dump())
        return view

    @app.post(
        "/v1/certificates",
        tags=["meters"],
        summary="register a meter certificate this provider signed (operator, meters:write)",
        status_code=201,
        openapi_extra=_cbor_body("meter certificate, canonical CBOR"),
        responses=ERRORS,
    )
    async def post_certificate(request: Request, who: Caller) -> dict[str, Any]:
        who.require_scope("meters:write")
        data = await read_limited(request, config.max_object_bytes, "meter certificate")
        cert = MeterCertificate.decode(data)
        return await run_in_threadpool(core.register_certificate, engine, provider, cert)

    @app.get(
        "/v1/meters/{meter_id}",
        tags=["meters"],
        summary="a meter's certificates and their revocation state",
        responses=ERRORS,
    )
    def get_meter(meter_id: str, who: Caller) -> list[dict[str, Any]]:
        if who.kind == "anonymous":
            raise AuthenticationError("credentials required")
        if who.kind == "operator":
            who.require_scope("meters:write")
        views = core.meter_certificates(engine, meter_id)
        if who.kind == "operator":
            return views
        mine = [v for v in views if who.kind == "customer" and v["account"] == who.account]
        if not mine:
            raise NotFoundError("no such meter", obj="meter", field="meter_id")
        return mine

    @app.post(
        "/v1/meters/{meter_id}/revoke",
        tags=["meters"],
        summary="revoke a meter's certificates (operator, meters:write)",
        responses=ERRORS,
    )
    def revoke_meter(meter_id: str, spec: RevokeSpec, who: Caller) -> dict[str, Any]:
        who.require_scope("meters:write")
        hashes = core.revoke_meter(engine, meter_id, spec.reason, spec.cert_hash)
        return {"meter_id": meter_id, "revoked": hashes}

    # -- bills --

    @app.post(
        "/v1/bills",
        tags=["bills"],
        summary="submit a payment message (no credentials; size- and rate-limited)",
        status_code=202,
        openapi_extra=_cbor_body("payment message, canonical CBOR (privbill/bill/1)"),
        responses={
            **ERRORS,
            409: {"description": "another bill for this account and period"},
            413: {"description": "too large"},
            422: {"description": "tariff not published"},
            429: {"description": "rate limited"},
        },
    )
    async def post_bill(
        request: Request,
        supersedes: Annotated[str | None, Query(max_length=64)] = None,
        reason: Annotated[str | None, Query(max_length=1000)] = None,
    ) -> JSONResponse:
        client = request.client.host if request.client else "unknown"
        wait = limiter.take(client)
        if wait > 0:
            metrics.SUBMISSIONS.labels("rate_limited").inc()
            raise RateLimitedError(f"too many submissions; retry in {wait:.2f} s", obj="submission")
        try:
            data = await read_limited(request, config.max_bill_bytes, "payment message")
        except PayloadTooLargeError:
            metrics.SUBMISSIONS.labels("too_large").inc()
            raise
        if supersedes is not None or reason is not None:
            who = await resolve(request, data)
            if who.kind == "operator":
                who.require_scope("bills:supersede")
            elif who.kind == "customer":
                account = decode_bill(data).account
                if who.account != account:
                    raise ForbiddenError("only the bill's account may supersede its bill")
            else:
                raise AuthenticationError("superseding a bill needs the account's signature")
        try:
            res = await run_in_threadpool(
                core.submit_bill, engine, data, enqueue, supersedes=supersedes, reason=reason
            )
        except PrivbillError as exc:
            metrics.SUBMISSIONS.labels("conflict" if _status_of(exc) == 409 else "rejected").inc()
            raise
        metrics.SUBMISSIONS.labels("accepted" if res.created else "duplicate").inc()
        if dispatcher is not None and res.created:
            dispatcher.wake()
        return JSONResponse(
            {"bill_hash": res.bill_hash, "status": res.status, "token": res.token},
            status_code=202 if res.created else 200,
            headers={"Location": f"/v1/bills/{res.bill_hash}"},
        )

    @app.get(
        "/v1/bills/{bill_hash}",
        tags=["bills"],
        summary="a bill's status and verified view",
        responses=ERRORS,
    )
    def get_bill(bill_hash: str, who: Caller) -> dict[str, Any]:
        row = find_bill(bill_hash)
        authorise_bill(who, row)
        return core.bill_status(row)

    @app.get(
        "/v1/bills/{bill_hash}/receipt",
        tags=["bills"],
        summary="the signed receipt of a valid bill (CBOR or JSON)",
        responses={**_cbor_response("receipt"), **ERRORS},
    )
    def get_receipt(
        bill_hash: str,
        request: Request,
        who: Caller,
        format: Annotated[str | None, Query(pattern="^(json|cbor)$")] = None,
    ) -> Response:
        row = find_bill(bill_hash)
        authorise_bill(who, row)
        r = core.receipt_of(engine, row.id)
        if _wants_cbor(request, format):
            return Response(r.encode(), media_type=CBOR)
        return JSONResponse(
            {
                "bill_hash": r.bill_hash.hex(),
                "account": r.account,
                "period": {"start": r.period.start, "end": r.period.end},
                "tariff_hash": r.tariff_hash.hex(),
                "meters": list(r.meters),
                "total_fee": r.total_fee,
                "currency": r.currency,
                "issued_at": r.issued_at,
                "issuer": r.issuer.hex(),
                "receipt_hex": r.encode().hex(),
            }
        )

    @app.get(
        "/v1/bills/{bill_hash}/message",
        tags=["bills"],
        summary="the payment message as submitted (CBOR)",
        responses={**_cbor_response("payment message"), **ERRORS},
    )
    def get_message(bill_hash: str, who: Caller) -> Response:
        row = find_bill(bill_hash)
        authorise_bill(who, row)
        return Response(row.message, media_type=CBOR)

    @app.get(
        "/v1/bills/{bill_hash}/dispute",
        tags=["disputes"],
        summary="a self-contained dispute bundle for a valid bill (CBOR)",
        responses={**_cbor_response("dispute bundle"), **ERRORS},
    )
    def get_dispute(bill_hash: str, who: Caller) -> Response:
        row = find_bill(bill_hash)
        authorise_bill(who, row, "disputes:read")
        receipt = core.receipt_of(engine, row.id)
        tariff = core.get_tariff(engine, row.tariff_hash)
        msg = decode_bill(row.message)
        bundle = DisputeBundle.assemble(
            row.message,
            tariff,
            tuple(s.certificate for s in msg.meters),
            provider,
            receipt,
        )
        return Response(bundle.encode(), media_type=CBOR)

    @app.get(
        "/v1/accounts/{account}/bills",
        tags=["bills"],
        summary="an account's bills (customer of the account, or operator bills:read)",
        responses=ERRORS,
    )
    def list_bills(
        account: str,
        who: Caller,
        limit: Annotated[int, Query(ge=1, le=1000)] = 100,
        after: Annotated[int, Query(ge=0, le=2**62)] = 0,
    ) -> list[dict[str, Any]]:
        who.require_account(account, "bills:read")
        return core.account_bills(engine, account, limit, after)

    # -- disclosures --

    disclosure_endpoints.add_routes(app, engine, config, Caller, read_limited)

    app.state.dispatcher = lambda: dispatcher
    return app


# --- for the OpenAPI document without a database -------------------------------------------------


def openapi_document() -> dict[str, Any]:
    """The API's OpenAPI document (what ``/openapi.json`` serves)."""
    key = SigningKey.generate("ed25519")
    app = create_app(ServiceConfig("sqlite:///:memory:", key, workers=0))
    doc: dict[str, Any] = app.openapi()
    return doc


def openapi_json() -> str:
    return json.dumps(openapi_document(), indent=2, sort_keys=True) + "\n"
