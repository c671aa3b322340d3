"""The outcome-measures section of a course (or client) page: charts, response and remission,
what is due, and the forms of each score's row."""

from __future__ import annotations

import datetime as dt

from flask_login import current_user
from sqlalchemy import select

from ..extensions import db
from ..models import Client, ClinicalSession, Course, SessionKind
from ..rules import scales
from ..rules.access import Permission, may
from ..rules.scales import Scale
from .. import clock
from . import chart, service
from .service import may_enter, writable_reason
from .forms import ERROR_REASONS, FlagAcknowledgeForm


def medicine_dates(course_ids) -> dict[int, list[dt.date]]:
    """{course id: dates of its medicine sessions}, one query. The kind is checked here, not in
    SQL: filtering on it lets a planner pick the (kind, occurred_at) index and walk every medicine
    session of the clinic instead of these courses' few sessions."""
    dates: dict[int, list[dt.date]] = {i: [] for i in course_ids}
    if dates:
        for course_id, kind, at in db.session.execute(
            select(ClinicalSession.course_id, ClinicalSession.kind, ClinicalSession.occurred_at)
            .where(ClinicalSession.course_id.in_(list(dates)))
            .order_by(ClinicalSession.course_id, ClinicalSession.occurred_at)
        ):
            if kind is SessionKind.DOSING:
                dates[course_id].append(clock.date_of(at))
    return dates


def panel(course: Course, client: Client, scores, medicine: list[dt.date], facts=None, *,
          failed: dict | None = None) -> dict:
    """Everything the outcome-measures section of a course (or client) page shows to the signed-in
    user. ``failed``: {("ack" | "error", score id): form} sent back with its messages."""
    failed = failed or {}
    rules = service.rules()
    grouped = service.by_scale(scores)
    charts = [c for c in (chart.build(scale, grouped.get(scale, []), medicine, pcl5_cutoff=rules.pcl5_cutoff)
                          for scale in Scale) if c is not None]
    results = service.outcomes(scores)
    due = service.due(course, [i.value for i in client.indications], scores, facts)
    enters = may_enter(course, current_user)
    # An open course takes any score; a completed one only its follow-ups, while they are due.
    may_enter_now = enters and writable_reason(course) is None and (course.is_open or bool(due))
    return {
        "course": course,
        "scores": scores,
        "charts": charts,
        "outcomes": [(results[s], results[s].sentence(rules)) for s in Scale if s in results],
        "due": due,
        "expected": scales.expected_scales([i.value for i in client.indications]),
        "may_enter": may_enter_now,
        "may_ack": may(current_user.role, Permission.ACKNOWLEDGE_SCORE_FLAG),
        "may_mark_error": enters,
        "open_flags": [s for s in scores if s.flag_open],
        # One form per row (prefixed by the score's id): a failed one comes back with its message.
        "ack_form_for": lambda score_id: (failed.get(("ack", score_id))
                                          or FlagAcknowledgeForm(prefix=f"flag{score_id}", formdata=None)),
        "failed_error_form": lambda score_id: failed.get(("error", score_id)),
        "error_reasons": ERROR_REASONS,
    }


__all__ = ["medicine_dates", "panel"]
