"""Every table of OrderWatch, as SQLAlchemy 2 typed declarative rows (D1, U11).

Conventions: integer surrogate keys, the shop's or carrier's own identifiers in ``ref``
columns with unique constraints (they are what the API speaks), times as aware UTC
``DateTime(timezone=True)``, money in integer cents. Constraint names follow
``NAMING_CONVENTION`` so Alembic migrations are stable on SQLite and PostgreSQL alike.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, cast

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    false,
    text,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# SQLite only auto-increments INTEGER PRIMARY KEY; PostgreSQL gets BIGINT identities.
Id = BigInteger().with_variant(Integer(), "sqlite")


class UtcDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes on both backends.

    PostgreSQL stores ``timestamptz``; SQLite has no time zones, so values are stored as naive
    UTC and given their zone back on read. Naive input is refused rather than guessed.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value.isoformat()} refused: give a time zone")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None or value.tzinfo is UTC:
            return value
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


Ts = UtcDateTime()


class Base(DeclarativeBase):
    """Declarative base carrying the shared metadata."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)


def table_of(row: type[Base]) -> Table:
    """The Core ``Table`` of a declarative row class (typed, for Core statements)."""
    return cast(Table, row.__table__)


# ------------------------------------------------------------------ master data


class CustomerRow(Base):
    __tablename__ = "customers"
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    ref: Mapped[str] = mapped_column(String(64), unique=True)
    person_ref: Mapped[str | None] = mapped_column(String(64), index=True)
    name: Mapped[str | None] = mapped_column(String(200))
    email: Mapped[str | None] = mapped_column(String(254), index=True)
    phone: Mapped[str | None] = mapped_column(String(40))
    language: Mapped[str] = mapped_column(String(8), default="en")
    zip_prefix: Mapped[str | None] = mapped_column(String(16))
    city: Mapped[str | None] = mapped_column(String(120))
    region: Mapped[str | None] = mapped_column(String(64))
    country: Mapped[str] = mapped_column(String(2), default="BR")
    address_line: Mapped[str | None] = mapped_column(String(300))


class SupplierRow(Base):
    __tablename__ = "suppliers"
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    ref: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str | None] = mapped_column(String(200))
    zip_prefix: Mapped[str | None] = mapped_column(String(16))
    city: Mapped[str | None] = mapped_column(String(120))
    region: Mapped[str | None] = mapped_column(String(64))
    dispatch_sla_hours: Mapped[int | None] = mapped_column(Integer)


class ProductRow(Base):
    __tablename__ = "products"
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    ref: Mapped[str] = mapped_column(String(64), unique=True)
    category: Mapped[str | None] = mapped_column(String(120))
    weight_g: Mapped[int | None] = mapped_column(Integer)
    length_cm: Mapped[int | None] = mapped_column(Integer)
    height_cm: Mapped[int | None] = mapped_column(Integer)
    width_cm: Mapped[int | None] = mapped_column(Integer)
    photos: Mapped[int | None] = mapped_column(Integer)


class CarrierRow(Base):
    __tablename__ = "carriers"
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    tracking_url_template: Mapped[str | None] = mapped_column(String(500))
    # Claim deadlines (U7, domain/claims.py ClaimWindows): days to file after the report, days
    # the carrier has to answer after filing.
    claim_file_days: Mapped[int] = mapped_column(Integer, default=30, server_default=text("30"))
    claim_answer_days: Mapped[int] = mapped_column(Integer, default=30, server_default=text("30"))


class ZipLocationRow(Base):
    """Centroid of a postal-code prefix (from Olist's geolocation table), for distances (D2)."""

    __tablename__ = "zip_locations"
    zip_prefix: Mapped[str] = mapped_column(String(16), primary_key=True)
    lat: Mapped[float] = mapped_column(Float)
    lng: Mapped[float] = mapped_column(Float)
    city: Mapped[str | None] = mapped_column(String(120))
    region: Mapped[str | None] = mapped_column(String(64))


# ------------------------------------------------------------------ orders


