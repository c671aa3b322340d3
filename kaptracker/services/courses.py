"""Course commands: start a course, end it (completed or discontinued)."""

from __future__ import annotations

from collections.abc import Mapping

from sqlalchemy import select

from ..auditing import record
from ..courses import service as course_service
from ..extensions import db
from ..models import AuditAction, Client, ClientStatus, Course
from ..rules import phases
from ..rules.access import Permission, may_write
from ..rules.dosing import Route
from ..rules.phases import EndReason
from . import Outcome, created, refusal


def _manages(client: Client, user) -> bool:
    """The one ownership rule: the client's own therapist (or a supervisor) manages the course."""
    return may_write(user.role, user_id=user.id, therapist_id=client.therapist_id,
                     permission=Permission.MANAGE_COURSE)


def start_refusal(client: Client, user) -> Outcome | None:
    """None when ``user`` may start a course for ``client`` now; else the refusal (its record is
    the client's open course, when that is why)."""
    if not _manages(client, user):
        return refusal("Only the client's own therapist or a supervisor starts a course.")
    open_course = db.session.scalar(select(Course).where(Course.client_id == client.id, Course.end_reason.is_(None)))
    if open_course is not None:
        return refusal("This client already has an open course: complete or discontinue it first.",
                       record=open_course)
    return None


def start(client: Client, data: Mapping, user) -> Outcome:
    """Start a course for ``client`` (one open course at a time); the client is in treatment."""
    if refused := start_refusal(client, user):
        return refused
    course = Course(client_id=client.id, planned_route=Route(data["planned_route"]),
                    planned_medicine_sessions=data["planned_medicine_sessions"], goals=data["goals"],
                    started_on=data["started_on"], created_by_id=user.id)
    # In treatment again, also after an earlier course ended (which discharged the client):
    # otherwise medical staff could not see the new course to screen and dose.
    if client.status in (ClientStatus.REFERRED, ClientStatus.ON_HOLD, ClientStatus.DISCHARGED):
        client.status = ClientStatus.ACTIVE
    return created(course, user, audit_as="course", client_id=client.id,
                   message="Course started. Next: the screening.")


def end_refusal(course: Course, user) -> Outcome | None:
    """None when ``user`` may end ``course`` now; else the refusal."""
    if not _manages(course.client, user):
        return refusal("Only the client's own therapist or a supervisor ends a course.", record=course)
    if not course.is_open:
        return refusal(f"This course is already {course.end_reason.value}.", category="info", record=course)
    return None


def end(course: Course, data: Mapping, user, *, facts: phases.CourseFacts | None = None) -> Outcome:
    """End the course (``end_reason``, ``ended_on``, ``end_note``); completed only once nothing
    blocks completion. The client is discharged. ``facts`` are the course's when the caller has them."""
    if refused := end_refusal(course, user):
        return refused
    reason = EndReason(data["end_reason"])
    if reason is EndReason.COMPLETED:
        if facts is None:
            facts = course_service.facts(course, course_service.load_course_sessions(course))
        if blockers := phases.completion_blockers(facts):
            return refusal("The course cannot be completed yet: " + " ".join(blockers), "end_reason")
    course.end_reason = reason
    course.ended_on = data["ended_on"]
    course.end_note = data.get("end_note")
    # Out of treatment: medical staff no longer need (or get) the record.
    course.client.status = ClientStatus.DISCHARGED
    record(AuditAction.UPDATE, "course", course.id, client_id=course.client_id,
           detail=f"ended: {reason.value}", user=user)
    db.session.commit()
    return Outcome(record=course, message=f"The course is {reason.value}. Its notes are now read-only but for addenda.")
