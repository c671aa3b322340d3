"""Outcome measures: type in a client's PHQ-9 / GAD-7 / PCL-5 item by item, acknowledge the
self-harm flag, mark a wrong score entered in error. Charts and tables live on the course and
client pages (see :func:`panel`)."""

from __future__ import annotations

import datetime as dt

from flask import abort, flash, redirect, render_template, url_for
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from ..access import get_course_for, requires
from ..auditing import record, set_once
from ..extensions import db
from ..models import AuditAction, Client, Course, OutcomeScore, utcnow
from ..rules import phases, scales
from ..rules.access import Permission, Role, may
from ..rules.scales import Occasion, Scale
from .. import clock
from . import bp, chart, service
from .forms import ERROR_REASONS, FlagAcknowledgeForm, ScoreErrorForm, score_form_class


def _writable_reason(course: Course, occasion: Occasion | None = None) -> str | None:
    """None when scores may be added to ``course`` now; otherwise why not."""
    if course.is_open:
        return None
    if course.end_reason is phases.EndReason.COMPLETED:
        if occasion in (None, Occasion.FOLLOW_UP):
            return None
        return "The course is completed: only follow-up scores are added now."
    return "The course is discontinued: it is read-only."


def _own(course: Course) -> bool:
    return current_user.role != Role.THERAPIST or course.client.therapist_id == current_user.id


def medicine_dates(course_ids) -> dict[int, list[dt.date]]:
    """{course id: dates of its medicine sessions}, one query. The kind is checked here, not in
    SQL: filtering on it lets a planner pick the (kind, occurred_at) index and walk every medicine
    session of the clinic instead of these courses' few sessions."""
    from ..models import ClinicalSession, SessionKind
    from .. import clock

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
    """Everything the outcome-measures section of a course (or client) page shows. ``failed``:
    {("ack" | "error", score id): form} sent back with its messages."""
    failed = failed or {}
    rules = service.rules()
    grouped = service.by_scale(scores)
    charts = [c for c in (chart.build(scale, grouped.get(scale, []), medicine, pcl5_cutoff=rules.pcl5_cutoff)
                          for scale in Scale) if c is not None]
    results = service.outcomes(scores)
    due = service.due(course, [i.value for i in client.indications], scores, facts)
    # An open course takes any score; a completed one only its follow-ups, while they are due.
    may_enter = (may(current_user.role, Permission.ENTER_SCORES) and _own(course)
                 and _writable_reason(course) is None and (course.is_open or bool(due)))
    return {
        "course": course,
        "scores": scores,
        "charts": charts,
        "outcomes": [(results[s], results[s].sentence(rules)) for s in Scale if s in results],
        "due": due,
        "expected": scales.expected_scales([i.value for i in client.indications]),
        "may_enter": may_enter,
        "may_ack": may(current_user.role, Permission.ACKNOWLEDGE_SCORE_FLAG),
        "may_mark_error": may(current_user.role, Permission.ENTER_SCORES) and _own(course),
        "open_flags": [s for s in scores if s.flag_open],
        # One form per row (prefixed by the score's id): a failed one comes back with its message.
        "ack_form_for": lambda score_id: (failed.get(("ack", score_id))
                                          or FlagAcknowledgeForm(prefix=f"flag{score_id}", formdata=None)),
        "failed_error_form": lambda score_id: failed.get(("error", score_id)),
        "error_reasons": ERROR_REASONS,
    }


def _load_course(course_id: int) -> Course:
    return get_course_for(current_user, course_id, options=(
        joinedload(Course.client).selectinload(Client.indication_rows),))


