"""Dates, numbers and money for the staff pages, formatted by Babel for the page's locale (D1).

Times are stored in UTC and shown in the shop's time zone (``settings.shop_timezone``), the
zone staff and customers talk in; the page says which zone that is.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

from babel.dates import format_date, format_skeleton, format_time, get_datetime_format
from babel.numbers import format_currency, format_decimal, format_percent

EMPTY = "—"


@dataclass(frozen=True, slots=True)
class Formatter:
    """Formatting bound to one locale (``zh_CN``, ``en``) and one display time zone."""

    locale: str
    timezone: ZoneInfo

    def when(self, value: datetime | None) -> str:
        """Medium date and short time, joined the way the locale joins them."""
        if value is None:
            return EMPTY
        local = value.astimezone(self.timezone)
        pattern = get_datetime_format("medium", locale=self.locale)
        date_text = format_date(local, "medium", locale=self.locale)
        time_text = format_time(local, "short", locale=self.locale)
        return str(pattern).replace("{1}", date_text).replace("{0}", time_text)

    def day(self, value: datetime | None) -> str:
        """The calendar day (medium form) in the display zone."""
        if value is None:
            return EMPTY
        return format_date(value.astimezone(self.timezone), "medium", locale=self.locale)

    def month(self, key: str | None) -> str:
        """A ``YYYY-MM`` month as the locale writes it ("Mar 2018", "2018年3月")."""
        if not key:
            return EMPTY
        return format_skeleton("yMMM", date(int(key[:4]), int(key[5:7]), 1), locale=self.locale)

    def iso(self, value: datetime | None) -> str:
        """Machine-readable form for ``<time datetime=...>``."""
        return value.isoformat() if value is not None else ""

    def money(self, cents: int | None, currency: str) -> str:
        if cents is None:
            return EMPTY
        return format_currency(cents / 100, currency, locale=self.locale)

    def number(self, value: int | float | None) -> str:
        if value is None:
            return EMPTY
        return format_decimal(value, locale=self.locale)

    def percent(self, value: float | None) -> str:
        if value is None:
            return EMPTY
        return format_percent(value, format="#,##0.0%", locale=self.locale)
