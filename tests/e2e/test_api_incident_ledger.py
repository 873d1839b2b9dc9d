"""``/api/v1/incidents/{ref}/compensation`` and ``…/claims`` end to end (U6, U7, D5).

An API key has scopes but no role: what a key without ``incidents:approve`` records waits for
approval whatever the amount; approving needs that scope. Each write is one transaction with
its timeline and outbox rows; bad input is 422 naming the field and writes nothing.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

from orderwatch.adapters.db.tables import CompensationRow, IncidentTimelineRow, OrderRow, OutboxRow
from orderwatch.bootstrap import App
from tests.conftest import START
from tests.e2e.api_support import Api, make_api, order_body, shipment_body

READ = "incidents:read"
COMPENSATE = (READ, "incidents:compensate")
APPROVE = (READ, "incidents:approve")
COMPENSATE_AND_APPROVE = (READ, "incidents:compensate", "incidents:approve")
CLAIMS = (READ, "incidents:claims")
ORDER_VALUE = 11_230  # order_body: 2 × 49.90 + 12.50 freight


@pytest.fixture
def api(app: App) -> Iterator[Api]:
    yield from make_api(app)


def _case(api: Api, order_ref: str) -> str:
    api.post("/orders", order_body(order_ref, START - timedelta(days=20)))
    api.post("/shipments", shipment_body(order_ref, f"TRK-{order_ref}"))
    response = api.post("/incidents", {"order_ref": order_ref, "cause": "lost_parcel"})
    assert response.status_code == 201, response.text
    return str(response.json()["ref"])


def _post(api: Api, path: str, body: Any, scopes: tuple[str, ...]) -> Any:
    return api.client.post(f"/api/v1{path}", json=body, headers=api.headers_for(*scopes))


def _written(api: Api) -> tuple[list[str], list[str]]:
    """(timeline kinds, incident outbox topics) so far, oldest first."""
    with api.app.session_factory() as session:
        kinds = list(session.scalars(select(IncidentTimelineRow.kind).order_by(IncidentTimelineRow.id)))
        topics = list(session.scalars(select(OutboxRow.topic).order_by(OutboxRow.id)))
    return kinds, [t for t in topics if t.startswith("incident.")]


def test_a_key_without_the_approve_scope_records_only_pending_entries(api: Api) -> None:
    ref = _case(api, "L-1")

    coupon = _post(
        api, f"/incidents/{ref}/compensation", {"kind": "coupon", "amount_cents": 1_000}, COMPENSATE
    )
    free = _post(api, f"/incidents/{ref}/compensation", {"kind": "redelivery", "amount_cents": 0}, COMPENSATE)
    kinds, topics = _written(api)

    assert (coupon.status_code, free.status_code) == (201, 201)
    assert coupon.json() == {
        "id": coupon.json()["id"],
        "status": "pending",
        "amount_cents": 1_000,
        "currency": "BRL",
        "needs_approval_by": "cs_agent",  # the least senior role whose limit covers 10.00
        "linked_order": None,
    }
    assert free.json()["status"] == "pending"  # even a zero-cost redelivery: a key has no limit
    assert kinds[-2:] == ["compensation_requested", "compensation_requested"]
    assert topics[-2:] == ["incident.compensation_requested", "incident.compensation_requested"]
    listed = api.client.get(f"/api/v1/incidents/{ref}/compensation", headers=api.headers_for(READ)).json()
    assert [(i["kind"], i["status"], i["needs_approval_by"]) for i in listed["items"]] == [
        ("coupon", "pending", "cs_agent"),
        ("redelivery", "pending", "logistics_agent"),
    ]
    assert listed["cost"]["net_cents"] == 0  # pending entries are not cost


def test_approving_needs_the_approve_scope_and_executes_the_entry(api: Api) -> None:
    ref = _case(api, "L-2")
    entry = _post(api, f"/incidents/{ref}/compensation", {"kind": "reshipment"}, COMPENSATE).json()
    path = f"/incidents/{ref}/compensation/{entry['id']}"

    refused = _post(api, f"{path}/approve", None, COMPENSATE)
    approved = _post(api, f"{path}/approve", None, APPROVE)
    twice = _post(api, f"{path}/approve", None, APPROVE)
    kinds, topics = _written(api)

    assert refused.status_code == 403
    assert "incidents:approve" in refused.json()["error"]["message"]
    assert approved.status_code == 200, approved.text
    assert (approved.json()["status"], approved.json()["amount_cents"]) == ("approved", ORDER_VALUE)
    assert approved.json()["linked_order"] == "L-2-R1"
    assert twice.status_code == 409
    assert kinds[-2:] == ["compensation_requested", "compensation_recorded"]
    assert topics[-1] == "incident.compensation_recorded"
    with api.app.session_factory() as session:
        (row,) = session.scalars(select(CompensationRow))
        assert row.status == "approved"
        assert row.decided_by is not None
        assert row.decided_by.startswith("api_key:")
        assert session.scalar(select(OrderRow.reshipment_of_id).where(OrderRow.ref == "L-2-R1")) is not None


def test_a_key_with_the_approve_scope_records_approved_and_rejects_with_a_reason(api: Api) -> None:
    ref, other = _case(api, "L-3"), _case(api, "L-4")
    refund = _post(api, f"/incidents/{ref}/compensation", {"kind": "full_refund"}, COMPENSATE_AND_APPROVE)
    pending = _post(
        api, f"/incidents/{ref}/compensation", {"kind": "coupon", "amount_cents": 500}, COMPENSATE
    )
    path = f"/incidents/{ref}/compensation/{pending.json()['id']}/reject"

    no_reason = _post(api, path, {"reason": ""}, APPROVE)
    wrong_case = _post(api, path.replace(ref, other), {"reason": "duplicate"}, APPROVE)
    rejected = _post(api, path, {"reason": "duplicate of the refund"}, APPROVE)
    listed = api.get(f"/incidents/{ref}/compensation").json()

    assert (refund.status_code, refund.json()["status"], refund.json()["amount_cents"]) == (
        201,
        "approved",
        ORDER_VALUE,
    )
    assert no_reason.status_code == 422
    assert no_reason.json()["error"]["field"] == "reason"
    assert wrong_case.status_code == 404
    assert rejected.json() == {"id": pending.json()["id"], "status": "rejected"}
    assert [i["status"] for i in listed["items"]] == ["approved", "rejected"]
    assert listed["cost"] == {
        "currency": "BRL",
        "compensation_cents": ORDER_VALUE,
        "recovered_cents": 0,
        "net_cents": ORDER_VALUE,
    }
    assert _written(api)[0][-1] == "compensation_rejected"


@pytest.mark.parametrize(
    ("body_case", "field"),
    [
        ({"kind": "cash", "amount_cents": 100}, "kind"),
        ({"kind": "coupon", "amount_cents": -5}, "amount_cents"),
        ({"kind": "coupon", "amount_cents": "ten"}, "amount_cents"),
        ({"kind": "coupon", "amount_cents": 100, "currency": "brl"}, "currency"),
        ({"kind": "coupon", "amount_cents": 100, "approved": True}, "approved"),
        ({"kind": "coupon"}, "amount_cents"),  # a coupon needs an amount (the domain says so)
        ({"kind": "partial_refund", "amount_cents": ORDER_VALUE}, "amount_cents"),  # use full_refund
        ({"kind": "full_refund", "amount_cents": ORDER_VALUE + 1}, "amount_cents"),
    ],
)
def test_bad_compensation_is_422_naming_the_field_and_writes_nothing(
    api: Api, body_case: dict[str, Any], field: str
) -> None:
    ref = _case(api, "L-5")
    before = _written(api)

    response = _post(api, f"/incidents/{ref}/compensation", body_case, COMPENSATE_AND_APPROVE)

    assert response.status_code == 422, response.text
    assert response.json()["error"]["field"] == field
    assert _written(api) == before
    assert api.count(CompensationRow) == 0


def test_claims_are_opened_and_moved_with_the_claims_scope(api: Api) -> None:
    ref = _case(api, "L-6")

    refused = _post(api, f"/incidents/{ref}/claims", {"amount_claimed_cents": 6_000}, COMPENSATE)
    draft = _post(api, f"/incidents/{ref}/claims", {"amount_claimed_cents": 6_000}, CLAIMS)
    claim_id = draft.json()["id"]
    no_reference = _post(api, f"/incidents/claims/{claim_id}/file", {}, CLAIMS)
    close_draft = _post(api, f"/incidents/claims/{claim_id}/close", None, CLAIMS)
    filed = _post(api, f"/incidents/claims/{claim_id}/file", {"carrier_reference": "COR-1"}, CLAIMS)
    too_much = _post(api, f"/incidents/claims/{claim_id}/pay_part", {"amount_recovered_cents": 6_000}, CLAIMS)
    paid = _post(api, f"/incidents/claims/{claim_id}/pay_part", {"amount_recovered_cents": 2_500}, CLAIMS)
    unknown_step = _post(api, f"/incidents/claims/{claim_id}/lose", None, CLAIMS)
    missing = _post(api, "/incidents/claims/999999/accept", None, CLAIMS)
    listed = api.get(f"/incidents/{ref}/claims").json()

    assert refused.status_code == 403
    assert draft.status_code == 201, draft.text
    assert (draft.json()["status"], draft.json()["carrier"], draft.json()["answer_due_at"]) == (
        "draft",
        "correios",
        None,
    )
    assert no_reference.status_code == 422
    assert no_reference.json()["error"]["field"] == "carrier_reference"
    assert close_draft.status_code == 409
    assert "cannot close a draft claim" in close_draft.json()["error"]["message"]
    assert filed.status_code == 200
    assert filed.json()["carrier_reference"] == "COR-1"
    assert filed.json()["answer_due_at"] is not None
    assert too_much.status_code == 422
    assert too_much.json()["error"]["field"] == "amount_recovered_cents"
    assert (paid.json()["status"], paid.json()["amount_recovered_cents"]) == ("partially_paid", 2_500)
    assert unknown_step.status_code == 422
    assert unknown_step.json()["error"]["field"] == "path.action"
    assert missing.status_code == 404
    assert [(c["id"], c["status"]) for c in listed["items"]] == [(claim_id, "partially_paid")]
    kinds, topics = _written(api)
    assert kinds[-3:] == ["claim_drafted", "claim_filed", "claim_partially_paid"]
    assert topics[-1] == "incident.claim_partially_paid"


def test_a_claim_with_the_carriers_reference_is_filed_in_the_same_request(api: Api) -> None:
    ref = _case(api, "L-7")

    response = _post(
        api, f"/incidents/{ref}/claims", {"amount_claimed_cents": 4_000, "carrier_reference": "COR-7"}, CLAIMS
    )
    zero = _post(api, f"/incidents/{ref}/claims", {"amount_claimed_cents": 0}, CLAIMS)

    assert response.status_code == 201
    assert (response.json()["status"], response.json()["carrier_reference"]) == ("filed", "COR-7")
    assert _written(api)[0][-2:] == ["claim_drafted", "claim_filed"]
    assert zero.status_code == 422
    assert zero.json()["error"]["field"] == "amount_claimed_cents"


def test_the_ledger_routes_are_documented_in_openapi(api: Api) -> None:
    schema = api.client.get("/openapi.json").json()

    tag = "incident compensation and claims"
    paths = {
        "/api/v1/incidents/{ref}/compensation": {"get", "post"},
        "/api/v1/incidents/{ref}/compensation/{entry_id}/approve": {"post"},
        "/api/v1/incidents/{ref}/compensation/{entry_id}/reject": {"post"},
        "/api/v1/incidents/{ref}/claims": {"get", "post"},
        "/api/v1/incidents/claims/{claim_id}/{action}": {"post"},
    }
    for path, methods in paths.items():
        assert set(schema["paths"][path]) == methods
        for method in methods:
            operation = schema["paths"][path][method]
            assert operation["tags"] == [tag]
            assert operation["summary"]
    assert "incidents:approve" in {t["name"]: t for t in schema["tags"]}[tag]["description"]
    recording = schema["paths"]["/api/v1/incidents/{ref}/compensation"]["post"]
    assert "*needs approval* unless the key holds ``incidents:approve``" in recording["description"]
