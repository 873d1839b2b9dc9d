"""`orderwatch incidents open|report|list|stats|claims|review|teams-sync` via CliRunner (U2–U9, U14)."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

from typer.testing import CliRunner

from orderwatch.adapters.db.incident_queries import find_incident
from orderwatch.adapters.security.passwords import hash_password
from orderwatch.bootstrap import App
from orderwatch.domain.causes import Cause
from orderwatch.domain.incidents import Action
from orderwatch.entrypoints.cli.main import app as cli
from orderwatch.services.incidents import IncidentConfig, perform, report_undelivered
from orderwatch.services.ingest import ingest_orders, ingest_shipments
from orderwatch.services.remedy_ledger import open_claim
from tests.factories import make_order, make_shipment

runner = CliRunner()
OPEN = ["incidents", "open"]
CONFIG = IncidentConfig.for_timezone("America/Sao_Paulo")


def test_report_list_and_stats(sqlite_app: App) -> None:
    url = sqlite_app.settings.resolved_database_url
    orders = [make_order(purchased_at=sqlite_app.clock.now() - timedelta(days=20)) for _ in range(2)]
    ingest_orders(sqlite_app.uow(), orders, clock=sqlite_app.clock)

    reported = [
        runner.invoke(
            cli,
            [
                *OPEN,
                o.ref,
                "--by",
                "cs",
                "--cause",
                "lost_parcel",
                "--note",
                "no scan 9 d",
                "--database-url",
                url,
            ],
        )
        for o in orders
    ]
    again = runner.invoke(cli, ["incidents", "open", orders[0].ref, "--by", "cs", "--database-url", url])
    missing = runner.invoke(cli, ["incidents", "open", "nope", "--by", "cs", "--database-url", url])
    old_form = runner.invoke(cli, ["incidents", "report", orders[0].ref, "--by", "cs", "--database-url", url])
    listed = runner.invoke(cli, ["incidents", "list", "--json", "--database-url", url])

    assert [r.exit_code for r in reported] == [0, 0], reported[0].output
    assert again.exit_code == 0
    assert again.stdout.strip() == reported[0].stdout.strip()  # never two open cases for one order
    assert missing.exit_code == 2
    assert "order 'nope' not found" in missing.output
    assert old_form.exit_code == 2
    assert "incidents open" in " ".join(old_form.output.split())
    assert not (Path.cwd() / f"{orders[0].ref}-report.pdf").exists()
    items = json.loads(listed.stdout)["items"]
    assert sorted(i["order_ref"] for i in items) == sorted(o.ref for o in orders)
    assert {(i["status"], i["cause"]) for i in items} == {("reported", "lost_parcel")}
    with sqlite_app.read_session() as session:
        detail = find_incident(session, reported[1].stdout.strip())
    assert detail is not None
    assert detail.incident.summary == "no scan 9 d"

    # The CLI runs on the wall clock; this case is walked on the simulated one instead.
    later = make_order(purchased_at=sqlite_app.clock.now() - timedelta(days=20))
    ingest_orders(sqlite_app.uow(), [later], clock=sqlite_app.clock)
    ref = report_undelivered(
        sqlite_app.uow(),
        sqlite_app.clock,
        config=CONFIG,
        order_ref=later.ref,
        actor="cs",
        cause=Cause.lost_parcel,
    )
    sqlite_app.clock.advance(timedelta(minutes=20))  # type: ignore[attr-defined]
    for action, arguments in [
        (Action.assess, {}),
        (Action.assign, {}),
        (Action.contact_customer, {"channel": "phone"}),
    ]:
        perform(
            sqlite_app.uow(),
            sqlite_app.clock,
            config=CONFIG,
            ref=ref,
            action=action,
            actor="x",
            arguments=arguments,
        )
    stats = runner.invoke(cli, ["incidents", "stats", "--json", "--database-url", url])

    assert stats.exit_code == 0, (stats.output, stats.exception)
    figures = json.loads(stats.stdout)
    assert figures["incidents"] == 3
    assert figures["by_cause"] == {"lost_parcel": 3}
    assert figures["by_state"] == {"customer_contacted": 1, "reported": 2}
    assert figures["median_minutes_to_first_contact"] == 20.0
    assert figures["sla"]["first_contact"] == {"met": 1, "breached": 0, "met_rate": 1.0}
    assert figures["sla"]["resolution"] == {"met": 0, "breached": 0, "met_rate": None}


def test_teams_sync_takes_members_from_roles(sqlite_app: App) -> None:
    from orderwatch.adapters.db.users import SqlUsers

    with sqlite_app.uow() as uow:
        users = SqlUsers(uow.session)
        for name, role in [
            ("leader", "leadership"),
            ("cs", "cs_agent"),
            ("cs2", "cs_agent"),
            ("admin", "admin"),
        ]:
            users.create(
                username=name,
                display_name=name,
                role=role,
                password_hash=hash_password("x" * 12),
                now=sqlite_app.clock.now(),
            )
        uow.commit()
    url = sqlite_app.settings.resolved_database_url

    result = runner.invoke(
        cli, ["incidents", "teams-sync", "--lead", "leader", "--lead", "cs", "--database-url", url]
    )

    assert result.exit_code == 0, result.output
    assert "leadership: leader (lead)" in result.output
    assert "cs_emergency: cs (lead), cs2" in result.output
    assert "logistics_emergency: -" in result.output


def test_post_incident_report_as_pdf_and_html_claims_and_review(sqlite_app: App, tmp_path: Path) -> None:
    from pypdf import PdfReader

    url = sqlite_app.settings.resolved_database_url
    order = make_order(purchased_at=sqlite_app.clock.now() - timedelta(days=20))
    ingest_orders(sqlite_app.uow(), [order], clock=sqlite_app.clock)
    ingest_shipments(sqlite_app.uow(), [make_shipment(order_ref=order.ref)], clock=sqlite_app.clock)
    ref = report_undelivered(
        sqlite_app.uow(),
        sqlite_app.clock,
        config=CONFIG,
        order_ref=order.ref,
        actor="cs",
        cause=Cause.lost_parcel,
    )
    open_claim(
        sqlite_app.uow(), sqlite_app.clock, config=CONFIG, ref=ref, amount_claimed_cents=6_000, actor="lg"
    )
    for action, arguments in [
        (Action.assess, {}),
        (Action.assign, {}),
        (Action.contact_customer, {"channel": "phone"}),
        (Action.start_resolution, {"plan": "reship"}),
        (Action.resolve, {"resolution": "reshipped"}),
        (
            Action.close,
            {"root_cause": "sorting hub", "lessons": "scan at exit", "follow_ups": "audit the hub"},
        ),
    ]:
        perform(
            sqlite_app.uow(),
            sqlite_app.clock,
            config=CONFIG,
            ref=ref,
            action=action,
            actor="x",
            arguments=arguments,
        )
    pdf_file, html_file = tmp_path / "r.pdf", tmp_path / "r.html"

    as_pdf = runner.invoke(
        cli,
        [
            "incidents",
            "report",
            ref,
            "--format",
            "pdf",
            "--lang",
            "zh-CN",
            "-o",
            str(pdf_file),
            "--database-url",
            url,
        ],
    )
    as_html = runner.invoke(
        cli,
        [
            "incidents",
            "report",
            ref,
            "--format",
            "html",
            "--lang",
            "en",
            "-o",
            str(html_file),
            "--database-url",
            url,
        ],
    )
    bad_lang = runner.invoke(cli, ["incidents", "report", ref, "--lang", "fr", "--database-url", url])
    claims = runner.invoke(cli, ["incidents", "claims", "--json", "--database-url", url])
    period = ["--from", "2018-01-01", "--to", "2018-12-31", "--database-url", url]
    review = runner.invoke(cli, ["incidents", "review", *period, "--json"])
    review_text = runner.invoke(cli, ["incidents", "review", *period])
    backwards = runner.invoke(cli, ["incidents", "review", "--from", "2018-02-01", "--to", "2018-01-01"])

    assert as_pdf.exit_code == 0, as_pdf.output
    text = "".join(page.extract_text() for page in PdfReader(pdf_file).pages)
    assert "事件总结报告" in text
    assert "根本原因" in text  # the headings are Chinese
    assert "sorting hub" in text
    assert as_html.exit_code == 0, as_html.output
    assert 'data-section="Follow-up actions"' in html_file.read_text(encoding="utf-8")
    assert bad_lang.exit_code != 0
    assert "lang: a report is written in zh-CN or en" in bad_lang.output
    assert json.loads(claims.output)["totals_by_carrier"]["correios"]["claimed_cents"] == 6_000
    figures = json.loads(review.output)
    assert (figures["incidents"], figures["sla"]["first_contact"]["met"]) == (1, 1)
    assert figures["cost_per_case"]["BRL"]["total"] == {
        "cases": 1,
        "compensation_cents": 0,
        "recovered_cents": 0,
        "net_cents": 0,
        "mean_net_cents": 0,
    }
    assert list(figures["cost_per_case"]["BRL"]["by_cause"]) == ["lost_parcel"]
    assert review_text.exit_code == 0, review_text.output
    assert "Net cost (BRL, cents)" in review_text.output
    assert "cause lost_parcel" in review_text.output
    assert backwards.exit_code == 2
    assert "--to: 2018-01-01 is before --from 2018-02-01" in backwards.output
