"""The demo clinic (`flask seed-demo`): treatment courses in every phase, recorded as the app would."""

from __future__ import annotations

import datetime as dt
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
    PreparationSession,
    Screening,
    User,
    utcnow,
)
from kaptracker.rules import dosing, phases
from kaptracker.rules import settings as setting_rules
from kaptracker.rules.access import Role
from kaptracker.rules.screening import Decision, decision_problems


@pytest.fixture
def demo(runner):
    result = runner.invoke(args=["seed-demo", "--password", "demo passphrase 1"])
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
            assert session.started_at <= a.given_at <= session.ended_at
        check = dosing.check_total(session.route, session.total_mg, session.weight_kg,
                                   dosing.default_ranges()[session.route])
        if not check.in_range:
            out_of_range += 1
            assert (session.dose_reason or "").strip(), check.message
        # Times: a session starts when it occurs, lasts 75-120 minutes, and discharge follows.
        assert session.started_at == session.occurred_at
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
