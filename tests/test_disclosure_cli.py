"""``privbill disclose request|answer|verify`` end to end through the command's entry point."""

from __future__ import annotations

import json
from pathlib import Path

import cbor2
import pytest

from helpers import demo_description, with_cycle
from privbill.cli import main
from privbill.disclosure.ledger import DisclosureLedger
from privbill.disclosure.model import DisclosureRequest, DisclosureResponse
from privbill.interop.csv_readings import format_rows
from privbill.model import codec
from privbill.model.periods import BillingPeriod, zone

TZ = zone("America/Denver")
PERIOD = "2026-01-01/2026-01-08"


def run(*args: str) -> int:
    return main(list(args))


def values(count: int) -> list[int]:
    return [(i * 37) % 400 for i in range(count)]


@pytest.fixture(scope="module")
def work(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """keygen → tariff → a week of readings → bill → a disclosure request."""
    d = tmp_path_factory.mktemp("disclose")
    k = d / "keys"
    assert run("keygen", "--out", str(k), "--meter-id", "0001", "--account", "acct-7") == 0
    (d / "tariff.json").write_text(json.dumps(with_cycle(demo_description(), 7, "2026-01-01")))
    t = str(d / "t.pbt")
    assert run("tariff", "create", str(d / "tariff.json"), "--key", str(k / "provider.pem"), "--out", t) == 0  # fmt: skip
    first, count = BillingPeriod.parse(PERIOD, TZ).intervals(900)
    (d / "readings.csv").write_text(
        format_rows([(first + i, v) for i, v in enumerate(values(count))], 900, TZ)
    )
    assert run(
        "meter", "record", str(d / "readings.csv"), "--key", str(k / "meter-0001.pem"), "--cert",
        str(k / "meter-0001.cert"), "--timezone", "America/Denver", "--out", str(d / "sealed"),
    ) == 0  # fmt: skip
    assert run(
        "bill", "prove", "--readings", str(d / "sealed"), "--tariff", t, "--period", PERIOD,
        "--out", str(d / "bill.pbm"),
    ) == 0  # fmt: skip
    statements = [
        {"kind": "sum", "meter": "0001"},
        {"kind": "sum", "from": "2026-01-03", "to": "2026-01-04"},
        {"kind": "open", "at": ["2026-01-03T18:00:00-07:00", "2026-01-03T18:15:00-07:00"]},
        {"kind": "threshold", "test": "each-at-most", "bound_kwh": "0.4", "from": "2026-01-03", "to": "2026-01-04"},
        {"kind": "sum", "register": "winter on-peak"},
        {"kind": "weighted-sum", "from": "2026-01-03", "to": "2026-01-04", "step_minutes": 60,
         "unit": "g/kWh", "weights": list(range(400, 424))},
    ]  # fmt: skip
    (d / "statements.json").write_text(json.dumps(statements))
    assert run(*request_args(d)) == 0
    return d


def request_args(d: Path, out: str = "req.pbq", statements: str = "statements.json") -> list[str]:
    return [
        "disclose", "request", str(d / statements), "--key", str(d / "keys" / "provider.pem"),
        "--cert", str(d / "keys" / "meter-0001.cert"), "--period", PERIOD,
        "--requester", "Example Power", "--purpose", "billing reconciliation",
        "--tariff", str(d / "t.pbt"), "--out", str(d / out),
    ]  # fmt: skip


def answer_args(d: Path, out: str, *extra: str, request: str = "req.pbq") -> list[str]:
    """The request opens two readings: the customer allows opening readings."""
    return [
        "disclose", "answer", str(d / request), "--provider", str(d / "keys" / "provider.pub"),
        "--readings", str(d / "sealed"), "--tariff", str(d / "t.pbt"), "--out", str(d / out),
        "--allow-open", *extra,
    ]  # fmt: skip


def verify_args(d: Path, response: str, *extra: str) -> list[str]:
    return [
        "disclose", "verify", str(d / response), "--request", str(d / "req.pbq"),
        "--provider", str(d / "keys" / "provider.pub"), "--tariff", str(d / "t.pbt"), *extra,
    ]  # fmt: skip


def test_request_file(work: Path) -> None:
    req = DisclosureRequest.decode((work / "req.pbq").read_bytes())
    assert [s.KIND for s in req.statements] == [
        "sum", "sum", "open", "threshold", "sum", "weighted-sum",
    ]  # fmt: skip
    assert req.account == "acct-7" and req.timezone == "America/Denver"
    assert req.statements[3].bound == 400  # type: ignore[union-attr]


def test_answer_and_verify(work: Path, capsys: pytest.CaptureFixture[str]) -> None:
    capsys.readouterr()
    assert run(*answer_args(work, "all.pbd", "--yes")) == 0
    out = capsys.readouterr().out
    assert "Example Power asks, for billing reconciliation, to learn:" in out
    assert "from 1 to 7 January 2026 on meter 0001" in out
    assert run(*verify_args(work, "all.pbd", "--json")) == 0
    v = json.loads(capsys.readouterr().out)
    assert v["valid"] is True and v["declined"] == []
    first = BillingPeriod.parse(PERIOD, TZ).start // 900
    vals = values(7 * 96)
    res = {r["statement"]: r for r in v["results"]}
    assert res[0]["value"] == sum(vals) and res[1]["value"] == sum(vals[192:288])
    i = (BillingPeriod.parse("2026-01-03/2026-01-04", TZ).start + 18 * 3600) // 900
    assert res[2]["readings"] == [[i, vals[i - first]], [i + 1, vals[i + 1 - first]]]
    assert res[3]["holds"] is True
    assert res[5]["value"] == sum((400 + k // 4) * c for k, c in enumerate(vals[192:288]))
    assert run(*verify_args(work, "all.pbd")) == 0
    text = capsys.readouterr().out
    assert text.startswith("VALID  disclosure to Example Power  account acct-7  6 of 6")
    assert f"1. sum          meter 0001  672 reading(s): {sum(vals) / 1000:g} kWh" in text


def test_answer_asks_first(
    work: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("builtins.input", lambda prompt: "n")
    assert run(*answer_args(work, "no.pbd")) == 1
    assert "nothing was disclosed" in capsys.readouterr().out
    assert not (work / "no.pbd").exists()

    def no_input(prompt: str) -> str:
        raise EOFError

    monkeypatch.setattr("builtins.input", no_input)
    assert run(*answer_args(work, "no.pbd")) == 1
    assert not (work / "no.pbd").exists()
    asked: list[str] = []
    monkeypatch.setattr("builtins.input", lambda prompt: asked.append(prompt) or "y")
    assert run(*answer_args(work, "some.pbd", "--only", "1,4")) == 0
    assert asked == ["Disclose 1, 4 to Example Power? [y/N] "]
    assert "disclose statement(s) 1, 4 only" in capsys.readouterr().out
    resp = DisclosureResponse.decode((work / "some.pbd").read_bytes())
    assert [a.statement for a in resp.answers] == [0, 3]
    assert run(*verify_args(work, "some.pbd", "--json")) == 0
    assert json.loads(capsys.readouterr().out)["declined"] == [1, 2, 4, 5]


def test_attached_to_the_bill_and_signed_consent(
    work: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run("keygen", "--out", str(work / "cust"), "--meter-id", "x") == 0  # any key pair
    key = work / "cust" / "meter-x.pem"
    args = answer_args(work, "att.pbd", "--yes", "--bill", str(work / "bill.pbm"))
    assert run(*args, "--customer-key", str(key)) == 0
    assert DisclosureResponse.decode((work / "att.pbd").read_bytes()).bill_hash is not None
    capsys.readouterr()
    assert run(*verify_args(work, "att.pbd")) == 2  # the bill is needed
    assert "give the bill with --bill" in capsys.readouterr().err
    pub = str(work / "cust" / "meter-x.pub")
    bill = ["--bill", str(work / "bill.pbm")]
    assert run(*verify_args(work, "att.pbd", *bill, "--customer-key", pub)) == 0
    other = str(work / "cust" / "provider.pub")
    assert run(*verify_args(work, "att.pbd", *bill, "--customer-key", other)) == 1


def test_verify_failures_exit_codes(work: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(*answer_args(work, "ok.pbd", "--yes")) == 0
    obj = cbor2.loads((work / "ok.pbd").read_bytes())
    obj["answers"][0]["value"] += 1
    (work / "bad.pbd").write_bytes(codec.encode(obj))
    capsys.readouterr()
    assert run(*verify_args(work, "bad.pbd")) == 1
    assert capsys.readouterr().out.startswith("INVALID  disclosure response.answers[0].value")
    assert run(*verify_args(work, "bad.pbd", "--json")) == 1
    v = json.loads(capsys.readouterr().out)
    assert v["valid"] is False and v["error_type"] == "DisclosureProofError"
    (work / "junk.pbd").write_bytes(b"not cbor")
    assert run(*verify_args(work, "junk.pbd")) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "disclosure response" in err and "Traceback" not in err
    assert run(*verify_args(work, "junk.pbd", "--json")) == 2
    assert json.loads(capsys.readouterr().out)["error_type"] == "DecodeError"
    assert run(*verify_args(work, "ok.pbd", "--at", "2099-01-01T00:00:00+00:00")) == 1
    assert "expired" in capsys.readouterr().out
    assert run(*verify_args(work, "ok.pbd", "--at", "yesterday")) == 2
    other = work / "other"
    assert run("keygen", "--out", str(other)) == 0
    capsys.readouterr()
    args = verify_args(work, "ok.pbd")
    args[args.index("--provider") + 1] = str(other / "provider.pub")
    assert run(*args) == 1
    assert "another provider key" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("statements", "message"),
    [
        ("[]", "non-empty"),
        ('[{"kind": "median"}]', "[0].kind"),
        ('[{"kind": "sum", "meter": "0002"}]', "no --cert"),
        ('[{"kind": "sum", "colour": "red"}]', "[0].colour"),
        ('[{"kind": "sum", "from": "2026-01-03T00:00:00"}]', "no UTC offset"),
        ('[{"kind": "sum", "from": "2026-01-03T00:05:00-07:00"}]', "aligned"),
        ('[{"kind": "sum", "register": "super-peak"}]', "unknown register"),
        ('[{"kind": "threshold", "test": "each-at-most"}]', "bound_wh"),
        ('[{"kind": "threshold", "test": "each-at-most", "bound_kwh": "0.0001"}]', "decimal"),
        ('[{"kind": "open", "at": ["2026-01-03T18:05:00-07:00"]}]', "not the start"),
        ('[{"kind": "sum", "from": "2025-12-31"}]', "inside the period"),
        ('[{"kind": "sum", "from": "2026-02-01"}]', "ends before it starts"),
        ("{", "not valid JSON"),
        ("[" + ", ".join(['{"kind": "sum"}'] * 257) + "]", "at most 256 statements"),
    ],
)
def test_request_errors(
    work: Path, capsys: pytest.CaptureFixture[str], statements: str, message: str
) -> None:
    (work / "bad.json").write_text(statements)
    capsys.readouterr()
    assert run(*request_args(work, "bad.pbq", "bad.json")) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1, err
    assert not (work / "bad.pbq").exists()


def test_answer_refuses_a_false_threshold(work: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (work / "false.json").write_text(
        json.dumps([{"kind": "threshold", "test": "sum-at-most", "bound_wh": 10}])
    )
    assert run(*request_args(work, "false.pbq", "false.json")) == 0
    args = answer_args(work, "false.pbd", "--yes")
    args[2] = str(work / "false.pbq")
    capsys.readouterr()
    assert run(*args) == 2
    assert "not true for your readings" in capsys.readouterr().err
    assert not (work / "false.pbd").exists()


# --- the disclosure ledger and policy ---------------------------------------------------------


def test_ledger_beside_the_readings(work: Path) -> None:
    """Answering records the disclosures in the customer's ledger, next to the meter directory,
    readable by the customer only; answering the same request again adds nothing new to what is
    known, so it is not refused."""
    assert run(*answer_args(work, "l1.pbd", "--yes")) == 0
    path = work / "disclosure-ledger.pbl"
    assert path.exists() and path.stat().st_mode & 0o777 == 0o600
    ledger = DisclosureLedger.decode(path.read_bytes())
    req = DisclosureRequest.decode((work / "req.pbq").read_bytes())
    mine = [e for e in ledger.entries if e.reference == req.hash()]
    assert {e.statement for e in mine} == set(range(6))
    assert {e.kind for e in mine} == {"value", "readings", "peak"}
    assert ledger.meters == {"0001": 900}
    count = len(ledger.entries)
    assert run(*answer_args(work, "l2.pbd", "--yes")) == 0
    assert len(DisclosureLedger.decode(path.read_bytes()).entries) == count + 6


def test_refusal_exits_1_and_writes_nothing(
    work: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Two windows that differ by one hour: the second is refused with the reason, nothing is
    written and the ledger is unchanged."""
    (work / "hour.json").write_text(
        json.dumps(
            [
                {"kind": "sum", "from": "2026-01-04T00:00:00-07:00", "to": "2026-01-06T00:00:00-07:00"},
                {"kind": "sum", "from": "2026-01-04T01:00:00-07:00", "to": "2026-01-06T00:00:00-07:00"},
            ]
        )
    )  # fmt: skip
    assert run(*request_args(work, "hour.pbq", "hour.json")) == 0
    ledger = tmp_path / "ledger.pbl"
    capsys.readouterr()
    args = answer_args(work, "hour.pbd", "--yes", "--ledger", str(ledger), request="hour.pbq")
    assert run(*args) == 1
    out = capsys.readouterr().out
    assert (
        "REFUSED  Answering would reveal your total consumption on meter 0001 on 4 January 2026 from 00:00 to 01:00"
        in out
    )
    assert "statement 2" in out and "statement 1" in out and "Nothing was disclosed" in out
    assert not (work / "hour.pbd").exists() and not ledger.exists()
    # Statement 1 alone is fine; then statement 2 alone is refused because of what was
    # disclosed before (statement 1, recorded in the ledger).
    assert run(*args, "--only", "1") == 0
    assert ledger.stat().st_mode & 0o777 == 0o600
    capsys.readouterr()
    assert run(*answer_args(work, "h2.pbd", "--yes", "--ledger", str(ledger), "--only", "2", request="hour.pbq")) == 1  # fmt: skip
    out = capsys.readouterr().out
    assert "what you disclosed to Example Power on" in out and "statement 2" in out
    assert not (work / "h2.pbd").exists()
    # A customer whose policy allows one-hour stretches answers it.
    more = answer_args(work, "h3.pbd", "--yes", "--ledger", str(ledger), "--only", "2", request="hour.pbq")  # fmt: skip
    assert run(*more, "--min-window", "1h") == 0


def test_open_needs_the_policy(
    work: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = answer_args(work, "o.pbd", "--yes", "--ledger", str(tmp_path / "l.pbl"), "--only", "3")
    args.remove("--allow-open")
    capsys.readouterr()
    assert run(*args) == 1
    assert "does not allow opening readings" in capsys.readouterr().out
    assert not (work / "o.pbd").exists()


@pytest.mark.parametrize("window", ["1 day", "h", "-1h", "2w", ""])
def test_min_window_is_checked(work: Path, window: str, capsys: pytest.CaptureFixture[str]) -> None:
    capsys.readouterr()
    assert run(*answer_args(work, "w.pbd", "--yes", "--min-window", window)) == 2
    assert "--min-window" in capsys.readouterr().err


def test_record_bill(work: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """``record-bill`` adds the bill's energy charge (a weighted sum over the week at the demo
    tariff's prices) to the ledger (the library tests show what it then refuses)."""
    ledger = tmp_path / "bill-ledger.pbl"
    args = ["disclose", "record-bill", str(work / "bill.pbm"), "--tariff", str(work / "t.pbt")]
    assert run(*args, "--ledger", str(ledger)) == 0
    assert "1 figure(s) of the bill recorded" in capsys.readouterr().out
    rec = DisclosureLedger.decode(ledger.read_bytes())
    assert [e.source for e in rec.entries] == ["bill"] and rec.entries[0].kind == "value"
    assert ledger.stat().st_mode & 0o777 == 0o600
    assert run(*args) == 2  # --ledger is required