class OrderRow(Base):
    __tablename__ = "orders"
    __table_args__ = (
        # Only the few orders waiting for a re-score after a milestone are in it (D2).
        Index(
            "ix_orders_rescore",
            "id",
            sqlite_where=text("rescore_marks > 0"),
            postgresql_where=text("rescore_marks > 0"),
        ),
    )
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    ref: Mapped[str] = mapped_column(String(64), unique=True)
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("customers.id"), index=True)
    status: Mapped[str] = mapped_column(String(32), index=True)
    currency: Mapped[str] = mapped_column(String(3), default="BRL")
    value_cents: Mapped[int] = mapped_column(BigInteger, default=0)
    purchased_at: Mapped[datetime] = mapped_column(Ts, index=True)
    approved_at: Mapped[datetime | None] = mapped_column(Ts)
    invoiced_at: Mapped[datetime | None] = mapped_column(Ts)
    processing_at: Mapped[datetime | None] = mapped_column(Ts)
    canceled_at: Mapped[datetime | None] = mapped_column(Ts)
    unavailable_at: Mapped[datetime | None] = mapped_column(Ts)
    promised_at: Mapped[datetime | None] = mapped_column(Ts, index=True)
    handed_over_at: Mapped[datetime | None] = mapped_column(Ts)
    delivered_at: Mapped[datetime | None] = mapped_column(Ts, index=True)
    # Denormalized for list filters; maintained by the ingestion service in the same transaction.
    carrier_code: Mapped[str | None] = mapped_column(String(64), index=True)
    origin_region: Mapped[str | None] = mapped_column(String(64))
    destination_region: Mapped[str | None] = mapped_column(String(64), index=True)
    source: Mapped[str] = mapped_column(String(32), default="api")
    # A free reshipment is a new order pointing at the one it replaces (issue 5, U6).
    reshipment_of_id: Mapped[int | None] = mapped_column(ForeignKey("orders.id"), index=True)
    # Milestones recorded since the delay model last re-scored the order (approval, cancellation
    # ...: events that are no parcel scan, so no shipment is marked); cleared by the re-score
    # job only if no milestone came in meanwhile (D2, services/prediction.py).
    rescore_marks: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))
    created_at: Mapped[datetime] = mapped_column(Ts)
    updated_at: Mapped[datetime] = mapped_column(Ts)


class OrderLineRow(Base):
    __tablename__ = "order_lines"
    __table_args__ = (UniqueConstraint("order_id", "line_no"),)
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"), index=True)
    line_no: Mapped[int] = mapped_column(Integer)
    product_id: Mapped[int | None] = mapped_column(ForeignKey("products.id"))
    supplier_id: Mapped[int | None] = mapped_column(ForeignKey("suppliers.id"), index=True)
    quantity: Mapped[int] = mapped_column(Integer, default=1)
    unit_price_cents: Mapped[int] = mapped_column(BigInteger, default=0)
    freight_cents: Mapped[int] = mapped_column(BigInteger, default=0)
    dispatch_deadline: Mapped[datetime | None] = mapped_column(Ts)


class OrderEventRow(Base):
    """Order milestones (placed, approved, canceled ...) on the order's timeline."""

    __tablename__ = "order_events"
    __table_args__ = (UniqueConstraint("order_id", "milestone"),)
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"), index=True)
    milestone: Mapped[str] = mapped_column(String(32))
    occurred_at: Mapped[datetime] = mapped_column(Ts)
    source: Mapped[str] = mapped_column(String(32))
    received_at: Mapped[datetime] = mapped_column(Ts)


class PaymentRow(Base):
    __tablename__ = "payments"
    __table_args__ = (UniqueConstraint("order_id", "sequence"),)
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"), index=True)
    sequence: Mapped[int] = mapped_column(Integer)
    method: Mapped[str] = mapped_column(String(32))
    installments: Mapped[int] = mapped_column(Integer, default=1)
    value_cents: Mapped[int] = mapped_column(BigInteger)


