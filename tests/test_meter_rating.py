"""A meter's rating in its certificate: signed, strictly decoded, enforced by the meter, and the
source of a bill's narrower demand range (``billing/load_range.py``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import cbor2
import pytest

from privbill.billing.components import LoadView
from privbill.billing.load_range import load_bits
from privbill.cli import main
from privbill.crypto.bulletproofs import BIT_SIZES, chunk_sizes, proof_size
from privbill.crypto.signatures import SigningKey
from privbill.errors import (
    CertificateError,
    ComponentProofError,
    DecodeError,
    ReadingError,
    SignatureError,
)
from privbill.meter import Meter
from privbill.model import codec
from privbill.model.certificates import MeterCertificate, max_rating_w
from privbill.model.component_proofs import WindowProof
from privbill.model.money import MAX_WH_PER_INTERVAL
from privbill.provider import Provider


@pytest.fixture(scope="module")
def provider() -> Provider:
    return Provider.generate()


def _cert(provider: Provider, rating_w: int | None, interval_s: int = 900) -> MeterCertificate:
    key = SigningKey.generate()
    return provider.certify_meter(
        "m1", "acct", key.public_key(), interval_s=interval_s, rating_w=rating_w
    )


def test_rating_is_signed_and_round_trips(provider: Provider) -> None:
    cert = _cert(provider, 24_000)
    back = MeterCertificate.decode(cert.encode())
    assert back == cert and back.rating_w == 24_000
    back.verify(provider.public_key)
    obj = cbor2.loads(cert.encode())
    assert obj["rating_w"] == 24_000
    # the signature covers the rating: a raised rating is a forged certificate
    obj["rating_w"] = 48_000
    with pytest.raises(SignatureError):
        MeterCertificate.decode(codec.encode(obj)).verify(provider.public_key)
    # dropped, it is a certificate without rating: also no longer the provider's
    del obj["rating_w"]
    with pytest.raises(SignatureError):
        MeterCertificate.decode(codec.encode(obj)).verify(provider.public_key)


def test_without_rating_the_field_is_absent(provider: Provider) -> None:
    cert = _cert(provider, None)
    assert "rating_w" not in cbor2.loads(cert.encode())
    assert cert.max_wh() == MAX_WH_PER_INTERVAL


@pytest.mark.parametrize("bad", [0, -1, max_rating_w(900) + 1, True, 1.5, "24000", None])
def test_decode_refuses_a_bad_rating(provider: Provider, bad: object) -> None:
    obj = cbor2.loads(_cert(provider, 1000).encode())
    obj["rating_w"] = bad
    with pytest.raises(DecodeError) as ei:
        MeterCertificate.decode(cbor2.dumps(obj, canonical=True))
    assert ei.value.field == "rating_w"


@pytest.mark.parametrize("bad", [0, -5, max_rating_w(900) + 1, True])
def test_issue_refuses_a_bad_rating(provider: Provider, bad: int) -> None:
    with pytest.raises(CertificateError) as ei:
        _cert(provider, bad)
    assert ei.value.field == "rating_w"


def test_max_wh(provider: Provider) -> None:
    assert _cert(provider, 24_000).max_wh() == 6_000  # 24 kW over a quarter hour
    assert _cert(provider, 24_000).max_wh(3600) == 24_000
    small = _cert(provider, 10, interval_s=60)  # 10 W: at most 1 Wh per minute, rounded up
    assert small.max_wh() == 1
    assert small.max_wh(900) == 15  # fifteen signed minutes, not ⌈10 W · 15 min⌉ = 3
    assert _cert(provider, max_rating_w(900)).max_wh() <= MAX_WH_PER_INTERVAL


def test_the_meter_signs_nothing_above_its_rating(provider: Provider) -> None:
    key = SigningKey.generate()
    cert = provider.certify_meter("m1", "acct", key.public_key(), rating_w=24_000)
    with pytest.raises(ReadingError, match=r"rating of 24000 W") as ei:
        Meter(cert, key, "day", "Europe/Berlin").record([(1000, 6_000), (1001, 6_001)])
    assert ei.value.field == "wh"
    rec = Meter(cert, key, "day", "Europe/Berlin").record([(1000, 6_000), (1001, 0)])
    assert list(rec.openings.values) == [6_000, 0]


def test_load_bits(provider: Provider) -> None:
    home = _cert(provider, 24_000)  # 6 000 Wh a quarter hour
    plant = _cert(provider, 2_000_000)  # 2 MW: 500 000 Wh a quarter hour
    bare = _cert(provider, None)
    assert load_bits(32, [home], 900) == 16
    assert load_bits(32, [home] * 10, 900) == 16  # 60 000 < 2^16
    assert load_bits(32, [home] * 11, 900) == 32  # 66 000 ≥ 2^16
    assert load_bits(32, [plant], 900) == 32
    assert load_bits(16, [plant], 900) == 16  # the tariff's width is an upper bound
    assert load_bits(32, [home, bare], 900) == 32  # one meter without rating: the tariff's
    assert load_bits(32, [], 900) == 32
    assert load_bits(32, [_cert(provider, 400)], 900) == 8  # 100 Wh a quarter hour
    assert load_bits(32, [_cert(provider, 400)], 3600) == 16  # 400 Wh an hour


def test_keygen_rating_option(tmp_path: Path) -> None:
    out = tmp_path / "keys"
    assert main(["keygen", "--out", str(out), "--rating-kw", "24.5"]) == 0
    cert = MeterCertificate.decode((out / "meter-0001.cert").read_bytes())
    assert cert.rating_w == 24_500
    for bad in ("0", "0.0005", "abc", "-3", "nan"):
        assert main(["keygen", "--out", str(tmp_path / bad), "--rating-kw", bad]) == 2


# --- a bill's demand range from its meters' ratings ---------------------------------------------

HOURLY_DEMAND = {
    "kind": "demand",
    "name": "monthly peak",
    "windows": [{"name": "all hours", "tiers": [{"up_to_kw": None, "price_per_kw": "7.5"}]}],
}  # no "bits": the default 32


def _demand_case(provider: Provider, ratings: list[int | None], top: int) -> Any:
    from cheaters import bill_case, description

    desc = description(["0.12", "0.08", "0.05"], [HOURLY_DEMAND], fixed={"per_month": "4.20"})
    return bill_case(
        provider,
        desc,
        "2026-02",
        lambda k, m: (k * 97 + 31 * m) % 1000 * top // 999,
        meters=len(ratings),
        ratings=ratings,
    )


def _window_ranges(bill: Any) -> bytes:
    (comp,) = [c for c in bill.components if c.kind == "demand"]
    (window,) = comp.windows
    assert isinstance(window, WindowProof)
    return window.ranges


def _width(ranges: bytes, intervals: int) -> int:
    (n,) = [
        n for n in BIT_SIZES if len(ranges) == sum(proof_size(n, s) for s in chunk_sizes(intervals))
    ]
    return n


def test_rated_meters_prove_demand_with_the_narrow_range(provider: Provider) -> None:
    """Two meters rated 400 W (400 Wh an hour each): the load never exceeds 800 Wh, so the
    bill's demand proof is 16 bits wide although the tariff says 32; it verifies and equals
    the cleartext bill (``bill_case`` checks both)."""
    case = _demand_case(provider, [400, 400], 400)
    hours = len(case.values[0])
    assert _width(_window_ranges(case.honest), hours) == 16
    unrated = _demand_case(provider, [400, None], 400)  # one meter without rating: 32
    assert _width(_window_ranges(unrated.honest), hours) == 32


def test_a_range_of_another_width_is_refused(
    provider: Provider, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The verifier takes the width from the certificates, not from the proof: a prover that
    ignores the ratings and proves 32-bit ranges is refused, by component and window."""
    case = _demand_case(provider, [400, 400], 400)
    monkeypatch.setattr(LoadView, "bits", lambda self, tariff_bits: tariff_bits)
    forged = case.prove()
    monkeypatch.undo()
    assert _width(_window_ranges(forged), len(case.values[0])) == 32
    with pytest.raises(ComponentProofError, match="peak range proof") as ei:
        case.verify(forged)
    assert ei.value.field == "components[0].windows[0].ranges"


def test_a_two_megawatt_customer_proves_with_the_defaults(provider: Provider) -> None:
    """A 2 MW meter (500 kWh a quarter hour at full load; 2 MWh an hour): the rating keeps the
    tariff's 32 bits and readings above 2^16 Wh prove."""
    case = _demand_case(provider, [2_000_000], 2_000_000)
    assert max(case.values[0]) > 1 << 16
    assert _width(_window_ranges(case.honest), len(case.values[0])) == 32
