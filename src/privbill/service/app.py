"""The HTTP API (FastAPI), versioned under ``/v1``; ``docs/service.md`` lists every endpoint.

Binary objects travel as their canonical CBOR (``application/cbor``); everything else, and the
views for people, is JSON. Errors are JSON ``{"error": {"type", "message", "object", "field"}}``
with the status of :mod:`privbill.errors` (400 for malformed input).

The endpoints are grouped by what they serve — operations, the registry (provider key, tariffs,
accounts, meters), bills, disclosures — each group a module with ``add_routes(app, ctx)`` over
one :class:`~privbill.service.api_context.ApiContext`.
"""

import json
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.concurrency import run_in_threadpool

from privbill import __version__
from privbill.crypto.signatures import SigningKey
from privbill.errors import AuthenticationError, PrivbillError, RateLimitedError, UsageError
from privbill.service import (
    bill_endpoints,
    db,
    disclosure_endpoints,
    metrics,
    operation_endpoints,
    registry_endpoints,
)
from privbill.service.api_context import (
    ApiContext,
    RateLimiter,
    ServiceConfig,
    error_body,
    status_of,
)

log = logging.getLogger("privbill.service.api")

API_TITLE = "privbill provider service"

__all__ = ["API_TITLE", "RateLimiter", "ServiceConfig", "create_app", "openapi_document"]


# --- the application ---------------------------------------------------------------------------


def create_app(config: ServiceConfig) -> FastAPI:
    engine = db.make_engine(config.db_url)
    postgres = db.is_postgres(db.normalise_url(config.db_url))
    ctx = ApiContext(
        engine,
        config,
        config.provider_key.public_key(),
        RateLimiter(config.submit_rate, config.submit_burst),
    )
    if postgres:
        from privbill.service.pgqueue import PgQueue

        ctx.pgq = PgQueue(config.db_url)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        if not postgres and config.workers > 0:
            from privbill.service.localqueue import LocalDispatcher

            ctx.dispatcher = LocalDispatcher(
                config.db_url, config.provider_key, config.workers, lease_s=config.lease_s
            )
            ctx.dispatcher.start()
        log.info("service started", extra={"postgres": postgres, "workers": config.workers})
        try:
            yield
        finally:
            if ctx.dispatcher is not None:
                await run_in_threadpool(ctx.dispatcher.stop, config.shutdown_grace_s)
            engine.dispose()
            log.info("service stopped")

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
    app.state.api = ctx
    app.state.engine = engine
    app.state.config = config
    app.state.metrics_collector = metrics.use_database(engine)
    _add_error_handlers(app)
    _add_request_log(app)
    operation_endpoints.add_routes(app, ctx)
    registry_endpoints.add_routes(app, ctx)
    bill_endpoints.add_routes(app, ctx)
    disclosure_endpoints.add_routes(app, ctx)
    app.state.dispatcher = lambda: ctx.dispatcher
    return app


def _add_error_handlers(app: FastAPI) -> None:
    """Typed errors as JSON with their status; invalid requests as 422 naming the field."""

    @app.exception_handler(PrivbillError)
    async def _privbill_error(_request: Request, exc: PrivbillError) -> JSONResponse:
        headers = {}
        if isinstance(exc, RateLimitedError):
            headers["Retry-After"] = "1"
        if isinstance(exc, AuthenticationError):
            headers["WWW-Authenticate"] = "Bearer"
        return JSONResponse(error_body(exc), status_code=status_of(exc), headers=headers)

    @app.exception_handler(RequestValidationError)
    async def _validation_error(_request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = exc.errors()
        first = errors[0] if errors else {}
        loc = ".".join(str(p) for p in first.get("loc", ()) if p not in ("body", "query"))
        err = UsageError(str(first.get("msg", "invalid request")), obj="request", field=loc or None)
        return JSONResponse(error_body(err), status_code=422)


def _add_request_log(app: FastAPI) -> None:
    """Every request counted, timed and logged by route template (never by its values); an
    unhandled error is a 500 without details."""

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


# --- for the OpenAPI document without a database -------------------------------------------------


def openapi_document() -> dict[str, Any]:
    """The API's OpenAPI document (what ``/openapi.json`` serves)."""
    key = SigningKey.generate("ed25519")
    app = create_app(ServiceConfig("sqlite:///:memory:", key, workers=0))
    doc: dict[str, Any] = app.openapi()
    return doc


def openapi_json() -> str:
    return json.dumps(openapi_document(), indent=2, sort_keys=True) + "\n"
