"""What each answered statement, and each submitted bill, discloses: the entries of the
customer's disclosure ledger (:mod:`privbill.disclosure.ledger`, ``docs/disclosure.md`` §7)."""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence

from privbill.billing.cleartext import demand_windows, tiered_indices
from privbill.billing.components import common_interval
from privbill.disclosure.evidence import bill_and_bytes
from privbill.disclosure.ledger import DisclosureLedger, EntryKind, LedgerEntry, Run, Term, runs_of
from privbill.disclosure.model import DisclosureRequest, Statement
from privbill.disclosure.wording import describe_span
from privbill.errors import TariffMismatchError
from privbill.model.bills import PaymentMessage
from privbill.model.components import Demand, HoursUse, TieredEnergy
from privbill.model.register_bills import Bill, RegisterSection
from privbill.model.tariffs import SignedTariff


def statement_entry(
    request: DisclosureRequest,
    index: int,
    statement: Statement,
    intervals: Sequence[int],
    tariffs: Sequence[SignedTariff] = (),
    *,
    at: int,
) -> LedgerEntry:
    """The ledger entry of one answered statement: opened readings, a disclosed functional
    (sum, weighted sum), a bound on a functional (sum thresholds — counted as disclosed, since
    repeated thresholds can find the value) or a bound on every reading of a set
    (``each-at-most``)."""
    s = statement
    kind, weights = s.ledger_terms(request, intervals)
    runs = runs_of(weights)
    terms = (Term(s.meter, runs),) if runs else ()
    return LedgerEntry(
        kind,
        terms,
        s.describe(request, tariffs),
        request.requester,
        "request",
        request.hash(),
        index,
        at,
    )


def record_bill(
    ledger: DisclosureLedger,
    bill: bytes | Bill,
    tariff: SignedTariff,
    *,
    at: int | None = None,
) -> list[LedgerEntry]:
    """Record what a submitted bill discloses, and return the entries.

    A bill reveals its total: the energy charge ``Σ p_i·c_i`` under the tariff's per-interval
    prices (one linear functional over all the bill's meters) plus the other components' fees.
    Conservatively, each tiered component's counted consumption (a window or register total) is
    recorded as disclosed, and each demand window as a bound on every reading in it. Block,
    polynomial and lookup charges and the minimum bill are not linear and are not recorded
    (``docs/disclosure.md`` §7 says what they reveal).
    """
    paid, encoded = bill_and_bytes(bill)
    if paid.tariff_hash != tariff.hash():
        raise TariffMismatchError(
            "the bill was made under another tariff", obj="payment message", field="tariff_hash"
        )
    body = tariff.body
    reference = PaymentMessage.hash_of(encoded)
    when = int(time.time()) if at is None else at
    period = paid.period
    shown = describe_span(period.start, period.end, body.tz)
    recipient = body.utility
    lengths = {m.certificate.meter_id: m.certificate.interval_s for m in paid.meters}
    # Each meter's part of the period: the whole period, or for a register bill the intervals
    # its registers cover (a meter replaced during the period has only part of it).
    parts: dict[str, tuple[int, int]] = {}
    for section in paid.meters:
        mid = section.certificate.meter_id
        if isinstance(section, RegisterSection):
            parts[mid] = (section.statement.first, section.statement.end)
        else:
            a, n = period.intervals(section.certificate.interval_s)
            parts[mid] = (a, a + n)

    def mine(m: str, pairs: Iterable[tuple[int, int]]) -> tuple[Run, ...]:
        lo, hi = parts[m]
        return runs_of((i, w) for i, w in pairs if lo <= i < hi)

    entries: list[LedgerEntry] = []

    def entry(kind: EntryKind, terms: list[Term], what: str, position: int) -> None:
        if terms:
            entries.append(
                LedgerEntry(kind, tuple(terms), what, recipient, "bill", reference, position, when)
            )

    energy_terms = []
    for mid, step in lengths.items():
        first, end = parts[mid]
        runs = runs_of((first + k, p) for k, p in enumerate(body.prices(first, end - first, step)))
        if runs:
            energy_terms.append(Term(mid, runs))
    entry("value", energy_terms, f"the energy charge {shown}: every interval at its price", 0)
    channels = {m.certificate.meter_id: m.certificate.channel for m in paid.meters}
    for j, c in enumerate(body.components):
        if isinstance(c, TieredEnergy):  # all meters, or those of the tiers' channel
            counted = [m for m in lengths if c.channel is None or channels[m] == c.channel]
            if not counted:  # such a bill does not verify
                continue
            step = common_interval([lengths[m] for m in counted])
            first, count = period.intervals(step)
            idx = tiered_indices(body, c, first, count, step)
            terms = [Term(m, mine(m, ((first + k, 1) for k in idx))) for m in counted]
            entry("value", terms, f'the consumption the tiers "{c.name}" count {shown}', j + 1)
        elif isinstance(c, HoursUse):
            step = common_interval(list(lengths.values()))
            first, count = period.intervals(step)
            idx = tiered_indices(body, c, first, count, step)
            terms = [Term(m, mine(m, ((first + k, 1) for k in idx))) for m in lengths]
            entry("value", terms, f'the consumption the tiers "{c.name}" count {shown}', j + 1)
            every = [Term(m, mine(m, ((first + k, 1) for k in range(count)))) for m in lengths]
            entry("peak", every, f'the billing demand of "{c.name}" {shown}', j + 1)
        elif isinstance(c, Demand):
            step = common_interval(list(lengths.values()))
            first, count = period.intervals(step)
            for w, idx in enumerate(demand_windows(body, c, first, count, step)):
                terms = [Term(m, mine(m, ((first + k, 1) for k in idx))) for m in lengths]
                name = c.windows[w].name
                entry(
                    "peak",
                    terms if idx else [],
                    f'the largest demand in the window "{name}" of "{c.name}" {shown}',
                    j + 1,
                )
    ledger.record(entries, lengths)
    return entries
