"""Escalation ladders to the leadership group (U4, D13): by severity, by deadline, by volume.

Levels follow the plan's organization (U2): 1 = the lead of the team that owns the late step,
2 = the leadership group (应急响应领导小组), 3 = its head, the general manager. A case only
climbs: a level once reached is never announced again (``incidents.escalate`` is a no-op then).

* Severity: a critical case goes to the leadership group when it is reported, a high one to the
  team leads.
* Deadline: an SLA warning (75 %) goes to the owning team's lead, a breach to the leadership
  group, a breach on a critical case to the general manager (PagerDuty-style ladder, ANCHORS §5.2).
* Volume: ≥ ``threshold`` new cases on one carrier lane or one region within ``window`` become
  one major incident grouping them (:func:`volume_spikes`).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import IntEnum, StrEnum

from orderwatch.domain.incidents import IncidentSeverity
from orderwatch.domain.roles import Role
from orderwatch.domain.sla import LedgerKind, SlaMetric


class Level(IntEnum):
    none = 0
    team_lead = 1
    leadership = 2
    general_manager = 3


class Team(StrEnum):
    """The three groups of the plan's organization (U2)."""

    leadership = "leadership"
    cs_emergency = "cs_emergency"
    logistics_emergency = "logistics_emergency"


TEAM_NAMES: dict[Team, str] = {
    Team.leadership: "应急响应领导小组 Leadership group",
    Team.cs_emergency: "客户服务应急小组 CS emergency team",
    Team.logistics_emergency: "物流应急小组 Logistics emergency team",
}
# The staff role whose people make up each team (U2); admins belong to none by default.
TEAM_OF_ROLE: dict[Role, Team] = {
    Role.leadership: Team.leadership,
    Role.cs_agent: Team.cs_emergency,
    Role.logistics_agent: Team.logistics_emergency,
}

# Who owns each clock (D13): the leadership group assesses, CS calls, logistics resolves.
METRIC_OWNER: dict[SlaMetric, Team] = {
    SlaMetric.assessment: Team.leadership,
    SlaMetric.first_contact: Team.cs_emergency,
    SlaMetric.resolution: Team.logistics_emergency,
}


@dataclass(frozen=True, slots=True)
class EscalationStep:
    """Escalate to ``level``, notifying ``team`` (and the level's people), because of ``reason``."""

    level: Level
    team: Team
    reason: str


def step_for_severity(severity: IncidentSeverity) -> EscalationStep | None:
    """The escalation a case gets the moment it is reported (or its severity is raised)."""
    if severity is IncidentSeverity.critical:
        return EscalationStep(Level.leadership, Team.leadership, "severity critical")
    if severity is IncidentSeverity.high:
        return EscalationStep(Level.team_lead, Team.leadership, "severity high")
    return None


def step_for_deadline(
    metric: SlaMetric, kind: LedgerKind, severity: IncidentSeverity
) -> EscalationStep | None:
    """The escalation an SLA ledger entry causes; ``None`` for entries that escalate nothing."""
    if kind is LedgerKind.warned:
        return EscalationStep(Level.team_lead, METRIC_OWNER[metric], f"{metric} deadline at 75 %")
    if kind is LedgerKind.breached:
        level = Level.general_manager if severity is IncidentSeverity.critical else Level.leadership
        return EscalationStep(level, Team.leadership, f"{metric} deadline breached")
    return None


@dataclass(frozen=True, slots=True)
class VolumePolicy:
    """``threshold`` new cases for one lane or region within ``window`` make a major incident."""

    threshold: int = 5
    window: timedelta = timedelta(hours=1)

    def __post_init__(self) -> None:
        if self.threshold < 2:
            raise ValueError(f"volume threshold must be at least 2 (got {self.threshold})")


@dataclass(frozen=True, slots=True)
class RecentCase:
    """A case reported recently, with where its parcel travels."""

    ref: str
    reported_at: datetime
    carrier_code: str | None
    lane: str | None
    region: str | None


@dataclass(frozen=True, slots=True)
class VolumeSpike:
    """Cases that together cross the volume threshold on one scope (``carrier:lane`` or ``region``)."""

    scope: str
    refs: tuple[str, ...]


def volume_spikes(cases: Iterable[RecentCase], *, now: datetime, policy: VolumePolicy) -> list[VolumeSpike]:
    """Scopes with at least ``policy.threshold`` cases reported in ``(now - window, now]``.

    A case is counted for its carrier lane and for its destination region; the lane spike is
    preferred (it names the carrier to switch), so a region is only reported for cases not
    already in a lane spike.
    """
    since = now - policy.window
    by_lane: dict[str, list[str]] = defaultdict(list)
    by_region: dict[str, list[str]] = defaultdict(list)
    for case in cases:
        if not since < case.reported_at <= now:
            continue
        if case.carrier_code and case.lane:
            by_lane[f"{case.carrier_code}:{case.lane}"].append(case.ref)
        if case.region:
            by_region[f"region:{case.region}"].append(case.ref)
    spikes = [
        VolumeSpike(scope, tuple(sorted(refs)))
        for scope, refs in sorted(by_lane.items())
        if len(refs) >= policy.threshold
    ]
    taken = {ref for spike in spikes for ref in spike.refs}
    for scope, refs in sorted(by_region.items()):
        left = sorted(set(refs) - taken)
        if len(left) >= policy.threshold:
            spikes.append(VolumeSpike(scope, tuple(left)))
    return spikes
