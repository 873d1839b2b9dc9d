"""The FastAPI application: JSON API, webhooks, staff web pages and static assets in one process."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles
from starlette.middleware.sessions import SessionMiddleware

from orderwatch import __version__
from orderwatch.bootstrap import App, build_app
from orderwatch.entrypoints.api.errors import install_error_handlers
from orderwatch.entrypoints.api.routers import (
    events,
    incident_ledger,
    incidents,
    orders,
    rejects,
    risk_flags,
    shipments,
    webhooks,
)
from orderwatch.entrypoints.web.rendering import STATIC_DIR, build_web_state
from orderwatch.entrypoints.web.routes import auth as web_auth
from orderwatch.entrypoints.web.routes import home as web_home
from orderwatch.entrypoints.web.routes import incident_ledger as web_incident_ledger
from orderwatch.entrypoints.web.routes import incident_reports as web_incident_reports
from orderwatch.entrypoints.web.routes import incidents as web_incidents
from orderwatch.entrypoints.web.routes import models as web_models
from orderwatch.entrypoints.web.routes import notifications as web_notifications
from orderwatch.entrypoints.web.routes import orders as web_orders
from orderwatch.entrypoints.web.routes import risk as web_risk
from orderwatch.entrypoints.web.routes import tracking as web_tracking
from orderwatch.entrypoints.web.security import SESSION_COOKIE, SESSION_MAX_AGE

API_PREFIX = "/api/v1"
# Tag descriptions on the OpenAPI page (tags without an entry show their name only).
OPENAPI_TAGS = [
    {"name": "incidents", "description": "Undelivered, lost and damaged orders as cases (U3–U9, U11, U14)."},
    {
        "name": "incident compensation and claims",
        "description": "The compensation ledger and carrier claims of a case (U6, U7, D5). Scopes "
        "incidents:compensate, incidents:approve, incidents:claims; without incidents:approve "
        "an API key's compensation always waits for approval.",
    },
]


def create_app(application: App | None = None) -> FastAPI:
    """Build the ASGI app around ``application`` (the environment's when omitted)."""
    application = application or build_app()
    api = FastAPI(
        title="OrderWatch",
        version=__version__,
        description="Orders, shipments and tracking events from shops and carriers (D1).",
        openapi_tags=OPENAPI_TAGS,
        # Bodies are read into memory (signatures cover the raw bytes): bound them at the door.
        max_body_size=application.settings.max_body_bytes,
    )
    api.state.orderwatch = application
    install_error_handlers(api)

    # Staff web app: signed session cookie, per-language templates, own CSS and npm-built assets.
    settings = application.settings
    api.state.web = build_web_state(settings)
    api.add_middleware(
        SessionMiddleware,
        secret_key=settings.secret_key,
        session_cookie=SESSION_COOKIE,
        max_age=SESSION_MAX_AGE,
        same_site="lax",
        https_only=settings.environment == "production",
    )
    api.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    # check_dir=False: the API must start even before `./dev setup` has installed the assets.
    api.mount("/assets", StaticFiles(directory=settings.assets_dir, check_dir=False), name="assets")

    api.include_router(orders.router, prefix=f"{API_PREFIX}/orders", tags=["orders"])
    api.include_router(shipments.router, prefix=f"{API_PREFIX}/shipments", tags=["shipments"])
    api.include_router(events.router, prefix=f"{API_PREFIX}/events", tags=["tracking events"])
    api.include_router(rejects.router, prefix=f"{API_PREFIX}/rejects", tags=["rejected items"])
    api.include_router(incidents.router, prefix=f"{API_PREFIX}/incidents", tags=["incidents"])
    api.include_router(
        incident_ledger.router, prefix=f"{API_PREFIX}/incidents", tags=["incident compensation and claims"]
    )
    api.include_router(risk_flags.router, prefix=f"{API_PREFIX}/risk-flags", tags=["risk flags"])
    api.include_router(webhooks.router, prefix=f"{API_PREFIX}/webhooks", tags=["carrier webhooks"])
    api.include_router(web_auth.router, include_in_schema=False)
    api.include_router(web_home.router, include_in_schema=False)
    api.include_router(web_orders.router, include_in_schema=False)
    api.include_router(web_risk.router, include_in_schema=False)
    api.include_router(web_incident_reports.router, include_in_schema=False)  # before /incidents/{ref}
    api.include_router(web_incident_ledger.router, include_in_schema=False)
    api.include_router(web_models.router, include_in_schema=False)
    api.include_router(web_incidents.router, include_in_schema=False)
    api.include_router(web_tracking.router, include_in_schema=False)
    api.include_router(web_notifications.router, include_in_schema=False)

    @api.get("/healthz", include_in_schema=False)
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    return api
