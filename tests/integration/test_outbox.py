"""The outbox dispatcher on both backends: once per message, retries with back-off, dead letters."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from orderwatch.adapters.db.tables import OutboxRow
from orderwatch.adapters.sinks import RecordingSink
from orderwatch.bootstrap import App
from orderwatch.services.outbox import MAX_ATTEMPTS, dispatch_due, drain, retry_delay
from orderwatch.services.ports import ClaimedMessage, OutboxMessage


def _enqueue(app: App, *keys: str) -> None:
    with app.uow() as uow:
        uow.outbox.enqueue(
            [OutboxMessage("test.topic", key, {"key": key}) for key in keys], now=app.clock.now()
        )
        uow.commit()


class FailingSink:
    def __init__(self) -> None:
        self.calls = 0

    def send(self, message: ClaimedMessage) -> None:
        self.calls += 1
        raise ConnectionError(f"gateway down for {message.idempotency_key}")


def _rows(app: App) -> list[OutboxRow]:
    with app.session_factory() as session:
        return list(session.scalars(select(OutboxRow).order_by(OutboxRow.id)))


def test_each_message_is_sent_once_and_the_same_key_is_enqueued_once(app: App) -> None:
    _enqueue(app, "a", "b")
    _enqueue(app, "b", "c")
    sink = RecordingSink()

    sent = drain(app.uow, sink, clock=app.clock, limit=2)
    again = drain(app.uow, sink, clock=app.clock)

    assert (sent, again) == (3, 0)
    assert sink.by_topic == {"test.topic": 3}
    assert sink.repeats == 0
    assert [(r.idempotency_key, r.status, r.attempts) for r in _rows(app)] == [
        ("a", "sent", 1),
        ("b", "sent", 1),
        ("c", "sent", 1),
    ]


def test_a_failure_is_recorded_and_retried_after_the_back_off(app: App) -> None:
    _enqueue(app, "a")
    failing = FailingSink()

    first = dispatch_due(app.uow(), failing, clock=app.clock)
    too_early = dispatch_due(app.uow(), failing, clock=app.clock)
    app.clock.advance(retry_delay(1))  # type: ignore[attr-defined]
    later = dispatch_due(app.uow(), RecordingSink(), clock=app.clock)

    assert (first.retried, too_early.retried, later.sent) == (1, 0, 1)
    assert failing.calls == 1
    row = _rows(app)[0]
    assert (row.status, row.attempts, row.last_error) == ("sent", 2, None)


def test_after_the_last_attempt_the_message_is_dead(app: App) -> None:
    _enqueue(app, "a")
    failing = FailingSink()

    for _ in range(MAX_ATTEMPTS):
        dispatch_due(app.uow(), failing, clock=app.clock)
        app.clock.advance(timedelta(hours=2))  # type: ignore[attr-defined]

    row = _rows(app)[0]
    assert (row.status, row.attempts, failing.calls) == ("dead", MAX_ATTEMPTS, MAX_ATTEMPTS)
    assert row.last_error == "ConnectionError: gateway down for a"


def test_retry_delay_doubles_and_is_capped_at_one_hour() -> None:
    assert [retry_delay(n).total_seconds() for n in (1, 2, 3, 8, 20)] == [30, 60, 120, 3600, 3600]
