"""The Olist import (D1) on SQLite and PostgreSQL: a tiny sample with the quirks, and the full set."""

from __future__ import annotations

import csv
import gzip
import io
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from orderwatch.adapters.clock import SimulatedClock
from orderwatch.adapters.db.kpi_queries import load_outcomes
from orderwatch.adapters.db.tables import (
    CustomerRow,
    FeedbackRow,
    OrderLineRow,
    OrderRow,
    PaymentRow,
    ProductRow,
    ShipmentRow,
    SupplierRow,
    TrackingEventRow,
    ZipLocationRow,
)
from orderwatch.bootstrap import App
from orderwatch.domain.kpis import compute
from orderwatch.entrypoints.cli.olist_pipeline import import_olist
from tests.conftest import OLIST_DIR, missing

TABLES = {
    CustomerRow: "customers",
    OrderRow: "orders",
    OrderLineRow: "order_lines",
    SupplierRow: "suppliers",
    ProductRow: "products",
    ShipmentRow: "shipments",
    TrackingEventRow: "tracking_events",
    PaymentRow: "payments",
    FeedbackRow: "feedback",
    ZipLocationRow: "zip_locations",
}
# Olist's last event is in October 2018; events later than "now" + 26 h are refused as input errors.
AFTER_THE_DATA = datetime(2019, 1, 1, tzinfo=UTC)
ORDER_HEADER = (
    "order_id,customer_id,order_status,order_purchase_timestamp,order_approved_at,"
    "order_delivered_carrier_date,order_delivered_customer_date,order_estimated_delivery_date"
)
SAMPLE = {
    "olist_orders_dataset": [
        ORDER_HEADER,
        "o1,c1,delivered,2018-03-01 10:00:00,2018-03-01 10:30:00,2018-03-02 09:00:00,"
        "2018-03-08 15:00:00,2018-03-12 00:00:00",
        "o2,c2,canceled,2018-03-01 11:00:00,2018-03-01 11:10:00,2018-03-03 09:00:00,"
        "2018-03-09 12:00:00,2018-03-20 00:00:00",
        "o3,c3,delivered,2018-03-02 08:00:00,2018-03-02 08:05:00,2018-03-03 10:00:00,,2018-03-15 00:00:00",
        "o4,c4,shipped,2018-03-02 09:00:00,2018-03-04 09:00:00,2018-03-03 09:00:00,,2018-03-16 00:00:00",
        "o5,c5,invoiced,2018-03-03 09:00:00,2018-03-03 09:30:00,,,2018-03-17 00:00:00",
        "o6,c6,canceled,2018-03-03 10:00:00,,,,not-a-date",
    ],
    "olist_customers_dataset": [
        "customer_id,customer_unique_id,customer_zip_code_prefix,customer_city,customer_state",
        "c1,p1,1310,sao paulo,SP",
        "c2,p1,20040,rio de janeiro,RJ",
        "c3,p3,30110,belo horizonte,MG",
        "c4,p4,40010,salvador,BA",
        "c5,p5,1310,sao paulo,SP",
        "c6,p6,1310,sao paulo,SP",
    ],
    "olist_order_items_dataset": [
        "order_id,order_item_id,product_id,seller_id,shipping_limit_date,price,freight_value",
        "o1,1,pr1,s1,2018-03-05 10:00:00,58.90,13.29",
        "o1,2,pr2,s2,2018-03-05 10:00:00,10.00,0.00",
        "o2,1,pr1,s2,2018-03-05 11:00:00,100.00,20.00",
        "o3,1,pr2,s1,2018-03-06 08:00:00,5.50,1.25",
        "o4,1,pr1,s1,2018-03-06 09:00:00,7.00,1.00",
        "o5,1,pr1,s1,2018-03-07 09:00:00,9.99,2.01",
    ],
    "olist_sellers_dataset": [
        "seller_id,seller_zip_code_prefix,seller_city,seller_state",
        "s1,1310,sao paulo,SP",
        "s2,20040,rio,RJ",
    ],
    "olist_products_dataset": [
        "product_id,product_category_name,product_name_lenght,product_description_lenght,product_photos_qty,"
        "product_weight_g,product_length_cm,product_height_cm,product_width_cm",
        "pr1,perfumaria,40,287,1,225,16,10,14",
        "pr2,,,,,,,,",
    ],
    "olist_order_payments_dataset": [
        "order_id,payment_sequential,payment_type,payment_installments,payment_value",
        "o1,1,credit_card,2,62.19",
        "o1,2,voucher,1,20.00",
        "o2,1,boleto,1,120.00",
        "o5,1,boleto,1,12.345",
    ],
    "olist_order_reviews_dataset": [
        "review_id,order_id,review_score,review_comment_title,review_comment_message,review_creation_date,"
        "review_answer_timestamp",
        'r1,o1,5,,"chegou antes\ndo prazo",2018-03-09 00:00:00,2018-03-10 12:00:00',
        "r1,o2,1,,,2018-03-10 00:00:00,",
        "r3,o3,6,,,2018-03-10 00:00:00,",
        "r4,unknown-order,3,,,2018-03-10 00:00:00,",
    ],
    "olist_geolocation_dataset": [
        "geolocation_zip_code_prefix,geolocation_lat,geolocation_lng,geolocation_city,geolocation_state",
        "01310,-23.5,-46.6,sao paulo,SP",
        "01310,-23.7,-46.8,sao paulo,SP",
        "01310,-23.6,-46.7,são paulo,SP",
        "20040,-22.9,-43.2,rio de janeiro,RJ",
    ],
}


