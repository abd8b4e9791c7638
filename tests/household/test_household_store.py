"""The household store (mode 0600, one bill per period), the consent policy, and moving a
household between agents by a sealed export."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from household_helpers import TZ, ingest_all, make_setup, month_rows
from privbill.disclosure.model import DisclosureRequest, MeterRef, WholePeriod, Window
from privbill.disclosure.statements import OpenReadings, Sum
from privbill.errors import DecodeError, UsageError
from privbill.household import hpke
from privbill.household.home import AgentConfig, AgentHome, export_household, import_household
from privbill.household.ingest import Ingestor
from privbill.household.policy import EXAMPLE, ConsentPolicy
from privbill.model.periods import BillingPeriod, zone


def test_store_files_are_private_and_a_period_has_one_bill(tmp_path: Path) -> None:
    s = make_setup(tmp_path)
    store = s.store()
    path = s.home.store_path(s.account)
    for p in [path, *path.parent.glob("store.sqlite-*")]:
        assert stat.S_IMODE(p.stat().st_mode) == 0o600, p
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert stat.S_IMODE((s.home.path / "agent-key.pem").stat().st_mode) == 0o600
    period = BillingPeriod.parse("2026-01", zone(TZ))
    with store.transaction():
        store.add_bill(period, "2026-01", "t", b"bill-1", "h1", 1, "USD", "0.00")
    with pytest.raises(Exception, match="UNIQUE"), store.transaction():
        store.add_bill(period, "2026-01", "t", b"bill-2", "h2", 2, "USD", "0.00")
    assert [b.bill_hash for b in store.bills()] == ["h1"]
    store.close()
    ro = type(store).open_readonly(path)  # what a local page would use beside the agent
    assert [b.view()["bill_hash"] for b in ro.bills()] == ["h1"] and ro.status()["bills"] == 1
    with pytest.raises(Exception, match="readonly"):
        ro.set_meta("x", "y")
    ro.close()
    path.chmod(0o644)
    with pytest.raises(UsageError, match="readable by others"):
        s.store()


def test_consent_policy() -> None:
    p = ConsentPolicy.parse(EXAMPLE)
    assert p.ledger.min_window_s == 23 * 3600 and not p.ledger.allow_open
    from privbill.provider import Provider

    prov = Provider.generate()
    period = BillingPeriod.parse("2026-01", zone(TZ))

    def request(*statements: object) -> DisclosureRequest:
        return DisclosureRequest.create(
            prov.key, requester="Example Power", purpose="reconciliation", account="a1",
            meters=[MeterRef("m1", 900)], period=period, timezone=TZ,
            statements=list(statements),  # type: ignore[arg-type]
        )  # fmt: skip

    ok, why = p.decide(request(Sum("m1", WholePeriod())))
    assert ok and "period totals to my provider" in why[0]
    day = Window(period.start, period.start + 86400)
    ok, why = p.decide(request(Sum("m1", WholePeriod()), Sum("m1", day)))
    assert not ok and "waits for you" in why[1]
    first = period.start // 900
    assert not p.decide(request(OpenReadings("m1", (first,))))[0]
    assert not ConsentPolicy().decide(request(Sum("m1", WholePeriod())))[0]  # no file: ask
    other = ConsentPolicy.parse(EXAMPLE.replace('requester = "*"', 'requester = "Someone Else"'))
    assert not other.decide(request(Sum("m1", WholePeriod())))[0]
    for bad, field in [
        ("[ledger]\nmin_window = 5\n", "ledger.min_window"),
        ("[ledger]\nmin_window = '2 weeks'\n", "ledger.min_window"),
        ("[[allow]]\nkinds = ['everything']\n", "allow[0].kinds"),
        ("[[allow]]\nkinds = ['sum']\nselect = ['year']\n", "allow[0].select"),
        ("[other]\n", "other"),
        ("[[allow]]\nkinds = ['sum']\nfoo = 1\n", "allow[0]"),
    ]:
        with pytest.raises(UsageError) as info:
            ConsentPolicy.parse(bad)
        assert info.value.field == field
    with pytest.raises(UsageError, match="not valid TOML"):
        ConsentPolicy.parse("[ledger")


def test_a_household_moves_between_delegates_sealed(tmp_path: Path) -> None:
    s = make_setup(tmp_path, mode="delegate")
    ml = s.meter_link(tmp_path / "meter")
    msgs = ml.build(month_rows(s.tariff)[:96])
    ml.close()
    store = s.store()
    ingest_all(Ingestor(store, s.home.key()), s.meter_id, msgs)
    store.close()
    other = AgentHome.init(tmp_path / "delegate-b", AgentConfig(mode="delegate"))
    stranger = AgentHome.init(tmp_path / "stranger", AgentConfig(mode="delegate"))
    sealed = export_household(s.home, s.account, other.public_key())
    assert s.store().meta("exported_to")  # the old agent no longer serves it
    # nothing of the store is readable in the export
    blinding = s.store().db.execute("SELECT blinding FROM readings LIMIT 1").fetchone()[0]
    assert bytes(blinding) not in sealed and s.meter_id.encode() not in sealed[200:]
    with pytest.raises(UsageError, match="another agent's key"):
        import_household(stranger, sealed)
    flipped = bytearray(sealed)
    flipped[len(flipped) // 2] ^= 1
    with pytest.raises(DecodeError, match="does not decrypt"):
        import_household(other, bytes(flipped))
    assert import_household(other, sealed) == s.account
    moved = other.open_store(s.account)
    assert moved.meta("exported_to") is None
    assert moved.meter(s.meter_id).next_n == len(msgs)  # type: ignore[union-attr]
    assert stat.S_IMODE(other.store_path(s.account).stat().st_mode) == 0o600
    moved.close()
    with pytest.raises(UsageError, match=r"exists|already"):
        import_household(other, sealed)
    # an export to the customer's own device: a key pair made there
    device = AgentHome.init(tmp_path / "own-device", AgentConfig())
    assert (
        import_household(device, export_household(other, s.account, device.public_key()))
        == s.account
    )
    assert hpke.raw_public(device.public_key()) != hpke.raw_public(other.public_key())


def test_prover_trusting_checked_openings_cannot_make_a_wrong_bill_pass(tmp_path: Path) -> None:
    """The agent proves with ``openings_checked=True`` (it checked every opening on arrival). The
    same bill as with the full check when the openings are right; a wrong opening in the store
    makes a bill the verifier refuses, not one it accepts."""
    from privbill.billing.prover import MeterInput, prove_bill
    from privbill.billing.verifier import verify_bill
    from privbill.errors import FeeMismatchError
    from privbill.meter import Meter
    from privbill.model.sealed import SealedReadings

    s = make_setup(tmp_path)
    meter = Meter(s.cert, s.meter_key, seal_span="day", timezone=TZ)
    rows = month_rows(s.tariff)
    rec = meter.record([(r.index, r.value) for r in rows])
    sealed = SealedReadings(s.cert, tuple(rec.runs))
    honest = prove_bill(
        s.tariff, [MeterInput(sealed, [rec.openings])], "2026-01", openings_checked=True
    )
    result = verify_bill(honest.encode(), s.tariff, s.provider.public_key)
    assert result.total_fee == honest.total_fee
    rec.openings.values[100] += 7  # the store holds a wrong reading
    bad = prove_bill(
        s.tariff, [MeterInput(sealed, [rec.openings])], "2026-01", openings_checked=True
    )
    with pytest.raises(FeeMismatchError):
        verify_bill(bad.encode(), s.tariff, s.provider.public_key)
    with pytest.raises(Exception, match="does not match its sealed"):
        prove_bill(s.tariff, [MeterInput(sealed, [rec.openings])], "2026-01")
