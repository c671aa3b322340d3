"""Who may use which route: one table over every route of the app, every role, and own versus
another therapist's client. Adding a route without adding it here fails
test_every_route_is_in_the_table."""

from __future__ import annotations

import pytest
from flask import Flask
from sqlalchemy import select

from kaptracker import clock
from kaptracker.access import declared_access
from kaptracker.extensions import db
from kaptracker.models import AuditAction, AuditEvent, ClientStatus

PUBLIC = "public"
ANYONE = "anyone signed in"
T, M, S, A = "therapist", "medical", "supervisor", "admin"

# endpoint: (method, url template, roles allowed). In client URLs {own} is a client of the
# signed-in therapist (in treatment) and {other} one of another therapist; {site} is their site.
ROUTES = {
    "static": ("GET", "/static/css/app.css", PUBLIC),
    "main.healthz": ("GET", "/healthz", PUBLIC),
    "auth.login": ("GET", "/login", PUBLIC),
    "main.index": ("GET", "/", ANYONE),
    "main.choose_site": ("POST", "/site", ANYONE),
    "auth.account": ("GET", "/account", ANYONE),
    "auth.logout": ("POST", "/logout", ANYONE),
    "clients.index": ("GET", "/clients/", {T, M, S}),
    "clients.create": ("GET", "/clients/new", {T, S}),
    "clients.show": ("GET", "/clients/{own}", {T, M, S}),
    "clients.edit": ("GET", "/clients/{own}/edit", {T, S}),
    "clients.reassign": ("POST", "/clients/{own}/reassign", {S}),
    "courses.new": ("GET", "/clients/{own}/courses/new", {T, S}),
    "courses.show": ("GET", "/courses/{course}", {T, M, S}),
    "courses.end": ("GET", "/courses/{course}/end", {T, S}),
    "courses.new_session": ("GET", "/courses/{course}/sessions/new/preparation", {T}),
    "courses.show_session": ("GET", "/sessions/{session}", {T, M, S}),
    "courses.edit_session": ("GET", "/sessions/{session}/edit", {T}),
    "courses.sign_session": ("GET", "/sessions/{session}/sign", {T, M, S}),
    "courses.cosign_session": ("POST", "/sessions/{session}/cosign", {S}),
    "courses.add_addendum": ("POST", "/sessions/{session}/addenda", {T, M, S}),
    "courses.add_administration": ("POST", "/sessions/{dosing}/administrations", {M}),
    "vitals.today": ("GET", "/today", {M}),
    "vitals.session_vitals": ("GET", "/sessions/{dosing}/vitals", {T, M, S}),
    "vitals.record_vitals": ("POST", "/sessions/{dosing}/vitals", {M}),
    "vitals.mark_in_error": ("POST", "/vitals/{vital}/error", {M}),
    "vitals.acknowledge": ("POST", "/alerts/{alert}/acknowledge", {M, S}),
    "vitals.add_override": ("POST", "/sessions/{dosing}/overrides", {M}),
    "exports.client_fhir": ("GET", "/clients/{own}/fhir", {T, S}),
    "exports.caseload_csv": ("GET", "/exports/caseload.csv", {T, S}),
    "exports.course_vitals_csv": ("GET", "/courses/{course}/vitals.csv", {T, M, S}),
    "reports.course_summary": ("GET", "/courses/{course}/summary", {T, M, S}),
    "reports.course_summary_pdf": ("GET", "/courses/{course}/summary.pdf", {T, M, S}),
    "disclosures.client_disclosures": ("GET", "/clients/{own}/disclosures", {T, S}),
    "disclosures.client_disclosures_csv": ("GET", "/clients/{own}/disclosures.csv", {T, S}),
    "breakglass.request_access": ("GET", "/emergency-access", {T, M, S}),
    "dashboard.index": ("GET", "/dashboard/", {T, S}),
    "dashboard.outcomes": ("GET", "/dashboard/outcomes", {S}),
    "outcomes.new_score": ("GET", "/courses/{course}/scores/new/phq9", {T, M}),
    "outcomes.acknowledge": ("POST", "/scores/{score}/acknowledge", {T, M, S}),
    "outcomes.mark_in_error": ("POST", "/scores/{score}/error", {T, M}),
    "supervision.add_comment": ("POST", "/courses/{course}/reviews", {S}),
    "supervision.reply": ("POST", "/reviews/{comment}/reply", {T, S}),
    "supervision.cosign_worklist": ("GET", "/supervision/", {S}),
    "supervision.cosign": ("POST", "/supervision/cosign/{session}", {S}),
    "supervision.review_override": ("GET", "/overrides/{override}", {S}),
    "admin.users": ("GET", "/admin/users", {A}),
    "admin.user_new": ("GET", "/admin/users/new", {A}),
    "admin.user_edit": ("GET", "/admin/users/{target}", {A}),
    "admin.user_reset_password": ("POST", "/admin/users/{target}/reset-password", {A}),
    "admin.user_unlock": ("POST", "/admin/users/{target}/unlock", {A}),
    "admin.user_sites": ("POST", "/admin/users/{target}/sites", {A}),
    "admin.user_toggle_active": ("POST", "/admin/users/{target}/active", {A}),
    "admin.settings": ("GET", "/admin/settings", {A}),
    "admin.sites": ("GET", "/admin/sites", {A}),
    "admin.site_new": ("GET", "/admin/sites/new", {A}),
    "admin.site_edit": ("GET", "/admin/sites/{site}", {A}),
    "audit.index": ("GET", "/audit/", {S, A}),
}
ROLES = [None, T, M, S, A]