class FeedbackRow(Base):
    """A customer's rating and comment on an order (D6); Olist reviews land here."""

    __tablename__ = "feedback"
    __table_args__ = (UniqueConstraint("order_id", "ref"),)
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"), index=True)
    ref: Mapped[str] = mapped_column(String(64))
    score: Mapped[int] = mapped_column(Integer)
    title: Mapped[str | None] = mapped_column(String(200))
    comment: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime | None] = mapped_column(Ts)
    answered_at: Mapped[datetime | None] = mapped_column(Ts)
    source: Mapped[str] = mapped_column(String(32))


# ------------------------------------------------------------------ shipments and tracking


class ShipmentRow(Base):
    __tablename__ = "shipments"
    __table_args__ = (
        UniqueConstraint("carrier_id", "tracking_number"),
        # Only the few shipments waiting for a re-score are in it: the scoring job's queue.
        Index(
            "ix_shipments_rescore",
            "id",
            sqlite_where=text("rescore_pending"),
            postgresql_where=text("rescore_pending"),
        ),
        # The detectors learn lanes' usual gaps from the parcels delivered since their last look:
        # without it each look read every tracking event ever stored.
        Index("ix_shipments_delivered_at", "delivered_at"),
    )
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"), index=True)
    carrier_id: Mapped[int] = mapped_column(ForeignKey("carriers.id"), index=True)
    tracking_number: Mapped[str] = mapped_column(String(64))
    origin_region: Mapped[str | None] = mapped_column(String(64))
    destination_region: Mapped[str | None] = mapped_column(String(64))
    promised_at: Mapped[datetime | None] = mapped_column(Ts)
    # The folded ShipmentState (domain/shipments.py); recomputable from tracking_events.
    status: Mapped[str] = mapped_column(String(32), index=True)
    status_at: Mapped[datetime | None] = mapped_column(Ts)
    status_precedence: Mapped[int] = mapped_column(Integer, default=-1)
    last_scan_at: Mapped[datetime | None] = mapped_column(Ts)
    handed_over_at: Mapped[datetime | None] = mapped_column(Ts)
    first_attempt_at: Mapped[datetime | None] = mapped_column(Ts)
    delivered_at: Mapped[datetime | None] = mapped_column(Ts)
    event_count: Mapped[int] = mapped_column(Integer, default=0)
    # Set by ingestion in the same UPDATE that folds new events in; cleared by the delay
    # model's scoring job once the order is re-scored (D2, services/prediction.py).
    rescore_pending: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    created_at: Mapped[datetime] = mapped_column(Ts)
    updated_at: Mapped[datetime] = mapped_column(Ts)


class TrackingEventRow(Base):
    """One normalized carrier scan; ``fingerprint`` makes the same scan twice one row."""

    __tablename__ = "tracking_events"
    __table_args__ = (
        UniqueConstraint("shipment_id", "fingerprint"),
        Index("ix_tracking_events_shipment_time", "shipment_id", "occurred_at"),
    )
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    shipment_id: Mapped[int] = mapped_column(ForeignKey("shipments.id", ondelete="CASCADE"))
    fingerprint: Mapped[str] = mapped_column(String(40))
    status: Mapped[str] = mapped_column(String(32))
    occurred_at: Mapped[datetime] = mapped_column(Ts)
    received_at: Mapped[datetime] = mapped_column(Ts)
    raw_code: Mapped[str | None] = mapped_column(String(64))
    raw_text: Mapped[str | None] = mapped_column(String(500))
    location: Mapped[str | None] = mapped_column(String(200))
    source: Mapped[str] = mapped_column(String(32))


# ------------------------------------------------------------------ platform


class UserRow(Base):
    __tablename__ = "users"
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str | None] = mapped_column(String(254))
    role: Mapped[str] = mapped_column(String(32))
    language: Mapped[str] = mapped_column(String(8), default="zh_CN")
    password_hash: Mapped[str] = mapped_column(String(200))
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(Ts)


class ApiKeyRow(Base):
    """An integration's API key: only a hash of the secret is stored; scopes are permissions."""

    __tablename__ = "api_keys"
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    prefix: Mapped[str] = mapped_column(String(16), unique=True)
    secret_hash: Mapped[str] = mapped_column(String(128))
    name: Mapped[str] = mapped_column(String(200))
    scopes: Mapped[str] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(Ts)
    revoked_at: Mapped[datetime | None] = mapped_column(Ts)
    last_used_at: Mapped[datetime | None] = mapped_column(Ts)


