"""Outcome measures through the pages: PHQ-9, GAD-7 and PCL-5 typed in item by item, the
self-harm flag, entered in error, what is due, who may enter, the charts, and query counts."""

from __future__ import annotations

import datetime as dt
import re

import pytest
import sqlalchemy as sa

import factories
from course_support import error_beside, page, raw, today
from html_support import parse
from kaptracker.extensions import db
from kaptracker.models import AuditAction, AuditEvent, Indication, OutcomeScore
from kaptracker.rules.scales import Occasion, Scale
from kaptracker import clock

pytestmark = pytest.mark.filterwarnings("ignore::ResourceWarning")

ITEMS = {Scale.PHQ9: 9, Scale.GAD7: 7, Scale.PCL5: 20}


def form(scale: Scale, answers, *, occasion="baseline", completed_on=None, session_number=None) -> dict:
    data = {"completed_on": completed_on or today(), "occasion": occasion}
    if session_number is not None:
        data["session_number"] = str(session_number)
    for number, value in enumerate(answers, start=1):
        if value is not None:
            data[f"item_{number}"] = str(value)
    return data


def enter(clinic, course_id, scale: Scale, answers, *, user=None, **fields):
    return clinic.post(user or clinic.therapist, f"/courses/{course_id}/scores/new/{scale.value}",
                       form(scale, answers, **fields))


def scores(course_id) -> list[OutcomeScore]:
    db.session.expire_all()
    return list(db.session.scalars(sa.select(OutcomeScore).where(OutcomeScore.course_id == course_id)
                                   .order_by(OutcomeScore.id)))


def one_score(clinic, course_id, scale=Scale.PHQ9, answers=None, **fields) -> OutcomeScore:
    before = {s.id for s in scores(course_id)}
    response = enter(clinic, course_id, scale, answers or [1] * ITEMS[scale], **fields)
    assert response.status_code == 302, page(response)[:3000]
    (new,) = [s for s in scores(course_id) if s.id not in before]
    return new


def due_text(response) -> str:
    match = re.search(r"Due now: (.*?)\.", page(response))
    return match.group(1) if match else ""


# --- entering each scale -------------------------------------------------------------------------


@pytest.mark.parametrize("scale, answers, total, band", [
    (Scale.PHQ9, [3, 2, 2, 1, 1, 2, 1, 0, 0], 12, "Moderate"),
    (Scale.GAD7, [3, 3, 3, 3, 3, 3, 3], 21, "Severe"),
    (Scale.PCL5, [2] * 10 + [1] * 10, 30, "Below the probable-PTSD cut-off"),
    (Scale.PCL5, [4] * 20, 80, "Probable PTSD"),
])
def test_each_scale_is_entered_item_by_item(clinic, make_client, scale, answers, total, band):
    if scale is Scale.PCL5:
        clinic.record = make_client(clinic.therapist, indications=(Indication.PTSD,))
    course_id = factories.course(clinic).id
    form_page = clinic.get(clinic.therapist, f"/courses/{course_id}/scores/new/{scale.value}")
    assert form_page.status_code == 200
    tree = parse(form_page)
    for number in range(1, ITEMS[scale] + 1):
        radios = tree.find_all("input", name=f"item_{number}")
        assert [r.attrs["value"] for r in radios] == [str(v) for v in range(scale.spec.item_max + 1)]
    assert not tree.find_all("input", name=f"item_{ITEMS[scale] + 1}")

    score = one_score(clinic, course_id, scale, answers)
    assert (score.scale, score.occasion, score.total, score.band) == (scale, Occasion.BASELINE, total, band)
    assert score.answers == answers
    assert score.recorded_by_id == clinic.therapist.id
    assert not score.self_harm_flag
    event = db.session.scalars(sa.select(AuditEvent).where(
        AuditEvent.record_type == "outcome_score", AuditEvent.record_id == score.id)).one()
    assert event.action is AuditAction.CREATE and event.user_id == clinic.therapist.id
    assert event.client_id == clinic.record.id and str(total) in event.detail
    shown = page(clinic.get(clinic.therapist, f"/courses/{course_id}"))
    assert f"{total} / {scale.spec.maximum}" in shown and band in shown


