"""The embedded SQLite engine's connection settings (WAL, page cache and memory map from settings)."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import text

from orderwatch.adapters.db.engine import make_engine
from orderwatch.bootstrap import build_app
from orderwatch.settings import Settings


def _pragmas(engine_url: str, **kwargs: int) -> dict[str, int | str]:
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
