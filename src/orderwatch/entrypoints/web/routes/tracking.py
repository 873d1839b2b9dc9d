"""The customer tracking page (D3, D6): no login, mobile first, one order and nothing else.

Access rules:

* ``/track/<token>``: the token is the order id signed with the secret key (HMAC-SHA256,
  ``adapters/security/tracking_tokens.py``); a forged or altered token is the same 404 as an
  unknown one, so the address space cannot be walked (IDOR).
* ``/track`` form: order number **and** the customer's e-mail or phone; any mismatch gets one
  and the same answer ("no order matches"), so the form tells nothing about which orders or
  contacts exist (enumeration); a match redirects to the token address.
* every request counts against a per-address limit (``ORDERWATCH_TRACKING_RATE_LIMIT_PER_MINUTE``,
  429 beyond it); personal data is masked; pages are ``no-store`` and ``noindex``.

Customer POSTs carry no session and no CSRF token: the feedback and offer forms are only
reachable with the order's unguessable token, which a cross-site attacker does not have (and
a browser's ``Sec-Fetch-Site: cross-site`` is refused besides); the lookup form changes
nothing. A remedy offer (D5, U6) is decided here: the token's order must own the offer, one
decision only (a repeat is a no-op), never after its expiry. The offer e-mail's one-click
links (``/track/<token>/offers/<id>/accept|decline``) open a confirmation page on GET; only
the POST of that page decides (mail scanners prefetch links). Pages speak the customer's
language (pt_BR, en, zh_CN; ``?lang=`` overrides).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from babel.dates import format_date, format_time
from babel.numbers import format_currency
from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from orderwatch.adapters.db.tracking_queries import TrackingView, find_order_by_contact, find_tracking_view
from orderwatch.adapters.mail.templates import CAUSE_WORDS, REMEDY_WORDS, UNKNOWN_CAUSE
from orderwatch.adapters.security.tracking_tokens import TrackingTokens
from orderwatch.domain.errors import Conflict, NotFound, ValidationFailed
from orderwatch.domain.remedy_offers import Decision, effective_status
from orderwatch.domain.types import Language
from orderwatch.entrypoints.api.deps import AppDep
from orderwatch.entrypoints.incident_wiring import incident_config
from orderwatch.entrypoints.web.masking import mask_email, mask_phone
from orderwatch.entrypoints.web.rendering import SECURITY_HEADERS, WEB_DIR
from orderwatch.entrypoints.web.security import LoginThrottle
from orderwatch.i18n import N_, load_translations
from orderwatch.services.feedback import record_page_feedback
from orderwatch.services.offer_ports import OfferRecord
from orderwatch.services.remedy_offers import decide_offer
from orderwatch.settings import Settings

router = APIRouter()
CATALOG = "customer"
LANGUAGE_TAGS = {"pt_BR": "pt-BR", "en": "en", "zh_CN": "zh-CN"}
# Customer pages speak the customer catalog (pt_BR, en, zh_CN), so their templates live apart
# from the staff templates, whose strings the staff catalogs (zh_CN, en) must cover.
TEMPLATE_DIR = WEB_DIR / "customer_templates"
HEADERS = {**SECURITY_HEADERS, "X-Robots-Tag": "noindex, nofollow", "Referrer-Policy": "no-referrer"}

STEP_WORDS = {
    "created": N_("Label created"),
    "picked_up": N_("Picked up by the carrier"),
    "in_transit": N_("In transit"),
    "customs_hold": N_("Held at customs"),
    "out_for_delivery": N_("Out for delivery"),
    "available_for_pickup": N_("Ready for pickup"),
    "delivery_failed": N_("Delivery attempt failed"),
    "delivered": N_("Delivered"),
    "exception": N_("Delivery problem"),
    "returning": N_("Returning to sender"),
    "returned": N_("Returned to sender"),
    "refused": N_("Refused"),
    "lost": N_("Lost by the carrier"),
    "damaged": N_("Damaged"),
    "stale": N_("No news from the carrier"),
    "unknown": N_("Update from the carrier"),
}
# The four steps of the progress bar.
PROGRESS = (N_("Ordered"), N_("Shipped"), N_("Out for delivery"), N_("Delivered"))


@dataclass
class TrackingState:
    """Per-process: one template environment per customer language, the token codec, the limiter."""

    environments: dict[str, Environment]
    tokens: TrackingTokens
    throttle: LoginThrottle
    zone: ZoneInfo


def _environment(language: str) -> Environment:
    environment = Environment(
        loader=FileSystemLoader(TEMPLATE_DIR),
        autoescape=select_autoescape(["html"]),
        undefined=StrictUndefined,
        extensions=["jinja2.ext.i18n"],
        trim_blocks=True,
        lstrip_blocks=True,
    )
    environment.install_gettext_translations(load_translations(language, CATALOG), newstyle=True)  # type: ignore[attr-defined]
    return environment


def build_tracking_state(settings: Settings) -> TrackingState:
    return TrackingState(
        environments={language: _environment(language) for language in LANGUAGE_TAGS},
        tokens=TrackingTokens(settings.secret_key),
        throttle=LoginThrottle(
            per_user=settings.tracking_rate_limit_per_minute,
            per_address=settings.tracking_rate_limit_per_minute,
            window=timedelta(minutes=1),
        ),
        zone=ZoneInfo(settings.shop_timezone),
    )


def _state(request: Request, settings: Settings) -> TrackingState:
    state = getattr(request.app.state, "tracking", None)
    if state is None:
        state = request.app.state.tracking = build_tracking_state(settings)
    return state


def _language(request: Request, preferred: str | None = None) -> str:
    for candidate in (request.query_params.get("lang"), preferred, *_accepted(request)):
        try:
            language = Language.parse(candidate) if candidate else None
        except ValueError:
            continue
        if language is not None and language.value in LANGUAGE_TAGS:
            return language.value
    return Language.pt_BR.value


def _accepted(request: Request) -> list[str]:
    header = request.headers.get("accept-language", "")
    return [part.split(";")[0].strip() for part in header.split(",") if part.strip()]


def _page(
    request: Request,
    state: TrackingState,
    template: str,
    language: str,
    context: dict[str, Any],
    status: int = 200,
) -> HTMLResponse:
    html = (
        state.environments[language]
        .get_template(template)
        .render(
            {
                "language": language,
                "language_tag": LANGUAGE_TAGS[language],
                "path": request.url.path,
                **context,
            }
        )
    )
    return HTMLResponse(html, status_code=status, headers=HEADERS)


def _throttled(request: Request, state: TrackingState, now: datetime) -> bool:
    """Count this request; True if the address is over its limit."""
    keys = [f"ip:{request.client.host if request.client else 'unknown'}"]
    if state.throttle.is_blocked(keys, now=now):
        return True
    state.throttle.record_failure(keys, now=now)
    return False


def _too_many(request: Request, state: TrackingState, language: str) -> HTMLResponse:
    response = _page(request, state, "tracking/message.html", language, {"kind": "rate_limited"}, status=429)
    response.headers["Retry-After"] = "60"
    return response


@router.get("/track")
def lookup_form(request: Request, app: AppDep) -> Response:
    state = _state(request, app.settings)
    language = _language(request)
    if _throttled(request, state, datetime.now(UTC)):
        return _too_many(request, state, language)
    return _page(request, state, "tracking/lookup.html", language, {"failed": False, "order_ref": ""})


@router.post("/track")
def lookup(
    request: Request,
    app: AppDep,
    order_ref: Annotated[str, Form(max_length=64)] = "",
    contact: Annotated[str, Form(max_length=254)] = "",
) -> Response:
    state = _state(request, app.settings)
    language = _language(request)
    if _throttled(request, state, datetime.now(UTC)):
        return _too_many(request, state, language)
    with app.read_session() as session:
        order_id = find_order_by_contact(session, order_ref=order_ref, contact=contact) if contact else None
    if order_id is None:
        context = {"failed": True, "order_ref": order_ref}
        return _page(request, state, "tracking/lookup.html", language, context, status=404)
    return RedirectResponse(f"/track/{state.tokens.token_for(order_id)}", status_code=303)


def _view_or_none(request: Request, app: AppDep, token: str) -> tuple[TrackingState, TrackingView | None]:
    state = _state(request, app.settings)
    order_id = state.tokens.order_id(token)
    if order_id is None:
        return state, None
    with app.read_session() as session:
        return state, find_tracking_view(session, order_id)


@router.get("/track/{token}")
def tracking_page(request: Request, app: AppDep, token: str) -> Response:
    state, view = _view_or_none(request, app, token)
    now = datetime.now(UTC)
    if _throttled(request, state, now):
        return _too_many(request, state, _language(request, view.language if view else None))
    if view is None:
        return _page(request, state, "tracking/message.html", _language(request), {"kind": "not_found"}, 404)
    language = _language(request, view.language)
    thanks = request.query_params.get("thanks") == "1"
    return _page(
        request,
        state,
        "tracking/order.html",
        language,
        _order_context(view, language, state, thanks, clock_now=app.clock.now()),
    )


@router.get("/track/{token}/offers/{offer_id}/{decision}")
def confirm_decision(
    request: Request, app: AppDep, token: str, offer_id: int, decision: Decision
) -> Response:
    """The one-click link of an offer e-mail: a page to confirm; only its POST decides (D5, U6).

    Never decided on GET: mail scanners and link previews fetch every link of a message.
    """
    state, view = _view_or_none(request, app, token)
    if _throttled(request, state, datetime.now(UTC)):
        return _too_many(request, state, _language(request, view.language if view else None))
    offer = next((o for o in view.offers if o.id == offer_id), None) if view else None
    if view is None or offer is None:
        return _page(request, state, "tracking/message.html", _language(request), {"kind": "not_found"}, 404)
    language = _language(request, view.language)
    context = {
        "offer": _offer(offer, language, _day_formatter(state, language), app.clock.now()),
        "decision": decision.value,
        "order_ref": view.order_ref,
        "back": f"/track/{token}",
    }
    return _page(request, state, "tracking/confirm.html", language, context)


@router.post("/track/{token}/offers/{offer_id}/{decision}")
def decide(request: Request, app: AppDep, token: str, offer_id: int, decision: Decision) -> Response:
    """The customer accepts or declines an offer of the order the token opens (D5, U6)."""
    state, view = _view_or_none(request, app, token)
    if _throttled(request, state, datetime.now(UTC)):
        return _too_many(request, state, _language(request))
    if request.headers.get("sec-fetch-site") == "cross-site":
        return _page(request, state, "tracking/message.html", _language(request), {"kind": "not_found"}, 403)
    if view is None:
        return _page(request, state, "tracking/message.html", _language(request), {"kind": "not_found"}, 404)
    language = _language(request, view.language)
    try:
        decide_offer(
            app.uow(),
            app.clock,
            config=incident_config(app.settings),
            order_id=view.order_id,
            offer_id=offer_id,
            decision=decision,
            channel="tracking_page",
        )
    except NotFound:
        return _page(request, state, "tracking/message.html", language, {"kind": "not_found"}, 404)
    except Conflict:
        _, fresh = _view_or_none(request, app, token)
        context = _order_context(fresh or view, language, state, thanks=False, clock_now=app.clock.now())
        context |= {"offer_error": offer_id, "path": f"/track/{token}"}
        return _page(request, state, "tracking/order.html", language, context, status=409)
    suffix = f"?lang={language}" if request.query_params.get("lang") else ""
    return RedirectResponse(f"/track/{token}{suffix}#offer-{offer_id}", status_code=303)


@router.post("/track/{token}/feedback")
def feedback(
    request: Request,
    app: AppDep,
    token: str,
    score: Annotated[int, Form()] = 0,
    comment: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    state, view = _view_or_none(request, app, token)
    if _throttled(request, state, datetime.now(UTC)):
        return _too_many(request, state, _language(request))
    if view is None:
        return _page(request, state, "tracking/message.html", _language(request), {"kind": "not_found"}, 404)
    language = _language(request, view.language)
    try:
        record_page_feedback(
            app.uow(), order_ref=view.order_ref, score=score, comment=comment, clock=app.clock
        )
    except ValidationFailed:
        context = _order_context(view, language, state, thanks=False, clock_now=app.clock.now())
        context |= {"feedback_error": True}
        return _page(request, state, "tracking/order.html", language, context, status=422)
    suffix = f"&lang={language}" if request.query_params.get("lang") else ""
    return RedirectResponse(f"/track/{token}?thanks=1{suffix}#feedback", status_code=303)


def _day_formatter(state: TrackingState, language: str) -> Callable[[datetime | None], str | None]:
    def day(moment: datetime | None) -> str | None:
        return (
            format_date(moment.astimezone(state.zone).date(), format="long", locale=language)
            if moment
            else None
        )

    return day


def _order_context(
    view: TrackingView, language: str, state: TrackingState, thanks: bool, *, clock_now: datetime
) -> dict[str, Any]:
    day = _day_formatter(state, language)

    def when(moment: datetime) -> str:
        local = moment.astimezone(state.zone)
        day_part = format_date(local.date(), "medium", locale=language)
        return f"{day_part} {format_time(local, 'short', locale=language)}"

    expected = view.expected_at or view.promised_at
    now = datetime.now(UTC)
    late = view.delivered_at is None and expected is not None and expected < now
    window_end = view.expected_until if view.expected_at and view.expected_until else None
    return {
        "expected_until": day(window_end),
        "offers": [_offer(offer, language, day, clock_now) for offer in view.offers],
        "offer_error": None,
        "order_ref": view.order_ref,
        "status": view.status,
        "reached": _reached(view),
        "progress": PROGRESS,
        "steps": [
            {
                "label": STEP_WORDS.get(s.status, STEP_WORDS["unknown"]),
                "at": when(s.at),
                "location": s.location,
                "status": s.status,
            }
            for s in view.steps
        ],
        "purchased": day(view.purchased_at),
        "expected": day(expected),
        "promised": day(view.promised_at),
        "delivered": day(view.delivered_at),
        "is_delayed": view.delay_cause is not None
        or late
        or (
            view.expected_at is not None
            and view.promised_at is not None
            and view.expected_at > view.promised_at
        ),
        "delay_reason": CAUSE_WORDS.get(view.delay_cause or "", UNKNOWN_CAUSE),
        "carrier": view.carrier,
        "email": mask_email(view.email) if view.email else None,
        "phone": mask_phone(view.phone) if view.phone else None,
        "feedback_score": view.feedback_score,
        "feedback_comment": view.feedback_comment,
        "can_rate": view.delivered_at is not None or view.status in {"delivered", "partially_delivered"},
        "thanks": thanks,
        "feedback_error": False,
    }


def _offer(offer: OfferRecord, language: str, day: Any, now: datetime) -> dict[str, Any]:
    return {
        "id": offer.id,
        "words": REMEDY_WORDS.get(offer.kind, offer.kind),
        "amount": format_currency(offer.amount_cents / 100, offer.currency, locale=language)
        if offer.amount_cents
        else None,
        "status": effective_status(offer.status, offer.expires_at, now).value,
        "expires": day(offer.expires_at),
    }


def _reached(view: TrackingView) -> int:
    """How far along the progress bar the order is (0 ordered … 3 delivered)."""
    if view.delivered_at is not None or view.status in {"delivered", "partially_delivered"}:
        return 3
    if view.steps and view.steps[0].status == "out_for_delivery":
        return 2
    return 1 if view.steps or view.status in {"shipped", "undeliverable"} else 0
