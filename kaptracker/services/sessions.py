"""Session commands: open a session of each kind, save its draft (the screening decision and the
discharge with it), sign, co-sign, add an addendum, preview and record a dose."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from .. import clock, settings
from ..auditing import changed_fields, record
from ..courses import service as course_service
from ..extensions import db
from ..models import (
    Addendum,
    Administration,
    AuditAction,
    ClinicalSession,
    Course,
    DosingSession,
    InjectionSite,
    Screening,
    SessionKind,
    Site,
)
from ..rules import dosing, phases
from ..rules import screening as screening_rules
from ..rules.access import Permission, may, may_write, may_write_session
from ..vitals import service as vitals_service
from . import FORM, Outcome, changes_saved, created, refusal

DECISION_FIELDS = ("decision", "decision_rationale", "medical_clearance", "safety_plan")
TIME_FIELDS = ("occurred_at", "ended_at", "discharged_at")
NOT_COPIED = {"csrf_token", "submit", "version", "route", "site_id", *DECISION_FIELDS}
NOT_A_SITE = "Choose one of the clinic's active sites."

NOT_YOUR_ROLE = "Your role does not write this kind of session."
NOT_OWN_WRITE = "Only the client's own therapist writes their sessions."
NOT_OWN_SIGN = "Only the client's own therapist signs."


def _writes_for(course: Course, user, **rule) -> bool:
    """The one ownership rule (a therapist writes only for their own clients)."""
    return may_write(user.role, user_id=user.id, therapist_id=course.client.therapist_id, **rule)


def decides(clinical: ClinicalSession, user) -> bool:
    """True when ``user``'s save of this draft also writes the screening decision."""
    return clinical.kind is SessionKind.SCREENING and may(user.role, Permission.DECIDE_SCREENING)


# --- opening a session --------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Refusal:
    """Why no session of a kind can be opened in a course: a title and the reasons in plain
    words; ``forbidden`` when it is who the user is that refuses it, not where the course stands."""

    title: str
    reasons: list[str]
    forbidden: bool = False


def opening_refusal(course: Course, kind: SessionKind, user, facts: phases.CourseFacts) -> Refusal | None:
    """None when ``user`` may open a session of ``kind`` in ``course`` now."""
    label = kind.label.lower()
    if not may_write_session(user.role, kind.value):
        return Refusal(f"You cannot add a {label} here", [NOT_YOUR_ROLE], forbidden=True)
    if not _writes_for(course, user, kind=kind.value):
        return Refusal(f"You cannot add a {label} here", [NOT_OWN_WRITE], forbidden=True)
    if not course.is_open:
        return Refusal(f"No new {label}", phases.medicine_blockers(facts))
    if kind is SessionKind.DOSING and (blockers := phases.medicine_blockers(facts)):
        return Refusal("A medicine session cannot start yet", blockers)
    if kind is SessionKind.INTEGRATION and not facts.medicine_sessions:
        return Refusal("Nothing to integrate yet",
                       ["An integration session follows a medicine session, and this course has none yet."])
    return None


def _facts(course: Course) -> phases.CourseFacts:
    return course_service.facts(course, course_service.load_course_sessions(course))


def create(course: Course, data: Mapping, user, *, kind: SessionKind,
           facts: phases.CourseFacts | None = None) -> Outcome:
    """Open a draft session of ``kind`` in ``course``. ``facts`` are the course's facts when the
    caller has them. Of two screenings opened at the same moment the second is not saved: its
    outcome is a conflict whose record is the first."""
    facts = _facts(course) if facts is None else facts
    refused = opening_refusal(course, kind, user, facts)
    if refused is not None:
        return Outcome(problems={FORM: refused.reasons}, message=refused.title, category="error")
    clinical = course_service.SESSION_CLASSES[kind](course_id=course.id, author_id=user.id, note="")
    if (site := _chosen_site(clinical, data, course.client.home_site_id)) is None:
        return Outcome(problems={"site_id": [NOT_A_SITE]})
    clinical.site_id = site.id
    if kind is SessionKind.DOSING and (blockers := _dated_before_gates(data, facts)):
        return Outcome(problems={"occurred_at": blockers})
    if kind is SessionKind.DOSING:
        clinical.route = dosing.Route(data["route"])
        clinical.administered_by_id = user.id
    _copy_into(data, clinical)
    db.session.add(clinical)
    try:
        db.session.flush()
    except IntegrityError:
        if kind is not SessionKind.SCREENING:
            raise
        # Someone else opened this course's screening a moment before (the database keeps one
        # per course): theirs is the screening, as when it existed before this command.
        db.session.rollback()
        existing = db.session.scalar(select(Screening).where(Screening.course_id == course.id))
        if existing is None:
            raise
        return Outcome(record=existing, conflict=True, category="error",
                       message="Someone else opened this course's screening a moment before you; here it is. "
                               "What you typed was not saved.")
    record(AuditAction.CREATE, kind.value, clinical.id, client_id=course.client_id, user=user)
    db.session.commit()
    return Outcome(record=clinical, message=f"{kind.label} saved as a draft.")


