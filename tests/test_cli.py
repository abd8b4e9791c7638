"""The privbill command, end to end, through its entry point and as a subprocess."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from helpers import demo_description, with_cycle
from privbill.cli import main
from privbill.model.periods import BillingPeriod, zone


def run(*args: str) -> int:
    return main(list(args))


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """keygen → tariff create → meter record → bill prove, once for the module."""
    d = tmp_path_factory.mktemp("cli")
    assert (
        run(
            "keygen",
            "--out",
            str(d / "keys"),
            "--meter-id",
            "0001",
            "--account",
            "acct-7",
            "--opening-key",
        )
        == 0
    )
    weekly = with_cycle(demo_description(), 7, "2026-01-01")
    (d / "tariff.json").write_text(json.dumps(weekly))
    k = d / "keys"
    assert (
        run(
            "tariff",
            "create",
            str(d / "tariff.json"),
            "--key",
            str(k / "provider.pem"),
            "--out",
            str(d / "t.pbt"),
        )
        == 0
    )
    tz = zone("America/Denver")
    period = BillingPeriod.parse("2026-01-01/2026-01-08", tz)
    first, count = period.intervals(900)
    from privbill.interop.csv_readings import format_rows

    (d / "readings.csv").write_text(
        format_rows([(first + i, (i * 37) % 400) for i in range(count)], 900, tz)
    )
    assert run(
        "meter", "record", str(d / "readings.csv"), "--key", str(k / "meter-0001.pem"), "--cert",
        str(k / "meter-0001.cert"), "--timezone", "America/Denver", "--out", str(d / "sealed"),
        "--opening-key", str(k / "meter-0001.okey"),
    ) == 0  # fmt: skip
    assert run(
        "bill", "prove", "--readings", str(d / "sealed"), "--tariff", str(d / "t.pbt"), "--period",
        "2026-01-01/2026-01-08", "--out", str(d / "bill.pbm"), "--opening-key", str(k / "meter-0001.okey"),
    ) == 0  # fmt: skip
    return d


def verify_args(d: Path, bill: str = "bill.pbm") -> list[str]:
    return [
        "bill",
        "verify",
        str(d / bill),
        "--tariff",
        str(d / "t.pbt"),
        "--provider",
        str(d / "keys" / "provider.pub"),
    ]


def test_verify_json(workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    capsys.readouterr()
    assert run(*verify_args(workdir), "--json") == 0
    out = json.loads(capsys.readouterr().out)
    assert out["valid"] is True and out["error"] is None
    assert isinstance(out["total_fee"], int) and out["currency"] == "USD"
    assert out["amount"] == f"{out['total_fee'] / 1e12:.2f}" or out["amount"].count(".") == 1
    assert out["readings"] == 7 * 96 and out["meters"] == ["0001"]


def test_verify_text_receipt_and_receipt_verify(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    k = workdir / "keys"
    capsys.readouterr()
    assert (
        run(
            *verify_args(workdir),
            "--receipt-key",
            str(k / "provider.pem"),
            "--receipt-out",
            str(workdir / "r.pbr"),
        )
        == 0
    )
    assert capsys.readouterr().out.startswith(
        "VALID  2026-01-01/2026-01-08  meter 0001  672 readings"
    )
    assert (
        run(
            "receipt",
            "verify",
            str(workdir / "r.pbr"),
            "--provider",
            str(k / "provider.pub"),
            "--bill",
            str(workdir / "bill.pbm"),
            "--json",
        )
        == 0
    )
    assert json.loads(capsys.readouterr().out)["valid"] is True
    other = workdir / "other"
    assert run("keygen", "--out", str(other)) == 0
    capsys.readouterr()
    assert (
        run("receipt", "verify", str(workdir / "r.pbr"), "--provider", str(other / "provider.pub"))
        == 1
    )
    assert capsys.readouterr().out.startswith("INVALID")


def test_verify_expected_account_and_period(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert (
        run(*verify_args(workdir), "--account", "acct-7", "--period", "2026-01-01/2026-01-08") == 0
    )
    assert run(*verify_args(workdir), "--account", "acct-8") == 1
    assert "acct-8" in capsys.readouterr().out
    assert run(*verify_args(workdir), "--period", "2026-01") == 1
    assert "another billing period" in capsys.readouterr().out
    assert run(*verify_args(workdir), "--period", "January") == 2


def test_tariff_show(workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    capsys.readouterr()
    assert run("tariff", "show", str(workdir / "t.pbt"), "--json") == 0
    assert json.loads(capsys.readouterr().out)["currency"] == "USD"
    assert (
        run(
            "tariff",
            "show",
            str(workdir / "t.pbt"),
            "--provider",
            str(workdir / "keys" / "provider.pub"),
        )
        == 0
    )
    assert "signature: valid" in capsys.readouterr().out


def test_tampered_bill_exits_1(workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import cbor2

    from privbill.model import codec

    obj = cbor2.loads((workdir / "bill.pbm").read_bytes())
    obj["total_fee"] -= 1
    (workdir / "bad.pbm").write_bytes(codec.encode(obj))
    capsys.readouterr()
    assert run(*verify_args(workdir, "bad.pbm"), "--json") == 1
    out = json.loads(capsys.readouterr().out)
    assert out["valid"] is False and "total_fee" in out["error"] and out["total_fee"] is None


@pytest.mark.parametrize(
    ("content", "field"),
    [(b"", "empty"), (b"\xa1\x61", "CBOR"), (b"garbage that is not cbor at all", "CBOR")],
)
def test_unreadable_bill_exits_2_with_one_line(
    workdir: Path, capsys: pytest.CaptureFixture[str], content: bytes, field: str
) -> None:
    (workdir / "junk.pbm").write_bytes(content)
    capsys.readouterr()
    assert run(*verify_args(workdir, "junk.pbm")) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "payment message" in err and "Traceback" not in err
    assert run(*verify_args(workdir, "junk.pbm"), "--json") == 2
    assert json.loads(capsys.readouterr().out)["error_type"] == "DecodeError"


def test_truncated_bill_exit_2(workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = (workdir / "bill.pbm").read_bytes()
    (workdir / "trunc.pbm").write_bytes(data[: len(data) // 2])
    assert run(*verify_args(workdir, "trunc.pbm")) == 2
    assert "truncated" in capsys.readouterr().err


def test_usage_errors_exit_2_and_leave_no_file(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    k = workdir / "keys"
    out = workdir / "never.pbm"
    assert (
        run(
            "bill",
            "prove",
            "--readings",
            str(workdir / "sealed"),
            "--tariff",
            str(workdir / "t.pbt"),
            "--period",
            "2026-03",
            "--opening-key",
            str(k / "meter-0001.okey"),
            "--out",
            str(out),
        )
        == 2
    )
    assert not out.exists()
    assert "cannot prove" in capsys.readouterr().err
    assert (
        run(
            "bill",
            "verify",
            str(workdir / "missing.pbm"),
            "--tariff",
            str(workdir / "t.pbt"),
            "--provider",
            str(k / "provider.pub"),
        )
        == 2
    )
    assert "no such file" in capsys.readouterr().err
    assert run("bill", "verify") == 2
    assert (
        run(
            "bill",
            "verify",
            str(workdir / "bill.pbm"),
            "--tariff",
            str(workdir / "bill.pbm"),
            "--provider",
            str(k / "provider.pub"),
        )
        == 2
    )
    assert "tariff.format" in capsys.readouterr().err
    bad = workdir / "bad.json"
    bad.write_text(json.dumps({**demo_description(), "currency": "dollars"}))
    assert (
        run(
            "tariff",
            "create",
            str(bad),
            "--key",
            str(k / "provider.pem"),
            "--out",
            str(workdir / "x.pbt"),
        )
        == 2
    )
    assert "currency" in capsys.readouterr().err and not (workdir / "x.pbt").exists()
    csv = workdir / "bad.csv"
    csv.write_text("interval_start,wh\n2026-01-01T00:00:00-07:00,5\n2026-01-01T00:15:00-07:00,x\n")
    assert (
        run(
            "meter",
            "record",
            str(csv),
            "--key",
            str(k / "meter-0001.pem"),
            "--cert",
            str(k / "meter-0001.cert"),
            "--timezone",
            "America/Denver",
            "--out",
            str(workdir / "s2"),
        )
        == 2
    )
    assert "line 3" in capsys.readouterr().err and not (workdir / "s2").exists()
    assert run("keygen", "--out", str(k)) == 2
    assert "exists" in capsys.readouterr().err


def test_meter_record_continues_chain(workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    k = workdir / "keys"
    tz = zone("America/Denver")
    from privbill.interop.csv_readings import format_rows

    p1 = BillingPeriod.parse("2026-01-29/2026-02-02", tz)  # one weekly cycle, in two CSV files
    p2 = BillingPeriod.parse("2026-02-02/2026-02-05", tz)
    out = workdir / "chain"
    for i, per in enumerate((p1, p2)):
        first, count = per.intervals(900)
        f = workdir / f"part{i}.csv"
        f.write_text(format_rows([(first + j, 10) for j in range(count)], 900, tz))
        assert (
            run(
                "meter",
                "record",
                str(f),
                "--key",
                str(k / "meter-0001.pem"),
                "--cert",
                str(k / "meter-0001.cert"),
                "--timezone",
                "America/Denver",
                "--out",
                str(out),
            )
            == 0
        )
    assert (
        run(
            "bill",
            "prove",
            "--readings",
            str(out),
            "--tariff",
            str(workdir / "t.pbt"),
            "--period",
            "2026-01-29/2026-02-05",
            "--out",
            str(workdir / "feb.pbm"),
        )
        == 0
    )
    assert run(*verify_args(workdir, "feb.pbm")) == 0
    assert "672 readings" in capsys.readouterr().out
    # Re-recording the same CSV would duplicate intervals: refused.
    assert (
        run(
            "meter",
            "record",
            str(workdir / "part1.csv"),
            "--key",
            str(k / "meter-0001.pem"),
            "--cert",
            str(k / "meter-0001.cert"),
            "--timezone",
            "America/Denver",
            "--out",
            str(out),
        )
        == 2
    )


def test_demo_short_with_out(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run("demo", "--days", "2", "--seed", "3", "--out", str(tmp_path), "--no-progress") == 0
    out = capsys.readouterr().out
    assert "VALID" in out and "192 readings" in out
    for name in (
        "provider.pub",
        "tariff.pbt",
        "readings.csv",
        "bill.pbm",
        "receipt.pbr",
        "sealed/sealed.pbs",
    ):
        assert (tmp_path / name).exists(), name
    assert (
        run(
            "bill",
            "verify",
            str(tmp_path / "bill.pbm"),
            "--tariff",
            str(tmp_path / "tariff.pbt"),
            "--provider",
            str(tmp_path / "provider.pub"),
        )
        == 0
    )
    assert (
        run(
            "receipt",
            "verify",
            str(tmp_path / "receipt.pbr"),
            "--provider",
            str(tmp_path / "provider.pub"),
            "--bill",
            str(tmp_path / "bill.pbm"),
        )
        == 0
    )
    assert oct((tmp_path / "provider.pem").stat().st_mode & 0o777) == "0o600"


def test_demo_readings_reproducible_with_seed(tmp_path: Path) -> None:
    for name in ("a", "b"):
        assert (
            run(
                "demo",
                "--days",
                "1",
                "--seed",
                "42",
                "--out",
                str(tmp_path / name),
                "--no-progress",
            )
            == 0
        )
    assert (tmp_path / "a" / "readings.csv").read_text() == (
        tmp_path / "b" / "readings.csv"
    ).read_text()
    assert (tmp_path / "a" / "bill.pbm").read_bytes() != (tmp_path / "b" / "bill.pbm").read_bytes()


@pytest.mark.slow
def test_demo_default_month_as_subprocess(tmp_path: Path) -> None:
    """The README's first command: `privbill demo` with no arguments."""
    env = {**os.environ, "COLUMNS": "120"}
    proc = subprocess.run(
        [sys.executable, "-m", "privbill.cli", "demo"],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
        cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stderr
    assert "2976 readings" in proc.stdout and "VALID" in proc.stdout
    # Standard error is no terminal here: at most progress lines of long steps.
    assert all(line.startswith("privbill: ") for line in proc.stderr.splitlines()), proc.stderr
    assert "error" not in proc.stderr and "Traceback" not in proc.stderr


@pytest.mark.parametrize(
    ("scenario", "start"),
    [
        ("residential-tiered", "2026-02-01"),
        pytest.param("commercial-demand", "2026-07-01", marks=pytest.mark.slow),
    ],
)
def test_demo_scenarios(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], scenario: str, start: str
) -> None:
    assert (
        run(
            "demo",
            "--scenario",
            scenario,
            "--start",
            start,
            "--seed",
            "2",
            "--out",
            str(tmp_path),
            "--no-progress",
        )
        == 0
    )
    out = capsys.readouterr().out
    assert "VALID" in out and "no peak demand" in out
    assert (
        run(
            "bill",
            "verify",
            str(tmp_path / "bill.pbm"),
            "--tariff",
            str(tmp_path / "tariff.pbt"),
            "--provider",
            str(tmp_path / "provider.pub"),
            "--json",
        )
        == 0
    )
    result = json.loads(capsys.readouterr().out)
    assert result["valid"] and result["period"] == start[:7]


