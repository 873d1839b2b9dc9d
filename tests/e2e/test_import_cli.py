"""`orderwatch import orders|olist` through Typer's CliRunner on a fresh SQLite file (D1)."""

from __future__ import annotations

import csv
import json
from pathlib import Path

from sqlalchemy import create_engine, func, select, text
from typer.testing import CliRunner

from orderwatch.adapters.db.tables import OrderLineRow, OrderRow, ShipmentRow
from orderwatch.entrypoints.cli.main import app
from tests.integration.test_olist_import import _write_sample

EXAMPLES = Path(__file__).resolve().parents[2] / "docs" / "examples"
runner = CliRunner()


def _count(url: str, table: type) -> int:
    engine = create_engine(url)
    with engine.connect() as connection:
        value = int(connection.execute(select(func.count()).select_from(table)).scalar_one())
    engine.dispose()
    return value


def test_import_orders_reports_bad_rows_and_stores_the_rest(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'cli.sqlite3'}"
    rejects = tmp_path / "rejects.csv"
    args = [
        "import",
        "orders",
        str(EXAMPLES / "shop_orders.csv"),
        "--mapping",
        str(EXAMPLES / "shop_orders.mapping.toml"),
        "--database-url",
        url,
        "--json",
        "--rejects",
        str(rejects),
    ]

    first = runner.invoke(app, args)
    again = runner.invoke(app, args)

    assert first.exit_code == 0, first.output
    summary = json.loads(first.stdout)
    assert summary == {
        "rows": 5,
        "orders": 3,
        "lines": 4,
        "shipments": 2,
        "dry_run": False,
        "rejected_rows": 1,
        "errors": [
            "row 6, column 'Data da compra' ('31/02/2018 12:00'): is not a date in the format "
            "%d/%m/%Y %H:%M or %d/%m/%Y"
        ],
    }
    assert json.loads(again.stdout) == summary
    assert (_count(url, OrderRow), _count(url, OrderLineRow), _count(url, ShipmentRow)) == (3, 4, 2)
    with rejects.open(encoding="utf-8", newline="") as handle:
        [record] = list(csv.DictReader(handle, delimiter=";"))
    assert record["Pedido"] == "PED-1004"
    assert record["error"].startswith("row 6, column 'Data da compra'")


def test_dry_run_stores_nothing(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'dry.sqlite3'}"

    result = runner.invoke(
        app,
        [
            "import",
            "orders",
            str(EXAMPLES / "shop_orders.csv"),
            "--mapping",
            str(EXAMPLES / "shop_orders.mapping.toml"),
            "--dry-run",
            "--database-url",
            url,
        ],
    )

    assert result.exit_code == 0, result.output
    assert "would import 3 orders (4 lines, 2 shipments) from 5 rows; 1 rows rejected" in result.stdout
    assert not (tmp_path / "dry.sqlite3").exists()


def test_a_mapping_naming_unknown_columns_fails_before_importing(tmp_path: Path) -> None:
    mapping = tmp_path / "bad.toml"
    text_ = (EXAMPLES / "shop_orders.mapping.toml").read_text(encoding="utf-8")
    mapping.write_text(text_.replace('"Rastreio"', '"Tracking code"'), encoding="utf-8")
    url = f"sqlite:///{tmp_path / 'bad.sqlite3'}"

    result = runner.invoke(
        app,
        [
            "import",
            "orders",
            str(EXAMPLES / "shop_orders.csv"),
            "--mapping",
            str(mapping),
            "--database-url",
            url,
        ],
    )

    assert result.exit_code == 2
    assert "columns.tracking_number: column 'Tracking code' is not in the CSV header" in result.stderr
    assert not (tmp_path / "bad.sqlite3").exists()


def test_import_olist_prints_one_json_object(tmp_path: Path) -> None:
    folder = tmp_path / "olist"
    folder.mkdir()
    _write_sample(folder)
    url = f"sqlite:///{tmp_path / 'olist.sqlite3'}"

    result = runner.invoke(app, ["import", "olist", str(folder), "--json", "--database-url", url])

    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert set(report) == {"counts", "rejected", "quirks", "seconds"}
    # The sample's events are from 2018, before "now": all are accepted.
    assert report["counts"]["orders"] == 5
    assert report["counts"]["tracking_events"] == 6
    assert report["rejected"] == 4
    engine = create_engine(url)
    with engine.connect() as connection:
        assert connection.execute(text("select count(*) from feedback")).scalar_one() == 2
    engine.dispose()


def test_import_olist_names_missing_files(tmp_path: Path) -> None:
    folder = tmp_path / "partial"
    folder.mkdir()
    _write_sample(folder)
    for path in folder.glob("olist_sellers_dataset*"):
        path.unlink()

    result = runner.invoke(
        app, ["import", "olist", str(folder), "--database-url", f"sqlite:///{tmp_path / 'x.sqlite3'}"]
    )

    assert result.exit_code == 2
    assert "missing olist_sellers_dataset (.csv or .csv.gz)" in result.stderr
