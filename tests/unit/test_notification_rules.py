"""Notification rules (issue 6): which event sends what on which channel; quiet hours; no churn; limits."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from orderwatch.domain.notifications import (
    Channel,
    History,
    NotificationEvent,
    NotificationPolicy,
    QuietHours,
    Recipient,
    Suppression,
    parse_rules,
    plan,
    subscribed,
    triggers_for,
)
from orderwatch.domain.types import Language

NOON_SP = datetime(2018, 3, 1, 15, 0, tzinfo=UTC)  # 12:00 in São Paulo (UTC-3)
CUSTOMER = Recipient(7, "ana@example.com", "+5511999990000", Language.pt_BR)
POLICY = NotificationPolicy()


@pytest.mark.parametrize(
    ("topic", "payload", "events"),
    [
        ("order.status_changed", {"order_id": 1, "status": "approved"}, ["order_confirmed"]),
        ("order.status_changed", {"order_id": 1, "status": "invoiced"}, []),
        ("shipment.status_changed", {"order_id": 1, "status": "picked_up"}, ["shipped"]),
        ("shipment.status_changed", {"order_id": 1, "status": "in_transit"}, ["shipped"]),
        ("shipment.status_changed", {"order_id": 1, "status": "out_for_delivery"}, ["out_for_delivery"]),
        (
            "shipment.status_changed",
            {"order_id": 1, "status": "delivered"},
            ["delivered", "feedback_request"],
        ),
        ("shipment.status_changed", {"order_id": 1, "status": "customs_hold"}, []),
        ("risk.flag_raised", {"order_id": 1, "kind": "stalled"}, ["delay_risk"]),
        ("risk.flag_raised", {"order_id": 1, "kind": "promise_passed"}, ["delay_confirmed"]),
        ("incident.reported", {"order_ref": "o-1", "incident": "INC-1"}, ["incident_opened"]),
        ("incident.start_resolution", {"order_ref": "o-1"}, ["incident_updated"]),
        (
            "incident.resolve",
            {"order_ref": "o-1", "to_status": "resolved"},
            ["incident_resolved", "feedback_request"],
        ),
        ("incident.remedy_offered", {"order_ref": "o-1", "remedy": "refund"}, []),  # staff only
        ("remedy.offered", {"order_ref": "o-1", "offer_id": 3, "remedy": "coupon"}, ["remedy_offered"]),
        ("remedy.accepted", {"order_ref": "o-1", "offer_id": 3}, ["remedy_accepted"]),
        ("remedy.declined", {"order_ref": "o-1", "offer_id": 3}, ["remedy_declined"]),
        ("remedy.expired", {"order_ref": "o-1", "offer_id": 3, "remedy": "coupon"}, ["remedy_expired"]),
        ("incident.assign", {"order_ref": "o-1"}, []),
        ("incident.escalated", {"order_ref": "o-1"}, []),
        ("customer.incident_message", {"order_ref": "o-1", "template": "delay_apology"}, ["delay_confirmed"]),
        ("customer.incident_message", {"order_ref": "o-1", "template": "delay_update"}, ["incident_updated"]),
        ("customer.incident_message", {"order_ref": "o-1", "template": "reship_offer"}, ["remedy_offered"]),
        ("customer.incident_message", {"order_ref": "o-1", "template": "unknown"}, []),
        ("unrelated.topic", {"order_id": 1}, []),
    ],
    ids=lambda value: value if isinstance(value, str) else None,
)
def test_rules_table_case(topic: str, payload: dict[str, object], events: list[str]) -> None:
    triggers = triggers_for(topic, payload, key="k1")

    assert [t.event.value for t in triggers] == events


def test_shipped_is_one_state_entry_per_order_whichever_scan_comes_first() -> None:
    first = triggers_for("shipment.status_changed", {"order_id": 5, "status": "picked_up"}, key="a")
    second = triggers_for("shipment.status_changed", {"order_id": 5, "status": "in_transit"}, key="b")

    assert first[0].entry_key == second[0].entry_key == "shipped:order:5"


def test_feedback_request_waits_the_configured_delay() -> None:
    triggers = triggers_for(
        "shipment.status_changed",
        {"order_id": 5, "status": "delivered"},
        key="a",
        feedback_delay=timedelta(hours=24),
    )
    intents = plan(triggers[1], CUSTOMER, POLICY, History(), now=NOON_SP)

    assert [(i.channel, i.send_at) for i in intents] == [(Channel.email, NOON_SP + timedelta(hours=24))]


def test_default_channels_language_and_keys() -> None:
    trigger = triggers_for(
        "shipment.status_changed", {"order_id": 3, "status": "out_for_delivery"}, key="s:3"
    )[0]

    intents = plan(trigger, CUSTOMER, POLICY, History(), now=NOON_SP)

    assert [(i.channel, i.recipient, i.language, i.idempotency_key, i.suppressed) for i in intents] == [
        (Channel.email, "ana@example.com", Language.pt_BR, "out_for_delivery:s:3:email", None),
        (Channel.sms, "+5511999990000", Language.pt_BR, "out_for_delivery:s:3:sms", None),
    ]


def test_customer_channel_preference_narrows_the_shop_rules() -> None:
    trigger = triggers_for("shipment.status_changed", {"order_id": 3, "status": "out_for_delivery"}, key="k")[
        0
    ]
    email_only = Recipient(7, "ana@example.com", "+5511999990000", Language.en, frozenset({Channel.email}))

    assert [i.channel for i in plan(trigger, email_only, POLICY, History(), now=NOON_SP)] == [Channel.email]


def test_missing_contact_is_kept_as_suppressed() -> None:
    trigger = triggers_for("risk.flag_raised", {"order_id": 3, "kind": "promise_passed"}, key="k")[0]
    no_phone = Recipient(7, "ana@example.com", None, Language.en)

    intents = plan(trigger, no_phone, POLICY, History(), now=NOON_SP)

    assert [(i.channel, i.suppressed) for i in intents] == [
        (Channel.email, None),
        (Channel.sms, Suppression.no_contact),
    ]


@pytest.mark.parametrize(
    ("local_day", "local_time", "expected_local"),
    [
        (1, time(22, 30), "2018-03-02T08:00"),  # evening: wait for the morning
        (2, time(3, 0), "2018-03-02T08:00"),  # after midnight: the same morning
        (2, time(8, 0), None),  # the window has ended
        (1, time(20, 59), None),
    ],
)
def test_quiet_hours_case(local_day: int, local_time: time, expected_local: str | None) -> None:
    zone = ZoneInfo("America/Sao_Paulo")
    quiet = QuietHours(time(21, 0), time(8, 0), "America/Sao_Paulo")
    now = datetime.combine(date(2018, 3, local_day), local_time, tzinfo=zone).astimezone(UTC)

    released = quiet.release_time(now, Channel.sms)

    assert released.tzinfo is UTC
    if expected_local is None:
        assert released == now
    else:
        assert released.astimezone(zone).strftime("%Y-%m-%dT%H:%M") == expected_local
    assert quiet.release_time(now, Channel.email) == now  # e-mail does not wake anyone


def test_rate_limit_suppresses_beyond_the_daily_budget() -> None:
    trigger = triggers_for("shipment.status_changed", {"order_id": 3, "status": "out_for_delivery"}, key="k")[
        0
    ]
    policy = NotificationPolicy(max_per_customer_per_day=6)

    intents = plan(trigger, CUSTOMER, policy, History(sent_last_day=5), now=NOON_SP)

    assert [(i.channel, i.suppressed) for i in intents] == [
        (Channel.email, None),
        (Channel.sms, Suppression.rate_limited),
    ]


@pytest.mark.parametrize(
    ("previous_hours", "new_hours", "suppressed"),
    [
        (None, 48, None),  # first delay message
        (48, 54, Suppression.no_change),  # moved 6 h < 12 h minimum
        (48, 60, None),  # moved 12 h
        (48, 30, None),  # moved earlier by 18 h
    ],
)
def test_delay_messages_need_a_minimum_change_case(
    previous_hours: int | None, new_hours: int, suppressed: Suppression | None
) -> None:
    new = NOON_SP + timedelta(hours=new_hours)
    previous = NOON_SP + timedelta(hours=previous_hours) if previous_hours is not None else None
    trigger = triggers_for(
        "risk.flag_raised", {"order_id": 3, "kind": "stalled", "expected_at": new.isoformat()}, key="k"
    )[0]

    intents = plan(trigger, CUSTOMER, POLICY, History(last_expected_at=previous), now=NOON_SP)

    assert [i.suppressed for i in intents] == [suppressed]


def test_shop_rules_override_defaults_and_name_bad_input() -> None:
    rules = parse_rules({"delivered": ["email", "sms"], "shipped": []})

    assert rules[NotificationEvent.delivered] == {Channel.email, Channel.sms}
    assert rules[NotificationEvent.shipped] == frozenset()
    with pytest.raises(ValueError, match="unknown event 'teleported'"):
        parse_rules({"teleported": ["email"]})
    with pytest.raises(ValueError, match="event 'delivered' has an unknown channel"):
        parse_rules({"delivered": ["pigeon"]})


def test_webhook_subscriptions() -> None:
    assert subscribed("*", NotificationEvent.delivered)
    assert subscribed("shipped, delivered", NotificationEvent.delivered)
    assert not subscribed("shipped", NotificationEvent.delivered)


def test_bulk_reship_offer_names_the_remedy() -> None:
    trigger = triggers_for(
        "customer.incident_message",
        {"order_ref": "o-1", "template": "reship_offer"},
        key="MAJ-1:INC-2:reship_offer",
    )[0]

    assert trigger.facts["remedy"] == "reshipment"
    assert trigger.entry_key == "remedy_offered:MAJ-1:INC-2:reship_offer"
