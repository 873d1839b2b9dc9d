"""Sign-in state, permissions, CSRF and login throttling for the staff web app (D13).

The session is a cookie signed with ``settings.secret_key`` (Starlette ``SessionMiddleware``)
holding only the user id, the page language and the CSRF token. The account is re-read on
every page, so a deactivation or role change takes effect on the next click.

    request ──▶ check_csrf (every POST/PUT/PATCH/DELETE) ──▶ current_user ──▶ require(permission)
                    │ mismatch: 403                         │ none: → /login?next=…     │ lacking: 403

Pages check a :class:`~orderwatch.domain.roles.Permission`, never a role name; the role's
permissions come only from ``ROLE_PERMISSIONS``.
"""

from __future__ import annotations

import secrets
import threading
from collections import deque
from collections.abc import Iterable, MutableMapping
from datetime import datetime, timedelta
from typing import Annotated, Any
from urllib.parse import urlsplit

from fastapi import Depends, Request

from orderwatch.adapters.db.users import SqlUsers, UserRecord
from orderwatch.bootstrap import App
from orderwatch.domain.roles import ROLE_PERMISSIONS, Permission, Role

SESSION_COOKIE = "orderwatch_session"
SESSION_MAX_AGE = 12 * 3600  # one working shift; the cookie is renewed on every response
SESSION_USER = "user_id"
SESSION_LANGUAGE = "language"
SESSION_CSRF = "csrf_token"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "X-CSRF-Token"
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


class LoginRequired(Exception):
    """No signed-in, active user; the page redirects to the login form."""


class Forbidden(Exception):
    """The signed-in user lacks ``permission`` (or the CSRF token did not match)."""

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(reason)


# ------------------------------------------------------------------ CSRF


def csrf_token(session: MutableMapping[str, Any]) -> str:
    """This session's CSRF token, created on first use (one per session, not per form)."""
    token = session.get(SESSION_CSRF)
    if not isinstance(token, str) or not token:
        token = secrets.token_urlsafe(32)
        session[SESSION_CSRF] = token
    return token


async def check_csrf(request: Request) -> None:
    """Refuse an unsafe request whose token (form field or HTMX header) is not the session's.

    SameSite=Lax cookies already stop most cross-site posts; the token also covers older
    browsers and same-site subdomains.
    """
    if request.method not in UNSAFE_METHODS:
        return
    expected = request.session.get(SESSION_CSRF)
    supplied = request.headers.get(CSRF_HEADER)
    if supplied is None:
        form = await request.form()
        value = form.get(CSRF_FIELD)
        supplied = value if isinstance(value, str) else None
    if not isinstance(expected, str) or not supplied or not secrets.compare_digest(expected, supplied):
        raise Forbidden("csrf")


# ------------------------------------------------------------------ redirects


def safe_next(target: str | None) -> str:
    """``target`` if it is a path on this site, else ``/`` (no open redirects via ``next``)."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    if any(ord(character) < 32 for character in target):
        return "/"
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return "/"
    return target


def requested_path(request: Request) -> str:
    """The path and query of ``request``, for ``next=`` after login."""
    query = request.url.query
    return request.url.path + (f"?{query}" if query else "")


# ------------------------------------------------------------------ users and permissions


def permissions_of(user: UserRecord) -> frozenset[Permission]:
    """What ``user`` may do; a role name the code no longer knows grants nothing."""
    try:
        role = Role(user.role)
    except ValueError:
        return frozenset()
    return ROLE_PERMISSIONS.get(role, frozenset())


def _application(request: Request) -> App:
    application: App = request.app.state.orderwatch
    return application


def signed_in_user(request: Request) -> UserRecord | None:
    """The active user of this session, or ``None`` (a stale session is cleared)."""
    user_id = request.session.get(SESSION_USER)
    if not isinstance(user_id, int):
        return None
    with _application(request).read_session() as session:
        user = SqlUsers(session).find_by_id(user_id)
    if user is None or not user.is_active:
        request.session.pop(SESSION_USER, None)
        return None
    request.state.user = user
    return user


def current_user(request: Request) -> UserRecord:
    """Dependency: the signed-in user, or :class:`LoginRequired`."""
    user = signed_in_user(request)
    if user is None:
        raise LoginRequired
    return user


def require(permission: Permission) -> Any:
    """Dependency marker: the signed-in user, who must hold ``permission`` (else 403)."""

    def dependency(user: Annotated[UserRecord, Depends(current_user)]) -> UserRecord:
        if permission not in permissions_of(user):
            raise Forbidden(permission.value)
        return user

    return Depends(dependency)


def start_session(session: MutableMapping[str, Any], user: UserRecord) -> None:
    """Sign ``user`` in: a fresh session (no fixation) with their language and a new token."""
    session.clear()
    session[SESSION_USER] = user.id
    session[SESSION_LANGUAGE] = user.language
    session[SESSION_CSRF] = secrets.token_urlsafe(32)


# ------------------------------------------------------------------ login throttling


class LoginThrottle:
    """Counts failed logins per key in a sliding window, in memory (one process).

    Keys are ``user:<name>`` (guessing one account's password from many addresses) and
    ``ip:<address>`` (trying one password on many accounts). The per-address limit is higher
    because a whole office may sit behind one address. A restart forgets the counts, which is
    acceptable for a window of minutes; several server processes would need a shared store.
    """

    def __init__(
        self, *, per_user: int = 10, per_address: int = 30, window: timedelta = timedelta(minutes=5)
    ) -> None:
        self.per_user = per_user
        self.per_address = per_address
        self.window = window
        self._failures: dict[str, deque[datetime]] = {}
        self._lock = threading.Lock()

    @staticmethod
    def keys(username: str, address: str) -> tuple[str, str]:
        return (f"user:{username.strip().lower()}", f"ip:{address}")

    def _limit(self, key: str) -> int:
        return self.per_user if key.startswith("user:") else self.per_address

    def _recent(self, key: str, now: datetime) -> deque[datetime]:
        failures = self._failures.setdefault(key, deque())
        while failures and now - failures[0] >= self.window:
            failures.popleft()
        return failures

    def is_blocked(self, keys: Iterable[str], *, now: datetime) -> bool:
        with self._lock:
            return any(len(self._recent(key, now)) >= self._limit(key) for key in keys)

    def record_failure(self, keys: Iterable[str], *, now: datetime) -> None:
        with self._lock:
            for key in keys:
                self._recent(key, now).append(now)
            self._forget_idle(now)

    def reset(self, key: str) -> None:
        """Forget ``key``'s failures (after that account signs in successfully)."""
        with self._lock:
            self._failures.pop(key, None)

    def _forget_idle(self, now: datetime) -> None:
        # Bounds memory under a spray of random usernames: drop keys with no recent failure.
        if len(self._failures) < 10_000:
            return
        for key in [k for k, v in self._failures.items() if not v or now - v[-1] >= self.window]:
            del self._failures[key]
