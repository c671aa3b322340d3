"""Between the database and the pure scale rules: load scores, what is due, response/remission."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from .. import settings
from ..extensions import db
from ..models import Course, OutcomeScore
from ..rules import phases, scales
from ..rules.access import Permission, may_write
from ..rules.scales import Occasion, Point, Recorded, Scale


def may_enter(course: Course, user) -> bool:
    """Scores are entered by a role that enters them, a therapist only in their own caseload."""
    return may_write(user.role, user_id=user.id, therapist_id=course.client.therapist_id,
                     permission=Permission.ENTER_SCORES)


def writable_reason(course: Course, occasion: Occasion | None = None) -> str | None:
    """None when scores (of ``occasion``) may be added to ``course`` now; otherwise why not."""
    if course.is_open:
        return None
    if course.end_reason is phases.EndReason.COMPLETED:
        if occasion in (None, Occasion.FOLLOW_UP):
            return None
        return "The course is completed: only follow-up scores are added now."
    return "The course is discontinued: it is read-only."


def rules() -> scales.OutcomeRules:
    return scales.OutcomeRules.from_settings(settings.current())


def band_for(scale: Scale, total: int) -> scales.Band:
    return scales.band(scale, total, pcl5_cutoff=rules().pcl5_cutoff)


def scores_of(course_ids: Iterable[int]) -> list[OutcomeScore]:
    """Every score of the courses (entered-in-error ones too, for the record), oldest first,
    with the people named on them: two queries whatever the number of scores."""
    ids = list(course_ids)
    if not ids:
        return []
    return list(db.session.scalars(
        select(OutcomeScore)
        .where(OutcomeScore.course_id.in_(ids))
        .options(selectinload(OutcomeScore.recorded_by), selectinload(OutcomeScore.flag_acknowledged_by),
                 selectinload(OutcomeScore.entered_in_error_by))
        .order_by(OutcomeScore.completed_on, OutcomeScore.id)
    ))


def valid(scores: Iterable[OutcomeScore]) -> list[OutcomeScore]:
    return [s for s in scores if not s.in_error]


def by_scale(scores: Iterable[OutcomeScore]) -> dict[Scale, list[OutcomeScore]]:
    grouped: dict[Scale, list[OutcomeScore]] = defaultdict(list)
    for score in valid(scores):
        grouped[score.scale].append(score)
    return dict(grouped)


def outcomes(scores: Iterable[OutcomeScore]) -> dict[Scale, scales.Outcome]:
    current = rules()
    return {
        scale: scales.outcome(scale, [Point(s.completed_on, s.total, s.occasion) for s in group], current)
        for scale, group in by_scale(scores).items()
    }


def due(course: Course, indications: Iterable[str], scores: Iterable[OutcomeScore],
        facts: phases.CourseFacts | None = None) -> list[scales.Due]:
    ready = not phases.medicine_blockers(facts) if facts is not None else course.phase is not phases.Phase.PREPARATION
    return scales.due(
        indications=[str(i) for i in indications],
        recorded=[Recorded(s.scale, s.occasion, s.session_number) for s in valid(scores)],
        medicine_given=course.medicine_given,
        planned=course.planned_medicine_sessions,
        course_open=course.is_open,
        completed=course.end_reason is phases.EndReason.COMPLETED,
        ready_for_medicine=ready,
    )


def duplicate_of(course_id: int, scale: Scale, occasion: Occasion, session_number: int | None):
    """A valid score already recorded for the same scale and occasion, if any."""
    stmt = select(OutcomeScore).where(
        OutcomeScore.course_id == course_id, OutcomeScore.scale == scale,
        OutcomeScore.occasion == occasion, OutcomeScore.entered_in_error_at.is_(None),
    )
    if occasion is Occasion.PRE_SESSION:
        stmt = stmt.where(OutcomeScore.session_number == session_number)
    return db.session.scalars(stmt.limit(1)).first()


def open_flags(course_ids: Iterable[int]) -> list[OutcomeScore]:
    return [s for s in scores_of(course_ids) if s.flag_open]
