"""The KPI overview on the home page (D14, U14, D1): exact figures, gaps, links, roles, cache."""

from __future__ import annotations

import html
import json
import re
import time
from collections.abc import Callable
from datetime import datetime, timedelta

import pytest

from orderwatch.bootstrap import App
from orderwatch.domain.kpis import MonthBasis
from orderwatch.domain.roles import ROLE_PERMISSIONS, Permission, Role
from orderwatch.domain.shipments import ShipmentStatus
from orderwatch.entrypoints.api.app import create_app
from orderwatch.entrypoints.web import overview as overview_module
from orderwatch.entrypoints.web.overview import OverviewCache, shift_month
from tests.conftest import START
from tests.e2e.web.conftest import TestClient
from tests.e2e.web.overview_data import FEBRUARY_MG, FEBRUARY_RJ, SHOP, Spec, at, seed

ORDER_LINK = re.compile(r'<a class="ref" href="/orders/([^"]+)">')
DATA_BLOCK = re.compile(r'<script type="application/json" id="overview-data">(.*?)</script>', re.S)


def chart_data(page: str) -> dict[str, object]:
    match = DATA_BLOCK.search(page)
    assert match is not None, "page has no chart data"
    data: dict[str, object] = json.loads(match.group(1))
    return data


def table_rows(page: str, table_id: str) -> dict[str, list[str]]:
    """``{month: [cell texts]}`` of one of the charts' tables."""
    table = page[page.index(f'id="{table_id}"'):]
    table = table[:table.index("</table>")]
    rows = {}
    for month, body in re.findall(r'<tr data-month="([^"]+)">(.*?)</tr>', table, re.S):
        cells = re.findall(r'<td class="num">(.*?)</td>', body, re.S)
        rows[month] = [re.sub(r"<[^>]+>", "", cell).strip() for cell in cells]
    return rows


def refs(page: str) -> list[str]:
    return sorted(ORDER_LINK.findall(page))


@pytest.fixture
def shop(app: App) -> App:
    seed(app, SHOP)
    return app


def test_monthly_figures_are_exact_and_a_month_without_deliveries_is_a_gap(
    shop: App, signed_in: Callable[..., TestClient]
) -> None:
    client = signed_in("leadership")

    page = client.get("/").text

    series = chart_data(page)["series"]
    assert series == {
        "months": ["2017-12", "2018-01", "2018-02"],
        "partial": [False, False, False],
        "delay_rate": [0.5, None, 13 / 46],
        "delay_rate_by_day": [0.25, None, 13 / 46],
        "satisfaction": [2 / 3, None, 33 / 46],
        "response_rate": [3 / 5, 0.0, 1.0],
    }
    assert table_rows(page, "delay-table") == {
        "2017-12": ["4", "2", "50.0%", "25.0%"],
        "2018-01": ["0", "0", "No data", "No data"],
        "2018-02": ["46", "13", "28.3%", "28.3%"],
    }
    assert table_rows(page, "satisfaction-table") == {
        "2017-12": ["5", "3", "66.7%", "60.0%"],
        "2018-01": ["2", "0", "No data", "0.0%"],
        "2018-02": ["46", "46", "71.7%", "100.0%"],
    }
    assert "Reference month: Feb 2018" in page
    assert "partial month" not in page


def test_reference_month_card_against_the_targets(shop: App, signed_in: Callable[..., TestClient]) -> None:
    client = signed_in("leadership")

    page = client.get("/?month=2017-12").text

    delay = page[page.index('id="kpi-delay"'):page.index('id="kpi-satisfaction"')]
    satisfaction = page[page.index('id="kpi-satisfaction"'):page.index("</dl>")]
    assert '<span class="kpi__value">50.0%</span>' in delay
    assert "by calendar day: 25.0%" in delay
    assert "2 late of 4 delivered" in delay
    assert "Off target" in delay
    assert '<span class="kpi__value">66.7%</span>' in satisfaction
    assert "response rate: 60.0%" in satisfaction
    assert "2 of 3 ratings scored 4–5" in satisfaction
    assert "previous month" not in delay  # November 2017 had no orders at all
    assert chart_data(page)["series"]["months"] == ["2017-12"]  # type: ignore[index]


def test_reference_card_shows_the_previous_month_beside_it(
    shop: App, signed_in: Callable[..., TestClient]
) -> None:
    client = signed_in("leadership")

    page = client.get("/").text

    delay = page[page.index('id="kpi-delay"'):page.index('id="kpi-satisfaction"')]
    assert '<span class="kpi__value">28.3%</span>' in delay
    assert 'previous month: <span class="no-data">No data</span>' in delay  # January: nothing delivered


