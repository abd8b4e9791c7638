"""Authentication and authorisation: every endpoint refuses the unauthenticated caller, another
account's customer, a bill token of another bill and an operator without the scope; customer
signatures resist replay, staleness, another key and any change of method, path or body."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from privbill.crypto.signatures import SigningKey
from privbill.service import auth
from privbill.service.client import Client
from service_helpers import CBOR, Running, wait_final

PUBLIC = {
    ("GET", "/healthz"),
    ("GET", "/readyz"),
    ("GET", "/metrics"),
    ("GET", "/v1/provider"),
    ("GET", "/v1/provider/key.pem"),
    ("GET", "/v1/tariffs"),
    ("GET", "/v1/tariffs/{tariff_hash}"),
    ("POST", "/v1/bills"),  # no secret: the bill proves itself (size- and rate-limited)
}


@dataclass
class Case:
    method: str
    route: str
    path: str
    scope: str | None  # the operator scope that allows it (None: no operator may)
    owner_allowed: bool  # the account's customer may
    body: bytes = b""
    content_type: str | None = None
    bill_token_ok: bool = False  # the bill's own read token may


@pytest.fixture(scope="module")
def cases(running: Running) -> list[Case]:
    w = running.world
    c0 = w.customers[0]
    bill = c0.months["2026-01"].bill
    with Client(running.url) as c:
        sub = c.submit(bill)
    wait_final(running.url, sub["bill_hash"], sub["token"])
    statements = [{"kind": "sum", "from": "2026-01-05", "to": "2026-01-06"}]
    spec = {"account": c0.account, "period": "2026-01", "statements": statements,
            "requester": "Test Power", "purpose": "testing access control",
            "timezone": "America/Denver"}  # fmt: skip
    with running.operator("disclosures:write") as op:
        req = op.json("POST", "/v1/disclosures", json_body=spec)
    rid = req["request_id"]
    h = sub["bill_hash"]
    pem = c0.customer_key.public_key().to_pem().decode()
    meter_spec = {"meter_id": "auth-m", "account": c0.account, "public_key_pem": pem}
    return [
        Case("POST", "/v1/tariffs", "/v1/tariffs", "tariffs:write", False, w.tariff.encode(), CBOR),
        Case("PUT", "/v1/accounts/{account}", f"/v1/accounts/{c0.account}", "accounts:write",
             False, json.dumps({"customer_key_pem": pem}).encode(), "application/json"),
        Case("POST", "/v1/meters", "/v1/meters", "meters:write", False,
             json.dumps(meter_spec).encode(), "application/json"),
        Case("POST", "/v1/certificates", "/v1/certificates", "meters:write", False,
             c0.cert.encode(), CBOR),
        Case("GET", "/v1/meters/{meter_id}", f"/v1/meters/{c0.meter_id}", "meters:write", True),
        Case("POST", "/v1/meters/{meter_id}/revoke", "/v1/meters/no-such-meter/revoke",
             "meters:write", False, b'{"reason": "x"}', "application/json"),
        Case("GET", "/v1/bills/{bill_hash}", f"/v1/bills/{h}", "bills:read", True,
             bill_token_ok=True),
        Case("GET", "/v1/bills/{bill_hash}/receipt", f"/v1/bills/{h}/receipt", "bills:read",
             True, bill_token_ok=True),
        Case("GET", "/v1/bills/{bill_hash}/message", f"/v1/bills/{h}/message", "bills:read",
             True, bill_token_ok=True),
        Case("GET", "/v1/bills/{bill_hash}/dispute", f"/v1/bills/{h}/dispute", "disputes:read",
             True, bill_token_ok=True),
        Case("GET", "/v1/accounts/{account}/bills", f"/v1/accounts/{c0.account}/bills",
             "bills:read", True),
        Case("POST", "/v1/disclosures", "/v1/disclosures", "disclosures:write", False,
             json.dumps(spec).encode(), "application/json"),
        Case("GET", "/v1/accounts/{account}/disclosures",
             f"/v1/accounts/{c0.account}/disclosures", "disclosures:read", True),
        Case("GET", "/v1/disclosures/{request_id}/request", f"/v1/disclosures/{rid}/request",
             "disclosures:read", True),
        Case("POST", "/v1/disclosures/{request_id}/response", f"/v1/disclosures/{rid}/response",
             None, True, b"\xa0", CBOR),
        Case("GET", "/v1/disclosures/{request_id}", f"/v1/disclosures/{rid}",
             "disclosures:read", True),
    ]  # fmt: skip


def _send(running: Running, case: Case, headers: dict[str, str]) -> httpx.Response:
    h = dict(headers)
    if case.content_type:
        h["content-type"] = case.content_type
    return httpx.request(
        case.method, running.url + case.path, content=case.body or None, headers=h, timeout=30
    )


def _signed(running: Running, k: int, case: Case) -> dict[str, str]:
    c = running.world.customers[k]
    return auth.sign_request(c.customer_key, c.account, case.method, case.path, case.body)


def test_the_matrix_covers_every_endpoint(running: Running, cases: list[Case]) -> None:
    spec = httpx.get(running.url + "/openapi.json").json()
    served = {(m.upper(), p) for p, ops in spec["paths"].items() for m in ops}
    covered = {(c.method, c.route) for c in cases} | PUBLIC
    assert served == covered


def test_unauthenticated_callers_are_refused(running: Running, cases: list[Case]) -> None:
    for case in cases:
        r = _send(running, case, {})
        assert r.status_code == 401, (case.route, r.status_code, r.text)


def test_another_accounts_customer_is_refused(running: Running, cases: list[Case]) -> None:
    for case in cases:
        r = _send(running, case, _signed(running, 1, case))
        assert r.status_code in (403, 404), (case.route, r.status_code, r.text)


def test_a_bill_token_reads_only_its_own_bill(running: Running, cases: list[Case]) -> None:
    other = running.world.customers[1].months["2026-01"].bill
    token_of_other = auth.bill_token(other)
    for case in cases:
        r = _send(running, case, {auth.H_BILL_TOKEN: token_of_other})
        assert r.status_code in (401, 403, 404), (case.route, r.status_code, r.text)


def test_operators_need_the_scope(running: Running, cases: list[Case]) -> None:
    for case in cases:
        for scope, token in running.tokens.items():
            if scope == case.scope:
                continue
            r = _send(running, case, {"Authorization": f"Bearer {token}"})
            assert r.status_code == 403, (case.route, scope, r.status_code, r.text)
        r = _send(running, case, {"Authorization": "Bearer pbo_not-a-real-token"})
        assert r.status_code == 401, case.route


def test_the_right_caller_is_allowed(running: Running, cases: list[Case]) -> None:
    bill = running.world.customers[0].months["2026-01"].bill
    for case in cases:
        if case.method != "GET":
            continue
        if case.owner_allowed:
            r = _send(running, case, _signed(running, 0, case))
            assert r.status_code == 200, (case.route, r.text)
        if case.scope:
            r = _send(running, case, {"Authorization": f"Bearer {running.tokens[case.scope]}"})
            assert r.status_code == 200, (case.route, r.text)
        if case.bill_token_ok:
            r = _send(running, case, {auth.H_BILL_TOKEN: auth.bill_token(bill)})
            assert r.status_code == 200, (case.route, r.text)


def _bills_path(running: Running) -> str:
    return f"/v1/accounts/{running.world.customers[0].account}/bills"


def _get(running: Running, path: str, headers: dict[str, str]) -> httpx.Response:
    return httpx.get(running.url + path, headers=headers)


def test_a_signed_request_cannot_be_replayed(running: Running) -> None:
    c0 = running.world.customers[0]
    path = _bills_path(running)
    headers = auth.sign_request(c0.customer_key, c0.account, "GET", path)
    assert _get(running, path, headers).status_code == 200
    again = _get(running, path, headers)
    assert again.status_code == 401 and "replay" in again.json()["error"]["message"]


@pytest.mark.parametrize("change", ["stale", "future", "other-key", "path", "method", "body",
                                    "account", "nonce-length", "garbage-signature"])  # fmt: skip
def test_altered_signed_requests_are_refused(running: Running, change: str) -> None:
    c0 = running.world.customers[0]
    path = _bills_path(running)
    key, account, method, sign_path, body = c0.customer_key, c0.account, "GET", path, b""
    ts: int | None = None
    nonce: bytes | None = None
    if change == "stale":
        ts = auth.db.now() - auth.MAX_SKEW_S - 5
    elif change == "future":
        ts = auth.db.now() + auth.MAX_SKEW_S + 5
    elif change == "other-key":
        key = SigningKey.generate("ed25519")
    elif change == "path":
        sign_path = f"/v1/accounts/{c0.account}/disclosures"
    elif change == "method":
        method = "POST"
    elif change == "body":
        body = b"x"
    elif change == "nonce-length":
        nonce = bytes(8)
    headers: dict[str, Any] = auth.sign_request(
        key, account, method, sign_path, body, timestamp=ts, nonce=nonce
    )
    if change == "account":
        headers[auth.H_ACCOUNT] = running.world.customers[1].account
    if change == "garbage-signature":
        headers[auth.H_SIGNATURE] = "zz"
    r = _get(running, path, headers)
    assert r.status_code == 401, (change, r.text)
