"""The vitals, outcome-measure, supervision and staff commands called without HTTP: a refused
command writes nothing and says why beside the field; a therapist outside the caseload is
refused by the one ownership rule; a thing done once is not done twice."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select, update

from kaptracker import clock, settings
from kaptracker.extensions import db
from kaptracker.models import (
    AuditEvent,
    ClinicalSession,
    Course,
    OutcomeScore,
    ReviewComment,
    SafetyAlert,
    User,
    VitalSign,
    utcnow,
)
from kaptracker.rules.scales import Scale
from kaptracker.rules.vitals import Level, Timepoint
from kaptracker.services import FORM
from kaptracker.services import outcomes as score_commands
from kaptracker.services import staff as staff_commands
from kaptracker.services import supervision as supervision_commands
from kaptracker.services import vitals as vital_commands

import factories


@pytest.fixture
def dosing(clinic) -> ClinicalSession:
    """A draft medicine session opened two hours ago, with its baseline reading."""
    return db.session.get(ClinicalSession, factories.medicine(clinic, factories.ready(clinic), "im", "draft").id)


def events() -> int:
    db.session.expire_all()
    return db.session.scalar(select(func.count()).select_from(AuditEvent))


def count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def reading_data(**values) -> dict:
    return {"systolic": 118, "diastolic": 76, "heart_rate": 70, "spo2": 98, "timepoint": "during",
            "taken_at": clock.local_now(), "note": None, **values}


def high_alert(session: ClinicalSession, recorder: User) -> SafetyAlert:
    vital = VitalSign(session_id=session.id, taken_at=utcnow(), timepoint=Timepoint.DURING, systolic=204,
                      diastolic=96, heart_rate=80, recorded_by_id=recorder.id)
    db.session.add(vital)
    db.session.flush()
    alert = SafetyAlert(session_id=session.id, vital_sign_id=vital.id, rule="critical_bp", level=Level.CRITICAL,
                        message="Systolic 204")
    db.session.add(alert)
    db.session.commit()
    return alert


def phq9(item_9: int = 0) -> dict:
    return {"occasion": "baseline", "session_number": None, "completed_on": clock.today(),
            **{f"item_{n}": 0 for n in range(1, 9)}, "item_9": item_9}


# --- vitals ---------------------------------------------------------------------------------------


def test_a_reading_is_recorded_with_its_audit_event(clinic, dosing):
    before = events()
    outcome = vital_commands.record_reading(dosing, reading_data(), clinic.medical)
    assert outcome.ok and outcome.message == "Reading saved: 118/76, pulse 70."
    assert db.session.get(VitalSign, outcome.record.id).recorded_by_id == clinic.medical.id
    assert events() == before + 1


def test_an_implausible_reading_is_refused_beside_its_field_and_nothing_is_written(clinic, dosing):
    readings, before = count(VitalSign), events()
    outcome = vital_commands.record_reading(dosing, reading_data(systolic=400), clinic.medical)
    assert not outcome.ok
    assert list(outcome.problems) == ["systolic"]
    assert "check for a typing error" in outcome.problems["systolic"][0]
    assert (count(VitalSign), events()) == (readings, before)


def test_a_reading_more_than_two_hours_before_the_session_is_refused(clinic, dosing):
    readings = count(VitalSign)
    too_early = clock.utc_to_local(dosing.occurred_at - vital_commands.READING_WINDOW - dt.timedelta(minutes=5))
    outcome = vital_commands.record_reading(dosing, reading_data(taken_at=too_early), clinic.medical)
    assert outcome.problems == {"taken_at": [vital_commands.TOO_EARLY]}
    assert count(VitalSign) == readings


def test_the_forms_own_problems_come_back_and_those_fields_are_not_checked_again(clinic, dosing):
    readings = count(VitalSign)
    outcome = vital_commands.record_reading(dosing, reading_data(systolic=None, taken_at=None), clinic.medical,
                                            form_errors={"systolic": ["Enter a whole number, for example 128."],
                                                         "taken_at": ["Enter the time."]})
    assert outcome.problems == {"systolic": ["Enter a whole number, for example 128."],
                                "taken_at": ["Enter the time."]}
    assert count(VitalSign) == readings


def test_a_therapist_records_no_vitals(clinic, dosing):
    outcome = vital_commands.record_reading(dosing, reading_data(), clinic.therapist)
    assert list(outcome.problems) == [FORM]


def test_an_alert_is_acknowledged_once(clinic, dosing):
    alert = high_alert(dosing, clinic.medical)
    first = vital_commands.acknowledge(alert, {"acknowledgement_note": "Repeated."}, clinic.medical)
    assert first.ok and first.message == "Alert acknowledged."
    before = events()
    second = vital_commands.acknowledge(alert, {"acknowledgement_note": "Seen too."}, clinic.supervisor)
    assert second.problems == {FORM: ["This alert was already acknowledged."]} and second.category == "info"
    db.session.expire_all()
    stored = db.session.get(SafetyAlert, alert.id)
    assert (stored.acknowledged_by_id, stored.acknowledgement_note) == (clinic.medical.id, "Repeated.")
    assert events() == before


def test_of_two_acknowledging_at_once_the_second_is_told_and_writes_nothing(clinic, dosing):
    alert = high_alert(dosing, clinic.medical)
    before = events()
    alert = db.session.get(SafetyAlert, alert.id)
    assert alert.acknowledged_at is None  # as this person loaded it, someone else acknowledges it:
    with db.engine.begin() as other:
        other.execute(update(SafetyAlert).where(SafetyAlert.id == alert.id).values(
            acknowledged_at=utcnow(), acknowledged_by_id=clinic.supervisor.id, acknowledgement_note="First."))
    outcome = vital_commands.acknowledge(alert, {"acknowledgement_note": "Second."}, clinic.medical)
    assert outcome.problems == {FORM: ["Someone else acknowledged this alert a moment before you; "
                                       "your note was not saved."]}
    db.session.expire_all()
    assert db.session.get(SafetyAlert, alert.id).acknowledgement_note == "First."
    assert events() == before


def test_a_withdrawn_alert_is_not_acknowledged(clinic, dosing):
    alert = high_alert(dosing, clinic.medical)
    reading = db.session.get(VitalSign, alert.vital_sign_id)
    marked = vital_commands.mark_in_error(reading, {"error_reason": "Wrong cuff."}, clinic.medical)
    assert marked.ok and "1 alert(s) resting on it withdrawn" in marked.message
    outcome = vital_commands.acknowledge(db.session.get(SafetyAlert, alert.id), {}, clinic.medical)
    assert outcome.category == "info" and outcome.problems[FORM][0].startswith("This alert was withdrawn:")


def test_a_reading_is_marked_in_error_once(clinic, dosing):
    reading = db.session.scalars(select(VitalSign).where(VitalSign.session_id == dosing.id)).first()
    assert vital_commands.mark_in_error(reading, {"error_reason": "Typed 118 for 181."}, clinic.medical).ok
    before = events()
    again = vital_commands.mark_in_error(reading, {"error_reason": "Again."}, clinic.medical)
    assert again.problems == {FORM: ["This reading is already marked entered in error."]}
    db.session.expire_all()
    assert db.session.get(VitalSign, reading.id).error_reason == "Typed 118 for 181."
    assert events() == before


def test_marking_in_error_without_a_reason_writes_nothing(clinic, dosing):
    reading = db.session.scalars(select(VitalSign).where(VitalSign.session_id == dosing.id)).first()
    outcome = vital_commands.mark_in_error(reading, {"error_reason": None}, clinic.medical,
                                           form_errors={"error_reason": ["Say why this reading is wrong."]})
    assert outcome.problems == {"error_reason": ["Say why this reading is wrong."]}
    db.session.expire_all()
    assert db.session.get(VitalSign, reading.id).entered_in_error_at is None


def test_nothing_to_override_is_refused_beside_the_kind(clinic, dosing):
    outcome = vital_commands.add_override(dosing, {"kind": "dose_hold", "reason": "Why not."}, clinic.medical)
    assert outcome.problems == {"kind": ["Nothing to override: no rule blocks this step now."]}


# --- outcome measures -----------------------------------------------------------------------------


def test_a_therapist_outside_the_caseload_records_no_score(clinic):
    course_id = factories.course(clinic).id
    course = db.session.get(Course, course_id)
    scores, before = count(OutcomeScore), events()
    outcome = score_commands.record_score(course, phq9(), clinic.other_therapist,
                                          scale=Scale.PHQ9)
    assert list(outcome.problems) == [FORM]
    assert (count(OutcomeScore), events()) == (scores, before)
    assert score_commands.record_score(course, phq9(), clinic.therapist,
                                       scale=Scale.PHQ9).ok


def test_a_second_score_for_the_same_occasion_is_refused_beside_the_occasion(clinic):
    course_id = factories.course(clinic).id
    course = db.session.get(Course, course_id)
    assert score_commands.record_score(course, phq9(), clinic.therapist,
                                       scale=Scale.PHQ9).ok
    outcome = score_commands.record_score(course, phq9(), clinic.therapist,
                                          scale=Scale.PHQ9)
    assert list(outcome.problems) == ["occasion"] and "is already recorded" in outcome.problems["occasion"][0]
    assert count(OutcomeScore) == 1


def test_an_item_9_flag_is_acknowledged_once_and_a_score_marked_in_error_once(clinic):
    course_id = factories.course(clinic).id
    course = db.session.get(Course, course_id)
    flagged = score_commands.record_score(course, phq9(item_9=1), clinic.therapist,
                                          scale=Scale.PHQ9)
    assert flagged.category == "error" and "Item 9 was answered 1" in flagged.message
    score = flagged.record
    assert score_commands.acknowledge_flag(score, {"flag_action": "Risk assessed."}, clinic.therapist).ok
    again = score_commands.acknowledge_flag(score, {"flag_action": "Again."}, clinic.supervisor)
    assert again.problems == {FORM: ["This flag was already acknowledged."]}
    assert score_commands.mark_in_error(score, {"error_reason": "Duplicate"}, clinic.therapist).ok
    refused = score_commands.mark_in_error(score, {"error_reason": "Wrong client"}, clinic.other_therapist)
    assert list(refused.problems) == [FORM]
    twice = score_commands.mark_in_error(score, {"error_reason": "Wrong client"}, clinic.therapist)
    assert twice.problems == {FORM: ["This score is already marked entered in error."]}
    db.session.expire_all()
    stored = db.session.get(OutcomeScore, score.id)
    assert (stored.flag_action, stored.error_reason) == ("Risk assessed.", "Duplicate")


# --- supervision ----------------------------------------------------------------------------------


def test_a_therapist_outside_the_caseload_does_not_answer_a_review_comment(clinic):
    course = db.session.get(Course, factories.course(clinic).id)
    comment = supervision_commands.add_comment(course, {"body": "Why two sessions?"}, clinic.supervisor).record
    assert not supervision_commands.add_comment(course, {"body": "Me too."}, clinic.therapist).ok
    before = events()
    refused = supervision_commands.reply(comment, {"body": "Not mine."}, clinic.other_therapist)
    assert list(refused.problems) == [FORM]
    assert (count(ReviewComment), events()) == (1, before)
    answer = supervision_commands.reply(comment, {"body": "Planned with the client."}, clinic.therapist)
    assert answer.ok and answer.record.reply_to_id == comment.id


# --- staff ----------------------------------------------------------------------------------------


def test_the_last_administrator_keeps_the_role_and_a_stale_edit_is_a_conflict(clinic):
    admin = clinic.admin
    data = {"name": admin.name, "role": "therapist", "version": staff_commands.version_of(admin)}
    assert staff_commands.edit_user(admin, data, admin).problems == {
        "role": ["This is the last active administrator: keep the role."]}
    stale = staff_commands.edit_user(admin, {**data, "role": "admin", "name": "Renamed", "version": "old"}, admin)
    assert stale.conflict and not stale.ok
    db.session.expire_all()
    assert (db.session.get(User, admin.id).name, db.session.get(User, admin.id).role.value) == (admin.name, "admin")
    assert staff_commands.toggle_active(admin, {}, admin).problems == {
        FORM: ["You cannot deactivate your own account."]}
    assert list(staff_commands.unlock(admin, {}, clinic.therapist).problems) == [FORM]


def test_a_clinical_setting_needs_its_sign_off_and_a_stale_save_is_a_conflict(clinic):
    values = settings.current()
    version = str(settings.revision(fresh=True).version)
    data = {"s_" + key.replace(".", "__"): str(value) for key, value in values.items()}
    data.update(version=version, reason="Quieter alerts.", approved_by=None,
                s_vitals__critical_systolic=str(values["vitals.critical_systolic"] + 5))
    before = events()
    refused = staff_commands.save_settings(values, data, clinic.admin)
    assert list(refused.problems) == ["approved_by"]
    assert events() == before and settings.current() == values
    stale = staff_commands.save_settings(values, {**data, "version": "0", "approved_by": "Dr Lead"}, clinic.admin)
    assert stale.conflict and events() == before
