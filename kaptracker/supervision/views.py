"""Supervision: review comments on courses and their answers, the co-sign worklist with each
supervisee's figures, and the review of safety overrides."""

from __future__ import annotations

import datetime as dt

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import and_, case, func, select
from sqlalchemy.orm import joinedload

from .. import settings
from ..access import get_course_for, get_session_for, requires
from ..auditing import record, shown, listed
from ..courses import service as course_service
from ..extensions import db
from ..models import (
    AuditAction,
    Client,
    ClinicalSession,
    Course,
    OverrideReview,
    ReviewComment,
    SafetyOverride,
    User,
    utcnow,
)
from ..rules.access import Permission, Role, may
from ..forms import positive_int
from . import bp
from .forms import CommentForm, OverrideReviewForm, ReplyForm
from .sql import plus_hours

# --- review comments ---------------------------------------------------------------------------


def threads_of(course_id: int) -> list[tuple[ReviewComment, list[ReviewComment]]]:
    comments = list(db.session.scalars(
        select(ReviewComment).where(ReviewComment.course_id == course_id)
        .options(joinedload(ReviewComment.author)).order_by(ReviewComment.created_at, ReviewComment.id)
    ))
    replies: dict[int, list[ReviewComment]] = {}
    roots = []
    for comment in comments:
        if comment.reply_to_id is None:
            roots.append(comment)
        else:
            replies.setdefault(comment.reply_to_id, []).append(comment)
    return [(root, replies.get(root.id, [])) for root in roots]


def may_reply(course: Course) -> bool:
    if not may(current_user.role, Permission.REPLY_REVIEW):
        return False
    return current_user.role != Role.THERAPIST or course.client.therapist_id == current_user.id


def review_panel(course: Course, *, comment_form=None, reply_form=None, reply_to_id=None) -> dict:
    threads = threads_of(course.id)
    return {
        "threads": [
            # Awaiting until the therapist has answered (as the worklist counts it).
            (root, answers, not any(a.author.role == Role.THERAPIST for a in answers))
            for root, answers in threads
        ],
        "may_comment": may(current_user.role, Permission.COMMENT_REVIEW),
        "may_reply": may_reply(course),
        "comment_form": comment_form or CommentForm(),
        "reply_form": reply_form,
        "reply_to_id": reply_to_id,
        # One reply form per thread (prefixed by its id), so the fields' ids are unique.
        "fresh_reply_form": lambda root_id: ReplyForm(prefix=f"reply{root_id}", formdata=None),
    }


# What the course page (sent back with a failed form) reads of the course: its client and the
# client's indications (what is due), loaded with it rather than lazily.
_COURSE_PAGE = (joinedload(Course.client).selectinload(Client.indication_rows),)


def _course_page(course, **forms):
    from ..courses.views import render_course

    return render_course(course, status=422, **forms)


@bp.route("/courses/<int:course_id>/reviews", methods=["POST"])
@requires(Permission.COMMENT_REVIEW)
def add_comment(course_id: int):
    course = get_course_for(current_user, course_id, options=_COURSE_PAGE)
    form = CommentForm()
    if not form.validate_on_submit():
        return _course_page(course, comment_form=form)
    comment = ReviewComment(course_id=course.id, author_id=current_user.id, body=form.body.data)
    db.session.add(comment)
    db.session.flush()
    record(AuditAction.CREATE, "review_comment", comment.id, client_id=course.client_id)
    db.session.commit()
    flash("Review comment added. The therapist sees it on this course and on their dashboard.", "success")
    return redirect(url_for("courses.show", course_id=course.id) + "#reviews")


@bp.route("/reviews/<int:comment_id>/reply", methods=["POST"])
@requires(Permission.REPLY_REVIEW)
def reply(comment_id: int):
    course_id = db.session.scalar(select(ReviewComment.course_id).where(ReviewComment.id == comment_id))
    if course_id is None:
        abort(404)
    course = get_course_for(current_user, course_id, options=_COURSE_PAGE)
    comment = db.session.get(ReviewComment, comment_id)
    root_id = comment.reply_to_id or comment.id
    if not may_reply(course):
        abort(403)
    form = ReplyForm(prefix=f"reply{root_id}")
    if not form.validate_on_submit():
        return _course_page(course, reply_form=form, reply_to_id=root_id)
    answer = ReviewComment(course_id=course.id, author_id=current_user.id, body=form.body.data,
                           reply_to_id=root_id)
    db.session.add(answer)
    db.session.flush()
    record(AuditAction.CREATE, "review_comment", answer.id, client_id=course.client_id, detail=f"reply to {root_id}")
    db.session.commit()
    flash("Answer sent.", "success")
    return redirect(url_for("courses.show", course_id=course.id) + "#reviews")


# --- co-sign worklist and figures --------------------------------------------------------------


def supervisee_figures(author_ids: list[int], now: dt.datetime) -> dict[int, dict]:
    """Per author, over the window: notes signed, signed on time, co-signed, unsigned late."""
    if not author_ids:
        return {}
    values = settings.current()
    hours = values["review.unsigned_after_hours"]
    since = now - dt.timedelta(days=values["review.cosign_window_days"])
    late_limit = now - dt.timedelta(hours=hours)
    cs = ClinicalSession
    rows = db.session.execute(
        select(
            cs.author_id,
            func.count(cs.signed_at).label("signed"),
            func.sum(case((and_(cs.signed_at.is_not(None), cs.signed_at <= plus_hours(cs.occurred_at, hours)), 1),
                          else_=0)).label("on_time"),
            func.count(cs.cosigned_at).label("cosigned"),
            func.sum(case((and_(cs.signed_at.is_(None), cs.occurred_at < late_limit), 1), else_=0)).label("late"),
            func.count().label("notes"),
        )
        .where(cs.author_id.in_(author_ids), cs.occurred_at >= since)
        .group_by(cs.author_id)
    )
    return {row.author_id: row._asdict() for row in rows}


