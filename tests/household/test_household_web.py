"""The household's page over plain HTTP: the start secret, the session cookie, CSRF on every
POST, 127.0.0.1 only, no third-party reference, the strict Content-Security-Policy, and every
figure equal to the bill the provider verified."""

from __future__ import annotations

import html
import http.client
import re
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
from web_helpers import WebHousehold, billed_household, proved_household

from privbill.household import web
from privbill.household.web import CSP, WebPage


@pytest.fixture(scope="module")
def hh(live_service, tmp_path_factory: pytest.TempPathFactory) -> WebHousehold:  # type: ignore[no-untyped-def]
    return billed_household(live_service, tmp_path_factory.mktemp("web-http"))


@pytest.fixture(scope="module")
def page(hh: WebHousehold) -> Iterator[WebPage]:
    p = WebPage(hh.setup.home)
    p.start()
    yield p
    p.stop()


def fetch(
    page: WebPage, method: str, path: str, body: str = "", **headers: str
) -> tuple[int, dict[str, str], bytes]:
    c = http.client.HTTPConnection("127.0.0.1", page.port, timeout=10)
    hdrs = {"Host": f"127.0.0.1:{page.port}", **headers}
    if method == "POST":
        hdrs.setdefault("Content-Type", "application/x-www-form-urlencoded")
    c.request(method, path, body=body.encode() or None, headers=hdrs)
    r = c.getresponse()
    data = r.read()
    c.close()
    return r.status, {k.lower(): v for k, v in r.getheaders()}, data


def login(page: WebPage) -> str:
    status, headers, _ = fetch(page, "GET", f"/?token={page.token}")
    assert status == 303 and headers["location"] == "/"
    cookie = headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie
    return cookie.split(";")[0]


