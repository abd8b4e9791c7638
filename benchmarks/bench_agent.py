"""The household agent on this machine: ingestion from the broker, and billing as a delegate.

1. **ingestion, end to end from the broker**: a meter's messages (built beforehand; the meter's
   own cost is measured apart) are published to Mosquitto on 127.0.0.1:1883 as fast as the
   broker takes them; the agent — subscribed with a persistent session, in this process —
   receives, checks (signature, HPKE, openings against commitments, seal chain) and stores them.
   Readings per second from the first publish to the last reading stored; a year of 15-minute
   readings in messages of a day (96 readings), and a month in messages of one reading each
   (the real-time shape). Then the cost of each check on its own, per reading.
2. **delegate billing**: N households with a month of readings each in their own stores (filled
   by the same ingestion, without the broker); CPU seconds to prove and persist every bill
   (``Household.prove_next``), split into loading from the store and proving; extrapolated to
   1000 households.

Usage::

    python benchmarks/bench_agent.py [--households 20] [--repeat 3] [--skip-broker]
"""

from __future__ import annotations

import argparse
import secrets
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from household_helpers import TZ, make_setup
from privbill.billing.prover import MeterInput, check_openings, prove_bill
from privbill.crypto import group
from privbill.household import hpke, link
from privbill.household.agent import Agent, Household
from privbill.household.ingest import Ingestor
from privbill.household.mqtt import BrokerAddress, Connection, wait_all
from privbill.household.sources import SyntheticSource
from privbill.model.periods import BillingPeriod, zone
from privbill.model.readings import Openings


def build_messages(
    tmp: Path, s, days: int, batch: int
) -> tuple[list[tuple[int, str, int, bytes]], float]:  # type: ignore[no-untyped-def]
    tz = zone(TZ)
    period = BillingPeriod.parse("2026-01", tz)
    first = period.start // 900
    src = SyntheticSource(first, 900, tz, 7, days * 96)
    rows = list(src.rows_from(first))
    ml = s.meter_link(tmp / f"meter-{batch}-{days}", batch=batch)
    msgs: list[tuple[int, str, int, bytes]] = []
    t0 = time.perf_counter()
    for k in range(0, len(rows), batch):
        part = ml.build(rows[k : k + batch])
        ml.commit(part)
        msgs += part
    took = time.perf_counter() - t0
    ml.close()
    return msgs, took / len(rows)


def ingest_via_broker(tmp: Path, days: int, batch: int) -> dict[str, float]:
    s = make_setup(tmp)
    msgs, meter_s = build_messages(tmp, s, days, batch)
    readings = days * 96
    agent = Agent(s.home)
    agent.billing = agent.disclosures = False
    agent.connect()
    stop = threading.Event()
    done = threading.Event()
    target = len(msgs)

    def idle(a: Agent) -> None:
        m = a.households[s.account].store.meter(s.meter_id)
        if m is not None and m.next_n >= target:
            done.set()
            stop.set()

    th = threading.Thread(target=agent.run, args=(stop,), kwargs={"on_idle": idle}, daemon=True)
    topic = link.link_topic(s.prefix, s.meter_id)
    resent = [0]

    def resend(_t: str, payload: bytes, _m: int, _q: int) -> None:
        # what the meter process does: publish again what the agent lacks (the broker drops what
        # overflows a client's queue, 1000 messages by default)
        req = link.ResendRequest.decode(payload)
        for _n, _k, _f, p in msgs[req.start : req.end]:
            pub.publish(topic, p)
        resent[0] += req.end - req.start

    pub = Connection(
        BrokerAddress(), f"privbill-bench-{secrets.token_hex(4)}", inflight=1000,
        on_message=resend, subscriptions=(link.resend_topic(s.prefix, s.meter_id),),
    )  # fmt: skip
    cpu0 = time.process_time()
    t0 = time.perf_counter()
    th.start()
    infos = [pub.publish(topic, p) for _n, _k, _f, p in msgs]
    wait_all(infos, 600)
    t_pub = time.perf_counter() - t0
    # the meter's retained head: how far its stream goes
    head = link.Head.make(s.meter_key, meter_id=s.meter_id, last=len(msgs) - 1, at=int(time.time()))
    deadline = time.monotonic() + 600
    while not done.wait(0.0) and time.monotonic() < deadline:  # as the meter: its head now and then
        pub.publish_wait(link.head_topic(s.prefix, s.meter_id), head, retain=True)
        done.wait(2.0)
    took = time.perf_counter() - t0
    cpu = time.process_time() - cpu0
    th.join(30)
    agent.close()
    pub.close()
    m = s.store().meter(s.meter_id)
    assert m is not None and m.next_index is not None and m.next_index - m.first_index == readings  # type: ignore[operator]
    return {
        "readings": readings,
        "messages": len(msgs),
        "seconds": took,
        "publish_s": t_pub,
        "readings_per_s": readings / took,
        "cpu_s": cpu,
        "meter_ms_per_reading": meter_s * 1000,
        "resent": resent[0],
    }


