"""Staff pages of customer communication (D4, U14): the messages sent and their status, previews.

``/notifications`` lists every planned message (the demo's mailbox: the demo shop sends only
to the local sink) with delivery status; permanent failures (``dead``) show their error and
can be redriven by integration managers. ``/notifications/preview`` renders any event's
template in any customer language, as the customer will read it. ``/notifications/mailbox``
lists what the demo shop delivered to its local mailbox table (``orderwatch demo``): the text
part, and on a toggle the HTML part as the customer's mail client shows it, in a sandboxed
frame (``/notifications/mailbox/<id>/html``: no scripts, no forms, no network, its own origin).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Form, Query, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse

from orderwatch.adapters.db.demo_mailbox import CUSTOMER_CHANNELS, find_mailbox_html, list_mailbox
from orderwatch.adapters.db.notification_queries import STATUSES, list_messages
from orderwatch.adapters.db.users import UserRecord
from orderwatch.adapters.mail.templates import WORDING, TemplateRenderer
from orderwatch.domain.notifications import Channel
from orderwatch.domain.roles import Permission
from orderwatch.entrypoints.api.deps import AppDep, ReadSessionDep
from orderwatch.entrypoints.web.masking import mask_email, mask_phone
from orderwatch.entrypoints.web.rendering import render
from orderwatch.entrypoints.web.routing import web_router
from orderwatch.entrypoints.web.security import permissions_of, require
from orderwatch.services.deliveries import redrive

router = web_router()
Reader = Annotated[UserRecord, require(Permission.orders_read)]
Manager = Annotated[UserRecord, require(Permission.integrations_manage)]
CUSTOMER_LANGUAGES = ("pt_BR", "en", "zh_CN")
SAMPLE = {
    "order_ref": "BR-1042",
    "tracking_url": "https://shop.example/track/…",
    "expected_at": "2018-03-09T12:00:00+00:00",
    "cause": "logistics_delay",
    "remedy": "coupon",
}


def _shown_recipient(recipient: str, channel: str, *, can_read_pii: bool) -> str:
    if can_read_pii or channel == Channel.webhook.value:
        return recipient
    return mask_email(recipient) if channel == Channel.email.value else mask_phone(recipient)


@router.get("/notifications")
def messages_page(
    request: Request,
    session: ReadSessionDep,
    user: Reader,
    status: Annotated[str, Query(max_length=16)] = "",
    channel: Annotated[str, Query(max_length=16)] = "",
    order: Annotated[str, Query(max_length=64)] = "",
) -> Response:
    # An unknown filter value is shown as an error and not applied (never a silent empty list).
    error = None
    if status and status not in STATUSES:
        error, status = "status", ""
    if channel and channel not in {c.value for c in Channel}:
        error, channel = "channel", ""
    can_read_pii = Permission.customers_read_pii in permissions_of(user)
    lines = list_messages(session, status=status or None, channel=channel or None, order_ref=order or None)
    rows = [
        {"line": line, "recipient": _shown_recipient(line.recipient, line.channel, can_read_pii=can_read_pii)}
        for line in lines
    ]
    context = {
        "rows": rows,
        "statuses": STATUSES,
        "channels": [c.value for c in Channel],
        "filters": {"status": status, "channel": channel, "order": order},
        "can_redrive": Permission.integrations_manage in permissions_of(user),
        "error": error,
    }
    return render(request, "notifications/list.html", context, status_code=422 if error else 200)


@router.get("/notifications/mailbox")
def mailbox_page(
    request: Request,
    session: ReadSessionDep,
    user: Reader,
    channel: Annotated[str, Query(max_length=16)] = "",
) -> Response:
    """The demo shop's local mailbox (what it "sent"); recipients masked unless the role reads PII."""
    error = None
    if channel and channel not in CUSTOMER_CHANNELS:
        error, channel = "channel", ""
    can_read_pii = Permission.customers_read_pii in permissions_of(user)
    rows = [
        {"line": line, "recipient": _shown_recipient(line.recipient, line.channel, can_read_pii=can_read_pii)}
        for line in list_mailbox(session, channel=channel or None)
    ]
    context = {"rows": rows, "channels": CUSTOMER_CHANNELS, "channel": channel, "error": error}
    return render(request, "notifications/mailbox.html", context, status_code=422 if error else 200)


# The HTML part is the message as sent (our own templates, but still e-mail HTML): it is served
# only into the mailbox page's frame, sandboxed twice (the iframe's ``sandbox`` and the CSP
# ``sandbox`` directive: an opaque origin, no scripts, no forms, no popups), with inline styles
# (e-mail HTML is styled inline) and nothing fetched from anywhere.
MAIL_HTML_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'unsafe-inline'; img-src data:; frame-ancestors 'self'; "
        "form-action 'none'; base-uri 'none'; sandbox"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}


@router.get("/notifications/mailbox/{mailbox_id}/html")
def mailbox_html(session: ReadSessionDep, user: Reader, mailbox_id: int) -> Response:
    """One delivered message's HTML part, for the sandboxed frame of the mailbox page."""
    html = find_mailbox_html(session, mailbox_id)
    if html is None:
        return Response("no HTML part", status_code=404, media_type="text/plain", headers=MAIL_HTML_HEADERS)
    return HTMLResponse(html, headers=MAIL_HTML_HEADERS)


@router.post("/notifications/redrive")
def redrive_dead(application: AppDep, user: Manager, csrf_token: Annotated[str, Form()] = "") -> Response:
    redrive(application.uow(), clock=application.clock)
    return RedirectResponse("/notifications?status=pending", status_code=303)


@router.get("/notifications/preview")
def preview_page(
    request: Request,
    application: AppDep,
    user: Reader,
    event: Annotated[str, Query(max_length=32)] = "delay_confirmed",
    language: Annotated[str, Query(max_length=8)] = "pt_BR",
) -> Response:
    event = event if event in WORDING else "delay_confirmed"
    language = language if language in CUSTOMER_LANGUAGES else "pt_BR"
    settings = application.settings
    rendered = TemplateRenderer(shop_name=settings.shop_name, timezone=settings.shop_timezone).render(
        event, language, SAMPLE
    )
    context = {
        "events": list(WORDING),
        "languages": CUSTOMER_LANGUAGES,
        "event": event,
        "customer_language": language,
        "rendered": rendered,
    }
    return render(request, "notifications/preview.html", context)