def test_month_without_deliveries_says_no_data_not_zero(
    shop: App, signed_in: Callable[..., TestClient]
) -> None:
    client = signed_in("leadership")

    page = client.get("/?month=2018-01").text

    delay = page[page.index('id="kpi-delay"'):page.index('id="kpi-satisfaction"')]
    assert '<span class="kpi__value"><span class="no-data">No data</span></span>' in delay
    assert '<span class="badge badge--grey">No data</span>' in delay
    assert ">0.0%<" not in delay


def test_delivery_month_basis_moves_the_january_delivery(
    shop: App, signed_in: Callable[..., TestClient]
) -> None:
    client = signed_in("leadership")

    page = client.get("/?basis=delivery").text

    series = chart_data(page)["series"]
    assert series["months"] == ["2017-12", "2018-01", "2018-02"]  # type: ignore[index]
    assert series["delay_rate"] == [2 / 3, 0.0, 13 / 46]  # type: ignore[index]
    assert '<option value="delivery" selected>' in page


@pytest.mark.parametrize(
    ("query", "message"),
    [("month=2018-13", "Enter the month as YYYY-MM."), ("basis=tomorrow", "Unknown month basis.")],
    ids=["month_case", "basis_case"],
)
def test_bad_parameters_show_the_default_view_with_a_message(
    shop: App, signed_in: Callable[..., TestClient], query: str, message: str
) -> None:
    client = signed_in("leadership")

    response = client.get(f"/?{query}")

    assert response.status_code == 400
    assert message in response.text
    assert chart_data(response.text)["series"]["months"][-1] == "2018-02"  # type: ignore[index]


def test_current_month_is_marked_partial(shop: App, signed_in: Callable[..., TestClient]) -> None:
    # 08:00 on 1 March in São Paulo: the shop's current month has begun.
    seed(shop, [Spec("mar-1", START - timedelta(hours=1), START + timedelta(days=7))])
    client = signed_in("leadership")

    page = client.get("/").text

    series = chart_data(page)["series"]
    assert series["months"][-1] == "2018-03"  # type: ignore[index]
    assert series["partial"] == [False, False, False, True]  # type: ignore[index]
    assert series["delay_rate"][-1] is None  # type: ignore[index]
    assert '<span class="badge badge--amber">partial month</span>' in page


def test_worst_lanes_and_suppliers_respect_the_minimum_volume(
    shop: App, signed_in: Callable[..., TestClient]
) -> None:
    client = signed_in("supply_chain")

    page = html.unescape(client.get("/").text)

    lanes = page[page.index('id="worst-lanes-table"'):]
    lanes = lanes[:lanes.index("</table>")]
    suppliers = page[page.index('id="worst-suppliers-table"'):]
    suppliers = suppliers[:suppliers.index("</table>")]
    assert re.findall(r'class="group-link" href="[^"]+">([^<]+)</a>', lanes) == ["SP → MG", "SP → RJ"]
    assert re.findall(r'class="group-link" href="[^"]+"><span class="ref">([^<]+)</span>', suppliers) == [
        "sup-b", "sup-a",
    ]
    assert re.findall(r'class="late-link" href="[^"]+">(\d+)</a>', lanes) == ["5", "3"]
    assert "25.0%" in lanes
    assert "14.3%" in lanes
    assert "BA" not in lanes  # 100 % late, but 5 deliveries are too few to rank


@pytest.mark.parametrize(
    ("table", "row", "link", "expected"),
    [
        ("worst-lanes", 0, "late-link", sorted(s.ref for s in FEBRUARY_MG[:5])),
        ("worst-lanes", 1, "group-link", sorted(s.ref for s in FEBRUARY_RJ)),
        ("worst-suppliers", 1, "late-link", sorted(s.ref for s in FEBRUARY_RJ[:3])),
    ],
    ids=["lane_late_case", "lane_all_case", "supplier_late_case"],
)
def test_group_links_list_exactly_the_orders_counted(
    shop: App, signed_in: Callable[..., TestClient], monkeypatch: pytest.MonkeyPatch,
    table: str, row: int, link: str, expected: list[str],
) -> None:
    from orderwatch.entrypoints.web.routes import orders as order_routes

    monkeypatch.setattr(order_routes, "PAGE_SIZE", 100)
    client = signed_in("cs_agent")
    page = client.get("/").text
    section = page[page.index(f'id="{table}-table"'):]
    urls = re.findall(rf'class="{link}" href="([^"]+)"', section[:section.index("</table>")])

    listed = client.get(html.unescape(urls[row])).text

    assert refs(listed) == expected
    assert f"{len(expected)} orders match" in listed


def test_lane_link_carries_the_lane_and_the_month(shop: App, signed_in: Callable[..., TestClient]) -> None:
    client = signed_in("cs_agent")

    page = html.unescape(client.get("/").text)

    assert (
        'href="/orders?origin=SP&region=MG&purchased_from=2018-02-01&purchased_until=2018-02-28'
        '&status=delivered&lateness=late"' in page
    )


