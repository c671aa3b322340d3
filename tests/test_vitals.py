"""Vitals through the test client: entry and its plausibility checks, who records them, the
database's refusals, entered-in-error corrections, the dose gate and its overrides, safety alerts
and their acknowledgement, thresholds from the settings, today's schedule, the discharge gate,
the chart, the query budget of the vitals page and the audit trail.

Only the way to a medicine session is built (tests/factories.py: a course with a signed eligible
screening and a signed preparation note, and a draft medicine session written by medical staff);
everything after that goes through the real routes, each member of staff on their own test
client. Times are typed in the clinic's time zone relative to one clock reading per test (whole
minutes), so two readings "5 minutes apart" stay 5 minutes apart whenever the test runs.
"""

from __future__ import annotations

import datetime as dt
import html
import re

import pytest
import sqlalchemy as sa
import factories
from course_support import error_beside, page, raw
from sqlalchemy import select, text

from kaptracker import settings
from kaptracker.extensions import db
from kaptracker.models import (
    AuditAction,
    AuditEvent,
    ClientStatus,
    DosingSession,
    PreparationSession,
    SafetyAlert,
    SafetyOverride,
    SettingChange,
    SettingRevision,
    VitalSign,
    utcnow,
)
from kaptracker.rules.phases import EndReason
from kaptracker.rules.settings import SPECS
from kaptracker import clock

NORMAL = {"systolic": "118", "diastolic": "76", "heart_rate": "70", "spo2": "98"}


# --- reading pages -----------------------------------------------------------------------------




def input_value(response, name: str) -> str | None:
    """The value an <input name=...> is rendered with (None when it has no value attribute)."""
    match = re.search(rf'<input[^>]*\bname="{re.escape(name)}"[^>]*>', raw(response))
    assert match, f"no input named {name}"
    value = re.search(r'\bvalue="([^"]*)"', match.group(0))
    return html.unescape(value.group(1)) if value else None


def section(response, heading_id: str) -> str:
    """The visible text of the <section> labelled by ``heading_id`` ('' when absent)."""
    match = re.search(rf'<section[^>]*aria-labelledby="{heading_id}"[^>]*>(.*?)</section>', raw(response), re.S)
    if not match:
        return ""
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", match.group(1)))).strip()


def count(model, *where) -> int:
    return db.session.scalar(select(sa.func.count()).select_from(model).where(*where))


def fresh(model, ident):
    """The row as stored now (requests and raw SQL change it behind the identity map)."""
    db.session.expire_all()
    return db.session.get(model, ident)


def alerts_of(session_id: int) -> list[SafetyAlert]:
    db.session.expire_all()
    return list(db.session.scalars(
        select(SafetyAlert).where(SafetyAlert.session_id == session_id).order_by(SafetyAlert.id)))


def rules_of(session_id: int) -> list[tuple[str, str]]:
    return [(a.rule, a.level.value) for a in alerts_of(session_id)]


def audit(record_type: str, action: AuditAction, record_id: int | None = None) -> list[AuditEvent]:
    db.session.expire_all()
    stmt = select(AuditEvent).where(AuditEvent.record_type == record_type, AuditEvent.action == action)
    if record_id is not None:
        stmt = stmt.where(AuditEvent.record_id == record_id)
    return list(db.session.scalars(stmt.order_by(AuditEvent.id)))


# --- the way to a medicine session (built) and the dose form ----------------------------------


def medicine(clinic, route: str = "im", *, therapist=None, author=None, opened=-120) -> int:
    """A new client in treatment with a course past both gates and a draft medicine session
    opened ``opened`` minutes from the test's clock, no reading yet; returns the session id."""
    therapist = therapist or clinic.therapist
    course = factories.course(clinic, factories.client(therapist), user=therapist, planned_route=route,
                              planned_medicine_sessions=3, started_on=clinic.now.date() - dt.timedelta(days=10))
    factories.screening(clinic, course, days_ago=9, author=therapist)
    factories.preparation(clinic, course, days_ago=5, author=therapist, ready=True)
    return factories.medicine(clinic, course, route, "draft", opened=clinic.utc(opened), author=author,
                              baseline=False).id


def draft_screening(clinic) -> int:
    """A new client in treatment with a course and a draft screening; returns its id."""
    course = factories.course(clinic, "new", planned_medicine_sessions=3, goals="Lift the depression.")
    return factories.screening(clinic, course, signed=False, at=clinic.utc(-30)).id


def dose(clinic, session_id, *, at=-60, weight="70", mg_per_kg="0.5", user=None):
    """Record an IM dose ``at`` minutes from the test's clock through the dose form (preview,
    then save); the last response (the preview's when it was refused)."""
    return clinic.dose(session_id, user=user, given_at=clinic.at(at), weight_kg=weight, mg_per_kg=mg_per_kg,
                       injection_site="deltoid_left")


@pytest.fixture
def sid(clinic):
    """A draft IM medicine session opened two hours ago, no reading yet."""
    return medicine(clinic, "im")


# --- entry and plausibility --------------------------------------------------------------------


def test_a_reading_is_saved_with_its_author_and_shown(clinic, sid):
    form = clinic.get(clinic.medical, f"/sessions/{sid}/vitals")
    assert form.status_code == 200
    # The cuff's order, "now" pre-filled, baseline suggested before the dose.
    fields = re.findall(r'<input[^>]*\bname="(systolic|diastolic|heart_rate|spo2)"', raw(form))
    assert fields == ["systolic", "diastolic", "heart_rate", "spo2"]
    assert input_value(form, "taken_at")[:10] == clinic.now.strftime("%Y-%m-%d")
    assert re.search(r'<option selected value="baseline">|<option value="baseline" selected', raw(form))

    reading = clinic.reading(sid, "132/84", 76, 97, at=-3, timepoint="baseline")
    assert (reading.systolic, reading.diastolic, reading.heart_rate, reading.spo2) == (132, 84, 76, 97)
    assert reading.recorded_by_id == clinic.medical.id
    assert reading.taken_at == clinic.utc(-3)
    assert reading.timepoint.value == "baseline" and not reading.in_error
    shown = clinic.http(clinic.medical).get(f"/sessions/{sid}/vitals")
    assert "Reading saved: 132/84, pulse 76." in page(shown)
    assert "132/84" in section(shown, "h-table") and clinic.medical.name in section(shown, "h-table")


def test_the_vitals_page_repeats_no_id(clinic, sid):
    """A form per reading, the entry form and the override form share one page: no id repeats
    (hidden inputs and buttons render without one, see kaptracker.forms.Form)."""
    clinic.reading(sid, "150/96", 78, 97, at=-6, timepoint="baseline")
    clinic.reading(sid, "166/104", 80, 97, at=-2, timepoint="baseline")  # held: an override form
    html = raw(clinic.get(clinic.medical, f"/sessions/{sid}/vitals"))
    assert html.count('type="submit"') >= 4 and "Record override" in html
    ids = re.findall(r'\bid="([^"]+)"', html)
    assert sorted({i for i in ids if ids.count(i) > 1}) == []


def test_spo2_is_optional(clinic, sid):
    reading = clinic.reading(sid, "120/80", 72, None, timepoint="baseline")
    assert reading.spo2 is None


@pytest.mark.clock_matrix  # gaps between readings and times on the page
def test_a_reading_in_the_future_is_refused(clinic, sid):
    # 90 minutes, not 10: during the hour repeated in autumn, a time 10 minutes ahead is also
    # the same wall time 50 minutes ago, which is what a typed time is taken to mean (clock.py).
    response = clinic.vitals(sid, at=90)
    assert response.status_code == 400
    assert error_beside(response, "taken_at") == "A reading cannot be in the future."
    assert count(VitalSign) == 0


RANGE = {
    "systolic": "Systolic must be 60–260 mmHg; check for a typing error.",
    "diastolic": "Diastolic must be 30–160 mmHg; check for a typing error.",
    "heart_rate": "Heart rate must be 30–220 beats per minute; check for a typing error.",
    "spo2": "SpO₂ must be 50–100 %; check for a typing error.",
}
WHOLE = "Enter a whole number, for example 128."
MISSING = {
    "systolic": "Enter the systolic pressure.",
    "diastolic": "Enter the diastolic pressure.",
    "heart_rate": "Enter the heart rate.",
}


@pytest.mark.parametrize(
    "field, value, message",
    [
        ("systolic", "59", RANGE["systolic"]),
        ("systolic", "261", RANGE["systolic"]),
        ("diastolic", "29", RANGE["diastolic"]),
        ("diastolic", "161", RANGE["diastolic"]),
        ("heart_rate", "29", RANGE["heart_rate"]),
        ("heart_rate", "221", RANGE["heart_rate"]),
        ("spo2", "49", RANGE["spo2"]),
        ("spo2", "101", RANGE["spo2"]),
        *[(f, "abc", WHOLE) for f in RANGE],
        *[(f, "12.5", WHOLE) for f in RANGE],
        *[(f, "", m) for f, m in MISSING.items()],
        *[(f, "-120", RANGE[f]) for f in RANGE],
        *[(f, "99999999999999999999999999999999", RANGE[f]) for f in RANGE],
        *[(f, "9" * 5000, WHOLE) for f in RANGE],  # beyond what Python converts to an int
        *[(f, "1e3", WHOLE) for f in RANGE],
        *[(f, "٩٩٩", "Enter a whole number, for example 128.") for f in RANGE],  # Arabic-Indic digits
        *[(f, "¹²⁰", WHOLE) for f in RANGE],  # superscripts are not digits int() reads
        *[(f, "\x00", WHOLE) for f in RANGE],
        *[(f, "12\x000", WHOLE) for f in RANGE],
    ],
)
def test_an_implausible_value_is_a_message_beside_its_field(clinic, sid, field, value, message):
    data = {**NORMAL, field: value, "timepoint": "baseline", "taken_at": clinic.at()}
    response = clinic.post(clinic.medical, f"/sessions/{sid}/vitals", data)
    assert response.status_code == 400
    assert error_beside(response, field) == message
    others = [f for f in RANGE if f != field]
    assert all(error_beside(response, f) == "" for f in others)
    assert count(VitalSign) == 0
    # What was typed stays in the form, to be corrected rather than typed again.
    for name in others:
        assert input_value(response, name) == NORMAL[name]
    if "\x00" not in value and len(value) < 100:
        assert (input_value(response, field) or "") == value
    assert input_value(response, "taken_at") == clinic.at()


