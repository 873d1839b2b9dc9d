"""As-of sums over event streams: "how many, and what total, strictly before time t" (D2).

The one primitive every history feature is built from. An event stream is (key, time, values);
a query is (key, time). For each query the answer is the count and the sums of the values of the
events of the same key whose time is *strictly before* the query time, so a feature computed for
prediction time t can only see outcomes known before t (the leakage rule, property-tested).

Vectorized with one sort and two ``searchsorted`` calls: keys and times are folded into one
sortable float (key * SPAN + time), cumulative sums give any prefix total in O(1). Where a
key's events start is looked up in a table built with the stream (keys are small codes), and
the queries are searched in sorted order (a batch of 100,000 orders: a third of the time of
searching them in row order, which jumps around the stream).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

SPAN = 100_000.0  # > any time in days since 1970 (year 2243), so key blocks never overlap
MAX_TABLE_KEY = 2_000_000  # keys above this (none today) search for their block instead
SORT_QUERIES_FROM = 2_000  # fewer queries: sorting them costs more than it saves


@dataclass(frozen=True)
class EventStream:
    """Events sorted by (key, time), with prefix sums of each value column."""

    composite: np.ndarray
    prefix: dict[str, np.ndarray]
    starts: np.ndarray | None = None  # starts[k]: where key k's events begin (keys ≤ MAX_TABLE_KEY)

    @classmethod
    def build(cls, keys: np.ndarray, times: np.ndarray, values: dict[str, np.ndarray]) -> EventStream:
        """Events with a known time and key only; ``keys`` are non-negative integer codes."""
        known = ~np.isnan(times) & (keys >= 0)
        composite = keys[known].astype(float) * SPAN + times[known]
        order = np.argsort(composite, kind="stable")
        prefix = {"count": np.arange(order.size + 1, dtype=float)}
        for name, column in values.items():
            column = np.nan_to_num(column[known][order].astype(float))
            prefix[name] = np.concatenate(([0.0], np.cumsum(column)))
        composite = composite[order]
        top = int(keys[known].max()) if order.size else 0
        starts = None
        if top <= MAX_TABLE_KEY:  # one entry past the last key: larger keys are clipped to it
            starts = np.searchsorted(composite, np.arange(top + 2, dtype=float) * SPAN, side="left")
        return cls(composite, prefix, starts)

    def before(
        self, keys: np.ndarray, times: np.ndarray, *, order: np.ndarray | None = None
    ) -> dict[str, np.ndarray]:
        """Count and sums of the events of each query's key strictly before its time.

        ``order`` (``query_order(keys)``) only makes the search faster; the answers are the same.
        """
        valid = (keys >= 0) & ~np.isnan(times)
        safe_keys = np.where(valid, keys, 0).astype(float)
        # Invalid queries are masked below; np.where is cheaper than nan_to_num on a re-score's one row.
        start = self._starts(safe_keys)
        if order is None:
            order = query_order(keys)
        end = _search(self.composite, safe_keys * SPAN + np.where(valid, times, 0.0), order)
        return {
            name: np.where(valid, prefix[end] - prefix[start], 0.0) for name, prefix in self.prefix.items()
        }

    def _starts(self, keys: np.ndarray) -> np.ndarray:
        """Where each key's events begin (the end of the stream's keys for a key it lacks)."""
        if self.starts is None or keys.size < SORT_QUERIES_FROM:
            return _search(self.composite, keys * SPAN, None)
        return np.asarray(self.starts[np.minimum(keys.astype(np.int64), self.starts.size - 1)])

    def window(self, keys: np.ndarray, times: np.ndarray, days: float) -> dict[str, np.ndarray]:
        """Count and sums of the events in ``[t - days, t)`` for each query."""
        order = query_order(keys)
        upto = self.before(keys, times, order=order)
        since = self.before(keys, times - days, order=order)
        return {name: upto[name] - since[name] for name in upto}


def query_order(keys: np.ndarray) -> np.ndarray | None:
    """An order of the queries by key, so a search walks the stream forward (None: few queries).

    Keys below 65,536 (all of today's codes) sort as 16-bit integers: a radix sort, ~2 ms
    for 100,000 queries against ~15 ms for sorting them as floats.
    """
    if keys.size < SORT_QUERIES_FROM:
        return None
    codes = np.where(keys >= 0, keys, 0).astype(np.int64)
    if codes.size and codes.max() < 65_536:
        return np.argsort(codes.astype(np.uint16), kind="stable")
    return np.argsort(codes)


def _search(sorted_values: np.ndarray, queries: np.ndarray, order: np.ndarray | None) -> np.ndarray:
    """``np.searchsorted(sorted_values, queries, side="left")``, the queries taken in ``order``."""
    if order is None:
        return np.searchsorted(sorted_values, queries, side="left")
    found = np.empty(queries.size, dtype=np.intp)
    found[order] = np.searchsorted(sorted_values, queries[order], side="left")
    return found


def codes(values: np.ndarray, vocabulary: dict[str, int]) -> np.ndarray:
    """Integer codes of ``values`` in ``vocabulary`` (-1 for unknown or missing)."""
    if len(values) < 1_000:  # a re-score: pandas' set-up costs more than the loop
        return np.fromiter(
            (vocabulary.get(v, -1) if isinstance(v, str) else -1 for v in values),
            dtype=np.int64,
            count=len(values),
        )
    # Each distinct value looked up once (a few dozen regions for 100,000 orders).
    positions, distinct = pd.factorize(np.asarray(values, dtype=object))
    table = np.fromiter(
        (vocabulary.get(v, -1) if isinstance(v, str) else -1 for v in distinct),
        dtype=np.int64,
        count=len(distinct),
    )
    return np.append(table, -1)[positions]  # a missing value (position -1) takes the last entry: -1


def mean_or_nan(total: np.ndarray, count: np.ndarray) -> np.ndarray:
    """``total / count`` where there is at least one event, NaN elsewhere."""
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(count > 0, total / np.where(count > 0, count, 1.0), np.nan)


def shrunk_mean(total: np.ndarray, count: np.ndarray, prior: np.ndarray, weight: float) -> np.ndarray:
    """A mean pulled toward ``prior`` when there are few events (weight = pseudo-count)."""
    return (total + prior * weight) / (count + weight)
