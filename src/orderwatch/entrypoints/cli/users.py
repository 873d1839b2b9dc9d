"""`orderwatch users`: manage staff logins and roles (D13).

Each command is one transaction on the ``users`` table (adapters/db/users.py). Roles are the
names of :class:`orderwatch.domain.roles.Role`; what each may do is ``ROLE_PERMISSIONS``.
Passwords are prompted for (hidden, twice) unless ``--password`` is given for scripts.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime

import typer
from rich.table import Table
from sqlalchemy.exc import OperationalError, ProgrammingError

from orderwatch.adapters.db.users import SqlUsers, UserRecord
from orderwatch.adapters.security.passwords import check_password_strength, hash_password
from orderwatch.domain.errors import Conflict, NotFound, ValidationFailed
from orderwatch.domain.roles import ROLE_PERMISSIONS, Role
from orderwatch.entrypoints.cli.common import console, fail, make_app, print_json

app = typer.Typer(help="Manage staff logins and roles.", no_args_is_help=True)

DatabaseUrl = typer.Option(None, "--database-url", help="Overrides ORDERWATCH_DATABASE_URL")
ROLE_HELP = "One of: " + ", ".join(Role)


@contextmanager
def _users(database_url: str | None) -> Iterator[tuple[SqlUsers, datetime]]:
    """Accounts and the time, in one committed transaction; known errors exit 2 with a message."""
    application = make_app(database_url)
    try:
        with application.session_factory() as session, session.begin():
            yield SqlUsers(session), application.clock.now()
    except (ValidationFailed, Conflict, NotFound, ValueError) as error:
        fail(str(error))
    except (OperationalError, ProgrammingError) as error:
        # The usual cause is a fresh install: the tables do not exist yet.
        fail(f"database not ready ({type(error).__name__}); run `orderwatch db upgrade` first")
    finally:
        application.engine.dispose()


def _new_password(password: str | None) -> str:
    if password is None:
        password = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    try:
        check_password_strength(password)
    except ValueError as error:
        fail(str(error))
    return password


def _show(user: UserRecord, what: str) -> None:
    state = "active" if user.is_active else "inactive"
    console.print(f"{what} [bold]{user.username}[/bold] ({user.role}, {user.language}, {state})")


@app.command("create")
def create(
    username: str = typer.Argument(..., help="Login name (letters, digits, . _ -)"),
    role: str = typer.Option(..., "--role", help=ROLE_HELP),
    password: str | None = typer.Option(None, "--password", help="Prompted for when omitted"),
    name: str | None = typer.Option(None, "--name", help="Display name (default: the username)"),
    email: str | None = typer.Option(None, "--email"),
    language: str = typer.Option("zh_CN", "--language", help="Page language: zh_CN or en"),
    database_url: str | None = DatabaseUrl,
) -> None:
    """Create a staff login with ROLE."""
    secret = _new_password(password)
    with _users(database_url) as (users, now):
        user = users.create(
            username=username, password_hash=hash_password(secret), role=role,
            now=now, display_name=name, email=email, language=language,
        )
    _show(user, "created")


@app.command("list")
def list_users(
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object"),
    database_url: str | None = DatabaseUrl,
) -> None:
    """List staff logins with their role, language and state."""
    with _users(database_url) as (users, _now):
        records = users.list()
    if as_json:
        print_json(
            {"users": [
                {"username": u.username, "name": u.display_name, "role": u.role,
                 "language": u.language, "active": u.is_active, "created_at": u.created_at}
                for u in records
            ]}
        )
        return
    table = Table("username", "name", "role", "permissions", "language", "active")
    for u in records:
        known = u.role in Role.__members__
        permissions = len(ROLE_PERMISSIONS[Role(u.role)]) if known else 0
        active = "yes" if u.is_active else "no"
        table.add_row(u.username, u.display_name, u.role, str(permissions), u.language, active)
    console.print(table)


@app.command("set-role")
def set_role(
    username: str = typer.Argument(...),
    role: str = typer.Argument(..., help=ROLE_HELP),
    database_url: str | None = DatabaseUrl,
) -> None:
    """Give USERNAME another ROLE (takes effect on their next page)."""
    with _users(database_url) as (users, _now):
        user = users.set_role(username, role)
    _show(user, "updated")


@app.command("set-password")
def set_password(
    username: str = typer.Argument(...),
    password: str | None = typer.Option(None, "--password", help="Prompted for when omitted"),
    database_url: str | None = DatabaseUrl,
) -> None:
    """Set a new password for USERNAME."""
    secret = _new_password(password)
    with _users(database_url) as (users, _now):
        user = users.set_password_hash(username, hash_password(secret))
    _show(user, "new password for")


@app.command("deactivate")
def deactivate(username: str = typer.Argument(...), database_url: str | None = DatabaseUrl) -> None:
    """Stop USERNAME from signing in; their open sessions end on their next page."""
    with _users(database_url) as (users, _now):
        user = users.set_active(username, is_active=False)
    _show(user, "deactivated")


@app.command("activate")
def activate(username: str = typer.Argument(...), database_url: str | None = DatabaseUrl) -> None:
    """Allow a deactivated USERNAME to sign in again."""
    with _users(database_url) as (users, _now):
        user = users.set_active(username, is_active=True)
    _show(user, "activated")
