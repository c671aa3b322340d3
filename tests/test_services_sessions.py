"""The course and session commands called directly, without HTTP: a refused command writes
nothing and says why, by form field; the one ownership rule (may_write) refuses a therapist
outside their caseload; a note is signed only once what signing needs is recorded."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from kaptracker import clock
from kaptracker.extensions import db
from kaptracker.models import (
    Addendum,
    Administration,
    AuditAction,
    AuditEvent,
    ClientStatus,
    ClinicalSession,
    Course,
    DosingSession,
    PreparationSession,
    Screening,
    SessionKind,
    VitalSign,
)
from kaptracker.rules.dosing import Route
from kaptracker.rules.vitals import Timepoint
from kaptracker.services import FORM
from kaptracker.services import courses as course_commands
from kaptracker.services import sessions as session_commands


def count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def events(action: AuditAction, record_type: str) -> list[AuditEvent]:
    return list(db.session.scalars(
        select(AuditEvent).where(AuditEvent.action == action, AuditEvent.record_type == record_type)))


@pytest.fixture
def staff(make_user):
    return {role: make_user(role) for role in ("therapist", "medical", "supervisor")} | {
        "other": make_user("therapist")}


@pytest.fixture
def course(staff, make_client) -> Course:
    record = make_client(staff["therapist"], status=ClientStatus.REFERRED)
    outcome = course_commands.start(record, {"planned_route": "im", "planned_medicine_sessions": 2,
                                             "goals": "Lift the depression.", "started_on": clock.today()},
                                    staff["therapist"])
    assert outcome.ok, outcome.problems
    return outcome.record


def preparation(course, user, **data) -> PreparationSession:
    outcome = session_commands.create(course, {"occurred_at": clock.local_now() - dt.timedelta(hours=1),
                                               "note": "Intentions discussed.", **data},
                                      user, kind=SessionKind.PREPARATION)
    assert outcome.ok, outcome.problems
    return outcome.record


def medicine_session(course, medical, weight=Decimal(70), *, baseline=True) -> DosingSession:
    """A medicine session written straight to the table (the gates are tested elsewhere), with a
    normal baseline (unless not ``baseline``) so that a dose may be given."""
    opened = clock.now() - dt.timedelta(hours=2)
    clinical = DosingSession(course_id=course.id, author_id=medical.id, occurred_at=opened, started_at=opened,
                             route=Route.IM, weight_kg=weight, note="")
    db.session.add(clinical)
    db.session.flush()
    if baseline:
        db.session.add(VitalSign(session_id=clinical.id, taken_at=opened, timepoint=Timepoint.BASELINE, systolic=118,
                                 diastolic=76, heart_rate=70, spo2=98, recorded_by_id=medical.id))
    db.session.commit()
    return clinical


def dose(**values) -> dict:
    return {"given_at": clock.local_now() - dt.timedelta(minutes=5), "weight_kg": Decimal(70),
            "mg_per_kg": Decimal("0.5"), "injection_site": "deltoid_left", "range_reason": "", **values}


# --- courses ------------------------------------------------------------------------------------


def test_starting_a_course_puts_the_client_in_treatment_and_audits_it(course, staff):
    assert course.client.status is ClientStatus.ACTIVE
    [event] = events(AuditAction.CREATE, "course")
    assert (event.record_id, event.user_id) == (course.id, staff["therapist"].id)


def test_a_therapist_outside_the_caseload_starts_no_course(staff, make_client):
    record = make_client(staff["therapist"])
    outcome = course_commands.start(record, {"planned_route": "im", "planned_medicine_sessions": 2,
                                             "goals": "g", "started_on": clock.today()}, staff["other"])
    assert not outcome.ok
    assert outcome.problems == {FORM: ["Only the client's own therapist or a supervisor starts a course."]}
    assert count(Course) == 0 and not events(AuditAction.CREATE, "course")


def test_a_second_open_course_is_refused_and_names_the_open_one(course, staff):
    outcome = course_commands.start(course.client, {"planned_route": "im", "planned_medicine_sessions": 2,
                                                    "goals": "g", "started_on": clock.today()}, staff["supervisor"])
    assert outcome.record is course
    assert outcome.problems[FORM] == ["This client already has an open course: complete or discontinue it first."]
    assert count(Course) == 1


def test_a_course_is_not_completed_while_something_blocks_it(course, staff):
    outcome = course_commands.end(course, {"end_reason": "completed", "ended_on": clock.today(), "end_note": None},
                                  staff["therapist"])
    [problem] = outcome.problems["end_reason"]
    assert problem.startswith("The course cannot be completed yet: ")
    db.session.expire_all()
    assert course.is_open and course.client.status is ClientStatus.ACTIVE
    assert not events(AuditAction.UPDATE, "course")


def test_a_course_is_discontinued_with_its_reason(course, staff):
    outcome = course_commands.end(course, {"end_reason": "discontinued", "ended_on": clock.today(),
                                           "end_note": "Moved away."}, staff["therapist"])
    assert outcome.ok and outcome.message.startswith("The course is discontinued.")
    db.session.expire_all()
    assert not course.is_open and course.client.status is ClientStatus.DISCHARGED
    assert events(AuditAction.UPDATE, "course")[0].detail == "ended: discontinued"
    again = course_commands.end(course, {"end_reason": "discontinued", "ended_on": clock.today()}, staff["therapist"])
    assert (again.problems, again.category) == ({FORM: ["This course is already discontinued."]}, "info")


# --- opening and editing a session ----------------------------------------------------------------


def test_opening_a_session_saves_a_draft_and_audits_it(course, staff):
    clinical = preparation(course, staff["therapist"])
    assert (clinical.author_id, clinical.note, clinical.signed_at) == (staff["therapist"].id, "Intentions discussed.", None)
    assert clinical.occurred_at.tzinfo is not None  # typed in clinic time, stored in UTC
    [event] = events(AuditAction.CREATE, "preparation")
    assert (event.record_id, event.user_id, event.client_id) == (clinical.id, staff["therapist"].id, course.client_id)


def test_a_therapist_outside_the_caseload_opens_no_session(course, staff):
    outcome = session_commands.create(course, {"occurred_at": clock.local_now(), "note": "x"}, staff["other"],
                                      kind=SessionKind.PREPARATION)
    assert not outcome.ok and outcome.record is None
    assert outcome.problems == {FORM: ["Only the client's own therapist writes their sessions."]}
    assert count(ClinicalSession) == 0 and not events(AuditAction.CREATE, "preparation")


def test_a_role_that_does_not_write_the_kind_opens_none(course, staff):
    outcome = session_commands.create(course, {"occurred_at": clock.local_now(), "note": "x"}, staff["medical"],
                                      kind=SessionKind.PREPARATION)
    assert outcome.problems == {FORM: ["Your role does not write this kind of session."]}
    assert count(ClinicalSession) == 0


def test_no_medicine_session_before_the_gates(course, staff):
    outcome = session_commands.create(course, {"occurred_at": clock.local_now(), "route": "im"}, staff["medical"],
                                      kind=SessionKind.DOSING)
    assert outcome.message == "A medicine session cannot start yet" and outcome.problems[FORM]
    assert count(DosingSession) == 0


def test_a_therapist_outside_the_caseload_edits_no_draft(course, staff):
    """A screening draft is not only its author's: what refuses another therapist is the
    ownership rule."""
    clinical = session_commands.create(course, {"occurred_at": clock.local_now(), "note": "Interview."},
                                       staff["therapist"], kind=SessionKind.SCREENING).record
    version = clinical.version
    outcome = session_commands.save_draft(clinical, {"version": str(version), "note": "Forged."}, staff["other"])
    assert outcome.problems == {FORM: ["Only the client's own therapist writes their sessions."]}
    db.session.expire_all()
    assert (clinical.note, clinical.version) == ("Interview.", version)
    assert not events(AuditAction.UPDATE, "screening")


def test_an_author_whose_client_moved_to_another_caseload_signs_no_more(course, staff):
    clinical = preparation(course, staff["therapist"])
    course.client.therapist_id = staff["other"].id
    db.session.commit()
    outcome = session_commands.sign(clinical, {}, staff["therapist"])
    assert outcome.problems == {FORM: ["Only the client's own therapist signs."]}
    db.session.expire_all()
    assert clinical.signed_at is None and not events(AuditAction.UPDATE, "preparation")


def test_a_draft_read_at_an_older_version_is_a_conflict_and_not_saved(course, staff):
    clinical = preparation(course, staff["therapist"])
    outcome = session_commands.save_draft(clinical, {"version": str(clinical.version - 1), "note": "Late."},
                                          staff["therapist"])
    assert outcome.conflict and not outcome.ok
    db.session.expire_all()
    assert clinical.note == "Intentions discussed." and not events(AuditAction.UPDATE, "preparation")


def test_saving_a_draft_audits_the_changed_fields(course, staff):
    clinical = preparation(course, staff["therapist"])
    unchanged = session_commands.save_draft(clinical, {"version": str(clinical.version)}, staff["therapist"])
    assert (unchanged.message, unchanged.category) == ("Nothing was changed.", "info")
    outcome = session_commands.save_draft(clinical, {"version": str(clinical.version), "note": "Fears named."},
                                          staff["therapist"])
    assert outcome.ok and outcome.message == "Draft saved."
    [event] = events(AuditAction.UPDATE, "preparation")
    assert event.detail == "changed: note"


def test_the_weight_of_a_medicine_session_with_a_dose_is_fixed(course, staff):
    clinical = medicine_session(course, staff["medical"])
    db.session.add(Administration(session_id=clinical.id, given_at=clock.now(), dose_mg=35, mg_per_kg=Decimal("0.5"),
                                  recorded_by_id=staff["medical"].id))
    db.session.commit()
    db.session.refresh(clinical)
    outcome = session_commands.save_draft(clinical, {"version": str(clinical.version), "weight_kg": Decimal(80)},
                                          staff["medical"])
    assert outcome.problems == {"weight_kg": ["The weight is fixed at 70.0 kg once a dose is recorded."]}
    db.session.expire_all()
    assert clinical.weight_kg == Decimal(70)


# --- signing --------------------------------------------------------------------------------------


def test_an_empty_note_is_not_signed(course, staff):
    clinical = preparation(course, staff["therapist"], note="")
    assert session_commands.sign_problems(clinical) == ["The clinical note is empty."]
    outcome = session_commands.sign(clinical, {}, staff["therapist"])
    assert outcome.problems == {FORM: ["The clinical note is empty."]}
    db.session.expire_all()
    assert clinical.signed_at is None


def test_a_medicine_session_is_signed_only_with_its_dose_end_and_discharge(course, staff):
    clinical = medicine_session(course, staff["medical"])
    outcome = session_commands.sign(clinical, {}, staff["medical"])
    assert outcome.problems == {FORM: [
        "No dose is recorded in this medicine session.",
        "The time the session ended is not recorded.",
        "The discharge time is not recorded.",
        "The clinical note is empty.",
    ]}
    db.session.expire_all()
    assert clinical.signed_at is None


def test_only_the_author_signs_and_the_signature_is_audited(course, staff):
    clinical = preparation(course, staff["therapist"])
    refused = session_commands.sign(clinical, {}, staff["other"])
    assert refused.problems == {FORM: ["Only the author signs their own note."]}
    assert clinical.signed_at is None
    outcome = session_commands.sign(clinical, {}, staff["therapist"])
    assert outcome.ok and outcome.message == "Preparation session signed and locked."
    db.session.expire_all()
    assert clinical.signed_by_id == staff["therapist"].id
    assert [e.detail for e in events(AuditAction.UPDATE, "preparation")] == ["signed"]


def test_a_screening_is_signed_with_a_decision_and_its_rationale(course, staff):
    created = session_commands.create(course, {"occurred_at": clock.local_now(), "note": "Interview."},
                                      staff["therapist"], kind=SessionKind.SCREENING)
    screening = created.record
    outcome = session_commands.sign(screening, {"decision": "eligible"}, staff["medical"])
    assert outcome.problems == {"decision_rationale": ["Give the rationale for this decision."]}
    db.session.expire_all()
    assert screening.signed_at is None and screening.decision is None
    outcome = session_commands.sign(screening, {"decision": "eligible", "decision_rationale": "No contraindication."},
                                    staff["medical"])
    assert outcome.ok
    db.session.expire_all()
    assert db.session.get(Screening, screening.id).decision.value == "eligible"
    assert events(AuditAction.UPDATE, "screening")[-1].detail == "signed; decision eligible"


def test_cosigning_is_for_supervisors_after_signing(course, staff):
    clinical = preparation(course, staff["therapist"])
    assert session_commands.cosign(clinical, {}, staff["supervisor"]).problems == {
        FORM: ["A note is co-signed after its author has signed it."]}
    assert session_commands.sign(clinical, {}, staff["therapist"]).ok
    assert session_commands.cosign(clinical, {}, staff["therapist"]).problems == {FORM: ["Only supervisors co-sign."]}
    outcome = session_commands.cosign(clinical, {"from_worklist": True}, staff["supervisor"])
    assert outcome.ok and outcome.message.endswith(" co-signed.")
    db.session.expire_all()
    assert clinical.cosigned_by_id == staff["supervisor"].id
    assert events(AuditAction.UPDATE, "preparation")[-1].detail == "co-signed from the worklist"


def test_a_draft_takes_no_addendum(course, staff):
    clinical = preparation(course, staff["therapist"])
    outcome = session_commands.add_addendum(clinical, {"reason": "Why", "text": "More."}, staff["therapist"])
    assert outcome.problems == {FORM: ["A draft is edited directly; addenda follow signing."]}
    assert count(Addendum) == 0


# --- doses ----------------------------------------------------------------------------------------


def test_a_dose_is_previewed_then_recorded_as_previewed(course, staff):
    clinical = medicine_session(course, staff["medical"])
    preview = session_commands.preview_dose(clinical, dose(), staff["medical"])
    assert preview.ok and preview.record.dose_mg == Decimal("35.0") and preview.record.check.in_range
    assert count(Administration) == 0  # a preview writes nothing
    unpreviewed = session_commands.record_dose(clinical, dose(previewed_mg="34.0"), staff["medical"])
    assert list(unpreviewed.problems) == ["previewed_mg"] and count(Administration) == 0
    outcome = session_commands.record_dose(clinical, dose(previewed_mg="35.0"), staff["medical"])
    assert outcome.ok and outcome.message == "Dose of 35.0 mg recorded."
    assert [e.detail for e in events(AuditAction.CREATE, "administration")] == [
        f"35.0 mg in medicine session {clinical.id}"]


def test_a_dose_above_what_one_administration_records_is_refused_beside_the_dose(course, staff):
    clinical = medicine_session(course, staff["medical"], weight=Decimal(300))
    outcome = session_commands.preview_dose(clinical, dose(weight_kg=Decimal(300), mg_per_kg=Decimal(5)),
                                            staff["medical"])
    assert outcome.problems == {"mg_per_kg": [
        "That makes 1500.0 mg in one administration; at most 1000 mg can be recorded. Check the numbers."]}


def test_a_total_outside_the_range_needs_a_reason(course, staff):
    clinical = medicine_session(course, staff["medical"])
    data = dose(mg_per_kg=Decimal(2), previewed_mg="140.0")
    outcome = session_commands.record_dose(clinical, data, staff["medical"])
    [message] = outcome.problems["range_reason"]
    assert "above the usual" in message and count(Administration) == 0
    outcome = session_commands.record_dose(clinical, {**data, "range_reason": "Tolerance."}, staff["medical"])
    assert outcome.ok
    db.session.expire_all()
    assert clinical.dose_reason == "Tolerance."


def test_no_dose_without_a_baseline_reading(course, staff):
    clinical = medicine_session(course, staff["medical"], baseline=False)
    outcome = session_commands.record_dose(clinical, dose(previewed_mg="35.0"), staff["medical"])
    assert list(outcome.problems) == ["given_at"] and count(Administration) == 0


def test_a_therapist_records_no_dose(course, staff):
    clinical = medicine_session(course, staff["medical"])
    outcome = session_commands.record_dose(clinical, dose(previewed_mg="35.0"), staff["therapist"])
    assert outcome.problems == {FORM: ["Your role does not write this kind of session."]}
    assert count(Administration) == 0
