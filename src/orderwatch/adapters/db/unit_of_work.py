"""The SQLAlchemy unit of work: one session, one transaction, rollback unless committed."""

from __future__ import annotations

from types import TracebackType
from typing import Self

from sqlalchemy.orm import Session, sessionmaker

from orderwatch.adapters.db.incidents import SqlIncidentStore
from orderwatch.adapters.db.ingest_store import SqlIngestStore
from orderwatch.adapters.db.master_data import SqlMasterDataStore
from orderwatch.adapters.db.models_store import SqlModelRegistry, SqlPredictionStore
from orderwatch.adapters.db.notifications import SqlNotificationStore
from orderwatch.adapters.db.outbox import SqlOutbox
from orderwatch.adapters.db.remedy_ledger import SqlRemedyLedger
from orderwatch.adapters.db.remedy_offers import SqlRemedyOfferStore
from orderwatch.adapters.db.repositories import SqlRejects
from orderwatch.adapters.db.risk_flags import SqlRiskFlagStore


class SqlAlchemyUnitOfWork:
    """``with uow: ...; uow.commit()``; re-enterable, a fresh session each time."""

    session: Session

    def __init__(self, session_factory: sessionmaker[Session]) -> None:
        self._session_factory = session_factory

    def __enter__(self) -> Self:
        self.session = self._session_factory()
        self.ingest = SqlIngestStore(self.session)
        self.outbox = SqlOutbox(self.session)
        self.rejects = SqlRejects(self.session)
        self.master = SqlMasterDataStore(self.session)
        self.notifications = SqlNotificationStore(self.session)
        self.risk_flags = SqlRiskFlagStore(self.session)
        self.incidents = SqlIncidentStore(self.session)
        self.remedies = SqlRemedyLedger(self.session)
        self.models = SqlModelRegistry(self.session)
        self.predictions = SqlPredictionStore(self.session)
        self.remedy_offers = SqlRemedyOfferStore(self.session)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.rollback()
        self.session.close()

    def commit(self) -> None:
        self.session.commit()

    def rollback(self) -> None:
        self.session.rollback()
