"""Treatment courses: start one, see where it stands, end it."""

from __future__ import annotations

from flask import flash, redirect, render_template, url_for
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from ..access import get_client_for, get_course_for, requires
from ..auditing import record
from ..extensions import db
from ..models import AuditAction, Client, ClientStatus, Course, DosingSession, utcnow
from ..rules import phases
from ..rules.access import Permission, Role, may, may_write_session
from ..rules.dosing import Route
from ..rules.phases import EndReason
from .. import clock
from ..outcomes import service as outcome_service
from ..outcomes.panel import medicine_dates, panel
from ..supervision.panel import review_panel
from ..vitals import service as vitals_service
from . import bp, service
from .forms import CourseForm, EndCourseForm


@bp.route("/clients/<int:client_id>/courses/new", methods=["GET", "POST"])
@requires(Permission.MANAGE_COURSE)
def new(client_id: int):
    client = get_client_for(current_user, client_id)
    if current_user.role == Role.THERAPIST and client.therapist_id != current_user.id:
        flash("Only the client's own therapist or a supervisor starts a course.", "error")
        return redirect(url_for("clients.show", client_id=client.id))
    open_course = db.session.scalar(
        select(Course.id).where(Course.client_id == client.id, Course.end_reason.is_(None))
    )
    if open_course:
        flash("This client already has an open course: complete or discontinue it first.", "error")
        return redirect(url_for("courses.show", course_id=open_course))
    form = CourseForm()
    if not form.is_submitted():
        form.started_on.data = clock.today()
    if form.validate_on_submit():
        course = Course(
            client_id=client.id,
            planned_route=Route(form.planned_route.data),
            planned_medicine_sessions=form.planned_medicine_sessions.data,
            goals=form.goals.data,
            started_on=form.started_on.data,
            created_by_id=current_user.id,
        )
        db.session.add(course)
        # In treatment again, also after an earlier course ended (which discharged the client):
        # otherwise medical staff could not see the new course to screen and dose.
        if client.status in (ClientStatus.REFERRED, ClientStatus.ON_HOLD, ClientStatus.DISCHARGED):
            client.status = ClientStatus.ACTIVE
        db.session.flush()
        record(AuditAction.CREATE, "course", course.id, client_id=client.id)
        db.session.commit()
        flash("Course started. Next: the screening.", "success")
        return redirect(url_for("courses.show", course_id=course.id))
    return render_template("courses/new.html", form=form, client=client)


@bp.route("/courses/<int:course_id>")
@requires(Permission.VIEW_COURSES)
def show(course_id: int):
    course = get_course_for(current_user, course_id, options=(
        joinedload(Course.client).selectinload(Client.indication_rows),))
    return render_course(course)


def render_course(course: Course, *, status: int = 200, **forms):
    """The course page; ``forms`` carries a failed form back with its messages (outcome-score
    flag acknowledgements, review comments)."""
    sessions = service.load_course_sessions(course)
    facts = service.facts(course, sessions)
    now = utcnow()
    due_days = service.settings.get("integration.due_days")
    overdue = {m.id for m in phases.overdue_integrations(facts, now, due_days)}
    alerts = vitals_service.open_alerts([s.id for s in sessions])
    can = {
        kind: course.is_open and may_write_session(current_user.role, kind)
        for kind in ("screening", "preparation", "dosing", "integration")
    }
    if current_user.role == Role.THERAPIST and course.client.therapist_id != current_user.id:
        can = dict.fromkeys(can, False)
    has_screening = any(s.kind.value == "screening" for s in sessions)
    scores = outcome_service.scores_of([course.id])
    outcomes = panel(course, course.client, scores, medicine_dates([course.id])[course.id], facts,
                     failed=forms.get("failed_score_forms"))
    reviews = review_panel(course, **{k: v for k, v in forms.items() if k in ("comment_form", "reply_form",
                                                                              "reply_to_id")})
    return render_template(
        "courses/show.html",
        course=course,
        client=course.client,
        sessions=sessions,
        phase=phases.phase(facts),
        next_step=phases.next_step(facts),
        blockers=phases.medicine_blockers(facts),
        warnings=phases.medicine_warnings(facts) if course.is_open else [],
        overdue=overdue,
        facts=facts,
        can=can,
        has_screening=has_screening,
        integration_due=lambda s: service.integration_due(s),
        integrated={s.dosing_session_id for s in sessions if s.kind.value == "integration"},
        may_end=course.is_open and may(current_user.role, Permission.MANAGE_COURSE)
        and (current_user.role != Role.THERAPIST or course.client.therapist_id == current_user.id),
        DosingSession=DosingSession,
        due_days=due_days,
        alerts=alerts,
        outcomes=outcomes,
        reviews=reviews,
    ), status


@bp.route("/courses/<int:course_id>/end", methods=["GET", "POST"])
@requires(Permission.MANAGE_COURSE)
def end(course_id: int):
    course = get_course_for(current_user, course_id, options=(joinedload(Course.client),))
    if current_user.role == Role.THERAPIST and course.client.therapist_id != current_user.id:
        flash("Only the client's own therapist or a supervisor ends a course.", "error")
        return redirect(url_for("courses.show", course_id=course.id))
    if not course.is_open:
        flash(f"This course is already {course.end_reason.value}.", "info")
        return redirect(url_for("courses.show", course_id=course.id))
    sessions = service.load_course_sessions(course)
    facts = service.facts(course, sessions)
    form = EndCourseForm(started_on=course.started_on)
    if not form.is_submitted():
        form.ended_on.data = clock.today()
    blockers = phases.completion_blockers(facts)
    if form.validate_on_submit():
        reason = EndReason(form.end_reason.data)
        if reason is EndReason.COMPLETED and blockers:
            form.end_reason.errors.append("The course cannot be completed yet: " + " ".join(blockers))
        else:
            course.end_reason = reason
            course.ended_on = form.ended_on.data
            course.end_note = form.end_note.data
            # Out of treatment: medical staff no longer need (or get) the record.
            course.client.status = ClientStatus.DISCHARGED
            record(AuditAction.UPDATE, "course", course.id, client_id=course.client_id,
                   detail=f"ended: {reason.value}")
            db.session.commit()
            flash(f"The course is {reason.value}. Its notes are now read-only but for addenda.", "success")
            return redirect(url_for("courses.show", course_id=course.id))
    return render_template("courses/end.html", form=form, course=course, client=course.client,
                           blockers=blockers, unsigned=[s for s in sessions if not s.is_signed])
