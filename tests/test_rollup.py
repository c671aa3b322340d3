"""The course rollup stored for dashboards (kaptracker.rollup) always equals what the
pure phase rules say about the record, whoever wrote it."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select, text

from kaptracker import clock
from kaptracker import rollup
from kaptracker.courses import service
from kaptracker.extensions import db
from kaptracker.models import Course, DosingSession, IntegrationSession, PreparationSession, Screening, utcnow
from kaptracker.rules import phases
from kaptracker.rules.dosing import Route
from kaptracker.rules.screening import Decision


def _derived(course):
    sessions = service.load_course_sessions(course)
    facts = service.facts(course, sessions)
    last = max((s.occurred_at for s in sessions), default=None)
    return phases.phase(facts), len(facts.medicine_sessions), last


def _stored(course_id):
    row = db.session.execute(
        text("SELECT phase, medicine_given, last_contact_at FROM course WHERE id = :id"), {"id": course_id}
    ).one()
    return row


def test_demo_courses_are_summarised_as_the_rules_say(runner):
    assert runner.invoke(args=["seed-demo", "--password", "demo passphrase 1"]).exit_code == 0
    db.session.expire_all()
    courses = db.session.scalars(select(Course)).all()
    assert len(courses) > 10
    seen = set()
    for course in courses:
        phase, given, last = _derived(course)
        assert (course.phase, course.medicine_given) == (phase, given), course.id
        assert course.last_contact_at == last
        seen.add(course.phase)
    assert seen == set(phases.Phase)


def test_each_step_of_a_course_updates_its_summary(app, make_user, make_client):
    therapist = make_user(role="therapist")
    medical = make_user(role="medical")
    client = make_client(therapist=therapist)
    start = utcnow() - dt.timedelta(days=20)
    course = Course(client_id=client.id, planned_route=Route.LOZENGE, planned_medicine_sessions=1,
                    goals="Goals", started_on=start.date(), created_by_id=therapist.id)
    db.session.add(course)
    db.session.commit()
    assert (course.phase, course.medicine_given, course.last_contact_at) == (phases.Phase.PREPARATION, 0, None)

    screening = Screening(course_id=course.id, occurred_at=start, author_id=therapist.id,
                          decision=Decision.ELIGIBLE)
    prep = PreparationSession(course_id=course.id, occurred_at=start + dt.timedelta(days=1),
                              author_id=therapist.id)
    db.session.add_all([screening, prep])
    db.session.commit()
    assert course.phase is phases.Phase.PREPARATION
    assert course.last_contact_at == start + dt.timedelta(days=1)

    screening.signed_at, screening.signed_by_id = utcnow(), medical.id
    prep.signed_at, prep.signed_by_id = utcnow(), therapist.id
    db.session.commit()
    assert course.phase is phases.Phase.MEDICINE
    assert _stored(course.id).phase == "medicine"

    dosing = DosingSession(course_id=course.id, occurred_at=start + dt.timedelta(days=2),
                           author_id=medical.id, route=Route.LOZENGE,
                           started_at=start + dt.timedelta(days=2))
    db.session.add(dosing)
    db.session.commit()
    assert (course.phase, course.medicine_given) == (phases.Phase.INTEGRATION, 1)

    db.session.add(IntegrationSession(course_id=course.id, occurred_at=start + dt.timedelta(days=3),
                                      author_id=therapist.id, dosing_session_id=dosing.id))
    db.session.commit()
    # Every planned session given and integrated: integrating to the end.
    assert course.phase is phases.Phase.INTEGRATION
    assert course.last_contact_at == start + dt.timedelta(days=3)

    course.end_reason, course.ended_on = phases.EndReason.COMPLETED, clock.today()
    db.session.commit()
    assert course.phase is phases.Phase.COMPLETED
    row = _stored(course.id)
    assert (row.phase, row.medicine_given) == ("completed", 1)


def test_refresh_all_repairs_a_summary_written_behind_the_orm(app, make_user, make_client):
    therapist = make_user(role="therapist")
    client = make_client(therapist=therapist)
    course = Course(client_id=client.id, planned_route=Route.IM, planned_medicine_sessions=2,
                    goals="Goals", started_on=clock.today(), created_by_id=therapist.id)
    db.session.add(course)
    db.session.commit()
    db.session.execute(text("UPDATE course SET phase = 'completed', medicine_given = 7"))
    assert rollup.refresh_all(db.session.connection()) == 1
    row = _stored(course.id)
    assert (row.phase, row.medicine_given) == ("preparation", 0)


def test_the_oldest_unintegrated_medicine_session_and_the_outcomes_are_summarised(runner):
    from kaptracker.models import CourseOutcome, OutcomeScore
    from kaptracker.rules import scales

    assert runner.invoke(args=["seed-demo", "--password", "demo passphrase 1"]).exit_code == 0
    db.session.expire_all()
    courses = db.session.scalars(select(Course)).all()
    waiting = 0
    for course in courses:
        facts = service.facts(course, service.load_course_sessions(course))
        first = next((m for m in facts.medicine_sessions if not m.integrated), None)
        assert course.unintegrated_session_id == (first.id if first else None), course.id
        assert course.unintegrated_since == (first.occurred_at if first else None)
        waiting += first is not None
    assert waiting >= 2
    stored = {(o.course_id, o.scale): o for o in db.session.scalars(select(CourseOutcome))}
    scores = db.session.scalars(select(OutcomeScore).where(OutcomeScore.entered_in_error_at.is_(None))
                                .order_by(OutcomeScore.completed_on, OutcomeScore.id)).all()
    grouped: dict = {}
    for s in scores:
        grouped.setdefault((s.course_id, s.scale), []).append(scales.Point(s.completed_on, s.total, s.occasion))
    assert set(stored) == set(grouped)
    for key, points in grouped.items():
        result = scales.outcome(key[1], points, scales.OutcomeRules())
        row = stored[key]
        assert (row.baseline_total, row.latest_total, row.measured) == (
            result.baseline.total, result.latest.total, result.measured), key


def test_marking_a_score_in_error_updates_the_stored_outcome(app, make_user, make_client, client, login):
    from kaptracker.models import CourseOutcome, OutcomeScore
    from kaptracker.rules.scales import Occasion, Scale

    therapist = make_user("therapist")
    record = make_client(therapist)
    course = Course(client_id=record.id, planned_route=Route.IM, planned_medicine_sessions=2, goals="Goals",
                    started_on=clock.today(), created_by_id=therapist.id)
    db.session.add(course)
    db.session.flush()
    today = clock.today()
    first = OutcomeScore(course_id=course.id, scale=Scale.PHQ9, occasion=Occasion.BASELINE, completed_on=today,
                         answers=[2] * 9, total=18, band="x", recorded_by_id=therapist.id)
    later = OutcomeScore(course_id=course.id, scale=Scale.PHQ9, occasion=Occasion.FOLLOW_UP, completed_on=today,
                         answers=[1] * 9, total=9, band="x", recorded_by_id=therapist.id)
    db.session.add_all([first, later])
    db.session.commit()
    row = db.session.get(CourseOutcome, (course.id, Scale.PHQ9))
    assert (row.baseline_total, row.latest_total, row.measured) == (18, 9, True)
    login(therapist)
    response = client.post(f"/scores/{later.id}/error", data={f"error{later.id}-error_reason": "Duplicate"})
    assert response.status_code == 302
    db.session.expire_all()
    row = db.session.get(CourseOutcome, (course.id, Scale.PHQ9))
    assert (row.baseline_total, row.latest_total, row.measured) == (18, 18, False)
