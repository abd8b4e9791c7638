"""A household with a month's readings and a bill verified by the real provider service, for
the tests of the household's page."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from household_helpers import TZ, Setup, ingest_all, make_setup, month_rows
from privbill.household.agent import Household
from privbill.household.ingest import Ingestor


@dataclass
class WebHousehold:
    setup: Setup
    household: Household
    requests: list[dict[str, Any]]


def billed_household(live: Any, tmp: Path, n_requests: int = 2) -> WebHousehold:
    """Readings for 2026-01 ingested (the meter's own messages), the bill proved, submitted and
    verified by the service (receipt held), and ``n_requests`` disclosure requests of the month's
    total fetched: with no consent policy they wait for the person."""
    s = make_setup(tmp, live.url, provider=live.provider, tariff=live.tariff)
    live.enrol(s)
    h = proved_household(s, tmp)
    store = h.store
    deadline = time.monotonic() + 60
    while (b := store.bill("2026-01")) is not None and b.status != "valid":
        assert time.monotonic() < deadline, f"the bill stays {b.status}: {b.error}"
        h.submit_due(time.time() + 10)
        time.sleep(0.1)
    requests = []
    with live.operator() as op:
        for k in range(n_requests):
            requests.append(
                op.json(
                    "POST",
                    "/v1/disclosures",
                    json_body={
                        "account": s.account,
                        "period": "2026-01",
                        "statements": [{"kind": "sum"}],
                        "requester": f"Example Power {k + 1}",
                        "purpose": f"reconciliation {k + 1}",
                        "timezone": TZ,
                    },
                )
            )
    h.fetch_disclosures()
    assert len(store.disclosures("waiting")) == n_requests
    return WebHousehold(s, h, requests)


def proved_household(s: Setup, tmp: Path, *, prove: bool = True) -> Household:
    """The meter's messages for 2026-01 (and a day more, so January's seals close) ingested, and
    January's bill proved on the device under ``s.tariff`` (stored: no service is asked)."""
    ml = s.meter_link(tmp / "meter", batch=96)
    rows = month_rows(s.tariff, seed=11) + month_rows(s.tariff, "2026-02", seed=12)[:96]
    msgs = []
    for k in range(0, len(rows), 96):
        part = ml.build(rows[k : k + 96])
        ml.commit(part)
        msgs += part
    ml.close()
    store = s.store()
    ingest_all(Ingestor(store, s.home.key()), s.meter_id, msgs)
    with store.transaction():
        store.add_tariff(s.tariff)
    h = Household.load(store, s.home.key())
    assert not prove or h.prove_next() is not None
    return h
