"""Small repositories that do not deserve a module of their own (rejected items)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from orderwatch.adapters.db.tables import RejectedItemRow


class SqlRejects:
    """Rejected inputs, kept for inspection (``orderwatch import --rejects``, API list)."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def add(
        self, *, source: str, kind: str, reference: str | None, reason: str, payload: Any, now: datetime
    ) -> None:
        self.session.add(
            RejectedItemRow(
                source=source, kind=kind, reference=reference, reason=reason, payload=payload,
                received_at=now,
            )
        )
