"""The household's own web page, served by the agent on 127.0.0.1 only.

The page explains a period's bill (every figure from :mod:`privbill.cli.explain`, the code that
computes the bill), plots the household's consumption as server-rendered SVG, shows side by
side what the provider received and what stayed on this device, offers the household's own
data for download (CSV and Green Button XML) and lists the disclosure requests that wait for the
person, with Allow / Refuse buttons, and the ledger of past disclosures.

Security: the server binds 127.0.0.1 and answers only requests whose ``Host`` names it (no DNS
rebinding); a secret printed at start (``/?token=…``) is exchanged for a session cookie
(``HttpOnly``, ``SameSite=Strict``) that ends after 30 idle minutes or 12 hours, at most 16 at
once; every POST carries a CSRF token derived from the session;
no script, no third-party request: the Content-Security-Policy allows only the page's own style
sheet. Allow records the decision as ``privbill agent consent`` does — the running agent answers
it through its disclosure path and records it in the ledger; Refuse records the refusal and
nothing is sent.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import html
import secrets
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from privbill.errors import AgentError, UsageError
from privbill.household.home import AgentHome
from privbill.household.store import BillRow, HouseholdStore
from privbill.model import money

HOST = "127.0.0.1"
COOKIE = "privbill_page"
CSP = (
    "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; "
    "frame-ancestors 'none'; base-uri 'none'"
)
# Okabe–Ito colours: distinguishable with the common colour-vision deficiencies.
BLUE, ORANGE, GREEN, VERMILLION, SKY, PURPLE = (
    "#0072B2",
    "#E69F00",
    "#009E73",
    "#D55E00",
    "#56B4E9",
    "#CC79A7",
)
BAND_FILLS = ("#D9ECF7", "#FCEBC7", "#D3EFE6", "#F7D9C7", "#EBD5E3", "#E8E8E8")

STYLE = (
    """
