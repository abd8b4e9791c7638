"""The customer's disclosure ledger and disclosure policy (``docs/disclosure.md`` §7).

The ledger records every figure about a customer's readings that has left the customer's
device — disclosure answers to any requester, and submitted bills — as what it is about: a
linear functional over the coordinates ``(meter, interval)``, opened readings, a bound on a
linear functional (threshold statements) or a bound on every reading of a set (``each-at-most``
statements, demand charges). It holds no reading and no disclosed value.

Before answering, :meth:`DisclosureLedger.check` decides whether the new answers, together with
everything in the ledger, would determine something the customer's :class:`DisclosurePolicy`
forbids and the ledger did not already determine:

* a single reading (unless the statement opens it and the policy allows opening readings);
* any combination of readings that lies within a stretch of time shorter than the policy's
  minimum window (:mod:`privbill.disclosure.span`, exact linear algebra over the span of all
  linear functionals; threshold statements count as if they disclosed their functional, since
  repeated thresholds can find its value);
* a combination of readings of a short stretch modulo some number: a weighted sum whose weights
  outside a short stretch are all multiples of ``g`` while some inside are not reveals the
  stretch's weighted sum modulo ``g`` (the "packing" of readings into one figure);
* the largest reading of a short stretch: the sets bounded by ``each-at-most`` statements and
  demand charges cut the timeline into pieces, each of which must last at least the minimum
  window.

It raises :class:`DisclosurePolicyError` naming the statements and earlier disclosures that
combine, and the reading or stretch they would reveal. :meth:`DisclosureLedger.record` adds
entries after an answer is produced. The ledger is a canonical CBOR object,
``privbill/disclosure-ledger/1``, saved with file mode 0600.
"""

from __future__ import annotations

import bisect
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from math import gcd
from pathlib import Path
from typing import Any, Final, Literal, cast
from zoneinfo import ZoneInfo

from privbill.crypto.hashing import DIGEST_BYTES
from privbill.disclosure import span
from privbill.disclosure.model import DEFAULT_MIN_WINDOW_S, DisclosurePolicyError
from privbill.disclosure.wording import describe_duration, describe_span
from privbill.errors import UsageError
from privbill.model import codec
from privbill.model.ids import is_identifier
from privbill.model.periods import MAX_INTERVAL_S, MIN_INTERVAL_S

LEDGER_FORMAT: Final = "privbill/disclosure-ledger/1"
OBJ: Final = "disclosure ledger"
#: Longest minimum window a policy may ask for.
MAX_MIN_WINDOW_S: Final = 366 * 86400
MAX_ENTRIES: Final = 1 << 20
MAX_RUNS: Final = 1 << 20
#: Longest run: more intervals than a meter can have in a year of one-minute readings.
MAX_RUN: Final = 1 << 20
MAX_WHAT: Final = 2000
MAX_ABS_WEIGHT: Final = 2**62
#: Decoding bounds. Depth 7: ledger → entries → entry → terms → term → runs → run (a run is an
#: array of three integers). Items: a disclosed run takes four, so about 250 000 runs.
LIMITS: Final = codec.Limits(depth=7, items=codec.MAX_ITEMS, container=1 << 20)

EntryKind = Literal["value", "readings", "bound", "peak"]
ENTRY_KINDS: Final[tuple[EntryKind, ...]] = ("value", "readings", "bound", "peak")
Source = Literal["request", "bill"]


# --- the policy ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class DisclosurePolicy:
    """What the customer's device may let be learned.

    ``min_window_s``: no combination of readings within a stretch shorter than this may become
    known (default 23 hours, so that the shortest local day — the day daylight saving time
    starts — still counts as a day; 0 allows every stretch, but not single readings).
    ``allow_open``: whether ``open`` statements may be answered at all; the readings they open
    are then known, and nothing else may follow from them.
    """

    min_window_s: int = DEFAULT_MIN_WINDOW_S
    allow_open: bool = False

    def __post_init__(self) -> None:
        if not 0 <= self.min_window_s <= MAX_MIN_WINDOW_S:
            raise UsageError(
                f"the minimum window must lie in 0..{MAX_MIN_WINDOW_S} seconds",
                obj="disclosure policy",
                field="min_window_s",
            )