def _write_sample(folder: Path) -> Path:
    for index, (stem, lines) in enumerate(SAMPLE.items()):
        text = "\n".join(lines) + "\n"
        # Half gzipped, half plain: both spellings of a Kaggle download must work.
        if index % 2:
            (folder / f"{stem}.csv").write_text(text, encoding="utf-8")
        else:
            with gzip.open(folder / f"{stem}.csv.gz", "wt", encoding="utf-8") as handle:
                handle.write(text)
    return folder


def _counts(app: App) -> dict[str, int]:
    with app.session_factory() as session:
        return {
            name: int(session.scalar(select(func.count()).select_from(row)) or 0)
            for row, name in TABLES.items()
        }


def _order(app: App, ref: str) -> OrderRow:
    with app.session_factory() as session:
        return session.scalars(select(OrderRow).where(OrderRow.ref == ref)).one()


def test_sample_import_handles_the_olist_quirks(app: App, clock: SimulatedClock, tmp_path: Path) -> None:
    clock.advance_to(AFTER_THE_DATA)
    folder = _write_sample(tmp_path)

    report = import_olist(app, folder)

    assert report.counts == {
        "orders": 5,
        "order_lines": 6,
        "customers": 5,
        "suppliers": 2,
        "products": 2,
        "shipments": 4,
        "tracking_events": 6,
        "payments": 3,
        "feedback": 2,
        "zip_locations": 2,
    }
    assert report.quirks == {
        "carrier_before_approval": 1,
        "delivered_without_date": 1,
        "canceled_with_delivery": 1,
        "shipped_without_handoff": 0,
        "delivery_before_handoff": 0,
    }
    assert sorted((r["file"], r["row"], r["column"]) for r in report.rejects) == [
        ("orders", 7, "order_estimated_delivery_date"),
        ("payments", 5, "payment_value"),
        ("reviews", 4, "score"),
        ("reviews", 5, "order_ref"),
    ]
    assert _counts(app) == {k: v for k, v in report.counts.items()}
    first = _order(app, "o1")
    assert first.status == "delivered"
    assert first.value_cents == 5_890 + 1_329 + 1_000
    assert first.promised_at == datetime(2018, 3, 12, 3, 0, tzinfo=UTC)
    assert first.delivered_at == datetime(2018, 3, 8, 18, 0, tzinfo=UTC)
    assert first.origin_region == "SP"
    assert first.destination_region == "SP"
    # The shop's cancellation wins (domain rule), the delivery scan is still kept; no date, no scan.
    assert (_order(app, "o2").status, _order(app, "o2").delivered_at) == (
        "canceled",
        datetime(2018, 3, 9, 15, 0, tzinfo=UTC),
    )
    assert _order(app, "o3").status == "shipped"
    assert _order(app, "o4").status == "shipped"
    assert _order(app, "o5").status == "invoiced"
    with app.session_factory() as session:
        customer = session.scalars(select(CustomerRow).where(CustomerRow.ref == "c1")).one()
        centroid = session.get(ZipLocationRow, "01310")
    assert (customer.zip_prefix, customer.person_ref, customer.language, customer.region) == (
        "01310",
        "p1",
        "pt_BR",
        "SP",
    )
    assert centroid is not None
    assert (round(centroid.lat, 6), round(centroid.lng, 6), centroid.city) == (-23.6, -46.7, "sao paulo")


def test_sample_import_twice_changes_nothing(app: App, clock: SimulatedClock, tmp_path: Path) -> None:
    clock.advance_to(AFTER_THE_DATA)
    folder = _write_sample(tmp_path)
    first = import_olist(app, folder)
    stored = _counts(app)

    second = import_olist(app, folder)

    assert second.counts == first.counts
    assert _counts(app) == stored


