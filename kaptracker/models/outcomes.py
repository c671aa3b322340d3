"""Outcome measures (PHQ-9, GAD-7, PCL-5) and supervision: review comments, override reviews.

Scores are never edited (database triggers, migration 0004): a wrong one is marked entered in
error and typed in again; the self-harm flag changes only by being acknowledged, once.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import JSON, CheckConstraint, ForeignKey, Index, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from ..rules.scales import Occasion, Scale
from .base import ERROR_MARK, EnteredInError, UTCDateTime, set_together, str_enum, utcnow
from .courses import Course
from .users import User
from .vitals import SafetyOverride


class OutcomeScore(EnteredInError, db.Model):
    __tablename__ = "outcome_score"
    __table_args__ = (
        CheckConstraint("total >= 0 AND total <= 80", name="total_range"),
        CheckConstraint(
            "(occasion = 'pre_session' AND session_number IS NOT NULL AND session_number BETWEEN 1 AND 24)"
            " OR (occasion <> 'pre_session' AND session_number IS NULL)",
            name="session_number_for_pre_session",
        ),
        CheckConstraint("self_harm_flag OR flag_acknowledged_at IS NULL", name="ack_needs_flag"),
        set_together("flag_acknowledged_together", "flag_acknowledged_at", "flag_acknowledged_by_id",
                     "flag_action"),
        set_together("error_marked_together", *ERROR_MARK),
        Index("ix_outcome_score_course_scale", "course_id", "scale", "completed_on"),
        # The worklist: self-harm flags not yet acknowledged.
        Index("ix_outcome_score_open_flag", "course_id",
              sqlite_where=text("self_harm_flag AND flag_acknowledged_at IS NULL"),
              postgresql_where=text("self_harm_flag AND flag_acknowledged_at IS NULL")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    course_id: Mapped[int] = mapped_column(ForeignKey("course.id"))
    scale: Mapped[Scale] = mapped_column(str_enum(Scale, "scale"))
    occasion: Mapped[Occasion] = mapped_column(str_enum(Occasion, "score_occasion"))
    session_number: Mapped[int | None]  # PRE_SESSION: completed before medicine session n
    completed_on: Mapped[dt.date]
    answers: Mapped[list[int]] = mapped_column(JSON)
    total: Mapped[int]
    band: Mapped[str] = mapped_column(String(40))
    self_harm_flag: Mapped[bool] = mapped_column(default=False)
    recorded_by_id: Mapped[int] = mapped_column(ForeignKey("user.id"))
    recorded_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    flag_acknowledged_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    flag_acknowledged_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    flag_action: Mapped[str | None] = mapped_column(Text)

    course: Mapped[Course] = relationship()
    recorded_by: Mapped[User] = relationship(foreign_keys=[recorded_by_id])
    flag_acknowledged_by: Mapped[User | None] = relationship(foreign_keys=[flag_acknowledged_by_id])

    @property
    def flag_open(self) -> bool:
        return self.self_harm_flag and self.flag_acknowledged_at is None and not self.in_error

    @property
    def occasion_label(self) -> str:
        if self.occasion is Occasion.PRE_SESSION:
            return f"Before medicine session {self.session_number}"
        return self.occasion.label


class ReviewComment(db.Model):
    """A supervisor's review comment on a course, and the replies to it. Never edited."""

    __tablename__ = "review_comment"
    __table_args__ = (
        CheckConstraint("reply_to_id IS NULL OR reply_to_id <> id", name="not_own_reply"),
        Index("ix_review_comment_course", "course_id", "created_at"),
        Index("ix_review_comment_reply_to", "reply_to_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    course_id: Mapped[int] = mapped_column(ForeignKey("course.id"))
    reply_to_id: Mapped[int | None] = mapped_column(ForeignKey("review_comment.id"))
    author_id: Mapped[int] = mapped_column(ForeignKey("user.id"))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    course: Mapped[Course] = relationship()
    author: Mapped[User] = relationship()


class OverrideReview(db.Model):
    """A supervisor has looked at a safety override (dose given or discharge against a rule)."""

    __tablename__ = "override_review"

    id: Mapped[int] = mapped_column(primary_key=True)
    override_id: Mapped[int] = mapped_column(ForeignKey("safety_override.id"), unique=True)
    reviewed_by_id: Mapped[int] = mapped_column(ForeignKey("user.id"))
    reviewed_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    note: Mapped[str] = mapped_column(Text)

    override: Mapped[SafetyOverride] = relationship()
    reviewed_by: Mapped[User] = relationship()


class CourseOutcome(db.Model):
    """Per course and scale, the baseline and latest valid scores, as kaptracker.rules.scales
    picks them: kept by kaptracker.rollup after every change of a course's scores, so
    outcomes across a caseload of any size are one GROUP BY (response and remission are judged
    in that query with the settings in force)."""

    __tablename__ = "course_outcome"

    course_id: Mapped[int] = mapped_column(ForeignKey("course.id"), primary_key=True)
    scale: Mapped[Scale] = mapped_column(str_enum(Scale, "outcome_scale"), primary_key=True)
    baseline_total: Mapped[int]
    latest_total: Mapped[int]
    measured: Mapped[bool]  # a baseline and a later score: response and remission can be judged

