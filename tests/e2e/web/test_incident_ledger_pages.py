"""Compensation, claims, the post-incident report and the review page in the staff web app
(U6–U9, U14, D5): approval limits per role on the page, a reshipment linked on both order pages,
the claim steps, the report in HTML and PDF (zh-CN and en) with its sections, the review figures.
"""

from __future__ import annotations

import io
import re
from collections.abc import Callable

import pytest
from sqlalchemy import select

from orderwatch.adapters.db.tables import CarrierClaimRow, CompensationRow
from orderwatch.bootstrap import App
from orderwatch.domain.postmortem import SECTIONS
from orderwatch.entrypoints.incident_reports import labeller
from tests.e2e.web.conftest import TestClient, add_user, csrf_of, seed_order, sign_in

PAGE = "/incidents/INC-o-1"


@pytest.fixture
def staff(app: App, client_for: Callable[[App], TestClient]) -> dict[str, TestClient]:
    clients = {}
    for name, role in [("leader", "leadership"), ("cs", "cs_agent"), ("logistics", "logistics_agent")]:
        add_user(app, name, role)
        client = client_for(app)
        assert sign_in(client, name).status_code == 303  # type: ignore[attr-defined]
        clients[name] = client
    seed_order(app, ref="o-1")
    post(clients["cs"], "/orders/o-1/report-undelivered", {"cause": "lost_parcel"}, page="/orders/o-1")
    return clients


def post(client: TestClient, path: str, data: dict[str, str], *, page: str = PAGE) -> object:
    return client.post(path, data={**data, "csrf_token": csrf_of(client.get(page).text)})


def _entries(app: App, row: type) -> list[object]:
    with app.session_factory() as session:
        return list(session.scalars(select(row).order_by(row.id)))  # type: ignore[attr-defined]


def test_an_agent_records_within_the_limit_and_a_lead_approves_above_it(
    app: App, staff: dict[str, TestClient]
) -> None:
    cs, leader = staff["cs"], staff["leader"]

    assert post(cs, f"{PAGE}/compensation", {"kind": "coupon", "amount": "15,00"}).status_code == 303  # type: ignore[attr-defined]
    assert post(cs, f"{PAGE}/compensation", {"kind": "full_refund"}).status_code == 303  # type: ignore[attr-defined]
    bad = post(cs, f"{PAGE}/compensation", {"kind": "coupon", "amount": "1.234"})
    assert bad.status_code == 422  # type: ignore[attr-defined]
    assert "amount: must be positive with at most two decimals" in bad.text  # type: ignore[attr-defined]

    coupon, refund = _entries(app, CompensationRow)
    assert (coupon.status, coupon.amount_cents, refund.status) == ("approved", 1_500, "pending")  # type: ignore[attr-defined]
    assert f"/incidents/compensation/{refund.id}/approve" not in cs.get(PAGE).text  # type: ignore[attr-defined]
    page = leader.get(PAGE).text  # type: ignore[attr-defined]
    assert f"/incidents/compensation/{refund.id}/approve" in page  # type: ignore[attr-defined]
    refused = post(cs, f"/incidents/compensation/{refund.id}/approve", {})
    assert refused.status_code == 403  # type: ignore[attr-defined]

    assert post(leader, f"/incidents/compensation/{refund.id}/approve", {}).status_code == 303  # type: ignore[attr-defined, union-attr]
    assert [e.status for e in _entries(app, CompensationRow)] == ["approved", "approved"]  # type: ignore[attr-defined]


def test_a_reshipment_shows_on_both_order_pages(app: App, staff: dict[str, TestClient]) -> None:
    leader = staff["leader"]

    assert post(leader, f"{PAGE}/compensation", {"kind": "reshipment"}).status_code == 303  # type: ignore[attr-defined]

    assert "o-1-R1" in leader.get(PAGE).text  # type: ignore[attr-defined]
    original = leader.get("/orders/o-1").text  # type: ignore[attr-defined]
    copy = leader.get("/orders/o-1-R1").text  # type: ignore[attr-defined]
    assert re.search(r'data-testid="reshipped-as"><a href="/orders/o-1-R1">', original)
    assert re.search(r'data-testid="reshipment-of"><a href="/orders/o-1">', copy)