def test_every_route_is_in_the_table(app: Flask):
    endpoints = {rule.endpoint for rule in app.url_map.iter_rules()}
    assert endpoints == set(ROUTES), (
        "Routes missing from the access table: "
        f"{sorted(endpoints - set(ROUTES))}; stale entries: {sorted(set(ROUTES) - endpoints)}"
    )


def test_every_route_declares_its_access_rule(app: Flask):
    with app.test_request_context():
        undeclared = [e for e in app.view_functions if declared_access(e) is None]
    assert undeclared == []


def _course_with_sessions(client, therapist, medical):
    """An open course with a draft preparation session and a draft medicine session."""
    import datetime as dt

    from kaptracker.models import Course, DosingSession, PreparationSession, utcnow
    from kaptracker.rules.dosing import Route

    course = Course(client_id=client.id, planned_route=Route.IM, planned_medicine_sessions=4,
                    goals="Goals", started_on=clock.today(), created_by_id=therapist.id)
    db.session.add(course)
    db.session.flush()
    now = utcnow()
    preparation = PreparationSession(course_id=course.id, author_id=therapist.id, occurred_at=now, note="n")
    dosing = DosingSession(course_id=course.id, author_id=medical.id, occurred_at=now, started_at=now,
                           route=Route.IM)
    db.session.add_all([preparation, dosing])
    db.session.flush()
    from kaptracker.models import SafetyAlert, VitalSign
    from kaptracker.rules.vitals import Level, Timepoint

    vital = VitalSign(session_id=dosing.id, taken_at=now, timepoint=Timepoint.BASELINE, systolic=204,
                      diastolic=96, heart_rate=80, recorded_by_id=medical.id)
    db.session.add(vital)
    db.session.flush()
    alert = SafetyAlert(session_id=dosing.id, vital_sign_id=vital.id, rule="critical_bp",
                        level=Level.CRITICAL, message="Systolic 204")
    db.session.add(alert)
    from kaptracker.models import OutcomeScore, ReviewComment, SafetyOverride, User
    from kaptracker.rules.access import Role
    from kaptracker.rules.scales import Occasion, Scale

    score = OutcomeScore(course_id=course.id, scale=Scale.PHQ9, occasion=Occasion.BASELINE,
                         completed_on=clock.today(), answers=[1] * 9, total=9, band="Mild",
                         self_harm_flag=True, recorded_by_id=therapist.id)
    supervisor = db.session.scalars(select(User).where(User.role == Role.SUPERVISOR)).first()
    comment = ReviewComment(course_id=course.id, author_id=(supervisor or therapist).id, body="Comment")
    override = SafetyOverride(session_id=dosing.id, kind="dose_hold", rules="hold_bp", reason="Reason",
                              created_by_id=medical.id)
    db.session.add_all([score, comment, override])
    db.session.commit()
    return {"course": course.id, "session": preparation.id, "dosing": dosing.id, "vital": vital.id,
            "alert": alert.id, "score": score.id, "comment": comment.id, "override": override.id}


@pytest.fixture
def world(make_user, make_client):
    """A therapist with a client and course, another therapist with the same, a target account."""
    therapist = make_user(T)
    other_therapist = make_user(T)
    users = {T: therapist, M: make_user(M), S: make_user(S), A: make_user(A)}
    own = make_client(therapist, status=ClientStatus.ACTIVE)
    other = make_client(other_therapist, status=ClientStatus.ACTIVE)
    target = make_user(T)
    return {
        "users": users,
        "own": {"own": own.id, "site": own.home_site_id, **_course_with_sessions(own, therapist, users[M])},
        "other": {"own": other.id, **_course_with_sessions(other, other_therapist, users[M])},
        "target": target.id,
    }


def _request(http, method, url):
    return http.open(url, method=method, data={})


