"""The interfaces services need from the outside world (implemented in ``adapters``).

Services import only these Protocols and the domain; ``bootstrap.py`` wires real adapters
(SQLAlchemy) or test fakes behind them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from types import TracebackType
from typing import Any, Protocol, Self, overload

from orderwatch.domain.causes import Cause
from orderwatch.domain.commands import (
    CustomerData,
    RecordFeedback,
    RecordPayment,
    UpsertOrder,
    UpsertShipment,
)
from orderwatch.domain.detectors import (
    DispatchFacts,
    ExceptionFacts,
    Finding,
    GapSample,
    PromiseFacts,
    ScanFacts,
)
from orderwatch.domain.orders import OrderMilestone, OrderStatus
from orderwatch.domain.risk_flags import RiskFlagKind, RiskSeverity
from orderwatch.domain.shipments import ShipmentState, ShipmentStatus


class Clock(Protocol):
    """Where services get the time; tests and replay pass a controllable one."""

    def now(self) -> datetime: ...


class SettableClock(Clock, Protocol):
    """A clock that replay moves forward (never backwards)."""

    def advance_to(self, moment: datetime) -> None: ...


@dataclass(frozen=True, slots=True)
class ShipmentRecord:
    """A stored shipment with its folded state, as ingestion needs it."""

    id: int
    order_id: int
    carrier_code: str
    tracking_number: str
    state: ShipmentState
    order: OrderRecord | None = None  # the order as locked with the shipment, when the store has it


@dataclass(frozen=True, slots=True)
class OrderRecord:
    """A stored order with what its status derivation needs."""

    id: int
    ref: str
    status: OrderStatus
    milestones: frozenset[OrderMilestone]
    delivered_at: datetime | None
    handed_over_at: datetime | None


@dataclass(frozen=True, slots=True)
class NewEvent:
    """A deduplicated tracking event ready to insert."""

    shipment_id: int
    fingerprint: str
    status: ShipmentStatus
    occurred_at: datetime
    raw_code: str | None
    raw_text: str | None
    location: str | None
    source: str


@dataclass(frozen=True, slots=True)
class OutboxMessage:
    """A side effect to dispatch after commit; ``idempotency_key`` makes it happen once."""

    topic: str
    idempotency_key: str
    payload: Mapping[str, Any]


class IngestStore(Protocol):
    """Batch reads and writes of the ingestion service (one transaction per call site)."""

    def upsert_customers(self, customers: Sequence[CustomerData]) -> dict[str, int]: ...

    def ensure_refs(self, kind: str, refs: Iterable[str]) -> dict[str, int]:
        """Ids of suppliers/products/carriers by ref, creating bare rows for new refs."""
        ...

    def upsert_orders(
        self, orders: Sequence[UpsertOrder], customer_ids: Mapping[str, int], *, now: datetime
    ) -> dict[str, int]: ...

    def replace_order_lines(
        self,
        orders: Sequence[UpsertOrder],
        order_ids: Mapping[str, int],
        supplier_ids: Mapping[str, int],
        product_ids: Mapping[str, int],
    ) -> None: ...

    def record_milestones(
        self, rows: Sequence[tuple[int, OrderMilestone, datetime, str]], *, now: datetime
    ) -> None: ...

    def find_order_ids(self, refs: Iterable[str]) -> dict[str, int]: ...

    def upsert_shipments(
        self,
        shipments: Sequence[UpsertShipment],
        order_ids: Mapping[str, int],
        carrier_ids: Mapping[str, int],
        *,
        now: datetime,
    ) -> dict[tuple[str, str], int]: ...

    def lock_shipments(self, keys: Iterable[tuple[str, str]]) -> dict[tuple[str, str], ShipmentRecord]:
        """Load shipments by (carrier code, tracking number), locking their orders first."""
        ...

    def insert_events(self, events: Sequence[NewEvent], *, now: datetime) -> set[tuple[int, str]]:
        """Insert events, skipping stored duplicates; return (shipment_id, fingerprint) inserted."""
        ...

    def save_shipment_states(self, states: Mapping[int, ShipmentState], *, now: datetime) -> None: ...

    def load_orders(self, order_ids: Iterable[int]) -> dict[int, OrderRecord]: ...

    def load_shipment_states(
        self, order_ids: Iterable[int], *, except_shipments: Iterable[int] = ()
    ) -> dict[int, list[ShipmentState]]:
        """Every shipment state of ``order_ids`` except those of ``except_shipments``."""
        ...

    def save_order_derivations(
        self, rows: Mapping[int, tuple[OrderStatus, datetime | None, datetime | None]], *, now: datetime
    ) -> None:
        """Store (status, handed_over_at, delivered_at) per order id."""
        ...


@dataclass(frozen=True, slots=True)
class ClaimedMessage:
    """An outbox row a dispatcher holds (locked on PostgreSQL) until it marks it."""

    id: int
    topic: str
    idempotency_key: str
    payload: Mapping[str, Any]
    attempts: int


class OutboxStore(Protocol):
    """The transactional outbox: enqueue inside the caller's transaction; dispatchers claim rows."""

    def enqueue(self, messages: Sequence[OutboxMessage], *, now: datetime) -> int: ...

    def claim_due(self, *, now: datetime, limit: int) -> list[ClaimedMessage]: ...

    def mark_sent(self, ids: Sequence[int], *, now: datetime) -> None: ...

    def mark_failed(self, message_id: int, *, error: str, retry_at: datetime | None, now: datetime) -> None:
        """Record a failed attempt; ``retry_at=None`` gives up (status ``dead``)."""
        ...


