"""Inbound webhook secrets (D1; ANCHORS §5 item 12): add, list, retire, with a short cache.

Rotation: at most two secrets are active per source. Adding a third retires the oldest active one,
so the usual rotation is "add the new secret, switch the sender over, retire the old one" with
both verifying in between. Retired rows are kept (never deleted) so the history stays readable.

The webhook hot path reads :meth:`WebhookSecretStore.active_secrets`, cached per process for
``cache_seconds`` on a monotonic timer: no database read per request. A change made through the
same store clears its cache at once; one made by another process (the CLI) is seen within
``cache_seconds``.

Secrets are credentials, not a business use case, so this store opens its own short
transactions (as adapters/db/api_keys.py does) instead of going through a service.
"""

from __future__ import annotations

import secrets as secrets_module
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from orderwatch.adapters.db.tables import WebhookSecretRow
from orderwatch.adapters.ttl_cache import TtlCache
from orderwatch.adapters.webhooks.signatures import WebhookSource
from orderwatch.domain.errors import NotFound, ValidationFailed
from orderwatch.services.ports import Clock

MAX_ACTIVE_PER_SOURCE = 2
MIN_SECRET_LENGTH = 8
MAX_SECRET_LENGTH = 256
DEFAULT_CACHE_SECONDS = 5.0


@dataclass(frozen=True, slots=True)
class WebhookSecretInfo:
    """A stored secret as the CLI shows it: the secret itself only as a short hint."""

    id: int
    source: str
    hint: str
    created_at: datetime
    retired_at: datetime | None

    @property
    def is_active(self) -> bool:
        return self.retired_at is None


def parse_source(value: str) -> WebhookSource:
    """A source by its name; an unknown one is an error naming the known ones."""
    try:
        return WebhookSource(value)
    except ValueError:
        known = ", ".join(s.value for s in WebhookSource)
        raise ValidationFailed("source", f"unknown webhook source; expected one of {known}", value) from None


def check_secret(secret: str) -> None:
    """Raise :class:`ValidationFailed` for a secret that cannot be stored as given."""
    if secret != secret.strip():
        raise ValidationFailed("secret", "must not start or end with whitespace")
    if not MIN_SECRET_LENGTH <= len(secret) <= MAX_SECRET_LENGTH:
        limits = f"{MIN_SECRET_LENGTH} to {MAX_SECRET_LENGTH}"
        raise ValidationFailed("secret", f"must be {limits} characters long", f"{len(secret)} characters")


def _info(row: WebhookSecretRow) -> WebhookSecretInfo:
    return WebhookSecretInfo(
        id=row.id,
        source=row.source,
        hint=f"{row.secret[:4]}…",
        created_at=row.created_at,
        retired_at=row.retired_at,
    )


class WebhookSecretStore:
    """The webhook secrets of one database, with a per-process cache of the active ones."""

    def __init__(
        self,
        session_factory: sessionmaker[Session],
        *,
        clock: Clock,
        cache_seconds: float = DEFAULT_CACHE_SECONDS,
        timer: Callable[[], float] = time.monotonic,
    ) -> None:
        self._session_factory = session_factory
        self._clock = clock
        self._cache: TtlCache[WebhookSource, tuple[str, ...]] = TtlCache(cache_seconds, timer=timer)

    def add(self, source: WebhookSource, secret: str | None = None) -> tuple[WebhookSecretInfo, str]:
        """Store ``secret`` (a new random one when omitted); returns it with its description.

        When the source already has two active secrets the oldest is retired in the same
        transaction, so that there are never more than two.
        """
        value = secret if secret is not None else secrets_module.token_urlsafe(32)
        check_secret(value)
        now = self._clock.now()
        with self._session_factory.begin() as session:
            active = self._active_rows(session, source)
            for oldest in active[: max(0, len(active) - MAX_ACTIVE_PER_SOURCE + 1)]:
                oldest.retired_at = now
            row = WebhookSecretRow(source=source.value, secret=value, created_at=now)
            session.add(row)
            session.flush()
            info = _info(row)
        self._forget(source)
        return info, value

    def list_secrets(self, source: WebhookSource | None = None) -> list[WebhookSecretInfo]:
        """Every secret (retired ones too), oldest first, optionally of one source."""
        query = select(WebhookSecretRow).order_by(WebhookSecretRow.id)
        if source is not None:
            query = query.where(WebhookSecretRow.source == source.value)
        with self._session_factory() as session:
            return [_info(row) for row in session.scalars(query)]

    def retire(self, source: WebhookSource, secret_id: int) -> WebhookSecretInfo:
        """Retire secret ``secret_id`` of ``source``; retiring twice keeps the first time."""
        with self._session_factory.begin() as session:
            row = session.get(WebhookSecretRow, secret_id)
            if row is None or row.source != source.value:
                raise NotFound(f"{source.value} webhook secret", secret_id)
            if row.retired_at is None:
                row.retired_at = self._clock.now()
            info = _info(row)
        self._forget(source)
        return info

    def active_secrets(self, source: WebhookSource) -> tuple[str, ...]:
        """The active secrets of ``source``, newest first (cached; see the module docstring)."""
        def load() -> tuple[str, ...]:
            with self._session_factory() as session:
                return tuple(row.secret for row in reversed(self._active_rows(session, source)))

        return self._cache.get_or_load(source, load)

    def cached_active_secrets(self, source: WebhookSource) -> tuple[str, ...] | None:
        """The active secrets of ``source`` if the cache holds them, else ``None`` (no I/O).

        The webhook route checks signatures on the event loop when this answers, and only
        hops to a thread for :meth:`active_secrets` on a miss.
        """
        return self._cache.peek(source)

    def _active_rows(self, session: Session, source: WebhookSource) -> list[WebhookSecretRow]:
        query = (
            select(WebhookSecretRow)
            .where(WebhookSecretRow.source == source.value, WebhookSecretRow.retired_at.is_(None))
            .order_by(WebhookSecretRow.created_at, WebhookSecretRow.id)
        )
        return list(session.scalars(query))

    def _forget(self, source: WebhookSource) -> None:
        self._cache.forget(lambda cached_source, _: cached_source == source)
