"""Factories: clients, courses, sessions of every kind and state, vital signs and outcome scores,
written as the app writes them (its rules, its audit events, one commit per step) without HTTP.

Every write of the test data lives here. Each factory is a small function whose ORM writes are
those of one service command; ``# service: <module>.<command>`` names the command of
kaptracker/services/ that is to replace them. Times come from the clinic's clock
(kaptracker.clock): what the app would stamp "now" is stamped at the clock's now, and a step
dated in the past is written with the clock moved back there (``_on_clock_at``), so its
timestamps, signatures and audit events agree with each other as when it was done then.

Records or ids: a factory takes either for a course or a session (tests mostly hold ids).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import itertools
from decimal import Decimal

import time_machine
from sqlalchemy import select

from kaptracker import clock
from kaptracker.auditing import changed_fields, record
from kaptracker.courses import service as courses
from kaptracker.extensions import db
from kaptracker.models import (
    Administration,
    AuditAction,
    ClientStatus,
    ClinicalSession,
    Course,
    DosingSession,
    History,
    Indication,
    InjectionSite,
    Site,
    IntegrationSession,
    OutcomeScore,
    PreparationSession,
    Pregnancy,
    Screening,
    VitalSign,
)
from kaptracker.outcomes import service as outcomes
from kaptracker.rules import dosing, scales
from kaptracker.rules.scales import Occasion, Scale
from kaptracker.rules.phases import EndReason
from kaptracker.rules.screening import Decision
from kaptracker.rules.vitals import Timepoint
from kaptracker.services import clients as client_commands
from kaptracker.services import courses as course_commands
from kaptracker.services import vitals as vital_commands

# A medicine session opens two hours before the clock's now and its dose is given 110 minutes
# before: discharge now meets the minimum observation time (60 minutes by default).
OPENED_AGO = dt.timedelta(hours=2)
DOSED_AGO = dt.timedelta(minutes=110)
# The usual dose of each route (35 mg IM and IV for 70 kg; 150 mg as lozenges).
DOSES = {
    dosing.Route.IM: {"weight_kg": Decimal("70"), "mg_per_kg": Decimal("0.5"), "injection_site": "deltoid_left"},
    dosing.Route.IV: {"weight_kg": Decimal("70"), "mg_per_kg": Decimal("0.5"), "infusion_minutes": 40},
    dosing.Route.LOZENGE: {"strength_mg": Decimal("100"), "count": Decimal("1.5"), "hold_minutes": 15,
                           "swallowed": False},
}
MEDICINE_STATES = ("draft", "dosed", "discharged", "signed")
_numbers = itertools.count(1)


@contextlib.contextmanager
def _on_clock_at(moment: dt.datetime | None):
    """Run the block with the clock at ``moment`` (ticking), or as it is when None."""
    if moment is None:
        yield
        return
    with time_machine.travel(moment, tick=True):
        yield


def _get(model, record_or_id):
    return db.session.get(model, record_or_id) if isinstance(record_or_id, int) else record_or_id


# --- clients and courses -----------------------------------------------------------------------


def client(therapist, *, user=None, status=ClientStatus.ACTIVE, indications=(Indication.DEPRESSION,), **fields):
    """A client registered into ``therapist``'s caseload (services.clients.register, by
    ``user``, the therapist unless given), with invented details."""
    n = next(_numbers)
    data = {
        "record_number": f"F-{n:05d}", "given_name": f"Given{n}", "family_name": f"Factory{n}",
        "date_of_birth": dt.date(1975, 1, 1) + dt.timedelta(days=n), "phone": "+1 555 0100",
        "emergency_contact_name": "Emergency Person", "emergency_contact_relationship": "Friend",
        "emergency_contact_phone": "+1 555 0199", "therapist_id": therapist.id,
        "status": ClientStatus(status).value, "indications": [Indication(i).value for i in indications],
        "home_site_id": db.session.scalar(select(Site.id).order_by(Site.id).limit(1)),  # the default site
        **fields,
    }
    outcome = client_commands.register(data, user or therapist)
    assert outcome.ok, outcome.problems
    return outcome.record


def course(clinic, record=None, *, user=None, planned_route="im", planned_medicine_sessions=2,
           goals="Lift the depression; return to work.", started_on=None) -> Course:
    """An open course of ``record`` (the clinic's client unless given; a new client of the
    therapist when ``record`` is "new"), started by ``user`` (the therapist) on the clinic's
    today unless ``started_on`` (a date or its ISO text, as typed into the course form), by
    services.courses.start: the client is in treatment from then."""
    user = user or clinic.therapist
    if record == "new":
        record = client(clinic.therapist)
    record = record or clinic.record
    if isinstance(started_on, str):
        started_on = dt.date.fromisoformat(started_on)
    outcome = course_commands.start(record, {
        "planned_route": dosing.Route(planned_route).value, "planned_medicine_sessions": int(planned_medicine_sessions),
        "goals": goals, "started_on": started_on or clock.today(),
    }, user)
    assert outcome.ok, outcome.problems
    return outcome.record


def end_course(course_, user, *, reason="discontinued", note="Client withdrew.", ended_on=None) -> Course:
    """End the course (its client discharged), as the end form does."""
    ended = _get(Course, course_)
    # service: courses.end
    ended.end_reason = EndReason(reason)
    ended.ended_on = ended_on or clock.today()
    ended.end_note = note
    ended.client.status = ClientStatus.DISCHARGED
    record_audit(AuditAction.UPDATE, "course", ended.id, client_id=ended.client_id,
                 detail=f"ended: {ended.end_reason.value}", user=user)
    db.session.commit()
    return ended


def move_clinic(zone: str, admin) -> None:
    """The whole network moves to ``zone``: the network's zone (setting clinic.timezone) and
    every site's (whose times their records and lists show)."""
    from kaptracker import settings
    from kaptracker.models import Site

    settings.change("clinic.timezone", zone, user=admin, reason="The clinic moved")
    for site in db.session.scalars(select(Site)):
        site.time_zone = zone
    db.session.commit()


