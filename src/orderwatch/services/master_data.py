"""Master data around orders (mission D1: imports): suppliers, products, payments, feedback, places.

Orders, shipments and tracking events go through ``services.ingest``; the records here hang off
them and have no status to derive, so they are validated and bulk-upserted::

    records ──check_*──▶ rejected (kept in rejected_items, reason names field and value)
        │
        ▼
    resolve order refs ──unknown order──▶ rejected
        │
        ▼
    uow.master.upsert_* (idempotent on natural keys) ──▶ commit

Each public function is one transaction.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import TypeVar

from orderwatch.domain.claims import ClaimWindows
from orderwatch.domain.errors import ValidationFailed
from orderwatch.services.ingest import ACCEPTED, REJECTED, ItemOutcome
from orderwatch.services.ports import (
    CarrierDetails,
    Clock,
    FeedbackData,
    PaymentData,
    ProductDetails,
    SupplierDetails,
    UnitOfWork,
    ZipLocation,
)
from orderwatch.services.validation import check_aware, check_ref, payload

MIN_SCORE, MAX_SCORE = 1, 5
MAX_CARRIER_NAME = 200  # the width of carriers.name
MAX_TRACKING_URL = 500  # the width of carriers.tracking_url_template
_T = TypeVar("_T")


# ------------------------------------------------------------------ validation (check_*)


def _check_not_negative(field: str, value: int | None) -> None:
    if value is not None and value < 0:
        raise ValidationFailed(field, "must not be negative", value)


def check_supplier(supplier: SupplierDetails) -> None:
    """Raise :class:`ValidationFailed` naming the first bad field of ``supplier``."""
    check_ref("ref", supplier.ref)


def check_carrier(carrier: CarrierDetails) -> None:
    """Raise :class:`ValidationFailed` naming the first bad field of ``carrier``."""
    check_ref("code", carrier.code)
    if not carrier.name.strip() or len(carrier.name) > MAX_CARRIER_NAME:
        raise ValidationFailed("name", f"must be 1 to {MAX_CARRIER_NAME} characters", carrier.name)
    template = carrier.tracking_url_template
    if template is not None:
        if not template.startswith(("https://", "http://")) or len(template) > MAX_TRACKING_URL:
            raise ValidationFailed("tracking_url_template", "must be an http(s) URL", template)
        if "{tracking_number}" not in template:
            raise ValidationFailed("tracking_url_template", "must contain {tracking_number}", template)
    defaults = ClaimWindows()
    ClaimWindows(  # raises naming the field; None keeps what is stored, checked as the default
        defaults.file_days if carrier.claim_file_days is None else carrier.claim_file_days,
        defaults.answer_days if carrier.claim_answer_days is None else carrier.claim_answer_days,
    )


def check_product(product: ProductDetails) -> None:
    """Raise :class:`ValidationFailed` naming the first bad field of ``product``."""
    check_ref("ref", product.ref)
    for name in ("weight_g", "length_cm", "height_cm", "width_cm", "photos"):
        _check_not_negative(name, getattr(product, name))


def check_payment(payment: PaymentData) -> None:
    """Raise :class:`ValidationFailed` naming the first bad field of ``payment``."""
    check_ref("order_ref", payment.order_ref)
    if payment.sequence < 1:
        raise ValidationFailed("sequence", "must be at least 1", payment.sequence)
    if not payment.method.strip():
        raise ValidationFailed("method", "must not be empty", payment.method)
    _check_not_negative("installments", payment.installments)
    _check_not_negative("value", payment.value_cents)


def check_feedback(feedback: FeedbackData) -> None:
    """Raise :class:`ValidationFailed` naming the first bad field of ``feedback``."""
    check_ref("ref", feedback.ref)
    check_ref("order_ref", feedback.order_ref)
    if not MIN_SCORE <= feedback.score <= MAX_SCORE:
        raise ValidationFailed("score", f"must be between {MIN_SCORE} and {MAX_SCORE}", feedback.score)
    check_aware("created_at", feedback.created_at)
    check_aware("answered_at", feedback.answered_at)


def check_zip_location(location: ZipLocation) -> None:
    """Raise :class:`ValidationFailed` naming the first bad field of ``location``."""
    if not location.zip_prefix.strip():
        raise ValidationFailed("zip_prefix", "must not be empty", location.zip_prefix)
    if not (math.isfinite(location.lat) and -90 <= location.lat <= 90):
        raise ValidationFailed("lat", "must be a latitude between -90 and 90", location.lat)
    if not (math.isfinite(location.lng) and -180 <= location.lng <= 180):
        raise ValidationFailed("lng", "must be a longitude between -180 and 180", location.lng)


# ------------------------------------------------------------------ use cases


def import_suppliers(
    uow: UnitOfWork, suppliers: Sequence[SupplierDetails], *, clock: Clock, source: str
) -> list[ItemOutcome]:
    """Create or update suppliers with their location (one transaction)."""
    return _upsert_plain(
        uow,
        suppliers,
        check_supplier,
        lambda s: s.ref,
        "supplier",
        clock=clock,
        source=source,
        write=lambda items: uow.master.upsert_suppliers(items),
    )


def import_carriers(
    uow: UnitOfWork, carriers: Sequence[CarrierDetails], *, clock: Clock, source: str
) -> list[ItemOutcome]:
    """Create or update carriers' names, tracking pages and claim deadlines (one transaction)."""
    return _upsert_plain(
        uow,
        carriers,
        check_carrier,
        lambda c: c.code,
        "carrier",
        clock=clock,
        source=source,
        write=lambda items: uow.master.upsert_carriers(items),
    )


