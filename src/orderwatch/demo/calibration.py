"""Figures measured on the Olist data that the demo generator reproduces (issue 3).

Measured with pandas on ``../shared/data/olist`` (96,470 delivered orders with both dates);
the script is ``benchmarks/measure_olist_calibration.py`` and ``tests/integration/
test_demo_calibration.py`` checks the generator against the targets below.

Delivery legs, in days (p10 / p50 / p90):

* purchase → carrier hand-off (supplier dispatch lag): 0.72 / 2.20 / 6.40
* hand-off → delivery (transit): 1.86 / 7.10 / 18.90; same state median 3.63, other state 9.17
* purchase → delivery: 4.16 / 10.22 / 23.10
* supplier deadline (``shipping_limit_date``) − purchase: 4.0 / 6.0 / 9.8; 9.0 % of hand-offs
  miss it, and those orders are late 24.4 % of the time against 6.5 % otherwise.

Lateness and satisfaction: 8.11 % late (by timestamp); late orders days-late p25/p50/p75
1.9/5.8/11.8. Review score distribution (1..5): late .461/.079/.113/.124/.222, on time
.066/.027/.080/.204/.624 (means 2.57 vs 4.29).

Orders: 90.1 % have one item, 7.6 % two, 1.3 % three; price p10/p50/p90 24.8/79.0/240.0 BRL,
freight 8.9/16.4/34.2 BRL; 3.4 % of purchases are by returning customers. Status shares:
delivered 97.0 %, shipped (never delivered) 1.1 %, canceled 0.63 %, unavailable 0.61 %.

Not in Olist (no carrier scans): loss, damage, address errors and refusals. Their rates are
assumptions from carrier practice and ANCHORS §6, stated here so nobody mistakes them for
measurements: lost 1.0 %, wrong address 0.6 %, refused 0.4 %, damaged 0.3 %.
"""

from __future__ import annotations

# Customer state shares (top ten measured; the rest spread over the other states).
CUSTOMER_REGIONS: dict[str, float] = {
    "SP": 0.420,
    "RJ": 0.128,
    "MG": 0.118,
    "RS": 0.055,
    "PR": 0.051,
    "SC": 0.037,
    "BA": 0.034,
    "DF": 0.022,
    "ES": 0.021,
    "GO": 0.020,
    "PE": 0.017,
    "CE": 0.013,
    "PA": 0.010,
    "MT": 0.009,
    "MA": 0.008,
    "MS": 0.007,
    "PB": 0.006,
    "RN": 0.005,
    "AL": 0.004,
    "PI": 0.005,
    "SE": 0.004,
    "TO": 0.003,
    "RO": 0.003,
    "AM": 0.002,
}
SUPPLIER_REGIONS: dict[str, float] = {
    "SP": 0.709,
    "MG": 0.079,
    "PR": 0.077,
    "RJ": 0.043,
    "SC": 0.037,
    "RS": 0.020,
    "BA": 0.035,
}
# Median transit days by destination from an SP origin (measured medians per customer state).
TRANSIT_MEDIAN_FROM_SP: dict[str, float] = {
    "SP": 4.4,
    "RJ": 8.4,
    "MG": 7.2,
    "RS": 10.0,
    "PR": 7.2,
    "SC": 9.5,
    "BA": 13.8,
    "DF": 8.1,
    "ES": 10.0,
    "GO": 11.0,
    "PE": 12.8,
    "CE": 14.8,
}
TRANSIT_MEDIAN_OTHER = 14.0
SAME_STATE_TRANSIT_MEDIAN = 3.6
TRANSIT_SIGMA = 0.55  # lognormal spread within a lane (the rest of the measured spread is between lanes)
DISPATCH_MEDIAN_DAYS = 2.2
DISPATCH_SIGMA = 0.83  # ln(6.4 / 2.2) / 1.2816
DISPATCH_DEADLINE_DAYS = 6
PRICE_MEDIAN, PRICE_SIGMA = 79.0, 0.87
FREIGHT_MEDIAN, FREIGHT_SIGMA = 16.4, 0.57
ITEMS_PER_ORDER = {1: 0.901, 2: 0.076, 3: 0.018, 4: 0.005}
RETURNING_CUSTOMER_SHARE = 0.034
# Promise = lane median delivery time × this factor, which gives ~8 % late in normal weeks.
PROMISE_QUANTILE = 0.93
TARGET_LATE_RATE = 0.0811
SCORES_LATE = (0.461, 0.079, 0.113, 0.124, 0.222)
SCORES_ON_TIME = (0.066, 0.027, 0.080, 0.204, 0.624)
REVIEW_RESPONSE_RATE = 0.80  # chosen: Olist's 99 % reflects a near-mandatory survey
CANCELED_SHARE = 0.0063
UNAVAILABLE_SHARE = 0.0061
LOST_SHARE = 0.010
WRONG_ADDRESS_SHARE = 0.006
REFUSED_SHARE = 0.004
DAMAGED_SHARE = 0.003
WEEKDAY_SHARES = (0.163, 0.161, 0.156, 0.148, 0.142, 0.109, 0.121)
HOUR_SHARES = (
    0.024,
    0.012,
    0.005,
    0.003,
    0.002,
    0.002,
    0.005,
    0.012,
    0.030,
    0.048,
    0.062,
    0.066,
    0.060,
    0.065,
    0.066,
    0.065,
    0.067,
    0.062,
    0.058,
    0.060,
    0.062,
    0.063,
    0.059,
    0.042,
)
