"""The household's page on this machine: the time to serve it for a month of 15-minute readings.

A household store with January's 2976 readings and its proven bill (no service: the bill is
proved on the device), then the page served on 127.0.0.1 and fetched over HTTP with a session:
the whole page (read the store, explain the bill, three SVG plots, consent section), the CSV
download and the Green Button download; and, apart, rendering alone (no HTTP). Medians of
``--repeat`` fetches.

Usage::

    python benchmarks/bench_web.py [--repeat 20]
"""

from __future__ import annotations

import argparse
import http.client
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "household"))

from web_helpers import proved_household

from household_helpers import make_setup
from privbill.household.web import PageData, WebPage, render_page


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=20, help="fetches per figure (default: 20)")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        s = make_setup(tmp)
        h = proved_household(s, tmp)
        page = WebPage(s.home)
        page.start()
        try:
            host = {"Host": f"127.0.0.1:{page.port}"}

            def get(path: str, cookie: str = "") -> tuple[int, dict[str, str], bytes]:
                c = http.client.HTTPConnection("127.0.0.1", page.port, timeout=30)
                c.request("GET", path, headers={**host, **({"Cookie": cookie} if cookie else {})})
                r = c.getresponse()
                out = (r.status, {k.lower(): v for k, v in r.getheaders()}, r.read())
                c.close()
                return out

            cookie = get(f"/?token={page.token}")[1]["set-cookie"].split(";")[0]
            for path in ("/", "/data.csv?period=2026-01", "/data.xml?period=2026-01"):
                times, size = [], 0
                for _ in range(args.repeat):
                    t0 = time.perf_counter()
                    status, _, body = get(path, cookie)
                    times.append(time.perf_counter() - t0)
                    assert status == 200, (path, status)
                    size = len(body)
                print(f"GET {path:<28} median {statistics.median(times) * 1000:7.1f} ms  "
                      f"({size:,} bytes, {args.repeat} fetches)")  # fmt: skip
            times = []
            for _ in range(args.repeat):
                t0 = time.perf_counter()
                render_page(PageData(h.store, None), "x")
                times.append(time.perf_counter() - t0)
            print(f"render alone (store read + explain + SVG)  median "
                  f"{statistics.median(times) * 1000:7.1f} ms")  # fmt: skip
        finally:
            page.stop()
            h.store.close()


if __name__ == "__main__":
    main()
