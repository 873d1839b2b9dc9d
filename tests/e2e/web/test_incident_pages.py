"""Incident pages (U3–U8, U11, D13): report from the order page, each role's own steps as forms,
the board with breaches highlighted, "my tasks"; refused posts change nothing.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import timedelta

import pytest
from sqlalchemy import select

from orderwatch.adapters.clock import SimulatedClock
from orderwatch.adapters.db.tables import IncidentRow, IncidentTimelineRow
from orderwatch.bootstrap import App
from orderwatch.services.incident_jobs import run_sla_timers
from orderwatch.services.incidents import IncidentConfig
from tests.e2e.web.conftest import TestClient, add_user, csrf_of, seed_order, sign_in

ACTION_FORM = re.compile(r'data-action="([a-z_]+)"')


@pytest.fixture
def staff(app: App, client_for: Callable[[App], TestClient]) -> dict[str, TestClient]:
    """One signed-in client per role of the plan."""
    clients = {}
    for name, role in [
        ("leader", "leadership"),
        ("cs", "cs_agent"),
        ("logistics", "logistics_agent"),
        ("supply", "supply_chain"),
    ]:
        add_user(app, name, role)
        client = client_for(app)
        assert sign_in(client, name).status_code == 303  # type: ignore[attr-defined]
        clients[name] = client
    return clients


def _post(client: TestClient, path: str, data: dict[str, str], *, page: str) -> object:
    return client.post(path, data={**data, "csrf_token": csrf_of(client.get(page).text)})


def _incident(app: App) -> IncidentRow:
    with app.session_factory() as session:
        return session.scalars(select(IncidentRow)).one()


def test_walk_from_report_to_closed_as_the_three_roles(app: App, staff: dict[str, TestClient]) -> None:
    seed_order(app, ref="o-1")
    cs, leader, logistics = staff["cs"], staff["leader"], staff["logistics"]

    reported = _post(cs, "/orders/o-1/report-undelivered", {"cause": "lost_parcel"}, page="/orders/o-1")
    assert reported.status_code == 303  # type: ignore[attr-defined]
    page = reported.headers["location"]  # type: ignore[attr-defined]
    assert page == "/incidents/INC-o-1"

    # Each role is offered only its own next steps.
    assert ACTION_FORM.findall(leader.get(page).text) == ["assess", "cancel"]
    assert ACTION_FORM.findall(cs.get(page).text) == []
    assert ACTION_FORM.findall(logistics.get(page).text) == []

    steps = [
        (leader, "assess", {"severity": "high", "cause": "lost_parcel", "note": "carrier confirms loss"}),
        (leader, "assign", {"note": "CS calls, logistics files the claim"}),
        (cs, "contact_customer", {"channel": "phone", "note": "offered reshipment"}),
        (logistics, "start_resolution", {"plan": "reship and claim"}),
        (logistics, "resolve", {"resolution": "reshipped, delivered"}),
        (
            leader,
            "close",
            {"root_cause": "lost at hub", "lessons": "scan at hub exit", "follow_ups": "hub audit"},
        ),
    ]
    for client, action, data in steps:
        response = _post(client, f"{page}/actions/{action}", data, page=page)
        assert response.status_code == 303, (action, response.text)  # type: ignore[attr-defined]

    row = _incident(app)
    assert (row.status, row.severity, row.party, row.root_cause) == (
        "closed",
        "high",
        "carrier",
        "lost at hub",
    )
    with app.session_factory() as session:
        kinds = list(session.scalars(select(IncidentTimelineRow.kind).order_by(IncidentTimelineRow.id)))
    assert kinds == [
        "reported",
        "assess",
        "escalated",
        "assign",
        "contact_customer",
        "start_resolution",
        "resolve",
        "close",
    ]
    assert 'data-kind="close"' in cs.get(page).text


def test_a_role_cannot_take_another_roles_step(app: App, staff: dict[str, TestClient]) -> None:
    seed_order(app, ref="o-2")
    _post(staff["cs"], "/orders/o-2/report-undelivered", {}, page="/orders/o-2")
    page = "/incidents/INC-o-2"

    by_cs = _post(staff["cs"], f"{page}/actions/assess", {}, page=page)
    by_logistics = _post(staff["logistics"], f"{page}/tasks", {"kind": "refund", "owner": "cs"}, page=page)
    customer_note_by_logistics = _post(
        staff["logistics"], f"{page}/notes", {"kind": "customer_contact", "text": "x"}, page=page
    )
    supply_board = staff["supply"].get("/incidents")
    no_csrf = staff["leader"].post(f"{page}/actions/assess", data={})

    assert [r.status_code for r in (by_cs, by_logistics, customer_note_by_logistics)] == [403, 403, 403]  # type: ignore[attr-defined]
    assert supply_board.status_code == 403
    assert no_csrf.status_code == 403
    assert _incident(app).status == "reported"
    with app.session_factory() as session:
        assert list(session.scalars(select(IncidentTimelineRow.kind))) == ["reported"]


def test_an_illegal_move_shows_the_reason_and_changes_nothing(app: App, staff: dict[str, TestClient]) -> None:
    seed_order(app, ref="o-3")
    _post(staff["cs"], "/orders/o-3/report-undelivered", {}, page="/orders/o-3")
    page = "/incidents/INC-o-3"

    refused = _post(staff["leader"], f"{page}/actions/close", {"root_cause": "x"}, page=page)

    assert refused.status_code == 409  # type: ignore[attr-defined]
    assert "cannot move from reported to closed" in refused.text  # type: ignore[attr-defined]
    assert _incident(app).status == "reported"


def test_board_highlights_breaches_and_tasks_page_lists_mine(
    app: App, staff: dict[str, TestClient], clock: SimulatedClock
) -> None:
    seed_order(app, ref="o-4")
    _post(staff["cs"], "/orders/o-4/report-undelivered", {}, page="/orders/o-4")
    page = "/incidents/INC-o-4"
    _post(
        staff["leader"],
        f"{page}/tasks",
        {"kind": "locate_parcel", "owner": "logistics", "due_hours": "2"},
        page=page,
    )

    before = staff["leader"].get("/incidents").text
    clock.advance(timedelta(days=2))
    run_sla_timers(app.uow, clock, config=IncidentConfig.for_timezone(app.settings.shop_timezone))
    after = staff["leader"].get("/incidents").text
    tasks = staff["logistics"].get("/incidents/tasks").text

    assert 'class="row--breached"' not in before
    assert "left" in before
    assert 'class="row--breached" data-sla="breached"' in after
    assert "overdue" in after
    assert "INC-o-4" in tasks
    done = _post(staff["logistics"], "/incidents/tasks/1/done", {}, page="/incidents/tasks")
    assert done.status_code == 303  # type: ignore[attr-defined]
    assert "You have no open tasks." in staff["logistics"].get("/incidents/tasks").text


def test_pages_speak_chinese(app: App, client_for: Callable[[App], TestClient]) -> None:
    seed_order(app, ref="o-5")
    add_user(app, "lead-zh", "leadership", language="zh_CN")
    client = client_for(app)
    sign_in(client, "lead-zh")

    order_page = client.get("/orders/o-5").text
    board = client.get("/incidents").text

    assert "报告未送达" in order_page
    assert "未送达事件" in board


def test_the_policy_suggests_a_remedy_with_its_approver(app: App, staff: dict[str, TestClient]) -> None:
    seed_order(app, ref="o-6", days_ago=20, promised_days=5)  # 15 days late, R$ 145.40
    _post(staff["cs"], "/orders/o-6/report-undelivered", {"cause": "logistics_delay"}, page="/orders/o-6")

    page = staff["cs"].get("/incidents/INC-o-6").text

    remedy = re.search(r'<p data-testid="remedy">(.*?)</p>', page, re.S)
    assert remedy is not None
    assert "Partial refund" in remedy.group(1)
    assert "R$29.08" in remedy.group(1)  # 20 % of 145.40
    assert "approved by: Customer service agent" in remedy.group(1)  # within the CS limit of R$ 50
    assert "rule: a week late" in remedy.group(1)
