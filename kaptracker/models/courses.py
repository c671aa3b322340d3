"""Treatment courses and their sessions.

Every encounter is a row of ``clinical_session`` (joined-table inheritance on ``kind``), so a
course has one timeline, and notes, signing, addenda and vitals work the same for every kind.
A signed session is locked by database triggers (see migration 0002): only addenda follow.
"""

from __future__ import annotations

import datetime as dt
import enum
from decimal import Decimal

from sqlalchemy import (
    JSON,
    CheckConstraint,
    ForeignKey,
    Index,
    Numeric,
    String,
    Text,
    select,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from ..rules.dosing import MAX_ADMINISTRATION_MG, Route
from ..rules.labels import LabelledEnum
from ..rules.phases import EndReason, Phase
from ..rules.screening import Decision
from .base import UTCDateTime, set_together, str_enum, utcnow
from .clients import Client
from .sites import Site
from .users import User


class SessionKind(LabelledEnum):
    SCREENING = "screening", "Screening"
    PREPARATION = "preparation", "Preparation session"
    DOSING = "dosing", "Medicine session"
    INTEGRATION = "integration", "Integration session"


class History(enum.StrEnum):
    NONE = "none"
    SELF = "self"
    FAMILY = "family"
    SELF_AND_FAMILY = "self_and_family"
    UNKNOWN = "unknown"


class Pregnancy(enum.StrEnum):
    NOT_APPLICABLE = "not_applicable"
    NO = "no"
    PREGNANT = "pregnant"
    BREASTFEEDING = "breastfeeding"


class Course(db.Model):
    __tablename__ = "course"
    __table_args__ = (
        CheckConstraint(
            "planned_medicine_sessions BETWEEN 1 AND 24", name="planned_sessions_range"
        ),
        set_together("ended_together", "end_reason", "ended_on"),
        # One open course per client.
        Index(
            "uq_course_one_open_per_client", "client_id", unique=True,
            sqlite_where=text("end_reason IS NULL"), postgresql_where=text("end_reason IS NULL"),
        ),
        Index("ix_course_phase", "phase", "client_id"),
        Index("ix_course_last_contact", "last_contact_at"),
        Index("ix_course_unintegrated", "unintegrated_since",
              sqlite_where=text("end_reason IS NULL AND unintegrated_since IS NOT NULL"),
              postgresql_where=text("end_reason IS NULL AND unintegrated_since IS NOT NULL")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("client.id"), index=True)
    planned_route: Mapped[Route] = mapped_column(str_enum(Route, "route"))
    planned_medicine_sessions: Mapped[int]
    goals: Mapped[str] = mapped_column(Text)
    started_on: Mapped[dt.date]
    ended_on: Mapped[dt.date | None]
    end_reason: Mapped[EndReason | None] = mapped_column(str_enum(EndReason, "end_reason"))
    end_note: Mapped[str | None] = mapped_column(Text)
    created_by_id: Mapped[int] = mapped_column(ForeignKey("user.id"))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    version: Mapped[int] = mapped_column()
    # A summary of the sessions for lists and dashboards, kept by kaptracker.rollup
    # after every flush that touches the course or its sessions (never written by views).
    # The rules in rules/phases.py stay the authority: the summary is their result, stored.
    phase: Mapped[Phase] = mapped_column(str_enum(Phase, "course_phase"), default=Phase.PREPARATION)
    medicine_given: Mapped[int] = mapped_column(default=0)
    last_contact_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    # The oldest medicine session still without an integration session (worklist: overdue).
    unintegrated_since: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    unintegrated_session_id: Mapped[int | None]
    __mapper_args__ = {"version_id_col": version}

    client: Mapped[Client] = relationship()
    created_by: Mapped[User] = relationship(foreign_keys=[created_by_id])
    sessions: Mapped[list[ClinicalSession]] = relationship(
        back_populates="course", order_by="ClinicalSession.occurred_at"
    )

    @property
    def is_open(self) -> bool:
        return self.end_reason is None


def _client_home_site(context) -> int | None:
    """Where a session happens unless it says otherwise: its client's home site."""
    course_id = context.get_current_parameters().get("course_id")
    return context.connection.scalar(
        select(Client.home_site_id).join(Course, Course.client_id == Client.id).where(Course.id == course_id))


class ClinicalSession(db.Model):
    """One encounter of a course, with its clinical note: a draft, then signed and locked."""

    __tablename__ = "clinical_session"
    __table_args__ = (
        Index("ix_clinical_session_course_at", "course_id", "occurred_at"),
        Index("ix_clinical_session_author_at", "author_id", "occurred_at"),
        Index("ix_clinical_session_kind_at", "kind", "occurred_at"),  # today's medicine sessions
        # One screening per course, whoever saves first (migration 0008).
        Index("uq_clinical_session_one_screening", "course_id", unique=True,
              sqlite_where=text("kind = 'screening'"), postgresql_where=text("kind = 'screening'")),
        # The worklist's "unsigned" and "awaiting a decision" items: only drafts are indexed.
        Index("ix_clinical_session_unsigned", "occurred_at",
              sqlite_where=text("signed_at IS NULL"), postgresql_where=text("signed_at IS NULL")),
        # The co-sign worklist: signed, not yet co-signed.
        Index("ix_clinical_session_to_cosign", "author_id", "signed_at",
              sqlite_where=text("signed_at IS NOT NULL AND cosigned_at IS NULL"),
              postgresql_where=text("signed_at IS NOT NULL AND cosigned_at IS NULL")),
        set_together("signed_together", "signed_at", "signed_by_id"),
        CheckConstraint("cosigned_at IS NULL OR signed_at IS NOT NULL", name="cosign_after_sign"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    course_id: Mapped[int] = mapped_column(ForeignKey("course.id"))
    kind: Mapped[SessionKind] = mapped_column(str_enum(SessionKind, "session_kind"))
    occurred_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    author_id: Mapped[int] = mapped_column(ForeignKey("user.id"))
    # Where it happens: the client's home site unless chosen otherwise; locked once signed.
    site_id: Mapped[int] = mapped_column(ForeignKey("site.id"), index=True, default=_client_home_site)
    note: Mapped[str] = mapped_column(Text, default="")
    signed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    signed_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    cosigned_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    cosigned_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    version: Mapped[int] = mapped_column()

    __mapper_args__ = {"polymorphic_on": kind, "version_id_col": version}

    course: Mapped[Course] = relationship(back_populates="sessions")
    author: Mapped[User] = relationship(foreign_keys=[author_id])
    site: Mapped[Site] = relationship()
    signed_by: Mapped[User | None] = relationship(foreign_keys=[signed_by_id])
    cosigned_by: Mapped[User | None] = relationship(foreign_keys=[cosigned_by_id])
    addenda: Mapped[list[Addendum]] = relationship(
        back_populates="session", order_by="Addendum.created_at"
    )

    @property
    def is_signed(self) -> bool:
        return self.signed_at is not None


class Screening(ClinicalSession):
    """The medical and psychological assessment that opens a course. Drafted by the therapist;
    medical staff decide and sign."""

    __tablename__ = "screening"
    __mapper_args__ = {"polymorphic_identity": SessionKind.SCREENING}

    id: Mapped[int] = mapped_column(ForeignKey("clinical_session.id"), primary_key=True)
    bp_history: Mapped[str] = mapped_column(Text, default="")
    heart_history: Mapped[str] = mapped_column(Text, default="")
    current_medications: Mapped[str] = mapped_column(Text, default="")
    interacting_medications: Mapped[list[str]] = mapped_column(JSON, default=list)
    psychiatric_diagnoses: Mapped[str] = mapped_column(Text, default="")
    psychosis_history: Mapped[History] = mapped_column(str_enum(History, "psychosis_history"), default=History.UNKNOWN)
    mania_history: Mapped[History] = mapped_column(str_enum(History, "mania_history"), default=History.UNKNOWN)
    dissociative_history: Mapped[History] = mapped_column(str_enum(History, "dissociative_history"), default=History.UNKNOWN)
    substance_use: Mapped[str] = mapped_column(Text, default="")
    pregnancy: Mapped[Pregnancy] = mapped_column(str_enum(Pregnancy, "pregnancy"), default=Pregnancy.NOT_APPLICABLE)
    support_network: Mapped[str] = mapped_column(Text, default="")
    transport_home: Mapped[str] = mapped_column(Text, default="")
    contraindications: Mapped[list[str]] = mapped_column(JSON, default=list)
    decision: Mapped[Decision | None] = mapped_column(str_enum(Decision, "decision"))
    decision_rationale: Mapped[str | None] = mapped_column(Text)
    medical_clearance: Mapped[str | None] = mapped_column(Text)
    safety_plan: Mapped[str | None] = mapped_column(Text)


class PreparationSession(ClinicalSession):
    __tablename__ = "preparation_session"
    __mapper_args__ = {"polymorphic_identity": SessionKind.PREPARATION}

    id: Mapped[int] = mapped_column(ForeignKey("clinical_session.id"), primary_key=True)
    intentions: Mapped[str] = mapped_column(Text, default="")  # in the client's words
    goals: Mapped[str] = mapped_column(Text, default="")
    fears: Mapped[str] = mapped_column(Text, default="")  # fears about feeling more
    resources: Mapped[str] = mapped_column(Text, default="")  # resources and support
    medically_ready: Mapped[bool] = mapped_column(default=False)
    psychologically_ready: Mapped[bool] = mapped_column(default=False)
    readiness_notes: Mapped[str] = mapped_column(Text, default="")


class DosingSession(ClinicalSession):
    """A medicine session: ketamine by one route, possibly in several administrations."""

    __tablename__ = "dosing_session"
    __mapper_args__ = {"polymorphic_identity": SessionKind.DOSING}
    __table_args__ = (
        CheckConstraint("weight_kg IS NULL OR (weight_kg > 20 AND weight_kg < 350)", name="weight_range"),
        CheckConstraint("dissociation IS NULL OR dissociation BETWEEN 0 AND 4", name="dissociation_range"),
        CheckConstraint("sedation IS NULL OR sedation BETWEEN 0 AND 5", name="sedation_range"),
        CheckConstraint("ended_at IS NULL OR ended_at >= started_at", name="ends_after_start"),
        # The medical staff's "today" page: medicine sessions not yet discharged.
        Index("ix_dosing_session_not_discharged", "id",
              sqlite_where=text("discharged_at IS NULL"), postgresql_where=text("discharged_at IS NULL")),
    )

    id: Mapped[int] = mapped_column(ForeignKey("clinical_session.id"), primary_key=True)
    route: Mapped[Route] = mapped_column(str_enum(Route, "dosing_route"))
    administered_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    therapist_present_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    weight_kg: Mapped[Decimal | None] = mapped_column(Numeric(5, 1))
    lot_number: Mapped[str | None] = mapped_column(String(40))
    lot_expiry: Mapped[dt.date | None]
    started_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    ended_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    eye_shades: Mapped[bool] = mapped_column(default=True)
    music: Mapped[bool] = mapped_column(default=True)
    side_effects: Mapped[list[str]] = mapped_column(JSON, default=list)
    dissociation: Mapped[int | None]  # 0 none - 4 extreme (clinician rating)
    sedation: Mapped[int | None]  # MOAA/S 5 alert - 0 unresponsive
    dose_reason: Mapped[str | None] = mapped_column(Text)  # why the total is outside the range
    discharged_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    discharge_criteria: Mapped[list[str]] = mapped_column(JSON, default=list)
    escort_name: Mapped[str | None] = mapped_column(String(120))

    administered_by: Mapped[User | None] = relationship(foreign_keys=[administered_by_id])
    therapist_present: Mapped[User | None] = relationship(foreign_keys=[therapist_present_id])
    administrations: Mapped[list[Administration]] = relationship(
        back_populates="session", order_by="Administration.given_at", cascade="all, delete-orphan"
    )

    @property
    def total_mg(self) -> Decimal:
        return sum((a.dose_mg for a in self.administrations), Decimal(0))


class InjectionSite(enum.StrEnum):
    DELTOID_LEFT = "deltoid_left"
    DELTOID_RIGHT = "deltoid_right"
    THIGH_LEFT = "thigh_left"
    THIGH_RIGHT = "thigh_right"
    GLUTEAL = "gluteal"


class Administration(db.Model):
    """One dose given in a medicine session (the first dose, or a booster)."""

    __tablename__ = "administration"
    __table_args__ = (
        CheckConstraint(f"dose_mg > 0 AND dose_mg <= {MAX_ADMINISTRATION_MG}", name="dose_positive"),
        CheckConstraint("count IS NULL OR count > 0", name="count_positive"),
        CheckConstraint("mg_per_kg IS NULL OR (mg_per_kg > 0 AND mg_per_kg <= 5)", name="mg_per_kg_range"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("dosing_session.id"), index=True)
    given_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    dose_mg: Mapped[Decimal] = mapped_column(Numeric(6, 1))
    # Lozenge / troche
    strength_mg: Mapped[Decimal | None] = mapped_column(Numeric(6, 1))
    count: Mapped[Decimal | None] = mapped_column(Numeric(3, 1))
    hold_minutes: Mapped[int | None]
    swallowed: Mapped[bool | None]  # True swallowed, False spat
    # IM and IV
    mg_per_kg: Mapped[Decimal | None] = mapped_column(Numeric(4, 2))
    injection_site: Mapped[InjectionSite | None] = mapped_column(str_enum(InjectionSite, "injection_site"))
    infusion_minutes: Mapped[int | None]
    recorded_by_id: Mapped[int] = mapped_column(ForeignKey("user.id"))

    session: Mapped[DosingSession] = relationship(back_populates="administrations")
    recorded_by: Mapped[User] = relationship()


class IntegrationSession(ClinicalSession):
    __tablename__ = "integration_session"
    __mapper_args__ = {"polymorphic_identity": SessionKind.INTEGRATION}

    id: Mapped[int] = mapped_column(ForeignKey("clinical_session.id"), primary_key=True)
    dosing_session_id: Mapped[int] = mapped_column(ForeignKey("dosing_session.id"), index=True)
    what_felt_different: Mapped[str] = mapped_column(Text, default="")
    emotions_body: Mapped[str] = mapped_column(Text, default="")
    memories_beliefs: Mapped[str] = mapped_column(Text, default="")
    insights: Mapped[str] = mapped_column(Text, default="")
    experiments: Mapped[str] = mapped_column(Text, default="")
    experiments_review: Mapped[str] = mapped_column(Text, default="")
    support_safety: Mapped[str] = mapped_column(Text, default="")
    follow_up_on: Mapped[dt.date | None]

    dosing_session: Mapped[DosingSession] = relationship(foreign_keys=[dosing_session_id])


class Addendum(db.Model):
    """Text added to a signed session. Never edited or deleted (database triggers)."""

    __tablename__ = "addendum"

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("clinical_session.id"), index=True)
    author_id: Mapped[int] = mapped_column(ForeignKey("user.id"))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    reason: Mapped[str] = mapped_column(String(200))
    text: Mapped[str] = mapped_column(Text)

    session: Mapped[ClinicalSession] = relationship(back_populates="addenda")
    author: Mapped[User] = relationship()
