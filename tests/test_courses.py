"""Treatment courses through the test client: starting one, the screening decision, the phase
gates for medicine sessions, ending a course, the audit trail, and no server errors.

What a test is about goes through the real routes, each member of staff on their own test
client; the state it starts from is built with tests/factories.py.
Date-times are typed in the clinic's time zone, relative to the clinic's clock.
"""

from __future__ import annotations

import datetime as dt
import re

import pytest
import sqlalchemy as sa
from sqlalchemy import select

from kaptracker import settings
from kaptracker.extensions import db
from kaptracker.models import (
    AuditAction,
    AuditEvent,
    ClientStatus,
    ClinicalSession,
    Course,
    Screening,
)
from kaptracker.rules.dosing import Route
from kaptracker.rules.phases import EndReason
from kaptracker.rules.screening import Decision
from kaptracker import clock

import factories
from course_support import SCREENING, error_beside, id_from, local, page, raw, today


class InDays(int):
    """A date n days from the clinic's today, worked out when the test runs (in its app, in the
    clinic's zone), not when the module is imported (then it was the UTC date of the import)."""

    def date(self) -> str:
        return today(int(self))

    def __repr__(self) -> str:
        return f"today{int(self):+d}"


def events(**where) -> list[AuditEvent]:
    stmt = select(AuditEvent).order_by(AuditEvent.id)
    for key, value in where.items():
        stmt = stmt.where(getattr(AuditEvent, key) == value)
    return list(db.session.scalars(stmt))


# --- starting a course -------------------------------------------------------------------------


@pytest.mark.clock_matrix  # works with the clinic's dates
def test_the_therapist_starts_a_course_for_their_own_client(clinic):
    response = clinic.start(planned_route="iv", planned_medicine_sessions="6")
    course_id = id_from(response, "/courses")
    course = db.session.get(Course, course_id)
    assert (course.client_id, course.planned_route, course.planned_medicine_sessions) == (
        clinic.record.id, Route.IV, 6)
    assert course.started_on == clock.today() and course.end_reason is None
    assert course.created_by_id == clinic.therapist.id
    assert clinic.record.status is ClientStatus.ACTIVE  # a referred client is now in treatment
    shown = page(clinic.get(clinic.therapist, f"/courses/{course_id}"))
    assert "Preparation" in shown and "Complete the screening" in shown


def test_another_therapist_cannot_start_a_course_for_the_client(clinic):
    response = clinic.start(user=clinic.other_therapist)
    assert response.status_code == 404
    assert db.session.scalar(select(sa.func.count(Course.id))) == 0
    assert events(action=AuditAction.DENIED, user_id=clinic.other_therapist.id, record_type="client")


def test_a_supervisor_starts_a_course_for_any_client(clinic, make_client):
    someone_elses = make_client(clinic.other_therapist)
    course_id = id_from(clinic.start(user=clinic.supervisor, record=someone_elses), "/courses")
    assert db.session.get(Course, course_id).created_by_id == clinic.supervisor.id


@pytest.mark.parametrize("role", ["medical", "admin"])
def test_medical_staff_and_admins_do_not_start_courses(clinic, role):
    user = getattr(clinic, role)
    assert clinic.get(user, f"/clients/{clinic.record.id}/courses/new").status_code == 403
    assert clinic.start(user=user).status_code == 403
    assert db.session.scalar(select(sa.func.count(Course.id))) == 0


def test_one_open_course_per_client(clinic):
    first = factories.course(clinic).id
    for user in (clinic.therapist, clinic.supervisor):
        response = clinic.start(user=user)
        assert response.status_code == 302
        assert response.headers["Location"] == f"/courses/{first}"
        shown = page(clinic.get(user, response.headers["Location"]))
        assert "This client already has an open course: complete or discontinue it first." in shown
    assert db.session.scalar(select(sa.func.count(Course.id))) == 1


@pytest.mark.clock_matrix  # works with the clinic's dates
def test_the_database_refuses_a_second_open_course(clinic):
    first = factories.course(clinic).id

    def another(**fields):
        return Course(client_id=clinic.record.id, planned_route=Route.LOZENGE,
                      planned_medicine_sessions=3, goals="Again", started_on=clock.today(),
                      created_by_id=clinic.therapist.id, **fields)

    db.session.add(another())
    with pytest.raises(sa.exc.IntegrityError):
        db.session.commit()
    db.session.rollback()
    # An ended course does not count: the client may have many of those and one open course.
    db.session.add(another(end_reason=EndReason.DISCONTINUED, ended_on=clock.today()))
    db.session.commit()
    db.session.get(Course, first).end_reason = EndReason.DISCONTINUED
    db.session.get(Course, first).ended_on = clock.today()
    db.session.commit()
    db.session.add(another())
    db.session.commit()
    assert db.session.scalar(select(sa.func.count(Course.id)).where(Course.end_reason.is_(None))) == 1


@pytest.mark.clock_matrix  # works with the clinic's dates
@pytest.mark.parametrize(
    "field, value, message",
    [
        ("planned_medicine_sessions", "0", "Plan between 1 and 24 medicine sessions."),
        ("planned_medicine_sessions", "25", "Plan between 1 and 24 medicine sessions."),
        ("planned_medicine_sessions", "abc", "Not a valid integer value."),
        ("planned_medicine_sessions", "", "Enter how many medicine sessions are planned."),
        ("goals", "", "Write the goals of this course."),
        ("goals", "   \n ", "Write the goals of this course."),
        ("started_on", InDays(91), "A course starts at most 90 days from today."),
        ("started_on", InDays(-400), "A course started more than a year ago cannot be opened now."),
        ("started_on", "tomorrow", "Not a valid date value."),
        ("started_on", "", "Enter the start date."),
        ("planned_route", "oral", "Not a valid choice."),
    ],
)
@pytest.mark.clock_matrix  # works with the clinic's dates
def test_course_form_messages_beside_the_fields(clinic, field, value, message):
    value = value.date() if isinstance(value, InDays) else value
    response = clinic.start(**{field: value})
    assert response.status_code == 200
    assert message in error_beside(response, field)
    assert db.session.scalar(select(sa.func.count(Course.id))) == 0
    assert clinic.record.status is ClientStatus.REFERRED


