"""HTTP hardening: headers, cookies, caching, error pages, no inline script."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from sqlalchemy import select

from kaptracker.extensions import db
from kaptracker.models import Client, Site

ROOT = Path(__file__).resolve().parents[1]


def test_security_headers_on_every_page(client, make_client, login, make_user):
    user = make_user("therapist")
    record = make_client(user)
    anonymous = client.get("/login")
    login(user)
    patient_page = client.get(f"/clients/{record.id}")
    for response in (anonymous, patient_page):
        h = response.headers
        csp = h["Content-Security-Policy"]
        assert "default-src 'self'" in csp and "frame-ancestors 'none'" in csp
        assert "script-src 'self'" in csp and "unsafe-inline" not in csp and "unsafe-eval" not in csp
        assert "object-src 'none'" in csp and "form-action 'self'" in csp
        assert h["X-Content-Type-Options"] == "nosniff"
        assert h["X-Frame-Options"] == "DENY"
        assert h["Referrer-Policy"] == "same-origin"
        assert "Strict-Transport-Security" not in h  # plain HTTP: HSTS would be ignored anyway
    assert patient_page.headers["Cache-Control"] == "no-store"


def test_static_files_may_be_cached(client):
    response = client.get("/static/css/app.css")
    response.close()
    assert response.headers.get("Cache-Control") != "no-store"


def test_hsts_and_secure_cookie_over_https(client, make_user):
    user = make_user("therapist")
    response = client.post(
        "/login", base_url="https://clinic.example.org",
        data={"email": user.email, "password": "correct horse battery staple"},
    )
    assert "max-age=31536000" in response.headers["Strict-Transport-Security"]
    cookie = response.headers["Set-Cookie"]
    assert "Secure" in cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie


def test_session_cookie_over_http_is_httponly_samesite_and_not_secure(client, login, make_user):
    response = login(make_user("therapist"))
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" not in cookie


def test_forwarded_https_is_trusted_only_when_configured(make_app, make_user):
    """Behind a TLS-terminating proxy (PROXY_FIX_X_PROTO=1) the cookie is Secure; without that
    setting a client cannot make the app believe it is on HTTPS."""
    user = make_user("therapist")
    form = {"email": user.email, "password": "correct horse battery staple"}
    behind_proxy = make_app(PROXY_FIX_X_FOR=1, PROXY_FIX_X_PROTO=1)
    response = behind_proxy.test_client().post("/login", data=form, headers={"X-Forwarded-Proto": "https"})
    assert "Secure" in response.headers["Set-Cookie"]
    direct = make_app()
    response = direct.test_client().post("/login", data=form, headers={"X-Forwarded-Proto": "https"})
    assert "Secure" not in response.headers["Set-Cookie"]


TEMPLATES = sorted((ROOT / "templates").rglob("*.html"))


@pytest.mark.parametrize("template", TEMPLATES, ids=lambda p: str(p.relative_to(ROOT)))
def test_templates_have_no_inline_script_or_style(template):
    """The strict Content Security Policy forbids inline code: keep it out of the templates."""
    html = template.read_text()
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html), "inline <script>"
    assert not re.search(r"\son[a-z]+\s*=", html), "inline event handler"
    assert not re.search(r"\sstyle\s*=", html), "inline style attribute"
    assert "<style" not in html
    assert "http://" not in html and "https://" not in html, "assets must come from static/"


def test_friendly_404_page(client):
    response = client.get("/no/such/page")
    assert response.status_code == 404
    assert "Not found" in response.get_data(as_text=True)


def test_server_error_page_rolls_back_the_session(make_app, make_user, make_client):
    app = make_app(PROPAGATE_EXCEPTIONS=False)

    @app.route("/boom")
    def boom():
        therapist = make_user("therapist")
        db.session.add(Client(record_number="HALF-1", given_name="Half", family_name="Saved",
                              date_of_birth=__import__("datetime").date(1980, 1, 1), phone="555 0100",
                              emergency_contact_name="x", emergency_contact_relationship="y",
                              emergency_contact_phone="555 0101", therapist_id=therapist.id,
                              home_site_id=db.session.scalar(select(Site.id))))
        db.session.flush()
        raise RuntimeError("bug in a view")

    from kaptracker.access import public

    public(app.view_functions["boom"])
    with app.app_context():
        response = app.test_client().get("/boom")
        assert response.status_code == 500
        html = response.get_data(as_text=True)
        assert "Something went wrong" in html and "bug in a view" not in html
        db.session.remove()
        assert db.session.scalar(select(Client).where(Client.record_number == "HALF-1")) is None


def test_database_outage_gives_a_friendly_page(make_app, tmp_path):
    app = make_app(SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp_path}/absent/db.sqlite3", PROPAGATE_EXCEPTIONS=False)
    with app.app_context():
        http = app.test_client()
        response = http.post("/login", data={"email": "a@b.org", "password": "x" * 12})
        assert response.status_code == 503
        assert "The database is not answering" in response.get_data(as_text=True)
        assert http.get("/healthz").status_code == 503
