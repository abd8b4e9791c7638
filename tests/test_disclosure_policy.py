"""The customer's disclosure policy and ledger: requests whose answers, with everything disclosed
before (to anyone, bills included), would reveal a single reading or readings of a stretch
shorter than the policy allows are refused with the reason; the ledger records what was answered
and nothing else; it persists as canonical CBOR with file mode 0600."""

from __future__ import annotations

import copy
from collections.abc import Sequence
from datetime import date
from pathlib import Path
from typing import Any

import cbor2
import pytest

from helpers import MeterSetup, make_meter
from privbill import disclosure
from privbill.billing.prover import MeterInput, prove_bill
from privbill.crypto.signatures import SigningKey
from privbill.disclosure.ledger import DisclosureLedger, DisclosurePolicy
from privbill.disclosure.model import (
    Consent,
    DisclosurePolicyError,
    DisclosureRequest,
    DisclosureResponse,
    MeterRef,
    Register,
    Statement,
    WholePeriod,
    Window,
)
from privbill.disclosure.statements import OpenReadings, Sum, Threshold, WeightedSum
from privbill.errors import DecodeError, UsageError
from privbill.interop.urdb import load_rate, urdb_to_description
from privbill.meter import Meter
from privbill.model import codec
from privbill.model.bills import MeterSection, PaymentMessage
from privbill.model.periods import BillingPeriod, local_midnight, zone
from privbill.model.sealed import SealedReadings
from privbill.model.tariffs import SignedTariff, TariffBody
from privbill.provider import Provider

DAY = 86400
HOUR = 3600
L = 900
URDB = Path(__file__).parent / "data" / "urdb"


@pytest.fixture(scope="module")
def week(january: BillingPeriod) -> BillingPeriod:
    return BillingPeriod(january.start + 4 * DAY, january.start + 11 * DAY)


@pytest.fixture(scope="module")
def now(january: BillingPeriod) -> int:
    return january.end + 4000


def request(
    provider: Provider,
    statements: Sequence[Statement],
    period: BillingPeriod,
    now: int,
    requester: str = "Example Power",
) -> DisclosureRequest:
    return DisclosureRequest.create(
        provider.key,
        requester=requester,
        purpose="research",
        account="acct-1",
        meters=[MeterRef(m, L) for m in sorted({s.meter for s in statements})],
        period=period,
        timezone="America/Denver",
        statements=statements,
        issued_at=now - 60,
    )


def reply(
    req: DisclosureRequest,
    provider: Provider,
    meter: MeterSetup,
    ledger: DisclosureLedger,
    now: int,
    only: Sequence[int] | None = None,
    **kw: Any,
) -> DisclosureResponse:
    return disclosure.answer(
        req,
        Consent.create(req, only, at=now),
        [meter.sealed],
        [meter.openings],
        provider=provider.public_key,
        ledger=ledger,
        now=now,
        **kw,
    )


def refused(
    req: DisclosureRequest,
    provider: Provider,
    meter: MeterSetup,
    ledger: DisclosureLedger,
    now: int,
    only: Sequence[int] | None = None,
    **kw: Any,
) -> DisclosurePolicyError:
    before = copy.deepcopy(ledger)
    with pytest.raises(DisclosurePolicyError) as ei:
        reply(req, provider, meter, ledger, now, only, **kw)
    assert ledger == before, "a refused request must leave the ledger unchanged"
    return ei.value


def check(data: DisclosureResponse, req: DisclosureRequest, provider: Provider, now: int) -> Any:
    return disclosure.verify(data.encode(), req, provider.public_key, now=now)


def _first(p: BillingPeriod) -> int:
    return p.start // L


# --- weighted sums that isolate readings -----------------------------------------------------


def test_one_hot_weights_reveal_a_reading(
    provider: Provider, meter_a: MeterSetup, week: BillingPeriod, now: int
) -> None:
    weights = [0] * (7 * 96)
    weights[130] = 1
    req = request(provider, [WeightedSum("m-a", WholePeriod(), L, tuple(weights), "x")], week, now)
    err = refused(req, provider, meter_a, DisclosureLedger(), now)
    assert err.statements == (0,)
    assert "your exact consumption on meter m-a on 6 January 2026 from 08:30 to 08:45" in str(err)
    assert "statement 1 (a weighted total" in str(err)


