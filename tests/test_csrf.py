"""With CSRF protection on (as in production), a state-changing request without a valid token
changes nothing and gets a clear page."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from kaptracker.extensions import db
from kaptracker.models import Client, UserSession

from conftest import PASSWORD


@pytest.fixture
def csrf_app(make_app):
    app = make_app(WTF_CSRF_ENABLED=True)
    with app.app_context():
        yield app


def _token(http, path):
    html = http.get(path).get_data(as_text=True)
    match = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html)
    return match.group(1)


def sign_in(http, user):
    token = _token(http, "/login")
    response = http.post("/login", data={"email": user.email, "password": PASSWORD, "csrf_token": token})
    assert response.status_code == 302


def test_login_without_a_token_is_refused(csrf_app, make_user):
    user = make_user("therapist")
    http = csrf_app.test_client()
    response = http.post("/login", data={"email": user.email, "password": PASSWORD})
    assert response.status_code == 400
    assert "This form has expired" in response.get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(UserSession)) == 0


def test_login_with_the_token_works(csrf_app, make_user):
    sign_in(csrf_app.test_client(), make_user("therapist"))


CLIENT_FORM = {
    "record_number": "CSRF-1", "given_name": "Token", "family_name": "Less", "date_of_birth": "1980-01-01",
    "phone": "+1 555 0100", "emergency_contact_name": "E", "emergency_contact_relationship": "Friend",
    "emergency_contact_phone": "+1 555 0101", "indications": "depression", "status": "referred",
}


@pytest.mark.parametrize("token", [None, "", "forged-token", "wrong"])
def test_creating_a_client_needs_a_valid_token(csrf_app, make_user, token):
    user = make_user("therapist")
    http = csrf_app.test_client()
    sign_in(http, user)
    data = {**CLIENT_FORM, "therapist_id": str(user.id)}
    if token is not None:
        data["csrf_token"] = token
    response = http.post("/clients/new", data=data)
    assert response.status_code == 400
    assert db.session.scalar(select(func.count()).select_from(Client)) == 0
    # With the page's own token the same request succeeds.
    data["csrf_token"] = _token(http, "/clients/new")
    assert http.post("/clients/new", data=data).status_code == 302
    assert db.session.scalar(select(func.count()).select_from(Client)) == 1


def test_logout_without_a_token_keeps_the_session(csrf_app, make_user):
    http = csrf_app.test_client()
    sign_in(http, make_user("therapist"))
    assert http.post("/logout").status_code == 400
    assert http.get("/account").status_code == 200


def test_a_token_from_another_session_is_refused(csrf_app, make_user):
    mallory, victim = csrf_app.test_client(), csrf_app.test_client()
    user = make_user("supervisor")
    sign_in(victim, user)
    stolen = _token(mallory, "/login")  # a token minted for the attacker's own session
    response = victim.post("/clients/new", data={**CLIENT_FORM, "therapist_id": "1", "csrf_token": stolen})
    assert response.status_code == 400


def test_get_requests_change_nothing(csrf_app, make_user, make_client):
    """No route changes state on GET: sign-out, reassign and account actions refuse it."""
    http = csrf_app.test_client()
    user = make_user("admin")
    sign_in(http, user)
    for path in ("/logout", f"/admin/users/{user.id}/active", f"/admin/users/{user.id}/unlock",
                 f"/admin/users/{user.id}/reset-password"):
        assert http.get(path).status_code == 405, path
    assert http.get("/account").status_code == 200