def component_costs(tmp: Path) -> dict[str, float]:
    """Per-reading cost of each check, in microseconds, for day messages (96 readings)."""
    s = make_setup(tmp)
    msgs, _ = build_messages(tmp, s, 7, 96)
    key = s.home.key()
    pub = s.meter_key.public_key()
    readings = [link.ReadingsMessage.decode(p) for _n, k, _f, p in msgs if k == "readings"]
    out: dict[str, float] = {}

    def per_reading(fn, label: str) -> None:  # type: ignore[no-untyped-def]
        t0 = time.perf_counter()
        for r in readings:
            fn(r)
        out[label] = (time.perf_counter() - t0) / (96 * len(readings)) * 1e6

    per_reading(lambda r: link.ReadingsMessage.decode(msgs[0][3]), "decode")
    per_reading(lambda r: r.verify(pub), "meter signature")
    plains = {}
    per_reading(
        lambda r: plains.__setitem__(r.n, hpke.open_(r.sealed_openings, key, r.info())), "HPKE open"
    )
    ops = {}
    per_reading(lambda r: ops.__setitem__(r.n, Openings.decode(plains[r.n])), "openings decode")
    pts = {}
    per_reading(
        lambda r: pts.__setitem__(r.n, group.decode_points_on_curve(r.commitments, r.count)),
        "points decode",
    )
    per_reading(
        lambda r: check_openings(pts[r.n], ops[r.n].values, ops[r.n].blindings or []),
        "opening check (batched)",
    )
    return out


def delegate_billing(tmp: Path, n: int) -> dict[str, float]:
    tz = zone(TZ)
    first_s = make_setup(tmp / "h0", mode="delegate")
    households: list[Household] = []
    setups = [first_s]
    for k in range(1, n):
        setups.append(
            make_setup(
                tmp / f"h{k}", mode="delegate", provider=first_s.provider, tariff=first_s.tariff
            )
        )
    period = BillingPeriod.parse("2026-01", tz)
    first = period.start // 900
    for k, s in enumerate(setups):
        src = SyntheticSource(first, 900, tz, 100 + k, 2976)
        rows = list(src.rows_from(first))
        ml = s.meter_link(tmp / f"meter{k}", batch=96)
        msgs = []
        for j in range(0, len(rows), 96):
            part = ml.build(rows[j : j + 96])
            ml.commit(part)
            msgs += part
        ml.close()
        store = s.store()
        ing = Ingestor(store, s.home.key())
        with store.transaction():
            for _n, _k, _f, p in msgs:
                ing.handle(s.meter_id, p)
        store.add_tariff(s.tariff)
        h = Household.load(store, s.home.key())
        households.append(h)
    load_cpu = 0.0
    prove_cpu = 0.0
    total_cpu0 = time.process_time()
    for h in households:
        c0 = time.process_time()
        mid = h.store.meter_ids()[0]
        m = h.store.meter(mid)
        assert m is not None
        inp = MeterInput(
            h.store.sealed(mid, first, first + 2976), [h.store.openings(mid, first, first + 2976)]
        )
        c1 = time.process_time()
        prove_bill(first_s.tariff, [inp], period)  # as a one-shot prover: re-checks every opening
        c2 = time.process_time()
        load_cpu += c1 - c0
        prove_cpu += c2 - c1
    bare = time.process_time() - total_cpu0
    c0 = time.process_time()
    for h in households:
        assert h.prove_next() is not None
    full = time.process_time() - c0
    for h in households:
        h.store.close()
    return {
        "households": n,
        "cpu_s_full": full,
        "cpu_s_per_household": full / n,
        "load_s_per_household": load_cpu / n,
        "prove_s_per_household": prove_cpu / n,
        "bare_s_per_household": bare / n,
        "extrapolated_1000_cpu_s": full / n * 1000,
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--households", type=int, default=20)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--skip-broker", action="store_true")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        if not args.skip_broker:
            for days, batch, label in (
                (365, 96, "year, day messages"),
                (31, 1, "month, one reading per message"),
            ):
                runs = [
                    ingest_via_broker(tmp / f"{batch}-{r}", days, batch) for r in range(args.repeat)
                ]
                med = statistics.median(r["readings_per_s"] for r in runs)
                secs = statistics.median(r["seconds"] for r in runs)
                cpu = statistics.median(r["cpu_s"] for r in runs)
                meter = statistics.median(r["meter_ms_per_reading"] for r in runs)
                print(
                    f"ingestion {label}: {runs[0]['readings']} readings in {runs[0]['messages']} messages: "
                    f"median {secs:.2f} s, {med:.0f} readings/s (process CPU {cpu:.2f} s; "
                    f"meter {meter:.3f} ms/reading to build; messages re-sent on request: "
                    f"{[r['resent'] for r in runs]})"
                )
        costs = component_costs(tmp / "costs")
        total = sum(costs.values())
        print(
            "per-reading cost of the agent's checks (day messages), µs: "
            + ", ".join(f"{k} {v:.1f}" for k, v in costs.items())
            + f"; sum {total:.1f} → {1e6 / total:.0f} readings/s of checks"
        )
        b = delegate_billing(tmp / "delegate", args.households)
        print(
            f"delegate billing, {b['households']} households' January (2976 readings each): "
            f"the agent's prove_next {b['cpu_s_full']:.2f} CPU-s in all, "
            f"{b['cpu_s_per_household'] * 1000:.0f} ms per household (openings checked on arrival, "
            f"not again); for comparison a one-shot prover that re-checks every opening: load from "
            f"store {b['load_s_per_household'] * 1000:.0f} ms + prove "
            f"{b['prove_s_per_household'] * 1000:.0f} ms per household; 1000 households: "
            f"{b['extrapolated_1000_cpu_s']:.0f} CPU-s"
        )


if __name__ == "__main__":
    main()