def import_products(
    uow: UnitOfWork, products: Sequence[ProductDetails], *, clock: Clock, source: str
) -> list[ItemOutcome]:
    """Create or update products with their catalogue attributes (one transaction)."""
    return _upsert_plain(
        uow,
        products,
        check_product,
        lambda p: p.ref,
        "product",
        clock=clock,
        source=source,
        write=lambda items: uow.master.upsert_products(items),
    )


def import_zip_locations(
    uow: UnitOfWork, locations: Sequence[ZipLocation], *, clock: Clock, source: str
) -> list[ItemOutcome]:
    """Create or update postal-code centroids (one transaction)."""
    return _upsert_plain(
        uow,
        locations,
        check_zip_location,
        lambda z: z.zip_prefix,
        "zip_location",
        clock=clock,
        source=source,
        write=lambda items: uow.master.upsert_zip_locations(items),
    )


def import_payments(
    uow: UnitOfWork, payments: Sequence[PaymentData], *, clock: Clock, source: str
) -> list[ItemOutcome]:
    """Store payments of known orders; payments of unknown orders are rejected (one transaction)."""
    return _upsert_for_orders(
        uow,
        payments,
        check_payment,
        lambda p: f"{p.order_ref}:{p.sequence}",
        "payment",
        clock=clock,
        source=source,
        write=lambda rows: uow.master.upsert_payments(rows),
    )


def import_feedback(
    uow: UnitOfWork, feedback: Sequence[FeedbackData], *, clock: Clock, source: str
) -> list[ItemOutcome]:
    """Store customer feedback on known orders (one transaction)."""
    return _upsert_for_orders(
        uow,
        feedback,
        check_feedback,
        lambda f: f"{f.ref}:{f.order_ref}",
        "feedback",
        clock=clock,
        source=source,
        write=lambda rows: uow.master.upsert_feedback(rows),
    )


# ------------------------------------------------------------------ shared steps


def _validate(
    items: Sequence[_T], check: Callable[[_T], None]
) -> tuple[list[tuple[int, _T]], list[tuple[int, _T, str]]]:
    valid: list[tuple[int, _T]] = []
    failures: list[tuple[int, _T, str]] = []
    for index, item in enumerate(items):
        try:
            check(item)
        except ValidationFailed as error:
            failures.append((index, item, str(error)))
            continue
        valid.append((index, item))
    return valid, failures


def _store_rejects(
    uow: UnitOfWork,
    failures: Sequence[tuple[int, _T, str]],
    reference_of: Callable[[_T], str],
    kind: str,
    *,
    source: str,
    now: datetime,
) -> list[ItemOutcome]:
    for _, item, reason in failures:
        uow.rejects.add(
            source=source,
            kind=kind,
            reference=reference_of(item)[:200],
            reason=reason,
            payload=payload(item),
            now=now,
        )
    return [ItemOutcome(index, REJECTED, reference_of(item), reason) for index, item, reason in failures]


def _upsert_plain(
    uow: UnitOfWork,
    items: Sequence[_T],
    check: Callable[[_T], None],
    reference_of: Callable[[_T], str],
    kind: str,
    *,
    clock: Clock,
    source: str,
    write: Callable[[list[_T]], int],
) -> list[ItemOutcome]:
    now = clock.now()
    valid, failures = _validate(items, check)
    with uow:
        outcomes = _store_rejects(uow, failures, reference_of, kind, source=source, now=now)
        if valid:
            write([item for _, item in valid])
        uow.commit()
    outcomes.extend(ItemOutcome(index, ACCEPTED, reference_of(item)) for index, item in valid)
    return sorted(outcomes, key=lambda o: o.index)


_O = TypeVar("_O", PaymentData, FeedbackData)


def _upsert_for_orders(
    uow: UnitOfWork,
    items: Sequence[_O],
    check: Callable[[_O], None],
    reference_of: Callable[[_O], str],
    kind: str,
    *,
    clock: Clock,
    source: str,
    write: Callable[[list[tuple[int, _O]]], int],
) -> list[ItemOutcome]:
    now = clock.now()
    valid, failures = _validate(items, check)
    with uow:
        order_ids = uow.ingest.find_order_ids({item.order_ref for _, item in valid})
        known = [(index, item) for index, item in valid if item.order_ref in order_ids]
        failures.extend(
            (index, item, f"order_ref: order {item.order_ref!r} not found")
            for index, item in valid
            if item.order_ref not in order_ids
        )
        outcomes = _store_rejects(uow, failures, reference_of, kind, source=source, now=now)
        if known:
            write([(order_ids[item.order_ref], item) for _, item in known])
        uow.commit()
    outcomes.extend(ItemOutcome(index, ACCEPTED, reference_of(item)) for index, item in known)
    return sorted(outcomes, key=lambda o: o.index)
