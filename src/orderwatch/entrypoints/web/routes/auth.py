"""Staff web pages: auth (filled in by the foundation work, issue 2)."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter()
