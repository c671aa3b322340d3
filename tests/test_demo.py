"""The demo clinic (`flask seed-demo`): treatment courses in every phase, recorded as the app would."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
import zoneinfo

import pytest
from sqlalchemy import select

from kaptracker import settings
from kaptracker.courses import service
from kaptracker.extensions import db
from kaptracker.models import (
    Addendum,
    Client,
    ClientStatus,
    ClinicalSession,
    Course,
    DosingSession,
    IntegrationSession,
    OverrideKind,
    PreparationSession,
    SafetyAlert,
    Screening,
    User,
    VitalSign,
    utcnow,
)
from kaptracker.rules import dosing, phases
from kaptracker.rules import settings as setting_rules
from kaptracker.rules.access import Role
from kaptracker.rules.screening import Decision, decision_problems
from kaptracker.rules.vitals import Level, Timepoint
from kaptracker.vitals import service as vitals_service

DEMO_PASSWORD = "demo passphrase 1"


@pytest.fixture
def demo(runner):
    result = runner.invoke(args=["seed-demo", "--password", DEMO_PASSWORD])
    assert result.exit_code == 0, result.output
    courses = db.session.scalars(select(Course).order_by(Course.id)).all()
    sessions = {course.id: service.load_course_sessions(course) for course in courses}
    return courses, sessions


def test_every_phase_and_an_overdue_integration(demo):
    courses, sessions = demo
    due_days = setting_rules.defaults()["integration.due_days"]
    assert due_days == 7
    now = utcnow()
    seen, overdue = set(), []
    for course in courses:
        facts = service.facts(course, sessions[course.id])
        seen.add(phases.phase(facts))
        overdue += phases.overdue_integrations(facts, now, due_days)
    assert seen == set(phases.Phase)
    assert overdue

    # The states behind the phases: screening pending, not eligible, deferred, ready to dose.
    screenings = [s for ss in sessions.values() for s in ss if isinstance(s, Screening)]
    assert any(not s.is_signed for s in screenings)
    decisions = {s.decision for s in screenings if s.is_signed}
    assert decisions == set(Decision)
    reasons = {c.end_reason for c in courses}
    assert {phases.EndReason.COMPLETED, phases.EndReason.DISCONTINUED} <= reasons
    # Between medicine sessions by every route.
    between = {c.planned_route for c in courses
               if phases.phase(service.facts(c, sessions[c.id])) is phases.Phase.MEDICINE
               and any(isinstance(s, DosingSession) for s in sessions[c.id])}
    assert between == set(dosing.Route)

    # Roughly two thirds of the clients have a course; the rest are referred and have none.
    clients = db.session.scalars(select(Client)).all()
    with_course = {c.client_id for c in courses}
    assert 18 <= len(with_course) <= 22
    for client in clients:
        own = [c for c in courses if c.client_id == client.id]
        if not own:
            assert client.status is ClientStatus.REFERRED
        elif any(c.is_open for c in own):
            assert client.status is ClientStatus.ACTIVE
        elif own[-1].end_reason is phases.EndReason.COMPLETED:
            assert client.status is ClientStatus.DISCHARGED


def test_doses_follow_the_arithmetic_and_the_ranges(demo):
    courses, sessions = demo
    dosings = [s for ss in sessions.values() for s in ss if isinstance(s, DosingSession)]
    assert {s.route for s in dosings} == set(dosing.Route)
    assert any(len(s.administrations) > 1 for s in dosings if s.route is dosing.Route.LOZENGE)  # a booster
    out_of_range = 0
    in_progress = [s for s in dosings if s.discharged_at is None]
    assert len(in_progress) == 1 and not in_progress[0].is_signed and in_progress[0].ended_at is None
    for session in dosings:
        assert session.administrations
        for a in session.administrations:
            if session.route is dosing.Route.LOZENGE:
                assert a.dose_mg == dosing.lozenge_mg(a.strength_mg, a.count)
                assert a.hold_minutes and a.swallowed is not None
            else:
                assert a.dose_mg == dosing.weight_based_mg(session.weight_kg, a.mg_per_kg)
                assert (a.injection_site is not None) == (session.route is dosing.Route.IM)
                assert (a.infusion_minutes == 40) == (session.route is dosing.Route.IV)
            assert session.started_at <= a.given_at <= (session.ended_at or utcnow())
        check = dosing.check_total(session.route, session.total_mg, session.weight_kg,
                                   dosing.default_ranges()[session.route],
                                   prescribed_mg=sum((service.prescribed_mg(a, session.weight_kg)
                                                      for a in session.administrations), Decimal(0)))
        if not check.in_range:
            out_of_range += 1
            assert (session.dose_reason or "").strip(), check.message
        # Times: a session starts when it occurs, lasts 75-120 minutes, and discharge follows.
        assert session.started_at == session.occurred_at
        if session in in_progress:
            assert session.dissociation is not None and session.escort_name
            continue
        assert dt.timedelta(minutes=75) <= session.ended_at - session.started_at <= dt.timedelta(minutes=120)
        assert session.discharged_at > session.ended_at
        assert session.escort_name and session.discharge_criteria
        assert session.dissociation is not None and session.sedation is not None
    assert out_of_range >= 1


def test_notes_are_written_and_signed_by_the_right_people(demo):
    courses, sessions = demo
    users = {u.id: u for u in db.session.scalars(select(User))}
    now = utcnow()
    zone = zoneinfo.ZoneInfo(settings.get("clinic.timezone"))
    for course in courses:
        therapist_id = course.client.therapist_id
        for s in sessions[course.id]:
            assert s.occurred_at < now
            in_progress = isinstance(s, DosingSession) and s.discharged_at is None  # started an hour ago
            if not in_progress:
                assert 8 <= s.occurred_at.astimezone(zone).hour < 18 and s.occurred_at.astimezone(zone).weekday() < 5
            assert course.started_on <= s.occurred_at.astimezone(zone).date()
            if isinstance(s, Screening):
                assert s.author_id == therapist_id
                if s.is_signed:
                    assert users[s.signed_by_id].role is Role.MEDICAL
                    assert decision_problems(s.decision, s.contraindications, rationale=s.decision_rationale,
                                             medical_clearance=s.medical_clearance,
                                             safety_plan=s.safety_plan) == {}
                else:
                    assert s.decision is None
            elif isinstance(s, DosingSession):
                assert users[s.author_id].role is Role.MEDICAL and s.administered_by_id == s.author_id
                assert s.therapist_present_id == therapist_id
                assert all(a.recorded_by_id == s.author_id for a in s.administrations)
                assert not s.is_signed or s.signed_by_id == s.author_id
            else:
                assert isinstance(s, PreparationSession | IntegrationSession)
                assert s.author_id == therapist_id and s.note.strip()
                assert not s.is_signed or s.signed_by_id == therapist_id
            if s.is_signed:
                assert s.occurred_at < s.signed_at < now
            if s.cosigned_at is not None:
                assert users[s.cosigned_by_id].role is Role.SUPERVISOR
                assert s.signed_at < s.cosigned_at < now
            for addendum in s.addenda:
                assert s.is_signed and s.signed_at < addendum.created_at <= now
        screening = next(s for s in sessions[course.id] if isinstance(s, Screening))
        later = [s for s in sessions[course.id] if not isinstance(s, Screening)]
        assert all(screening.occurred_at < s.occurred_at for s in later)
        if any(isinstance(s, DosingSession) for s in later):  # decided before the first medicine session
            assert screening.signed_at < min(s.occurred_at for s in later if isinstance(s, DosingSession))
        if not course.is_open:  # an ended course: every note signed, every medicine session integrated
            facts = service.facts(course, sessions[course.id])
            assert course.end_note and facts.unsigned_notes == 0
            if course.end_reason is phases.EndReason.COMPLETED:
                assert phases.completion_blockers(facts) == [f"The course is already {course.end_reason.value}."]
                assert all(m.integrated for m in facts.medicine_sessions)

    every = [s for ss in sessions.values() for s in ss]
    assert any(not s.is_signed for s in every)
    assert sum(1 for s in every if s.cosigned_at is not None) >= 3
    assert db.session.scalar(select(Addendum).limit(1)) is not None
    assert len({a.session_id for a in db.session.scalars(select(Addendum))}) >= 2
    eligible = [s for s in every if isinstance(s, Screening) and s.decision is Decision.ELIGIBLE and s.is_signed]
    assert any(s.contraindications and s.medical_clearance for s in eligible)  # absolute, cleared
    assert sum(1 for s in eligible if s.contraindications and not s.medical_clearance) >= 2  # relative


def test_signed_demo_notes_are_locked(demo):
    """The demo signs as the app does, so the database's lock holds for its notes too."""
    signed = db.session.scalar(select(ClinicalSession).where(ClinicalSession.signed_at.is_not(None)).limit(1))
    signed.note = signed.note + " (changed)"
    with pytest.raises(Exception, match="signed session"):
        db.session.flush()
    db.session.rollback()


