"""The shop CSV parser never crashes on arbitrary cell text (D1 bad-input rule)."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from orderwatch.adapters.datasets.csv_orders import load_mapping, parse_rows

MAPPING = load_mapping(
    """
[format]
decimal_separator = ","
thousands_separator = "."
date_formats = ["%d/%m/%Y %H:%M", "iso"]
timezone = "America/Sao_Paulo"

[columns]
order_ref = "Order"
purchased_at = "Bought"
promised_at = "Promised"
customer_ref = "Customer"
customer_language = "Language"
carrier = "Carrier"
tracking_number = "Tracking"
line_no = "Line"
quantity = "Qty"
unit_price = "Price"
freight = "Freight"
dispatch_deadline = "Deadline"

[milestones]
canceled = "Canceled"
"""
)
HEADER = [
    "Order",
    "Bought",
    "Promised",
    "Customer",
    "Language",
    "Carrier",
    "Tracking",
    "Line",
    "Qty",
    "Price",
    "Freight",
    "Deadline",
    "Canceled",
]
cell = st.one_of(
    st.text(max_size=30),
    st.sampled_from(
        [
            "",
            "A-1",
            "02/03/2018 10:15",
            "2018-03-02T10:15:00+01:00",
            "1",
            "0",
            "-1",
            "1.234,56",
            "12,3",
            "NaN",
            "Infinity",
            "1e400",
            "pt",
            "xx",
        ]
    ),
)
row = st.lists(cell, min_size=0, max_size=len(HEADER) + 2)


@settings(max_examples=300, deadline=None)
@given(st.lists(row, max_size=8))
def test_parser_never_crashes_and_accounts_for_every_row(rows: list[list[str]]) -> None:
    parsed = parse_rows(HEADER, rows, MAPPING)

    bad_rows = {error.row for error in parsed.errors}
    good_rows = {n for order in parsed.orders for n in parsed.rows_of[order.ref]}
    assert bad_rows.isdisjoint(good_rows)
    assert bad_rows | good_rows == set(range(2, len(rows) + 2))
    assert all(o.purchased_at.tzinfo is not None for o in parsed.orders)