class WebhookSecretRow(Base):
    """Inbound webhook secrets per source; two may be active at once for rotation."""

    __tablename__ = "webhook_secrets"
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    source: Mapped[str] = mapped_column(String(32), index=True)
    secret: Mapped[str] = mapped_column(String(256))
    created_at: Mapped[datetime] = mapped_column(Ts)
    retired_at: Mapped[datetime | None] = mapped_column(Ts)


class IdempotencyKeyRow(Base):
    """The first answer to a request with an ``Idempotency-Key``, replayed on retries."""

    __tablename__ = "idempotency_keys"
    __table_args__ = (UniqueConstraint("principal", "key"),)
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    principal: Mapped[str] = mapped_column(String(80))
    key: Mapped[str] = mapped_column(String(200))
    request_hash: Mapped[str] = mapped_column(String(64))
    status_code: Mapped[int] = mapped_column(Integer)
    response: Mapped[Any] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(Ts)


class RiskFlagRow(Base):
    """A detector's flag on an order (``domain/risk_flags.py``): one row per (order, kind)."""

    __tablename__ = "risk_flags"
    __table_args__ = (
        UniqueConstraint("order_id", "kind"),
        Index("ix_risk_flags_open", "cleared_at", "kind"),
    )
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"))
    kind: Mapped[str] = mapped_column(String(32))
    severity: Mapped[str] = mapped_column(String(16))
    cause: Mapped[str | None] = mapped_column(String(32))
    reason: Mapped[str] = mapped_column(Text)
    details: Mapped[Any] = mapped_column(JSON)
    raised_at: Mapped[datetime] = mapped_column(Ts)
    updated_at: Mapped[datetime] = mapped_column(Ts)
    cleared_at: Mapped[datetime | None] = mapped_column(Ts)


class ModelVersionRow(Base):
    """A trained delay model (D2): its metrics, and the fitted estimators as pickled bytes.

    The bytes live in the database (not a file under the data dir) so that a backup, a second
    server or a PostgreSQL deployment carries its models; at most one row is active.
    """

    __tablename__ = "model_versions"
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    version: Mapped[str] = mapped_column(String(40), unique=True)
    trained_until: Mapped[datetime] = mapped_column(Ts)
    n_train: Mapped[int] = mapped_column(Integer)
    metrics: Mapped[Any] = mapped_column(JSON)
    model: Mapped[bytes] = mapped_column(LargeBinary)
    is_active: Mapped[bool] = mapped_column(Boolean, default=False, index=True)
    created_at: Mapped[datetime] = mapped_column(Ts)
    activated_at: Mapped[datetime | None] = mapped_column(Ts)


class ModelEvaluationRow(Base):
    """A stored ``orderwatch model evaluate`` run (D2): its options and its JSON result.

    ``model_version`` is the stored version it scored (``--version``); a run that trained its
    own models from ``train_until`` (the issue's time split) has none and belongs to no version.
    """

    __tablename__ = "model_evaluations"
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    model_version: Mapped[str | None] = mapped_column(String(40), index=True)
    train_until: Mapped[datetime] = mapped_column(Ts)
    test_from: Mapped[datetime] = mapped_column(Ts)
    test_until: Mapped[datetime] = mapped_column(Ts)
    retrain: Mapped[str] = mapped_column(String(16))
    result: Mapped[Any] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(Ts, index=True)


class PredictionRow(Base):
    """The latest prediction for an order at one stage (purchase, handoff, in_transit) (D2)."""

    __tablename__ = "predictions"
    __table_args__ = (UniqueConstraint("order_id", "stage"),)
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"))
    stage: Mapped[str] = mapped_column(String(16))
    model_version: Mapped[str] = mapped_column(String(40))
    p_late: Mapped[float] = mapped_column(Float)
    eta_p50_at: Mapped[datetime] = mapped_column(Ts)
    eta_p90_at: Mapped[datetime] = mapped_column(Ts)
    reasons: Mapped[Any] = mapped_column(JSON)
    scored_at: Mapped[datetime] = mapped_column(Ts)


