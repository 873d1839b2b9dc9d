"""Local outbox sinks: where messages go when nothing may leave the machine (replay, demo, tests).

Real channels (SMTP, SMS gateway, signed webhooks) come with the customer-communication work
(issue 6); they implement the same ``services.ports.Sink`` protocol.
"""

from __future__ import annotations

from collections import Counter

from orderwatch.services.ports import ClaimedMessage


class RecordingSink:
    """Counts what it receives, once per idempotency key (a repeat is acknowledged, not counted)."""

    def __init__(self) -> None:
        self.by_topic: Counter[str] = Counter()
        self.keys: set[str] = set()
        self.repeats = 0

    def send(self, message: ClaimedMessage) -> None:
        if message.idempotency_key in self.keys:
            self.repeats += 1
            return
        self.keys.add(message.idempotency_key)
        self.by_topic[message.topic] += 1
