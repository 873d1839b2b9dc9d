"""The plan's organization as data (U2, D13): teams with members and leads, and the on-call rota."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta

from orderwatch.domain.errors import ValidationFailed
from orderwatch.domain.escalation import TEAM_NAMES, Team
from orderwatch.services.incident_ports import IncidentUnitOfWork


def sync_teams(uow: IncidentUnitOfWork, members: Mapping[Team, Sequence[tuple[str, bool]]]) -> None:
    """Make each team's membership exactly ``members`` (username, is lead); one transaction."""
    with uow:
        for team in Team:
            uow.incidents.set_team(team, name=TEAM_NAMES[team], members=list(members.get(team, ())))
        uow.commit()


def schedule_on_call(
    uow: IncidentUnitOfWork, *, team: Team, username: str, starts_at: datetime, hours: int
) -> None:
    """Put ``username`` on call for ``team`` from ``starts_at`` for ``hours``."""
    if not 1 <= hours <= 24 * 14:
        raise ValidationFailed("hours", "an on-call shift lasts 1 hour to 14 days", hours)
    with uow:
        uow.incidents.add_on_call(
            team, username=username, starts_at=starts_at, ends_at=starts_at + timedelta(hours=hours)
        )
        uow.commit()