class RejectedItemRow(Base):
    """An input that could not be accepted, kept for inspection and re-submission (D1)."""

    __tablename__ = "rejected_items"
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    source: Mapped[str] = mapped_column(String(32), index=True)
    kind: Mapped[str] = mapped_column(String(32))
    reference: Mapped[str | None] = mapped_column(String(200))
    reason: Mapped[str] = mapped_column(Text)
    payload: Mapped[Any] = mapped_column(JSON)
    received_at: Mapped[datetime] = mapped_column(Ts, index=True)


class OutboxRow(Base):
    """A side effect recorded in the transaction that caused it, dispatched by the worker."""

    __tablename__ = "outbox"
    __table_args__ = (Index("ix_outbox_due", "status", "next_attempt_at", "id"),)
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    topic: Mapped[str] = mapped_column(String(64))
    idempotency_key: Mapped[str] = mapped_column(String(200), unique=True)
    payload: Mapped[Any] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(Ts)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(Ts)
    sent_at: Mapped[datetime | None] = mapped_column(Ts)


# ------------------------------------------------------------------ incidents (issue 5: U2–U8, U11, U14)


class IncidentRow(Base):
    """One case of the emergency plan (``domain/incidents.py``), with the facts the plan asks for.

    ``open_order_id`` equals ``order_id`` while the case is not closed or cancelled and is NULL
    afterwards: its unique constraint is what makes two active cases for one order impossible,
    on both backends (NULLs never collide). ``open_scope`` does the same for major incidents.
    """

    __tablename__ = "incidents"
    __table_args__ = (
        Index("ix_incidents_sla_due", "next_sla_check_at"),
        Index("ix_incidents_board", "status", "reported_at"),
    )
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    ref: Mapped[str] = mapped_column(String(80), unique=True)
    order_id: Mapped[int | None] = mapped_column(ForeignKey("orders.id"), index=True)
    open_order_id: Mapped[int | None] = mapped_column(Id, unique=True)
    scope: Mapped[str | None] = mapped_column(String(160))
    open_scope: Mapped[str | None] = mapped_column(String(160), unique=True)
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("incidents.id"), index=True)
    risk_flag_id: Mapped[int | None] = mapped_column(ForeignKey("risk_flags.id"))
    status: Mapped[str] = mapped_column(String(32))
    severity: Mapped[str] = mapped_column(String(16))
    cause: Mapped[str] = mapped_column(String(32), index=True)
    party: Mapped[str | None] = mapped_column(String(32))
    source: Mapped[str] = mapped_column(String(16))
    summary: Mapped[str] = mapped_column(Text, default="")
    order_ref: Mapped[str] = mapped_column(String(64))
    customer_name: Mapped[str | None] = mapped_column(String(200))
    customer_email: Mapped[str | None] = mapped_column(String(254))
    customer_phone: Mapped[str | None] = mapped_column(String(40))
    address: Mapped[str | None] = mapped_column(String(400))
    region: Mapped[str | None] = mapped_column(String(64))
    lane: Mapped[str | None] = mapped_column(String(140))
    carrier_code: Mapped[str | None] = mapped_column(String(64))
    tracking_number: Mapped[str | None] = mapped_column(String(64))
    order_value_cents: Mapped[int] = mapped_column(BigInteger, default=0)
    reported_at: Mapped[datetime] = mapped_column(Ts)
    reported_by: Mapped[str] = mapped_column(String(64))
    # When the problem arose (the policy fired), which the volume trigger counts by.
    detected_at: Mapped[datetime] = mapped_column(Ts, index=True)
    assessed_at: Mapped[datetime | None] = mapped_column(Ts)
    assigned_at: Mapped[datetime | None] = mapped_column(Ts)
    first_contact_at: Mapped[datetime | None] = mapped_column(Ts)
    resolving_at: Mapped[datetime | None] = mapped_column(Ts)
    resolved_at: Mapped[datetime | None] = mapped_column(Ts)
    closed_at: Mapped[datetime | None] = mapped_column(Ts)
    cancelled_at: Mapped[datetime | None] = mapped_column(Ts)
    waiting_on: Mapped[str | None] = mapped_column(String(16))
    waiting_since: Mapped[datetime | None] = mapped_column(Ts)
    pauses: Mapped[Any] = mapped_column(JSON)
    escalation_level: Mapped[int] = mapped_column(Integer, default=0)
    sla_state: Mapped[str] = mapped_column(String(16), default="running")
    next_sla_check_at: Mapped[datetime | None] = mapped_column(Ts)
    resolution: Mapped[str | None] = mapped_column(Text)
    root_cause: Mapped[str | None] = mapped_column(Text)
    lessons: Mapped[str | None] = mapped_column(Text)
    follow_ups: Mapped[str | None] = mapped_column(Text)
    reopened_at: Mapped[datetime | None] = mapped_column(Ts)
    updated_at: Mapped[datetime] = mapped_column(Ts)


