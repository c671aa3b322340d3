"""Treatment courses: start one, see where it stands, end it."""

from __future__ import annotations

from flask import flash, redirect, render_template, url_for
from flask_login import current_user
from sqlalchemy.orm import joinedload

from .. import clock
from ..access import get_client_for, get_course_for, requires
from ..models import Client, Course
from ..rules import phases
from ..rules.access import Permission
from ..services import apply_problems
from ..services import courses as course_commands
from . import bp, service
from .forms import CourseForm, EndCourseForm
from .pages import render_course


@bp.route("/clients/<int:client_id>/courses/new", methods=["GET", "POST"])
@requires(Permission.MANAGE_COURSE)
def new(client_id: int):
    client = get_client_for(current_user, client_id)
    refused = course_commands.start_refusal(client, current_user)
    if refused:
        flash(refused.message, refused.category)
        if refused.record is not None:  # the open course
            return redirect(url_for("courses.show", course_id=refused.record.id))
        return redirect(url_for("clients.show", client_id=client.id))
    form = CourseForm()
    if not form.is_submitted():
        form.started_on.data = clock.today()
    if form.validate_on_submit():
        outcome = course_commands.start(client, form.data, current_user)
        if outcome.ok:
            flash(outcome.message, outcome.category)
            return redirect(url_for("courses.show", course_id=outcome.record.id))
        for message in apply_problems(form, outcome):
            flash(message, "error")
    return render_template("courses/new.html", form=form, client=client)


@bp.route("/courses/<int:course_id>")
@requires(Permission.VIEW_COURSES)
def show(course_id: int):
    course = get_course_for(current_user, course_id, options=(
        joinedload(Course.client).selectinload(Client.indication_rows),))
    return render_course(course)


@bp.route("/courses/<int:course_id>/end", methods=["GET", "POST"])
@requires(Permission.MANAGE_COURSE)
def end(course_id: int):
    course = get_course_for(current_user, course_id, options=(joinedload(Course.client),))
    refused = course_commands.end_refusal(course, current_user)
    if refused:
        flash(refused.message, refused.category)
        return redirect(url_for("courses.show", course_id=course.id))
    sessions = service.load_course_sessions(course)
    facts = service.facts(course, sessions)
    form = EndCourseForm(started_on=course.started_on)
    if not form.is_submitted():
        form.ended_on.data = clock.today()
    if form.validate_on_submit():
        outcome = course_commands.end(course, form.data, current_user, facts=facts)
        if outcome.ok:
            flash(outcome.message, outcome.category)
            return redirect(url_for("courses.show", course_id=course.id))
        for message in apply_problems(form, outcome):
            flash(message, "error")
    return render_template("courses/end.html", form=form, course=course, client=course.client,
                           blockers=phases.completion_blockers(facts),
                           unsigned=[s for s in sessions if not s.is_signed])