class Sink(Protocol):
    """Where dispatched messages go (e-mail, SMS and webhooks later; a local recorder in replay)."""

    def send(self, message: ClaimedMessage) -> None:
        """Deliver ``message``; raise to have it retried. Must tolerate a repeat of the same key."""
        ...


class RejectStore(Protocol):
    """Rejected inputs kept for inspection (D1, bad-input rule)."""

    def add(
        self, *, source: str, kind: str, reference: str | None, reason: str, payload: Any, now: datetime
    ) -> None: ...


class UnitOfWork(Protocol):
    """One transaction: ``with uow: ...; uow.commit()``; leaving without commit rolls back."""

    # Read-only members, so that implementations may narrow the types (SqlIngestStore ...).
    @property
    def ingest(self) -> IngestStore: ...

    @property
    def outbox(self) -> OutboxStore: ...

    @property
    def rejects(self) -> RejectStore: ...

    @property
    def master(self) -> MasterDataStore: ...

    def __enter__(self) -> Self: ...

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...

    def commit(self) -> None: ...

    def rollback(self) -> None: ...


# ------------------------------------------------------------------ master data (D1, mission D1 imports)


@dataclass(frozen=True, slots=True)
class CarrierDetails:
    """A carrier as staff and customers see it (display name, tracking page) and its claim deadlines."""

    code: str
    name: str
    tracking_url_template: str | None = None  # with ``{tracking_number}`` where the number goes
    # A claim is filed within claim_file_days of the report; the carrier answers within
    # claim_answer_days of filing. None keeps what is stored (a new carrier gets the defaults of
    # domain/claims.py, 30 and 30 days, from the table's server defaults).
    claim_file_days: int | None = None
    claim_answer_days: int | None = None


@dataclass(frozen=True, slots=True)
class SupplierDetails:
    """A supplier (seller) with where it ships from; ``ref`` is the shop's supplier id."""

    ref: str
    name: str | None = None
    zip_prefix: str | None = None
    city: str | None = None
    region: str | None = None


