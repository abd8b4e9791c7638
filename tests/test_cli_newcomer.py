"""The command line as a newcomer meets it: nothing lost silently, dates instead of interval
numbers, checks at the first step, messages that say what to do, a customer view, consistency.

Sections follow the points of ``docs/cli.md``'s conventions; every test runs the real command
(``privbill.cli.main``) on real files.
"""

from __future__ import annotations

import argparse
import json
import stat
import subprocess
import sys
from datetime import datetime
from pathlib import Path
from typing import Any

import cbor2
import pytest

from helpers import demo_description, shared_path, with_cycle
from privbill.billing.cleartext import MeterReadings, cleartext_bill, demand_windows
from privbill.cli import build_parser, main
from privbill.cli.explain import kwh
from privbill.interop.csv_readings import format_rows
from privbill.interop.loadprofile import synthetic_wh
from privbill.model import codec
from privbill.model.periods import BillingPeriod, zone
from privbill.model.sealed import SealedReadings
from privbill.model.tariffs import TariffBody

TZ = zone("America/Denver")
WEEK = "2026-01-01/2026-01-08"


def run(*args: str | Path) -> int:
    return main([str(a) for a in args])


def out_json(capsys: pytest.CaptureFixture[str]) -> dict[str, Any]:
    text = capsys.readouterr().out
    value: dict[str, Any] = json.loads(text)
    return value


def values(count: int, seed: int = 0) -> list[int]:
    return [((i + seed) * 37) % 400 for i in range(count)]


def write_csv(path: Path, period: str, seed: int = 0, drop: range | None = None) -> list[int]:
    first, count = BillingPeriod.parse(period, TZ).intervals(900)
    vals = values(count, seed)
    rows = [(first + i, v) for i, v in enumerate(vals) if drop is None or i not in drop]
    path.write_text(format_rows(rows, 900, TZ))
    return vals


class Work:
    """keygen → tariff create → a week of readings, in a directory of its own."""

    def __init__(self, d: Path) -> None:
        self.d = d
        self.keys = d / "keys"
        assert run("keygen", "--out", self.keys, "--account", "acct-9", "--opening-key") == 0
        # the tariff bills weekly, from 1 January
        (d / "tariff.json").write_text(json.dumps(with_cycle(demo_description(), 7, "2026-01-01")))
        assert (
            run("tariff", "create", d / "tariff.json", "--key", self.pem, "--out", self.tariff) == 0
        )
        self.week = write_csv(d / "week.csv", WEEK)

    def cycle_tariff(self, days: int, starting: str) -> Path:
        """The demo tariff billed in cycles of ``days`` days from ``starting``, signed."""
        out = self.d / f"t-{days}-{starting}.pbt"
        if not out.exists():
            desc = self.d / f"t-{days}-{starting}.json"
            desc.write_text(json.dumps(with_cycle(demo_description(), days, starting)))
            assert run("tariff", "create", desc, "--key", self.pem, "--out", out) == 0
        return out

    @property
    def pem(self) -> Path:
        return self.keys / "provider.pem"

    @property
    def pub(self) -> Path:
        return self.keys / "provider.pub"

    @property
    def tariff(self) -> Path:
        return self.d / "t.pbt"

    @property
    def okey(self) -> Path:
        return self.keys / "meter-0001.okey"

    def meter(self, *extra: str | Path) -> list[str | Path]:
        return [
            "meter", "record", *extra, "--key", self.keys / "meter-0001.pem",
            "--cert", self.keys / "meter-0001.cert", "--opening-key", self.okey,
        ]  # fmt: skip

    def prove(
        self, sealed: Path, period: str, out: Path, *extra: str | Path, tariff: Path | None = None
    ) -> list[str | Path]:
        return [
            "bill", "prove", "--readings", sealed, "--tariff", tariff or self.tariff, "--period",
            period, "--opening-key", self.okey, "--out", out, *extra,
        ]  # fmt: skip

    def verify(self, bill: Path, *extra: str | Path) -> list[str | Path]:
        return ["bill", "verify", bill, "--tariff", self.tariff, "--provider", self.pub, *extra]


@pytest.fixture(scope="module")
def work(tmp_path_factory: pytest.TempPathFactory) -> Work:
    w = Work(tmp_path_factory.mktemp("newcomer"))
    assert (
        run(*w.meter(w.d / "week.csv", "--timezone", "America/Denver", "--out", w.d / "sealed"))
        == 0
    )
    assert run(*w.prove(w.d / "sealed", WEEK, w.d / "bill.pbm")) == 0
    return w


# --- 1. nothing lost silently ------------------------------------------------------------------


