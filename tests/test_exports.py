"""CSV exports: the caseload and a course's vitals. Scoped, audited, safe to open in a
spreadsheet, and a fixed number of queries whatever the caseload."""

from __future__ import annotations

import csv
import datetime as dt
import io

import pytest
from sqlalchemy import select

from kaptracker import clock
from tests import factories
from kaptracker.exports.tables import csv_text, filename_part, safe_cell
from kaptracker.extensions import db
from kaptracker.models import (
    AuditAction,
    AuditEvent,
    ClientStatus,
    Course,
    DosingSession,
    PreparationSession,
    SafetyAlert,
    VitalSign,
    utcnow,
)
from kaptracker.rules.dosing import Route
from kaptracker.rules.phases import EndReason
from kaptracker.rules.vitals import Level, Timepoint

# An export states its purpose and recipient first (the accounting of disclosures).
EXPORT = {"purpose": "treatment", "recipient": "Dr Imani Osei, Riverside Psychiatry"}

ZONE = "Pacific/Auckland"  # far from UTC, so a time left in UTC shows


def read_csv(response) -> list[dict]:
    assert response.status_code == 200, response.status_code
    assert response.mimetype == "text/csv"
    text = response.get_data().decode("utf-8-sig")
    return list(csv.DictReader(io.StringIO(text)))


def _course(client, therapist, *, open_=True, route=Route.IM, planned=4, started=None):
    course = Course(client_id=client.id, planned_route=route, planned_medicine_sessions=planned,
                    goals="Goals", started_on=started or clock.today(), created_by_id=therapist.id)
    if not open_:
        course.end_reason, course.ended_on = EndReason.DISCONTINUED, course.started_on + dt.timedelta(days=9)
    db.session.add(course)
    db.session.flush()
    return course


def _dosing(course, medical, at, route=Route.IM):
    session = DosingSession(course_id=course.id, author_id=medical.id, occurred_at=at, started_at=at, route=route)
    db.session.add(session)
    db.session.flush()
    return session


def _reading(session, user, at, timepoint, systolic, diastolic, heart_rate, spo2=None, error=None):
    vital = VitalSign(session_id=session.id, taken_at=at, timepoint=timepoint, systolic=systolic,
                      diastolic=diastolic, heart_rate=heart_rate, spo2=spo2, recorded_by_id=user.id)
    if error:
        vital.entered_in_error_at, vital.entered_in_error_by_id, vital.error_reason = at, user.id, error
    db.session.add(vital)
    db.session.flush()
    return vital


@pytest.fixture
def exported(app, make_user, make_client):
    admin = make_user("admin")
    factories.move_clinic(ZONE, admin)
    therapist, other, medical = make_user("therapist", name="Thera Pist"), make_user("therapist"), make_user("medical")
    mine = make_client(therapist, family_name="=HYPERLINK(\"http://x\")", given_name="Eve")
    quiet = make_client(therapist, status=ClientStatus.REFERRED)
    theirs = make_client(other)
    old = _course(mine, therapist, open_=False, route=Route.IV, started=dt.date(2025, 1, 1))
    course = _course(mine, therapist, route=Route.LOZENGE, planned=3)
    at = dt.datetime(2026, 3, 1, 21, 30, tzinfo=dt.UTC)  # 2 March 10:30 in Auckland
    dosing = _dosing(course, medical, at, Route.LOZENGE)
    base = _reading(dosing, medical, at - dt.timedelta(minutes=10), Timepoint.BASELINE, 130, 85, 70, 98)
    _reading(dosing, medical, at + dt.timedelta(minutes=15), Timepoint.DURING, 215, 85, 72,
             error="-cuff slipped, =re-taken")
    high = _reading(dosing, medical, at + dt.timedelta(minutes=16), Timepoint.DURING, 205, 100, 88, 97)
    db.session.add_all([
        SafetyAlert(session_id=dosing.id, vital_sign_id=high.id, rule="critical_bp", level=Level.CRITICAL,
                    message="Systolic 205"),
        SafetyAlert(session_id=dosing.id, vital_sign_id=base.id, rule="caution_bp", level=Level.CAUTION,
                    message="Caution", acknowledged_at=utcnow(), acknowledged_by_id=medical.id),
    ])
    prep = PreparationSession(course_id=course.id, author_id=therapist.id, note="p",
                              occurred_at=at - dt.timedelta(days=3))
    db.session.add(prep)
    db.session.flush()
    _reading(prep, therapist, at - dt.timedelta(days=3), Timepoint.BASELINE, 120, 80, 66)
    db.session.commit()
    return {"therapist": therapist, "other": other, "medical": medical, "mine": mine, "quiet": quiet,
            "theirs": theirs, "course": course, "old": old, "dosing": dosing, "at": at}


# --- the caseload ---------------------------------------------------------------------------


