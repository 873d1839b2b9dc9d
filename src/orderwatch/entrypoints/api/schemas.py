"""Request and response bodies of the ``/api/v1`` JSON API (D1), as Pydantic v2 models.

Requests are parsed here and turned into the domain's ingestion commands (``to_command``);
responses are built from the service outcomes and the read-side view models of
``adapters/db/queries.py``. Two rules hold for every request body:

* every datetime carries a time zone (a naive one is refused, naming the field) and is
  stored in UTC;
* money arrives in major units (``"19.90"`` or ``19.9``) and becomes integer cents exactly,
  through ``Decimal``; a third decimal place is refused rather than rounded.

Batch bodies are parsed item by item: a malformed item becomes a rejected result with its
reason instead of failing the whole batch (a bad event never aborts the rest, issue 2).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Annotated, Any, Literal, TypeVar, cast

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    TypeAdapter,
    ValidationError,
    ValidatorFunctionWrapHandler,
    WrapValidator,
)
from pydantic.json_schema import SkipJsonSchema
from pydantic_core import PydanticCustomError

from orderwatch.adapters.db.queries import OrderDetail, OrderFilter, OrderSummary
from orderwatch.domain.commands import (
    CustomerData,
    EventOutcome,
    OrderLineData,
    RecordTrackingEvent,
    UpsertOrder,
    UpsertShipment,
)
from orderwatch.domain.orders import OrderMilestone, OrderStatus
from orderwatch.domain.shipments import ShipmentStatus
from orderwatch.services.ingest import REJECTED, ItemOutcome, Unreadable

SOURCE = "api"
MAX_EVENTS_PER_BATCH = 5000
MAX_ORDERS_PER_BATCH = 1000
_T = TypeVar("_T")


def _require_time_zone(value: datetime) -> datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        raise PydanticCustomError(
            "naive_datetime",
            "must carry a time zone, e.g. 2018-03-01T12:00:00Z or 2018-03-01T09:00:00-03:00 (got {value})",
            {"value": value.isoformat()},
        )
    return value.astimezone(UTC)


def _refuse_stale(value: ShipmentStatus) -> ShipmentStatus:
    if value is ShipmentStatus.stale:
        raise PydanticCustomError(
            "derived_status", "'stale' is derived by OrderWatch from time, never received"
        )
    return value


AwareDatetime = Annotated[datetime, AfterValidator(_require_time_zone)]
Ref = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)]
# Up to 12 digits before the point: far above any order line, far below BIGINT cents.
MajorUnits = Annotated[Decimal, Field(ge=0, max_digits=14, decimal_places=2, examples=["19.90"])]
ReceivedStatus = Annotated[ShipmentStatus, AfterValidator(_refuse_stale)]


# Widths follow the columns in tables.py: an over-long value must be refused here, where it
# fails one item, not in the database, where it would fail the whole batch.
Text8 = Annotated[str, StringConstraints(strip_whitespace=True, max_length=8)]
Text16 = Annotated[str, StringConstraints(strip_whitespace=True, max_length=16)]
Text40 = Annotated[str, StringConstraints(strip_whitespace=True, max_length=40)]
Text64 = Annotated[str, StringConstraints(strip_whitespace=True, max_length=64)]
Text120 = Annotated[str, StringConstraints(strip_whitespace=True, max_length=120)]
Text200 = Annotated[str, StringConstraints(strip_whitespace=True, max_length=200)]
Text254 = Annotated[str, StringConstraints(strip_whitespace=True, max_length=254)]
Text300 = Annotated[str, StringConstraints(strip_whitespace=True, max_length=300)]
# Raw carrier text and locations are cut by the ingestion service; these bounds only stop abuse.
Text1000 = Annotated[str, StringConstraints(strip_whitespace=True, max_length=1000)]
Text2000 = Annotated[str, StringConstraints(strip_whitespace=True, max_length=2000)]


def to_cents(amount: Decimal) -> int:
    """Major units to integer minor units, exactly (the schema allows two decimal places)."""
    return int(amount.scaleb(2))


class _Input(BaseModel):
    # A misspelt optional field would otherwise be dropped without a word.
    model_config = ConfigDict(extra="forbid")


# ------------------------------------------------------------------ requests


class CustomerIn(_Input):
    ref: Ref
    name: Text200 | None = None
    email: Text254 | None = None
    phone: Text40 | None = None
    language: Text8 = Field("en", description="en, zh_CN or pt_BR (zh-CN, pt ... accepted)")
    person_ref: Ref | None = Field(None, description="Links several per-order customer ids of one person")
    zip_prefix: Text16 | None = None
    city: Text120 | None = None
    region: Text64 | None = None
    country: Annotated[str, StringConstraints(pattern=r"^[A-Za-z]{2}$", to_upper=True)] = "BR"
    address_line: Text300 | None = None

    def to_data(self) -> CustomerData:
        return CustomerData(**self.model_dump())


class OrderLineIn(_Input):
    line_no: int = Field(ge=1, le=100_000)
    product_ref: Ref | None = None
    supplier_ref: Ref | None = None
    quantity: int = Field(1, ge=1, le=1_000_000)
    unit_price: MajorUnits = Decimal(0)
    freight: MajorUnits = Decimal(0)
    dispatch_deadline: AwareDatetime | None = Field(None, description="The supplier's hand-over deadline")

    def to_data(self) -> OrderLineData:
        return OrderLineData(
            line_no=self.line_no, product_ref=self.product_ref, supplier_ref=self.supplier_ref,
            quantity=self.quantity, unit_price_cents=to_cents(self.unit_price),
            freight_cents=to_cents(self.freight), dispatch_deadline=self.dispatch_deadline,
        )


class MilestoneIn(_Input):
    milestone: OrderMilestone
    occurred_at: AwareDatetime


class OrderBody(_Input):
    """An order without its reference (``PUT /orders/{ref}`` takes it from the path)."""

    purchased_at: AwareDatetime
    promised_at: AwareDatetime | None = Field(None, description="Delivery promised to the customer")
    currency: Annotated[str, StringConstraints(pattern=r"^[A-Za-z]{3}$", to_upper=True)] = "BRL"
    customer: CustomerIn | None = None
    lines: list[OrderLineIn] = Field(default_factory=list, max_length=1000)
    milestones: list[MilestoneIn] = Field(default_factory=list, max_length=20)

    def to_command(self, ref: str) -> UpsertOrder:
        """Absent parts (customer, lines, promise) keep their stored values on update."""
        return UpsertOrder(
            ref=ref, purchased_at=self.purchased_at, promised_at=self.promised_at,
            currency=self.currency, customer=self.customer.to_data() if self.customer else None,
            lines=tuple(line.to_data() for line in self.lines),
            milestones=tuple((m.milestone, m.occurred_at) for m in self.milestones),
            source=SOURCE,
        )


class OrderIn(OrderBody):
    ref: Ref


class ShipmentIn(_Input):
    order_ref: Ref
    carrier: Ref = Field(description="Carrier code, e.g. correios")
    tracking_number: Ref
    origin_region: Text64 | None = None
    destination_region: Text64 | None = None
    promised_at: AwareDatetime | None = Field(None, description="Delivery date the carrier promised")

    def to_command(self) -> UpsertShipment:
        return UpsertShipment(
            order_ref=self.order_ref, carrier_code=self.carrier, tracking_number=self.tracking_number,
            origin_region=self.origin_region, destination_region=self.destination_region,
            promised_at=self.promised_at, source=SOURCE,
        )


class TrackingEventIn(_Input):
    carrier: Ref
    tracking_number: Ref
    status: ReceivedStatus = Field(description="Canonical status (the carrier's own code goes in `code`)")
    occurred_at: AwareDatetime = Field(description="When the carrier scanned, with its time zone")
    code: Text64 | None = Field(None, description="The carrier's raw status code")
    description: Text2000 | None = Field(None, description="The carrier's raw text (first 500 kept)")
    location: Text1000 | None = Field(None, description="Where the scan happened (first 200 kept)")
    order_ref: Ref | None = Field(None, description="Creates the shipment for this order if it is new")

    def to_command(self) -> RecordTrackingEvent:
        return RecordTrackingEvent(
            carrier_code=self.carrier, tracking_number=self.tracking_number, status=self.status,
            occurred_at=self.occurred_at, raw_code=self.code or None, raw_text=self.description or None,
            location=self.location or None, source=SOURCE, order_ref=self.order_ref,
        )


@dataclass(frozen=True, slots=True)
class ItemProblem:
    """A batch item that could not be parsed; ``reason`` names the field, ``raw`` is the item."""

    reason: str
    raw: Any = None


def describe_error(error: ValidationError) -> str:
    """``field.path: problem`` for the first problem of ``error``."""
    first = error.errors(include_url=False)[0]
    field = ".".join(str(part) for part in first["loc"])
    return f"{field}: {first['msg']}" if field else str(first["msg"])


def _lenient(adapter: TypeAdapter[Any]) -> WrapValidator:
    def validate(value: Any, _handler: ValidatorFunctionWrapHandler) -> Any:
        try:
            return adapter.validate_python(value)
        except ValidationError as error:
            return ItemProblem(describe_error(error), value)

    return WrapValidator(validate)


LenientOrder = Annotated[OrderIn | SkipJsonSchema[ItemProblem], _lenient(TypeAdapter(OrderIn))]
LenientEvent = Annotated[
    TrackingEventIn | SkipJsonSchema[ItemProblem], _lenient(TypeAdapter(TrackingEventIn))
]


class OrderBatchIn(BaseModel):
    orders: list[LenientOrder] = Field(max_length=MAX_ORDERS_PER_BATCH)


class EventBatchIn(BaseModel):
    events: list[LenientEvent] = Field(max_length=MAX_EVENTS_PER_BATCH)


def unreadable_items(items: Sequence[Any], *, source: str, kind: str, reference_key: str) -> list[Unreadable]:
    """The items of a batch that could not be parsed, as the ingestion service keeps them."""
    found = []
    for item in items:
        if isinstance(item, ItemProblem):
            reference = item.raw.get(reference_key) if isinstance(item.raw, dict) else None
            found.append(
                Unreadable(
                    source=source,
                    kind=kind,
                    reason=item.reason,
                    payload=item.raw,
                    reference=reference if isinstance(reference, str) else None,
                )
            )
    return found


def split_items(items: Sequence[_T | ItemProblem]) -> tuple[list[int], list[_T], dict[int, str]]:
    """Positions and values of the parsed items, and the reason of each unparsable one."""
    positions: list[int] = []
    parsed: list[_T] = []
    problems: dict[int, str] = {}
    for index, item in enumerate(items):
        if isinstance(item, ItemProblem):
            problems[index] = item.reason
        else:
            positions.append(index)
            parsed.append(item)
    return positions, parsed, problems


class OrderListQuery(BaseModel):
    """Filters of ``GET /orders``; they combine with AND."""

    model_config = ConfigDict(extra="forbid")

    status: list[OrderStatus] = Field(default_factory=list, description="Repeat for several statuses")
    lateness: Literal["late", "on_time", "overdue"] | None = None
    carrier: str | None = None
    supplier: str | None = None
    region: str | None = Field(None, description="Destination region (customer state)")
    origin_region: str | None = None
    purchased_from: AwareDatetime | None = Field(None, description="Inclusive")
    purchased_until: AwareDatetime | None = Field(None, description="Exclusive")
    q: str | None = Field(None, description="Prefix of the order reference or a tracking number")
    limit: int = Field(50, ge=1, le=500)
    cursor: str | None = Field(None, description="`next_cursor` of the previous page")
    count: bool = Field(False, description="Also count all matching orders (one more query)")

    def to_filter(self) -> OrderFilter:
        return OrderFilter(
            status=tuple(s.value for s in self.status), lateness=self.lateness, carrier=self.carrier,
            supplier=self.supplier, region=self.region, origin_region=self.origin_region,
            purchased_from=self.purchased_from, purchased_until=self.purchased_until, search=self.q,
        )


# ------------------------------------------------------------------ responses


Result = Literal["accepted", "duplicate", "rejected"]
TimelineKind = Literal["milestone", "tracking"]


class ItemResultOut(BaseModel):
    index: int
    result: Result
    reference: str | None
    reason: str | None = None

    @classmethod
    def from_outcome(cls, outcome: ItemOutcome, *, index: int) -> ItemResultOut:
        return cls(
            index=index, result=cast(Result, outcome.result), reference=outcome.reference,
            reason=outcome.reason,
        )


class OrderBatchOut(BaseModel):
    results: list[ItemResultOut]
    accepted: int
    duplicate: int
    rejected: int

    @classmethod
    def build(
        cls, positions: Sequence[int], outcomes: Sequence[ItemOutcome], problems: dict[int, str]
    ) -> OrderBatchOut:
        results = [ItemResultOut.from_outcome(o, index=positions[o.index]) for o in outcomes]
        results += [
            ItemResultOut(index=i, result=REJECTED, reference=None, reason=r) for i, r in problems.items()
        ]
        results.sort(key=lambda r: r.index)
        return cls(results=results, **_counts(r.result for r in results))


class EventResultOut(BaseModel):
    index: int
    result: Result
    reason: str | None = None
    shipment_status: ShipmentStatus | None = None

    @classmethod
    def from_outcome(cls, outcome: EventOutcome, *, index: int) -> EventResultOut:
        return cls(
            index=index, result=cast(Result, outcome.result), reason=outcome.reason,
            shipment_status=outcome.shipment_status,
        )


class EventBatchOut(BaseModel):
    results: list[EventResultOut]
    accepted: int
    duplicate: int
    rejected: int

    @classmethod
    def build(
        cls, positions: Sequence[int], outcomes: Sequence[EventOutcome], problems: dict[int, str]
    ) -> EventBatchOut:
        results = [EventResultOut.from_outcome(o, index=positions[o.index]) for o in outcomes]
        results += [EventResultOut(index=i, result=REJECTED, reason=r) for i, r in problems.items()]
        results.sort(key=lambda r: r.index)
        return cls(results=results, **_counts(r.result for r in results))


def _counts(results: Any) -> dict[str, int]:
    counts = {"accepted": 0, "duplicate": 0, "rejected": 0}
    for result in results:
        counts[result] += 1
    return counts


class OrderSummaryOut(BaseModel):
    ref: str
    status: OrderStatus
    purchased_at: datetime
    promised_at: datetime | None
    delivered_at: datetime | None
    carrier: str | None
    origin_region: str | None
    destination_region: str | None
    value_cents: int
    currency: str
    is_late: bool | None = Field(description="Delivered after the promise; null while undelivered")
    is_overdue: bool = Field(description="Undelivered and the promise has passed")

    @classmethod
    def from_summary(cls, summary: OrderSummary) -> OrderSummaryOut:
        return cls(
            ref=summary.ref, status=OrderStatus(summary.status), purchased_at=summary.purchased_at,
            promised_at=summary.promised_at, delivered_at=summary.delivered_at,
            carrier=summary.carrier_code, origin_region=summary.origin_region,
            destination_region=summary.destination_region, value_cents=summary.value_cents,
            currency=summary.currency, is_late=summary.is_late, is_overdue=summary.is_overdue,
        )


class OrderListOut(BaseModel):
    items: list[OrderSummaryOut]
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page; null on the last")
    total: int | None = Field(None, description="All matching orders, when asked with count=true")


class CustomerOut(BaseModel):
    ref: str
    name: str | None
    email: str | None
    phone: str | None
    language: str
    city: str | None
    region: str | None
    zip_prefix: str | None
    country: str
    address_line: str | None


# Shown only to callers holding customers:read_pii; others get null in these fields.
PII_FIELDS = ("name", "email", "phone", "address_line")


class OrderLineOut(BaseModel):
    line_no: int
    product_ref: str | None
    category: str | None
    supplier_ref: str | None
    quantity: int
    unit_price_cents: int
    freight_cents: int
    dispatch_deadline: datetime | None


class ShipmentOut(BaseModel):
    carrier: str
    tracking_number: str
    status: ShipmentStatus
    origin_region: str | None
    destination_region: str | None
    handed_over_at: datetime | None
    delivered_at: datetime | None
    last_scan_at: datetime | None
    event_count: int
    tracking_url: str | None


class PaymentOut(BaseModel):
    sequence: int
    method: str
    installments: int
    value_cents: int


class FeedbackOut(BaseModel):
    score: int
    title: str | None
    comment: str | None
    created_at: datetime | None
    source: str


class TimelineEntryOut(BaseModel):
    occurred_at: datetime
    kind: TimelineKind
    status: str = Field(description="An order milestone or a canonical shipment status")
    code: str | None = Field(description="The carrier's raw code")
    description: str | None = Field(description="The carrier's raw text")
    location: str | None
    source: str | None
    carrier: str | None
    tracking_number: str | None


class OrderDetailOut(OrderSummaryOut):
    customer: CustomerOut | None
    lines: list[OrderLineOut]
    shipments: list[ShipmentOut]
    payments: list[PaymentOut]
    feedback: list[FeedbackOut]
    timeline: list[TimelineEntryOut] = Field(description="Milestones and scans by event time")

    @classmethod
    def from_detail(cls, detail: OrderDetail, *, include_pii: bool) -> OrderDetailOut:
        customer = None
        if detail.customer is not None:
            hidden = {} if include_pii else dict.fromkeys(PII_FIELDS)
            customer = CustomerOut.model_validate(detail.customer | hidden)
        summary = OrderSummaryOut.from_summary(detail.summary)
        return cls(
            **summary.model_dump(), customer=customer,
            lines=[OrderLineOut.model_validate(line) for line in detail.lines],
            shipments=[ShipmentOut.model_validate(s) for s in detail.shipments],
            payments=[PaymentOut.model_validate(p) for p in detail.payments],
            feedback=[FeedbackOut.model_validate(f) for f in detail.feedback],
            timeline=[
                TimelineEntryOut(
                    occurred_at=e.occurred_at, kind=cast(TimelineKind, e.kind), status=e.status,
                    code=e.raw_code,
                    description=e.raw_text, location=e.location, source=e.source,
                    carrier=e.carrier_code, tracking_number=e.tracking_number,
                )
                for e in detail.timeline
            ],
        )


class RejectOut(BaseModel):
    id: int
    source: str
    kind: str
    reference: str | None
    reason: str
    payload: Any
    received_at: datetime


class RejectListOut(BaseModel):
    items: list[RejectOut]
