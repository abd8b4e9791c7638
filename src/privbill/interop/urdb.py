"""Import OpenEI Utility Rate Database (URDB, API v8) tariffs.

The importer turns one URDB rate into a privbill tariff description (``docs/tariff-format.md``).
Every field of the record is classified (:data:`FIELDS`, listed in ``docs/tariff-format.md``):

* **describes** — names, sources, dates, comments, labels, units: carried into the description
  text or checked where they qualify a charge;
* **honoured** — turned into charges exactly;
* **ignored** — fields that do not change the bill of metered consumption without generation
  (net-metering rules, sell rates, eligibility limits, free-text attributes). Each one present is
  listed in :attr:`ImportReport.ignored` with the reason;
* **refused** — charges privbill cannot bill exactly or privately (ratchets, reactive power,
  coincident demand, additional meters, annual minimums): a non-empty value raises
  :class:`TariffError` naming the field and the reason.

A field URDB does not define is refused: it might change the bill. Numbers are read as exact
decimals from the JSON text, never through binary floating point.

Supported charges:

* ``energyratestructure`` with ``energyweekdayschedule``/``energyweekendschedule`` — one tier
  per period (time-of-use), or tiers whose bounds are the same in every period and whose rates
  differ between periods by the same amount in every tier ("separable": period rate + tier
  adder). Tier units ``kWh`` (per month), ``kWh daily`` (scaled by the days billed),
  ``kWh/kW`` (hours-use tiers: widths per kW of the month's billing demand, whole hours, prices
  not increasing) and ``kWh/kW daily`` (the same per day billed). ``rate`` and ``adj`` are added.
* ``fixedchargefirstmeter`` in ``$/month`` or ``$/day`` (billed on the actual days), the legacy
  ``fixedmonthlycharge``; ``mincharge`` (or the legacy ``minmonthlycharge``) in ``$/month``.
* ``flatdemandstructure`` with ``flatdemandmonths`` and ``demandratestructure`` with the demand
  schedules, in kW, with tiers; ``demandwindow`` must equal the meter interval.

The range proofs of demand and hours-use charges bound one interval's consumption by ``2^bits``
Wh; imported tariffs use the description's default (32 bits: every reading a meter can sign), so
no customer is too large for the tariff. Prices needing more than 9 decimals of currency per kWh
are refused unless the caller asks for rounding, and the rounding is then reported.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, Final, Literal

from privbill.errors import TariffError

OBJ: Final = "URDB rate"
PRICE_QUANTUM: Final = Decimal("0.000000001")

Category = Literal["describes", "honoured", "ignored", "refused"]

_NET: Final = (
    "applies to energy the customer exports; privbill bills metered consumption, and a bill "
    "without generation does not depend on it"
)
_ELIGIBILITY: Final = "says who may take the rate, not what it charges"
_ATTRS: Final = (
    "free-text name/value notes (riders, conditional discounts, labels, now and then a charge the "
    "rate structure leaves out) that are not machine-readable; not applied (NREL's SAM ignores "
    "them too): check them against the utility's tariff sheet"
)
_RATCHET: Final = (
    "a ratchet or lookback bills a share of earlier months' peak demand, which stays hidden in "
    "earlier bills; it cannot be proven from this month's readings"
)

#: Every URDB API v8 field: its category and, for ignored and refused ones, why.
FIELDS: Final[dict[str, tuple[Category, str]]] = {
    # --- what the rate is, who publishes it, when it applies -----------------------------------
    "label": ("describes", "URDB identifier, kept in the description"),
    "uri": ("describes", "URDB page, kept in the description"),
    "utility": ("describes", "the tariff's utility"),
    "eiaid": ("describes", "EIA utility number"),
    "name": ("describes", "the tariff's name"),
    "startdate": ("describes", "first day: the tariff's valid_from unless given"),
    "enddate": ("describes", "last day: the tariff's valid_until unless given"),
    "supercedes": ("describes", "the URDB record this one replaces"),
    "supersedes": ("describes", "the URDB record this one replaces (older spelling)"),
    "sector": ("describes", "customer class"),
    "servicetype": ("describes", "bundled, energy or delivery service"),
    "description": ("describes", "applicability text"),
    "source": ("describes", "the utility's tariff sheet"),
    "sourceparent": ("describes", "the utility's tariff index"),
    "basicinformationcomments": ("describes", "comment"),
    "energycomments": ("describes", "comment"),
    "demandcomments": ("describes", "comment"),
    "approved": ("describes", "URDB review status"),
    "is_default": ("describes", "URDB default-rate flag"),
    "country": ("describes", "country"),
    "revisions": ("describes", "URDB edit history"),
    "latest_update": ("describes", "URDB edit time"),
    "voltagecategory": ("describes", "service voltage class"),
    "phasewiring": ("describes", "service wiring"),
    "energytoulabels": ("describes", "names of the energy periods, used as period names"),
    "demandtoulabels": ("describes", "names of the demand periods, used as window names"),
    "flatdemandtoulabels": ("describes", "names of the flat demand periods"),
    "coincidentratetoulabels": ("describes", "names of the coincident demand periods"),
    "fixedchargeunits": ("describes", "unit of fixedchargefirstmeter, checked"),
    "minchargeunits": ("describes", "unit of mincharge, checked"),
    "demandunits": ("describes", "unit of demand charges, checked"),
    "flatdemandunit": ("describes", "unit of flat demand charges, checked"),
    "demandrateunit": ("describes", "unit of time-of-use demand charges, checked"),
    "coincidentrateunit": ("describes", "unit of coincident demand charges"),
    "demandwindow": ("describes", "demand averaging minutes, must equal the meter interval"),
    # --- charges privbill bills ----------------------------------------------------------------
    "energyratestructure": ("honoured", "energy prices by period and tier"),
    "energyweekdayschedule": ("honoured", "energy periods of weekday hours"),
    "energyweekendschedule": ("honoured", "energy periods of weekend hours"),
    "fixedchargefirstmeter": ("honoured", "fixed charge per month or per day"),
    "fixedmonthlycharge": ("honoured", "fixed charge per month (legacy field)"),
    "mincharge": ("honoured", "minimum bill per month"),
    "minmonthlycharge": ("honoured", "minimum bill per month (legacy field)"),
    "flatdemandstructure": ("honoured", "demand charge over all hours, by season"),
    "flatdemandmonths": ("honoured", "season of each month for flat demand"),
    "demandratestructure": ("honoured", "time-of-use demand charges"),
    "demandweekdayschedule": ("honoured", "demand periods of weekday hours"),
    "demandweekendschedule": ("honoured", "demand periods of weekend hours"),
    # --- present in real records, no effect on a bill without generation ----------------------
    "usenetmetering": ("ignored", "net metering " + _NET),
    "dgrules": ("ignored", "the distributed-generation rule " + _NET),
    "peakkwcapacitymin": ("ignored", "eligibility by demand " + _ELIGIBILITY),
    "peakkwcapacitymax": ("ignored", "eligibility by demand " + _ELIGIBILITY),
    "peakkwcapacityhistory": ("ignored", "eligibility by demand " + _ELIGIBILITY),
    "peakkwhusagemin": ("ignored", "eligibility by consumption " + _ELIGIBILITY),
    "peakkwhusagemax": ("ignored", "eligibility by consumption " + _ELIGIBILITY),
    "peakkwhusagehistory": ("ignored", "eligibility by consumption " + _ELIGIBILITY),
    "voltageminimum": ("ignored", "eligibility by voltage " + _ELIGIBILITY),
    "voltagemaximum": ("ignored", "eligibility by voltage " + _ELIGIBILITY),
    "energyattrs": ("ignored", _ATTRS),
    "demandattrs": ("ignored", _ATTRS),
    "fixedattrs": ("ignored", _ATTRS),
    "lookbackrange": ("ignored", "months of a lookback, meaningful only with lookbackpercent"),
    # --- charges privbill refuses ----------------------------------------------------------------
    "demandratchetpercentage": ("refused", _RATCHET),
    "lookbackpercent": ("refused", _RATCHET),
    "lookbackmonths": ("refused", _RATCHET),
    "demandreactivepowercharge": (
        "refused",
        "reactive power (kVAR) charges need reactive-energy readings, which privbill meters do "
        "not commit to",
    ),
    "coincidentratestructure": (
        "refused",
        "coincident demand is the customer's demand in the utility's system-peak interval, which "
        "the record does not name; charging the largest demand of the scheduled hours instead "
        "could overcharge",
    ),
    "coincidentrateschedule": ("refused", "schedule of coincident demand charges (see above)"),
    "coincidentschedule": ("refused", "schedule of coincident demand charges (older name)"),
    "fixedchargeeaaddl": (
        "refused",
        "a fixed charge per additional meter is not part of privbill's tariff model",
    ),
    "annualmincharge": (
        "refused",
        "an annual minimum depends on the other months' bills, which a monthly bill cannot see",
    ),
    "demandminimum": (
        "refused",
        "a minimum billing demand is not part of privbill's demand charge",
    ),
}


@dataclass
class ImportReport:
    """What the importer did that a person should know about: prices rounded on request, how
    charges were mapped, and every field present that changes nothing in the bill (with why)."""

    rounded: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    ignored: list[str] = field(default_factory=list)


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
    """No charge: null, zero, false, empty text or containers, or containers of such."""
    if isinstance(v, list):
        return all(_is_empty(x) for x in v)
    if isinstance(v, dict):
        return all(_is_empty(x) for x in v.values())
    return v is None or v is False or v == 0 or v == ""


def _decimal(v: Any, where: str) -> Decimal:
    if isinstance(v, bool) or not isinstance(v, Decimal | int | str):
        raise _err(where, "expected a number")
    try:
        return Decimal(v)
    except ArithmeticError:
        raise _err(where, "expected a number") from None


def _text(v: Decimal) -> str:
    return format(v.normalize(), "f")


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
    return _text(q)


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


def _labels(rate: dict[str, Any], key: str, n: int, default: str) -> list[str]:
    """Period names from a URDB label list when it has one short text per period."""
    labels = rate.get(key)
    if (
        isinstance(labels, list)
        and len(labels) == n
        and all(isinstance(x, str) and 0 < len(x.strip()) <= 64 for x in labels)
        and len({x.strip() for x in labels}) == n
    ):
        return [x.strip() for x in labels]
    return [f"{default} {p}" for p in range(n)]


_ENERGY_UNITS: Final = ("kWh", "kWh daily", "kWh/kW", "kWh/kW daily")


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
    sells: list[str] = []
    for p, tiers in enumerate(structure):
        row_r, row_b = [], []
        for t, tier in enumerate(tiers):
            w = f"{where}[{p}][{t}]"
            for key in tier:
                if key not in ("rate", "adj", "max", "unit", "sell"):
                    raise _err(f"{w}.{key}", "unknown tier field; refusing rather than ignoring it")
            if not _is_empty(tier.get("sell")):
                _decimal(tier["sell"], f"{w}.sell")
                sells.append(w)
            unit = tier.get("unit", "kWh")
            if unit not in _ENERGY_UNITS:
                raise _err(
                    f"{w}.unit",
                    f"tier unit {unit!r} is not supported ({', '.join(_ENERGY_UNITS)})",
                )
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
    if sells:
        report.ignored.append(
            f"{where}[…].sell ({len(sells)} tiers): sell rates price exported energy; "
            "privbill bills metered consumption, and a bill without generation does not use them"
        )
    if len(units) > 1:
        raise _err(where, f"tiers mix units {sorted(units)}; privbill needs one unit")
    unit = units.pop()
    tiered = any(len(r) > 1 for r in rates)
    components: list[dict[str, Any]] = []
    base = [r[0] for r in rates]
    if tiered:
        if any(b != bounds[0] for b in bounds):
            raise _err(
                where,
                "tier bounds differ between periods; privbill supports tiers on the month's total "
                "consumption with the same bounds in every period",
            )
        adders = [r - rates[0][0] for r in rates[0]]
        for p, r in enumerate(rates):
            if [r[j] - r[0] for j in range(len(r))] != adders:
                raise _err(
                    f"{where}[{p}]",
                    "tier rates differ between periods by different amounts: the bill would depend "
                    "on when in the month each tier is reached, which privbill cannot prove",
                )
        if unit in ("kWh/kW", "kWh/kW daily"):
            components.append(
                _hours_use(bounds[0], adders, report, allow_rounding, unit == "kWh/kW daily")
            )
        else:
            components.append(
                {
                    "kind": "tiered",
                    "name": "energy tiers",
                    "periods": None,
                    "unit": "day" if unit == "kWh daily" else "month",
                    "tiers": [
                        {
                            "up_to_kwh": None if b is None else _text(b),
                            "price": _price_text(
                                a, f"{where}[*][{j}] (tier adder)", report, allow_rounding
                            ),
                        }
                        for j, (b, a) in enumerate(zip(bounds[0], adders, strict=True))
                    ],
                }
            )
        report.notes.append(
            "tiers apply to the month's total consumption; each period's first-tier rate is its "
            "time-of-use price and higher tiers add the same amount in every period"
        )
    names = _labels(rate, "energytoulabels", n, "period")
    periods = [
        {"name": names[p], "price": _price_text(b, f"{where}[{p}][0]", report, allow_rounding)}
        for p, b in enumerate(base)
    ]
    energy = {
        "kind": "time-of-use",
        "periods": periods,
        "weekday_schedule": weekday,
        "weekend_schedule": weekend,
    }
    return energy, components


def _hours_use(
    bounds: list[Decimal | None],
    adders: list[Decimal],
    report: ImportReport,
    allow_rounding: bool,
    per_day: bool,
) -> dict[str, Any]:
    """Tiers in kWh per kW of the month's billing demand (per day of it with ``per_day``): the
    hours-use component."""
    where = "energyratestructure"
    tiers = []
    for j, (b, a) in enumerate(zip(bounds, adders, strict=True)):
        if b is not None and (b != b.to_integral_value() or b <= 0):
            raise _err(
                f"{where}[*][{j}].max",
                f"{b} kWh per kW: privbill's hours-use tier bounds are whole kWh per kW",
            )
        if j and a > adders[j - 1]:
            raise _err(
                f"{where}[*][{j}].rate",
                "hours-use (kWh/kW) tiers must not get dearer from one tier to the next: a dearer "
                "later tier would reward overstating the billing demand, which the proof cannot "
                "exclude",
            )
        tiers.append(
            {
                "up_to_kwh_per_kw": None if b is None else _text(b),
                "price": _price_text(a, f"{where}[*][{j}] (tier adder)", report, allow_rounding),
            }
        )
    report.notes.append(
        "kWh/kW tiers are hours-use tiers: their widths are multiples of the month's billing "
        "demand (largest interval demand over all hours"
        + (", times the days billed" if per_day else "")
        + "), which stays hidden with the consumption"
    )
    return {
        "kind": "hours-use",
        "name": "energy by hours use",
        "periods": None,
        "unit": "day" if per_day else "month",
        "tiers": tiers,
    }


def _demand_tiers(
    tiers: list[dict[str, Any]], where: str, report: ImportReport, allow_rounding: bool
) -> list[dict[str, Any]]:
    out = []
    for t, tier in enumerate(tiers):
        w = f"{where}[{t}]"
        for key in tier:
            if key not in ("rate", "adj", "max", "unit"):
                raise _err(f"{w}.{key}", "unknown tier field; refusing rather than ignoring it")
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
                "up_to_kw": None if last or mx is None else _text(_decimal(mx, f"{w}.max")),
                "price_per_kw": _price_text(price, w, report, allow_rounding),
            }
        )
    return out


def _demand(
    rate: dict[str, Any], report: ImportReport, allow_rounding: bool, interval_minutes: int
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
        names = _labels(rate, "flatdemandtoulabels", len(structure), "flat period")
        comps.append(
            {
                "kind": "demand",
                "name": "flat demand",
                "windows": [
                    {
                        "name": names[p],
                        "tiers": _demand_tiers(
                            t, f"flatdemandstructure[{p}]", report, allow_rounding
                        ),
                    }
                    for p, t in enumerate(structure)
                ],
                "weekday_schedule": table,
                "weekend_schedule": table,
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
        names = _labels(rate, "demandtoulabels", n, "demand period")
        comps.append(
            {
                "kind": "demand",
                "name": "time-of-use demand",
                "windows": [
                    {
                        "name": names[p],
                        "tiers": _demand_tiers(
                            t, f"demandratestructure[{p}]", report, allow_rounding
                        ),
                    }
                    for p, t in enumerate(structure)
                ],
                "weekday_schedule": wd,
                "weekend_schedule": we,
            }
        )
    return comps


def _fixed(rate: dict[str, Any]) -> dict[str, str]:
    fixed: dict[str, str] = {}
    fc = rate.get("fixedchargefirstmeter")
    legacy = rate.get("fixedmonthlycharge")
    if not _is_empty(fc):
        unit = rate.get("fixedchargeunits", "$/month")
        amount = _decimal(fc, "fixedchargefirstmeter")
        if unit == "$/month":
            fixed["per_month"] = _text(amount)
        elif unit == "$/day":
            fixed["per_day"] = _text(amount)
        else:
            raise _err(
                "fixedchargeunits",
                f"fixed charge unit {unit!r} is not supported ($/month or $/day)",
            )
        if not _is_empty(legacy) and (
            unit != "$/month" or _decimal(legacy, "fixedmonthlycharge") != amount
        ):
            raise _err(
                "fixedmonthlycharge",
                "the legacy monthly fixed charge contradicts fixedchargefirstmeter",
            )
    elif not _is_empty(legacy):
        fixed["per_month"] = _text(_decimal(legacy, "fixedmonthlycharge"))
    return fixed


def _minimum(rate: dict[str, Any]) -> list[dict[str, Any]]:
    mc = rate.get("mincharge")
    legacy = rate.get("minmonthlycharge")
    if not _is_empty(mc):
        unit = rate.get("minchargeunits", "$/month")
        if unit != "$/month":
            raise _err("minchargeunits", f"minimum charge unit {unit!r} is not supported ($/month)")
        amount = _decimal(mc, "mincharge")
        if not _is_empty(legacy) and _decimal(legacy, "minmonthlycharge") != amount:
            raise _err("minmonthlycharge", "the legacy monthly minimum contradicts mincharge")
    elif not _is_empty(legacy):
        amount = _decimal(legacy, "minmonthlycharge")
    else:
        return []
    if amount < 0:
        raise _err("mincharge", "a negative minimum bill is not a minimum")
    return [{"kind": "minimum", "per_month": _text(amount)}]


def _classify(rate: dict[str, Any], report: ImportReport) -> None:
    """Refuse unknown fields and charges privbill cannot bill; report ignored ones."""
    for key, value in rate.items():
        kind = FIELDS.get(key)
        if kind is None:
            raise _err(key, "not a URDB v8 field; refusing rather than ignoring it")
        category, reason = kind
        if _is_empty(value):
            continue
        if category == "refused":
            if key in ("coincidentrateschedule", "coincidentschedule") and _is_empty(
                rate.get("coincidentratestructure")
            ):
                report.ignored.append(f"{key}: no coincident charge (empty structure)")
                continue
            raise _err(key, f"not supported: {reason}")
        if category == "ignored":
            if key in ("energyattrs", "demandattrs", "fixedattrs"):
                reason += f" — {json.dumps(value, default=str, ensure_ascii=False)[:300]}"
            report.ignored.append(f"{key}: {reason}")


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
) -> tuple[dict[str, Any], ImportReport]:
    """A privbill tariff description for ``rate``; raises :class:`TariffError` naming any field
    it cannot honour, and reports the fields it ignores with the reason."""
    report = ImportReport()
    _classify(rate, report)
    if _is_empty(rate.get("energyratestructure")):
        raise _err("energyratestructure", "a rate without energy charges is not supported")
    energy, components = _energy(rate, report, allow_rounding)
    components += _demand(rate, report, allow_rounding, interval_minutes)
    components += _minimum(rate)
    fixed = _fixed(rate)
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