@dataclass(frozen=True, slots=True)
class ProductDetails:
    """A product's catalogue attributes that matter for shipping (size, weight)."""

    ref: str
    category: str | None = None
    weight_g: int | None = None
    length_cm: int | None = None
    height_cm: int | None = None
    width_cm: int | None = None
    photos: int | None = None


# Payments are replayable commands too (they happen at a moment of the order's history).
PaymentData = RecordPayment


# Feedback is also a replayable command, so it lives with the commands in the domain.
FeedbackData = RecordFeedback


@dataclass(frozen=True, slots=True)
class ZipLocation:
    """The centroid of a postal-code prefix."""

    zip_prefix: str
    lat: float
    lng: float
    city: str | None = None
    region: str | None = None


class MasterDataStore(Protocol):
    """Bulk upserts of the records around orders: catalogue, suppliers, payments, feedback, places.

    Every method is idempotent: the same rows twice leave the same table.
    """

    def upsert_suppliers(self, suppliers: Sequence[SupplierDetails]) -> int: ...

    def upsert_carriers(self, carriers: Sequence[CarrierDetails]) -> int: ...

    def upsert_products(self, products: Sequence[ProductDetails]) -> int: ...

    def upsert_payments(self, payments: Sequence[tuple[int, PaymentData]]) -> int:
        """Store payments given as (order id, payment)."""
        ...

    def upsert_feedback(self, feedback: Sequence[tuple[int, FeedbackData]]) -> int:
        """Store feedback given as (order id, feedback)."""
        ...

    def upsert_zip_locations(self, locations: Sequence[ZipLocation]) -> int: ...


# ------------------------------------------------------------------ customer communication (issue 6: D4, U14)


@dataclass(frozen=True, slots=True)
class NewMessage:
    """A planned message, rendered, ready to store (``status`` pending or suppressed)."""

    idempotency_key: str
    event: str
    channel: str
    recipient: str
    language: str
    subject: str | None
    body_text: str
    body_html: str | None
    context: Mapping[str, Any]
    send_at: datetime
    status: str = "pending"
    order_id: int | None = None
    customer_id: int | None = None
    endpoint_id: int | None = None
    last_error: str | None = None


@dataclass(frozen=True, slots=True)
class OutgoingMessage:
    """A message a worker holds under lease while it sends it (``secret``: webhook endpoints')."""

    id: int
    idempotency_key: str
    event: str
    channel: str
    recipient: str
    subject: str | None
    body_text: str
    body_html: str | None
    attempts: int
    endpoint_id: int | None = None
    secret: str | None = None


@dataclass(frozen=True, slots=True)
class RecipientRecord:
    """An order and its customer's contacts; ``channels`` None means the shop's defaults."""

    order_ref: str
    customer_id: int | None
    email: str | None
    phone: str | None
    language: str
    channels: str | None


@dataclass(frozen=True, slots=True)
class EndpointRecord:
    """A shop system subscribed to webhooks."""

    id: int
    name: str
    url: str
    events: str


@dataclass(frozen=True, slots=True)
class Rendered:
    """A message's text in one language: subject (e-mail), plain text, HTML (e-mail)."""

    subject: str | None
    text: str
    html: str | None


