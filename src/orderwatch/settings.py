"""All settings of OrderWatch, read from ``ORDERWATCH_*`` environment variables (or ``.env``).

Each field is documented here and listed in docs/settings.md (a test keeps the two in step).
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Self

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEV_SECRET = "dev-only-not-secret"  # noqa: S105 - a marker that production refuses, not a secret


class Settings(BaseSettings):
    """Runtime configuration; every field maps to ``ORDERWATCH_<FIELD>``."""

    model_config = SettingsConfigDict(env_prefix="ORDERWATCH_", env_file=".env", extra="ignore")

    environment: str = Field(
        "development", description="development, test or production; production refuses unsafe defaults"
    )
    data_dir: Path = Field(Path("var"), description="Folder for the SQLite file, models and reports")
    database_url: str | None = Field(
        None,
        description="SQLAlchemy URL; empty means the SQLite file <data_dir>/orderwatch.sqlite3. "
        "PostgreSQL: postgresql://user@host:5432/db (psycopg 3)",
    )
    secret_key: str = Field(DEV_SECRET, description="Signs session cookies and CSRF tokens")
    olist_dir: Path = Field(
        Path("../shared/data/olist"), description="Folder holding the Olist CSV (.csv or .csv.gz) files"
    )
    assets_dir: Path = Field(
        Path("build/assets"), description="Front-end assets installed by npm at set-up (htmx, charts)"
    )
    host: str = Field("127.0.0.1", description="Address `orderwatch serve` listens on")
    port: int = Field(8000, description="Port `orderwatch serve` listens on")
    default_language: str = Field("zh_CN", description="Staff page language before a user chooses")
    webhook_replay_window_seconds: int = Field(
        300, description="Signed webhooks older or newer than this (by their timestamp) are refused"
    )
    stale_after_hours: int = Field(
        120, description="A parcel in transit with no scan for this long is stalled (ANCHORS §6: 5 days)"
    )
    shop_timezone: str = Field(
        "America/Sao_Paulo", description="Time zone of naive timestamps in imports and of calendar days"
    )

    @model_validator(mode="after")
    def _refuse_unsafe_production(self) -> Self:
        if self.environment == "production" and self.secret_key == DEV_SECRET:
            raise ValueError("ORDERWATCH_SECRET_KEY must be set to a real secret in production")
        return self

    @property
    def resolved_database_url(self) -> str:
        """The database URL, defaulting to the embedded SQLite file."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'orderwatch.sqlite3').resolve()}"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings (tests build their own ``Settings`` instead)."""
    return Settings()
