"""The caseload dashboard: clients by phase per therapist, the worklist of everything that needs
someone (each kind found, linked, filtered, sorted, paginated, scoped), a fixed number of
queries whatever the caseload, and outcomes across the caseload computed as the pure rules say."""

from __future__ import annotations

import datetime as dt
import random

import pytest
from sqlalchemy import select

from kaptracker import clock
from kaptracker.extensions import db
from kaptracker.models import (
    AuditAction,
    AuditEvent,
    ClientStatus,
    Course,
    DosingSession,
    IntegrationSession,
    OutcomeScore,
    OverrideReview,
    PreparationSession,
    ReviewComment,
    SafetyAlert,
    SafetyOverride,
    Screening,
    utcnow,
)
from kaptracker.rules.dosing import Route
from kaptracker.rules.phases import EndReason
from kaptracker.rules.scales import Occasion, OutcomeRules, Point, Scale, outcome
from kaptracker.rules.screening import Decision
from kaptracker.rules.vitals import Level
from tests.html_support import parse

ALL_KINDS = {"alert", "self_harm", "override", "screening", "integration", "unsigned", "review",
             "no_contact", "over_plan", "break_glass"}
SUPERVISORS_ONLY = {"override", "break_glass"}


def _course(client, therapist, *, route=Route.IM, planned=3, days_ago=60, ended=None):
    course = Course(client_id=client.id, planned_route=route, planned_medicine_sessions=planned,
                    goals="Goals", started_on=clock.today() - dt.timedelta(days=days_ago),
                    created_by_id=therapist.id, created_at=utcnow() - dt.timedelta(days=days_ago))
    if ended:
        course.end_reason, course.ended_on = ended, clock.today()
    db.session.add(course)
    db.session.flush()
    return course


def _ready(course, therapist, medical, at):
    """A signed eligible screening and a signed preparation note at ``at``."""
    screening = Screening(course_id=course.id, author_id=therapist.id, occurred_at=at, decision=Decision.ELIGIBLE,
                          signed_at=at, signed_by_id=medical.id)
    prep = PreparationSession(course_id=course.id, author_id=therapist.id, occurred_at=at,
                              signed_at=at, signed_by_id=therapist.id)
    db.session.add_all([screening, prep])
    db.session.flush()


def _dosing(course, medical, at, *, signed=True):
    session = DosingSession(course_id=course.id, author_id=medical.id, occurred_at=at, started_at=at,
                            route=course.planned_route)
    db.session.add(session)
    db.session.flush()
    return session