@pytest.mark.clock_matrix  # works with the clinic's dates
def test_a_course_may_start_up_to_90_days_ahead(clinic):
    course_id = id_from(clinic.start(started_on=today(90)), "/courses")
    assert db.session.get(Course, course_id).started_on == clock.today() + dt.timedelta(days=90)


# --- the screening -----------------------------------------------------------------------------


def test_the_therapist_drafts_the_screening_but_cannot_decide(clinic):
    course_id = factories.course(clinic).id
    sid = clinic.create(clinic.therapist, course_id, "screening", **SCREENING,
                        contraindications=["cardiac", "substance_use"],
                        interacting_medications=["benzodiazepines"],
                        decision="eligible", decision_rationale="I think so",
                        medical_clearance="Cleared", safety_plan="Plan")
    screening = db.session.get(Screening, sid)
    assert screening.contraindications == ["cardiac", "substance_use"]
    assert screening.interacting_medications == ["benzodiazepines"]
    assert screening.psychosis_history.value == "none"
    assert (screening.decision, screening.decision_rationale, screening.medical_clearance,
            screening.safety_plan) == (None, None, None, None)
    assert not screening.is_signed
    # Editing does not let the therapist decide either.
    response = clinic.edit(clinic.therapist, sid, **SCREENING, contraindications=["cardiac"],
                           decision="eligible", decision_rationale="Still think so")
    assert response.status_code == 302
    db.session.expire_all()
    screening = db.session.get(Screening, sid)
    assert screening.contraindications == ["cardiac"]
    assert screening.decision is None and screening.decision_rationale is None
    # The course waits for the medical decision.
    shown = page(clinic.get(clinic.therapist, f"/courses/{course_id}"))
    assert "Awaiting a medical decision" in shown
    assert "The screening has no signed medical decision yet." in shown


def test_a_second_screening_opens_the_first(clinic):
    course_id = factories.course(clinic).id
    sid = factories.screening(clinic, course_id, signed=False).id
    response = clinic.new(clinic.therapist, course_id, "screening", **SCREENING)
    assert response.headers["Location"] == f"/sessions/{sid}"
    assert clinic.get(clinic.medical, f"/courses/{course_id}/sessions/new/screening").headers[
        "Location"] == f"/sessions/{sid}"
    assert db.session.scalar(select(sa.func.count(Screening.id))) == 1


def test_medical_staff_sign_the_screening_with_the_decision(clinic):
    course_id = factories.course(clinic).id
    sid = factories.screening(clinic, course_id, signed=False).id
    assert "Decide and sign" in page(clinic.get(clinic.medical, f"/sessions/{sid}"))
    response = clinic.sign(clinic.medical, sid, decision="eligible",
                           decision_rationale="No contraindication found.")
    assert response.status_code == 302
    screening = db.session.get(Screening, sid)
    assert screening.decision is Decision.ELIGIBLE
    assert screening.decision_rationale == "No contraindication found."
    assert screening.signed_by_id == clinic.medical.id and screening.signed_at is not None
    assert screening.author_id == clinic.therapist.id  # the therapist's draft, the doctor's decision
    shown = page(clinic.get(clinic.therapist, f"/courses/{course_id}"))
    assert "Decision: Eligible" in shown
    assert "No preparation session note has been signed yet." in shown


def test_medical_staff_may_draft_a_decision_before_signing(clinic):
    course_id = factories.course(clinic).id
    sid = factories.screening(clinic, course_id, signed=False).id
    response = clinic.edit(clinic.medical, sid, **SCREENING, decision="deferred",
                           decision_rationale="Awaiting the ECG.")
    assert response.status_code == 302
    screening = db.session.get(Screening, sid)
    assert screening.decision is Decision.DEFERRED and not screening.is_signed
    # The draft decision does not count: only a signed one does.
    assert "The screening has no signed medical decision yet." in page(
        clinic.get(clinic.medical, f"/courses/{course_id}"))
    # The sign page proposes the drafted decision; signing with it keeps the drafted rationale.
    assert re.search(r'<input checked id="decision-\d" name="decision" type="radio" value="deferred">',
                     raw(clinic.get(clinic.medical, f"/sessions/{sid}/sign")))
    assert clinic.sign(clinic.medical, sid, decision="deferred").status_code == 302
    assert db.session.get(Screening, sid).decision_rationale == "Awaiting the ECG."


