"""The as-of search's shortcuts give the plain search's answers (D2 speed: batch features).

A batch looks up where each key's events start in a table and searches its queries in key
order; a re-score (few queries) searches as before. Both must count exactly the events of the
query's key strictly before its time, whatever the keys: unknown to the stream, beyond the
table, negative (missing), with missing times, one row or many.
"""

from __future__ import annotations

import numpy as np
import pytest

from orderwatch.adapters.ml import asof
from orderwatch.adapters.ml.asof import EventStream, codes


def _plain(
    keys: np.ndarray, times: np.ndarray, ev_keys: np.ndarray, ev_times: np.ndarray, ev_values: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Count and sum by brute force: the definition."""
    count = np.zeros(keys.size)
    total = np.zeros(keys.size)
    for i, (k, t) in enumerate(zip(keys, times, strict=True)):
        if k < 0 or np.isnan(t):
            continue
        hit = (ev_keys == k) & (ev_times < t) & ~np.isnan(ev_times)
        count[i] = hit.sum()
        total[i] = np.nan_to_num(ev_values[hit]).sum()
    return count, total


@pytest.mark.parametrize("n_queries", [1, 7, 3_000])
@pytest.mark.parametrize("top_key", [40, 70_000])
def test_the_batch_search_counts_exactly_what_happened_before(n_queries: int, top_key: int) -> None:
    rng = np.random.default_rng(n_queries + top_key)
    n_events = 4_000
    ev_keys = rng.integers(0, 30, n_events)
    ev_keys[:50] = top_key  # one key far beyond the others: a 16-bit sort no longer fits
    ev_keys[50:60] = -1  # events without a key are not counted
    ev_times = rng.uniform(17_000, 17_500, n_events).round(1)  # ties with the queries' times
    ev_times[60:80] = np.nan
    values = rng.normal(size=n_events)
    stream = EventStream.build(ev_keys, ev_times, {"v": values})

    keys = rng.integers(-1, 33, n_queries)  # 30..32: keys the stream has never seen
    keys[: n_queries // 3] = top_key
    if n_queries > 2:
        keys[1] = top_key + 5  # beyond the start table
    times = rng.choice(np.unique(ev_times[~np.isnan(ev_times)]), n_queries)
    times[::11] = np.nan

    got = stream.before(keys, times)
    count, total = _plain(keys, times, ev_keys, ev_times, values)
    np.testing.assert_array_equal(got["count"], count)
    np.testing.assert_allclose(got["v"], total, atol=1e-9)

    window = stream.window(keys, times, 30.0)
    count_since, total_since = _plain(keys, times - 30.0, ev_keys, ev_times, values)
    np.testing.assert_array_equal(window["count"], count - count_since)
    np.testing.assert_allclose(window["v"], total - total_since, atol=1e-9)


def test_without_a_start_table_the_answers_are_the_same(monkeypatch: pytest.MonkeyPatch) -> None:
    rng = np.random.default_rng(5)
    ev_keys, ev_times = rng.integers(0, 500, 5_000), rng.uniform(0, 100, 5_000)
    keys, times = rng.integers(0, 520, 4_000), rng.uniform(0, 100, 4_000)
    with_table = EventStream.build(ev_keys, ev_times, {}).before(keys, times)
    monkeypatch.setattr(asof, "MAX_TABLE_KEY", 10)  # keys above it: no table, search the blocks
    stream = EventStream.build(ev_keys, ev_times, {})
    assert stream.starts is None
    np.testing.assert_array_equal(stream.before(keys, times)["count"], with_table["count"])


def test_codes_of_many_values_equal_looking_each_up() -> None:
    vocabulary = {"SP": 0, "RJ": 1, "MG": 2}
    rng = np.random.default_rng(2)
    values = rng.choice(np.array(["SP", "RJ", "MG", "XX", None, np.nan, 7], dtype=object), 2_500)
    expected = [vocabulary.get(v, -1) if isinstance(v, str) else -1 for v in values]
    assert codes(values, vocabulary).tolist() == expected  # the batch path (≥ 1,000 values)
    assert codes(values[:10], vocabulary).tolist() == expected[:10]  # the re-score path
    assert codes(np.array([], dtype=object), vocabulary).tolist() == []
