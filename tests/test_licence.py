"""Software-licence metering end to end: the office's hourly feature usage, meter channels in
certificates and tiers, a month's licence bill (per-feature monthly tiers and a minimum
commitment) proven and verified through the library and the command line and checked against an
independent ``Decimal`` computation, and cheaters who count another feature's usage, leave a
feature out, relabel a meter or dodge the commitment."""

from __future__ import annotations

import copy
import json
from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import cbor2
import pytest

from cheaters import bill_case, lenient_range_prover, refused
from privbill.billing import components, minimum, tiered
from privbill.billing.cleartext import MeterReadings, cleartext_bill
from privbill.billing.prover import MeterInput, prove_bill
from privbill.billing.verifier import verify_bill
from privbill.cli import main
from privbill.crypto import bulletproofs, group, pedersen
from privbill.crypto.signatures import SigningKey
from privbill.demo import demo_tariff_description
from privbill.disclosure import DisclosureLedger, record_bill
from privbill.errors import (
    CertificateError,
    ComponentProofError,
    DecodeError,
    FeeMismatchError,
    SignatureError,
    TariffError,
    TariffMismatchError,
    UsageError,
)
from privbill.interop import licence
from privbill.meter import Meter
from privbill.model import codec
from privbill.model.certificates import MeterCertificate
from privbill.model.component_proofs import MinimumProof
from privbill.model.components import Minimum, TieredEnergy, component_from_description
from privbill.model.periods import BillingPeriod
from privbill.model.sealed import SealedReadings
from privbill.model.tariffs import SignedTariff, TariffBody, describe
from privbill.provider import Provider

TZ = ZoneInfo("Europe/Berlin")
HOUR = 3600


def _month(year: int, month: int) -> tuple[int, int]:
    """First hour index and hours of a local calendar month."""
    period = BillingPeriod.month(year, month, TZ)
    return period.intervals(HOUR)


# --- usage ---------------------------------------------------------------------------------


def test_usage_is_deterministic_and_office_shaped() -> None:
    first, count = _month(2026, 3)
    a = licence.usage(first * HOUR, count, HOUR, TZ, seed=3)
    assert a == licence.usage(first * HOUR, count, HOUR, TZ, seed=3)
    assert a != licence.usage(first * HOUR, count, HOUR, TZ, seed=4)
    assert set(a) == set(licence.FEATURES) and all(len(v) == count == 743 for v in a.values())
    assert all(x >= 0 for v in a.values() for x in v)
    assert max(a["render"]) <= 60 * licence.GPU_SLOTS  # the licence's GPU slots
    work: dict[str, int] = dict.fromkeys(licence.FEATURES, 0)
    off: dict[str, int] = dict.fromkeys(licence.FEATURES, 0)
    month_end = 0
    for k in range(count):
        local = datetime.fromtimestamp((first + k) * HOUR, TZ)
        working = local.weekday() < 5 and 9 <= local.hour < 17
        for f in licence.FEATURES:
            (work if working else off)[f] += a[f][k]
        if local.day >= 30:  # the last two working days of March 2026: 30 and 31
            month_end += a["export"][k]
    hours_work = sum(
        1
        for k in range(count)
        if (t := datetime.fromtimestamp((first + k) * HOUR, TZ)).weekday() < 5 and 9 <= t.hour < 17
    )
    for f in ("api", "export"):  # most use in working hours, per hour far above the rest
        assert work[f] / hours_work > 3 * off[f] / (count - hours_work)
    # the reporting rush: two days bring far more than 2/22 of the month's exports
    assert month_end > sum(a["export"]) * 2 / 22 * 1.5


def test_usage_counts_whole_hours() -> None:
    first, count = _month(2026, 3)
    with pytest.raises(UsageError, match="whole hours"):
        licence.usage(first * HOUR, count * 4, 900, TZ, seed=1)


# --- channels in certificates and tariffs --------------------------------------------------


def test_certificate_channel(provider: Provider) -> None:
    key = SigningKey.generate()
    cert = provider.certify_meter("lic-1.api", "office-1", key.public_key(), channel="api")
    back = MeterCertificate.decode(cert.encode())
    assert back == cert and back.channel == "api"
    back.verify(provider.public_key)
    # a certificate without a channel has no such field: its bytes are what they always were
    plain = provider.certify_meter("m-1", "acct-1", key.public_key())
    assert "channel" not in cbor2.loads(plain.encode())
    assert MeterCertificate.decode(plain.encode()).channel is None
    with pytest.raises(CertificateError, match="channel"):
        provider.certify_meter("m-2", "acct-1", key.public_key(), channel="no spaces")
    obj = cbor2.loads(cert.encode())
    obj["channel"] = 7
    with pytest.raises(DecodeError, match="expected text"):
        MeterCertificate.decode(codec.encode(obj))
    obj["channel"] = "export"  # relabelled: the provider's signature no longer holds
    with pytest.raises(SignatureError):
        MeterCertificate.decode(codec.encode(obj)).verify(provider.public_key)