def test_eligible_despite_an_absolute_contraindication_needs_medical_clearance(clinic):
    course_id = factories.course(clinic).id
    sid = factories.screening(clinic, course_id, found=["cardiac", "substance_use"], signed=False).id
    response = clinic.sign(clinic.medical, sid, decision="eligible", decision_rationale="Fine.")
    assert response.status_code == 200
    assert error_beside(response, "medical_clearance") == (
        "Absolute contraindication found (Angina, heart disease or arrhythmia): eligible only "
        "with a recorded medical clearance.")
    assert "The decision cannot be signed as it stands" in page(response)
    assert not db.session.get(Screening, sid).is_signed
    # What was typed is still there.
    assert "Fine." in page(response)

    response = clinic.sign(clinic.medical, sid, decision="eligible", decision_rationale="Fine.",
                           medical_clearance="Cardiology letter: stable, cleared for ketamine.")
    assert response.status_code == 302
    screening = db.session.get(Screening, sid)
    assert screening.is_signed and screening.decision is Decision.ELIGIBLE
    assert screening.medical_clearance == "Cardiology letter: stable, cleared for ketamine."


def test_a_clinic_setting_can_make_a_contraindication_absolute(clinic):
    settings.change("contraindication.hyperthyroidism", "absolute", user=clinic.admin, reason="Policy")
    db.session.commit()
    course_id = factories.course(clinic).id
    sid = factories.screening(clinic, course_id, found=["hyperthyroidism"], signed=False).id
    response = clinic.sign(clinic.medical, sid, decision="eligible", decision_rationale="Fine.")
    assert "Uncontrolled hyperthyroidism" in error_beside(response, "medical_clearance")
    assert not db.session.get(Screening, sid).is_signed


def test_not_eligible_needs_only_a_rationale(clinic):
    course_id = factories.course(clinic).id
    sid = factories.screening(clinic, course_id, found=["psychosis", "suicide_risk"], signed=False).id
    response = clinic.sign(clinic.medical, sid, decision="not_eligible")
    assert response.status_code == 200
    assert error_beside(response, "decision_rationale") == "Give the rationale for this decision."
    assert error_beside(response, "medical_clearance") == ""
    assert error_beside(response, "safety_plan") == ""
    response = clinic.sign(clinic.medical, sid, decision="not_eligible",
                           decision_rationale="Active psychosis.")
    assert response.status_code == 302
    assert db.session.get(Screening, sid).decision is Decision.NOT_ELIGIBLE


def test_acute_suicide_risk_needs_a_safety_plan(clinic):
    course_id = factories.course(clinic).id
    sid = factories.screening(clinic, course_id, found=["suicide_risk"], signed=False).id
    response = clinic.sign(clinic.medical, sid, decision="eligible", decision_rationale="Reviewed.")
    assert error_beside(response, "safety_plan") == (
        "Acute suicide risk: record the safety plan before eligibility.")
    assert not db.session.get(Screening, sid).is_signed
    assert clinic.sign(clinic.medical, sid, decision="eligible", decision_rationale="Reviewed.",
                       safety_plan="Crisis line; partner present.").status_code == 302
    assert db.session.get(Screening, sid).safety_plan == "Crisis line; partner present."


@pytest.mark.parametrize("decision", ["", "maybe", "ELIGIBLE"])
def test_signing_a_screening_needs_a_known_decision(clinic, decision):
    course_id = factories.course(clinic).id
    sid = factories.screening(clinic, course_id, signed=False).id
    response = clinic.sign(clinic.medical, sid, decision=decision, decision_rationale="x")
    assert response.status_code == 200
    assert error_beside(response, "decision") == "Choose eligible, not eligible or deferred."
    assert not db.session.get(Screening, sid).is_signed


@pytest.mark.parametrize(
    "field, value, message",
    [
        ("decision_rationale", "Fine\x00", "Remove the invisible control characters from this text."),
        ("medical_clearance", "Cleared\x07", "Remove the invisible control characters from this text."),
        ("safety_plan", "x" * 5001, "Use at most 5000 characters."),
    ],
)
def test_the_decision_text_is_checked_like_any_other_text(clinic, field, value, message):
    course_id = factories.course(clinic).id
    sid = factories.screening(clinic, course_id, signed=False).id
    data = {"decision": "eligible", "decision_rationale": "Fine.", field: value}
    response = clinic.sign(clinic.medical, sid, **data)
    assert response.status_code == 200
    assert error_beside(response, field) == message
    assert not db.session.get(Screening, sid).is_signed


def test_signing_a_screening_needs_the_confirm_tick(clinic):
    course_id = factories.course(clinic).id
    sid = factories.screening(clinic, course_id, signed=False).id
    response = clinic.post(clinic.medical, f"/sessions/{sid}/sign",
                           {"decision": "eligible", "decision_rationale": "Fine."})
    assert response.status_code == 200
    assert error_beside(response, "c-confirm") == "Tick the box to confirm that you sign this record."
    assert not db.session.get(Screening, sid).is_signed


@pytest.mark.parametrize("role", ["therapist", "supervisor"])
def test_only_medical_staff_sign_a_screening(clinic, role):
    course_id = factories.course(clinic).id
    sid = factories.screening(clinic, course_id, signed=False).id
    user = getattr(clinic, role)
    for response in (clinic.get(user, f"/sessions/{sid}/sign"),
                     clinic.sign(user, sid, decision="eligible", decision_rationale="Fine.")):
        assert response.status_code == 409
        assert "Only medical staff decide and sign a screening." in page(response)
    assert not db.session.get(Screening, sid).is_signed
    assert "Decide and sign" not in page(clinic.get(user, f"/sessions/{sid}"))


def test_a_signed_screening_decision_is_final(clinic):
    course_id = factories.course(clinic).id
    sid = factories.screening(clinic, course_id, decision="deferred").id
    response = clinic.edit(clinic.medical, sid, **SCREENING, decision="eligible",
                           decision_rationale="Changed my mind.")
    assert response.status_code == 409
    assert "This note is signed and locked. Add an addendum instead." in page(response)
    assert clinic.sign(clinic.medical, sid, decision="eligible",
                       decision_rationale="Changed my mind.").status_code == 409
    assert db.session.get(Screening, sid).decision is Decision.DEFERRED