def session_sites(current: int | None) -> list[Site]:
    """The sites a session may be placed at: every active site, and ``current`` (where it is)."""
    return list(db.session.scalars(select(Site).where((Site.active.is_(True)) | (Site.id == current))
                                   .order_by(Site.name)))


def _chosen_site(clinical: ClinicalSession, data: Mapping, home_site_id: int) -> Site | None:
    """The site chosen for the session (where it is, or the home site, when none is sent), or
    None when the choice is not a site it may be at. The request's typed times are read on that
    site's wall from here on."""
    value = (data.get("site_id") or "").strip()
    current = clinical.site_id or home_site_id
    site_id = int(value) if value.isdigit() and len(value) < 10 else (current if not value else None)
    site = next((s for s in session_sites(current) if s.id == site_id), None)
    if site is not None:
        settings.use_zone(site.time_zone)
    return site


def _dated_before_gates(data: Mapping, facts: phases.CourseFacts, stored=None) -> list[str]:
    """A medicine session's typed time must come after the gates were passed (the screening
    decision and a preparation note signed): why not, for the time field. A time left as it was
    stored (``stored``) was checked when it was set."""
    typed = data.get("occurred_at")
    if typed is None:
        return []
    at = typed if typed.tzinfo is not None else clock.local_to_utc(typed, keep=stored)
    if stored is not None and at == stored:
        return []
    return phases.medicine_blockers(facts, at=at)


def _copy_into(data: Mapping, clinical: ClinicalSession) -> None:
    """Form values onto the session; date-times typed in clinic time are stored in UTC."""
    for name, value in data.items():
        if name in NOT_COPIED or not hasattr(clinical, name):
            continue
        if name in TIME_FIELDS and value is not None and value.tzinfo is None:
            # Typed in clinic time. An aware value is the stored UTC one, kept by the form when
            # the field was not sent: converting it again would move it by the zone's offset.
            value = clock.local_to_utc(value, keep=getattr(clinical, name, None))
        if isinstance(value, str) or value is None:
            value = value or ("" if name == "note" or _is_text_column(clinical, name) else None)
        setattr(clinical, name, value)
    if isinstance(clinical, DosingSession):
        clinical.started_at = clinical.occurred_at


def _is_text_column(clinical: ClinicalSession, name: str) -> bool:
    column = clinical.__mapper__.columns.get(name)
    return column is not None and not column.nullable and column.type.python_type is str


# --- the draft ----------------------------------------------------------------------------------


def edit_refusal(clinical: ClinicalSession, user) -> str | None:
    """None when ``user`` may change this draft (edit it, add a dose); otherwise why not."""
    reason = course_service.editable_reason(clinical, user)
    if reason is None and not _writes_for(clinical.course, user):
        reason = NOT_OWN_WRITE
    return reason


def save_draft(clinical: ClinicalSession, data: Mapping, user, *, changes=changed_fields) -> Outcome:
    """Save the draft; ``data["version"]`` is the version the form was read at (a save by someone
    else since then is a conflict, nothing written). Medical staff save a screening's decision with
    it. ``changes`` lists the changed fields (the view passes its own name: the seam
    tests/test_conflicts.py holds two saves at)."""
    if reason := edit_refusal(clinical, user):
        return refusal(reason)
    if data.get("version") != str(clinical.version):
        return Outcome(record=clinical, conflict=True)
    if (site := _chosen_site(clinical, data, clinical.course.client.home_site_id)) is None:
        return Outcome(problems={"site_id": [NOT_A_SITE]})
    if isinstance(clinical, DosingSession) and (problem := _medicine_draft_problem(clinical, data)):
        return problem
    clinical.site_id = site.id
    _copy_into(data, clinical)
    if decides(clinical, user):
        # Optional() lets white space through as "no answer": it is no decision, not a crash.
        decision = (data.get("decision") or "").strip()
        clinical.decision = screening_rules.Decision(decision) if decision else None
        for name in DECISION_FIELDS[1:]:
            setattr(clinical, name, data.get(name))
    return changes_saved(clinical, changes(clinical), user, audit_as=clinical.kind.value,
                         client_id=clinical.course.client_id, message="Draft saved.")


