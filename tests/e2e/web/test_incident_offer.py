"""Offering a remedy from the incident page (D5, U6): CS within its approval limit, pre-filled.

The form carries the policy's suggestion; an amount above the role's limit is refused (403)
and changes nothing; logistics (no ``incidents:customer``) cannot offer; a made offer is
listed on the case and on the order page with its status, and is on the case's timeline.
"""

from __future__ import annotations

from sqlalchemy import select

from orderwatch.adapters.db.tables import IncidentTimelineRow, RemedyOfferRow
from orderwatch.bootstrap import App
from tests.e2e.web.conftest import seed_order
from tests.e2e.web.test_incident_pages import _incident, _post, staff  # noqa: F401 - the fixture


def test_cs_offers_the_suggested_remedy_within_its_limit(
    app: App,
    staff: dict[str, object],  # noqa: F811 - the fixture imported above
) -> None:
    seed_order(app, ref="o-9")
    cs, logistics = staff["cs"], staff["logistics"]
    _post(cs, "/orders/o-9/report-undelivered", {"cause": "lost_parcel"}, page="/orders/o-9")  # type: ignore[arg-type]
    ref = _incident(app).ref
    page = f"/incidents/{ref}"

    detail = cs.get(page).text  # type: ignore[attr-defined]
    assert 'data-testid="offer-form"' in detail
    assert '<option value="free_reshipment" selected>' in detail  # the policy's first offer
    assert 'data-testid="offer-form"' not in logistics.get(page).text  # type: ignore[attr-defined]

    too_much = _post(
        cs, f"/incidents/{ref}/offer", {"kind": "full_refund", "amount": "145.40", "days": "7"}, page=page
    )  # type: ignore[arg-type]
    bad_amount = _post(
        cs, f"/incidents/{ref}/offer", {"kind": "coupon", "amount": "12,3x", "days": "7"}, page=page
    )  # type: ignore[arg-type]
    refused = _post(
        logistics, f"/incidents/{ref}/offer", {"kind": "apology", "amount": "0", "days": "7"}, page=page
    )  # type: ignore[arg-type]
    made = _post(cs, f"/incidents/{ref}/offer", {"kind": "coupon", "amount": "12,90", "days": "5"}, page=page)  # type: ignore[arg-type]

    assert too_much.status_code == 403  # type: ignore[attr-defined]
    assert bad_amount.status_code == 422  # type: ignore[attr-defined]
    assert "amount" in bad_amount.text  # type: ignore[attr-defined]
    assert refused.status_code == 403  # type: ignore[attr-defined]
    assert made.status_code == 303  # type: ignore[attr-defined]
    with app.session_factory() as session:
        offers = list(session.scalars(select(RemedyOfferRow)))
        kinds = list(session.scalars(select(IncidentTimelineRow.kind)))
    assert [(o.kind, o.amount_cents, o.offered_by, o.status) for o in offers] == [
        ("coupon", 1_290, "cs", "offered")
    ]
    assert "remedy_offered" in kinds
    assert 'data-testid="offers"' in cs.get(page).text  # type: ignore[attr-defined]
    order_page = logistics.get("/orders/o-9").text  # type: ignore[attr-defined]
    assert '<tr data-status="offered">' in order_page  # recorded on the order, for every reader