def test_medical_staff_enter_scores_too(clinic):
    course_id = factories.course(clinic).id
    score = one_score(clinic, course_id, Scale.GAD7, [0] * 7, user=clinic.medical)
    assert score.recorded_by_id == clinic.medical.id and score.band == "Minimal"


def test_every_missing_item_has_its_message_and_nothing_is_saved(clinic):
    course_id = factories.course(clinic).id
    answers = [1, None, 2, None, 0, 1, None, 2, None]
    response = enter(clinic, course_id, Scale.PHQ9, answers)
    assert response.status_code == 422
    for number, value in enumerate(answers, start=1):
        message = error_beside(response, f"item_{number}")
        if value is None:
            assert message == "Choose an answer for this item.", number
        else:
            assert message == "", number
    # The answers given are kept, checked, on the page sent back.
    assert "checked" in parse(response).find_all("input", name="item_3", value="2")[0].attrs
    assert scores(course_id) == []


@pytest.mark.parametrize("forged", ["9", "-1", "x", "", "1.5", "3 "])
def test_a_forged_answer_is_a_message_beside_its_item(clinic, forged):
    course_id = factories.course(clinic).id
    data = form(Scale.PHQ9, [1] * 9)
    data["item_4"] = forged
    response = clinic.post(clinic.therapist, f"/courses/{course_id}/scores/new/phq9", data)
    if forged == "3 ":  # int() accepts surrounding spaces: a real answer
        assert response.status_code == 302
        assert scores(course_id)[0].answers[3] == 3
        return
    assert response.status_code == 422, page(response)[:2000]
    assert error_beside(response, "item_4") in ("Choose one of the answers shown.", "Choose an answer for this item.")
    assert all(error_beside(response, f"item_{n}") == "" for n in (1, 2, 3, 5, 6, 7, 8, 9))
    assert scores(course_id) == []


def test_an_unknown_scale_is_not_found(clinic):
    course_id = factories.course(clinic).id
    assert clinic.get(clinic.therapist, f"/courses/{course_id}/scores/new/bdi2").status_code == 404


def test_dates_and_session_number_are_checked_beside_their_fields(clinic):
    course_id = factories.course(clinic, started_on=today(-10)).id
    future = enter(clinic, course_id, Scale.GAD7, [1] * 7, completed_on=today(1))
    assert future.status_code == 422
    assert "future" in error_beside(future, "completed_on")
    too_early = enter(clinic, course_id, Scale.GAD7, [1] * 7, completed_on=today(-10 - 91))
    assert too_early.status_code == 422
    assert "90 days before the course started" in error_beside(too_early, "completed_on")
    # Exactly 90 days before the start is accepted.
    assert enter(clinic, course_id, Scale.GAD7, [1] * 7, completed_on=today(-100)).status_code == 302
    no_number = enter(clinic, course_id, Scale.PHQ9, [1] * 9, occasion="pre_session")
    assert no_number.status_code == 422
    assert error_beside(no_number, "session_number") == "Enter which medicine session this score was completed before."
    bad_number = enter(clinic, course_id, Scale.PHQ9, [1] * 9, occasion="pre_session", session_number=25)
    assert "from 1 to 24" in error_beside(bad_number, "session_number")
    forged_occasion = enter(clinic, course_id, Scale.PHQ9, [1] * 9, occasion="halfway")
    assert forged_occasion.status_code == 422 and error_beside(forged_occasion, "occasion")
    assert len(scores(course_id)) == 1
    # A session number given with another occasion is not kept.
    score = one_score(clinic, course_id, Scale.PHQ9, [1] * 9, session_number=3)
    assert score.session_number is None


