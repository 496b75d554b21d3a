"""The dashboard's accounts and its Risk table, in Debian's chromium (Playwright; never a
downloaded browser): it opens on the continuous `paper` account, however many simulated
sessions ran since; those are grouped in one menu, not a chip each; and a REDUCING bot's long
reason neither widens the Risk table nor hides its Equity column, on a phone or a desktop.
Screenshots of both widths land in the test's directory (look at them)."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.e2e.test_dashboard_browser import CHROMIUM, require_chromium
from tests.e2e.test_dashboard_http import OPERATOR, PASSWORD, DashboardServer

pytestmark = pytest.mark.e2e


@pytest.fixture
def served(tmp_path):
    require_chromium()
    srv = DashboardServer(tmp_path)
    srv.start()
    try:
        # sim-0001's crypto bot ends its 20 days REDUCING (a drawdown warning: a long reason),
        # two more simulated sessions pile up, and a short continuous session runs in `paper`.
        srv.cli("paper", "--days", "20", "--json")
        with ThreadPoolExecutor(max_workers=2) as pool:
            users = pool.submit(srv.create_users, {"operator": OPERATOR})
            srv.cli("paper", "--days", "2", "--json")
            srv.cli("paper", "--days", "2", "--json")
            srv.cli("paper", "--bar-seconds", "0.1", "--duration", "1")
            users.result()
        srv.wait_until_up()
        yield srv
    finally:
        srv.stop()


def test_opens_on_paper_groups_simulated_sessions_and_the_risk_table_fits(served, tmp_path):
    from playwright.sync_api import expect, sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox"])
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.goto(f"{served.base}/dashboard/login")
            page.fill("#email", OPERATOR)
            page.fill("#password", PASSWORD)
            page.click("form[action='/dashboard/login'] button[type=submit]")
            expect(page).to_have_url(f"{served.base}/dashboard")

            # The default account: the continuous one, not the latest simulated session.
            expect(page.locator("h1")).to_contain_text("paper")
            chips = page.locator("nav.accounts > a")
            expect(chips).to_have_text(["paper"])
            menu = page.locator("nav.accounts [data-simulated-sessions]")
            expect(menu.locator("summary")).to_have_text("Simulated sessions (3)")
            menu.locator("summary").click()
            expect(menu.locator(".menu a")).to_have_text(["sim-0003", "sim-0002", "sim-0001"])
            menu.locator(".menu a", has_text="sim-0001").click()
            expect(page.locator("h1")).to_contain_text("sim-0001")
            expect(page.locator("nav.accounts summary")).to_have_text("Simulated sessions (3): sim-0001")

            reason = page.locator("table.data td[data-cell=trading] .reason").first
            expect(reason).to_contain_text("drawdown")
            assert "limit" in (reason.get_attribute("title") or "")  # the whole text on hover
            for name, size in (("desktop", {"width": 1280, "height": 900}), ("phone", {"width": 390, "height": 844})):
                page.set_viewport_size(size)
                risk = page.locator("section.block", has=page.locator("h2", has_text="Risk"))
                risk.scroll_into_view_if_needed()
                page.screenshot(path=str(tmp_path / f"risk-{name}.png"), full_page=False,
                                clip=_clip(risk.bounding_box(), size))
                box = risk.locator(".table-wrap").bounding_box()
                equity = risk.locator("th", has_text="Equity").bounding_box()
                assert box and equity
                # The Equity column is in view without scrolling the table sideways.
                assert equity["x"] + equity["width"] <= box["x"] + box["width"] + 1, (name, equity, box)
                row = risk.locator("tbody tr").filter(has_text="reducing").first.bounding_box()
                assert row and row["height"] < 80, (name, row)  # two lines of reason, not a column of them
                if name == "desktop":
                    width, client = risk.locator(".table-wrap").evaluate("e => [e.scrollWidth, e.clientWidth]")
                    assert width <= client, f"the Risk table is {width} px in a {client} px box"
                page_width, inner = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
                assert page_width <= inner, (name, page_width, inner)
        finally:
            browser.close()


def _clip(box: dict | None, size: dict) -> dict:
    assert box is not None
    return {"x": 0, "y": max(box["y"], 0), "width": size["width"], "height": min(box["height"], size["height"])}
