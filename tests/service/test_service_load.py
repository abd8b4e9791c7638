"""A bounded load test on loopback (N customers submit month bills at once), then a scan of the
whole database for any value a customer kept private: readings, openings, undisclosed sums."""

from __future__ import annotations

import json
import re
import statistics
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import cbor2
import httpx
import pytest
from sqlalchemy import MetaData, select

from privbill.crypto import group
from privbill.disclosure import answer
from privbill.disclosure.ledger import DisclosureLedger
from privbill.disclosure.model import Consent, DisclosureRequest
from privbill.service.client import Client
from service_helpers import CBOR, Running, World, build_world, wait_final

N = 10


@pytest.fixture(scope="module")
def loaded(running: Running) -> Running:
    """The shared service, with N more customers of the same provider enrolled."""
    crowd = build_world(
        N, months=("2026-01",), seed=11, provider=running.world.provider, prefix="load-"
    )
    with running.operator() as op:
        for c in crowd.customers:
            op.request("POST", "/v1/certificates", body=c.cert.encode(), content_type=CBOR)
            op.json(
                "PUT",
                f"/v1/accounts/{c.account}",
                json_body={"customer_key_pem": c.customer_key.public_key().to_pem().decode()},
            )
    return Running(
        running.service,
        running.url,
        World(crowd.provider, running.world.tariff, running.world.other_tariff, crowd.customers),
        running.admin,
        running.tokens,
        running.engine,
        running.tmp,
    )


@pytest.mark.slow
def test_customers_submit_at_once(loaded: Running) -> None:
    bills = [c.months["2026-01"].bill for c in loaded.world.customers]

    def one(bill: bytes) -> tuple[float, dict[str, Any]]:
        with httpx.Client(base_url=loaded.url, timeout=60) as h:
            t0 = time.perf_counter()
            r = h.post("/v1/bills", content=bill, headers={"content-type": CBOR})
            latency = time.perf_counter() - t0
            assert r.status_code == 202, r.text
            sub = r.json()
        return latency, wait_final(loaded.url, sub["bill_hash"], sub["token"], timeout=120)

    t0 = time.perf_counter()
    with ThreadPoolExecutor(max_workers=N) as pool:
        results = list(pool.map(one, bills))
    wall = time.perf_counter() - t0
    assert all(s["status"] == "valid" for _, s in results)
    lat = sorted(x for x, _ in results)
    print(
        f"\nload: {N} bills in {wall:.2f} s ({N / wall:.1f}/s); submit latency median "
        f"{statistics.median(lat) * 1000:.0f} ms, max {lat[-1] * 1000:.0f} ms"
    )


def _consent_to_one_day(loaded: Running) -> int:
    """The realistic run includes a consented disclosure of one day's sum (which is then, and
    only then, known to the provider). Returns that day's first interval offset."""
    c0 = loaded.world.customers[0]
    spec = {
        "account": c0.account,
        "period": "2026-01",
        "statements": [{"kind": "sum", "from": "2026-01-07", "to": "2026-01-08"}],
        "requester": "Example Power",
        "purpose": "settlement",
        "timezone": "America/Denver",
    }
    with loaded.operator("disclosures:write") as op:
        rid = op.json("POST", "/v1/disclosures", json_body=spec)["request_id"]
    with loaded.customer(0) as me:
        req = DisclosureRequest.decode(me.cbor(f"/v1/disclosures/{rid}/request"))
        m = c0.months["2026-01"]
        resp = answer(
            req,
            Consent.create(req, key=c0.customer_key),
            [m.sealed],
            [m.openings],
            provider=loaded.world.provider.public_key,
            ledger=DisclosureLedger(),
        )
        me.request("POST", f"/v1/disclosures/{rid}/response", body=resp.encode(), content_type=CBOR)
    return 6 * 96


def _cells(engine: Any) -> Iterator[tuple[str, bytes]]:
    meta = MetaData()
    meta.reflect(engine)
    with engine.connect() as conn:
        for table in meta.sorted_tables:
            for row in conn.execute(select(table)):
                for col, value in zip(table.columns, row, strict=True):
                    where = f"{table.name}.{col.name}"
                    if isinstance(value, bytes | memoryview):
                        yield where, bytes(value)
                    elif value is not None:
                        yield where, str(value).encode()