def test_a_duplicate_occasion_is_refused_beside_occasion(clinic):
    course_id = factories.course(clinic).id
    first = one_score(clinic, course_id, Scale.PHQ9, [2] * 9)
    again = enter(clinic, course_id, Scale.PHQ9, [1] * 9)
    assert again.status_code == 422
    assert "already recorded" in error_beside(again, "occasion")
    assert f"total {first.total}" in error_beside(again, "occasion")
    # Another scale at baseline, and PHQ-9 before sessions 1 and 2, are not duplicates.
    one_score(clinic, course_id, Scale.GAD7, [1] * 7)
    one_score(clinic, course_id, Scale.PHQ9, [1] * 9, occasion="pre_session", session_number=1)
    one_score(clinic, course_id, Scale.PHQ9, [1] * 9, occasion="pre_session", session_number=2)
    twice = enter(clinic, course_id, Scale.PHQ9, [0] * 9, occasion="pre_session", session_number=2)
    assert "before medicine session 2 is already recorded" in error_beside(twice, "occasion")
    assert len(scores(course_id)) == 4


# --- the self-harm flag --------------------------------------------------------------------------


def test_item_9_above_0_is_flagged_whatever_the_total_until_acknowledged(clinic):
    course_id = factories.course(clinic).id
    score = one_score(clinic, course_id, Scale.PHQ9, [0] * 8 + [1])
    assert score.total == 1 and score.band == "Minimal" and score.self_harm_flag
    course_page = clinic.get(clinic.therapist, f"/courses/{course_id}")
    flag = parse(course_page).by_id(f"flag-{score.id}")
    assert flag is not None and "PHQ-9 item 9 answered 1" in flag.text and "total 1" in flag.text
    client_page = clinic.get(clinic.therapist, f"/clients/{clinic.record.id}")
    assert "PHQ-9 item 9 answered 1" in page(client_page)
    assert f"#flag-{score.id}" in raw(client_page)
    supervisor_view = clinic.get(clinic.supervisor, f"/courses/{course_id}")
    assert parse(supervisor_view).by_id(f"flag-{score.id}") is not None

    field = f"flag{score.id}-flag_action"
    empty = clinic.post(clinic.therapist, f"/scores/{score.id}/acknowledge", {field: "   "})
    assert empty.status_code == 422
    assert error_beside(empty, field) == "Write what was done: the risk assessment and the plan."
    assert scores(course_id)[0].flag_open
    assert parse(empty).by_id(f"flag-{score.id}") is not None

    done = clinic.post(clinic.therapist, f"/scores/{score.id}/acknowledge",
                       {field: "Risk assessed with the client today; safety plan reviewed."})
    assert done.status_code == 302
    acknowledged = scores(course_id)[0]
    assert not acknowledged.flag_open and acknowledged.flag_acknowledged_by_id == clinic.therapist.id
    assert acknowledged.flag_action == "Risk assessed with the client today; safety plan reviewed."
    assert db.session.scalar(sa.select(sa.func.count()).select_from(AuditEvent).where(
        AuditEvent.record_type == "outcome_score", AuditEvent.record_id == score.id,
        AuditEvent.action == AuditAction.UPDATE)) == 1
    after = clinic.get(clinic.therapist, f"/courses/{course_id}")
    assert parse(after).by_id(f"flag-{score.id}") is None
    assert "item 9: 1 (acknowledged)" in page(after)
    assert "not yet acknowledged" not in page(clinic.get(clinic.therapist, f"/clients/{clinic.record.id}"))

    second = clinic.http(clinic.supervisor).post(f"/scores/{score.id}/acknowledge",
                                                 data={field: "Again."}, follow_redirects=True)
    assert second.status_code == 200 and "This flag was already acknowledged." in page(second)
    again = scores(course_id)[0]
    assert again.flag_acknowledged_by_id == clinic.therapist.id
    assert again.flag_action.startswith("Risk assessed")


def test_a_score_without_a_flag_cannot_be_acknowledged(clinic):
    course_id = factories.course(clinic).id
    score = one_score(clinic, course_id, Scale.PHQ9, [3] * 8 + [0])
    assert score.total == 24 and not score.self_harm_flag
    response = clinic.http(clinic.therapist).post(f"/scores/{score.id}/acknowledge",
                                                  data={f"flag{score.id}-flag_action": "x"},
                                                  follow_redirects=True)
    assert "This score has no flag to acknowledge." in page(response)
    assert scores(course_id)[0].flag_acknowledged_at is None


# --- the database keeps scores unedited ----------------------------------------------------------


