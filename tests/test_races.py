"""Two people doing the same once-only thing at the same moment: marking one reading (or score)
entered in error, acknowledging one alert or one self-harm flag, withdrawing an alert while it
is acknowledged. The first wins; the second gets a message, never a database error.

The requests are real: two browsers (threads) send them over sockets to a live threaded server,
and a barrier inside the view holds both until each has read the record and passed its checks,
so both writes reach the database together and the database decides. Runs on SQLite and, with
KAPTRACKER_TEST_DATABASE_URL, on PostgreSQL.
"""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import select

from kaptracker.extensions import db
from kaptracker.models import AuditAction, AuditEvent, ClinicalSession, OutcomeScore, SafetyAlert, VitalSign, utcnow
from kaptracker.rules.vitals import Timepoint

from conftest import PASSWORD
import factories
from course_support import page
from live_support import Browser, live, race  # noqa: F401 - live is a fixture


def hold_both(monkeypatch, owner, name: str) -> None:
    """Make ``owner.name`` wait, after it ran, until both requests have reached it (the first
    two calls only: the pages opened afterwards pass straight through)."""
    barrier = threading.Barrier(2)
    original = getattr(owner, name)
    calls = iter(range(2))
    lock = threading.Lock()

    def held(*args, **kwargs):
        result = original(*args, **kwargs)
        with lock:
            waits = next(calls, None) is not None
        if waits:
            barrier.wait(timeout=30)
        return result

    monkeypatch.setattr(owner, name, held)


def browsers(live, *users) -> list[Browser]:
    signed_in = []
    for user in users:
        browser = Browser(live)
        browser.sign_in(user.email, PASSWORD)
        signed_in.append(browser)
    return signed_in


def updates(record_type: str, record_id: int) -> list[AuditEvent]:
    db.session.expire_all()
    return db.session.scalars(select(AuditEvent).where(
        AuditEvent.action == AuditAction.UPDATE, AuditEvent.record_type == record_type,
        AuditEvent.record_id == record_id)).all()


def shown_after(browser: Browser, reply) -> str:
    """The page the redirect leads to, as that person sees it (with its flashed message)."""
    assert reply.status == 302, (reply.status, reply.text[:2000])
    from html_support import parse

    return " ".join(parse(browser.get(reply.location).text).text.split())


def _reading(session_id: int, recorder_id: int, systolic: int, diastolic: int, minutes_ago: int) -> VitalSign:
    import datetime as dt

    vital = VitalSign(session_id=session_id, taken_at=utcnow() - dt.timedelta(minutes=minutes_ago),
                      timepoint=Timepoint.DURING, systolic=systolic, diastolic=diastolic, heart_rate=80,
                      recorded_by_id=recorder_id)
    db.session.add(vital)
    db.session.flush()
    return vital


@pytest.fixture
def high_pair(clinic, make_user):
    """A medicine session with two high readings 6 minutes apart and the sustained alert they
    raised, and a second member of medical staff."""
    from kaptracker.vitals import service

    course_id = factories.ready(clinic).id
    sid = factories.medicine(clinic, course_id, "im", "draft").id
    session = db.session.get(ClinicalSession, sid)
    first = _reading(sid, clinic.medical.id, 185, 95, 10)
    second = _reading(sid, clinic.medical.id, 186, 96, 4)
    [alert] = service.record_alerts(session, service.readings_of(session))
    db.session.commit()
    assert (alert.rule, alert.vital_sign_id, alert.paired_vital_sign_id) == ("sustained_high_bp", second.id, first.id)
    return sid, first.id, second.id, alert.id, make_user("medical")


def test_two_people_marking_one_reading_in_error_at_once(live, clinic, high_pair, monkeypatch):
    from kaptracker.vitals import views

    sid, first_id, _, alert_id, colleague = high_pair
    people = browsers(live, clinic.medical, colleague)
    hold_both(monkeypatch, views.EnteredInErrorForm, "validate_on_submit")
    reasons = ("Wrong client's cuff.", "Typed 185 for 158.")

    replies = race(*(lambda b=b, r=r: b.post(f"/vitals/{first_id}/error", {"error_reason": r})
                     for b, r in zip(people, reasons)))

    assert [r.status for r in replies] == [302, 302], [(r.status, r.text[:500]) for r in replies]
    db.session.expire_all()
    stored = db.session.get(VitalSign, first_id)
    winner = [clinic.medical.id, colleague.id].index(stored.entered_in_error_by_id)
    assert stored.error_reason == reasons[winner]
    assert len(updates("vitals", first_id)) == 1
    assert "Someone else marked this reading entered in error a moment before you" in shown_after(
        people[1 - winner], replies[1 - winner])
    # The winner's mark withdrew the alert resting on the reading, once.
    alert = db.session.get(SafetyAlert, alert_id)
    assert alert.withdrawn_at is not None and reasons[winner] in alert.withdrawn_reason


