"""Staff pages of customer communication: messages with status (masked per role), template preview."""

from __future__ import annotations

from collections.abc import Callable

from fastapi.testclient import TestClient

from orderwatch.bootstrap import App
from orderwatch.services.ports import NewMessage
from tests.e2e.web.conftest import add_user, sign_in


def _messages(app: App) -> None:
    now = app.clock.now()
    base = {
        "event": "shipped",
        "language": "pt_BR",
        "subject": "Seu pedido",
        "body_text": "x",
        "body_html": None,
        "context": {},
        "send_at": now,
    }
    with app.uow() as uow:
        uow.notifications.add_messages(
            [
                NewMessage(
                    idempotency_key="a:email", channel="email", recipient="ana.souza@example.com", **base
                ),
                NewMessage(
                    idempotency_key="a:sms",
                    channel="sms",
                    recipient="+5511988881234",
                    status="dead",
                    last_error="permanent: no SMS gateway configured",
                    **base,
                ),
            ],
            now=now,
        )
        uow.commit()


def test_messages_page_shows_status_and_failures_masked_for_logistics(
    app: App, client_for: Callable[[App], TestClient]
) -> None:
    _messages(app)
    add_user(app, "lu", "logistics_agent", language="en")
    client = client_for(app)
    sign_in(client, "lu")

    page = client.get("/notifications")
    dead_only = client.get("/notifications?status=dead")

    assert page.status_code == 200
    assert "permanent: no SMS gateway configured" in page.text
    assert "a***@example.com" in page.text
    assert "ana.souza" not in page.text
    assert "Retry all failed messages" not in page.text  # no integrations:manage
    assert dead_only.text.count('data-status="dead"') == 1
    assert 'data-status="pending"' not in dead_only.text
    assert client.get("/notifications?status=bogus").status_code == 422


def test_preview_renders_each_language(app: App, client_for: Callable[[App], TestClient]) -> None:
    add_user(app, "cs", "cs_agent", language="zh_CN")
    client = client_for(app)
    sign_in(client, "cs")

    pt = client.get("/notifications/preview?event=delay_confirmed&language=pt_BR")
    zh = client.get("/notifications/preview?event=remedy_offered&language=zh_CN")

    assert pt.status_code == zh.status_code == 200
    assert "Seu pedido BR-1042 está atrasado" in pt.text
    assert "关于订单 BR-1042 的补偿方案" in zh.text
    assert "消息预览" in zh.text  # the staff page itself in the staff member's language


def test_order_page_links_to_its_messages(app: App, client_for: Callable[[App], TestClient]) -> None:
    from tests.e2e.web.conftest import seed_order

    seed_order(app, ref="msg-1", days_ago=3, promised_days=10)
    add_user(app, "cs2", "cs_agent", language="en")
    client = client_for(app)
    sign_in(client, "cs2")

    page = client.get("/orders/msg-1")

    assert page.status_code == 200
    assert 'href="/notifications?order=msg-1"' in page.text