def _refused(statement, **params):
    with pytest.raises(sa.exc.DBAPIError) as caught:
        db.session.execute(sa.text(statement), params)
        db.session.flush()
    db.session.rollback()
    return str(caught.value)


def test_the_database_refuses_editing_a_score_and_allows_marking_in_error_once(clinic):
    course_id = factories.course(clinic).id
    score = one_score(clinic, course_id, Scale.PHQ9, [0] * 8 + [2])
    sid, uid = score.id, clinic.therapist.id
    assert "never edited" in _refused("UPDATE outcome_score SET total = total + 1 WHERE id = :i", i=sid)
    assert "never edited" in _refused("UPDATE outcome_score SET band = 'Severe' WHERE id = :i", i=sid)
    assert "never edited" in _refused("UPDATE outcome_score SET self_harm_flag = false WHERE id = :i", i=sid)
    assert "never edited" in _refused("UPDATE outcome_score SET answers = '[0,0,0,0,0,0,0,0,0]' WHERE id = :i",
                                      i=sid)
    assert "never deleted" in _refused("DELETE FROM outcome_score WHERE id = :i", i=sid)
    # Acknowledging the flag once, then marking in error once: both allowed.
    db.session.execute(sa.text(
        "UPDATE outcome_score SET flag_acknowledged_at = CURRENT_TIMESTAMP, flag_acknowledged_by_id = :u, "
        "flag_action = 'Assessed.' WHERE id = :i"), {"u": uid, "i": sid})
    db.session.commit()
    assert "never edited" in _refused(
        "UPDATE outcome_score SET flag_acknowledged_at = CURRENT_TIMESTAMP, flag_action = 'Other.' WHERE id = :i",
        i=sid)
    db.session.execute(sa.text(
        "UPDATE outcome_score SET entered_in_error_at = CURRENT_TIMESTAMP, entered_in_error_by_id = :u, "
        "error_reason = 'Duplicate' WHERE id = :i"), {"u": uid, "i": sid})
    db.session.commit()
    assert "never edited" in _refused("UPDATE outcome_score SET entered_in_error_at = NULL, "
                                      "entered_in_error_by_id = NULL, error_reason = NULL WHERE id = :i", i=sid)
    assert "never edited" in _refused("UPDATE outcome_score SET total = 0 WHERE id = :i", i=sid)
    assert "never edited" in _refused("UPDATE outcome_score SET error_reason = 'Wrong client', "
                                      "entered_in_error_by_id = :u WHERE id = :i", i=sid, u=clinic.admin.id)
    assert "never edited" in _refused("UPDATE outcome_score SET flag_acknowledged_by_id = :u WHERE id = :i",
                                      i=sid, u=clinic.admin.id)
    stored = scores(course_id)[0]
    assert stored.total == 2 and stored.in_error and stored.error_reason == "Duplicate"
    assert stored.flag_action == "Assessed." and stored.flag_acknowledged_by_id == uid


def test_the_database_refuses_a_pre_session_score_without_its_session_number(clinic):
    course_id = factories.course(clinic).id
    insert = ("INSERT INTO outcome_score (course_id, scale, occasion, session_number, completed_on, answers, "
              "total, band, self_harm_flag, recorded_by_id, recorded_at) VALUES (:c, 'gad7', 'pre_session', "
              ":n, CURRENT_DATE, '[0,0,0,0,0,0,0]', 0, 'Minimal', false, :u, CURRENT_TIMESTAMP)")
    _refused(insert, c=course_id, n=None, u=clinic.therapist.id)
    _refused(insert, c=course_id, n=0, u=clinic.therapist.id)
    db.session.execute(sa.text(insert), {"c": course_id, "n": 1, "u": clinic.therapist.id})  # the control
    db.session.commit()
    assert [s.session_number for s in scores(course_id)] == [1]


# --- entered in error -----------------------------------------------------------------------------