def test_two_people_acknowledging_one_alert_at_once_over_http(live, clinic, high_pair, monkeypatch):
    from kaptracker.vitals import views

    _, _, _, alert_id, colleague = high_pair
    people = browsers(live, clinic.medical, colleague)
    hold_both(monkeypatch, views.AcknowledgeForm, "validate_on_submit")
    notes = ("Repeated; physician informed.", "Seen; rechecked at 5 minutes.")

    replies = race(*(lambda b=b, n=n: b.post(f"/alerts/{alert_id}/acknowledge", {"acknowledgement_note": n})
                     for b, n in zip(people, notes)))

    assert [r.status for r in replies] == [302, 302], [(r.status, r.text[:500]) for r in replies]
    db.session.expire_all()
    alert = db.session.get(SafetyAlert, alert_id)
    winner = [clinic.medical.id, colleague.id].index(alert.acknowledged_by_id)
    assert alert.acknowledgement_note == notes[winner]
    assert len(updates("alert", alert_id)) == 1
    assert "Someone else acknowledged this alert a moment before you" in shown_after(
        people[1 - winner], replies[1 - winner])


def test_acknowledging_an_alert_while_its_reading_is_marked_in_error(live, clinic, high_pair, monkeypatch):
    """One person acknowledges the alert as another marks the reading under it entered in error:
    whichever lands first, nobody gets a database error, and the alert ends withdrawn."""
    from kaptracker.vitals import views

    _, first_id, _, alert_id, colleague = high_pair
    marker, acknowledger = browsers(live, clinic.medical, colleague)
    hold_both(monkeypatch, views, "get_session_for")  # both views have loaded what they check

    replies = race(lambda: marker.post(f"/vitals/{first_id}/error", {"error_reason": "Wrong client."}),
                   lambda: acknowledger.post(f"/alerts/{alert_id}/acknowledge",
                                             {"acknowledgement_note": "Physician informed."}))

    assert [r.status for r in replies] == [302, 302], [(r.status, r.text[:500]) for r in replies]
    db.session.expire_all()
    alert = db.session.get(SafetyAlert, alert_id)
    assert alert.withdrawn_at is not None  # withdrawn whether it was acknowledged first or not
    told = shown_after(acknowledger, replies[1])
    if alert.acknowledged_at is None:
        assert "This alert was withdrawn" in told
    else:
        assert "Alert acknowledged." in told


def test_two_people_acknowledging_one_self_harm_flag_at_once(live, clinic, monkeypatch):
    from kaptracker.outcomes import forms as outcome_forms

    course_id = factories.course(clinic).id
    data = {"completed_on": clock_today(), "occasion": "baseline",
            **{f"item_{n}": "0" for n in range(1, 9)}, "item_9": "1"}
    assert clinic.post(clinic.therapist, f"/courses/{course_id}/scores/new/phq9", data).status_code == 302
    score = db.session.scalars(select(OutcomeScore).where(OutcomeScore.course_id == course_id)).one()
    assert score.self_harm_flag
    people = browsers(live, clinic.therapist, clinic.supervisor)
    hold_both(monkeypatch, outcome_forms.FlagAcknowledgeForm, "validate_on_submit")
    field = f"flag{score.id}-flag_action"
    actions = ("Risk assessed; safety plan reviewed.", "Called the client; plan in place.")

    replies = race(*(lambda b=b, a=a: b.post(f"/scores/{score.id}/acknowledge", {field: a})
                     for b, a in zip(people, actions)))

    assert [r.status for r in replies] == [302, 302], [(r.status, r.text[:500]) for r in replies]
    db.session.expire_all()
    stored = db.session.get(OutcomeScore, score.id)
    winner = [clinic.therapist.id, clinic.supervisor.id].index(stored.flag_acknowledged_by_id)
    assert stored.flag_action == actions[winner]
    assert len(updates("outcome_score", score.id)) == 1
    assert "Someone else acknowledged this flag a moment before you" in shown_after(
        people[1 - winner], replies[1 - winner])


def test_two_people_marking_one_score_in_error_at_once(live, clinic, monkeypatch):
    from kaptracker.outcomes import forms as outcome_forms

    course_id = factories.course(clinic).id
    data = {"completed_on": clock_today(), "occasion": "baseline", **{f"item_{n}": "1" for n in range(1, 10)}}
    assert clinic.post(clinic.therapist, f"/courses/{course_id}/scores/new/phq9", data).status_code == 302
    score = db.session.scalars(select(OutcomeScore).where(OutcomeScore.course_id == course_id)).one()
    tab = Browser(live)
    tab.sign_in(clinic.therapist.email, PASSWORD)
    people = [browsers(live, clinic.therapist)[0], tab]  # the same therapist in two tabs
    hold_both(monkeypatch, outcome_forms.ScoreErrorForm, "validate_on_submit")
    field = f"error{score.id}-error_reason"
    reasons = ("Wrong client", "Duplicate")

    replies = race(*(lambda b=b, r=r: b.post(f"/scores/{score.id}/error", {field: r})
                     for b, r in zip(people, reasons)))

    assert [r.status for r in replies] == [302, 302], [(r.status, r.text[:500]) for r in replies]
    db.session.expire_all()
    stored = db.session.get(OutcomeScore, score.id)
    winner = reasons.index(stored.error_reason)
    assert len(updates("outcome_score", score.id)) == 1
    assert "Someone else marked this score entered in error a moment before you" in shown_after(
        people[1 - winner], replies[1 - winner])


def clock_today() -> str:
    from kaptracker import clock

    return clock.today().isoformat()