@bp.route("/supervision/")
@requires(Permission.COSIGN)
def cosign_worklist():
    therapist_id = request.args.get("therapist", type=positive_int)
    page_number = request.args.get("page", 1, type=positive_int) or 1
    now = utcnow()
    staff_page = db.paginate(
        select(User).where(User.role.in_([Role.THERAPIST, Role.MEDICAL]), User.active.is_(True))
        .order_by(User.name, User.id),
        page=page_number, per_page=current_app.config.get("STAFF_PER_PAGE", 25), error_out=False,
    )
    figures = supervisee_figures([u.id for u in staff_page.items], now)
    waiting_counts = dict(db.session.execute(
        select(ClinicalSession.author_id, func.count())
        .where(ClinicalSession.signed_at.is_not(None), ClinicalSession.cosigned_at.is_(None),
               ClinicalSession.author_id.in_([u.id for u in staff_page.items]))
        .group_by(ClinicalSession.author_id)
    ).all())
    notes = []
    chosen = None
    if therapist_id:
        chosen = db.session.get(User, therapist_id)
        if chosen is None or chosen.role not in (Role.THERAPIST, Role.MEDICAL):
            chosen = None
    if chosen is not None:
        notes = list(db.session.scalars(
            select(ClinicalSession)
            .where(ClinicalSession.author_id == chosen.id, ClinicalSession.signed_at.is_not(None),
                   ClinicalSession.cosigned_at.is_(None))
            .options(joinedload(ClinicalSession.course).joinedload(Course.client))
            .order_by(ClinicalSession.signed_at).limit(100)
        ))
    record(AuditAction.VIEW, "cosign_worklist", chosen.id if chosen else None,
           detail=f"{len(notes)} notes listed" if chosen else "figures")
    db.session.commit()
    listed(n.course.client_id for n in notes)
    values = settings.current()
    return render_template(
        "supervision/cosign.html", staff_page=staff_page, figures=figures, waiting=waiting_counts,
        chosen=chosen, notes=notes, hours=values["review.unsigned_after_hours"],
        window_days=values["review.cosign_window_days"],
    )


@bp.route("/supervision/cosign/<int:session_id>", methods=["POST"])
@requires(Permission.COSIGN)
def cosign(session_id: int):
    session = get_session_for(current_user, session_id, options=(joinedload(ClinicalSession.course),))
    reason = course_service.cosign(session, current_user, detail="co-signed from the worklist")
    if reason:
        flash(reason, "error")
    else:
        db.session.commit()
        flash(f"{session.kind.label} of {session.occurred_at:%d %b} co-signed.", "success")
    return redirect(url_for("supervision.cosign_worklist", therapist=session.author_id))


# --- safety overrides --------------------------------------------------------------------------


def _override(override_id: int) -> tuple[SafetyOverride, ClinicalSession]:
    session_id = db.session.scalar(select(SafetyOverride.session_id).where(SafetyOverride.id == override_id))
    if session_id is None:
        abort(404)
    session = get_session_for(current_user, session_id, options=(
        joinedload(ClinicalSession.course).joinedload(Course.client),))
    override = db.session.scalars(
        select(SafetyOverride).where(SafetyOverride.id == override_id)
        .options(joinedload(SafetyOverride.created_by))
    ).one()
    return override, session


@bp.route("/overrides/<int:override_id>", methods=["GET", "POST"])
@requires(Permission.REVIEW_OVERRIDE)
def review_override(override_id: int):
    override, session = _override(override_id)
    review = db.session.scalars(
        select(OverrideReview).where(OverrideReview.override_id == override.id)
        .options(joinedload(OverrideReview.reviewed_by))
    ).first()
    form = OverrideReviewForm()
    if request.method == "POST" and review is None and form.validate_on_submit():
        review = OverrideReview(override_id=override.id, reviewed_by_id=current_user.id, note=form.note.data)
        db.session.add(review)
        try:
            db.session.flush()
        except Exception:  # noqa: BLE001 - the unique constraint: someone reviewed it first
            db.session.rollback()
            flash("Someone else reviewed this override a moment before you; your note was not saved.", "error")
            return redirect(url_for("supervision.review_override", override_id=override.id))
        record(AuditAction.UPDATE, "safety_override", override.id, client_id=session.course.client_id,
               detail="reviewed")
        db.session.commit()
        flash("Override marked reviewed.", "success")
        return redirect(url_for("dashboard.index", flag="override"))
    shown("safety_override", override.id, client_id=session.course.client_id)
    status = 422 if request.method == "POST" and review is None else 200
    from ..rules.vitals import RULE_LABELS

    rules = [RULE_LABELS.get(key, key.replace("_", " ")) for key in override.rules.split(",") if key]
    return render_template("supervision/override.html", override=override, session=session,
                           course=session.course, client=session.course.client, review=review,
                           form=form, rules=rules), status