def days(count: int) -> datetime:
    """``count`` days after the clock's now (negative: before)."""
    return START + timedelta(days=count)


ATTENTION_SHOP = [
    # Open and promised five days ago, scanned yesterday: overdue only.
    Spec("overdue", days(-10), days(-5), last_scan=days(-1)),
    # Promise still ahead, but no scan for 8 days (> 120 h): stalled only.
    Spec("stalled", days(-12), days(20), last_scan=days(-8)),
    Spec("customs", days(-3), days(10), last_status=ShipmentStatus.customs_hold, last_scan=days(-1)),
    # Its only parcel is lost: the order is undeliverable, no longer "open at risk".
    Spec("lost", days(-5), days(10), last_status=ShipmentStatus.lost, last_scan=days(-1)),
    Spec("fine", days(-2), days(10), last_scan=days(-1)),
    Spec("delivered-late", days(-20), days(-15), days(-12)),
]


@pytest.mark.parametrize(
    ("kind", "expected"),
    [
        ("at_risk", ["customs", "overdue", "stalled"]),
        ("overdue", ["overdue"]),
        ("stalled", ["stalled"]),
        ("exception", ["customs"]),
        ("undeliverable", ["lost"]),
    ],
    ids=["at_risk_case", "overdue_case", "stalled_case", "exception_case", "undeliverable_case"],
)
def test_attention_counts_link_to_exactly_those_orders(
    app: App, signed_in: Callable[..., TestClient], kind: str, expected: list[str]
) -> None:
    seed(app, ATTENTION_SHOP)
    client = signed_in("logistics_agent")

    page = client.get("/").text
    count = re.search(
        rf'href="/orders\?attention={kind}" id="count-{kind}">\s*<span class="stat__value">(\d+)</span>', page
    )
    listed = client.get(f"/orders?attention={kind}").text

    assert count is not None
    assert int(count.group(1)) == len(expected)
    assert refs(listed) == expected


def test_attention_filter_combines_with_the_other_filters(
    app: App, signed_in: Callable[..., TestClient]
) -> None:
    seed(app, [*ATTENTION_SHOP, Spec("overdue-mg", at(2018, 2, 10), at(2018, 2, 20), region="MG",
                                     last_scan=START - timedelta(days=1))])
    client = signed_in("cs_agent")

    assert refs(client.get("/orders?attention=overdue").text) == ["overdue", "overdue-mg"]
    assert refs(client.get("/orders?attention=overdue&origin=SP&region=MG").text) == ["overdue-mg"]
    assert refs(client.get("/orders?attention=overdue&origin=RJ").text) == []


def test_unknown_attention_filter_is_400(app: App, signed_in: Callable[..., TestClient]) -> None:
    client = signed_in("cs_agent")

    response = client.get("/orders?attention=doomed")

    assert response.status_code == 400
    assert "Unknown attention filter." in response.text


def test_orders_form_keeps_the_new_filters(app: App, signed_in: Callable[..., TestClient]) -> None:
    client = signed_in("cs_agent")

    page = client.get("/orders?attention=stalled&origin=SP").text

    assert '<option value="stalled" selected>' in page
    assert 'name="origin" type="text" value="SP"' in page


@pytest.mark.parametrize("role", [r.value for r in Role], ids=[f"{r.value}_case" for r in Role])
def test_every_staff_role_sees_the_kpis(shop: App, signed_in: Callable[..., TestClient], role: str) -> None:
    assert Permission.reports_read in ROLE_PERMISSIONS[Role(role)]
    client = signed_in(role)

    page = client.get("/").text

    assert 'id="overview-data"' in page
    assert '<canvas id="delay-chart"' in page
    assert '<canvas id="satisfaction-chart"' in page


def test_role_without_reports_read_sees_counts_but_no_kpis(
    shop: App, signed_in: Callable[..., TestClient], monkeypatch: pytest.MonkeyPatch
) -> None:
    client = signed_in("cs_agent")
    monkeypatch.setitem(ROLE_PERMISSIONS, Role.cs_agent, frozenset({Permission.orders_read}))

    response = client.get("/")

    assert response.status_code == 200
    assert 'id="count-at_risk"' in response.text
    for kpi in ('id="overview-data"', "delay-chart", "Worst lanes", "50.0%", "sup-b"):
        assert kpi not in response.text


def test_empty_shop_says_so(app: App, signed_in: Callable[..., TestClient]) -> None:
    client = signed_in("leadership")

    page = client.get("/").text

    assert "No orders yet: the figures appear with the first orders." in page
    assert 'id="overview-data"' not in page