# --- phase gates -------------------------------------------------------------------------------


def _refused_dosing(clinic, course_id) -> str:
    for response in (clinic.get(clinic.medical, f"/courses/{course_id}/sessions/new/dosing"),
                     clinic.new(clinic.medical, course_id, "dosing", route="im")):
        assert response.status_code == 409
        assert "A medicine session cannot start yet" in page(response)
    assert db.session.scalar(select(sa.func.count(ClinicalSession.id)).where(
        ClinicalSession.kind == "dosing")) == 0
    return page(response)


def test_a_medicine_session_needs_a_signed_screening(clinic):
    course_id = factories.course(clinic).id
    factories.preparation(clinic, course_id)
    shown = _refused_dosing(clinic, course_id)
    assert "The screening has no signed medical decision yet." in shown
    factories.screening(clinic, course_id, signed=False)  # a draft does not open the gate
    assert "The screening has no signed medical decision yet." in _refused_dosing(clinic, course_id)


@pytest.mark.parametrize("decision, label", [("not_eligible", "not eligible"), ("deferred", "deferred")])
def test_a_medicine_session_needs_an_eligible_decision(clinic, decision, label):
    course_id = factories.course(clinic).id
    factories.screening(clinic, course_id, decision=decision)
    factories.preparation(clinic, course_id)
    shown = _refused_dosing(clinic, course_id)
    assert f"The signed screening decision is '{label}', not eligible." in shown
    assert "No preparation session note" not in shown


def test_a_medicine_session_needs_a_signed_preparation_note(clinic):
    course_id = factories.course(clinic).id
    factories.screening(clinic, course_id)
    factories.preparation(clinic, course_id, signed=False)  # a draft does not count
    shown = _refused_dosing(clinic, course_id)
    assert "No preparation session note has been signed yet." in shown
    assert "screening" not in shown.split("Why:")[1]


def test_every_reason_is_given_at_once(clinic):
    course_id = factories.course(clinic).id
    shown = _refused_dosing(clinic, course_id)
    assert "The screening has no signed medical decision yet." in shown
    assert "No preparation session note has been signed yet." in shown


def test_a_medicine_session_opens_once_both_gates_pass(clinic):
    course_id = factories.course(clinic).id
    factories.screening(clinic, course_id)
    assert "Preparation" in page(clinic.get(clinic.therapist, f"/courses/{course_id}"))
    factories.preparation(clinic, course_id)
    shown = raw(clinic.get(clinic.therapist, f"/courses/{course_id}"))
    assert "Medicine session 1 of 2 can be scheduled." in shown
    assert "badge--phase-medicine" in shown
    form = clinic.get(clinic.medical, f"/courses/{course_id}/sessions/new/dosing")
    assert form.status_code == 200
    assert '<option selected value="im">' in raw(form)  # the planned route
    sid = clinic.create(clinic.medical, course_id, "dosing", route="iv", weight_kg="70.3",
                        occurred_at=local(-factories.OPENED_AGO))
    factories.reading(sid, clinic.medical, at=clock.now() - factories.OPENED_AGO, timepoint="baseline")
    session = db.session.get(ClinicalSession, sid)
    assert session.kind.value == "dosing" and session.route is Route.IV
    assert session.author_id == clinic.medical.id and session.administered_by_id == clinic.medical.id
    assert session.started_at == session.occurred_at
    shown = raw(clinic.get(clinic.therapist, f"/courses/{course_id}"))
    assert "Hold an integration session for the last medicine session." in shown
    assert "badge--phase-integration" in shown


def _dosing_count() -> int:
    return db.session.scalar(select(sa.func.count(ClinicalSession.id)).where(ClinicalSession.kind == "dosing"))


def test_a_medicine_session_cannot_be_dated_before_its_screening_decision_was_signed(clinic):
    course_id = factories.ready(clinic).id  # screening and preparation signed a day ago
    signed = db.session.scalar(select(Screening.signed_at).join(Course).where(Course.id == course_id))
    response = clinic.new(clinic.medical, course_id, "dosing", route="im",
                          occurred_at=local(dt.timedelta(days=-2)))
    assert response.status_code == 200  # the form again, the reason beside the time
    message = error_beside(response, "occurred_at")
    assert message.startswith(f"The screening decision was signed at {clock.utc_to_local(signed):%d %b %Y %H:%M}, "
                              "after this session's time")
    assert "cannot be dated before the decision that allows it" in message
    assert "The first preparation note" in page(response)  # signed the same day, also later
    assert _dosing_count() == 0
    # Dated after both were signed, it opens.
    clinic.create(clinic.medical, course_id, "dosing", route="im", occurred_at=local(dt.timedelta(hours=-2)))
    assert _dosing_count() == 1


def test_a_medicine_session_cannot_be_dated_before_a_preparation_note_was_signed(clinic):
    course_id = factories.course(clinic).id
    factories.screening(clinic, course_id)  # signed a day ago
    prep = clinic.create(clinic.therapist, course_id, "preparation", note="Intentions explored.",
                         intentions="To feel less stuck.", occurred_at=local(dt.timedelta(hours=-3)))
    assert clinic.sign(clinic.therapist, prep).status_code == 302  # signed now
    response = clinic.new(clinic.medical, course_id, "dosing", route="im",
                          occurred_at=local(dt.timedelta(hours=-2)))
    message = error_beside(response, "occurred_at")
    assert message.startswith("The first preparation note was signed at ")
    assert "after this session's time" in message and "screening" not in message
    assert _dosing_count() == 0
    assert clinic.new(clinic.medical, course_id, "dosing", route="im",
                      occurred_at=local(dt.timedelta(minutes=1))).status_code == 302


