"""``orderwatch incidents``: open, statistics, board, reports, claims, review, jobs, teams (U2–U9, U14)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import typer
from rich.table import Table

from orderwatch.adapters.db.incident_queries import IncidentFilters, incident_stats, list_incidents
from orderwatch.adapters.db.remedy_queries import claim_item, list_claims, post_incident_report, review
from orderwatch.adapters.db.users import SqlUsers
from orderwatch.domain.causes import Cause
from orderwatch.domain.claims import ClaimStatus
from orderwatch.domain.errors import OrderWatchError, ValidationFailed
from orderwatch.domain.escalation import TEAM_OF_ROLE, Team
from orderwatch.domain.incidents import IncidentSeverity
from orderwatch.domain.roles import Role
from orderwatch.entrypoints.cli.common import console, fail, make_app, print_json
from orderwatch.entrypoints.incident_reports import (
    FORMATS,
    render_report_html,
    render_report_pdf,
    report_language,
)
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
            r.ref,
            r.status,
            r.severity,
            r.cause,
            r.sla_state,
            str(r.escalation_level),
            r.reported_at.isoformat(timespec="minutes"),
        )
    console.print(table)


@app.command("open")
def open_command(
    order_ref: str = typer.Argument(..., help="The order (its ref) that was not delivered"),
    actor: str = typer.Option(..., "--by", help="Who reports it (a username)"),
    cause: Cause = typer.Option(Cause.unknown, "--cause"),  # noqa: B008
    severity: IncidentSeverity = typer.Option(IncidentSeverity.medium, "--severity"),  # noqa: B008
    note: str = typer.Option("", "--note", help="What the reporter knows (the case's summary)"),
    database_url: str | None = DATABASE,
) -> None:
    """Report order ORDER_REF undelivered: open its case, or print the one already open (U3)."""
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
            summary=note,
        )
    except OrderWatchError as error:
        fail(str(error))
    console.print(ref)


@app.command("report")
def report(
    ref: str = typer.Argument(..., help="The case (INC-…) to write the post-incident report of"),
    actor: str | None = typer.Option(
        None, "--by", hidden=True, help="Not an option of this command: use `incidents open`"
    ),
    output_format: str = typer.Option("pdf", "--format", help="pdf or html"),
    lang: str = typer.Option("zh-CN", "--lang", help="zh-CN or en"),
    output: Path | None = typer.Option(None, "-o", "--output", help="File to write (default REF-report.EXT)"),  # noqa: B008
    database_url: str | None = DATABASE,
) -> None:
    """Write the post-incident report of case REF (U8, U9) as PDF or HTML."""
    if actor is not None:
        # The older form `incidents report ORDER --by USER` opened a case; say where it went.
        fail(
            f"--by: `incidents report` only writes a case's report; to open a case for order {ref!r} "
            f"run `orderwatch incidents open {ref} --by {actor}`"
        )
    if output_format not in FORMATS:
        fail(f"--format: {output_format!r} is not one of {', '.join(FORMATS)}")
    try:
        language = report_language(lang)
    except ValidationFailed as error:
        fail(f"--{error}")
    application = make_app(database_url)
    with application.read_session() as session:
        found = post_incident_report(session, ref)
    if found is None:
        fail(f"incident {ref!r} not found")
    zone = ZoneInfo(application.settings.shop_timezone)
    target = output or Path(f"{ref}-report.{output_format}")
    if output_format == "pdf":
        target.write_bytes(render_report_pdf(found, language=language, zone=zone))
    else:
        target.write_text(render_report_html(found, language=language, zone=zone), encoding="utf-8")
    console.print(f"{target} ({target.stat().st_size} bytes)")


@app.command("claims")
def claims(
    status: str | None = typer.Option(None, "--status", help="draft, filed, accepted, rejected, ..."),
    carrier: str | None = typer.Option(None, "--carrier"),
    limit: int = typer.Option(100, "--limit", min=1, max=1000),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object"),
    database_url: str | None = DATABASE,
) -> None:
    """Carrier claims for lost or damaged parcels, newest first, with totals per carrier (U7)."""
    if status is not None and status not in {s.value for s in ClaimStatus}:
        fail(f"--status: {status!r} is not one of {', '.join(ClaimStatus)}")
    application = make_app(database_url)
    with application.read_session() as session:
        rows, totals = list_claims(session, status=status, carrier=carrier, limit=limit)
    items = [claim_item(claim, ref) for claim, ref in rows]
    if as_json:
        print_json({"items": items, "totals_by_carrier": totals})
        return
    table = Table("id", "incident", "carrier", "status", "claimed", "recovered", "reference")
    for item in items:
        table.add_row(
            str(item["id"]),
            item["incident"],
            item["carrier"],
            item["status"],
            str(item["amount_claimed_cents"]),
            str(item["amount_recovered_cents"]),
            item["carrier_reference"] or "",
        )
    console.print(table)
    for code, total in totals.items():
        console.print(
            f"{code}: {total['claims']} claims, {total['claimed_cents']} claimed, "
            f"{total['recovered_cents']} recovered (cents)"
        )


@app.command("review")
def review_command(
    start: str = typer.Option(..., "--from", help="First day, YYYY-MM-DD (shop time zone)"),
    end: str = typer.Option(..., "--to", help="Last day, YYYY-MM-DD (included)"),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object"),
    database_url: str | None = DATABASE,
) -> None:
    """The periodic review: frequency, handling times, SLA met %, compensation, claims, cost per case."""
    try:
        first, last = date.fromisoformat(start), date.fromisoformat(end)
    except ValueError:
        fail(f"--from/--to: {start!r}, {end!r} are not days (YYYY-MM-DD)")
    if last < first:
        fail(f"--to: {end} is before --from {start}")
    application = make_app(database_url)
    zone = ZoneInfo(application.settings.shop_timezone)
    with application.read_session() as session:
        figures = review(
            session,
            start=datetime.combine(first, time(), tzinfo=zone),
            end=datetime.combine(last + timedelta(days=1), time(), tzinfo=zone),
            zone=zone,
        )
    if as_json:
        print_json(figures)
        return
    console.print(f"incidents reported {first} – {last}: {figures['incidents']}")
    console.print(f"by cause: {figures['by_cause']}")
    for metric, sla in figures["sla"].items():
        rate = "no data" if sla["met_rate"] is None else f"{sla['met_rate']:.1%}"
        console.print(f"SLA {metric}: met {rate}")
    for currency, cost in figures["cost_per_case"].items():
        table = Table("group", "cases", "net", "per case", title=f"Net cost ({currency}, cents)")
        for grouping in ("month", "carrier", "cause"):
            for key, sums in cost[f"by_{grouping}"].items():
                table.add_row(
                    f"{grouping} {key}",
                    str(sums["cases"]),
                    str(sums["net_cents"]),
                    str(sums["mean_net_cents"]),
                )
        total = cost["total"]
        table.add_row("all", str(total["cases"]), str(total["net_cents"]), str(total["mean_net_cents"]))
        console.print(table)


@app.command("run-jobs")
def run_jobs(
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object"),
    database_url: str | None = DATABASE,
) -> None:
    """Run the incident jobs once, now: delivered, auto-open, SLA timers, volume, claim deadlines."""
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
