"""Staff sign-in, sessions, CSRF and login throttling (D13), on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import urlencode

import pytest

from orderwatch.adapters.db.users import SqlUsers
from orderwatch.bootstrap import App
from orderwatch.entrypoints.web.security import SESSION_COOKIE, safe_next
from tests.e2e.web.conftest import PASSWORD, TestClient, add_user, csrf_of, sign_in


def test_sign_in_goes_to_next_and_shows_name_and_role(app: App, client: TestClient) -> None:
    add_user(app, "ana", "cs_agent", display_name="Ana Lima")

    response = sign_in(client, "ana", next_path="/orders?status=shipped")

    assert response.status_code == 303
    assert response.headers["location"] == "/orders?status=shipped"
    page = client.get("/")
    assert page.status_code == 200
    assert "Ana Lima" in page.text
    assert "Customer service agent" in page.text


def test_username_is_case_insensitive(app: App, client: TestClient) -> None:
    add_user(app, "ana", "cs_agent")

    assert sign_in(client, "  ANA ").status_code == 303


@pytest.mark.parametrize(
    ("username", "password"),
    [("ana", "wrong password!"), ("nobody", PASSWORD), ("ana", "")],
    ids=["wrong_password_case", "unknown_user_case", "empty_password_case"],
)
def test_failed_sign_in_is_401_with_one_message_and_no_session(
    app: App, client: TestClient, username: str, password: str
) -> None:
    add_user(app, "ana", "cs_agent")

    response = sign_in(client, username, password)

    assert response.status_code == 401
    assert "用户名或密码错误。" in response.text  # default language before sign-in: zh_CN
    assert client.get("/").status_code == 303  # still signed out


def test_deactivated_user_cannot_sign_in_and_open_session_ends(app: App, client: TestClient) -> None:
    add_user(app, "ana", "cs_agent")
    assert sign_in(client, "ana").status_code == 303
    with app.session_factory() as session, session.begin():
        SqlUsers(session).set_active("ana", is_active=False)

    assert client.get("/orders").status_code == 303
    response = sign_in(client, "ana")
    assert response.status_code == 401
    assert "Wrong username or password." in response.text  # the session kept her language


def test_ten_failures_block_the_username_even_with_the_right_password(sqlite_app: App, client_for) -> None:
    client = client_for(sqlite_app)
    add_user(sqlite_app, "ana", "cs_agent")
    for _ in range(10):
        assert sign_in(client, "ana", "wrong password!").status_code == 401

    blocked = sign_in(client, "ana")

    assert blocked.status_code == 429
    assert "登录失败次数过多" in blocked.text
    assert client.get("/").status_code == 303
    sqlite_app.clock.advance(timedelta(minutes=5))  # type: ignore[attr-defined]
    assert sign_in(client, "ana").status_code == 303


def test_throttle_of_one_user_leaves_others_alone(sqlite_app: App, client_for) -> None:
    client = client_for(sqlite_app)
    add_user(sqlite_app, "ana", "cs_agent")
    add_user(sqlite_app, "bea", "cs_agent")
    for _ in range(10):
        sign_in(client, "ana", "wrong password!")

    assert sign_in(client, "bea").status_code == 303


def test_many_usernames_from_one_address_are_throttled(sqlite_app: App, client_for) -> None:
    client = client_for(sqlite_app)
    add_user(sqlite_app, "ana", "cs_agent")
    for n in range(30):
        assert sign_in(client, f"guess-{n}", "123456789012").status_code == 401

    assert sign_in(client, "ana").status_code == 429


def test_sign_out_ends_the_session(app: App, client: TestClient) -> None:
    add_user(app, "ana", "cs_agent")
    sign_in(client, "ana")
    token = csrf_of(client.get("/").text)

    response = client.post("/logout", data={"csrf_token": token})

    assert response.status_code == 303
    assert response.headers["location"] == "/login"
    assert client.get("/").status_code == 303


def test_sign_out_is_post_only(sqlite_app: App, client_for) -> None:
    client = client_for(sqlite_app)
    add_user(sqlite_app, "ana", "cs_agent")
    sign_in(client, "ana")

    assert client.get("/logout").status_code == 405
    assert client.get("/").status_code == 200


@pytest.mark.parametrize(
    ("path", "data"),
    [
        ("/logout", {}),
        ("/language", {"language": "zh_CN"}),
        ("/login", {"username": "ana", "password": PASSWORD}),
    ],
    ids=["logout_case", "language_case", "login_case"],
)
def test_post_without_csrf_token_is_403_and_changes_nothing(
    sqlite_app: App, client_for, path: str, data: dict[str, str]
) -> None:
    client = client_for(sqlite_app)
    add_user(sqlite_app, "ana", "cs_agent")
    sign_in(client, "ana")

    response = client.post(path, data=data)

    assert response.status_code == 403
    assert "The form expired or was sent from another site" in response.text
    page = client.get("/")
    assert page.status_code == 200  # still signed in
    assert '<html lang="en">' in page.text  # language unchanged


def test_wrong_csrf_token_is_403(sqlite_app: App, client_for) -> None:
    client = client_for(sqlite_app)
    add_user(sqlite_app, "ana", "cs_agent")
    sign_in(client, "ana")

    assert client.post("/logout", data={"csrf_token": "forged"}).status_code == 403
    assert client.get("/").status_code == 200


def test_htmx_header_token_is_accepted(sqlite_app: App, client_for) -> None:
    client = client_for(sqlite_app)
    add_user(sqlite_app, "ana", "cs_agent")
    sign_in(client, "ana")
    token = csrf_of(client.get("/").text)

    response = client.post("/logout", headers={"X-CSRF-Token": token, "HX-Request": "true"})

    assert response.status_code == 303
    assert client.get("/").status_code == 303


def test_csrf_token_is_in_every_form_and_the_htmx_header(sqlite_app: App, client_for) -> None:
    client = client_for(sqlite_app)
    add_user(sqlite_app, "ana", "cs_agent")
    sign_in(client, "ana")

    page = client.get("/orders").text
    token = csrf_of(page)

    assert page.count("<form") == page.count('name="csrf_token"') + 1  # the GET filter form needs none
    assert f'hx-headers=\'{{"X-CSRF-Token": "{token}"}}\'' in page


@pytest.mark.parametrize(
    "path", ["/", "/orders", "/orders?status=shipped&q=abc", "/orders/some-order"],
    ids=["home_case", "list_case", "query_case", "detail_case"],
)
def test_pages_redirect_to_login_with_next(sqlite_app: App, client_for, path: str) -> None:
    client = client_for(sqlite_app)

    response = client.get(path)

    assert response.status_code == 303
    expected = "/login" if path == "/" else "/login?" + urlencode({"next": path})
    assert response.headers["location"] == expected


def test_htmx_request_without_session_gets_hx_redirect(sqlite_app: App, client_for) -> None:
    client = client_for(sqlite_app)

    response = client.get("/orders?status=shipped", headers={"HX-Request": "true"})

    assert response.status_code == 204
    assert response.headers["HX-Redirect"] == "/login?next=%2Forders%3Fstatus%3Dshipped"


def test_login_page_of_signed_in_user_redirects_to_next(sqlite_app: App, client_for) -> None:
    client = client_for(sqlite_app)
    add_user(sqlite_app, "ana", "cs_agent")
    sign_in(client, "ana")

    response = client.get("/login?next=/orders")

    assert response.status_code == 303
    assert response.headers["location"] == "/orders"


def test_offsite_next_after_sign_in_goes_home(sqlite_app: App, client_for) -> None:
    client = client_for(sqlite_app)
    add_user(sqlite_app, "ana", "cs_agent")

    response = sign_in(client, "ana", next_path="https://evil.example/")

    assert response.headers["location"] == "/"


@pytest.mark.parametrize(
    ("target", "expected"),
    [
        ("/orders?status=shipped", "/orders?status=shipped"),
        ("/", "/"),
        (None, "/"),
        ("", "/"),
        ("https://evil.example/", "/"),
        ("//evil.example/", "/"),
        ("/\\evil.example", "/"),
        ("javascript:alert(1)", "/"),
        ("orders", "/"),
        ("/orders\r\nSet-Cookie: x=1", "/"),
    ],
    ids=["path_case", "root_case", "none_case", "empty_case", "absolute_case", "scheme_relative_case",
         "backslash_case", "javascript_case", "relative_case", "header_injection_case"],
)
def test_safe_next_only_allows_local_paths(target: str | None, expected: str) -> None:
    assert safe_next(target) == expected


def test_session_cookie_is_http_only_and_lax(sqlite_app: App, client_for) -> None:
    client = client_for(sqlite_app)
    add_user(sqlite_app, "ana", "cs_agent")

    response = sign_in(client, "ana")

    cookie = response.headers["set-cookie"]
    assert cookie.startswith(f"{SESSION_COOKIE}=")
    assert "httponly" in cookie.lower()
    assert "samesite=lax" in cookie.lower()


def test_pages_send_security_headers(sqlite_app: App, client_for) -> None:
    client = client_for(sqlite_app)

    page = client.get("/login")

    assert page.headers["Cache-Control"] == "no-store"
    assert "frame-ancestors 'none'" in page.headers["Content-Security-Policy"]
    assert page.headers["X-Content-Type-Options"] == "nosniff"
