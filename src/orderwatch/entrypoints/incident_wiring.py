"""Wiring of the incident jobs and policies for every entry point (U3, U4, U14).

One list of periodic incident jobs, run by ``orderwatch worker`` in real time and by
``orderwatch replay`` / ``orderwatch demo`` in simulated time, so both schedules are the same.
Auto-open runs before the SLA timers and the volume trigger, so a case opened in a run is
escalated and grouped in that same run; the delivery job runs first, so a parcel that arrived
resolves its case before the timers would escalate it. Claims past their filing or answer
deadline escalate once each (``incidents.claim_deadlines``, hourly).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from orderwatch.bootstrap import App
from orderwatch.services.claim_deadlines import escalate_overdue_claims
from orderwatch.services.incident_jobs import (
    detect_volume,
    open_from_flags,
    resolve_delivered,
    run_sla_timers,
)
from orderwatch.services.incidents import IncidentConfig
from orderwatch.services.ports import Clock
from orderwatch.settings import Settings


def incident_config(settings: Settings) -> IncidentConfig:
    """The incident policies, with business hours in the shop's time zone."""
    return IncidentConfig.for_timezone(settings.shop_timezone)


@dataclass(frozen=True, slots=True)
class IncidentJob:
    name: str
    every: timedelta
    run: Callable[[App, Clock], object]


INCIDENT_JOBS: tuple[IncidentJob, ...] = (
    IncidentJob("incidents.delivered", timedelta(minutes=15),
                lambda app, clock: resolve_delivered(app.uow, clock, config=incident_config(app.settings))),
    IncidentJob("incidents.auto_open", timedelta(hours=1),
                lambda app, clock: open_from_flags(app.uow, clock, config=incident_config(app.settings))),
    IncidentJob("incidents.sla_timers", timedelta(minutes=15),
                lambda app, clock: run_sla_timers(app.uow, clock, config=incident_config(app.settings))),
    IncidentJob("incidents.volume", timedelta(minutes=15),
                lambda app, clock: detect_volume(app.uow, clock, config=incident_config(app.settings))),
    IncidentJob("incidents.claim_deadlines", timedelta(hours=1),
                lambda app, clock: escalate_overdue_claims(
                    app.uow, clock, config=incident_config(app.settings))),
)
