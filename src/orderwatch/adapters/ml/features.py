"""Features of an order at a prediction time, from the shop's history as it was then (D2, D10).

    order's own facts known at purchase ─┐  (promised lead time, distance, size, season, payment)
    hand-off facts (stage ≥ handoff) ────┤  (hand-off delay, dispatch deadline, promise left)
    seller / lane / area history ────────┼─▶ one feature row per (order, prediction time)
      (outcomes delivered before t)      │
    state of the network at t ───────────┘  (recent transit, promise-cohort late rate, backlog,
                                             parcels in flight and their age)

The leakage rule: a history feature for time t reads only events that happened strictly before t
(a delivery counts from its delivery time, a hand-off from its hand-off time, a cancellation from
its cancellation time), never "orders purchased before t" with outcomes known only later. The
network state is taken at the start of t's UTC day, also before t. ``tests/property`` checks that
altering or removing every record after t leaves the features for t unchanged.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

import numpy as np
import pandas as pd

from orderwatch.adapters.ml.asof import EventStream, codes, mean_or_nan, query_order, shrunk_mean

PRIOR_WEIGHT = 10.0  # pseudo-orders pulling a thin seller/lane history toward the network mean
RECENT_DAYS = 14.0
OPEN_LIMIT_DAYS = 60.0


class Stage(StrEnum):
    """When a prediction is made."""

    purchase = "purchase"
    handoff = "handoff"


@dataclass
class Vocabulary:
    """Category codes fixed at training time (unknown values become -1, i.e. missing)."""

    regions: dict[str, int] = field(default_factory=dict)

    @classmethod
    def from_history(cls, history: pd.DataFrame) -> Vocabulary:
        values = pd.concat(
            [history["customer_region"], history.get("seller_region", pd.Series(dtype=object))]
        )
        names = sorted({v for v in values.dropna().unique() if isinstance(v, str)})
        return cls(regions={name: i for i, name in enumerate(names)})


@dataclass
class History:
    """The event streams of a history frame, built once and queried for any times."""

    delivered: EventStream  # by seller
    lane: EventStream  # by (seller region, customer region)
    area: EventStream  # by customer zip3
    network: EventStream  # everything, key 0
    handoffs: EventStream  # by seller
    seller_flow: EventStream  # by seller: +1 at purchase, -1 at hand-off or cancellation
    cohorts: EventStream  # by customer region: promises falling due, late or not
    network_cohorts: EventStream  # the same for the whole network
    region_flow: EventStream  # by customer region: parcels handed over (+1) and delivered (-1)
    vocabulary: Vocabulary

    @classmethod
    def build(cls, frame: pd.DataFrame, vocabulary: Vocabulary) -> History:
        f = _base(frame, vocabulary)
        delivered, handed, promised = f["delivered"], f["handed"], f["promised"]
        days = delivered - f["purchased"]
        late = (delivered > promised).astype(float)
        transit = delivered - handed
        values = {
            "days": days,
            "late": late,
            "transit": np.nan_to_num(transit),
            "has_transit": ~np.isnan(transit),
        }
        transit_known = np.where(np.isnan(delivered), np.nan, np.fmax(delivered, handed))
        handoff_days = handed - f["purchased"]
        # Something open for OPEN_LIMIT_DAYS counts as gone from then on (known at that moment),
        # so lost parcels and forgotten orders do not pile up in the open counts forever.
        closed = np.fmin(
            np.fmin(handed, f["purchased"] + OPEN_LIMIT_DAYS), np.fmin(f["canceled"], f["unavailable"])
        )
        arrived = np.fmin(
            np.where(np.isnan(delivered), np.nan, np.fmax(delivered, handed)), handed + OPEN_LIMIT_DAYS
        )
        # A promise falling due at p is kept (late or not) unless the order was canceled by p;
        # both are known at p, and "late" is: not delivered by p.
        cohort_time = np.where(f["canceled"] <= promised, np.nan, promised)
        cohort_late = np.where(delivered <= promised, 0.0, 1.0)
        return cls(
            delivered=EventStream.build(f["seller"], delivered, values),
            lane=EventStream.build(f["lane"], transit_known, values),
            area=EventStream.build(f["zip3"], delivered, {"days": days}),
            network=EventStream.build(np.zeros_like(f["seller"]), transit_known, values),
            handoffs=EventStream.build(
                f["seller"],
                handed,
                {"handoff_days": handoff_days, "dispatch_late": (handed > f["deadline"]).astype(float)},
            ),
            seller_flow=_flow(f["seller"], f["purchased"], closed),
            cohorts=EventStream.build(f["customer_region"], cohort_time, {"late": cohort_late}),
            network_cohorts=EventStream.build(np.zeros_like(f["seller"]), cohort_time, {"late": cohort_late}),
            region_flow=_flow(f["customer_region"], handed, arrived, age_from=handed),
            vocabulary=vocabulary,
        )


def _flow(
    keys: np.ndarray, opened: np.ndarray, closed: np.ndarray, *, age_from: np.ndarray | None = None
) -> EventStream:
    """+1 at ``opened``, -1 at ``closed``: the prefix count is what is open at a time.

    With ``age_from``, the stream also sums the opening times of the open items, so that the
    mean age of what is open at t is ``t - sum/count``.
    """
    both_keys = np.concatenate([keys, keys])
    times = np.concatenate([opened, np.where(np.isnan(opened), np.nan, closed)])
    sign = np.concatenate([np.ones_like(opened), -np.ones_like(opened)])
    values = {"open": sign}
    if age_from is not None:
        values["opened_sum"] = sign * np.concatenate([age_from, age_from])
    return EventStream.build(both_keys, times, values)


def _column(frame: pd.DataFrame, name: str) -> np.ndarray:
    return frame[name].to_numpy(dtype=float) if name in frame else np.full(len(frame), np.nan)


def _base(frame: pd.DataFrame, vocabulary: Vocabulary) -> dict[str, np.ndarray]:
    seller = np.nan_to_num(_column(frame, "seller_id"), nan=-1).astype(np.int64)
    customer_region = codes(frame["customer_region"].to_numpy(), vocabulary.regions)
    seller_region = (
        codes(frame["seller_region"].to_numpy(), vocabulary.regions)
        if "seller_region" in frame
        else np.full(len(frame), -1)
    )
    lane = np.where((customer_region >= 0) & (seller_region >= 0), seller_region * 1000 + customer_region, -1)
    # The prefix of each distinct zip once (~15,000 for 100,000 orders), then spread to the rows.
    positions, zips = pd.factorize(frame["customer_zip"].to_numpy(dtype=object))
    prefixes = pd.to_numeric(pd.Series(zips, dtype=object).astype(str).str[:3], errors="coerce")
    zip3 = np.append(prefixes.fillna(-1).to_numpy(dtype=float), -1.0)[positions]
    return {
        "seller": seller,
        "customer_region": customer_region,
        "seller_region": seller_region,
        "lane": lane,
        "zip3": zip3.astype(np.int64),
        **{
            name: _column(frame, name)
            for name in (
                "purchased",
                "promised",
                "handed",
                "delivered",
                "canceled",
                "unavailable",
                "deadline",
            )
        },
    }


# Facts of an order fixed at purchase, copied as they are into its feature row.
OWN_COLUMNS = (
    *("distance_km", "customer_lat", "customer_lng", "seller_lat", "seller_lng"),  # places
    *("weight_g", "volume_cm3", "items", "sellers", "price_cents", "freight_cents", "installments"),  # parcel
)


def columns(frame: pd.DataFrame, vocabulary: Vocabulary) -> dict[str, np.ndarray]:
    """The per-order arrays :func:`features` reads, one entry per row of ``frame``.

    The only pandas step of the features (category codes, zip prefixes, calendar fields of the
    purchase time): done once for a whole history, a single order's arrays are then a slice
    (:func:`take`) with its state columns replaced by the values read again.
    """
    f = _base(frame, vocabulary)
    stamps = pd.to_datetime(f["purchased"] * 86_400.0, unit="s", utc=True)
    f.update({name: _column(frame, name) for name in OWN_COLUMNS})
    f["month"] = stamps.month.to_numpy(dtype=float)
    f["day_of_year"] = stamps.day_of_year.to_numpy(dtype=float)
    f["purchase_hour"] = stamps.hour.to_numpy(dtype=float)
    return f


def take(f: dict[str, np.ndarray], rows: np.ndarray) -> dict[str, np.ndarray]:
    """The arrays of the orders at positions ``rows``."""
    return {name: values[rows] for name, values in f.items()}


def build(frame: pd.DataFrame, at: np.ndarray, stage: Stage, history: History) -> pd.DataFrame:
    """The feature matrix of ``frame``'s orders at prediction times ``at`` (float days)."""
    return pd.DataFrame(features(columns(frame, history.vocabulary), at, stage, history), index=frame.index)