class NotificationStore(Protocol):
    """Message rows, recipients and webhook endpoints (inside the caller's transaction)."""

    def find_recipients(self, order_ids: Iterable[int]) -> dict[int, RecipientRecord]:
        """Each existing order's reference and customer, by order id."""
        ...

    def count_recent_many(self, customer_ids: Iterable[int], *, since: datetime) -> dict[int, int]:
        """Messages planned (not suppressed) per customer since ``since`` (absent: none)."""
        ...

    def last_expected_at(self, order_id: int) -> datetime | None:
        """The expected delivery told in the order's last sent or pending delay message."""
        ...

    def add_messages(self, messages: Sequence[NewMessage], *, now: datetime) -> int:
        """Insert messages, skipping keys already stored; the number inserted."""
        ...

    def active_endpoints(self) -> list[EndpointRecord]: ...

    def claim_due(self, *, now: datetime, lease_until: datetime, limit: int) -> list[OutgoingMessage]:
        """Lease due messages (pending, or sending with an expired lease) until ``lease_until``."""
        ...

    def mark_sent(self, message_ids: Sequence[int], *, now: datetime) -> None: ...

    def mark_failed(self, message_id: int, *, error: str, retry_at: datetime | None) -> None:
        """Record a failed attempt; ``retry_at=None`` gives up (status ``dead``, shown to staff)."""
        ...

    def release(self, message_ids: Sequence[int], *, now: datetime) -> None:
        """Give leased, unsent messages back (a stopping worker) without counting an attempt."""
        ...

    def record_endpoint_result(
        self, endpoint_id: int, *, ok: bool, disable_after: int, now: datetime
    ) -> bool:
        """Count an endpoint's straight failures; disable it after ``disable_after``; True if active."""
        ...

    def redrive(self, *, endpoint_id: int | None, now: datetime) -> int:
        """Dead messages (of one endpoint, or all) back to pending; re-enables the endpoint."""
        ...


class NotificationUnitOfWork(UnitOfWork, Protocol):
    """A unit of work that also holds the notification tables."""

    @property
    def notifications(self) -> NotificationStore: ...


class MessageRenderer(Protocol):
    """Templates per event and language (Babel catalogs)."""

    def render(self, event: str, language: str, context: Mapping[str, Any]) -> Rendered: ...


class PermanentFailure(Exception):
    """A channel refused the message for good (bad address, 4xx): no retry, shown to staff."""


class ChannelSender(Protocol):
    """Sends one message on one channel; raises to retry, :class:`PermanentFailure` to give up."""

    def send(self, message: OutgoingMessage) -> None: ...


# ------------------------------------------------------------------ risk flags (issue 4: D2, D10 in part)


@dataclass(frozen=True, slots=True)
class OpenFlag:
    """A flag that is open now, with what decides whether a new finding changes it."""

    id: int
    order_id: int
    kind: RiskFlagKind
    severity: RiskSeverity
    cause: Cause | None
    reason: str


@dataclass(frozen=True, slots=True)
class RaisedFlag:
    """A flag that this transaction raised or raised again."""

    id: int
    order_id: int
    order_ref: str
    kind: RiskFlagKind
    raised_at: datetime


class RiskFlagStore(Protocol):
    """Set-wise reads of open orders' facts and writes of ``risk_flags`` rows (caller's transaction).

    Every read covers all open orders (not delivered, canceled or unavailable) in one statement.
    """

    def promise_facts(self, *, now: datetime) -> list[PromiseFacts]: ...

    def scan_facts(self, *, quiet_since: datetime) -> list[ScanFacts]:
        """Undelivered parcels in the carrier's hands whose last scan is before ``quiet_since``."""
        ...

    def exception_facts(self) -> list[ExceptionFacts]: ...

    def dispatch_facts(self, *, now: datetime) -> list[DispatchFacts]: ...

    def gap_samples(self, *, since: datetime, now: datetime) -> list[GapSample]:
        """The gaps between consecutive scans of parcels delivered in ``(since, now]``."""
        ...

    def count_open_orders(self) -> int: ...

    def open_flags(self, kinds: Sequence[RiskFlagKind]) -> list[OpenFlag]: ...

    def raise_flags(self, findings: Sequence[Finding], *, now: datetime) -> list[RaisedFlag]:
        """Insert, or re-open cleared rows; a row already open is left alone and not returned."""
        ...

    def eta_windows(self, order_ids: Sequence[int]) -> dict[int, tuple[datetime, datetime]]:
        """The active delay model's latest (P50, P90) expected delivery per order, if scored."""
        ...

    def update_flags(self, changes: Sequence[tuple[int, Finding]], *, now: datetime) -> int:
        """Rewrite severity, cause, reason and details of open flags given as (flag id, finding)."""
        ...

    def clear_flags(self, flag_ids: Sequence[int], *, now: datetime) -> int: ...


