"""The review-comments section of a course page: the threads, who may comment and answer, and
their forms."""

from __future__ import annotations

from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from ..extensions import db
from ..models import Course, ReviewComment
from ..rules.access import Permission, Role, may
from ..services.supervision import may_reply
from .forms import CommentForm, ReplyForm


def threads_of(course_id: int) -> list[tuple[ReviewComment, list[ReviewComment]]]:
    """Each comment that starts a thread, oldest first, with its answers."""
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


def review_panel(course: Course, *, comment_form=None, reply_form=None, reply_to_id=None) -> dict:
    """What the section shows to the signed-in user; a failed form comes back with its messages."""
    threads = threads_of(course.id)
    return {
        "threads": [
            # Awaiting until the therapist has answered (as the worklist counts it).
            (root, answers, not any(a.author.role == Role.THERAPIST for a in answers))
            for root, answers in threads
        ],
        "may_comment": may(current_user.role, Permission.COMMENT_REVIEW),
        "may_reply": may_reply(course, current_user),
        "comment_form": comment_form or CommentForm(),
        "reply_form": reply_form,
        "reply_to_id": reply_to_id,
        # One reply form per thread (prefixed by its id), so the fields' ids are unique.
        "fresh_reply_form": lambda root_id: ReplyForm(prefix=f"reply{root_id}", formdata=None),
    }


__all__ = ["review_panel", "threads_of"]
