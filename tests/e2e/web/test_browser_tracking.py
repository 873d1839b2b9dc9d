"""The customer tracking page on a phone-sized viewport in a real browser (D3, D6).

Look the order up by number and e-mail, read the timeline, rate the delivery; the page must
fit the screen without sideways scrolling. The screenshot goes to the test's tmp directory
(or ``ORDERWATCH_SCREENSHOT_DIR``).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from orderwatch.bootstrap import App
from tests.conftest import missing
from tests.e2e.test_tracking_page import _order
from tests.e2e.web.test_browser_login import CHROMIUM, server_url  # noqa: F401 - the server fixture

pytestmark = pytest.mark.browser
PHONE = {"width": 390, "height": 844}


def test_customer_tracks_and_rates_an_order_on_a_phone(
    sqlite_app: App,
    server_url: str,  # noqa: F811 - the fixture imported above
    tmp_path: Path,
) -> None:
    if not CHROMIUM.exists():
        missing("Debian's Chromium is not installed (apt-get install chromium fonts-noto-cjk)")
    from playwright.sync_api import expect, sync_playwright

    ref, _ = _order(sqlite_app, email="ana.souza@example.com", phone="+55 11 98888-1234", delivered=True)
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

            page.goto(f"{server_url}/track")
            expect(page.get_by_role("heading", name="Acompanhe seu pedido")).to_be_visible()
            page.get_by_label("Número do pedido").fill(ref)
            page.get_by_label("E-mail ou telefone").fill("ana.souza@example.com")
            page.get_by_role("button", name="Ver meu pedido").click()

            expect(page.get_by_test_id("headline")).to_have_text("Entregue")
            expect(page.locator(".timeline__item")).to_have_count(4)
            expect(page.locator(".timeline__item").first).to_contain_text("Entregue")
            expect(page.get_by_test_id("email")).to_have_text("a***@example.com")
            wide = page.evaluate(
                "[...document.querySelectorAll('*')].filter(e => e.getBoundingClientRect().right > 391)"
                ".map(e => e.tagName + '.' + e.className + ':' + Math.round(e.getBoundingClientRect().right))"
            )
            assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"], wide
            page.screenshot(path=str(shots / "tracking-phone.png"), full_page=True)

            page.locator(".stars__option", has_text="5").click()
            page.get_by_label("Comentário (opcional)").fill("Chegou antes do previsto")
            page.get_by_role("button", name="Enviar").click()
            expect(page.get_by_text("Obrigado pela sua avaliação!")).to_be_visible()
            expect(page.locator('input[name="score"][value="5"]')).to_be_checked()
            assert errors == []
        finally:
            browser.close()
