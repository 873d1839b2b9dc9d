"""The delay model's forecast on the order page (D2): risk, expected window and reasons."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

from fastapi.testclient import TestClient

from orderwatch.bootstrap import App
from orderwatch.services.ports import OrderPrediction
from orderwatch.services.prediction import apply_predictions
from tests.e2e.web.conftest import seed_order


def test_order_page_shows_risk_window_and_reasons(app: App, signed_in: Callable[..., TestClient]) -> None:
    seed_order(app, ref="in-flight", days_ago=3, promised_days=10)
    with app.uow() as uow:
        order_id = uow.ingest.find_order_ids(["in-flight"])["in-flight"]
    now = app.clock.now()
    prediction = OrderPrediction(
        order_id, "in-flight", "handoff", 0.72, now + timedelta(days=4), now + timedelta(days=9),
        ("Long way from the seller: 2140 km (usual on this lane 380 km)",), "20180101-abcd1234",
    )
    apply_predictions(app.uow(), [prediction], now=now, threshold=0.5, complete=False)

    html = signed_in("cs_agent").get("/orders/in-flight").text

    assert "Delivery forecast" in html
    assert "At carrier hand-off" in html
    assert "72.0%" in html
    assert "Long way from the seller: 2140 km (usual on this lane 380 km)" in html
    assert "Model 20180101-abcd1234" in html


def test_order_page_without_prediction_has_no_forecast(
    app: App, signed_in: Callable[..., TestClient]
) -> None:
    seed_order(app, ref="quiet", days_ago=3, promised_days=10)

    html = signed_in("cs_agent").get("/orders/quiet").text

    assert "Delivery forecast" not in html
