"""The cost of incidents per case, by month, carrier and cause (U7, U9, U14, D5).

The ledger of each case gives its **net cost**: approved compensation − money recovered from
the carrier (``postmortem.cost_of``; the amount claimed is not cost). The review reports, per
currency, for all cases and grouped by the month the case was reported (shop time), its
carrier and its cause:

* ``cases`` — how many cases (a case with no ledger entry costs 0 and still counts);
* ``compensation_cents``, ``recovered_cents``, ``net_cents`` — totals;
* ``mean_net_cents`` — the net cost per case, rounded to whole cents.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

GROUPINGS = ("month", "carrier", "cause")


@dataclass(frozen=True, slots=True)
class CaseCost:
    """One case's cost in one currency, with what it is grouped by."""

    month: str  # YYYY-MM the case was reported, in the shop's time zone
    carrier: str
    cause: str
    currency: str
    compensation_cents: int = 0
    recovered_cents: int = 0

    @property
    def net_cents(self) -> int:
        return self.compensation_cents - self.recovered_cents


@dataclass
class _Sum:
    cases: int = 0
    compensation_cents: int = 0
    recovered_cents: int = 0

    def add(self, case: CaseCost) -> None:
        self.cases += 1
        self.compensation_cents += case.compensation_cents
        self.recovered_cents += case.recovered_cents

    def as_dict(self) -> dict[str, int]:
        net = self.compensation_cents - self.recovered_cents
        return {
            "cases": self.cases,
            "compensation_cents": self.compensation_cents,
            "recovered_cents": self.recovered_cents,
            "net_cents": net,
            "mean_net_cents": round(net / self.cases) if self.cases else 0,
        }


def cost_per_case(cases: Iterable[CaseCost]) -> dict[str, dict[str, Any]]:
    """``{currency: {"total": …, "by_month": {…}, "by_carrier": {…}, "by_cause": {…}}}``, sorted."""
    totals: dict[str, _Sum] = defaultdict(_Sum)
    groups: dict[tuple[str, str], dict[str, _Sum]] = defaultdict(lambda: defaultdict(_Sum))
    for case in cases:
        totals[case.currency].add(case)
        for grouping in GROUPINGS:
            groups[(case.currency, grouping)][getattr(case, grouping)].add(case)
    return {
        currency: {
            "total": total.as_dict(),
            **{
                f"by_{grouping}": {
                    key: s.as_dict() for key, s in sorted(groups[(currency, grouping)].items())
                }
                for grouping in GROUPINGS
            },
        }
        for currency, total in sorted(totals.items())
    }