def test_packed_weights_are_refused(
    provider: Provider, meter_a: MeterSetup, week: BillingPeriod, now: int
) -> None:
    """Weights 1, 2^14, 2^28 on three readings pack them into one number: alone (zero weight
    elsewhere) the figure is a 45-minute combination; hidden in the week by a weight of 2^39 on
    every other interval it is not short, but every weight outside the three is a multiple of
    2^39 and the figure reveals the packed number modulo 2^39 — exactly, since readings are
    below 2^14. Both are refused."""
    packed = [0] * (7 * 96)
    packed[200:203] = [1, 2**14, 2**28]
    req = request(provider, [WeightedSum("m-a", WholePeriod(), L, tuple(packed), "x")], week, now)
    err = refused(req, provider, meter_a, DisclosureLedger(), now)
    assert "a weighted combination of your readings" in str(err) and "45 minutes" in str(err)

    covered = [2**39] * (7 * 96)
    covered[200:203] = [1, 2**14, 2**28]
    req = request(provider, [WeightedSum("m-a", WholePeriod(), L, tuple(covered), "x")], week, now)
    err = refused(req, provider, meter_a, DisclosureLedger(), now)
    # The first stretch found: the reading weighted 1, modulo 2^14 (every other weight is a
    # multiple of 2^14) — its exact value, as readings are below 2^14.
    assert f"your reading on meter m-a on 7 January 2026 from 02:00 to 02:15 modulo {2**14}" in str(
        err
    )
    assert err.statements == (0,)
    # The attack is real: the figure asked for gives the three readings away.
    a0, f = _first(meter_a.period), _first(week)
    value = sum(w * c for w, c in zip(covered, meter_a.values[f - a0 :], strict=False))
    low = value % 2**39
    three = [low % 2**14, (low >> 14) % 2**14, low >> 28]
    assert three == meter_a.values[f + 200 - a0 : f + 203 - a0]


def test_one_weight_off_by_one_is_refused(
    provider: Provider, meter_a: MeterSetup, week: BillingPeriod, now: int
) -> None:
    """1000 everywhere and 1001 at one interval: the figure is 1000·(week total) + that
    reading."""
    weights = [1000] * (7 * 96)
    weights[333] = 1001
    req = request(provider, [WeightedSum("m-a", WholePeriod(), L, tuple(weights), "x")], week, now)
    err = refused(req, provider, meter_a, DisclosureLedger(), now)
    assert "your reading on meter m-a on 8 January 2026 from 11:15 to 11:30 modulo 1000" in str(err)


def test_carbon_weights_over_the_week_are_answered(
    provider: Provider, meter_a: MeterSetup, week: BillingPeriod, now: int
) -> None:
    """Hourly weights in g/kWh over the week, and the week's total: nothing short follows."""
    weights = tuple(380 + (h * 37) % 113 for h in range(7 * 24))
    req = request(
        provider,
        [WeightedSum("m-a", WholePeriod(), HOUR, weights, "g/kWh"), Sum("m-a", WholePeriod())],
        week,
        now,
    )
    ledger = DisclosureLedger()
    resp = reply(req, provider, meter_a, ledger, now)
    assert len(check(resp, req, provider, now).results) == 2
    assert [e.kind for e in ledger.entries] == ["value", "value"]


# --- overlapping windows, across requests and requesters -------------------------------------


