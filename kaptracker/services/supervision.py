"""Supervision commands: a review comment on a course, an answer to one, the review of a safety
override."""

from __future__ import annotations

from collections.abc import Mapping

from sqlalchemy.exc import IntegrityError

from ..auditing import record
from ..extensions import db
from ..models import AuditAction, ClinicalSession, Course, OverrideReview, ReviewComment, SafetyOverride
from ..rules.access import Permission, may_write
from . import Outcome
from .once import refusal


def may_reply(course: Course, user) -> bool:
    """Supervisors answer on any course, a therapist on their own caseload's."""
    return may_write(user.role, user_id=user.id, therapist_id=course.client.therapist_id,
                     permission=Permission.REPLY_REVIEW)


def add_comment(course: Course, data: Mapping, user) -> Outcome:
    """Start a review thread on ``course`` with ``data["body"]``."""
    if not may_write(user.role, user_id=user.id, therapist_id=course.client.therapist_id,
                     permission=Permission.COMMENT_REVIEW):
        return refusal("Supervisors start review comments.")
    comment = ReviewComment(course_id=course.id, author_id=user.id, body=data["body"])
    db.session.add(comment)
    db.session.flush()
    record(AuditAction.CREATE, "review_comment", comment.id, client_id=course.client_id, user=user)
    db.session.commit()
    return Outcome(record=comment, message="Review comment added. The therapist sees it on this course "
                                           "and on their dashboard.")


def reply(comment: ReviewComment, data: Mapping, user) -> Outcome:
    """Answer ``comment``'s thread (an answer to an answer joins the same thread)."""
    course = comment.course
    if not may_reply(course, user):
        return refusal("Only the client's therapist or a supervisor answers a review comment.")
    root_id = comment.reply_to_id or comment.id
    answer = ReviewComment(course_id=course.id, author_id=user.id, body=data["body"], reply_to_id=root_id)
    db.session.add(answer)
    db.session.flush()
    record(AuditAction.CREATE, "review_comment", answer.id, client_id=course.client_id,
           detail=f"reply to {root_id}", user=user)
    db.session.commit()
    return Outcome(record=answer, message="Answer sent.")


def review_override(override: SafetyOverride, data: Mapping, user, *,
                    existing: OverrideReview | None = None) -> Outcome:
    """Mark ``override`` reviewed with the supervisor's ``data["note"]``: once (``existing``, the
    review the view shows, else the database's unique constraint says it was done)."""
    clinical = db.session.get(ClinicalSession, override.session_id)  # loaded by the view: no query
    if not may_write(user.role, user_id=user.id, therapist_id=clinical.course.client.therapist_id,
                     permission=Permission.REVIEW_OVERRIDE):
        return refusal("Supervisors review safety overrides.")
    if existing is not None:
        return refusal("This override was already reviewed.", category="info")
    review = OverrideReview(override_id=override.id, reviewed_by_id=user.id, note=data["note"])
    db.session.add(review)
    try:
        db.session.flush()
    except IntegrityError:  # the unique constraint: someone reviewed it first
        db.session.rollback()
        return refusal("Someone else reviewed this override a moment before you; your note was not saved.")
    record(AuditAction.UPDATE, "safety_override", override.id, client_id=clinical.course.client_id,
           detail="reviewed", user=user)
    db.session.commit()
    return Outcome(record=review, message="Override marked reviewed.")


__all__ = ["add_comment", "may_reply", "reply", "review_override"]
