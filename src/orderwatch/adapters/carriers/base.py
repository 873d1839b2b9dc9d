"""What every carrier parser shares (D1): status tables, payload access, times, problem text.

Each ``<source>/parse.py`` is pure, in the style of karrio's ``parse_tracking_response``::

    raw payload ──load_json──▶ dict ──per event──▶ RecordTrackingEvent ──▶ ([events], [problems])
                                         │
                                         └─ StatusTable.resolve(codes) ──no row──▶ unknown (logged)

A problem is a string ``"<field path>: <what is wrong> (got <value>)"``; :func:`problem_field`
gives the field back so that the API can name it. A problem in one event skips that event only;
a problem in the envelope (no tracking number, not JSON) means no events at all.

The only side effect allowed here is logging: an unknown carrier code is worth a log line,
because it means a status table needs a new row.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime, tzinfo
from typing import Any
from zoneinfo import ZoneInfo

from orderwatch.domain.commands import RecordTrackingEvent
from orderwatch.domain.shipments import ShipmentStatus

logger = logging.getLogger("orderwatch.carriers")

ParseResult = tuple[list[RecordTrackingEvent], list[str]]

# tracking_events.raw_code is VARCHAR(64): a longer code would fail the whole insert on PostgreSQL.
MAX_RAW_CODE = 64
_MAX_SHOWN = 80
_MISSING = object()

CHINA_TIME = ZoneInfo("Asia/Shanghai")

# Countries with one civil time zone, by ISO 3166-1 alpha-3 (AfterShip's ``country_iso3``/
# ``country_region``). Used only to read a scan time that came without a UTC offset; a country
# spanning several zones (USA, BRA, RUS ...) is deliberately absent: guessing would be wrong.
SINGLE_ZONE_COUNTRIES: Mapping[str, str] = {
    "CHN": "Asia/Shanghai", "HKG": "Asia/Hong_Kong", "MAC": "Asia/Macau", "TWN": "Asia/Taipei",
    "JPN": "Asia/Tokyo", "KOR": "Asia/Seoul", "SGP": "Asia/Singapore", "MYS": "Asia/Kuala_Lumpur",
    "THA": "Asia/Bangkok", "VNM": "Asia/Ho_Chi_Minh", "PHL": "Asia/Manila", "IND": "Asia/Kolkata",
    "GBR": "Europe/London", "IRL": "Europe/Dublin", "DEU": "Europe/Berlin", "FRA": "Europe/Paris",
    "NLD": "Europe/Amsterdam", "BEL": "Europe/Brussels", "ITA": "Europe/Rome", "CHE": "Europe/Zurich",
    "AUT": "Europe/Vienna", "POL": "Europe/Warsaw", "CZE": "Europe/Prague", "SWE": "Europe/Stockholm",
    "DNK": "Europe/Copenhagen", "NOR": "Europe/Oslo", "FIN": "Europe/Helsinki", "HUN": "Europe/Budapest",
    "ARE": "Asia/Dubai", "ISR": "Asia/Jerusalem", "NZL": "Pacific/Auckland",
}


class PayloadProblem(ValueError):
    """Raised inside a parser for one bad field; the message is already a problem string."""


def problem(field: str, message: str, value: object = _MISSING) -> str:
    """A problem string naming the field, the problem and (shortened) the value received."""
    if value is _MISSING:
        return f"{field}: {message}"
    shown = repr(value)
    if len(shown) > _MAX_SHOWN:
        shown = shown[: _MAX_SHOWN - 3] + "..."
    return f"{field}: {message} (got {shown})"


def problem_field(text: str) -> str:
    """The field path a :func:`problem` string starts with."""
    return text.split(": ", 1)[0]


class StatusTable:
    """A declarative carrier-code → :class:`ShipmentStatus` table with an explicit unknown path."""

    def __init__(self, source: str, rows: Mapping[str, ShipmentStatus]) -> None:
        self.source = source
        self.rows = dict(rows)

    def resolve(self, codes: Iterable[str | None], *, text: str | None = None) -> ShipmentStatus:
        """The status of the first code that has a row, most specific code first.

        No row at all gives ``unknown``: the event is kept (a scan is still a sign of life) and
        a warning names the code so that the table can be extended. A fallback to a broader code
        is logged too, for the same reason.
        """
        given = list(dict.fromkeys(code for code in codes if code))
        for position, code in enumerate(given):
            status = self.rows.get(code)
            if status is None:
                continue
            if position:
                logger.warning(
                    "unknown %s status code %r (text %r): fell back to %r → %s",
                    self.source, given[0], text, code, status.value,
                )
            return status
        if given:
            logger.warning(
                "unknown %s status code(s) %s (text %r): recorded as unknown", self.source, given, text
            )
        else:
            logger.debug("%s event without a status code (text %r): recorded as unknown", self.source, text)
        return ShipmentStatus.unknown


# ------------------------------------------------------------------ payload access


def load_json(payload: bytes | str | Mapping[str, Any], *, field: str = "body") -> Any:
    """Decode a JSON payload; :class:`PayloadProblem` when it is not JSON."""
    if isinstance(payload, Mapping):
        return payload
    try:
        return json.loads(payload)
    except UnicodeDecodeError:
        raise PayloadProblem(problem(field, "is not UTF-8 text")) from None
    except json.JSONDecodeError as error:
        raise PayloadProblem(
            problem(field, f"is not valid JSON ({error.msg} at line {error.lineno} column {error.colno})")
        ) from None
    except RecursionError:
        raise PayloadProblem(problem(field, "is nested too deeply")) from None
    except ValueError as error:
        # e.g. an integer literal beyond Python's int/str conversion limit
        raise PayloadProblem(problem(field, f"is not usable JSON ({error})")) from None


def get_object(value: object, path: str) -> Mapping[str, Any]:
    """``value`` as a JSON object, or a problem naming ``path``."""
    if not isinstance(value, Mapping):
        raise PayloadProblem(problem(path, "must be a JSON object", _type_name(value)))
    return value


def get_list(value: object, path: str) -> list[Any]:
    """``value`` as a JSON array (``null`` is an empty array), or a problem naming ``path``."""
    if value is None:
        return []
    if not isinstance(value, list):
        raise PayloadProblem(problem(path, "must be a JSON array", _type_name(value)))
    return value


def get_text(container: Mapping[str, Any], key: str, path: str, *, required: bool = False) -> str | None:
    """A string field (numbers are accepted as codes); empty means absent.

    NUL characters are dropped: PostgreSQL text cannot store them, and one would fail the insert.
    """
    value = container.get(key)
    if isinstance(value, bool) or not isinstance(value, str | int | type(None)):
        raise PayloadProblem(problem(f"{path}.{key}", "must be a string", value))
    try:
        text = None if value is None else str(value).replace("\x00", "").strip()
    except ValueError:  # an integer too long to print (int/str conversion limit)
        raise PayloadProblem(problem(f"{path}.{key}", "is too long")) from None
    if not text:
        if required:
            raise PayloadProblem(problem(f"{path}.{key}", "is required"))
        return None
    return text


def require_text(container: Mapping[str, Any], key: str, path: str) -> str:
    """A string field that must be present and non-empty."""
    text = get_text(container, key, path, required=True)
    assert text is not None  # get_text raised otherwise
    return text


def join_place(*parts: str | None) -> str | None:
    """``"city, state, country"`` from whichever parts are present."""
    present = [part for part in parts if part]
    return ", ".join(dict.fromkeys(present)) if present else None


def clip_code(code: str | None) -> str | None:
    """A raw carrier code cut to what the database column holds."""
    return code[:MAX_RAW_CODE] if code else None


def _type_name(value: object) -> str:
    return {dict: "object", list: "array", str: "string", bool: "boolean", type(None): "null"}.get(
        type(value), "number"
    )


# ------------------------------------------------------------------ times


def parse_iso_datetime(value: str, path: str, *, local_zone: tzinfo | None = None) -> datetime:
    """An ISO-8601 time as aware UTC; without an offset it is read in ``local_zone``.

    With no offset and no zone the time cannot be placed and is a problem.
    """
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise PayloadProblem(problem(path, "is not an ISO-8601 date-time", value)) from None
    if moment.tzinfo is None:
        if local_zone is None:
            raise PayloadProblem(problem(path, "has no UTC offset", value))
        moment = moment.replace(tzinfo=local_zone)
    return _to_utc(moment, path, value)


def parse_local_datetime(value: str, path: str, *, zone: tzinfo) -> datetime:
    """A ``YYYY-MM-DD HH:MM[:SS]`` wall-clock time in ``zone``, as aware UTC."""
    for pattern in ("%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M"):
        try:
            moment = datetime.strptime(value, pattern)  # noqa: DTZ007 - the zone is attached below
        except ValueError:
            continue
        return _to_utc(moment.replace(tzinfo=zone), path, value)
    raise PayloadProblem(problem(path, "is not a 'YYYY-MM-DD HH:MM:SS' time", value))


def parse_utc_offset(value: str, path: str) -> tzinfo:
    """``+08:00`` / ``-0300`` / ``Z`` as a fixed-offset zone."""
    if value in {"Z", "z", "UTC", "+00:00"}:
        return UTC
    try:
        probe = datetime.fromisoformat(f"2000-01-01T00:00:00{value}")
    except ValueError:
        raise PayloadProblem(problem(path, "is not a UTC offset like +08:00", value)) from None
    if probe.tzinfo is None:
        raise PayloadProblem(problem(path, "is not a UTC offset like +08:00", value))
    return probe.tzinfo


def zone_of_country(iso3: str | None) -> tzinfo | None:
    """The one time zone of a country, when it has only one."""
    name = SINGLE_ZONE_COUNTRIES.get((iso3 or "").upper())
    return ZoneInfo(name) if name else None


def _to_utc(moment: datetime, path: str, value: str) -> datetime:
    # Offsets beyond ±24 h are rejected by datetime itself; the year bounds can still overflow.
    try:
        return moment.astimezone(UTC)
    except OverflowError:
        raise PayloadProblem(problem(path, "is out of range", value)) from None

