"""Disclosure endpoints: the provider asks, the customer fetches and answers, the provider reads.

* ``POST /v1/disclosures`` (operator, ``disclosures:write``): statements in the JSON statement
  list of ``docs/disclosure.md`` for an account's enrolled meters; the service signs the request
  with the provider key.
* ``GET /v1/accounts/{account}/disclosures`` (the account's customer): its requests, pending by
  default, each with the signed request (CBOR, hex) and its plain-words description.
* ``GET /v1/disclosures/{request_id}/request``: the signed request as CBOR.
* ``POST /v1/disclosures/{request_id}/response`` (the account's customer): the response, verified
  at once with :func:`privbill.disclosure.verify` — the consent must be signed by the account's
  enrolled key — and stored with its outcome.
* ``GET /v1/disclosures/{request_id}`` (operator ``disclosures:read``, or the customer): status
  and the verified result (:meth:`VerifiedDisclosure.to_json`).
"""

import json
from typing import Annotated, Any

from fastapi import FastAPI, Query, Request
from fastapi.responses import Response
from sqlalchemy import Engine, insert, select, update
from starlette.concurrency import run_in_threadpool

from privbill.crypto.signatures import VerifyingKey
from privbill.disclosure import DisclosureRequest, DisclosureResponse, MeterRef, describe, verify
from privbill.disclosure.statements import parse_statements
from privbill.disclosure.verified import VerifiedDisclosureJSON
from privbill.errors import NotFoundError, PrivbillError, UnprocessableError, UsageError
from privbill.model.periods import BillingPeriod, zone
from privbill.model.register_bills import decode_bill
from privbill.model.tariffs import SignedTariff
from privbill.service import core, db
from privbill.service.api_context import CBOR, ERRORS, ApiContext, Caller, cbor_body, cbor_response
from privbill.service.api_models import DisclosureSpec


def _request_row(engine: Engine, request_id: str) -> Any:
    if len(request_id) != 32 or any(c not in "0123456789abcdef" for c in request_id):
        raise NotFoundError("no such disclosure request", obj="disclosure request")
    with engine.connect() as conn:
        row = conn.execute(
            select(db.disclosure_requests).where(db.disclosure_requests.c.request_id == request_id)
        ).first()
    if row is None:
        raise NotFoundError("no such disclosure request", obj="disclosure request")
    return row


def create_request(engine: Engine, config: Any, spec: Any) -> dict[str, Any]:
    core.check_account_name(spec.account)
    with engine.connect() as conn:
        certs = core.account_certificates(conn, spec.account)
    if not certs:
        raise NotFoundError("the account has no enrolled meter", obj="account")
    tariffs = [core.get_tariff(engine, h.lower()) for h in spec.tariffs]
    tzname = spec.timezone or (tariffs[0].body.timezone if tariffs else "UTC")
    tz = zone(tzname)
    period = BillingPeriod.parse(spec.period, tz)
    latest: dict[str, MeterRef] = {}
    for c in certs:
        if c.valid_from <= period.start and period.end <= c.valid_until:
            latest[c.meter_id] = MeterRef(c.meter_id, c.interval_s)
    meters = list(latest.values())
    if not meters:
        raise UsageError("no meter certificate of the account covers the period", obj="period")
    statements = parse_statements(json.dumps(spec.statements).encode(), meters, period, tz, tariffs)
    used = {s.meter for s in statements}
    req = DisclosureRequest.create(
        config.provider_key,
        requester=spec.requester,
        purpose=spec.purpose,
        account=spec.account,
        meters=[m for m in meters if m.meter_id in used],
        period=period,
        timezone=tzname,
        statements=statements,
        lifetime_s=spec.valid_days * 86400,
    )
    with db.transaction(engine) as conn:
        conn.execute(
            insert(db.disclosure_requests).values(
                request_id=req.request_id.hex(),
                account=req.account,
                request=req.encode(),
                status="pending",
                created_at=db.now(),
                expires=req.expires,
            )
        )
    return _request_view(req, "pending", [])


def _request_view(
    req: DisclosureRequest, status: str, tariffs: list[SignedTariff]
) -> dict[str, Any]:
    return {
        "request_id": req.request_id.hex(),
        "request_hash": req.hash().hex(),
        "account": req.account,
        "requester": req.requester,
        "purpose": req.purpose,
        "period": {"start": req.period.start, "end": req.period.end},
        "issued_at": req.issued_at,
        "expires": req.expires,
        "status": status,
        "statements": len(req.statements),
        "description": describe(req, tariffs),
        "request_hex": req.encode().hex(),
    }