class IncidentTimelineRow(Base):
    """Every action, note and contact on a case, in order (U11): the audit trail and the report."""

    __tablename__ = "incident_timeline"
    __table_args__ = (Index("ix_incident_timeline_incident", "incident_id", "at", "id"),)
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(32))
    at: Mapped[datetime] = mapped_column(Ts)
    actor: Mapped[str] = mapped_column(String(64))
    from_status: Mapped[str | None] = mapped_column(String(32))
    to_status: Mapped[str | None] = mapped_column(String(32))
    detail: Mapped[Any] = mapped_column(JSON)


class SlaLedgerRow(Base):
    """The SLA ledger (started, paused, resumed, warned, met, breached, voided) per case and clock."""

    __tablename__ = "sla_ledger"
    __table_args__ = (UniqueConstraint("incident_id", "metric", "kind", "at"),)
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id", ondelete="CASCADE"))
    metric: Mapped[str] = mapped_column(String(16))
    kind: Mapped[str] = mapped_column(String(16))
    at: Mapped[datetime] = mapped_column(Ts)
    recorded_at: Mapped[datetime] = mapped_column(Ts)


class TeamRow(Base):
    """The plan's three groups (U2): leadership, CS emergency team, logistics emergency team."""

    __tablename__ = "teams"
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(120))


class TeamMemberRow(Base):
    __tablename__ = "team_members"
    __table_args__ = (UniqueConstraint("team_id", "username"),)
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    team_id: Mapped[int] = mapped_column(ForeignKey("teams.id", ondelete="CASCADE"))
    username: Mapped[str] = mapped_column(String(64), index=True)
    is_lead: Mapped[bool] = mapped_column(Boolean, default=False)


class OnCallShiftRow(Base):
    """Who of a team answers escalations in ``[starts_at, ends_at)`` (the on-call rota)."""

    __tablename__ = "on_call_shifts"
    __table_args__ = (Index("ix_on_call_shifts_team_time", "team_id", "starts_at"),)
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    team_id: Mapped[int] = mapped_column(ForeignKey("teams.id", ondelete="CASCADE"))
    username: Mapped[str] = mapped_column(String(64))
    starts_at: Mapped[datetime] = mapped_column(Ts)
    ends_at: Mapped[datetime] = mapped_column(Ts)


class IncidentTaskRow(Base):
    """A task the lead assigned (U5): contact the customer, locate the parcel, reship, refund ..."""

    __tablename__ = "incident_tasks"
    __table_args__ = (Index("ix_incident_tasks_owner", "owner", "status", "due_at"),)
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(32))
    team: Mapped[str] = mapped_column(String(32))
    owner: Mapped[str] = mapped_column(String(64))
    due_at: Mapped[datetime] = mapped_column(Ts)
    status: Mapped[str] = mapped_column(String(16), default="open")
    note: Mapped[str] = mapped_column(Text, default="")
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(Ts)
    done_at: Mapped[datetime | None] = mapped_column(Ts)


