"""Operations endpoints: liveness, readiness (database reachable and migrated, local workers),
Prometheus metrics."""

from typing import Any

from fastapi import FastAPI
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import text

from privbill.service import metrics
from privbill.service.api_context import ApiContext


def add_routes(app: FastAPI, ctx: ApiContext) -> None:
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
            with ctx.engine.connect() as conn:
                version = conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
        except Exception as exc:
            return JSONResponse(
                {"status": "not ready", "reason": type(exc).__name__}, status_code=503
            )
        body: dict[str, Any] = {"status": "ready", "schema": version}
        if ctx.dispatcher is not None:
            body["local_workers"] = ctx.dispatcher.status()
        return JSONResponse(body)

    @app.get("/metrics", tags=["operations"], summary="Prometheus metrics")
    def metrics_endpoint() -> Response:
        return Response(generate_latest(metrics.REGISTRY), media_type=CONTENT_TYPE_LATEST)