@pytest.mark.parametrize("bp", ["80/80", "70/90", "100/101"])
def test_systolic_must_be_above_diastolic(clinic, sid, bp):
    systolic, diastolic = bp.split("/")
    response = clinic.vitals(sid, bp)
    assert response.status_code == 400
    assert error_beside(response, "diastolic") == (
        f"The diastolic must be lower than the systolic ({systolic}/{diastolic} entered); "
        "check the order the cuff shows: systolic / diastolic.")
    assert error_beside(response, "systolic") == ""
    assert (input_value(response, "systolic"), input_value(response, "diastolic")) == (systolic, diastolic)
    assert count(VitalSign) == 0


def test_every_problem_shows_at_once(clinic, sid):
    data = {"systolic": "300", "diastolic": "x", "heart_rate": "", "spo2": "20",
            "timepoint": "during", "taken_at": clinic.at()}
    response = clinic.post(clinic.medical, f"/sessions/{sid}/vitals", data)
    assert response.status_code == 400
    assert error_beside(response, "systolic") == RANGE["systolic"]
    assert error_beside(response, "diastolic") == WHOLE
    assert error_beside(response, "heart_rate") == MISSING["heart_rate"]
    assert error_beside(response, "spo2") == RANGE["spo2"]
    assert "Please correct these before saving" in page(response)
    assert count(VitalSign) == 0


def test_the_plausible_edges_are_accepted(clinic, sid):
    clinic.reading(sid, "260/160", 220, 100, at=-2, timepoint="baseline")
    clinic.reading(sid, "60/30", 30, 50, at=-1)
    assert count(VitalSign) == 2


def test_only_ascii_digits_are_readings(clinic, sid):
    """No cuff shows Arabic-Indic digits or "1_20"; a pasted one is refused, nothing saved."""
    data = {"systolic": "١٢٠", "diastolic": "٨٠", "heart_rate": "1_20", "spo2": "",
            "timepoint": "baseline", "taken_at": clinic.at()}
    response = clinic.post(clinic.medical, f"/sessions/{sid}/vitals", data)
    assert response.status_code == 400
    assert "Enter a whole number" in response.get_data(as_text=True)
    assert db.session.scalars(select(VitalSign)).all() == []


@pytest.mark.parametrize(
    "field, value, message",
    [
        ("taken_at", "\x00", None),
        ("taken_at", "yesterday", None),
        ("taken_at", "", "Enter the taken at."),
        ("timepoint", "\x00", "Not a valid choice."),
        ("timepoint", "sometime", "Not a valid choice."),
        ("note", "a\x00b", None),
        ("note", "x" * 301, None),
    ],
)
def test_garbage_in_the_other_fields_is_a_message(clinic, sid, field, value, message):
    data = {**NORMAL, "timepoint": "during", "taken_at": clinic.at(), field: value}
    response = clinic.post(clinic.medical, f"/sessions/{sid}/vitals", data)
    assert response.status_code == 400
    shown = error_beside(response, field)
    assert shown and (message is None or shown == message)
    assert count(VitalSign) == 0


def test_a_reading_long_ago_does_not_break_the_pages(clinic, sid):
    """A mistyped year is refused; and a reading far from the session (imported data) is no
    reason for a page to hang: the chart keeps about a dozen ticks."""
    data = {**NORMAL, "timepoint": "baseline", "taken_at": "2001-01-01T00:00"}
    response = clinic.post(clinic.medical, f"/sessions/{sid}/vitals", data)
    assert response.status_code == 400
    assert error_beside(response, "taken_at").startswith("This is more than 2 hours before the session")
    db.session.add(VitalSign(session_id=sid, taken_at=dt.datetime(2001, 1, 1, tzinfo=dt.UTC),
                             timepoint="baseline", systolic=118, diastolic=76, heart_rate=70,
                             recorded_by_id=clinic.medical.id))
    db.session.commit()
    clinic.reading(sid, at=-1)
    for url in (f"/sessions/{sid}/vitals", f"/sessions/{sid}"):
        shown = clinic.get(clinic.medical, url)
        assert shown.status_code == 200
        assert len(raw(shown)) < 100_000
        assert 2 <= re.search(r"<svg.*?</svg>", raw(shown), re.S).group(0).count('<text class="tick"') < 40
    assert clinic.get(clinic.medical, "/today").status_code == 200


@pytest.mark.parametrize("zone", ["America/New_York", "Asia/Tokyo"])
@pytest.mark.parametrize("when", ["0001-01-01T00:00", "1999-12-31T23:59"])
def test_a_reading_before_2000_is_refused(clinic, sid, zone, when):
    factories.move_clinic(zone, clinic.admin)
    data = {**NORMAL, "timepoint": "baseline", "taken_at": when}
    response = clinic.post(clinic.medical, f"/sessions/{sid}/vitals", data)
    assert response.status_code == 400
    assert error_beside(response, "taken_at") == "Enter a date after 2000."
    assert count(VitalSign) == 0


# --- who records readings, and where -----------------------------------------------------------


@pytest.mark.parametrize("role", ["therapist", "supervisor", "admin"])
def test_only_medical_staff_record_readings(clinic, sid, role):
    user = {"therapist": clinic.therapist, "supervisor": clinic.supervisor, "admin": clinic.admin}[role]
    response = clinic.post(user, f"/sessions/{sid}/vitals",
                           {**NORMAL, "timepoint": "baseline", "taken_at": clinic.at()})
    assert response.status_code == 403
    assert count(VitalSign) == 0
    denied = audit("route", AuditAction.DENIED)
    assert denied and denied[-1].user_id == user.id and "needs record_vitals" in denied[-1].detail


@pytest.mark.parametrize("role", ["therapist", "supervisor"])
def test_others_read_the_vitals_page_without_the_entry_form(clinic, sid, role):
    clinic.reading(sid, timepoint="baseline")
    user = getattr(clinic, role)
    shown = clinic.get(user, f"/sessions/{sid}/vitals")
    assert shown.status_code == 200
    assert "118/76" in section(shown, "h-table")
    assert 'name="systolic"' not in raw(shown) and "Mark entered in error" not in raw(shown)


def test_admins_open_no_vitals(clinic, sid):
    assert clinic.get(clinic.admin, f"/sessions/{sid}/vitals").status_code == 403
    assert clinic.get(clinic.admin, "/today").status_code == 403


def test_another_caseload_or_an_unknown_session_is_not_found(clinic, sid, make_user):
    other = medicine(clinic, "im", therapist=clinic.other_therapist)
    clinic.reading(other, timepoint="baseline")
    # The therapist sees only their own caseload.
    assert clinic.get(clinic.therapist, f"/sessions/{other}/vitals").status_code == 404
    assert clinic.get(clinic.therapist, f"/sessions/{sid}/vitals").status_code == 200
    # Medical staff see clients in treatment, and those whose sessions they wrote.
    out = medicine(clinic, "im")
    clinic.reading(out, "170/95", timepoint="baseline")
    [alert] = alerts_of(out)
    vital = db.session.scalar(select(VitalSign).where(VitalSign.session_id == out))
    record = clinic.course_of(out).client
    record.status = ClientStatus.DISCHARGED
    db.session.commit()
    assert clinic.get(clinic.medical, f"/sessions/{out}/vitals").status_code == 200  # they wrote it
    clinic.medical = make_user("medical")  # a colleague who never treated this client
    before = count(VitalSign)
    for url in (f"/sessions/{out}/vitals", "/sessions/999999/vitals", f"/sessions/{out}"):
        assert clinic.get(clinic.medical, url).status_code == 404
    assert clinic.vitals(out).status_code == 404
    assert clinic.vitals(999999).status_code == 404
    assert clinic.mark_in_error(vital.id).status_code == 404
    assert clinic.mark_in_error(999999).status_code == 404
    assert clinic.acknowledge(alert.id).status_code == 404
    assert clinic.acknowledge(999999).status_code == 404
    assert clinic.override(out).status_code == 404
    assert count(VitalSign) == before
    assert fresh(VitalSign, vital.id).entered_in_error_at is None
    assert fresh(SafetyAlert, alert.id).acknowledged_at is None
    assert count(SafetyOverride) == 0
    assert audit("session", AuditAction.DENIED)


def test_a_preparation_session_has_no_vitals(clinic, sid):
    prep = db.session.scalar(select(PreparationSession.id).where(
        PreparationSession.course_id == clinic.course_of(sid).id))
    assert clinic.get(clinic.medical, f"/sessions/{prep}/vitals").status_code == 404
    assert clinic.vitals(prep, timepoint="baseline").status_code == 404
    assert clinic.override(prep).status_code == 404
    assert count(VitalSign) == 0


def test_a_screening_takes_readings_but_no_override(clinic):
    screening = draft_screening(clinic)
    clinic.reading(screening, "150/95", 80, timepoint="baseline", at=-5)
    shown = clinic.get(clinic.medical, f"/sessions/{screening}/vitals")
    assert shown.status_code == 200 and "150/95" in section(shown, "h-table")
    assert "h-overrides" not in raw(shown)
    assert clinic.override(screening).status_code == 404
    assert "<svg" in raw(clinic.get(clinic.therapist, f"/sessions/{screening}"))