def test_tariff_channel_round_trip_and_errors(provider: Provider) -> None:
    desc = demo_tariff_description("licence")
    body = TariffBody.from_description(desc)
    tiers = [c for c in body.components if isinstance(c, TieredEnergy)]
    assert [c.channel for c in tiers] == ["api", "render", "export"]
    signed = provider.sign_tariff(body)
    again = SignedTariff.decode(signed.encode())
    assert again.body == body and again.hash() == signed.hash()
    # `tariff show`'s view names the channel and reads back as the same component
    shown = describe(signed)["components"]
    assert [c.get("channel") for c in shown] == ["api", "render", "export", None]
    assert [component_from_description(c, "c") for c in shown[:3]] == tiers
    # tiers without a channel keep their canonical form (and every existing tariff its hash)
    assert "channel" not in TieredEnergy("t", None, False, tiers[0].tiers).to_obj()
    bad = copy.deepcopy(desc)
    bad["components"][1]["channel"] = "two words"
    with pytest.raises(TariffError) as ei:
        TariffBody.from_description(bad)
    assert ei.value.field == "components[1].channel"
    obj = cbor2.loads(signed.encode())
    obj["components"][0]["channel"] = "a b"
    with pytest.raises(DecodeError):
        SignedTariff.decode(codec.encode(obj))


def test_channel_tiers_of_meters_with_different_intervals(provider: Provider) -> None:
    """Tiers that each count one channel need no common interval length: an hourly meter and a
    quarter-hour meter bill, and the verifier takes the same view of them as the prover."""
    from cheaters import description

    desc = description(
        ["0.01"],
        [
            {"kind": "tiered", "name": "api", "channel": "api",
             "tiers": [{"up_to_kwh": "2", "price": "0.30"}, {"up_to_kwh": None, "price": "0.10"}]},
            {"kind": "tiered", "name": "render", "channel": "render",
             "tiers": [{"up_to_kwh": None, "price": "0.20"}]},
        ],
    )  # fmt: skip
    tariff = provider.sign_tariff(TariffBody.from_description(desc))
    period = BillingPeriod.parse("2026-03", tariff.body.tz)
    inputs, meters = [], []
    for channel, step in (("api", HOUR), ("render", 900)):
        key = SigningKey.generate()
        cert = provider.certify_meter(
            f"m-{channel}", "acct", key.public_key(), interval_s=step, channel=channel
        )
        first, count = period.intervals(step)
        vals = [(k * 7) % 23 for k in range(count)]
        rec = Meter(cert, key, "day", "UTC").record([(first + k, v) for k, v in enumerate(vals)])
        inputs.append(MeterInput(SealedReadings(cert, tuple(rec.runs)), [rec.openings], None))
        meters.append(MeterReadings(step, first, vals, {}, channel))
    msg = prove_bill(tariff, inputs, period)
    verified = verify_bill(msg.encode(), tariff, provider.public_key)
    assert verified.total_fee == msg.total_fee == cleartext_bill(tariff.body, meters, period).total


# --- a month's licence bill ----------------------------------------------------------------


def _independent_invoice(desc: dict[str, Any], usage: dict[str, list[int]]) -> Decimal:
    """The invoice straight from the JSON description with ``Decimal``: per feature, the month's
    uses through the channel's tiers (bounds in thousands of uses, prices per thousand), the
    fixed fee, then the minimum commitment."""
    total = Decimal(desc["fixed"]["per_month"])
    floor = Decimal(0)
    for c in desc["components"]:
        if c["kind"] == "minimum":
            floor = Decimal(c["per_month"])
            continue
        thousands = Decimal(sum(usage[c["channel"]])) / 1000
        lower = Decimal(0)
        for t in c["tiers"]:
            upper = None if t["up_to_kwh"] is None else Decimal(t["up_to_kwh"])
            top = thousands if upper is None else min(thousands, upper)
            if top > lower:
                total += (top - lower) * Decimal(t["price"])
            if upper is None or thousands <= upper:
                break
            lower = upper
    return max(total, floor)


