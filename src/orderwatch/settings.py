"""All settings of OrderWatch, read from ``ORDERWATCH_*`` environment variables (or ``.env``).

Each field is documented here and listed in docs/settings.md (a test keeps the two in step).
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal, Self

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
    max_body_bytes: int = Field(
        16 * 1024 * 1024,
        ge=1024,
        description="Largest HTTP request body accepted (a 5,000-event batch is about 1.5 MB); larger is 413",
    )
    idempotency_retention_hours: int = Field(
        24, ge=1, description="How long the first answer to an Idempotency-Key is kept for retries"
    )
    stale_after_hours: int = Field(
        120, description="A parcel in transit with no scan for this long is stalled (ANCHORS §6: 5 days)"
    )
    sqlite_cache_mb: int = Field(
        64, ge=1, description="SQLite page cache per connection in MB (the default 2 MB re-reads index pages)"
    )
    sqlite_mmap_mb: int = Field(
        1024, ge=0, description="SQLite memory-mapped I/O size in MB (0 turns memory mapping off)"
    )
    sqlite_synchronous: Literal["OFF", "NORMAL", "FULL"] = Field(
        "NORMAL", description="SQLite synchronous mode; the demo builds its fresh database with OFF"
    )
    shop_timezone: str = Field(
        "America/Sao_Paulo", description="Time zone of naive timestamps in imports and of calendar days"
    )

    # --- rule detectors (issue 4: D2); the stall default without history is stale_after_hours
    detectors_every_minutes: int = Field(
        60, ge=1, description="How often the rule detectors run over all open orders (replay, demo, worker)"
    )
    detector_promise_severity_days: tuple[int, int, int] = Field(
        (1, 3, 7), description="Days past the promise at which promise_passed becomes medium, high, critical"
    )
    detector_dispatch_severity_days: tuple[int, int, int] = Field(
        (1, 3, 7), description="Days past dispatch deadline when dispatch_missed is medium, high, critical"
    )
    detector_stall_quantile: float = Field(
        0.95, ge=0.5, lt=1.0, description="Quantile of a lane's scan gaps past which a parcel is stalled"
    )
    detector_stall_min_samples: int = Field(
        30, ge=1, description="Gaps a lane needs for its own quantile (else all lanes, else the default)"
    )
    detector_lane_lookback_days: int = Field(
        180, ge=1, description="Days of deliveries the lanes' usual gaps are learned from"
    )

    # --- delay model (issue 4: D2)
    risk_threshold: float = Field(
        0.5, ge=0.0, le=1.0, description="P(late) at or above which an open order gets a predicted_late flag"
    )
    promise_quantile: float = Field(
        0.9, ge=0.5, lt=1.0, description="Delivery-time quantile a recommended promise date is quoted at"
    )
    scoring_every_minutes: int = Field(
        60, ge=1, description="How often open orders are re-scored by the active model (replay, worker)"
    )
    rescore_every_seconds: int = Field(
        60, ge=1, description="How often orders with new tracking events are re-scored (replay, worker)"
    )

    # --- customer communication (issue 6: D3-D6) and the worker
    public_url: str = Field(
        "http://127.0.0.1:8000",
        description="Address customers reach the tracking page at (links in messages)",
    )
    shop_name: str = Field("OrderWatch Shop", description="Shop name signed under customer messages")
    smtp_host: str = Field("127.0.0.1", description="SMTP server the worker sends e-mail through")
    smtp_port: int = Field(8025, description="SMTP port (the demo mailbox listens on 8025)")
    smtp_sender: str = Field("OrderWatch <no-reply@orderwatch.local>", description="From address of e-mails")
    smtp_starttls: bool = Field(False, description="Upgrade the SMTP connection with STARTTLS")
    smtp_username: str | None = Field(None, description="SMTP login (empty: no authentication)")
    smtp_password: str | None = Field(None, description="SMTP password")
    sms_gateway_url: str | None = Field(None, description="HTTP SMS gateway URL (empty: SMS messages fail)")
    sms_gateway_body: str = Field(
        '{"to": "{to}", "text": "{text}", "reference": "{idempotency_key}"}',
        description="JSON request shape; string values {to}, {text}, {idempotency_key} are filled in",
    )
    sms_gateway_format: str = Field("json", description="json body, or form (url-encoded fields)")
    sms_gateway_headers: str = Field("{}", description="JSON object of extra headers (API keys)")
    channel_timeout_seconds: float = Field(10.0, description="Time-out of one SMTP, SMS or webhook send")
    worker_lease_seconds: int = Field(
        60, description="How long a worker holds claimed messages; longer than the channel time-out"
    )
    worker_threads: int = Field(8, description="Sending threads per worker process")
    worker_mark_batch: int = Field(
        10,
        ge=1,
        le=100,
        description="Sends per 'sent' mark transaction; a killed worker may re-send this many per thread",
    )
    worker_poll_seconds: float = Field(0.5, description="Idle worker pause between looks at the database")
    notification_rules: str = Field(
        "{}",
        description='JSON per event: channels, e.g. {"delivered": ["email", "sms"]}; others keep defaults',
    )
    quiet_hours: str = Field(
        "21:00-08:00", description="Shop-time window when quiet channels wait (HH:MM-HH:MM)"
    )
    quiet_channels: str = Field("sms", description="Comma list of channels that respect quiet hours")
    notification_rate_limit_per_day: int = Field(6, description="Messages per customer in a rolling day")
    delay_change_min_hours: int = Field(
        12, description="A new delay message needs the date to move this much"
    )
    feedback_delay_hours: int = Field(24, description="Hours after delivery before the feedback request")
    auto_remedy_offers: bool = Field(
        False, description="Offer the remedy policy's suggestion by itself when a delay is confirmed"
    )
    remedy_offer_validity_days: int = Field(
        7, ge=1, le=60, description="Days a customer has to accept or decline a remedy offer"
    )
    tracking_rate_limit_per_minute: int = Field(
        20, description="Tracking-page lookups and feedback posts per client address per minute"
    )

    @model_validator(mode="after")
    def _lease_outlasts_sends(self) -> Self:
        if self.worker_lease_seconds <= self.channel_timeout_seconds:
            raise ValueError("ORDERWATCH_WORKER_LEASE_SECONDS must exceed ORDERWATCH_CHANNEL_TIMEOUT_SECONDS")
        return self

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