def test_an_ended_course_refuses_new_readings(clinic, sid):
    clinic.reading(sid, timepoint="baseline")
    course = clinic.course_of(sid)
    course.end_reason, course.ended_on, course.end_note = EndReason.DISCONTINUED, clinic.now.date(), "Moved away."
    db.session.commit()
    response = clinic.vitals(sid)
    assert response.status_code == 302 and response.headers["Location"] == f"/sessions/{sid}/vitals"
    shown = clinic.http(clinic.medical).get(f"/sessions/{sid}/vitals")
    assert "This session is signed or its course has ended: no more readings can be added." in page(shown)
    assert 'name="systolic"' not in raw(shown)
    assert count(VitalSign) == 1
    [vital] = db.session.scalars(select(VitalSign))
    assert clinic.mark_in_error(vital.id).status_code == 302
    assert fresh(VitalSign, vital.id).entered_in_error_at is None
    assert "This session is signed or its course has ended: its readings can no longer change." in page(
        clinic.http(clinic.medical).get(f"/sessions/{sid}/vitals"))
    assert clinic.override(sid).status_code == 302
    assert "This session is signed or its course has ended." in page(
        clinic.http(clinic.medical).get(f"/sessions/{sid}/vitals"))
    assert count(SafetyOverride) == 0


# --- a signed session, and the database's own rules --------------------------------------------


def _sign_cleanly(clinic, sid):
    clinic.reading(sid, timepoint="baseline", at=-100)
    assert dose(clinic, sid, at=-90).status_code == 302
    clinic.reading(sid, "124/80", at=-5, timepoint="discharge")
    assert clinic.discharge(sid, note="Uneventful.").status_code == 302
    response = clinic.sign(clinic.medical, sid)
    assert response.status_code == 302, page(response)
    assert fresh(DosingSession, sid).is_signed


def test_a_signed_session_refuses_new_readings(clinic, sid):
    _sign_cleanly(clinic, sid)
    before = count(VitalSign)
    response = clinic.vitals(sid)
    assert response.status_code == 302
    shown = clinic.http(clinic.medical).get(f"/sessions/{sid}/vitals")
    assert "This session is signed or its course has ended: no more readings can be added." in page(shown)
    assert 'name="systolic"' not in raw(shown) and "Mark entered in error" not in raw(shown)
    [first, *_] = db.session.scalars(select(VitalSign).order_by(VitalSign.id))
    clinic.mark_in_error(first.id)
    assert fresh(VitalSign, first.id).entered_in_error_at is None
    assert "its readings can no longer change." in page(clinic.http(clinic.medical).get(f"/sessions/{sid}/vitals"))
    assert count(VitalSign) == before


def _refused(statement: str, **params) -> str:
    with pytest.raises(sa.exc.DBAPIError) as refused:
        with db.session.begin_nested():
            db.session.execute(text(statement), params)
    db.session.rollback()
    return str(refused.value)


def test_the_database_refuses_a_reading_in_a_signed_session(clinic, sid):
    _sign_cleanly(clinic, sid)
    message = _refused(
        "INSERT INTO vital_sign (session_id, taken_at, timepoint, systolic, diastolic, heart_rate, "
        "recorded_by_id, recorded_at) VALUES (:s, :t, 'post', 120, 80, 70, :u, :t)",
        s=sid, t=utcnow(), u=clinic.medical.id)
    assert "a signed session cannot be changed" in message
    assert count(VitalSign, VitalSign.session_id == sid) == 2


@pytest.mark.parametrize(
    "assignment",
    ["systolic = 181", "diastolic = 70", "heart_rate = 99", "spo2 = 90", "note = 'edited'",
     "taken_at = :earlier", "timepoint = 'post'", "recorded_by_id = :other", "recorded_at = :earlier",
     "session_id = :session"],
)
def test_the_database_refuses_an_edit_of_a_measured_value(clinic, sid, assignment):
    reading = clinic.reading(sid, "150/95", 80, 97, timepoint="baseline")
    other_session = medicine(clinic, "im")
    params = {"earlier": utcnow() - dt.timedelta(minutes=90), "other": clinic.supervisor.id,
              "session": other_session}
    message = _refused(f"UPDATE vital_sign SET {assignment} WHERE id = :id", id=reading.id,
                       **{k: v for k, v in params.items() if f":{k}" in assignment})
    assert "a reading is never edited" in message
    stored = fresh(VitalSign, reading.id)
    assert (stored.systolic, stored.diastolic, stored.heart_rate, stored.spo2, stored.note) == (150, 95, 80, 97, None)


def test_the_database_refuses_deleting_any_reading(clinic, sid):
    normal = clinic.reading(sid, timepoint="baseline", at=-2)
    wrong = clinic.reading(sid, "181/90", at=-1)
    assert clinic.mark_in_error(wrong.id).status_code == 302
    for reading in (normal, wrong):
        assert "vital signs are never deleted" in _refused("DELETE FROM vital_sign WHERE id = :id", id=reading.id)
    assert count(VitalSign) == 2


def test_the_database_marks_a_reading_in_error_once(clinic, sid):
    reading = clinic.reading(sid, timepoint="baseline")
    db.session.execute(
        text("UPDATE vital_sign SET entered_in_error_at = :t, entered_in_error_by_id = :u, "
             "error_reason = 'first' WHERE id = :id"),
        {"t": utcnow(), "u": clinic.medical.id, "id": reading.id})
    db.session.commit()
    message = _refused("UPDATE vital_sign SET error_reason = 'second' WHERE id = :id", id=reading.id)
    assert "a reading is never edited" in message
    assert fresh(VitalSign, reading.id).error_reason == "first"


def test_the_database_keeps_overrides_and_alerts(clinic, sid):
    clinic.reading(sid, "170/95", timepoint="baseline")
    assert clinic.override(sid).status_code == 302
    [override] = db.session.scalars(select(SafetyOverride))
    [alert] = alerts_of(sid)
    assert "append-only" in _refused("UPDATE safety_override SET reason = 'x' WHERE id = :id", id=override.id)
    assert "append-only" in _refused("DELETE FROM safety_override WHERE id = :id", id=override.id)
    assert "never deleted" in _refused("DELETE FROM safety_alert WHERE id = :id", id=alert.id)
    assert "acknowledged, once" in _refused("UPDATE safety_alert SET message = 'x' WHERE id = :id", id=alert.id)


def test_the_database_withdraws_an_alert_once_and_keeps_it(clinic, sid):
    first = clinic.reading(sid, "185/95", at=-10)
    clinic.reading(sid, "186/96", at=-4)
    [alert] = alerts_of(sid)
    assert "withdrawn_together" in _refused("UPDATE safety_alert SET withdrawn_at = :t WHERE id = :id",
                                            t=utcnow(), id=alert.id)  # never without the reason
    clinic.mark_in_error(first.id)
    assert "withdrawn, once" in _refused("UPDATE safety_alert SET withdrawn_reason = 'other' WHERE id = :id",
                                         id=alert.id)
    assert "withdrawn, once" in _refused(
        "UPDATE safety_alert SET acknowledged_at = :t, acknowledged_by_id = :u WHERE id = :id",
        t=utcnow(), u=clinic.medical.id, id=alert.id)
    assert "withdrawn, once" in _refused("UPDATE safety_alert SET paired_vital_sign_id = NULL WHERE id = :id",
                                         id=alert.id)
    assert "never deleted" in _refused("DELETE FROM safety_alert WHERE id = :id", id=alert.id)


# --- entered in error --------------------------------------------------------------------------


def test_entered_in_error_needs_a_reason(clinic, sid):
    reading = clinic.reading(sid, "181/90", timepoint="baseline")
    for reason in ("", "   "):
        response = clinic.mark_in_error(reading.id, reason)
        assert response.status_code == 302
        shown = clinic.http(clinic.medical).get(f"/sessions/{sid}/vitals")
        assert "Say why this reading is wrong (for example: typed 118 for 181)." in page(shown)
        assert fresh(VitalSign, reading.id).entered_in_error_at is None
    clinic.mark_in_error(reading.id, "x" * 201)
    assert fresh(VitalSign, reading.id).entered_in_error_at is None
    clinic.mark_in_error(reading.id, "bad\x00reason")
    assert fresh(VitalSign, reading.id).entered_in_error_at is None


def test_a_reading_entered_in_error_stays_struck_through_and_leaves_the_rules(clinic, sid):
    wrong = clinic.reading(sid, "170/95", 80, timepoint="baseline", at=-4)
    [hold] = alerts_of(sid)
    assert (hold.rule, hold.vital_sign_id) == ("baseline_hold", wrong.id)

    response = clinic.mark_in_error(wrong.id, "Cuff on the wrong arm size.")
    assert response.status_code == 302 and response.headers["Location"] == f"/sessions/{sid}/vitals"
    stored = fresh(VitalSign, wrong.id)
    assert stored.in_error and stored.entered_in_error_by_id == clinic.medical.id
    assert stored.error_reason == "Cuff on the wrong arm size."
    assert (stored.systolic, stored.diastolic) == (170, 95)  # the reading stays as typed

    shown = clinic.http(clinic.medical).get(f"/sessions/{sid}/vitals")
    assert "Marked entered in error. Enter the correct reading." in page(shown)
    assert re.search(r'<tr class="in-error">.*?<del>170/95</del>', raw(shown), re.S)
    assert "Entered in error (Cuff on the wrong arm size.)" in section(shown, "h-table")
    # The alert it caused is withdrawn (not acknowledged for it), with the reason, and stays in
    # the history.
    [hold] = alerts_of(sid)
    assert hold.acknowledged_at is None and hold.withdrawn_at is not None
    assert hold.withdrawn_reason == (f"The reading 170/95, heart rate 80 at {clinic.at(-4)[-5:]} was marked "
                                     "entered in error (Cuff on the wrong arm size.).")
    assert "Safety alerts to acknowledge" not in page(shown)
    assert "— withdrawn at " in section(shown, "h-history")
    # Out of the rules: no baseline any more, so the dose waits for one.
    assert "none yet: no dose can be recorded" in section(shown, "h-latest")
    response = dose(clinic, sid)
    assert response.status_code == 409
    assert error_beside(response, "given_at") == "No baseline reading: the dose cannot be recorded."
    # The chart leaves it out too (it was the only reading).
    assert "<svg" not in raw(shown)

    # The correct reading is a new row; the wrong one is still there.
    right = clinic.reading(sid, "117/75", 80, timepoint="baseline", at=-3)
    assert right.id != wrong.id and count(VitalSign) == 2
    assert dose(clinic, sid, at=-1).status_code == 302
    session_page = clinic.get(clinic.therapist, f"/sessions/{sid}")
    assert "(entered in error)" in page(session_page)