class BackupCarrierMarkRow(Base):
    """A lane or region marked for the backup carrier by a major incident (U12 bulk action)."""

    __tablename__ = "backup_carrier_marks"
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    scope: Mapped[str] = mapped_column(String(160), unique=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id"))
    marked_by: Mapped[str] = mapped_column(String(64))
    marked_at: Mapped[datetime] = mapped_column(Ts)
    cleared_at: Mapped[datetime | None] = mapped_column(Ts)


class CompensationRow(Base):
    """One entry of the compensation ledger (U6, D5): a refund, coupon, reshipment or redelivery.

    ``status`` is approved, pending (above the recorder's limit) or rejected; only approved rows
    are cost. An approved reshipment points at the linked order it created.
    """

    __tablename__ = "incident_compensations"
    __table_args__ = (Index("ix_incident_compensations_status", "status", "requested_at"),)
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(32))
    amount_cents: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    status: Mapped[str] = mapped_column(String(16))
    approver_role: Mapped[str] = mapped_column(String(32))
    requested_by: Mapped[str] = mapped_column(String(64))
    requested_at: Mapped[datetime] = mapped_column(Ts)
    decided_by: Mapped[str | None] = mapped_column(String(64))
    decided_at: Mapped[datetime | None] = mapped_column(Ts)
    note: Mapped[str] = mapped_column(Text, default="")
    linked_order_id: Mapped[int | None] = mapped_column(ForeignKey("orders.id"))


class CarrierClaimRow(Base):
    """A claim against a carrier for a lost or damaged parcel (U7), ``domain/claims.py``."""

    __tablename__ = "carrier_claims"
    __table_args__ = (Index("ix_carrier_claims_carrier", "carrier_code", "status"),)
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id", ondelete="CASCADE"), index=True)
    carrier_code: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16))
    amount_claimed_cents: Mapped[int] = mapped_column(BigInteger)
    amount_recovered_cents: Mapped[int] = mapped_column(BigInteger, default=0)
    currency: Mapped[str] = mapped_column(String(3))
    carrier_reference: Mapped[str | None] = mapped_column(String(120))
    file_by: Mapped[datetime] = mapped_column(Ts)
    filed_at: Mapped[datetime | None] = mapped_column(Ts)
    answer_due_at: Mapped[datetime | None] = mapped_column(Ts)
    answered_at: Mapped[datetime | None] = mapped_column(Ts)
    closed_at: Mapped[datetime | None] = mapped_column(Ts)
    # When each passed deadline was escalated (once each; the job claim_deadlines).
    file_escalated_at: Mapped[datetime | None] = mapped_column(Ts)
    answer_escalated_at: Mapped[datetime | None] = mapped_column(Ts)
    note: Mapped[str] = mapped_column(Text, default="")
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(Ts)
    updated_at: Mapped[datetime] = mapped_column(Ts)


# ------------------------------------------------------------ customer communication (issue 6: D3-D6, U14)


class WebhookEndpointRow(Base):
    """A shop system that receives signed webhooks; disabled after repeated failures (ANCHORS §6)."""

    __tablename__ = "webhook_endpoints"
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    url: Mapped[str] = mapped_column(String(500))
    secret: Mapped[str] = mapped_column(String(256))
    events: Mapped[str] = mapped_column(String(500), default="*")  # comma list of events, * for all
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    consecutive_failures: Mapped[int] = mapped_column(Integer, default=0)
    disabled_at: Mapped[datetime | None] = mapped_column(Ts)
    created_at: Mapped[datetime] = mapped_column(Ts)


class NotificationPreferenceRow(Base):
    """A customer's chosen channels and language for messages; no row means the shop's defaults."""

    __tablename__ = "notification_preferences"
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"), primary_key=True)
    channels: Mapped[str] = mapped_column(String(64))  # comma list: email,sms ("" = no messages)
    language: Mapped[str | None] = mapped_column(String(8))
    updated_at: Mapped[datetime] = mapped_column(Ts)


