"""A shop's own order export as commands (mission D1: ``orderwatch import orders FILE --mapping``).

Pure: a TOML mapping plus the CSV header and rows in, ``UpsertOrder``/``UpsertShipment`` commands
and row errors out; reading files and storing commands is the caller's business::

    mapping.toml ──load_mapping──▶ Mapping ──check_header──▶ MappingError (nothing imported)
    rows ──parse_rows──▶ one line per row, rows grouped by order ref
                           ├─▶ orders + shipments (valid orders only)
                           └─▶ RowError(row, column, value, problem) for each bad row

An order with any bad row is left out whole, so a partly read order never overwrites a good one;
its other rows get an error pointing at the bad row. Rows are numbered as a spreadsheet shows
them: the header is row 1, the first data row is row 2. The keys are documented in docs/imports.md.
"""

from __future__ import annotations

import tomllib
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from orderwatch.domain.commands import CustomerData, OrderLineData, UpsertOrder, UpsertShipment
from orderwatch.domain.orders import OrderMilestone
from orderwatch.domain.types import Language

REQUIRED_COLUMNS = ("order_ref", "purchased_at")
ORDER_COLUMNS = (
    "order_ref",
    "purchased_at",
    "promised_at",
    "customer_ref",
    "customer_email",
    "customer_phone",
    "customer_name",
    "customer_language",
    "customer_region",
    "customer_city",
    "customer_zip",
    "carrier",
    "tracking_number",
    "origin_region",
)
LINE_COLUMNS = ("line_no", "supplier", "product", "quantity", "unit_price", "freight", "dispatch_deadline")
TIME_COLUMNS = frozenset({"purchased_at", "promised_at", "dispatch_deadline"})
MILESTONES = tuple(m.value for m in OrderMilestone if m is not OrderMilestone.placed)
FORMAT_KEYS = frozenset(
    {
        "delimiter",
        "encoding",
        "decimal_separator",
        "thousands_separator",
        "date_formats",
        "timezone",
        "currency",
        "source",
        "default_language",
    }
)
# Values an order takes from its first row; a later row that says otherwise is an error.
_ORDER_LEVEL = tuple(c for c in ORDER_COLUMNS if c not in {"order_ref", "carrier", "tracking_number"})


class BadCell(Exception):
    """Raised while a row is read; carries the :class:`RowError` to report."""

    def __init__(self, error: RowError) -> None:
        self.error = error
        super().__init__(str(error))


class MappingError(Exception):
    """The mapping cannot be used; ``problems`` lists every reason, each naming the key."""

    def __init__(self, problems: Sequence[str]) -> None:
        self.problems = list(problems)
        super().__init__("invalid mapping: " + "; ".join(self.problems))


@dataclass(frozen=True, slots=True)
class RowError:
    """One bad row: its number (header = row 1), the column, the value and the problem."""

    row: int
    column: str
    value: str
    problem: str

    def __str__(self) -> str:
        return f"row {self.row}, column {self.column!r} ({self.value!r}): {self.problem}"


@dataclass(frozen=True)
class Mapping:
    """Which CSV column holds which field, and how its values are written."""

    columns: dict[str, str]
    milestones: dict[str, str] = field(default_factory=dict)
    delimiter: str = ","
    encoding: str = "utf-8"
    decimal_separator: str = "."
    thousands_separator: str = ""
    date_formats: tuple[str, ...] = ("iso",)
    timezone: str = "UTC"
    currency: str = "BRL"
    source: str = "csv"
    default_language: str = "en"

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def has_lines(self) -> bool:
        """Whether each row is an order line (some line column is mapped)."""
        return any(key in self.columns for key in LINE_COLUMNS)


@dataclass
class ParsedOrders:
    """Commands from the valid orders, the rows behind each order, and the row errors."""

    orders: list[UpsertOrder] = field(default_factory=list)
    shipments: list[UpsertShipment] = field(default_factory=list)
    rows_of: dict[str, list[int]] = field(default_factory=dict)
    errors: list[RowError] = field(default_factory=list)