def _open(sid) -> list[tuple[str, int, int | None]]:
    return [(a.rule, a.vital_sign_id, a.paired_vital_sign_id) for a in alerts_of(sid) if a.is_open]


def test_marking_the_first_of_two_high_readings_in_error_withdraws_the_sustained_alert(clinic, sid):
    first = clinic.reading(sid, "185/95", at=-10)
    second = clinic.reading(sid, "186/96", at=-4)
    assert _open(sid) == [("sustained_high_bp", second.id, first.id)]

    assert clinic.mark_in_error(first.id, "Another client's cuff.").status_code == 302
    [alert] = alerts_of(sid)
    assert not alert.is_open and alert.acknowledged_at is None
    assert alert.withdrawn_at is not None and "Another client's cuff." in alert.withdrawn_reason
    assert "185/95" in alert.withdrawn_reason
    assert _open(sid) == []
    shown = clinic.http(clinic.medical).get(f"/sessions/{sid}/vitals")
    assert "Safety alerts to acknowledge" not in page(shown)
    history = section(shown, "h-history")
    assert "withdrawn at" in history and "was marked entered in error (Another client's cuff.)" in history
    assert re.search(r'<li class="withdrawn">[^<]*<del>', raw(shown))
    # Nothing open blocks signing any more on its account.
    assert "safety alert(s) are not acknowledged yet" not in page(clinic.get(clinic.medical, f"/sessions/{sid}/sign"))


def test_marking_a_reading_in_error_raises_what_the_remaining_readings_justify(clinic, sid):
    # Typed out of order: the 20-minute-old reading is entered last.
    middle = clinic.reading(sid, "185/95", at=-10)
    last = clinic.reading(sid, "186/96", at=-4)
    earliest = clinic.reading(sid, "184/94", at=-20)
    assert sorted(_open(sid)) == sorted([("sustained_high_bp", last.id, middle.id),
                                         ("sustained_high_bp", middle.id, earliest.id)])
    [on_last] = [a for a in alerts_of(sid) if a.vital_sign_id == last.id]
    assert clinic.acknowledge(on_last.id).status_code == 302  # acknowledged alerts are withdrawn too

    assert clinic.mark_in_error(middle.id).status_code == 302
    # Both alerts resting on it are withdrawn; the last reading and the earliest still make a
    # sustained pair (16 minutes apart), so that alert exists, open, naming the earliest.
    assert _open(sid) == [("sustained_high_bp", last.id, earliest.id)]
    withdrawn = [a for a in alerts_of(sid) if a.withdrawn_at is not None]
    assert {a.vital_sign_id for a in withdrawn} == {last.id, middle.id}
    assert fresh(SafetyAlert, on_last.id).acknowledged_at is not None  # its history is kept
    [new] = [a for a in alerts_of(sid) if a.is_open]
    assert clinic.at(-20)[-5:] in new.message and clinic.at(-10)[-5:] not in new.message
    shown = clinic.http(clinic.medical).get(f"/sessions/{sid}/vitals")
    assert "1 safety alert(s) from the other readings" in page(shown)
    assert len(audit("vitals", AuditAction.UPDATE, middle.id)) == 1


def test_a_withdrawn_alert_cannot_be_acknowledged(clinic, sid):
    first = clinic.reading(sid, "185/95", at=-10)
    clinic.reading(sid, "186/96", at=-4)
    [alert] = alerts_of(sid)
    clinic.mark_in_error(first.id)
    assert clinic.acknowledge(alert.id).status_code == 302
    shown = clinic.http(clinic.medical).get(f"/sessions/{sid}/vitals")
    assert "This alert was withdrawn: The reading 185/95" in page(shown)
    assert fresh(SafetyAlert, alert.id).acknowledged_at is None


def test_a_reading_is_marked_in_error_only_once(clinic, sid):
    reading = clinic.reading(sid, timepoint="baseline")
    assert clinic.mark_in_error(reading.id, "First reason.").status_code == 302
    first = fresh(VitalSign, reading.id)
    response = clinic.mark_in_error(reading.id, "Second reason.")
    assert response.status_code == 302
    shown = clinic.http(clinic.medical).get(f"/sessions/{sid}/vitals")
    assert "This reading is already marked entered in error." in page(shown)
    again = fresh(VitalSign, reading.id)
    assert (again.error_reason, again.entered_in_error_at) == ("First reason.", first.entered_in_error_at)
    assert len(audit("vitals", AuditAction.UPDATE, reading.id)) == 1
    assert f'action="/vitals/{reading.id}/error"' not in raw(shown)


@pytest.mark.parametrize("role", ["therapist", "supervisor"])
def test_only_medical_staff_mark_in_error(clinic, sid, role):
    reading = clinic.reading(sid, timepoint="baseline")
    assert clinic.mark_in_error(reading.id, user=getattr(clinic, role)).status_code == 403
    assert fresh(VitalSign, reading.id).entered_in_error_at is None


# --- the dose gate -----------------------------------------------------------------------------


def test_no_baseline_no_dose(clinic, sid):
    response = dose(clinic, sid)
    assert response.status_code == 409
    assert error_beside(response, "given_at") == "No baseline reading: the dose cannot be recorded."
    assert fresh(DosingSession, sid).administrations == []
    # A reading during the session is not a baseline.
    clinic.reading(sid, timepoint="during")
    assert dose(clinic, sid).status_code == 409


def test_a_missing_baseline_cannot_be_overridden(clinic, sid):
    response = clinic.override(sid)
    assert response.status_code == 400
    assert error_beside(response, "kind") == (
        "No baseline reading: take one first. A missing baseline cannot be overridden.")
    assert count(SafetyOverride) == 0
    assert dose(clinic, sid).status_code == 409


@pytest.mark.parametrize(
    "bp, heart_rate, met",
    [
        ("160/90", 80, "systolic 160 is 160 or more"),
        ("150/100", 80, "diastolic 100 is 100 or more"),
        ("120/80", 101, "heart rate 101 is above 100"),
        ("175/105", 110, "systolic 175 is 160 or more, diastolic 105 is 100 or more, heart rate 110 is above 100"),
    ],
)
def test_a_baseline_at_the_hold_threshold_holds_the_dose(clinic, sid, bp, heart_rate, met):
    baseline = clinic.reading(sid, bp, heart_rate, timepoint="baseline", at=-10)
    [alert] = alerts_of(sid)
    assert (alert.rule, alert.level.value, alert.vital_sign_id) == ("baseline_hold", "hold", baseline.id)
    assert met in alert.message
    response = dose(clinic, sid)
    assert response.status_code == 409
    message = error_beside(response, "given_at")
    assert message.startswith(f"Baseline {bp}, heart rate {heart_rate} at ") and "hold the dose — " + met in message
    assert "Dose only if medical staff record an override with a reason." in message
    assert fresh(DosingSession, sid).administrations == []
    shown = clinic.get(clinic.medical, f"/sessions/{sid}/vitals")
    assert "Held:" in section(shown, "h-gate") and met in section(shown, "h-gate")


def test_a_baseline_below_the_hold_passes(clinic, sid):
    clinic.reading(sid, "159/99", 100, timepoint="baseline", at=-10)
    assert [a.rule for a in alerts_of(sid)] == ["baseline_caution"]
    assert dose(clinic, sid).status_code == 302


def test_a_caution_shows_but_does_not_block(clinic, sid):
    clinic.reading(sid, "140/90", 80, timepoint="baseline", at=-10)
    assert rules_of(sid) == [("baseline_caution", "caution")]
    shown = clinic.get(clinic.medical, f"/sessions/{sid}/vitals")
    gate = section(shown, "h-gate")
    assert "Caution:" in gate and "systolic 140 is 140 or more, diastolic 90 is 90 or more" in gate
    assert "Held:" not in gate
    # Nothing to override; the dose goes ahead.
    assert clinic.override(sid).status_code == 400
    assert dose(clinic, sid).status_code == 302
    assert len(fresh(DosingSession, sid).administrations) == 1