def test_a_medicine_session_cannot_be_moved_before_its_gates(clinic):
    course_id = factories.ready(clinic).id
    sid = factories.medicine(clinic, course_id, "im", "draft").id
    before = db.session.get(ClinicalSession, sid).occurred_at
    response = clinic.edit(clinic.medical, sid, occurred_at=local(dt.timedelta(days=-3)), route="im")
    assert "after this session's time" in error_beside(response, "occurred_at")
    db.session.expire_all()
    assert db.session.get(ClinicalSession, sid).occurred_at == before
    # Re-saving the stored time (or moving it within the allowed span) still works.
    assert clinic.edit(clinic.medical, sid, note="Draft.").status_code == 302
    assert clinic.edit(clinic.medical, sid, occurred_at=local(dt.timedelta(hours=-3))).status_code == 302


def test_two_tabs_opening_one_screening_at_once_make_one_screening(clinic, monkeypatch):
    """The database keeps one screening per course: of two requests that both found none and
    both insert one, the second is sent to the first's, with a message, never a server error."""
    import threading

    from kaptracker.services import sessions
    from live_support import race

    course_id = factories.course(clinic).id
    tabs = [clinic.app.test_client(), clinic.app.test_client()]
    for tab in tabs:
        clinic._login(clinic.therapist, http=tab)
    barrier = threading.Barrier(2)
    original = sessions._copy_into

    def held(*args, **kwargs):  # both requests have checked for a screening before either inserts
        original(*args, **kwargs)
        barrier.wait(timeout=30)

    monkeypatch.setattr(sessions, "_copy_into", held)
    replies = race(*(lambda t=t, n=n: t.post(f"/courses/{course_id}/sessions/new/screening",
                                              data={**SCREENING, "occurred_at": local(), "note": n})
                     for t, n in zip(tabs, ("First tab.", "Second tab."))))
    assert [r.status_code for r in replies] == [302, 302]
    db.session.expire_all()
    [screening] = db.session.scalars(select(Screening).where(Screening.course_id == course_id))
    assert {r.headers["Location"] for r in replies} == {f"/sessions/{screening.id}"}
    loser = tabs[[screening.note == n for n in ("First tab.", "Second tab.")].index(False)]
    assert "Someone else opened this course's screening a moment before you" in page(
        loser.get(f"/sessions/{screening.id}"))
    assert len(events(action=AuditAction.CREATE, record_type="screening")) == 1


def test_therapists_do_not_open_medicine_sessions(clinic):
    course_id = factories.ready(clinic).id
    assert clinic.get(clinic.therapist, f"/courses/{course_id}/sessions/new/dosing").status_code == 403
    assert clinic.new(clinic.therapist, course_id, "dosing", route="im").status_code == 403
    assert events(action=AuditAction.DENIED, user_id=clinic.therapist.id, record_type="course")


@pytest.mark.parametrize("kind", ["preparation", "integration"])
def test_medical_staff_do_not_write_therapy_sessions(clinic, kind):
    course_id = factories.ready(clinic).id
    factories.medicine(clinic, course_id, "im", "signed")
    assert clinic.get(clinic.medical, f"/courses/{course_id}/sessions/new/{kind}").status_code == 403
    assert clinic.new(clinic.medical, course_id, kind, note="x").status_code == 403


@pytest.mark.parametrize("kind", ["screening", "preparation", "dosing", "integration"])
def test_supervisors_write_no_sessions(clinic, kind):
    course_id = factories.ready(clinic).id
    assert clinic.get(clinic.supervisor, f"/courses/{course_id}/sessions/new/{kind}").status_code == 403


@pytest.mark.clock_matrix  # works with the clinic's dates
def test_a_second_medicine_session_warns_when_the_last_is_not_integrated(clinic):
    course_id = factories.ready(clinic, planned_medicine_sessions="1").id
    factories.medicine(clinic, course_id, "im", "signed")
    shown = page(clinic.get(clinic.medical, f"/courses/{course_id}/sessions/new/dosing"))
    assert "The last medicine session has no integration session yet." in shown
    assert "1 of 1 planned medicine sessions have been given: another one goes beyond the plan." in shown


# --- ending a course ---------------------------------------------------------------------------


def _end(clinic, course_id, user=None, **fields):
    data = {"end_reason": "completed", "ended_on": today(), **fields}
    return clinic.post(user or clinic.therapist, f"/courses/{course_id}/end", data)


@pytest.mark.clock_matrix  # works with the clinic's dates
def test_completion_is_refused_with_the_reasons(clinic):
    course_id = factories.ready(clinic).id
    response = _end(clinic, course_id)
    assert response.status_code == 200
    assert error_beside(response, "end_reason") == (
        "The course cannot be completed yet: No medicine session has been given; "
        "discontinue the course instead.")
    dosing_id = factories.medicine(clinic, course_id, "im", "discharged").id
    response = _end(clinic, course_id)
    message = error_beside(response, "end_reason")
    assert "1 medicine session(s) have no integration session yet." in message
    assert "1 session note(s) are not signed yet." in message
    shown = page(clinic.get(clinic.therapist, f"/courses/{course_id}/end"))
    assert "It cannot be marked completed yet:" in shown
    assert clinic.sign(clinic.medical, dosing_id).status_code == 302
    integration_id = factories.integration(clinic, course_id, dosing_id, signed=False).id
    assert error_beside(_end(clinic, course_id), "end_reason") == (
        "The course cannot be completed yet: 1 session note(s) are not signed yet.")
    assert db.session.get(Course, course_id).end_reason is None
    assert clinic.sign(clinic.therapist, integration_id).status_code == 302
    response = _end(clinic, course_id, end_note="Remission at week 6.")
    assert response.headers["Location"] == f"/courses/{course_id}"
    course = db.session.get(Course, course_id)
    assert course.end_reason is EndReason.COMPLETED and course.ended_on == clock.today()
    shown = raw(clinic.get(clinic.therapist, f"/courses/{course_id}"))
    assert "badge--phase-completed" in shown and "It is read-only but for addenda." in shown
    assert "End course" not in shown


