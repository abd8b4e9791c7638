"""The service for real (uvicorn on loopback, SQLite file or PostgreSQL, real workers): publish,
enrol, submit → verify → receipt, idempotency, conflicts and supersession, seal-chain continuity,
typed verification errors, revocation, size limits."""

from __future__ import annotations

import random

import httpx
import pytest

from privbill.billing.receipts import verify_receipt
from privbill.meter import Meter
from privbill.model import codec
from privbill.model.bills import PaymentMessage
from privbill.model.receipts import Receipt
from privbill.service.client import Client, ServiceCallError
from service_helpers import CBOR, Running, prove_again, record_month, wait_final


def submit_and_wait(r: Running, bill: bytes, **query: str) -> tuple[dict[str, object], str]:
    with Client(r.url) as c:
        sub = c.submit(bill, **query)
    return wait_final(r.url, str(sub["bill_hash"]), str(sub["token"])), str(sub["token"])


def test_provider_key_and_tariffs(running: Running) -> None:
    w = running.world
    with Client(running.url) as c:
        view = c.json("GET", "/v1/provider")
        assert view["key_id"] == w.provider.public_key.key_id.hex()
        listed = c.json("GET", "/v1/tariffs")
        hashes = {t["tariff_hash"] for t in listed}
        assert hashes == {w.tariff.hash().hex(), w.other_tariff.hash().hex()}
        assert c.json("GET", "/v1/tariffs?valid_at=0") == []
        h = w.tariff.hash().hex()
        assert c.cbor(f"/v1/tariffs/{h}") == w.tariff.encode()
        assert c.json("GET", f"/v1/tariffs/{h}")["name"] == w.tariff.body.name
        with pytest.raises(ServiceCallError) as e:
            c.json("GET", "/v1/tariffs/" + "0" * 64)
        assert e.value.status == 404


def test_publishing_a_foreign_tariff_is_refused(running: Running) -> None:
    from privbill.provider import Provider

    foreign = Provider.generate().sign_tariff(running.world.tariff.body)
    with running.operator() as op, pytest.raises(ServiceCallError) as e:
        op.request("POST", "/v1/tariffs", body=foreign.encode(), content_type=CBOR)
    assert e.value.status == 422 and e.value.error_type == "SignatureError"


def test_submit_verify_receipt_and_idempotency(running: Running) -> None:
    w = running.world
    c0 = w.customers[0]
    bill = c0.months["2026-01"].bill
    status, token = submit_and_wait(running, bill)
    assert status["status"] == "valid", status
    result = status["result"]
    assert isinstance(result, dict)
    assert result["account"] == c0.account and result["readings"] == 2976
    h = str(status["bill_hash"])
    with Client(running.url, bill_token=token) as c:
        receipt_bytes = c.cbor(f"/v1/bills/{h}/receipt")
    receipt = Receipt.decode(receipt_bytes)
    verify_receipt(receipt, w.provider.public_key, bill)
    assert receipt.total_fee == PaymentMessage.decode(bill).total_fee
    # The same bytes again: the same bill, the same receipt (not a second one).
    with Client(running.url) as c:
        again = c.request("POST", "/v1/bills", body=bill, content_type=CBOR)
    assert again.status_code == 200 and again.json()["bill_hash"] == h
    assert again.json()["status"] == "valid"
    with Client(running.url, bill_token=token) as c:
        assert c.cbor(f"/v1/bills/{h}/receipt") == receipt_bytes
    # The customer lists the account's bills.
    with running.customer(0) as c:
        listed = c.json("GET", f"/v1/accounts/{c0.account}/bills")
    assert [b["bill_hash"] for b in listed] == [h]


def test_next_month_continues_the_seal_chain(running: Running) -> None:
    c0 = running.world.customers[0]
    status, _ = submit_and_wait(running, c0.months["2026-02"].bill)
    assert status["status"] == "valid", status