def test_overlapping_windows(
    provider: Provider, meter_a: MeterSetup, week: BillingPeriod, now: int
) -> None:
    s = week.start
    days = request(
        provider,
        [Sum("m-a", Window(s, s + 3 * DAY)), Sum("m-a", Window(s + DAY, s + 3 * DAY))],
        week,
        now,
    )
    reply(days, provider, meter_a, DisclosureLedger(), now)  # their difference is a whole day

    hours = request(
        provider,
        [Sum("m-a", Window(s, s + 3 * DAY)), Sum("m-a", Window(s + HOUR, s + 3 * DAY))],
        week,
        now,
    )
    ledger = DisclosureLedger()
    err = refused(hours, provider, meter_a, ledger, now)
    assert err.statements == (0, 1)
    assert "your total consumption on meter m-a on 5 January 2026 from 00:00 to 01:00" in str(err)
    assert "a stretch of 1 hour (your policy's minimum is 23 hours)" in str(err)
    # One of them is fine; the other one later — even to someone else — is refused, naming the
    # earlier disclosure.
    reply(hours, provider, meter_a, ledger, now, [0])
    assert len(ledger.entries) == 1 and ledger.entries[0].recipient == "Example Power"
    other = request(
        provider, [Sum("m-a", Window(s + HOUR, s + 3 * DAY))], week, now, requester="Grid Lab"
    )
    err = refused(other, provider, meter_a, ledger, now)
    assert err.statements == (0,)
    assert "what you disclosed to Example Power on 1 February 2026" in str(err)
    # A policy of one hour allows it.
    reply(other, provider, meter_a, ledger, now, policy=DisclosurePolicy(HOUR))
    assert len(ledger.entries) == 2


def test_register_of_one_day_is_short(
    provider: Provider, meter_a: MeterSetup, tariff: SignedTariff, january: BillingPeriod, now: int
) -> None:
    """The on-peak register of a single weekday is four hours long."""
    day = BillingPeriod(january.start + 5 * DAY, january.start + 6 * DAY)  # Tuesday 6 January
    req = request(provider, [Sum("m-a", Register(tariff.hash(), 2))], day, now)
    err = refused(req, provider, meter_a, DisclosureLedger(), now, tariffs=[tariff])
    assert "from 15:00 to 19:00" in str(err)


# --- thresholds ----------------------------------------------------------------------------


def test_thresholds(provider: Provider, meter_a: MeterSetup, week: BillingPeriod, now: int) -> None:
    s = week.start
    ledger = DisclosureLedger()
    short_sum = request(
        provider, [Threshold("m-a", Window(s, s + 6 * HOUR), "sum-at-most", 10**9)], week, now
    )
    assert "a stretch of 6 hours" in str(refused(short_sum, provider, meter_a, ledger, now))
    short_each = request(
        provider, [Threshold("m-a", Window(s, s + 3 * HOUR), "each-at-most", 5000)], week, now
    )
    err = refused(short_each, provider, meter_a, ledger, now)
    assert "the largest of your readings on meter m-a in a set of 12 interval(s)" in str(err)
    day = Window(s + DAY, s + 2 * DAY)
    reply(request(provider, [Threshold("m-a", day, "each-at-most", 5000)], week, now),
          provider, meter_a, ledger, now)  # fmt: skip
    # The same day again with a smaller bound narrows down the day's peak: allowed (the peak
    # of a day is what the policy lets be learned) ...
    reply(request(provider, [Threshold("m-a", day, "each-at-most", 1600)], week, now),
          provider, meter_a, ledger, now)  # fmt: skip
    # ... but a day shifted by an hour would bound a one-hour piece on its own.
    shifted = Window(s + DAY + HOUR, s + 2 * DAY + HOUR)
    err = refused(
        request(provider, [Threshold("m-a", shifted, "each-at-most", 1600)], week, now),
        provider, meter_a, ledger, now,
    )  # fmt: skip
    assert "in a set of 4 interval(s)" in str(err) and "what you disclosed" in str(err)
    # 23 hours before the bounded day and its first 23 hours: both pieces are long enough, but
    # the day's last hour would be bounded on its own by the earlier statement alone; the
    # message names the new statement too.
    cut = Window(day.start - 23 * HOUR, day.end - HOUR)
    err = refused(
        request(provider, [Threshold("m-a", cut, "each-at-most", 1600)], week, now),
        provider, meter_a, ledger, now,
    )  # fmt: skip
    assert "in a set of 4 interval(s) on 6 January 2026 from 23:00 to 24:00" in str(err)
    assert err.statements == (0,) and "what you disclosed to Example Power" in str(err)
    assert "statement 1 (that your consumption in every 15-minute interval" in str(err)
    # A threshold on a sum counts as if it disclosed the sum: with a total of the day minus its
    # first hour, it would pin the hour down by repeated thresholds.
    both = request(
        provider,
        [
            Threshold("m-a", Window(s + 3 * DAY, s + 5 * DAY), "sum-at-most", 10**9),
            Sum("m-a", Window(s + 3 * DAY + HOUR, s + 5 * DAY)),
        ],
        week,
        now,
    )
    assert refused(both, provider, meter_a, ledger, now).statements == (0, 1)