@pytest.fixture
def world(make_user, make_client):
    """Two therapists; one item of every kind (each on its own client) for the first, a few for the
    second."""
    now = utcnow()
    ash, bea = make_user("therapist", name="Ash Therapist"), make_user("therapist", name="Bea Therapist")
    medical, supervisor = make_user("medical"), make_user("supervisor")
    ids = {}

    def client_of(therapist, family):
        return make_client(therapist, family_name=family)

    # alert (IV course, medicine phase)
    c = client_of(ash, "Alder")
    course = _course(c, ash, route=Route.IV)
    _ready(course, ash, medical, now - dt.timedelta(days=20))
    dosing = _dosing(course, medical, now - dt.timedelta(hours=3))
    db.session.add(IntegrationSession(course_id=course.id, author_id=ash.id, occurred_at=now - dt.timedelta(hours=1),
                                      dosing_session_id=dosing.id, signed_at=now, signed_by_id=ash.id))
    alert = SafetyAlert(session_id=dosing.id, rule="critical_bp", level=Level.CRITICAL, message="Systolic 204")
    db.session.add(alert)
    # dosing note unsigned for 3 hours: not yet late (24 h)
    db.session.flush()
    ids["alert"] = dosing.id
    # self-harm flag
    c = client_of(ash, "Birch")
    course = _course(c, ash)
    db.session.add(Screening(course_id=course.id, author_id=ash.id, occurred_at=now - dt.timedelta(days=2),
                             decision=Decision.ELIGIBLE, signed_at=now - dt.timedelta(days=2), signed_by_id=medical.id))
    score = OutcomeScore(course_id=course.id, scale=Scale.PHQ9, occasion=Occasion.BASELINE, completed_on=now.date(),
                         answers=[0] * 8 + [1], total=1, band="Minimal", self_harm_flag=True, recorded_by_id=ash.id)
    db.session.add(score)
    db.session.flush()
    ids["self_harm"] = score.id
    # override to review (lozenge course)
    c = client_of(ash, "Cedar")
    course = _course(c, ash, route=Route.LOZENGE)
    _ready(course, ash, medical, now - dt.timedelta(days=10))
    dosing = _dosing(course, medical, now - dt.timedelta(days=2))
    dosing.signed_at, dosing.signed_by_id = now - dt.timedelta(days=2), medical.id
    db.session.add(IntegrationSession(course_id=course.id, author_id=ash.id, occurred_at=now - dt.timedelta(days=1),
                                      dosing_session_id=dosing.id, signed_at=now, signed_by_id=ash.id))
    override = SafetyOverride(session_id=dosing.id, kind="dose_hold", rules="hold_bp", reason="Rechecked",
                              created_by_id=medical.id)
    reviewed = SafetyOverride(session_id=dosing.id, kind="discharge", rules="observation", reason="Escort",
                              created_by_id=medical.id)
    db.session.add_all([override, reviewed])
    db.session.flush()
    db.session.add(OverrideReview(override_id=reviewed.id, reviewed_by_id=supervisor.id, note="Fine"))
    ids["override"] = override.id
    # screening awaiting a decision (preparation)
    c = client_of(ash, "Dogwood")
    course = _course(c, ash, days_ago=3)
    screening = Screening(course_id=course.id, author_id=ash.id, occurred_at=now - dt.timedelta(hours=2))
    db.session.add(screening)
    db.session.flush()
    ids["screening"] = screening.id
    # integration overdue (10 days, due 7)
    c = client_of(ash, "Elm")
    course = _course(c, ash)
    _ready(course, ash, medical, now - dt.timedelta(days=20))
    dosing = _dosing(course, medical, now - dt.timedelta(days=10))
    dosing.signed_at, dosing.signed_by_id = now - dt.timedelta(days=10), medical.id
    ids["integration"] = dosing.id
    # unsigned preparation note, 2 days old
    c = client_of(ash, "Fir")
    course = _course(c, ash)
    prep = PreparationSession(course_id=course.id, author_id=ash.id, occurred_at=now - dt.timedelta(days=2))
    db.session.add(prep)
    db.session.flush()
    ids["unsigned"] = prep.id
    # review comment awaiting the therapist (and an answered one, not listed)
    c = client_of(ash, "Gum")
    course = _course(c, ash)
    db.session.add(PreparationSession(course_id=course.id, author_id=ash.id, occurred_at=now - dt.timedelta(days=1),
                                      signed_at=now, signed_by_id=ash.id))
    question = ReviewComment(course_id=course.id, author_id=supervisor.id, body="Why?")
    answered = ReviewComment(course_id=course.id, author_id=supervisor.id, body="And this?")
    db.session.add_all([question, answered])
    db.session.flush()
    db.session.add(ReviewComment(course_id=course.id, author_id=ash.id, body="Because.", reply_to_id=answered.id))
    ids["review"] = question.id
    # no contact for 40 days
    c = client_of(ash, "Hazel")
    course = _course(c, ash, days_ago=50)
    db.session.add(PreparationSession(course_id=course.id, author_id=ash.id, occurred_at=now - dt.timedelta(days=40),
                                      signed_at=now - dt.timedelta(days=40), signed_by_id=ash.id))
    ids["no_contact"] = course.id
    # more medicine sessions than planned (1 planned, 2 given, both integrated)
    c = client_of(ash, "Ivy")
    course = _course(c, ash, planned=1)
    _ready(course, ash, medical, now - dt.timedelta(days=20))
    for days in (6, 3):
        dosing = _dosing(course, medical, now - dt.timedelta(days=days))
        dosing.signed_at, dosing.signed_by_id = now - dt.timedelta(days=days), medical.id
        db.session.add(IntegrationSession(course_id=course.id, author_id=ash.id,
                                          occurred_at=now - dt.timedelta(days=days - 1),
                                          dosing_session_id=dosing.id, signed_at=now, signed_by_id=ash.id))
    ids["over_plan"] = course.id
    # an ended course with an old unintegrated medicine session: nothing due any more
    c = client_of(ash, "Juniper")
    course = _course(c, ash, ended=EndReason.DISCONTINUED)
    _dosing(course, medical, now - dt.timedelta(days=30))
    # Bea: one unsigned note and a client with no course
    c = client_of(bea, "Kapok")
    course = _course(c, bea, route=Route.IV)
    db.session.add(PreparationSession(course_id=course.id, author_id=bea.id, occurred_at=now - dt.timedelta(days=3)))
    larch = client_of(bea, "Larch")
    from kaptracker.models import BreakGlassGrant

    grant = BreakGlassGrant(user_id=ash.id, client_id=larch.id, reason="Client in crisis at the front desk",
                            granted_at=now - dt.timedelta(hours=2), expires_at=now - dt.timedelta(hours=1))
    db.session.add(grant)
    db.session.commit()
    ids["break_glass"] = grant.id
    return {"ash": ash, "bea": bea, "medical": medical, "supervisor": supervisor, "ids": ids}


