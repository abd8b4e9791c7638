"""Import OpenEI Utility Rate Database (URDB, API v8) tariffs.

The importer turns one URDB rate into a privbill tariff description (``docs/tariff-format.md``).
Every field that affects charges is either honoured exactly or refused with an error naming it;
fields that only describe the rate (names, sources, applicability notes) are carried into the
description text. Numbers are read as exact decimals from the JSON text, never through binary
floating point.

Supported:

* ``energyratestructure`` with ``energyweekdayschedule``/``energyweekendschedule`` — one tier
  per period (time-of-use), or tiers whose bounds are the same in every period and whose rates
  differ between periods by the same amount in every tier ("separable": period rate + tier
  adder). Tier units ``kWh`` (per month) and ``kWh daily`` (scaled by the days billed). ``rate``
  and ``adj`` are added.
* ``fixedchargefirstmeter`` in ``$/month`` or ``$/day``; ``mincharge`` in ``$/month``.
* ``flatdemandstructure`` with ``flatdemandmonths`` and ``demandratestructure`` with the demand
  schedules, in kW, with tiers; ``demandwindow`` must equal the meter interval.

Refused (each with its field name): tier rates that are not separable (the bill would depend on
when in the month a tier is reached), sell rates, kWh/kW tier units, demand ratchets and
lookbacks, coincident and reactive-power charges, charges for additional meters, annual minimums,
other units. Prices needing more than 9 decimals of currency per kWh are refused unless the
caller asks for rounding, and the rounding is then reported.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, Final

from privbill.errors import TariffError

OBJ: Final = "URDB rate"
PRICE_QUANTUM: Final = Decimal("0.000000001")

#: Fields that describe a rate without changing what it charges.
INFORMATIONAL: Final = frozenset(
    {
        "label", "uri", "sector", "utility", "eiaid", "name", "startdate", "enddate",
        "supersedes", "source", "sourceparent", "description", "basicinformationcomments",
        "energycomments", "demandcomments", "approved", "is_default", "country", "servicetype",
        "voltagecategory", "phasewiring", "revisions", "dgrules", "latest_update",
        "energyattrs", "demandattrs", "fixedattrs", "peakkwcapacitymin", "peakkwcapacitymax",
        "peakkwcapacityhistory", "peakkwhusagemin", "peakkwhusagemax", "peakkwhusagehistory",
        "voltageminimum", "voltagemaximum", "demandunits", "flatdemandunit", "demandrateunit",
        "fixedchargeunits", "minchargeunits", "demandwindow", "lookbackrange",
    }
)  # fmt: skip

#: Fields privbill turns into charges.
HONOURED: Final = frozenset(
    {
        "energyratestructure", "energyweekdayschedule", "energyweekendschedule",
        "fixedchargefirstmeter", "mincharge", "flatdemandstructure", "flatdemandmonths",
        "demandratestructure", "demandweekdayschedule", "demandweekendschedule",
    }
)  # fmt: skip

#: Fields that change charges in ways privbill does not implement; refused unless zero/empty.
REFUSED_UNLESS_EMPTY: Final = frozenset(
    {
        "fixedchargeeaaddl", "annualmincharge", "demandratchetpercentage", "demandreactivepowercharge",
        "coincidentratestructure", "coincidentrateschedule", "coincidentrateunit",
        "lookbackpercent", "lookbackmonths", "isdemandunitkw", "demandminimum",
    }
)  # fmt: skip


@dataclass
class ImportReport:
    """What the importer did that a person should know about."""

    rounded: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def _err(field_: str, message: str) -> TariffError:
    return TariffError(message, obj=OBJ, field=field_)


def load_rate(text: str | bytes) -> dict[str, Any]:
    """The rate object of a URDB file: a bare rate, ``{"items": [rate]}`` or ``[rate]``."""
    try:
        data = json.loads(text, parse_float=Decimal)
    except (json.JSONDecodeError, UnicodeDecodeError, RecursionError) as exc:
        raise TariffError(f"not valid JSON: {exc}", obj=OBJ) from None
    if isinstance(data, dict) and "items" in data:
        data = data["items"]
    if isinstance(data, list):
        if len(data) != 1:
            raise _err("items", f"expected exactly one rate, found {len(data)}")
        data = data[0]
    if not isinstance(data, dict):
        raise TariffError("expected a JSON object", obj=OBJ)
    return data


def _is_empty(v: Any) -> bool:
    return v is None or v == 0 or v == "" or v == [] or v == {} or v is False


def _decimal(v: Any, where: str) -> Decimal:
    if isinstance(v, bool) or not isinstance(v, Decimal | int | str):
        raise _err(where, "expected a number")
    try:
        return Decimal(v)
    except ArithmeticError:
        raise _err(where, "expected a number") from None


def _price_text(v: Decimal, where: str, report: ImportReport, allow_rounding: bool) -> str:
    q = v.quantize(PRICE_QUANTUM, rounding=ROUND_HALF_UP)
    if q != v:
        if not allow_rounding:
            raise _err(
                where,
                f"{v} needs more than 9 decimals per kWh/kW; privbill prices are exact to 10⁻⁹ "
                f"(--round-prices, or allow_rounding=True, rounds it to {q} and reports it)",
            )
        report.rounded.append(f"{where}: {v} -> {q}")
    return format(q.normalize(), "f")


def _schedule(v: Any, where: str, n: int) -> list[list[int]]:
    if (
        not isinstance(v, list)
        or len(v) != 12
        or any(not isinstance(r, list) or len(r) != 24 for r in v)
    ):
        raise _err(where, "expected 12 rows of 24 period numbers")
    for m, row in enumerate(v):
        for h, p in enumerate(row):
            if isinstance(p, bool) or not isinstance(p, int) or not 0 <= p < n:
                raise _err(f"{where}[{m}][{h}]", f"expected a period number 0..{n - 1}")
    return [list(r) for r in v]


def _tiers(structure: Any, where: str) -> list[list[dict[str, Any]]]:
    if not isinstance(structure, list) or not structure:
        raise _err(where, "expected a non-empty list of periods")
    out = []
    for p, tiers in enumerate(structure):
        if not isinstance(tiers, list) or not tiers:
            raise _err(f"{where}[{p}]", "expected a non-empty list of tiers")
        for t, tier in enumerate(tiers):
            if not isinstance(tier, dict):
                raise _err(f"{where}[{p}][{t}]", "expected an object")
        out.append(tiers)
    return out


def _energy(
    rate: dict[str, Any], report: ImportReport, allow_rounding: bool
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    where = "energyratestructure"
    structure = _tiers(rate[where], where)
    n = len(structure)
    weekday = _schedule(rate.get("energyweekdayschedule"), "energyweekdayschedule", n)
    weekend = _schedule(
        rate.get("energyweekendschedule", rate.get("energyweekdayschedule")),
        "energyweekendschedule",
        n,
    )
    rates: list[list[Decimal]] = []
    bounds: list[list[Decimal | None]] = []
    units: set[str] = set()
    for p, tiers in enumerate(structure):
        row_r, row_b = [], []
        for t, tier in enumerate(tiers):
            w = f"{where}[{p}][{t}]"
            for key in tier:
                if key not in ("rate", "adj", "max", "unit", "sell"):
                    raise _err(f"{w}.{key}", "unknown tier field")
            if not _is_empty(tier.get("sell")):
                raise _err(f"{w}.sell", "sell rates (exports) are not supported")
            unit = tier.get("unit", "kWh")
            if unit not in ("kWh", "kWh daily"):
                raise _err(f"{w}.unit", f"tier unit {unit!r} is not supported (kWh or kWh daily)")
            units.add(unit)
            row_r.append(
                _decimal(tier.get("rate", 0), f"{w}.rate")
                + _decimal(tier.get("adj", 0), f"{w}.adj")
            )
            last = t == len(tiers) - 1
            mx = tier.get("max")
            if mx is None and not last:
                raise _err(f"{w}.max", "only the last tier may be unbounded")
            row_b.append(None if (last or mx is None) else _decimal(mx, f"{w}.max"))
        rates.append(row_r)
        bounds.append(row_b)
    if len(units) > 1:
        raise _err(where, "tiers mix kWh and kWh daily units")
    tiered = any(len(r) > 1 for r in rates)
    components: list[dict[str, Any]] = []
    if not tiered:
        base = [r[0] for r in rates]
    else:
        if any(b != bounds[0] for b in bounds):
            raise _err(
                where,
                "tier bounds differ between periods; privbill supports tiers on the month's total "
                "consumption with the same bounds in every period",
            )
        base = [r[0] for r in rates]
        adders = [r[j] - r[0] for r in rates[:1] for j in range(len(r))]
        for p, r in enumerate(rates):
            if [r[j] - r[0] for j in range(len(r))] != adders:
                raise _err(
                    f"{where}[{p}]",
                    "tier rates differ between periods by different amounts: the bill would depend "
                    "on when in the month each tier is reached, which privbill cannot prove",
                )
        tiers = []
        for j, adder in enumerate(adders):
            b = bounds[0][j]
            tiers.append(
                {
                    "up_to_kwh": None if b is None else format(b.normalize(), "f"),
                    "price": _price_text(
                        adder, f"{where}[*][{j}] (tier adder)", report, allow_rounding
                    ),
                }
            )
        components.append(
            {
                "kind": "tiered",
                "name": "energy tiers",
                "periods": None,
                "unit": "day" if units == {"kWh daily"} else "month",
                "tiers": tiers,
            }
        )
        report.notes.append(
            "tiers apply to the month's total consumption; each period's first-tier rate is its "
            "time-of-use price and higher tiers add the same amount in every period"
        )
    periods = [
        {"name": f"period {p}", "price": _price_text(b, f"{where}[{p}][0]", report, allow_rounding)}
        for p, b in enumerate(base)
    ]
    energy = {
        "kind": "time-of-use",
        "periods": periods,
        "weekday_schedule": weekday,
        "weekend_schedule": weekend,
    }
    return energy, components


def _demand_tiers(
    tiers: list[dict[str, Any]], where: str, report: ImportReport, allow_rounding: bool
) -> list[dict[str, Any]]:
    out = []
    for t, tier in enumerate(tiers):
        w = f"{where}[{t}]"
        for key in tier:
            if key not in ("rate", "adj", "max", "unit"):
                raise _err(f"{w}.{key}", "unknown tier field")
        unit = tier.get("unit", "kW")
        if unit != "kW":
            raise _err(f"{w}.unit", f"demand unit {unit!r} is not supported (kW)")
        price = _decimal(tier.get("rate", 0), f"{w}.rate") + _decimal(
            tier.get("adj", 0), f"{w}.adj"
        )
        if price < 0:
            raise _err(f"{w}.rate", "negative demand charges are not supported")
        last = t == len(tiers) - 1
        mx = tier.get("max")
        if mx is None and not last:
            raise _err(f"{w}.max", "only the last tier may be unbounded")
        out.append(
            {
                "up_to_kw": None
                if last or mx is None
                else format(_decimal(mx, f"{w}.max").normalize(), "f"),
                "price_per_kw": _price_text(price, w, report, allow_rounding),
            }
        )
    return out


def _demand(
    rate: dict[str, Any],
    report: ImportReport,
    allow_rounding: bool,
    interval_minutes: int,
    demand_bits: int,
) -> list[dict[str, Any]]:
    comps: list[dict[str, Any]] = []
    present = [
        k for k in ("flatdemandstructure", "demandratestructure") if not _is_empty(rate.get(k))
    ]
    if not present:
        return comps
    window = rate.get("demandwindow")
    if window is not None and _decimal(window, "demandwindow") != interval_minutes:
        raise _err(
            "demandwindow",
            f"demand is averaged over {window} minutes but the meter interval is {interval_minutes}",
        )
    for unit_field in ("flatdemandunit", "demandrateunit", "demandunits"):
        u = rate.get(unit_field)
        if u not in (None, "", "kW"):
            raise _err(unit_field, f"demand unit {u!r} is not supported (kW)")
    if "flatdemandstructure" in present:
        structure = _tiers(rate["flatdemandstructure"], "flatdemandstructure")
        months = rate.get("flatdemandmonths")
        if len(structure) == 1 and months is None:
            months = [0] * 12
        if (
            not isinstance(months, list)
            or len(months) != 12
            or any(
                isinstance(m, bool) or not isinstance(m, int) or not 0 <= m < len(structure)
                for m in months
            )
        ):
            raise _err("flatdemandmonths", f"expected 12 period numbers 0..{len(structure) - 1}")
        table = [[months[m]] * 24 for m in range(12)]
        comps.append(
            {
                "kind": "demand",
                "name": "flat demand",
                "windows": [
                    {
                        "name": f"flat period {p}",
                        "tiers": _demand_tiers(
                            t, f"flatdemandstructure[{p}]", report, allow_rounding
                        ),
                    }
                    for p, t in enumerate(structure)
                ],
                "weekday_schedule": table,
                "weekend_schedule": table,
                "bits": demand_bits,
            }
        )
    if "demandratestructure" in present:
        structure = _tiers(rate["demandratestructure"], "demandratestructure")
        n = len(structure)
        wd = _schedule(rate.get("demandweekdayschedule"), "demandweekdayschedule", n)
        we = _schedule(
            rate.get("demandweekendschedule", rate.get("demandweekdayschedule")),
            "demandweekendschedule",
            n,
        )
        comps.append(
            {
                "kind": "demand",
                "name": "time-of-use demand",
                "windows": [
                    {
                        "name": f"demand period {p}",
                        "tiers": _demand_tiers(
                            t, f"demandratestructure[{p}]", report, allow_rounding
                        ),
                    }
                    for p, t in enumerate(structure)
                ],
                "weekday_schedule": wd,
                "weekend_schedule": we,
                "bits": demand_bits,
            }
        )
    return comps


def _date_of(ts: Any, where: str, tz_offset_days: int = 0) -> str:
    if isinstance(ts, bool) or not isinstance(ts, int | Decimal):
        raise _err(where, "expected a Unix time")
    d = datetime.fromtimestamp(int(ts), UTC).date() + timedelta(days=tz_offset_days)
    return d.isoformat()


def urdb_to_description(
    rate: dict[str, Any],
    *,
    timezone: str,
    interval_minutes: int = 15,
    valid_from: str | None = None,
    valid_until: str | None = None,
    allow_rounding: bool = False,
    demand_bits: int = 16,
) -> tuple[dict[str, Any], ImportReport]:
    """A privbill tariff description for ``rate``; raises :class:`TariffError` naming any field
    it cannot honour."""
    report = ImportReport()
    for key, value in rate.items():
        if key in INFORMATIONAL or key in HONOURED:
            continue
        if key in REFUSED_UNLESS_EMPTY:
            if not _is_empty(value):
                raise _err(key, "this charge is not supported by privbill")
            continue
        raise _err(key, "unknown URDB field; refusing rather than ignoring it")
    if _is_empty(rate.get("energyratestructure")):
        raise _err("energyratestructure", "a rate without energy charges is not supported")
    energy, components = _energy(rate, report, allow_rounding)
    components += _demand(rate, report, allow_rounding, interval_minutes, demand_bits)
    fixed: dict[str, str] = {}
    fc = rate.get("fixedchargefirstmeter")
    if not _is_empty(fc):
        unit = rate.get("fixedchargeunits", "$/month")
        amount = format(_decimal(fc, "fixedchargefirstmeter").normalize(), "f")
        if unit == "$/month":
            fixed["per_month"] = amount
        elif unit == "$/day":
            fixed["per_day"] = amount
        else:
            raise _err("fixedchargeunits", f"fixed charge unit {unit!r} is not supported")
    mc = rate.get("mincharge")
    if not _is_empty(mc):
        unit = rate.get("minchargeunits", "$/month")
        if unit != "$/month":
            raise _err("minchargeunits", f"minimum charge unit {unit!r} is not supported ($/month)")
        components.append(
            {"kind": "minimum", "per_month": format(_decimal(mc, "mincharge").normalize(), "f")}
        )
    if valid_from is None:
        if "startdate" not in rate:
            raise _err("startdate", "no start date: give the validity window explicitly")
        valid_from = _date_of(rate["startdate"], "startdate")
    if valid_until is None:
        if rate.get("enddate"):
            valid_until = _date_of(rate["enddate"], "enddate", 1)
        else:
            raise _err("enddate", "no end date: give the validity window explicitly")
    text = [f"Imported from OpenEI URDB rate {rate.get('label', '?')}"]
    if rate.get("uri"):
        text.append(str(rate["uri"]))
    text += report.notes
    desc: dict[str, Any] = {
        "format": "privbill/tariff-description/1",
        "name": str(rate.get("name", "URDB rate"))[:200],
        "utility": str(rate.get("utility", ""))[:200],
        "description": " | ".join(text),
        "currency": "USD",
        "timezone": timezone,
        "valid_from": valid_from,
        "valid_until": valid_until,
        "energy": energy,
        "fixed": fixed,
        "components": components,
    }
    return desc, report
