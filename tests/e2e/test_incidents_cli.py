"""`orderwatch incidents report|list|stats|teams-sync` through Typer's CliRunner (U2, U3, U9, U14)."""

from __future__ import annotations

import json
from datetime import timedelta

from typer.testing import CliRunner

from orderwatch.adapters.security.passwords import hash_password
from orderwatch.bootstrap import App
from orderwatch.domain.causes import Cause
from orderwatch.domain.incidents import Action
from orderwatch.entrypoints.cli.main import app as cli
from orderwatch.services.incidents import IncidentConfig, perform, report_undelivered
from orderwatch.services.ingest import ingest_orders
from tests.factories import make_order

runner = CliRunner()
CONFIG = IncidentConfig.for_timezone("America/Sao_Paulo")


def test_report_list_and_stats(sqlite_app: App) -> None:
    url = sqlite_app.settings.resolved_database_url
    orders = [make_order(purchased_at=sqlite_app.clock.now() - timedelta(days=20)) for _ in range(2)]
    ingest_orders(sqlite_app.uow(), orders, clock=sqlite_app.clock)

    reported = [
        runner.invoke(
            cli, ["incidents", "report", o.ref, "--by", "cs", "--cause", "lost_parcel", "--database-url", url]
        )
        for o in orders
    ]
    missing = runner.invoke(cli, ["incidents", "report", "nope", "--by", "cs", "--database-url", url])
    listed = runner.invoke(cli, ["incidents", "list", "--json", "--database-url", url])

    assert [r.exit_code for r in reported] == [0, 0], reported[0].output
    assert missing.exit_code == 2
    assert "order 'nope' not found" in missing.output
    items = json.loads(listed.stdout)["items"]
    assert sorted(i["order_ref"] for i in items) == sorted(o.ref for o in orders)
    assert {(i["status"], i["cause"]) for i in items} == {("reported", "lost_parcel")}

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
