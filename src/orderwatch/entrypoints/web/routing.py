"""The route class of the staff web app: CSRF on every router, errors as pages (D13).

Web routers are made with :func:`web_router`, which attaches :func:`check_csrf` to every route
and turns the web's own exceptions into what a browser needs: a redirect to the login form, or
a translated 403/404 page, instead of the API's JSON errors.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import RedirectResponse
from fastapi.routing import APIRoute
from starlette.concurrency import run_in_threadpool

from orderwatch.domain.errors import NotFound
from orderwatch.entrypoints.web.rendering import is_htmx, render
from orderwatch.entrypoints.web.security import (
    Forbidden,
    LoginRequired,
    check_csrf,
    requested_path,
    signed_in_user,
)


def login_redirect(request: Request) -> Response:
    """Send the browser to the login form, coming back here (GET) or home (other methods)."""
    target = requested_path(request) if request.method == "GET" else "/"
    url = "/login?" + urlencode({"next": target}) if target != "/" else "/login"
    if is_htmx(request):
        # A plain redirect would be swapped into the page fragment; ask HTMX to navigate instead.
        return Response(status_code=204, headers={"HX-Redirect": url})
    return RedirectResponse(url, status_code=303)


class WebRoute(APIRoute):
    """An ``APIRoute`` whose handler renders web exceptions as pages."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def guarded(request: Request) -> Response:
            try:
                return await handler(request)
            except LoginRequired:
                return login_redirect(request)
            except Forbidden as error:
                if getattr(request.state, "user", None) is None:
                    # Load the user (a DB read, off the event loop) so the error page has its header.
                    await run_in_threadpool(signed_in_user, request)
                return render(request, "error.html", {"status": 403, "reason": error.reason}, status_code=403)
            except NotFound as error:
                context = {"status": 404, "reason": f"{error.kind} {error.reference}"}
                return render(request, "error.html", context, status_code=404)

        return guarded


def web_router() -> APIRouter:
    """A router for staff pages: CSRF-checked, errors rendered as pages."""
    return APIRouter(route_class=WebRoute, dependencies=[Depends(check_csrf)])
