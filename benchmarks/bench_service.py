"""The provider service under load, against bare verification, on this machine.

Cases (medians; the machine is shared and noisy, so compare the side-by-side ratios):

1. **throughput**: N month time-of-use bills (one per customer) verified by ``verify_bill`` in
   2 bare processes, then through the whole service (HTTP submit → stored → verified by a worker
   → receipt) with 1 and 2 workers: bills per second and the ratio to the bare figure.
2. **submit latency** at that load: p50 and p99 of the POST /v1/bills round trip.
3. **one-shot CLI** ``privbill bill verify`` (and ``bill prove``) of the ``demo --scenario
   commercial-demand`` bill as a fresh process: Bulletproof generator disk cache off, cold
   (first run fills it) and warm.

Usage::

    python benchmarks/bench_service.py [--bills 40] [--db sqlite|postgresql] [--skip-cli]
        [--demand-dir DIR]   # a `privbill demo --scenario commercial-demand --out DIR` output

Scaling to more cores: run ``privbill worker`` processes on more machines against one
PostgreSQL (``--db postgresql``); this script's ``--workers`` list gives the per-worker curve.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx

from harness import pct
from privbill.billing.prover import MeterInput, prove_bill
from privbill.billing.verifier import verify_bill
from privbill.crypto.signatures import SigningKey
from privbill.demo import demo_tariff_description
from privbill.meter import Meter
from privbill.model.periods import BillingPeriod
from privbill.model.sealed import SealedReadings
from privbill.model.tariffs import SignedTariff, TariffBody
from privbill.provider import Provider
from privbill.service import auth, db

CBOR = "application/cbor"


def make_bills(n: int) -> tuple[Provider, SignedTariff, list[bytes], list[bytes]]:
    rng = random.Random(1)
    provider = Provider.generate("ed25519")
    tariff = provider.sign_tariff(TariffBody.from_description(demo_tariff_description()))
    period = BillingPeriod.parse("2026-01", tariff.body.tz)
    first, count = period.intervals(900)
    bills, certs = [], []
    for k in range(n):
        key = SigningKey.generate()
        cert = provider.certify_meter(f"b{k:05d}", f"acct-{k:05d}", key.public_key())
        meter = Meter(cert, key, seal_span="day", timezone="America/Denver")
        rec = meter.record([(first + i, rng.randrange(0, 900)) for i in range(count)])
        sealed = SealedReadings(cert, tuple(rec.runs))
        bills.append(prove_bill(tariff, [MeterInput(sealed, [rec.openings])], "2026-01").encode())
        certs.append(cert.encode())
    return provider, tariff, bills, certs


# --- CPU accounting (Linux /proc): contention-proof cost per bill ------------------------------

_TICK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def _descendants(pid: int) -> list[int]:
    out = [pid]
    try:
        tasks = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return out
    for tid in tasks:
        try:
            kids = Path(f"/proc/{pid}/task/{tid}/children").read_text().split()
        except OSError:
            continue
        for k in kids:
            out.extend(_descendants(int(k)))
    return out


def cpu_seconds(pids: list[int], children_only: bool = False) -> float:
    """User + system CPU of the processes and their descendants (still running)."""
    total = 0
    for root in pids:
        tree = _descendants(root)
        for pid in tree[1:] if children_only else tree:
            try:
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            total += int(fields[11]) + int(fields[12])
    return total / _TICK


# --- bare verification in 2 processes -----------------------------------------------------------

_T: SignedTariff | None = None
_P = None


def _init(tariff: bytes, provider_pem: bytes) -> None:
    global _T, _P
    from privbill.crypto import pedersen

    _T = SignedTariff.decode(tariff)
    _P = SigningKey.from_pem(provider_pem).public_key()
    pedersen.precompute()


def _verify(bill: bytes) -> int:
    assert _T is not None and _P is not None
    return verify_bill(bill, _T, _P).total_fee


class Bare:
    """``verify_bill`` in ``procs`` warm processes."""

    def __init__(self, provider: Provider, tariff: SignedTariff, procs: int) -> None:
        self.pool = ProcessPoolExecutor(
            procs, initializer=_init, initargs=(tariff.encode(), provider.key.to_pem())
        )

    def run(self, bills: list[bytes]) -> tuple[float, float]:
        """(bills per second, CPU seconds per bill)."""
        list(self.pool.map(_verify, bills[:4]))  # warm
        c0 = cpu_seconds([os.getpid()], children_only=True)
        t0 = time.perf_counter()
        list(self.pool.map(_verify, bills))
        dt = time.perf_counter() - t0
        return len(bills) / dt, (cpu_seconds([os.getpid()], children_only=True) - c0) / len(bills)

    def close(self) -> None:
        self.pool.shutdown()


# --- through the service --------------------------------------------------------------------------


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class RunningService:
    """``privbill serve`` (and ``privbill worker`` on PostgreSQL) with ``workers`` verifiers."""

    def __init__(
        self,
        provider: Provider,
        tariff: SignedTariff,
        certs: list[bytes],
        workers: int,
        kind: str,
        tmp: Path,
    ) -> None:
        self.cleanup: Any = None
        if kind == "sqlite":
            url = f"sqlite:///{tmp / f'bench-{workers}.db'}"
        else:
            import psycopg

            name = f"privbill_bench_{os.getpid()}_{workers}"
            admin = "postgresql://postgres@127.0.0.1:5432/postgres"
            with psycopg.connect(admin, autocommit=True) as c:
                c.execute(f'DROP DATABASE IF EXISTS "{name}"')
                c.execute(f'CREATE DATABASE "{name}"')
            url = f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"

            def cleanup() -> None:
                with psycopg.connect(admin, autocommit=True) as c:
                    c.execute(
                        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname=%s",
                        (name,),
                    )
                    c.execute(f'DROP DATABASE IF EXISTS "{name}"')

            self.cleanup = cleanup
        db.migrate(url)
        self.engine = db.make_engine(url)
        token = auth.create_operator_token(self.engine, "bench", list(auth.SCOPES))
        key_path = tmp / "provider.pem"
        key_path.write_bytes(provider.key.to_pem())
        port = free_port()
        self.base = f"http://127.0.0.1:{port}"
        self.log = (tmp / f"serve-{workers}-{kind}.log").open("wb")
        py = [sys.executable, "-m", "privbill.cli"]
        local = 0 if kind == "postgresql" else workers
        self.procs = [
            subprocess.Popen(
                [*py, "serve", "--db", url, "--provider-key", str(key_path), "--port", str(port),
                 "--workers", str(local), "--log-level", "warning", "--submit-rate", "100000"],
                stdout=self.log, stderr=self.log, start_new_session=True,
            )
        ]  # fmt: skip
        if kind == "postgresql":
            for _ in range(workers):
                self.procs.append(
                    subprocess.Popen(
                        [*py, "worker", "--db", url, "--provider-key", str(key_path),
                         "--log-level", "warning"],
                        stdout=self.log, stderr=self.log, start_new_session=True,
                    )
                )  # fmt: skip
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(self.base + "/readyz").status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("service did not start")
            time.sleep(0.1)
        h = {"Authorization": f"Bearer {token}", "content-type": CBOR}
        httpx.post(self.base + "/v1/tariffs", content=tariff.encode(), headers=h).raise_for_status()
        for c in certs:
            httpx.post(self.base + "/v1/certificates", content=c, headers=h).raise_for_status()
        time.sleep(3)  # pool processes started and warm

    def _count(self, status: str) -> int:
        from sqlalchemy import func, select

        with self.engine.connect() as conn:
            n = conn.execute(
                select(func.count()).select_from(db.bills).where(db.bills.c.status == status)
            ).scalar()
        return int(n or 0)

    def run(self, bills: list[bytes]) -> tuple[float, float, list[float]]:
        """(bills per second, CPU seconds per bill of service and workers, submit latencies)."""
        client = httpx.Client(
            base_url=self.base, timeout=60, limits=httpx.Limits(max_connections=16)
        )
        latencies: list[float] = []
        before_valid = self._count(db.VALID)

        def submit(bill: bytes) -> None:
            t = time.perf_counter()
            r = client.post("/v1/bills", content=bill, headers={"content-type": CBOR})
            latencies.append(time.perf_counter() - t)
            r.raise_for_status()

        pids = [p.pid for p in self.procs]
        c0 = cpu_seconds(pids)
        t0 = time.perf_counter()
        with ThreadPoolExecutor(8) as pool:
            list(pool.map(submit, bills))
        while self._count(db.PENDING):
            time.sleep(0.02)
        elapsed = time.perf_counter() - t0
        cpu = cpu_seconds(pids) - c0
        valid = self._count(db.VALID) - before_valid
        assert valid == len(bills), f"{valid} of {len(bills)} valid"
        client.close()
        return len(bills) / elapsed, cpu / len(bills), latencies

    def paced(self, bills: list[bytes], rate: float) -> list[float]:
        """Submit at ``rate`` per second (open loop, one every 1/rate s), while the workers
        verify what arrives: the submit latencies at that load."""
        client = httpx.Client(base_url=self.base, timeout=60)
        latencies: list[float] = []
        start = time.perf_counter()
        for i, bill in enumerate(bills):
            slot = start + i / rate
            now = time.perf_counter()
            if slot > now:
                time.sleep(slot - now)
            t = time.perf_counter()
            client.post(
                "/v1/bills", content=bill, headers={"content-type": CBOR}
            ).raise_for_status()
            latencies.append(time.perf_counter() - t)
        while self._count(db.PENDING):
            time.sleep(0.02)
        client.close()
        return latencies

    def close(self) -> None:
        for p in self.procs:
            p.send_signal(signal.SIGTERM)
        for p in self.procs:
            try:
                p.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(p.pid, signal.SIGKILL)
        self.log.close()
        self.engine.dispose()
        if self.cleanup:
            self.cleanup()


# --- one-shot CLI ---------------------------------------------------------------------------------


def one_shot(args: list[str], env: dict[str, str]) -> tuple[float, float]:
    """(wall seconds, CPU seconds) of one fresh ``privbill`` process."""
    import resource

    r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-m", "privbill.cli", *args], check=True, env=env,
                   stdout=subprocess.DEVNULL)  # fmt: skip
    wall = time.perf_counter() - t0
    r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime)


def cli_cases(demand_dir: Path | None, tmp: Path, repeat: int, prove: bool) -> None:
    d = demand_dir
    if d is None:
        d = tmp / "demand"
        print("making the commercial-demand demo bill (slow) ...", flush=True)
        subprocess.run(
            [sys.executable, "-m", "privbill.cli", "demo", "--scenario", "commercial-demand",
             "--seed", "7", "--out", str(d), "--no-progress"],
            check=True, stdout=subprocess.DEVNULL,
        )  # fmt: skip
    verify = ["bill", "verify", str(d / "bill.pbm"), "--tariff", str(d / "tariff.pbt"),
              "--provider", str(d / "provider.pub")]  # fmt: skip
    proof = ["bill", "prove", "--readings", str(d / "sealed"), "--tariff", str(d / "tariff.pbt"),
             "--period", "2026-01", "--opening-key", str(d / "meter-0001.okey"),
             "--out", str(tmp / "again.pbm")]  # fmt: skip
    cache = tmp / "gen-cache"
    off = {**os.environ, "PRIVBILL_CACHE_DIR": "off"}
    on = {**os.environ, "PRIVBILL_CACHE_DIR": str(cache)}
    rows = []
    shutil.rmtree(cache, ignore_errors=True)
    cold = one_shot(verify, on)
    warm = [one_shot(verify, on) for _ in range(repeat)]
    none = [one_shot(verify, off) for _ in range(repeat)]

    def med(xs: list[tuple[float, float]], i: int) -> float:
        return statistics.median(x[i] for x in xs)

    rows.append(("bill verify", med(none, 0), cold[0], med(warm, 0), med(none, 1), med(warm, 1)))
    if prove:
        p_off = one_shot(proof, off)
        p_warm = one_shot(proof, on)
        rows.append(("bill prove", p_off[0], float("nan"), p_warm[0], p_off[1], p_warm[1]))
    print("\none-shot CLI, commercial-demand bill (fresh process; wall and CPU seconds)")
    print("| command | wall, cache off | wall, cold cache | wall, warm cache | off/warm | "
          "CPU, cache off | CPU, warm cache |")  # fmt: skip
    print("|---|---:|---:|---:|---:|---:|---:|")
    for name, a, b, c, d, e in rows:
        print(f"| {name} | {a:.2f} | {b:.2f} | {c:.2f} | {a / c:.1f}× | {d:.2f} | {e:.2f} |")
    print(f"load average during the run: {os.getloadavg()}")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--bills", type=int, default=30)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--db", choices=("sqlite", "postgresql"), default="sqlite")
    ap.add_argument("--workers", default="1,2")
    ap.add_argument("--skip-cli", action="store_true")
    ap.add_argument("--skip-service", action="store_true")
    ap.add_argument("--no-prove", action="store_true")
    ap.add_argument("--demand-dir", type=Path)
    ap.add_argument("--repeat", type=int, default=3)
    a = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="bench-service-"))
    try:
        if not a.skip_service:
            rounds = a.rounds
            worker_counts = [int(x) for x in a.workers.split(",")]
            n_batches = rounds + len(worker_counts)  # one paced batch per worker count
            provider, tariff, bills, certs = make_bills(a.bills * n_batches)
            batches = [bills[r * a.bills : (r + 1) * a.bills] for r in range(n_batches)]
            paced_batches = batches[rounds:]
            batches = batches[:rounds]
            print(f"{a.bills} month TOU bills (2976 readings each) x {rounds} rounds, {a.db}")
            print(
                "(each round: bare verify_bill in 2 processes, then the same bills through the "
                "service; ratios are per round, medians shown)"
            )
            print(
                "| workers | bills/s | bare 2 procs bills/s | ratio | CPU ms/bill service | "
                "CPU ms/bill bare | burst p50 ms | burst p99 ms | paced p50 ms | paced p99 ms |"
            )
            print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
            print(
                "(ratio: median over rounds of service/bare in the same round; submit latency "
                "in the burst of all bills at once, and with arrivals paced at 80 % of the "
                "measured throughput)"
            )
            bare_pool = Bare(provider, tariff, 2)
            try:
                for w, paced_batch in zip(worker_counts, paced_batches, strict=True):
                    svc = RunningService(provider, tariff, certs, w, a.db, tmp)
                    rates, bares, ratios, cpus, bcpus, lat = [], [], [], [], [], []
                    try:
                        for batch in batches:
                            br, bc = bare_pool.run(batch)
                            sr, sc, sl = svc.run(batch)
                            rates.append(sr)
                            bares.append(br)
                            ratios.append(sr / br)
                            cpus.append(sc)
                            bcpus.append(bc)
                            lat += sl
                        paced = svc.paced(paced_batch, 0.8 * statistics.median(rates))
                    finally:
                        svc.close()
                    med = statistics.median
                    print(
                        f"| {w} | {med(rates):.2f} | {med(bares):.2f} | {med(ratios):.0%} | "
                        f"{med(cpus) * 1000:.0f} | {med(bcpus) * 1000:.0f} | "
                        f"{pct(lat, 0.5) * 1000:.1f} | {pct(lat, 0.99) * 1000:.1f} | "
                        f"{pct(paced, 0.5) * 1000:.1f} | {pct(paced, 0.99) * 1000:.1f} |",
                        flush=True,
                    )
            finally:
                bare_pool.close()
        if not a.skip_cli:
            cli_cases(a.demand_dir, tmp, a.repeat, not a.no_prove)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