def _rows(response):
    doc = parse(response.get_data(as_text=True))
    rows = []
    for tr in doc.find_all("tr"):
        kind = tr.attrs.get("data-kind")
        if kind:
            links = [a.attrs["href"] for a in tr.find_all("a")]
            rows.append((kind, tr.text, links))
    return rows


def _chips(response) -> dict[str, int]:
    doc = parse(response.get_data(as_text=True))
    counts = {}
    for a in doc.find_all("a"):
        if "chip" in a.attrs.get("class", "") and "flag=" in a.attrs.get("href", ""):
            key = a.attrs["href"].split("flag=")[1].split("&")[0]
            counts[key] = int(a.find_all("strong")[0].text)
    return counts


def test_the_supervisor_finds_every_kind_of_item_each_linked_to_its_record(world, client, login):
    login(world["supervisor"])
    response = client.get("/dashboard/")
    assert response.status_code == 200
    rows = _rows(response)
    kinds = {kind for kind, _, _ in rows}
    assert kinds == ALL_KINDS
    chips = _chips(response)
    assert chips["unsigned"] == 2  # Ash's preparation note and Bea's
    assert all(chips[k] == 1 for k in ALL_KINDS - {"unsigned"}), chips
    ids = world["ids"]
    expected = {
        "alert": f"/sessions/{ids['alert']}/vitals",
        "self_harm": f"#flag-{ids['self_harm']}",
        "override": f"/overrides/{ids['override']}",
        "screening": f"/sessions/{ids['screening']}",
        "integration": f"/sessions/{ids['integration']}",
        "review": "#reviews",
        "no_contact": f"/courses/{ids['no_contact']}",
        "over_plan": f"/courses/{ids['over_plan']}",
        "break_glass": "/audit/?client=",
    }
    for kind, _, links in rows:
        if kind in expected:
            assert any(link.endswith(expected[kind]) or expected[kind] in link for link in links), (kind, links)
    event = db.session.scalars(select(AuditEvent).where(AuditEvent.record_type == "dashboard")).one()
    assert event.action is AuditAction.VIEW


def test_the_phase_table_counts_each_therapists_clients(world, client, login):
    login(world["supervisor"])
    doc = parse(client.get("/dashboard/").get_data(as_text=True))
    table = next(t for t in doc.find_all("table") if "phase-table" in t.attrs.get("class", ""))
    by_name = {}
    for tr in table.find_all("tr")[1:]:
        cells = [c.text for c in tr.find_all("th") + tr.find_all("td")]
        by_name[cells[0].split()[0] + " " + cells[0].split()[1]] = cells[1:]
    ash = by_name["Ash Therapist"]
    # clients, no open course, preparation, medicine, integration, completed, discontinued
    assert ash[0] == "10"
    assert ash[1] == "1"  # Juniper: discontinued, still registered as in treatment
    assert ash[6] == "1"  # Juniper's discontinued course
    assert int(ash[2]) + int(ash[3]) + int(ash[4]) == 9
    bea = by_name["Bea Therapist"]
    assert bea[:3] == ["2", "1", "1"]


def test_a_therapist_sees_only_their_caseload_and_no_override_reviews(world, client, login):
    login(world["bea"])
    response = client.get("/dashboard/")
    rows = _rows(response)
    assert [kind for kind, _, _ in rows] == ["unsigned"]
    assert "Kapok" in rows[0][1]
    assert not SUPERVISORS_ONLY & set(_chips(response))
    # A therapist cannot widen the scope with the therapist filter.
    assert [k for k, _, _ in _rows(client.get(f"/dashboard/?therapist={world['ash'].id}"))] == ["unsigned"]
    client.post("/logout")
    login(world["ash"])
    kinds = {k for k, _, _ in _rows(client.get("/dashboard/"))}
    assert kinds == ALL_KINDS - SUPERVISORS_ONLY


@pytest.mark.parametrize(("query", "expected"), [
    ("flag=unsigned", {"unsigned"}),
    ("flag=alert", {"alert"}),
    ("route=iv", {"alert", "unsigned"}),  # Alder's IV course and Bea's IV course
    ("route=lozenge", {"override"}),
    ("phase=preparation", {"screening", "unsigned", "review", "no_contact", "self_harm"}),
])
def test_filters(world, client, login, query, expected):
    login(world["supervisor"])
    kinds = {k for k, _, _ in _rows(client.get(f"/dashboard/?{query}"))}
    assert kinds == expected


