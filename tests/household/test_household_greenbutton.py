"""Green Button (ESPI XML) interval data as a meter's measurements: the fixture (two days across
the start of daylight saving time, values in tenths of a Wh), and everything refused by name."""

from __future__ import annotations

import re
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from privbill.errors import GreenButtonError
from privbill.interop import greenbutton

FIXTURE = (
    Path(__file__).resolve().parents[1] / "data" / "greenbutton" / "denver-2026-03-07-two-days.xml"
)
DENVER = ZoneInfo("America/Denver")


def fixture() -> bytes:
    return FIXTURE.read_bytes()


def test_fixture_reads_as_188_quarter_hours_in_watt_hours() -> None:
    data = greenbutton.parse(fixture(), 900, DENVER)
    # 7 March (24 h) and 8 March (23 h: daylight saving time starts) in Denver
    assert len(data.rows) == 96 + 92
    assert data.tz_offset_s == -25200 and data.dst_offset_s == 3600
    raw = [int(v) for v in re.findall(rb"<espi:value>(\d+)</espi:value>", fixture())]
    assert [r.value for r in data.rows] == [v // 10 for v in raw]  # powerOfTenMultiplier -1
    idx = [r.index for r in data.rows]
    assert idx == list(range(idx[0], idx[0] + len(idx)))


def edit(old: bytes, new: bytes, count: int = 1) -> bytes:
    data = fixture()
    assert old in data
    return data.replace(old, new, count)


@pytest.mark.parametrize(
    ("data", "field", "words"),
    [
        (edit(b"<espi:uom>72</espi:uom>", b"<espi:uom>38</espi:uom>"), "uom", "W (power)"),
        (
            edit(b"<espi:powerOfTenMultiplier>-1<", b"<espi:powerOfTenMultiplier>-2<"),
            "value",
            "whole number",
        ),
        (
            edit(b"<espi:accumulationBehaviour>4<", b"<espi:accumulationBehaviour>1<"),
            "accumulationBehaviour",
            "deltaData",
        ),
        (edit(b"<espi:flowDirection>1<", b"<espi:flowDirection>19<"), "flowDirection", "forward"),
        (
            edit(b"<espi:tzOffset>-25200<", b"<espi:tzOffset>3600<"),
            "tzOffset",
            "not the meter's timezone",
        ),
        (
            edit(b"<espi:intervalLength>900<", b"<espi:intervalLength>1800<"),
            "intervalLength",
            "30-minute",
        ),
    ],
)
def test_refused_by_name(data: bytes, field: str, words: str) -> None:
    with pytest.raises(GreenButtonError) as info:
        greenbutton.parse(data, 900, DENVER)
    assert info.value.field is not None and info.value.field.endswith(field), info.value
    assert words in str(info.value)


def test_gap_overlap_and_negative_values() -> None:
    data = fixture()
    readings = re.findall(rb"<espi:IntervalReading>.*?</espi:IntervalReading>", data)
    gap = data.replace(readings[40], b"", 1)
    with pytest.raises(
        GreenButtonError,
        match="gap: no IntervalReading from 2026-03-07T10:00-07:00 until 2026-03-07T10:15-07:00",
    ):
        greenbutton.parse(gap, 900, DENVER)
    dup = data.replace(readings[40], readings[40] + readings[40], 1)
    with pytest.raises(GreenButtonError, match="overlap or duplicate"):
        greenbutton.parse(dup, 900, DENVER)
    neg = data.replace(
        readings[3], re.sub(rb"<espi:value>\d+<", b"<espi:value>-50<", readings[3]), 1
    )
    with pytest.raises(GreenButtonError, match="negative") as info:
        greenbutton.parse(neg, 900, DENVER)
    assert info.value.field is not None and "IntervalReading[3].value" in info.value.field


def test_xml_attacks_are_not_read() -> None:
    laughs = (
        b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 '
        b'"&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]><feed>&lol2;</feed>'
    )
    xxe = (
        b'<?xml version="1.0"?><!DOCTYPE foo [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'
        b'<feed xmlns="http://www.w3.org/2005/Atom">&xxe;</feed>'
    )
    for attack in (laughs, xxe):
        with pytest.raises(GreenButtonError, match="DTDs and entities are not read"):
            greenbutton.parse(attack, 900, DENVER)
    with pytest.raises(GreenButtonError, match="not well-formed"):
        greenbutton.parse(b"<feed>", 900, DENVER)
    with pytest.raises(GreenButtonError, match="no IntervalBlock"):
        greenbutton.parse(b'<feed xmlns="http://www.w3.org/2005/Atom"/>', 900, DENVER)
