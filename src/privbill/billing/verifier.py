"""Verification of whole payment messages, by the provider or anyone holding public keys.

Order of checks (``docs/protocol.md`` §Verification follows it):

1. decode strictly (:class:`DecodeError`);
2. the tariff: provider signature, hash bound into the bill, valid for the whole period;
3. per meter: certificate signature, account, validity; seal structure (coverage, sequence, chain);
   meter signature on every seal; commitments match the seal;
4. decode the commitments (canonical, on the curve, not the identity);
5. the fee: ``Σ p_i·C_i`` over all meters equals ``(total − fixed)·G + R·H``.
"""

from __future__ import annotations

import time

import cbor2

from privbill.billing import components, coverage, demand, energy, register_bill
from privbill.billing.load_range import meter_bound
from privbill.billing.verified import (
    MeterSummary,
    MeterSummaryJSON,
    PeriodJSON,
    VerifiedBill,
    VerifiedBillJSON,
)
from privbill.crypto import group
from privbill.crypto.group import Point
from privbill.crypto.signatures import VerifyingKey
from privbill.errors import (
    CertificateError,
    CoverageError,
    DecodeError,
    FeeMismatchError,
    TariffMismatchError,
    UsageError,
)
from privbill.model.bills import OBJ, PaymentMessage
from privbill.model.components import Lookup
from privbill.model.periods import BillingPeriod
from privbill.model.register_bills import Bill, RegisterBill, decode_bill
from privbill.model.tariffs import SignedTariff


def check_tariff(
    msg: Bill,
    tariff: SignedTariff,
    provider: VerifyingKey,
    account: str | None,
    period: BillingPeriod | None,
) -> None:
    """Step 2 of verification, for either payment message: the tariff's signature, its hash in
    the bill, the expected account and period, and the tariff's validity for the period."""
    tariff.verify(provider)
    if msg.tariff_hash != tariff.hash():
        raise TariffMismatchError(
            "bill was made under another tariff", obj=OBJ, field="tariff_hash"
        )
    if account is not None and msg.account != account:
        raise CertificateError(
            f"bill is for account {msg.account!r}, not {account!r}", obj=OBJ, field="account"
        )
    if period is not None and msg.period != period:
        tz = tariff.body.tz
        raise CoverageError(
            f"bill is for another billing period: {msg.period.label(tz)}, not {period.label(tz)}",
            obj=OBJ,
            field="period",
        )
    tariff.check_period(msg.period)


def verify_bill(
    message: bytes | PaymentMessage | RegisterBill,
    tariff: SignedTariff,
    provider: VerifyingKey,
    *,
    account: str | None = None,
    period: BillingPeriod | None = None,
    check_subgroup: bool = False,
) -> VerifiedBill:
    """Verify a payment message — per reading (``privbill/bill/1``) or from energy registers
    (``privbill/register-bill/1``, :mod:`privbill.billing.register_bill`) — and return what it
    proves, or raise a typed error.

    ``account`` and ``period``, when given, must match the message (a provider checks that the
    bill is the one it asked for). ``check_subgroup`` adds the prime-order-subgroup check on every
    sealed commitment, which a verified seal makes redundant (``docs/security.md``).
    """
    t0 = time.perf_counter()
    # A message given as an object is verified through its canonical bytes, exactly as one
    # received over the wire. The group equation of the total decides the integer equation only
    # because the decoder keeps the total within 64 bits; an object could carry a total off by a
    # multiple of the group order (a hugely negative bill) whose commitment is the same point.
    if isinstance(message, bytes):
        encoded = message
    else:
        try:
            encoded = message.encode()
        except (ValueError, TypeError, OverflowError, cbor2.CBOREncodeError) as exc:
            raise DecodeError(f"not encodable: {exc}", obj=OBJ) from None
    decoded = decode_bill(encoded)
    check_tariff(decoded, tariff, provider, account, period)
    if isinstance(decoded, RegisterBill):
        return register_bill.verify(encoded, decoded, tariff, provider, check_subgroup, t0)
    msg = decoded
    body = tariff.body

    seen: set[str] = set()
    all_points: list[Point] = []
    all_prices: list[int] = []
    meter_data: list[components.MeterData] = []
    needs_attributes = any(isinstance(c, Lookup) for c in body.components)
    summaries: list[MeterSummary] = []
    for m, section in enumerate(msg.meters):
        path = f"meters[{m}]"
        cert = section.certificate
        coverage.check_certificate(cert, provider, msg.account, seen, path, OBJ)
        try:
            first, count = msg.period.intervals(cert.interval_s)
        except UsageError as exc:
            raise CoverageError(exc.detail, obj=OBJ, field="period") from None
        sealed = coverage.check_evidence(
            cert,
            section.runs,
            first,
            count,
            path=path,
            obj=OBJ,
            tz=tariff.body.tz,
            points="subgroup" if check_subgroup else "curve",
            attributes=needs_attributes,
        )
        for k, reg in enumerate(section.registers):
            reg.check(cert, msg.period, f"{path}.registers[{k}]")
        points, apoints = sealed.points, sealed.attributes
        all_points.extend(points)
        meter_data.append(
            components.MeterData(
                cert.meter_id,
                cert.interval_s,
                cert.attributes,
                points,
                apoints,
                channel=cert.channel,
                max_wh=meter_bound(cert),
            )
        )
        all_prices.extend(body.prices(first, count, cert.interval_s))
        runs = section.runs
        summaries.append(
            MeterSummary(
                cert.meter_id,
                count,
                len(runs),
                runs[0].seal.seq,
                runs[-1].seal.seq,
                runs[0].seal.prev,
                runs[-1].seal.chain_hash(),
            )
        )

    fixed = tariff.fixed_charges(msg.period)
    commitment = energy.fee_commitment(all_prices, all_points)
    if body.components:
        ids = [m.meter_id for m in summaries]
        contexts = [
            components.context(msg.tariff_hash, msg.account, msg.period, ids, i)
            for i in range(len(body.components))
        ]
        components.verify_all(
            body,
            msg.period,
            meter_data,
            contexts,
            msg.components,
            commitment + group.mul(group.generator(), fixed),
            msg.total_fee,
            msg.blinding,
            demand.bill_registers(msg.meters),
        )
    else:
        if msg.components:
            raise DecodeError("the tariff has no components to prove", obj=OBJ, field="components")
        if not energy.verify(msg.total_fee - fixed, msg.blinding, commitment):
            raise FeeMismatchError(
                "total fee does not match the committed readings and the tariff",
                obj=OBJ,
                field="total_fee",
            )
    return VerifiedBill(
        account=msg.account,
        period=msg.period,
        period_label=msg.period.label(body.tz),
        tariff_hash=msg.tariff_hash,
        bill_hash=PaymentMessage.hash_of(encoded),
        currency=body.currency,
        minor_unit=body.minor_unit,
        total_fee=msg.total_fee,
        fixed_fee=fixed,
        meters=tuple(summaries),
        seconds=time.perf_counter() - t0,
    )


__all__ = [
    "MeterSummary",
    "MeterSummaryJSON",
    "PeriodJSON",
    "VerifiedBill",
    "VerifiedBillJSON",
    "check_tariff",
    "verify_bill",
]