def test_a_therapists_caseload_has_their_clients_only(exported, client, login):
    login(exported["therapist"])
    rows = read_csv(client.post("/exports/caseload.csv", data=EXPORT))
    assert {r["Record number"] for r in rows} == {exported["mine"].record_number, exported["quiet"].record_number}
    row = next(r for r in rows if r["Record number"] == exported["mine"].record_number)
    course = db.session.get(Course, exported["course"].id)
    assert row == {
        "Record number": exported["mine"].record_number,
        "Client": 'Eve =HYPERLINK("http://x")',
        "Therapist": "Thera Pist",
        "Status": "In treatment",
        "Course phase": course.phase.label,  # the open course, not the older discontinued one
        "Planned route": "Lozenge / troche (sublingual)",
        "Medicine sessions given": "1",
        "Medicine sessions planned": "3",
        "Last contact (clinic time)": "2026-03-02 10:30",  # Auckland, not UTC
        "Open safety alerts": "1",  # the acknowledged one is not counted
    }
    quiet = next(r for r in rows if r["Record number"] == exported["quiet"].record_number)
    assert (quiet["Course phase"], quiet["Planned route"], quiet["Medicine sessions given"],
            quiet["Last contact (clinic time)"], quiet["Open safety alerts"]) == ("", "", "", "", "0")


def test_the_latest_course_stands_in_when_none_is_open(exported, client, login):
    course = db.session.get(Course, exported["course"].id)
    course.end_reason, course.ended_on = EndReason.COMPLETED, clock.today()
    db.session.commit()
    login(exported["therapist"])
    rows = read_csv(client.post("/exports/caseload.csv", data=EXPORT))
    row = next(r for r in rows if r["Record number"] == exported["mine"].record_number)
    assert (row["Course phase"], row["Planned route"]) == ("Completed", "Lozenge / troche (sublingual)")


def test_a_supervisor_exports_every_client(exported, client, login, make_user):
    login(make_user("supervisor"))
    rows = read_csv(client.post("/exports/caseload.csv", data=EXPORT))
    assert len(rows) == 3


@pytest.mark.parametrize("role", ["medical", "admin"])
def test_medical_staff_and_admins_do_not_export_the_caseload(role, exported, client, login, make_user):
    login(make_user(role))
    assert client.post("/exports/caseload.csv", data=EXPORT).status_code == 403


def test_a_formula_in_a_name_is_written_as_text(exported, client, login):
    login(exported["therapist"])
    rows = read_csv(client.post("/exports/caseload.csv", data=EXPORT))
    row = next(r for r in rows if r["Record number"] == exported["mine"].record_number)
    assert row["Client"] == "Eve =HYPERLINK(\"http://x\")"  # full name starts with the given name
    # A name that starts the cell: guarded.
    assert safe_cell(exported["mine"].family_name) == "'=HYPERLINK(\"http://x\")"


@pytest.mark.parametrize("text", ["=1+1", "+1", "-2+3", "@SUM(A1)", "\t=1", "\r=1"])
def test_cells_that_would_run_as_formulas_get_an_apostrophe(text):
    assert safe_cell(text) == "'" + text
    [header, row] = list(csv.reader(io.StringIO(csv_text(["a"], [[text]]).lstrip("\ufeff"))))
    assert row == ["'" + text]


@pytest.mark.parametrize("value, cell", [("Smith", "Smith"), ("", ""), (None, ""), (0, 0), (120, 120),
                                         (True, "yes"), (False, "no"), ("a=b", "a=b")])
def test_ordinary_cells_are_left_alone(value, cell):
    assert safe_cell(value) == cell


def test_file_names_carry_no_names():
    assert filename_part("KAP-0001") == "KAP-0001"
    assert filename_part('../"x y"') == "x_y"
    assert filename_part("///") == "record"


def test_the_caseload_download_is_audited_per_client_without_names(exported, client, login):
    login(exported["therapist"])
    response = client.post("/exports/caseload.csv", data=EXPORT)
    disposition = response.headers["Content-Disposition"]
    assert disposition.startswith('attachment; filename="caseload-') and disposition.endswith('.csv"')
    assert "no-store" in response.headers["Cache-Control"]
    events = db.session.scalars(select(AuditEvent).where(AuditEvent.action == AuditAction.EXPORT)
                                .order_by(AuditEvent.id)).all()
    assert [(e.record_type, e.client_id) for e in events] == [
        ("caseload", None), ("client", exported["mine"].id), ("client", exported["quiet"].id)]
    assert events[0].detail == "caseload CSV: 2 clients; purpose treatment"
    for e in events:
        assert e.user_id == exported["therapist"].id
        assert "Eve" not in e.detail and "HYPERLINK" not in e.detail