def _licence_bill(provider: Provider, seed: int) -> dict[str, Any]:
    desc = demo_tariff_description("licence")
    tariff = provider.sign_tariff(TariffBody.from_description(desc))
    period = BillingPeriod.month(2026, 3, tariff.body.tz)
    first, count = period.intervals(HOUR)
    use = licence.usage(first * HOUR, count, HOUR, TZ, seed=seed)
    key = SigningKey.generate()
    okey = Meter.new_opening_key()
    inputs = []
    for f in licence.FEATURES:
        cert = provider.certify_meter(
            f"office-{seed}.{f}", f"office-{seed}", key.public_key(), interval_s=HOUR, channel=f
        )
        rec = Meter(cert, key, "day", "Europe/Berlin", okey).record(
            [(first + k, v) for k, v in enumerate(use[f])]
        )
        inputs.append(MeterInput(SealedReadings(cert, tuple(rec.runs)), [rec.openings], okey))
    msg = prove_bill(tariff, inputs, period)
    return {"desc": desc, "tariff": tariff, "period": period, "first": first, "use": use,
            "inputs": inputs, "bill": msg}  # fmt: skip


@pytest.fixture(scope="module")
def small_office(provider: Provider) -> dict[str, Any]:
    return _licence_bill(provider, 1)  # below the commitment: raised to the minimum


@pytest.fixture(scope="module")
def big_office(provider: Provider) -> dict[str, Any]:
    return _licence_bill(provider, 5)  # well above it


@pytest.mark.parametrize("office", ["small_office", "big_office"])
def test_invoice_equals_cleartext_and_independent_decimal(
    provider: Provider, office: str, request: pytest.FixtureRequest
) -> None:
    case = request.getfixturevalue(office)
    tariff: SignedTariff = case["tariff"]
    v = verify_bill(case["bill"].encode(), tariff, provider.public_key, period=case["period"])
    readings = [
        MeterReadings(HOUR, case["first"], case["use"][f], channel=f) for f in licence.FEATURES
    ]
    breakdown = cleartext_bill(tariff.body, readings, case["period"])
    assert v.total_fee == breakdown.total
    expected = _independent_invoice(case["desc"], case["use"])
    assert Decimal(v.total_fee).scaleb(-12) == expected
    floor = Decimal(case["desc"]["components"][-1]["per_month"])
    if office == "small_office":
        assert expected == floor and breakdown.minimum_top_up > 0
    else:
        assert expected > floor and breakdown.minimum_top_up == 0
    # the vendor's view: one number; nothing per feature, per hour or per month in the clear
    assert v.amount == str(expected.quantize(Decimal("0.01")))


def test_every_feature_is_counted_under_its_own_tiers(big_office: dict[str, Any]) -> None:
    """Swapping the features' usage between the meters changes the invoice: each channel's
    tiers see only their own meter."""
    tariff: SignedTariff = big_office["tariff"]
    use = big_office["use"]
    first = big_office["first"]
    right = [MeterReadings(HOUR, first, use[f], channel=f) for f in licence.FEATURES]
    swapped = [
        MeterReadings(HOUR, first, use["export"], channel="api"),
        MeterReadings(HOUR, first, use["render"], channel="render"),
        MeterReadings(HOUR, first, use["api"], channel="export"),
    ]
    period = big_office["period"]
    assert (
        cleartext_bill(tariff.body, right, period).total
        != cleartext_bill(tariff.body, swapped, period).total
    )
    # two meters of one channel (a second workstation's module) add up under its tiers
    twice = [*right, MeterReadings(HOUR, first, use["api"], channel="api")]
    double = {**use, "api": [2 * x for x in use["api"]]}
    assert Decimal(cleartext_bill(tariff.body, twice, period).total).scaleb(
        -12
    ) == _independent_invoice(big_office["desc"], double)


def test_disclosure_ledger_names_each_features_meter(big_office: dict[str, Any]) -> None:
    """A bill's conservative disclosure record: each tier component counted its channel's
    meter only."""
    ledger = DisclosureLedger()
    entries = record_bill(ledger, big_office["bill"], big_office["tariff"], at=0)
    tier_entries = [e for e in entries if "tiers" in e.what]
    assert len(tier_entries) == 3
    for e, f in zip(tier_entries, licence.FEATURES, strict=True):
        assert [t.meter for t in e.terms] == [f"office-5.{f}"]


# --- cheaters ------------------------------------------------------------------------------


def _usage_fn(seed: int) -> Any:
    first, count = _month(2026, 3)
    use = licence.usage(first * HOUR, count, HOUR, TZ, seed=seed)
    return lambda k, m: use[licence.FEATURES[m]][k]