def test_filter_by_therapist_and_sorting_and_pages(world, client, login, app):
    login(world["supervisor"])
    kinds = {k for k, _, _ in _rows(client.get(f"/dashboard/?therapist={world['bea'].id}"))}
    assert kinds == {"unsigned", "break_glass"}  # Ash's emergency access to Bea's client
    by_client = _rows(client.get("/dashboard/?sort=client"))
    families = {"Alder", "Birch", "Cedar", "Dogwood", "Elm", "Fir", "Gum", "Hazel", "Ivy", "Kapok", "Larch"}
    ordered = [next(w.rstrip(",") for w in text.split() if w.rstrip(",") in families) for _, text, _ in by_client]
    assert ordered == sorted(ordered) and len(ordered) == 11
    oldest = _rows(client.get("/dashboard/?sort=oldest"))
    newest = _rows(client.get("/dashboard/?sort=newest"))
    assert oldest[0][0] == newest[-1][0] == "no_contact"  # 40 days without contact
    assert newest[0][0] in {"self_harm", "screening", "review"}  # written today
    app.config["WORKLIST_PER_PAGE"] = 4
    seen = []
    for number in (1, 2, 3):
        response = client.get(f"/dashboard/?page={number}")
        seen += _rows(response)
        if number == 1:
            assert "Page 1 of 3 (11 in all)" in response.get_data(as_text=True)
    assert sorted(k for k, _, _ in seen) == sorted(list(ALL_KINDS) + ["unsigned"])


@pytest.mark.parametrize("query", [
    "therapist=abc", "therapist=-1", "therapist=99999999999999999999", "phase=bogus", "route=%00",
    "flag=<script>", "sort=drop", "page=0", "page=-3", "page=999999999999", "tpage=abc", "page=50",
])
def test_odd_query_strings_are_ignored_not_errors(world, client, login, query):
    login(world["supervisor"])
    response = client.get(f"/dashboard/?{query}")
    assert response.status_code == 200
    assert "<script>" not in response.get_data(as_text=True).split("</nav>", 1)[1]


def test_items_leave_the_worklist_when_dealt_with(world, client, login):
    login(world["supervisor"])
    assert _chips(client.get("/dashboard/"))["override"] == 1
    db.session.add(OverrideReview(override_id=world["ids"]["override"], reviewed_by_id=world["supervisor"].id,
                                  note="Reviewed"))
    alert = db.session.scalars(select(SafetyAlert)).one()
    alert.acknowledged_at, alert.acknowledged_by_id = utcnow(), world["medical"].id
    db.session.commit()
    chips = _chips(client.get("/dashboard/"))
    assert chips["override"] == 0 and chips["alert"] == 0


def test_medical_staff_and_admins_have_no_dashboard(world, client, login, make_user):
    login(world["medical"])
    assert client.get("/dashboard/").status_code == 403
    login(make_user("admin"))
    assert client.get("/dashboard/").status_code == 403


def _caseload(make_user, make_client, therapists: int, clients_each: int):
    medical = make_user("medical")
    now = utcnow()
    for _ in range(therapists):
        therapist = make_user("therapist")
        for i in range(clients_each):
            record = make_client(therapist)
            course = _course(record, therapist, route=list(Route)[i % 3])
            _ready(course, therapist, medical, now - dt.timedelta(days=20))
            dosing = _dosing(course, medical, now - dt.timedelta(days=9))
            db.session.add(SafetyAlert(session_id=dosing.id, rule="critical_bp", level=Level.CRITICAL, message="x"))
            db.session.add(OutcomeScore(course_id=course.id, scale=Scale.PHQ9, occasion=Occasion.BASELINE,
                                        completed_on=now.date(), answers=[1] * 9, total=9, band="Mild",
                                        self_harm_flag=True, recorded_by_id=therapist.id))
            db.session.add(ReviewComment(course_id=course.id, author_id=medical.id, body="Comment"))
    db.session.commit()


@pytest.mark.parametrize("url", ["/dashboard/", "/dashboard/?flag=alert&sort=client", "/dashboard/outcomes",
                                 "/supervision/"])
