"""Demand charge on the largest interval demand of each window, the maximum hidden.

Statement, per window with intervals ``W``: a commitment ``C_M`` to ``M`` with ``M − c_i ∈
[0, 2^bits)`` for every ``i ∈ W`` (one aggregated range proof over the commitments
``C_M − C_i``, which the verifier derives), so ``M ≥ max c_i``. In a bill, where the intervals
of another window lie inside ``W`` its peak stands for them (:mod:`privbill.billing.peaks`:
``M − M_V`` once instead of ``M − c_i`` for each). The demand in W is
``f·M`` with ``f = 3600 / interval seconds``; the fee is the tier fee of ``f·M``: for one tier
the fee commitment is ``p·f·C_M``, for several the tier parts of :mod:`privbill.billing.tiers`.

A larger ``M`` only raises the fee (demand prices are not negative), so proving ``M ≥ c_i``
suffices for the provider: the customer cannot pay less than the true maximum demand costs, and
has no reason to claim more. ``M`` itself stays hidden.

Register path (``*_with_registers``): when the bill has a single meter whose section carries a
demand register (``model/registers.py``) for the billing month and the component's schedule, the
register's commitment for the window *is* ``C_M`` — the meter vouches for the maximum as it does
for each reading — and the window needs no range proof. The verifier checks the register's meter
id, month, meter signature and schedule hash, then uses the commitment. Bills with several
meters (whose load is a sum no single meter saw) use the range proof.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace

from privbill.billing import tiers
from privbill.billing.components import ChargeContext, LoadView
from privbill.billing.peaks import Key, PeakSet, ProvedPeak, prove_peaks
from privbill.billing.range_batch import RangeBatch
from privbill.crypto import bulletproofs, group, pedersen
from privbill.crypto.group import Point
from privbill.errors import (
    CommitmentError,
    DecodeError,
    OpeningError,
    TariffMismatchError,
)
from privbill.model.bills import MeterSection
from privbill.model.certificates import MeterCertificate
from privbill.model.component_proofs import (
    OBJ,
    DemandProof,
    PartsProof,
    RegisterWindowProof,
    WindowProof,
)
from privbill.model.components import Demand, Tier
from privbill.model.periods import BillingPeriod
from privbill.model.registers import (
    DemandRegister,
    RegisterEntry,
    RegisterOpenings,
    schedule_hash_for,
)
from privbill.model.tariffs import TariffBody


def _charged(component: Demand, w: int, idx: Sequence[int]) -> bool:
    """A window needs a proof only if it has intervals in the period and a non-zero price."""
    return bool(idx) and any(t.price for t in component.windows[w].tiers)


def _window_context(context: bytes, w: int) -> bytes:
    return context + b"/window/" + w.to_bytes(2, "big")


def _window_fee(
    component: Demand, w: int, f: int, peak: int, r_peak: int, ctx: bytes
) -> tuple[PartsProof | None, int, int]:
    """Tier parts (several tiers only), fee and fee blinding of a window with maximum ``peak``
    committed under ``r_peak``."""
    win = component.windows[w]
    if len(win.tiers) == 1:
        price = win.tiers[0].price
        return None, price * f * peak, price * f * r_peak
    return tiers.prove(win.tiers, f * peak, f * r_peak % group.ORDER, 1, ctx)


def peak_sets(
    component: Demand,
    windows: Sequence[Sequence[int]],
    context: bytes,
    index: int = 0,
    proof: DemandProof | None = None,
    path: str = "",
) -> list[PeakSet]:
    """The component's range-proven windows (:mod:`privbill.billing.peaks`): for the prover
    (``proof`` None) every charged window; for the verifier the charged windows the proof
    proves by range proof, with their decoded peaks (a :class:`DecodeError` naming the field
    if the proof's windows or a peak are malformed)."""
    if proof is None:
        return [
            PeakSet((index, w), idx, component.bits, _window_context(context, w), "demand")
            for w, idx in enumerate(windows)
            if _charged(component, w, idx)
        ]
    return [
        PeakSet(
            (index, w),
            idx,
            component.bits,
            _window_context(context, w),
            "demand",
            _decode_peak(wp, f"{path}.windows[{w}]"),
        )
        for w, idx, wp in _charged_entries(component, windows, proof, path)
        if isinstance(wp, WindowProof)
    ]


def prove(
    component: Demand,
    values: Sequence[int],
    blindings: Sequence[int],
    windows: Sequence[Sequence[int]],
    interval_s: int,
    context: bytes,
    peaks: Mapping[Key, ProvedPeak] | None = None,
    index: int = 0,
) -> tuple[DemandProof, int, int]:
    """``(proof, fee, fee blinding)``. ``peaks``: the bill's proven peaks (keyed by component
    ``index`` and window; :func:`privbill.billing.peaks.prove_peaks`); without them the
    component proves its own windows, which never overlap one another."""
    if peaks is None:
        peaks = prove_peaks(peak_sets(component, windows, context, index), values, blindings)
    f = 3600 // interval_s
    fee, fee_blinding = 0, 0
    proofs: list[WindowProof | None] = []
    for w, idx in enumerate(windows):
        if not _charged(component, w, idx):
            proofs.append(None)
            continue
        pk = peaks[(index, w)]
        ctx = _window_context(context, w)
        parts, wfee, wblind = _window_fee(component, w, f, pk.value, pk.blinding, ctx)
        fee += wfee
        fee_blinding += wblind
        proofs.append(WindowProof(group.encode_point(pk.commitment), pk.ranges, parts))
    return DemandProof(tuple(proofs)), fee, fee_blinding % group.ORDER


def verify(
    component: Demand,
    points: Sequence[Point],
    windows: Sequence[Sequence[int]],
    interval_s: int,
    context: bytes,
    proof: DemandProof,
    path: str,
    batch: RangeBatch | None = None,
    shared: SharedPeaks | None = None,
) -> Point:
    """The window fees' commitment sum. With ``batch``, the peak range proofs and the tier checks
    that rely on them are queued there and their fee commitments come from ``batch.settle()``;
    the returned point then holds only the single-tier windows' fees. ``shared``: the bill's
    peak statements (:func:`privbill.billing.peaks.peak_differences`) and this component's
    index; without, each window bounds all its intervals."""
    return _verify(
        component, points, windows, interval_s, context, proof, path, None, batch, shared
    )


@dataclass(frozen=True, slots=True)
class SharedPeaks:
    """The verifier's statements of the bill's range-proven windows, and which component this
    is among them."""

    differences: Mapping[Key, list[Point]]
    index: int


_RegisterPeak = Callable[[RegisterWindowProof, int, str], Point]


def _verify(
    component: Demand,
    points: Sequence[Point],
    windows: Sequence[Sequence[int]],
    interval_s: int,
    context: bytes,
    proof: DemandProof,
    path: str,
    register_peak: _RegisterPeak | None,
    batch: RangeBatch | None,
    shared: SharedPeaks | None = None,
) -> Point:
    own = RangeBatch() if batch is None else batch
    f = 3600 // interval_s
    fee_commitments: list[Point] = []
    # The windows' peak range proofs go to the batch (one MSM for the whole bill); the tier
    # parts are checked after them, once every peak is known to bound its window's load.
    for w, idx, wp in _charged_entries(component, windows, proof, path):
        wpath = f"{path}.windows[{w}]"
        ctx = _window_context(context, w)
        if isinstance(wp, RegisterWindowProof):
            if register_peak is None:
                raise DecodeError(
                    "a window proven by register needs a single-meter bill carrying registers",
                    obj=OBJ,
                    field=f"{wpath}.register",
                )
            c_peak = register_peak(wp, w, wpath)
            parts = wp.tiers
        else:
            c_peak = _decode_peak(wp, wpath)
            key = (0 if shared is None else shared.index, w)
            if shared is not None and key in shared.differences:
                diffs = shared.differences[key]
            else:
                diffs = [c_peak - points[k] for k in idx]
            own.add_chunked(
                bulletproofs.chunked_values_statements(diffs, component.bits, context=ctx),
                wp.ranges,
                obj=OBJ,
                field=f"{wpath}.ranges",
                message="peak range proof does not verify",
            )
            parts = wp.tiers
        win = component.windows[w]
        if len(win.tiers) == 1:
            if parts is not None:
                raise DecodeError(
                    "a single-tier window carries no tier parts", obj=OBJ, field=f"{wpath}.tiers"
                )
            fee_commitments.append(group.mul(c_peak, win.tiers[0].price * f))
        else:
            if parts is None:
                raise DecodeError("missing tier parts", obj=OBJ, field=f"{wpath}.tiers")
            own.after(_tier_check(win.tiers, group.mul(c_peak, f), ctx, parts, f"{wpath}.tiers"))
    if batch is None:
        fee_commitments += own.settle()
    return group.point_sum(fee_commitments)


def _charged_entries(
    component: Demand, windows: Sequence[Sequence[int]], proof: DemandProof, path: str
) -> list[tuple[int, Sequence[int], WindowProof | RegisterWindowProof]]:
    """The proof's entries of the charged windows (window, its intervals, its proof), after
    checking that the proof has one entry per window, none for a window that charges nothing and
    one for every window that does."""
    if len(proof.windows) != len(component.windows):
        raise DecodeError(
            f"expected {len(component.windows)} windows", obj=OBJ, field=f"{path}.windows"
        )
    out: list[tuple[int, Sequence[int], WindowProof | RegisterWindowProof]] = []
    for w, (idx, wp) in enumerate(zip(windows, proof.windows, strict=True)):
        wpath = f"{path}.windows[{w}]"
        if not _charged(component, w, idx):
            if wp is not None:
                raise DecodeError(
                    "this window charges nothing in the period: no proof", obj=OBJ, field=wpath
                )
            continue
        if wp is None:
            raise DecodeError("missing proof for a window with intervals", obj=OBJ, field=wpath)
        out.append((w, idx, wp))
    return out


def _decode_peak(wp: WindowProof, wpath: str) -> Point:
    try:
        return group.decode_point(wp.peak)
    except group.GroupError as exc:
        raise DecodeError(str(exc), obj=OBJ, field=f"{wpath}.peak") from None


def _tier_check(
    win_tiers: Sequence[Tier], demand: Point, ctx: bytes, parts: PartsProof, path: str
) -> Callable[[], Point]:
    return lambda: tiers.verify(win_tiers, demand, 1, ctx, parts, path)


# --- the register path -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class MeterRegisters:
    """The demand registers of a single-meter bill: its meter section's registers, the meter's
    certificate (whose key signs them) and, for the prover, their openings. Build it with
    :func:`bill_registers`, which gives ``None`` unless the bill has exactly one meter: a
    register must never stand for the summed load of several meters."""

    certificate: MeterCertificate
    registers: tuple[DemandRegister, ...]
    openings: tuple[RegisterOpenings, ...] = ()
    opening_key: bytes | None = None
    path: str = "meters[0]"

    def __repr__(self) -> str:
        return f"MeterRegisters(meter={self.certificate.meter_id}, registers={len(self.registers)})"


def bill_registers(
    sections: Sequence[MeterSection],
    openings: Sequence[RegisterOpenings] = (),
    opening_key: bytes | None = None,
) -> MeterRegisters | None:
    """What the register path may use: the single meter section's registers (``None`` for a bill
    with several meters, or a section without registers). The prover adds the openings."""
    if len(sections) != 1 or not sections[0].registers:
        return None
    s = sections[0]
    return MeterRegisters(s.certificate, s.registers, tuple(openings), opening_key)


def _find_register(
    registers: MeterRegisters, schedule_hash: bytes, period: BillingPeriod
) -> tuple[int, DemandRegister, int] | None:
    """Index, register and schedule position of the first register of this meter for the
    billing month that tracks the schedule."""
    mid = registers.certificate.meter_id
    for i, reg in enumerate(registers.registers):
        if reg.meter_id == mid and reg.month == period:
            s = reg.position(schedule_hash)
            if s is not None:
                return i, reg, s
    return None


def _opened(
    registers: MeterRegisters, reg: DemandRegister, s: int, where: str
) -> tuple[list[int], list[int]] | None:
    """Values and blinding factors of schedule ``s`` of ``reg``, checked against its
    commitments; ``None`` when the prover holds no openings for the register."""
    for op in registers.openings:
        if op.meter_id != reg.meter_id or op.month != reg.month:
            continue
        entry = reg.schedules[s]
        if len(op.schedules) != len(reg.schedules) or op.schedules[s].schedule_hash != (
            entry.schedule_hash
        ):
            raise OpeningError(
                "register openings do not list the register's schedules",
                obj="register openings",
                field="schedules",
            )
        values = op.schedules[s].values
        blindings = op.resolve(registers.opening_key)[s]
        if len(values) != entry.windows:
            raise OpeningError(
                f"register openings have {len(values)} windows, the register {entry.windows}",
                obj="register openings",
                field=f"schedules[{s}].values",
            )
        for w, (v, r) in enumerate(zip(values, blindings, strict=True)):
            if pedersen.commit_bytes(v, r) != entry.commitment(w):
                raise OpeningError(
                    f"opening of window {w} does not match the register of meter "
                    f"{reg.meter_id!r} ({where})",
                    obj="register openings",
                    field=f"schedules[{s}].values[{w}]",
                )
        return values, blindings
    return None


def register_openings(
    component: Demand,
    registers: MeterRegisters | None,
    body: TariffBody,
    period: BillingPeriod,
) -> tuple[int, DemandRegister, int, list[int], list[int]] | None:
    """The register the prover uses for the component (index, register, schedule position) and
    its opened maxima and blindings; ``None``: the windows are proven by range proof."""
    if registers is None:
        return None
    found = _find_register(registers, schedule_hash_for(component, body), period)
    if found is None:
        return None
    index, reg, s = found
    opened = _opened(registers, reg, s, f"{registers.path}.registers[{index}]")
    if opened is None:
        return None
    return index, reg, s, opened[0], opened[1]


def prove_with_registers(
    component: Demand,
    values: Sequence[int],
    blindings: Sequence[int],
    windows: Sequence[Sequence[int]],
    interval_s: int,
    context: bytes,
    registers: MeterRegisters | None,
    body: TariffBody,
    period: BillingPeriod,
    peaks: Mapping[Key, ProvedPeak] | None = None,
    index: int = 0,
) -> tuple[DemandProof, int, int]:
    """:func:`prove`, using the meter's register for the billing month when there is one for
    this component's schedule and the prover holds its openings; otherwise the range proof
    (``peaks`` and ``index`` as for :func:`prove`).

    The register's maxima are checked against the readings (they must be the largest value of
    each window, 0 for a window without intervals): a register that disagrees raises
    :class:`OpeningError`."""
    found = register_openings(component, registers, body, period)
    if found is None:
        return prove(component, values, blindings, windows, interval_s, context, peaks, index)
    reg_index, reg, s, maxima, rs = found
    if len(maxima) != len(windows):
        raise OpeningError(
            f"register has {len(maxima)} windows, the component {len(windows)}",
            obj="register openings",
            field=f"schedules[{s}].values",
        )
    f = 3600 // interval_s
    fee, fee_blinding = 0, 0
    proofs: list[WindowProof | RegisterWindowProof | None] = []
    for w, idx in enumerate(windows):
        peak = max((values[k] for k in idx), default=0)
        if maxima[w] != peak:
            raise OpeningError(
                f"the register of meter {reg.meter_id!r} says window {w} peaked at "
                f"{maxima[w]} Wh, the readings at {peak} Wh",
                obj="register openings",
                field=f"schedules[{s}].values[{w}]",
            )
        if not _charged(component, w, idx):
            proofs.append(None)
            continue
        parts, wfee, wblind = _window_fee(component, w, f, peak, rs[w], _window_context(context, w))
        fee += wfee
        fee_blinding += wblind
        proofs.append(RegisterWindowProof(reg_index, parts))
    return DemandProof(tuple(proofs)), fee, fee_blinding % group.ORDER


def verify_with_registers(
    component: Demand,
    points: Sequence[Point],
    windows: Sequence[Sequence[int]],
    interval_s: int,
    context: bytes,
    proof: DemandProof,
    path: str,
    registers: MeterRegisters | None,
    body: TariffBody,
    period: BillingPeriod,
    batch: RangeBatch | None = None,
    shared: SharedPeaks | None = None,
) -> Point:
    """:func:`verify`, accepting windows proven by register. For each register a window names:
    meter id (:class:`CertificateError`), month (:class:`CoverageError`), meter signature
    (:class:`SignatureError`), a schedule whose hash matches this component under this tariff
    (:class:`TariffMismatchError`), a valid commitment for the window (:class:`CommitmentError`).
    Windows proven by range proof are checked as in :func:`verify`."""
    if registers is None:
        return _verify(
            component, points, windows, interval_s, context, proof, path, None, batch, shared
        )
    regs = registers
    expected = schedule_hash_for(component, body)
    entries: dict[int, tuple[RegisterEntry, int]] = {}

    def register_peak(wp: RegisterWindowProof, w: int, wpath: str) -> Point:
        if wp.register >= len(regs.registers):
            raise DecodeError(
                f"the meter section carries {len(regs.registers)} register(s)",
                obj=OBJ,
                field=f"{wpath}.register",
            )
        rpath = f"{regs.path}.registers[{wp.register}]"
        cached = entries.get(wp.register)
        if cached is None:
            reg = regs.registers[wp.register]
            reg.check(regs.certificate, period, rpath)
            s = reg.position(expected)
            if s is None:
                raise TariffMismatchError(
                    "the register does not track this demand component's schedule",
                    obj=OBJ,
                    field=f"{rpath}.schedules",
                )
            entry = reg.schedules[s]
            if entry.windows != len(component.windows):
                raise CommitmentError(
                    f"the register has {entry.windows} windows, the component "
                    f"{len(component.windows)}",
                    obj=OBJ,
                    field=f"{rpath}.schedules[{s}].commitments",
                )
            cached = entries[wp.register] = (entry, s)
        entry, s = cached
        try:
            return group.decode_point(entry.commitment(w))
        except group.GroupError as exc:
            raise CommitmentError(
                f"window {w}: {exc}", obj=OBJ, field=f"{rpath}.schedules[{s}].commitments"
            ) from None

    return _verify(
        component, points, windows, interval_s, context, proof, path, register_peak, batch, shared
    )


def charge_peak_sets(
    component: Demand, load: LoadView, ctx: ChargeContext, proof: DemandProof | None
) -> list[PeakSet]:
    """:func:`peak_sets` over the account's load; none where the prover uses a register."""
    component = replace(component, bits=load.bits(component.bits))
    if proof is None and register_openings(component, load.registers, load.body, load.period):
        return []
    return peak_sets(component, load.windows(component), ctx.context, ctx.index, proof, ctx.path)


def prove_charge(
    component: Demand, load: LoadView, ctx: ChargeContext
) -> tuple[DemandProof, int, int]:
    """:func:`prove_with_registers` over the account's load, with the range width the bill's
    meter ratings allow (:meth:`LoadView.bits`) and the bill's shared peaks."""
    return prove_with_registers(
        replace(component, bits=load.bits(component.bits)),
        load.values,
        load.blindings,
        load.windows(component),
        load.interval_s,
        ctx.context,
        load.registers,
        load.body,
        load.period,
        ctx.peaks,
        ctx.index,
    )


def verify_charge(
    component: Demand, proof: DemandProof, load: LoadView, ctx: ChargeContext
) -> list[Point]:
    """:func:`verify_with_registers` over the account's load; the range proofs go to the
    bill's batch; the range width as the prover's (:meth:`LoadView.bits`); the statements of
    the bill's shared peaks."""
    fee = verify_with_registers(
        replace(component, bits=load.bits(component.bits)),
        load.points,
        load.windows(component),
        load.interval_s,
        ctx.context,
        proof,
        ctx.path,
        load.registers,
        load.body,
        load.period,
        ctx.batch,
        SharedPeaks(ctx.peak_differences, ctx.index),
    )
    return [fee]


def needs_readings(component: Demand, proof: DemandProof) -> bool:
    """Unless every charged window is proven from a maximum-demand register."""
    return any(isinstance(w, WindowProof) for w in proof.windows)
