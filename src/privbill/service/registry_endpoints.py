"""Registry endpoints: the provider's key, published tariffs, customer accounts and meter
certificates (issue, register, look up, revoke)."""

from typing import Annotated, Any

from fastapi import FastAPI, Query, Request
from fastapi.responses import JSONResponse, PlainTextResponse, Response
from starlette.concurrency import run_in_threadpool

from privbill.errors import AuthenticationError, NotFoundError
from privbill.model.certificates import MeterCertificate
from privbill.service import core
from privbill.service.api_context import (
    CBOR,
    ERRORS,
    ApiContext,
    Caller,
    cbor_body,
    cbor_response,
    wants_cbor,
)
from privbill.service.api_models import AccountSpec, MeterSpec, RevokeSpec


def add_routes(app: FastAPI, ctx: ApiContext) -> None:
    @app.get("/v1/provider", tags=["provider"], summary="the provider's public key")
    def get_provider() -> dict[str, Any]:
        return core.provider_view(ctx.provider)

    @app.get(
        "/v1/provider/key.pem",
        tags=["provider"],
        summary="the provider's public key (PEM)",
        response_class=PlainTextResponse,
    )
    def get_provider_pem() -> PlainTextResponse:
        return PlainTextResponse(
            ctx.provider.to_pem().decode("ascii"), media_type="application/x-pem-file"
        )

    @app.post(
        "/v1/tariffs",
        tags=["tariffs"],
        summary="publish a signed tariff (operator, tariffs:write)",
        status_code=201,
        openapi_extra=cbor_body("signed tariff, canonical CBOR (privbill/tariff/1)"),
        responses=ERRORS,
    )
    async def post_tariff(request: Request, who: Caller) -> dict[str, Any]:
        who.require_scope("tariffs:write")
        data = await ctx.read_limited(request, ctx.config.max_object_bytes, "tariff")
        return await run_in_threadpool(core.publish_tariff, ctx.engine, ctx.provider, data)

    @app.get("/v1/tariffs", tags=["tariffs"], summary="list published tariffs")
    def list_tariffs(
        valid_at: Annotated[
            int | None, Query(ge=0, le=2**62, description="only tariffs valid at this Unix time")
        ] = None,
    ) -> list[dict[str, Any]]:
        return core.list_tariffs(ctx.engine, valid_at)

    @app.get(
        "/v1/tariffs/{tariff_hash}",
        tags=["tariffs"],
        summary="one tariff: CBOR (Accept: application/cbor or ?format=cbor) or JSON view",
        responses={**cbor_response("the signed tariff"), 404: {"description": "not found"}},
    )
    def get_tariff(
        tariff_hash: str,
        request: Request,
        format: Annotated[str | None, Query(pattern="^(json|cbor)$")] = None,
    ) -> Response:
        t = core.get_tariff(ctx.engine, tariff_hash.lower()[:64])
        if wants_cbor(request, format):
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
        return core.enrol_account(ctx.engine, account, spec.customer_key_pem.encode())

    @app.post(
        "/v1/meters",
        tags=["meters"],
        summary="issue a meter certificate (operator, meters:write)",
        status_code=201,
        responses=ERRORS,
    )
    def post_meter(spec: MeterSpec, who: Caller) -> dict[str, Any]:
        who.require_scope("meters:write")
        _cert, view = core.issue_certificate(ctx.engine, ctx.config.provider_key, spec.model_dump())
        return view

    @app.post(
        "/v1/certificates",
        tags=["meters"],
        summary="register a meter certificate this provider signed (operator, meters:write)",
        status_code=201,
        openapi_extra=cbor_body("meter certificate, canonical CBOR"),
        responses=ERRORS,
    )
    async def post_certificate(request: Request, who: Caller) -> dict[str, Any]:
        who.require_scope("meters:write")
        data = await ctx.read_limited(request, ctx.config.max_object_bytes, "meter certificate")
        cert = MeterCertificate.decode(data)
        return await run_in_threadpool(core.register_certificate, ctx.engine, ctx.provider, cert)

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
        views = core.meter_certificates(ctx.engine, meter_id)
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
        hashes = core.revoke_meter(ctx.engine, meter_id, spec.reason, spec.cert_hash)
        return {"meter_id": meter_id, "revoked": hashes}
