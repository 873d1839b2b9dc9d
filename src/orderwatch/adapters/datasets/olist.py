"""Reader of the public Olist e-commerce dataset (mission D1: ``orderwatch import olist``).

Reads the nine Olist tables from a folder (``settings.olist_dir``; each file as ``.csv`` or
``.csv.gz``, so both the shared copy and a fresh Kaggle download work) and turns them into the
commands and records the services take. Nothing is written here::

    customers ─┐
    items ─────┼─▶ OlistOrder(UpsertOrder, UpsertShipment?, RecordTrackingEvent…) per order
    orders ────┘
    sellers ─▶ SupplierDetails      products ─▶ ProductDetails     payments ─▶ PaymentData
    reviews ─▶ FeedbackData         geolocation ─▶ ZipLocation (mean lat/lng per prefix)

Olist timestamps are local Brazilian time without a zone; they are read in the shop's time zone
(``settings.shop_timezone``, America/Sao_Paulo) and converted to aware UTC. A row that cannot be
read becomes a :class:`RowError` naming the file, row, column and value; it never stops the rest.

Olist quirks (README of the shared copy), kept as facts and counted in :class:`Quirks`:

* carrier hand-off dated before the payment approval (1,359 orders): both dates are kept, the
  shipment state is derived by event time anyway;
* ``delivered`` orders with no delivery date (8): the shipment gets no ``delivered`` event (there
  is no moment to record), so they derive as shipped;
* ``canceled`` orders with a delivery date (6): the delivery scan is recorded; the order stays
  canceled (``domain/orders.py``: the shop's cancellation is authoritative);
* ``shipped``/``delivered`` orders with no hand-off date: the shipment is still created.
"""

from __future__ import annotations

import csv
import gzip
from collections import defaultdict
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, tzinfo
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Generic, TypeVar

import numpy as np
import pandas as pd

from orderwatch.domain.commands import (
    CustomerData,
    OrderLineData,
    RecordTrackingEvent,
    UpsertOrder,
    UpsertShipment,
)
from orderwatch.domain.orders import OrderMilestone
from orderwatch.domain.shipments import ShipmentStatus
from orderwatch.services.ports import (
    FeedbackData,
    PaymentData,
    ProductDetails,
    SupplierDetails,
    ZipLocation,
)

SOURCE = "olist"
CARRIER_CODE = "olist-logistics"
FILES = {
    "customers": "olist_customers_dataset",
    "geolocation": "olist_geolocation_dataset",
    "items": "olist_order_items_dataset",
    "payments": "olist_order_payments_dataset",
    "reviews": "olist_order_reviews_dataset",
    "orders": "olist_orders_dataset",
    "products": "olist_products_dataset",
    "sellers": "olist_sellers_dataset",
}
# Olist's final status names the shop milestone it reached; the others come from shipments.
_STATUS_MILESTONES = {
    "approved": OrderMilestone.approved,
    "invoiced": OrderMilestone.invoiced,
    "processing": OrderMilestone.processing,
    "canceled": OrderMilestone.canceled,
    "unavailable": OrderMilestone.unavailable,
}
_SHIPPED_STATUSES = frozenset({"shipped", "delivered"})
_CENT = Decimal("0.01")
_T = TypeVar("_T")


class RowError(Exception):
    """One unreadable cell: the file, its row number (header = row 1), column, value and problem."""

    def __init__(self, table: str, row: int, column: str, value: str, problem: str) -> None:
        self.table, self.row, self.column, self.value, self.problem = table, row, column, value, problem
        super().__init__(f"{table} row {row}, column {column!r} ({value!r}): {problem}")

    def as_record(self) -> dict[str, str | int]:
        """The error as a rejects-file row."""
        return {
            "file": self.table,
            "row": self.row,
            "column": self.column,
            "value": self.value,
            "error": self.problem,
        }


@dataclass
class Quirks:
    """Counts of the known Olist oddities met while reading (reported by ``--json``)."""

    carrier_before_approval: int = 0
    delivered_without_date: int = 0
    canceled_with_delivery: int = 0
    shipped_without_handoff: int = 0
    delivery_before_handoff: int = 0


