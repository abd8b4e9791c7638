"""Bill endpoints: submission (size- and rate-limited, superseding by the account or an
operator), status, receipt, the message as submitted, the dispute bundle, an account's bills."""

from typing import Annotated, Any

from fastapi import FastAPI, Query, Request
from fastapi.responses import JSONResponse, Response
from starlette.concurrency import run_in_threadpool

from privbill.dispute import DisputeBundle
from privbill.errors import (
    AuthenticationError,
    ForbiddenError,
    PayloadTooLargeError,
    PrivbillError,
    RateLimitedError,
)
from privbill.model.register_bills import decode_bill
from privbill.service import core, metrics
from privbill.service.api_context import (
    CBOR,
    ERRORS,
    ApiContext,
    Caller,
    cbor_body,
    cbor_response,
    status_of,
    wants_cbor,
)


def add_routes(app: FastAPI, ctx: ApiContext) -> None:
    @app.post(
        "/v1/bills",
        tags=["bills"],
        summary="submit a payment message (no credentials; size- and rate-limited)",
        status_code=202,
        openapi_extra=cbor_body("payment message, canonical CBOR (privbill/bill/1)"),
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
        wait = ctx.limiter.take(client)
        if wait > 0:
            metrics.SUBMISSIONS.labels("rate_limited").inc()
            raise RateLimitedError(f"too many submissions; retry in {wait:.2f} s", obj="submission")
        try:
            data = await ctx.read_limited(request, ctx.config.max_bill_bytes, "payment message")
        except PayloadTooLargeError:
            metrics.SUBMISSIONS.labels("too_large").inc()
            raise
        if supersedes is not None or reason is not None:
            who = await ctx.resolve(request, data)
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
                core.submit_bill,
                ctx.engine,
                data,
                ctx.enqueue,
                supersedes=supersedes,
                reason=reason,
            )
        except PrivbillError as exc:
            metrics.SUBMISSIONS.labels("conflict" if status_of(exc) == 409 else "rejected").inc()
            raise
        metrics.SUBMISSIONS.labels("accepted" if res.created else "duplicate").inc()
        if ctx.dispatcher is not None and res.created:
            ctx.dispatcher.wake()
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
        row = ctx.find_bill(bill_hash)
        ctx.authorise_bill(who, row)
        return core.bill_status(row)

    @app.get(
        "/v1/bills/{bill_hash}/receipt",
        tags=["bills"],
        summary="the signed receipt of a valid bill (CBOR or JSON)",
        responses={**cbor_response("receipt"), **ERRORS},
    )
    def get_receipt(
        bill_hash: str,
        request: Request,
        who: Caller,
        format: Annotated[str | None, Query(pattern="^(json|cbor)$")] = None,
    ) -> Response:
        row = ctx.find_bill(bill_hash)
        ctx.authorise_bill(who, row)
        r = core.receipt_of(ctx.engine, row.id)
        if wants_cbor(request, format):
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
        responses={**cbor_response("payment message"), **ERRORS},
    )
    def get_message(bill_hash: str, who: Caller) -> Response:
        row = ctx.find_bill(bill_hash)
        ctx.authorise_bill(who, row)
        return Response(row.message, media_type=CBOR)

    @app.get(
        "/v1/bills/{bill_hash}/dispute",
        tags=["disputes"],
        summary="a self-contained dispute bundle for a valid bill (CBOR)",
        responses={**cbor_response("dispute bundle"), **ERRORS},
    )
    def get_dispute(bill_hash: str, who: Caller) -> Response:
        row = ctx.find_bill(bill_hash)
        ctx.authorise_bill(who, row, "disputes:read")
        receipt = core.receipt_of(ctx.engine, row.id)
        tariff = core.get_tariff(ctx.engine, row.tariff_hash)
        msg = decode_bill(row.message)
        bundle = DisputeBundle.assemble(
            row.message,
            tariff,
            tuple(s.certificate for s in msg.meters),
            ctx.provider,
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
        return core.account_bills(ctx.engine, account, limit, after)
