"""All models, imported here so that Alembic and the app see the whole schema."""

from .audit import AuditAction, AuditEvent
from .disclosures import Disclosure
from .base import UTCDateTime, utcnow
from .break_glass import BreakGlassGrant
from .clients import (
    IN_TREATMENT_STATUSES,
    Client,
    ClientIndication,
    ClientStatus,
    Indication,
)
from .courses import (
    Addendum,
    Administration,
    ClinicalSession,
    Course,
    DosingSession,
    History,
    InjectionSite,
    IntegrationSession,
    PreparationSession,
    Pregnancy,
    Screening,
    SessionKind,
)
from .outcomes import CourseOutcome, OutcomeScore, OverrideReview, ReviewComment
from .settings import SettingChange, SettingRevision
from .sites import Site, staff_site
from .vitals import OverrideKind, SafetyAlert, SafetyOverride, VitalSign
from .users import LoginAttempt, User, UserSession, normalise_email

__all__ = [
    "staff_site",
    "CourseOutcome",
    "BreakGlassGrant",
    "OutcomeScore",
    "OverrideReview",
    "ReviewComment",
    "OverrideKind",
    "SafetyAlert",
    "SafetyOverride",
    "VitalSign",
    "Addendum",
    "Administration",
    "ClinicalSession",
    "Course",
    "DosingSession",
    "History",
    "InjectionSite",
    "IntegrationSession",
    "PreparationSession",
    "Pregnancy",
    "Screening",
    "SessionKind",
    "IN_TREATMENT_STATUSES",
    "AuditAction",
    "AuditEvent",
    "Disclosure",
    "Client",
    "ClientIndication",
    "ClientStatus",
    "Indication",
    "LoginAttempt",
    "SettingChange",
    "SettingRevision",
    "Site",
    "UTCDateTime",
    "User",
    "UserSession",
    "normalise_email",
    "utcnow",
]