@dataclass(frozen=True, slots=True)
class OlistOrder:
    """One Olist order as commands: the order, its shipment (if it left) and the scans."""

    order: UpsertOrder
    shipment: UpsertShipment | None
    events: tuple[RecordTrackingEvent, ...]


@dataclass
class OlistOrders:
    """Every readable order with the row errors met on the way."""

    orders: list[OlistOrder] = field(default_factory=list)
    numbers: list[int] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)
    quirks: Quirks = field(default_factory=Quirks)


# ------------------------------------------------------------------ files and cells


def find_file(directory: Path, table: str) -> Path:
    """The ``.csv`` or ``.csv.gz`` file of ``table`` in ``directory``; ``FileNotFoundError`` names both."""
    stem = FILES[table]
    for suffix in (".csv", ".csv.gz"):
        candidate = directory / f"{stem}{suffix}"
        if candidate.is_file():
            return candidate
    raise FileNotFoundError(f"{directory}: neither {stem}.csv nor {stem}.csv.gz found")


def missing_files(directory: Path) -> list[str]:
    """Stems of the Olist tables absent from ``directory`` (empty when the import can run)."""
    missing = []
    for table, stem in FILES.items():
        try:
            find_file(directory, table)
        except FileNotFoundError:
            missing.append(stem)
    return missing


def read_table(directory: Path, table: str) -> Iterator[tuple[int, dict[str, str]]]:
    """Yield (row number, row) of ``table``; the header is row 1, as spreadsheets count."""
    path = find_file(directory, table)
    opener = gzip.open if path.suffix == ".gz" else open
    # utf-8-sig: the Kaggle copies of some tables start with a byte-order mark.
    with opener(path, "rt", encoding="utf-8-sig", newline="") as text:
        yield from enumerate(csv.DictReader(text), start=2)


class Cells:
    """Typed access to the cells of one row; failures raise :class:`RowError`."""

    def __init__(self, table: str, number: int, row: dict[str, str], zone: tzinfo) -> None:
        self.table, self.number, self.row, self.zone = table, number, row, zone

    def error(self, column: str, problem: str) -> RowError:
        return RowError(self.table, self.number, column, self.row.get(column) or "", problem)

    def text(self, column: str) -> str | None:
        value = (self.row.get(column) or "").strip()
        return value or None

    def required(self, column: str) -> str:
        value = self.text(column)
        if value is None:
            raise self.error(column, "is empty")
        return value

    def time(self, column: str) -> datetime | None:
        """A local ``YYYY-MM-DD HH:MM:SS`` in the shop's zone, as aware UTC.

        Times that do not exist locally (Brazil's DST began at midnight) are read with the
        offset in force before the change, as ``zoneinfo`` does for ``fold=0``.
        """
        value = self.text(column)
        if value is None:
            return None
        try:
            return datetime.fromisoformat(value).replace(tzinfo=self.zone).astimezone(UTC)
        except ValueError:
            raise self.error(column, "is not a date and time like 2017-10-02 10:56:33") from None

    def integer(self, column: str) -> int | None:
        value = self.text(column)
        if value is None:
            return None
        try:
            # pandas-written copies render integers with missing values as floats ("225.0").
            number = Decimal(value)
        except InvalidOperation:
            raise self.error(column, "is not a number") from None
        if number != number.to_integral_value():
            raise self.error(column, "is not a whole number")
        return int(number)

    def cents(self, column: str) -> int:
        """A decimal amount as exact integer cents (never through a float)."""
        value = self.required(column)
        try:
            amount = Decimal(value)
        except InvalidOperation:
            raise self.error(column, "is not a decimal amount like 58.90") from None
        if not amount.is_finite() or amount != amount.quantize(_CENT):
            raise self.error(column, "has more than two decimal places")
        return int(amount * 100)


def zip_prefix(value: str | None) -> str | None:
    """Brazilian CEP prefixes are five digits; spreadsheets drop the leading zeros."""
    if value is None:
        return None
    return value.zfill(5) if value.isdigit() else value


# ------------------------------------------------------------------ master data


@dataclass
class Rows(Generic[_T]):
    """Records read from one table, the row number of each, and the rows that failed."""

    records: list[_T] = field(default_factory=list)
    numbers: list[int] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)


