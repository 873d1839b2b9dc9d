"""Customer feedback from the tracking page (D6): a score from 1 to 5 and an optional comment.

Stored as the order's feedback row (the table Olist reviews land in), so satisfaction and
response rate in the KPIs count it with the imported reviews; a second answer from the page
replaces the first (one page answer per order).
"""

from __future__ import annotations

from orderwatch.domain.commands import RecordFeedback
from orderwatch.domain.errors import ValidationFailed
from orderwatch.services.master_data import import_feedback
from orderwatch.services.ports import Clock, UnitOfWork

PAGE_REF = "tracking-page"
MAX_COMMENT = 2000


def record_page_feedback(uow: UnitOfWork, *, order_ref: str, score: int, comment: str, clock: Clock) -> None:
    """Store (or replace) the tracking-page answer of ``order_ref``; bad input names the field."""
    if not 1 <= score <= 5:
        raise ValidationFailed("score", "must be between 1 and 5", score)
    text = comment.strip()
    if len(text) > MAX_COMMENT:
        raise ValidationFailed("comment", f"has {len(text)} characters, at most {MAX_COMMENT}")
    now = clock.now()
    item = RecordFeedback(
        ref=PAGE_REF,
        order_ref=order_ref,
        score=score,
        comment=text or None,
        created_at=now,
        answered_at=now,
        source="tracking_page",
    )
    outcomes = import_feedback(uow, [item], clock=clock, source="tracking_page")
    failed = [o.reason for o in outcomes if o.reason]
    if failed:
        raise ValidationFailed("order_ref", failed[0], order_ref)
