"""Prometheus metrics of the API and of the processes that verify bills.

Verification metrics are recorded by the process that learns a job's outcome: the API process
when it runs the local pool (SQLite), each ``privbill worker`` otherwise (``--metrics-port``).
Queue depth and bills by status are read from the database at scrape time.
"""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client import Counter, Histogram
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector, CollectorRegistry
from sqlalchemy import Engine, func, select

from privbill.service import db

REGISTRY = CollectorRegistry(auto_describe=True)

BILLS_VERIFIED = Counter(
    "privbill_bills_verified",
    "Bills verified by workers of this process, by result",
    ["result"],
    registry=REGISTRY,
)
VERIFY_FAILURES = Counter(
    "privbill_verification_failures",
    "Bills that failed verification, by typed error",
    ["error_type"],
    registry=REGISTRY,
)
VERIFY_SECONDS = Histogram(
    "privbill_verification_seconds",
    "Time to verify one bill (verify_bill, without queueing)",
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60),
    registry=REGISTRY,
)
HTTP_REQUESTS = Counter(
    "privbill_http_requests",
    "HTTP requests by route and status",
    ["method", "route", "status"],
    registry=REGISTRY,
)
HTTP_SECONDS = Histogram(
    "privbill_http_request_seconds",
    "HTTP request latency by route",
    ["route"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5),
    registry=REGISTRY,
)
SUBMISSIONS = Counter(
    "privbill_submissions",
    "Bill submissions by outcome",
    ["outcome"],
    registry=REGISTRY,
)


def record_outcome(status: str, error_type: str | None, seconds: float) -> None:
    if status not in (db.VALID, db.INVALID):
        return
    BILLS_VERIFIED.labels(status).inc()
    VERIFY_SECONDS.observe(seconds)
    if error_type:
        VERIFY_FAILURES.labels(error_type).inc()


class DatabaseCollector(Collector):
    """Queue depth and bills by status, read at scrape time."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def collect(self) -> Iterator[GaugeMetricFamily]:
        depth = GaugeMetricFamily("privbill_queue_depth", "Bills waiting for verification")
        by_status = GaugeMetricFamily("privbill_bills", "Stored bills by status", labels=["status"])
        try:
            with self.engine.connect() as conn:
                rows = conn.execute(
                    select(db.bills.c.status, func.count()).group_by(db.bills.c.status)
                ).all()
        except Exception:  # a scrape must not fail because the database is away
            return
        counts = {r[0]: int(r[1]) for r in rows}
        depth.add_metric([], counts.get(db.PENDING, 0))
        for status in (db.PENDING, db.VALID, db.INVALID, db.SUPERSEDED):
            by_status.add_metric([status], counts.get(status, 0))
        yield depth
        yield by_status


_DB_COLLECTOR: list[DatabaseCollector] = []


def use_database(engine: Engine) -> DatabaseCollector:
    """Read queue depth and bill counts from ``engine`` (the newest app in a process wins)."""
    for old in _DB_COLLECTOR:
        REGISTRY.unregister(old)
    _DB_COLLECTOR.clear()
    collector = DatabaseCollector(engine)
    REGISTRY.register(collector)
    _DB_COLLECTOR.append(collector)
    return collector