def _collect(directory: Path, table: str, zone: tzinfo, build: Callable[[Cells], _T]) -> Rows[_T]:
    result: Rows[_T] = Rows()
    for number, row in read_table(directory, table):
        try:
            result.records.append(build(Cells(table, number, row, zone)))
        except RowError as error:
            result.errors.append(error)
            continue
        result.numbers.append(number)
    return result


def read_suppliers(directory: Path, zone: tzinfo) -> Rows[SupplierDetails]:
    """Sellers as suppliers (they dispatch the parcels), with their CEP prefix, city and state."""
    return _collect(
        directory,
        "sellers",
        zone,
        lambda cells: SupplierDetails(
            ref=cells.required("seller_id"),
            zip_prefix=zip_prefix(cells.text("seller_zip_code_prefix")),
            city=cells.text("seller_city"),
            region=cells.text("seller_state"),
        ),
    )


def read_products(directory: Path, zone: tzinfo) -> Rows[ProductDetails]:
    """Products with category, weight, dimensions and photo count."""
    return _collect(
        directory,
        "products",
        zone,
        lambda cells: ProductDetails(
            ref=cells.required("product_id"),
            category=cells.text("product_category_name"),
            weight_g=cells.integer("product_weight_g"),
            length_cm=cells.integer("product_length_cm"),
            height_cm=cells.integer("product_height_cm"),
            width_cm=cells.integer("product_width_cm"),
            photos=cells.integer("product_photos_qty"),
        ),
    )


def read_payments(directory: Path, zone: tzinfo) -> Rows[PaymentData]:
    """Payments per order; values become exact cents."""
    return _collect(
        directory,
        "payments",
        zone,
        lambda cells: PaymentData(
            order_ref=cells.required("order_id"),
            sequence=cells.integer("payment_sequential") or 0,
            method=cells.required("payment_type"),
            installments=cells.integer("payment_installments") or 0,
            value_cents=cells.cents("payment_value"),
        ),
    )


def read_feedback(directory: Path, zone: tzinfo) -> Rows[FeedbackData]:
    """Reviews as customer feedback, keyed (review_id, order_id): Olist reuses review ids."""
    return _collect(
        directory,
        "reviews",
        zone,
        lambda cells: FeedbackData(
            ref=cells.required("review_id"),
            order_ref=cells.required("order_id"),
            score=cells.integer("review_score") or 0,
            title=(cells.text("review_comment_title") or "")[:200] or None,
            comment=cells.text("review_comment_message"),
            created_at=cells.time("review_creation_date"),
            answered_at=cells.time("review_answer_timestamp"),
            source=SOURCE,
        ),
    )


