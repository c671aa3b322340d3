"""Supervision: review comments on courses and their answers, the co-sign worklist with each
supervisee's figures, and the review of safety overrides."""

from __future__ import annotations

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from ..courses.pages import render_course
from ..access import get_course_for, get_session_for, requires
from ..scope import listing_clause, staff_clause
from ..auditing import record, shown, listed
from ..courses import service as course_service
from ..extensions import db
from ..forms import positive_int
from ..models import AuditAction, Client, ClinicalSession, Course, OverrideReview, ReviewComment, SafetyOverride, utcnow
from ..rules.access import Permission
from ..rules.vitals import RULE_LABELS
from ..services import apply_problems
from ..services import supervision as supervision_commands
from ..services.once import told
from . import bp
from .forms import CommentForm, OverrideReviewForm, ReplyForm
from .worklist import worklist

# --- review comments ---------------------------------------------------------------------------

# What the course page (sent back with a failed form) reads of the course: its client and the
# client's indications (what is due), loaded with it rather than lazily.
_COURSE_PAGE = (joinedload(Course.client).selectinload(Client.indication_rows),)


def _course_page(course, form, outcome=None, **forms):
    """The course page again with the failed form's messages beside its fields (status 422)."""
    if outcome is not None:
        for message in apply_problems(form, outcome):
            flash(message, "error")
    return render_course(course, status=422, **forms)


def _reviews_of(course):
    return redirect(url_for("courses.show", course_id=course.id) + "#reviews")


def _posted(course, command, record, form, **forms):
    """Run ``command`` on ``record`` with a valid posted ``form``: to the course's reviews, told
    the outcome; else the course page again with the form (``forms``: its name on the page)."""
    outcome = None
    if form.validate_on_submit():
        outcome = command(record, form.data, current_user)
        if outcome.ok:
            flash(outcome.message, outcome.category)
            return _reviews_of(course)
    return _course_page(course, form, outcome, **forms)


@bp.route("/courses/<int:course_id>/reviews", methods=["POST"])
@requires(Permission.COMMENT_REVIEW)
def add_comment(course_id: int):
    course = get_course_for(current_user, course_id, options=_COURSE_PAGE)
    form = CommentForm()
    return _posted(course, supervision_commands.add_comment, course, form, comment_form=form)


@bp.route("/reviews/<int:comment_id>/reply", methods=["POST"])
@requires(Permission.REPLY_REVIEW)
def reply(comment_id: int):
    course_id = db.session.scalar(select(ReviewComment.course_id).where(ReviewComment.id == comment_id))
    if course_id is None:
        abort(404)
    course = get_course_for(current_user, course_id, options=_COURSE_PAGE)
    comment = db.session.get(ReviewComment, comment_id)
    if not supervision_commands.may_reply(course, current_user):
        abort(403)
    root_id = comment.reply_to_id or comment.id
    form = ReplyForm(prefix=f"reply{root_id}")
    return _posted(course, supervision_commands.reply, comment, form, reply_form=form, reply_to_id=root_id)


# --- co-sign worklist ----------------------------------------------------------------------------


@bp.route("/supervision/")
@requires(Permission.COSIGN)
def cosign_worklist():
    work = worklist(request.args.get("therapist", type=positive_int),
                    request.args.get("page", 1, type=positive_int) or 1,
                    current_app.config.get("STAFF_PER_PAGE", 25), utcnow(),
                    staff=staff_clause(current_user), clients=listing_clause(current_user))
    chosen = work.chosen
    record(AuditAction.VIEW, "cosign_worklist", chosen.id if chosen else None,
           detail=f"{len(work.notes)} notes listed" if chosen else "figures")
    db.session.commit()
    listed(n.course.client_id for n in work.notes)
    return render_template(
        "supervision/cosign.html", staff_page=work.staff_page, figures=work.figures, waiting=work.waiting,
        chosen=chosen, notes=work.notes, hours=work.hours, window_days=work.window_days,
    )


@bp.route("/supervision/cosign/<int:session_id>", methods=["POST"])
@requires(Permission.COSIGN)
def cosign(session_id: int):
    clinical = get_session_for(current_user, session_id, options=(joinedload(ClinicalSession.course),))
    reason = course_service.cosign(clinical, current_user, detail="co-signed from the worklist")
    if reason:
        flash(reason, "error")
    else:
        db.session.commit()
        flash(f"{clinical.kind.label} of {clinical.occurred_at:%d %b} co-signed.", "success")
    return redirect(url_for("supervision.cosign_worklist", therapist=clinical.author_id))


# --- safety overrides --------------------------------------------------------------------------


def _override(override_id: int) -> tuple[SafetyOverride, ClinicalSession, OverrideReview | None]:
    """The override (404 when there is none), its session (through the access rules) and its review."""
    session_id = db.session.scalar(select(SafetyOverride.session_id).where(SafetyOverride.id == override_id))
    if session_id is None:
        abort(404)
    clinical = get_session_for(current_user, session_id, options=(
        joinedload(ClinicalSession.course).joinedload(Course.client),))
    override = db.session.scalars(
        select(SafetyOverride).where(SafetyOverride.id == override_id)
        .options(joinedload(SafetyOverride.created_by))
    ).one()
    review = db.session.scalars(
        select(OverrideReview).where(OverrideReview.override_id == override.id)
        .options(joinedload(OverrideReview.reviewed_by))
    ).first()
    return override, clinical, review


@bp.route("/overrides/<int:override_id>", methods=["GET", "POST"])
@requires(Permission.REVIEW_OVERRIDE)
def review_override(override_id: int):
    override, clinical, review = _override(override_id)
    form = OverrideReviewForm()
    sent = request.method == "POST" and review is None  # a review already made is shown, not replaced
    if sent and form.validate_on_submit():
        outcome = supervision_commands.review_override(override, form.data, current_user, existing=review)
        flash(told(outcome), outcome.category)
        if outcome.ok:
            return redirect(url_for("dashboard.index", flag="override"))
        return redirect(url_for("supervision.review_override", override_id=override.id))
    shown("safety_override", override.id, client_id=clinical.course.client_id)
    rules = [RULE_LABELS.get(key, key.replace("_", " ")) for key in override.rules.split(",") if key]
    return render_template("supervision/override.html", override=override, session=clinical,
                           course=clinical.course, client=clinical.course.client, review=review,
                           form=form, rules=rules), 422 if sent else 200
