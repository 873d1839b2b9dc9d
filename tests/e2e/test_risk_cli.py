"""``orderwatch risk scan`` and ``orderwatch risk list`` on SQLite and PostgreSQL (D2)."""

from __future__ import annotations

import json
from datetime import timedelta

from typer.testing import CliRunner

from orderwatch.bootstrap import App
from orderwatch.entrypoints.cli.main import app as cli
from orderwatch.services.ingest import ingest_orders
from tests.conftest import START
from tests.factories import make_order

runner = CliRunner()


def test_scan_as_of_a_moment_then_list(app: App) -> None:
    order = make_order(purchased_at=START - timedelta(days=20), promised_days=10)
    ingest_orders(app.uow(), [order], clock=app.clock)
    url = app.settings.resolved_database_url

    scanned = runner.invoke(cli, ["risk", "scan", "--at", START.isoformat(), "--database-url", url, "--json"])
    again = runner.invoke(cli, ["risk", "scan", "--at", START.isoformat(), "--database-url", url, "--json"])
    listed = runner.invoke(cli, ["risk", "list", "--kind", "promise_passed", "--database-url", url, "--json"])

    assert scanned.exit_code == 0, scanned.output
    first, second = json.loads(scanned.stdout), json.loads(again.stdout)
    assert (first["orders_scanned"], first["raised"]) == (1, {"promise_passed": 1, "dispatch_missed": 1})
    assert first["open"] == {"promise_passed": {"critical": 1}, "dispatch_missed": {"critical": 1}}
    assert (second["raised"], second["updated"], second["open_total"]) == ({}, {}, 2)
    rows = json.loads(listed.stdout)
    assert [(row["order_ref"], row["severity"]) for row in rows] == [(order.ref, "critical")]


def test_bad_moment_and_bad_kind_are_clear_errors(app: App) -> None:
    url = app.settings.resolved_database_url

    bad_moment = runner.invoke(cli, ["risk", "scan", "--at", "yesterday", "--database-url", url])
    bad_kind = runner.invoke(cli, ["risk", "list", "--kind", "late", "--database-url", url])

    assert bad_moment.exit_code == 2
    assert "--at: 'yesterday' is not a date" in bad_moment.output
    assert bad_kind.exit_code == 2
    assert "kind: is not one of" in bad_kind.output
