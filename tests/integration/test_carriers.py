"""Carrier master data (D1): display names and tracking pages, validated, upserted by code."""

from __future__ import annotations

from sqlalchemy import select

from orderwatch.adapters.db.tables import CarrierRow, RejectedItemRow
from orderwatch.bootstrap import App
from orderwatch.services.ingest import ingest_orders, ingest_shipments
from orderwatch.services.master_data import import_carriers
from orderwatch.services.ports import CarrierDetails
from tests.conftest import START
from tests.factories import make_order, make_shipment


def _carriers(app: App) -> list[tuple[str, str, str | None]]:
    with app.session_factory() as session:
        columns = (CarrierRow.code, CarrierRow.name, CarrierRow.tracking_url_template)
        return [(c, n, u) for c, n, u in session.execute(select(*columns).order_by(CarrierRow.code))]


def test_carriers_named_before_or_after_their_first_shipment(app: App) -> None:
    order = make_order(purchased_at=START)
    ingest_orders(app.uow(), [order], clock=app.clock)
    ingest_shipments(app.uow(), [make_shipment(order_ref=order.ref, carrier="jadlog")], clock=app.clock)
    assert _carriers(app) == [("jadlog", "jadlog", None)]  # known only by its code so far

    outcomes = import_carriers(
        app.uow(),
        [
            CarrierDetails("jadlog", "Jadlog", "https://www.jadlog.com.br/tracking?cte={tracking_number}"),
            CarrierDetails("loggi", "Loggi"),
            CarrierDetails("bad", "Bad", "ftp://example.com/{tracking_number}"),
            CarrierDetails("nonumber", "No number", "https://example.com/track"),
        ],
        clock=app.clock,
        source="test",
    )

    assert [o.result for o in outcomes] == ["accepted", "accepted", "rejected", "rejected"]
    assert outcomes[2].reason == "tracking_url_template: must be an http(s) URL (got 'ftp://example.com/{tracking_number}')"
    assert _carriers(app) == [
        ("jadlog", "Jadlog", "https://www.jadlog.com.br/tracking?cte={tracking_number}"),
        ("loggi", "Loggi", None),
    ]
    with app.session_factory() as session:
        assert len(session.scalars(select(RejectedItemRow)).all()) == 2
    # a later shipment of a named carrier keeps the name
    second = make_order(purchased_at=START)
    ingest_orders(app.uow(), [second], clock=app.clock)
    ingest_shipments(app.uow(), [make_shipment(order_ref=second.ref, carrier="loggi")], clock=app.clock)
    assert _carriers(app)[1] == ("loggi", "Loggi", None)