# --- vital signs ------------------------------------------------------------------------------


def _dosings(sessions):
    return [s for ss in sessions.values() for s in ss if isinstance(s, DosingSession)]


def test_every_medicine_session_has_a_vitals_series_by_route(demo):
    """A baseline before the first dose, readings every 15 minutes (every 10 during an infusion),
    a BP rise peaking around 40 minutes, and a discharge set before discharge."""
    courses, sessions = demo
    dosings = _dosings(sessions)
    routes_with_readings = set()
    rises = []
    for session in dosings:
        vitals = vitals_service.readings_of(session)
        readings = vitals_service.as_rule_readings(vitals)
        times = vitals_service.dose_times(session)
        assert readings, session.id
        routes_with_readings.add(session.route)
        assert all(v.recorded_by_id == session.author_id for v in vitals)  # the medical author
        assert all(session.started_at <= v.taken_at <= v.recorded_at <= utcnow() for v in vitals)
        base = vitals_service.baseline(readings, before=times.first_dose_at)
        assert base is not None and base.taken_at < times.first_dose_at, session.id
        assert all(r.timepoint is Timepoint.BASELINE for r in readings if r.taken_at < times.first_dose_at)
        after = [r for r in readings if r.taken_at > times.first_dose_at]
        assert after and all(r.timepoint is not Timepoint.BASELINE for r in after)
        # No gap longer than the schedule allows: 10 minutes during an IV infusion, 15 otherwise.
        previous = times.first_dose_at
        for r in after:
            infusing = times.infusion_ends_at is not None and previous < times.infusion_ends_at
            assert r.taken_at - previous <= dt.timedelta(minutes=10 if infusing else 15), (session.id, r)
            previous = r.taken_at
        for r in readings:
            assert 50 <= r.heart_rate <= 130 and 92 <= r.spo2 <= 100
            assert 90 <= r.systolic <= 210 and r.systolic - r.diastolic >= 20
        if session.discharged_at is None:  # the session in progress: its last reading is late
            assert session.discharged_at is None and not session.is_signed
            assert utcnow() - after[-1].taken_at > dt.timedelta(minutes=15)
            continue
        assert all(v.taken_at < session.discharged_at for v in vitals)
        discharge = [r for r in readings if r.timepoint is Timepoint.DISCHARGE]
        assert len(discharge) == 1 and discharge[0] == readings[-1]
        assert times.last_dose_at <= discharge[0].taken_at < session.discharged_at
        assert all(r.timepoint is (Timepoint.POST if r.taken_at > session.ended_at else Timepoint.DURING)
                   for r in after[:-1])
        peak = max(after, key=lambda r: r.systolic)
        assert dt.timedelta(minutes=35) <= peak.taken_at - times.first_dose_at <= dt.timedelta(minutes=45)
        assert peak.systolic - base.systolic >= 10
        assert discharge[0].systolic < peak.systolic and discharge[0].systolic <= base.systolic + 10
        rises.append(peak.systolic - base.systolic)
        # The note quotes the readings.
        assert f"peaked at {peak.systolic}/{peak.diastolic}" in session.note
        assert f"was {discharge[0].systolic}/{discharge[0].diastolic} before discharge" in session.note
    assert routes_with_readings == set(dosing.Route)
    assert sum(1 for rise in rises if 10 <= rise <= 25) >= 0.8 * len(rises)


