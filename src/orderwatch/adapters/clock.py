"""Clocks: the real one, and a simulated one that replay and tests move forward by hand."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta


class SystemClock:
    """Wall-clock time in UTC."""

    def now(self) -> datetime:
        return datetime.now(UTC)


class SimulatedClock:
    """A clock that only moves when told to, and never backwards."""

    def __init__(self, start: datetime) -> None:
        if start.tzinfo is None:
            raise ValueError("SimulatedClock needs an aware start time")
        self._now = start.astimezone(UTC)

    def now(self) -> datetime:
        return self._now

    def advance_to(self, moment: datetime) -> None:
        """Move to ``moment``; refuses to go back in time."""
        if moment < self._now:
            raise ValueError(f"clock cannot go back from {self._now.isoformat()} to {moment.isoformat()}")
        self._now = moment

    def advance(self, delta: timedelta) -> None:
        """Move forward by ``delta``."""
        self.advance_to(self._now + delta)
