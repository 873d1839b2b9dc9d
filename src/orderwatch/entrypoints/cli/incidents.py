"""``orderwatch incidents``: statistics, the board as a table, reporting, jobs, teams (U2–U4, U9, U14)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import typer
from rich.table import Table

from orderwatch.adapters.db.incident_queries import IncidentFilters, incident_stats, list_incidents
from orderwatch.adapters.db.users import SqlUsers
from orderwatch.domain.causes import Cause
from orderwatch.domain.errors import OrderWatchError
from orderwatch.domain.escalation import TEAM_OF_ROLE, Team
from orderwatch.domain.incidents import IncidentSeverity
from orderwatch.domain.roles import Role
from orderwatch.entrypoints.cli.common import console, fail, make_app, print_json
from orderwatch.entrypoints.incident_wiring import INCIDENT_JOBS, incident_config
from orderwatch.services.incident_teams import schedule_on_call, sync_teams
from orderwatch.services.incidents import report_undelivered

app = typer.Typer(help="Incidents of undelivered, lost and damaged orders.", no_args_is_help=True)
DATABASE = typer.Option(None, "--database-url", help="Overrides ORDERWATCH_DATABASE_URL")


@app.command("stats")
def stats(
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object"),
    since: str | None = typer.Option(
        None, "--since", help="Only cases reported from this day (YYYY-MM-DD, UTC)"
    ),
    database_url: str | None = DATABASE,
) -> None:
    """Counts by cause and state, SLA met %, median time to first contact and to resolution."""
    start = None
    if since is not None:
        try:
            start = datetime.fromisoformat(since).replace(tzinfo=UTC)
        except ValueError:
            fail(f"--since: {since!r} is not a date (YYYY-MM-DD)")
    application = make_app(database_url)
    with application.read_session() as session:
        figures = incident_stats(session, since=start)
    if as_json:
        print_json(figures)
        return
    console.print(f"incidents: {figures['incidents']}")
    for key in ("by_state", "by_cause", "by_severity"):
        console.print(f"{key.removeprefix('by_')}: {figures[key]}")
    for metric, sla in figures["sla"].items():
        rate = "no data" if sla["met_rate"] is None else f"{sla['met_rate']:.1%}"
        console.print(f"SLA {metric}: met {rate} ({sla['met']} met, {sla['breached']} breached)")
    console.print(f"median minutes to first contact: {figures['median_minutes_to_first_contact']}")
    console.print(f"median hours to resolution: {figures['median_hours_to_resolution']}")


@app.command("list")
def list_command(
    status: str | None = typer.Option(None, "--status"),
    cause: str | None = typer.Option(None, "--cause"),
    sla: str | None = typer.Option(None, "--sla", help="running, warning, breached, paused, met"),
    active: bool = typer.Option(False, "--active", help="Only cases not closed or cancelled"),
    limit: int = typer.Option(50, "--limit", min=1, max=1000),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object"),
    database_url: str | None = DATABASE,
) -> None:
    """The newest cases, filtered."""
    application = make_app(database_url)
    filters = IncidentFilters(status=status, cause=cause, sla_state=sla, active_only=active)
    with application.read_session() as session:
        rows = list_incidents(session, filters, limit=limit)
    items: list[dict[str, Any]] = [
        {
            "ref": r.ref,
            "order_ref": r.order_ref,
            "status": r.status,
            "severity": r.severity,
            "cause": r.cause,
            "sla_state": r.sla_state,
            "escalation_level": r.escalation_level,
            "carrier": r.carrier_code,
            "reported_at": r.reported_at,
        }
        for r in rows
    ]
    if as_json:
        print_json({"items": items})
        return
    table = Table("ref", "status", "severity", "cause", "SLA", "level", "reported")
    for r in rows:
        table.add_row(
            r.ref, r.status, r.severity, r.cause, r.sla_state, str(r.escalation_level),
            r.reported_at.isoformat(timespec="minutes"),
        )
    console.print(table)


@app.command("report")
def report(
    order_ref: str = typer.Argument(..., help="The order that was not delivered"),
    actor: str = typer.Option(..., "--by", help="Who reports it (username)"),
    cause: Cause = typer.Option(Cause.unknown, "--cause"),  # noqa: B008
    severity: IncidentSeverity = typer.Option(IncidentSeverity.medium, "--severity"),  # noqa: B008
    database_url: str | None = DATABASE,
) -> None:
    """Mark an order undelivered: open its case (or show the one already open)."""
    application = make_app(database_url)
    try:
        ref = report_undelivered(
            application.uow(),
            application.clock,
            config=incident_config(application.settings),
            order_ref=order_ref,
            actor=actor,
            cause=cause,
            severity=severity,
        )
    except OrderWatchError as error:
        fail(str(error))
    console.print(ref)


@app.command("run-jobs")
def run_jobs(
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object"),
    database_url: str | None = DATABASE,
) -> None:
    """Run auto-open, SLA timers and the volume trigger once, now."""
    application = make_app(database_url)
    results = {job.name: dict(job.run(application, application.clock)) for job in INCIDENT_JOBS}  # type: ignore[call-overload]
    if as_json:
        print_json(results)
    else:
        for name, outcome in results.items():
            console.print(f"{name}: {outcome}")


@app.command("teams-sync")
def teams_sync(
    leads: list[str] = typer.Option([], "--lead", help="Username of a team lead (repeatable)"),  # noqa: B008
    database_url: str | None = DATABASE,
) -> None:
    """Make the three teams of the plan from the active users' roles (U2)."""
    application = make_app(database_url)
    with application.read_session() as session:
        users = SqlUsers(session).list(include_inactive=False)
    members: dict[Team, list[tuple[str, bool]]] = {team: [] for team in Team}
    for user in users:
        team = TEAM_OF_ROLE.get(Role(user.role))
        if team is not None:
            members[team].append((user.username, user.username in leads))
    sync_teams(application.uow(), members)
    for team, people in members.items():
        console.print(f"{team}: {', '.join(u + (' (lead)' if lead else '') for u, lead in people) or '-'}")


@app.command("on-call")
def on_call(
    team: Team = typer.Argument(...),  # noqa: B008
    username: str = typer.Argument(...),
    starts: str = typer.Option(..., "--from", help="Shift start, ISO 8601 with time zone"),
    hours: int = typer.Option(12, "--hours"),
    database_url: str | None = DATABASE,
) -> None:
    """Put a person on call for a team (the rota escalations go to)."""
    try:
        starts_at = datetime.fromisoformat(starts)
    except ValueError:
        fail(f"--from: {starts!r} is not an ISO 8601 time")
    if starts_at.tzinfo is None:
        fail("--from: give a time zone (e.g. 2018-03-01T09:00-03:00)")
    application = make_app(database_url)
    try:
        schedule_on_call(application.uow(), team=team, username=username, starts_at=starts_at, hours=hours)
    except OrderWatchError as error:
        fail(str(error))
    console.print(f"{username} on call for {team} from {starts_at.isoformat()} for {hours} h")