def test_demo_alerts_are_the_ones_the_app_raises(demo):
    """Entering the same readings through the app would store no further alert, and every dose
    went ahead either on a baseline below the hold threshold or with an override."""
    courses, sessions = demo
    users = {u.id: u for u in db.session.scalars(select(User))}
    stored = list(db.session.scalars(select(SafetyAlert)))
    for session in _dosings(sessions):
        vitals = vitals_service.readings_of(session)
        assert vitals_service.record_alerts(session, vitals) == [], session.id
        gate = vitals_service.dose_gate(session, vitals, vitals_service.overrides_of(session))
        assert gate.blocking == [], session.id
    db.session.rollback()
    by_id = {v.id: v for v in db.session.scalars(select(VitalSign))}
    for alert in stored:
        assert by_id[alert.vital_sign_id].session_id == alert.session_id
        assert alert.raised_at >= by_id[alert.vital_sign_id].recorded_at
        if alert.acknowledged_at is not None:
            assert alert.raised_at <= alert.acknowledged_at <= utcnow()
            assert alert.acknowledgement_note.strip()
            assert users[alert.acknowledged_by_id].role is Role.MEDICAL
    rules = {(a.rule, a.acknowledged_at is not None) for a in stored}
    assert {("sustained_high_bp", True), ("critical_bp", True)} <= rules
    assert any(a.level is Level.CRITICAL for a in stored)
    # Left open on a course still running, so the dashboards show it.
    open_courses = {s.id for c in courses if c.is_open for s in sessions[c.id]}
    assert any(a.acknowledged_at is None and a.session_id in open_courses for a in stored)
    assert vitals_service.open_alert_counts_by_client([c.client_id for c in courses if c.is_open])