@pytest.mark.parametrize("role", ROLES, ids=lambda r: r or "anonymous")
@pytest.mark.parametrize("endpoint", sorted(ROUTES))
def test_access_table(endpoint, role, world, client, login):
    method, template, allowed = ROUTES[endpoint]
    url = template.format(**world["own"], target=world["target"])
    if role is not None:
        login(world["users"][role])
    response = _request(client, method, url)
    response.close()  # static files are streamed
    location = response.headers.get("Location", "")

    if endpoint == "auth.logout" and role is not None:
        # Signing out ends on the sign-in page, and the session is gone.
        assert response.status_code == 302 and location == "/login"
        assert client.get("/account").headers["Location"].startswith("/login")
    elif allowed == PUBLIC:
        # The sign-in page sends someone already signed in to their start page.
        assert response.status_code == 200 or (role and location == "/")
    elif role is None:
        assert response.status_code == 302 and location.startswith("/login"), (
            f"anonymous {method} {url} gave {response.status_code} {location}"
        )
    elif allowed == ANYONE or role in allowed:
        # 409: allowed to use the route, refused by a clinical rule (explained on the page);
        # 422: allowed, the (empty) form refused with its messages.
        assert response.status_code in (200, 302, 400, 409, 422), f"{role} {url}: {response.status_code}"
        assert not location.startswith("/login"), f"{role} was sent to sign in for {url}"
    else:
        assert response.status_code == 403, f"{role} {method} {url}: {response.status_code}"


CLIENT_ROUTES = [e for e, (_, t, _) in ROUTES.items() if "{" in t and "{target}" not in t and "{site}" not in t]


@pytest.mark.parametrize("endpoint", CLIENT_ROUTES)
def test_another_therapists_client_is_not_found_and_the_attempt_is_audited(
    endpoint, world, client, login
):
    method, template, allowed = ROUTES[endpoint]
    therapist = world["users"][T]
    login(therapist)
    response = _request(client, method, template.format(**world["other"]))
    expected = 404 if T in allowed else 403
    assert response.status_code == expected
    denied = db.session.scalars(
        select(AuditEvent).where(
            AuditEvent.action == AuditAction.DENIED, AuditEvent.user_id == therapist.id
        )
    ).all()
    assert len(denied) == 1
    if expected == 404:
        assert denied[0].record_id in world["other"].values()


def test_a_missing_client_and_an_out_of_scope_client_look_the_same(world, client, login):
    login(world["users"][T])
    missing = client.get("/clients/999999")
    hidden = client.get(f"/clients/{world['other']['own']}")
    assert missing.status_code == hidden.status_code == 404
    assert missing.get_data() == hidden.get_data()


@pytest.mark.parametrize(
    "status, visible",
    [(ClientStatus.REFERRED, True), (ClientStatus.ACTIVE, True),
     (ClientStatus.ON_HOLD, False), (ClientStatus.DISCHARGED, False)],
)
def test_medical_staff_see_clients_awaiting_screening_or_in_treatment(
    status, visible, make_user, make_client, client, login
):
    medical = make_user(M)
    record = make_client(status=status)
    login(medical)
    assert client.get(f"/clients/{record.id}").status_code == (200 if visible else 404)


def test_admins_open_no_clinical_record(world, client, login):
    login(world["users"][A])
    assert client.get(f"/clients/{world['own']['own']}").status_code == 403
    assert client.get("/clients/").status_code == 403


def test_a_route_without_an_access_declaration_is_refused(make_app, make_user, login):
    app = make_app()
    app.add_url_rule("/forgotten", "forgotten", lambda: "patient data")
    with app.app_context():
        http = app.test_client()
        login(make_user(S), http=http)
        assert http.get("/forgotten").status_code == 403


def test_medical_staff_keep_access_to_clients_they_treated_after_discharge(world, client, login):
    """Ending a course discharges the client; whoever wrote their medicine sessions can still open
    them (to add addenda to their own signed notes), while other discharged clients stay hidden."""
    from kaptracker.models import Client

    medical = world["users"][M]
    for key in ("own", "other"):
        db.session.get(Client, world[key]["own"]).status = ClientStatus.DISCHARGED
    db.session.commit()
    login(medical)
    assert client.get(f"/clients/{world['own']['own']}").status_code == 200  # they wrote its dosing session
    assert client.get(f"/sessions/{world['own']['dosing']}").status_code == 200


def test_other_medical_staff_do_not_see_discharged_clients(world, client, login, make_user):
    from kaptracker.models import Client

    db.session.get(Client, world["own"]["own"]).status = ClientStatus.DISCHARGED
    db.session.commit()
    login(make_user(M))  # wrote nothing for this client
    assert client.get(f"/clients/{world['own']['own']}").status_code == 404
