"""FastAPI dependencies as ``Annotated`` aliases: the wired App, a read session, the clock."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.orm import Session

from orderwatch.bootstrap import App


def get_app(request: Request) -> App:
    """The application wired for this process (set by ``create_app``)."""
    application: App = request.app.state.orderwatch
    return application


def get_read_session(application: Annotated[App, Depends(get_app)]) -> Iterator[Session]:
    """A read-only session for list and detail queries."""
    session = application.read_session()
    try:
        yield session
    finally:
        session.close()


AppDep = Annotated[App, Depends(get_app)]
ReadSessionDep = Annotated[Session, Depends(get_read_session)]
