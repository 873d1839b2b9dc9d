"""Every status the staff pages show, with its label and colour, in one place (D1, D13).

Modelled on netbox ``dcim/choices.py``: a choice is ``(value, label, colour)``. Labels are
English msgids marked with :func:`~orderwatch.i18n.N_` and translated when rendered; colours
name a badge style in ``static/app.css`` (each checked for WCAG AA contrast there). A value
without an entry (a status added later) still renders, as its raw value in grey.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from orderwatch.domain.orders import OrderMilestone, OrderStatus
from orderwatch.domain.roles import Role
from orderwatch.domain.shipments import ShipmentStatus
from orderwatch.i18n import N_

GREY, BLUE, GREEN, AMBER, RED, PURPLE = "grey", "blue", "green", "amber", "red", "purple"


@dataclass(frozen=True, slots=True)
class Choice:
    value: str
    label: str  # an English msgid
    colour: str = GREY


def _choices(*items: tuple[str, str, str]) -> Mapping[str, Choice]:
    return {value: Choice(value, label, colour) for value, label, colour in items}


ORDER_STATUS = _choices(
    (OrderStatus.placed, N_("Placed"), GREY),
    (OrderStatus.approved, N_("Approved"), GREY),
    (OrderStatus.invoiced, N_("Invoiced"), BLUE),
    (OrderStatus.processing, N_("Processing"), BLUE),
    (OrderStatus.shipped, N_("Shipped"), BLUE),
    (OrderStatus.partially_delivered, N_("Partially delivered"), AMBER),
    (OrderStatus.delivered, N_("Delivered"), GREEN),
    (OrderStatus.undeliverable, N_("Undeliverable"), RED),
    (OrderStatus.canceled, N_("Canceled"), GREY),
    (OrderStatus.unavailable, N_("Unavailable"), PURPLE),
)

SHIPMENT_STATUS = _choices(
    (ShipmentStatus.created, N_("Label created"), GREY),
    (ShipmentStatus.picked_up, N_("Picked up"), BLUE),
    (ShipmentStatus.in_transit, N_("In transit"), BLUE),
    (ShipmentStatus.customs_hold, N_("Customs hold"), AMBER),
    (ShipmentStatus.out_for_delivery, N_("Out for delivery"), BLUE),
    (ShipmentStatus.available_for_pickup, N_("Ready for pickup"), BLUE),
    (ShipmentStatus.delivery_failed, N_("Delivery failed"), AMBER),
    (ShipmentStatus.delivered, N_("Delivered"), GREEN),
    (ShipmentStatus.exception, N_("Exception"), AMBER),
    (ShipmentStatus.returning, N_("Returning to sender"), PURPLE),
    (ShipmentStatus.returned, N_("Returned to sender"), PURPLE),
    (ShipmentStatus.refused, N_("Refused"), RED),
    (ShipmentStatus.lost, N_("Lost"), RED),
    (ShipmentStatus.damaged, N_("Damaged"), RED),
    (ShipmentStatus.stale, N_("No recent scan"), AMBER),
    (ShipmentStatus.unknown, N_("Unrecognized scan"), GREY),
)

MILESTONE = _choices(
    (OrderMilestone.placed, N_("Order placed"), GREY),
    (OrderMilestone.approved, N_("Payment approved"), GREY),
    (OrderMilestone.invoiced, N_("Invoiced"), BLUE),
    (OrderMilestone.processing, N_("Processing"), BLUE),
    (OrderMilestone.canceled, N_("Canceled"), GREY),
    (OrderMilestone.unavailable, N_("Unavailable"), PURPLE),
)

# Values are the ``lateness`` filter of ``adapters/db/queries.py``.
LATENESS = _choices(
    ("late", N_("Delivered late"), RED),
    ("on_time", N_("Delivered on time"), GREEN),
    ("overdue", N_("Overdue"), AMBER),
)

# Values are the ``attention`` filter of ``adapters/db/queries.py`` (the overview's counts).
ATTENTION = _choices(
    ("at_risk", N_("At risk"), AMBER),
    ("overdue", N_("Overdue"), AMBER),
    ("stalled", N_("Stalled in transit"), AMBER),
    ("exception", N_("Carrier exception"), RED),
    ("undeliverable", N_("Not delivered"), RED),
)

ROLE = _choices(
    (Role.admin, N_("Administrator"), PURPLE),
    (Role.leadership, N_("Leadership group"), BLUE),
    (Role.cs_agent, N_("Customer service agent"), GREEN),
    (Role.logistics_agent, N_("Logistics agent"), AMBER),
    (Role.supply_chain, N_("Supply-chain manager"), GREY),
)

ALL_CHOICE_SETS: tuple[Mapping[str, Choice], ...] = (
    ORDER_STATUS, SHIPMENT_STATUS, MILESTONE, LATENESS, ATTENTION, ROLE,
)


def choice(choices: Mapping[str, Choice], value: str | None) -> Choice:
    """The entry for ``value``, or a grey placeholder showing the raw value."""
    if value is None:
        return Choice("", "—")
    return choices.get(value) or Choice(value, value)
