"""Registers the remedy-offer parts of the worker (D5, U6): automatic offers and their expiry.

* outbox consumer ``remedy_offers``: a confirmed delay (``risk.flag_raised`` of kind
  ``promise_passed``) gets the policy's offer when ``ORDERWATCH_AUTO_REMEDY_OFFERS`` is on,
  in the transaction that consumes the event (the offer's key is the event's, so a replayed
  event offers nothing new);
* job ``remedy_offers.expire``: offers past their expiry become ``expired``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from orderwatch.bootstrap import App
from orderwatch.domain.causes import Cause
from orderwatch.domain.notifications import expected_at
from orderwatch.entrypoints.incident_wiring import incident_config
from orderwatch.entrypoints.worker.jobs import Job, register, register_consumer
from orderwatch.services.incidents import IncidentConfig
from orderwatch.services.ports import ClaimedMessage, Clock
from orderwatch.services.remedy_offers import expire_offers, offer_by_policy

CONFIRMED_KIND = "promise_passed"


@dataclass(frozen=True, slots=True)
class AutoOffers:
    """Outbox consumer: the policy's offer for each confirmed delay (when the shop enables it)."""

    uow: Any
    clock: Clock
    config: IncidentConfig
    enabled: bool
    validity: timedelta

    def send(self, message: ClaimedMessage) -> None:
        self.send_many([message])

    def send_many(self, messages: Sequence[ClaimedMessage]) -> int:
        if not self.enabled:
            return 0
        made = 0
        now = self.clock.now()
        for message in messages:
            payload = message.payload
            if message.topic != "risk.flag_raised" or payload.get("kind") != CONFIRMED_KIND:
                continue
            try:
                cause = Cause(payload.get("cause") or Cause.logistics_delay.value)
            except ValueError:
                cause = Cause.unknown
            offer_id = offer_by_policy(
                self.uow,
                order_ref=str(payload.get("order_ref") or ""),
                cause=cause,
                expected_at=expected_at(payload),
                cause_key=f"auto:{message.idempotency_key}",
                config=self.config,
                now=now,
                validity=self.validity,
            )
            made += offer_id is not None
        return made


def auto_offers(app: App, uow: Any) -> AutoOffers:
    settings = app.settings
    return AutoOffers(
        uow,
        app.clock,
        incident_config(settings),
        settings.auto_remedy_offers,
        timedelta(days=settings.remedy_offer_validity_days),
    )


register_consumer("remedy_offers", auto_offers)
register(Job("remedy_offers.expire", timedelta(minutes=15), lambda app: expire_offers(app.uow(), app.clock)))
