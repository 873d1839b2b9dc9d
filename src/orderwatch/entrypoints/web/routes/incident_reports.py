"""Post-incident report and periodic review pages (U8, U9, U14).

* ``/incidents/<ref>/report.html`` and ``/incidents/<ref>/report.pdf`` — the report of one case,
  in the page language or ``?lang=zh-CN|en``;
* ``/incidents/review?from=YYYY-MM-DD&to=YYYY-MM-DD`` — frequency by cause / carrier / region,
  handling times (median, p90), SLA met %, compensation and claim totals (default: the last
  30 days up to today, ``to`` exclusive of the day after).

Registered before the incident pages, so ``/incidents/review`` is not read as a case ref.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

from fastapi import Request, Response
from fastapi.responses import HTMLResponse
from sqlalchemy.orm import Session

from orderwatch.adapters.db.remedy_queries import post_incident_report, review
from orderwatch.domain.errors import NotFound, ValidationFailed
from orderwatch.domain.postmortem import PostIncidentReport
from orderwatch.entrypoints.api.deps import AppDep, ReadSessionDep
from orderwatch.entrypoints.incident_reports import (
    render_report_html,
    render_report_pdf,
    report_language,
)
from orderwatch.entrypoints.web import incident_views as views
from orderwatch.entrypoints.web.rendering import SECURITY_HEADERS, page_language, render, web_state
from orderwatch.entrypoints.web.routes.incidents import CHOICES, Reader
from orderwatch.entrypoints.web.routing import web_router

router = web_router()
REVIEW_DAYS = 30


def _language(request: Request, lang: str) -> str:
    return report_language(lang) if lang else page_language(request)


@router.get("/incidents/review")
def review_page(
    request: Request,
    application: AppDep,
    session: ReadSessionDep,
    user: Reader,
) -> Response:
    zone = web_state(request).timezone
    today = application.clock.now().astimezone(zone).date()
    error = None
    try:
        first = _day("from", request.query_params.get("from", "")) or today - timedelta(days=REVIEW_DAYS)
        last = _day("to", request.query_params.get("to", "")) or today
        if last < first:
            raise ValidationFailed("to", "must not be before from", last.isoformat())
    except ValidationFailed as problem:
        error, first, last = str(problem), today - timedelta(days=REVIEW_DAYS), today
    figures = review(
        session,
        start=datetime.combine(first, time(), tzinfo=zone),
        end=datetime.combine(last + timedelta(days=1), time(), tzinfo=zone),
        zone=zone,
    )
    context = {"figures": figures, "first": first, "last": last, "error": error, "duration": views.duration}
    return render(request, "incidents/review.html", {**context, **CHOICES}, status_code=400 if error else 200)


def _day(name: str, value: str) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise ValidationFailed(name, "is not a day (YYYY-MM-DD)", value) from None


def _report_of(session: Session, ref: str) -> PostIncidentReport:
    report = post_incident_report(session, ref)
    if report is None:
        raise NotFound("incident", ref)
    return report


@router.get("/incidents/{ref}/report.html")
def report_html(
    request: Request, session: ReadSessionDep, user: Reader, ref: str, lang: str = ""
) -> Response:
    report = _report_of(session, ref)
    html = render_report_html(report, language=_language(request, lang), zone=web_state(request).timezone)
    return HTMLResponse(html, headers=dict(SECURITY_HEADERS))


@router.get("/incidents/{ref}/report.pdf")
def report_pdf(request: Request, session: ReadSessionDep, user: Reader, ref: str, lang: str = "") -> Response:
    report = _report_of(session, ref)
    pdf = render_report_pdf(report, language=_language(request, lang), zone=web_state(request).timezone)
    headers = {**SECURITY_HEADERS, "Content-Disposition": f'inline; filename="{ref}-report.pdf"'}
    return Response(pdf, media_type="application/pdf", headers=headers)
