"""Benchmark: one-shot ``privbill bill prove`` and ``bill verify`` of a commercial demand month.

The bill of ``privbill demo --scenario commercial-demand --seed 7``: 2976 quarter hours of one
100 kW-rated meter under a tariff with a facilities demand charge (every interval) and an
on-peak demand charge (weekdays 12–18 h), as commercial utility rates have. Each command runs as
a fresh process (interpreter start, imports, generator cache, files included), as a customer or
a dispute would run it. Reported: median wall and CPU seconds.

``--against SRC`` runs the same commands with another checkout's ``src`` directory first on the
path, interleaved run by run with this one (the machines are shared and noisy: only runs side by
side compare), each code proving its own bill and verifying that bill.

Run: ``python benchmarks/bench_demand_month.py [--repeat 5] [--against ../old/src]``.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def one_shot(args: list[str], env: dict[str, str]) -> tuple[float, float]:
    """(wall seconds, CPU seconds) of one fresh ``privbill`` process."""
    r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "privbill.cli", *args],
        check=True,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    wall = time.perf_counter() - t0
    r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime)


def commands(demo: Path, out: Path) -> tuple[list[str], list[str]]:
    prove = ["bill", "prove", "--readings", str(demo / "sealed"),
             "--tariff", str(demo / "tariff.pbt"), "--period", "2026-01",
             "--opening-key", str(demo / "meter-0001.okey"), "--out", str(out), "--force",
             "--no-progress"]  # fmt: skip
    verify = ["bill", "verify", str(out), "--tariff", str(demo / "tariff.pbt"),
              "--provider", str(demo / "provider.pub"), "--no-progress"]  # fmt: skip
    return prove, verify


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--against", type=Path, help="another checkout's src directory")
    ap.add_argument("--dir", type=Path, help="an existing demo output directory")
    args = ap.parse_args()
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    codes = {"this": env}
    if args.against is not None:
        codes = {"against": {**env, "PYTHONPATH": str(args.against.resolve())}, "this": env}
    with tempfile.TemporaryDirectory() as tmp:
        demo = args.dir
        if demo is None:
            demo = Path(tmp) / "demo"
            subprocess.run(
                [sys.executable, "-m", "privbill.cli", "demo", "--scenario", "commercial-demand",
                 "--seed", "7", "--out", str(demo), "--no-progress"],
                check=True, stdout=subprocess.DEVNULL, env=env,
            )  # fmt: skip
        runs: dict[str, dict[str, list[tuple[float, float]]]] = {
            name: {"prove": [], "verify": []} for name in codes
        }
        for _ in range(args.repeat):
            for name, code_env in codes.items():
                prove, verify = commands(demo, Path(tmp) / f"{name}.pbm")
                runs[name]["prove"].append(one_shot(prove, code_env))
                runs[name]["verify"].append(one_shot(verify, code_env))
        print(f"one-shot CLI, commercial-demand month (median of {args.repeat} fresh processes)")
        print("| code | command | wall s | CPU s |")
        print("|---|---|---:|---:|")
        med: dict[tuple[str, str], tuple[float, float]] = {}
        for name in codes:
            for cmd in ("prove", "verify"):
                xs = runs[name][cmd]
                w = statistics.median(x[0] for x in xs)
                c = statistics.median(x[1] for x in xs)
                med[(name, cmd)] = (w, c)
                print(f"| {name} | bill {cmd} | {w:.2f} | {c:.2f} |")
        if "against" in codes:
            for cmd in ("prove", "verify"):
                (w0, c0), (w1, c1) = med[("against", cmd)], med[("this", cmd)]
                print(f"ratio this/against, bill {cmd}: wall {w1 / w0:.2f}, CPU {c1 / c0:.2f}")
        print(f"load average after the runs: {os.getloadavg()}")


if __name__ == "__main__":
    main()
