"""The staff web app in a real browser (D1, D13): Debian's Chromium driven by Playwright.

One walk through the shell: sign in, switch to Chinese, filter the order list with HTMX, open an
order. Screenshots go to the test's tmp directory (kept by pytest for inspection).
"""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import uvicorn

from orderwatch.bootstrap import App
from orderwatch.entrypoints.api.app import create_app
from tests.conftest import missing
from tests.e2e.web.conftest import PASSWORD, add_user, seed_order

CHROMIUM = Path("/usr/bin/chromium")
pytestmark = pytest.mark.browser


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def server_url(sqlite_app: App) -> Iterator[str]:
    """Uvicorn serving ``sqlite_app`` on a free loopback port, in a thread."""
    port = _free_port()
    config = uvicorn.Config(
        create_app(sqlite_app), host="127.0.0.1", port=port, log_level="warning", lifespan="off",
        ws="none", http="h11",
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            pytest.fail("uvicorn did not start within 10 s")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def test_sign_in_switch_language_browse_orders(sqlite_app: App, server_url: str, tmp_path: Path) -> None:
    if not CHROMIUM.exists():
        missing("Debian's Chromium is not installed (apt-get install chromium fonts-noto-cjk)")
    from playwright.sync_api import expect, sync_playwright

    add_user(sqlite_app, "ana", "cs_agent", language="en", display_name="Ana Lima")
    seed_order(sqlite_app, ref="late-1", days_ago=20, promised_days=5, delivered_after_days=8)
    seed_order(sqlite_app, ref="open-2", days_ago=3, promised_days=10, carrier="jadlog")
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
            page.on("response", lambda response: errors.append(f"{response.status} {response.url}")
                    if response.status >= 400 else None)

            page.goto(f"{server_url}/orders")
            expect(page).to_have_url(f"{server_url}/login?next=%2Forders")
            page.get_by_label("用户名").fill("ana")
            page.get_by_label("密码").fill(PASSWORD)
            page.screenshot(path=shots / "login.png", full_page=True)
            page.get_by_role("button", name="登录").click()

            # Her account says English; the switch in the header turns the pages Chinese.
            expect(page.get_by_role("heading", name="Orders", exact=True)).to_be_visible()
            page.get_by_role("button", name="中文").click()
            expect(page.get_by_role("heading", name="订单", exact=True)).to_be_visible()
            expect(page.locator("html")).to_have_attribute("lang", "zh-CN")

            # Changing a filter swaps only the results (HTMX) and pushes the filtered URL.
            assert page.evaluate("typeof htmx") == "object", "htmx was not loaded from /assets"
            page.evaluate("document.body.dataset.marker = 'kept'")  # a full reload would drop it
            page.get_by_label("承运商").fill("jadlog")
            page.get_by_label("承运商").press("Enter")
            expect(page).to_have_url(f"{server_url}/orders?q=&status=&lateness=&attention=&carrier=jadlog"
                                     "&supplier=&origin=&region=&purchased_from=&purchased_until=")
            expect(page.locator("#results a.ref")).to_have_count(1)
            assert page.evaluate("document.body.dataset.marker") == "kept"
            expect(page.get_by_text("共有 1 个订单符合条件")).to_be_visible()
            page.screenshot(path=shots / "orders.png", full_page=True)

            page.get_by_role("link", name="清除筛选").click()
            page.get_by_role("link", name="late-1").click()
            expect(page.get_by_role("heading", name="订单 late-1")).to_be_visible()
            expect(page.locator(".timeline__item")).to_have_count(5)
            expect(page.get_by_text("Objeto postado")).to_be_visible()
            page.screenshot(path=shots / "detail.png", full_page=True)

            page.set_viewport_size({"width": 390, "height": 844})
            page.screenshot(path=shots / "detail-mobile.png", full_page=True)
            assert errors == []
        finally:
            browser.close()