def read_zip_locations(directory: Path, zone: tzinfo) -> Rows[ZipLocation]:
    """One centroid per CEP prefix: the mean of its points; city and state as most often named.

    The geolocation table has a million rows, so it is read and aggregated with pandas (a
    Python loop over its cells took a fifth of the whole import); the checks are those of the
    other readers: an empty prefix or a coordinate that is not a number is a row error naming
    the row and column, and the row is left out. Ties between names go to the first one met.
    """
    path = find_file(directory, "geolocation")
    columns = ["geolocation_zip_code_prefix", "geolocation_lat", "geolocation_lng",
               "geolocation_city", "geolocation_state"]
    frame = pd.read_csv(path, usecols=columns, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    frame.columns = ["prefix", "lat_text", "lng_text", "city", "state"]
    result: Rows[ZipLocation] = Rows()
    frame["row"] = np.arange(2, len(frame) + 2)
    frame["prefix"] = frame["prefix"].str.strip()
    frame["lat"] = pd.to_numeric(frame["lat_text"].str.strip(), errors="coerce")
    frame["lng"] = pd.to_numeric(frame["lng_text"].str.strip(), errors="coerce")
    bad_prefix = frame["prefix"] == ""
    bad_lat = ~bad_prefix & frame["lat"].isna()
    bad_lng = ~bad_prefix & ~bad_lat & frame["lng"].isna()
    problems = [
        (bad_prefix, "geolocation_zip_code_prefix", "prefix", "is empty"),
        (bad_lat, "geolocation_lat", "lat_text", "is not a decimal coordinate"),
        (bad_lng, "geolocation_lng", "lng_text", "is not a decimal coordinate"),
    ]
    for mask, column, source, problem in problems:
        for row, value in zip(frame.loc[mask, "row"], frame.loc[mask, source], strict=True):
            problem_text = "is empty" if not value.strip() else problem
            result.errors.append(RowError("geolocation", int(row), column, value, problem_text))
    result.errors.sort(key=lambda error: error.row)
    good = frame[~(bad_prefix | bad_lat | bad_lng)].copy()
    good["prefix"] = good["prefix"].map(zip_prefix)
    centroids = good.groupby("prefix", sort=False)[["lat", "lng"]].mean()
    names = (
        good.assign(city=good["city"].replace("", None), state=good["state"].replace("", None))
        .groupby(["prefix", "city", "state"], sort=False, dropna=False)["row"]
        .agg(["size", "min"])
        .reset_index()
        .sort_values(["prefix", "size", "min"], ascending=[True, False, True])
        .drop_duplicates("prefix")
        .set_index("prefix")
    )
    for prefix, lat, lng in zip(centroids.index, centroids["lat"], centroids["lng"], strict=True):
        city, region = names.at[prefix, "city"], names.at[prefix, "state"]
        result.records.append(
            ZipLocation(
                str(prefix),
                round(float(lat), 8),
                round(float(lng), 8),
                city if isinstance(city, str) else None,
                region if isinstance(region, str) else None,
            )
        )
        result.numbers.append(0)  # an aggregate of many rows, not one
    return result


def _coordinate(cells: Cells, column: str) -> float:
    try:
        return float(cells.required(column))
    except ValueError:
        raise cells.error(column, "is not a decimal coordinate") from None


# ------------------------------------------------------------------ orders


@dataclass(frozen=True, slots=True)
class _Item:
    line: OrderLineData
    seller_ref: str


def _read_customers(directory: Path, zone: tzinfo, errors: list[RowError]) -> dict[str, CustomerData]:
    customers: dict[str, CustomerData] = {}
    for number, row in read_table(directory, "customers"):
        cells = Cells("customers", number, row, zone)
        try:
            ref = cells.required("customer_id")
            customers[ref] = CustomerData(
                ref=ref,
                person_ref=cells.text("customer_unique_id"),
                language="pt_BR",
                zip_prefix=zip_prefix(cells.text("customer_zip_code_prefix")),
                city=cells.text("customer_city"),
                region=cells.text("customer_state"),
                country="BR",
            )
        except RowError as error:
            errors.append(error)
    return customers


def _read_items(directory: Path, zone: tzinfo, errors: list[RowError]) -> dict[str, list[_Item]]:
    items: dict[str, list[_Item]] = defaultdict(list)
    for number, row in read_table(directory, "items"):
        cells = Cells("items", number, row, zone)
        try:
            order_ref = cells.required("order_id")
            line_no = cells.integer("order_item_id")
            if line_no is None or line_no < 1:
                raise cells.error("order_item_id", "must be a line number from 1")
            line = OrderLineData(
                line_no=line_no,
                product_ref=cells.text("product_id"),
                supplier_ref=cells.text("seller_id"),
                quantity=1,
                unit_price_cents=cells.cents("price"),
                freight_cents=cells.cents("freight_value"),
                dispatch_deadline=cells.time("shipping_limit_date"),
            )
        except RowError as error:
            errors.append(error)
            continue
        items[order_ref].append(_Item(line, line.supplier_ref or ""))
    return items


def read_orders(directory: Path, zone: tzinfo, *, seller_regions: Mapping[str, str | None]) -> OlistOrders:
    """Every order with its customer, lines, milestones, shipment and tracking events.

    ``seller_regions`` (seller id → state) gives each shipment its origin: the seller of the
    order's first item, as Olist ships per seller.
    """
    result = OlistOrders()
    customers = _read_customers(directory, zone, result.errors)
    items = _read_items(directory, zone, result.errors)
    for number, row in read_table(directory, "orders"):
        cells = Cells("orders", number, row, zone)
        try:
            result.orders.append(_order(cells, customers, items, seller_regions, result.quirks))
        except RowError as error:
            result.errors.append(error)
            continue
        result.numbers.append(number)
    known = {o.order.ref for o in result.orders}
    for ref in sorted(set(items) - known):
        result.errors.append(RowError("items", 0, "order_id", ref, "no readable order with this id"))
    return result


def _order(
    cells: Cells,
    customers: Mapping[str, CustomerData],
    items: Mapping[str, list[_Item]],
    seller_regions: Mapping[str, str | None],
    quirks: Quirks,
) -> OlistOrder:
    ref = cells.required("order_id")
    status = cells.required("order_status")
    customer_ref = cells.required("customer_id")
    customer = customers.get(customer_ref)
    if customer is None:
        raise cells.error("customer_id", "no readable customer with this id")
    purchased = cells.time("order_purchase_timestamp")
    if purchased is None:
        raise cells.error("order_purchase_timestamp", "is empty")
    approved = cells.time("order_approved_at")
    handed = cells.time("order_delivered_carrier_date")
    delivered = cells.time("order_delivered_customer_date")
    promised = cells.time("order_estimated_delivery_date")
    lines = sorted(items.get(ref, ()), key=lambda item: item.line.line_no)
    order = UpsertOrder(
        ref=ref,
        purchased_at=purchased,
        promised_at=promised,
        currency="BRL",
        customer=customer,
        lines=tuple(item.line for item in lines),
        milestones=_milestones(status, purchased, approved, handed, delivered),
        source=SOURCE,
    )
    _count_quirks(quirks, status, approved, handed, delivered)
    if handed is None and status not in _SHIPPED_STATUSES:
        return OlistOrder(order, None, ())
    shipment = UpsertShipment(
        order_ref=ref,
        carrier_code=CARRIER_CODE,
        tracking_number=ref,
        origin_region=seller_regions.get(lines[0].seller_ref) if lines else None,
        destination_region=customer.region,
        promised_at=promised,
        source=SOURCE,
    )
    return OlistOrder(order, shipment, _events(ref, handed, delivered))


def _milestones(
    status: str,
    purchased: datetime,
    approved: datetime | None,
    handed: datetime | None,
    delivered: datetime | None,
) -> tuple[tuple[OrderMilestone, datetime], ...]:
    """Approval at its own date; the final status, which Olist does not date, at the latest known moment."""
    milestones: list[tuple[OrderMilestone, datetime]] = []
    if approved is not None:
        milestones.append((OrderMilestone.approved, approved))
    reached = _STATUS_MILESTONES.get(status)
    if reached is not None and not (reached is OrderMilestone.approved and approved is not None):
        latest = max(moment for moment in (purchased, approved, handed, delivered) if moment is not None)
        milestones.append((reached, latest))
    return tuple(milestones)


def _events(ref: str, handed: datetime | None, delivered: datetime | None) -> tuple[RecordTrackingEvent, ...]:
    events = []
    if handed is not None:
        events.append(
            RecordTrackingEvent(
                carrier_code=CARRIER_CODE,
                tracking_number=ref,
                status=ShipmentStatus.picked_up,
                occurred_at=handed,
                raw_code="delivered_carrier",
                raw_text="order handed to the logistics partner",
                source=SOURCE,
            )
        )
    if delivered is not None:
        events.append(
            RecordTrackingEvent(
                carrier_code=CARRIER_CODE,
                tracking_number=ref,
                status=ShipmentStatus.delivered,
                occurred_at=delivered,
                raw_code="delivered_customer",
                raw_text="order delivered to the customer",
                source=SOURCE,
            )
        )
    return tuple(events)


def _count_quirks(
    quirks: Quirks,
    status: str,
    approved: datetime | None,
    handed: datetime | None,
    delivered: datetime | None,
) -> None:
    if handed is not None and approved is not None and handed < approved:
        quirks.carrier_before_approval += 1
    if status == "delivered" and delivered is None:
        quirks.delivered_without_date += 1
    if status == "canceled" and delivered is not None:
        quirks.canceled_with_delivery += 1
    if status in _SHIPPED_STATUSES and handed is None:
        quirks.shipped_without_handoff += 1
    if handed is not None and delivered is not None and delivered < handed:
        quirks.delivery_before_handoff += 1
