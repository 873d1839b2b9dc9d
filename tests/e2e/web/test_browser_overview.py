"""The overview charts in a real browser (D14, U14): Debian's Chromium driven by Playwright.

Signs in, waits for Chart.js to draw both charts from the page's JSON (gaps stay gaps),
switches the month basis and the language. Screenshots go to the test's tmp directory, or to
``ORDERWATCH_SCREENSHOT_DIR``.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from orderwatch.bootstrap import App
from tests.conftest import missing
from tests.e2e.web.conftest import PASSWORD, add_user
from tests.e2e.web.overview_data import SHOP, seed
from tests.e2e.web.test_browser_login import CHROMIUM, server_url  # noqa: F401 - the shared server fixture

pytestmark = pytest.mark.browser

CHARTS_DRAWN = """() => typeof Chart === "function"
    && Chart.getChart(document.getElementById("delay-chart")) !== undefined
    && Chart.getChart(document.getElementById("satisfaction-chart")) !== undefined"""


def test_overview_draws_both_charts(sqlite_app: App, server_url: str, tmp_path: Path) -> None:  # noqa: F811
    if not CHROMIUM.exists():
        missing("Debian's Chromium is not installed (apt-get install chromium fonts-noto-cjk)")
    from playwright.sync_api import expect, sync_playwright

    add_user(sqlite_app, "lea", "leadership", language="en", display_name="Lea Costa")
    seed(sqlite_app, SHOP)
    shots = Path(os.environ.get("ORDERWATCH_SCREENSHOT_DIR", tmp_path))

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM),
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            errors: list[str] = []
            page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
            page.on("pageerror", lambda error: errors.append(str(error)))
            page.on("response", lambda response: errors.append(f"{response.status} {response.url}")
                    if response.status >= 400 else None)

            page.goto(f"{server_url}/login")
            page.get_by_role("button", name="English").click()
            page.get_by_label("Username").fill("lea")
            page.get_by_label("Password").fill(PASSWORD)
            page.get_by_role("button", name="Sign in").click()

            expect(page.get_by_role("heading", name="Overview", exact=True)).to_be_visible()
            page.wait_for_function(CHARTS_DRAWN, timeout=10_000)
            delay = page.evaluate("""() => Chart.getChart(document.getElementById("delay-chart"))
                .data.datasets.map(d => d.data)""")
            satisfaction = page.evaluate("""() => Chart.getChart(
                document.getElementById("satisfaction-chart")).data.datasets.map(d => d.label)""")
            assert delay[0] == [0.5, None, 13 / 46]  # January has no delivery: a gap, not 0 %
            assert delay[2] == [0.05, 0.05, 0.05]  # the target line
            assert satisfaction == ["Satisfied (score 4–5)", "Target: above 85.0%", "Response rate"]
            box = page.locator("#delay-chart").bounding_box()
            assert box is not None
            assert box["width"] > 300
            assert box["height"] > 200
            page.screenshot(path=shots / "overview-en.png", full_page=True)

            # Choosing another month basis reloads the page with it (no button press needed).
            page.select_option("#basis", "delivery")
            expect(page).to_have_url(f"{server_url}/?basis=delivery")
            page.wait_for_function(CHARTS_DRAWN, timeout=10_000)

            page.get_by_role("button", name="中文").click()
            expect(page.get_by_role("heading", name="总览", exact=True)).to_be_visible()
            page.wait_for_function(CHARTS_DRAWN, timeout=10_000)
            assert page.evaluate("""() => Chart.getChart(document.getElementById("delay-chart"))
                .data.labels""") == ["2017年12月", "2018年1月", "2018年2月"]
            page.screenshot(path=shots / "overview-zh.png", full_page=True)

            page.set_viewport_size({"width": 390, "height": 844})
            page.screenshot(path=shots / "overview-mobile.png", full_page=True)
            assert errors == []
        finally:
            browser.close()
