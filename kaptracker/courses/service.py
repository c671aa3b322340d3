"""Between the database and the pure course rules: build facts, check permissions, sign."""

from __future__ import annotations

import datetime as dt
from decimal import ROUND_HALF_UP, Decimal

from sqlalchemy import select
from sqlalchemy.orm import joinedload, selectinload, with_polymorphic

from .. import settings
from ..auditing import record
from ..extensions import db
from ..models import (
    AuditAction,
    ClinicalSession,
    Course,
    DosingSession,
    IntegrationSession,
    PreparationSession,
    Screening,
    SessionKind,
    utcnow,
)
from ..rules import dosing, phases
from ..rules.access import Permission, may, may_sign_session, may_write_session
from ..rules.settings import contraindication_overrides

SESSION_CLASSES = {
    SessionKind.SCREENING: Screening,
    SessionKind.PREPARATION: PreparationSession,
    SessionKind.DOSING: DosingSession,
    SessionKind.INTEGRATION: IntegrationSession,
}


def load_course_sessions(course: Course) -> list[ClinicalSession]:
    """Every session of ``course`` with its kind's columns, authors, doses and addenda:
    a fixed number of queries whatever the course's length."""
    # One query for the sessions with every kind's columns and the people named on them (outer
    # joins), one for the addenda, one for the doses.
    every_kind = with_polymorphic(ClinicalSession, list(SESSION_CLASSES.values()))
    stmt = (
        select(every_kind)
        .where(every_kind.course_id == course.id)
        .options(
            joinedload(every_kind.author),
            joinedload(every_kind.signed_by),
            joinedload(every_kind.cosigned_by),
            selectinload(every_kind.addenda),
        )
        .order_by(every_kind.occurred_at, every_kind.id)
    )
    sessions = list(db.session.scalars(stmt).unique())
    dosing_ids = [s.id for s in sessions if isinstance(s, DosingSession)]
    if dosing_ids:  # doses for the totals on the timeline, in one query
        db.session.scalars(
            select(DosingSession)
            .where(DosingSession.id.in_(dosing_ids))
            .options(selectinload(DosingSession.administrations))
        ).all()
    return sessions


def facts(course: Course, sessions: list[ClinicalSession]) -> phases.CourseFacts:
    screening = next((s for s in sessions if isinstance(s, Screening)), None)
    integrated = {s.dosing_session_id for s in sessions if isinstance(s, IntegrationSession)}
    medicine = tuple(
        phases.MedicineFact(s.id, s.occurred_at, s.id in integrated)
        for s in sessions
        if isinstance(s, DosingSession)
    )
    return phases.CourseFacts(
        end_reason=course.end_reason,
        screening_decision=screening.decision if screening is not None and screening.is_signed else None,
        signed_preparation_notes=sum(
            1 for s in sessions if isinstance(s, PreparationSession) and s.is_signed
        ),
        planned_medicine_sessions=course.planned_medicine_sessions,
        medicine_sessions=medicine,
        unsigned_notes=sum(1 for s in sessions if not s.is_signed),
        screening_signed_at=screening.signed_at if screening is not None and screening.is_signed else None,
        preparation_signed_at=tuple(
            s.signed_at for s in sessions if isinstance(s, PreparationSession) and s.is_signed
        ),
    )


def dose_range(route: dosing.Route, site_id: int | None = None) -> dosing.DoseRange:
    """The route's usual session total at the site ``site_id`` (a session's), else the request's."""
    values = settings.current(site_id)
    default = dosing.default_ranges()[route]
    if route is dosing.Route.LOZENGE:
        low, high = values["dose.lozenge.low_mg"], values["dose.lozenge.high_mg"]
    else:
        low, high = values[f"dose.{route.value}.low_mg_per_kg"], values[f"dose.{route.value}.high_mg_per_kg"]
    return dosing.DoseRange(route, Decimal(low), Decimal(high), default.unit,
                            f"clinic setting; default from {default.source}")


def prescribed_mg(administration, weight_kg) -> Decimal:
    """The dose asked for in one administration, unrounded: the mg/kg entered x the weight, or
    strength x count for lozenges; the recorded mg when it was entered as mg, or when the stored
    factors do not make the recorded mg (data from elsewhere: the recorded dose is what was given)."""
    recorded = Decimal(administration.dose_mg)
    if administration.mg_per_kg is not None and weight_kg:
        asked = dosing.exact_mg(weight_kg, administration.mg_per_kg)
    elif administration.strength_mg is not None and administration.count is not None:
        asked = dosing.exact_mg(administration.strength_mg, administration.count)
    else:
        return recorded
    return asked if asked.quantize(dosing.MG, rounding=ROUND_HALF_UP) == recorded else recorded


