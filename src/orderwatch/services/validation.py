"""Boundary checks shared by the ingestion and master-data services, and how rejects are stored.

Every check raises :class:`ValidationFailed` naming the field, the problem and the value.
"""

from __future__ import annotations

from dataclasses import asdict, is_dataclass
from datetime import datetime

from orderwatch.domain.errors import ValidationFailed

MAX_REF_LENGTH = 64


def check_ref(field: str, value: str | None) -> None:
    """A reference (order, customer, carrier ...): present, not blank, at most 64 characters."""
    if value is None or not value.strip():
        raise ValidationFailed(field, "must not be empty", value)
    if len(value) > MAX_REF_LENGTH:
        raise ValidationFailed(field, f"longer than {MAX_REF_LENGTH} characters", value[:80])


def check_aware(field: str, value: datetime | None) -> None:
    """A moment must carry its time zone: a naive one is refused, never guessed."""
    if value is not None and value.tzinfo is None:
        raise ValidationFailed(field, "has no time zone", value.isoformat())


def payload(item: object) -> object:
    """A JSON-safe rendering of a command or record for the rejected-items table."""
    if not is_dataclass(item) or isinstance(item, type):
        return repr(item)
    return _jsonable(asdict(item))


def _jsonable(value: object) -> object:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, datetime):
        return value.isoformat()
    if value is None or isinstance(value, str | int | float | bool):
        return value
    return str(value)