def record_audit(action, record_type, record_id, *, client_id, user, detail=None):
    """The change event a command writes (kaptracker.auditing.record, with its user)."""
    return record(action, record_type, record_id, client_id=client_id, detail=detail, user=user)


# --- sessions ----------------------------------------------------------------------------------


def _create(clinical: ClinicalSession, user) -> ClinicalSession:
    # service: sessions.create
    db.session.add(clinical)
    db.session.flush()
    course_ = db.session.get(Course, clinical.course_id)
    record_audit(AuditAction.CREATE, clinical.kind.value, clinical.id, client_id=course_.client_id, user=user)
    db.session.commit()
    return clinical


def sign(clinical, user) -> ClinicalSession:
    """Sign and lock a draft (courses.service.sign), with the sign form's audit event."""
    clinical = _get(ClinicalSession, clinical)
    # service: sessions.sign
    with db.session.no_autoflush:  # a user expired by the last commit loads between the two fields
        courses.sign(clinical, user)
    detail = f"signed; decision {clinical.decision.value}" if isinstance(clinical, Screening) else "signed"
    record_audit(AuditAction.UPDATE, clinical.kind.value, clinical.id, client_id=clinical.course.client_id,
                 detail=detail, user=user)
    db.session.commit()
    return clinical


def cosign(clinical, user) -> ClinicalSession:
    """Co-sign a signed session (courses.service.cosign, which audits it)."""
    clinical = _get(ClinicalSession, clinical)
    # service: sessions.cosign
    reason = courses.cosign(clinical, user)
    assert reason is None, reason
    db.session.commit()
    return clinical


