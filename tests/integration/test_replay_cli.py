"""``orderwatch replay olist`` end to end on a slice of the real history (issue 3, D1)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from orderwatch.adapters.datasets import olist
from orderwatch.entrypoints.cli.main import app as cli
from tests.conftest import OLIST_DIR, missing


def _replay(data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, object]:
    monkeypatch.setenv("ORDERWATCH_DATA_DIR", str(data_dir))
    result = CliRunner().invoke(
        cli, ["replay", "olist", str(OLIST_DIR), "--from", "2017-01-05", "--to", "2017-01-12", "--json"]
    )
    assert result.exit_code == 0, result.output
    return json.loads(result.output[result.output.index("{") :])


def test_a_replay_builds_an_empty_database_from_scratch_then_an_existing_one_normally(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    if olist.missing_files(OLIST_DIR):
        missing(f"Olist data not found in {OLIST_DIR}")

    first = _replay(tmp_path, monkeypatch)
    again = _replay(tmp_path, monkeypatch)

    assert first["database"] == "built from scratch (SQLite without fsync)"
    assert again["database"] == "existing"  # a database with orders is never written without fsync
    replayed = first["replay"]
    assert isinstance(replayed, dict)
    assert replayed["commands"] > 0
    assert replayed["by_kind"]["UpsertOrder"] > 0
    # The replayed history is the same the second time (idempotent ingestion): same KPIs.
    assert first["kpis"] == again["kpis"]
    # The write-ahead log was folded into the file at the end.
    wal = tmp_path / "orderwatch.sqlite3-wal"
    assert not wal.exists() or wal.stat().st_size == 0
