"""Test helpers for time-of-use energy registers: tariffs, and meters recording day by day."""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from helpers import demo_description
from privbill.billing.cleartext import MeterReadings, cleartext_bill
from privbill.billing.prover import MeterInput
from privbill.crypto.signatures import SigningKey
from privbill.meter import Meter, Recording
from privbill.model.energy_registers import EnergyRegisters, RegisterConfig
from privbill.model.periods import BillingPeriod, local_midnight, zone
from privbill.model.sealed import SealedReadings
from privbill.model.tariffs import SignedTariff, TariffBody
from privbill.provider import DEFAULT_VALID_FROM, DEFAULT_VALID_UNTIL, Provider

TZ = "America/Denver"
HOUR = 3600


def tou_description(**extra: Any) -> dict[str, Any]:
    """The demo's residential time-of-use tariff (six periods, seasons, holidays)."""
    return {**demo_description(), **extra}


def other_calendar_description() -> dict[str, Any]:
    """The same prices with on-peak moved to the morning: another calendar."""
    desc = tou_description(name="morning peak")
    rows = desc["energy"]["weekday_schedule"]
    desc["energy"] = {
        **desc["energy"],
        "weekday_schedule": [[r[(h + 8) % 24] for h in range(24)] for r in rows],
    }
    return desc


def sign(provider: Provider, desc: dict[str, Any]) -> SignedTariff:
    return provider.sign_tariff(TariffBody.from_description(desc))


def day_index(day: str, interval: int = HOUR) -> int:
    return local_midnight(date.fromisoformat(day), zone(TZ)) // interval


@dataclass
class Recorder:
    """A meter with energy registers and everything it handed out."""

    meter: Meter
    values: dict[int, int] = field(default_factory=dict)
    recordings: list[Recording] = field(default_factory=list)
    extra_statements: list[EnergyRegisters] = field(default_factory=list)

    @property
    def cert(self) -> Any:
        return self.meter.certificate

    def record_days(
        self,
        first_day: str,
        end_day: str,
        seed: int = 0,
        hi: int = 2500,
        value: Callable[[int], int] | None = None,
    ) -> None:
        """Readings from local midnight of ``first_day`` until that of ``end_day`` (random, or
        ``value(k)`` for interval ``k``), one recording per day."""
        step = self.meter.interval_s
        a, b = day_index(first_day, step), day_index(end_day, step)
        rng = random.Random(seed)
        per_day = 86400 // step
        for lo in range(a, b, per_day):
            batch = [
                (k, rng.randrange(0, hi) if value is None else value(k))
                for k in range(lo, min(lo + per_day, b))
            ]
            self.values.update(batch)
            self.recordings.append(self.meter.record(batch))

    @property
    def statements(self) -> list[EnergyRegisters]:
        return [s for r in self.recordings for s in r.energy_registers] + self.extra_statements

    def sealed(self, *, statements: list[EnergyRegisters] | None = None) -> SealedReadings:
        runs = tuple(r for rec in self.recordings for r in rec.runs)
        regs = tuple(g for rec in self.recordings for g in rec.registers)
        chosen = self.statements if statements is None else statements
        return SealedReadings(self.cert, runs, regs, tuple(chosen))

    def input(self, *, statements: list[EnergyRegisters] | None = None) -> MeterInput:
        return MeterInput(
            self.sealed(statements=statements),
            [rec.openings for rec in self.recordings],
            self.meter.opening_key,
            [o for rec in self.recordings for o in rec.register_openings],
        )

    def readings(self, period: BillingPeriod) -> MeterReadings:
        first, count = period.intervals(self.meter.interval_s)
        return MeterReadings(
            self.meter.interval_s, first, [self.values[k] for k in range(first, first + count)]
        )


def new_meter(
    provider: Provider,
    config: RegisterConfig | None,
    *,
    meter_id: str = "m-1",
    account: str = "acct-1",
    interval: int = HOUR,
    valid_from: int = DEFAULT_VALID_FROM,
    valid_until: int = DEFAULT_VALID_UNTIL,
    opening_key: bytes | None = None,
    **meter_kw: Any,
) -> Recorder:
    key = SigningKey.generate()
    cert = provider.certify_meter(
        meter_id,
        account,
        key.public_key(),
        interval_s=interval,
        valid_from=valid_from,
        valid_until=valid_until,
    )
    meter = Meter(
        cert, key, "day", TZ, opening_key=opening_key, energy_registers=config, **meter_kw
    )
    return Recorder(meter)


def cleartext_total(tariff: SignedTariff, readings: list[MeterReadings], period: Any) -> int:
    return cleartext_bill(tariff.body, readings, period).total