def _read(name: str) -> list[dict[str, str]]:
    path = OLIST_DIR / f"{name}.csv.gz"
    with gzip.open(path, "rb") as raw, io.TextIOWrapper(raw, encoding="utf-8-sig", newline="") as text:
        return list(csv.DictReader(text))


@pytest.mark.slow
def test_full_olist_import_has_exact_counts(app: App, clock: SimulatedClock) -> None:
    clock.advance_to(AFTER_THE_DATA)
    if not (OLIST_DIR / "olist_orders_dataset.csv.gz").is_file():
        missing(f"Olist data not found in {OLIST_DIR}")
    orders = _read("olist_orders_dataset")
    shipped = [
        o
        for o in orders
        if o["order_delivered_carrier_date"] or o["order_status"] in {"shipped", "delivered"}
    ]
    events = sum(
        bool(o["order_delivered_carrier_date"]) + bool(o["order_delivered_customer_date"]) for o in shipped
    )
    reviews = {(r["review_id"], r["order_id"]) for r in _read("olist_order_reviews_dataset")}
    prefixes = {g["geolocation_zip_code_prefix"] for g in _read("olist_geolocation_dataset")}
    expected = {
        "orders": 99_441,
        "order_lines": 112_650,
        "customers": 99_441,
        "suppliers": 3_095,
        "products": 32_951,
        "shipments": len(shipped),
        "tracking_events": events,
        "payments": 103_886,
        "feedback": len(reviews),
        "zip_locations": len(prefixes),
    }

    report = import_olist(app, OLIST_DIR)

    assert report.counts == expected
    assert report.rejects == []
    assert _counts(app) == expected
    assert Counter(report.quirks) == Counter(
        carrier_before_approval=1_359,
        delivered_without_date=8,
        canceled_with_delivery=6,
        shipped_without_handoff=2,
        delivery_before_handoff=23,
    )
    # The first order of the file: canceled, purchased 2016-09-05 00:15:34 in São Paulo (UTC-3).
    canceled = _order(app, "e5fa5a7210941f7d56d0208e4e071d35")
    assert canceled.status == "canceled"
    assert canceled.purchased_at == datetime(2016, 9, 5, 3, 15, 34, tzinfo=UTC)
    assert canceled.promised_at == datetime(2016, 10, 28, 2, 0, tzinfo=UTC)  # daylight saving time: UTC-2
    sample = _order(app, "00010242fe8c5a6d1ba2dd792cb16214")
    assert (sample.status, sample.value_cents) == ("delivered", 5_890 + 1_329)
    # Re-importing is covered on the sample (test_sample_import_twice_changes_nothing): a second
    # full import would double the slowest test of the suite.
    _assert_kpis_match_an_independent_computation(app, orders)


def _assert_kpis_match_an_independent_computation(app: App, orders: list[dict[str, str]]) -> None:
    """Issue 3: the KPI module on the imported data agrees with plain CSV arithmetic."""
    scores: dict[str, list[int]] = {}
    for review in _read("olist_order_reviews_dataset"):
        scores.setdefault(review["order_id"], []).append(int(review["review_score"]))
    delivered = [
        o
        for o in orders
        if o["order_status"] == "delivered"
        and o["order_delivered_customer_date"]
        and o["order_estimated_delivery_date"]
    ]
    # Same-format local timestamps compare correctly as text; [:10] is the local calendar day.
    late = [o for o in delivered if o["order_delivered_customer_date"] > o["order_estimated_delivery_date"]]
    late_by_day = [
        o
        for o in delivered
        if o["order_delivered_customer_date"][:10] > o["order_estimated_delivery_date"][:10]
    ]
    late_ids = {o["order_id"] for o in late}

    def mean_score(chosen: list[dict[str, str]]) -> float:
        means = [
            sum(scores[o["order_id"]]) / len(scores[o["order_id"]]) for o in chosen if o["order_id"] in scores
        ]
        return sum(means) / len(means)

    with app.read_session() as session:
        figures = compute(load_outcomes(session), local=ZoneInfo(app.settings.shop_timezone))

    assert (len(delivered), len(late), len(late_by_day)) == (96_470, 7_826, 6_534)
    assert (figures.delivered_with_promise, figures.late, figures.late_by_day) == (96_470, 7_826, 6_534)
    assert round(figures.delay_rate or 0, 4) == 0.0811
    assert round(figures.delay_rate_by_day or 0, 4) == 0.0677
    assert figures.mean_score_late == pytest.approx(mean_score(late))
    assert figures.mean_score_on_time == pytest.approx(
        mean_score([o for o in delivered if o["order_id"] not in late_ids])
    )
    assert (round(figures.mean_score_late or 0, 2), round(figures.mean_score_on_time or 0, 2)) == (2.57, 4.29)