def test_a_chain_that_does_not_continue_is_refused(running: Running) -> None:
    w = running.world
    c2 = w.customers[2]
    jan, _ = submit_and_wait(running, c2.months["2026-01"].bill)
    assert jan["status"] == "valid"
    # A second meter instance with the same certificate starts a new chain (sequence 0,
    # prev zero): its February is well formed and proves correctly, but does not continue
    # January's seals.
    fresh = Meter(c2.cert, c2.meter_key, seal_span="day", timezone="America/Denver")
    feb = record_month(c2, w.tariff, "2026-02", random.Random(9), meter=fresh)
    status, _ = submit_and_wait(running, feb.bill)
    assert status["status"] == "invalid"
    assert status["error_type"] == "SealChainError"
    assert "meters[0].runs[0].seal.prev" in str(status["error"])


def test_conflict_then_supersede_with_a_reason(running: Running) -> None:
    w = running.world
    c1 = w.customers[1]
    first, _ = submit_and_wait(running, c1.months["2026-01"].bill)
    assert first["status"] == "valid"
    second = prove_again(c1, w.other_tariff, "2026-01")  # same account and period, valid
    with Client(running.url) as c, pytest.raises(ServiceCallError) as e:
        c.submit(second)
    assert e.value.status == 409
    # Superseding needs the account's signature (or an operator's bills:supersede).
    query = {"supersedes": str(first["bill_hash"]), "reason": "customer moved to the TOU-2 tariff"}
    with Client(running.url) as c, pytest.raises(ServiceCallError) as e:
        c.submit(second, **query)
    assert e.value.status == 401
    with running.customer(2) as c, pytest.raises(ServiceCallError) as e:
        c.submit(second, **query)
    assert e.value.status == 403
    with running.customer(1) as c:
        sub = c.submit(second, **query)
    status = wait_final(running.url, str(sub["bill_hash"]), str(sub["token"]))
    assert status["status"] == "valid"
    assert status["supersedes"] == first["bill_hash"]
    assert status["supersede_reason"] == query["reason"]
    with running.customer(1) as c:
        old = c.json("GET", f"/v1/bills/{first['bill_hash']}")
    assert old["status"] == "superseded" and old["superseded_by"] == sub["bill_hash"]


def test_tampered_bill_is_stored_invalid_with_its_typed_error(running: Running) -> None:
    c3 = running.world.customers[3]
    obj = codec.decode(c3.months["2026-01"].bill, "bill")
    obj["total_fee"] += 1
    status, token = submit_and_wait(running, codec.encode(obj))
    assert status["status"] == "invalid"
    assert status["error_type"] == "FeeMismatchError"
    assert "total_fee" in str(status["error"])
    with Client(running.url, bill_token=token) as c, pytest.raises(ServiceCallError) as e:
        c.cbor(f"/v1/bills/{status['bill_hash']}/receipt")
    assert e.value.status == 404
    # An invalid bill does not block the honest one for the same period.
    good, _ = submit_and_wait(running, c3.months["2026-01"].bill)
    assert good["status"] == "valid"


@pytest.mark.parametrize(
    ("body", "status"),
    [(b"", 400), (b"\xa0", 400), (b"not cbor at all", 400), (codec.encode({"format": "x"}), 400)],
)
def test_malformed_submissions(running: Running, body: bytes, status: int) -> None:
    r = httpx.post(running.url + "/v1/bills", content=body, headers={"content-type": CBOR})
    assert r.status_code == status
    assert r.json()["error"]["type"] == "DecodeError"


def test_unknown_tariff_and_oversize(running: Running) -> None:
    w = running.world
    from privbill.provider import Provider

    unpublished = Provider(w.provider.key).sign_tariff(
        type(w.tariff.body)(**{**_fields(w.tariff.body), "name": "never published"})
    )
    bill = prove_again(w.customers[3], unpublished, "2026-02")
    r = httpx.post(running.url + "/v1/bills", content=bill, headers={"content-type": CBOR})
    assert r.status_code == 422 and r.json()["error"]["field"] == "tariff_hash"
    big = b"\x00" * (16 * 1024 * 1024 + 1)
    r = httpx.post(running.url + "/v1/bills", content=big, headers={"content-type": CBOR})
    assert r.status_code == 413


