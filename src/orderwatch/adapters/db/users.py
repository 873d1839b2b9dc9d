"""Staff accounts on the ``users`` table (D13): create, find, list, change role/state/password.

Like every adapter this module never commits: the caller (a CLI command or a web route) holds
the transaction, so a failed command leaves no half-made account. Roles are validated against
:class:`orderwatch.domain.roles.Role`; what a role may do lives only in ``ROLE_PERMISSIONS``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from orderwatch.adapters.db.tables import UserRow
from orderwatch.domain.errors import Conflict, NotFound, ValidationFailed
from orderwatch.domain.roles import Role
from orderwatch.domain.types import Language

# Lower-case so that "Ana" and "ana" cannot be two accounts; no spaces so names survive shells.
USERNAME_PATTERN = re.compile(r"^[a-z0-9][a-z0-9._-]{1,63}$")
STAFF_LANGUAGES = (Language.zh_CN, Language.en)


@dataclass(frozen=True, slots=True)
class UserRecord:
    """A staff account as pages and commands see it."""

    id: int
    username: str
    display_name: str
    email: str | None
    role: str
    language: str
    is_active: bool
    created_at: datetime
    # Kept off repr so that a logged record never prints the hash.
    password_hash: str = field(repr=False)


def normalize_username(username: str) -> str:
    """The stored form of ``username`` (trimmed, lower case)."""
    return username.strip().lower()


def check_username(username: str) -> str:
    """The normalized username, or :class:`ValidationFailed` naming the problem."""
    normalized = normalize_username(username)
    if not USERNAME_PATTERN.match(normalized):
        raise ValidationFailed(
            "username", "must be 2-64 characters: letters, digits, '.', '_' or '-'", username
        )
    return normalized


def check_role(role: str) -> Role:
    """``role`` as a :class:`Role`, or :class:`ValidationFailed` listing the valid ones."""
    try:
        return Role(role)
    except ValueError:
        raise ValidationFailed("role", f"must be one of {', '.join(Role)}", role) from None


def check_staff_language(language: str) -> Language:
    """``language`` as one of the staff page languages (zh_CN, en)."""
    try:
        parsed = Language.parse(language)
    except ValueError:
        parsed = None
    if parsed not in STAFF_LANGUAGES:
        raise ValidationFailed("language", "must be zh_CN or en", language)
    return parsed


def _record(row: UserRow) -> UserRecord:
    return UserRecord(
        id=row.id, username=row.username, display_name=row.display_name, email=row.email,
        role=row.role, language=row.language, is_active=row.is_active, created_at=row.created_at,
        password_hash=row.password_hash,
    )


class SqlUsers:
    """The staff accounts reachable through one session."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def create(
        self,
        *,
        username: str,
        password_hash: str,
        role: str,
        now: datetime,
        display_name: str | None = None,
        email: str | None = None,
        language: str = Language.zh_CN.value,
    ) -> UserRecord:
        """Add an account; a taken username is a :class:`Conflict`."""
        normalized = check_username(username)
        row = UserRow(
            username=normalized, display_name=(display_name or normalized).strip(), email=email,
            role=check_role(role).value, language=check_staff_language(language).value,
            password_hash=password_hash, is_active=True, created_at=now,
        )
        if self.find_by_username(normalized) is not None:
            raise Conflict(f"username {normalized!r} is taken")
        self.session.add(row)
        try:
            self.session.flush()
        except IntegrityError as error:  # a concurrent create won the race
            raise Conflict(f"username {normalized!r} is taken") from error
        return _record(row)

    def find_by_username(self, username: str) -> UserRecord | None:
        row = self.session.scalars(
            select(UserRow).where(UserRow.username == normalize_username(username))
        ).first()
        return _record(row) if row is not None else None

    def find_by_id(self, user_id: int) -> UserRecord | None:
        row = self.session.get(UserRow, user_id)
        return _record(row) if row is not None else None

    def get_by_username(self, username: str) -> UserRecord:
        """The account ``username``, or :class:`NotFound`."""
        found = self.find_by_username(username)
        if found is None:
            raise NotFound("user", normalize_username(username))
        return found

    def list(self, *, include_inactive: bool = True) -> list[UserRecord]:
        """All accounts, by username."""
        query = select(UserRow).order_by(UserRow.username)
        if not include_inactive:
            query = query.where(UserRow.is_active.is_(True))
        return [_record(row) for row in self.session.scalars(query)]

    def count(self) -> int:
        return int(self.session.scalar(select(func.count()).select_from(UserRow)) or 0)

    def set_role(self, username: str, role: str) -> UserRecord:
        return self._update(username, role=check_role(role).value)

    def set_active(self, username: str, *, is_active: bool) -> UserRecord:
        return self._update(username, is_active=is_active)

    def set_password_hash(self, username: str, password_hash: str) -> UserRecord:
        return self._update(username, password_hash=password_hash)

    def set_language(self, user_id: int, language: str) -> None:
        """Remember the page language a signed-in user chose."""
        self.session.execute(
            update(UserRow)
            .where(UserRow.id == user_id)
            .values(language=check_staff_language(language).value)
        )

    def _update(self, username: str, **values: object) -> UserRecord:
        current = self.get_by_username(username)
        self.session.execute(update(UserRow).where(UserRow.id == current.id).values(**values))
        row = self.session.get(UserRow, current.id, populate_existing=True)
        assert row is not None  # found just above, inside the same transaction
        return _record(row)
