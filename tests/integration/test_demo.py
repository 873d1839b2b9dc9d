"""The demo shop: deterministic, calibrated on the Olist figures, replayable end to end (issue 3)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from typer.testing import CliRunner

from orderwatch.demo import calibration as cal
from orderwatch.demo.generator import DemoShop, generate
from orderwatch.domain.commands import RecordFeedback, RecordTrackingEvent, UpsertOrder
from orderwatch.domain.kpis import quantile
from orderwatch.domain.shipments import ShipmentStatus
from orderwatch.entrypoints.cli.main import app as cli

END = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def shop() -> DemoShop:
    return generate(orders=20_000, days=120, end=END, seed=7)


def test_the_same_seed_gives_the_same_shop() -> None:
    first = generate(orders=500, days=20, end=END, seed=3)
    second = generate(orders=500, days=20, end=END, seed=3)
    other = generate(orders=500, days=20, end=END, seed=4)

    assert first.commands == second.commands
    assert first.commands != other.commands


def test_commands_are_in_time_order_and_never_in_the_future(shop: DemoShop) -> None:
    moments = [c.at for c in shop.commands]

    assert moments == sorted(moments)
    assert moments[-1] <= END


def _legs(shop: DemoShop) -> tuple[list[float], list[bool], list[tuple[bool, int]]]:
    orders = {c.command.ref: c.command for c in shop.commands if isinstance(c.command, UpsertOrder)}
    delivered: dict[str, datetime] = {}
    for c in shop.commands:
        event = c.command
        if isinstance(event, RecordTrackingEvent) and event.status is ShipmentStatus.delivered:
            delivered.setdefault(event.order_ref or "", event.occurred_at)
    days = [(at - orders[ref].purchased_at).total_seconds() / 86400 for ref, at in delivered.items()]
    late = {ref: at > (orders[ref].promised_at or at) for ref, at in delivered.items()}
    scores = [
        (late[c.command.order_ref], c.command.score)
        for c in shop.commands
        if isinstance(c.command, RecordFeedback) and c.command.order_ref in late
    ]
    return days, list(late.values()), scores


def test_calibration_matches_the_measured_olist_figures(shop: DemoShop) -> None:
    days, late, scores = _legs(shop)

    late_rate = sum(late) / len(late)
    mean_late = sum(s for is_late, s in scores if is_late) / sum(is_late for is_late, _ in scores)
    mean_on_time = sum(s for is_late, s in scores if not is_late) / sum(not is_late for is_late, _ in scores)
    # Targets and tolerances, from calibration.py: 8.11 % late; delivery days p50 10.2, p90 23.1.
    assert cal.TARGET_LATE_RATE - 0.025 <= late_rate <= cal.TARGET_LATE_RATE + 0.025
    assert 8.0 <= (quantile(days, 0.5) or 0) <= 12.5
    assert 17.0 <= (quantile(days, 0.9) or 0) <= 26.0
    assert 2.3 <= mean_late <= 2.9
    assert 4.1 <= mean_on_time <= 4.45
    assert 0.007 <= shop.outcomes["lost"] / sum(shop.outcomes.values()) <= 0.02


def test_the_disruption_makes_its_lane_late(shop: DemoShop) -> None:
    d = shop.disruption
    disrupted = [
        c.command
        for c in shop.commands
        if isinstance(c.command, RecordTrackingEvent) and c.command.raw_code == "EX-77"
    ]

    assert len(disrupted) >= 20
    assert {e.carrier_code for e in disrupted} == {d.carrier}
    assert all(d.start <= e.occurred_at <= d.end + (d.end - d.start) for e in disrupted)


def test_demo_command_replays_and_reports_kpis(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ORDERWATCH_DATA_DIR", str(tmp_path))

    result = CliRunner().invoke(cli, ["demo", "--no-serve", "--json", "--orders", "800", "--days", "20"])

    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["generated"]["UpsertOrder"] == data["replay"]["by_kind"]["UpsertOrder"]
    assert data["replay"]["results"].get("rejected", 0) == 0
    assert data["kpis"]["overall"]["orders"] == data["generated"]["UpsertOrder"]
    assert (tmp_path / "demo.sqlite3").exists()
    # Built without fsync, then folded into the file: nothing is left only in the log.
    wal = tmp_path / "demo.sqlite3-wal"
    assert not wal.exists() or wal.stat().st_size == 0
    assert set(data["logins"]) == {"admin", "leadership", "cs_agent", "logistics_agent", "supply_chain"}
