"""The staff demo mailbox page (issue 6 staff side: D4, U14): delivered messages, masked per role.

Planned messages are delivered by ``demo_mailbox.deliver_due`` (customer channels only, once
per key even when delivered twice) and listed with subject, language and text.
"""

from __future__ import annotations

from collections.abc import Callable

from fastapi.testclient import TestClient
from sqlalchemy import select

from orderwatch.adapters.db.demo_mailbox import deliver_due
from orderwatch.adapters.db.tables import MailboxRow
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


def _deliver_html(app: App, body_html: str | None, key: str) -> int:
    now = app.clock.now()
    with app.uow() as uow:
        uow.notifications.add_messages(
            [
                NewMessage(
                    idempotency_key=key,
                    event="shipped",
                    channel="email",
                    recipient="ana.souza@example.com",
                    language="pt_BR",
                    subject=f"Assunto {key}",
                    body_text="Olá, seu pedido saiu.",
                    body_html=body_html,
                    context={},
                    send_at=now,
                )
            ],
            now=now,
        )
        deliver_due(uow.session, now=now)
        uow.commit()
    with app.session_factory() as session:
        return int(session.scalar(select(MailboxRow.id).where(MailboxRow.subject == f"Assunto {key}")) or 0)


def test_mailbox_shows_the_html_part_in_a_sandboxed_frame_on_a_toggle(
    app: App, client_for: Callable[[App], TestClient]
) -> None:
    html_part = '<p style="color: #1d4ed8">Olá, <b>Ana</b></p><script>alert(1)</script>'
    with_html = _deliver_html(app, html_part, "with-html")
    text_only = _deliver_html(app, None, "text-only")
    add_user(app, "cs", "cs_agent", language="en")
    client, anonymous = client_for(app), client_for(app)
    sign_in(client, "cs")

    page = client.get("/notifications/mailbox")
    frame = client.get(f"/notifications/mailbox/{with_html}/html")
    none = client.get(f"/notifications/mailbox/{text_only}/html")
    outsider = anonymous.get(f"/notifications/mailbox/{with_html}/html", follow_redirects=False)

    assert page.status_code == 200
    assert page.text.count("<iframe") == 1  # only the message that has an HTML part
    assert 'sandbox="" referrerpolicy="no-referrer" loading="lazy"' in page.text
    assert f'src="/notifications/mailbox/{with_html}/html"' in page.text
    assert f'id="view-html-{with_html}"' in page.text
    assert f'id="view-html-{text_only}"' not in page.text
    assert frame.status_code == 200
    assert frame.text == html_part  # as sent; the sandbox, not a rewrite, keeps it inert
    policy = frame.headers["content-security-policy"]
    assert "default-src 'none'" in policy
    assert policy.endswith("sandbox")
    assert "script-src" not in policy  # no script may run (default-src 'none')
    assert none.status_code == 404
    assert outsider.status_code in {303, 401}
    assert "Ana" not in outsider.text
