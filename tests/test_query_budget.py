"""Pages run a fixed number of SQL statements, whatever the size of the caseload or course."""

from __future__ import annotations

import datetime as dt

import pytest

from kaptracker import clock
from kaptracker.extensions import db
from kaptracker.models import (
    Administration,
    Course,
    DosingSession,
    IntegrationSession,
    PreparationSession,
    utcnow,
)
from kaptracker.rules.dosing import Route


def _course(client, therapist, medical, medicine_sessions: int) -> Course:
    course = Course(client_id=client.id, planned_route=Route.IM, planned_medicine_sessions=12,
                    goals="Goals", started_on=clock.today(), created_by_id=therapist.id)
    db.session.add(course)
    db.session.flush()
    at = utcnow() - dt.timedelta(days=60)
    db.session.add(PreparationSession(course_id=course.id, author_id=therapist.id, occurred_at=at, note="p"))
    for i in range(medicine_sessions):
        when = at + dt.timedelta(days=3 * i + 1)
        dosing = DosingSession(course_id=course.id, author_id=medical.id, occurred_at=when,
                               started_at=when, route=Route.IM, weight_kg=70)
        db.session.add(dosing)
        db.session.flush()
        db.session.add(Administration(session_id=dosing.id, given_at=when, dose_mg=35, mg_per_kg=0.5,
                                      recorded_by_id=medical.id))
        db.session.add(IntegrationSession(course_id=course.id, author_id=therapist.id, dosing_session_id=dosing.id,
                                          occurred_at=when + dt.timedelta(days=1), note="i"))
    db.session.commit()
    return course


@pytest.fixture
def caseload(make_user, make_client):
    def build(clients: int, medicine_sessions: int):
        therapist, medical = make_user("therapist"), make_user("medical")
        records = [make_client(therapist) for _ in range(clients)]
        course = _course(records[0], therapist, medical, medicine_sessions)
        return therapist, records[0], course

    return build


PAGES = {
    "client list": lambda c, course: "/clients/",
    "client page": lambda c, course: f"/clients/{c.id}",
    "course page": lambda c, course: f"/courses/{course.id}",
}


@pytest.mark.parametrize("page", sorted(PAGES))
def test_query_count_does_not_grow_with_the_data(page, caseload, client, login, count_queries):
    counts = []
    for clients, sessions in ((3, 1), (30, 8)):
        therapist, record, course = caseload(clients, sessions)
        login(therapist)
        url = PAGES[page](record, course)
        with count_queries() as counted:
            assert client.get(url).status_code == 200
        counts.append(counted.n)
        client.post("/logout")
    if counts[0] != counts[1]:
        import collections
        common = collections.Counter(" ".join(st.split())[:150] for st in counted.statements).most_common(4)
        pytest.fail(f"{page}: {counts[0]} queries small, {counts[1]} at 10x; most repeated: {common}")
    assert counts[1] <= 20, f"{page} runs {counts[1]} queries"
    print(f"{page}: {counts[1]} queries")
