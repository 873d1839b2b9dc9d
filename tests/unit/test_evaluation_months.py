"""The evaluation stored with a version counts months as the shop does (D2): its time zone.

``model evaluate`` cuts its test period into shop-local months (``month_starts``); the held-out
slice stored at train time must use the same months, or the two pages disagree about the
orders bought on the evening of a month's last day.
"""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import numpy as np

from orderwatch.adapters.ml.dataset import to_days
from orderwatch.adapters.ml.evaluation import month_starts
from orderwatch.adapters.ml.holdout import local_months
from orderwatch.adapters.ml.model import train
from tests.ml_frames import BASE, synthetic_history

SAO_PAULO = ZoneInfo("America/Sao_Paulo")


def test_an_evening_order_on_a_months_last_day_counts_in_that_month_locally() -> None:
    evening = datetime(2018, 3, 31, 22, 30, tzinfo=SAO_PAULO)  # 2018-04-01 01:30 UTC
    noon = datetime(2018, 4, 1, 12, 0, tzinfo=SAO_PAULO)
    days = np.array([to_days(evening), to_days(noon)])

    assert local_months(days, SAO_PAULO).tolist() == ["2018-03", "2018-04"]
    assert local_months(days, UTC).tolist() == ["2018-04", "2018-04"]
    # model evaluate's months, in the same zone, put the evening order in March too
    (march, start, end), _ = month_starts(datetime(2018, 3, 1, tzinfo=SAO_PAULO), noon)
    assert march == "2018-03"
    assert start <= days[0] < end


def test_the_stored_evaluation_uses_the_shops_months() -> None:
    frame = synthetic_history(4, 1_500, days=150)
    model = train(frame, until=BASE + 150, promise_quantile=0.9, fast=True, zone=SAO_PAULO)
    evaluation = model.metrics["evaluation"]

    assert evaluation["timezone"] == "America/Sao_Paulo"
    counts: dict[str, int] = {m["month"]: m["n"] for m in evaluation["by_month"]}
    sliced = frame[
        (frame["purchased"] >= BASE + 150 - 95)
        & (frame["purchased"] < BASE + 150 - 35)
        & (frame["status"] == "delivered")
        & (frame["delivered"] < BASE + 150)
    ]
    months, n = np.unique(
        local_months(sliced["purchased"].to_numpy(dtype=float), SAO_PAULO), return_counts=True
    )
    assert counts == dict(zip(months.tolist(), n.tolist(), strict=True))
