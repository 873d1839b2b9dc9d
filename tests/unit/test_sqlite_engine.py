"""The embedded SQLite engine's connection settings (WAL, page cache and memory map from settings)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError
from sqlalchemy import text

from orderwatch.adapters.db.engine import make_engine
from orderwatch.bootstrap import build_app
from orderwatch.entrypoints.cli.simulation import build_settings
from orderwatch.settings import Settings


def _pragmas(engine_url: str, **kwargs: Any) -> dict[str, int | str]:
    engine = make_engine(engine_url, **kwargs)
    try:
        with engine.connect() as connection:
            return {
                name: connection.execute(text(f"PRAGMA {name}")).scalar_one()
                for name in ("journal_mode", "synchronous", "cache_size", "mmap_size", "foreign_keys")
            }
    finally:
        engine.dispose()


def test_every_connection_gets_wal_the_cache_and_the_memory_map(tmp_path: Path) -> None:
    pragmas = _pragmas(f"sqlite:///{tmp_path / 'a.sqlite3'}", sqlite_cache_mb=32, sqlite_mmap_mb=16)
    assert pragmas == {
        "journal_mode": "wal",
        "synchronous": 1,  # NORMAL
        "cache_size": -32 * 1024,  # negative: KiB
        "mmap_size": 16 * 1024 * 1024,
        "foreign_keys": 1,
    }


def test_memory_map_can_be_turned_off(tmp_path: Path) -> None:
    assert _pragmas(f"sqlite:///{tmp_path / 'b.sqlite3'}", sqlite_mmap_mb=0)["mmap_size"] == 0


def test_the_app_takes_them_from_the_settings(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, sqlite_cache_mb=8, sqlite_mmap_mb=4)
    app = build_app(settings)
    try:
        with app.engine.connect() as connection:
            cache = connection.execute(text("PRAGMA cache_size")).scalar_one()
            mmap = connection.execute(text("PRAGMA mmap_size")).scalar_one()
    finally:
        app.engine.dispose()
    assert (cache, mmap) == (-8 * 1024, 4 * 1024 * 1024)


def test_synchronous_mode_is_chosen_and_checked(tmp_path: Path) -> None:
    assert _pragmas(f"sqlite:///{tmp_path / 'c.sqlite3'}", sqlite_synchronous="OFF")["synchronous"] == 0
    assert _pragmas(f"sqlite:///{tmp_path / 'd.sqlite3'}", sqlite_synchronous="FULL")["synchronous"] == 2
    with pytest.raises(ValueError, match="sqlite_synchronous: 'SOMETIMES'"):
        make_engine(f"sqlite:///{tmp_path / 'e.sqlite3'}", sqlite_synchronous="SOMETIMES")


def test_the_demo_builds_without_fsync_and_serves_with_the_setting(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, sqlite_synchronous="FULL")
    assert build_settings(settings).sqlite_synchronous == "OFF"
    assert settings.sqlite_synchronous == "FULL"  # the server's app is built from these
    with pytest.raises(ValidationError, match="sqlite_synchronous"):
        Settings(data_dir=tmp_path, sqlite_synchronous="SOMETIMES")  # type: ignore[arg-type]
