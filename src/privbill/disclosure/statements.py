"""The statement kinds, one registered class each (``docs/disclosure.md`` §2–§4):

=================  ==============================================  ==============================
kind               statement                                       answer
=================  ==============================================  ==============================
``open``           the readings of the listed intervals            ``c_i`` per interval, a proof
``sum``            ``Σ c_i`` over a window, a register or period   ``Σ c_i``, a proof
``weighted-sum``   ``Σ w_i·c_i``, public integer weights          ``Σ w_i·c_i``, a proof
``threshold``      ``Σ c_i ≤ X``, ``Σ c_i ≥ X`` or every ``c_i ≤ Y``  range proofs
=================  ==============================================  ==============================

Each class decodes its signed form and its JSON description, checks itself against the
request, words itself, proves and verifies its answer side by side, and names what the
customer's ledger records of it:

* ``sum``, ``weighted-sum``, ``open`` — reveal the value(s) and prove knowledge of the blinding
  factor of ``P − V·G``, where ``P`` is what the verifier derives from the sealed commitments:
  ``Σ C_i`` (one point sum), ``Σ w_i·C_i`` (one MSM) or, for opened readings ``c_i``,
  ``Σ ρ_i·C_i`` with ``V = Σ ρ_i·c_i`` and 128-bit weights ``ρ_i`` derived from the statement
  context and the revealed values (one MSM); a compact Sigma proof of 64 bytes;
* ``threshold`` — an aggregated range proof on commitments the verifier derives itself:
  ``X·G − Σ C_i`` (sum at most X), ``Σ C_i − X·G`` (sum at least X) or ``Y·G − C_i`` for every
  interval (no interval above Y).

:func:`parse_statements` reads the JSON statement list of ``privbill disclose request`` and the
provider service.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, ClassVar, Final
from zoneinfo import ZoneInfo

from privbill.billing import energy
from privbill.crypto import bulletproofs, group, pedersen
from privbill.crypto.group import Point
from privbill.crypto.signatures import VerifyingKey
from privbill.disclosure import proofs, wording
from privbill.disclosure.ledger import EntryKind
from privbill.disclosure.model import (
    MAX_ABS_WEIGHT,
    MAX_EACH_BOUND,
    MAX_OPEN,
    MAX_PROOF_BYTES,
    MAX_RANGE_PROOFS,
    MAX_STATEMENTS,
    MAX_SUM_BOUND,
    MAX_WEIGHTS,
    REQUEST_OBJ,
    RESPONSE_OBJ,
    REVEAL_PROOF_BYTES,
    THRESHOLD_TESTS,
    Answer,
    DisclosureProofError,
    DisclosureRequest,
    DisclosureScopeError,
    MeterRef,
    OpenedReadings,
    RangeAnswer,
    Register,
    RevealedSum,
    Selector,
    Statement,
    StatementSpec,
    ThresholdTest,
    WholePeriod,
    Window,
    selector_from_obj,
    statement_class,
    statement_kind,
    statement_kinds,
)
from privbill.disclosure.verified import StatementResult
from privbill.errors import DecodeError, TariffMismatchError, UsageError
from privbill.model import codec, money
from privbill.model.ids import is_identifier
from privbill.model.periods import (
    MAX_INTERVAL_S,
    MIN_INTERVAL_S,
    BillingPeriod,
    interval_time,
    local_midnight,
)
from privbill.model.tariffs import SignedTariff, TimeOfUse

#: The object named by errors in a JSON statement list.
LIST_OBJ: Final = "statement list"
_Q: Final = group.ORDER


# --- shared by the kinds -----------------------------------------------------------------------


def _meter_of(f: codec.Fields) -> str:
    return f.text("meter", 64, is_identifier)


def _statement_index(f: codec.Fields) -> int:
    return f.integer("statement", 0, MAX_STATEMENTS - 1)


def _find_tariff(
    tariffs: Sequence[SignedTariff], sel: Register, provider: VerifyingKey, where: str
) -> tuple[SignedTariff, TimeOfUse]:
    """The provider-signed time-of-use tariff a register selector names."""
    for t in tariffs:
        if t.hash() == sel.tariff_hash:
            t.verify(provider)
            if not isinstance(t.body.energy, TimeOfUse):
                raise TariffMismatchError(
                    "a register is a period of a time-of-use tariff; this tariff has dynamic prices",
                    obj="tariff",
                    field="energy",
                )
            return t, t.body.energy
    raise UsageError(
        f"{where} needs the tariff {sel.tariff_hash.hex()[:16]}…: supply it", obj="tariff"
    )


def _selected_intervals(
    request: DisclosureRequest,
    meter: str,
    sel: Selector,
    tariffs: Sequence[SignedTariff],
    provider: VerifyingKey,
    where: str,
) -> Sequence[int]:
    length = request.meter(meter).interval_s
    if isinstance(sel, Window):
        return range(sel.start // length, sel.end // length)
    first, count = request.period.intervals(length)
    if not isinstance(sel, Register):
        return range(first, first + count)
    tariff, tou = _find_tariff(tariffs, sel, provider, where)
    # The same schedule with "prices" 0..n-1 gives each interval's period number, computed by
    # the tariff model itself (local time, weekends, holidays, DST) rather than a second copy.
    numbered = dataclasses.replace(tou, period_prices=tuple(range(len(tou.period_prices))))
    labels = numbered.prices(tariff.body.tz, first, count, length)
    out = [first + k for k, p in enumerate(labels) if p == sel.register]
    if not out:
        raise TariffMismatchError(
            f"register {sel.register} has no interval in the request's period",
            obj="tariff",
            field="energy",
        )
    return out


def _selection_words(req: DisclosureRequest, sel: Selector, tariffs: Sequence[SignedTariff]) -> str:
    """The selected intervals in plain words."""
    tz = req.tz
    if isinstance(sel, Window):
        return wording.describe_span(sel.start, sel.end, tz)
    whole = wording.describe_span(req.period.start, req.period.end, tz)
    if isinstance(sel, WholePeriod):
        return whole
    return f"during {wording.register_name(sel, tariffs)}, {whole}"


def _check_window(request: DisclosureRequest, sel: Selector, step: int, path: str) -> None:
    if isinstance(sel, Window):
        if sel.start % step or sel.end % step:
            raise DecodeError(
                f"window is not aligned to {step}-second intervals",
                obj=REQUEST_OBJ,
                field=f"{path}.select",
            )
        if sel.start < request.period.start or sel.end > request.period.end:
            raise DecodeError(
                "window is not inside the period", obj=REQUEST_OBJ, field=f"{path}.select"
            )


def _check_kind(statement: Statement, index: int, answer: Answer, path: str) -> None:
    if answer.kind != statement.KIND:
        raise DisclosureScopeError(
            f"statement {index} asks for {statement.KIND!r}, the answer is {answer.kind!r}",
            obj=RESPONSE_OBJ,
            field=f"{path}.kind",
        )


def _head(result: StatementResult) -> str:
    return f"{result.kind:<12} meter {result.meter_id}  {result.intervals} reading(s)"


class SelectedStatement(Statement):
    """A statement about the intervals a :data:`~privbill.disclosure.model.Selector` picks."""

    __slots__ = ()
    select: Selector

    def selector(self) -> Selector:
        return self.select

    def tariff_hash(self) -> bytes | None:
        return self.select.tariff_hash if isinstance(self.select, Register) else None

    def intervals(
        self,
        request: DisclosureRequest,
        tariffs: Sequence[SignedTariff],
        provider: VerifyingKey,
        where: str = "statement",
    ) -> Sequence[int]:
        return _selected_intervals(request, self.meter, self.select, tariffs, provider, where)

    def check(self, request: DisclosureRequest, step: int, path: str) -> None:
        _check_window(request, self.select, step, path)

    def where(self, request: DisclosureRequest, tariffs: Sequence[SignedTariff]) -> str:
        return _selection_words(request, self.select, tariffs)

    @classmethod
    def answer_sum(cls, value: dict[Any, Any], path: str, lo: int, kind: str) -> RevealedSum:
        f = codec.Fields(value, RESPONSE_OBJ, {"kind", "statement", "value", "proof"}, path=path)
        return RevealedSum(
            "sum" if kind == "sum" else "weighted-sum",
            _statement_index(f),
            f.integer("value", lo),
            f.octets("proof", REVEAL_PROOF_BYTES),
        )


# --- open: reveal c_i --------------------------------------------------------------------------


@statement_kind
@dataclass(frozen=True, slots=True)
class OpenReadings(Statement):
    """Reveal the readings of the listed interval indices."""

    meter: str
    indices: tuple[int, ...]
    KIND: ClassVar[str] = "open"
    FIELDS: ClassVar[frozenset[str]] = frozenset({"meter", "indices"})
    JSON_KEYS: ClassVar[frozenset[str]] = frozenset({"kind", "meter", "at", "indices"})

    def to_obj(self) -> dict[str, Any]:
        return {"kind": self.KIND, "meter": self.meter, "indices": list(self.indices)}

    @classmethod
    def from_fields(cls, f: codec.Fields, path: str) -> OpenReadings:
        indices = f.int_list("indices", 0, codec.INT_MAX, 1, MAX_OPEN)
        return cls(_meter_of(f), tuple(indices))

    @classmethod
    def from_json(cls, item: Mapping[str, Any], spec: StatementSpec) -> OpenReadings:
        k, step = spec.index, spec.step
        if ("at" in item) == ("indices" in item):
            raise _err(k, None, "give exactly one of at (start times) and indices")
        if "indices" in item:
            idx = item["indices"]
            if not isinstance(idx, list) or not all(
                isinstance(i, int) and not isinstance(i, bool) for i in idx
            ):
                raise _err(k, "indices", "expected a list of interval indices")
            return cls(spec.meter, tuple(sorted(idx)))
        times = item["at"]
        if not isinstance(times, list) or not times:
            raise _err(k, "at", "expected a list of interval start times")
        out = []
        for t in times:
            ts = _time(t, spec.tz, k, "at")
            if ts % step:
                raise _err(k, "at", f"{t} is not the start of a {step // 60}-minute interval")
            out.append(ts // step)
        return cls(spec.meter, tuple(sorted(out)))

    def check(self, request: DisclosureRequest, step: int, path: str) -> None:
        per = request.period
        lo, hi = per.start // step, per.end // step
        prev = -1
        for j, i in enumerate(self.indices):
            field = f"{path}.indices[{j}]"
            if i <= prev:
                raise DecodeError(
                    "indices must be increasing and distinct", obj=REQUEST_OBJ, field=field
                )
            if not lo <= i < hi:
                raise DecodeError(
                    f"the reading at {interval_time(i, step, request.tz)} is outside the period "
                    f"{wording.describe_span(per.start, per.end, request.tz)}",
                    obj=REQUEST_OBJ,
                    field=field,
                )
            prev = i

    def describe(self, request: DisclosureRequest, tariffs: Sequence[SignedTariff]) -> str:
        step = request.meter(self.meter).interval_s
        tz = request.tz
        shown = [wording.describe_span(i * step, (i + 1) * step, tz) for i in self.indices[:3]]
        more = f" and {len(self.indices) - 3} more" if len(self.indices) > 3 else ""
        what = "interval" if len(self.indices) == 1 else f"each of {len(self.indices)} intervals"
        return f"your exact consumption in {what} on meter {self.meter}: {'; '.join(shown)}{more}"

    def caveats(self) -> frozenset[str]:
        return frozenset({wording.OPENED})

    def selector(self) -> None:
        return None

    def tariff_hash(self) -> bytes | None:
        return None

    def intervals(
        self,
        request: DisclosureRequest,
        tariffs: Sequence[SignedTariff],
        provider: VerifyingKey,
        where: str = "statement",
    ) -> Sequence[int]:
        return self.indices

    def prove(
        self,
        index: int,
        request: DisclosureRequest,
        values: list[int],
        blindings: list[int],
        points: list[Point],
        context: bytes,
    ) -> OpenedReadings:
        rho = proofs.open_weights(context, values)
        value = sum(w * c for w, c in zip(rho, values, strict=True))
        blinding = sum(w * r for w, r in zip(rho, blindings, strict=True)) % _Q
        return OpenedReadings(index, tuple(values), proofs.prove_reveal(value, blinding, context))

    @classmethod
    def decode_answer(cls, value: dict[Any, Any], path: str) -> OpenedReadings:
        f = codec.Fields(value, RESPONSE_OBJ, {"kind", "statement", "values", "proof"}, path=path)
        values = f.int_list("values", 0, money.MAX_WH_PER_INTERVAL, 1, MAX_OPEN)
        return OpenedReadings(
            _statement_index(f), tuple(values), f.octets("proof", REVEAL_PROOF_BYTES)
        )

    def check_answer(self, index: int, answer: Answer, path: str) -> None:
        _check_kind(self, index, answer, path)
        if isinstance(answer, OpenedReadings) and len(answer.values) != len(self.indices):
            raise DisclosureScopeError(
                f"{len(answer.values)} readings opened, {len(self.indices)} requested",
                obj=RESPONSE_OBJ,
                field=f"{path}.values",
            )

    def verify(
        self,
        index: int,
        answer: Answer,
        request: DisclosureRequest,
        points: list[Point],
        context: bytes,
        path: str,
    ) -> StatementResult:
        """``Σ ρ_i·C_i`` opens to ``Σ ρ_i·c_i``: one MSM and the proof."""
        assert isinstance(answer, OpenedReadings)  # check_answer came first
        rho = proofs.open_weights(context, answer.values)
        value = sum(w * c for w, c in zip(rho, answer.values, strict=True))
        if not proofs.verify_reveal(group.msm(points, rho), value, answer.proof, context):
            raise DisclosureProofError(
                "opened readings do not match their sealed commitments, or the proof is not for "
                "this statement",
                obj=RESPONSE_OBJ,
                field=f"{path}.proof",
            )
        pairs = tuple(zip(self.indices, answer.values, strict=True))
        return StatementResult(index, self.KIND, self.meter, len(self.indices), readings=pairs)

    def ledger_terms(
        self, request: DisclosureRequest, intervals: Sequence[int]
    ) -> tuple[EntryKind, list[tuple[int, int]]]:
        return "readings", [(i, 1) for i in intervals]

    def result_words(self, result: StatementResult, request: DisclosureRequest) -> str:
        step = request.meter(result.meter_id).interval_s
        shown = "; ".join(
            f"{wording.describe_span(i * step, (i + 1) * step, request.tz)[3:]} "
            f"{money.format_scaled(wh, 3)} kWh"
            for i, wh in result.readings or ()
        )
        return f"{_head(result)}: {shown}"


# --- sum: reveal Σ c_i -------------------------------------------------------------------------


@statement_kind
@dataclass(frozen=True, slots=True)
class Sum(SelectedStatement):
    """Reveal ``Σ c_i`` (and ``Σ r_i``) over the selected intervals."""

    meter: str
    select: Selector
    KIND: ClassVar[str] = "sum"
    FIELDS: ClassVar[frozenset[str]] = frozenset({"meter", "select"})
    JSON_KEYS: ClassVar[frozenset[str]] = frozenset({"kind", "meter", "from", "to", "register"})

    def to_obj(self) -> dict[str, Any]:
        return {"kind": self.KIND, "meter": self.meter, "select": self.select.to_obj()}

    @classmethod
    def from_fields(cls, f: codec.Fields, path: str) -> Sum:
        sel = selector_from_obj(f.raw("select"), f"{path}.select", REQUEST_OBJ)
        return cls(_meter_of(f), sel)

    @classmethod
    def from_json(cls, item: Mapping[str, Any], spec: StatementSpec) -> Sum:
        return cls(spec.meter, _selector(item, spec))

    def describe(self, request: DisclosureRequest, tariffs: Sequence[SignedTariff]) -> str:
        return f"your total consumption {self.where(request, tariffs)} on meter {self.meter}"

    def caveats(self) -> frozenset[str]:
        return frozenset({wording.TOTALS})

    def prove(
        self,
        index: int,
        request: DisclosureRequest,
        values: list[int],
        blindings: list[int],
        points: list[Point],
        context: bytes,
    ) -> RevealedSum:
        value = sum(values)
        proof = proofs.prove_reveal(value, sum(blindings) % _Q, context)
        return RevealedSum("sum", index, value, proof)

    @classmethod
    def decode_answer(cls, value: dict[Any, Any], path: str) -> RevealedSum:
        return cls.answer_sum(value, path, 0, cls.KIND)

    def check_answer(self, index: int, answer: Answer, path: str) -> None:
        _check_kind(self, index, answer, path)

    def verify(
        self,
        index: int,
        answer: Answer,
        request: DisclosureRequest,
        points: list[Point],
        context: bytes,
        path: str,
    ) -> StatementResult:
        assert isinstance(answer, RevealedSum)  # check_answer came first
        # 0 ≤ S < 2^52 (2^20 readings below 2^32) and the value is a 64-bit integer: both ≪ q/2,
        # so equality in the group is equality of integers.
        if not proofs.verify_reveal(group.point_sum(points), answer.value, answer.proof, context):
            raise DisclosureProofError(
                "revealed sum is not what the sealed commitments hold, or the proof is not for "
                "this statement",
                obj=RESPONSE_OBJ,
                field=f"{path}.value",
            )
        return StatementResult(index, self.KIND, self.meter, len(points), value=answer.value)

    def ledger_terms(
        self, request: DisclosureRequest, intervals: Sequence[int]
    ) -> tuple[EntryKind, list[tuple[int, int]]]:
        return "value", [(i, 1) for i in intervals]

    def result_words(self, result: StatementResult, request: DisclosureRequest) -> str:
        return f"{_head(result)}: {money.format_scaled(result.value or 0, 3)} kWh"


# --- weighted sum: reveal Σ w_i·c_i ------------------------------------------------------------


def _is_unit(text: str) -> bool:
    return len(text) > 0 and text.isprintable()


@statement_kind
@dataclass(frozen=True, slots=True)
class WeightedSum(SelectedStatement):
    """Reveal ``Σ w_i·c_i`` (and ``Σ w_i·r_i``) over a window with public integer weights.

    ``weights[j]`` applies to every interval of ``[start + j·step, start + (j+1)·step)``: hourly
    carbon intensities apply to four 15-minute readings each. ``unit`` names what a weight
    measures (``"g/kWh"``, ``"1e-6 EUR/kWh"``) for people; the arithmetic is on integers.
    """

    meter: str
    select: WholePeriod | Window
    step: int
    weights: tuple[int, ...]
    unit: str
    KIND: ClassVar[str] = "weighted-sum"
    FIELDS: ClassVar[frozenset[str]] = frozenset({"meter", "select", "step", "weights", "unit"})
    JSON_KEYS: ClassVar[frozenset[str]] = frozenset(
        {"kind", "meter", "from", "to", "step_minutes", "weights", "unit"}
    )

    def to_obj(self) -> dict[str, Any]:
        return {
            "kind": self.KIND,
            "meter": self.meter,
            "select": self.select.to_obj(),
            "step": self.step,
            "weights": list(self.weights),
            "unit": self.unit,
        }

    @classmethod
    def from_fields(cls, f: codec.Fields, path: str) -> WeightedSum:
        sel = selector_from_obj(f.raw("select"), f"{path}.select", REQUEST_OBJ)
        if isinstance(sel, Register):
            raise f.error("select", "a weighted sum needs a window or the whole period")
        weights = f.int_list("weights", -MAX_ABS_WEIGHT, MAX_ABS_WEIGHT, 1, MAX_WEIGHTS)
        return cls(
            meter=_meter_of(f),
            select=sel,
            step=f.integer("step", MIN_INTERVAL_S, MAX_INTERVAL_S),
            weights=tuple(weights),
            unit=f.text("unit", 32, _is_unit),
        )

    @classmethod
    def from_json(cls, item: Mapping[str, Any], spec: StatementSpec) -> WeightedSum:
        k = spec.index
        sel = _selector(item, spec)
        if isinstance(sel, Register):
            raise _err(k, "register", "a weighted sum needs a window")
        minutes = item.get("step_minutes", spec.step // 60)
        weights = item.get("weights")
        if not isinstance(weights, list) or not all(
            isinstance(w, int) and not isinstance(w, bool) for w in weights
        ):
            raise _err(k, "weights", "expected a list of integers")
        if isinstance(minutes, bool) or not isinstance(minutes, int):
            raise _err(k, "step_minutes", "expected an integer number of minutes")
        unit = item.get("unit")
        if not isinstance(unit, str):
            raise _err(k, "unit", 'expected the unit of the weights, e.g. "g/kWh"')
        return cls(spec.meter, sel, minutes * 60, tuple(weights), unit)

    def check(self, request: DisclosureRequest, step: int, path: str) -> None:
        _check_window(request, self.select, step, path)
        per, sel = request.period, self.select
        a, b = (sel.start, sel.end) if isinstance(sel, Window) else (per.start, per.end)

        def err(field: str, message: str) -> DecodeError:
            return DecodeError(message, obj=REQUEST_OBJ, field=f"{path}.{field}")

        if self.step % step:
            raise err("step", f"step is not a multiple of the {step}-second interval")
        if (b - a) % self.step:
            raise err("step", "step does not divide the window")
        if len(self.weights) != (b - a) // self.step:
            raise err(
                "weights",
                f"expected {(b - a) // self.step} weights (one per step), got {len(self.weights)}",
            )
        if not any(self.weights):
            raise err("weights", "all weights are zero: the figure is always 0")

    def expanded_weights(self, request: DisclosureRequest) -> list[int]:
        """One weight per meter interval of the statement's window."""
        per = self.step // request.meter(self.meter).interval_s
        return [w for w in self.weights for _ in range(per)]

    def describe(self, request: DisclosureRequest, tariffs: Sequence[SignedTariff]) -> str:
        lo, hi = min(self.weights), max(self.weights)
        return (
            f"a weighted total of your consumption {self.where(request, tariffs)} on meter "
            f"{self.meter}: each {wording.step_name(self.step)}'s consumption multiplied by a "
            f"public weight in {self.unit} ({len(self.weights)} weights from {lo} to {hi}, "
            "listed in the request) and added up"
        )

    def caveats(self) -> frozenset[str]:
        return frozenset({wording.TOTALS, wording.WEIGHTED})

    def prove(
        self,
        index: int,
        request: DisclosureRequest,
        values: list[int],
        blindings: list[int],
        points: list[Point],
        context: bytes,
    ) -> RevealedSum:
        value, blinding = energy.prove(self.expanded_weights(request), values, blindings)
        if not codec.INT_MIN <= value <= codec.INT_MAX:
            raise UsageError(
                f"statement {index}: the weighted sum does not fit in 64 bits and cannot be "
                "disclosed",
                obj="disclosure request",
                field=f"statements[{index}].weights",
            )
        proof = proofs.prove_reveal(value, blinding, context)
        return RevealedSum("weighted-sum", index, value, proof)

    @classmethod
    def decode_answer(cls, value: dict[Any, Any], path: str) -> RevealedSum:
        return cls.answer_sum(value, path, codec.INT_MIN, cls.KIND)

    def check_answer(self, index: int, answer: Answer, path: str) -> None:
        _check_kind(self, index, answer, path)

    def verify(
        self,
        index: int,
        answer: Answer,
        request: DisclosureRequest,
        points: list[Point],
        context: bytes,
        path: str,
    ) -> StatementResult:
        assert isinstance(answer, RevealedSum)  # check_answer came first
        # |w_i| ≤ 2^40, c_i < 2^32, at most 2^20 intervals: |Σ w_i·c_i| < 2^92 ≪ q/2, and the
        # revealed value is a 64-bit integer, so equality in the group is equality of integers.
        point = energy.fee_commitment(self.expanded_weights(request), points)
        if not proofs.verify_reveal(point, answer.value, answer.proof, context):
            raise DisclosureProofError(
                "revealed weighted sum is not what the sealed commitments hold, or the proof is "
                "not for this statement",
                obj=RESPONSE_OBJ,
                field=f"{path}.value",
            )
        return StatementResult(index, self.KIND, self.meter, len(points), value=answer.value)

    def ledger_terms(
        self, request: DisclosureRequest, intervals: Sequence[int]
    ) -> tuple[EntryKind, list[tuple[int, int]]]:
        return "value", list(zip(intervals, self.expanded_weights(request), strict=True))

    def result_words(self, result: StatementResult, request: DisclosureRequest) -> str:
        return f"{_head(result)}: {result.value} (Wh × {self.unit})"