# --- bills ---------------------------------------------------------------------------------


def test_bill_and_a_weighted_sum_isolate_a_reading(
    provider: Provider,
    meter_a: MeterSetup,
    tariff: SignedTariff,
    january: BillingPeriod,
    bill_bytes: bytes,
    now: int,
) -> None:
    """A request designed with the bill: weights equal to the tariff's prices except at one
    interval. The bill's total minus the answer is that interval's reading times its price."""
    first, count = january.intervals(L)
    weights = list(tariff.body.prices(first, count, L))
    j = 500
    weights[j] = 0
    req = request(
        provider, [WeightedSum("m-a", WholePeriod(), L, tuple(weights), "1e-6 USD/kWh")],
        january, now,
    )  # fmt: skip
    ledger = DisclosureLedger()
    (entry,) = disclosure.record_bill(ledger, bill_bytes, tariff, at=now - DAY)
    assert entry.source == "bill" and entry.kind == "value" and entry.intervals() == count
    assert entry.recipient == tariff.body.utility
    err = refused(req, provider, meter_a, ledger, now)
    when = "on 6 January 2026 from 05:00 to 05:15"
    assert f"your exact consumption on meter m-a {when}" in str(err)
    assert "your bill submitted to" in str(err)
    # Without the bill in the ledger the device could not see it.
    reply(req, provider, meter_a, DisclosureLedger(), now)


def _urdb_tariff(provider: Provider, name: str) -> SignedTariff:
    rate = load_rate((URDB / name).read_text())
    desc, _ = urdb_to_description(
        rate, timezone="America/Denver", valid_from="2026-01-01", valid_until="2027-01-01"
    )
    return provider.sign_tariff(TariffBody.from_description(desc))


def _hourly_bill(
    provider: Provider, tariff: SignedTariff, month: str, *, proven: bool = True
) -> tuple[bytes, BillingPeriod]:
    """A month of hourly readings billed under ``tariff``. Without ``proven`` the payment
    message carries the meter's sealed runs and the tariff hash but no component proofs:
    :func:`disclosure.record_bill` reads only the period, the meters and the tariff (proving a
    demand charge over a month takes long)."""
    period = BillingPeriod.parse(month, tariff.body.tz)
    first, count = period.intervals(HOUR)
    key = SigningKey.generate()
    cert = provider.certify_meter("h-1", "acct-1", key.public_key(), interval_s=HOUR)
    rec = Meter(cert, key, "day", "America/Denver").record(
        [(first + k, 1000 + (k * 7919) % 20000) for k in range(count)]
    )
    sealed = SealedReadings(cert, tuple(rec.runs))
    if proven:
        return prove_bill(tariff, [MeterInput(sealed, [rec.openings])], period).encode(), period
    section = MeterSection(cert, sealed.runs)
    bill = PaymentMessage("acct-1", period, tariff.hash(), (section,), 0, 0)
    return bill.encode(), period