def test_a_held_baseline_is_dosed_only_after_an_override(demo):
    courses, sessions = demo
    held = []
    for session in _dosings(sessions):
        vitals, overrides = vitals_service.readings_of(session), vitals_service.overrides_of(session)
        gate = vitals_service.dose_gate(session, vitals, overrides)
        if gate.overridden is not None:
            held.append((session, vitals, gate.overridden))
    assert held
    for session, vitals, override in held:
        times = vitals_service.dose_times(session)
        baselines = [v for v in vitals if v.timepoint is Timepoint.BASELINE]
        assert len(baselines) >= 2  # rechecked after rest
        assert baselines[-1].systolic >= 160 or baselines[-1].diastolic >= 100
        assert override.kind is OverrideKind.DOSE_HOLD and "baseline_hold" in override.rules
        assert baselines[-1].recorded_at <= override.created_at < times.first_dose_at
        assert override.created_by_id == session.author_id and len(override.reason) > 80
        assert "rest" in override.reason and "agreed" in override.reason


def test_an_early_discharge_has_an_override_and_every_other_meets_the_rules(demo):
    courses, sessions = demo
    overridden = 0
    for session in _dosings(sessions):
        if session.discharged_at is None:
            continue
        vitals, overrides = vitals_service.readings_of(session), vitals_service.overrides_of(session)
        findings, override = vitals_service.discharge_gate(session, vitals, overrides, session.discharged_at)
        if findings:
            assert override is not None and override.kind is OverrideKind.DISCHARGE, (session.id, findings)
            assert override.created_at <= session.discharged_at and override.reason.strip()
            overridden += 1
    assert overridden >= 1