# --- threshold: range proofs on derived commitments --------------------------------------------


_TEST_BOUNDS: Final[dict[str, tuple[ThresholdTest, int]]] = {
    "sum-at-most": ("sum-at-most", MAX_SUM_BOUND),
    "sum-at-least": ("sum-at-least", MAX_SUM_BOUND),
    "each-at-most": ("each-at-most", MAX_EACH_BOUND),
}


@statement_kind
@dataclass(frozen=True, slots=True)
class Threshold(SelectedStatement):
    """Prove, revealing nothing else, that ``Σ c_i ≤ bound`` (``sum-at-most``),
    ``Σ c_i ≥ bound`` (``sum-at-least``) or ``c_i ≤ bound`` for every selected interval
    (``each-at-most``)."""

    meter: str
    select: Selector
    test: ThresholdTest
    bound: int
    KIND: ClassVar[str] = "threshold"
    FIELDS: ClassVar[frozenset[str]] = frozenset({"meter", "select", "test", "bound"})
    JSON_KEYS: ClassVar[frozenset[str]] = frozenset(
        {"kind", "meter", "from", "to", "register", "test", "bound_wh", "bound_kwh"}
    )

    def to_obj(self) -> dict[str, Any]:
        return {
            "kind": self.KIND,
            "meter": self.meter,
            "select": self.select.to_obj(),
            "test": self.test,
            "bound": self.bound,
        }

    @classmethod
    def from_fields(cls, f: codec.Fields, path: str) -> Threshold:
        sel = selector_from_obj(f.raw("select"), f"{path}.select", REQUEST_OBJ)
        raw = f.text("test", 16)
        if raw not in _TEST_BOUNDS:
            raise f.error("test", f"unknown test {raw!r} (expected one of {THRESHOLD_TESTS})")
        test, limit = _TEST_BOUNDS[raw]
        bound = f.integer("bound", 0, limit)
        return cls(_meter_of(f), sel, test, bound)

    @classmethod
    def from_json(cls, item: Mapping[str, Any], spec: StatementSpec) -> Threshold:
        sel = _selector(item, spec)
        test = item.get("test")
        if test not in THRESHOLD_TESTS:
            raise _err(spec.index, "test", f"expected one of {list(THRESHOLD_TESTS)}")
        return cls(spec.meter, sel, _TEST_BOUNDS[test][0], _bound(item, spec.index))

    @property
    def range_bits(self) -> int:
        """Bit length ``n`` of the range proofs: the smallest allowed one that holds every
        honest difference. ``X − S ≤ X`` and ``Y − c_i ≤ Y``, so ``bound < 2^n`` suffices;
        ``S − X`` can reach ``2^52`` (2^20 readings below 2^32), so ``sum-at-least`` uses 64
        bits. A false statement makes a difference negative, ``≥ q − 2^63`` modulo ``q``,
        outside ``[0, 2^n)`` for every allowed ``n``."""
        if self.test == "sum-at-least":
            return 64
        return next(n for n in bulletproofs.BIT_SIZES if self.bound < 1 << n)

    def holds(self, values: list[int]) -> bool:
        if self.test == "sum-at-most":
            return sum(values) <= self.bound
        if self.test == "sum-at-least":
            return sum(values) >= self.bound
        return max(values) <= self.bound

    def derived_points(self, points: list[Point]) -> list[Point]:
        """The derived commitments: ``X·G − Σ C_i``, ``Σ C_i − X·G`` or ``Y·G − C_i`` for
        every ``i``. Prover and verifier compute them alike from the sealed commitments."""
        bound = pedersen.commit(self.bound, 0)
        if self.test == "sum-at-most":
            return [bound - group.point_sum(points)]
        if self.test == "sum-at-least":
            return [group.point_sum(points) - bound]
        return [bound - p for p in points]

    def describe(self, request: DisclosureRequest, tariffs: Sequence[SignedTariff]) -> str:
        where, meter = self.where(request, tariffs), f"on meter {self.meter}"
        if self.test == "sum-at-most":
            return (
                f"that your total consumption {where} {meter} was at most {wording.kwh(self.bound)}"
            )
        if self.test == "sum-at-least":
            return (
                f"that your total consumption {where} {meter} was at least "
                f"{wording.kwh(self.bound)}"
            )
        step = request.meter(self.meter).interval_s
        return (
            f"that your consumption in every {wording.minutes_adj(step)} interval {where} "
            f"{meter} was at most {wording.kwh(self.bound)}"
        )

    def caveats(self) -> frozenset[str]:
        if self.test == "each-at-most":
            return frozenset({wording.PEAK_BOUND})
        return frozenset({wording.TOTALS, wording.SUM_BOUNDS})

    def prove(
        self,
        index: int,
        request: DisclosureRequest,
        values: list[int],
        blindings: list[int],
        points: list[Point],
        context: bytes,
    ) -> RangeAnswer:
        """The derived commitments open to ``X − S`` (blinding ``−R``), ``S − X`` (``R``) or
        ``Y − c_i`` (``−r_i``): non-negative exactly when the statement holds."""
        if not self.holds(values):
            raise UsageError(
                f"statement {index} is not true for your readings, so it cannot be answered; "
                "leave it out of the consent",
                obj="consent",
                field="statements",
            )
        if self.test == "sum-at-most":
            diffs, blinds = [self.bound - sum(values)], [-sum(blindings) % _Q]
        elif self.test == "sum-at-least":
            diffs, blinds = [sum(values) - self.bound], [sum(blindings) % _Q]
        else:
            diffs = [self.bound - c for c in values]
            blinds = [-r % _Q for r in blindings]
        derived = self.derived_points(points)
        return RangeAnswer(
            index, proofs.prove_ranges(diffs, blinds, derived, self.range_bits, context)
        )

    @classmethod
    def decode_answer(cls, value: dict[Any, Any], path: str) -> RangeAnswer:
        f = codec.Fields(value, RESPONSE_OBJ, {"kind", "statement", "proofs"}, path=path)
        found = f.array("proofs", 1, MAX_RANGE_PROOFS)
        for i, pr in enumerate(found):
            if not isinstance(pr, bytes) or not 0 < len(pr) <= MAX_PROOF_BYTES:
                raise f.error(f"proofs[{i}]", f"expected a proof of 1..{MAX_PROOF_BYTES} bytes")
        return RangeAnswer(_statement_index(f), tuple(found))

    def check_answer(self, index: int, answer: Answer, path: str) -> None:
        _check_kind(self, index, answer, path)

    def verify(
        self,
        index: int,
        answer: Answer,
        request: DisclosureRequest,
        points: list[Point],
        context: bytes,
        path: str,
    ) -> StatementResult:
        assert isinstance(answer, RangeAnswer)  # check_answer came first
        derived = self.derived_points(points)
        if any(group.is_identity(p) for p in derived) or not proofs.verify_ranges(
            derived, self.range_bits, answer.proofs, context
        ):
            raise DisclosureProofError(
                "range proof does not verify", obj=RESPONSE_OBJ, field=f"{path}.proofs"
            )
        return StatementResult(index, self.KIND, self.meter, len(points), holds=True)

    def ledger_terms(
        self, request: DisclosureRequest, intervals: Sequence[int]
    ) -> tuple[EntryKind, list[tuple[int, int]]]:
        # Sum thresholds count as disclosed: repeated thresholds can find the value.
        return ("peak" if self.test == "each-at-most" else "bound"), [(i, 1) for i in intervals]

    def result_words(self, result: StatementResult, request: DisclosureRequest) -> str:
        return f"{_head(result)}: holds"