def test_discontinuing_needs_a_reason(clinic):
    course_id = factories.course(clinic).id
    response = _end(clinic, course_id, end_reason="discontinued")
    assert response.status_code == 200
    assert error_beside(response, "end_note") == "Say why the course is discontinued."
    assert db.session.get(Course, course_id).end_reason is None
    response = _end(clinic, course_id, end_reason="discontinued", end_note="Moved away.")
    assert response.status_code == 302
    course = db.session.get(Course, course_id)
    assert (course.end_reason, course.end_note) == (EndReason.DISCONTINUED, "Moved away.")
    assert "badge--phase-discontinued" in raw(clinic.get(clinic.therapist, f"/courses/{course_id}"))


@pytest.mark.clock_matrix  # works with the clinic's dates
@pytest.mark.parametrize(
    "field, value, message",
    [
        ("end_reason", "", "Choose completed or discontinued."),
        ("end_reason", "abandoned", "Not a valid choice."),
        ("ended_on", InDays(1), "The end date cannot be in the future."),
        ("ended_on", InDays(-1), "The end date is before the course started."),
        ("ended_on", "yesterday", "Not a valid date value."),
        ("end_note", "Why\x00", "Remove the invisible control characters from this text."),
    ],
)
@pytest.mark.clock_matrix  # works with the clinic's dates
def test_end_form_messages_beside_the_fields(clinic, field, value, message):
    value = value.date() if isinstance(value, InDays) else value
    course_id = factories.course(clinic).id
    response = _end(clinic, course_id, **{"end_reason": "discontinued", "end_note": "Moved.", field: value})
    assert response.status_code == 200
    assert message in error_beside(response, field)
    assert db.session.get(Course, course_id).end_reason is None


def test_who_ends_a_course(clinic):
    course_id = factories.course(clinic).id
    assert clinic.get(clinic.medical, f"/courses/{course_id}/end").status_code == 403
    assert clinic.get(clinic.other_therapist, f"/courses/{course_id}/end").status_code == 404
    assert _end(clinic, course_id, user=clinic.supervisor, end_reason="discontinued",
                end_note="Referred elsewhere.").status_code == 302
    # Ending it again only says so.
    response = _end(clinic, course_id, end_reason="discontinued", end_note="Again")
    assert response.status_code == 302
    assert "This course is already discontinued." in page(clinic.get(clinic.therapist, response.headers["Location"]))


@pytest.fixture
def ended(clinic):
    """A discontinued course with a draft preparation note, a signed one, and a draft medicine
    session; and the ids of each."""
    course_id = factories.ready(clinic).id
    signed_prep = db.session.scalar(select(ClinicalSession.id).where(
        ClinicalSession.course_id == course_id, ClinicalSession.kind == "preparation"))
    draft_prep = factories.preparation(clinic, course_id, signed=False).id
    dosing_id = factories.medicine(clinic, course_id, "im", "draft").id
    assert _end(clinic, course_id, end_reason="discontinued", end_note="Client withdrew.").status_code == 302
    return {"course": course_id, "draft": draft_prep, "signed": signed_prep, "dosing": dosing_id}


READ_ONLY = "The course is discontinued: it is read-only but for addenda."


@pytest.mark.parametrize("kind, role", [("screening", "therapist"), ("preparation", "therapist"),
                                        ("integration", "therapist"), ("dosing", "medical")])
def test_an_ended_course_takes_no_new_sessions(clinic, ended, kind, role):
    user = getattr(clinic, role)
    # Ending discharged the client; the medical staff who dosed them still reach the course
    # (for addenda), and the course itself refuses anything new, saying why.
    for response in (clinic.get(user, f"/courses/{ended['course']}/sessions/new/{kind}"),
                     clinic.new(user, ended["course"], kind, note="x", route="im")):
        assert response.status_code == 409
        assert READ_ONLY in page(response)
    assert "New preparation session" not in page(clinic.get(clinic.therapist, f"/courses/{ended['course']}"))


def test_an_ended_course_takes_no_edits_signatures_or_doses(clinic, ended):
    draft, dosing_id = ended["draft"], ended["dosing"]
    # The client is discharged, but medical staff wrote the dosing session: the course rule answers.
    refused = [
        clinic.get(clinic.therapist, f"/sessions/{draft}/edit"),
        clinic.edit(clinic.therapist, draft, note="Changed after the end."),
        clinic.get(clinic.therapist, f"/sessions/{draft}/sign"),
        clinic.sign(clinic.therapist, draft),
        clinic.edit(clinic.medical, dosing_id, note="Late edit."),
        clinic.sign(clinic.medical, dosing_id),
        clinic.post(clinic.medical, f"/sessions/{dosing_id}/administrations",
                    {"given_at": local(), "weight_kg": "70", "mg_per_kg": "0.5",
                     "injection_site": "gluteal"}),
    ]
    for response in refused:
        assert response.status_code == 409, response.request.path
        assert READ_ONLY in page(response)
    session = db.session.get(ClinicalSession, draft)
    assert session.note == "Intentions explored." and not session.is_signed
    assert not db.session.get(ClinicalSession, dosing_id).administrations
    shown = page(clinic.get(clinic.therapist, f"/sessions/{draft}"))
    assert "Edit draft" not in shown and ">Sign<" not in shown


