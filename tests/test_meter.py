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


# --- outages and messages in local time --------------------------------------------------------


def test_outage_runs_are_sealed_apart_and_marked(provider: Provider) -> None:
    """An outage in the middle of a day: the day's open run is sealed when the outage starts, the
    outage is a run of its own whose signed seal says so, and ordinary readings resume after."""
    first, count = _days(1)
    meter = _meter(provider, "day")
    a = meter.record([(first + k, 5) for k in range(40)], close=False)
    b = meter.record([(first + k, 0) for k in range(40, 50)], close=False, outage=True)
    c = meter.record([(first + k, 7) for k in range(50, count)])
    runs = a.runs + b.runs + c.runs
    assert [(r.seal.first - first, r.seal.count, r.seal.outage) for r in runs] == [
        (0, 40, False),
        (40, 10, True),
        (50, count - 50, False),
    ]
    for x, y in itertools.pairwise(runs):
        assert y.seal.prev == x.seal.chain_hash() and y.seal.seq == x.seal.seq + 1
    outage = runs[1]
    outage.seal.verify_signature(meter.certificate.public_key)
    assert outage.seal.body()["outage"] is True and "outage" not in runs[0].seal.body()
    # Commitments to 0 Wh: the openings handed over say so and match.
    assert b.openings.values == [0] * 10
    blindings = b.openings.blindings
    assert blindings is not None
    assert outage.commitments == b"".join(pedersen.commit_bytes(0, r) for r in blindings)


def test_outage_flag_is_signed(provider: Provider) -> None:
    """A customer cannot mark readings as an outage, nor remove the mark: the seal signature
    covers it (and the chain hash changes with it)."""
    import dataclasses

    from privbill.errors import SignatureError

    first, _ = _days(1)
    meter = _meter(provider, "reading")
    plain = meter.record([(first, 0)]).runs[0].seal
    outage = meter.record([(first + 1, 0)], outage=True).runs[0].seal
    key = meter.certificate.public_key
    for seal in (
        dataclasses.replace(plain, outage=True),
        dataclasses.replace(outage, outage=False),
    ):
        with pytest.raises(SignatureError):
            seal.verify_signature(key)
    assert dataclasses.replace(outage, outage=False).chain_hash() != outage.chain_hash()


def test_outage_field_decodes_only_as_true(provider: Provider) -> None:
    from privbill.errors import DecodeError
    from privbill.model.seals import Seal

    first, _ = _days(1)
    meter = _meter(provider, "reading")
    seal = meter.record([(first, 0)], outage=True).runs[0].seal
    obj = seal.to_obj()
    assert Seal.from_obj(obj) == seal
    for bad in (False, 1, "yes"):
        with pytest.raises(DecodeError, match="outage"):
            Seal.from_obj({**obj, "outage": bad})


def test_outage_readings_must_be_zero(provider: Provider) -> None:
    first, _ = _days(1)
    meter = _meter(provider, "day")
    with pytest.raises(ReadingError, match=r"in an outage and must be 0, not 3"):
        meter.record([(first, 0), (first + 1, 3)], outage=True)
    assert meter.state.seq == 0 and meter.state.next_index is None  # nothing was committed


def test_reading_errors_name_local_times(provider: Provider) -> None:
    """Errors about time name the local date and time in the meter's timezone; the interval
    index comes only as a detail, and nothing says "expected" the wrong way round."""
    first, _ = _days(1)  # 2026-03-28 00:00 in Berlin (CET, +01:00)
    meter = _meter(provider, "day")
    meter.record([(first + k, 1) for k in range(4)])
    with pytest.raises(ReadingError) as info:
        meter.record([(first + 8, 1)])
    msg = str(info.value)
    assert "readings start at 2026-03-28 02:00 CET" in msg
    assert "the meter continues at 2026-03-28 01:00 CET" in msg
    assert f"(interval {first + 4})" in msg and "expected" not in msg
    with pytest.raises(
        ReadingError,
        match=r"gap: no reading from 2026-03-28 01:15 CET .* until 2026-03-28 01:30 CET",
    ):
        meter.record([(first + 4, 1), (first + 6, 1)])
    with pytest.raises(
        ReadingError, match=r"reading at 2026-03-28 01:00 CET .* is a duplicate or out of order"
    ):
        meter.record([(first + 4, 1), (first + 4, 1)])


def test_state_remembers_outage_timezone_and_span(provider: Provider) -> None:
    first, _ = _days(1)
    meter = _meter(provider, "day")
    meter.record([(first, 0)], close=False, outage=True)
    state = MeterState.from_json(meter.state.to_json())
    assert (state.pending_outage, state.timezone, state.seal_span) == (True, TZ, "day")
    resumed = Meter(meter.certificate, meter.key, "day", TZ, None, state)
    rec = resumed.record([(first + 1, 4)])
    assert [(r.seal.count, r.seal.outage) for r in rec.runs] == [(1, True), (1, False)]