# --- the JSON statement list -------------------------------------------------------------------


def _err(k: int, key: str | None, message: str) -> UsageError:
    return UsageError(message, obj=LIST_OBJ, field=f"[{k}].{key}" if key else f"[{k}]")


def _time(value: Any, tz: ZoneInfo, k: int, key: str) -> int:
    if not isinstance(value, str):
        raise _err(k, key, "expected a date (YYYY-MM-DD) or an ISO 8601 date-time with offset")
    try:
        if len(value) == 10:
            return local_midnight(date.fromisoformat(value), tz)
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise _err(k, key, f"{value!r} is not an ISO 8601 date or date-time") from None
    if moment.tzinfo is None:
        raise _err(k, key, f"{value!r} has no UTC offset")
    return int(moment.timestamp())


def _selector(item: Mapping[str, Any], spec: StatementSpec) -> Selector:
    k, period = spec.index, spec.period
    if "register" in item:
        if "from" in item or "to" in item:
            raise _err(k, "register", "a register covers the whole period; drop from/to")
        return _register(item["register"], k, spec.tariffs)
    if "from" not in item and "to" not in item:
        return WholePeriod()
    start = _time(item["from"], spec.tz, k, "from") if "from" in item else period.start
    end = _time(item["to"], spec.tz, k, "to") if "to" in item else period.end
    if (start, end) == (period.start, period.end):
        return WholePeriod()
    return Window(start, end)


