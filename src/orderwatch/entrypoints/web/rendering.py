"""Jinja2 rendering for the staff pages, one environment per language (D13, U11).

Each staff language gets its own :class:`jinja2.Environment` with that language's catalog
installed through the ``i18n`` extension (``_()``, ``ngettext``, ``{% trans %}``). Installing a
catalog changes an environment's globals, so sharing one environment between requests in
different languages would race; two small environments built at start-up do not.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from orderwatch.domain.types import Language
from orderwatch.entrypoints.web import choices
from orderwatch.entrypoints.web.formatting import Formatter
from orderwatch.entrypoints.web.security import (
    SESSION_LANGUAGE,
    LoginThrottle,
    csrf_token,
    permissions_of,
    requested_path,
)
from orderwatch.i18n import load_translations
from orderwatch.settings import Settings

WEB_DIR = Path(__file__).resolve().parent
TEMPLATE_DIR = WEB_DIR / "templates"
STATIC_DIR = WEB_DIR / "static"
STAFF_LANGUAGES: Mapping[str, str] = {Language.zh_CN.value: "中文", Language.en.value: "English"}
# BCP 47 tags for <html lang>, which screen readers and CJK font selection rely on.
LANGUAGE_TAGS: Mapping[str, str] = {Language.zh_CN.value: "zh-CN", Language.en.value: "en"}

SECURITY_HEADERS: Mapping[str, str] = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "frame-ancestors 'none'; form-action 'self'; base-uri 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    # Pages carry customer data: never keep them in shared or back-button caches.
    "Cache-Control": "no-store",
    "Vary": "Cookie, HX-Request",
}


def _environment(language: str) -> Environment:
    environment = Environment(
        loader=FileSystemLoader(TEMPLATE_DIR),
        autoescape=select_autoescape(["html"]),
        undefined=StrictUndefined,
        extensions=["jinja2.ext.i18n"],
        trim_blocks=True,
        lstrip_blocks=True,
    )
    environment.install_gettext_translations(load_translations(language), newstyle=True)  # type: ignore[attr-defined]
    environment.globals.update(
        choice=choices.choice,
        ORDER_STATUS=choices.ORDER_STATUS,
        SHIPMENT_STATUS=choices.SHIPMENT_STATUS,
        MILESTONE=choices.MILESTONE,
        LATENESS=choices.LATENESS,
        ATTENTION=choices.ATTENTION,
        ROLE=choices.ROLE,
        STAFF_LANGUAGES=STAFF_LANGUAGES,
    )
    return environment


@lru_cache(maxsize=len(STAFF_LANGUAGES))
def environment(language: str) -> Environment:
    """A template environment of ``language`` for documents rendered outside a request (reports)."""
    return _environment(language)


@dataclass
class WebState:
    """What the web pages share for the life of the process."""

    default_language: str
    timezone: ZoneInfo
    throttle: LoginThrottle = field(default_factory=LoginThrottle)
    environments: dict[str, Environment] = field(default_factory=dict)


def build_web_state(settings: Settings) -> WebState:
    """Template environments per staff language, the login throttle, the display zone."""
    default = Language.parse(settings.default_language).value
    if default not in STAFF_LANGUAGES:
        default = Language.zh_CN.value
    return WebState(
        default_language=default,
        timezone=ZoneInfo(settings.shop_timezone),
        environments={language: _environment(language) for language in STAFF_LANGUAGES},
    )


def web_state(request: Request) -> WebState:
    state: WebState = request.app.state.web
    return state


def page_language(request: Request) -> str:
    """The session's language when it is a staff language, else the configured default."""
    chosen = request.session.get(SESSION_LANGUAGE)
    if isinstance(chosen, str) and chosen in STAFF_LANGUAGES:
        return chosen
    return web_state(request).default_language


def is_htmx(request: Request) -> bool:
    """An HTMX swap (not a history restore, which needs the whole page)."""
    return request.headers.get("HX-Request") == "true" and "HX-History-Restore-Request" not in request.headers


def render(
    request: Request,
    template: str,
    context: Mapping[str, Any] | None = None,
    *,
    status_code: int = 200,
) -> HTMLResponse:
    """Render ``template`` in the page language with the layout's shared context."""
    state = web_state(request)
    language = page_language(request)
    user = getattr(request.state, "user", None)
    permissions = {p.value for p in permissions_of(user)} if user is not None else set()
    shared = {
        "request": request,
        "user": user,
        "can": permissions.__contains__,
        "language": language,
        "language_tag": LANGUAGE_TAGS[language],
        "csrf_token": csrf_token(request.session),
        "current_path": requested_path(request),
        "fmt": Formatter(locale=language, timezone=state.timezone),
        "timezone_name": state.timezone.key,
    }
    html = state.environments[language].get_template(template).render({**shared, **(context or {})})
    return HTMLResponse(html, status_code=status_code, headers=dict(SECURITY_HEADERS))
