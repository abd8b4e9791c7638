"""Green Button (NAESB ESPI) interval data as a meter's measurements.

A Download-My-Data file is an Atom feed whose entries hold ESPI resources: ``UsagePoint``,
``MeterReading``, ``ReadingType`` (unit ``uom``, ``powerOfTenMultiplier``, ``intervalLength``,
``accumulationBehaviour``, ``flowDirection``), ``IntervalBlock`` with ``IntervalReading``\\ s
(``timePeriod/start`` in UTC seconds, ``timePeriod/duration``, ``value``) and
``LocalTimeParameters`` (``tzOffset`` and ``dstOffset`` in seconds).

:func:`parse` returns the readings as ``(interval index, Wh)`` rows in the meter's interval, and
refuses by name what a meter cannot commit to: a unit other than watt-hours (``uom`` 72), values
that are not whole watt-hours after the multiplier, negative values (energy received from the
customer), cumulative instead of per-interval data, readings of another length than the meter's
interval or not aligned to it, overlaps, and gaps (``no IntervalReading from … until …``). A file
whose UTC offsets are not the meter's timezone's is refused.

The XML is read with ``defusedxml`` with DTDs forbidden: no entity expansion (billion laughs), no
external entities (XXE), no network.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from typing import Final
from xml.etree.ElementTree import Element
from zoneinfo import ZoneInfo

import defusedxml.ElementTree as safe_et
from defusedxml import DefusedXmlException

from privbill.errors import GreenButtonError
from privbill.interop.csv_readings import Row
from privbill.model import money

ATOM: Final = "{http://www.w3.org/2005/Atom}"
ESPI: Final = "{http://naesb.org/espi}"
UOM_WH: Final = 72
DELTA_DATA: Final = 4  # accumulationBehaviour: each value is the interval's own quantity
FORWARD: Final = 1  # flowDirection: delivered to the customer
MAX_BYTES: Final = 64 * 1024 * 1024
OBJ: Final = "Green Button file"
UOM_NAMES: Final = {
    38: "W (power)",
    72: "Wh",
    63: "VAr",
    61: "VA",
    71: "VAh",
    73: "VArh",
    169: "therm",
}


@dataclass(frozen=True, slots=True)
class ReadingType:
    uom: int
    multiplier: int
    interval_s: int | None
    accumulation: int | None
    flow: int | None


@dataclass(frozen=True, slots=True)
class GreenButtonData:
    rows: list[Row]
    interval_s: int
    tz_offset_s: int | None
    dst_offset_s: int | None
    reading_type: ReadingType

    @property
    def tz(self) -> timezone:
        """A fixed-offset timezone at the file's standard offset (for messages)."""
        return timezone(timedelta(seconds=self.tz_offset_s or 0))


def _text(el: Element | None, name: str, path: str, required: bool = True) -> str | None:
    child = el.find(ESPI + name) if el is not None else None
    if child is None or child.text is None or not child.text.strip():
        if required:
            raise GreenButtonError("missing element", obj=OBJ, field=f"{path}.{name}")
        return None
    return child.text.strip()


def _int(el: Element | None, name: str, path: str, required: bool = True) -> int | None:
    text = _text(el, name, path, required)
    if text is None:
        return None
    try:
        return int(text)
    except ValueError:
        raise GreenButtonError(
            f"{text!r} is not an integer", obj=OBJ, field=f"{path}.{name}"
        ) from None


def _resources(root: Element) -> list[tuple[Element, dict[str, str]]]:
    """``(ESPI resource element, {rel: href})`` of every entry (or the root resource itself)."""
    out: list[tuple[Element, dict[str, str]]] = []
    entries = [root] if root.tag == ATOM + "entry" else root.findall(ATOM + "entry")
    if root.tag.startswith(ESPI):
        return [(root, {})]
    for entry in entries:
        links: dict[str, str] = {}
        for link in entry.findall(ATOM + "link"):
            rel, href = link.get("rel", ""), link.get("href", "")
            links[rel if rel != "related" else f"related:{href}"] = href
        content = entry.find(ATOM + "content")
        if content is None:
            continue
        for child in content:
            if child.tag.startswith(ESPI):
                out.append((child, links))
    return out