def _fields(body: object) -> dict[str, object]:
    import dataclasses

    return {f.name: getattr(body, f.name) for f in dataclasses.fields(body)}  # type: ignore[arg-type]


def test_revoked_meter_bills_are_refused(running: Running) -> None:
    c3 = running.world.customers[3]
    with running.operator("meters:write") as op:
        out = op.json("POST", f"/v1/meters/{c3.meter_id}/revoke", json_body={"reason": "tampered"})
        assert out["revoked"]
        views = op.json("GET", f"/v1/meters/{c3.meter_id}")
    assert views[0]["revoked_at"] is not None and views[0]["revoke_reason"] == "tampered"
    status, _ = submit_and_wait(running, c3.months["2026-02"].bill)
    assert status["status"] == "invalid" and status["error_type"] == "CertificateError"
    assert "revoked" in str(status["error"])


def test_issue_a_certificate_through_the_api(running: Running) -> None:
    from privbill.crypto.signatures import SigningKey
    from privbill.model.certificates import MeterCertificate

    key = SigningKey.generate()
    spec = {
        "meter_id": "new-1",
        "account": "acct-new",
        "public_key_pem": key.public_key().to_pem().decode(),
    }
    with running.operator("meters:write") as op:
        view = op.json("POST", "/v1/meters", json_body=spec)
    cert = MeterCertificate.decode(bytes.fromhex(view["certificate_hex"]))
    cert.verify(running.world.provider.public_key)
    assert (cert.meter_id, cert.account, cert.public_key) == ("new-1", "acct-new", key.public_key())
    assert cert.channel is None and view["channel"] is None
    # a licensed feature's meter: certified for its channel
    feature = {**spec, "meter_id": "new-1.api", "interval_s": 3600, "channel": "api"}
    with running.operator("meters:write") as op:
        view = op.json("POST", "/v1/meters", json_body=feature)
    cert = MeterCertificate.decode(bytes.fromhex(view["certificate_hex"]))
    assert cert.channel == view["channel"] == "api" and cert.interval_s == 3600


def test_a_bill_must_cover_every_meter_of_the_account(running: Running) -> None:
    """An account with two meters cannot bill one and leave out the other (which would dodge
    tiers, demand and minimum charges that are not additive across meters)."""
    from privbill.billing.prover import MeterInput, prove_bill
    from privbill.crypto.signatures import SigningKey
    from privbill.model.certificates import MeterCertificate
    from privbill.model.periods import BillingPeriod
    from privbill.model.sealed import SealedReadings

    w = running.world
    inputs = []
    rng = random.Random(17)
    for meter_id in ("split-a", "split-b"):
        key = SigningKey.generate()
        spec = {
            "meter_id": meter_id,
            "account": "acct-split",
            "public_key_pem": key.public_key().to_pem().decode(),
        }
        with running.operator("meters:write") as op:
            view = op.json("POST", "/v1/meters", json_body=spec)
        cert = MeterCertificate.decode(bytes.fromhex(view["certificate_hex"]))
        period = BillingPeriod.parse("2026-01", w.tariff.body.tz)
        first, count = period.intervals(cert.interval_s)
        meter = Meter(cert, key, seal_span="day", timezone="America/Denver")
        rec = meter.record([(first + i, rng.randrange(0, 900)) for i in range(count)])
        inputs.append(MeterInput(SealedReadings(cert, tuple(rec.runs)), [rec.openings]))
    alone = prove_bill(w.tariff, inputs[:1], "2026-01").encode()
    status, _ = submit_and_wait(running, alone)
    assert status["status"] == "invalid" and status["error_type"] == "CoverageError", status
    assert "'split-b'" in str(status["error"]) and "every meter" in str(status["error"])
    both = prove_bill(w.tariff, inputs, "2026-01").encode()
    status, _ = submit_and_wait(running, both)
    assert status["status"] == "valid", status
    result = status["result"]
    assert isinstance(result, dict) and result["readings"] == 2 * 2976