class NotificationMessageRow(Base):
    """One message to one recipient on one channel, rendered when planned, sent by the worker.

    ``status``: pending → sending (leased to a worker until ``next_attempt_at``) → sent; or
    failed attempts back to pending with back-off, ``dead`` when given up, ``suppressed`` when
    a rule held it back (rate limit, no contact, opt-out).
    """

    __tablename__ = "notification_messages"
    __table_args__ = (
        Index("ix_notification_messages_due", "status", "next_attempt_at", "id"),
        Index("ix_notification_messages_customer_time", "customer_id", "created_at"),
    )
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    idempotency_key: Mapped[str] = mapped_column(String(200), unique=True)
    event: Mapped[str] = mapped_column(String(32))
    channel: Mapped[str] = mapped_column(String(16))
    order_id: Mapped[int | None] = mapped_column(ForeignKey("orders.id"), index=True)
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("customers.id"))
    endpoint_id: Mapped[int | None] = mapped_column(ForeignKey("webhook_endpoints.id"))
    recipient: Mapped[str] = mapped_column(String(500))
    language: Mapped[str] = mapped_column(String(8))
    subject: Mapped[str | None] = mapped_column(String(300))
    body_text: Mapped[str] = mapped_column(Text)
    body_html: Mapped[str | None] = mapped_column(Text)
    context: Mapped[Any] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(Ts)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(Ts)
    sent_at: Mapped[datetime | None] = mapped_column(Ts)


class RemedyOfferRow(Base):
    """A remedy put to a customer and their decision (D5, U6); not a payment (the ledger is apart).

    ``status``: offered → accepted / declined (one decision, ``decided_at`` and ``channel`` say
    when and where) or expired after ``expires_at``. ``cause_key`` makes an automatic offer
    once per cause (a replayed delay event offers nothing new).
    """

    __tablename__ = "remedy_offers"
    __table_args__ = (Index("ix_remedy_offers_due", "status", "expires_at"),)
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"), index=True)
    incident_id: Mapped[int | None] = mapped_column(ForeignKey("incidents.id"))
    kind: Mapped[str] = mapped_column(String(32))
    amount_cents: Mapped[int] = mapped_column(BigInteger, default=0)
    currency: Mapped[str] = mapped_column(String(3))
    status: Mapped[str] = mapped_column(String(16), default="offered")
    rule: Mapped[str | None] = mapped_column(String(120))
    offered_by: Mapped[str] = mapped_column(String(64))
    offered_at: Mapped[datetime] = mapped_column(Ts)
    expires_at: Mapped[datetime] = mapped_column(Ts)
    decided_at: Mapped[datetime | None] = mapped_column(Ts)
    channel: Mapped[str | None] = mapped_column(String(32))  # where the customer decided
    cause_key: Mapped[str | None] = mapped_column(String(200), unique=True)


class MailboxRow(Base):
    """The demo's local mailbox: what the demo shop "sent", stored here instead of leaving the machine.

    One row per message idempotency key (a re-sent copy is recognised and dropped, like a
    mailbox that de-duplicates on Message-ID).
    """

    __tablename__ = "demo_mailbox"
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    message_key: Mapped[str] = mapped_column(String(200), unique=True)
    event: Mapped[str] = mapped_column(String(32))
    channel: Mapped[str] = mapped_column(String(16))
    order_id: Mapped[int | None] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"), index=True)
    recipient: Mapped[str] = mapped_column(String(500))
    language: Mapped[str] = mapped_column(String(8))
    subject: Mapped[str | None] = mapped_column(String(300))
    body_text: Mapped[str] = mapped_column(Text)
    body_html: Mapped[str | None] = mapped_column(Text)
    delivered_at: Mapped[datetime] = mapped_column(Ts, index=True)


class WorkerJobRow(Base):
    """When a scheduled worker job next runs; the row is the lock that lets one worker run it."""

    __tablename__ = "worker_jobs"
    name: Mapped[str] = mapped_column(String(80), primary_key=True)
    next_run_at: Mapped[datetime] = mapped_column(Ts)
    holder: Mapped[str | None] = mapped_column(String(120))
    last_started_at: Mapped[datetime | None] = mapped_column(Ts)
    last_finished_at: Mapped[datetime | None] = mapped_column(Ts)
    last_error: Mapped[str | None] = mapped_column(Text)