def test_meter_record_without_state_never_replaces_sealed_readings(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The exact sequence that lost data: record day 1, lose meter-state.json, record day 2.
    Before, day 2 started a new chain and replaced sealed.pbs (day 1 could no longer be billed);
    now the recording is refused, naming the file and what to do, and nothing changes."""
    w = Work(tmp_path)
    write_csv(tmp_path / "day1.csv", "2026-01-01/2026-01-02")
    write_csv(tmp_path / "day2.csv", "2026-01-02/2026-01-03")
    s = tmp_path / "s"
    assert run(*w.meter(tmp_path / "day1.csv", "--timezone", "America/Denver", "--out", s)) == 0
    (s / "meter-state.json").unlink()
    before = {p.name: p.read_bytes() for p in s.iterdir()}
    capsys.readouterr()
    assert run(*w.meter(tmp_path / "day2.csv", "--timezone", "America/Denver", "--out", s)) == 2
    err = capsys.readouterr().err
    assert f"{s / 'sealed.pbs'} holds sealed readings of meter 0001" in err
    assert "2026-01-01 00:00 MST until 2026-01-02 00:00 MST" in err
    assert "meter-state.json is missing" in err and "Restore meter-state.json" in err
    assert "--out" in err
    assert {p.name: p.read_bytes() for p in s.iterdir()} == before
    daily = w.cycle_tariff(1, "2026-01-01")
    assert run(*w.prove(s, "2026-01-01/2026-01-02", tmp_path / "b.pbm", tariff=daily)) == 0
    # day 1 still bills


def test_meter_record_refuses_a_state_that_does_not_continue_the_sealed_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    w = Work(tmp_path)
    for name, period in (("a", "2026-01-01/2026-01-02"), ("b", "2026-01-02/2026-01-03")):
        write_csv(tmp_path / f"{name}.csv", period)
    tz = ["--timezone", "America/Denver"]
    assert run(*w.meter(tmp_path / "a.csv", *tz, "--out", tmp_path / "s1")) == 0
    assert run(*w.meter(tmp_path / "a.csv", *tz, "--out", tmp_path / "s2")) == 0
    assert run(*w.meter(tmp_path / "b.csv", *tz, "--out", tmp_path / "s2")) == 0
    # s1's sealed readings with s2's state: recording on would fork the chain.
    (tmp_path / "s1" / "meter-state.json").write_bytes(
        (tmp_path / "s2" / "meter-state.json").read_bytes()
    )
    capsys.readouterr()
    assert run(*w.meter(tmp_path / "b.csv", *tz, "--out", tmp_path / "s1")) == 2
    assert "does not continue" in capsys.readouterr().err
    # A state without its sealed readings is refused too (those readings would be unbillable).
    (tmp_path / "s2" / "sealed.pbs").unlink()
    assert run(*w.meter(tmp_path / "b.csv", *tz, "--out", tmp_path / "s2")) == 2
    assert "sealed.pbs is missing" in capsys.readouterr().err


def _outputs(w: Work, tmp: Path) -> list[tuple[str, list[str | Path], Path]]:
    """Every command that writes a file: (name, arguments, the file)."""
    urdb = Path(__file__).parent / "data" / "urdb" / "commercial-tou-demand.json"
    feed = Path(__file__).resolve().parents[1] / "examples" / "agile-sample.json"
    (tmp / "st.json").write_text('[{"kind": "sum"}]')
    cert = w.keys / "meter-0001.cert"
    return [
        ("keygen", ["keygen", "--out", tmp / "k"], tmp / "k" / "meter-0001.cert"),
        ("tariff create", ["tariff", "create", w.d / "tariff.json", "--key", w.pem, "--out", tmp / "t.pbt"], tmp / "t.pbt"),
        ("import-urdb", ["tariff", "import-urdb", urdb, "--timezone", "America/Chicago", "--out", tmp / "u.json"], tmp / "u.json"),
        ("import-agile", ["tariff", "import-agile", feed, "--out", tmp / "a.json"], tmp / "a.json"),
        ("bill prove", w.prove(w.d / "sealed", WEEK, tmp / "b.pbm"), tmp / "b.pbm"),
        ("receipt", [*w.verify(w.d / "bill.pbm"), "--receipt-key", w.pem, "--receipt-out", tmp / "r.pbr"], tmp / "r.pbr"),
        ("disclose request", ["disclose", "request", tmp / "st.json", "--key", w.pem, "--cert", cert, "--tariff", w.tariff, "--period", WEEK, "--requester", "X", "--purpose", "testing", "--out", tmp / "q.pbq"], tmp / "q.pbq"),
        ("demo", ["demo", "--days", "1", "--seed", "1", "--no-progress", "--out", tmp / "demo"], tmp / "demo" / "bill.pbm"),
    ]  # fmt: skip


def test_one_rule_for_outputs_that_exist(
    work: Work, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Every output that exists is refused (exit 2, file unchanged) unless --force replaces it."""
    for name, args, path in _outputs(work, tmp_path):
        if path.exists():
            path.unlink()
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"precious")
        capsys.readouterr()
        assert run(*args) == 2, name
        err = capsys.readouterr().err
        assert f"{path} exists: use --force to replace it" in err, (name, err)
        assert path.read_bytes() == b"precious", name
        assert run(*args, "--force") == 0, name
        assert path.read_bytes() != b"precious", name


def test_disclose_answer_refuses_to_replace_a_response(
    work: Work, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "st.json").write_text('[{"kind": "sum"}]')
    cert = work.keys / "meter-0001.cert"
    req = tmp_path / "q.pbq"
    assert run("disclose", "request", tmp_path / "st.json", "--key", work.pem, "--cert", cert, "--tariff", work.tariff, "--period", WEEK, "--requester", "X", "--purpose", "testing", "--out", req) == 0  # fmt: skip
    out = tmp_path / "resp.pbd"
    out.write_bytes(b"precious")
    args = ["disclose", "answer", req, "--provider", work.pub, "--readings", work.d / "sealed", "--opening-key", work.okey, "--yes", "--out", out]  # fmt: skip
    assert run(*args) == 2 and out.read_bytes() == b"precious"
    assert run(*args, "--force") == 0 and out.read_bytes() != b"precious"


def test_demo_files_with_readings_are_private(tmp_path: Path) -> None:
    assert run("demo", "--days", "1", "--seed", "4", "--no-progress", "--out", tmp_path) == 0
    private = ["readings.csv", "provider.pem", "meter-0001.pem", "meter-0001.okey",
               "sealed/meter-state.json", *[f"sealed/{p.name}" for p in (tmp_path / "sealed").glob("openings-*.pbo")]]  # fmt: skip
    assert len(private) > 5
    for name in private:
        assert stat.S_IMODE((tmp_path / name).stat().st_mode) == 0o600, name
    assert stat.S_IMODE((tmp_path / "bill.pbm").stat().st_mode) == 0o644
    # The demo's sealed/ is a meter directory: status works and finds no problem.
    assert run("meter", "status", tmp_path / "sealed") == 0


# --- 2. dates instead of interval numbers ------------------------------------------------------


