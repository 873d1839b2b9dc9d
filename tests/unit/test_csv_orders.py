"""The shop CSV parser (D1): mapping checks, row errors, grouping, decimals and time zones."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from orderwatch.adapters.datasets.csv_orders import (
    MappingError,
    RowError,
    check_header,
    load_mapping,
    parse_rows,
)
from orderwatch.domain.orders import OrderMilestone

MAPPING = """
[format]
decimal_separator = ","
date_formats = ["%d/%m/%Y %H:%M", "%d/%m/%Y"]
timezone = "America/Sao_Paulo"

[columns]
order_ref = "Order"
purchased_at = "Bought"
promised_at = "Promised"
customer_ref = "Customer"
customer_region = "State"
carrier = "Carrier"
tracking_number = "Tracking"
product = "SKU"
quantity = "Qty"
unit_price = "Price"
freight = "Freight"

[milestones]
approved = "Paid"
"""
HEADER = [
    "Order",
    "Bought",
    "Promised",
    "Customer",
    "State",
    "Carrier",
    "Tracking",
    "SKU",
    "Qty",
    "Price",
    "Freight",
    "Paid",
]


def _row(
    order: str = "A-1",
    *,
    bought: str = "02/03/2018 10:15",
    sku: str = "SKU-1",
    qty: str = "1",
    price: str = "10,50",
    freight: str = "2,00",
    tracking: str = "TRK1",
    paid: str = "",
) -> list[str]:
    return [order, bought, "12/03/2018", "C-1", "SP", "correios", tracking, sku, qty, price, freight, paid]


def test_rows_of_one_order_become_one_order_with_lines() -> None:
    mapping = load_mapping(MAPPING)

    parsed = parse_rows(HEADER, [_row(sku="SKU-1", qty="2"), _row(sku="SKU-2", price="99,90")], mapping)

    assert parsed.errors == []
    [order] = parsed.orders
    assert order.ref == "A-1"
    assert [
        (ln.line_no, ln.product_ref, ln.quantity, ln.unit_price_cents, ln.freight_cents) for ln in order.lines
    ] == [
        (1, "SKU-1", 2, 1_050, 200),
        (2, "SKU-2", 1, 9_990, 200),
    ]
    assert parsed.rows_of == {"A-1": [2, 3]}
    assert [(s.carrier_code, s.tracking_number, s.destination_region) for s in parsed.shipments] == [
        ("correios", "TRK1", "SP"),
    ]


def test_local_times_become_utc_with_the_mapping_time_zone() -> None:
    parsed = parse_rows(HEADER, [_row(paid="02/03/2018 10:20")], load_mapping(MAPPING))

    [order] = parsed.orders
    # São Paulo was UTC-3 in March 2018 (daylight saving time had ended on 18 February).
    assert order.purchased_at == datetime(2018, 3, 2, 13, 15, tzinfo=UTC)
    assert order.promised_at == datetime(2018, 3, 12, 3, 0, tzinfo=UTC)
    assert order.milestones == ((OrderMilestone.approved, datetime(2018, 3, 2, 13, 20, tzinfo=UTC)),)


def test_an_explicit_offset_wins_over_the_mapping_time_zone() -> None:
    mapping = load_mapping(MAPPING.replace('["%d/%m/%Y %H:%M", "%d/%m/%Y"]', '["iso"]'))
    row = _row(bought="2018-03-02T10:15:00+01:00")
    row[2] = "2018-03-12"

    [order] = parse_rows(HEADER, [row], mapping).orders

    assert order.purchased_at == datetime(2018, 3, 2, 9, 15, tzinfo=UTC)


@pytest.mark.parametrize(
    ("price", "problem"),
    [
        ("12,3x", "is not an amount (decimal separator ',')"),
        ("12.30", "uses '.' but the mapping says the decimal separator is ','"),
        ("1,234", "has more than two decimal places"),
        ("-5,00", "must not be negative"),
    ],
    ids=["letters_case", "wrong_separator_case", "three_decimals_case", "negative_case"],
)
def test_a_bad_amount_names_row_column_value_and_problem(price: str, problem: str) -> None:
    parsed = parse_rows(HEADER, [_row("A-1"), _row("B-2", price=price)], load_mapping(MAPPING))

    assert [o.ref for o in parsed.orders] == ["A-1"]
    assert parsed.errors == [RowError(3, "Price", price, problem)]
    assert str(parsed.errors[0]) == f"row 3, column 'Price' ({price!r}): {problem}"


def test_one_bad_row_keeps_its_whole_order_out() -> None:
    rows = [_row("A-1", sku="SKU-1"), _row("A-1", sku="SKU-2", qty="zero"), _row("B-2")]

    parsed = parse_rows(HEADER, rows, load_mapping(MAPPING))

    assert [o.ref for o in parsed.orders] == ["B-2"]
    assert [o.order_ref for o in parsed.shipments] == ["B-2"]
    assert parsed.errors == [
        RowError(2, "Order", "A-1", "not imported: row 3 of order 'A-1' has an error"),
        RowError(3, "Qty", "zero", "must be a whole number from 1"),
    ]


def test_rows_that_disagree_on_order_fields_are_errors() -> None:
    rows = [_row("A-1"), _row("A-1", bought="03/03/2018 10:15", sku="SKU-2")]

    parsed = parse_rows(HEADER, rows, load_mapping(MAPPING))

    assert parsed.orders == []
    assert parsed.errors[1] == RowError(
        3, "Bought", "03/03/2018 10:15", "differs from row 2 of the same order ('02/03/2018 10:15')"
    )


def test_bad_dates_and_short_rows_are_reported_not_raised() -> None:
    rows = [_row("A-1", bought="31/02/2018 10:00"), ["B-2", "02/03/2018"], _row("", sku="x")]

    parsed = parse_rows(HEADER, rows, load_mapping(MAPPING))

    assert parsed.orders == []
    assert [(e.row, e.column, e.problem) for e in parsed.errors] == [
        (2, "Bought", "is not a date in the format %d/%m/%Y %H:%M or %d/%m/%Y"),
        (3, "(row)", "has 2 cells, the header has 12"),
        (4, "Order", "is empty"),
    ]


def test_a_tracking_number_without_carrier_is_an_error() -> None:
    row = _row()
    row[5] = ""

    parsed = parse_rows(HEADER, [row], load_mapping(MAPPING))

    assert parsed.errors == [RowError(2, "Carrier", "", "is empty but the row has a tracking number")]


def test_mapping_problems_are_listed_together() -> None:
    text = """
[format]
decimal_separator = ";"
timezone = "Mars/Olympus"
colour = "blue"

[columns]
purchased_at = "Bought"
price = "Price"

[milestones]
shipped = "Sent"
"""
    with pytest.raises(MappingError) as raised:
        load_mapping(text)

    assert sorted(raised.value.problems) == sorted(
        [
            "columns.price: unknown key",
            "columns.order_ref: required",
            "milestones.shipped: unknown milestone "
            "(known: approved, invoiced, processing, canceled, unavailable)",
            "format.colour: unknown key",
            "format.decimal_separator: must be '.' or ',' (got ';')",
            "format.timezone: unknown time zone 'Mars/Olympus'",
        ]
    )


def test_mapping_columns_missing_from_the_header_are_refused() -> None:
    mapping = load_mapping(MAPPING)

    with pytest.raises(MappingError) as raised:
        check_header(mapping, [h for h in HEADER if h != "Price"])

    assert raised.value.problems[0] == "columns.unit_price: column 'Price' is not in the CSV header"


def test_invalid_toml_is_a_mapping_error() -> None:
    with pytest.raises(MappingError, match="not valid TOML"):
        load_mapping("[columns\norder_ref = 1")
