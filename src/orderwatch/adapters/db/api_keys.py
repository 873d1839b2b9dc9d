"""API keys for integrations (D1): create, verify, list and revoke, with a short in-process cache.

A key reads ``ow_<prefix>_<secret>``. The prefix is public (it is how people and the CLI name a
key); the secret is shown once, at creation, and only its SHA-256 is stored. A plain hash is
enough here, unlike passwords: the secret is 256 random bits, so there is nothing to brute-force
and a slow KDF would only slow the hot path down. Verification compares hashes in constant time.

Verified keys are cached per process for ``cache_seconds`` so that the ingestion hot path does
not read the database on every request; the price is that a revocation made by another process
(the CLI) takes effect within that many seconds. A revocation made through this registry clears
its own cache at once.

Keys are credentials, not a business use case, so this registry opens its own short
transactions instead of going through a service and the unit of work.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from orderwatch.adapters.db.tables import ApiKeyRow
from orderwatch.adapters.ttl_cache import TtlCache
from orderwatch.domain.errors import AuthenticationFailed, NotFound, ValidationFailed
from orderwatch.domain.roles import Permission
from orderwatch.services.ports import Clock

KEY_PREFIX = "ow"
_KEY_PATTERN = re.compile(r"^ow_([0-9a-f]{12})_([A-Za-z0-9_-]{20,128})$")
DEFAULT_CACHE_SECONDS = 5.0


@dataclass(frozen=True, slots=True)
class ApiKeyInfo:
    """What may be shown about a key: never its secret."""

    prefix: str
    name: str
    scopes: frozenset[Permission]
    created_at: datetime
    revoked_at: datetime | None
    last_used_at: datetime | None

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None


def hash_secret(secret: str) -> str:
    """The stored form of a key's secret part."""
    return hashlib.sha256(secret.encode()).hexdigest()


def parse_scopes(values: Iterable[str]) -> frozenset[Permission]:
    """Scopes by their values (``orders:read``); an unknown scope is an error naming it."""
    scopes: set[Permission] = set()
    for value in values:
        try:
            scopes.add(Permission(value.strip()))
        except ValueError:
            known = ", ".join(p.value for p in Permission)
            raise ValidationFailed("scope", f"unknown scope; expected one of {known}", value) from None
    if not scopes:
        raise ValidationFailed("scope", "give at least one scope")
    return frozenset(scopes)


def _info(row: ApiKeyRow) -> ApiKeyInfo:
    return ApiKeyInfo(
        prefix=row.prefix,
        name=row.name,
        # Scopes that a later release dropped from Permission are ignored rather than fatal.
        scopes=frozenset(Permission(s) for s in row.scopes.split() if s in Permission._value2member_map_),
        created_at=row.created_at,
        revoked_at=row.revoked_at,
        last_used_at=row.last_used_at,
    )


class ApiKeyRegistry:
    """The API keys of one database, with a per-process cache of verified keys."""

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
        self._cache: TtlCache[str, ApiKeyInfo] = TtlCache(cache_seconds, timer=timer)

    def create(self, *, name: str, scopes: Iterable[str]) -> tuple[str, ApiKeyInfo]:
        """Store a new key and return it in full, together with its description.

        The full key exists only in this return value: print it once and forget it.
        """
        if not name.strip() or len(name) > 200:
            raise ValidationFailed("name", "must be 1 to 200 characters", name[:80])
        permissions = parse_scopes(scopes)
        prefix, secret = secrets.token_hex(6), secrets.token_urlsafe(32)
        row = ApiKeyRow(
            prefix=prefix,
            secret_hash=hash_secret(secret),
            name=name.strip(),
            scopes=" ".join(sorted(p.value for p in permissions)),
            created_at=self._clock.now(),
        )
        with self._session_factory.begin() as session:
            session.add(row)
            session.flush()
            info = _info(row)
        return f"{KEY_PREFIX}_{prefix}_{secret}", info

    def list_keys(self) -> list[ApiKeyInfo]:
        """Every key, oldest first, revoked ones included."""
        with self._session_factory() as session:
            return [_info(row) for row in session.scalars(select(ApiKeyRow).order_by(ApiKeyRow.id))]

    def revoke(self, prefix: str) -> ApiKeyInfo:
        """Revoke the key with ``prefix``; revoking twice keeps the first revocation time."""
        with self._session_factory.begin() as session:
            row = session.scalars(select(ApiKeyRow).where(ApiKeyRow.prefix == prefix)).first()
            if row is None:
                raise NotFound("API key", prefix)
            if row.revoked_at is None:
                row.revoked_at = self._clock.now()
            info = _info(row)
        self._cache.forget(lambda _, cached: cached.prefix == prefix)
        return info

    def verify(self, key: str) -> ApiKeyInfo:
        """The active key ``key``, or :class:`AuthenticationFailed` without saying what was wrong."""
        return self._cache.get_or_load(hash_secret(key), lambda: self._verify_in_database(key))

    def _verify_in_database(self, key: str) -> ApiKeyInfo:
        match = _KEY_PATTERN.match(key)
        if match is None:
            raise AuthenticationFailed("API key is malformed: expected ow_<prefix>_<secret>")
        prefix, secret = match.groups()
        with self._session_factory.begin() as session:
            row = session.scalars(select(ApiKeyRow).where(ApiKeyRow.prefix == prefix)).first()
            # Hash even when the prefix is unknown so both failures take the same time.
            presented = hash_secret(secret)
            stored = row.secret_hash if row is not None else hash_secret("")
            if row is None or not hmac.compare_digest(presented, stored) or row.revoked_at is not None:
                raise AuthenticationFailed("API key is not valid or has been revoked")
            # Written at most once per cache period per process: cheap, and good enough to
            # tell which keys are still in use.
            session.execute(
                update(ApiKeyRow).where(ApiKeyRow.id == row.id).values(last_used_at=self._clock.now())
            )
            return _info(row)