#: The default policy: a minimum window of 23 hours, no opened readings.
DEFAULT_POLICY: Final = DisclosurePolicy()


# --- entries ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Run:
    """``count`` consecutive intervals from index ``first``, each weighted ``weight``."""

    first: int
    count: int
    weight: int

    @property
    def end(self) -> int:
        return self.first + self.count


@dataclass(frozen=True, slots=True)
class Term:
    """One meter's part of an entry: runs in increasing order, not overlapping."""

    meter: str
    runs: tuple[Run, ...]


def runs_of(weights: Iterable[tuple[int, int]]) -> tuple[Run, ...]:
    """Runs of ``(interval index, weight)`` pairs in increasing index order (zero weights
    dropped; equal neighbouring weights merged)."""
    out: list[Run] = []
    for i, w in weights:
        if not w:
            continue
        if out and out[-1].end == i and out[-1].weight == w:
            last = out[-1]
            out[-1] = Run(last.first, last.count + 1, w)
        else:
            if out and i < out[-1].end:
                raise UsageError("interval indices must increase", obj=OBJ, field="runs")
            out.append(Run(i, 1, w))
    return tuple(out)


@dataclass(frozen=True, slots=True)
class LedgerEntry:
    """One disclosed figure (or, for ``readings``, the readings of a set of intervals).

    ``kind``: ``value`` (the functional ``Σ w·c`` was disclosed), ``readings`` (every reading of
    the terms was opened), ``bound`` (a threshold on ``Σ c``), ``peak`` (a bound on every
    reading of the terms). ``what`` says it in plain words; ``recipient`` is who learned it;
    ``reference`` is the request hash (or the bill hash) and ``statement`` the statement's index
    in the request (or the component's position in the bill); ``at`` is when (Unix seconds).
    """

    kind: EntryKind
    terms: tuple[Term, ...]
    what: str
    recipient: str
    source: Source
    reference: bytes
    statement: int
    at: int

    def weights(self) -> dict[span.Coord, int]:
        return {
            (t.meter, r.first + k): r.weight
            for t in self.terms
            for r in t.runs
            for k in range(r.count)
        }

    def intervals(self) -> int:
        return sum(r.count for t in self.terms for r in t.runs)

    def to_obj(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "terms": [
                {"meter": t.meter, "runs": [[r.first, r.count, r.weight] for r in t.runs]}
                for t in self.terms
            ],
            "what": self.what,
            "recipient": self.recipient,
            "source": self.source,
            "reference": self.reference,
            "statement": self.statement,
            "at": self.at,
        }

    @classmethod
    def from_obj(cls, value: object, path: str) -> LedgerEntry:
        f = codec.Fields(
            value,
            OBJ,
            {"kind", "terms", "what", "recipient", "source", "reference", "statement", "at"},
            path=path,
        )
        kind = f.text("kind", 16)
        if kind not in ENTRY_KINDS:
            raise f.error("kind", f"expected one of {ENTRY_KINDS}")
        source = f.text("source", 16)
        if source not in ("request", "bill"):
            raise f.error("source", "expected 'request' or 'bill'")
        terms = tuple(f.each("terms", lambda v, p: _term_from_obj(v, p, kind), 1, 1024))
        meters = [t.meter for t in terms]
        if len(set(meters)) != len(meters):
            raise f.error("terms", "a meter appears twice")
        return cls(
            kind=kind,
            terms=terms,
            what=f.text("what", MAX_WHAT),
            recipient=f.text("recipient", 200),
            source=cast(Source, source),
            reference=f.octets("reference", DIGEST_BYTES),
            statement=f.integer("statement", 0, 1 << 16),
            at=f.time("at"),
        )