@pytest.fixture(scope="module")
def busy(provider: Provider) -> Any:
    return bill_case(
        provider,
        demo_tariff_description("licence"),
        "2026-03",
        _usage_fn(5),
        meters=3,
        meter_ids=[f"lic.{f}" for f in licence.FEATURES],
        channels=list(licence.FEATURES),
    )


def test_tiers_over_another_features_usage_are_refused(busy: Any) -> None:
    """The cheater proves the API tiers over the document-export meter (a few hundred uses
    instead of a million calls): the verifier adds the API meter's commitments itself."""
    honest = components.channel_meters

    def other(meters: Sequence[components.MeterData], channel: str | None, where: str) -> Any:
        return honest(meters, "export" if channel == "api" else channel, where)

    components.channel_meters = other  # type: ignore[assignment]
    try:
        forged = busy.prove()
    finally:
        components.channel_meters = honest  # type: ignore[assignment]
    busy.refuse("licence", forged, ComponentProofError, field=r"components\[0\]\.tiers.*")


def test_tiers_over_part_of_the_month_are_refused(busy: Any) -> None:
    """The cheater leaves the busiest working hours out of the render tiers."""
    honest = tiered.prove

    def fewer(
        c: TieredEnergy,
        values: Sequence[int],
        blindings: Sequence[int],
        idx: Sequence[int],
        days: int,
        ctx: bytes,
    ) -> Any:
        cut = sorted(idx, key=lambda k: -values[k])[:40]
        return honest(c, values, blindings, [k for k in idx if k not in cut], days, ctx)

    forged = busy.forge(tiered, "prove", fewer, only=lambda c: c.channel == "render")
    busy.refuse("licence", forged, ComponentProofError, field=r"components\[1\]\.tiers.*")


def test_a_feature_left_out_of_the_bill_is_refused(busy: Any) -> None:
    """Without the render meter the honest prover refuses; a cheater's prover that bills the
    render tiers over another meter's usage makes a bill the verifier refuses: no meter of the
    bill is certified for the render channel."""
    inputs = [i for i in busy.inputs if i.sealed.certificate.channel != "render"]
    with pytest.raises(TariffMismatchError) as ei:
        prove_bill(busy.tariff, inputs, busy.period)
    assert ei.value.field == "components[1].channel"
    honest = components.channel_meters

    def elsewhere(meters: Sequence[components.MeterData], channel: str | None, where: str) -> Any:
        return honest(meters, "export" if channel == "render" else channel, where)

    components.channel_meters = elsewhere  # type: ignore[assignment]
    try:
        forged = prove_bill(busy.tariff, inputs, busy.period)
    finally:
        components.channel_meters = honest  # type: ignore[assignment]
    busy.refuse("licence", forged, TariffMismatchError, field=r"components\[1\]\.channel")


def test_a_relabelled_meter_is_refused(busy: Any) -> None:
    """The render meter's certificate relabelled as the API channel (its minutes would fall into
    the API's free first tier): the provider's signature no longer holds."""
    obj = cbor2.loads(busy.honest.encode())
    cert = obj["meters"][1]["certificate"]
    assert cert["channel"] == "render"
    cert["channel"] = "api"
    refused(
        "licence",
        lambda: verify_bill(codec.encode(obj), busy.tariff, busy.provider.public_key),
        SignatureError,
        level="bill",
        field=r"meters\[1\]\.certificate\.signature",
    )


def test_the_commitment_claimed_when_usage_is_above_it_is_refused(busy: Any) -> None:
    """Usage above the minimum commitment, but the cheater claims the commitment applies (and
    bills just the minimum)."""
    assert not busy.honest.components[3].applied

    def applied(c: Minimum, subtotal: int, r: int, ctx: bytes) -> Any:
        gap = group.mul(group.generator(), c.per_month) - pedersen.commit(subtotal, r)
        with lenient_range_prover():
            proof = bulletproofs.prove(
                [(c.per_month - subtotal) % group.ORDER],
                [-r % group.ORDER],
                minimum.BITS,
                context=ctx,
                commitments=[gap],
            )
        return MinimumProof(True, proof.encode()), c.per_month, 0

    forged = busy.forge(minimum, "prove", applied)
    busy.refuse("licence", forged, ComponentProofError, field=r"components\[3\]\.ranges")