def test_an_override_with_a_reason_lifts_the_hold(clinic, sid):
    baseline = clinic.reading(sid, "165/95", 88, timepoint="baseline", at=-10)
    # A reason is required.
    for reason in ("", "  "):
        response = clinic.override(sid, reason=reason)
        assert response.status_code == 400
        assert error_beside(response, "reason") == "Give the clinical reason for going ahead against the rule."
    response = clinic.override(sid, kind="")
    assert response.status_code == 400 and error_beside(response, "kind")
    response = clinic.override(sid, kind="everything")
    assert response.status_code == 400 and error_beside(response, "kind")
    assert count(SafetyOverride) == 0

    response = clinic.override(sid, reason="Long-standing hypertension, treated; physician agrees.")
    assert response.status_code == 302 and response.headers["Location"] == f"/sessions/{sid}/vitals"
    [override] = db.session.scalars(select(SafetyOverride))
    assert override.kind.value == "dose_hold" and override.rules == "baseline_hold"
    assert override.reason == "Long-standing hypertension, treated; physician agrees."
    assert override.created_by_id == clinic.medical.id and override.session_id == sid
    shown = clinic.http(clinic.medical).get(f"/sessions/{sid}/vitals")
    assert "Override recorded: dose given despite a held baseline." in page(shown)
    assert f"Override recorded by {clinic.medical.name}" in section(shown, "h-gate")
    assert "Dose given despite a held baseline" in section(shown, "h-overrides")
    assert "(Baseline too high: hold the dose): Long-standing hypertension" in section(shown, "h-overrides")
    [event] = audit("override", AuditAction.CREATE, override.id)
    assert event.detail == "dose_hold: baseline_hold" and event.client_id == clinic.course_of(sid).client_id

    assert dose(clinic, sid).status_code == 302
    # The hold's alert is still there to acknowledge: overriding is not acknowledging.
    assert [a.acknowledged_at for a in alerts_of(sid)] == [None]
    assert baseline.id == alerts_of(sid)[0].vital_sign_id


def test_a_second_override_is_refused_once_the_hold_is_lifted(clinic, sid):
    clinic.reading(sid, "165/95", 88, timepoint="baseline", at=-10)
    assert clinic.override(sid).status_code == 302
    response = clinic.override(sid)
    assert response.status_code == 400
    assert error_beside(response, "kind") == "Nothing to override: no rule blocks this step now."
    assert count(SafetyOverride) == 1


def test_an_override_is_refused_when_nothing_blocks(clinic, sid):
    clinic.reading(sid, "120/80", 70, timepoint="baseline", at=-10)
    response = clinic.override(sid)
    assert response.status_code == 400
    assert error_beside(response, "kind") == "Nothing to override: no rule blocks this step now."
    assert count(SafetyOverride) == 0


def test_a_new_held_baseline_after_an_override_holds_again(clinic, sid):
    clinic.reading(sid, "165/95", 88, timepoint="baseline", at=-20)
    assert clinic.override(sid).status_code == 302
    # Retaken after the override (2 minutes ahead of the test's whole-minute clock is after it,
    # and as far ahead as a reading may be typed): held again.
    clinic.reading(sid, "170/100", 90, timepoint="baseline", at=2)
    response = dose(clinic, sid)
    assert response.status_code == 409
    assert "Baseline 170/100" in error_beside(response, "given_at")


@pytest.mark.parametrize("role", ["therapist", "supervisor"])
def test_only_medical_staff_override(clinic, sid, role):
    clinic.reading(sid, "170/95", timepoint="baseline")
    assert clinic.override(sid, user=getattr(clinic, role)).status_code == 403
    assert count(SafetyOverride) == 0


# --- alerts ------------------------------------------------------------------------------------


@pytest.mark.clock_matrix  # gaps between readings and times on the page
@pytest.mark.parametrize(
    "readings, expected",
    [
        ([("200/100", 80, 98, 0)], [("critical_bp", "critical")]),
        ([("150/120", 80, 98, 0)], [("critical_bp", "critical")]),
        ([("199/119", 80, 98, 0)], []),
        ([("180/100", 80, 98, -5), ("180/100", 80, 98, 0)], [("sustained_high_bp", "alert")]),
        ([("150/110", 80, 98, -5), ("150/110", 80, 98, 0)], [("sustained_high_bp", "alert")]),
        ([("180/110", 80, 98, -4), ("180/110", 80, 98, 0)], []),
        ([("180/110", 80, 98, -5)], []),
        ([("120/80", 121, 98, -5), ("120/80", 121, 98, 0)], [("tachycardia", "alert")]),
        ([("120/80", 121, 98, -4), ("120/80", 121, 98, 0)], []),
        ([("120/80", 120, 98, -5), ("120/80", 120, 98, 0)], []),
        ([("120/80", 49, 98, 0)], [("bradycardia", "alert")]),
        ([("120/80", 50, 98, 0)], []),
        ([("120/80", 70, 91, 0)], [("low_spo2", "alert")]),
        ([("120/80", 70, 92, 0)], []),
        ([("205/125", 45, 88, 0)], [("critical_bp", "critical"), ("bradycardia", "alert"), ("low_spo2", "alert")]),
    ],
)
def test_each_rule_raises_a_stored_alert(clinic, sid, readings, expected):
    clinic.reading(sid, timepoint="baseline", at=-30)
    for bp, heart_rate, spo2, at in readings:
        clinic.reading(sid, bp, heart_rate, spo2, at=at)
    assert sorted(rules_of(sid)) == sorted(expected)
    last = db.session.scalar(select(VitalSign).order_by(VitalSign.taken_at.desc(), VitalSign.id.desc()))
    assert all(a.vital_sign_id == last.id for a in alerts_of(sid))
    assert all(a.acknowledged_at is None for a in alerts_of(sid))
    if expected:
        assert len(audit("vitals", AuditAction.CREATE, last.id)) == 1
        assert f"{len(expected)} alert(s) raised" in audit("vitals", AuditAction.CREATE, last.id)[0].detail


@pytest.mark.parametrize(
    "bp, heart_rate, rule, level",
    [("160/90", 80, "baseline_hold", "hold"), ("150/100", 80, "baseline_hold", "hold"),
     ("120/80", 101, "baseline_hold", "hold"), ("140/85", 80, "baseline_caution", "caution"),
     ("130/90", 80, "baseline_caution", "caution"), ("139/89", 100, None, None)],
)
def test_a_baseline_raises_its_alert(clinic, sid, bp, heart_rate, rule, level):
    clinic.reading(sid, bp, heart_rate, timepoint="baseline")
    assert rules_of(sid) == ([(rule, level)] if rule else [])


def test_the_critical_message_names_the_reading_and_the_setting(clinic, sid):
    clinic.reading(sid, "210/100", at=-1)
    [alert] = alerts_of(sid)
    assert alert.message == (
        f"Blood pressure 210/100 at {alert_hhmm(clinic, -1)} (a single reading at or above 200/120): critical "
        "blood pressure. Settings: vitals.critical_systolic, vitals.critical_diastolic.")


def alert_hhmm(clinic, minutes) -> str:
    """HH:MM of a typed time as the alerts quote it (clinic time, as typed)."""
    return clinic.at(minutes)[-5:]


def test_an_alert_is_raised_once(clinic, sid):
    clinic.reading(sid, "120/80", timepoint="baseline", at=-30)
    clinic.reading(sid, "182/100", at=-10)
    clinic.reading(sid, "184/100", at=-5)
    assert rules_of(sid) == [("sustained_high_bp", "alert")]
    clinic.reading(sid, "120/80", at=-3)
    clinic.reading(sid, "121/80", at=-2)
    assert rules_of(sid) == [("sustained_high_bp", "alert")]
    # A third high reading is a new finding on a new reading: one more alert, not a copy.
    clinic.reading(sid, "186/100", at=0)
    assert rules_of(sid) == [("sustained_high_bp", "alert")] * 2
    assert len({a.vital_sign_id for a in alerts_of(sid)}) == 2


def test_an_acknowledged_alert_is_not_raised_again(clinic, sid):
    clinic.reading(sid, "205/100", at=-10)
    [alert] = alerts_of(sid)
    assert clinic.acknowledge(alert.id).status_code == 302
    clinic.reading(sid, "120/80", at=-5)
    assert [(a.id, a.acknowledged_at is not None) for a in alerts_of(sid)] == [(alert.id, True)]


def test_open_alerts_show_on_the_vitals_and_course_pages_and_the_client_list(clinic, sid):
    calm = medicine(clinic, "im")
    clinic.reading(calm, timepoint="baseline")
    clinic.reading(sid, "120/80", timepoint="baseline", at=-30)
    clinic.reading(sid, "205/125", at=-2)
    clinic.reading(sid, "120/80", 70, 88, at=-1)
    alerts = alerts_of(sid)
    assert [a.rule for a in alerts] == ["critical_bp", "low_spo2"]
    course = clinic.course_of(sid)
    record = course.client

    vitals_page = clinic.get(clinic.medical, f"/sessions/{sid}/vitals")
    shown = section(vitals_page, "h-alerts")
    assert "Critical: Blood pressure 205/125" in shown and "Alert: SpO₂ 88 %" in shown
    assert raw(vitals_page).count('action="/alerts/') == 2
    for user in (clinic.therapist, clinic.supervisor, clinic.medical):
        course_page = clinic.get(user, f"/courses/{course.id}")
        assert "Critical: Blood pressure 205/125" in page(course_page)
        assert f'href="/sessions/{sid}/vitals">Open the vitals to acknowledge' in raw(course_page)
    # A badge on the client list, and the filter.
    for user in (clinic.therapist, clinic.supervisor, clinic.medical):
        listing = clinic.get(user, "/clients/")
        assert "2 safety alerts" in page(listing)
        filtered = clinic.get(user, "/clients/?alerts=open")
        assert record.family_name in page(filtered)
        assert clinic.course_of(calm).client.family_name not in page(filtered)
    # Therapists read the alerts but do not acknowledge them.
    assert 'action="/alerts/' not in raw(clinic.get(clinic.therapist, f"/sessions/{sid}/vitals"))