def test_pay_as_you_drive_through_the_cli(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """keygen with a private attribute, a readings CSV with a road_class column, bill, verify."""
    assert (
        run(
            "demo",
            "--scenario",
            "pay-as-you-drive",
            "--days",
            "2",
            "--start",
            "2026-03-02",
            "--seed",
            "5",
            "--out",
            str(tmp_path / "demo"),
            "--no-progress",
        )
        == 0
    )
    assert "no road class" in capsys.readouterr().out
    d = tmp_path / "demo"
    keys = tmp_path / "keys"
    assert (
        run(
            "keygen",
            "--out",
            str(keys),
            "--provider-key",
            str(d / "provider.pem"),
            "--meter-id",
            "car-7",
            "--account",
            "policy-7",
            "--attributes",
            "road_class",
        )
        == 0
    )
    assert (
        run(
            "meter",
            "record",
            str(d / "readings.csv"),
            "--key",
            str(keys / "meter-car-7.pem"),
            "--cert",
            str(keys / "meter-car-7.cert"),
            "--timezone",
            "Europe/Berlin",
            "--out",
            str(tmp_path / "sealed"),
        )
        == 0
    )
    assert (
        run(
            "bill",
            "prove",
            "--readings",
            str(tmp_path / "sealed"),
            "--tariff",
            str(d / "tariff.pbt"),
            "--period",
            "2026-03-02/2026-03-04",
            "--out",
            str(tmp_path / "bill.pbm"),
        )
        == 0
    )
    capsys.readouterr()
    assert (
        run(
            "bill",
            "verify",
            str(tmp_path / "bill.pbm"),
            "--tariff",
            str(d / "tariff.pbt"),
            "--provider",
            str(d / "provider.pub"),
            "--json",
        )
        == 0
    )
    assert json.loads(capsys.readouterr().out)["readings"] == 192
    # A CSV without the attribute column is refused with the column's name.
    (tmp_path / "no-attr.csv").write_text("interval_start,quantity\n2026-03-05T00:00:00+01:00,0\n")
    assert (
        run(
            "meter",
            "record",
            str(tmp_path / "no-attr.csv"),
            "--key",
            str(keys / "meter-car-7.pem"),
            "--cert",
            str(keys / "meter-car-7.cert"),
            "--timezone",
            "Europe/Berlin",
            "--out",
            str(tmp_path / "s2"),
        )
        == 2
    )
    assert "road_class" in capsys.readouterr().err


@pytest.mark.parametrize(
    "module",
    [
        "common",
        "keygen",
        "tariff",
        "meter",
        "bill",
        "receipt",
        "demo",
        "disclose",
        "service",
        "household",
    ],
)
def test_each_cli_module_imports_alone(module: str) -> None:
    """No import cycle: every module of the command-line package imports first, on its own."""
    proc = subprocess.run(
        [sys.executable, "-c", f"import privbill.cli.{module}"], capture_output=True, text=True
    )
    assert proc.returncode == 0, proc.stderr


def test_service_and_household_groups_load_their_extras_lazily() -> None:
    """Building the whole parser imports neither the service's nor the agent's dependencies:
    ``privbill --help`` and ``privbill demo`` work without those extras."""
    code = (
        "import sys; from privbill.cli import build_parser; build_parser(); "
        "print(sorted(m for m in ('fastapi', 'sqlalchemy', 'uvicorn', 'paho', 'httpx') "
        "if m in sys.modules))"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "[]"


def test_a_command_group_registers_itself(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A group from another package plugs in through its ``register(subparsers)``."""
    import argparse
    import types

    from privbill import cli as cli_main

    def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
        p = sub.add_parser("hello", help="say hello")
        p.add_argument("--name", default="world")
        p.set_defaults(func=lambda a: print(f"hello {a.name}") or 0)

    mod = types.ModuleType("privbill_test_hello")
    mod.register = register  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "privbill_test_hello", mod)
    monkeypatch.setattr(cli_main, "COMMAND_GROUPS", (*cli_main.COMMAND_GROUPS, mod.__name__))
    assert cli_main.main(["hello", "--name", "meter"]) == 0
    assert capsys.readouterr().out == "hello meter\n"
