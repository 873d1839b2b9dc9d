"""The staff demo mailbox page (issue 6 staff side: D4, U14): delivered messages, masked per role.

Planned messages are delivered by ``demo_mailbox.deliver_due`` (customer channels only, once
per key even when delivered twice) and listed with subject, language and text.
"""

from __future__ import annotations

from collections.abc import Callable

from fastapi.testclient import TestClient

from orderwatch.adapters.db.demo_mailbox import deliver_due
from orderwatch.bootstrap import App
from orderwatch.services.ports import NewMessage
from tests.e2e.web.conftest import add_user, sign_in


def _deliver(app: App) -> None:
    now = app.clock.now()
    base = {"event": "shipped", "language": "pt_BR", "body_html": None, "context": {}, "send_at": now}
    with app.uow() as uow:
        uow.notifications.add_messages(
            [
                NewMessage(
                    idempotency_key="m:email",
                    channel="email",
                    recipient="ana.souza@example.com",
                    subject="Seu pedido BR-1 está a caminho",
                    body_text="Olá, seu pedido saiu.",
                    **base,
                ),
                NewMessage(
                    idempotency_key="m:webhook",
                    channel="webhook",
                    recipient="https://shop.example/hook",
                    subject=None,
                    body_text="{}",
                    **base,
                ),
            ],
            now=now,
        )
        assert deliver_due(uow.session, now=now) == 1  # the shop's webhook is not a customer message
        assert deliver_due(uow.session, now=now) == 0
        uow.commit()


def test_mailbox_lists_deliveries_masked_unless_the_role_reads_pii(
    app: App, client_for: Callable[[App], TestClient]
) -> None:
    _deliver(app)
    add_user(app, "lu", "logistics_agent", language="en")
    add_user(app, "cs", "cs_agent", language="zh_CN")
    logistics, cs = client_for(app), client_for(app)
    sign_in(logistics, "lu")
    sign_in(cs, "cs")

    masked = logistics.get("/notifications/mailbox")
    clear = cs.get("/notifications/mailbox")
    bad = logistics.get("/notifications/mailbox?channel=fax")

    assert masked.status_code == 200
    assert "Seu pedido BR-1 está a caminho" in masked.text
    assert "Olá, seu pedido saiu." in masked.text
    assert "a***@example.com" in masked.text
    assert "ana.souza" not in masked.text
    assert "shop.example" not in masked.text
    assert "ana.souza@example.com" in clear.text
    assert "演示邮箱" in clear.text
    assert bad.status_code == 422