def test_a_reading_entered_in_error_is_followed_by_the_corrected_one(demo):
    wrong = db.session.scalars(select(VitalSign).where(VitalSign.entered_in_error_at.is_not(None))).all()
    assert wrong
    for reading in wrong:
        assert reading.error_reason.strip() and reading.entered_in_error_by_id == reading.recorded_by_id
        assert reading.recorded_at < reading.entered_in_error_at
        later = [v for v in db.session.scalars(select(VitalSign).where(VitalSign.session_id == reading.session_id))
                 if not v.in_error and v.recorded_at >= reading.entered_in_error_at
                 and dt.timedelta(0) <= v.taken_at - reading.taken_at <= dt.timedelta(minutes=5)]
        assert later, reading.id
        # Its alert (a pulse of 48) was closed by the error mark, as the app does.
        for alert in db.session.scalars(select(SafetyAlert).where(SafetyAlert.vital_sign_id == reading.id)):
            assert alert.acknowledged_at == reading.entered_in_error_at


def test_today_shows_medical_staff_an_overdue_session(demo, client):
    courses, sessions = demo
    live = [s for s in _dosings(sessions) if s.discharged_at is None]
    assert len(live) == 1
    session = live[0]
    now = utcnow()
    zone = zoneinfo.ZoneInfo(settings.get("clinic.timezone"))
    assert dt.timedelta(minutes=60) <= now - session.occurred_at <= dt.timedelta(minutes=75)
    if now.astimezone(zone).hour >= 2:  # seeded just after midnight, it began the day before
        assert session.occurred_at.astimezone(zone).date() == now.astimezone(zone).date()
    assert session.course.is_open and session.administrations and not session.is_signed
    _, overdue = vitals_service.schedule(session, vitals_service.readings_of(session))
    assert overdue is not None and overdue.level is Level.OVERDUE

    response = client.post("/login", data={"email": "medical@demo.example.org", "password": DEMO_PASSWORD})
    assert response.status_code == 302
    page = client.get("/today").get_data(as_text=True)
    assert session.course.client.display_name in page
    assert '<span class="danger-text">overdue</span>' in page
    assert "1 open" in page  # the baseline caution not yet acknowledged


@pytest.mark.clock_matrix
@pytest.mark.parametrize("wall_time", [dt.time(1, 0), dt.time(23, 30)], ids=["01:00", "23:30"])
def test_the_demo_seeded_at_night_shows_a_current_medicine_session_today(runner, client, clock, wall_time):
    """Seeded just after midnight or late in the evening (clinic time), the demo still has a
    medicine session in progress with readings up to now, none later, on medical staff's Today."""
    clock.travel(clock.at(dt.date(2026, 12, 8), wall_time), tick=True)
    result = runner.invoke(args=["seed-demo", "--password", DEMO_PASSWORD])
    assert result.exit_code == 0, result.output
    now = clock.now()
    live = db.session.scalars(select(DosingSession).where(DosingSession.discharged_at.is_(None))).all()
    assert len(live) == 1
    session = live[0]
    readings = vitals_service.readings_of(session)
    assert readings and all(session.started_at <= v.taken_at <= v.recorded_at <= now for v in readings)
    assert now - max(v.taken_at for v in readings) < dt.timedelta(minutes=40)
    assert dt.timedelta(minutes=30) <= now - session.occurred_at <= dt.timedelta(minutes=90)
    assert client.post("/login", data={"email": "medical@demo.example.org",
                                       "password": DEMO_PASSWORD}).status_code == 302
    page = client.get("/today").get_data(as_text=True)
    assert session.course.client.display_name in page