def test_sessions_end_when_idle_or_old_and_are_bounded(hh: WebHousehold) -> None:
    """A session ends 30 idle minutes after its last request, 12 hours after it began even if
    used all along, and the 17th session ends the least recently used one."""
    now = [1000.0]
    p = WebPage(hh.setup.home, clock=lambda: now[0])
    p.start()
    try:
        cookie = login(p)
        assert (
            f"Max-Age={web.SESSION_MAX_S}" in fetch(p, "GET", f"/?token={p.token}")[1]["set-cookie"]
        )
        assert fetch(p, "GET", "/", Cookie=cookie)[0] == 200
        now[0] += web.SESSION_IDLE_S - 1
        assert fetch(p, "GET", "/", Cookie=cookie)[0] == 200  # and kept alive again
        now[0] += web.SESSION_IDLE_S + 1
        assert fetch(p, "GET", "/", Cookie=cookie)[0] == 401
        start, step = now[0], web.SESSION_IDLE_S // 2
        cookie = login(p)
        ended = None
        for _ in range(web.SESSION_MAX_S // step + 2):  # a request every 15 minutes
            now[0] += step
            if fetch(p, "GET", "/data.csv", Cookie=cookie)[0] != 200:
                ended = now[0] - start
                break
        assert ended is not None and web.SESSION_MAX_S < ended <= web.SESSION_MAX_S + step
        first = login(p)
        now[0] += 1
        others = []
        for _ in range(web.MAX_SESSIONS):
            others.append(login(p))
            now[0] += 1
        assert p.sessions() == web.MAX_SESSIONS
        assert fetch(p, "GET", "/data.csv", Cookie=first)[0] == 401
        assert fetch(p, "GET", "/data.csv", Cookie=others[0])[0] == 200
    finally:
        p.stop()


def test_no_secret_no_page(page: WebPage) -> None:
    assert fetch(page, "GET", "/")[0] == 401
    assert fetch(page, "GET", "/data.csv")[0] == 401
    assert fetch(page, "GET", "/?token=" + "A" * 43)[0] == 403
    assert fetch(page, "GET", "/", Cookie="privbill_page=forged")[0] == 401
    assert fetch(page, "POST", "/consent", "csrf=x&request=y&decision=allow")[0] == 403


def test_page_figures_equal_the_verified_bill(page: WebPage, hh: WebHousehold) -> None:
    cookie = login(page)
    status, headers, body = fetch(page, "GET", "/", Cookie=cookie)
    assert status == 200 and headers["content-security-policy"] == CSP
    assert "script-src" not in CSP and "'unsafe-inline'" not in CSP
    text = body.decode()
    store = hh.setup.store()
    try:
        bill = store.bill("2026-01")
        assert bill is not None and bill.status == "valid" and bill.receipt is not None
        explained = store.explain("2026-01")
        assert explained.total == bill.total_fee
        total = re.search(r'id="total">([^<]*)<', text)
        verified = re.search(r'id="verified">([^<]*)<', text)
        assert total and verified
        assert total.group(1) == verified.group(1) == f"{bill.currency} {bill.amount}"
        # the provider received one total, the device kept 2976 readings
        assert "2,976" in text and "<script" not in text
        assert not re.search(r'(src|href)="(https?:)?//', text)  # no third-party reference
        for r in explained.energy:
            assert explained.amount(r.cost) in text
        # downloads: the customer's own readings
        status, headers, csv = fetch(page, "GET", "/data.csv?period=2026-01", Cookie=cookie)
        assert status == 200 and "attachment" in headers["content-disposition"]
        lines = csv.decode().splitlines()
        assert lines[0] == "interval_start,wh" and len(lines) == 2977
        first, count = bill.period.intervals(900)
        values = store.values(hh.setup.meter_id, first, first + count)
        assert [int(x.split(",")[1]) for x in lines[1:]] == values
        status, _, xml = fetch(page, "GET", "/data.xml?period=2026-01", Cookie=cookie)
        assert status == 200 and b"espi:IntervalReading" in xml
        from privbill.interop import greenbutton

        parsed = greenbutton.parse(xml, 900)
        assert [(r.index, r.value) for r in parsed.rows] == list(
            zip(range(first, first + count), values, strict=True)
        )
        assert fetch(page, "GET", "/?period=1999-01", Cookie=cookie)[0] == 404
    finally:
        store.close()


def test_csrf_and_origin_on_every_post(page: WebPage, hh: WebHousehold) -> None:
    cookie = login(page)
    rid = hh.requests[0]["request_id"]
    form = f"request={rid}&decision=allow"
    assert fetch(page, "POST", "/consent", form, Cookie=cookie)[0] == 403  # no token
    assert fetch(page, "POST", "/consent", form + "&csrf=" + "0" * 64, Cookie=cookie)[0] == 403
    other = login(page)  # another session's token does not serve this one
    good_other = page.csrf_for(other.split("=", 1)[1])
    assert fetch(page, "POST", "/consent", form + "&csrf=" + good_other, Cookie=cookie)[0] == 403
    good = page.csrf_for(cookie.split("=", 1)[1])
    assert fetch(page, "POST", "/consent", form + "&csrf=" + good, Cookie=cookie,
                 Origin="http://evil.example")[0] == 403  # fmt: skip
    store = hh.setup.store()
    try:
        assert store.disclosure(rid)["status"] == "waiting"  # type: ignore[index]
    finally:
        store.close()
    # an unknown request with a good token: refused by name, nothing recorded
    status, _, body = fetch(page, "POST", "/consent", "request=nope&decision=allow&csrf=" + good,
                            Cookie=cookie)  # fmt: skip
    assert status == 409 and b"does not wait" in body


def test_only_127_0_0_1(page: WebPage) -> None:
    assert page.server is not None and page.server.server_address[0] == "127.0.0.1"
    cookie = login(page)
    # a page reached under another name (DNS rebinding) is refused
    status, _, _ = fetch(page, "GET", "/", Cookie=cookie, Host=f"evil.example:{page.port}")
    assert status == 403
    with pytest.raises(OSError):  # another loopback address: nothing listens
        socket.create_connection(("127.0.0.2", page.port), timeout=2).close()
    probe = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        probe.connect(("192.0.2.1", 9))  # no packet is sent: learns the outward address
        outward = probe.getsockname()[0]
    except OSError:
        outward = None
    finally:
        probe.close()
    if outward and not outward.startswith("127."):
        with pytest.raises(OSError):
            socket.create_connection((outward, page.port), timeout=2).close()


def test_agent_web_command_prints_the_address_and_stops_on_sigterm(hh: WebHousehold) -> None:
    import signal
    import subprocess
    import sys

    proc = subprocess.Popen(
        [sys.executable, "-m", "privbill.cli", "agent", "web", "--home", str(hh.setup.home.path),
         "--port", "0", "--json"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert proc.stderr is not None
        line = proc.stderr.readline()
        m = re.search(r"open (http://127\.0\.0\.1:(\d+)/\?token=([\w-]+))", line)
        assert m, line
        port = int(m.group(2))
        c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        c.request("GET", "/", headers={"Host": f"127.0.0.1:{port}"})
        assert c.getresponse().status == 401
        c.close()
        c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        c.request("GET", f"/?token={m.group(3)}", headers={"Host": f"127.0.0.1:{port}"})
        assert c.getresponse().status == 303
        c.close()
        proc.send_signal(signal.SIGTERM)
        out, _ = proc.communicate(timeout=20)
        assert proc.returncode == 0 and '"stopped": true' in out
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


URDB = Path(__file__).resolve().parents[1] / "data" / "urdb"


def _urdb_setup(name: str, tmp_path: Path):  # type: ignore[no-untyped-def]
    from household_helpers import TZ, make_setup
    from privbill.interop.urdb import load_rate, urdb_to_description
    from privbill.model.tariffs import TariffBody
    from privbill.provider import Provider

    provider = Provider.generate("ed25519")
    desc, _ = urdb_to_description(load_rate((URDB / name).read_text()), timezone=TZ,
                                  valid_from="2026-01-01", valid_until="2027-01-01")  # fmt: skip
    tariff = provider.sign_tariff(TariffBody.from_description(desc))
    return make_setup(tmp_path, None, provider=provider, tariff=tariff)


def test_tiers_reached_are_explained(tmp_path: Path) -> None:
    from privbill.household.web import PageData, render_page

    s = _urdb_setup("tou-tiers-residential.json", tmp_path)
    h = proved_household(s, tmp_path)
    bill = h.store.bill("2026-01")
    assert bill is not None and bill.status == "proved"
    text = render_page(PageData(h.store, None), "csrf")
    e = h.store.explain("2026-01")
    assert e.total == bill.total_fee and f">{bill.currency} {bill.amount}<" in text
    assert "not yet submitted" in text
    details = [c.detail for c in e.components if c.detail]
    assert any("reached" in d for d in details)
    assert all(html.escape(d) in text for d in details)
    h.store.close()


def test_demand_peak_and_when_are_explained(tmp_path: Path) -> None:
    """The bill section under a demand tariff (the bill row written from the cleartext bill:
    proving a month of demand windows takes a minute, and the proof is not what is shown)."""
    from privbill.billing.cleartext import MeterReadings
    from privbill.cli.explain import explain
    from privbill.household.web import PageData, _bill_section
    from privbill.model import money

    s = _urdb_setup("commercial-tou-demand.json", tmp_path)
    h = proved_household(s, tmp_path, prove=False)
    store = h.store
    period = h.next_period()
    assert period is not None
    body = s.tariff.body
    first, count = period[0].intervals(900)
    readings = MeterReadings(900, first, store.values(s.meter_id, first, first + count))
    e = explain(body, [readings], period[0], [s.meter_id])
    amount = money.format_amount(e.total, body.minor_unit)
    with store.transaction():
        store.add_bill(period[0], "2026-01", s.tariff.hash().hex(), b"", "00" * 32, e.total,
                       body.currency, amount)  # fmt: skip
    assert store.explain("2026-01").total == e.total
    text = "".join(_bill_section(PageData(store, "2026-01")))
    peaks = [c for c in e.components if "peak_at" in c.data]
    assert peaks and all(
        html.escape(c.detail) in text and c.data["peak_at"] in c.detail for c in peaks
    )
    assert f'id="total">{body.currency} {e.amount(e.total)}<' in text
    store.close()


def test_the_providers_words_are_shown_as_text(
    page: WebPage, hh: WebHousehold, live_service
) -> None:  # type: ignore[no-untyped-def]
    """A request's requester and purpose come from the provider: escaped, never markup."""
    from household_helpers import TZ

    with live_service.operator() as op:
        op.json("POST", "/v1/disclosures", json_body={
            "account": hh.setup.account, "period": "2026-01", "statements": [{"kind": "sum"}],
            "requester": '<img src=x onerror="alert(1)">', "purpose": "<script>alert(2)</script>",
            "timezone": TZ})  # fmt: skip
    hh.household.fetch_disclosures()
    cookie = login(page)
    status, _, body = fetch(page, "GET", "/", Cookie=cookie)
    text = body.decode()
    assert status == 200 and "&lt;img src=x onerror=&quot;alert(1)&quot;&gt;" in text
    assert "<img" not in text and "<script" not in text and "&lt;script&gt;alert(2)" in text


def test_agent_run_web_answers_what_the_person_allows(hh: WebHousehold, live_service) -> None:  # type: ignore[no-untyped-def]
    """`privbill agent run --web`: the page beside the running agent; Allow on the page, and the
    agent itself answers the provider."""
    import subprocess
    import sys
    import time

    from household_helpers import broker_or_skip

    broker_or_skip()
    rid = hh.requests[1]["request_id"]
    hh.household.store.close()  # the agent process owns the store now
    proc = subprocess.Popen(
        [sys.executable, "-m", "privbill.cli", "agent", "run", "--home", str(hh.setup.home.path),
         "--web", "0", "--poll-seconds", "0.5", "--for-seconds", "60"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert proc.stderr is not None
        line = proc.stderr.readline()
        m = re.search(r"open http://127\.0\.0\.1:(\d+)/\?token=([\w-]+)", line)
        assert m, line
        port, token = int(m.group(1)), m.group(2)

        def call(
            method: str, path: str, body: str = "", **h: str
        ) -> tuple[int, dict[str, str], str]:
            c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
            hdrs = {
                "Host": f"127.0.0.1:{port}",
                "Content-Type": "application/x-www-form-urlencoded",
                **h,
            }
            c.request(method, path, body=body or None, headers=hdrs)
            r = c.getresponse()
            out = (r.status, {k.lower(): v for k, v in r.getheaders()}, r.read().decode())
            c.close()
            return out

        _, headers, _ = call("GET", f"/?token={token}")
        cookie = headers["set-cookie"].split(";")[0]
        _, _, text = call("GET", "/", Cookie=cookie)
        csrf = re.search(r'name="csrf" value="([0-9a-f]+)"', text)
        assert csrf and f'id="req-{rid}"' in text
        status, headers, _ = call("POST", "/consent", f"csrf={csrf.group(1)}&request={rid}&decision=allow",
                                  Cookie=cookie)  # fmt: skip
        assert status == 303
        deadline = time.monotonic() + 45
        with live_service.operator() as op:
            while op.json("GET", f"/v1/disclosures/{rid}")["status"] != "answered":
                assert time.monotonic() < deadline and proc.poll() is None, (
                    "the agent did not answer"
                )
                time.sleep(0.3)
    finally:
        proc.terminate()
        _out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err[-2000:]