def test_marking_in_error_takes_the_score_out_and_makes_it_due_again(clinic):
    course_id = factories.course(clinic).id
    baseline = one_score(clinic, course_id, Scale.PHQ9, [2] * 8 + [1])
    one_score(clinic, course_id, Scale.GAD7, [1] * 7)
    course_page = clinic.get(clinic.therapist, f"/courses/{course_id}")
    assert "PHQ-9 at baseline" not in due_text(course_page)
    assert parse(course_page).find_all("figure", class_="scale-chart")
    assert "PHQ-9: baseline 17" in page(course_page)

    field = f"error{baseline.id}-error_reason"
    empty = clinic.post(clinic.therapist, f"/scores/{baseline.id}/error", {field: ""})
    assert empty.status_code == 422 and error_beside(empty, field) == "Choose why this score is wrong."
    forged = clinic.post(clinic.therapist, f"/scores/{baseline.id}/error", {field: "Because"})
    assert forged.status_code == 422 and error_beside(forged, field)
    assert not scores(course_id)[0].in_error
    # Another therapist cannot see the course at all.
    assert clinic.post(clinic.other_therapist, f"/scores/{baseline.id}/error",
                       {field: "Duplicate"}).status_code == 404
    assert clinic.post(clinic.therapist, f"/scores/{baseline.id}/error", {field: "Typed in wrongly"}).status_code == 302
    marked = scores(course_id)[0]
    assert marked.in_error and marked.error_reason == "Typed in wrongly"
    assert marked.entered_in_error_by_id == clinic.therapist.id
    # Its flag is no longer open either.
    assert not marked.flag_open

    after = clinic.get(clinic.therapist, f"/courses/{course_id}")
    assert "PHQ-9 at baseline" in due_text(after)
    shown = page(after)
    assert "PHQ-9: baseline" not in shown and "PHQ-9 item 9 answered" not in shown
    assert "Entered in error (Typed in wrongly)" in shown
    tree = parse(after)
    wide_charts = tree.find_all("svg", class_="scale-chart__svg")  # each chart's narrow variant aside
    assert [t.text for svg in wide_charts for t in svg.find_all("title")
            if t.text.endswith("over the course")] == ["GAD-7 over the course"]
    client_page = clinic.get(clinic.therapist, f"/clients/{clinic.record.id}")
    assert "PHQ-9 over the course" not in raw(client_page) and "GAD-7 over the course" in raw(client_page)

    second = clinic.http(clinic.therapist).post(f"/scores/{baseline.id}/error", data={field: "Duplicate"},
                                                follow_redirects=True)
    assert "already marked entered in error" in page(second)
    assert scores(course_id)[0].error_reason == "Typed in wrongly"
    # The score can be entered again.
    again = one_score(clinic, course_id, Scale.PHQ9, [2] * 9)
    assert again.total == 18


# --- what is due, and when scores may be added ----------------------------------------------------


def test_due_follows_the_course(clinic, make_client):
    course_id = factories.course(clinic).id
    assert due_text(clinic.get(clinic.therapist, f"/courses/{course_id}")) == "PHQ-9 at baseline; GAD-7 at baseline"
    one_score(clinic, course_id, Scale.PHQ9, [1] * 9)
    one_score(clinic, course_id, Scale.GAD7, [1] * 7)
    assert due_text(clinic.get(clinic.therapist, f"/courses/{course_id}")) == ""
    # Once the course may go on to medicine, the score before medicine session 1 is due.
    factories.screening(clinic, course_id)
    factories.preparation(clinic, course_id)
    assert due_text(clinic.get(clinic.therapist, f"/courses/{course_id}")) == (
        "PHQ-9 before medicine session 1; GAD-7 before medicine session 1")
    one_score(clinic, course_id, Scale.PHQ9, [1] * 9, occasion="pre_session", session_number=1)
    one_score(clinic, course_id, Scale.GAD7, [1] * 7, occasion="pre_session", session_number=1)
    assert due_text(clinic.get(clinic.therapist, f"/courses/{course_id}")) == ""
    first = factories.medicine(clinic, course_id, "im", "signed").id
    assert due_text(clinic.get(clinic.therapist, f"/courses/{course_id}")) == (
        "PHQ-9 before medicine session 2; GAD-7 before medicine session 2")
    factories.integration(clinic, course_id, first)
    second = factories.medicine(clinic, course_id, "im", "signed").id
    factories.integration(clinic, course_id, second)
    # Every planned session given: follow-up.
    assert due_text(clinic.get(clinic.therapist, f"/courses/{course_id}")) == (
        "PHQ-9 at follow-up; GAD-7 at follow-up")
    client_page = clinic.get(clinic.therapist, f"/clients/{clinic.record.id}")
    assert due_text(client_page) == "PHQ-9 at follow-up; GAD-7 at follow-up"