def _medicine_draft_problem(clinical: DosingSession, data: Mapping) -> Outcome | None:
    """A medicine session's own rules: the weight of recorded doses, the gates, the discharge."""
    if clinical.administrations and data.get("weight_kg") != clinical.weight_kg:
        # The recorded doses were computed from this weight: changing it would break
        # mg = mg/kg x weight for every dose already given.
        return refusal(f"The weight is fixed at {clinical.weight_kg} kg once a dose is recorded.", "weight_kg")
    if blockers := _dated_before_gates(data, _facts(clinical.course), stored=clinical.occurred_at):
        return Outcome(problems={"occurred_at": blockers})
    if problem := _discharge_problem(clinical, data):
        return refusal(problem, "discharged_at")
    return None


def _discharge_problem(clinical: DosingSession, data: Mapping) -> str | None:
    """A discharge time that breaks a discharge rule needs an override recorded first."""
    if data.get("discharged_at") is None:
        return None
    at = clock.local_to_utc(data["discharged_at"])
    if clinical.discharged_at is not None and at == clinical.discharged_at:
        return None
    findings, override = vitals_service.discharge_gate(
        clinical, vitals_service.readings_of(clinical), vitals_service.overrides_of(clinical), at)
    if not findings or override is not None:
        return None
    return (" ".join(f.message for f in findings)
            + " Record a discharge override with the clinical reason on the vitals page, or discharge later.")


# --- signing ------------------------------------------------------------------------------------


def sign_refusal(clinical: ClinicalSession, user) -> str | None:
    """None when ``user`` may sign this session (a screening: medical staff, with the decision)."""
    reason = course_service.signable_reason(clinical, user)
    if reason is None and clinical.kind is not SessionKind.SCREENING and not _writes_for(clinical.course, user):
        reason = NOT_OWN_SIGN
    return reason


def sign_problems(clinical: ClinicalSession) -> list[str]:
    """What must be in the record before it can be signed (beyond the screening decision)."""
    problems = []
    if isinstance(clinical, DosingSession):
        if not clinical.administrations:
            problems.append("No dose is recorded in this medicine session.")
        else:
            check = course_service.dose_check(clinical)
            if not check.in_range and not (clinical.dose_reason or "").strip():
                problems.append(check.message)
        if clinical.ended_at is None:
            problems.append("The time the session ended is not recorded.")
        if clinical.discharged_at is None:
            problems.append("The discharge time is not recorded.")
        if open_alerts := vitals_service.open_alerts([clinical.id]):
            problems.append(f"{len(open_alerts)} safety alert(s) are not acknowledged yet (see the vitals page).")
    if not isinstance(clinical, Screening) and not (clinical.note or "").strip():
        problems.append("The clinical note is empty.")
    return problems


def decision_problems(screening: Screening, data: Mapping) -> dict[str, list[str]]:
    """Why the screening decision in ``data`` cannot be signed as it stands, by field."""
    found = screening_rules.decision_problems(
        data.get("decision"), screening.contraindications,
        rationale=data.get("decision_rationale"), medical_clearance=data.get("medical_clearance"),
        safety_plan=data.get("safety_plan"), overrides=course_service.contraindication_severities(screening.site_id),
    )
    return {name: [message] for name, message in found.items()}


def sign(clinical: ClinicalSession, data: Mapping, user) -> Outcome:
    """Sign and lock the session; a screening is signed with the decision in ``data``."""
    if reason := sign_refusal(clinical, user):
        return refusal(reason)
    if problems := sign_problems(clinical):
        return Outcome(problems={FORM: problems})
    detail = "signed"
    if isinstance(clinical, Screening):
        if problems := decision_problems(clinical, data):
            return Outcome(problems=problems)
        clinical.decision = screening_rules.Decision(data["decision"])
        for name in DECISION_FIELDS[1:]:
            setattr(clinical, name, data.get(name))
        detail = f"signed; decision {clinical.decision.value}"
    course_service.sign(clinical, user)
    record(AuditAction.UPDATE, clinical.kind.value, clinical.id, client_id=clinical.course.client_id,
           detail=detail, user=user)
    db.session.commit()
    return Outcome(record=clinical, message=f"{clinical.kind.label} signed and locked.")


def cosign(clinical: ClinicalSession, data: Mapping, user) -> Outcome:
    """Co-sign a signed note (supervisors). ``data["from_worklist"]`` when it is done from the
    co-sign worklist: its audit event and message say so."""
    worklist = bool(data.get("from_worklist"))
    reason = course_service.cosign(clinical, user, detail="co-signed from the worklist" if worklist else "co-signed")
    if reason:
        return refusal(reason, record=clinical)
    db.session.commit()
    message = f"{clinical.kind.label} of {clinical.occurred_at:%d %b} co-signed." if worklist else "Co-signed."
    return Outcome(record=clinical, message=message)


