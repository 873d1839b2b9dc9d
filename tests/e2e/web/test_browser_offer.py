"""A customer accepts a remedy offer on a phone-sized viewport in a real browser (D5, U6).

The page opened from the message's link shows the offer with its value; Accept records the
decision and the page then says so; nothing overflows the 390 px screen.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from orderwatch.bootstrap import App
from tests.conftest import missing
from tests.e2e.test_tracking_offers import offer
from tests.e2e.test_tracking_page import _order, _token
from tests.e2e.web.test_browser_login import CHROMIUM, server_url  # noqa: F401 - the server fixture

pytestmark = pytest.mark.browser
PHONE = {"width": 390, "height": 844}


def test_customer_accepts_an_offer_on_a_phone(
    sqlite_app: App,
    server_url: str,  # noqa: F811 - the fixture imported above
    tmp_path: Path,
) -> None:
    if not CHROMIUM.exists():
        missing("Debian's Chromium is not installed (apt-get install chromium fonts-noto-cjk)")
    from playwright.sync_api import expect, sync_playwright

    ref, order_id = _order(sqlite_app, email="ana.souza@example.com")
    offer_id = offer(sqlite_app, ref)
    shots = Path(os.environ.get("ORDERWATCH_SCREENSHOT_DIR", tmp_path))

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM),
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        try:
            context = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True, locale="pt-BR")
            page = context.new_page()
            errors: list[str] = []
            page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)

            page.goto(f"{server_url}/track/{_token(sqlite_app, order_id)}")
            card = page.get_by_test_id("offer")
            expect(card).to_contain_text("um reembolso parcial")
            expect(card).to_contain_text("R$\xa012,90")
            assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
            page.screenshot(path=str(shots / "tracking-offer-phone.png"), full_page=True)

            card.get_by_role("button", name="Aceitar").click()

            expect(page.get_by_text("Você aceitou esta oferta.")).to_be_visible()
            expect(card).to_have_attribute("data-status", "accepted")
            expect(card.get_by_role("button", name="Aceitar")).to_have_count(0)
            assert page.url.endswith(f"#offer-{offer_id}")
            assert errors == []
        finally:
            browser.close()