def test_pcl5_is_expected_only_with_a_ptsd_indication(clinic, make_client):
    course_id = factories.course(clinic).id
    course_page = clinic.get(clinic.therapist, f"/courses/{course_id}")
    assert "PCL-5" not in due_text(course_page) and "Enter PCL-5" not in page(course_page)
    clinic.record = make_client(clinic.therapist, indications=(Indication.DEPRESSION, Indication.PTSD))
    ptsd_course = factories.course(clinic).id
    ptsd_page = clinic.get(clinic.therapist, f"/courses/{ptsd_course}")
    assert due_text(ptsd_page) == "PHQ-9 at baseline; GAD-7 at baseline; PCL-5 at baseline"
    assert "Enter PCL-5" in page(ptsd_page)


def _end(clinic, course_id, reason):
    data = {"end_reason": reason, "ended_on": today(), "end_note": "Ended as planned with the client."}
    response = clinic.post(clinic.therapist, f"/courses/{course_id}/end", data)
    assert response.status_code == 302, page(response)[:3000]


def test_a_completed_course_takes_only_follow_up_scores(clinic):
    course_id = factories.ready(clinic, planned_medicine_sessions="1").id
    one_score(clinic, course_id, Scale.PHQ9, [2] * 9)
    dosing = factories.medicine(clinic, course_id, "im", "signed").id
    factories.integration(clinic, course_id, dosing)
    _end(clinic, course_id, "completed")
    course_page = clinic.get(clinic.therapist, f"/courses/{course_id}")
    assert due_text(course_page) == "PHQ-9 at follow-up; GAD-7 at follow-up"
    assert "Enter PHQ-9" in page(course_page)
    refused = enter(clinic, course_id, Scale.GAD7, [1] * 7)
    assert refused.status_code == 422
    assert error_beside(refused, "occasion") == "The course is completed: only follow-up scores are added now."
    pre = enter(clinic, course_id, Scale.GAD7, [1] * 7, occasion="pre_session", session_number=2)
    assert "only follow-up" in error_beside(pre, "occasion")
    follow_up = one_score(clinic, course_id, Scale.PHQ9, [0] * 9, occasion="follow_up")
    assert follow_up.total == 0
    assert due_text(clinic.get(clinic.therapist, f"/courses/{course_id}")) == "GAD-7 at follow-up"
    assert len(scores(course_id)) == 2


def test_a_discontinued_course_takes_no_scores(clinic):
    course_id = factories.course(clinic).id
    _end(clinic, course_id, "discontinued")
    course_page = clinic.get(clinic.therapist, f"/courses/{course_id}")
    assert due_text(course_page) == "" and "Enter PHQ-9" not in page(course_page)
    response = clinic.http(clinic.therapist).get(f"/courses/{course_id}/scores/new/phq9", follow_redirects=True)
    assert "The course is discontinued: it is read-only." in page(response)
    posted = enter(clinic, course_id, Scale.PHQ9, [1] * 9, occasion="follow_up")
    assert posted.status_code == 302
    assert scores(course_id) == []


