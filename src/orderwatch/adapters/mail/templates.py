"""Customer message templates per event and language (zh_CN, en, pt_BR) with Babel (D4, D5, D6).

The wording of each event is a pair of English source strings (subject, body) below, translated
in ``i18n/<language>/LC_MESSAGES/customer.po``; the layout is one Jinja2 template per format
(``templates/message.txt`` and ``message.html``) that every event shares. Dates are written with
Babel in the customer's language and the shop's time zone. Staff preview these on the
``/notifications/preview`` page.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from babel.dates import format_date
from babel.numbers import format_currency
from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import escape

from orderwatch.i18n import N_, load_translations
from orderwatch.services.ports import Rendered

CATALOG = "customer"
TEMPLATE_DIR = Path(__file__).resolve().parent / "templates"

# event → (subject, body); %(order_ref)s, %(expected)s, %(cause)s, %(remedy)s are filled in.
WORDING: Mapping[str, tuple[str, str]] = {
    "order_confirmed": (
        N_("Your order %(order_ref)s is confirmed"),
        N_("Thank you! We have received your payment and are preparing order %(order_ref)s."),
    ),
    "shipped": (
        N_("Your order %(order_ref)s is on its way"),
        N_("Your order %(order_ref)s has left our warehouse and is with the carrier."),
    ),
    "out_for_delivery": (
        N_("Your order %(order_ref)s arrives today"),
        N_("Your order %(order_ref)s is out for delivery today. Please make sure someone can receive it."),
    ),
    "delivered": (
        N_("Your order %(order_ref)s was delivered"),
        N_("Your order %(order_ref)s was delivered. We hope you enjoy it."),
    ),
    "delay_risk": (
        N_("Your order %(order_ref)s may arrive late"),
        N_(
            "Your order %(order_ref)s may arrive later than promised: %(cause)s. "
            "We now expect it by %(expected)s and are watching it closely."
        ),
    ),
    "delay_confirmed": (
        N_("Your order %(order_ref)s is late"),
        N_(
            "We are sorry: your order %(order_ref)s is late because of %(cause)s. "
            "We now expect it by %(expected)s."
        ),
    ),
    "incident_opened": (
        N_("We are looking into your order %(order_ref)s"),
        N_(
            "Something went wrong with the delivery of order %(order_ref)s (%(cause)s). "
            "A member of our team is on it and will keep you informed."
        ),
    ),
    "incident_updated": (
        N_("News about your order %(order_ref)s"),
        N_("There is news about the problem with your order %(order_ref)s. See the details below."),
    ),
    "incident_resolved": (
        N_("The problem with your order %(order_ref)s is solved"),
        N_("The problem with your order %(order_ref)s is solved. Thank you for your patience."),
    ),
    "remedy_offered": (
        N_("An offer for your order %(order_ref)s"),
        N_(
            "We are sorry about order %(order_ref)s. We would like to offer you: %(remedy)s. "
            "You can accept or decline it on the page below."
        ),
    ),
    "remedy_expired": (
        N_("Your offer for order %(order_ref)s has expired"),
        N_(
            "The offer we made you for order %(order_ref)s has expired without an answer: %(remedy)s. "
            "If you still need help with this order, contact our customer service and we will sort it out."
        ),
    ),
    "feedback_request": (
        N_("How did we do with order %(order_ref)s?"),
        N_("Please tell us how satisfied you are with order %(order_ref)s: it takes ten seconds."),
    ),
}

# Plain words for causes (U1) and remedies (D5) in customer messages and the tracking page.
CAUSE_WORDS: Mapping[str, str] = {
    "logistics_delay": N_("a delay at the carrier"),
    "wrong_address": N_("a problem with the delivery address"),
    "lost_parcel": N_("the parcel was lost by the carrier"),
    "damaged_parcel": N_("the parcel was damaged"),
    "system_failure": N_("a problem on our side"),
    "supplier_delay": N_("a delay at our supplier"),
    "refused": N_("the parcel was refused"),
    "customs": N_("customs checks"),
    "weather": N_("bad weather"),
    "recipient_unreachable": N_("nobody could receive the parcel"),
}
UNKNOWN_CAUSE = N_("an unexpected delay")
REMEDY_WORDS: Mapping[str, str] = {
    "refund": N_("a refund"),
    "coupon": N_("a discount coupon for your next order"),
    "reshipment": N_("a free reshipment"),
    # The offer kinds of the remedy policy (domain/remedies.py ``Offer``).
    "apology": N_("an apology"),
    "partial_refund": N_("a partial refund"),
    "full_refund": N_("a full refund"),
    "free_reshipment": N_("a free reshipment"),
    "redelivery": N_("a new delivery attempt"),
}
WINDOW = N_("Expected delivery window: %(start)s to %(end)s.")


def remedy_words(context: Mapping[str, Any], language: str, gettext: Any) -> str:
    """The remedy in plain words, with its value when it has one ("a partial refund (R$ 25,98)")."""
    kind = str(context.get("remedy") or "")
    words = str(gettext(REMEDY_WORDS[kind])) if kind in REMEDY_WORDS else kind
    amount = context.get("amount_cents")
    if isinstance(amount, int) and amount > 0 and context.get("currency"):
        value = format_currency(amount / 100, str(context["currency"]), locale=language)
        words = f"{words} ({value})"
    return words


def _decision_links(event: str, tracking_url: str, offer_id: object) -> dict[str, str]:
    """One-click links of an offer e-mail: each opens a confirmation page on ``/track`` (D5).

    The tracking token in the link is the authority (``entrypoints/web/routes/tracking.py``);
    the link only shows a page, so a mail scanner that follows it decides nothing.
    """
    if event != "remedy_offered" or not tracking_url or not isinstance(offer_id, int):
        return {"accept_url": "", "decline_url": ""}
    base = f"{tracking_url}/offers/{offer_id}"
    return {"accept_url": f"{base}/accept", "decline_url": f"{base}/decline"}


# Per-message values of the layout: markers no text contains (NUL), replaced after rendering.
_SLOTS = {
    name: f"\x00{name}\x00" for name in ("subject", "body", "tracking_url", "accept_url", "decline_url")
}


class TemplateRenderer:
    """Renders a message for an event in a language; implements ``services.ports.MessageRenderer``."""

    def __init__(self, *, shop_name: str = "OrderWatch Shop", timezone: str = "America/Sao_Paulo") -> None:
        self.shop_name = shop_name
        self.zone = ZoneInfo(timezone)
        self._skeletons: dict[tuple[str, str, bool, bool], tuple[str, str]] = {}

    def _skeleton(
        self, language: str, event: str, has_link: bool, translations: Any, *, has_offer: bool = False
    ) -> tuple[str, str]:
        """The (text, HTML) layout of one event and language rendered once, with slot markers.

        The layout's own words are the same in every message of a language; rendering the
        Jinja templates for each message cost more than everything else the planner does, so
        they are rendered once per (language, event, link or not) and each message fills the
        slots (HTML-escaped in the HTML part, as autoescape would).
        """
        key = (language, event, has_link, has_offer)
        skeleton = self._skeletons.get(key)
        if skeleton is None:
            env = Environment(
                loader=FileSystemLoader(TEMPLATE_DIR),
                autoescape=select_autoescape(["html"]),
                extensions=["jinja2.ext.i18n"],
                keep_trailing_newline=True,
            )
            env.install_gettext_translations(translations, newstyle=True)  # type: ignore[attr-defined]
            page = {slot: marker for slot, marker in _SLOTS.items()}
            page |= {"tracking_url": _SLOTS["tracking_url"] if has_link else "", "language": language}
            if not has_offer:
                page |= {"accept_url": "", "decline_url": ""}
            page |= {"event": event, "shop_name": self.shop_name}
            text = env.get_template("message.txt").render(page)
            html = env.get_template("message.html").render(page)
            skeleton = self._skeletons[key] = (text, html)
        return skeleton

    def render(self, event: str, language: str, context: Mapping[str, Any]) -> Rendered:
        if event not in WORDING:
            raise ValueError(f"no template for event {event!r}; expected one of {', '.join(WORDING)}")
        translations = load_translations(language, CATALOG)
        gettext = translations.gettext
        values = {
            "order_ref": context.get("order_ref") or "",
            "expected": self._date(context.get("expected_at"), language, gettext),
            "cause": gettext(CAUSE_WORDS.get(str(context.get("cause")), UNKNOWN_CAUSE)),
            "remedy": remedy_words(context, language, gettext),
        }
        subject_id, body_id = WORDING[event]
        body = gettext(body_id) % values
        if context.get("expected_until") and context.get("expected_at"):
            window = {
                "start": self._date(context["expected_at"], language, gettext),
                "end": self._date(context["expected_until"], language, gettext),
            }
            body = f"{body} {gettext(WINDOW) % window}"
        link = str(context.get("tracking_url") or "")
        page = {
            "subject": gettext(subject_id) % values,
            "body": body,
            "tracking_url": link,
            **_decision_links(event, link, context.get("offer_id")),
        }
        text, html = self._skeleton(
            language, event, bool(link), translations, has_offer=bool(page["accept_url"])
        )
        for slot, marker in _SLOTS.items():
            text = text.replace(marker, str(page[slot]))
            html = html.replace(marker, str(escape(page[slot])))
        return Rendered(subject=page["subject"], text=text, html=html)

    def _date(self, value: object, language: str, gettext: Any) -> str:
        if not value:
            return str(gettext("a new date we will tell you soon"))
        moment = datetime.fromisoformat(str(value)).astimezone(self.zone)
        return format_date(moment.date(), format="long", locale=language)