def test_acknowledging_takes_an_alert_off_the_lists_into_the_history(clinic, sid):
    clinic.reading(sid, "205/100", at=-5)
    clinic.reading(sid, "120/80", 70, 88, at=-1)
    critical, low = alerts_of(sid)
    course = clinic.course_of(sid)
    record = course.client

    assert clinic.acknowledge(critical.id, user=clinic.therapist).status_code == 403
    assert fresh(SafetyAlert, critical.id).acknowledged_at is None

    response = clinic.acknowledge(critical.id, "Repeated: 150/90. Physician informed.")
    assert response.status_code == 302 and response.headers["Location"] == f"/sessions/{sid}/vitals"
    stored = fresh(SafetyAlert, critical.id)
    assert stored.acknowledged_by_id == clinic.medical.id and stored.acknowledged_at is not None
    assert stored.acknowledgement_note == "Repeated: 150/90. Physician informed."
    [event] = audit("alert", AuditAction.UPDATE, critical.id)
    assert event.detail == "acknowledged critical_bp" and event.client_id == record.id
    assert event.user_id == clinic.medical.id

    # A supervisor acknowledges too, without a note.
    assert clinic.acknowledge(low.id, "", user=clinic.supervisor).status_code == 302
    assert fresh(SafetyAlert, low.id).acknowledged_by_id == clinic.supervisor.id

    shown = clinic.get(clinic.medical, f"/sessions/{sid}/vitals")
    assert "Safety alerts to acknowledge" not in page(shown)
    history = section(shown, "h-history")
    when = clock.utc_to_local(fresh(SafetyAlert, critical.id).acknowledged_at).strftime("%H:%M")
    assert f"acknowledged by {clinic.medical.name} at {when}" in history
    assert "(Repeated: 150/90. Physician informed.)" in history
    assert f"acknowledged by {clinic.supervisor.name} at " in history
    assert "Blood pressure 205/100" in history and "SpO₂ 88 %" in history
    assert "205/100" not in page(clinic.get(clinic.therapist, f"/courses/{course.id}"))
    assert not re.search(r"\d+ safety alert", page(clinic.get(clinic.supervisor, "/clients/")))
    assert record.family_name not in page(clinic.get(clinic.supervisor, "/clients/?alerts=open"))

    # Once is enough.
    again = clinic.acknowledge(critical.id, "Again.")
    assert again.status_code == 302
    assert "This alert was already acknowledged." in page(clinic.http(clinic.medical).get(f"/sessions/{sid}/vitals"))
    assert fresh(SafetyAlert, critical.id).acknowledgement_note == "Repeated: 150/90. Physician informed."
    assert len(audit("alert", AuditAction.UPDATE, critical.id)) == 1


def test_garbage_in_an_acknowledgement_is_refused(clinic, sid):
    clinic.reading(sid, "205/100")
    [alert] = alerts_of(sid)
    for note in ("bad\x00note", "x" * 1001):
        assert clinic.acknowledge(alert.id, note).status_code == 302
        assert fresh(SafetyAlert, alert.id).acknowledged_at is None


def test_an_open_alert_blocks_signing(clinic, sid):
    clinic.reading(sid, timepoint="baseline", at=-100)
    assert dose(clinic, sid, at=-90).status_code == 302
    clinic.reading(sid, "120/80", 70, 89, at=-30)
    clinic.reading(sid, "124/80", at=-5, timepoint="discharge")
    assert clinic.discharge(sid, note="Recovered well.").status_code == 302
    response = clinic.sign(clinic.medical, sid)
    assert response.status_code == 200
    assert "1 safety alert(s) are not acknowledged yet (see the vitals page)." in page(response)
    assert not fresh(DosingSession, sid).is_signed
    [alert] = alerts_of(sid)
    assert clinic.acknowledge(alert.id, "Repositioned the probe: 97 %.").status_code == 302
    assert clinic.sign(clinic.medical, sid).status_code == 302
    assert fresh(DosingSession, sid).is_signed


# --- thresholds from the settings ----------------------------------------------------------------


def _change(clinic, key, value, minutes_ago=30):
    """A settings change signed off by the medical lead, in force from ``minutes_ago``."""
    row = settings.change(key, value, user=clinic.admin, reason="Clinic protocol review.",
                          approved_by="Dr Medical Lead")
    row.changed_at = utcnow() - dt.timedelta(minutes=minutes_ago)
    db.session.commit()
    return row


def test_a_changed_hold_threshold_applies_to_later_readings_only(clinic, sid):
    early = clinic.reading(sid, "150/85", 80, timepoint="baseline", at=-60)
    [caution] = alerts_of(sid)
    assert caution.rule == "baseline_caution"
    caution_message = caution.message
    assert dose(clinic, sid, at=-50).status_code == 302  # 150 is below the hold of 160

    other = medicine(clinic, "im")
    _change(clinic, "vitals.hold_systolic", 145, minutes_ago=30)
    later = clinic.reading(other, "150/85", 80, timepoint="baseline", at=-10)
    [hold] = alerts_of(other)
    assert (hold.rule, hold.vital_sign_id) == ("baseline_hold", later.id)
    assert "systolic 150 is 145 or more (hold at 145/100 or more" in hold.message
    response = dose(clinic, other)
    assert response.status_code == 409
    assert "systolic 150 is 145 or more" in error_beside(response, "given_at")
    # The earlier alert keeps the message it was raised with.
    assert fresh(SafetyAlert, caution.id).message == caution_message
    assert early.id == caution.vital_sign_id
    assert "hold at 145/100" in page(clinic.get(clinic.medical, f"/sessions/{other}/vitals"))


def test_an_alert_keeps_its_message_when_the_threshold_changes(clinic, sid):
    clinic.reading(sid, "165/95", 80, timepoint="baseline", at=-40)
    [hold] = alerts_of(sid)
    message = hold.message
    assert "hold at 160/100 or more" in message
    _change(clinic, "vitals.hold_systolic", 170, minutes_ago=20)
    shown = clinic.get(clinic.medical, f"/sessions/{sid}/vitals")
    assert message in page(shown)
    assert "Hold before dosing at 170/100" in page(shown)  # the thresholds now
    clinic.reading(sid, "120/80", at=-1)
    assert fresh(SafetyAlert, hold.id).message == message
    # The hold stands for the baseline it was taken under.
    assert dose(clinic, sid).status_code == 409


def test_a_changed_alert_threshold_raises_alerts_at_the_new_value(clinic, sid):
    _change(clinic, "vitals.critical_systolic", 190, minutes_ago=30)
    clinic.reading(sid, "192/100", at=-1)
    [alert] = alerts_of(sid)
    assert alert.rule == "critical_bp" and "at or above 190/120" in alert.message


def _settings_data(**changes) -> dict:
    values = settings.current()
    data = {"s_" + spec.key.replace(".", "__"): str(values[spec.key]) for spec in SPECS}
    data.update({"s_" + k.replace(".", "__"): v for k, v in changes.items()})
    data["reason"] = "Clinic protocol review."
    # The settings revision the form was opened with (a later one is a conflict).
    data["version"] = str(db.session.scalar(select(SettingRevision.version)))
    return data


def test_the_settings_page_needs_the_medical_leads_sign_off_for_a_clinical_change(clinic):
    http = clinic.http(clinic.admin)
    before = db.session.scalar(select(sa.func.count()).select_from(SettingChange))
    data = _settings_data(**{"vitals.hold_systolic": "150"})
    for approved in ({}, {"approved_by": ""}, {"approved_by": "   "}):
        response = http.post("/admin/settings", data={**data, **approved})
        assert response.status_code == 200
        assert error_beside(response, "approved_by") == (
            "Name the medical lead who signed off the change to: "
            "Hold the dose: baseline systolic at or above.")
        assert db.session.scalar(select(sa.func.count()).select_from(SettingChange)) == before
        assert settings.get("vitals.hold_systolic") == 160

    response = http.post("/admin/settings", data={**data, "approved_by": "Dr Ada Lovelace"})
    assert response.status_code == 302
    db.session.expire_all()
    row = db.session.scalar(select(SettingChange).where(SettingChange.key == "vitals.hold_systolic"))
    assert row.approved_by == "Dr Ada Lovelace"
    assert row.changed_by_id == clinic.admin.id and row.reason == "Clinic protocol review."
    assert settings.get("vitals.hold_systolic") == 150
    assert "Dr Ada Lovelace" in page(http.get("/admin/settings"))


@pytest.mark.parametrize("value", ["abc", "99", "251", "\x00"])
def test_the_settings_page_refuses_an_unusable_threshold(clinic, value):
    http = clinic.http(clinic.admin)
    response = http.post("/admin/settings", data={**_settings_data(**{"vitals.hold_systolic": value}),
                                                  "approved_by": "Dr Lead"})
    assert response.status_code == 200
    assert error_beside(response, "s_vitals__hold_systolic")
    assert settings.get("vitals.hold_systolic") == 160


# --- today's schedule --------------------------------------------------------------------------


@pytest.mark.clock_matrix  # gaps between readings and times on the page
def test_today_lists_sessions_with_the_next_reading_due(clinic, sid):
    waiting = medicine(clinic, "im", opened=-10)
    clinic.reading(sid, timepoint="baseline", at=-60)
    assert dose(clinic, sid, at=-50).status_code == 302
    clinic.reading(sid, at=-5)  # next due in 10 minutes
    overdue = medicine(clinic, "im", opened=-90)
    clinic.reading(overdue, timepoint="baseline", at=-80)
    assert dose(clinic, overdue, at=-60).status_code == 302
    clinic.reading(overdue, at=-40)  # due 25 minutes ago
    clinic.reading(overdue, at=-20)  # due 5 minutes ago
    ended = medicine(clinic, "im", opened=-30)
    course = clinic.course_of(ended)
    course.end_reason, course.ended_on = EndReason.DISCONTINUED, clinic.now.date()
    db.session.commit()

    response = clinic.get(clinic.medical, "/today")
    assert response.status_code == 200
    rows = {
        int(m.group(1)): re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", m.group(2)))).strip()
        for m in re.finditer(r'<tr>\s*<td data-label="Client"><a href="/sessions/(\d+)/vitals">(.*?)</tr>',
                             raw(response), re.S)
    }
    assert set(rows) == {sid, waiting, overdue}
    due = clinic.at(10)[-5:]
    assert rows[sid].endswith(due) or f"{due} " in rows[sid]
    assert "overdue" not in rows[sid]
    assert "overdue" in rows[overdue]
    assert "no baseline" in rows[waiting] and "before the dose" in rows[waiting]
    assert "118/76, pulse 70 at" in rows[sid]

    shown = clinic.get(clinic.medical, f"/sessions/{overdue}/vitals")
    assert f"Vitals reading overdue: due at {clinic.at(-5)[-5:]} (every 15 minutes), now " in page(shown)
    assert f"Next reading due {due}" in page(clinic.get(clinic.medical, f"/sessions/{sid}/vitals"))

    # Taking the reading clears it.
    clinic.reading(overdue, at=0)
    rows_after = page(clinic.get(clinic.medical, "/today"))
    assert "overdue" not in rows_after


