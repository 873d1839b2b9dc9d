"""Small value objects shared by the domain: money, addresses, languages, UTC helpers."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum


class Language(StrEnum):
    """Languages for staff pages (zh_CN, en) and customer messages (all three)."""

    en = "en"
    zh_CN = "zh_CN"
    pt_BR = "pt_BR"

    @classmethod
    def parse(cls, value: str | None) -> Language:
        """Map loose spellings (``zh-CN``, ``pt``, ``EN``) to a supported language; default ``en``."""
        if not value:
            return cls.en
        key = value.strip().replace("-", "_").lower()
        for language in cls:
            if language.value.lower() == key or language.value.lower().split("_")[0] == key:
                return language
        raise ValueError(f"unsupported language {value!r}; expected one of en, zh_CN, pt_BR")


@dataclass(frozen=True, slots=True)
class Money:
    """An amount in minor units (cents) of one currency; never a float."""

    cents: int
    currency: str = "BRL"

    def __add__(self, other: Money) -> Money:
        if other.currency != self.currency:
            raise ValueError(f"cannot add {other.currency} to {self.currency}")
        return Money(self.cents + other.cents, self.currency)

    @property
    def amount(self) -> float:
        """The amount in major units, for display only."""
        return self.cents / 100


def ensure_utc(moment: datetime) -> datetime:
    """Return ``moment`` as an aware UTC datetime; naive datetimes are refused, not guessed."""
    if moment.tzinfo is None:
        raise ValueError(f"naive datetime {moment.isoformat()} has no time zone")
    return moment.astimezone(UTC)