def test_the_caseload_query_count_does_not_grow(make_user, make_client, client, login, count_queries):
    supervisor, medical = make_user("supervisor"), make_user("medical")
    counts = []
    for size in (3, 30):
        therapist = make_user("therapist")
        for i in range(size):
            c = make_client(therapist)
            course = _course(c, therapist, open_=i % 3 != 0)
            session = _dosing(course, medical, utcnow() - dt.timedelta(days=i))
            vital = _reading(session, medical, utcnow() - dt.timedelta(days=i), Timepoint.BASELINE, 205, 90, 70)
            db.session.add(SafetyAlert(session_id=session.id, vital_sign_id=vital.id, rule="critical_bp",
                                       level=Level.CRITICAL, message="Systolic 205"))
        db.session.commit()
        for who in (therapist, supervisor):
            login(who)
            with count_queries() as counted:
                rows = read_csv(client.post("/exports/caseload.csv", data=EXPORT))
            counts.append(counted.n)
            client.post("/logout")
        assert rows
    assert counts[0] == counts[2] and counts[1] == counts[3], counts
    assert max(counts) <= 10, counts
    print(f"caseload CSV: {counts} queries (therapist 3, supervisor 3, therapist 30, supervisor 33)")


# --- a course's vitals ------------------------------------------------------------------------


def test_a_courses_vitals_in_order_in_clinic_time_with_errors_flagged(exported, client, login):
    login(exported["therapist"])
    response = client.post(f"/courses/{exported['course'].id}/vitals.csv", data=EXPORT)
    rows = read_csv(response)
    assert response.headers["Content-Disposition"] == f'attachment; filename="course-{exported["course"].id}-vitals.csv"'
    assert [r["Session kind"] for r in rows] == ["Preparation session"] + ["Medicine session"] * 3
    first, baseline, wrong, high = rows
    assert baseline == {
        "Session id": str(exported["dosing"].id),
        "Session date": "2026-03-02",
        "Session kind": "Medicine session",
        "Taken at (clinic time)": "2026-03-02 10:20",
        "Timepoint": "Baseline (before the dose)",
        "Systolic (mmHg)": "130",
        "Diastolic (mmHg)": "85",
        "Heart rate (/min)": "70",
        "SpO2 (%)": "98",
        "Recorded by": exported["medical"].name,
        "Entered in error": "no",
        "Error reason": "",
    }
    assert (wrong["Entered in error"], wrong["Error reason"]) == ("yes", "'-cuff slipped, =re-taken")
    assert first["SpO2 (%)"] == ""
    assert high["Systolic (mmHg)"] == "205"


def test_medical_staff_export_vitals_of_clients_in_treatment(exported, client, login, make_user):
    login(make_user("medical"))
    assert len(read_csv(client.post(f"/courses/{exported['course'].id}/vitals.csv", data=EXPORT))) == 4


def test_vitals_of_another_therapists_course_are_not_found_and_audited(exported, client, login, make_user):
    login(exported["other"])
    assert client.post(f"/courses/{exported['course'].id}/vitals.csv", data=EXPORT).status_code == 404
    assert client.post("/courses/99999999/vitals.csv", data=EXPORT).status_code == 404
    denied = db.session.scalars(select(AuditEvent).where(AuditEvent.action == AuditAction.DENIED)).all()
    assert [(e.record_type, e.record_id) for e in denied] == [("course", exported["course"].id), ("course", 99999999)]
    client.post("/logout")
    login(make_user("admin"))
    assert client.post(f"/courses/{exported['course'].id}/vitals.csv", data=EXPORT).status_code == 403


def test_the_vitals_export_is_audited(exported, client, login):
    login(exported["medical"])
    client.post(f"/courses/{exported['course'].id}/vitals.csv", data=EXPORT)
    [event] = db.session.scalars(select(AuditEvent).where(AuditEvent.action == AuditAction.EXPORT)).all()
    assert (event.record_type, event.record_id, event.client_id) == ("course", exported["course"].id, exported["mine"].id)
    assert event.detail == f"vitals CSV of course {exported['course'].id}: 4 readings of 2 sessions; purpose treatment"


def test_a_course_without_readings_gives_the_header_only(exported, client, login):
    login(exported["therapist"])
    response = client.post(f"/courses/{exported['old'].id}/vitals.csv", data=EXPORT)
    assert read_csv(response) == []
    assert response.get_data().decode("utf-8-sig").startswith("Session id,Session date,")


def test_the_vitals_query_count_does_not_grow(exported, client, login, count_queries):
    login(exported["medical"])
    with count_queries() as small:
        client.post(f"/courses/{exported['course'].id}/vitals.csv", data=EXPORT)
    for i in range(10):
        session = _dosing(exported["course"], exported["medical"], exported["at"] + dt.timedelta(days=i + 1))
        for minute in (0, 15, 30):
            _reading(session, exported["medical"], session.started_at + dt.timedelta(minutes=minute),
                     Timepoint.DURING, 140, 90, 80, 97)
    db.session.commit()
    with count_queries() as large:
        assert len(read_csv(client.post(f"/courses/{exported['course'].id}/vitals.csv", data=EXPORT))) == 34
    assert small.n == large.n <= 8, (small.n, large.n)
    print(f"vitals CSV: {large.n} queries")