def test_record_bill_with_tiers_and_demand(provider: Provider) -> None:
    """Tiered components record their counted consumption, demand charges a bound on every
    reading of each window; the peaks they reveal then constrain each-at-most statements."""
    tiered = _urdb_tariff(provider, "tiered-residential.json")
    data, period = _hourly_bill(provider, tiered, "2026-03")
    ledger = DisclosureLedger()
    entries = disclosure.record_bill(ledger, data, tiered, at=period.end)
    kinds = [(e.kind, e.statement) for e in entries]
    assert kinds[0] == ("value", 0) and ("value", 1) in kinds
    assert all(e.terms[0].meter == "h-1" for e in entries)
    demand = _urdb_tariff(provider, "commercial-tou-demand.json")
    data, period = _hourly_bill(provider, demand, "2026-08", proven=False)
    entries = disclosure.record_bill(ledger, data, demand, at=period.end)
    peaks = [e for e in entries if e.kind == "peak"]
    assert peaks and all("the largest demand in the window" in e.what for e in peaks)
    assert ledger.meters == {"h-1": HOUR}
    # An each-at-most statement over a day that cuts the demand windows into pieces shorter
    # than the policy is refused, naming the bill.
    day = Window(period.start + 3 * DAY, period.start + 4 * DAY)
    req = DisclosureRequest.create(
        provider.key, requester="Example Power", purpose="research", account="acct-1",
        meters=[MeterRef("h-1", HOUR)], period=period, timezone="America/Denver",
        statements=[Threshold("h-1", day, "each-at-most", 50_000)], issued_at=period.end,
    )  # fmt: skip
    entry = disclosure.statement_entry(req, 0, req.statements[0], range(0), at=period.end)
    assert entry.terms == ()  # no interval: nothing to record
    idx = req.statements[0].intervals(req, [], provider.public_key)
    entry = disclosure.statement_entry(req, 0, req.statements[0], idx, at=period.end)
    with pytest.raises(DisclosurePolicyError) as ei:
        ledger.check([entry], {"h-1": HOUR}, DisclosurePolicy(), zone("America/Denver"))
    assert "your bill submitted to" in str(ei.value)
    with pytest.raises(Exception, match="another tariff"):
        disclosure.record_bill(ledger, data, tiered)


def test_record_bill_with_hours_use_tiers(provider: Provider) -> None:
    """Hours-use tiers record their counted consumption and the billing demand (a bound on every
    reading of the month)."""
    from test_hours_use import description

    tariff = provider.sign_tariff(TariffBody.from_description(description()))
    data, period = _hourly_bill(provider, tariff, "2026-07", proven=False)
    ledger = DisclosureLedger()
    entries = disclosure.record_bill(ledger, data, tariff, at=period.end)
    mine = [e for e in entries if e.statement == 1]
    assert [e.kind for e in mine] == ["value", "peak"]
    assert "the billing demand" in mine[1].what
    assert sum(r.count for r in mine[1].terms[0].runs) == period.intervals(HOUR)[1]


# --- daylight saving time --------------------------------------------------------------------


@pytest.fixture(scope="module")
def dst_meter(provider: Provider, tariff: SignedTariff) -> MeterSetup:
    tz = tariff.body.tz
    period = BillingPeriod(
        local_midnight(date(2026, 3, 7), tz), local_midnight(date(2026, 3, 10), tz)
    )
    return make_meter(provider, "m-d", "acct-1", tariff, period, seed=5)


def test_the_short_day_of_daylight_saving_time(
    provider: Provider, dst_meter: MeterSetup, tariff: SignedTariff
) -> None:
    """8 March 2026 has 23 hours in Denver: its total is a day's total and the default policy
    (23 hours) answers it; a policy of 24 hours does not."""
    tz = tariff.body.tz
    day = Window(local_midnight(date(2026, 3, 8), tz), local_midnight(date(2026, 3, 9), tz))
    assert day.end - day.start == 23 * HOUR
    now = dst_meter.period.end + 60
    req = request(provider, [Sum("m-d", day)], dst_meter.period, now)
    ledger = DisclosureLedger()
    err = refused(req, provider, dst_meter, ledger, now, policy=DisclosurePolicy(DAY))
    assert "a stretch of 23 hours (your policy's minimum is 1 day)" in str(err)
    resp = reply(req, provider, dst_meter, ledger, now)
    assert check(resp, req, provider, now).results[0].value == sum(dst_meter.values[96:188])


