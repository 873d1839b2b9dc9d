"""``/api/v1/shipments`` (D1): create or update a shipment of a known order.

(carrier, tracking number) identify a shipment; posting it again updates its lane and promise.
"""

from __future__ import annotations

from fastapi import APIRouter, Response

from orderwatch.entrypoints.api.auth import ShipmentsWrite
from orderwatch.entrypoints.api.deps import AppDep
from orderwatch.entrypoints.api.idempotency import IdempotentRoute
from orderwatch.entrypoints.api.rendering import ERROR_RESPONSES, item_response
from orderwatch.entrypoints.api.schemas import ItemResultOut, ShipmentIn
from orderwatch.services.ingest import ingest_shipments

router = APIRouter(route_class=IdempotentRoute, responses=ERROR_RESPONSES)


@router.post("", response_model=ItemResultOut, summary="Create or update one shipment")
def post_shipment(shipment: ShipmentIn, application: AppDep, _: ShipmentsWrite) -> Response:
    """An unknown ``order_ref`` is rejected (422) and kept in the rejected items."""
    (outcome,) = ingest_shipments(application.uow(), [shipment.to_command()], clock=application.clock)
    return item_response(ItemResultOut.from_outcome(outcome, index=0))