class Scanner:
    """Finds private values in cells: 32-byte blindings (raw, hex, decimal), runs of readings
    (CBOR array, JSON list, comma-separated), and private aggregates (decimal text, CBOR int)."""

    def __init__(self) -> None:
        self.raw: dict[bytes, str] = {}  # first 8 bytes -> full needle is checked
        self.needles: dict[bytes, str] = {}
        self.numbers: dict[int, str] = {}

    def add_blinding(self, r: int, what: str) -> None:
        b = group.encode_scalar(r)
        self.needles[b] = what
        self.needles[b.hex().encode()] = what
        self.numbers[r] = what

    def add_run(self, values: list[int], what: str) -> None:
        assert len(values) >= 8  # every encoding then has at least 8 bytes (the prefix index)
        self.needles[cbor2.dumps(values)] = what
        self.needles[json.dumps(values).encode()] = what
        self.needles[json.dumps(values, separators=(",", ":")).encode()] = what
        self.needles[",".join(map(str, values)).encode()] = what

    def add_number(self, n: int, what: str) -> None:
        """A private aggregate, found as decimal text (7 digits or more: fewer would match
        unrelated numbers)."""
        assert n >= 10**6
        self.numbers[n] = what

    def scan(self, cells: list[tuple[str, bytes]]) -> list[str]:
        by_prefix: dict[bytes, list[tuple[bytes, str]]] = {}
        for needle, what in self.needles.items():
            by_prefix.setdefault(needle[:8], []).append((needle, what))
        found: list[str] = []
        digits = re.compile(rb"(?<![0-9])[0-9]{7,80}(?![0-9])")
        for where, data in cells:
            for i in range(len(data) - 7):
                hits = by_prefix.get(data[i : i + 8])
                if hits:
                    found += [f"{what} in {where}" for n, what in hits if data.startswith(n, i)]
            for m in digits.finditer(data):
                what = self.numbers.get(int(m.group()))
                if what is not None:
                    found.append(f"{what} (decimal) in {where}")
        return found


@pytest.mark.slow
def test_database_holds_no_private_value(loaded: Running, world: World) -> None:
    disclosed_day = _consent_to_one_day(loaded)
    assert disclosed_day == 6 * 96
    # Every customer's bill went through the service (the load test above, or now).
    for c in loaded.world.customers:
        with Client(loaded.url) as cl:
            sub = cl.submit(c.months["2026-01"].bill)
        assert wait_final(loaded.url, sub["bill_hash"], sub["token"])["status"] == "valid"
    scanner = Scanner()
    # The crowd's bills and the other service tests' customers (bills of two months,
    # supersessions, invalid bills, a disclosure) share the database: scan for all of them.
    everyone = [(c, m) for c in loaded.world.customers for m in c.months.values()]
    everyone += [(c, m) for c in world.customers for m in c.months.values()]
    for c, m in everyone:
        o = m.openings
        assert o.blindings is not None  # the test meters send their blinding factors
        for i, r in enumerate(o.blindings):
            scanner.add_blinding(r, f"opening of {c.meter_id} interval {i}")
        for day in range(len(m.values) // 96):
            run = m.values[day * 96 : (day + 1) * 96]
            scanner.add_run(run, f"readings of {c.meter_id} day {day}")
            for h in range(0, 96, 8):  # and every 2-hour run of a day
                scanner.add_run(run[h : h + 8], f"readings of {c.meter_id} day {day} h{h // 4}")
        # The month's total consumption stays hidden (only the fee is revealed); the one day
        # whose sum customer 0 consented to disclose (day disclosed_day / 96) is not private.
        scanner.add_number(sum(m.values), f"month total of {c.meter_id}")
        scanner.needles[o.encode()[:64]] = f"openings file of {c.meter_id}"
    cells = list(_cells(loaded.engine))
    assert sum(len(d) for _, d in cells) > N * 100_000  # the bills are really in there
    assert scanner.scan(cells) == []
    # The scanner finds what it looks for: plant one of each kind in a copy of the cells.
    c0 = loaded.world.customers[0].months["2026-01"]
    r0 = (c0.openings.blindings or [0])[0]
    planted = [
        ("x.raw", b"..." + group.encode_scalar(r0) + b"..."),
        ("x.hex", f'{{"r": "{group.encode_scalar(r0).hex()}"}}'.encode()),
        ("x.json", json.dumps({"wh": c0.values[96:192]}).encode()),
        ("x.month", f'{{"total_wh": {sum(c0.values)}}}'.encode()),
    ]
    hits = scanner.scan(planted)
    assert {h.split(" in ")[-1] for h in hits} >= {"x.raw", "x.hex", "x.json"}
    assert any("month total" in h for h in hits)
