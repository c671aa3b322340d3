"""A course summary a colleague can read on paper: the screening decision, every session with
its dose and signed note, the vitals of each medicine session (table and chart), the outcome
measures. The same page prints from the browser and downloads as PDF (WeasyPrint renders it on
the server, reading only our own stylesheets)."""

from __future__ import annotations

import logging
from collections import defaultdict
from pathlib import Path

from flask import Response, current_app, render_template, url_for
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from .. import disclosures
from ..access import get_course_for, requires
from ..auditing import record, shown
from ..courses import service
from ..courses.details import DETAILS
from ..extensions import db
from ..models import AuditAction, Client, Course, DosingSession, Screening, VitalSign
from ..rules import phases
from ..outcomes import service as outcome_service
from ..outcomes.panel import medicine_dates, panel
from ..rules.access import Permission
from .. import clock
from ..templating import localtime
from ..vitals import chart as vitals_chart
from ..vitals import service as vitals_service
from . import bp


def summary_context(course: Course) -> dict:
    sessions = service.load_course_sessions(course)
    facts = service.facts(course, sessions)
    dosing = [s for s in sessions if isinstance(s, DosingSession)]
    vitals_by_session: dict[int, list[VitalSign]] = defaultdict(list)
    if dosing:  # every reading of every medicine session, in one query
        for v in db.session.scalars(
            select(VitalSign).where(VitalSign.session_id.in_([s.id for s in dosing]))
            .options(joinedload(VitalSign.recorded_by)).order_by(VitalSign.taken_at, VitalSign.id)
        ):
            vitals_by_session[v.session_id].append(v)
    fmt = lambda d: localtime(d, "%H:%M")  # noqa: E731
    charts = {
        s.id: vitals_chart.build(vitals_service.as_rule_readings(vitals_by_session[s.id]),
                                 [a.given_at for a in s.administrations],
                                 vitals_service.thresholds_now(s.site_id), fmt)
        for s in dosing
    }
    scores = outcome_service.scores_of([course.id])
    outcomes = panel(course, course.client, scores, medicine_dates([course.id])[course.id], facts)
    return {
        "course": course, "client": course.client, "sessions": sessions, "facts": facts,
        "phase": phases.phase(facts), "screening": next((s for s in sessions if isinstance(s, Screening)), None),
        "vitals": vitals_by_session, "charts": charts, "outcomes": outcomes, "details": DETAILS,
        "printed_at": clock.local_now(), "printed_by": current_user.name,
    }


def _load(course_id: int) -> Course:
    return get_course_for(current_user, course_id, options=(
        joinedload(Course.client).joinedload(Client.therapist),
        joinedload(Course.client).selectinload(Client.indication_rows),
    ))


@bp.route("/courses/<int:course_id>/summary")
@requires(Permission.VIEW_COURSES)
def course_summary(course_id: int):
    course = _load(course_id)
    shown("course_summary", course.id, client_id=course.client_id)
    return render_template("reports/course_summary.html", **summary_context(course))


class PdfUnavailable(RuntimeError):
    pass


def static_only_fetcher(static_folder: str):
    """A WeasyPrint URL fetcher that serves ``kap-static:/<path>`` from the static folder and
    refuses everything else (other files, the network): nothing a stored text could point at."""
    from weasyprint.urls import URLFetcher, URLFetcherResponse, URLFetchingError

    static = Path(static_folder).resolve()
    prefix = "kap-static:/"

    class StaticOnly(URLFetcher):
        def fetch(self, url, headers=None):
            if url.startswith(prefix):
                path = (static / url[len(prefix):]).resolve()
                if static in path.parents and path.is_file():
                    kind = "text/css" if path.suffix == ".css" else "application/octet-stream"
                    return URLFetcherResponse(url, body=path.read_bytes(), headers={"Content-Type": kind})
            raise URLFetchingError("only the app's own static files are used in a PDF")

        __call__ = fetch

    return StaticOnly(allowed_protocols=())


def render_pdf(html: str) -> bytes:
    try:
        import weasyprint
    except (ImportError, OSError) as error:  # the Pango library is missing on this machine
        raise PdfUnavailable(str(error)) from error
    # The screen stylesheet's SVG rules (fill, stroke) are unknown to WeasyPrint's CSS: it would
    # log a warning for each on every PDF. The charts carry their colours as attributes.
    logging.getLogger("weasyprint").setLevel(logging.ERROR)
    return weasyprint.HTML(string=html, url_fetcher=static_only_fetcher(current_app.static_folder)).write_pdf()


@bp.route("/courses/<int:course_id>/summary.pdf", methods=["GET", "POST"])
@requires(Permission.VIEW_COURSES)
def course_summary_pdf(course_id: int):
    course = _load(course_id)
    purpose, page = disclosures.purpose_or_page(
        title="Download the course summary (PDF)", course=course, client=course.client,
        what="The screening decision, every session with its dose and signed note, the vitals and the "
             "outcome measures of this course, as a PDF.",
        back_url=url_for("reports.course_summary", course_id=course.id))
    if page:
        return page
    html = render_template("reports/course_summary_pdf.html", **summary_context(course))
    try:
        pdf = render_pdf(html)
    except PdfUnavailable:
        current_app.logger.warning("PDF requested but WeasyPrint cannot load its libraries")
        return render_template(
            "errors/error.html", status=503, title="PDF is not available on this server",
            message="The PDF library cannot start here (the Pango text library is missing). Use "
                    "Print on the summary page and choose 'Save as PDF'; the printed page is the same.",
        ), 503
    record(AuditAction.EXPORT, "course_summary", course.id, client_id=course.client_id,
           detail=f"PDF; purpose {purpose.code}")
    disclosures.disclose("summary_pdf", client_id=course.client_id, purpose=purpose.code,
                         recipient=purpose.recipient, record_type="course",
                         record_id=course.id, what=f"summary of course {course.id} (PDF)")
    db.session.commit()
    return Response(pdf, mimetype="application/pdf", headers={
        "Content-Disposition": f'attachment; filename="course-{course.id}-summary.pdf"',
    })