def answer_request(engine: Engine, provider: VerifyingKey, row: Any, data: bytes) -> dict[str, Any]:
    req = DisclosureRequest.decode(row.request)
    with engine.connect() as conn:
        acct = conn.execute(
            select(db.accounts.c.customer_key).where(db.accounts.c.account == req.account)
        ).first()
        tariff_rows = conn.execute(select(db.tariffs.c.tariff)).all()
    customer = VerifyingKey.from_spki(acct.customer_key) if acct and acct.customer_key else None
    tariffs = [SignedTariff.decode(r.tariff) for r in tariff_rows]
    resp = DisclosureResponse.decode(data)
    bill: bytes | None = None
    if resp.bill_hash is not None:
        try:
            bill_row = core.bill_row(engine, resp.bill_hash.hex())
        except NotFoundError:
            raise UnprocessableError(
                "the response refers to a bill this service does not hold",
                obj="disclosure response",
                field="bill_hash",
            ) from None
        bill = bill_row.message
        if decode_bill(bill).account != req.account:
            raise UnprocessableError(
                "the referenced bill is another account's", obj="disclosure response"
            )
    error: PrivbillError | None = None
    result: VerifiedDisclosureJSON | None = None
    try:
        verified = verify(data, req, provider, tariffs=tariffs, bill=bill, customer_key=customer)
        result = verified.to_json()
    except PrivbillError as exc:
        error = exc
    with db.transaction(engine) as conn:
        conn.execute(
            insert(db.disclosure_answers).values(
                request_id=row.request_id,
                response=data,
                status="valid" if error is None else "invalid",
                error_type=type(error).__name__ if error else None,
                error=str(error) if error else None,
                result=json.dumps(result) if result else None,
                received_at=db.now(),
            )
        )
        if error is None:
            conn.execute(
                update(db.disclosure_requests)
                .where(db.disclosure_requests.c.request_id == row.request_id)
                .values(status="answered")
            )
    if error is not None:
        raise error
    assert result is not None
    return {"request_id": row.request_id, "status": "answered", "result": result}


def request_status(engine: Engine, row: Any) -> dict[str, Any]:
    with engine.connect() as conn:
        answers = conn.execute(
            select(db.disclosure_answers)
            .where(db.disclosure_answers.c.request_id == row.request_id)
            .order_by(db.disclosure_answers.c.id)
        ).all()
    valid = [a for a in answers if a.status == "valid"]
    return {
        "request_id": row.request_id,
        "account": row.account,
        "status": row.status,
        "created_at": row.created_at,
        "expires": row.expires,
        "answers": len(answers),
        "rejected_answers": [
            {"error_type": a.error_type, "error": a.error, "received_at": a.received_at}
            for a in answers
            if a.status != "valid"
        ],
        "result": json.loads(valid[-1].result) if valid else None,
    }


def add_routes(app: FastAPI, ctx: ApiContext) -> None:
    engine, config, provider = ctx.engine, ctx.config, ctx.provider
    read_limited = ctx.read_limited

    @app.post(
        "/v1/disclosures",
        tags=["disclosures"],
        summary="create and sign a disclosure request (operator, disclosures:write)",
        status_code=201,
        responses=ERRORS,
    )
    def post_disclosure(spec: DisclosureSpec, who: Caller) -> dict[str, Any]:
        who.require_scope("disclosures:write")
        return create_request(engine, config, spec)

    @app.get(
        "/v1/accounts/{account}/disclosures",
        tags=["disclosures"],
        summary="an account's disclosure requests (its customer, or operator disclosures:read)",
        responses=ERRORS,
    )
    def list_requests(
        account: str,
        who: Caller,
        status: Annotated[str, Query(pattern="^(pending|answered|all)$")] = "pending",
    ) -> list[dict[str, Any]]:
        who.require_account(account, "disclosures:read")
        q = select(db.disclosure_requests).where(db.disclosure_requests.c.account == account)
        if status != "all":
            q = q.where(db.disclosure_requests.c.status == status)
        if status == "pending":
            q = q.where(db.disclosure_requests.c.expires > db.now())
        with engine.connect() as conn:
            rows = conn.execute(q.order_by(db.disclosure_requests.c.created_at)).all()
        return [_request_view(DisclosureRequest.decode(r.request), r.status, []) for r in rows]

    @app.get(
        "/v1/disclosures/{request_id}/request",
        tags=["disclosures"],
        summary="the signed disclosure request (CBOR)",
        responses={**cbor_response("disclosure request"), **ERRORS},
    )
    def get_request(request_id: str, who: Caller) -> Response:
        row = _request_row(engine, request_id)
        who.require_account(row.account, "disclosures:read")
        return Response(row.request, media_type=CBOR)

    @app.post(
        "/v1/disclosures/{request_id}/response",
        tags=["disclosures"],
        summary="answer a disclosure request (the account's customer, signed request)",
        openapi_extra=cbor_body("disclosure response, canonical CBOR"),
        responses={**ERRORS, 422: {"description": "the response does not verify"}},
    )
    async def post_response(request: Request, request_id: str, who: Caller) -> dict[str, Any]:
        row = await run_in_threadpool(_request_row, engine, request_id)
        who.require_account(row.account, "-")  # "-": no operator scope answers for a customer
        data = await read_limited(request, config.max_object_bytes, "disclosure response")
        return await run_in_threadpool(answer_request, engine, provider, row, data)

    @app.get(
        "/v1/disclosures/{request_id}",
        tags=["disclosures"],
        summary="a disclosure request's status and verified result",
        responses=ERRORS,
    )
    def get_disclosure(request_id: str, who: Caller) -> dict[str, Any]:
        row = _request_row(engine, request_id)
        who.require_account(row.account, "disclosures:read")
        return request_status(engine, row)