def _register(value: Any, k: int, tariffs: Sequence[SignedTariff]) -> Register:
    tous = [(t, t.body.energy) for t in tariffs if isinstance(t.body.energy, TimeOfUse)]
    if not tous:
        raise _err(k, "register", "a register statement needs --tariff (a time-of-use tariff)")
    for t, tou in tous:
        names = tou.period_names
        if isinstance(value, int) and not isinstance(value, bool) and 0 <= value < len(names):
            return Register(t.hash(), value)
        if isinstance(value, str) and value in names:
            return Register(t.hash(), names.index(value))
    known = [n for _, e in tous for n in e.period_names]
    raise _err(k, "register", f"unknown register {value!r}; the tariff has {known}")


def _bound(item: Mapping[str, Any], k: int) -> int:
    if ("bound_wh" in item) == ("bound_kwh" in item):
        raise _err(k, None, "give exactly one of bound_wh (integer) and bound_kwh (decimal text)")
    if "bound_wh" in item:
        wh = item["bound_wh"]
        if isinstance(wh, bool) or not isinstance(wh, int):
            raise _err(k, "bound_wh", "expected an integer number of Wh")
        return wh
    try:
        return money.parse_scaled(item["bound_kwh"], 3)
    except money.AmountError as exc:
        raise _err(k, "bound_kwh", str(exc)) from None


