"""The shop's order history as one pandas frame, read from the database (D2).

Whatever filled the database (Olist import, CSV import, API, the demo), the models learn from the
same tables::

    orders ─┬─ customers (zip, region)          ┐
            ├─ order_lines ─ products (size)     ├─▶ one row per order, times as float days
            │              └ suppliers (zip)     │   since the Unix epoch (NaN = not happened)
            ├─ payments (installments)           │
            └─ zip_locations (seller, customer)  ┘

Times are kept as *float days* so that every later step (as-of joins, windows, differences) is
plain numpy arithmetic. Nothing here decides what is known when: that is ``features.py``'s job,
which reads the event times (``handed``, ``delivered``, ``closed`` ...) to stay leakage-free.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import numpy as np
import pandas as pd
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from orderwatch.adapters.db.tables import (
    CustomerRow,
    OrderLineRow,
    OrderRow,
    PaymentRow,
    ProductRow,
    SupplierRow,
    ZipLocationRow,
)

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
SECONDS_PER_DAY = 86_400.0
TIME_COLUMNS = (
    "purchased",
    "approved",
    "promised",
    "handed",
    "delivered",
    "canceled",
    "unavailable",
)


def to_days(moment: datetime) -> float:
    """An aware datetime as float days since the epoch (the frame's time unit)."""
    return (moment - EPOCH).total_seconds() / SECONDS_PER_DAY


def from_days(days: float) -> datetime:
    """Float days since the epoch back to an aware UTC datetime."""
    return datetime.fromtimestamp(days * SECONDS_PER_DAY, tz=UTC)


def _days(values: pd.Series) -> np.ndarray:
    stamps = pd.to_datetime(values, utc=True)
    return np.asarray((stamps - pd.Timestamp(EPOCH)).dt.total_seconds() / SECONDS_PER_DAY, dtype=float)


def load_orders(session: Session, *, order_ids: list[int] | None = None) -> pd.DataFrame:
    """One row per order with its dates, lane, seller, parcel size and payment (see module doc).

    ``order_ids`` restricts the rows (re-scoring one order); history features then come from a
    separately loaded full frame.
    """
    orders = _frame(session, _orders_query(order_ids))
    if orders.empty:
        return _empty()
    lines = _frame(session, _lines_query(order_ids))
    payments = _frame(session, _payments_query(order_ids))
    frame = orders.merge(_aggregate_lines(lines), on="id", how="left").merge(payments, on="id", how="left")
    places_query = select(ZipLocationRow.zip_prefix, ZipLocationRow.lat, ZipLocationRow.lng)
    if order_ids is not None:  # a few orders: only their places, not the whole table
        columns = [frame[c].dropna() for c in ("customer_zip", "seller_zip") if c in frame]
        zips = {zip_prefix for column in columns for zip_prefix in column}
        places_query = places_query.where(ZipLocationRow.zip_prefix.in_(sorted(zips)))
    places = _frame(session, places_query)
    frame = _with_places(frame, places)
    for column in TIME_COLUMNS:
        frame[column] = _days(frame[column])
    frame["status"] = frame["status"].astype(str)
    return frame.sort_values("purchased", kind="stable").reset_index(drop=True)


STATE_COLUMNS = ("promised", "handed", "delivered", "canceled", "unavailable")


@dataclass(frozen=True)
class OrderStates:
    """Status and event-driven dates of a few orders, in the order the database returned them."""

    ids: list[int]
    statuses: list[str]
    dates: dict[str, np.ndarray]  # STATE_COLUMNS as float days (NaN = not happened)


def load_order_states(session: Session, order_ids: list[int]) -> OrderStates:
    """Status and the event-driven dates of a few orders: what a new tracking event changes.

    One query on ``orders`` by primary key, converted without pandas (a re-score reads one
    order; per-call overhead is what counts there).
    """
    columns = [
        OrderRow.promised_at,
        OrderRow.handed_over_at,
        OrderRow.delivered_at,
        OrderRow.canceled_at,
        OrderRow.unavailable_at,
    ]
    rows = session.execute(select(OrderRow.id, OrderRow.status, *columns).where(OrderRow.id.in_(order_ids)))
    ids: list[int] = []
    statuses: list[str] = []
    dates: list[list[float]] = []
    for order_id, status, *moments in rows:
        ids.append(int(order_id))
        statuses.append(str(getattr(status, "value", status)))
        dates.append([np.nan if moment is None else to_days(moment) for moment in moments])
    table = np.array(dates, dtype=float).reshape(len(ids), len(STATE_COLUMNS))
    return OrderStates(ids, statuses, {name: table[:, j] for j, name in enumerate(STATE_COLUMNS)})


def _frame(session: Session, query: object) -> pd.DataFrame:
    result = session.execute(query)  # type: ignore[call-overload]
    return pd.DataFrame(result.fetchall(), columns=list(result.keys()))


def _orders_query(order_ids: list[int] | None) -> object:
    query = select(
        OrderRow.id,
        OrderRow.ref,
        OrderRow.status,
        OrderRow.value_cents,
        OrderRow.purchased_at.label("purchased"),
        OrderRow.approved_at.label("approved"),
        OrderRow.promised_at.label("promised"),
        OrderRow.handed_over_at.label("handed"),
        OrderRow.delivered_at.label("delivered"),
        OrderRow.canceled_at.label("canceled"),
        OrderRow.unavailable_at.label("unavailable"),
        CustomerRow.zip_prefix.label("customer_zip"),
        func.coalesce(OrderRow.destination_region, CustomerRow.region).label("customer_region"),
    ).outerjoin(CustomerRow, CustomerRow.id == OrderRow.customer_id)
    return query.where(OrderRow.id.in_(order_ids)) if order_ids is not None else query


def _lines_query(order_ids: list[int] | None) -> object:
    query = (
        select(
            OrderLineRow.order_id.label("id"),
            OrderLineRow.line_no,
            OrderLineRow.supplier_id,
            OrderLineRow.quantity,
            OrderLineRow.unit_price_cents,
            OrderLineRow.freight_cents,
            OrderLineRow.dispatch_deadline,
            ProductRow.weight_g,
            ProductRow.length_cm,
            ProductRow.height_cm,
            ProductRow.width_cm,
            ProductRow.category,
            SupplierRow.zip_prefix.label("seller_zip"),
            SupplierRow.region.label("seller_region"),
        )
        .outerjoin(ProductRow, ProductRow.id == OrderLineRow.product_id)
        .outerjoin(SupplierRow, SupplierRow.id == OrderLineRow.supplier_id)
    )
    return query.where(OrderLineRow.order_id.in_(order_ids)) if order_ids is not None else query


def _payments_query(order_ids: list[int] | None) -> object:
    query = select(
        PaymentRow.order_id.label("id"),
        func.max(PaymentRow.installments).label("installments"),
        func.count().label("payments"),
    ).group_by(PaymentRow.order_id)
    return query.where(PaymentRow.order_id.in_(order_ids)) if order_ids is not None else query


def _aggregate_lines(lines: pd.DataFrame) -> pd.DataFrame:
    if lines.empty:
        return pd.DataFrame(columns=["id"])
    lines = lines.sort_values(["id", "line_no"], kind="stable")
    quantity = lines["quantity"].fillna(1)
    lines["weight"] = lines["weight_g"].astype(float) * quantity
    lines["volume"] = (
        lines["length_cm"].astype(float) * lines["height_cm"].astype(float) * lines["width_cm"].astype(float)
    ) * quantity
    lines["price"] = lines["unit_price_cents"].astype(float) * quantity
    lines["deadline_days"] = _days(lines["dispatch_deadline"])
    grouped = lines.groupby("id", sort=False)
    first = grouped.first()
    return pd.DataFrame(
        {
            "items": grouped["quantity"].sum(),
            "sellers": grouped["supplier_id"].nunique(),
            "weight_g": grouped["weight"].sum(min_count=1),
            "volume_cm3": grouped["volume"].sum(min_count=1),
            "price_cents": grouped["price"].sum(),
            "freight_cents": grouped["freight_cents"].sum(),
            "deadline": grouped["deadline_days"].max(),
            "seller_id": first["supplier_id"],
            "seller_zip": first["seller_zip"],
            "seller_region": first["seller_region"],
            "category": first["category"],
        }
    ).reset_index()


def _with_places(frame: pd.DataFrame, places: pd.DataFrame) -> pd.DataFrame:
    places = places.set_index("zip_prefix")
    for side in ("customer", "seller"):
        key = frame[f"{side}_zip"] if f"{side}_zip" in frame else pd.Series(index=frame.index, dtype=object)
        frame[f"{side}_lat"] = key.map(places["lat"]).astype(float)
        frame[f"{side}_lng"] = key.map(places["lng"]).astype(float)
    frame["distance_km"] = haversine_km(
        frame["seller_lat"].to_numpy(),
        frame["seller_lng"].to_numpy(),
        frame["customer_lat"].to_numpy(),
        frame["customer_lng"].to_numpy(),
    )
    return frame


def haversine_km(lat1: np.ndarray, lng1: np.ndarray, lat2: np.ndarray, lng2: np.ndarray) -> np.ndarray:
    """Great-circle distance in km (NaN where a place is unknown)."""
    phi1, phi2 = np.radians(lat1), np.radians(lat2)
    dphi, dlmb = phi2 - phi1, np.radians(lng2 - lng1)
    a = np.sin(dphi / 2) ** 2 + np.cos(phi1) * np.cos(phi2) * np.sin(dlmb / 2) ** 2
    distance: np.ndarray = 2 * 6371.0 * np.arcsin(np.sqrt(np.clip(a, 0.0, 1.0)))
    return distance


def _empty() -> pd.DataFrame:
    return pd.DataFrame(columns=["id", "ref", "status", *TIME_COLUMNS, "deadline"])
