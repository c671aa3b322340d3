"""The caseload worklist: every item that needs someone, from a handful of indexed queries.

Each kind of item is one SELECT with the same columns (kind, client, course, target record,
since when); the worklist is their UNION ALL, filtered, sorted and paginated in the database,
so a page costs the same whatever the size of the caseload.
"""

from __future__ import annotations

import dataclasses
import datetime as dt

from sqlalchemy import String, and_, exists, func, literal, or_, select, union_all
from sqlalchemy.orm import aliased

from .. import settings
from ..models import (
    BreakGlassGrant,
    ClinicalSession,
    Course,
    OutcomeScore,
    OverrideReview,
    ReviewComment,
    SafetyAlert,
    SafetyOverride,
    SessionKind,
    User,
)
from ..extensions import db
from ..rules.access import Role


@dataclasses.dataclass(frozen=True)
class Kind:
    key: str
    label: str
    severity: str  # danger, warning, info: how the row is marked
    supervisors_only: bool = False


KINDS = (
    Kind("alert", "Vitals alert not acknowledged", "danger"),
    Kind("self_harm", "PHQ-9 item 9 flag not acknowledged", "danger"),
    Kind("override", "Safety override to review", "warning", supervisors_only=True),
    Kind("break_glass", "Emergency access in the last 7 days", "warning", supervisors_only=True),
    Kind("screening", "Screening awaiting a medical decision", "warning"),
    Kind("integration", "Integration overdue after a medicine session", "warning"),
    Kind("unsigned", "Note unsigned", "warning"),
    Kind("review", "Review comment awaiting the therapist's answer", "info"),
    Kind("no_contact", "No contact", "info"),
    Kind("over_plan", "More medicine sessions than planned", "info"),
)
KINDS_BY_KEY = {k.key: k for k in KINDS}

SORTS = {
    "oldest": "Oldest first",
    "newest": "Newest first",
    "client": "Client name",
    "therapist": "Therapist",
    "kind": "Kind of item",
}


def _row(kind: str, client_id, course_id, target_id, since):
    return (literal(kind, String(20)).label("kind"), client_id.label("client_id"),
            course_id.label("course_id"), target_id.label("target_id"), since.label("since"))


def item_queries(now: dt.datetime, *, supervisor: bool) -> dict[str, object]:
    values = settings.current()
    unsigned_before = now - dt.timedelta(hours=values["review.unsigned_after_hours"])
    integration_before = now - dt.timedelta(days=values["integration.due_days"])
    contact_before = now - dt.timedelta(days=values["review.no_contact_days"])
    cs = ClinicalSession
    open_course = Course.end_reason.is_(None)
    queries = {
        "alert": select(*_row("alert", Course.client_id, Course.id, SafetyAlert.session_id, SafetyAlert.raised_at))
        .select_from(SafetyAlert).join(cs, cs.id == SafetyAlert.session_id).join(Course, Course.id == cs.course_id)
        .where(SafetyAlert.open_clause()),
        "self_harm": select(*_row("self_harm", Course.client_id, Course.id, OutcomeScore.id, OutcomeScore.recorded_at))
        .select_from(OutcomeScore).join(Course, Course.id == OutcomeScore.course_id)
        .where(OutcomeScore.self_harm_flag == True, OutcomeScore.flag_acknowledged_at.is_(None),  # noqa: E712 (the partial index)
               OutcomeScore.entered_in_error_at.is_(None)),
        "screening": select(*_row("screening", Course.client_id, Course.id, cs.id, cs.occurred_at))
        .select_from(cs).join(Course, Course.id == cs.course_id)
        .where(cs.signed_at.is_(None), cs.kind == SessionKind.SCREENING, open_course),
        # The oldest medicine session still without integration, kept in the course summary
        # (kaptracker/rollup.py) and indexed: no scan of every medicine session.
        "integration": select(*_row("integration", Course.client_id, Course.id, Course.unintegrated_session_id,
                                    Course.unintegrated_since))
        .where(open_course, Course.unintegrated_since.is_not(None), Course.unintegrated_since < integration_before),
        "unsigned": select(*_row("unsigned", Course.client_id, Course.id, cs.id, cs.occurred_at))
        .select_from(cs).join(Course, Course.id == cs.course_id)
        .where(cs.signed_at.is_(None), cs.kind != SessionKind.SCREENING, cs.occurred_at < unsigned_before,
               open_course),  # an ended course's drafts can no longer be signed
        "no_contact": select(*_row("no_contact", Course.client_id, Course.id, Course.id,
                                   func.coalesce(Course.last_contact_at, Course.created_at)))
        .where(open_course, or_(Course.last_contact_at < contact_before,
                                and_(Course.last_contact_at.is_(None), Course.created_at < contact_before))),
        "over_plan": select(*_row("over_plan", Course.client_id, Course.id, Course.id,
                                  func.coalesce(Course.last_contact_at, Course.created_at)))
        .where(open_course, Course.medicine_given > Course.planned_medicine_sessions),
    }
    reply = aliased(ReviewComment)
    answered = exists().where(reply.reply_to_id == ReviewComment.id, reply.author_id == User.id,
                              User.role == Role.THERAPIST)
    queries["review"] = (
        select(*_row("review", Course.client_id, Course.id, ReviewComment.id, ReviewComment.created_at))
        .select_from(ReviewComment).join(Course, Course.id == ReviewComment.course_id)
        .where(ReviewComment.reply_to_id.is_(None), ~answered)
    )
    if supervisor:
        # Grants of the last week, each linked to the audit trail of what was opened with it.
        latest_course = (select(func.max(Course.id)).where(Course.client_id == BreakGlassGrant.client_id)
                         .correlate(BreakGlassGrant).scalar_subquery())
        queries["break_glass"] = (
            select(*_row("break_glass", BreakGlassGrant.client_id, latest_course, BreakGlassGrant.id,
                         BreakGlassGrant.granted_at))
            .where(BreakGlassGrant.granted_at >= now - dt.timedelta(days=7))
        )
        queries["override"] = (
            select(*_row("override", Course.client_id, Course.id, SafetyOverride.id, SafetyOverride.created_at))
            .select_from(SafetyOverride).join(cs, cs.id == SafetyOverride.session_id)
            .join(Course, Course.id == cs.course_id)
            .where(~exists().where(OverrideReview.override_id == SafetyOverride.id))
        )
    return queries