def _term_from_obj(value: object, path: str, kind: str) -> Term:
    f = codec.Fields(value, OBJ, {"meter", "runs"}, path=path)
    raw = f.array("runs", 1, MAX_RUNS)
    runs: list[Run] = []
    for j, item in enumerate(raw):
        where = f"runs[{j}]"
        if (
            not isinstance(item, list)
            or len(item) != 3
            or not all(isinstance(x, int) and not isinstance(x, bool) for x in item)
        ):
            raise f.error(where, "expected [first, count, weight]")
        first, count, weight = item
        if first < 0 or not 1 <= count <= MAX_RUN or not 0 < abs(weight) <= MAX_ABS_WEIGHT:
            raise f.error(where, "first ≥ 0, count ≥ 1 and a nonzero weight expected")
        if kind != "value" and weight != 1:
            raise f.error(where, f"a {kind} entry weighs every interval 1")
        if runs and first < runs[-1].end:
            raise f.error(where, "runs must increase and not overlap")
        runs.append(Run(first, count, weight))
    return Term(f.text("meter", 64, is_identifier), tuple(runs))


# --- the ledger ------------------------------------------------------------------------------


@dataclass(slots=True)
class DisclosureLedger:
    """Every disclosure a customer has made: meters (with their interval lengths) and entries."""

    meters: dict[str, int] = field(default_factory=dict)
    entries: list[LedgerEntry] = field(default_factory=list)

    # --- persistence ---------------------------------------------------------------------

    def to_obj(self) -> dict[str, Any]:
        return {
            "format": LEDGER_FORMAT,
            "meters": [{"meter_id": m, "interval_s": s} for m, s in sorted(self.meters.items())],
            "entries": [e.to_obj() for e in self.entries],
        }

    def encode(self) -> bytes:
        return codec.encode(self.to_obj())

    @classmethod
    def decode(cls, data: bytes) -> DisclosureLedger:
        f = codec.Fields(
            codec.decode(data, OBJ, LEDGER_FORMAT, LIMITS), OBJ, {"format", "meters", "entries"}
        )
        meters: dict[str, int] = {}
        for k, m in enumerate(f.array("meters", 0, 1 << 16)):
            g = codec.Fields(m, OBJ, {"meter_id", "interval_s"}, path=f"meters[{k}]")
            mid = g.text("meter_id", 64, is_identifier)
            if mid in meters:
                raise g.error("meter_id", f"meter {mid!r} listed twice")
            meters[mid] = g.integer("interval_s", MIN_INTERVAL_S, MAX_INTERVAL_S)
        entries = f.each("entries", LedgerEntry.from_obj, 0, MAX_ENTRIES)
        for k, e in enumerate(entries):
            for t in e.terms:
                if t.meter not in meters:
                    raise f.error(f"entries[{k}].terms", f"meter {t.meter!r} is not listed")
        return cls(meters, entries)

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> DisclosureLedger:
        """The ledger saved at ``path``; an empty ledger if there is no file yet."""
        from privbill.files import read_bytes

        if not Path(path).exists():
            return cls()
        return cls.decode(read_bytes(path, OBJ))

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write the ledger atomically, readable by its owner only (mode 0600)."""
        from privbill.files import write_atomic

        write_atomic(path, self.encode(), private=True)

    # --- use -----------------------------------------------------------------------------

    def lengths(self, meters: Mapping[str, int]) -> dict[str, int]:
        """The ledger's meters with ``meters`` added; a meter whose interval length differs
        from the recorded one is refused."""
        out = dict(self.meters)
        for m, s in meters.items():
            if out.setdefault(m, s) != s:
                raise UsageError(
                    f"the ledger records meter {m!r} with {out[m]}-second intervals, not {s}",
                    obj=OBJ,
                    field="meters",
                )
        return out

    def record(self, entries: Sequence[LedgerEntry], meters: Mapping[str, int]) -> None:
        """Add entries (after their answer was produced)."""
        lengths = self.lengths(meters)
        for e in entries:
            if not e.terms:
                raise UsageError("an entry must be about at least one interval", obj=OBJ)
            for t in e.terms:
                if t.meter not in lengths:
                    raise UsageError(f"meter {t.meter!r} has no interval length", obj=OBJ)
        self.meters = lengths
        self.entries.extend(entries)

    def check(
        self,
        entries: Sequence[LedgerEntry],
        meters: Mapping[str, int],
        policy: DisclosurePolicy,
        tz: ZoneInfo,
    ) -> None:
        """Raise :class:`DisclosurePolicyError` if disclosing ``entries`` on top of this ledger
        would reveal what ``policy`` forbids (module docstring); ``meters`` gives the interval
        length of every meter of the entries, ``tz`` the time zone of the messages."""
        lengths = self.lengths(meters)
        for e in entries:
            for t in e.terms:
                if t.meter not in lengths:
                    raise UsageError(f"meter {t.meter!r} has no interval length", obj=OBJ)
        ctx = _Context(lengths, policy, tz, frozenset(id(e) for e in entries))
        for e in entries:
            if e.kind == "readings" and not policy.allow_open:
                raise DisclosurePolicyError(
                    f"{ctx.label(e)} would reveal {_readings_phrase(e, ctx)}, and your disclosure "
                    "policy does not allow opening readings. Leave it out of your consent.",
                    statements=(e.statement,),
                )
        for e in entries:
            if e.kind == "value":
                _modular_check(e, ctx)
        _linear_check(self.entries, entries, ctx)
        _peak_check(self.entries, entries, ctx)


# --- messages --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Context:
    lengths: dict[str, int]
    policy: DisclosurePolicy
    tz: ZoneInfo
    fresh: frozenset[int]  # ids of the entries about to be disclosed

    def is_new(self, e: LedgerEntry) -> bool:
        return id(e) in self.fresh

    def label(self, e: LedgerEntry) -> str:
        if self.is_new(e):
            return f"statement {e.statement + 1} ({e.what})"
        day = datetime.fromtimestamp(e.at, self.tz)
        when = f"{day.day} {_MONTHS[day.month]} {day.year}"
        if e.source == "bill":
            return f"your bill submitted to {e.recipient} on {when} ({e.what})"
        return f"what you disclosed to {e.recipient} on {when} ({e.what})"

    def stretch(self, start: int, end: int) -> str:
        return describe_span(start, end, self.tz)

    def minimum(self) -> str:
        return describe_duration(self.policy.min_window_s)


_MONTHS: Final = (
    "", "January", "February", "March", "April", "May", "June", "July", "August", "September",
    "October", "November", "December",
)  # fmt: skip


def _readings_phrase(e: LedgerEntry, ctx: _Context) -> str:
    n = e.intervals()
    t = e.terms[0]
    r = t.runs[0]
    step = ctx.lengths[t.meter]
    first = ctx.stretch(r.first * step, (r.first + 1) * step)
    if n == 1:
        return f"your exact consumption on meter {t.meter} {first}"
    return f"your exact consumption in each of {n} intervals (the first {first})"


def _refuse(what: str, sources: Sequence[LedgerEntry], ctx: _Context) -> DisclosurePolicyError:
    new = [s for s in sources if ctx.is_new(s)]
    old = [s for s in sources if not ctx.is_new(s)]
    parts = [ctx.label(s) for s in new] + [ctx.label(s) for s in old]
    because = parts[0] if len(parts) == 1 else "; ".join(parts[:-1]) + "; and " + parts[-1]
    numbers = ", ".join(str(s.statement + 1) for s in new)
    advice = (
        f"Leave statement {numbers} out of your consent."
        if len(new) == 1
        else f"Leave one of statements {numbers} out of your consent."
    )
    return DisclosurePolicyError(
        f"Answering would reveal {what}, which your disclosure policy does not allow. It "
        f"follows from: {because}. {advice}",
        statements=tuple(s.statement for s in new),
    )


# --- linear functionals: exact span ----------------------------------------------------------


def _ranges(e: LedgerEntry) -> list[tuple[str, int, int]]:
    return [(t.meter, r.first, r.end) for t in e.terms for r in t.runs]


class _Cover:
    """Per meter, the union of some interval ranges (sorted, disjoint)."""

    def __init__(self) -> None:
        self.spans: dict[str, list[tuple[int, int]]] = {}

    def add(self, meter: str, a: int, b: int) -> None:
        spans = self.spans.setdefault(meter, [])
        spans.append((a, b))
        spans.sort()
        merged: list[tuple[int, int]] = []
        for x, y in spans:
            if merged and x <= merged[-1][1]:
                merged[-1] = (merged[-1][0], max(merged[-1][1], y))
            else:
                merged.append((x, y))
        self.spans[meter] = merged

    def meets(self, meter: str, a: int, b: int) -> bool:
        spans = self.spans.get(meter, [])
        k = bisect.bisect_right(spans, (a, float("inf"))) - 1
        if k >= 0 and spans[k][1] > a:
            return True
        return k + 1 < len(spans) and spans[k + 1][0] < b


def _linear_check(ledger: Sequence[LedgerEntry], new: Sequence[LedgerEntry], ctx: _Context) -> None:
    linear = ("value", "readings", "bound")
    fresh = [e for e in new if e.kind in linear]
    if not fresh:
        return
    # Functionals on disjoint coordinates form a direct sum: only entries connected to the new
    # ones through shared intervals can combine with them.
    cover = _Cover()
    for e in fresh:
        for m, a, b in _ranges(e):
            cover.add(m, a, b)
    old = [e for e in ledger if e.kind in linear]
    chosen: list[LedgerEntry] = []
    grown = True
    while grown:
        grown = False
        rest = []
        for e in old:
            if any(cover.meets(m, a, b) for m, a, b in _ranges(e)):
                chosen.append(e)
                for m, a, b in _ranges(e):
                    cover.add(m, a, b)
                grown = True
            else:
                rest.append(e)
        old = rest

    functionals: list[dict[span.Coord, int]] = []
    owners: list[LedgerEntry] = []
    base: list[int] = []

    def add(e: LedgerEntry, in_base: bool) -> None:
        w = e.weights()
        parts = [{c: 1} for c in sorted(w)] if e.kind == "readings" else [w]
        for p in parts:
            if in_base:
                base.append(len(functionals))
            functionals.append(p)
            owners.append(e)

    for e in chosen:
        add(e, True)
    for e in fresh:
        add(e, e.kind == "readings" and ctx.policy.allow_open)
    found = span.new_short_functional(functionals, base, ctx.lengths, ctx.policy.min_window_s)
    if found is None:
        return
    sources: list[LedgerEntry] = []
    for j in found.sources:
        if owners[j] not in sources:
            sources.append(owners[j])
    raise _refuse(_finding_phrase(found, ctx), sources, ctx)


def _finding_phrase(found: span.Finding, ctx: _Context) -> str:
    meters = sorted({m for m, _ in found.vector})
    on = f"meter {meters[0]}" if len(meters) == 1 else "meters " + ", ".join(meters)
    when = ctx.stretch(found.start, found.end)
    if found.reading:
        return f"your exact consumption on {on} {when}"
    weights = set(found.vector.values())
    if len(weights) == 1:
        what = "your total consumption"
    else:
        what = "a weighted combination of your readings"
    return (
        f"{what} on {on} {when}, a stretch of {describe_duration(found.end - found.start)} "
        f"(your policy's minimum is {ctx.minimum()})"
    )


# --- integer structure of one weighted sum -----------------------------------------------


def _modular_check(e: LedgerEntry, ctx: _Context) -> None:
    """Refuse a weighted sum that packs a short stretch: some short stretch ``W`` whose weights
    are not all multiples of ``g``, the gcd of the weights outside ``W`` (``g > 1``); the sum
    then reveals ``Σ_W w_i·c_i`` modulo ``g`` — exactly, when the readings are below ``g``."""
    if len(e.terms) != 1:
        return  # statements are about one meter
    term = e.terms[0]
    step = ctx.lengths[term.meter]
    idx: list[int] = []
    ws: list[int] = []
    for r in term.runs:
        for k in range(r.count):
            idx.append(r.first + k)
            ws.append(r.weight)
    n = len(ws)
    if n < 2 or len(set(ws)) == 1:
        return
    prefix = [0] * (n + 1)
    for k in range(n):
        prefix[k + 1] = gcd(prefix[k], ws[k])
    suffix = [0] * (n + 1)
    for k in range(n - 1, -1, -1):
        suffix[k] = gcd(suffix[k + 1], ws[k])
    table = _GcdTable(ws)
    length = max(ctx.policy.min_window_s, 1)
    hi = 0
    for lo in range(n):
        # W = [lo, hi): the intervals inside [t, t + L) from this one; at least one interval.
        t = idx[lo] * step
        hi = max(hi, lo + 1)
        while hi < n and (idx[hi] + 1) * step < t + length:
            hi += 1
        g = gcd(prefix[lo], suffix[hi])
        if g > 1 and table.query(lo, hi) % g:
            # What leaks is the combination of the readings whose weight is not a multiple of g.
            odd = [idx[k] for k in range(lo, hi) if ws[k] % g]
            start, end = odd[0] * step, (odd[-1] + 1) * step
            which = "your reading" if len(odd) == 1 else "a combination of your readings"
            raise _refuse(
                f"{which} on meter {term.meter} {ctx.stretch(start, end)} modulo {g}: every "
                f"other weight is a multiple of {g} (weights like these pack individual "
                "readings into one figure)",
                [e],
                ctx,
            )


class _GcdTable:
    """Range gcd queries in constant time (sparse table)."""

    def __init__(self, values: Sequence[int]) -> None:
        self.levels = [list(values)]
        k = 1
        while 2 * k <= len(values):
            prev = self.levels[-1]
            self.levels.append([gcd(prev[i], prev[i + k]) for i in range(len(values) - 2 * k + 1)])
            k *= 2

    def query(self, lo: int, hi: int) -> int:
        level = (hi - lo).bit_length() - 1
        row = self.levels[level]
        return gcd(row[lo], row[hi - (1 << level)])


# --- bounds on every reading of a set ----------------------------------------------------


def _peak_check(ledger: Sequence[LedgerEntry], new: Sequence[LedgerEntry], ctx: _Context) -> None:
    """The sets of readings bounded one by one (``each-at-most``, demand charges) cut each
    meter's timeline into pieces (readings in the same sets); the largest reading of every piece
    can become known, so every new piece must last the minimum window and hold two readings."""
    fresh = [e for e in new if e.kind == "peak"]
    if not fresh:
        return
    old = [e for e in ledger if e.kind == "peak"]
    for meter in sorted({t.meter for e in fresh for t in e.terms}):
        before = _pieces(old, meter)
        after = _pieces([*old, *fresh], meter)
        known = set(before.values())
        step = ctx.lengths[meter]
        for members, piece in sorted(after.items(), key=lambda kv: min(kv[1])):
            if piece in known:
                continue
            duration = len(piece) * step
            if duration >= ctx.policy.min_window_s and len(piece) > 1:
                continue
            everything = [*old, *fresh]
            sources = [everything[j] for j in members]
            if not any(ctx.is_new(e) for e in sources):
                # An old piece cut by new sets: the remainder is bounded by old sets only.
                cut = next(p for p in before.values() if min(piece) in p)
                sources += [e for e in fresh if _coords(e, meter) & cut]
            start, end = min(piece) * step, (max(piece) + 1) * step
            what = (
                f"the largest of your readings on meter {meter} in a set of {len(piece)} "
                f"interval(s) {ctx.stretch(start, end)}, {describe_duration(duration)} in all "
                f"(your policy's minimum is {ctx.minimum()})"
            )
            raise _refuse(what, sources, ctx)


def _coords(e: LedgerEntry, meter: str) -> set[int]:
    return {i for t in e.terms if t.meter == meter for r in t.runs for i in range(r.first, r.end)}


def _pieces(entries: Sequence[LedgerEntry], meter: str) -> dict[tuple[int, ...], frozenset[int]]:
    membership: dict[int, list[int]] = {}
    for j, e in enumerate(entries):
        for t in e.terms:
            if t.meter == meter:
                for r in t.runs:
                    for i in range(r.first, r.end):
                        membership.setdefault(i, []).append(j)
    groups: dict[tuple[int, ...], set[int]] = {}
    for i, js in membership.items():
        groups.setdefault(tuple(js), set()).add(i)
    return {k: frozenset(v) for k, v in groups.items()}
