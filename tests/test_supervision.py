"""Supervision through the pages: review comments and their answers, the co-sign worklist and
each supervisee's figures, and the review of safety overrides."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa

import factories
from course_support import error_beside, page, raw
from html_support import parse
from kaptracker.extensions import db
from kaptracker.models import (
    AuditAction,
    AuditEvent,
    ClinicalSession,
    OverrideReview,
    PreparationSession,
    ReviewComment,
    SafetyOverride,
    utcnow,
)
from kaptracker.models.vitals import OverrideKind

pytestmark = pytest.mark.filterwarnings("ignore::ResourceWarning")


def comments(course_id) -> list[ReviewComment]:
    db.session.expire_all()
    return list(db.session.scalars(sa.select(ReviewComment).where(ReviewComment.course_id == course_id)
                                   .order_by(ReviewComment.id)))


def _refused(statement, **params):
    with pytest.raises(sa.exc.DBAPIError) as caught:
        db.session.execute(sa.text(statement), params)
        db.session.flush()
    db.session.rollback()
    return str(caught.value)


def worklist_rows(response) -> list[str]:
    """The worklist's rows as text (the dashboard's table of items)."""
    tree = parse(response)
    return [row.text for table in tree.find_all("table") for row in table.find_all("tr")[1:]]


# --- review comments -------------------------------------------------------------------------------


def test_a_review_comment_is_seen_answered_and_leaves_the_worklist(clinic):
    course_id = factories.course(clinic).id
    url = f"/courses/{course_id}/reviews"
    empty = clinic.post(clinic.supervisor, url, {"body": "   "})
    assert empty.status_code == 422
    assert error_beside(empty, "body") == "Write the comment."
    assert comments(course_id) == []

    body = "Please add the client's own words to the intentions before the first session."
    assert clinic.post(clinic.supervisor, url, {"body": body}).status_code == 302
    (comment,) = comments(course_id)
    assert comment.author_id == clinic.supervisor.id and comment.reply_to_id is None
    assert db.session.scalar(sa.select(AuditEvent.action).where(
        AuditEvent.record_type == "review_comment", AuditEvent.record_id == comment.id)) is AuditAction.CREATE

    course_page = clinic.get(clinic.therapist, f"/courses/{course_id}")
    shown = page(course_page)
    assert body in shown and "Awaiting the therapist's answer" in shown
    assert parse(course_page).by_id(f"reply{comment.id}-body") is not None
    # The therapist's worklist lists it, and so does the supervisor's.
    waiting = clinic.get(clinic.therapist, "/dashboard/?flag=review")
    assert waiting.status_code == 200
    assert f"/courses/{course_id}" in raw(waiting)
    assert any(clinic.record.family_name in row for row in worklist_rows(waiting))
    assert f"/courses/{course_id}" in raw(clinic.get(clinic.supervisor, "/dashboard/?flag=review"))
    # Another therapist's worklist does not.
    assert f"/courses/{course_id}" not in raw(clinic.get(clinic.other_therapist, "/dashboard/?flag=review"))

    field = f"reply{comment.id}-body"
    reply_url = f"/reviews/{comment.id}/reply"
    assert clinic.post(clinic.other_therapist, reply_url, {field: "Not my client."}).status_code == 404
    assert clinic.post(clinic.medical, reply_url, {field: "Medical view."}).status_code == 403
    blank = clinic.post(clinic.therapist, reply_url, {field: ""})
    assert blank.status_code == 422 and error_beside(blank, field) == "Write the answer."
    assert len(comments(course_id)) == 1

    answer = "Added them from the preparation session of today."
    assert clinic.post(clinic.therapist, reply_url, {field: answer}).status_code == 302
    root, reply = comments(course_id)
    assert reply.reply_to_id == root.id and reply.author_id == clinic.therapist.id and reply.body == answer
    after = clinic.get(clinic.therapist, f"/courses/{course_id}")
    assert answer in page(after) and "Answered" in page(after)
    assert "Awaiting the therapist's answer" not in page(after)
    assert f"/courses/{course_id}" not in raw(clinic.get(clinic.therapist, "/dashboard/?flag=review"))
    assert f"/courses/{course_id}" not in raw(clinic.get(clinic.supervisor, "/dashboard/?flag=review"))


def test_a_reply_to_a_reply_joins_its_thread(clinic):
    course_id = factories.course(clinic).id
    clinic.post(clinic.supervisor, f"/courses/{course_id}/reviews", {"body": "First question."})
    (root,) = comments(course_id)
    clinic.post(clinic.therapist, f"/reviews/{root.id}/reply", {f"reply{root.id}-body": "First answer."})
    answer = comments(course_id)[1]
    # Answering the answer: the form is the thread's (prefix of the root), the reply goes to the root.
    response = clinic.post(clinic.supervisor, f"/reviews/{answer.id}/reply", {f"reply{root.id}-body": "Thanks."})
    assert response.status_code == 302
    assert [c.reply_to_id for c in comments(course_id)] == [None, root.id, root.id]


def test_who_may_comment(clinic):
    course_id = factories.course(clinic).id
    url = f"/courses/{course_id}/reviews"
    assert clinic.post(clinic.medical, url, {"body": "A comment."}).status_code == 403
    assert clinic.post(clinic.therapist, url, {"body": "A comment."}).status_code == 403
    assert clinic.post(clinic.admin, url, {"body": "A comment."}).status_code == 403
    assert clinic.post(clinic.supervisor, "/courses/999999/reviews", {"body": "A comment."}).status_code == 404
    assert clinic.post(clinic.therapist, "/reviews/999999/reply", {"reply999999-body": "x"}).status_code == 404
    assert comments(course_id) == []
    assert "Add review comment" not in page(clinic.get(clinic.therapist, f"/courses/{course_id}"))
    assert "Add review comment" in page(clinic.get(clinic.supervisor, f"/courses/{course_id}"))


def test_review_comments_are_append_only_in_the_database(clinic):
    course_id = factories.course(clinic).id
    clinic.post(clinic.supervisor, f"/courses/{course_id}/reviews", {"body": "Original wording."})
    (comment,) = comments(course_id)
    assert "append-only" in _refused("UPDATE review_comment SET body = 'Rewritten.' WHERE id = :i", i=comment.id)
    assert "append-only" in _refused("UPDATE review_comment SET author_id = :u WHERE id = :i",
                                     i=comment.id, u=clinic.therapist.id)
    assert "append-only" in _refused("DELETE FROM review_comment WHERE id = :i", i=comment.id)
    # The control: a new row is accepted.
    db.session.execute(sa.text(
        "INSERT INTO review_comment (course_id, reply_to_id, author_id, body, created_at) "
        "VALUES (:c, :r, :u, 'An answer.', CURRENT_TIMESTAMP)"),
        {"c": course_id, "r": comment.id, "u": clinic.therapist.id})
    db.session.commit()
    assert [c.body for c in comments(course_id)] == ["Original wording.", "An answer."]


# --- co-signing --------------------------------------------------------------------------------------


def test_the_cosign_worklist_lists_a_supervisees_signed_notes_and_cosigns_them(clinic):
    course_id = factories.course(clinic).id
    signed = factories.preparation(clinic, course_id).id
    draft = factories.preparation(clinic, course_id, signed=False).id
    url = f"/supervision/?therapist={clinic.therapist.id}"
    assert clinic.get(clinic.therapist, url).status_code == 403
    assert clinic.get(clinic.medical, url).status_code == 403
    worklist = clinic.get(clinic.supervisor, url)
    assert worklist.status_code == 200
    html = raw(worklist)
    assert f"/supervision/cosign/{signed}" in html
    assert f"/supervision/cosign/{draft}" not in html
    assert clinic.therapist.name in page(worklist)
    # Another supervisee's list does not hold it.
    assert f"/supervision/cosign/{signed}" not in raw(
        clinic.get(clinic.supervisor, f"/supervision/?therapist={clinic.other_therapist.id}"))

    assert clinic.post(clinic.therapist, f"/supervision/cosign/{signed}").status_code == 403
    done = clinic.http(clinic.supervisor).post(f"/supervision/cosign/{signed}", follow_redirects=True)
    assert done.status_code == 200 and "co-signed" in page(done)
    assert f"/supervision/cosign/{signed}" not in raw(done)
    db.session.expire_all()
    note = db.session.get(ClinicalSession, signed)
    assert note.cosigned_by_id == clinic.supervisor.id and note.cosigned_at is not None
    event = db.session.scalars(sa.select(AuditEvent).where(
        AuditEvent.record_id == signed, AuditEvent.detail == "co-signed from the worklist")).one()
    assert event.user_id == clinic.supervisor.id and event.action is AuditAction.UPDATE
    first_cosign = note.cosigned_at

    again = clinic.http(clinic.supervisor).post(f"/supervision/cosign/{signed}", follow_redirects=True)
    assert again.status_code == 200 and "This note is already co-signed." in page(again)
    db.session.expire_all()
    assert db.session.get(ClinicalSession, signed).cosigned_at == first_cosign
    refused_draft = clinic.http(clinic.supervisor).post(f"/supervision/cosign/{draft}", follow_redirects=True)
    assert "A note is co-signed after its author has signed it." in page(refused_draft)
    assert clinic.post(clinic.supervisor, "/supervision/cosign/999999").status_code == 404


def _note(course_id, author_id, occurred_at, signed_at=None, cosigned_by=None):
    note = PreparationSession(course_id=course_id, author_id=author_id, occurred_at=occurred_at,
                              note="A note.", signed_at=signed_at,
                              signed_by_id=author_id if signed_at else None)
    if cosigned_by is not None:
        note.cosigned_at, note.cosigned_by_id = signed_at + dt.timedelta(hours=1), cosigned_by
    db.session.add(note)
    return note


@pytest.mark.parametrize("microseconds", [0, 123456])
def test_supervisee_figures_at_the_boundary(clinic, microseconds):
    """Signed on time = within review.unsigned_after_hours (24) of the session, that instant
    included; unsigned late = unsigned and older than that. SQLite computes the limit in SQL text,
    PostgreSQL with an interval: both must agree, to the microsecond."""
    from kaptracker.supervision.worklist import supervisee_figures

    course_id = factories.course(clinic).id
    me, boss = clinic.therapist.id, clinic.supervisor.id
    now = utcnow().replace(microsecond=500000)
    day = dt.timedelta(hours=24)
    tick = dt.timedelta(microseconds=1)
    at = (now - dt.timedelta(days=10)).replace(microsecond=microseconds)
    _note(course_id, me, at, at + dt.timedelta(hours=1), cosigned_by=boss)  # on time, co-signed
    _note(course_id, me, at, at + day, cosigned_by=boss)  # on time: exactly at the limit
    _note(course_id, me, at, at + day - tick)  # on time: just before
    _note(course_id, me, at, at + day + tick)  # late: just after
    _note(course_id, me, at, at + dt.timedelta(days=3))  # late
    _note(course_id, me, now - day - tick)  # unsigned, just past the limit: late
    _note(course_id, me, now - day)  # unsigned, exactly at the limit: not yet late
    _note(course_id, me, now - dt.timedelta(hours=2))  # unsigned, recent
    _note(course_id, me, now - dt.timedelta(days=91), now - dt.timedelta(days=91))  # outside the window
    _note(course_id, clinic.other_therapist.id, at, at + dt.timedelta(days=5))  # someone else's
    db.session.commit()
    figures = supervisee_figures([me, clinic.other_therapist.id, clinic.medical.id], now)
    mine = figures[me]
    assert (mine["notes"], mine["signed"], mine["on_time"], mine["cosigned"], mine["late"]) == (8, 5, 3, 2, 1)
    theirs = figures[clinic.other_therapist.id]
    assert (theirs["notes"], theirs["signed"], theirs["on_time"], theirs["late"]) == (1, 1, 0, 0)
    assert clinic.medical.id not in figures


def test_the_figures_on_the_worklist_page(clinic):
    course_id = factories.course(clinic).id
    me, boss = clinic.therapist.id, clinic.supervisor.id
    now = utcnow()
    at = now - dt.timedelta(days=5)
    _note(course_id, me, at, at + dt.timedelta(hours=2), cosigned_by=boss)
    _note(course_id, me, at, at + dt.timedelta(hours=30))
    _note(course_id, me, now - dt.timedelta(hours=30))
    db.session.commit()
    response = clinic.get(clinic.supervisor, "/supervision/")
    assert response.status_code == 200
    row = next(r for r in parse(response).find_all("tr") if clinic.therapist.name in r.text)
    cells = [c.text for c in row.find_all("td")]
    assert cells == ["Therapist", "3", "1 of 2 (50 %)", "1 of 2 (50 %)", "1", "1 to co-sign"], cells


# --- safety overrides ------------------------------------------------------------------------------


def _override(clinic) -> tuple[int, int]:
    course_id = factories.ready(clinic).id
    dosing = factories.medicine(clinic, course_id, "im", "draft").id
    override = SafetyOverride(session_id=dosing, kind=list(OverrideKind)[0], rules="bp_hold",
                              reason="Baseline 162/98 after a brisk walk; repeat reading settled.",
                              created_by_id=clinic.medical.id)
    db.session.add(override)
    db.session.commit()
    return override.id, course_id


def test_an_override_is_reviewed_once_and_leaves_the_worklist(clinic):
    override_id, course_id = _override(clinic)
    url = f"/overrides/{override_id}"
    listed = clinic.get(clinic.supervisor, "/dashboard/?flag=override")
    assert url in raw(listed)
    # Only supervisors review overrides, and see them on the worklist.
    assert clinic.get(clinic.therapist, url).status_code == 403
    assert clinic.get(clinic.medical, url).status_code == 403
    assert url not in raw(clinic.get(clinic.therapist, "/dashboard/?flag=override"))
    shown = clinic.get(clinic.supervisor, url)
    assert shown.status_code == 200 and "Baseline 162/98 after a brisk walk" in page(shown)
    empty = clinic.post(clinic.supervisor, url, {"note": " "})
    assert empty.status_code == 422
    assert error_beside(empty, "note") == "Write what you concluded about this override."
    done = clinic.post(clinic.supervisor, url, {"note": "Reasonable: the repeat reading was below the hold."})
    assert done.status_code == 302 and "/dashboard/" in done.headers["Location"]
    assert url not in raw(clinic.get(clinic.supervisor, "/dashboard/?flag=override"))
    second = clinic.post(clinic.supervisor, url, {"note": "A second opinion."})
    assert second.status_code == 200
    reviews = list(db.session.scalars(sa.select(OverrideReview).where(OverrideReview.override_id == override_id)))
    assert len(reviews) == 1 and reviews[0].note.startswith("Reasonable")
    assert "Reasonable: the repeat reading" in page(second)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(AuditEvent).where(
        AuditEvent.record_type == "safety_override", AuditEvent.record_id == override_id,
        AuditEvent.detail == "reviewed")) == 1
    # The database keeps it to one review, and the review unedited.
    _refused("INSERT INTO override_review (override_id, reviewed_by_id, reviewed_at, note) "
             "VALUES (:o, :u, CURRENT_TIMESTAMP, 'Again.')", o=override_id, u=clinic.supervisor.id)
    assert "append-only" in _refused("UPDATE override_review SET note = 'Changed.' WHERE override_id = :o",
                                     o=override_id)
    assert clinic.get(clinic.supervisor, "/overrides/999999").status_code == 404
