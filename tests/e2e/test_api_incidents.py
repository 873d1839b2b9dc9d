"""``/api/v1/incidents`` end to end (U3–U8, D13): report, walk, permissions per step, detail, list."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest

from orderwatch.adapters.db.tables import IncidentTimelineRow
from orderwatch.bootstrap import App
from orderwatch.domain.claims import ClaimAction
from orderwatch.domain.compensation import CompensationKind
from orderwatch.domain.roles import Role
from orderwatch.services.incidents import IncidentConfig
from orderwatch.services.remedy_ledger import move_claim, open_claim, record_compensation
from tests.conftest import START
from tests.e2e.api_support import Api, iso, make_api, order_body, shipment_body

LEAD = ("incidents:read", "incidents:lead")
CS = ("incidents:read", "incidents:report", "incidents:customer")
LOGISTICS = ("incidents:read", "incidents:report", "incidents:carrier")


@pytest.fixture
def api(app: App) -> Iterator[Api]:
    yield from make_api(app)


def _post(api: Api, path: str, body: object, scopes: tuple[str, ...]) -> object:
    return api.client.post(f"/api/v1{path}", json=body, headers=api.headers_for(*scopes))


def test_each_role_moves_only_its_own_steps(api: Api) -> None:
    api.post("/orders", order_body("o-1", START - timedelta(days=20)))
    reported = _post(api, "/incidents", {"order_ref": "o-1", "cause": "lost_parcel"}, CS)
    assert reported.status_code == 201  # type: ignore[attr-defined]
    ref = reported.json()["ref"]  # type: ignore[attr-defined]

    def move(action: str, scopes: tuple[str, ...], **arguments: str) -> int:
        body = {"action": action, "arguments": arguments}
        return _post(api, f"/incidents/{ref}/transitions", body, scopes).status_code  # type: ignore[attr-defined,no-any-return]

    assert move("assess", CS) == 403
    assert move("assess", LEAD, severity="high") == 200
    assert move("assign", LOGISTICS) == 403
    assert move("assign", LEAD) == 200
    assert move("contact_customer", LOGISTICS, channel="phone") == 403
    assert move("contact_customer", CS, channel="phone") == 200
    assert move("start_resolution", LOGISTICS, plan="redeliver") == 200
    assert move("resolve", LOGISTICS, resolution="delivered") == 200
    assert move("close", CS, root_cause="x") == 403
    assert move("close", LEAD) == 422  # root_cause is required
    assert move("close", LEAD, root_cause="hub scan missing") == 422  # so are lessons and follow-ups
    assert (
        move("close", LEAD, root_cause="hub scan missing", lessons="scan at exit", follow_ups="audit hub")
        == 200
    )
    assert move("assess", LEAD) == 409  # closed cases are reopened first

    detail = api.get(f"/incidents/{ref}").json()
    assert detail["status"] == "closed"
    assert detail["severity"] == "high"
    assert detail["party"] == "carrier"
    assert [t["kind"] for t in detail["timeline"]] == [
        "reported",
        "assess",
        "escalated",  # the assessment made it high: the team leads hear of it
        "assign",
        "contact_customer",
        "start_resolution",
        "resolve",
        "close",
    ]
    assert detail["timeline"][1]["actor"].startswith("api_key:")
    assert api.count(IncidentTimelineRow) == 8


def test_notes_tasks_and_list(api: Api) -> None:
    api.post("/orders", order_body("o-2", START - timedelta(days=20)))
    ref = _post(api, "/incidents", {"order_ref": "o-2"}, LOGISTICS).json()["ref"]  # type: ignore[attr-defined]

    carrier_note = _post(
        api, f"/incidents/{ref}/notes", {"kind": "carrier_contact", "text": "called"}, LOGISTICS
    )
    customer_note = _post(
        api, f"/incidents/{ref}/notes", {"kind": "customer_contact", "text": "x"}, LOGISTICS
    )
    task = _post(
        api,
        f"/incidents/{ref}/tasks",
        {"kind": "locate_parcel", "owner": "logistics", "due_at": iso(START + timedelta(hours=4))},
        LEAD,
    )
    task_by_cs = _post(
        api,
        f"/incidents/{ref}/tasks",
        {"kind": "refund", "owner": "cs", "due_at": iso(START + timedelta(hours=4))},
        CS,
    )
    listed = api.get("/incidents", params={"active": "true"}).json()

    assert [r.status_code for r in (carrier_note, customer_note, task, task_by_cs)] == [201, 403, 201, 403]  # type: ignore[attr-defined]
    assert [i["ref"] for i in listed["items"]] == [ref]
    assert api.get("/incidents/nope").status_code == 404
    assert api.client.get("/api/v1/incidents", headers=api.headers_for("orders:read")).status_code == 403


def test_claims_listing_the_ledger_in_the_detail_and_the_review(api: Api) -> None:
    api.post("/orders", order_body("o-9", START - timedelta(days=20)))
    api.post("/shipments", shipment_body("o-9", "TRK-9"))
    ref = _post(api, "/incidents", {"order_ref": "o-9", "cause": "lost_parcel"}, CS).json()["ref"]  # type: ignore[attr-defined]
    config = IncidentConfig()
    record_compensation(
        api.app.uow(),
        api.app.clock,
        config=config,
        ref=ref,
        kind=CompensationKind.coupon,
        amount_cents=1_000,
        actor="cs",
        role=Role.cs_agent,
    )
    claim_id = open_claim(
        api.app.uow(), api.app.clock, config=config, ref=ref, amount_claimed_cents=11_230, actor="lg"
    ).id
    move_claim(
        api.app.uow(),
        api.app.clock,
        config=config,
        claim_id=claim_id,
        action=ClaimAction.file,
        actor="lg",
        carrier_reference="COR-9",
    )

    claims = api.client.get("/api/v1/incidents/claims", headers=api.headers_for(*LEAD)).json()
    filed = api.get("/incidents/claims?status=filed&carrier=correios").json()
    wrong = api.client.get("/api/v1/incidents/claims?status=lost", headers=api.headers_for(*LEAD))
    detail = api.get(f"/incidents/{ref}").json()
    review = api.get("/incidents/review?from=2018-01-01T00:00Z&to=2018-12-31T00:00Z").json()

    assert [(c["incident"], c["status"], c["carrier_reference"]) for c in claims["items"]] == [
        (ref, "filed", "COR-9")
    ]
    assert claims["totals_by_carrier"] == {
        "correios": {"claims": 1, "claimed_cents": 11_230, "recovered_cents": 0}
    }
    assert len(filed["items"]) == 1
    assert wrong.status_code == 422
    assert [(c["kind"], c["status"]) for c in detail["compensations"]] == [("coupon", "approved")]
    assert detail["cost"] == {
        "currency": "BRL",
        "compensation_cents": 1_000,
        "claimed_cents": 11_230,
        "recovered_cents": 0,
        "net_cents": 1_000,
    }
    assert (review["incidents"], review["by_cause"]) == (1, {"lost_parcel": 1})
    assert review["claims_by_carrier"]["correios"]["claimed_cents"] == 11_230
    assert review["cost_per_case"]["BRL"]["by_carrier"]["correios"]["mean_net_cents"] == 1_000