@bp.route("/courses/<int:course_id>/scores/new/<scale>", methods=["GET", "POST"])
@requires(Permission.ENTER_SCORES)
def new_score(course_id: int, scale: str):
    try:
        scale_ = Scale(scale)
    except ValueError:
        abort(404)
    course = _load_course(course_id)
    client = course.client
    if not _own(course):
        abort(403)
    form = score_form_class(scale_)(course_started=course.started_on)
    scores = service.scores_of([course.id])
    refused = _writable_reason(course)
    if refused:
        flash(refused, "error")
        return redirect(url_for("courses.show", course_id=course.id))
    if not form.is_submitted():
        form.completed_on.data = clock.today()
        first_due = next((d for d in service.due(course, [i.value for i in client.indications], scores)
                          if d.scale is scale_), None)
        if first_due is not None:
            form.occasion.data = first_due.occasion.value
            form.session_number.data = first_due.session_number
    elif form.validate():
        occasion = Occasion(form.occasion.data)
        number = form.session_number.data if occasion is Occasion.PRE_SESSION else None
        problem = _writable_reason(course, occasion)
        duplicate = service.duplicate_of(course.id, scale_, occasion, number)
        if problem:
            form.occasion.errors = [*form.occasion.errors, problem]
        elif duplicate is not None:
            form.occasion.errors = [*form.occasion.errors,
                f"A {scale_.label} {('before medicine session %d' % number) if number else occasion.label.lower()} "
                f"is already recorded (completed {duplicate.completed_on:%d %b %Y}, total {duplicate.total}). "
                "If it was wrong, mark it entered in error on the course page first."]
        else:
            answers = [int(a) for a in form.answers()]
            total = scales.total(scale_, answers)
            flag = scales.self_harm_flag(scale_, answers)
            score = OutcomeScore(
                course_id=course.id, scale=scale_, occasion=occasion, session_number=number,
                completed_on=form.completed_on.data, answers=answers, total=total,
                band=service.band_for(scale_, total).label, self_harm_flag=flag,
                recorded_by_id=current_user.id,
            )
            db.session.add(score)
            db.session.flush()
            record(AuditAction.CREATE, "outcome_score", score.id, client_id=client.id,
                   detail=f"{scale_.label} total {total}" + (", item 9 flagged" if flag else ""))
            db.session.commit()
            if flag:
                flash(f"{scale_.label} saved: total {total}. Item 9 was answered {answers[8]}: assess the "
                      "risk of self-harm now and acknowledge the flag with what was done.", "error")
            else:
                flash(f"{scale_.label} saved: total {total} ({score.band.lower()}).", "success")
            return redirect(url_for("courses.show", course_id=course.id) + "#outcomes")
    status = 422 if form.is_submitted() else 200
    return render_template("outcomes/new.html", form=form, scale=scale_, spec=scale_.spec, course=course,
                           client=client, scores=[s for s in service.valid(scores) if s.scale is scale_]), status


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
    back = url_for("courses.show", course_id=course.id) + "#outcomes"
    if not score.self_harm_flag:
        flash("This score has no flag to acknowledge.", "info")
    elif score.flag_acknowledged_at is not None:
        flash("This flag was already acknowledged.", "info")
    elif form.validate_on_submit():
        if not set_once(OutcomeScore, score.id, OutcomeScore.flag_acknowledged_at,
                        flag_acknowledged_at=utcnow(), flag_acknowledged_by_id=current_user.id,
                        flag_action=form.flag_action.data):
            db.session.rollback()
            flash("Someone else acknowledged this flag a moment before you; your note was not saved.", "error")
            return redirect(back)
        record(AuditAction.UPDATE, "outcome_score", score.id, client_id=course.client_id,
               detail="self-harm flag acknowledged")
        db.session.commit()
        flash("Flag acknowledged.", "success")
    else:
        return _course_page_with(course, failed={("ack", score.id): form})
    return redirect(back)


@bp.route("/scores/<int:score_id>/error", methods=["POST"])
@requires(Permission.ENTER_SCORES)
def mark_in_error(score_id: int):
    score, course = _score_for(score_id)
    if not _own(course):
        abort(403)
    form = ScoreErrorForm(prefix=f"error{score.id}")
    back = url_for("courses.show", course_id=course.id) + "#outcomes"
    if score.in_error:
        flash("This score is already marked entered in error.", "info")
    elif form.validate_on_submit():
        if set_once(OutcomeScore, score.id, OutcomeScore.entered_in_error_at,
                    entered_in_error_at=utcnow(), entered_in_error_by_id=current_user.id,
                    error_reason=form.error_reason.data):
            from .. import rollup

            rollup.refresh_outcomes(db.session.connection(), [course.id])
            record(AuditAction.UPDATE, "outcome_score", score.id, client_id=course.client_id,
                   detail="entered in error")
            db.session.commit()
            flash("Marked entered in error. Enter the correct score if there is one.", "success")
        else:  # marked by someone else a moment before: theirs stands
            db.session.rollback()
            flash("Someone else marked this score entered in error a moment before you; your reason "
                  "was not saved.", "error")
    else:
        return _course_page_with(course, failed={("error", score.id): form})
    return redirect(back)


def _course_page_with(course: Course, *, failed: dict):
    """The course page again, with a failed form's messages beside its field (status 422)."""
    from ..courses.views import render_course

    return render_course(course, status=422, failed_score_forms=failed)