class RiskFlagUnitOfWork(UnitOfWork, Protocol):
    """A unit of work that also reaches risk flags."""

    @property
    def risk_flags(self) -> RiskFlagStore: ...


# ------------------------------------------------------------------ delay model (issue 4: D2)


@dataclass(frozen=True, slots=True)
class OrderPrediction:
    """What the delay model says about one order at one stage (``domain.risk.PredictionStage``)."""

    order_id: int
    order_ref: str
    stage: str
    p_late: float
    eta_p50_at: datetime
    eta_p90_at: datetime
    reasons: tuple[str, ...]
    model_version: str


@dataclass(frozen=True, slots=True)
class PredictionBatch(Sequence[OrderPrediction]):
    """Many predictions of one model version as columns (a scoring run: up to every open order).

    A batch run writes every prediction to the store but words flags for a few: building one
    ``OrderPrediction`` per order cost a fifth of scoring 100,000 orders, so the columns are
    kept as they are (plain lists, one entry per order) and an ``OrderPrediction`` is made
    only when one is read (``batch[i]``, iteration). ``reasons`` holds the rows that have any.
    """

    order_ids: Sequence[int]
    order_refs: Sequence[str]
    stages: Sequence[str]
    p_late: Sequence[float]
    eta_p50_at: Sequence[datetime]
    eta_p90_at: Sequence[datetime]
    reasons: Mapping[int, tuple[str, ...]]
    model_version: str

    def __post_init__(self) -> None:
        n = len(self.order_ids)
        columns = (self.order_refs, self.stages, self.p_late, self.eta_p50_at, self.eta_p90_at)
        if any(len(column) != n for column in columns):
            raise ValueError("PredictionBatch: columns of different lengths")

    @classmethod
    def of(cls, predictions: Sequence[OrderPrediction], *, model_version: str = "") -> PredictionBatch:
        """``predictions`` as columns (as they are when already a batch)."""
        if isinstance(predictions, PredictionBatch):
            return predictions
        versions = {p.model_version for p in predictions}
        if len(versions) > 1:
            raise ValueError(f"PredictionBatch: predictions of several model versions {sorted(versions)}")
        return cls(
            [p.order_id for p in predictions],
            [p.order_ref for p in predictions],
            [p.stage for p in predictions],
            [p.p_late for p in predictions],
            [p.eta_p50_at for p in predictions],
            [p.eta_p90_at for p in predictions],
            {i: p.reasons for i, p in enumerate(predictions) if p.reasons},
            versions.pop() if versions else model_version,
        )

    @classmethod
    def join(cls, parts: Sequence[PredictionBatch], *, model_version: str) -> PredictionBatch:
        """The batches one after the other."""
        reasons: dict[int, tuple[str, ...]] = {}
        offset = 0
        for part in parts:
            reasons.update((offset + i, why) for i, why in part.reasons.items())
            offset += len(part)
        return cls(
            [i for part in parts for i in part.order_ids],
            [r for part in parts for r in part.order_refs],
            [s for part in parts for s in part.stages],
            [p for part in parts for p in part.p_late],
            [t for part in parts for t in part.eta_p50_at],
            [t for part in parts for t in part.eta_p90_at],
            reasons,
            model_version,
        )

    def __len__(self) -> int:
        return len(self.order_ids)

    @overload
    def __getitem__(self, index: int) -> OrderPrediction: ...

    @overload
    def __getitem__(self, index: slice) -> Sequence[OrderPrediction]: ...

    def __getitem__(self, index: int | slice) -> OrderPrediction | Sequence[OrderPrediction]:
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(len(self)))]
        if index < 0:
            index += len(self)
        if not 0 <= index < len(self):
            raise IndexError(index)
        return OrderPrediction(
            self.order_ids[index],
            self.order_refs[index],
            self.stages[index],
            self.p_late[index],
            self.eta_p50_at[index],
            self.eta_p90_at[index],
            self.reasons.get(index, ()),
            self.model_version,
        )

    def at_least(self, p_late: float) -> list[OrderPrediction]:
        """The predictions whose P(late) is at least ``p_late`` (the ones a flag may quote)."""
        return [self[i] for i, risk in enumerate(self.p_late) if risk >= p_late]


