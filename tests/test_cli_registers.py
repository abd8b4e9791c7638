"""The command line with time-of-use energy registers: ``meter record --registers``, ``bill
prove --path`` (registers chosen when the meter has them), ``bill verify`` of both messages,
``meter status``, a calendar change and a missed statement."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from helpers import demo_description
from privbill.cli import main
from privbill.interop.csv_readings import format_rows
from privbill.model.periods import BillingPeriod, zone
from privbill.model.register_bills import RegisterBill, decode_bill
from privbill.model.sealed import SealedReadings

TZ = "America/Denver"


def run(*args: str) -> int:
    return main(list(args))


def _csv(path: Path, period: str) -> None:
    tz = zone(TZ)
    first, count = BillingPeriod.parse(period, tz).intervals(900)
    path.write_text(format_rows([(first + i, (i * 37) % 400) for i in range(count)], 900, tz))


@pytest.fixture(scope="module")
def d(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("cli-registers")
    k = d / "keys"
    assert run("keygen", "--out", str(k), "--meter-id", "0001", "--account", "acct-9") == 0
    desc = demo_description()
    (d / "tariff.json").write_text(json.dumps(desc))
    morning = {**desc, "name": "morning peak"}
    rows = desc["energy"]["weekday_schedule"]
    morning["energy"] = {
        **desc["energy"],
        "weekday_schedule": [[r[(h + 8) % 24] for h in range(24)] for r in rows],
    }
    (d / "morning.json").write_text(json.dumps(morning))
    for name in ("tariff", "morning"):
        assert (
            run(
                "tariff", "create", str(d / f"{name}.json"), "--key", str(k / "provider.pem"),
                "--out", str(d / f"{name}.pbt"),
            )
            == 0
        )  # fmt: skip
    _csv(d / "jan.csv", "2026-01")
    _csv(d / "feb.csv", "2026-02")
    return d


def _record(d: Path, csv: str, *extra: str) -> int:
    k = d / "keys"
    return run(
        "meter", "record", str(d / csv), "--key", str(k / "meter-0001.pem"), "--cert",
        str(k / "meter-0001.cert"), "--out", str(d / "sealed"), *extra,
    )  # fmt: skip


def _prove(d: Path, period: str, out: str, *extra: str, tariff: str = "tariff.pbt") -> int:
    return run(
        "bill", "prove", "--readings", str(d / "sealed"), "--tariff", str(d / tariff),
        "--period", period, "--out", str(d / out), *extra,
    )  # fmt: skip


def _verify(d: Path, bill: str, *extra: str, tariff: str = "tariff.pbt") -> int:
    return run(
        "bill", "verify", str(d / bill), "--tariff", str(d / tariff), "--provider",
        str(d / "keys" / "provider.pub"), *extra,
    )  # fmt: skip


def _json(capsys: pytest.CaptureFixture[str]) -> Any:
    return json.loads(capsys.readouterr().out)


def test_record_with_registers_then_prove_and_verify(
    d: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    capsys.readouterr()
    assert _record(d, "jan.csv", "--registers", str(d / "tariff.pbt")) == 0
    out = capsys.readouterr().out
    assert "energy registers signed for 2026-01: 3 time-of-use register(s) over 2976" in out
    sealed = SealedReadings.decode((d / "sealed" / "sealed.pbs").read_bytes())
    assert len(sealed.energy_registers) == 1
    assert run("meter", "status", str(d / "sealed")) == 0
    status = capsys.readouterr().out
    assert "energy registers: calendar" in status and "statements: 1 (2026-01)" in status

    assert _prove(d, "2026-01", "jan.pbm", "--json") == 0
    view = _json(capsys)
    assert view["path"] == "registers" and view["bytes"] < 2048 and view["readings"] == 2976
    assert isinstance(decode_bill((d / "jan.pbm").read_bytes()), RegisterBill)
    assert _verify(d, "jan.pbm") == 0
    text = capsys.readouterr().out
    assert text.startswith("VALID  2026-01  meter 0001  2976 readings")
    assert "from the meters' time-of-use registers" in text
    assert _verify(d, "jan.pbm", "--json") == 0
    registers_view = _json(capsys)
    assert registers_view["path"] == "registers"

    assert _prove(d, "2026-01", "jan-readings.pbm", "--path", "readings", "--json") == 0
    readings_view = _json(capsys)
    assert readings_view["path"] == "readings" and readings_view["bytes"] > 100_000
    assert _verify(d, "jan-readings.pbm", "--json") == 0
    assert _json(capsys)["total_fee"] == registers_view["total_fee"] == view["total_fee"]


def test_calendar_change_and_missed_statement(d: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """February recorded after the provider moved the customer to a morning-peak tariff: the
    meter reconfigured at once (no period under way), so February's registers follow the new
    calendar; billed under the old tariff, the prover says why it falls back to readings."""
    capsys.readouterr()
    assert _record(d, "feb.csv", "--registers", str(d / "morning.pbt")) == 0
    assert "energy registers signed for 2026-02" in capsys.readouterr().out
    assert _prove(d, "2026-02", "feb.pbm", "--tariff", str(d / "morning.pbt"), "--json",
                  tariff="morning.pbt") == 0  # fmt: skip
    assert _json(capsys)["path"] == "registers"
    assert _verify(d, "feb.pbm", tariff="morning.pbt") == 0
    capsys.readouterr()
    assert _prove(d, "2026-02", "feb-old.pbm") == 0
    out = capsys.readouterr().out
    assert "(from every sealed reading)" in out
    assert "registers not used: meter '0001' kept its registers under another calendar" in out
    assert _prove(d, "2026-02", "feb-old2.pbm", "--path", "registers") == 2
    err = capsys.readouterr().err
    assert "another time-of-use calendar" in err and "--path readings" in err
    # A bill the provider verifies under the wrong tariff says so (exit 1).
    assert _verify(d, "feb.pbm") == 1


def test_registers_need_the_tariffs_timezone(d: Path, capsys: pytest.CaptureFixture[str]) -> None:
    k = d / "keys"
    code = run(
        "meter", "record", str(d / "jan.csv"), "--key", str(k / "meter-0001.pem"), "--cert",
        str(k / "meter-0001.cert"), "--out", str(d / "elsewhere"), "--timezone", "Europe/Berlin",
        "--registers", str(d / "tariff.pbt"),
    )  # fmt: skip
    assert code == 2
    assert "--timezone America/Denver" in capsys.readouterr().err
