"""Staff accounts (D13): Argon2 password hashing, the users table, `orderwatch users` commands."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from orderwatch.adapters.db.users import SqlUsers
from orderwatch.adapters.security.passwords import (
    check_password_strength,
    hash_password,
    needs_rehash,
    verify_password,
)
from orderwatch.bootstrap import App
from orderwatch.domain.errors import Conflict, NotFound, ValidationFailed
from orderwatch.entrypoints.cli.main import app as cli

runner = CliRunner()


def test_password_hash_is_argon2id_salted_and_verifies() -> None:
    first, second = hash_password("long enough secret"), hash_password("long enough secret")

    assert first.startswith("$argon2id$")
    assert first != second  # salted
    assert verify_password(first, "long enough secret") is True
    assert verify_password(first, "long enough secreT") is False
    assert verify_password(None, "long enough secret") is False
    assert verify_password("not a hash", "long enough secret") is False
    assert needs_rehash(first) is False


@pytest.mark.parametrize("password", ["short", " leading space!", "trailing space "],
                         ids=["short_case", "leading_case", "trailing_case"])
def test_weak_passwords_are_refused(password: str) -> None:
    with pytest.raises(ValueError, match="password"):
        check_password_strength(password)


def test_users_create_find_and_change(app: App) -> None:
    now = app.clock.now()
    with app.session_factory() as session, session.begin():
        users = SqlUsers(session)
        created = users.create(username="Ana.Lima", password_hash="h1", role="cs_agent", now=now,
                               display_name="Ana Lima", language="en")
        users.create(username="bo", password_hash="h2", role="admin", now=now)
    with app.session_factory() as session, session.begin():
        users = SqlUsers(session)
        assert users.find_by_username("ANA.LIMA") == created
        assert created.username == "ana.lima"
        assert users.set_role("ana.lima", "leadership").role == "leadership"
        assert users.set_active("ana.lima", is_active=False).is_active is False
        assert users.set_password_hash("ana.lima", "h3").password_hash == "h3"
        users.set_language(created.id, "zh_CN")
    with app.session_factory() as session:
        listed = SqlUsers(session).list()
    assert [(u.username, u.role, u.language, u.is_active) for u in listed] == [
        ("ana.lima", "leadership", "zh_CN", False), ("bo", "admin", "zh_CN", True),
    ]
    assert "h3" not in repr(listed[0])


def test_users_refuse_bad_input(app: App) -> None:
    now = app.clock.now()
    with app.session_factory() as session, session.begin():
        users = SqlUsers(session)
        users.create(username="ana", password_hash="h", role="cs_agent", now=now)
        with pytest.raises(Conflict, match="'ana' is taken"):
            users.create(username="ANA", password_hash="h", role="cs_agent", now=now)
        with pytest.raises(ValidationFailed, match="role: must be one of"):
            users.create(username="bo", password_hash="h", role="boss", now=now)
        with pytest.raises(ValidationFailed, match="username"):
            users.create(username="a b", password_hash="h", role="admin", now=now)
        with pytest.raises(ValidationFailed, match="language: must be zh_CN or en"):
            users.create(username="bo", password_hash="h", role="admin", now=now, language="pt_BR")
        with pytest.raises(NotFound):
            users.set_role("nobody", "admin")
        assert users.count() == 1


def _cli(app: App, *args: str, stdin: str | None = None) -> tuple[int, str]:
    result = runner.invoke(cli, [*args, "--database-url", app.settings.resolved_database_url], input=stdin)
    return result.exit_code, result.output


def test_cli_manages_users(app: App) -> None:
    code, out = _cli(app, "users", "create", "ana", "--role", "cs_agent", "--password", "long enough secret",
                     "--name", "Ana Lima", "--language", "en")
    assert (code, "created ana (cs_agent, en, active)" in out) == (0, True)
    assert _cli(app, "users", "set-role", "ana", "logistics_agent")[0] == 0
    assert _cli(app, "users", "set-password", "ana", "--password", "another long secret")[0] == 0
    assert _cli(app, "users", "deactivate", "ana")[0] == 0

    code, out = _cli(app, "users", "list", "--json")

    assert code == 0
    [user] = json.loads(out)["users"]
    assert (user["username"], user["name"], user["role"], user["language"], user["active"]) == (
        "ana", "Ana Lima", "logistics_agent", "en", False,
    )
    with app.session_factory() as session:
        stored = SqlUsers(session).get_by_username("ana")
    assert verify_password(stored.password_hash, "another long secret")


def test_cli_prompts_for_the_password_twice(app: App) -> None:
    typed = "long enough secret\nlong enough secret\n"

    code, _ = _cli(app, "users", "create", "bo", "--role", "admin", stdin=typed)

    assert code == 0
    with app.session_factory() as session:
        stored = SqlUsers(session).get_by_username("bo")
    assert verify_password(stored.password_hash, "long enough secret")
    assert stored.language == "zh_CN"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["users", "create", "ana", "--role", "boss", "--password", "long enough secret"],
         "role: must be one of"),
        (["users", "create", "ana", "--role", "admin", "--password", "short"], "at least 10 characters"),
        (["users", "set-role", "nobody", "admin"], "user 'nobody' not found"),
        (["users", "deactivate", "nobody"], "user 'nobody' not found"),
    ],
    ids=["bad_role_case", "weak_password_case", "unknown_user_case", "deactivate_unknown_case"],
)
def test_cli_errors_exit_2_and_change_nothing(sqlite_app: App, args: list[str], message: str) -> None:
    code, out = _cli(sqlite_app, *args)

    assert code == 2
    assert message in " ".join(out.split())
    with sqlite_app.session_factory() as session:
        assert SqlUsers(session).count() == 0
