"""One incident from report to closed in a real browser, as the three roles of the plan (U3–U8, D13).

A CS agent reports the order undelivered from its page; the leadership group assesses and
assigns; CS records the first customer contact and a coupon (within its approval limit);
logistics waits on the carrier, then starts and finishes the resolution; the leadership group
closes it with the root cause, lessons and follow-ups. The walk ends on the closed case's
post-incident report (its HTML sections, and its PDF). Each role sees only its own buttons.
Screenshots go to the test's tmp directory.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from orderwatch.bootstrap import App
from orderwatch.domain.postmortem import SECTIONS
from tests.conftest import missing
from tests.e2e.web.conftest import PASSWORD, add_user, seed_order
from tests.e2e.web.test_browser_login import CHROMIUM, server_url  # noqa: F401 - the server fixture

pytestmark = pytest.mark.browser


def test_walk_one_incident_as_three_roles(
    sqlite_app: App,
    server_url: str,  # noqa: F811 - the fixture imported above
    tmp_path: Path,
) -> None:
    if not CHROMIUM.exists():
        missing("Debian's Chromium is not installed (apt-get install chromium fonts-noto-cjk)")
    from playwright.sync_api import Page, expect, sync_playwright

    for name, role in [("leader", "leadership"), ("cs", "cs_agent"), ("logistics", "logistics_agent")]:
        add_user(sqlite_app, name, role, language="en")
    seed_order(sqlite_app, ref="lost-1", days_ago=20, promised_days=5)
    shots = Path(os.environ.get("ORDERWATCH_SCREENSHOT_DIR", tmp_path))
    incident = f"{server_url}/incidents/INC-lost-1"

    def sign_in_as(page: Page, username: str) -> None:
        page.context.clear_cookies()
        page.goto(f"{server_url}/login")
        # The sign-in form speaks the shop's default language (Chinese); the account then English.
        page.get_by_label("用户名").fill(username)
        page.get_by_label("密码").fill(PASSWORD)
        page.get_by_role("button", name="登录").click()
        expect(page.get_by_role("button", name="Sign out")).to_be_visible()

    def act(page: Page, action: str, fields: dict[str, str], button: str) -> None:
        form = page.locator(f'form[data-action="{action}"]')
        for label, value in fields.items():
            form.get_by_label(label).fill(value)
        form.get_by_role("button", name=button).click()
        expect(page).to_have_url(incident)

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM),
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            errors: list[str] = []
            page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)

            sign_in_as(page, "cs")
            page.goto(f"{server_url}/orders/lost-1")
            page.get_by_role("button", name="Report undelivered").click()
            expect(page).to_have_url(incident)
            expect(page.get_by_test_id("incident-status")).to_have_text("Reported")
            expect(page.locator("form[data-action]")).to_have_count(0)  # nothing for CS yet

            sign_in_as(page, "leader")
            page.goto(incident)
            page.locator('form[data-action="assess"]').get_by_label("Severity").select_option("high")
            page.locator('form[data-action="assess"]').get_by_label("Cause").select_option("lost_parcel")
            act(page, "assess", {"Preliminary assessment": "Carrier confirms the loss"}, "Assess")
            act(page, "assign", {"Instructions": "CS calls, logistics files the claim"}, "Assign the teams")
            expect(page.get_by_test_id("incident-status")).to_have_text("Assigned")

            sign_in_as(page, "cs")
            page.goto(incident)
            expect(page.locator("form[data-action]")).to_have_count(1)
            act(page, "contact_customer", {"What was said": "Offered a reshipment"}, "Customer contacted")
            compensation = page.locator('form[data-form="compensation"]')
            compensation.get_by_label("Compensation").select_option("coupon")
            compensation.get_by_label("Amount").fill("15")
            compensation.get_by_role("button", name="Record compensation").click()
            expect(page.get_by_test_id("ledger")).to_contain_text("Approved")

            sign_in_as(page, "logistics")
            page.goto(incident)
            page.get_by_role("button", name="Wait on the carrier").click()
            expect(page.get_by_text("Waiting on the carrier")).to_be_visible()
            page.get_by_role("button", name="Answer received: resume the clock").click()
            act(page, "start_resolution", {"Plan": "Reship and file the claim"}, "Start resolution")
            act(page, "resolve", {"Result": "Reshipped and delivered"}, "Resolve")
            expect(page.locator('form[data-action="close"]')).to_have_count(0)  # closing is the lead's

            sign_in_as(page, "leader")
            page.goto(incident)
            act(
                page,
                "close",
                {
                    "Root cause": "Lost at the sorting hub",
                    "Lessons": "Scan at hub exit",
                    "Follow-up actions": "Audit the hub with the carrier",
                },
                "Close",
            )
            expect(page.get_by_test_id("incident-status")).to_have_text("Closed")
            expect(page.locator(".timeline__item")).to_have_count(11)  # with CS's coupon
            page.screenshot(path=shots / "incident-closed.png", full_page=True)

            # The walk ends on the closed case's post-incident report, and its PDF.
            page.get_by_test_id("report-link").click()
            expect(page).to_have_url(f"{incident}/report.html")
            # English headings are the msgids themselves.
            expect(page.locator("section[data-section] h2")).to_have_text(list(SECTIONS))
            expect(page.locator('[data-section="Follow-up actions"]')).to_contain_text("Audit the hub")
            expect(page.get_by_test_id("net-cost")).to_contain_text("15.00")
            pdf = page.request.get(f"{incident}/report.pdf?lang=zh-CN")
            assert pdf.ok
            assert pdf.headers["content-type"] == "application/pdf"
            assert pdf.body().startswith(b"%PDF")
            page.screenshot(path=shots / "incident-report.png", full_page=True)
            assert errors == []
        finally:
            browser.close()