def test_today_counts_open_alerts_and_is_for_medical_staff(clinic, sid):
    clinic.reading(sid, "205/100")
    assert "1 open" in page(clinic.get(clinic.medical, "/today"))
    for user in (clinic.therapist, clinic.supervisor, clinic.admin):
        assert clinic.get(user, "/today").status_code == 403
    events = audit("today", AuditAction.VIEW)
    assert events and events[-1].user_id == clinic.medical.id


def test_a_discharged_session_is_not_due(clinic, sid):
    clinic.reading(sid, timepoint="baseline", at=-110)
    assert dose(clinic, sid, at=-100).status_code == 302
    clinic.reading(sid, "124/80", at=-30, timepoint="discharge")
    assert clinic.discharge(sid).status_code == 302
    rows = page(clinic.get(clinic.medical, "/today"))
    assert "discharged" in rows and "overdue" not in rows


# --- discharge ---------------------------------------------------------------------------------


def test_discharge_before_the_observation_time_is_refused(clinic, sid):
    clinic.reading(sid, timepoint="baseline", at=-45)
    assert dose(clinic, sid, at=-30).status_code == 302
    clinic.reading(sid, "122/78", at=-1, timepoint="discharge")
    response = clinic.discharge(sid)
    assert response.status_code == 200
    message = error_beside(response, "discharged_at")
    assert message.startswith("Too early to discharge: 30 minutes of observation remain, until ")
    assert "(Intramuscular (IM) injection: at least 60 minutes after the last dose (given " in message
    assert message.endswith("Record a discharge override with the clinical reason on the vitals page, or discharge later.")
    assert fresh(DosingSession, sid).discharged_at is None
    # The vitals page says the same, with the override form.
    shown = clinic.get(clinic.medical, f"/sessions/{sid}/vitals")
    assert "Discharge is not safe yet" in page(shown) and "Too early to discharge" in page(shown)
    assert 'value="discharge"' in raw(shown)


def test_discharge_without_a_discharge_reading_is_refused(clinic, sid):
    clinic.reading(sid, timepoint="baseline", at=-100)
    assert dose(clinic, sid, at=-90).status_code == 302
    clinic.reading(sid, "122/78", at=-10, timepoint="post")
    response = clinic.discharge(sid)
    assert response.status_code == 200
    assert error_beside(response, "discharged_at").startswith(
        "No discharge reading: take a last set of vitals (blood pressure, heart rate, SpO₂) before "
        "the client leaves.")
    assert fresh(DosingSession, sid).discharged_at is None


def test_discharge_with_the_last_reading_high_is_refused(clinic, sid):
    clinic.reading(sid, timepoint="baseline", at=-100)
    assert dose(clinic, sid, at=-90).status_code == 302
    clinic.reading(sid, "184/96", at=-2, timepoint="discharge")
    response = clinic.discharge(sid)
    assert response.status_code == 200
    message = error_beside(response, "discharged_at")
    assert message.startswith("The last reading, 184/96 at ")
    assert "is at or above 180/110: blood pressure is still high" in message
    assert fresh(DosingSession, sid).discharged_at is None


def test_a_discharge_override_with_a_reason_allows_it(clinic, sid):
    clinic.reading(sid, timepoint="baseline", at=-45)
    assert dose(clinic, sid, at=-30).status_code == 302
    clinic.reading(sid, "122/78", at=-1, timepoint="discharge")
    assert clinic.discharge(sid).status_code == 200
    response = clinic.override(sid, "discharge", "Alert and steady; escort present; physician agrees.")
    assert response.status_code == 302
    [override] = db.session.scalars(select(SafetyOverride))
    assert override.kind.value == "discharge" and override.rules == "discharge_too_early"
    assert override.reason == "Alert and steady; escort present; physician agrees."
    [event] = audit("override", AuditAction.CREATE, override.id)
    assert event.detail == "discharge: discharge_too_early"
    assert event.client_id == clinic.course_of(sid).client_id
    response = clinic.discharge(sid)
    assert response.status_code == 302, error_beside(response, "discharged_at")
    assert fresh(DosingSession, sid).discharged_at == clinic.utc(0)
    assert "Discharged despite a discharge rule" in page(clinic.get(clinic.supervisor, f"/sessions/{sid}/vitals"))


def test_a_discharge_override_covers_only_the_rules_it_names(clinic, sid):
    """An override for leaving early does not let the client leave with a high blood pressure."""
    clinic.reading(sid, timepoint="baseline", at=-45)
    assert dose(clinic, sid, at=-30).status_code == 302
    clinic.reading(sid, "122/78", at=-2, timepoint="discharge")
    assert clinic.override(sid, "discharge", "Escort must leave; physician agrees.").status_code == 302
    assert db.session.scalar(select(SafetyOverride.rules)) == "discharge_too_early"
    clinic.reading(sid, "186/100", at=-1, timepoint="discharge")
    response = clinic.discharge(sid)
    assert response.status_code == 200
    assert "The last reading, 186/100 at " in error_beside(response, "discharged_at")
    assert fresh(DosingSession, sid).discharged_at is None
    shown = page(clinic.get(clinic.medical, f"/sessions/{sid}/vitals"))
    assert "Discharge is not safe yet:" in shown and "(overridden)" not in shown
    # A second override, naming the high reading, is the way on.
    assert clinic.override(sid, "discharge", "Rechecked at rest: 150/88; physician reviewed.").status_code == 302
    assert clinic.discharge(sid).status_code == 302


def test_a_discharge_override_is_refused_when_nothing_blocks(clinic, sid):
    clinic.reading(sid, timepoint="baseline", at=-100)
    assert dose(clinic, sid, at=-90).status_code == 302
    clinic.reading(sid, "122/78", at=-2, timepoint="discharge")
    response = clinic.override(sid, "discharge")
    assert response.status_code == 400
    assert error_beside(response, "kind") == "Nothing to override: no rule blocks this step now."
    assert count(SafetyOverride) == 0


@pytest.mark.clock_matrix  # gaps between readings and times on the page
def test_a_compliant_discharge_needs_no_override(clinic, sid):
    clinic.reading(sid, timepoint="baseline", at=-100)
    assert dose(clinic, sid, at=-90).status_code == 302
    clinic.reading(sid, "130/84", at=-40)
    clinic.reading(sid, "122/78", at=-2, timepoint="discharge")
    response = clinic.discharge(sid)
    assert response.status_code == 302, error_beside(response, "discharged_at")
    stored = fresh(DosingSession, sid)
    assert stored.discharged_at == clinic.utc(0) and count(SafetyOverride) == 0
    shown = clinic.get(clinic.medical, f"/sessions/{sid}/vitals")
    assert "Discharge is not safe yet" not in page(shown)


@pytest.mark.clock_matrix  # gaps between readings and times on the page
def test_a_discharge_time_that_meets_the_observation_is_accepted_later_on(clinic, sid):
    """Discharge at a typed time is judged at that time, not at the time it is typed."""
    clinic.reading(sid, timepoint="baseline", at=-100)
    assert dose(clinic, sid, at=-90).status_code == 302
    clinic.reading(sid, "122/78", at=-20, timepoint="discharge")
    early = clinic.edit(clinic.medical, sid, ended_at=clinic.at(-40), discharged_at=clinic.at(-40))
    assert error_beside(early, "discharged_at").startswith("Too early to discharge: 10 minutes")
    assert clinic.edit(clinic.medical, sid, ended_at=clinic.at(-20), discharged_at=clinic.at(-20)).status_code == 302


def test_the_observation_follows_the_setting(clinic, sid):
    _change(clinic, "vitals.observation_minutes_im", 120, minutes_ago=200)
    clinic.reading(sid, timepoint="baseline", at=-100)
    assert dose(clinic, sid, at=-90).status_code == 302
    clinic.reading(sid, "122/78", at=-2, timepoint="discharge")
    response = clinic.discharge(sid)
    assert error_beside(response, "discharged_at").startswith("Too early to discharge: 30 minutes")


# --- chart -------------------------------------------------------------------------------------


def _svg(response) -> str:
    match = re.search(r"<svg[^>]*>.*?</svg>", raw(response), re.S)
    assert match, "no chart"
    return match.group(0)


