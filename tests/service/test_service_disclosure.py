"""Disclosures through the service (request → customer fetches → answers → provider reads) and
dispute bundles exported by the service and checked offline by ``privbill dispute verify``."""

from __future__ import annotations

from pathlib import Path

import pytest

from privbill.cli import main
from privbill.crypto.signatures import SigningKey
from privbill.disclosure import answer
from privbill.disclosure.ledger import DisclosureLedger
from privbill.disclosure.model import Consent, DisclosureRequest
from privbill.model.periods import BillingPeriod
from privbill.service.client import Client, ServiceCallError
from service_helpers import CBOR, Running, wait_final

DAY = "2026-01-05"


def _statements() -> list[dict[str, object]]:
    return [
        {"kind": "sum", "from": DAY, "to": "2026-01-06"},
        {"kind": "threshold", "test": "sum-at-most", "bound_wh": 2_000_000},
    ]


@pytest.fixture(scope="module")
def request_id(running: Running) -> str:
    c0 = running.world.customers[0]
    spec = {
        "account": c0.account,
        "period": "2026-01",
        "statements": _statements(),
        "requester": "Example Power",
        "purpose": "billing reconciliation",
        "timezone": "America/Denver",
    }
    with running.operator("disclosures:write") as op:
        view = op.json("POST", "/v1/disclosures", json_body=spec)
    assert view["status"] == "pending" and view["statements"] == 2
    return str(view["request_id"])


def _answer(running: Running, req: DisclosureRequest, key: SigningKey) -> bytes:
    c0 = running.world.customers[0]
    month = c0.months["2026-01"]
    consent = Consent.create(req, key=key)
    resp = answer(
        req,
        consent,
        [month.sealed],
        [month.openings],
        provider=running.world.provider.public_key,
        ledger=DisclosureLedger(),  # the household's ledger: nothing disclosed before
    )
    return resp.encode()


def test_customer_fetches_answers_and_provider_reads(running: Running, request_id: str) -> None:
    c0 = running.world.customers[0]
    with running.customer(0) as me:
        pending = me.json("GET", f"/v1/accounts/{c0.account}/disclosures")
        mine = [p for p in pending if p["request_id"] == request_id]
        assert len(mine) == 1 and "Example Power" in mine[0]["description"]
        raw = me.cbor(f"/v1/disclosures/{request_id}/request")
    req = DisclosureRequest.decode(raw)
    req.verify(running.world.provider.public_key)  # the customer checks who asks
    # A consent signed by a key that is not the account's is refused and recorded.
    with running.customer(0) as me, pytest.raises(ServiceCallError) as e:
        me.request(
            "POST",
            f"/v1/disclosures/{request_id}/response",
            body=_answer(running, req, SigningKey.generate("ed25519")),
            content_type=CBOR,
        )
    assert e.value.status == 422 and e.value.error_type == "ConsentError"
    body = _answer(running, req, c0.customer_key)
    with running.customer(0) as me:
        out = me.request(
            "POST", f"/v1/disclosures/{request_id}/response", body=body, content_type=CBOR
        ).json()
    result = out["result"]
    tz = running.world.tariff.body.tz
    day = BillingPeriod.parse(f"{DAY}/2026-01-06", tz)
    first, _ = BillingPeriod.parse("2026-01", tz).intervals(900)
    lo, hi = (day.start // 900 - first, day.end // 900 - first)
    assert result["results"][0]["value"] == sum(c0.months["2026-01"].values[lo:hi])
    assert result["results"][1]["holds"] is True
    with running.operator("disclosures:read") as op:
        status = op.json("GET", f"/v1/disclosures/{request_id}")
    assert status["status"] == "answered" and status["result"] == result
    assert status["rejected_answers"][0]["error_type"] == "ConsentError"
    with running.customer(0) as me:
        left = me.json("GET", f"/v1/accounts/{c0.account}/disclosures")
        answered = me.json("GET", f"/v1/accounts/{c0.account}/disclosures?status=answered")
    assert request_id not in {p["request_id"] for p in left}
    assert request_id in {p["request_id"] for p in answered}


def test_dispute_bundle_verifies_offline(running: Running, tmp_path: Path) -> None:
    w = running.world
    c0 = w.customers[0]
    with Client(running.url) as c:
        sub = c.submit(c0.months["2026-01"].bill)
    status = wait_final(running.url, sub["bill_hash"], sub["token"])
    assert status["status"] == "valid"
    bundle = tmp_path / "bill.pbx"
    pub = tmp_path / "provider.pub"
    pub.write_bytes(w.provider.public_key.to_pem())
    other = tmp_path / "other.pub"
    other.write_bytes(SigningKey.generate("ed25519").public_key().to_pem())
    args = ["provider", "export-dispute", sub["bill_hash"], "--to", running.url,
            "--token", running.tokens["disputes:read"], "--out", str(bundle)]  # fmt: skip
    assert main(args) == 0
    # Offline: no service, no database.
    assert main(["dispute", "verify", str(bundle)]) == 0
    assert main(["dispute", "verify", str(bundle), "--provider", str(pub)]) == 0
    assert main(["dispute", "verify", str(bundle), "--provider", str(other)]) == 1
    # A customer cannot export another account's bundle.
    with running.customer(1) as them, pytest.raises(ServiceCallError) as e:
        them.cbor(f"/v1/bills/{sub['bill_hash']}/dispute")
    assert e.value.status == 403