# --- opened readings -------------------------------------------------------------------------


def test_open_readings_need_the_policy(
    provider: Provider, meter_a: MeterSetup, week: BillingPeriod, now: int
) -> None:
    f = _first(week)
    ledger = DisclosureLedger()
    req = request(provider, [OpenReadings("m-a", (f + 10,))], week, now)
    err = refused(req, provider, meter_a, ledger, now)
    assert "does not allow opening readings" in str(err)
    allow = DisclosurePolicy(min_window_s=0, allow_open=True)
    reply(req, provider, meter_a, ledger, now, policy=allow)
    assert ledger.entries[0].kind == "readings"
    # The opened reading and a sum of it with its neighbour reveal the neighbour.
    pair = request(provider, [Sum("m-a", Window((f + 10) * L, (f + 12) * L))], week, now)
    err = refused(pair, provider, meter_a, ledger, now, policy=allow)
    assert "your exact consumption on meter m-a on 5 January 2026 from 02:45 to 03:00" in str(err)
    # Opening both at once is what the customer consents to.
    both = request(provider, [OpenReadings("m-a", (f + 11, f + 12))], week, now)
    reply(both, provider, meter_a, ledger, now, policy=allow)


def test_policy_is_checked() -> None:
    with pytest.raises(UsageError):
        DisclosurePolicy(min_window_s=-1)
    with pytest.raises(UsageError):
        DisclosurePolicy(min_window_s=400 * DAY)
    ledger = DisclosureLedger({"m-a": 900})
    with pytest.raises(UsageError, match="900-second"):
        ledger.lengths({"m-a": 1800})


# --- the ledger ------------------------------------------------------------------------------