def _reading_type(el: Element, path: str) -> ReadingType:
    return ReadingType(
        uom=_int(el, "uom", path) or 0,
        multiplier=_int(el, "powerOfTenMultiplier", path, False) or 0,
        interval_s=_int(el, "intervalLength", path, False),
        accumulation=_int(el, "accumulationBehaviour", path, False),
        flow=_int(el, "flowDirection", path, False),
    )


def _check_type(rt: ReadingType, path: str) -> None:
    if rt.uom != UOM_WH:
        name = UOM_NAMES.get(rt.uom, "not energy in watt-hours")
        raise GreenButtonError(
            f"uom {rt.uom} ({name}): a meter commits to energy in Wh (uom 72)",
            obj=OBJ,
            field=f"{path}.uom",
        )
    if rt.accumulation is not None and rt.accumulation != DELTA_DATA:
        raise GreenButtonError(
            f"accumulationBehaviour {rt.accumulation}: only per-interval data (4, deltaData) can "
            "be committed reading by reading",
            obj=OBJ,
            field=f"{path}.accumulationBehaviour",
        )
    if rt.flow is not None and rt.flow != FORWARD:
        raise GreenButtonError(
            f"flowDirection {rt.flow}: only energy delivered to the customer (1, forward) is billed",
            obj=OBJ,
            field=f"{path}.flowDirection",
        )
    if not -9 <= rt.multiplier <= 9:
        raise GreenButtonError(
            f"powerOfTenMultiplier {rt.multiplier} is outside [-9, 9]",
            obj=OBJ,
            field=f"{path}.powerOfTenMultiplier",
        )


def _scaled(value: int, multiplier: int, path: str) -> int:
    if multiplier >= 0:
        wh = value * int(10**multiplier)
    else:
        d = int(10 ** (-multiplier))
        if value % d:
            raise GreenButtonError(
                f"value {value} × 10^{multiplier} Wh is not a whole number of watt-hours",
                obj=OBJ,
                field=path,
            )
        wh = value // d
    if wh < 0:
        raise GreenButtonError(
            f"value {value} is negative (energy received from the customer is not billed here)",
            obj=OBJ,
            field=path,
        )
    if wh > money.MAX_WH_PER_INTERVAL:
        raise GreenButtonError(f"{wh} Wh in one interval is out of range", obj=OBJ, field=path)
    return wh


def _local(ts: int, tz: timezone | ZoneInfo) -> str:
    return datetime.fromtimestamp(ts, tz).isoformat(timespec="minutes")


