"""Outcome-measure commands: record a score, acknowledge a PHQ-9 item-9 flag, mark a score
entered in error."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from .. import rollup
from ..auditing import record
from ..extensions import db
from ..models import AuditAction, Course, OutcomeScore, utcnow
from ..outcomes import service
from ..outcomes.service import may_enter, writable_reason
from ..outcomes.forms import score_form_class
from ..rules import scales
from ..rules.access import Permission, may
from ..rules.scales import Occasion, Scale
from . import Outcome
from .once import NO_ERRORS, do_once, in_error, refusal

Errors = Mapping[str, Sequence[str]]


def _duplicate(course: Course, scale: Scale, occasion: Occasion, number: int | None) -> str | None:
    duplicate = service.duplicate_of(course.id, scale, occasion, number)
    if duplicate is None:
        return None
    when = f"before medicine session {number}" if number else occasion.label.lower()
    return (f"A {scale.label} {when} is already recorded (completed {duplicate.completed_on:%d %b %Y}, "
            f"total {duplicate.total}). If it was wrong, mark it entered in error on the course page first.")


def record_score(course: Course, data: Mapping, user, *, scale: Scale) -> Outcome:
    """Record the client's answers to ``scale`` (``item_1``…, ``occasion``, ``session_number``,
    ``completed_on``): one valid score per scale and occasion; a PHQ-9 item 9 above 0 is flagged."""
    if not may_enter(course, user):
        return refusal("Therapists enter the scores of their own caseload's clients.")
    occasion = Occasion(data["occasion"])
    number = data.get("session_number") if occasion is Occasion.PRE_SESSION else None
    problem = writable_reason(course, occasion) or _duplicate(course, scale, occasion, number)
    if problem:
        return refusal(problem, field="occasion", record=course)
    answers = [int(data[name]) for name in score_form_class(scale).item_names]
    total = scales.total(scale, answers)
    flag = scales.self_harm_flag(scale, answers)
    score = OutcomeScore(
        course_id=course.id, scale=scale, occasion=occasion, session_number=number,
        completed_on=data["completed_on"], answers=answers, total=total,
        band=service.band_for(scale, total).label, self_harm_flag=flag, recorded_by_id=user.id,
    )
    db.session.add(score)
    db.session.flush()
    record(AuditAction.CREATE, "outcome_score", score.id, client_id=course.client_id, user=user,
           detail=f"{scale.label} total {total}" + (", item 9 flagged" if flag else ""))
    db.session.commit()
    if flag:
        return Outcome(record=score, category="error", message=(
            f"{scale.label} saved: total {total}. Item 9 was answered {answers[8]}: assess the "
            "risk of self-harm now and acknowledge the flag with what was done."))
    return Outcome(record=score, message=f"{scale.label} saved: total {total} ({score.band.lower()}).")


def acknowledge_flag(score: OutcomeScore, data: Mapping, user, *, form_errors: Errors = NO_ERRORS) -> Outcome:
    """Acknowledge the self-harm flag of ``score`` with what was done (``data["flag_action"]``),
    once. Any role that acknowledges flags does, for any client it may open (also in an
    emergency access): the risk is acted on first."""
    if not may(user.role, Permission.ACKNOWLEDGE_SCORE_FLAG):
        return refusal("Your role does not acknowledge self-harm flags.")
    if not score.self_harm_flag:
        return refusal("This score has no flag to acknowledge.", category="info")

    score_id, client_id = score.id, score.course.client_id  # read before the write expires the score

    def acknowledged() -> Outcome:
        record(AuditAction.UPDATE, "outcome_score", score_id, client_id=client_id,
               detail="self-harm flag acknowledged", user=user)
        return Outcome(record=score, message="Flag acknowledged.")

    return do_once(
        score, OutcomeScore.flag_acknowledged_at,
        dict(flag_acknowledged_at=utcnow(), flag_acknowledged_by_id=user.id, flag_action=data.get("flag_action")),
        already="This flag was already acknowledged.",
        lost="Someone else acknowledged this flag a moment before you; your note was not saved.",
        form_errors=form_errors, then=acknowledged,
    )


def mark_in_error(score: OutcomeScore, data: Mapping, user, *, form_errors: Errors = NO_ERRORS) -> Outcome:
    """Mark ``score`` entered in error with ``data["error_reason"]`` (once); the course's stored
    outcome summary is worked out again without it."""
    course = score.course
    if not may_enter(course, user):
        return refusal("Therapists correct the scores of their own caseload's clients.")
    score_id = score.id  # read before the write expires the score

    def marked() -> Outcome:
        rollup.refresh_outcomes(db.session.connection(), [course.id])
        record(AuditAction.UPDATE, "outcome_score", score_id, client_id=course.client_id,
               detail="entered in error", user=user)
        return Outcome(record=score, message="Marked entered in error. Enter the correct score if there is one.")

    return do_once(
        score, OutcomeScore.entered_in_error_at,
        in_error(data, user),
        already="This score is already marked entered in error.",
        lost="Someone else marked this score entered in error a moment before you; your reason was not saved.",
        form_errors=form_errors, then=marked,
    )


__all__ = ["acknowledge_flag", "mark_in_error", "record_score"]
