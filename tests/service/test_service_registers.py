"""Register bills through the real service: a meter that keeps time-of-use energy registers,
its January billed per reading (the statement missed) and February from the registers; both
verified by the workers (February continuing January's seal chain), receipted, and exported
as a dispute bundle that verifies offline."""

from __future__ import annotations

from privbill.billing.prover import MeterInput, prove_bill
from privbill.billing.receipts import verify_receipt
from privbill.crypto.signatures import SigningKey
from privbill.dispute import DisputeBundle, verify_bundle
from privbill.meter import Meter
from privbill.model.energy_registers import register_config_for
from privbill.model.receipts import Receipt
from privbill.model.register_bills import RegisterBill
from privbill.model.sealed import SealedReadings
from privbill.service.client import Client
from service_helpers import CBOR, Running, wait_final


def _submit(r: Running, bill: bytes) -> tuple[dict[str, object], str]:
    with Client(r.url) as c:
        sub = c.submit(bill)
    return wait_final(r.url, str(sub["bill_hash"]), str(sub["token"])), str(sub["token"])


def test_register_bills_are_verified_receipted_and_chained(running: Running) -> None:
    w = running.world
    key = SigningKey.generate()
    cert = w.provider.certify_meter("reg-0001", "reg-acct", key.public_key())
    with running.operator() as op:
        op.request("POST", "/v1/certificates", body=cert.encode(), content_type=CBOR)
    meter = Meter(
        cert, key, "day", "America/Denver", energy_registers=register_config_for(w.tariff.body)
    )
    first = 1767250800 // 900  # 2026-01-01 00:00 MST
    end = 1772348400 // 900  # 2026-03-01 00:00 MST
    recs = [
        meter.record([(k, (k * 31) % 700) for k in range(lo, min(lo + 96, end))])
        for lo in range(first, end, 96)
    ]
    runs = tuple(r for rec in recs for r in rec.runs)
    statements = [s for rec in recs for s in rec.energy_registers]
    assert len(statements) == 2
    feb_only = SealedReadings(cert, runs, (), tuple(statements[1:]))
    openings = [rec.openings for rec in recs]
    jan = prove_bill(w.tariff, [MeterInput(feb_only, openings)], "2026-01", path="auto")
    feb = prove_bill(w.tariff, [MeterInput(feb_only, openings)], "2026-02", path="auto")
    assert isinstance(feb, RegisterBill) and not isinstance(jan, RegisterBill)

    jan_status, _ = _submit(running, jan.encode())
    assert jan_status["status"] == "valid", jan_status
    feb_bytes = feb.encode()
    status, token = _submit(running, feb_bytes)
    assert status["status"] == "valid", status
    result = status["result"]
    assert isinstance(result, dict)
    assert result["path"] == "registers" and result["readings"] == 2688
    h = str(status["bill_hash"])
    with Client(running.url, bill_token=token) as c:
        receipt = Receipt.decode(c.cbor(f"/v1/bills/{h}/receipt"))
        bundle = DisputeBundle.decode(c.cbor(f"/v1/bills/{h}/dispute"))
    verify_receipt(receipt, w.provider.public_key, feb_bytes)
    assert receipt.total_fee == feb.total_fee
    assert verify_bundle(bundle, w.provider.public_key).path == "registers"