def test_who_may_enter_scores(clinic):
    course_id = factories.course(clinic).id
    url = f"/courses/{course_id}/scores/new/phq9"
    assert clinic.get(clinic.other_therapist, url).status_code == 404
    assert enter(clinic, course_id, Scale.PHQ9, [1] * 9, user=clinic.other_therapist).status_code == 404
    assert clinic.get(clinic.admin, url).status_code == 403
    assert enter(clinic, course_id, Scale.PHQ9, [1] * 9, user=clinic.admin).status_code == 403
    assert clinic.get(clinic.supervisor, url).status_code == 403
    assert enter(clinic, course_id, Scale.PHQ9, [1] * 9, user=clinic.supervisor).status_code == 403
    assert "Enter PHQ-9" not in page(clinic.get(clinic.supervisor, f"/courses/{course_id}"))
    assert scores(course_id) == []
    flagged = one_score(clinic, course_id, Scale.PHQ9, [0] * 8 + [3])
    field = f"flag{flagged.id}-flag_action"
    assert clinic.post(clinic.other_therapist, f"/scores/{flagged.id}/acknowledge",
                       {field: "Not mine."}).status_code == 404
    assert clinic.post(clinic.admin, f"/scores/{flagged.id}/acknowledge", {field: "No."}).status_code == 403
    assert clinic.post(clinic.supervisor, f"/scores/{flagged.id}/error",
                       {f"error{flagged.id}-error_reason": "Duplicate"}).status_code == 403
    assert scores(course_id)[0].flag_open and not scores(course_id)[0].in_error
    assert clinic.post(clinic.therapist, "/scores/999999/acknowledge", {}).status_code == 404
    assert clinic.post(clinic.therapist, "/scores/999999/error", {}).status_code == 404


# --- charts and sentences --------------------------------------------------------------------------


def _chart(response, scale: Scale):
    """The scale's chart as a laptop shows it: the figure's first (wide) SVG; the narrow one
    for phones, after it, draws the same data."""
    for figure in parse(response).find_all("figure", class_="scale-chart"):
        titles = [t.text for t in figure.find_all("title")]
        if f"{scale.label} over the course" in titles:
            wide, narrow = figure.find_all("svg")
            assert wide.classes == {"scale-chart__svg"}, wide.classes
            assert narrow.classes == {"scale-chart__svg", "chart-variant--narrow"}, narrow.classes
            assert len(narrow.find_all("circle", class_="score-point")) == len(wide.find_all("circle", class_="score-point"))
            return wide
    return None


def test_the_client_page_charts_phq9_with_medicine_sessions_and_states_response(clinic):
    course_id = factories.ready(clinic, started_on=today(-40)).id
    values = [(-40, "baseline", None, [3, 3, 3, 3, 2, 2, 2, 2, 0]),  # 20
              (-30, "pre_session", 1, [2, 2, 2, 2, 2, 2, 2, 0, 0]),  # 14
              (-10, "pre_session", 2, [1, 1, 1, 1, 1, 1, 2, 0, 0]),  # 8
              (0, "follow_up", None, [1, 1, 1, 1, 1, 1, 1, 1, 0])]  # 8
    for days, occasion, number, answers in values[:3]:
        one_score(clinic, course_id, Scale.PHQ9, answers, completed_on=today(days), occasion=occasion,
                  session_number=number)
    factories.medicine(clinic, course_id, "im", "signed")
    factories.medicine(clinic, course_id, "im", "signed")
    wrong = one_score(clinic, course_id, Scale.PHQ9, [3] * 9, occasion="follow_up")
    assert clinic.post(clinic.therapist, f"/scores/{wrong.id}/error",
                       {f"error{wrong.id}-error_reason": "Typed in wrongly"}).status_code == 302
    one_score(clinic, course_id, Scale.PHQ9, values[3][3], occasion="follow_up")

    response = clinic.get(clinic.therapist, f"/clients/{clinic.record.id}")
    assert response.status_code == 200
    figure = _chart(response, Scale.PHQ9)
    assert figure is not None
    assert len(figure.find_all("circle", class_="score-point")) == 4  # the wrong one is left out
    marks = figure.find_all("line", class_="dose-mark")
    assert len(marks) == 2
    assert [t.text for t in figure.find_all("text", class_="dose-label")] == ["M1", "M2"]
    assert not figure.find_all("circle", class_="score-flag")
    assert "4 score(s)" in figure.text and "2 medicine session(s) marked" in figure.text
    # The points run left to right in date order, higher on the page for higher totals.
    points = [(float(c.attrs["cx"]), float(c.attrs["cy"])) for c in figure.find_all("circle", class_="score-point")]
    assert [x for x, _ in points] == sorted(x for x, _ in points)
    assert points[0][1] < points[1][1] < points[2][1]
    # The medicine sessions (today) sit at the right-hand end, with the last score.
    assert abs(float(marks[0].attrs["x1"]) - points[-1][0]) < 0.5

    sentence = f"PHQ-9: 20 at baseline, 8 on {clock.today():%d %b %Y} (down 60 %)."
    shown = page(response)
    assert sentence in shown
    assert "Response (a drop of 50 % or more): yes. Remission (below 5): no." in shown
    # The course page says the same.
    assert sentence in page(clinic.get(clinic.therapist, f"/courses/{course_id}"))


