"""A small per-process cache whose entries expire after a fixed time (API keys, webhook secrets).

It runs on a monotonic timer, never on the (possibly simulated) business clock, and is safe to
share between request threads. A value is loaded outside the lock, so a slow load never blocks
readers of other keys; two threads missing the same key may both load it, which is harmless for
the idempotent reads it serves.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class TtlCache(Generic[K, V]):
    """``get_or_load`` returns a kept value younger than ``seconds``, or loads and keeps a new one."""

    def __init__(self, seconds: float, *, timer: Callable[[], float] = time.monotonic) -> None:
        self._seconds = seconds
        self._timer = timer
        self._entries: dict[K, tuple[float, V]] = {}
        self._lock = threading.Lock()

    def get_or_load(self, key: K, load: Callable[[], V]) -> V:
        moment = self._timer()
        with self._lock:
            kept = self._entries.get(key)
        if kept is not None and kept[0] > moment:
            return kept[1]
        value = load()
        with self._lock:
            self._entries[key] = (moment + self._seconds, value)
        return value

    def peek(self, key: K) -> V | None:
        """The kept value of ``key`` if it is still fresh, else ``None``; never loads."""
        with self._lock:
            kept = self._entries.get(key)
        return kept[1] if kept is not None and kept[0] > self._timer() else None

    def forget(self, matches: Callable[[K, V], bool]) -> None:
        """Drop every entry for which ``matches(key, value)`` holds."""
        with self._lock:
            self._entries = {k: v for k, v in self._entries.items() if not matches(k, v[1])}
