"""Who is calling the API, and may they do this (D1, D13).

Every route names the permission it needs through an ``Annotated`` alias (``OrdersRead``,
``EventsWrite`` ...). The caller becomes a :class:`Principal` by asking each source in
:data:`PRINCIPAL_SOURCES` in turn::

    request ──▶ api_key_principal ──▶ (later: the staff web session) ──▶ none: 401
                     │ found
                     ▼
               Principal(name, permissions) ──lacks the permission──▶ 403 naming the scope

A source returns ``None`` when its credentials are absent and raises
:class:`AuthenticationFailed` when they are present but wrong, so a bad API key is never
silently replaced by another identity. The staff web session (entrypoints/web) adds its own
source with the role's permissions from ``domain.roles.ROLE_PERMISSIONS``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import APIKeyHeader, HTTPBearer

from orderwatch.adapters.db.api_keys import ApiKeyRegistry
from orderwatch.bootstrap import App
from orderwatch.domain.errors import AuthenticationFailed, PermissionDenied
from orderwatch.domain.roles import Permission
from orderwatch.entrypoints.api.deps import get_app

API_KEY_HEADER = "X-API-Key"


@dataclass(frozen=True, slots=True)
class Principal:
    """An authenticated caller: ``name`` keys idempotency records and shows in logs."""

    name: str
    permissions: frozenset[Permission]


PrincipalSource = Callable[[Request, App], Principal | None]


def api_key_registry(request: Request, application: App) -> ApiKeyRegistry:
    """The process's key registry, created on first use and kept on the ASGI app's state."""
    registry: ApiKeyRegistry | None = getattr(request.app.state, "api_keys", None)
    if registry is None:
        registry = ApiKeyRegistry(application.session_factory, clock=application.clock)
        request.app.state.api_keys = registry
    return registry


def presented_api_key(request: Request) -> str | None:
    """The key from ``Authorization: Bearer ow_...`` or ``X-API-Key``, if either is given."""
    header = request.headers.get(API_KEY_HEADER)
    if header:
        return header.strip()
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    # Other schemes (Basic, a session token) belong to other principal sources.
    if scheme.lower() == "bearer" and token.strip().startswith("ow_"):
        return token.strip()
    return None


def api_key_principal(request: Request, application: App) -> Principal | None:
    """The integration that owns the presented API key."""
    key = presented_api_key(request)
    if key is None:
        return None
    info = api_key_registry(request, application).verify(key)
    return Principal(name=f"api_key:{info.prefix}", permissions=info.scopes)


PRINCIPAL_SOURCES: tuple[PrincipalSource, ...] = (api_key_principal,)


def authenticate(request: Request, application: App) -> Principal:
    """The caller of this request, found once and remembered on the request."""
    known: Principal | None = getattr(request.state, "principal", None)
    if known is not None:
        return known
    for source in PRINCIPAL_SOURCES:
        principal = source(request, application)
        if principal is not None:
            request.state.principal = principal
            return principal
    raise AuthenticationFailed(
        f"no credentials: send 'Authorization: Bearer ow_...' or '{API_KEY_HEADER}: ow_...'"
    )


# Declared for the OpenAPI page only (the "Authorize" button); auto_error=False leaves the
# checking, and the error shape, to ``authenticate``.
_bearer_scheme = HTTPBearer(auto_error=False, description="Authorization: Bearer ow_<prefix>_<secret>")
_header_scheme = APIKeyHeader(name=API_KEY_HEADER, auto_error=False, description="The same key in a header")


def require(permission: Permission) -> Callable[..., Principal]:
    """A dependency that admits callers holding ``permission``."""

    def dependency(
        request: Request,
        application: Annotated[App, Depends(get_app)],
        _bearer: Annotated[object, Depends(_bearer_scheme)],
        _header: Annotated[object, Depends(_header_scheme)],
    ) -> Principal:
        principal = authenticate(request, application)
        if permission not in principal.permissions:
            raise PermissionDenied(f"{principal.name} lacks the scope {permission.value!r}")
        return principal

    dependency.__name__ = f"require_{permission.name}"
    return dependency


OrdersRead = Annotated[Principal, Depends(require(Permission.orders_read))]
OrdersWrite = Annotated[Principal, Depends(require(Permission.orders_write))]
ShipmentsWrite = Annotated[Principal, Depends(require(Permission.shipments_write))]
EventsWrite = Annotated[Principal, Depends(require(Permission.events_write))]
RejectsRead = Annotated[Principal, Depends(require(Permission.rejects_read))]