def features(
    f: dict[str, np.ndarray], at: np.ndarray, stage: Stage, history: History
) -> dict[str, np.ndarray]:
    """The features of the orders of :func:`columns` arrays at times ``at``: numpy only.

    Batch scoring and the single-order re-score both go through here, so both give the same
    numbers (``tests/unit/test_single_row_scoring.py``).
    """
    out = _own(f)
    out.update(_history(f, at, history))
    if stage is Stage.handoff:
        handed = f["handed"]
        out["handoff_days"] = handed - f["purchased"]
        out["dispatch_late_days"] = handed - f["deadline"]
        out["promise_left_days"] = f["promised"] - handed
        out["handoff_dow"] = _weekday(handed)
    return out


def _own(f: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    purchased = f["purchased"]
    freight, price = f["freight_cents"], f["price_cents"]
    return {
        "promised_lead_days": f["promised"] - purchased,
        "deadline_lead_days": f["deadline"] - purchased,
        "distance_km": f["distance_km"],
        "same_region": (f["customer_region"] == f["seller_region"]).astype(float),
        "customer_region": np.where(f["customer_region"] >= 0, f["customer_region"], np.nan),
        "seller_region": np.where(f["seller_region"] >= 0, f["seller_region"], np.nan),
        "customer_lat": f["customer_lat"],
        "customer_lng": f["customer_lng"],
        "seller_lat": f["seller_lat"],
        "seller_lng": f["seller_lng"],
        "weight_g": f["weight_g"],
        "volume_cm3": f["volume_cm3"],
        "items": f["items"],
        "sellers": f["sellers"],
        "price_cents": price,
        "freight_cents": freight,
        "freight_share": freight / np.where(price > 0, price, np.nan),
        "installments": f["installments"],
        "month": f["month"],
        "day_of_year": f["day_of_year"],
        "purchase_dow": _weekday(purchased),
        "purchase_hour": f["purchase_hour"],
    }


def _weekday(days: np.ndarray) -> np.ndarray:
    # 1970-01-01 was a Thursday (weekday 3).
    return np.where(np.isnan(days), np.nan, (np.floor(days) + 3) % 7)


def _history(f: dict[str, np.ndarray], at: np.ndarray, h: History) -> dict[str, np.ndarray]:
    day = np.floor(at)  # the network state is read at the start of the prediction's day
    zero = np.zeros(at.size, dtype=np.int64)
    # Each key column's query order once (it only speeds up the searches; ``asof.query_order``).
    by_seller, by_region = query_order(f["seller"]), query_order(f["customer_region"])
    net = h.network.before(zero, at)
    net_recent = h.network.window(zero, day, RECENT_DAYS)
    prior_days = mean_or_nan(net["days"], net["count"])
    prior_late = mean_or_nan(net["late"], net["count"])
    prior_transit = mean_or_nan(net["transit"], net["has_transit"])
    seller = h.delivered.before(f["seller"], at, order=by_seller)
    lane = h.lane.before(f["lane"], at)
    lane_recent = h.lane.window(f["lane"], day, RECENT_DAYS)
    area = h.area.before(f["zip3"], at)
    handoffs = h.handoffs.before(f["seller"], at, order=by_seller)
    flow = h.seller_flow.before(f["seller"], at, order=by_seller)
    cohort = h.cohorts.window(f["customer_region"], day, RECENT_DAYS)
    cohort_all = h.network_cohorts.window(zero, day, RECENT_DAYS)
    inflight = h.region_flow.before(f["customer_region"], day, order=by_region)
    return {
        "seller_orders": seller["count"],
        "seller_days": shrunk_mean(seller["days"], seller["count"], prior_days, PRIOR_WEIGHT),
        "seller_late_rate": shrunk_mean(seller["late"], seller["count"], prior_late, PRIOR_WEIGHT),
        "seller_transit_days": shrunk_mean(
            seller["transit"], seller["has_transit"], prior_transit, PRIOR_WEIGHT
        ),
        "seller_handoff_days": mean_or_nan(handoffs["handoff_days"], handoffs["count"]),
        "seller_dispatch_late_rate": mean_or_nan(handoffs["dispatch_late"], handoffs["count"]),
        "seller_open_orders": flow["open"],
        "lane_orders": lane["count"],
        "lane_days": shrunk_mean(lane["days"], lane["count"], prior_days, PRIOR_WEIGHT),
        "lane_late_rate": shrunk_mean(lane["late"], lane["count"], prior_late, PRIOR_WEIGHT),
        "lane_transit_days": shrunk_mean(lane["transit"], lane["has_transit"], prior_transit, PRIOR_WEIGHT),
        "lane_recent_transit_days": mean_or_nan(lane_recent["transit"], lane_recent["has_transit"]),
        "lane_recent_orders": lane_recent["count"],
        "area_days": shrunk_mean(area["days"], area["count"], prior_days, PRIOR_WEIGHT),
        "network_days": prior_days,
        "network_recent_days": mean_or_nan(net_recent["days"], net_recent["count"]),
        "network_recent_transit_days": mean_or_nan(net_recent["transit"], net_recent["has_transit"]),
        "network_recent_late_rate": mean_or_nan(net_recent["late"], net_recent["count"]),
        "network_recent_deliveries": net_recent["count"],
        "region_cohort_late_rate": mean_or_nan(cohort["late"], cohort["count"]),
        "region_cohort_orders": cohort["count"],
        "region_in_flight": inflight["open"],
        "region_in_flight_age_days": day - mean_or_nan(inflight["opened_sum"], inflight["open"]),
        "network_cohort_late_rate": mean_or_nan(cohort_all["late"], cohort_all["count"]),
    }
