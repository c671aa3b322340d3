"""Outcome measures: type in a client's PHQ-9 / GAD-7 / PCL-5 item by item, acknowledge the
self-harm flag, mark a wrong score entered in error. Charts and tables live on the course and
client pages (see :mod:`kaptracker.outcomes.panel`)."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, url_for
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from ..courses.pages import render_course
from ..access import get_course_for, requires
from ..extensions import db
from ..forms import member_or_404
from ..models import Client, Course, OutcomeScore
from ..rules.access import Permission
from ..rules.scales import Scale
from ..services import FORM, apply_problems
from ..services import outcomes as score_commands
from ..services.once import told
from .. import clock
from . import bp, service
from .forms import FlagAcknowledgeForm, ScoreErrorForm, ScoreFormBase, score_form_class


def _load_course(course_id: int) -> Course:
    return get_course_for(current_user, course_id, options=(
        joinedload(Course.client).selectinload(Client.indication_rows),))


def _outcomes_of(course: Course) -> str:
    return url_for("courses.show", course_id=course.id) + "#outcomes"


def _first_due(form: ScoreFormBase, course: Course, scores, scale: Scale) -> None:
    """A new form: completed today, for the first occasion of ``scale`` that is due."""
    form.completed_on.data = clock.today()
    due = service.due(course, [i.value for i in course.client.indications], scores)
    first = next((d for d in due if d.scale is scale), None)
    if first is not None:
        form.occasion.data = first.occasion.value
        form.session_number.data = first.session_number


@bp.route("/courses/<int:course_id>/scores/new/<scale>", methods=["GET", "POST"])
@requires(Permission.ENTER_SCORES)
def new_score(course_id: int, scale: str):
    scale_ = member_or_404(Scale, scale)
    course = _load_course(course_id)
    if not service.may_enter(course, current_user):
        abort(403)
    form = score_form_class(scale_)(course_started=course.started_on)
    scores = service.scores_of([course.id])
    refused = service.writable_reason(course)
    if refused:
        flash(refused, "error")
        return redirect(url_for("courses.show", course_id=course.id))
    if not form.is_submitted():
        _first_due(form, course, scores, scale_)
    elif form.validate():
        outcome = score_commands.record_score(course, form.data, current_user, scale=scale_)
        if outcome.ok:
            flash(outcome.message, outcome.category)
            return redirect(_outcomes_of(course))
        apply_problems(form, outcome)
    return render_template("outcomes/new.html", form=form, scale=scale_, spec=scale_.spec, course=course,
                           client=course.client, scores=[s for s in service.valid(scores) if s.scale is scale_]
                           ), 422 if form.is_submitted() else 200


def _score_for(score_id: int) -> tuple[OutcomeScore, Course]:
    course_id = db.session.scalar(select(OutcomeScore.course_id).where(OutcomeScore.id == score_id))
    if course_id is None:
        abort(404)
    course = _load_course(course_id)  # audited 404 outside the user's scope
    score = db.session.get(OutcomeScore, score_id)
    return score, course


@bp.route("/scores/<int:score_id>/acknowledge", methods=["POST"])
@requires(Permission.ACKNOWLEDGE_SCORE_FLAG)
def acknowledge(score_id: int):
    score, course = _score_for(score_id)
    form = FlagAcknowledgeForm(prefix=f"flag{score.id}")
    form.validate_on_submit()
    outcome = score_commands.acknowledge_flag(score, form.data, current_user, form_errors=form.errors)
    return _told(course, outcome, failed={("ack", score_id): form})


@bp.route("/scores/<int:score_id>/error", methods=["POST"])
@requires(Permission.ENTER_SCORES)
def mark_in_error(score_id: int):
    score, course = _score_for(score_id)
    if not service.may_enter(course, current_user):
        abort(403)
    form = ScoreErrorForm(prefix=f"error{score.id}")
    form.validate_on_submit()
    outcome = score_commands.mark_in_error(score, form.data, current_user, form_errors=form.errors)
    return _told(course, outcome, failed={("error", score_id): form})


def _told(course: Course, outcome, *, failed: dict):
    """Back to the course's outcome measures, told the outcome; a form the command refused for its
    fields comes back on the course page with its messages beside them (status 422)."""
    if outcome.ok or FORM in outcome.problems:
        flash(told(outcome), outcome.category)
        return redirect(_outcomes_of(course))
    return render_course(course, status=422, failed_score_forms=failed)
