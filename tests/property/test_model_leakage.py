"""Leakage (issue 4): a feature computed for prediction time t never depends on what happened after t.

Given a random order history and a time t, every record of what happened at or after t is altered
(times moved later, events removed, orders bought after t rewritten or dropped); the features of the
orders bought before t, at both stages, must come out identical.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from orderwatch.adapters.ml.features import History, Stage, Vocabulary, build
from tests.ml_frames import BASE, synthetic_history

EVENT_COLUMNS = ("handed", "delivered", "canceled", "unavailable")


def history(seed: int, size: int) -> pd.DataFrame:
    frame = synthetic_history(seed, size)
    frame["status"] = "delivered"
    return frame


def alter_after(frame: pd.DataFrame, t: float, seed: int) -> pd.DataFrame:
    """Every fact that became known at or after ``t`` changed: later times, removals, rewrites."""
    rng = np.random.default_rng(seed + 1)
    changed = frame.copy()
    for column in EVENT_COLUMNS:
        values = changed[column].to_numpy(dtype=float).copy()
        after = values >= t
        moved = values + rng.uniform(0, 40, values.size)
        values[after] = np.where(rng.random(after.sum()) < 0.3, np.nan, moved[after])
        changed[column] = values
    future = changed["purchased"].to_numpy() >= t
    changed.loc[future, "seller_id"] = 0.0  # bought after t: anything may be different about them
    changed.loc[future, "promised"] = changed.loc[future, "purchased"] + 1.0
    keep = ~future | (rng.random(len(changed)) < 0.5)  # ... or they never existed
    return changed[keep]


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 10_000), size=st.integers(30, 400), at=st.floats(5.0, 115.0))
def test_features_at_t_ignore_everything_after_t(seed: int, size: int, at: float) -> None:
    frame = history(seed, size)
    t = BASE + at
    vocabulary = Vocabulary.from_history(frame)  # fixed at training time in the real system
    altered = alter_after(frame, t, seed)
    for stage in Stage:
        query = frame[frame["purchased"] < t]
        if stage is Stage.handoff:
            query = query[query["handed"] < t]
        if query.empty:
            continue
        times = np.full(len(query), t)
        original = build(query, times, stage, History.build(frame, vocabulary))
        again = build(query, times, stage, History.build(altered, vocabulary))
        pd.testing.assert_frame_equal(original, again)


def test_altering_the_future_is_noticed_by_a_feature_that_looks_at_it() -> None:
    # The property above must be able to fail: features at a later time do see the changes.
    frame = history(3, 300)
    t = BASE + 40.0
    vocabulary = Vocabulary.from_history(frame)
    query = frame[frame["purchased"] < t]
    later = np.full(len(query), BASE + 100.0)
    original = build(query, later, Stage.purchase, History.build(frame, vocabulary))
    again = build(query, later, Stage.purchase, History.build(alter_after(frame, t, 3), vocabulary))
    assert not original.equals(again)
