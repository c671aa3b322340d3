"""Attacks on access, over every route of the app (read from its url_map, so new routes are
covered): forged requests without a CSRF token, state changed by GET, open redirects after sign-in,
guessed record ids, a deactivated account's open sessions, and a scripted burst of sign-ins."""

from __future__ import annotations

import re
from urllib.parse import urljoin, urlsplit

import pytest
import sqlalchemy as sa

from kaptracker.extensions import db

from conftest import PASSWORD
from live_support import Browser, live, race  # noqa: F401 - live is a fixture
from test_access import ANYONE, PUBLIC, ROUTES
from test_fuzz import ENDPOINTS, _role, _url, world  # noqa: F401 - world is a fixture

T, M, S, A = "therapist", "medical", "supervisor", "admin"
POST_ROUTES = [e for e, m in ENDPOINTS if m == "POST"]
GET_ROUTES = [e for e, m in ENDPOINTS if m == "GET"]


def snapshot(*, skip_columns=("last_seen_at",), skip_tables=("audit_event",)) -> dict:
    """Every row of every table (but the audit trail of views), to compare before and after."""
    db.session.expire_all()
    dump = {}
    for name, table in db.metadata.tables.items():
        if name in skip_tables:
            continue
        columns = [c for c in table.c if c.name not in skip_columns]
        dump[name] = sorted(map(tuple, db.session.execute(sa.select(*columns))), key=repr)
    db.session.rollback()
    return dump


def audit_changes(before_id: int) -> list[str]:
    """Audit events written since ``before_id`` other than views, exports (a view) and refusals."""
    rows = db.session.execute(sa.text("SELECT action FROM audit_event WHERE id > :i"), {"i": before_id})
    return [a for (a,) in rows if a not in ("view", "denied", "export")]


def last_audit_id() -> int:
    return db.session.scalar(sa.text("SELECT coalesce(max(id), 0) FROM audit_event"))


# --- CSRF: every POST route ----------------------------------------------------------------------


@pytest.fixture
def csrf_app(make_app):
    app = make_app(WTF_CSRF_ENABLED=True)
    with app.app_context():
        yield app


def _sign_in_with_token(http, user):
    html = http.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html).group(1)
    assert http.post("/login", data={"email": user.email, "password": PASSWORD, "csrf_token": token}).status_code == 302


@pytest.mark.parametrize("endpoint", POST_ROUTES)
def test_a_post_without_a_valid_csrf_token_changes_nothing(endpoint, csrf_app, world):
    role = _role(csrf_app, endpoint)
    http = csrf_app.test_client()
    if role:
        _sign_in_with_token(http, world["users"][role])
    html = csrf_app.test_client().get("/login").get_data(as_text=True)
    another_sessions = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html).group(1)
    url = _url(csrf_app, endpoint, "POST", world["ids"]["own"], world["ids"]["target"])
    for token in (None, "", "IjAwMDAi.forged.token", another_sessions):
        data = {"note": "x", "reason": "x", "name": "Renamed", "email": world["users"][T].email,
                "password": PASSWORD, "acknowledgement_note": "x", "therapist_id": str(world["users"][T].id)}
        if token is not None:
            data["csrf_token"] = token
        before, audit = snapshot(), last_audit_id()
        response = http.post(url, data=data)
        assert response.status_code == 400, (token, response.status_code)
        assert "This form has expired" in response.get_data(as_text=True)
        assert snapshot() == before, token
        assert audit_changes(audit) == [], token


# --- GET changes nothing -------------------------------------------------------------------------


@pytest.mark.parametrize("endpoint", GET_ROUTES)
def test_no_get_request_changes_anything_but_the_audit_trail_of_views(endpoint, app, world, login):
    allowed = ROUTES.get(endpoint, ("", "", {T, M, S, A}))[2]
    roles = [None] if allowed == PUBLIC else [T, M, S, A] if allowed == ANYONE else [r for r in (T, M, S, A) if r in allowed]
    for role in roles + [None]:
        http = app.test_client()
        if role:
            login(world["users"][role], http=http)
        for caseload in ("own", "other", "outside"):
            url = _url(app, endpoint, "GET", world["ids"][caseload], world["ids"]["target"])
            before, audit = snapshot(), last_audit_id()
            for query in ({}, {"next": "//evil.example", "status": "active", "page": "2"}):
                response = http.get(url, query_string=query)
                response.close()
                assert response.status_code < 500
            assert snapshot() == before, f"GET {url} as {role} changed the database"
            assert audit_changes(audit) == [], f"GET {url} as {role} audited a change"


# --- open redirects after sign-in ----------------------------------------------------------------

EVIL = ["//evil.example", "https://evil.example", "http://evil.example/clients/", "\\\\evil.example",
        "/\\evil.example", "\\/evil.example", "javascript:alert(1)", "JaVaScRiPt:alert(1)",
        "data:text/html,<script>alert(1)</script>", "///evil.example", "////evil.example",
        "https:/evil.example", "http:evil.example", " //evil.example", "\t//evil.example",
        "/\t/evil.example", "/\n/evil.example", "//evil.example@localhost", "//localhost@evil.example",
        "%2F%2Fevil.example", "/%5Cevil.example", "ftp://evil.example", "//evil%2Eexample", "\x00//evil.example",
        "/login?next=//evil.example", "https://localhost.evil.example/"]


