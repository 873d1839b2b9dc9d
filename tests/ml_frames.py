"""A synthetic order-history frame (the shape ``adapters/ml/dataset.load_orders`` returns), for
model tests that need a trained model without a database."""

from __future__ import annotations

import numpy as np
import pandas as pd

BASE = 17_500.0  # 2017-11-30 in days since 1970


def synthetic_history(seed: int, size: int, *, days: float = 120.0) -> pd.DataFrame:
    """``size`` orders bought over ``days``; distance and weight drive the delivery time."""
    rng = np.random.default_rng(seed)
    purchased = BASE + np.sort(rng.uniform(0, days, size))
    distance = rng.uniform(1, 3000, size)
    weight = rng.uniform(100, 9000, size)
    handed = purchased + rng.uniform(0, 6, size)
    delivered = handed + 2 + distance / 300 + weight / 3000 + rng.gamma(2.0, 1.5, size)
    handed[rng.random(size) < 0.05] = np.nan
    delivered[np.isnan(handed) | (rng.random(size) < 0.05)] = np.nan
    canceled = np.where(
        np.isnan(handed) & (rng.random(size) < 0.5), purchased + rng.uniform(0, 3, size), np.nan
    )
    regions = np.array(["SP", "RJ", "MG", "BA"])
    return pd.DataFrame(
        {
            "id": np.arange(size),
            "ref": [f"o{i}" for i in range(size)],
            "status": np.where(np.isnan(delivered), "shipped", "delivered"),
            "purchased": purchased,
            "promised": purchased + rng.uniform(8, 25, size),
            "handed": handed,
            "delivered": delivered,
            "canceled": canceled,
            "unavailable": np.nan,
            "deadline": purchased + rng.uniform(1, 5, size),
            "seller_id": rng.integers(0, 6, size).astype(float),
            "customer_region": regions[rng.integers(0, 4, size)],
            "seller_region": regions[rng.integers(0, 4, size)],
            "customer_zip": [f"{z:05d}" for z in rng.integers(1000, 1400, size)],
            "distance_km": distance,
            "weight_g": weight,
            "volume_cm3": rng.uniform(100, 9000, size),
            "items": 1.0,
            "sellers": 1.0,
            "price_cents": 5000.0,
            "freight_cents": 900.0,
            "installments": 1.0,
        }
    )