def test_coverage_errors_name_local_dates(
    work: Work, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    capsys.readouterr()
    # under tariffs billing 8-day cycles, from 1 January and from 31 December
    eight = work.cycle_tariff(8, "2026-01-01")
    assert run(*work.prove(work.d / "sealed", "2026-01-01/2026-01-09", tmp_path / "x.pbm", tariff=eight)) == 2  # fmt: skip
    err = capsys.readouterr().err
    assert (
        "the sealed runs end at 2026-01-08 00:00 MST, before the billing period ends at "
        "2026-01-09 00:00 MST: no sealed readings from 2026-01-08 00:00 MST (interval 1964284)"
    ) in err
    eight = work.cycle_tariff(8, "2025-12-31")
    assert run(*work.prove(work.d / "sealed", "2025-12-31/2026-01-08", tmp_path / "x.pbm", tariff=eight)) == 2  # fmt: skip
    err = capsys.readouterr().err
    assert (
        "the billing period starts before the first run: no sealed readings from 2025-12-31 "
        "00:00 MST (interval 1963516) until 2026-01-01 00:00 MST"
    ) in err
    assert "expected" not in err


def test_continuation_errors_name_local_dates(
    work: Work, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write_csv(tmp_path / "jan3.csv", "2026-01-03/2026-01-04")
    capsys.readouterr()
    assert run(*work.meter(tmp_path / "jan3.csv", "--out", work.d / "sealed")) == 2
    err = capsys.readouterr().err
    assert "readings start at 2026-01-03 00:00 MST (interval 1963804)" in err
    assert "the meter continues at 2026-01-08 00:00 MST (interval 1964284)" in err
    assert "they were recorded already" in err and "expected" not in err


def test_tariff_validity_names_the_field_and_both_dates(
    work: Work, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    desc = {**demo_description(), "valid_from": "2026-01-03"}
    (tmp_path / "late.json").write_text(json.dumps(desc))
    late = tmp_path / "late.pbt"
    assert run("tariff", "create", tmp_path / "late.json", "--key", work.pem, "--out", late) == 0
    args = work.prove(work.d / "sealed", WEEK, tmp_path / "x.pbm")
    args[args.index(work.tariff)] = late
    capsys.readouterr()
    assert run(*args) == 2
    err = capsys.readouterr().err
    assert "tariff.valid_from:" in err and "valid_until" not in err.split("valid from")[0]
    assert "the billing period starts 2026-01-01, before the tariff's valid_from 2026-01-03" in err
    assert "valid from 2026-01-03 until 2028-01-01" in err


# --- 3. README commands; --round-prices ----------------------------------------------------------


def test_urdb_refusal_names_round_prices(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """PSCo's 7-decimal price imports exactly; a price finer than 10⁻⁹ is refused naming
    --round-prices, which rounds it and says so."""
    rate = json.loads(shared_path("data", "urdb", "psco_re_tou.json").read_text())
    args = ["tariff", "import-urdb", tmp_path / "r.json", "--timezone", "America/Denver"]
    (tmp_path / "r.json").write_text(json.dumps(rate))
    assert run(*args, "--out", tmp_path / "exact.json") == 0
    assert "rounded" not in capsys.readouterr().err
    assert "0.0947412" in (tmp_path / "exact.json").read_text()  # 0.08623 + 0.0085112
    rate["energyratestructure"][1][0]["adj"] = 0.0085112345
    (tmp_path / "r.json").write_text(json.dumps(rate))
    assert run(*args, "--out", tmp_path / "p.json") == 2
    err = capsys.readouterr().err
    assert "0.0947412345 needs more than 9 decimals" in err and "--round-prices" in err
    assert not (tmp_path / "p.json").exists()
    assert run(*args, "--out", tmp_path / "p.json", "--round-prices") == 0
    assert "0.0947412345 -> 0.094741235" in capsys.readouterr().err


# --- 4. checked at the first step ----------------------------------------------------------------


def test_corrupted_certificate_is_refused_at_meter_record(
    work: Work, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cert = (work.keys / "meter-0001.cert").read_bytes()
    i = cert.find(b"acct-9")
    bad = bytearray(cert)
    bad[i + 5] ^= 0x01  # acct-9 -> acct-8: still a well-formed certificate
    (tmp_path / "meter-0001.cert").write_bytes(bytes(bad))
    (tmp_path / "provider.pub").write_bytes(work.pub.read_bytes())
    args = work.meter(work.d / "week.csv", "--timezone", "America/Denver", "--out", tmp_path / "s")
    args[args.index(work.keys / "meter-0001.cert")] = tmp_path / "meter-0001.cert"
    capsys.readouterr()
    assert run(*args) == 2
    err = capsys.readouterr().err
    assert "meter certificate.signature" in err and "damaged or issued by another provider" in err
    assert not (tmp_path / "s").exists()
    # Without a provider key to check against, nothing is sealed either: the flag is named.
    (tmp_path / "provider.pub").unlink()
    assert run(*args) == 2
    assert "give --provider" in capsys.readouterr().err


def test_utc_offsets_wrong_for_the_meter_timezone(
    work: Work, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = (work.d / "week.csv").read_text()
    (tmp_path / "eastern.csv").write_text(text.replace("-07:00", "-05:00"))
    capsys.readouterr()
    assert run(*work.meter(tmp_path / "eastern.csv", "--timezone", "America/Denver", "--out", tmp_path / "s")) == 2  # fmt: skip
    err = capsys.readouterr().err
    assert "line 2: 2026-01-01T00:00:00-05:00 has UTC offset -05:00" in err
    assert "America/Denver is at -07:00" in err and not (tmp_path / "s").exists()
    # The same instants in UTC are fine.
    first, _ = BillingPeriod.parse(WEEK, TZ).intervals(900)
    (tmp_path / "utc.csv").write_text(
        format_rows([(first + i, v) for i, v in enumerate(work.week)], 900, zone("UTC"))
    )
    assert run(*work.meter(tmp_path / "utc.csv", "--timezone", "America/Denver", "--out", tmp_path / "s")) == 0  # fmt: skip


def test_daily_seals_need_a_timezone_and_say_which(
    work: Work, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    capsys.readouterr()
    assert run(*work.meter(work.d / "week.csv", "--out", tmp_path / "s")) == 2
    assert "give the meter's --timezone" in capsys.readouterr().err
    assert not (tmp_path / "s").exists()
    assert (
        run(*work.meter(work.d / "week.csv", "--tariff", work.tariff, "--out", tmp_path / "s")) == 0
    )
    out = capsys.readouterr().out
    assert (
        "local midnight in America/Denver" in out
        and f"timezone from the tariff {work.tariff}" in out
    )
    sealed = SealedReadings.decode((tmp_path / "s" / "sealed.pbs").read_bytes())
    assert [r.seal.count for r in sealed.runs] == [96] * 7  # local days, not UTC days
    # The directory remembers it; another timezone is refused.
    write_csv(tmp_path / "next.csv", "2026-01-08/2026-01-09")
    assert run(*work.meter(tmp_path / "next.csv", "--timezone", "Europe/Berlin", "--out", tmp_path / "s")) == 2  # fmt: skip
    assert "seals in America/Denver" in capsys.readouterr().err
    assert run(*work.meter(tmp_path / "next.csv", "--out", tmp_path / "s")) == 0
    assert "timezone from the directory's meter-state.json" in capsys.readouterr().out


def test_tariff_of_another_provider_refused_at_prove(
    work: Work, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run("keygen", "--out", tmp_path / "other") == 0
    other = tmp_path / "other.pbt"
    assert run("tariff", "create", work.d / "tariff.json", "--key", tmp_path / "other" / "provider.pem", "--out", other) == 0  # fmt: skip
    args = work.prove(work.d / "sealed", WEEK, tmp_path / "x.pbm")
    args[args.index(work.tariff)] = other
    capsys.readouterr()
    assert run(*args) == 2
    err = capsys.readouterr().err
    assert "tariff.issuer: the tariff is signed by provider key" in err
    assert (
        "but meter 0001 is certified by provider key" in err and not (tmp_path / "x.pbm").exists()
    )


def test_meter_key_as_provider_key_warns(
    work: Work, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    capsys.readouterr()
    key = work.keys / "meter-0001.pem"
    assert run("tariff", "create", work.d / "tariff.json", "--key", key, "--out", tmp_path / "m.pbt", "--json") == 0  # fmt: skip
    captured = capsys.readouterr()
    assert "warning:" in captured.err and "is the key of meter 0001" in captured.err
    assert "meter-0001.cert" in captured.err
    assert json.loads(captured.out)["warnings"]
    # The provider's own key gives no warning.
    assert run("tariff", "create", work.d / "tariff.json", "--key", work.pem, "--out", tmp_path / "p.pbt") == 0  # fmt: skip
    assert "warning" not in capsys.readouterr().err


def test_receipt_key_without_receipt_out(work: Work, capsys: pytest.CaptureFixture[str]) -> None:
    capsys.readouterr()
    assert run(*work.verify(work.d / "bill.pbm"), "--receipt-key", work.pem) == 2
    assert "--receipt-key needs --receipt-out" in capsys.readouterr().err
    assert run(*work.verify(work.d / "bill.pbm"), "--receipt-out", work.d / "r.pbr") == 2
    assert "--receipt-out needs --receipt-key" in capsys.readouterr().err


# --- 5. messages -----------------------------------------------------------------------------


def test_json_description_where_a_signed_tariff_is_expected(
    work: Work, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = work.verify(work.d / "bill.pbm")
    args[args.index(work.tariff)] = work.d / "tariff.json"
    capsys.readouterr()
    assert run(*args) == 2
    err = capsys.readouterr().err
    assert "is a tariff description (JSON), not a signed tariff" in err
    assert "privbill tariff create" in err and "bytes" not in err
    # ... and the other way round.
    assert run("tariff", "create", work.tariff, "--key", work.pem, "--out", tmp_path / "x.pbt") == 2
    assert "is already a signed tariff" in capsys.readouterr().err


def test_keep_open_then_prove_says_what_is_open(
    work: Work, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    first, _ = BillingPeriod.parse(WEEK, TZ).intervals(900)
    (tmp_path / "morning.csv").write_text(format_rows([(first + i, 5) for i in range(40)], 900, TZ))
    s = tmp_path / "s"
    assert run(*work.meter(tmp_path / "morning.csv", "--timezone", "America/Denver", "--keep-open", "--out", s)) == 0  # fmt: skip
    capsys.readouterr()
    daily = work.cycle_tariff(1, "2026-01-01")
    assert run(*work.prove(s, "2026-01-01/2026-01-02", tmp_path / "x.pbm", tariff=daily)) == 2
    err = capsys.readouterr().err
    assert "list length" not in err
    assert "no sealed runs yet: 40 reading(s) from 2026-01-01 00:00 MST" in err
    assert "open run (recorded with --keep-open)" in err and "without --keep-open seals them" in err


def test_csv_with_byte_order_mark_is_accepted(work: Work, tmp_path: Path) -> None:
    (tmp_path / "bom.csv").write_bytes(b"\xef\xbb\xbf" + (work.d / "week.csv").read_bytes())
    assert run(*work.meter(tmp_path / "bom.csv", "--timezone", "America/Denver", "--out", tmp_path / "s")) == 0  # fmt: skip
    assert run(*work.prove(tmp_path / "s", WEEK, tmp_path / "b.pbm")) == 0


@pytest.mark.parametrize(
    ("content", "flag", "message"),
    [
        (b"garbage\n", "--provider", "is not a PEM key file (no -----BEGIN line)"),
        (b"-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n", "--key", "holds a public key; --key needs a private key"),
        (b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n", "--provider", "holds a PEM certificate, not a key"),
        (b"-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n", "--provider", "key.pem:"),
    ],
)  # fmt: skip
def test_key_errors_are_one_plain_sentence(
    work: Work,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    content: bytes,
    flag: str,
    message: str,
) -> None:
    key = tmp_path / "key.pem"
    key.write_bytes(content)
    if flag == "--key":
        args = [
            "tariff",
            "create",
            work.d / "tariff.json",
            "--key",
            key,
            "--out",
            tmp_path / "x.pbt",
        ]
    else:
        args = ["bill", "verify", work.d / "bill.pbm", "--tariff", work.tariff, "--provider", key]
    capsys.readouterr()
    assert run(*args) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1
    assert "http" not in err and "not a PEM public key: not a PEM" not in err


def test_missing_tariff_and_bill_name_their_flags(
    work: Work, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "st.json").write_text('[{"kind": "sum", "register": "winter on-peak"}]')
    req, resp = tmp_path / "q.pbq", tmp_path / "r.pbd"
    cert = work.keys / "meter-0001.cert"
    assert run("disclose", "request", tmp_path / "st.json", "--key", work.pem, "--cert", cert, "--tariff", work.tariff, "--period", WEEK, "--requester", "X", "--purpose", "testing", "--out", req) == 0  # fmt: skip
    answer = ["disclose", "answer", req, "--provider", work.pub, "--readings", work.d / "sealed", "--opening-key", work.okey, "--yes"]  # fmt: skip
    capsys.readouterr()
    assert run(*answer, "--out", resp) == 2
    err = capsys.readouterr().err
    assert "give that signed tariff with --tariff FILE" in err and "supply it" not in err
    assert run(*answer, "--tariff", work.tariff, "--bill", work.d / "bill.pbm", "--out", resp) == 0
    verify = ["disclose", "verify", resp, "--request", req, "--provider", work.pub]
    capsys.readouterr()
    assert run(*verify, "--tariff", work.tariff) == 2
    assert "give the bill with --bill FILE" in capsys.readouterr().err
    assert run(*verify, "--bill", work.d / "bill.pbm") == 2
    assert "--tariff FILE" in capsys.readouterr().err
    assert run(*verify, "--bill", work.d / "bill.pbm", "--tariff", work.tariff) == 0


def test_broken_pipe_exits_quietly(work: Work) -> None:
    """`privbill tariff show … | head`: the reader goes away; no "Broken pipe", no traceback."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "privbill.cli", "tariff", "show", str(work.tariff)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert proc.stdout is not None and proc.stderr is not None
    proc.stdout.close()  # before it writes: every write fails with EPIPE
    err = proc.stderr.read()
    assert proc.wait(timeout=60) == 141
    assert err == b""


# --- 6. the customer's view, tariff show/check, meter status, outages --------------------------


def test_bill_explain_matches_the_proven_bill(
    work: Work, capsys: pytest.CaptureFixture[str]
) -> None:
    capsys.readouterr()
    assert run("bill", "explain", "--readings", work.d / "sealed", "--tariff", work.tariff, "--period", WEEK, "--opening-key", work.okey, "--json") == 0  # fmt: skip
    view = out_json(capsys)
    assert run(*work.verify(work.d / "bill.pbm"), "--json") == 0
    assert view["total_fee"] == out_json(capsys)["total_fee"]
    body = TariffBody.from_description(with_cycle(demo_description(), 7, "2026-01-01"))
    period = BillingPeriod.parse(WEEK, TZ)
    first, count = period.intervals(900)
    expected = cleartext_bill(body, [MeterReadings(900, first, work.week)], period)
    assert view["total_fee"] == expected.total
    assert sum(e["quantity"] for e in view["energy"]) == sum(work.week)
    assert sum(e["cost_fee"] for e in view["energy"]) == expected.energy
    # Per period, from the tariff's own schedule.
    periods = body.energy.periods(TZ, first, count, 900)  # type: ignore[union-attr]
    names = body.energy.period_names  # type: ignore[union-attr]
    for e in view["energy"]:
        p = names.index(e["period"])
        assert e["quantity"] == sum(v for v, q in zip(work.week, periods, strict=True) if q == p)
    assert run("bill", "explain", "--readings", work.d / "sealed", "--tariff", work.tariff, "--period", WEEK, "--opening-key", work.okey) == 0  # fmt: skip
    text = capsys.readouterr().out
    assert "winter on-peak" in text and "fixed charges" in text
    assert kwh(sum(work.week)) in text.splitlines()[-1] and view["amount"] in text.splitlines()[-1]


def _month_with_components(w: Work, tmp: Path, scenario: str) -> tuple[Path, Path, list[int]]:
    """A signed demo tariff of ``scenario`` and January's readings (synthetic) in a meter dir."""
    from privbill.demo import demo_tariff_description

    desc = demo_tariff_description(scenario)
    (tmp / "c.json").write_text(json.dumps(desc))
    tariff = tmp / "c.pbt"
    assert run("tariff", "create", tmp / "c.json", "--key", w.pem, "--out", tariff) == 0
    period = BillingPeriod.parse("2026-01", TZ)
    first, count = period.intervals(900)
    profile = "business" if scenario == "commercial-demand" else "household"
    vals = synthetic_wh(period.start, count, 900, TZ, profile=profile, seed=5)
    (tmp / "jan.csv").write_text(format_rows([(first + i, v) for i, v in enumerate(vals)], 900, TZ))
    assert run(*w.meter(tmp / "jan.csv", "--timezone", "America/Denver", "--out", tmp / "s")) == 0
    return tariff, tmp / "s", vals


def test_bill_explain_names_tiers_reached(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    w = Work(tmp_path)
    tariff, sealed, vals = _month_with_components(w, tmp_path, "residential-tiered")
    capsys.readouterr()
    args = ["bill", "explain", "--readings", sealed, "--tariff", tariff, "--period", "2026-01", "--opening-key", w.okey]  # fmt: skip
    assert run(*args, "--json") == 0
    view = out_json(capsys)
    (tier,) = view["components"]
    total = sum(vals)
    assert tier["consumption_wh"] == total
    bounds = [400_000, 900_000]
    assert tier["tier_wh"] == [
        min(total, 400_000),
        max(0, min(total, 900_000) - 400_000),
        max(0, total - 900_000),
    ]
    assert tier["tier_reached"] == 1 + sum(total > b for b in bounds)
    prove = w.prove(sealed, "2026-01", tmp_path / "b.pbm")
    prove[prove.index(w.tariff)] = tariff
    assert run(*prove) == 0
    assert "total USD " + view["amount"] in capsys.readouterr().out
    assert run(*args) == 0
    assert f"(tier {tier['tier_reached']} of 3 reached)" in capsys.readouterr().out


def test_bill_explain_names_peak_demand(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    w = Work(tmp_path)
    tariff, sealed, vals = _month_with_components(w, tmp_path, "commercial-demand")
    capsys.readouterr()
    assert run("bill", "explain", "--readings", sealed, "--tariff", tariff, "--period", "2026-01", "--opening-key", w.okey, "--json") == 0  # fmt: skip
    view = out_json(capsys)
    from privbill.demo import demo_tariff_description

    body = TariffBody.from_description(demo_tariff_description("commercial-demand"))
    period = BillingPeriod.parse("2026-01", TZ)
    first, count = period.intervals(900)
    assert (
        view["total_fee"] == cleartext_bill(body, [MeterReadings(900, first, vals)], period).total
    )
    demand = [c for c in view["components"] if c["kind"] == "demand"]
    expected = []
    for comp in body.components:
        if comp.kind == "demand":
            for idx in demand_windows(body, comp, first, count, 900):  # type: ignore[arg-type]
                if idx:
                    expected.append(max(vals[k] for k in idx) * 4)
    assert [c["peak_w"] for c in demand if "peak_w" in c] == expected
    k = max(range(count), key=lambda j: (vals[j], -j))
    assert datetime.fromtimestamp((first + k) * 900, TZ).strftime("%Y-%m-%d %H:%M") in json.dumps(
        demand
    )
    assert view["minimum_top_up"] is not None


def test_tariff_show_prints_schedules_holidays_and_components(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    w = Work(tmp_path)
    desc = demo_description()
    desc["components"] = [
        {"kind": "tiered", "name": "on-peak tiers", "periods": [2, 5],
         "tiers": [{"up_to_kwh": "100", "price": "0"}, {"up_to_kwh": None, "price": "0.02"}]},
    ]  # fmt: skip
    (tmp_path / "c.json").write_text(json.dumps(desc))
    assert run("tariff", "create", tmp_path / "c.json", "--key", w.pem, "--out", tmp_path / "c.pbt") == 0  # fmt: skip
    capsys.readouterr()
    assert run("tariff", "show", tmp_path / "c.pbt", "--provider", w.pub) == 0
    out = capsys.readouterr().out
    hours = "".join(f"{h:>3}" for h in range(24))
    assert hours in out
    assert "weekdays (local hour across):" in out and "weekends and holidays:" in out
    weekday = desc["energy"]["weekday_schedule"]
    jan = "".join(f"{v:>3}" for v in weekday[0])
    assert f"Jan-May {jan}" in out
    assert "holidays (priced as weekends): 2026-01-01, 2026-05-25" in out
    assert "consumption in winter on-peak, summer on-peak" in out
    assert "0..100 kWh" in out and "above 100 kWh" in out
    assert "(signature: valid)" in out
    assert run("tariff", "show", tmp_path / "c.pbt", "--json") == 0
    view = out_json(capsys)
    assert view["components"][0]["period_names"] == ["winter on-peak", "summer on-peak"]
    # A description shows the same, marked unsigned.
    assert run("tariff", "show", tmp_path / "c.json") == 0
    assert "not signed" in capsys.readouterr().out


def test_tariff_check(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "ok.json").write_text(json.dumps(demo_description()))
    assert run("tariff", "check", tmp_path / "ok.json") == 0
    assert capsys.readouterr().out.startswith("VALID  Residential time-of-use (demo)")
    bad = {**demo_description(), "valid_until": "2024-01-01"}
    (tmp_path / "bad.json").write_text(json.dumps(bad))
    assert run("tariff", "check", tmp_path / "bad.json") == 1
    assert (
        "INVALID  tariff description.valid_until: must be after valid_from"
        in capsys.readouterr().out
    )
    assert run("tariff", "check", tmp_path / "bad.json", "--json") == 1
    assert out_json(capsys)["error_type"] == "TariffError"
    (tmp_path / "broken.json").write_text("{")
    assert run("tariff", "check", tmp_path / "broken.json") == 2
    assert not list(tmp_path.glob("*.pbt"))  # nothing signed


def test_meter_status(work: Work, capsys: pytest.CaptureFixture[str]) -> None:
    capsys.readouterr()
    assert run("meter", "status", work.d / "sealed") == 0
    out = capsys.readouterr().out
    assert "meter 0001, account acct-9, 15-minute intervals" in out
    assert (
        "readings 2026-01-01 00:00 MST until 2026-01-08 00:00 MST (672 intervals in 7 sealed runs, seals 0..6)"
        in out
    )
    sealed = SealedReadings.decode((work.d / "sealed" / "sealed.pbs").read_bytes())
    head = sealed.runs[-1].seal.chain_hash().hex()
    assert f"chain head: seal 6, hash {head[:16]}" in out
    assert run("meter", "status", work.d / "sealed", "--json") == 0
    view = out_json(capsys)
    assert view["chain_head"] == head and view["problems"] == [] and view["runs"] == 7


def test_meter_status_reports_problems(
    work: Work, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import shutil

    shutil.copytree(work.d / "sealed", tmp_path / "s")
    (tmp_path / "s" / "meter-state.json").unlink()
    next(iter((tmp_path / "s").glob("openings-*.pbo"))).unlink()
    capsys.readouterr()
    assert run("meter", "status", tmp_path / "s", "--json") == 1
    problems = out_json(capsys)["problems"]
    assert any("meter-state.json is missing" in p for p in problems)
    assert any("no openings for 672 sealed interval(s)" in p for p in problems)


def test_outage_recorded_sealed_and_billed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A power cut from 14:00 to 16:30 on 3 January: the CSV has no rows then. Recording refuses
    the gap, naming it and the flag; --outage seals it as 0 Wh the meter certifies; the week
    bills, and the verifier reports the outage."""
    w = Work(tmp_path)
    cut = range(2 * 96 + 56, 2 * 96 + 66)  # 2026-01-03 14:00 .. 16:30
    vals = write_csv(tmp_path / "cut.csv", WEEK, drop=cut)
    s = tmp_path / "s"
    tz = ["--timezone", "America/Denver"]
    capsys.readouterr()
    assert run(*w.meter(tmp_path / "cut.csv", *tz, "--out", s)) == 2
    err = capsys.readouterr().err
    assert (
        "no readings from 2026-01-03 14:00 MST (interval 1963860) until 2026-01-03 16:30 MST" in err
    )
    assert "--outage 2026-01-03T14:00:00-07:00 2026-01-03T16:30:00-07:00" in err and not s.exists()
    assert run(*w.meter(tmp_path / "cut.csv", *tz, "--outage", "2026-01-03T14:00", "2026-01-03T16:30", "--out", s)) == 0  # fmt: skip
    assert "outage: 10 interval(s)" in capsys.readouterr().out
    sealed = SealedReadings.decode((s / "sealed.pbs").read_bytes())
    outage = [r for r in sealed.runs if r.seal.outage]
    assert [(r.seal.first, r.seal.count) for r in outage] == [(1963860, 10)]
    assert run(*w.prove(s, WEEK, tmp_path / "b.pbm")) == 0
    capsys.readouterr()
    assert run(*w.verify(tmp_path / "b.pbm"), "--json") == 0
    result = out_json(capsys)
    assert result["outage_intervals"] == 10
    billed = [0 if i in cut else v for i, v in enumerate(vals)]
    body = TariffBody.from_description(with_cycle(demo_description(), 7, "2026-01-01"))
    period = BillingPeriod.parse(WEEK, TZ)
    first, _ = period.intervals(900)
    assert (
        result["total_fee"]
        == cleartext_bill(body, [MeterReadings(900, first, billed)], period).total
    )
    assert run("meter", "status", s) == 0
    assert (
        "outages certified by the meter: 10 interval(s): 2026-01-03 14:00 MST until 2026-01-03 16:30 MST"
        in capsys.readouterr().out
    )


def test_outage_column_in_the_csv(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    w = Work(tmp_path)
    first, count = BillingPeriod.parse("2026-01-01/2026-01-02", TZ).intervals(900)
    lines = ["interval_start,wh,outage"]
    for i in range(count):
        t = datetime.fromtimestamp((first + i) * 900, TZ).isoformat()
        lines.append(f"{t},0,1" if 20 <= i < 24 else f"{t},{i},")
    (tmp_path / "o.csv").write_text("\n".join(lines) + "\n")
    assert run(*w.meter(tmp_path / "o.csv", "--timezone", "America/Denver", "--out", tmp_path / "s")) == 0  # fmt: skip
    sealed = SealedReadings.decode((tmp_path / "s" / "sealed.pbs").read_bytes())
    assert [(r.seal.first - first, r.seal.count, r.seal.outage) for r in sealed.runs] == [
        (0, 20, False), (20, 4, True), (24, count - 24, False),
    ]  # fmt: skip
    # An outage row that reads something is refused; so is a reading inside --outage.
    (tmp_path / "bad.csv").write_text("\n".join(lines).replace(",0,1", ",5,1", 1) + "\n")
    capsys.readouterr()
    assert run(*w.meter(tmp_path / "bad.csv", "--timezone", "America/Denver", "--out", tmp_path / "s2")) == 2  # fmt: skip
    assert "an outage interval reads 0" in capsys.readouterr().err
    write_csv(tmp_path / "day.csv", "2026-01-01/2026-01-02")
    assert run(*w.meter(tmp_path / "day.csv", "--timezone", "America/Denver", "--outage", "2026-01-01T01:00", "2026-01-01T02:00", "--out", tmp_path / "s3")) == 2  # fmt: skip
    assert "is inside --outage but reads" in capsys.readouterr().err
    # A whole day without supply: a CSV with no rows, the day as the outage.
    (tmp_path / "none.csv").write_text("interval_start,wh\n")
    tz = ["--timezone", "America/Denver"]
    assert run(*w.meter(tmp_path / "none.csv", *tz, "--out", tmp_path / "s4")) == 2
    assert "no readings and no --outage" in capsys.readouterr().err
    assert run(*w.meter(tmp_path / "none.csv", *tz, "--outage", "2026-01-01", "2026-01-02", "--out", tmp_path / "s4")) == 0  # fmt: skip
    sealed = SealedReadings.decode((tmp_path / "s4" / "sealed.pbs").read_bytes())
    assert [(r.seal.count, r.seal.outage) for r in sealed.runs] == [(96, True)]


def test_a_customer_cannot_claim_or_hide_an_outage(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The outage mark is the meter's signed statement. Adding it to an ordinary run or removing
    it from an outage run changes the signed seal body, so the next seal's chain hash no longer
    matches (and the seal's own signature fails, ``test_meter.test_outage_flag_is_signed``);
    billing an outage interval as anything but its sealed 0 Wh fails the prover's opening check."""
    w = Work(tmp_path)
    write_csv(tmp_path / "cut.csv", WEEK, drop=range(100, 104))
    s = tmp_path / "s"
    assert run(*w.meter(tmp_path / "cut.csv", "--timezone", "America/Denver", "--outage", "2026-01-02T01:00", "2026-01-02T02:00", "--out", s)) == 0  # fmt: skip
    assert run(*w.prove(s, WEEK, tmp_path / "b.pbm")) == 0
    obj = cbor2.loads((tmp_path / "b.pbm").read_bytes())
    runs = obj["meters"][0]["runs"]
    k = next(j for j, r in enumerate(runs) if r["seal"].get("outage"))
    for j, change in ((k, "drop"), (0, "add")):
        tampered = cbor2.loads(codec.encode(obj))  # a fresh copy
        seal = tampered["meters"][0]["runs"][j]["seal"]
        if change == "drop":
            del seal["outage"]
        else:
            seal["outage"] = True
        (tmp_path / "t.pbm").write_bytes(codec.encode(tampered))
        capsys.readouterr()
        assert run(*w.verify(tmp_path / "t.pbm"), "--json") == 1
        result = out_json(capsys)
        assert result["error_type"] == "SealChainError", change
        assert f"runs[{j + 1}].seal.prev: hash chain broken" in result["error"]
    # Openings that claim consumption in the outage do not match the sealed zeros.
    from privbill.model.readings import Openings

    for p in s.glob("openings-*.pbo"):
        batch = Openings.decode(p.read_bytes())
        if batch.first == 1963712:  # the outage's own batch
            batch.values[0] = 250
            p.write_bytes(batch.encode())
    assert run(*w.prove(s, WEEK, tmp_path / "c.pbm")) == 2
    assert "does not match its sealed commitment" in capsys.readouterr().err


# --- 7. consistency -----------------------------------------------------------------------------


def test_disclose_answer_without_opening_key_is_a_usage_error(
    work: Work, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "st.json").write_text('[{"kind": "sum"}]')
    cert = work.keys / "meter-0001.cert"
    req = tmp_path / "q.pbq"
    assert run("disclose", "request", tmp_path / "st.json", "--key", work.pem, "--cert", cert, "--tariff", work.tariff, "--period", WEEK, "--requester", "X", "--purpose", "testing", "--out", req) == 0  # fmt: skip
    capsys.readouterr()
    assert run("disclose", "answer", req, "--provider", work.pub, "--readings", work.d / "sealed", "--yes", "--out", tmp_path / "r.pbd") == 2  # fmt: skip
    assert "give --opening-key FILE" in capsys.readouterr().err


def _leaves(
    parser: argparse.ArgumentParser, path: list[str]
) -> list[tuple[list[str], argparse.ArgumentParser]]:
    out = []
    for a in parser._actions:
        if isinstance(a, argparse._SubParsersAction):
            for name, sub in a.choices.items():
                out += _leaves(sub, [*path, name])
    return out or [(path, parser)]


LEAVES = _leaves(build_parser(), [])


@pytest.mark.parametrize("path", [p for p, _ in LEAVES], ids=" ".join)
def test_every_command_has_json_errors_and_help(
    path: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """--json on every command; a usage problem exits 2 and is reported as JSON with its
    error_type; every option has help, and defaults are shown."""
    parser = dict((tuple(p), q) for p, q in LEAVES)[tuple(path)]
    options = {s for a in parser._actions for s in a.option_strings}
    assert "--json" in options
    for action in parser._actions:
        if action.dest == "help":
            continue
        assert action.help, (path, action.dest)
    help_text = parser.format_help()
    for action in parser._actions:
        if action.option_strings and action.default not in (None, False, [], argparse.SUPPRESS):
            assert f"(default: {action.default})" in " ".join(help_text.split()), (
                path,
                action.dest,
            )
    # Missing arguments: a usage problem.
    capsys.readouterr()
    assert run(*path, "--json", "--no-such-option") == 2
    result = out_json(capsys)
    assert result["error_type"] == "UsageError"
    assert result["error"].startswith("privbill")
    # An unreadable input file, where the command reads one.
    if path[0] in ("demo", "keygen") or tuple(path) in NO_INPUT_FILE:
        return
    missing = tmp_path / "missing"
    argv = _minimal_args(path, missing, tmp_path)
    assert run(*argv, "--json") == 2, argv
    result = out_json(capsys)
    assert result["error_type"] == "UsageError" and "no such " in result["error"], result


#: Commands that read no input file (they talk to the service or its database only).
NO_INPUT_FILE = {
    ("provider", "token"),
    ("provider", "revoke-meter"),
    ("provider", "export-dispute"),
}


def _minimal_args(path: list[str], missing: Path, tmp: Path) -> list[str | Path]:
    """The command with every required value given, its first input file missing."""
    m = str(missing)
    table: dict[tuple[str, ...], list[str | Path]] = {
        ("tariff", "create"): [m, "--key", m, "--out", tmp / "x"],
        ("tariff", "check"): [m],
        ("tariff", "show"): [m],
        ("tariff", "import-urdb"): [m, "--timezone", "UTC", "--out", tmp / "x"],
        ("tariff", "import-agile"): [m, "--out", tmp / "x"],
        ("meter", "record"): [m, "--key", m, "--cert", m, "--out", tmp / "x"],
        ("meter", "status"): [tmp],
        ("bill", "prove"): ["--readings", m, "--tariff", m, "--period", "2026-01", "--out", tmp / "x"],
        ("bill", "verify"): [m, "--tariff", m, "--provider", m],
        ("bill", "explain"): ["--readings", m, "--tariff", m, "--period", "2026-01"],
        ("receipt", "verify"): [m, "--provider", m],
        ("disclose", "request"): [m, "--key", m, "--cert", m, "--period", "2026-01", "--requester", "x", "--purpose", "y", "--out", tmp / "x"],
        ("disclose", "answer"): [m, "--provider", m, "--readings", m, "--out", tmp / "x"],
        ("disclose", "verify"): [m, "--request", m, "--provider", m],
        ("disclose", "record-bill"): [m, "--tariff", m, "--ledger", tmp / "l.pbl"],
        ("serve",): ["--provider-key", m, "--db", f"sqlite:///{tmp}/s.db"],
        ("worker",): ["--provider-key", m, "--db", f"sqlite:///{tmp}/s.db"],
        ("submit",): [m, "--to", "http://127.0.0.1:9"],
        ("provider", "publish-tariff"): [m, "--to", "http://127.0.0.1:9", "--token", "t"],
        ("provider", "enrol-meter"): ["--cert", m, "--to", "http://127.0.0.1:9", "--token", "t"],
        ("provider", "enrol-account"): ["--account", "a", "--customer-key", m, "--to", "http://127.0.0.1:9", "--token", "t"],
        ("provider", "request-disclosure"): [m, "--account", "a", "--period", "2026-01", "--requester", "x", "--purpose", "y", "--to", "http://127.0.0.1:9", "--token", "t"],
        ("dispute", "verify"): [m],
        ("meter", "run"): ["--key", m, "--cert", m, "--agent-key", m, "--out", tmp / "x", "--synthetic", "--timezone", "UTC"],
        ("agent", "init"): ["--home", tmp / "h", "--account", "a1", "--cert", m, "--provider-url", "http://127.0.0.1:9"],
        ("agent", "run"): ["--home", m],
        ("agent", "status"): ["--home", m],
        ("agent", "web"): ["--home", m],
        ("agent", "bills"): ["--home", m],
        ("agent", "consent"): ["0" * 32, "--home", m],
        ("agent", "export"): ["--home", m, "--to", m, "--out", tmp / "x"],
        ("agent", "import"): [m, "--home", tmp],
    }  # fmt: skip
    rest = table[tuple(path)]
    if tuple(path) == ("meter", "status"):
        return [*path, missing]
    return [*path, *rest]


def test_top_level_help_has_an_example(capsys: pytest.CaptureFixture[str]) -> None:
    assert run("--help") == 0
    out = capsys.readouterr().out
    assert "a month end to end" in out and "privbill bill verify bill.pbm" in out


def test_progress_lines_on_stderr_when_not_a_terminal(
    work: Work, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PRIVBILL_PROGRESS_DELAY", "0")
    capsys.readouterr()
    assert run(*work.prove(work.d / "sealed", WEEK, tmp_path / "b.pbm")) == 0
    captured = capsys.readouterr()
    lines = captured.err.splitlines()
    assert lines[0] == "privbill: proving the bill (0 component(s) beyond energy)…"
    assert lines[1].startswith(
        "privbill: proving the bill (0 component(s) beyond energy): done in "
    )
    assert "privbill" not in captured.out.split("\n")[0][:9]  # stdout keeps the result only
    assert run(*work.prove(work.d / "sealed", WEEK, tmp_path / "c.pbm", "--no-progress")) == 0
    assert capsys.readouterr().err == ""


def test_demo_prints_its_seed_and_repeats_with_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run("demo", "--days", "1", "--no-progress", "--out", tmp_path / "a") == 0
    out = capsys.readouterr().out
    seed = out.split(", seed ")[1].split(":")[0]
    assert f"--seed {seed} repeats them" in out
    assert run("demo", "--days", "1", "--no-progress", "--seed", seed, "--out", tmp_path / "b") == 0
    assert (tmp_path / "a" / "readings.csv").read_text() == (
        tmp_path / "b" / "readings.csv"
    ).read_text()
    capsys.readouterr()
    assert run("demo", "--days", "1", "--no-progress", "--json") == 0
    view = out_json(capsys)
    assert isinstance(view["seed"], int) and view["error_type"] is None


def test_docs_cli_lists_every_command_and_option() -> None:
    text = (Path(__file__).resolve().parents[1] / "docs" / "cli.md").read_text()
    sections = text.split("\n## ")
    for path, parser in LEAVES:
        title = " ".join(path)
        section = next((s for s in sections if s.startswith(title + "\n")), None)
        assert section is not None, f"docs/cli.md has no section {title!r}"
        assert f"privbill {title}" in section, f"no example for {title}"
        for a in parser._actions:
            for opt in a.option_strings:
                if opt.startswith("--") and opt != "--help":
                    assert f"`{opt}`" in section, f"{title}: {opt} not documented"


def test_verify_bill_json_error_shape(
    work: Work, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Errors before verification (a missing tariff) keep the command's JSON shape."""
    capsys.readouterr()
    args = work.verify(work.d / "bill.pbm", "--json")
    args[args.index(work.tariff)] = tmp_path / "none.pbt"
    assert run(*args) == 2
    result = out_json(capsys)
    assert result["valid"] is False and result["total_fee"] is None
    assert result["error_type"] == "UsageError" and "no such file" in result["error"]


def test_a_file_of_another_kind_is_named(
    work: Work, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A receipt where a bill is expected, a bill where a tariff or a certificate is: the message
    says what the file is, not where the decoder stumbled."""
    assert run(*work.verify(work.d / "bill.pbm"), "--receipt-key", work.pem, "--receipt-out", tmp_path / "r.pbr") == 0  # fmt: skip
    capsys.readouterr()
    assert run(*work.verify(tmp_path / "r.pbr"), "--json") == 2
    result = out_json(capsys)
    assert result["error_type"] == "DecodeError"
    assert (
        result["error"]
        == f"payment message.format: {tmp_path / 'r.pbr'} is a receipt, not a payment message (bill)"
    )
    assert run("receipt", "verify", work.d / "bill.pbm", "--provider", work.pub) == 2
    assert "is a payment message (bill), not a receipt" in capsys.readouterr().err
    args = work.meter(work.d / "week.csv", "--timezone", "America/Denver", "--out", tmp_path / "s")
    args[args.index(work.keys / "meter-0001.cert")] = work.tariff
    assert run(*args) == 2
    assert "is a signed tariff, not a meter certificate" in capsys.readouterr().err


def test_failed_checks_of_inputs_are_usage_errors(
    work: Work, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Exit status 1 is for an object that fails verification in a command that verifies one;
    a command that makes something exits 2 when its own inputs fail a check."""
    capsys.readouterr()
    assert run("keygen", "--out", tmp_path / "k", "--meter-id", "bad id") == 2
    assert "invalid meter id 'bad id'" in capsys.readouterr().err
    assert run("keygen", "--out", tmp_path / "other") == 0
    (tmp_path / "st.json").write_text('[{"kind": "sum"}]')
    other_key = tmp_path / "other" / "provider.pem"
    assert run("disclose", "request", tmp_path / "st.json", "--key", other_key, "--cert", work.keys / "meter-0001.cert", "--period", WEEK, "--requester", "X", "--purpose", "testing", "--out", tmp_path / "q.pbq") == 2  # fmt: skip
    assert "certificate issued by another provider key" in capsys.readouterr().err
    # ... while a verifying command still says INVALID with status 1.
    args = work.verify(work.d / "bill.pbm")
    args[args.index(work.pub)] = tmp_path / "other" / "provider.pub"
    assert run(*args) == 1
    assert capsys.readouterr().out.startswith("INVALID  tariff.issuer")


_NO_RICH = (
    "import sys\n"
    "sys.modules['rich'] = None  # as if the demo extra were not installed\n"
    "from privbill.cli import main\n"
    "sys.exit(main(sys.argv[1:]))\n"
)


def test_core_commands_do_without_rich_and_the_demo_says_what_it_needs(tmp_path: Path) -> None:
    """rich comes with the demo extra: keygen and --help run without it; the demo names the
    extra to install."""

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-c", _NO_RICH, *args], capture_output=True, text=True, timeout=120
        )

    assert run("--help").returncode == 0
    keys = run("keygen", "--out", str(tmp_path / "keys"))
    assert keys.returncode == 0, keys.stderr
    assert (tmp_path / "keys" / "meter-0001.cert").exists()
    demo = run("demo", "--days", "1", "--out", str(tmp_path / "demo"))
    assert demo.returncode == 2
    assert "pip install 'privbill[demo]'" in demo.stderr