def test_the_chart_on_the_vitals_and_session_pages(clinic, sid):
    assert "<svg" not in raw(clinic.get(clinic.medical, f"/sessions/{sid}/vitals"))
    clinic.reading(sid, "130/85", 72, timepoint="baseline", at=-50)
    before_dose = _svg(clinic.get(clinic.medical, f"/sessions/{sid}/vitals"))
    assert 'class="dose-mark"' not in before_dose
    assert dose(clinic, sid, at=-45).status_code == 302
    clinic.reading(sid, "150/95", 80, at=-30)
    clinic.reading(sid, "140/90", 76, at=-15)
    wrong = clinic.reading(sid, "240/150", 76, at=-10)
    clinic.mark_in_error(wrong.id)
    clinic.reading(sid, "125/80", 70, at=0, timepoint="discharge")

    for url in (f"/sessions/{sid}/vitals", f"/sessions/{sid}"):
        response = clinic.get(clinic.therapist, url)
        svg = _svg(response)
        polylines = re.findall(r'<polyline class="([^"]+)"[^>]*? points="([^"]*)"', svg)
        assert [css for css, _ in polylines] == ["line-systolic", "line-diastolic", "line-heart"]
        assert all(len(points.split()) == 4 for _, points in polylines)  # the one in error is left out
        for css in ("band-caution", "band-hold", "band-alert", "band-critical"):
            assert f'<rect class="{css}"' in svg
        assert svg.count('class="dose-mark"') == 1
        assert "4 readings from" in svg and "highest 150/95 mmHg" in svg
        assert "Systolic 150 at" in svg
        # The readings table, with the one in error marked.
        assert "240/150" in page(response) and "125/80" in page(response)


def test_the_chart_follows_the_thresholds(clinic, sid):
    _change(clinic, "vitals.hold_systolic", 150, minutes_ago=10)
    clinic.reading(sid, "120/80", timepoint="baseline")
    svg = _svg(clinic.get(clinic.medical, f"/sessions/{sid}/vitals"))
    assert "hold 150+" in svg and "caution 140+" in svg and "alert 180+" in svg and "critical 200+" in svg


# --- query budget ------------------------------------------------------------------------------


def test_the_vitals_page_runs_the_same_queries_for_3_or_30_readings(clinic, make_user, count_queries):
    """The same statements whatever the number of readings, and whoever took them."""
    nurses = [clinic.medical, make_user("medical"), make_user("medical")]
    few, many = medicine(clinic, "im", opened=-200), medicine(clinic, "im", opened=-200)
    for session_id, n in ((few, 3), (many, 30)):
        # Each: a held baseline, its override and the dose; a reading marked in error (its
        # critical alert acknowledged with it); a low SpO2 left open.
        clinic.reading(session_id, "165/95", timepoint="baseline", at=-190)
        assert clinic.override(session_id).status_code == 302
        assert dose(clinic, session_id, at=-185).status_code == 302
        for i in range(n - 3):
            clinic.reading(session_id, f"{125 + i % 7}/{80 + i % 5}", 70 + i % 9, at=-180 + i * 6,
                           user=nurses[i % 3])
        high = clinic.reading(session_id, "205/100", at=-2)
        assert clinic.mark_in_error(high.id, "Cuff too small.").status_code == 302
        clinic.reading(session_id, "120/80", 70, 89, at=-1)
    assert [count(VitalSign, VitalSign.session_id == s) for s in (few, many)] == [3, 30]
    http = clinic.http(clinic.supervisor)
    counts = []
    for session_id in (few, many, few):
        # A request starts with an empty identity map, as in production: nothing loaded by the
        # test (or an earlier request) hides a lazy load.
        db.session.remove()
        with count_queries() as counted:
            response = http.get(f"/sessions/{session_id}/vitals")
        assert response.status_code == 200
        counts.append(counted.n)
    assert counts[0] == counts[1] == counts[2], counts
    assert counts[0] <= 16, counts


def test_today_runs_the_same_queries_for_one_or_four_sessions(clinic, make_user, count_queries):
    def add_session():
        session_id = medicine(clinic, "im", opened=-60)
        clinic.reading(session_id, timepoint="baseline", at=-50)
        assert dose(clinic, session_id, at=-45).status_code == 302
        clinic.reading(session_id, "205/100", at=-30)
        return session_id

    http = clinic.http(clinic.medical)
    counts = []
    for n in (1, 4):
        while count(DosingSession) < n:
            add_session()
        db.session.expire_all()  # nothing loaded earlier spares a query
        with count_queries() as counted:
            response = http.get("/today")
        assert response.status_code == 200 and raw(response).count("1 open") == n
        counts.append(counted.n)
    assert counts[0] == counts[1], counts


# --- audit -------------------------------------------------------------------------------------


def test_each_action_is_audited_with_the_client(clinic, sid):
    client_id = clinic.course_of(sid).client_id
    reading = clinic.reading(sid, "170/95", timepoint="baseline", at=-5)
    [created] = audit("vitals", AuditAction.CREATE, reading.id)
    assert created.client_id == client_id and created.user_id == clinic.medical.id
    assert created.detail == f"session {sid}; 1 alert(s) raised"

    assert clinic.override(sid).status_code == 302
    override = db.session.scalar(select(SafetyOverride))
    [overridden] = audit("override", AuditAction.CREATE, override.id)
    assert overridden.client_id == client_id and overridden.user_id == clinic.medical.id

    [alert] = alerts_of(sid)
    assert clinic.acknowledge(alert.id, user=clinic.supervisor).status_code == 302
    [acknowledged] = audit("alert", AuditAction.UPDATE, alert.id)
    assert acknowledged.client_id == client_id and acknowledged.user_id == clinic.supervisor.id

    assert clinic.mark_in_error(reading.id, "Wrong client's cuff.").status_code == 302
    [marked] = audit("vitals", AuditAction.UPDATE, reading.id)
    assert marked.client_id == client_id and marked.detail == "entered in error; 1 alert(s) withdrawn"
    assert "Wrong client" not in marked.detail

    clinic.get(clinic.therapist, f"/sessions/{sid}/vitals")
    viewed = audit("vitals", AuditAction.VIEW, sid)
    assert viewed and viewed[-1].client_id == client_id and viewed[-1].user_id == clinic.therapist.id


def test_a_refused_reading_is_not_audited_as_created(clinic, sid):
    clinic.vitals(sid, "300/80")
    assert audit("vitals", AuditAction.CREATE) == []


# --- readings typed out of order -----------------------------------------------------------------
# The same readings typed in three orders (a nurse types one a few minutes late, a paper reading
# is entered afterwards) give the same alerts, the same last reading, the same next due and the
# same discharge decision: everything follows the time each was taken.

TYPED = {  # label: (blood pressure, pulse, minutes from now, timepoint)
    "a": ("182/100", 80, -40, "during"),
    "b": ("120/80", 76, -38, "during"),
    "c": ("184/104", 82, -33, "during"),
    "d": ("130/82", 72, -25, "during"),
    "e": ("125/80", 70, -20, "discharge"),
    "f": ("186/100", 78, -12, "during"),
}
TYPED_ORDERS = {"as taken": "abcdef", "reversed": "fedcba", "paper ones last": "cfeadb"}


def _today_row(clinic, sid) -> str:
    response = clinic.get(clinic.medical, "/today")
    match = re.search(rf'<tr>\s*<td data-label="Client"><a href="/sessions/{sid}/vitals">(.*?)</tr>', raw(response), re.S)
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", match.group(1)))).strip()


@pytest.mark.parametrize("order", TYPED_ORDERS.values(), ids=TYPED_ORDERS.keys())
def test_readings_typed_out_of_order_give_the_same_alerts_last_reading_and_schedule(clinic, sid, order):
    clinic.reading(sid, timepoint="baseline", at=-100)
    assert dose(clinic, sid, at=-90).status_code == 302
    ids = {}
    for label in order:
        bp, pulse, minutes, timepoint = TYPED[label]
        ids[label] = clinic.reading(sid, bp, pulse, at=minutes, timepoint=timepoint).id
    label_of = {v: k for k, v in ids.items()}

    # Alerts: the sustained pairs by time, whichever reading was typed first.
    opened = sorted((a.rule, label_of[a.vital_sign_id], label_of[a.paired_vital_sign_id])
                    for a in alerts_of(sid) if a.is_open)
    assert opened == [("sustained_high_bp", "c", "a"), ("sustained_high_bp", "f", "c")]
    messages = {label_of[a.vital_sign_id]: a.message for a in alerts_of(sid)}
    assert messages["c"].startswith(f"Systolic 182 at {clinic.at(-40)[-5:]} and 184 at {clinic.at(-33)[-5:]} ")
    assert messages["f"].startswith(f"Systolic 184 at {clinic.at(-33)[-5:]} and 186 at {clinic.at(-12)[-5:]} ")
    # The last reading is the one taken last; the next is due 15 minutes after it.
    row = _today_row(clinic, sid)
    assert f"186/100, pulse 78 at {clinic.at(-12)[-5:]}" in row
    assert row.endswith(f"{clinic.at(3)[-5:]} 2 open") and "overdue" not in row
    shown = page(clinic.get(clinic.medical, f"/sessions/{sid}/vitals"))
    assert f"Next reading due {clinic.at(3)[-5:]}" in shown
    latest = section(clinic.get(clinic.medical, f"/sessions/{sid}/vitals"), "h-latest")
    assert latest.index("186/100") < latest.index("125/80") < latest.index("130/82")
    # Discharge: the discharge reading counts (taken after the dose), the last reading is high.
    response = clinic.discharge(sid)
    assert error_beside(response, "discharged_at").startswith(
        f"The last reading, 186/100 at {clinic.at(-12)[-5:]}, is at or above 180/110")
    assert "No discharge reading" not in error_beside(response, "discharged_at")

    # Marking the last-taken reading in error: the one taken before it is now the last.
    assert clinic.mark_in_error(ids["f"]).status_code == 302
    assert sorted((a.rule, label_of[a.vital_sign_id]) for a in alerts_of(sid) if a.is_open) == [
        ("sustained_high_bp", "c")]
    row = _today_row(clinic, sid)
    assert f"125/80, pulse 70 at {clinic.at(-20)[-5:]}" in row and "overdue" in row  # due at -5
