"""The household's page in a real browser (Playwright driving Debian's Chromium) for a household
billed by the real provider service: the totals on the page equal the verified bill; Allow
answers the provider through the agent's disclosure path and records it in the ledger; Refuse
sends nothing; the page makes no third-party request. Screenshots go to test-artifacts/web/."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from web_helpers import WebHousehold, billed_household

from privbill.household.web import WebPage
from privbill.service.client import Client

CHROMIUM = os.environ.get("PRIVBILL_CHROMIUM", "/usr/bin/chromium")
ARTIFACTS = (
    Path(
        os.environ.get(
            "PRIVBILL_TEST_ARTIFACTS", Path(__file__).resolve().parents[2] / "test-artifacts"
        )
    )
    / "web"
)

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")
    if not (Path(CHROMIUM).is_file() or shutil.which(CHROMIUM)):
        pytest.skip(f"no Chromium at {CHROMIUM} (apt-get install chromium)")
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, headless=True)
        try:
            yield b
        finally:
            b.close()


def test_the_page_in_a_browser(browser, live_service, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    hh: WebHousehold = billed_household(live_service, tmp_path)
    page_server = WebPage(hh.setup.home)
    url = page_server.start()
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    ctx = browser.new_context(viewport={"width": 1100, "height": 900})
    seen: list[str] = []
    try:
        page = ctx.new_page()
        page.on("request", lambda r: seen.append(r.url))
        page.goto(url)
        assert page.url == page_server.url  # the secret is exchanged for a cookie and dropped
        store = hh.setup.store()
        bill = store.bill("2026-01")
        assert bill is not None and bill.status == "valid" and bill.receipt is not None
        shown = f"{bill.currency} {bill.amount}"
        assert page.locator("#total").inner_text() == shown
        assert page.locator("#verified").inner_text() == shown
        assert page.locator("#table-total").inner_text() == store.explain("2026-01").amount(
            bill.total_fee
        )
        assert (
            "receipt"
            in page.locator("#status").inner_text() + page.locator("#bill ~ p").first.inner_text()
        )
        assert page.locator("svg").count() == 3
        page.screenshot(path=str(ARTIFACTS / "page-desktop.png"), full_page=True)

        first, second = (r["request_id"] for r in hh.requests)
        page.locator(f"#req-{first} button.allow").click()
        assert "Allowed" in page.locator("#notice").inner_text()
        assert store.disclosure(first)["status"] == "allowed"  # type: ignore[index]
        hh.household.answer_allowed()  # what the running agent does on its next pass
        with Client(live_service.url, token=live_service.admin) as op:
            got = op.json("GET", f"/v1/disclosures/{first}")
            assert got["status"] == "answered"
            period_first, count = bill.period.intervals(900)
            total_wh = sum(store.values(hh.setup.meter_id, period_first, period_first + count))
            assert got["result"]["results"][0]["value"] == total_wh  # the verified answer

        page.locator(f"#req-{second} button.refuse").click()
        assert "Refused" in page.locator("#notice").inner_text()
        hh.household.answer_allowed()
        d = store.disclosure(second)
        assert d is not None and d["status"] == "declined"
        assert (
            store.db.execute(
                "SELECT response FROM disclosures WHERE request_id = ?", (second,)
            ).fetchone()[0]
            is None
        )
        with Client(live_service.url, token=live_service.admin) as op:
            assert (
                op.json("GET", f"/v1/disclosures/{second}")["status"] == "pending"
            )  # nothing sent
        page.reload()
        assert page.locator(".req").count() == 0
        ledger = page.locator("#ledger").inner_text()
        assert "Example Power 1" in ledger and "Example Power 2" not in ledger
        page.screenshot(path=str(ARTIFACTS / "page-after-consent.png"), full_page=True)

        phone = browser.new_context(viewport={"width": 390, "height": 844}, device_scale_factor=2)
        try:
            p2 = phone.new_page()
            p2.goto(url)
            width = p2.evaluate("document.documentElement.scrollWidth")
            assert width <= 390  # readable on a phone: nothing wider than the screen
            p2.screenshot(path=str(ARTIFACTS / "page-phone.png"), full_page=True)
        finally:
            phone.close()
        store.close()
        base = page_server.url
        assert seen and all(u.startswith(base) for u in seen), [
            u for u in seen if not u.startswith(base)
        ]
    finally:
        ctx.close()
        page_server.stop()