def parse(
    data: bytes, interval_s: int | None = None, meter_tz: ZoneInfo | None = None
) -> GreenButtonData:
    """The interval readings of a Green Button file (see the module's description)."""
    if len(data) > MAX_BYTES:
        raise GreenButtonError(f"larger than {MAX_BYTES} bytes", obj=OBJ)
    try:
        root = safe_et.fromstring(data, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except DefusedXmlException as exc:
        raise GreenButtonError(
            f"refused: {type(exc).__name__} (DTDs and entities are not read)", obj=OBJ
        ) from None
    except safe_et.ParseError as exc:
        raise GreenButtonError(f"not well-formed XML: {exc}", obj=OBJ) from None
    resources = _resources(root)
    types: list[tuple[ReadingType, dict[str, str], str]] = []
    blocks: list[tuple[Element, dict[str, str], str]] = []
    tz_offset: int | None = None
    dst_offset: int | None = None
    for k, (el, links) in enumerate(resources):
        name = el.tag[len(ESPI) :]
        path = f"entry[{k}].{name}"
        if name == "ReadingType":
            types.append((_reading_type(el, path), links, path))
        elif name == "IntervalBlock":
            blocks.append((el, links, path))
        elif name == "LocalTimeParameters":
            tz_offset = _int(el, "tzOffset", path)
            dst_offset = _int(el, "dstOffset", path, False) or 0
    if not blocks:
        raise GreenButtonError("no IntervalBlock: the file holds no interval readings", obj=OBJ)
    energy = [t for t in types if t[0].uom == UOM_WH]
    if not types:
        raise GreenButtonError("no ReadingType: the unit of the values is unknown", obj=OBJ)
    if len(types) > 1 and len(energy) != 1:
        raise GreenButtonError(
            f"{len(types)} ReadingTypes, {len(energy)} of them in Wh: cannot tell which "
            "IntervalBlocks are the meter's energy readings",
            obj=OBJ,
            field="ReadingType",
        )
    rt, _, rt_path = energy[0] if energy else types[0]
    _check_type(rt, rt_path)
    if len(types) > 1:
        # Only the blocks under the MeterReading whose related ReadingType is the energy one.
        mr_hrefs = [
            links["self"]
            for el, links in resources
            if el.tag == ESPI + "MeterReading"
            and any(
                h == energy[0][1].get("self") for r, h in links.items() if r.startswith("related:")
            )
        ]
        blocks = [b for b in blocks if any(b[1].get("up", "").startswith(m) for m in mr_hrefs)]
    length = rt.interval_s
    tz_show: timezone | ZoneInfo = (
        meter_tz or timezone(timedelta(seconds=tz_offset))
        if tz_offset is not None
        else (meter_tz or UTC)
    )
    readings: list[tuple[int, int, int, str]] = []  # start, duration, Wh, path
    for el, _links, bpath in blocks:
        for j, r in enumerate(el.findall(ESPI + "IntervalReading")):
            rpath = f"{bpath}.IntervalReading[{j}]"
            tp = r.find(ESPI + "timePeriod")
            if tp is None:
                raise GreenButtonError("missing element", obj=OBJ, field=f"{rpath}.timePeriod")
            start = _int(tp, "start", f"{rpath}.timePeriod") or 0
            duration = _int(tp, "duration", f"{rpath}.timePeriod") or 0
            value = _int(r, "value", rpath)
            assert value is not None
            readings.append(
                (start, duration, _scaled(value, rt.multiplier, f"{rpath}.value"), rpath)
            )
    if not readings:
        raise GreenButtonError("the IntervalBlocks hold no IntervalReading", obj=OBJ)
    readings.sort()
    step = interval_s or length or readings[0][1]
    if length is not None and length != step:
        raise GreenButtonError(
            f"the readings are {length // 60}-minute intervals, the meter's are {step // 60}-minute",
            obj=OBJ,
            field=f"{rt_path}.intervalLength",
        )
    rows: list[Row] = []
    for start, duration, wh, rpath in readings:
        if duration != step:
            raise GreenButtonError(
                f"a {duration}-second reading at {_local(start, tz_show)}; the meter's interval is "
                f"{step} seconds",
                obj=OBJ,
                field=f"{rpath}.timePeriod.duration",
            )
        if start % step:
            raise GreenButtonError(
                f"the reading at {_local(start, tz_show)} does not start on a {step // 60}-minute "
                "boundary",
                obj=OBJ,
                field=f"{rpath}.timePeriod.start",
            )
        if rows and start // step <= rows[-1].index:
            raise GreenButtonError(
                f"two readings for the interval at {_local(start, tz_show)} (overlap or duplicate)",
                obj=OBJ,
                field=f"{rpath}.timePeriod.start",
            )
        if rows and start // step != rows[-1].index + 1:
            gap_from = (rows[-1].index + 1) * step
            raise GreenButtonError(
                f"gap: no IntervalReading from {_local(gap_from, tz_show)} until "
                f"{_local(start, tz_show)} ({(start - gap_from) // step} interval(s))",
                obj=OBJ,
                field=f"{rpath}.timePeriod.start",
            )
        if meter_tz is not None and tz_offset is not None:
            actual = _utcoffset(start, meter_tz)
            if actual not in (tz_offset, tz_offset + (dst_offset or 0)):
                raise GreenButtonError(
                    f"the file's local time (UTC{_fmt_offset(tz_offset)}"
                    + (f", DST +{(dst_offset or 0) // 60} min" if dst_offset else "")
                    + f") is not the meter's timezone {meter_tz.key} (UTC{_fmt_offset(actual)} at "
                    f"{_local(start, meter_tz)})",
                    obj=OBJ,
                    field="LocalTimeParameters.tzOffset",
                )
        rows.append(Row(start // step, wh))
    return GreenButtonData(rows, step, tz_offset, dst_offset, rt)


def _utcoffset(ts: int, tz: ZoneInfo) -> int:
    off = datetime.fromtimestamp(ts, tz).utcoffset()
    return int(off.total_seconds()) if off is not None else 0


def _fmt_offset(seconds: int) -> str:
    sign = "-" if seconds < 0 else "+"
    m = abs(seconds) // 60
    return f"{sign}{m // 60:02d}:{m % 60:02d}"


# --- writing (fixtures, exports) -------------------------------------------------------------------


def write(
    readings: list[tuple[int, int]],
    interval_s: int,
    *,
    tz_offset_s: int,
    dst_offset_s: int = 3600,
    multiplier: int = 0,
    block_s: int = 86400,
) -> bytes:
    """A minimal Download-My-Data feed for ``(interval index, value)`` readings: one
    UsagePoint, MeterReading and ReadingType (Wh, deltaData, forward), LocalTimeParameters and
    one IntervalBlock per ``block_s`` seconds."""
    base = "https://example.invalid/DataCustodian/espi/1_1/resource"
    up = f"{base}/Subscription/1/UsagePoint/1"
    parts: list[str] = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        '<feed xmlns="http://www.w3.org/2005/Atom" xmlns:espi="http://naesb.org/espi">',
        "<id>urn:uuid:privbill-fixture</id><title>Green Button Download My Data</title>",
        f'<entry><link rel="self" href="{base}/LocalTimeParameters/1"/><content>'
        "<espi:LocalTimeParameters><espi:dstEndRule>B40E2000</espi:dstEndRule>"
        f"<espi:dstOffset>{dst_offset_s}</espi:dstOffset><espi:dstStartRule>360E2000</espi:dstStartRule>"
        f"<espi:tzOffset>{tz_offset_s}</espi:tzOffset></espi:LocalTimeParameters></content></entry>",
        f'<entry><link rel="self" href="{up}"/><content><espi:UsagePoint><espi:ServiceCategory>'
        "<espi:kind>0</espi:kind></espi:ServiceCategory></espi:UsagePoint></content></entry>",
        f'<entry><link rel="self" href="{up}/MeterReading/1"/>'
        f'<link rel="related" href="{base}/ReadingType/1"/>'
        f'<link rel="related" href="{up}/MeterReading/1/IntervalBlock"/>'
        "<content><espi:MeterReading/></content></entry>",
        f'<entry><link rel="self" href="{base}/ReadingType/1"/><content><espi:ReadingType>'
        f"<espi:accumulationBehaviour>4</espi:accumulationBehaviour><espi:commodity>1</espi:commodity>"
        f"<espi:flowDirection>1</espi:flowDirection><espi:intervalLength>{interval_s}</espi:intervalLength>"
        f"<espi:kind>12</espi:kind><espi:powerOfTenMultiplier>{multiplier}</espi:powerOfTenMultiplier>"
        f"<espi:uom>72</espi:uom></espi:ReadingType></content></entry>",
    ]
    by_block: dict[int, list[tuple[int, int]]] = {}
    for index, value in readings:
        by_block.setdefault(index * interval_s // block_s, []).append((index, value))
    for b, (key, items) in enumerate(sorted(by_block.items())):
        start = key * block_s
        body = "".join(
            f"<espi:IntervalReading><espi:timePeriod><espi:duration>{interval_s}</espi:duration>"
            f"<espi:start>{i * interval_s}</espi:start></espi:timePeriod>"
            f"<espi:value>{v}</espi:value></espi:IntervalReading>"
            for i, v in items
        )
        parts.append(
            f'<entry><link rel="self" href="{up}/MeterReading/1/IntervalBlock/{b + 1}"/>'
            f'<link rel="up" href="{up}/MeterReading/1/IntervalBlock"/><content>'
            f"<espi:IntervalBlock><espi:interval><espi:duration>{block_s}</espi:duration>"
            f"<espi:start>{start}</espi:start></espi:interval>{body}</espi:IntervalBlock>"
            "</content></entry>"
        )
    parts.append("</feed>")
    return "\n".join(parts).encode()