:root { color-scheme: light; --ink: #1a1a1a; --muted: #555; --line: #ccc; }
* { box-sizing: border-box; }
body { font: 16px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; color: var(--ink);
       margin: 0 auto; max-width: 60rem; padding: 0.75rem; background: #fff; }
h1 { font-size: 1.5rem; margin: 0.5rem 0; } h2 { font-size: 1.2rem; margin-top: 1.6rem;
     border-bottom: 2px solid #0072B2; padding-bottom: 0.2rem; }
table { border-collapse: collapse; width: 100%; } td, th { padding: 0.3rem 0.4rem;
     border-bottom: 1px solid var(--line); text-align: left; vertical-align: top; }
td.n, th.n { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
tr.total td { font-weight: 700; border-top: 2px solid var(--ink); }
.big { font-size: 2rem; font-weight: 700; } .muted { color: var(--muted); font-size: 0.9rem; }
.ok { color: #006B4E; font-weight: 600; } .bad { color: #B03A00; font-weight: 600; }
.cols { display: grid; grid-template-columns: 1fr 1fr; gap: 1rem; }
.card { border: 1px solid var(--line); border-radius: 6px; padding: 0.6rem 0.8rem; }
svg { width: 100%; height: auto; display: block; } nav a { margin-right: 0.6rem; }
.req { border: 2px solid #E69F00; border-radius: 6px; padding: 0.6rem; margin: 0.6rem 0; }
.req pre { white-space: pre-wrap; font: inherit; margin: 0.4rem 0; }
button { font: inherit; padding: 0.45rem 1.1rem; border-radius: 4px; border: 1px solid #333;
         cursor: pointer; margin-right: 0.5rem; min-height: 2.75rem; }
button.allow { background: #0072B2; color: #fff; } button.refuse { background: #fff; }
form { display: inline; } .legend span { display: inline-block; margin-right: 0.8rem; }
.sw { display: inline-block; width: 0.9rem; height: 0.9rem; vertical-align: -0.1rem;
      border: 1px solid #777; margin-right: 0.25rem; }
"""
    + "".join(f".b{k} {{ background: {c}; }}\n" for k, c in enumerate(BAND_FILLS))
    + """@media (max-width: 40rem) { .cols { grid-template-columns: 1fr; } body { font-size: 15px; }
  .big { font-size: 1.6rem; } td, th { padding: 0.25rem; } svg text { font-size: 18px; } }
"""
)


def esc(value: object) -> str:
    return html.escape(str(value), quote=True)


def kwh(wh: int) -> str:
    from privbill.cli.explain import kwh as _kwh

    return _kwh(wh)


# --- plots (inline SVG, rendered here) -----------------------------------------------------------


def bar_chart(
    values: Sequence[int],
    labels: Sequence[str],
    *,
    title: str,
    unit: str,
    fmt: Any = kwh,
    colour: str = BLUE,
    bands: Sequence[str] | None = None,
    line: Sequence[int] | None = None,
    every: int = 1,
) -> str:
    """A bar chart as SVG: ``values`` (non-negative integers) shown with ``fmt``; optional
    background ``bands`` (a fill per bar) and a ``line`` (a second series, scaled to its own
    maximum, drawn over the bars)."""
    w, h, left, bottom, top = 640, 250, 66, 30, 24
    n = max(1, len(values))
    peak = max([*values, 1])
    step = min((w - left - 8) / n, 48.0)
    parts = [
        f'<svg viewBox="0 0 {w} {h}" role="img" aria-label="{esc(title)}" '
        f'xmlns="http://www.w3.org/2000/svg"><title>{esc(title)}</title>'
    ]
    plot_h = h - bottom - top
    if bands is not None:
        for k, fill in enumerate(bands):
            x = left + k * step
            parts.append(
                f'<rect x="{x:.1f}" y="{top}" width="{step + 0.2:.1f}" height="{plot_h}" '
                f'fill="{fill}"/>'
            )
    for frac in (0.0, 0.5, 1.0):
        y = top + plot_h * (1 - frac)
        parts.append(
            f'<line x1="{left}" x2="{w - 8}" y1="{y:.1f}" y2="{y:.1f}" stroke="#bbb" '
            'stroke-width="0.6"/>'
            f'<text x="{left - 4}" y="{y + 4:.1f}" font-size="12" text-anchor="end" '
            f'fill="#333">{esc(fmt(round(peak * frac)))}</text>'
        )
    for k, v in enumerate(values):
        bh = plot_h * v / peak
        x = left + k * step + step * 0.12
        parts.append(
            f'<rect x="{x:.1f}" y="{top + plot_h - bh:.1f}" width="{step * 0.76:.1f}" '
            f'height="{bh:.1f}" fill="{colour}"><title>{esc(labels[k])}: {esc(fmt(v))} '
            f"{esc(unit)}</title></rect>"
        )
        if k % every == 0:
            parts.append(
                f'<text x="{left + (k + 0.5) * step:.1f}" y="{h - bottom + 16}" font-size="12" '
                f'text-anchor="middle" fill="#333">{esc(labels[k])}</text>'
            )
    if line:
        lpeak = max([*line, 1])
        pts = " ".join(
            f"{left + (k + 0.5) * step:.1f},{top + plot_h * (1 - v / lpeak):.1f}"
            for k, v in enumerate(line)
        )
        parts.append(
            f'<polyline points="{pts}" fill="none" stroke="{VERMILLION}" '
            'stroke-width="2.5" stroke-dasharray="6 3"/>'
        )
    parts.append(f'<text x="4" y="12" font-size="12" fill="#333">{esc(unit)}</text></svg>')
    return "".join(parts)


# --- what the page shows ------------------------------------------------------------------------


class PageData:
    """Everything the page shows for one period, read from the household store."""

    def __init__(self, store: HouseholdStore, label: str | None) -> None:
        self.store = store
        self.bills = store.bills()
        if not self.bills:
            self.bill: BillRow | None = None
            return
        chosen = [b for b in self.bills if b.label == label] if label else self.bills[-1:]
        if not chosen:
            raise AgentError(f"no bill for the period {label!r}", obj="page", field="period")
        self.bill = chosen[0]
        self.explained = store.explain(self.bill.period)
        tariff = store.tariff(self.bill.tariff_hash)
        assert tariff is not None  # explain() found it
        self.body = tariff.body
        self.readings: dict[str, list[tuple[int, int]]] = {}
        self.steps: dict[str, int] = {}
        for mid in store.meter_ids():
            m = store.meter(mid)
            assert m is not None
            step = m.certificate.interval_s
            first, count = self.bill.period.intervals(step)
            self.readings[mid] = store.readings_view(mid, first, first + count)
            self.steps[mid] = step

    def daily(self) -> tuple[list[str], list[int]]:
        tz = self.body.tz
        days: dict[str, int] = {d.isoformat(): 0 for d in self.bill.period.local_days(tz)}  # type: ignore[union-attr]
        for mid, rows in self.readings.items():
            step = self.steps[mid]
            for idx, wh in rows:
                day = datetime.fromtimestamp(idx * step, tz).date().isoformat()
                days[day] = days.get(day, 0) + wh
        return list(days), list(days.values())

    def hourly(self) -> tuple[list[int], list[int]]:
        """Average Wh per local hour of day, and each hour's usual price (the price it has on
        most days of the period, 10⁻¹² currency per Wh) from the tariff's own price function."""
        from collections import Counter

        assert self.bill is not None
        tz = self.body.tz
        wh = [0] * 24
        seen: list[Counter[int]] = [Counter() for _ in range(24)]
        days = max(1, len(self.bill.period.local_days(tz)))
        for mid, rows in self.readings.items():
            step = self.steps[mid]
            first, count = self.bill.period.intervals(step)
            prices = self.body.prices(first, count, step)
            for k in range(count):
                seen[datetime.fromtimestamp((first + k) * step, tz).hour][prices[k]] += 1
            for idx, v in rows:
                wh[datetime.fromtimestamp(idx * step, tz).hour] += v
        usual = [c.most_common(1)[0][0] if c else 0 for c in seen]
        return [v // days for v in wh], usual

    def sent(self) -> dict[str, Any]:
        from privbill.model.bills import PaymentMessage

        assert self.bill is not None
        msg = PaymentMessage.decode(self.bill.message)
        runs = sum(len(m.runs) for m in msg.meters)
        readings = sum(r.seal.count for m in msg.meters for r in m.runs)
        return {
            "runs": runs,
            "readings": readings,
            "bytes": len(self.bill.message),
            "meters": len(msg.meters),
        }


def money_of(fee: int, body: Any) -> str:
    return money.format_amount(fee, body.minor_unit)


def render_page(d: PageData, csrf: str, notice: str = "") -> str:
    store = d.store
    out: list[str] = []
    acct = store.account
    out.append(
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f'<title>privbill — household {esc(acct)}</title><link rel="stylesheet" href="/style.css">'
        f"</head><body><h1>Your electricity bill — household {esc(acct)}</h1>"
    )
    if notice:
        out.append(f'<p class="ok" role="status" id="notice">{esc(notice)}</p>')
    if d.bill is None:
        out.append("<p>No bill yet: the agent bills each period once its readings are sealed.</p>")
    else:
        out.append(
            "<nav aria-label='periods'>"
            + "".join(
                f'<a href="/?period={esc(b.label)}"'
                + (' aria-current="page"' if b.label == d.bill.label else "")
                + f">{esc(b.label)}</a>"
                for b in d.bills
            )
            + "</nav>"
        )
        out += _bill_section(d)
        out += _plots_section(d)
        out += _privacy_section(d)
    out += _consent_section(store, csrf)
    out.append("</body></html>")
    return "".join(out)


def _bill_section(d: PageData) -> list[str]:
    b, e, body = d.bill, d.explained, d.body
    assert b is not None
    cur = body.currency
    status = {
        "valid": "verified by the provider; signed receipt held",
        "pending": "submitted; the provider is verifying it",
        "submitted": "submitted",
        "proved": "proved on this device; not yet submitted",
        "invalid": "refused by the provider",
        "failed": "could not be submitted",
    }.get(b.status, b.status)
    same = e.total == b.total_fee
    out = [
        f'<h2 id="bill">Bill for {esc(b.label)}</h2>',
        f'<p class="big" id="total">{esc(cur)} {esc(e.amount(e.total))}</p>',
        '<p>The provider verified: <strong id="verified">'
        f"{esc(cur)} {esc(b.amount)}</strong> — "
        f'<span id="status" class="{"ok" if b.status == "valid" else "bad"}">{esc(status)}</span>'
        + (" (receipt checked against the provider's key)" if b.receipt else "")
        + (
            '. <span class="ok">This explanation adds up to the same figure.</span>'
            if same
            else '. <span class="bad">This explanation does not add up to the proven bill.</span>'
        )
        + "</p>",
        f'<p class="muted">Tariff: {esc(body.name)}; bill {esc(b.bill_hash[:16])}…</p>',
        '<table id="breakdown"><thead><tr><th>charge</th><th class="n">kWh</th>'
        f'<th class="n">{esc(cur)}</th></tr></thead><tbody>',
    ]
    for r in e.energy:
        out.append(
            f"<tr><td>energy, {esc(r.name)}</td><td class='n'>{esc(kwh(r.quantity))}</td>"
            f"<td class='n'>{esc(e.amount(r.cost))}</td></tr>"
        )
    for c in e.components:
        detail = f"<br><span class='muted'>{esc(c.detail)}</span>" if c.detail else ""
        out.append(
            f"<tr><td>{esc(c.label)}{detail}</td><td></td>"
            f"<td class='n'>{esc(e.amount(c.fee))}</td></tr>"
        )
    out.append(
        "<tr><td>fixed charges</td><td></td>"
        f"<td class='n'>{esc(e.amount(e.breakdown.fixed))}</td></tr>"
    )
    if e.breakdown.minimum_top_up:
        out.append(
            "<tr><td>raised to the minimum bill</td><td></td>"
            f"<td class='n'>{esc(e.amount(e.breakdown.minimum_top_up))}</td></tr>"
        )
    total_q = sum(r.quantity for r in e.energy)
    out.append(
        f"<tr class='total'><td>total</td><td class='n'>{esc(kwh(total_q))}</td>"
        f"<td class='n' id='table-total'>{esc(e.amount(e.total))}</td></tr></tbody></table>"
    )
    return out


def _plots_section(d: PageData) -> list[str]:
    days, daily = d.daily()
    wh, price = d.hourly()
    levels = sorted(set(price))
    fills = [BAND_FILLS[min(levels.index(p), len(BAND_FILLS) - 1)] for p in price]
    unit = d.body.currency

    def per_kwh(p: int) -> str:  # 10⁻¹² per Wh is 10⁻⁹ per kWh
        return f"{money.format_scaled(p, 9)} {unit}/kWh"

    legend = "".join(
        f'<span><i class="sw b{min(k, len(BAND_FILLS) - 1)}"></i>{esc(per_kwh(p))}</span>'
        for k, p in enumerate(levels)
    )
    year = d.bill.label[:4]  # type: ignore[union-attr]
    months = [b for b in d.bills if b.label.startswith(year)]
    return [
        '<h2 id="plots">Your consumption</h2>',
        "<h3>Each day of the period</h3>",
        bar_chart(
            daily,
            [x[8:] for x in days],
            title="daily consumption, kWh",
            unit="kWh",
            every=max(1, len(days) // 10),
        ),
        "<h3>Your average day, hour by hour, against the tariff's prices</h3>",
        bar_chart(
            wh,
            [f"{h:02d}" for h in range(24)],
            title="average consumption by hour, kWh",
            unit="kWh",
            bands=fills,
            every=3,
        ),
        f'<p class="legend muted">Background: the usual price of each hour — {legend}</p>'
        if len(levels) > 1
        else f'<p class="muted">One price all day: {esc(per_kwh(levels[0]))}</p>',
        f"<h3>Your bills in {esc(year)}</h3>",
        bar_chart(
            [b.total_fee for b in months],
            [b.label[5:] for b in months],
            title=f"monthly bills {year}, {unit}",
            unit=unit,
            fmt=lambda f: money_of(f, d.body),
            colour=GREEN,
        ),
    ]


def _privacy_section(d: PageData) -> list[str]:
    assert d.bill is not None
    sent = d.sent()
    kept = sum(len(r) for r in d.readings.values())
    cur = d.body.currency
    return [
        '<h2 id="privacy">What the provider received, and what stayed here</h2><div class="cols">',
        '<div class="card" id="sent"><h3>Sent to the provider</h3><ul>',
        f"<li>the bill's total: {esc(cur)} {esc(d.bill.amount)}, with a proof that it is right</li>",
        f"<li>the number of readings it covers: {sent['readings']:,}</li>",
        f"<li>the meter's seals over them: {sent['runs']} sealed runs from "
        f"{sent['meters']} meter(s) — commitments, which hide every value</li>",
        f"<li>in all {sent['bytes']:,} bytes</li></ul></div>",
        '<div class="card" id="kept"><h3>Kept on this device only</h3><ul>',
        f"<li>every reading: {kept:,} of them, each interval's consumption</li>",
        "<li>the openings of the seals (the secret that binds each reading)</li>",
        "<li>this page's daily and hourly figures, the kWh and cost per price period</li></ul>",
        "<p>Your data: "
        f'<a href="/data.csv?period={esc(d.bill.label)}" download>readings as CSV</a> · '
        f'<a href="/data.xml?period={esc(d.bill.label)}" download>Green Button XML</a></p>'
        "</div></div>",
    ]


def _when(ts: int | None) -> str:
    return "-" if not ts else datetime.fromtimestamp(ts).strftime("%Y-%m-%d %H:%M")


def _consent_section(store: HouseholdStore, csrf: str) -> list[str]:
    out = ['<h2 id="consent">Requests for your data</h2>']
    waiting = store.disclosures("waiting")
    if not waiting:
        out.append("<p>No request waits for you.</p>")
    for r in waiting:
        rid = esc(r["request_id"])
        out.append(
            f'<div class="req" id="req-{rid}"><strong>{esc(r["requester"])}</strong> asks, for '
            f"“{esc(r['purpose'])}”:<pre>{esc(r['description'])}</pre>"
            f'<form method="post" action="/consent"><input type="hidden" name="csrf" '
            f'value="{esc(csrf)}"><input type="hidden" name="request" value="{rid}">'
            '<button class="allow" name="decision" value="allow">Allow</button>'
            '<button class="refuse" name="decision" value="refuse">Refuse</button></form></div>'
        )
    done = [r for r in store.disclosures() if r["status"] != "waiting"]
    if done:
        out.append(
            '<h3>Decided requests</h3><table id="decided"><thead><tr><th>who, why</th>'
            "<th>decision</th><th>when</th></tr></thead><tbody>"
        )
        for r in done:
            out.append(
                f"<tr><td>{esc(r['requester'])}: {esc(r['purpose'])}</td>"
                f"<td>{esc(r['status'])}"
                + (f"<br><span class='muted'>{esc(r['reason'])}</span>" if r["reason"] else "")
                + f"</td><td>{esc(_when(r['answered_at'] or r['decided_at']))}</td></tr>"
            )
        out.append("</tbody></table>")
    entries = store.ledger().entries
    out.append("<h3>Ledger: every figure disclosed</h3>")
    if not entries:
        out.append("<p>Nothing disclosed yet.</p>")
    else:
        out.append(
            '<table id="ledger"><thead><tr><th>what</th><th>to</th><th>when</th></tr></thead><tbody>'
        )
        for e in entries:
            out.append(
                f"<tr><td>{esc(e.what)}</td><td>{esc(e.recipient)}</td>"
                f"<td>{esc(_when(e.at))}</td></tr>"
            )
        out.append("</tbody></table>")
    return out


# --- downloads ---------------------------------------------------------------------------------------


def readings_csv(d: PageData) -> bytes:
    from privbill.interop.csv_readings import format_rows

    parts = []
    for mid, rows in d.readings.items():
        text = format_rows(rows, d.steps[mid], d.body.tz)
        if len(d.readings) > 1:
            text = f"# meter {mid}\n{text}"
        parts.append(text)
    return "".join(parts).encode()


def readings_greenbutton(d: PageData) -> bytes:
    from privbill.interop import greenbutton

    if len(d.readings) != 1:
        raise AgentError("the Green Button export holds one meter", obj="page", field="download")
    ((mid, rows),) = d.readings.items()
    assert d.bill is not None
    start = datetime.fromtimestamp(d.bill.period.start, d.body.tz)
    off = start.utcoffset()
    dst = start.dst()
    assert off is not None
    standard = int(off.total_seconds()) - (int(dst.total_seconds()) if dst else 0)
    return greenbutton.write(rows, d.steps[mid], tz_offset_s=standard)


# --- the server ------------------------------------------------------------------------------------


#: A session ends after this many seconds without a request …
SESSION_IDLE_S = 30 * 60
#: … and this many seconds after it began, whatever happens.
SESSION_MAX_S = 12 * 3600
#: At most this many sessions at once; a new one ends the least recently used.
MAX_SESSIONS = 16


@dataclass(slots=True)
class _Session:
    started: float
    seen: float


class WebPage:
    """The page's state: the household, the start secret, the sessions and the CSRF key.

    A session ends :data:`SESSION_IDLE_S` after its last request or :data:`SESSION_MAX_S`
    after it began (the cookie says so too); opening the printed address again starts a new
    one. ``clock`` (monotonic seconds) is for tests."""

    def __init__(
        self,
        home: AgentHome,
        account: str | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.home = home
        self.account = home.account_of(account)
        self.store_path: Path = home.store_path(self.account)
        self.token = secrets.token_urlsafe(32)
        self._csrf_key = secrets.token_bytes(32)
        self._sessions: dict[str, _Session] = {}
        self._clock = clock
        self._lock = threading.Lock()
        self.server: ThreadingHTTPServer | None = None
        self.thread: threading.Thread | None = None

    # --- secrets ---

    def new_session(self) -> str:
        s = secrets.token_urlsafe(32)
        now = self._clock()
        with self._lock:
            self._expire(now)
            while len(self._sessions) >= MAX_SESSIONS:
                oldest = min(self._sessions, key=lambda k: self._sessions[k].seen)
                del self._sessions[oldest]
            self._sessions[s] = _Session(now, now)
        return s

    def valid_session(self, s: str | None) -> bool:
        """Whether ``s`` is a live session (a request on it keeps it alive)."""
        if not s:
            return False
        now = self._clock()
        with self._lock:
            self._expire(now)
            found = next((k for k in self._sessions if hmac.compare_digest(s, k)), None)
            if found is None:
                return False
            self._sessions[found].seen = now
            return True

    def sessions(self) -> int:
        """How many sessions are live."""
        with self._lock:
            self._expire(self._clock())
            return len(self._sessions)

    def _expire(self, now: float) -> None:
        for k in [
            k
            for k, v in self._sessions.items()
            if now - v.seen > SESSION_IDLE_S or now - v.started > SESSION_MAX_S
        ]:
            del self._sessions[k]

    def csrf_for(self, session: str) -> str:
        return hmac.new(
            self._csrf_key, b"privbill/web/csrf/v1\x00" + session.encode(), hashlib.sha256
        ).hexdigest()

    # --- store access ---

    def read(self) -> HouseholdStore:
        return HouseholdStore.open_readonly(self.store_path)

    def decide(self, request_id: str, allow: bool) -> str:
        """Record the person's decision, as ``privbill agent consent`` does."""
        from privbill.disclosure.model import DisclosureRequest

        store = HouseholdStore.open(self.store_path)
        try:
            with store.transaction():
                d = store.disclosure(request_id)
                if d is None or d["status"] != "waiting":
                    raise AgentError(
                        f"request {request_id} does not wait for a decision",
                        obj="page",
                        field="request",
                    )
                if allow:
                    n = len(DisclosureRequest.decode(d["request"]).statements)
                    store.decide(
                        request_id,
                        "allowed",
                        list(range(n)),
                        "agreed by the person on the local page",
                    )
                    return f"Allowed: the agent answers {d['requester']} now."
                store.decide(
                    request_id, "declined", None, "refused by the person on the local page"
                )
                return f"Refused: nothing is sent to {d['requester']}."
        finally:
            store.close()

    # --- serving ---

    def start(self, port: int = 0) -> str:
        """Serve on 127.0.0.1:``port`` (0: any free port) in a thread; the URL with the secret."""
        page = self

        class Handler(PageHandler):
            web = page

        try:
            self.server = ThreadingHTTPServer((HOST, port), Handler)
        except OSError as exc:
            raise UsageError(
                f"cannot serve the page on {HOST}:{port}: {exc.strerror}", obj="page", field="port"
            ) from None
        self.server.daemon_threads = True
        self.thread = threading.Thread(
            target=self.server.serve_forever, name="privbill-web", daemon=True
        )
        self.thread.start()
        return self.url_with_token

    @property
    def port(self) -> int:
        assert self.server is not None
        return int(self.server.server_address[1])

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}/"

    @property
    def url_with_token(self) -> str:
        return f"{self.url}?token={self.token}"

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
            self.server = None
        if self.thread is not None:
            self.thread.join(timeout=5)
            self.thread = None


class PageHandler(BaseHTTPRequestHandler):
    web: WebPage
    server_version = "privbill-agent"
    sys_version = ""

    def log_message(self, format: str, *args: Any) -> None:
        pass  # the query string can hold the start secret: nothing is logged

    def _send(
        self,
        status: int,
        body: bytes = b"",
        ctype: str = "text/plain; charset=utf-8",
        headers: dict[str, str] | None = None,
    ) -> None:
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Content-Security-Policy", CSP)
        self.send_header("X-Content-Type-Options", "nosniff")
        self.send_header("X-Frame-Options", "DENY")
        self.send_header("Referrer-Policy", "same-origin")
        self.send_header("Cache-Control", "no-store")
        self.send_header("Cross-Origin-Resource-Policy", "same-origin")
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _host_ok(self) -> bool:
        """Only requests addressed to this server's own loopback name (no DNS rebinding), and
        for POST, from its own origin."""
        port = self.web.port
        allowed = {f"{HOST}:{port}", f"localhost:{port}"}
        if self.headers.get("Host") not in allowed:
            return False
        origin = self.headers.get("Origin")
        return not (origin is not None and origin not in {f"http://{a}" for a in allowed})

    def _session(self) -> str | None:
        for part in self.headers.get("Cookie", "").split(";"):
            k, _, v = part.strip().partition("=")
            if k == COOKIE and self.web.valid_session(v):
                return v
        return None

    def _forbidden(self, why: str, status: int = HTTPStatus.FORBIDDEN) -> None:
        self._send(status, f"{why}\n".encode())

    def handle_one_request(self) -> None:
        try:
            super().handle_one_request()
        except (ConnectionError, TimeoutError):
            return
        except Exception as exc:  # a fault of the page: said by type, the details stay here
            with contextlib.suppress(Exception):
                self._send(
                    HTTPStatus.INTERNAL_SERVER_ERROR, f"page error: {type(exc).__name__}\n".encode()
                )
            print(f"privbill web: {type(exc).__name__}: {exc}", file=sys.stderr, flush=True)

    def do_GET(self) -> None:
        if not self._host_ok():
            return self._forbidden("this page answers only at 127.0.0.1")
        url = urlsplit(self.path)
        query = parse_qs(url.query)
        if url.path == "/style.css":
            return self._send(200, STYLE.encode(), "text/css; charset=utf-8")
        session = self._session()
        token = query.get("token", [""])[0]
        if token:
            if not hmac.compare_digest(token.encode(), self.web.token.encode()):
                return self._forbidden("wrong secret: use the address the agent printed")
            s = self.web.new_session()
            return self._send(
                HTTPStatus.SEE_OTHER,
                headers={
                    "Location": "/",
                    "Set-Cookie": (
                        f"{COOKIE}={s}; HttpOnly; SameSite=Strict; Path=/; Max-Age={SESSION_MAX_S}"
                    ),
                },
            )
        if session is None:
            return self._forbidden(
                "open the address the agent printed (with its secret)", HTTPStatus.UNAUTHORIZED
            )
        period = query.get("period", [None])[0]
        notice = query.get("notice", [""])[0]
        try:
            store = self.web.read()
            try:
                d = PageData(store, period)
                if url.path == "/":
                    notices = {
                        "allowed": "Allowed: the agent answers the request now.",
                        "refused": "Refused: nothing was sent.",
                    }
                    page = render_page(d, self.web.csrf_for(session), notices.get(notice, ""))
                    return self._send(200, page.encode(), "text/html; charset=utf-8")
                if url.path in ("/data.csv", "/data.xml") and d.bill is not None:
                    csv = url.path.endswith(".csv")
                    data = readings_csv(d) if csv else readings_greenbutton(d)
                    name = f"readings-{store.account}-{d.bill.label}.{'csv' if csv else 'xml'}"
                    ctype = "text/csv; charset=utf-8" if csv else "application/atom+xml"
                    return self._send(
                        200, data, ctype, {"Content-Disposition": f'attachment; filename="{name}"'}
                    )
            finally:
                store.close()
        except AgentError as exc:
            return self._send(HTTPStatus.NOT_FOUND, f"{exc}\n".encode())
        return self._send(HTTPStatus.NOT_FOUND, b"not found\n")

    do_HEAD = do_GET

    def do_POST(self) -> None:
        if not self._host_ok():
            return self._forbidden("this page answers only at 127.0.0.1")
        session = self._session()
        if session is None:
            return self._forbidden("no session: open the address the agent printed")
        if urlsplit(self.path).path != "/consent":
            return self._send(HTTPStatus.NOT_FOUND, b"not found\n")
        try:
            length = int(self.headers.get("Content-Length", "0"))
        except ValueError:
            length = -1
        if not 0 <= length <= 4096:
            return self._send(HTTPStatus.BAD_REQUEST, b"bad form length\n")
        form = parse_qs(self.rfile.read(length).decode("utf-8", "replace"))
        csrf = form.get("csrf", [""])[0]
        if not hmac.compare_digest(csrf.encode(), self.web.csrf_for(session).encode()):
            return self._forbidden("the form's CSRF token is wrong: reload the page")
        decision = form.get("decision", [""])[0]
        request_id = form.get("request", [""])[0]
        if decision not in ("allow", "refuse") or not request_id:
            return self._send(HTTPStatus.BAD_REQUEST, b"decision: allow or refuse\n")
        try:
            self.web.decide(request_id, decision == "allow")
        except AgentError as exc:
            return self._send(HTTPStatus.CONFLICT, f"{exc}\n".encode())
        notice = "allowed" if decision == "allow" else "refused"
        self._send(HTTPStatus.SEE_OTHER, headers={"Location": f"/?notice={notice}#consent"})


def serve_forever(page: WebPage, port: int, stop: threading.Event) -> None:
    """``privbill agent web``: serve until ``stop``; print the address with its secret."""
    print(
        f"open {page.start(port)}  (this household's page, 127.0.0.1 only)",
        file=sys.stderr,
        flush=True,
    )
    try:
        stop.wait()
    finally:
        page.stop()