def screening(clinic, course_, *, decision="eligible", found=(), signed=True, days_ago=1, at=None,
              author=None, rationale="Suitable for KAP after review.", **decide) -> Screening:
    """The course's screening, written by ``author`` (the therapist) ``days_ago`` days before
    the clock's now (or dated ``at``, with the clock as it is); when ``signed``, decided
    (``decision``: eligible, not_eligible, deferred) and signed by medical staff then. ``found``
    lists the contraindications; ``decide`` the medical clearance or safety plan a decision needs."""
    course_ = _get(Course, course_)
    author = author or clinic.therapist
    when = None if at is not None or not days_ago else clock.now() - dt.timedelta(days=days_ago)
    with _on_clock_at(when):
        draft = _create(Screening(
            course_id=course_.id, author_id=author.id, occurred_at=at or clock.now(),
            note="Screening interview.", bp_history="Normotensive.", psychosis_history=History.NONE,
            mania_history=History.NONE, dissociative_history=History.UNKNOWN,
            pregnancy=Pregnancy.NOT_APPLICABLE, contraindications=list(found),
        ), author)
        if not signed:
            return draft
        # service: sessions.sign (a screening's sign takes the decision)
        draft.decision = Decision(decision)
        draft.decision_rationale = rationale
        for name, value in decide.items():
            setattr(draft, name, value)
        return sign(draft, clinic.medical)


def preparation(clinic, course_, *, signed=True, days_ago=1, at=None, author=None,
                note="Intentions explored.", ready=False) -> PreparationSession:
    """A preparation session note by ``author`` (the therapist) ``days_ago`` days before the
    clock's now (or dated ``at``, with the clock as it is), signed then when ``signed``;
    ``ready``: the client marked medically and psychologically ready."""
    course_ = _get(Course, course_)
    author = author or clinic.therapist
    when = None if at is not None or not days_ago else clock.now() - dt.timedelta(days=days_ago)
    with _on_clock_at(when):
        draft = _create(PreparationSession(
            course_id=course_.id, author_id=author.id, occurred_at=at or clock.now(),
            note=note, intentions="To feel less stuck.", medically_ready=ready, psychologically_ready=ready,
        ), author)
        return sign(draft, author) if signed else draft


def ready(clinic, record=None, **fields) -> Course:
    """A course past both gates: a signed eligible screening and a signed preparation note, both
    from the day before (a medicine session dated two hours ago comes after them)."""
    started = course(clinic, record, **fields)
    screening(clinic, started)
    preparation(clinic, started)
    return started


def reading(clinical, user, bp="118/76", heart_rate=70, spo2=98, *, at=None, timepoint="during",
            note="") -> VitalSign:
    """A vital-sign reading taken ``at`` (the clock's now unless given) recorded by
    services.vitals.record_reading: with the safety alerts the vitals rules raise on it and its
    audit event."""
    clinical = _get(ClinicalSession, clinical)
    systolic, diastolic = (int(v) for v in bp.split("/"))
    outcome = vital_commands.record_reading(clinical, {
        "taken_at": at or clock.now(), "timepoint": Timepoint(timepoint).value, "systolic": systolic,
        "diastolic": diastolic, "heart_rate": heart_rate, "spo2": spo2, "note": note,
    }, user)
    assert outcome.ok, outcome.problems
    return outcome.record


def dose(clinical, user, *, at=None, **fields) -> Administration:
    """A dose given ``at`` (110 minutes before the clock's now unless given) of the route's usual
    amount (DOSES, or ``fields``), with the mg computed as the dose form computes it."""
    clinical = _get(DosingSession, clinical)
    given = {**DOSES[clinical.route], **fields}
    if clinical.route is dosing.Route.LOZENGE:
        dose_mg = dosing.lozenge_mg(Decimal(given["strength_mg"]), Decimal(given["count"]))
    else:
        dose_mg = dosing.weight_based_mg(Decimal(given["weight_kg"]), Decimal(given["mg_per_kg"]))
    # service: sessions.add_administration
    administration = Administration(session_id=clinical.id, given_at=at or clock.now() - DOSED_AGO,
                                    dose_mg=dose_mg, recorded_by_id=user.id)
    if clinical.route is dosing.Route.LOZENGE:
        administration.strength_mg = Decimal(given["strength_mg"])
        administration.count = Decimal(given["count"])
        administration.hold_minutes = given["hold_minutes"]
        administration.swallowed = given["swallowed"]
    else:
        clinical.weight_kg = Decimal(given["weight_kg"])
        administration.mg_per_kg = Decimal(given["mg_per_kg"])
        if clinical.route is dosing.Route.IM:
            administration.injection_site = InjectionSite(given["injection_site"])
        else:
            administration.infusion_minutes = given["infusion_minutes"]
    db.session.add(administration)
    db.session.flush()
    record_audit(AuditAction.CREATE, "administration", administration.id, client_id=clinical.course.client_id,
                 detail=f"{dose_mg} mg in medicine session {clinical.id}", user=user)
    db.session.commit()
    return administration


