"""Vital signs, the safety alerts they raise, and overrides recorded with a reason."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text, and_, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from ..rules.labels import LabelledEnum
from ..rules.vitals import Level, Timepoint
from .base import ERROR_MARK, EnteredInError, UTCDateTime, set_together, str_enum, utcnow
from .courses import ClinicalSession
from .users import User


class VitalSign(EnteredInError, db.Model):
    """One set of readings. Never edited: a wrong one is marked entered in error (who, when,
    why) and a new reading is entered; the database refuses any other change."""

    __tablename__ = "vital_sign"
    __table_args__ = (
        CheckConstraint("systolic BETWEEN 60 AND 260", name="systolic_plausible"),
        CheckConstraint("diastolic BETWEEN 30 AND 160", name="diastolic_plausible"),
        CheckConstraint("systolic > diastolic", name="systolic_above_diastolic"),
        CheckConstraint("heart_rate BETWEEN 30 AND 220", name="heart_rate_plausible"),
        CheckConstraint("spo2 IS NULL OR spo2 BETWEEN 50 AND 100", name="spo2_plausible"),
        set_together("error_marked_together", *ERROR_MARK),
        Index("ix_vital_sign_session_taken", "session_id", "taken_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("clinical_session.id"))
    taken_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    timepoint: Mapped[Timepoint] = mapped_column(str_enum(Timepoint, "timepoint"))
    systolic: Mapped[int]
    diastolic: Mapped[int]
    heart_rate: Mapped[int]
    spo2: Mapped[int | None]
    note: Mapped[str | None] = mapped_column(Text)
    recorded_by_id: Mapped[int] = mapped_column(ForeignKey("user.id"))
    recorded_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    session: Mapped[ClinicalSession] = relationship()
    recorded_by: Mapped[User] = relationship(foreign_keys=[recorded_by_id])


class SafetyAlert(db.Model):
    """A rule that fired on a session's readings. Shown on the session, course, client list and
    supervisors' views until someone acknowledges it, or until it is withdrawn because a reading
    it rests on was marked entered in error (it then stays in the history, marked withdrawn)."""

    __tablename__ = "safety_alert"
    __table_args__ = (
        # Raised once per rule and reading, among the alerts not withdrawn (migration 0009).
        Index("uq_safety_alert_once", "session_id", "rule", "vital_sign_id", unique=True,
              sqlite_where=text("withdrawn_at IS NULL"), postgresql_where=text("withdrawn_at IS NULL")),
        set_together("acknowledged_together", "acknowledged_at", "acknowledged_by_id"),
        set_together("withdrawn_together", "withdrawn_at", "withdrawn_reason"),
        Index("ix_safety_alert_open", "session_id", "acknowledged_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("clinical_session.id"))
    vital_sign_id: Mapped[int | None] = mapped_column(ForeignKey("vital_sign.id"))
    # The earlier reading of a pair (sustained rules): the alert rests on both.
    paired_vital_sign_id: Mapped[int | None] = mapped_column(ForeignKey("vital_sign.id"))
    rule: Mapped[str] = mapped_column(String(40))
    level: Mapped[Level] = mapped_column(str_enum(Level, "alert_level"))
    message: Mapped[str] = mapped_column(Text)
    raised_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    acknowledged_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    acknowledged_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    acknowledgement_note: Mapped[str | None] = mapped_column(Text)
    withdrawn_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    withdrawn_reason: Mapped[str | None] = mapped_column(Text)

    session: Mapped[ClinicalSession] = relationship()
    acknowledged_by: Mapped[User | None] = relationship()

    @property
    def is_open(self) -> bool:
        return self.acknowledged_at is None and self.withdrawn_at is None

    @classmethod
    def open_clause(cls):
        """Neither acknowledged nor withdrawn: what the lists and counts call open."""
        return and_(cls.acknowledged_at.is_(None), cls.withdrawn_at.is_(None))


class OverrideKind(LabelledEnum):
    # Dose given although the baseline met the hold threshold.
    DOSE_HOLD = "dose_hold", "Dose given despite a held baseline"
    # Discharged although a discharge rule was not met.
    DISCHARGE = "discharge", "Discharged despite a discharge rule"


class SafetyOverride(db.Model):
    """Medical staff's decision to go ahead against a safety rule, with the reason."""

    __tablename__ = "safety_override"

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("clinical_session.id"), index=True)
    kind: Mapped[OverrideKind] = mapped_column(str_enum(OverrideKind, "override_kind"))
    rules: Mapped[str] = mapped_column(String(200))  # the rule keys overridden, comma-separated
    reason: Mapped[str] = mapped_column(Text)
    created_by_id: Mapped[int] = mapped_column(ForeignKey("user.id"))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    created_by: Mapped[User] = relationship()