def add_addendum(clinical: ClinicalSession, data: Mapping, user) -> Outcome:
    """Add an addendum (``reason``, ``text``) to a signed note."""
    if reason := course_service.addendum_reason(clinical, user):
        return refusal(reason, record=clinical)
    addendum = Addendum(session_id=clinical.id, author_id=user.id, reason=data["reason"], text=data["text"])
    return created(addendum, user, audit_as="addendum", client_id=clinical.course.client_id,
                   detail=f"to {clinical.kind.label.lower()} {clinical.id}", message="Addendum added.")


# --- doses --------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class DosePreview:
    """A dose computed from the form, before it is saved: its mg, the session total's check
    against the usual range with it, and the weight it was computed at (weight-based routes)."""

    dose_mg: Decimal
    check: dosing.DoseCheck
    weight: Decimal | None


def dose_blockers(clinical: DosingSession) -> list[str]:
    """Why no dose may be given now (the vitals' dose gate, unless overridden)."""
    gate = vitals_service.dose_gate(clinical, vitals_service.readings_of(clinical),
                                    vitals_service.overrides_of(clinical))
    return [f.message for f in gate.blocking]


def preview_dose(clinical: DosingSession, data: Mapping, user) -> Outcome:
    """Compute the dose in ``data`` (writes nothing): its record is a :class:`DosePreview`, or
    the problem beside the number that makes it more than one administration can record."""
    if reason := edit_refusal(clinical, user):
        return refusal(reason)
    weight = data.get("weight_kg")
    if clinical.route is dosing.Route.LOZENGE:
        dose_mg = dosing.lozenge_mg(data["strength_mg"], data["count"])
        asked_mg = dosing.exact_mg(data["strength_mg"], data["count"])
    else:
        dose_mg = dosing.weight_based_mg(weight, data["mg_per_kg"])
        asked_mg = dosing.exact_mg(weight, data["mg_per_kg"])  # what the range is checked on
    if problem := dosing.over_the_cap(dose_mg):  # the database refuses more (check dose_positive)
        return refusal(problem, "count" if clinical.route is dosing.Route.LOZENGE else "mg_per_kg")
    check = course_service.dose_check(clinical, dose_mg, weight, extra_prescribed=asked_mg)
    return Outcome(record=DosePreview(dose_mg, check, weight))


def record_dose(clinical: DosingSession, data: Mapping, user) -> Outcome:
    """Record the dose in ``data`` as it was previewed (``data["previewed_mg"]``): a total outside
    the usual range needs a reason (``range_reason``, or one already recorded for the session),
    and the weight is the session's once it has one."""
    if reason := edit_refusal(clinical, user):
        return refusal(reason)
    if blockers := dose_blockers(clinical):
        return Outcome(problems={"given_at": blockers})
    previewed = preview_dose(clinical, data, user)
    if not previewed.ok:
        return previewed
    preview = previewed.record
    if data.get("previewed_mg") != str(preview.dose_mg):
        return refusal(f"This dose is {preview.dose_mg} mg: calculate it and check it before saving it.",
                       "previewed_mg")
    if not preview.check.in_range and not (data.get("range_reason") or clinical.dose_reason):
        return refusal(preview.check.message, "range_reason")
    weight = preview.weight
    if weight is not None and clinical.weight_kg is not None and Decimal(weight) != clinical.weight_kg:
        return refusal(f"This session's weight is {clinical.weight_kg} kg. Correct it on the session form first.",
                       "weight_kg")
    administration = Administration(session_id=clinical.id, given_at=clock.local_to_utc(data["given_at"]),
                                    dose_mg=preview.dose_mg, recorded_by_id=user.id)
    _copy_dose(data, clinical, administration)
    if data.get("range_reason"):
        clinical.dose_reason = "\n".join(filter(None, [clinical.dose_reason, data["range_reason"]]))
    return created(administration, user, audit_as="administration", client_id=clinical.course.client_id,
                   detail=f"{preview.dose_mg} mg in medicine session {clinical.id}",
                   message=f"Dose of {preview.dose_mg} mg recorded.")


def _copy_dose(data: Mapping, clinical: DosingSession, administration: Administration) -> None:
    """The route's own fields onto the administration (and a weight-based dose's weight onto the
    session)."""
    if clinical.route is dosing.Route.LOZENGE:
        administration.strength_mg = data["strength_mg"]
        administration.count = data["count"]
        administration.hold_minutes = data["hold_minutes"]
        administration.swallowed = data["swallowed"] == "swallowed"
        return
    clinical.weight_kg = data["weight_kg"]
    administration.mg_per_kg = data["mg_per_kg"]
    if clinical.route is dosing.Route.IM:
        administration.injection_site = InjectionSite(data["injection_site"])
    else:
        administration.infusion_minutes = data["infusion_minutes"]