def items_subquery(now: dt.datetime, *, supervisor: bool, flag: str | None):
    queries = item_queries(now, supervisor=supervisor)
    chosen = [queries[flag]] if flag in queries else list(queries.values())
    return union_all(*chosen).subquery("items")


# --- Narrowed, per-kind queries (issue 6: a network of 50,000 clients) ------------------------
# The filters and the user's client scope go inside each kind's SELECT, where indexes can use
# them, rather than on the UNION of every item in the network; a page of rows takes, from each
# kind, only the rows that can be on it; the counts stop at COUNT_CAP.

COUNT_CAP = 1000  # "1000+" above this: the exact figure is no use on a worklist


def narrowed(queries: dict, *, client_ids=None, phase: str | None = None, route: str | None = None) -> dict:
    """Each item query restricted to ``client_ids`` (a subquery, or None: every client) and to
    courses of ``phase`` and ``route``."""
    course_filter = []
    if phase:
        course_filter.append(Course.phase == phase)
    if route:
        course_filter.append(Course.planned_route == route)
    out = {}
    for kind, q in queries.items():
        cols = q.selected_columns
        if client_ids is not None:
            q = q.where(cols.client_id.in_(client_ids))
        if course_filter:
            if any(f.is_derived_from(Course.__table__) for f in q.get_final_froms()):
                q = q.where(*course_filter)
            else:
                q = q.where(cols.course_id.in_(select(Course.id).where(*course_filter)))
        out[kind] = q
    return out


def top_items(queries: dict, limit: int, *, newest: bool):
    """The UNION ALL of each kind's first ``limit`` items by time (a subquery)."""
    parts = []
    for q in queries.values():
        cols = q.selected_columns
        order = (cols.since.desc(), cols.target_id.desc()) if newest else (cols.since.asc(), cols.target_id.asc())
        sub = q.order_by(*order).limit(limit).subquery()
        parts.append(select(*sub.c))
    return union_all(*parts).subquery("items")


def capped_counts(queries: dict, cap: int = COUNT_CAP) -> dict[str, int]:
    """{kind: number of items}, each counted up to ``cap`` + 1 (one query)."""
    parts = []
    for kind, q in queries.items():
        sub = q.with_only_columns(literal(1).label("one"), maintain_column_froms=True).limit(cap + 1).subquery()
        parts.append(select(literal(kind, String(20)).label("kind"), func.count().label("n")).select_from(sub))
    return {kind: n for kind, n in db.session.execute(union_all(*parts)).all() if n}