def test_below_the_commitment_not_raised_is_refused(provider: Provider) -> None:
    quiet = bill_case(
        provider,
        demo_tariff_description("licence"),
        "2026-02",
        lambda k, m: int(k % 7 == 0) * (m + 1),  # a quiet month: far below the commitment
        meters=3,
        meter_ids=[f"lic.{f}" for f in licence.FEATURES],
        channels=list(licence.FEATURES),
    )
    assert quiet.honest.components[3].applied

    def not_applied(c: Minimum, subtotal: int, r: int, ctx: bytes) -> Any:
        return MinimumProof(False, b""), subtotal, r

    forged = quiet.forge(minimum, "prove", not_applied)
    quiet.refuse("licence", forged, FeeMismatchError, match="below the tariff's minimum")


# --- the command line ----------------------------------------------------------------------


def _run(*args: str) -> int:
    return main(list(args))


def test_licence_demo_and_cli(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """`demo --scenario licence` writes one meter directory per feature; `bill prove`,
    `bill verify` and `bill explain` take them as any multi-meter bill."""
    out = tmp_path / "lic"
    assert (
        _run(
            "demo", "--scenario", "licence", "--start", "2026-02-01", "--seed", "2",
            "--out", str(out), "--no-progress", "--json",
        )
        == 0
    )  # fmt: skip
    view = json.loads(capsys.readouterr().out)
    assert view["readings"] == 3 * 672
    assert [c["name"] for c in view["customer_view"]["components"]] == [
        "automation API calls",
        "GPU render minutes",
        "document exports",
    ]
    dirs = [str(out / f"sealed-{f}") for f in licence.FEATURES]
    common = ["--tariff", str(out / "tariff.pbt"), "--period", "2026-02",
              "--opening-key", str(out / "meter-0001.okey")]  # fmt: skip
    readings = [a for d in dirs for a in ("--readings", d)]
    assert (
        _run("bill", "prove", *readings, *common, "--out", str(tmp_path / "b.pbm"), "--json") == 0
    )
    assert json.loads(capsys.readouterr().out)["total_fee"] == view["total_fee"]
    verify = ["--tariff", str(out / "tariff.pbt"), "--provider", str(out / "provider.pub")]
    assert _run("bill", "verify", str(tmp_path / "b.pbm"), *verify, "--json") == 0
    verified = json.loads(capsys.readouterr().out)
    assert verified["valid"] and verified["total_fee"] == view["total_fee"]
    assert _run("bill", "explain", *readings, *common) == 0
    text = capsys.readouterr().out
    assert "meter 0001.render" in text and "thousand units" in text
    # a bill without one feature's meter cannot be proven
    assert _run("bill", "prove", *readings[:4], *common, "--out", str(tmp_path / "c.pbm")) == 2
    assert "channel 'export'" in capsys.readouterr().err
    assert _run("tariff", "show", str(out / "tariff.pbt")) == 0
    assert "meters of channel 'render'" in capsys.readouterr().out
    # keygen certifies a meter for a channel
    keys = tmp_path / "keys"
    assert (
        _run(
            "keygen", "--out", str(keys), "--provider-key", str(out / "provider.pem"),
            "--meter-id", "ws-2.api", "--account", "demo-licensee-0001", "--interval", "60",
            "--channel", "api", "--json",
        )
        == 0
    )  # fmt: skip
    assert json.loads(capsys.readouterr().out)["channel"] == "api"
    assert MeterCertificate.decode((keys / "meter-ws-2.api.cert").read_bytes()).channel == "api"
    # the licence counts whole hours
    assert _run("demo", "--scenario", "licence", "--interval", "15", "--no-progress") == 2


def test_register_bills_refuse_tiers_of_one_channel(big_office: dict[str, Any]) -> None:
    """Energy registers sum every meter of the bill, so tiers that count one channel's meters
    cannot be proven from them: the prover's path check says why, and the verifier refuses a
    register bill's tier proof for such a component by name."""
    from privbill.billing import register_bill

    tariff: SignedTariff = big_office["tariff"]
    period = big_office["period"]
    problem = register_bill.register_path_problem(tariff, big_office["inputs"], period)
    assert problem is not None and "channel" in problem
    msg = big_office["bill"]
    contexts = [
        components.context(tariff.hash(), msg.account, period, [], i)
        for i in range(len(tariff.body.components))
    ]
    with pytest.raises(DecodeError) as e:
        components.verify_all(
            tariff.body,
            period,
            [],
            contexts,
            msg.components,
            group.identity(),
            msg.total_fee,
            msg.blinding,
            None,
            lambda _c: group.identity(),
        )
    assert e.value.field == "components[0]" and "channel" in str(e.value)
