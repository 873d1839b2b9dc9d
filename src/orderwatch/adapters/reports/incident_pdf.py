"""The post-incident report as PDF (U8, U9), with reportlab; Chinese in the built-in CID font.

reportlab ships the Adobe Asian font metrics, so ``STSong-Light`` renders zh-CN text without any
font file on disk (a PDF viewer supplies the glyphs); English uses Helvetica. The sections are
those of ``domain/postmortem.SECTIONS``, in that order, each a heading followed by its content,
so a text extraction of the PDF reads like the HTML page.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime, tzinfo
from io import BytesIO
from xml.sax.saxutils import escape

from babel.numbers import format_currency
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle, getSampleStyleSheet
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.platypus import Flowable, Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from orderwatch.domain.postmortem import SECTIONS, PostIncidentReport

CJK_FONT = "STSong-Light"
Translate = Callable[[str], str]


def _font(language: str) -> str:
    if language.startswith("zh"):
        if CJK_FONT not in pdfmetrics.getRegisteredFontNames():
            pdfmetrics.registerFont(UnicodeCIDFont(CJK_FONT))
        return CJK_FONT
    return "Helvetica"


def render_pdf(
    report: PostIncidentReport,
    *,
    language: str,
    gettext: Translate,
    label: Translate,
    zone: tzinfo,
) -> bytes:
    """The report as PDF bytes; ``gettext`` translates msgids, ``label`` stored values (causes …)."""
    font = _font(language)
    base = getSampleStyleSheet()
    body = ParagraphStyle("body", parent=base["BodyText"], fontName=font, fontSize=9.5, leading=13)
    heading = ParagraphStyle("h2", parent=base["Heading2"], fontName=font, fontSize=13, spaceBefore=8)
    title = ParagraphStyle("title", parent=base["Title"], fontName=font, fontSize=17)
    locale = "zh_CN" if language.startswith("zh") else "en"

    def p(text: object) -> Paragraph:
        return Paragraph(escape(str(text)).replace("\n", "<br/>"), body)

    def when(moment: datetime | None) -> str:
        return "—" if moment is None else moment.astimezone(zone).strftime("%Y-%m-%d %H:%M")

    def money(cents: int, currency: str) -> str:
        return format_currency(cents / 100, currency, locale=locale)

    def minutes(value: float | None) -> str:
        if value is None:
            return "—"
        hours, mins = divmod(int(value), 60)
        return f"{hours}h {mins}m" if hours else f"{mins}m"

    def table(rows: Sequence[Sequence[object]], widths: list[float] | None = None) -> Table:
        grid = Table([[p(cell) for cell in row] for row in rows], colWidths=widths, hAlign="LEFT")
        grid.setStyle(
            TableStyle(
                [
                    ("GRID", (0, 0), (-1, -1), 0.25, colors.grey),
                    ("BACKGROUND", (0, 0), (-1, 0), colors.whitesmoke),
                    ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ]
            )
        )
        return grid

    r, cost = report, report.cost
    sections: dict[str, list[Flowable]] = {
        "Summary": [
            table(
                [
                    [gettext("Incident"), r.ref],
                    [gettext("Order"), r.order_ref or "—"],
                    [gettext("Status"), label(r.status)],
                    [gettext("Severity"), label(r.severity)],
                    [gettext("Cause"), label(r.cause)],
                    [gettext("Party at fault"), label(r.party) if r.party else "—"],
                    [gettext("Carrier"), r.carrier or "—"],
                    [gettext("Reported"), when(r.reported_at)],
                    [gettext("Closed"), when(r.closed_at)],
                    [gettext("Result"), r.result or "—"],
                ],
                [45 * mm, 125 * mm],
            )
        ],
        "Response times": [
            table(
                [
                    [gettext("Report → first customer contact"), minutes(r.minutes_to_first_contact)],
                    [gettext("Report → resolution"), minutes(r.minutes_to_resolution)],
                ],
                [85 * mm, 85 * mm],
            )
        ],
        "SLA outcomes": [
            table([[label(metric), label(outcome)] for metric, outcome in r.sla], [85 * mm, 85 * mm])
        ],
        "Cost": [
            table(
                [
                    [gettext("Compensation granted"), money(cost.compensation_cents, cost.currency)],
                    [gettext("Claimed from the carrier"), money(cost.claimed_cents, cost.currency)],
                    [gettext("Recovered from the carrier"), money(cost.recovered_cents, cost.currency)],
                    [gettext("Net cost"), money(cost.net_cents, cost.currency)],
                ],
                [85 * mm, 85 * mm],
            ),
            *(
                [
                    Spacer(1, 3 * mm),
                    table(
                        [[gettext("Kind"), gettext("Status"), gettext("Amount"), gettext("By"), ""]]
                        + [
                            [
                                label(line.kind),
                                label(line.status),
                                money(line.amount_cents, line.currency),
                                line.who,
                                line.extra,
                            ]
                            for line in (*r.compensations, *r.claims)
                        ]
                    ),
                ]
                if r.compensations or r.claims
                else []
            ),
        ],
        "Timeline": [
            table(
                [[gettext("When"), gettext("Who"), gettext("What"), ""]]
                + [[when(t.at), t.actor, label(t.kind), t.text] for t in r.timeline],
                [30 * mm, 22 * mm, 35 * mm, 83 * mm],
            )
        ],
        "Root cause": [p(r.root_cause or "—")],
        "Lessons": [p(r.lessons or "—")],
        "Follow-up actions": [p(r.follow_ups or "—")],
    }
    story: list[Flowable] = [
        Paragraph(escape(gettext("Post-incident report %(ref)s") % {"ref": r.ref}), title)
    ]
    for section in SECTIONS:
        story.append(Paragraph(escape(gettext(section)), heading))
        story.extend(sections[section])
    buffer = BytesIO()
    document = SimpleDocTemplate(
        buffer, pagesize=A4, title=f"{r.ref}", leftMargin=20 * mm, rightMargin=20 * mm, topMargin=18 * mm
    )
    document.build(story)
    return buffer.getvalue()
