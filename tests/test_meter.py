from __future__ import annotations

import itertools
from datetime import date

import pytest

from privbill.crypto import pedersen
from privbill.crypto.signatures import SigningKey
from privbill.errors import ReadingError, UsageError
from privbill.meter import Meter, MeterState
from privbill.model.periods import BillingPeriod, zone
from privbill.model.readings import Openings, derive_blinding
from privbill.model.seals import GENESIS
from privbill.provider import Provider

TZ = "Europe/Berlin"


def _meter(
    provider: Provider, span: str, okey: bytes | None = None, interval_s: int = 900
) -> Meter:
    key = SigningKey.generate()
    cert = provider.certify_meter("m-1", "acct-1", key.public_key(), interval_s=interval_s)
    return Meter(cert, key, span, TZ, okey)  # type: ignore[arg-type]


def _days(n: int, start: date = date(2026, 3, 28)) -> tuple[int, int]:
    p = BillingPeriod.for_dates(start, date.fromordinal(start.toordinal() + n), zone(TZ))
    return p.intervals(900)


@pytest.mark.parametrize(("span", "runs"), [("day", 5), ("reading", None), ("month", 2)])
def test_seal_spans(provider: Provider, span: str, runs: int | None) -> None:
    # 28 March to 2 April 2026 in Berlin spans the DST switch (29 March has 23 hours) and a month.
    first, count = _days(5)
    meter = _meter(provider, span)
    rec = meter.record([(first + k, k % 500) for k in range(count)])
    assert len(rec.runs) == (runs if runs is not None else count)
    assert sum(r.seal.count for r in rec.runs) == count
    if span == "day":
        assert [r.seal.count for r in rec.runs] == [96, 92, 96, 96, 96]
    if span == "month":
        assert [r.seal.count for r in rec.runs] == [4 * 96 - 4, 96]
    prev = GENESIS
    for k, run in enumerate(rec.runs):
        s = run.seal
        assert s.seq == k and s.prev == prev
        run.check_commitments()
        s.verify_signature(meter.certificate.public_key)
        prev = s.chain_hash()
    assert rec.openings.values == [k % 500 for k in range(count)]


def test_commitments_open_to_readings(provider: Provider) -> None:
    first, count = _days(1)
    meter = _meter(provider, "day")
    rec = meter.record([(first + k, 7 * k) for k in range(count)])
    comm = rec.runs[0].commitments
    assert rec.openings.blindings is not None
    for k in range(count):
        c = pedersen.commit_bytes(7 * k, rec.openings.blindings[k])
        assert comm[48 * k : 48 * (k + 1)] == c


def test_state_continues_the_chain(provider: Provider) -> None:
    first, count = _days(2)
    meter = _meter(provider, "day")
    half = count // 2 + 5
    a = meter.record([(first + k, 1) for k in range(half)])
    state = MeterState.from_json(meter.state.to_json())
    meter2 = Meter(meter.certificate, meter.key, "day", TZ, None, state)
    b = meter2.record([(first + k, 1) for k in range(half, count)])
    runs = a.runs + b.runs
    assert [r.seal.seq for r in runs] == list(range(len(runs)))
    for x, y in itertools.pairwise(runs):
        assert y.seal.prev == x.seal.chain_hash()
        assert y.seal.first == x.seal.end
    with pytest.raises(ReadingError, match="continues at"):
        meter2.record([(first, 1)])


@pytest.mark.parametrize(
    ("rows", "match"),
    [
        ([(10, 1), (12, 1)], "gap"),
        ([(10, 1), (10, 1)], "duplicate"),
        ([(10, 1), (9, 1)], "out of order"),
        ([(10, -1)], "out of range"),
        ([(10, 2**32)], "out of range"),
        ([], "no readings"),
    ],
)
def test_bad_readings_refused(provider: Provider, rows: list[tuple[int, int]], match: str) -> None:
    with pytest.raises(ReadingError, match=match):
        _meter(provider, "reading").record(rows)


def test_key_derived_openings(provider: Provider) -> None:
    okey = Meter.new_opening_key()
    first, count = _days(1)
    meter = _meter(provider, "day", okey)
    rec = meter.record([(first + k, 3) for k in range(count)])
    assert rec.openings.blindings is None
    decoded = Openings.decode(rec.openings.encode())
    rs = decoded.resolve(okey)
    assert rs[5] == derive_blinding(okey, "m-1", first + 5)
    assert pedersen.commit_bytes(3, rs[5]) == rec.runs[0].commitments[5 * 48 : 6 * 48]
    with pytest.raises(Exception, match="opening key"):
        decoded.resolve(None)
    assert derive_blinding(okey, "m-2", first) != derive_blinding(okey, "m-1", first)


def test_meter_configuration_errors(provider: Provider) -> None:
    key = SigningKey.generate()
    cert = provider.certify_meter("m-1", "acct-1", key.public_key())
    with pytest.raises(UsageError, match="does not match"):
        Meter(cert, SigningKey.generate(), "day", TZ)
    with pytest.raises(UsageError, match="seal span"):
        Meter(cert, key, "week", TZ)  # type: ignore[arg-type]
    with pytest.raises(UsageError, match="timezone"):
        Meter(cert, key, "day", "Nowhere/Land")
    with pytest.raises(UsageError, match="damaged"):
        MeterState.from_json('{"seq": -1, "prev": "00", "next_index": null}')


def test_openings_repr_hides_secrets(provider: Provider) -> None:
    first, _ = _days(1)
    rec = _meter(provider, "reading").record([(first, 123456)])
    assert "123456" not in repr(rec.openings)


def test_streaming_recording_keeps_runs_open(provider: Provider) -> None:
    first, count = _days(5)
    rows = [(first + k, k % 300) for k in range(count)]
    whole = _meter(provider, "month").record(rows)
    streamed = _meter(provider, "month")
    runs = []
    for lo in range(0, count, 37):  # chunks that do not line up with any boundary
        chunk = rows[lo : lo + 37]
        rec = streamed.record(chunk, close=lo + 37 >= count)
        runs += rec.runs
        # The open run survives a save and reload of the meter's state.
        streamed.state = MeterState.from_json(streamed.state.to_json())
    assert [(r.seal.first, r.seal.count) for r in runs] == [
        (r.seal.first, r.seal.count) for r in whole.runs
    ]
    assert [r.seal.seq for r in runs] == [0, 1]
    for x, y in itertools.pairwise(runs):
        assert y.seal.prev == x.seal.chain_hash()


def test_bad_batch_changes_nothing(provider: Provider) -> None:
    first, _ = _days(1)
    meter = _meter(provider, "reading")
    meter.record([(first, 1), (first + 1, 2)])
    before = meter.state.to_json()
    with pytest.raises(ReadingError, match="gap"):
        meter.record([(first + 2, 1), (first + 3, 1), (first + 5, 1)])
    assert meter.state.to_json() == before
    rec = meter.record([(first + 2, 1)])
    assert rec.runs[0].seal.seq == 2