def test_addenda_still_work_after_the_course_ends(clinic, ended):
    response = clinic.post(clinic.therapist, f"/sessions/{ended['signed']}/addenda",
                           {"reason": "Late information", "text": "Client called after the end."})
    assert response.status_code == 302
    shown = page(clinic.get(clinic.supervisor, f"/sessions/{ended['signed']}"))
    assert "Client called after the end." in shown and "Reason: Late information" in shown


def test_a_new_course_can_start_after_the_last_one_ended(clinic, ended, make_user):
    # Ending the course discharged the client: medical staff who never treated them no longer
    # see the record; those who wrote its sessions still do (for addenda).
    assert clinic.record.status is ClientStatus.DISCHARGED
    assert clinic.get(clinic.medical, f"/courses/{ended['course']}").status_code == 200
    assert clinic.get(make_user("medical"), f"/courses/{ended['course']}").status_code == 404
    new_id = id_from(clinic.start(), "/courses")
    assert new_id != ended["course"]
    # The new course puts the client back in treatment, so it can be screened and dosed.
    assert clinic.record.status is ClientStatus.ACTIVE
    assert clinic.get(clinic.medical, f"/courses/{new_id}").status_code == 200
    factories.screening(clinic, new_id)
    factories.preparation(clinic, new_id)
    assert clinic.get(clinic.medical, f"/courses/{new_id}/sessions/new/dosing").status_code == 200


# --- audit -------------------------------------------------------------------------------------


@pytest.mark.clock_matrix  # works with the clinic's dates
def test_views_and_changes_of_courses_and_sessions_are_audited(clinic):
    course_id = id_from(clinic.start(), "/courses")
    client_id = clinic.record.id
    assert events(action=AuditAction.CREATE, record_type="course", record_id=course_id,
                  client_id=client_id, user_id=clinic.therapist.id)
    clinic.get(clinic.supervisor, f"/courses/{course_id}")
    assert events(action=AuditAction.VIEW, record_type="course", record_id=course_id,
                  client_id=client_id, user_id=clinic.supervisor.id)

    sid = clinic.create(clinic.therapist, course_id, "preparation", note="Intentions explored.",
                        intentions="To feel less stuck.")
    assert events(action=AuditAction.CREATE, record_type="preparation", record_id=sid, client_id=client_id)
    clinic.get(clinic.medical, f"/sessions/{sid}")
    assert events(action=AuditAction.VIEW, record_type="preparation", record_id=sid,
                  client_id=client_id, user_id=clinic.medical.id)
    assert clinic.edit(clinic.therapist, sid, note="Revised.").status_code == 302
    [update] = events(action=AuditAction.UPDATE, record_type="preparation", record_id=sid)
    assert update.client_id == client_id and update.detail == "changed: note"
    assert "Revised" not in update.detail  # field names, never values
    assert clinic.sign(clinic.therapist, sid).status_code == 302
    assert [e.detail for e in events(action=AuditAction.UPDATE, record_id=sid)] == [
        "changed: note", "signed"]
    clinic.post(clinic.supervisor, f"/sessions/{sid}/cosign")
    clinic.post(clinic.therapist, f"/sessions/{sid}/addenda", {"reason": "r", "text": "t"})
    assert events(action=AuditAction.UPDATE, record_id=sid, detail="co-signed", client_id=client_id)
    [addendum] = events(action=AuditAction.CREATE, record_type="addendum")
    assert addendum.client_id == client_id and addendum.detail == f"to preparation session {sid}"
    clinic.post(clinic.therapist, f"/courses/{course_id}/end",
                {"end_reason": "discontinued", "ended_on": today(), "end_note": "Stopped."})
    assert events(action=AuditAction.UPDATE, record_type="course", record_id=course_id,
                  client_id=client_id, detail="ended: discontinued")
    # Every event of this client's records names the client.
    assert all(e.client_id == client_id for e in events()
               if e.record_type in ("course", "preparation", "addendum"))


@pytest.mark.parametrize("path", ["/sessions/{sid}/edit", "/sessions/{sid}/sign"])
def test_pages_that_show_a_note_are_audited_as_views(clinic, path):
    course_id = factories.course(clinic).id
    sid = factories.preparation(clinic, course_id, signed=False, note="Sensitive content.").id
    before = len(events(action=AuditAction.VIEW, record_id=sid))
    response = clinic.get(clinic.therapist, path.format(sid=sid))
    assert response.status_code == 200 and "Sensitive content." in page(response)
    after = events(action=AuditAction.VIEW, record_type="preparation", record_id=sid)
    assert len(after) == before + 1
    assert after[-1].client_id == clinic.record.id and after[-1].user_id == clinic.therapist.id