def test_logistics_files_a_claim_and_cs_may_not(app: App, staff: dict[str, TestClient]) -> None:
    logistics, cs = staff["logistics"], staff["cs"]

    assert post(cs, f"{PAGE}/claims", {"amount": "60"}).status_code == 403  # type: ignore[attr-defined]
    assert post(logistics, f"{PAGE}/claims", {"amount": "60"}).status_code == 303  # type: ignore[attr-defined]
    (claim,) = _entries(app, CarrierClaimRow)
    illegal = post(logistics, f"/incidents/claims/{claim.id}/close", {})  # type: ignore[attr-defined]
    assert illegal.status_code == 409  # type: ignore[attr-defined]
    assert "cannot close a draft claim" in illegal.text  # type: ignore[attr-defined]
    post(logistics, f"/incidents/claims/{claim.id}/file", {"carrier_reference": "COR-1"})  # type: ignore[attr-defined]
    post(logistics, f"/incidents/claims/{claim.id}/accept", {})  # type: ignore[attr-defined]

    (claim,) = _entries(app, CarrierClaimRow)
    assert (claim.status, claim.amount_recovered_cents, claim.carrier_reference) == (
        "accepted",
        6_000,
        "COR-1",
    )  # type: ignore[attr-defined]
    page = logistics.get(PAGE).text  # type: ignore[attr-defined]
    assert 'data-claim-action="close"' in page


def _closed_case(staff: dict[str, TestClient]) -> None:
    leader, cs, logistics = staff["leader"], staff["cs"], staff["logistics"]
    post(cs, f"{PAGE}/compensation", {"kind": "coupon", "amount": "20"})
    post(logistics, f"{PAGE}/claims", {"amount": "60"})
    steps = [
        (leader, "assess", {"severity": "high", "cause": "lost_parcel"}),
        (leader, "assign", {"note": "go"}),
        (cs, "contact_customer", {"channel": "phone"}),
        (logistics, "start_resolution", {"plan": "reship"}),
        (logistics, "resolve", {"resolution": "coupon and reshipment"}),
        (leader, "close", {"root_cause": "lost at hub", "lessons": "scan at exit", "follow_ups": "audit"}),
    ]
    for client, action, data in steps:
        assert post(client, f"{PAGE}/actions/{action}", data).status_code == 303, action  # type: ignore[attr-defined]


@pytest.mark.parametrize("lang", ["en", "zh-CN"])
def test_the_report_of_a_closed_case_has_every_section_in_html_and_pdf(
    app: App, staff: dict[str, TestClient], lang: str
) -> None:
    from pypdf import PdfReader

    _closed_case(staff)
    gettext, _ = labeller("zh_CN" if lang == "zh-CN" else "en")
    headings = [gettext(section) for section in SECTIONS]

    html = staff["leader"].get(f"{PAGE}/report.html?lang={lang}")
    pdf = staff["leader"].get(f"{PAGE}/report.pdf?lang={lang}")

    assert html.status_code == pdf.status_code == 200  # type: ignore[attr-defined]
    found = re.findall(r'data-section="[^"]+">\s*<h2>([^<]+)</h2>', html.text)  # type: ignore[attr-defined]
    assert found == headings
    assert "lost at hub" in html.text
    assert "scan at exit" in html.text
    assert pdf.headers["content-type"] == "application/pdf"  # type: ignore[attr-defined]
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf.content)).pages)  # type: ignore[attr-defined]
    positions = [text.find(heading) for heading in headings]
    assert -1 not in positions, (headings, text[:400])
    assert positions == sorted(positions)  # the sections in the report's order
    assert "lost at hub" in text
    assert "INC-o-1" in text
    if lang == "zh-CN":
        assert gettext("Net cost") != "Net cost"  # the Chinese labels really are Chinese


def test_the_review_page_counts_the_period(app: App, staff: dict[str, TestClient]) -> None:
    _closed_case(staff)

    page = staff["leader"].get("/incidents/review")
    empty = staff["leader"].get("/incidents/review?from=2001-01-01&to=2001-01-31")
    wrong = staff["leader"].get("/incidents/review?from=2018-13-01")

    assert page.status_code == 200  # type: ignore[attr-defined]
    assert "1 incidents reported in the period" in page.text  # type: ignore[attr-defined]
    assert re.search(r'data-testid="sla-first_contact">100.0%<', page.text)  # type: ignore[attr-defined]
    total = re.search(r'data-testid="cost-total">(.*?)</tr>', page.text, re.S)  # type: ignore[attr-defined]
    assert total is not None
    cases, net, per_case = re.findall(r'class="num">([^<]+)<', total.group(1))
    assert cases == "1"
    assert "20" in net  # the approved coupon; the draft claim recovered nothing
    assert net == per_case
    assert 'data-testid="review-cost"' in empty.text  # type: ignore[attr-defined]
    assert "0 incidents reported in the period" in empty.text  # type: ignore[attr-defined]
    assert wrong.status_code == 400
    assert "from: is not a day" in wrong.text