def test_overview_in_chinese(shop: App, signed_in: Callable[..., TestClient]) -> None:
    client = signed_in("leadership", language="zh_CN")

    page = client.get("/").text

    assert "<h1>总览</h1>" in page
    assert "参考月份：2018年2月" in page
    assert "表现最差的线路" in page
    data = chart_data(page)
    assert data["labels"] == ["2017年12月", "2018年1月", "2018年2月"]
    assert data["locale"] == "zh-CN"
    assert data["text"]["delay_target"] == "目标：低于 5.0%"  # type: ignore[index]


def test_start_up_computes_every_month_basis_in_the_background(shop: App) -> None:
    with TestClient(create_app(shop)) as client:  # entering runs the app's lifespan
        cache = client.app.state.overview_cache  # type: ignore[attr-defined]
        deadline = time.monotonic() + 10
        while len(cache._entries) < len(MonthBasis) and time.monotonic() < deadline:
            time.sleep(0.02)

        kept = {key: overview for key, (_, overview) in cache._entries.items()}

    assert sorted(kept) == [("delivery", None), ("promise", None), ("purchase", None)]
    assert kept[("purchase", None)].reference_month == "2018-02"
    assert [p.month for p in kept[("purchase", None)].months] == ["2017-12", "2018-01", "2018-02"]
    assert kept[("delivery", None)].basis is MonthBasis.delivery


def test_figures_are_computed_once_per_cache_period(
    shop: App, signed_in: Callable[..., TestClient], monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[MonthBasis] = []
    real_build = overview_module.build_overview

    def counting_build(*args: object, **kwargs: object) -> overview_module.Overview:
        calls.append(kwargs["basis"])  # type: ignore[arg-type]
        return real_build(*args, **kwargs)  # type: ignore[arg-type]

    from orderwatch.entrypoints.web.routes import home

    monkeypatch.setattr(home, "build_overview", counting_build)
    client = signed_in("leadership")

    for _ in range(3):
        client.get("/")
    client.get("/?basis=promise")

    assert calls == [MonthBasis.purchase, MonthBasis.promise]


def _overview(month: str | None) -> overview_module.Overview:
    return overview_module.Overview(basis=MonthBasis.purchase, reference_month=month)


def test_stale_overview_is_served_while_one_refresh_runs_behind() -> None:
    cache = OverviewCache(ttl=0)
    results = iter([_overview("2018-01"), _overview("2018-02")])
    built: list[str | None] = []

    def build() -> overview_module.Overview:
        overview = next(results)
        built.append(overview.reference_month)
        return overview

    first = cache.get(("purchase", None), build)
    stale = cache.get(("purchase", None), build)  # expired at once (ttl 0): served, refreshed behind
    deadline = time.monotonic() + 5
    while (built != ["2018-01", "2018-02"] or cache._refreshing) and time.monotonic() < deadline:
        time.sleep(0.01)
    refreshed = cache.get(("purchase", None), lambda: _overview("2018-03"))

    assert (first.reference_month, stale.reference_month) == ("2018-01", "2018-01")
    assert built == ["2018-01", "2018-02"]
    assert refreshed.reference_month == "2018-02"


def test_failed_refresh_keeps_the_older_figures(
    caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Another test's logging.config call may have disabled this module's logger.
    monkeypatch.setattr(overview_module.logger, "disabled", False)
    cache = OverviewCache(ttl=0)
    cache.get(("purchase", None), lambda: _overview("2018-01"))

    def broken() -> overview_module.Overview:
        raise RuntimeError("database went away")

    with caplog.at_level("ERROR", logger=overview_module.logger.name):
        kept = cache.get(("purchase", None), broken)
        deadline = time.monotonic() + 5
        while cache._refreshing and time.monotonic() < deadline:
            time.sleep(0.01)

    assert kept.reference_month == "2018-01"
    assert cache._entries[("purchase", None)][1].reference_month == "2018-01"
    assert "refreshing the overview ('purchase', None) failed" in caplog.text


def test_cache_stays_bounded() -> None:
    cache = OverviewCache(ttl=60, max_entries=2)
    for month in ("2018-01", "2018-02", "2018-03"):
        cache.get(("purchase", month), lambda month=month: _overview(month))  # type: ignore[misc]

    assert sorted(key[1] or "" for key in cache._entries) == ["2018-02", "2018-03"]


@pytest.mark.parametrize(
    ("key", "months", "expected"),
    [
        ("2018-01", -1, "2017-12"), ("2018-12", 1, "2019-01"),
        ("2018-03", -11, "2017-04"), ("2018-03", 0, "2018-03"),
    ],
    ids=["back_over_new_year_case", "forward_over_new_year_case", "a_year_case", "same_case"],
)
def test_shift_month(key: str, months: int, expected: str) -> None:
    assert shift_month(key, months) == expected
