"""SQL implementation of ``services.ports.MasterDataStore`` (mission D1: imports).

Suppliers, products, payments, feedback and zip centroids are written as bulk upserts keyed on
their natural identifiers, so an import run twice leaves every table as it was. Rows go out as
one ``INSERT ... ON CONFLICT`` executed over many parameter sets: the statement is compiled
once and cached, SQLite runs the parameter sets in C, and on PostgreSQL SQLAlchemy's
"insertmanyvalues" folds them into multi-row ``VALUES`` batches (a few round trips per chunk).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import Table
from sqlalchemy.orm import Session

from orderwatch.adapters.db.dialect import insert_for
from orderwatch.adapters.db.tables import (
    CarrierRow,
    FeedbackRow,
    PaymentRow,
    ProductRow,
    SupplierRow,
    ZipLocationRow,
    table_of,
)
from orderwatch.services.ports import (
    CarrierDetails,
    FeedbackData,
    PaymentData,
    ProductDetails,
    SupplierDetails,
    ZipLocation,
)

# Rows per executemany call; bounds memory of the parameter list, not correctness.
CHUNK_ROWS = 5_000


class SqlMasterDataStore:
    """Bulk upserts inside the caller's session (the unit of work commits)."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def _upsert(self, table: Table, rows: Sequence[Mapping[str, Any]], *, keys: Sequence[str]) -> int:
        """Insert ``rows``; on a key conflict overwrite every non-key column with the new value."""
        if not rows:
            return 0
        statement = insert_for(self.session, table)
        updates = {name: statement.excluded[name] for name in rows[0] if name not in keys}
        statement = (
            statement.on_conflict_do_update(index_elements=list(keys), set_=updates)
            if updates
            else statement.on_conflict_do_nothing(index_elements=list(keys))
        )
        for start in range(0, len(rows), CHUNK_ROWS):
            self.session.execute(statement, list(rows[start : start + CHUNK_ROWS]))
        return len(rows)

    def upsert_suppliers(self, suppliers: Sequence[SupplierDetails]) -> int:
        latest = {s.ref: s for s in suppliers}
        rows = [
            {"ref": s.ref, "name": s.name, "zip_prefix": s.zip_prefix, "city": s.city, "region": s.region}
            for s in latest.values()
        ]
        return self._upsert(table_of(SupplierRow), rows, keys=("ref",))

    def upsert_carriers(self, carriers: Sequence[CarrierDetails]) -> int:
        latest = {c.code: c for c in carriers}
        # Claim deadlines left out (None) keep what is stored, so rows are grouped by the
        # columns they carry (one statement shape per group).
        groups: dict[tuple[str, ...], list[dict[str, Any]]] = {}
        for c in latest.values():
            row: dict[str, Any] = {
                "code": c.code,
                "name": c.name,
                "tracking_url_template": c.tracking_url_template,
            }
            if c.claim_file_days is not None:
                row["claim_file_days"] = c.claim_file_days
            if c.claim_answer_days is not None:
                row["claim_answer_days"] = c.claim_answer_days
            groups.setdefault(tuple(row), []).append(row)
        return sum(self._upsert(table_of(CarrierRow), rows, keys=("code",)) for rows in groups.values())

    def upsert_products(self, products: Sequence[ProductDetails]) -> int:
        latest = {p.ref: p for p in products}
        rows = [
            {
                "ref": p.ref,
                "category": p.category,
                "weight_g": p.weight_g,
                "length_cm": p.length_cm,
                "height_cm": p.height_cm,
                "width_cm": p.width_cm,
                "photos": p.photos,
            }
            for p in latest.values()
        ]
        return self._upsert(table_of(ProductRow), rows, keys=("ref",))

    def upsert_payments(self, payments: Sequence[tuple[int, PaymentData]]) -> int:
        latest = {(order_id, p.sequence): p for order_id, p in payments}
        rows = [
            {
                "order_id": order_id,
                "sequence": sequence,
                "method": p.method,
                "installments": p.installments,
                "value_cents": p.value_cents,
            }
            for (order_id, sequence), p in latest.items()
        ]
        return self._upsert(table_of(PaymentRow), rows, keys=("order_id", "sequence"))

    def upsert_feedback(self, feedback: Sequence[tuple[int, FeedbackData]]) -> int:
        latest = {(order_id, f.ref): f for order_id, f in feedback}
        rows = [
            {
                "order_id": order_id,
                "ref": ref,
                "score": f.score,
                "title": f.title,
                "comment": f.comment,
                "created_at": f.created_at,
                "answered_at": f.answered_at,
                "source": f.source,
            }
            for (order_id, ref), f in latest.items()
        ]
        return self._upsert(table_of(FeedbackRow), rows, keys=("order_id", "ref"))

    def upsert_zip_locations(self, locations: Sequence[ZipLocation]) -> int:
        latest = {z.zip_prefix: z for z in locations}
        rows = [
            {"zip_prefix": z.zip_prefix, "lat": z.lat, "lng": z.lng, "city": z.city, "region": z.region}
            for z in latest.values()
        ]
        return self._upsert(table_of(ZipLocationRow), rows, keys=("zip_prefix",))