def parse_statements(
    text: bytes,
    meters: Sequence[MeterRef],
    period: BillingPeriod,
    tz: ZoneInfo,
    tariffs: Sequence[SignedTariff],
) -> list[Statement]:
    """The statements of a JSON statement list (``docs/disclosure.md``)::

        [{"kind": "sum", "meter": "0001"},
         {"kind": "sum", "meter": "0001", "from": "2026-01-05", "to": "2026-01-06"},
         {"kind": "sum", "meter": "0001", "register": "winter on-peak"},
         {"kind": "open", "meter": "0001", "at": ["2026-01-05T18:00:00-07:00"]},
         {"kind": "weighted-sum", "meter": "0001", "step_minutes": 60, "unit": "g/kWh",
          "from": "2026-01-05", "to": "2026-01-06", "weights": [412, 398, ...]},
         {"kind": "threshold", "meter": "0001", "test": "each-at-most", "bound_kwh": "3.5",
          "from": "2026-01-05", "to": "2026-01-06"}]

    Times are dates (local midnight in ``tz``) or ISO 8601 date-times with a UTC offset;
    without ``from``/``to`` a statement covers the whole period. ``meter`` may be left out
    when the request is about one meter."""
    try:
        items = json.loads(text)
    except (json.JSONDecodeError, UnicodeDecodeError, RecursionError) as exc:
        raise UsageError(f"not valid JSON: {exc}", obj=LIST_OBJ) from None
    if isinstance(items, dict) and set(items) == {"statements"}:
        items = items["statements"]
    if not isinstance(items, list) or not items:
        raise UsageError("expected a non-empty JSON list of statements", obj=LIST_OBJ)
    if len(items) > MAX_STATEMENTS:
        raise UsageError(
            f"a request holds at most {MAX_STATEMENTS} statements, the list has {len(items)}",
            obj=LIST_OBJ,
        )
    lengths = {m.meter_id: m.interval_s for m in meters}
    kinds = statement_kinds()
    out: list[Statement] = []
    for k, item in enumerate(items):
        if not isinstance(item, dict):
            raise _err(k, None, "expected a JSON object")
        kind = item.get("kind")
        if kind not in kinds:
            raise _err(k, "kind", f"expected one of {sorted(kinds)}")
        cls = statement_class(kind, "statement", LIST_OBJ, f"[{k}].kind")
        extra = sorted(set(item) - cls.JSON_KEYS)
        if extra:
            raise _err(k, extra[0], f"unknown key for a {kind} statement")
        meter = item.get("meter")
        if meter is None:
            if len(lengths) != 1:
                raise _err(k, "meter", "name the meter (the request is about several)")
            meter = next(iter(lengths))
        if meter not in lengths:
            raise _err(k, "meter", f"no --cert for meter {meter!r}")
        out.append(cls.from_json(item, StatementSpec(k, meter, lengths, period, tz, tariffs)))
    return out
