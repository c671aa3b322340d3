"""Sign-in, throttling, session lifetime and revocation, password changes."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select, update

from kaptracker import config
from kaptracker.auth.views import BAD_CREDENTIALS
from kaptracker.extensions import db
from kaptracker.models import AuditAction, AuditEvent, LoginAttempt, User, UserSession, utcnow
from kaptracker.settings import change

from conftest import PASSWORD

SESSION_COOKIE = "kaptracker_session"


def cookie_value(http) -> str:
    return http.get_cookie(SESSION_COOKIE).value


def replay(app, value: str):
    """A fresh browser that presents a copied session cookie."""
    other = app.test_client()
    other.set_cookie(SESSION_COOKIE, value)
    return other


def signed_out(response) -> bool:
    return response.status_code == 302 and response.headers["Location"].startswith("/login")


def test_sign_in_goes_to_the_role_start_page_and_is_audited(client, make_user):
    user = make_user("therapist")
    response = client.post("/login", data={"email": user.email.upper(), "password": PASSWORD})
    assert response.status_code == 302 and response.headers["Location"] == "/"
    assert client.get("/").headers["Location"] == "/dashboard/"
    event = db.session.scalars(select(AuditEvent).where(AuditEvent.action == AuditAction.LOGIN)).one()
    assert event.user_id == user.id and event.ip == "127.0.0.1"
    assert db.session.get(User, user.id).last_login_at is not None


def test_unknown_account_and_wrong_password_get_the_same_answer(client, make_user):
    user = make_user("therapist")
    wrong = client.post("/login", data={"email": user.email, "password": "not the password"})
    unknown = client.post("/login", data={"email": "nobody@clinic.example.org", "password": "x" * 12})
    assert wrong.status_code == unknown.status_code == 200
    for response in (wrong, unknown):
        html = response.get_data(as_text=True)
        assert BAD_CREDENTIALS in html
        assert 'id="password-error"' in html  # the message sits beside the password field
    failed = db.session.scalars(select(AuditEvent).where(AuditEvent.action == AuditAction.LOGIN_FAILED)).all()
    assert len(failed) == 2


def test_a_deactivated_account_cannot_sign_in(client, make_user):
    user = make_user("therapist", active=False)
    response = client.post("/login", data={"email": user.email, "password": PASSWORD})
    assert BAD_CREDENTIALS in response.get_data(as_text=True)


def test_lockout_after_repeated_failures_even_with_the_right_password(client, make_user):
    user = make_user("therapist")
    for _ in range(5):
        client.post("/login", data={"email": user.email, "password": "wrong password!"})
    response = client.post("/login", data={"email": user.email, "password": PASSWORD})
    assert response.status_code == 429
    assert "Too many unsuccessful sign-ins" in response.get_data(as_text=True)
    assert client.get("/account").status_code == 302  # not signed in


def test_unknown_accounts_lock_out_exactly_like_real_ones(client):
    answers = [
        client.post("/login", data={"email": "ghost@clinic.example.org", "password": "x" * 12}).status_code
        for _ in range(6)
    ]
    assert answers == [200] * 5 + [429]


def test_lockout_ends_when_failures_age_out_of_the_window(client, make_user):
    user = make_user("therapist")
    for _ in range(6):
        client.post("/login", data={"email": user.email, "password": "wrong password!"})
    db.session.execute(update(LoginAttempt).values(at=utcnow() - dt.timedelta(minutes=16)))
    db.session.commit()
    response = client.post("/login", data={"email": user.email, "password": PASSWORD})
    assert response.status_code == 302


def test_a_successful_sign_in_clears_earlier_failures(client, make_user, login):
    user = make_user("therapist")
    for _ in range(4):
        client.post("/login", data={"email": user.email, "password": "wrong password!"})
    login(user)
    remaining = db.session.scalars(select(LoginAttempt).where(LoginAttempt.email == user.email)).all()
    assert [a.succeeded for a in remaining] == [True]


def test_one_address_guessing_many_accounts_is_throttled(app, client, make_user):
    admin = make_user("admin")
    change("auth.ip_threshold", 10, user=admin, reason="test")
    db.session.commit()
    codes = [
        client.post("/login", data={"email": f"user{i}@clinic.example.org", "password": "x" * 12}).status_code
        for i in range(11)
    ]
    assert codes[-1] == 429 and codes[:10] == [200] * 10


def test_the_lockout_threshold_is_a_setting(client, make_user):
    admin = make_user("admin")
    user = make_user("therapist")
    change("auth.lockout_threshold", 3, user=admin, reason="stricter policy")
    db.session.commit()
    codes = [client.post("/login", data={"email": user.email, "password": "wrong password!"}).status_code for _ in range(4)]
    assert codes == [200, 200, 200, 429]


def test_sign_in_gives_a_new_session_identity(app, client, make_user, login):
    """Session fixation: a cookie handed out before sign-in is worth nothing after it."""
    with client.session_transaction() as planted:
        planted["planted_by_attacker"] = "x"
    before = cookie_value(client)
    login(make_user("therapist"))
    after = cookie_value(client)
    assert before != after
    with client.session_transaction() as session:
        assert "planted_by_attacker" not in session
    assert signed_out(replay(app, before).get("/account"))
    assert replay(app, after).get("/account").status_code == 200


def test_a_copied_cookie_is_useless_after_sign_out(app, client, make_user, login):
    login(make_user("therapist"))
    copied = cookie_value(client)
    assert replay(app, copied).get("/clients/").status_code == 200
    client.post("/logout")
    assert signed_out(replay(app, copied).get("/clients/"))
    row = db.session.scalars(select(UserSession)).one()
    assert row.revoked_reason == "logout"


def test_password_change_signs_out_every_other_session_and_renews_this_one(app, client, make_user, login):
    user = make_user("therapist")
    login(user)
    other_browser = app.test_client()
    login(user, http=other_browser)
    old_cookie = cookie_value(client)
    response = client.post(
        "/account",
        data={"current_password": PASSWORD, "new_password": "a new long passphrase", "confirm": "a new long passphrase"},
    )
    assert response.status_code == 302
    assert client.get("/account").status_code == 200  # this browser carries on
    assert signed_out(other_browser.get("/account"))
    assert signed_out(replay(app, old_cookie).get("/account"))
    fresh = app.test_client()
    assert fresh.post("/login", data={"email": user.email, "password": PASSWORD}).status_code == 200
    assert fresh.post("/login", data={"email": user.email, "password": "a new long passphrase"}).status_code == 302


@pytest.mark.parametrize(
    "data, field, message",
    [
        ({"current_password": "wrong one here", "new_password": "a new long passphrase", "confirm": "a new long passphrase"},
         "current_password", "not your current password"),
        ({"current_password": PASSWORD, "new_password": "too short", "confirm": "too short"},
         "new_password", "at least 12 characters"),
        ({"current_password": PASSWORD, "new_password": "password1234", "confirm": "password1234"},
         "new_password", "too common"),
        ({"current_password": PASSWORD, "new_password": "a new long passphrase", "confirm": "something else entirely"},
         "confirm", "differ"),
        ({"current_password": PASSWORD, "new_password": PASSWORD, "confirm": PASSWORD},
         "new_password", "different from the current"),
        ({"current_password": "", "new_password": "", "confirm": ""}, "current_password", "Enter your current password"),
    ],
)
def test_password_change_validation(client, make_user, login, data, field, message):
    user = make_user("therapist")
    login(user)
    html = client.post("/account", data=data).get_data(as_text=True)
    assert f'id="{field}-error"' in html
    error_at = html.index(f'id="{field}-error"')
    assert message in html[error_at : error_at + 300]
    assert db.session.get(User, user.id).password_hash == user.password_hash  # unchanged


def test_idle_sessions_end_after_the_timeout(client, make_user, login):
    login(make_user("therapist"))
    db.session.execute(update(UserSession).values(last_seen_at=utcnow() - dt.timedelta(minutes=16)))
    db.session.commit()
    response = client.get("/clients/")
    assert signed_out(response)
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "signed out after a period of inactivity" in page
    assert db.session.scalars(select(UserSession)).one().revoked_reason == "idle"


def test_activity_keeps_a_session_alive(client, make_user, login):
    login(make_user("therapist"))
    db.session.execute(update(UserSession).values(last_seen_at=utcnow() - dt.timedelta(minutes=14)))
    db.session.commit()
    assert client.get("/clients/").status_code == 200
    db.session.expire_all()
    seen = db.session.scalars(select(UserSession)).one().last_seen_at
    assert utcnow() - seen < dt.timedelta(minutes=1)


def test_the_idle_timeout_is_a_setting(client, make_user, login):
    admin = make_user("admin")
    change("auth.idle_timeout_minutes", 30, user=admin, reason="longer clinic sessions")
    db.session.commit()
    login(make_user("therapist"))
    db.session.execute(update(UserSession).values(last_seen_at=utcnow() - dt.timedelta(minutes=20)))
    db.session.commit()
    assert client.get("/clients/").status_code == 200


def test_sessions_end_after_the_longest_session_time(client, make_user, login):
    login(make_user("therapist"))
    db.session.execute(update(UserSession).values(created_at=utcnow() - dt.timedelta(hours=13)))
    db.session.commit()
    assert signed_out(client.get("/clients/"))


def test_deactivation_ends_open_sessions_at_once(client, make_user, login):
    user = make_user("therapist")
    login(user)
    db.session.execute(update(User).where(User.id == user.id).values(active=False))
    db.session.commit()
    assert signed_out(client.get("/clients/"))


@pytest.mark.parametrize(
    "target, expected",
    [
        ("/clients/?status=active", "/clients/?status=active"),
        ("/account", "/account"),
        ("https://evil.example.com/", "/"),
        ("//evil.example.com/", "/"),
        ("/\\evil.example.com", "/"),
        ("javascript:alert(1)", "/"),
        ("/%0d%0aSet-Cookie:x=1", "/%0d%0aSet-Cookie:x=1"),  # stays on site, header-safe
        ("", "/"),
    ],
)
def test_next_redirect_stays_on_this_site(client, make_user, target, expected):
    user = make_user("therapist")
    response = client.post("/login", query_string={"next": target}, data={"email": user.email, "password": PASSWORD})
    assert response.status_code == 302
    assert response.headers["Location"] == expected


def test_a_signed_out_visit_returns_to_the_page_after_sign_in(client, make_user):
    user = make_user("therapist")
    response = client.get("/clients/?status=active")
    assert response.headers["Location"] == "/login?next=/clients/?status%3Dactive"
    response = client.post(response.headers["Location"], data={"email": user.email, "password": PASSWORD})
    assert response.headers["Location"] == "/clients/?status=active"


def test_no_remember_me_cookie_is_ever_set(client, make_user, login):
    login(make_user("therapist"))
    assert client.get_cookie("remember_token") is None


def test_passwords_are_hashed_with_strong_scrypt_by_default():
    method, n, r, p = config.PASSWORD_HASH_METHOD.split(":")
    assert method == "scrypt" and int(n) >= 2**15 and int(r) >= 8 and int(p) >= 1


def test_stored_hashes_are_salted_scrypt(make_user):
    a, b = make_user("therapist", password="same passphrase here"), make_user("medical", password="same passphrase here")
    assert a.password_hash.startswith("scrypt:")
    assert PASSWORD not in a.password_hash
    # The factory reuses one hash per password for speed; real accounts each get a new salt:
    from kaptracker.auth.sessions import hash_password

    assert hash_password("same passphrase here") != hash_password("same passphrase here")
    assert b.password_hash
