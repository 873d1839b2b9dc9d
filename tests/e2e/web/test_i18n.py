"""Bilingual staff pages (D13, U11): catalogs, the language switch, locale formatting."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

import orderwatch
from orderwatch.adapters.db.users import SqlUsers
from orderwatch.bootstrap import App, build_app
from orderwatch.entrypoints.web import choices
from orderwatch.entrypoints.web.formatting import Formatter
from orderwatch.entrypoints.web.rendering import TEMPLATE_DIR
from orderwatch.i18n import CATALOG_DIR, load_translations
from orderwatch.settings import Settings
from tests.e2e.web.conftest import TestClient, add_user, csrf_of, sign_in


def _template_msgids() -> set[str]:
    found = extract_from_dir(
        str(TEMPLATE_DIR),
        method_map=[("**.html", "jinja2")],
        options_map={"**.html": {"extensions": "jinja2.ext.i18n"}},
    )
    msgids: set[str] = set()
    for _filename, _line, message, _comments, _context in found:
        msgids.add(message[0] if isinstance(message, tuple) else message)
    return msgids


def _choice_msgids() -> set[str]:
    return {entry.label for choice_set in choices.ALL_CHOICE_SETS for entry in choice_set.values()}


def test_templates_use_many_msgids() -> None:
    # Guards the extraction itself: an empty set would make the next test pass vacuously.
    assert len(_template_msgids()) > 80
    assert "Sign in to OrderWatch" in _template_msgids()


def test_every_msgid_has_a_chinese_translation() -> None:
    translations = load_translations("zh_CN")
    catalog = translations._catalog  # the compiled msgid → msgstr table
    singular = {key if isinstance(key, str) else key[0]: value for key, value in catalog.items()}

    missing = sorted(m for m in _template_msgids() | _choice_msgids() if not singular.get(m))

    assert missing == []


def test_english_catalog_lists_the_same_msgids_as_chinese() -> None:
    def ids(language: str) -> set[str]:
        text = (CATALOG_DIR / language / "LC_MESSAGES" / "messages.po").read_text(encoding="utf-8")
        return {line[len('msgid "') : -1] for line in text.splitlines() if line.startswith('msgid "')}

    assert ids("en") == ids("zh_CN")


@pytest.mark.parametrize(
    "path", sorted(CATALOG_DIR.rglob("*.po")), ids=lambda p: f"{p.parent.parent.name}/{p.name}"
)
def test_every_catalog_is_a_valid_po_file(path: Path) -> None:
    # The loader is lenient (an entry without msgstr is dropped with a warning): a merge that
    # glued two entries together would silently lose a translation.
    with path.open("rb") as po_file:
        read_po(po_file, abort_invalid=True)


def test_no_compiled_catalog_is_kept_in_the_source_tree() -> None:
    package = Path(orderwatch.__file__).parent
    assert list(package.rglob("*.mo")) == []


def test_catalogs_compile_in_memory() -> None:
    assert load_translations("zh_CN").gettext("Orders") == "订单"
    assert load_translations("en").gettext("Orders") == "Orders"
    assert load_translations("zh_CN").ngettext("%(num)s order matches", "%(num)s orders match", 3) == (
        "共有 %(num)s 个订单符合条件"
    )


def test_language_switch_renders_chinese_and_is_remembered(app: App, client: TestClient) -> None:
    user = add_user(app, "ana", "cs_agent", language="en")
    sign_in(client, "ana")
    assert '<html lang="en">' in client.get("/orders").text

    token = csrf_of(client.get("/").text)

    response = client.post("/language", data={"language": "zh_CN", "next": "/orders", "csrf_token": token})

    assert response.status_code == 303
    assert response.headers["location"] == "/orders"
    page = client.get("/orders").text
    assert '<html lang="zh-CN">' in page
    assert "<h1>订单</h1>" in page
    assert "订单号或运单号" in page
    with app.session_factory() as session:
        stored = SqlUsers(session).find_by_id(user.id)
    assert stored is not None
    assert stored.language == "zh_CN"


def test_sign_in_uses_the_account_language(app: App, client: TestClient) -> None:
    add_user(app, "li", "logistics_agent", language="zh_CN")

    sign_in(client, "li")

    page = client.get("/").text
    assert '<html lang="zh-CN">' in page
    assert "物流专员" in page  # role label
    assert "退出登录" in page


def test_language_switch_works_before_sign_in(sqlite_app: App, client_for) -> None:
    client = client_for(sqlite_app)
    token = csrf_of(client.get("/login").text)

    client.post("/language", data={"language": "en", "next": "/login", "csrf_token": token})

    assert "Sign in to OrderWatch" in client.get("/login").text


def test_unknown_language_is_ignored(sqlite_app: App, client_for) -> None:
    client = client_for(sqlite_app)
    token = csrf_of(client.get("/login").text)

    response = client.post("/language", data={"language": "xx", "csrf_token": token})

    assert response.status_code == 303
    assert '<html lang="zh-CN">' in client.get("/login").text


@pytest.mark.parametrize(
    ("default", "tag"),
    [("zh_CN", "zh-CN"), ("en", "en"), ("zh-CN", "zh-CN")],
    ids=["chinese_case", "english_case", "hyphen_case"],
)
def test_default_language_comes_from_settings(tmp_path: Path, client_for, default: str, tag: str) -> None:
    settings = Settings(data_dir=tmp_path, environment="test", default_language=default)
    application = build_app(settings)
    try:
        page = client_for(application).get("/login").text
    finally:
        application.engine.dispose()

    assert f'<html lang="{tag}">' in page


def test_dates_and_money_follow_the_locale() -> None:
    moment = datetime(2018, 3, 1, 15, 30, tzinfo=UTC)
    zone = ZoneInfo("America/Sao_Paulo")
    chinese = Formatter(locale="zh_CN", timezone=zone)
    english = Formatter(locale="en", timezone=zone)

    assert chinese.when(moment) == "2018年3月1日 12:30"
    assert english.when(moment) == "Mar 1, 2018, 12:30\u202fPM"
    assert chinese.money(123456, "BRL") == "R$1,234.56"
    assert english.number(1234567) == "1,234,567"
    assert english.when(None) == "—"