class RiskModel(Protocol):
    """The active delay model, reading the features it needs itself (``adapters/ml``)."""

    @property
    def version(self) -> str: ...

    def score_open_orders(self, *, now: datetime, explain_above: float) -> PredictionBatch:
        """Every open order's prediction as of ``now``; reasons only where p_late ≥ ``explain_above``."""
        ...

    def score_orders(
        self, order_ids: Sequence[int], *, now: datetime, explain_above: float = 0.0
    ) -> PredictionBatch:
        """Re-score a few open orders (a new event arrived); reasons where P(late) ≥ ``explain_above``."""
        ...


@dataclass(frozen=True, slots=True)
class RescoreMark:
    """An order with news its last score has not seen yet (D2): tracking events or milestones.

    A shipment's mark (``shipment_id`` set) comes with its new tracking events, ``count`` being
    the shipment's event count when read; an order's own mark (``shipment_id`` None) with new
    milestones, ``count`` being the milestones recorded since its last re-score. A mark is
    cleared only if its count is unchanged, so news landing during the re-score keeps it for
    the next run.
    """

    shipment_id: int | None
    order_id: int
    count: int


class PredictionStore(Protocol):
    """The latest prediction per (order, stage), written in the caller's transaction.

    Also the re-score queue that ingestion fills (``RescoreMark``).
    """

    def save_predictions(self, predictions: Sequence[OrderPrediction], *, now: datetime) -> int: ...

    def pending_rescores(self, *, limit: int) -> list[RescoreMark]: ...

    def clear_rescores(self, marks: Sequence[RescoreMark]) -> int: ...


class PredictionUnitOfWork(RiskFlagUnitOfWork, Protocol):
    """A unit of work that reaches predictions and risk flags."""

    @property
    def predictions(self) -> PredictionStore: ...


@dataclass(frozen=True, slots=True)
class ModelVersionInfo:
    """A stored model version and its evaluation figures."""

    version: str
    trained_until: datetime
    n_train: int
    metrics: Mapping[str, Any]
    is_active: bool
    created_at: datetime
    activated_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class ModelEvaluation:
    """A stored ``model evaluate`` run: the version it scored, its time split, its JSON.

    ``model_version`` is None for a run that trained its own models from ``train_until``.
    """

    model_version: str | None
    train_until: datetime
    test_from: datetime
    test_until: datetime
    retrain: str
    result: Mapping[str, Any]
    created_at: datetime
    id: int | None = None


class ModelRegistry(Protocol):
    """Model versions with their serialized estimators; at most one is active."""

    def add(self, info: ModelVersionInfo, blob: bytes) -> None: ...

    def blob(self, version: str) -> bytes | None:
        """The serialized model of ``version``; None when there is no such version."""
        ...

    def add_evaluation(self, evaluation: ModelEvaluation) -> int:
        """Store a ``model evaluate`` run; its id."""
        ...

    def versions(self) -> list[ModelVersionInfo]: ...

    def activate(self, version: str, *, now: datetime) -> bool:
        """Make ``version`` the only active one; False when there is no such version."""
        ...

    def active(self) -> tuple[ModelVersionInfo, bytes] | None: ...

    def active_version(self) -> str | None:
        """The active version's name, without reading its (large) model bytes."""
        ...


class ModelUnitOfWork(UnitOfWork, Protocol):
    """A unit of work that reaches the model registry."""

    @property
    def models(self) -> ModelRegistry: ...
