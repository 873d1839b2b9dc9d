"""Staff sign-in, sign-out and the language switch (D13).

``POST /login`` is throttled per username and per client address (see ``LoginThrottle``) and
answers "wrong username or password" alike for unknown users, inactive users and bad passwords.
``POST /language`` works signed in or not; when signed in it also remembers the choice on the
account (``users.language``) for the next session.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Form, Request, Response
from fastapi.responses import RedirectResponse

from orderwatch.adapters.db.users import SqlUsers
from orderwatch.adapters.security.passwords import hash_password, needs_rehash, verify_password
from orderwatch.entrypoints.api.deps import AppDep
from orderwatch.entrypoints.web.rendering import STAFF_LANGUAGES, render, web_state
from orderwatch.entrypoints.web.routing import web_router
from orderwatch.entrypoints.web.security import (
    SESSION_LANGUAGE,
    safe_next,
    signed_in_user,
    start_session,
)

router = web_router()


def _login_page(
    request: Request, *, next_path: str, error: str | None, username: str = "", status: int = 200
) -> Response:
    context = {"next": safe_next(next_path), "error": error, "username": username}
    return render(request, "login.html", context, status_code=status)


@router.get("/login")
def login_form(request: Request, next: str = "/") -> Response:
    if signed_in_user(request) is not None:
        return RedirectResponse(safe_next(next), status_code=303)
    return _login_page(request, next_path=next, error=None)


@router.post("/login")
def login(
    request: Request,
    application: AppDep,
    username: Annotated[str, Form(max_length=200)] = "",
    password: Annotated[str, Form(max_length=1000)] = "",
    next: Annotated[str, Form()] = "/",
) -> Response:
    throttle = web_state(request).throttle
    now = application.clock.now()
    address = request.client.host if request.client else "unknown"
    keys = throttle.keys(username, address)
    if throttle.is_blocked(keys, now=now):
        # Checked before the password so that a blocked attacker learns nothing, even when right.
        return _login_page(request, next_path=next, error="throttled", username=username, status=429)
    with application.read_session() as session:
        user = SqlUsers(session).find_by_username(username)
    known = user is not None and user.is_active
    if user is None or not verify_password(user.password_hash if known else None, password):
        throttle.record_failure(keys, now=now)
        return _login_page(request, next_path=next, error="invalid", username=username, status=401)
    throttle.reset(keys[0])
    if needs_rehash(user.password_hash):
        with application.session_factory() as session, session.begin():
            SqlUsers(session).set_password_hash(user.username, hash_password(password))
    start_session(request.session, user)
    return RedirectResponse(safe_next(next), status_code=303)


@router.post("/logout")
def logout(request: Request) -> Response:
    request.session.clear()
    return RedirectResponse("/login", status_code=303)


@router.post("/language")
def switch_language(
    request: Request,
    application: AppDep,
    language: Annotated[str, Form()],
    next: Annotated[str, Form()] = "/",
) -> Response:
    if language in STAFF_LANGUAGES:
        request.session[SESSION_LANGUAGE] = language
        user = signed_in_user(request)
        if user is not None and user.language != language:
            with application.session_factory() as session, session.begin():
                SqlUsers(session).set_language(user.id, language)
    return RedirectResponse(safe_next(next), status_code=303)