# ------------------------------------------------------------------ the mapping


def load_mapping(text: str) -> Mapping:
    """Parse and check a TOML mapping; :class:`MappingError` lists every problem at once."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise MappingError([f"not valid TOML: {error}"]) from None
    problems = [f"[{k}]: unknown section" for k in data if k not in {"format", "columns", "milestones"}]
    columns = _string_table(data, "columns", problems)
    milestones = _string_table(data, "milestones", problems)
    problems += [f"columns.{k}: unknown key" for k in columns if k not in ORDER_COLUMNS + LINE_COLUMNS]
    problems += [f"columns.{k}: required" for k in REQUIRED_COLUMNS if k not in columns]
    problems += [
        f"milestones.{k}: unknown milestone (known: {', '.join(MILESTONES)})"
        for k in milestones
        if k not in MILESTONES
    ]
    options = _format_options(data.get("format", {}), problems)
    if problems:
        raise MappingError(problems)
    return Mapping(columns=columns, milestones=milestones, **options)


def _string_table(data: dict[str, Any], name: str, problems: list[str]) -> dict[str, str]:
    table = data.get(name, {})
    if not isinstance(table, dict):
        problems.append(f'[{name}]: must be a table of key = "CSV column"')
        return {}
    bad = [k for k, v in table.items() if not isinstance(v, str) or not v]
    problems.extend(f"{name}.{k}: must be a non-empty column name" for k in bad)
    return {k: v for k, v in table.items() if k not in bad}


def _format_options(raw: Any, problems: list[str]) -> dict[str, Any]:
    if not isinstance(raw, dict):
        problems.append("[format]: must be a table")
        return {}
    problems += [f"format.{k}: unknown key" for k in raw if k not in FORMAT_KEYS]
    options = {k: v for k, v in raw.items() if k in FORMAT_KEYS}
    for key in FORMAT_KEYS - {"date_formats"}:
        if key in options and not isinstance(options[key], str):
            problems.append(f"format.{key}: must be a string")
    if options.get("decimal_separator", ".") not in {".", ","}:
        problems.append(
            f"format.decimal_separator: must be '.' or ',' (got {options['decimal_separator']!r})"
        )
    if len(str(options.get("delimiter", ","))) != 1:
        problems.append(f"format.delimiter: must be one character (got {options['delimiter']!r})")
    formats = options.get("date_formats", ["iso"])
    if isinstance(formats, str):
        formats = [formats]
    if not isinstance(formats, list) or not formats or not all(isinstance(f, str) and f for f in formats):
        problems.append('format.date_formats: must be a list of strptime formats or "iso"')
        formats = ["iso"]
    options["date_formats"] = tuple(formats)
    try:
        ZoneInfo(str(options.get("timezone", "UTC")))
    except (ZoneInfoNotFoundError, ValueError):
        problems.append(f"format.timezone: unknown time zone {options.get('timezone')!r}")
    try:
        Language.parse(str(options.get("default_language", "en")))
    except ValueError as error:
        problems.append(f"format.default_language: {error}")
    return options


def check_header(mapping: Mapping, header: Sequence[str]) -> None:
    """Refuse a mapping that names columns the CSV does not have (before anything is read)."""
    present = set(header)
    named = [(f"columns.{k}", v) for k, v in mapping.columns.items()]
    named += [(f"milestones.{k}", v) for k, v in mapping.milestones.items()]
    problems = [
        f"{key}: column {column!r} is not in the CSV header" for key, column in named if column not in present
    ]
    if problems:
        problems.append("the header has: " + ", ".join(repr(h) for h in header))
        raise MappingError(problems)


# ------------------------------------------------------------------ cells


def _strptime(pattern: str) -> Callable[[str], datetime]:
    return lambda value: datetime.strptime(value, pattern)  # noqa: DTZ007 - zone attached by the caller


class _Row:
    """One CSV row read through the mapping; bad cells raise :class:`RowError`."""

    def __init__(self, number: int, cells: dict[str, str], mapping: Mapping) -> None:
        self.number, self.cells, self.mapping = number, cells, mapping

    def column(self, key: str) -> str:
        return self.mapping.milestones.get(key) or self.mapping.columns.get(key, key)

    def raw(self, key: str) -> str:
        return self.cells.get(self.column(key), "")

    def error(self, key: str, problem: str) -> BadCell:
        return BadCell(RowError(self.number, self.column(key), self.raw(key), problem))

    def text(self, key: str) -> str | None:
        value = self.raw(key).strip()
        return value or None

    def time(self, key: str) -> datetime | None:
        value = self.text(key)
        if value is None:
            return None
        for pattern in self.mapping.date_formats:
            try:
                # A format without %z gives a naive time: the mapping's zone is attached below.
                parsed = datetime.fromisoformat if pattern == "iso" else _strptime(pattern)
                moment = parsed(value)
            except ValueError:
                continue
            if moment.tzinfo is None:
                moment = moment.replace(tzinfo=self.mapping.zone)
            return moment.astimezone(UTC)
        expected = " or ".join(self.mapping.date_formats)
        raise self.error(key, f"is not a date in the format {expected}")

    def cents(self, key: str) -> int:
        value = self.text(key)
        if value is None:
            return 0
        normal = (
            value.replace(self.mapping.thousands_separator, "") if self.mapping.thousands_separator else value
        )
        if self.mapping.decimal_separator == ",":
            if "." in normal:
                raise self.error(key, "uses '.' but the mapping says the decimal separator is ','")
            normal = normal.replace(",", ".")
        try:
            amount = Decimal(normal)
        except InvalidOperation:
            sep = self.mapping.decimal_separator
            raise self.error(key, f"is not an amount (decimal separator {sep!r})") from None
        if not amount.is_finite() or amount != amount.quantize(Decimal("0.01")):
            raise self.error(key, "has more than two decimal places") from None
        if amount < 0:
            raise self.error(key, "must not be negative")
        return int(amount * 100)

    def count(self, key: str, default: int) -> int:
        value = self.text(key)
        if value is None:
            return default
        if not value.isdigit() or int(value) < 1:
            raise self.error(key, "must be a whole number from 1")
        return int(value)


# ------------------------------------------------------------------ rows → commands


@dataclass
class _Group:
    first: _Row
    rows: list[_Row] = field(default_factory=list)
    lines: list[OrderLineData] = field(default_factory=list)
    shipments: dict[tuple[str, str], None] = field(default_factory=dict)
    errors: list[RowError] = field(default_factory=list)


def parse_rows(header: Sequence[str], rows: Iterable[Sequence[str]], mapping: Mapping) -> ParsedOrders:
    """Turn data rows (without the header) into commands and row errors; never raises on data."""
    check_header(mapping, header)
    groups: dict[str, _Group] = {}
    result = ParsedOrders()
    for number, values in enumerate(rows, start=2):
        row = _Row(number, dict(zip(header, values, strict=False)), mapping)
        if len(values) != len(header):
            result.errors.append(
                RowError(
                    number,
                    "(row)",
                    mapping.delimiter.join(values)[:200],
                    f"has {len(values)} cells, the header has {len(header)}",
                )
            )
            continue
        ref = row.text("order_ref")
        if ref is None:
            result.errors.append(row.error("order_ref", "is empty").error)
            continue
        group = groups.setdefault(ref, _Group(first=row))
        group.rows.append(row)
        try:
            _read_row(row, group, mapping)
        except BadCell as bad:
            group.errors.append(bad.error)
    for ref, group in groups.items():
        result.rows_of[ref] = [r.number for r in group.rows]
        if group.errors:
            result.errors.extend(group.errors)
            bad_rows = {e.row for e in group.errors}
            first_bad = min(bad_rows)
            result.errors.extend(
                RowError(
                    r.number,
                    row_column(mapping),
                    ref,
                    f"not imported: row {first_bad} of order {ref!r} has an error",
                )
                for r in group.rows
                if r.number not in bad_rows
            )
            continue
        _emit(ref, group, mapping, result)
    result.errors.sort(key=lambda e: e.row)
    return result


def row_column(mapping: Mapping) -> str:
    """The column named in errors about a whole order: its reference column."""
    return mapping.columns["order_ref"]


def _read_row(row: _Row, group: _Group, mapping: Mapping) -> None:
    for key in _ORDER_LEVEL:
        if (
            key in mapping.columns
            and row is not group.first
            and row.text(key) not in {None, group.first.text(key)}
        ):
            raise row.error(
                key, f"differs from row {group.first.number} of the same order ({group.first.raw(key)!r})"
            )
    for key in TIME_COLUMNS | set(mapping.milestones):
        if key in mapping.columns or key in mapping.milestones:
            row.time(key)
    if row.text("customer_language") is not None:
        try:
            Language.parse(row.text("customer_language"))
        except ValueError as error:
            raise row.error("customer_language", str(error)) from None
    carrier, tracking = row.text("carrier"), row.text("tracking_number")
    if tracking is not None and carrier is None:
        raise row.error("carrier", "is empty but the row has a tracking number")
    if carrier is not None and tracking is not None:
        group.shipments[(carrier, tracking)] = None
    if mapping.has_lines:
        group.lines.append(
            OrderLineData(
                line_no=row.count("line_no", len(group.rows)),
                product_ref=row.text("product"),
                supplier_ref=row.text("supplier"),
                quantity=row.count("quantity", 1),
                unit_price_cents=row.cents("unit_price"),
                freight_cents=row.cents("freight"),
                dispatch_deadline=row.time("dispatch_deadline"),
            )
        )
        if len({ln.line_no for ln in group.lines}) != len(group.lines):
            raise row.error("line_no", "appears twice in the same order")


def _emit(ref: str, group: _Group, mapping: Mapping, result: ParsedOrders) -> None:
    first = group.first
    purchased = first.time("purchased_at")
    if purchased is None:
        error = first.error("purchased_at", "is empty").error
        result.errors.append(error)
        result.errors.extend(
            RowError(
                r.number,
                row_column(mapping),
                ref,
                f"not imported: row {first.number} of order {ref!r} has an error",
            )
            for r in group.rows[1:]
        )
        return
    milestones = tuple(
        (OrderMilestone(name), moment)
        for name in mapping.milestones
        if (moment := first.time(name)) is not None
    )
    customer_ref = first.text("customer_ref") or first.text("customer_email")
    customer = None
    if customer_ref is not None:
        customer = CustomerData(
            ref=customer_ref,
            name=first.text("customer_name"),
            email=first.text("customer_email"),
            phone=first.text("customer_phone"),
            language=Language.parse(first.text("customer_language") or mapping.default_language).value,
            zip_prefix=first.text("customer_zip"),
            city=first.text("customer_city"),
            region=first.text("customer_region"),
        )
    promised = first.time("promised_at")
    result.orders.append(
        UpsertOrder(
            ref=ref,
            purchased_at=purchased,
            promised_at=promised,
            currency=mapping.currency,
            customer=customer,
            lines=tuple(group.lines),
            milestones=milestones,
            source=mapping.source,
        )
    )
    result.shipments.extend(
        UpsertShipment(
            order_ref=ref,
            carrier_code=carrier,
            tracking_number=tracking,
            origin_region=first.text("origin_region"),
            destination_region=first.text("customer_region"),
            promised_at=promised,
            source=mapping.source,
        )
        for carrier, tracking in group.shipments
    )
