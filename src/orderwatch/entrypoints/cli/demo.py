"""``orderwatch demo``: a fresh demo shop on SQLite, replayed up to now, then the server (issue 3).

The shop comes from ``orderwatch.demo.generator`` (calibrated on Olist); it is replayed through the
same ingestion path as live traffic, demo logins are created for every role, and the server
starts. Customer messages are planned by the worker's planner and delivered to the local
mailbox table (``/notifications/mailbox``): the demo never contacts a real address.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import typer
from sqlalchemy import func, select

from orderwatch.adapters.clock import SimulatedClock
from orderwatch.adapters.db.migrate import upgrade
from orderwatch.adapters.db.tables import MailboxRow
from orderwatch.adapters.db.unit_of_work import SqlAlchemyUnitOfWork
from orderwatch.adapters.db.users import SqlUsers
from orderwatch.adapters.security.passwords import hash_password
from orderwatch.bootstrap import build_app
from orderwatch.demo.generator import SOURCE, generate
from orderwatch.domain.roles import Role
from orderwatch.entrypoints.cli.common import console, make_app, print_json
from orderwatch.entrypoints.cli.simulation import build_settings, kpi_summary, replay_json, run_replay, settle
from orderwatch.services.master_data import import_carriers
from orderwatch.services.ports import CarrierDetails

DEMO_PASSWORD = "orderwatch-demo"  # noqa: S105 - printed on purpose: a local demo's shared login
DEMO_USERS = {
    Role.admin: ("admin", "管理员 Admin"),
    Role.leadership: ("leader", "应急领导小组 Leadership"),
    Role.cs_agent: ("cs", "客服专员 CS agent"),
    Role.logistics_agent: ("logistics", "物流专员 Logistics agent"),
    Role.supply_chain: ("supply", "供应链经理 Supply chain"),
}


def demo(
    orders: int = typer.Option(20_000, help="About how many orders to generate"),
    days: int = typer.Option(120, help="Days of history before now"),
    seed: int = typer.Option(7, help="The same seed gives the same shop"),
    mailbox_days: int = typer.Option(
        7, min=0, help="Customer messages of the last N days go to the demo mailbox"
    ),
    serve: bool = typer.Option(True, "--serve/--no-serve", help="Start the server afterwards"),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object (with --no-serve)"),
    database_url: str | None = typer.Option(
        None, "--database-url", help="Default: a fresh <data_dir>/demo.sqlite3"
    ),
) -> None:
    """Generate a demo shop, replay it up to now, create demo logins and start the server."""
    started = time.perf_counter()
    settings = make_app(database_url).settings
    if not database_url:
        path = settings.data_dir / "demo.sqlite3"
        for leftover in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
            leftover.unlink(missing_ok=True)
        settings = settings.model_copy(update={"database_url": f"sqlite:///{path.resolve()}"})
    upgrade(settings.resolved_database_url)
    now = datetime.now(UTC).replace(microsecond=0)
    shop = generate(orders=orders, days=days, end=now, seed=seed)
    clock = SimulatedClock(shop.start)
    # Only a database the demo made itself is built without fsync (see build_settings).
    application = build_app(build_settings(settings) if not database_url else settings, clock=clock)
    carriers = [CarrierDetails(c.code, c.name, c.url) for c in shop.carriers]
    import_carriers(application.uow(), carriers, clock=clock, source=SOURCE)
    report, sink = run_replay(
        application,
        clock,
        shop.commands,
        quiet=as_json,
        label="replaying the demo shop",
        messages_since=now - timedelta(days=mailbox_days),
    )
    _create_logins(application.uow, now=now)
    with application.read_session() as session:
        mailbox = dict(
            session.execute(select(MailboxRow.channel, func.count()).group_by(MailboxRow.channel)).all()
        )
    kpis = kpi_summary(application)
    settle(application)
    result = {
        "database_url": application.engine.url.render_as_string(),
        "seed": seed,
        "generated": shop.counts,
        "outcomes": dict(shop.outcomes),
        "disruption": {
            "carrier": shop.disruption.carrier,
            "region": shop.disruption.region,
            "start": shop.disruption.start,
            "end": shop.disruption.end,
            "reason": shop.disruption.reason,
        },
        "replay": replay_json(report, sink),
        "mailbox": {str(channel): int(count) for channel, count in mailbox.items()},
        "kpis": kpis,
        "logins": {role.value: name for role, (name, _) in DEMO_USERS.items()},
        "password": DEMO_PASSWORD,
        "seconds": round(time.perf_counter() - started, 2),
    }
    if as_json:
        print_json(result)
    else:
        _print_summary(kpis["overall"], commands=report.commands, seconds=result["seconds"])
    if serve:
        from orderwatch.entrypoints.cli.serve import run_server

        run_server(build_app(settings))


def _create_logins(uow_factory: Callable[[], SqlAlchemyUnitOfWork], *, now: datetime) -> None:
    password_hash = hash_password(DEMO_PASSWORD)
    with uow_factory() as uow:
        users = SqlUsers(uow.session)
        for role, (username, name) in DEMO_USERS.items():
            if users.find_by_username(username) is None:
                users.create(
                    username=username,
                    password_hash=password_hash,
                    role=role.value,
                    now=now,
                    display_name=name,
                    language="zh_CN",
                )
        uow.commit()


def _print_summary(overall: dict[str, Any], *, commands: int, seconds: object) -> None:
    def percent(value: float | None) -> str:
        return "no data" if value is None else f"{value:.1%}"

    console.print(
        f"[bold]Demo shop ready[/bold] in {seconds} s: {commands:,} commands replayed; "
        f"delay rate {percent(overall['delay_rate'])}, satisfaction {percent(overall['satisfaction'])}"
    )
    console.print(f"Logins (password [bold]{DEMO_PASSWORD}[/bold]):")
    for role, (username, name) in DEMO_USERS.items():
        console.print(f"  {username:10} {role.value:16} {name}")