def discharge(clinical, user, *, at=None, note="Uneventful.") -> DosingSession:
    """A discharge reading, then the end and discharge times (``at``, the clock's now unless
    given) and the note, saved as the session form saves them."""
    clinical = _get(DosingSession, clinical)
    at = at or clock.now()
    reading(clinical, user, at=at, timepoint="discharge")
    # service: sessions.edit
    clinical.ended_at = clinical.discharged_at = at
    clinical.note = note
    record_audit(AuditAction.UPDATE, "dosing", clinical.id, client_id=clinical.course.client_id, user=user,
                 detail="changed: " + ", ".join(changed_fields(clinical)))
    db.session.commit()
    return clinical


def medicine(clinic, course_, route=None, state="signed", *, opened=None, author=None, baseline=True,
             **fields) -> DosingSession:
    """A medicine session of ``route`` (the course's planned route unless given) opened
    ``opened`` (two hours before the clock's now unless given) by ``author`` (medical staff), in
    ``state``: draft (with its baseline reading unless ``baseline`` is false), dosed (the route's
    usual dose), discharged (discharge reading, end and discharge times now) or signed."""
    assert state in MEDICINE_STATES, state
    course_ = _get(Course, course_)
    author = author or clinic.medical
    when = opened or clock.now() - OPENED_AGO
    route = dosing.Route(route or course_.planned_route)
    clinical = _create(DosingSession(course_id=course_.id, author_id=author.id, administered_by_id=author.id,
                                     route=route, occurred_at=when, started_at=when, note="", **fields), author)
    if baseline:
        reading(clinical, author, at=when, timepoint="baseline")
    if state == "draft":
        return clinical
    dose(clinical, author)
    if state == "dosed":
        return clinical
    discharge(clinical, author)
    if state == "discharged":
        return clinical
    return sign(clinical, author)


def integration(clinic, course_, medicine_session, *, signed=True, at=None) -> IntegrationSession:
    """An integration session by the therapist after ``medicine_session`` (now unless ``at``),
    signed when ``signed``."""
    course_ = _get(Course, course_)
    draft = _create(IntegrationSession(
        course_id=course_.id, author_id=clinic.therapist.id, occurred_at=at or clock.now(),
        dosing_session_id=getattr(medicine_session, "id", medicine_session),
        insights="Saw the pattern.", note="Integration.",
    ), clinic.therapist)
    return sign(draft, clinic.therapist) if signed else draft


# --- outcome scores ----------------------------------------------------------------------------


def score(course_, user, scale=Scale.PHQ9, answers=None, *, occasion="baseline", session_number=None,
          completed_on=None) -> OutcomeScore:
    """An outcome score with its total, band and item-9 flag computed by the scale rules
    (``answers`` all 1 unless given), completed on the clinic's today unless given."""
    course_ = _get(Course, course_)
    scale = Scale(scale)
    answers = list(answers) if answers is not None else [1] * len(scale.spec.items)
    total = scales.total(scale, answers)
    flag = scales.self_harm_flag(scale, answers)
    occasion = Occasion(occasion)
    # service: outcomes.record
    recorded = OutcomeScore(course_id=course_.id, scale=scale, occasion=occasion,
                            session_number=session_number if occasion is Occasion.PRE_SESSION else None,
                            completed_on=completed_on or clock.today(), answers=answers, total=total,
                            band=outcomes.band_for(scale, total).label, self_harm_flag=flag,
                            recorded_by_id=user.id)
    db.session.add(recorded)
    db.session.flush()
    record_audit(AuditAction.CREATE, "outcome_score", recorded.id, client_id=course_.client_id, user=user,
                 detail=f"{scale.label} total {total}" + (", item 9 flagged" if flag else ""))
    db.session.commit()
    return recorded