def test_query_count_does_not_grow_with_the_caseload(url, make_user, make_client, client, login, count_queries):
    supervisor = make_user("supervisor")
    login(supervisor)
    counts = []
    for therapists, clients_each in ((1, 2), (5, 4)):  # 2 clients, then 22 in all
        _caseload(make_user, make_client, therapists, clients_each)
        with count_queries() as counted:
            assert client.get(url).status_code == 200
        counts.append(counted.n)
    assert counts[0] == counts[1], (url, counts)
    assert counts[1] <= 14, (url, counts)


# --- outcomes across the caseload --------------------------------------------------------------


def test_caseload_outcomes_agree_with_the_pure_rules(make_user, make_client, client, login):
    """Random score histories: the SQL figures equal the rules applied course by course."""
    rng = random.Random(5)
    therapist = make_user("therapist")
    expected: dict[tuple[str, str], list[int]] = {}
    today = clock.today()
    rules = OutcomeRules()
    for i in range(24):
        record = make_client(therapist, indications=[["depression"], ["ptsd"], ["anxiety", "ptsd"]][i % 3])
        course = _course(record, therapist, route=list(Route)[i % 3])
        for scale in (Scale.PHQ9, Scale.GAD7):
            points = []
            for k in range(rng.randint(0, 4)):
                total = rng.randint(0, scale.spec.maximum)
                occasion = Occasion.BASELINE if (k == 1 and rng.random() < 0.5) else Occasion.FOLLOW_UP
                day = today - dt.timedelta(days=rng.randint(0, 60))
                in_error = rng.random() < 0.1
                answers = [0] * len(scale.spec.items)
                db.session.add(OutcomeScore(
                    course_id=course.id, scale=scale, occasion=occasion, completed_on=day, answers=answers,
                    total=total, band="x", recorded_by_id=therapist.id,
                    **({"entered_in_error_at": utcnow(), "entered_in_error_by_id": therapist.id,
                        "error_reason": "Duplicate"} if in_error else {})))
                db.session.flush()
                if not in_error:
                    points.append((Point(day, total, occasion), k))
            ordered = [p for p, _ in sorted(points, key=lambda pk: (pk[0].on, pk[1]))]
            result = outcome(scale, ordered, rules)
            if result.measured:
                for group in ("all", course.planned_route.value, *[x for x in record.indications]):
                    key = (str(getattr(group, "value", group)), scale.value)
                    counts = expected.setdefault(key, [0, 0, 0])
                    counts[0] += 1
                    counts[1] += result.responded
                    counts[2] += result.remitted
    db.session.commit()
    from kaptracker.dashboard.outcomes import figures

    got = {}
    for name, rows in figures(rules, 10).items():
        for f in rows:
            got[(f.group, f.scale.value)] = [f.measured, f.responded, f.remitted]
    assert got == expected


def test_rates_only_from_the_minimum_number_of_courses(make_user, make_client, client, login):
    therapist, supervisor = make_user("therapist"), make_user("supervisor")
    today = clock.today()
    for i in range(3):
        course = _course(make_client(therapist), therapist, route=Route.IM)
        for day, total in ((20, 20), (2, 8)):
            db.session.add(OutcomeScore(course_id=course.id, scale=Scale.PHQ9, occasion=Occasion.FOLLOW_UP,
                                        completed_on=today - dt.timedelta(days=day), answers=[0] * 9,
                                        total=total, band="x", recorded_by_id=therapist.id))
    db.session.commit()
    login(supervisor)
    text = parse(client.get("/dashboard/outcomes").get_data(as_text=True)).text
    assert "3 of 3" in text and "too few for a rate" in text and "(100 %)" not in text
    from kaptracker import settings

    settings.change("outcomes.minimum_clients", 3, user=supervisor, reason="Small clinic", approved_by="Medical lead")
    db.session.commit()
    text = parse(client.get("/dashboard/outcomes").get_data(as_text=True)).text
    assert "3 of 3 (100 %)" in text and "0 of 3 (0 %)" in text


def test_the_demo_clinic_shows_every_kind_of_item(runner, client, login):
    assert runner.invoke(args=["seed-demo", "--password", "demo passphrase 1"]).exit_code == 0
    from kaptracker.models import User
    from kaptracker.rules.access import Role

    # The network lead (supervisor@): the Denver supervisor sees only Denver's items.
    supervisor = db.session.scalars(select(User).where(User.role == Role.SUPERVISOR, User.network_lead)).one()
    client.post("/login", data={"email": supervisor.email, "password": "demo passphrase 1"})
    chips = _chips(client.get("/dashboard/"))
    assert set(chips) == ALL_KINDS
    assert all(chips[k] >= 1 for k in ALL_KINDS), chips