def test_a_dose_and_a_screening_decision_are_audited(clinic):
    course_id = factories.course(clinic).id
    sid = factories.screening(clinic, course_id, signed=False).id
    assert clinic.sign(clinic.medical, sid, decision="eligible",
                       decision_rationale="Suitable for KAP after review.").status_code == 302
    assert events(action=AuditAction.UPDATE, record_type="screening", record_id=sid,
                  detail="signed; decision eligible", user_id=clinic.medical.id)
    factories.preparation(clinic, course_id)
    dosing_id = factories.medicine(clinic, course_id, "im", "draft").id
    assert clinic.dose(dosing_id, weight_kg="70", mg_per_kg="0.5", injection_site="deltoid_left").status_code == 302
    [dose] = events(action=AuditAction.CREATE, record_type="administration")
    assert dose.client_id == clinic.record.id
    assert dose.detail == f"35.0 mg in medicine session {dosing_id}"


@pytest.mark.parametrize("path", ["/courses/{course}", "/courses/{course}/end",
                                  "/courses/{course}/sessions/new/preparation"])
def test_another_therapists_course_is_not_found_and_the_attempt_is_audited(clinic, path):
    course_id = factories.course(clinic).id
    response = clinic.get(clinic.other_therapist, path.format(course=course_id))
    assert response.status_code == 404
    [denied] = events(action=AuditAction.DENIED, user_id=clinic.other_therapist.id)
    assert (denied.record_type, denied.record_id) == ("course", course_id)
    assert not events(action=AuditAction.VIEW, user_id=clinic.other_therapist.id)


@pytest.mark.parametrize("path", ["/sessions/{sid}", "/sessions/{sid}/edit", "/sessions/{sid}/sign"])
def test_another_therapists_session_is_not_found_and_the_attempt_is_audited(clinic, path):
    course_id = factories.course(clinic).id
    sid = factories.preparation(clinic, course_id, signed=False).id
    response = clinic.get(clinic.other_therapist, path.format(sid=sid))
    assert response.status_code == 404
    assert "Sensitive" not in page(response) and "Intentions explored" not in page(response)
    [denied] = events(action=AuditAction.DENIED, user_id=clinic.other_therapist.id)
    assert (denied.record_type, denied.record_id) == ("session", sid)


def test_medical_staff_do_not_see_courses_of_discharged_clients(clinic):
    course_id = factories.course(clinic).id
    clinic.record.status = ClientStatus.DISCHARGED
    db.session.commit()
    assert clinic.get(clinic.medical, f"/courses/{course_id}").status_code == 404
    assert clinic.get(clinic.supervisor, f"/courses/{course_id}").status_code == 200


# --- no server errors --------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["surgery", "Screening", "DOSING", "dosing ", "%00", "..", "0"])
def test_an_unknown_session_kind_is_not_found(clinic, kind):
    course_id = factories.ready(clinic).id
    for user in (clinic.therapist, clinic.medical):
        assert clinic.get(user, f"/courses/{course_id}/sessions/new/{kind}").status_code == 404
        assert clinic.new(user, course_id, kind).status_code == 404


MISSING = ["0", "999999", "2147483647", "2147483648", "99999999999999999999999"]


@pytest.mark.parametrize("missing", MISSING)
def test_ids_that_do_not_exist_are_not_found(clinic, missing):
    factories.ready(clinic)
    gets = {
        clinic.therapist: [f"/courses/{missing}", f"/courses/{missing}/end",
                           f"/courses/{missing}/sessions/new/preparation",
                           f"/clients/{missing}/courses/new", f"/sessions/{missing}",
                           f"/sessions/{missing}/edit", f"/sessions/{missing}/sign"],
        clinic.medical: [f"/courses/{missing}/sessions/new/dosing"],
    }
    posts = {
        clinic.therapist: [f"/clients/{missing}/courses/new", f"/courses/{missing}/end",
                           f"/sessions/{missing}/addenda", f"/sessions/{missing}/sign",
                           f"/sessions/{missing}/edit"],
        clinic.medical: [f"/sessions/{missing}/administrations"],
        clinic.supervisor: [f"/sessions/{missing}/cosign"],
    }
    for user, urls in gets.items():
        for url in urls:
            assert clinic.get(user, url).status_code == 404, url
    for user, urls in posts.items():
        for url in urls:
            assert clinic.post(user, url, {"note": "x"}).status_code == 404, url


GARBAGE = ["abc", "-1", "1e999999", "NaN", "sNaN", "Infinity", "9" * 400, "0", "\x00",
           "9999-12-31", "0001-01-01", "2026-02-30", "<script>", " ", "1.5"]


def dated(*fields: str, dates: tuple[str, ...]) -> list:
    """Field names for a parametrize; the date fields run in the clock matrix too (they are
    checked against the clinic's today), the others once (no clock reads their check)."""
    return [pytest.param(f, marks=pytest.mark.clock_matrix) if f in dates else f for f in fields]


@pytest.mark.parametrize("value", GARBAGE, ids=repr)
@pytest.mark.parametrize("field", dated("planned_medicine_sessions", "started_on", "planned_route", "goals",
                                        dates=("started_on",)))
def test_garbage_in_the_course_form_is_a_message(clinic, field, value):
    response = clinic.start(**{field: value})
    assert response.status_code in (200, 302), response.status_code
    if response.status_code == 200:
        assert error_beside(response, field)


@pytest.mark.parametrize("value", GARBAGE, ids=repr)
@pytest.mark.parametrize("field", dated("ended_on", "end_reason", "end_note", dates=("ended_on",)))
def test_garbage_in_the_end_form_is_a_message(clinic, field, value):
    course_id = factories.course(clinic).id
    response = _end(clinic, course_id, **{"end_reason": "discontinued", "end_note": "x", field: value})
    assert response.status_code in (200, 302), response.status_code
    if response.status_code == 200:
        assert error_beside(response, field)