@pytest.mark.parametrize("baseline, latest, response, remission, change", [
    ([3, 3, 2, 2, 2, 2, 2, 2, 2], [1, 1, 0, 0, 0, 1, 1, 0, 0], "yes", "yes", "down 80 %"),  # 20 -> 4
    ([2, 2, 2, 2, 0, 0, 0, 0, 0], [1, 1, 1, 1, 0, 0, 0, 0, 0], "yes", "yes", "down 50 %"),  # 8 -> 4
    ([2, 2, 2, 2, 2, 0, 0, 0, 0], [1, 1, 1, 1, 1, 1, 0, 0, 0], "no", "no", "down 40 %"),  # 10 -> 6
    ([1, 1, 1, 1, 1, 1, 0, 0, 0], [2, 2, 2, 2, 0, 0, 0, 0, 0], "no", "no", "up 33 %"),  # 6 -> 8
])
def test_response_and_remission_sentences(clinic, baseline, latest, response, remission, change):
    course_id = factories.course(clinic, started_on=today(-20)).id
    one_score(clinic, course_id, Scale.PHQ9, baseline, completed_on=today(-20))
    one_score(clinic, course_id, Scale.PHQ9, latest, occasion="follow_up")
    shown = page(clinic.get(clinic.therapist, f"/clients/{clinic.record.id}"))
    assert f"({change})" in shown
    assert f"Response (a drop of 50 % or more): {response}. Remission (below 5): {remission}." in shown


def test_flagged_points_are_marked_on_the_chart(clinic):
    course_id = factories.course(clinic).id
    one_score(clinic, course_id, Scale.PHQ9, [0] * 8 + [2])
    figure = _chart(clinic.get(clinic.therapist, f"/clients/{clinic.record.id}"), Scale.PHQ9)
    assert len(figure.find_all("circle", class_="score-flag")) == 1


# --- query counts -----------------------------------------------------------------------------------


def _add_scores(course_id, user_id, n, start=0):
    occasions = [(Occasion.BASELINE, None), (Occasion.FOLLOW_UP, None)] + [
        (Occasion.PRE_SESSION, k) for k in range(1, 25)]
    for i in range(start, start + n):
        scale = (Scale.PHQ9, Scale.GAD7)[i % 2]
        occasion, number = occasions[(i // 2) % len(occasions)]
        answers = [i % 4] * len(scale.spec.items)
        total = sum(answers)
        db.session.add(OutcomeScore(
            course_id=course_id, scale=scale, occasion=occasion, session_number=number,
            completed_on=clock.today() - dt.timedelta(days=40 - i), answers=answers, total=total,
            band="Mild", self_harm_flag=scale is Scale.PHQ9 and answers[8] > 0, recorded_by_id=user_id))
    db.session.commit()


@pytest.mark.parametrize("which", ["course", "client"])
def test_query_count_does_not_grow_with_the_scores(clinic, count_queries, which):
    course_id = factories.ready(clinic, started_on=today(-40)).id
    factories.medicine(clinic, course_id, "im", "signed")
    url = f"/courses/{course_id}" if which == "course" else f"/clients/{clinic.record.id}"
    http = clinic.http(clinic.therapist)
    counts = []
    for n, start in ((2, 0), (18, 2)):
        _add_scores(course_id, clinic.therapist.id, n, start)
        with count_queries() as counted:
            response = http.get(url)
            assert response.status_code == 200
        counts.append(counted.n)
    assert len(scores(course_id)) == 20
    assert counts[0] == counts[1], counts