@pytest.mark.parametrize("target", EVIL)
def test_the_next_redirect_after_sign_in_stays_on_this_site(target, client, make_user):
    user = make_user("therapist")
    response = client.post("/login", query_string={"next": target}, data={"email": user.email, "password": PASSWORD})
    assert response.status_code == 302
    location = response.headers["Location"]
    resolved = urlsplit(urljoin("http://localhost/", location))
    assert (resolved.scheme, resolved.netloc) == ("http", "localhost"), (target, location)
    assert location.startswith("/") and not location.startswith("//") and "\\" not in location
    assert not re.search(r"[\x00-\x1f]", location)
    # A later redirect from that page cannot bounce elsewhere either.
    if location.startswith("/login"):
        assert "evil" not in urlsplit(location).netloc


@pytest.mark.parametrize("target", EVIL[:6])
def test_a_signed_out_visit_never_builds_an_offsite_next(target, client):
    response = client.get("/" + target.lstrip("/"))
    location = response.headers.get("Location", "")
    assert not location or urlsplit(urljoin("http://localhost/", location)).netloc == "localhost"


# --- guessing ids --------------------------------------------------------------------------------

ID_ROUTES = sorted({(e, m) for e, m in ENDPOINTS if "{" in ROUTES.get(e, ("", "{"))[1] and "{target}" not in ROUTES.get(e, ("", ""))[1]})


@pytest.mark.parametrize("endpoint, method", ID_ROUTES)
def test_another_caseloads_id_looks_exactly_like_a_missing_one(endpoint, method, app, world, login):
    """As a therapist: the same status and the very same page for a record of another caseload
    as for an id that does not exist, so ids cannot be probed."""
    login(world["users"][T])
    http = app.test_client()
    login(world["users"][T], http=http)
    missing = {k: 987654 for k in world["ids"]["other"]}
    before = snapshot(skip_tables=("audit_event", "user_session"))
    replies = []
    for ids in (world["ids"]["other"], missing, world["ids"]["outside"]):
        response = http.open(_url(app, endpoint, method, ids, world["ids"]["target"]), method=method, data={"note": "x"})
        # The sign-out form's CSRF token carries the second it was made: the rest must be identical.
        replies.append((response.status_code, re.sub(rb'name="csrf_token" value="[^"]+"', b"TOKEN", response.get_data())))
    assert replies[0][0] in (403, 404)
    import difflib

    for other in replies[1:]:
        assert replies[0] == other, f"{endpoint}: {[r[0] for r in replies]}: " + "".join(difflib.unified_diff(
            replies[0][1].decode().splitlines(True), other[1].decode().splitlines(True), n=0))[:800]
    assert snapshot(skip_tables=("audit_event", "user_session")) == before


# --- a deactivated account -----------------------------------------------------------------------


def test_deactivating_an_account_ends_all_its_open_sessions_at_once(app, make_user, make_client, login):
    from kaptracker.models import Client

    therapist, admin = make_user("therapist"), make_user("admin")
    record = make_client(therapist, given_name="Before")
    browsers = [app.test_client() for _ in range(3)]
    for http in browsers:
        login(therapist, http=http)
        assert http.get("/clients/").status_code == 200
    admin_http = app.test_client()
    login(admin, http=admin_http)
    assert admin_http.post(f"/admin/users/{therapist.id}/active").status_code == 302
    for http in browsers:
        # The very next request of every browser is signed out; a write with the old cookie is refused.
        assert http.get("/clients/").headers["Location"].startswith("/login")
        response = http.post(f"/clients/{record.id}/edit", data={"given_name": "After"})
        assert response.status_code == 302 and response.headers["Location"].startswith("/login")
    db.session.expire_all()
    assert db.session.get(Client, record.id).given_name == "Before"
    revoked = db.session.execute(sa.text("SELECT count(*) FROM user_session WHERE user_id = :u AND revoked_at IS NULL"),
                                 {"u": therapist.id}).scalar()
    assert revoked == 0
    # Signing in again is refused too, with the same answer as a wrong password.
    response = app.test_client().post("/login", data={"email": therapist.email, "password": PASSWORD})
    assert response.status_code == 200 and "The email or password is not right" in response.get_data(as_text=True)


# --- sign-in throttling under a burst ------------------------------------------------------------


def test_sign_in_throttling_holds_under_a_concurrent_burst(live, make_user):
    """30 threads guess one account's password at the same moment against the live server: no
    more than the threshold (5) get a 'wrong password' answer, the rest are throttled, and then
    even the right password is refused until the lockout ends."""
    user = make_user("therapist")
    guesses = [lambda i=i: Browser(live).post("/login", {"email": user.email, "password": f"guess {i}"})
               for i in range(30)]
    replies = race(*guesses)
    statuses = sorted(r.status for r in replies)
    answered = statuses.count(200)
    assert statuses.count(429) + answered == 30, statuses
    assert answered <= 5, f"{answered} guesses were checked; the lockout threshold is 5"
    right = Browser(live).post("/login", {"email": user.email, "password": PASSWORD})
    assert right.status == 429
    assert "Too many unsuccessful sign-ins" in right.text