def dose_check(session: DosingSession, extra_mg: Decimal = Decimal(0), weight_kg=None,
               extra_prescribed: Decimal | None = None) -> dosing.DoseCheck:
    """The session total (with a dose about to be added: ``extra_mg`` as recorded,
    ``extra_prescribed`` as asked for) against the route's range. The range is compared with
    what was asked for, exactly (rules/dosing.py): a dose computed from an in-range mg/kg is
    never refused because of its own 0.1 mg rounding."""
    weight = weight_kg or session.weight_kg
    asked = sum((prescribed_mg(a, weight) for a in session.administrations), Decimal(0))
    asked += extra_mg if extra_prescribed is None else extra_prescribed
    return dosing.check_total(
        session.route, session.total_mg + extra_mg, weight, dose_range(session.route, session.site_id),
        prescribed_mg=asked,
    )


def contraindication_severities(site_id: int | None = None) -> dict[str, str]:
    """Each configurable contraindication's severity at ``site_id`` (a screening's), else the request's site."""
    return contraindication_overrides(settings.current(site_id))


# --- who may do what to a session -------------------------------------------------------------


def editable_reason(session: ClinicalSession, user) -> str | None:
    """None when ``user`` may edit this draft; otherwise why not, in plain words."""
    if not session.course.is_open:
        return f"The course is {session.course.end_reason.value}: it is read-only but for addenda."
    if session.is_signed:
        return "This note is signed and locked. Add an addendum instead."
    if not may_write_session(user.role, session.kind.value):
        return "Your role does not write this kind of session."
    if session.kind is not SessionKind.SCREENING and session.author_id != user.id:
        return "Only the author edits a draft note."
    return None


def signable_reason(session: ClinicalSession, user) -> str | None:
    if not session.course.is_open:
        return f"The course is {session.course.end_reason.value}: it is read-only but for addenda."
    if session.is_signed:
        return "This note is already signed."
    if not may_sign_session(user.role, session.kind.value, is_author=session.author_id == user.id):
        if session.kind is SessionKind.SCREENING:
            return "Only medical staff decide and sign a screening."
        return "Only the author signs their own note."
    return None


def _first_reason(*checks: tuple[bool, str]) -> str | None:
    """The reason of the first (refused, reason) check that refuses; None when none does."""
    return next((reason for refused, reason in checks if refused), None)


def cosignable_reason(session: ClinicalSession, user) -> str | None:
    return _first_reason(
        (not may(user.role, Permission.COSIGN), "Only supervisors co-sign."),
        (not session.is_signed, "A note is co-signed after its author has signed it."),
        (session.cosigned_at is not None, "This note is already co-signed."),
    )


def addendum_reason(session: ClinicalSession, user) -> str | None:
    return _first_reason(
        (not may(user.role, Permission.ADD_ADDENDUM), "Your role does not add addenda."),
        (not session.is_signed, "A draft is edited directly; addenda follow signing."),
    )


def sign(session: ClinicalSession, user) -> None:
    """Sign and lock. Pending field changes are written first: once signed_at is set, the
    database refuses any change to the session's own fields."""
    db.session.flush()
    now = utcnow()
    session.signed_at = now
    session.signed_by_id = user.id


def cosign(session: ClinicalSession, user, *, detail: str = "co-signed") -> str | None:
    """Co-sign ``session`` as ``user`` and audit it; or return why not (nothing changed)."""
    reason = cosignable_reason(session, user)
    if reason:
        return reason
    session.cosigned_at = utcnow()
    session.cosigned_by_id = user.id
    record(AuditAction.UPDATE, session.kind.value, session.id, client_id=session.course.client_id, detail=detail,
           user=user)
    return None


def integration_due(dosing_session: DosingSession, home_site_id: int | None = None) -> dt.datetime:
    """When the integration of ``dosing_session`` is due, by the course's rule at its client's
    home site ``home_site_id`` (else the request's site)."""
    return dosing_session.occurred_at + dt.timedelta(days=settings.get("integration.due_days", home_site_id))
