"""Reference bills from NREL's System Advisor Model (PySAM Utilityrate5) for a URDB rate.

The SAM inputs are built from the URDB JSON directly, independently of privbill's importer.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

BIG = 1e38
UNIT_CODES = {"kWh": 0, "kWh/kW": 1, "kWh daily": 2, "kWh/kW daily": 3}
#: SAM takes fixed charges per month only; a $/day charge enters as 365/12 days' worth.
DAYS_PER_MONTH = 365 / 12


def _f(v: Any) -> float:
    return float(Decimal(str(v)))


def sam_monthly_bills(rate: dict[str, Any], load_kw: list[float]) -> list[float]:
    """Monthly bills (USD) of a year of load (kW per step, 8760·k steps) under ``rate``."""
    import PySAM.Utilityrate5 as ur

    m = ur.new()
    er = m.ElectricityRates
    ec = []
    for p, tiers in enumerate(rate["energyratestructure"], start=1):
        for t, tier in enumerate(tiers, start=1):
            price = _f(tier.get("rate", 0)) + _f(tier.get("adj", 0))
            mx = _f(tier["max"]) if "max" in tier and t < len(tiers) else BIG
            ec.append([p, t, mx, UNIT_CODES[tier.get("unit", "kWh")], price, 0.0])
    er.ur_ec_tou_mat = ec
    er.ur_ec_sched_weekday = [[p + 1 for p in row] for row in rate["energyweekdayschedule"]]
    weekend = rate.get("energyweekendschedule", rate["energyweekdayschedule"])
    er.ur_ec_sched_weekend = [[p + 1 for p in row] for row in weekend]
    er.ur_metering_option = 4
    fixed = _f(rate.get("fixedchargefirstmeter") or rate.get("fixedmonthlycharge") or 0)
    if rate.get("fixedchargeunits", "$/month") == "$/day":
        fixed *= DAYS_PER_MONTH
    else:
        assert rate.get("fixedchargeunits", "$/month") == "$/month"
    er.ur_monthly_fixed_charge = fixed
    er.ur_monthly_min_charge = _f(rate.get("mincharge") or rate.get("minmonthlycharge") or 0)
    er.ur_annual_min_charge = 0.0
    flat = rate.get("flatdemandstructure")
    tou = rate.get("demandratestructure")
    er.ur_dc_enable = 1 if (flat or tou) else 0
    if flat:
        months = rate.get("flatdemandmonths", [0] * 12)
        mat = []
        for month in range(12):
            tiers = flat[months[month]]
            for t, tier in enumerate(tiers, start=1):
                mx = _f(tier["max"]) if "max" in tier and t < len(tiers) else BIG
                mat.append([month, t, mx, _f(tier.get("rate", 0)) + _f(tier.get("adj", 0))])
        er.ur_dc_flat_mat = mat
    else:
        er.ur_dc_flat_mat = [[month, 1, BIG, 0.0] for month in range(12)]
    if tou:
        mat = []
        for p, tiers in enumerate(tou, start=1):
            for t, tier in enumerate(tiers, start=1):
                mx = _f(tier["max"]) if "max" in tier and t < len(tiers) else BIG
                mat.append([p, t, mx, _f(tier.get("rate", 0)) + _f(tier.get("adj", 0))])
        er.ur_dc_tou_mat = mat
        er.ur_dc_sched_weekday = [[p + 1 for p in row] for row in rate["demandweekdayschedule"]]
        er.ur_dc_sched_weekend = [[p + 1 for p in row] for row in rate["demandweekendschedule"]]
    else:
        er.ur_dc_tou_mat = [[1, 1, BIG, 0.0]]
        er.ur_dc_sched_weekday = [[1] * 24 for _ in range(12)]
        er.ur_dc_sched_weekend = [[1] * 24 for _ in range(12)]
    er.en_electricity_rates = 1
    er.rate_escalation = [0]
    m.Lifetime.analysis_period = 1
    m.Lifetime.system_use_lifetime_output = 0
    m.Lifetime.inflation_rate = 0
    m.SystemOutput.degradation = [0]
    m.Load.load = load_kw
    m.Load.load_escalation = [0]
    m.SystemOutput.gen = [0.0] * len(load_kw)
    m.execute()
    return list(m.Outputs.utility_bill_w_sys_ym[1][:12])
