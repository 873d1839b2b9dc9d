"""Rendering the post-incident report (U8, U9) for the web page and the CLI: HTML and PDF.

Both outputs come from one :class:`~orderwatch.domain.postmortem.PostIncidentReport` and show
the sections of ``postmortem.SECTIONS`` in order; labels (states, causes, timeline kinds) are
the staff pages' msgids, translated into zh-CN or en.
"""

from __future__ import annotations

from collections.abc import Callable
from zoneinfo import ZoneInfo

from orderwatch.adapters.reports.incident_pdf import render_pdf
from orderwatch.domain.errors import ValidationFailed
from orderwatch.domain.postmortem import SECTIONS, PostIncidentReport
from orderwatch.domain.types import Language
from orderwatch.entrypoints.web import incident_views as views
from orderwatch.entrypoints.web.formatting import Formatter
from orderwatch.entrypoints.web.rendering import LANGUAGE_TAGS, STAFF_LANGUAGES, environment
from orderwatch.i18n import load_translations

FORMATS = ("html", "pdf")


def report_language(value: str | None) -> str:
    """``zh-CN``/``zh_CN``/``en`` → the staff language; anything else is refused by name."""
    try:
        language = Language.parse(value).value
    except ValueError:
        language = ""
    if language not in STAFF_LANGUAGES:
        raise ValidationFailed("lang", "a report is written in zh-CN or en", value)
    return language


def labeller(language: str) -> tuple[Callable[[str], str], Callable[[str], str]]:
    """(gettext for msgids, label for stored values such as ``lost_parcel`` or ``claim_filed``)."""
    gettext = load_translations(language).gettext
    known = {value: choice.label for table in views.ALL_INCIDENT_CHOICES for value, choice in table.items()}

    def label(value: str) -> str:
        return gettext(known.get(value, value))

    return gettext, label


def render_report_html(report: PostIncidentReport, *, language: str, zone: ZoneInfo) -> str:
    """A standalone HTML document (it also opens from a file, without the server)."""
    _, label = labeller(language)
    return (
        environment(language)
        .get_template("incidents/report_document.html")
        .render(
            report=report,
            sections=SECTIONS,
            label=label,
            fmt=Formatter(locale=language, timezone=zone),
            duration=views.duration,
            language_tag=LANGUAGE_TAGS[language],
        )
    )


def render_report_pdf(report: PostIncidentReport, *, language: str, zone: ZoneInfo) -> bytes:
    gettext, label = labeller(language)
    return render_pdf(report, language=language, gettext=gettext, label=label, zone=zone)