def test_ledger_records_after_the_answer_only(
    provider: Provider, meter_a: MeterSetup, week: BillingPeriod, now: int
) -> None:
    ledger = DisclosureLedger()
    false = request(provider, [Threshold("m-a", WholePeriod(), "sum-at-most", 10)], week, now)
    with pytest.raises(UsageError, match="not true"):
        reply(false, provider, meter_a, ledger, now)
    assert ledger.entries == []
    weights = tuple(range(1, 7 * 24 + 1))
    req = request(
        provider,
        [Sum("m-a", WholePeriod()), WeightedSum("m-a", WholePeriod(), HOUR, weights, "g/kWh")],
        week,
        now,
    )
    reply(req, provider, meter_a, ledger, now, [1])
    (e,) = ledger.entries
    assert (e.kind, e.statement, e.reference, e.recipient, e.at) == (
        "value", 1, req.hash(), "Example Power", now,
    )  # fmt: skip
    assert e.weights() == {("m-a", _first(week) + k): weights[k // 4] for k in range(7 * 96)}
    assert "a weighted total of your consumption" in e.what


def test_entries_without_intervals_are_not_recorded(
    provider: Provider, week: BillingPeriod, now: int
) -> None:
    """A weighted sum whose weights are all zero would reveal nothing: such a request is not
    even valid; and the ledger records no entry that is about no interval."""
    with pytest.raises(UsageError, match="all weights are zero"):
        request(provider, [WeightedSum("m-a", WholePeriod(), DAY, (0,) * 7, "x")], week, now)
    req = request(provider, [Sum("m-a", WholePeriod())], week, now)
    entry = disclosure.statement_entry(req, 0, req.statements[0], range(0), at=now)
    assert entry.terms == ()
    ledger = DisclosureLedger()
    with pytest.raises(UsageError, match="at least one interval"):
        ledger.record([entry], {"m-a": L})
    assert ledger == DisclosureLedger()


def test_ledger_file(
    provider: Provider, meter_a: MeterSetup, week: BillingPeriod, now: int, tmp_path: Path
) -> None:
    ledger = DisclosureLedger()
    f = _first(week)
    req = request(
        provider,
        [Sum("m-a", WholePeriod()), OpenReadings("m-a", (f + 3, f + 4, f + 9)),
         Threshold("m-a", Window(week.start, week.start + 2 * HOUR), "each-at-most", 5000)],
        week, now,
    )  # fmt: skip
    reply(req, provider, meter_a, ledger, now, policy=DisclosurePolicy(0, allow_open=True))
    path = tmp_path / "sub" / "ledger.pbl"
    ledger.save(path)
    assert path.stat().st_mode & 0o777 == 0o600
    again = DisclosureLedger.load(path)
    assert again == ledger and again.encode() == path.read_bytes()
    assert DisclosureLedger.load(tmp_path / "none.pbl") == DisclosureLedger()
    opened = again.entries[1]
    assert [(r.first, r.count) for r in opened.terms[0].runs] == [(f + 3, 2), (f + 9, 1)]
    # No reading or disclosed value is stored: only intervals, weights and words.
    assert not any(str(v) in opened.what for v in meter_a.values[:0])
    obj = cbor2.loads(path.read_bytes())
    assert set(obj["entries"][0]) == {
        "kind", "terms", "what", "recipient", "source", "reference", "statement", "at",
    }  # fmt: skip


LEDGER_TAMPER: list[tuple[str, Any]] = [
    ("format", lambda o: o.__setitem__("format", "privbill/disclosure-ledger/9")),
    ("unknown field", lambda o: o.__setitem__("x", 1)),
    ("kind", lambda o: o["entries"][0].__setitem__("kind", "guess")),
    ("source", lambda o: o["entries"][0].__setitem__("source", "rumour")),
    ("zero weight", lambda o: o["entries"][0]["terms"][0]["runs"][0].__setitem__(2, 0)),
    ("weight of a peak", lambda o: o["entries"][2]["terms"][0]["runs"][0].__setitem__(2, 2)),
    ("empty run", lambda o: o["entries"][0]["terms"][0]["runs"][0].__setitem__(1, 0)),
    ("huge run", lambda o: o["entries"][0]["terms"][0]["runs"][0].__setitem__(1, 2**40)),
    ("overlapping runs", lambda o: o["entries"][1]["terms"][0]["runs"][1].__setitem__(0, 0)),
    ("run not a triple", lambda o: o["entries"][1]["terms"][0]["runs"].__setitem__(0, [1, 2])),
    ("unknown meter", lambda o: o["entries"][0]["terms"][0].__setitem__("meter", "m-z")),
    ("meter twice", lambda o: o["meters"].append(o["meters"][0])),
    ("meter twice in an entry", lambda o: o["entries"][0]["terms"].append(o["entries"][0]["terms"][0])),
    ("short reference", lambda o: o["entries"][0].__setitem__("reference", b"x")),
    ("interval length", lambda o: o["meters"][0].__setitem__("interval_s", 7)),
    ("no terms", lambda o: o["entries"][0].__setitem__("terms", [])),
]  # fmt: skip


@pytest.fixture(scope="module")
def small_ledger(
    provider: Provider, meter_a: MeterSetup, week: BillingPeriod, now: int
) -> DisclosureLedger:
    f = _first(week)
    req = request(
        provider,
        [Sum("m-a", WholePeriod()), OpenReadings("m-a", (f + 3, f + 9)),
         Threshold("m-a", Window(week.start, week.start + 2 * HOUR), "each-at-most", 5000)],
        week, now,
    )  # fmt: skip
    ledger = DisclosureLedger()
    reply(req, provider, meter_a, ledger, now, policy=DisclosurePolicy(0, allow_open=True))
    return ledger


@pytest.mark.parametrize(("name", "mutate"), LEDGER_TAMPER, ids=[c[0] for c in LEDGER_TAMPER])
def test_ledger_decoding_is_strict(name: str, mutate: Any, small_ledger: DisclosureLedger) -> None:
    obj = cbor2.loads(small_ledger.encode())
    assert DisclosureLedger.decode(codec.encode(obj)) == small_ledger
    mutate(obj)
    with pytest.raises(DecodeError) as ei:
        DisclosureLedger.decode(codec.encode(obj))
    assert ei.value.obj == "disclosure ledger", name
