"""The cause taxonomy of undelivered and late orders (U1), seeded from karrio's incident reasons.

Each cause carries the *party at fault* (ANCHORS §2.2): the remedy policy (D5) and carrier
claims (U6) depend on it, and no existing system exposes it.
"""

from __future__ import annotations

from enum import StrEnum


class Party(StrEnum):
    """Who is responsible for a cause."""

    carrier = "carrier"
    retailer = "retailer"
    consignee = "consignee"
    customs = "customs"
    force_majeure = "force_majeure"


class Cause(StrEnum):
    """Why an order is late or undelivered (U1, extended with refused/customs/weather)."""

    logistics_delay = "logistics_delay"
    wrong_address = "wrong_address"
    lost_parcel = "lost_parcel"
    damaged_parcel = "damaged_parcel"
    system_failure = "system_failure"
    supplier_delay = "supplier_delay"
    refused = "refused"
    customs = "customs"
    weather = "weather"
    recipient_unreachable = "recipient_unreachable"
    unknown = "unknown"


PARTY_AT_FAULT: dict[Cause, Party | None] = {
    Cause.logistics_delay: Party.carrier,
    Cause.wrong_address: Party.consignee,
    Cause.lost_parcel: Party.carrier,
    Cause.damaged_parcel: Party.carrier,
    Cause.system_failure: Party.retailer,
    Cause.supplier_delay: Party.retailer,
    Cause.refused: Party.consignee,
    Cause.customs: Party.customs,
    Cause.weather: Party.force_majeure,
    Cause.recipient_unreachable: Party.consignee,
    Cause.unknown: None,
}
