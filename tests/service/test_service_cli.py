"""The service's commands against the running service: provider token, publish-tariff,
enrol-meter, enrol-account, revoke-meter, request-disclosure, submit."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from privbill.billing.receipts import verify_receipt
from privbill.cli import main
from privbill.crypto.signatures import SigningKey
from privbill.disclosure.model import DisclosureRequest
from privbill.model.certificates import MeterCertificate
from privbill.model.receipts import Receipt
from service_helpers import Running


def test_provider_commands(
    running: Running, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    w = running.world
    assert main(["provider", "token", "--db", running.service.db_url, "--name", "cli",
                 "--scope", "all"]) == 0  # fmt: skip
    token = capsys.readouterr().out.strip()
    assert token.startswith("pbo_")
    remote = ["--to", running.url, "--token", token]
    tariff = tmp_path / "tariff.pbt"
    tariff.write_bytes(w.tariff.encode())
    assert main(["provider", "publish-tariff", str(tariff), *remote]) == 0
    assert w.tariff.hash().hex() in capsys.readouterr().out
    meter_pub = tmp_path / "meter.pub"
    meter_key = SigningKey.generate()
    meter_pub.write_bytes(meter_key.public_key().to_pem())
    customer_pub = tmp_path / "customer.pub"
    customer_pub.write_bytes(SigningKey.generate("ed25519").public_key().to_pem())
    cert_out = tmp_path / "meter.cert"
    assert main(["provider", "enrol-meter", "--meter-id", "cli-1", "--account", "cli-acct",
                 "--meter-key", str(meter_pub), "--customer-key", str(customer_pub),
                 "--out", str(cert_out), *remote]) == 0  # fmt: skip
    cert = MeterCertificate.decode(cert_out.read_bytes())
    cert.verify(w.provider.public_key)
    assert cert.public_key == meter_key.public_key()
    assert main(["provider", "enrol-account", "--account", "cli-acct", "--customer-key",
                 str(customer_pub), *remote]) == 0  # fmt: skip
    statements = tmp_path / "statements.json"
    statements.write_text(json.dumps([{"kind": "sum"}]))
    req_out = tmp_path / "request.pbq"
    assert main(["provider", "request-disclosure", str(statements), "--account", "cli-acct",
                 "--period", "2026-01", "--requester", "Example Power",
                 "--purpose", "testing", "--timezone", "America/Denver",
                 "--out", str(req_out), *remote]) == 0  # fmt: skip
    DisclosureRequest.decode(req_out.read_bytes()).verify(w.provider.public_key)
    assert main(["provider", "revoke-meter", "cli-1", "--reason", "removed", *remote]) == 0
    capsys.readouterr()
    # Without a token, or with a wrong one: a one-line error, exit 2.
    assert main(["provider", "publish-tariff", str(tariff), "--to", running.url]) == 2
    assert main(["provider", "publish-tariff", str(tariff), "--to", running.url,
                 "--token", "pbo_wrong"]) == 2  # fmt: skip
    assert "HTTP 401" in capsys.readouterr().err


def test_submit_waits_for_the_receipt(
    running: Running, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    c = running.world.customers[0]
    bill = tmp_path / "bill.pbm"
    bill.write_bytes(c.months["2026-01"].bill)
    receipt = tmp_path / "receipt.pbr"
    rc = main(["submit", str(bill), "--to", running.url, "--receipt-out", str(receipt), "--json"])
    assert rc == 0
    status = json.loads(capsys.readouterr().out)
    assert status["status"] == "valid"
    verify_receipt(Receipt.decode(receipt.read_bytes()), running.world.provider.public_key,
                   bill.read_bytes())  # fmt: skip
    assert main(["submit", str(bill), "--to", running.url, "--no-wait"]) == 0
    assert capsys.readouterr().out.strip() == status["bill_hash"]
    # Nothing listening: a clear error after the connect wait, exit 2.
    assert main(["submit", str(bill), "--to", "http://127.0.0.1:9", "--connect-wait", "0.3"]) == 2
    assert "cannot reach the service" in capsys.readouterr().err
