"""In a real browser: the demo mailbox's text/HTML toggle, and an offer e-mail's one-click link.

* Staff open a delivered message and switch to its HTML part: it shows, styled, in a frame
  where its script does not run.
* A customer on a phone follows the "accept" link of an offer e-mail: a confirmation page,
  one button, and the order page then says the offer was accepted.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from orderwatch.bootstrap import App
from tests.conftest import missing
from tests.e2e.test_tracking_offers import offer
from tests.e2e.test_tracking_page import _order, _token
from tests.e2e.web.conftest import PASSWORD, add_user
from tests.e2e.web.test_browser_login import CHROMIUM, server_url  # noqa: F401 - the server fixture
from tests.e2e.web.test_mailbox_page import _deliver_html

pytestmark = pytest.mark.browser
PHONE = {"width": 390, "height": 844}
LAUNCH = ["--no-sandbox", "--disable-gpu", "--disable-background-networking"]


def test_mailbox_toggles_to_the_html_part_without_running_its_script(
    sqlite_app: App,
    server_url: str,  # noqa: F811 - the fixture imported above
    tmp_path: Path,
) -> None:
    if not CHROMIUM.exists():
        missing("Debian's Chromium is not installed (apt-get install chromium fonts-noto-cjk)")
    from playwright.sync_api import expect, sync_playwright

    html_part = (
        '<p id="hello" style="color: rgb(29, 78, 216)">Olá, <b>Ana</b></p>'
        "<script>document.getElementById('hello').textContent = 'ran'</script>"
    )
    _deliver_html(sqlite_app, html_part, "browser-html")
    add_user(sqlite_app, "cs", "cs_agent", language="en")
    shots = Path(os.environ.get("ORDERWATCH_SCREENSHOT_DIR", tmp_path))

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=LAUNCH)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.goto(f"{server_url}/login?next=%2Fnotifications%2Fmailbox")
            page.locator("input[name=username]").fill("cs")
            page.locator("input[name=password]").fill(PASSWORD)
            page.locator("button.button--primary[type=submit]").click()
            item = page.locator(".mailbox__item").first
            item.locator("summary").click()
            expect(item.locator("pre.mailbox__text")).to_be_visible()
            expect(item.locator("iframe.mailbox__html")).to_be_hidden()

            item.get_by_text("HTML", exact=True).click()

            expect(item.locator("iframe.mailbox__html")).to_be_visible()
            expect(item.locator("pre.mailbox__text")).to_be_hidden()
            hello = item.frame_locator("iframe.mailbox__html").locator("#hello")
            expect(hello).to_have_text("Olá, Ana")  # the script was blocked by the sandbox
            expect(hello).to_have_css("color", "rgb(29, 78, 216)")  # inline styles apply
            page.screenshot(path=str(shots / "mailbox-html.png"), full_page=True)
        finally:
            browser.close()


def test_customer_accepts_from_the_email_link_after_confirming(
    sqlite_app: App,
    server_url: str,  # noqa: F811 - the fixture imported above
) -> None:
    if not CHROMIUM.exists():
        missing("Debian's Chromium is not installed (apt-get install chromium fonts-noto-cjk)")
    from playwright.sync_api import expect, sync_playwright

    ref, order_id = _order(sqlite_app, email="ana.souza@example.com")
    offer_id = offer(sqlite_app, ref)
    link = f"{server_url}/track/{_token(sqlite_app, order_id)}/offers/{offer_id}/accept"

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=LAUNCH)
        try:
            context = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True, locale="pt-BR")
            page = context.new_page()
            errors: list[str] = []
            page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)

            page.goto(link)
            card = page.get_by_test_id("confirm-offer")
            expect(card).to_contain_text("Você quer aceitar esta oferta?")
            expect(card).to_have_attribute("data-status", "offered")
            assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]

            card.get_by_role("button", name="Sim, aceitar a oferta").click()

            offer_card = page.get_by_test_id("offer")
            expect(offer_card).to_have_attribute("data-status", "accepted")
            expect(page.get_by_text("Você aceitou esta oferta.")).to_be_visible()
            assert errors == []
        finally:
            browser.close()
