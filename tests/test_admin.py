"""Administration through HTTP: who reaches it, staff accounts, sessions and lockouts, settings."""

from __future__ import annotations

import datetime as dt

import pytest
from conftest import PASSWORD
from html_support import Node, parse
from sqlalchemy import func, select, update

from kaptracker import clock
from kaptracker import settings
from kaptracker.extensions import db
from kaptracker.models import (
    AuditAction,
    AuditEvent,
    SettingChange,
    Site,
    User,
    UserSession,
    utcnow,
)
from kaptracker.rules.access import Role
from tests.course_support import error_beside as message_beside
from kaptracker.rules.settings import SPECS

NEW_PASSWORD = "purple otter kettle mountain"

# --- fixtures and helpers ----------------------------------------------------------------------


def error_beside(doc: Node, field: str) -> str:
    """The error text for ``field``; fails unless it sits in the field's own container."""
    error = doc.by_id(f"{field}-error")
    assert error is not None, f"no error element for {field!r}"
    container = next((a for a in error.ancestors() if "field" in a.classes), None)
    assert container is not None and container.by_id(field) is not None, f"error for {field!r} not beside it"
    control = doc.by_id(field)
    assert f"{field}-error" in control.attrs.get("aria-describedby", "").split()
    assert control.attrs.get("aria-invalid") == "true"
    return error.text


def form_values(doc: Node, field_id: str) -> dict:
    """What a browser would submit for the form that holds ``field_id``."""
    form = next(a for a in doc.by_id(field_id).ancestors() if a.tag == "form")
    values = {}
    for node in form.iter():
        name = node.attrs.get("name")
        if not name:
            continue
        if node.tag == "input" and node.attrs.get("type") not in ("submit", "checkbox"):
            values[name] = node.attrs.get("value") or ""
        elif node.tag == "textarea":
            values[name] = node.raw_text.removeprefix("\r\n")
        elif node.tag == "select":
            options = node.find_all("option")
            chosen = [o for o in options if "selected" in o.attrs] or options[:1]
            values[name] = chosen[0].attrs.get("value", "")
    return values


def flashes(response) -> str:
    return " ".join(n.text for n in parse(response).find_all("p") if "flash" in n.classes)


def events(**where) -> list[AuditEvent]:
    stmt = select(AuditEvent).order_by(AuditEvent.id)
    for key, value in where.items():
        stmt = stmt.where(getattr(AuditEvent, key) == value)
    return list(db.session.scalars(stmt))


def fresh(model, ident):
    db.session.expire_all()
    return db.session.get(model, ident)


def signed_in(http) -> bool:
    """True when ``http`` still holds a working session (False: sent to the sign-in page)."""
    response = http.get("/account")
    if response.status_code == 200:
        return True
    assert response.status_code == 302 and response.headers["Location"].startswith("/login")
    return False


def can_sign_in(app, email, password) -> bool:
    response = app.test_client().post("/login", data={"email": email, "password": password})
    assert response.status_code in (200, 302, 429)
    return response.status_code == 302


def fail_sign_ins(app, email, times=5):
    http = app.test_client()
    for _ in range(times):
        assert http.post("/login", data={"email": email, "password": "wrong password here"}).status_code == 200


def browser_of(app, login, user):
    http = app.test_client()
    login(user, http=http)
    assert signed_in(http)
    return http


@pytest.fixture
def admin(make_user):
    return make_user("admin", name="Avery Admin")


@pytest.fixture
def admin_client(client, login, admin):
    login(admin)
    return client


# --- who reaches /admin ------------------------------------------------------------------------

ADMIN_REQUESTS = [
    ("get", "/admin/users"),
    ("get", "/admin/users/new"),
    ("post", "/admin/users/new"),
    ("get", "/admin/users/{target}"),
    ("post", "/admin/users/{target}"),
    ("post", "/admin/users/{target}/reset-password"),
    ("post", "/admin/users/{target}/unlock"),
    ("post", "/admin/users/{target}/active"),
    ("get", "/admin/settings"),
    ("post", "/admin/settings"),
]


@pytest.mark.parametrize("role", ["therapist", "medical", "supervisor"])
@pytest.mark.parametrize("method, path", ADMIN_REQUESTS)
def test_only_admins_reach_admin_pages(client, login, make_user, role, method, path):
    user = make_user(role)
    target = make_user("therapist", name="Target Person")
    login(user)
    data = {
        "name": "Mallory Role", "email": "mallory@clinic.example.org", "role": "admin",
        "password": NEW_PASSWORD, "confirm": NEW_PASSWORD, "reset-password": NEW_PASSWORD,
        "s_clinic__name": "Hijacked", "reason": "because",
    }
    response = getattr(client, method)(path.format(target=target.id), data=data)
    assert response.status_code == 403
    assert fresh(User, target.id).active and fresh(User, target.id).role is Role.THERAPIST
    assert fresh(User, target.id).name == "Target Person"
    assert db.session.scalar(select(func.count()).select_from(SettingChange)) == 0
    assert db.session.scalar(select(User).where(User.email == "mallory@clinic.example.org")) is None
    assert fresh(User, user.id).role is Role(role)
    denied = events(action=AuditAction.DENIED, user_id=user.id)
    assert len(denied) == 1 and denied[0].record_type == "route"


@pytest.mark.parametrize("method, path", ADMIN_REQUESTS)
def test_anonymous_visitors_are_sent_to_sign_in(client, make_user, method, path):
    target = make_user("therapist")
    response = getattr(client, method)(path.format(target=target.id))
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login")


@pytest.mark.parametrize("path", ["/admin/users", "/admin/users/new", "/admin/users/{admin}", "/admin/settings"])
def test_admins_reach_every_admin_page(admin_client, admin, path):
    response = admin_client.get(path.format(admin=admin.id))
    assert response.status_code == 200
    assert 'aria-current="page"' in response.get_data(as_text=True)


def test_unknown_user_ids_are_404(admin_client):
    assert admin_client.get("/admin/users/4242").status_code == 404
    assert admin_client.post("/admin/users/4242/active").status_code == 404
    assert admin_client.get("/admin/users/99999999999999999999").status_code == 404


def test_users_list_shows_state(admin_client, app, make_user):
    make_user("therapist", name="Dee Deactivated", active=False)
    locked = make_user("medical", name="Lou Locked")
    make_user("supervisor", name="Ola Ordinary")
    fail_sign_ins(app, locked.email)
    rows = users_column(admin_client, "State")
    assert rows["Dee Deactivated"] == "Deactivated"
    assert rows["Lou Locked"] == "Locked out"
    assert rows["Ola Ordinary"] == "Active"


def users_column(admin_client, label: str) -> dict[str, str]:
    """The staff list's column ``label``, by the account's name."""
    doc = parse(admin_client.get("/admin/users"))
    return {tr.find_all("td")[0].text: next(td.text for td in tr.find_all("td") if td.attrs.get("data-label") == label)
            for tr in doc.find_all("tr") if tr.find_all("td")}


def test_users_list_says_where_each_works(admin_client, admin, make_user):
    main = db.session.scalar(select(Site).order_by(Site.id).limit(1))
    den = Site(code="DEN", name="Denver", time_zone="America/Denver")
    old = Site(code="OLD", name="Old Town", time_zone="America/New_York", active=False)
    db.session.add_all([den, old])
    db.session.commit()
    make_user("therapist", name="Tess Both", sites=[den, main])
    make_user("medical", name="Max Main", sites=[main])
    make_user("supervisor", name="Leo Lead", sites=[], network_lead=True)
    make_user("supervisor", name="Oona Old", sites=[old, den])
    sites = users_column(admin_client, "Sites")
    assert sites["Tess Both"] == f"DEN, {main.code}"  # by code
    assert sites["Max Main"] == main.code
    assert sites["Leo Lead"] == "Every site"
    assert sites["Oona Old"] == "DEN, OLD (inactive)"
    assert sites[admin.name] == "—"  # administrators work at no site


def test_users_list_loads_the_sites_in_a_constant_number_of_queries(admin_client, make_user, count_queries):
    counts = []
    for n in (2, 12):
        for _ in range(n):
            make_user("therapist")
        with count_queries() as counted:
            assert admin_client.get("/admin/users").status_code == 200
        counts.append(counted.n)
    assert counts[0] == counts[1], counts


# --- creating accounts -------------------------------------------------------------------------


def new_user_data(**overrides) -> dict:
    data = {
        "name": "Jordan Smithson",
        "email": "jordan.smithson@clinic.example.org",
        "role": "therapist",
        "password": NEW_PASSWORD,
        "confirm": NEW_PASSWORD,
        "sites": [str(db.session.scalar(select(Site.id).order_by(Site.id).limit(1)))],  # the default site
    }
    data.update(overrides)
    return data


NEW_USER_CASES = [
    ("email taken, other case", {"email": "Taken@Clinic.Example.ORG"}, "email",
     "An account with this email already exists."),
    ("email taken, spaces around", {"email": "  taken@clinic.example.org "}, "email",
     "An account with this email already exists."),
    ("no email", {"email": ""}, "email", "Enter an email address."),
    ("bad email", {"email": "jordan@"}, "email", "Enter an email address like name@example.org."),
    ("NUL in email", {"email": "jor\x00dan@clinic.example.org"}, "email", "Enter an email address like"),
    ("huge email", {"email": "j" * 300 + "@clinic.example.org"}, "email", "Use at most 254 characters."),
    ("no name", {"name": "  "}, "name", "Enter the person's name."),
    ("NUL in name", {"name": "Jordan\x00"}, "name", "Remove the invisible control characters"),
    ("huge name", {"name": "J" * 5000}, "name", "Use at most 120 characters."),
    ("short password", {"password": "short pass", "confirm": "short pass"}, "password",
     "Use at least 12 characters."),
    ("common password", {"password": "password1234", "confirm": "password1234"}, "password",
     "This password is too common or too easy to guess."),
    ("one repeated letter", {"password": "a" * 16, "confirm": "a" * 16}, "password", "too common"),
    ("password holds the email's local part",
     {"password": "Jordan.Smithson-rules-2024", "confirm": "Jordan.Smithson-rules-2024"}, "password",
     "Do not use your email address in your password."),
    ("password is the name", {"password": "jordansmithson", "confirm": "jordansmithson"}, "password",
     "Do not use your name as your password."),
    ("password too long", {"password": "x" * 257 + "yz", "confirm": "x" * 257 + "yz"}, "password",
     "Use at most 256 characters."),
    ("no password", {"password": "", "confirm": ""}, "password", "Enter an initial password."),
    ("confirmation differs", {"confirm": NEW_PASSWORD + "!"}, "confirm", "The two passwords differ."),
    ("no confirmation", {"confirm": ""}, "confirm", "Type the password again."),
    ("unknown role", {"role": "superuser"}, "role", "Not a valid choice."),
    ("no role", {"role": ""}, "role", "Not a valid choice."),
]


@pytest.mark.parametrize(
    "overrides, field, message", [c[1:] for c in NEW_USER_CASES], ids=[c[0] for c in NEW_USER_CASES]
)
def test_create_account_refuses_invalid_input_beside_the_field(admin_client, make_user, overrides, field, message):
    make_user("therapist", email="taken@clinic.example.org")
    before = db.session.scalar(select(func.count()).select_from(User))
    data = new_user_data(**overrides)

    response = admin_client.post("/admin/users/new", data=data)

    assert response.status_code == 200
    doc = parse(response)
    assert message in error_beside(doc, field)
    assert db.session.scalar(select(func.count()).select_from(User)) == before
    assert not events(action=AuditAction.CREATE)
    shown = form_values(doc, "name")
    if "\x00" not in data["name"]:
        assert shown["name"] == data["name"].strip()
    if "\x00" not in data["email"]:
        assert shown["email"] == data["email"].strip()
    # Passwords are never sent back to the browser.
    assert shown["password"] == shown["confirm"] == ""
    assert NEW_PASSWORD not in response.get_data(as_text=True)


def test_create_account(admin_client, app, admin):
    response = admin_client.post(
        "/admin/users/new", data=new_user_data(email="Jordan.Smithson@Clinic.Example.org ", role="medical")
    )
    assert response.status_code == 302 and response.headers["Location"] == "/admin/users"
    user = db.session.scalar(select(User).where(User.name == "Jordan Smithson"))
    assert user.email == "jordan.smithson@clinic.example.org"
    assert user.role is Role.MEDICAL and user.active
    assert NEW_PASSWORD not in user.password_hash
    event = events(action=AuditAction.CREATE)[0]
    assert (event.user_id, event.record_type, event.record_id, event.detail) == (admin.id, "user", user.id,
                                                                                 "role medical; sites MAIN")
    assert "Jordan Smithson" in parse(admin_client.get("/admin/users")).text

    assert can_sign_in(app, "JORDAN.SMITHSON@clinic.example.org", NEW_PASSWORD)
    assert not can_sign_in(app, user.email, NEW_PASSWORD + "x")


# --- editing name and role ---------------------------------------------------------------------


def as_loaded(user, **data) -> dict:
    """The edit form's fields with the version it carries when opened (see test_conflicts.py)."""
    from kaptracker.main.conflicts import fingerprint

    return {**data, "version": fingerprint(user.name, user.role.value)}


def test_edit_name_keeps_their_sessions(admin_client, app, login, make_user, admin):
    user = make_user("therapist", name="Old Name")
    theirs = browser_of(app, login, user)
    response = admin_client.post(f"/admin/users/{user.id}", data=as_loaded(user, name="New Name", role="therapist"))
    assert response.status_code == 302
    assert fresh(User, user.id).name == "New Name"
    assert events(action=AuditAction.UPDATE, record_id=user.id)[-1].detail == "changed: name"
    assert signed_in(theirs)


def test_role_change_ends_their_sessions(admin_client, app, login, make_user, admin):
    user = make_user("therapist")
    theirs = browser_of(app, login, user)
    response = admin_client.post(f"/admin/users/{user.id}", data=as_loaded(user, name=user.name, role="supervisor"))
    assert response.status_code == 302
    assert fresh(User, user.id).role is Role.SUPERVISOR
    assert not signed_in(theirs)  # the old cookie no longer works
    rows = db.session.scalars(select(UserSession).where(UserSession.user_id == user.id)).all()
    assert rows and all(r.revoked_reason == "role changed" for r in rows)
    event = events(action=AuditAction.UPDATE, record_id=user.id)[-1]
    assert (event.user_id, event.detail) == (admin.id, "changed: role")
    # Signing in again gives the new role's start page.
    again = app.test_client()
    login(user, http=again)
    assert again.get("/clients/").status_code == 200
    assert "Every client of the clinic" in again.get("/clients/").get_data(as_text=True)
    # The administrator's own session is untouched.
    assert signed_in(admin_client)


def test_saving_without_changes_changes_nothing(admin_client, app, login, make_user):
    user = make_user("therapist")
    theirs = browser_of(app, login, user)
    response = admin_client.post(f"/admin/users/{user.id}", data=as_loaded(user, name=user.name, role="therapist"))
    assert response.status_code == 302
    assert "Nothing was changed." in flashes(admin_client.get(response.headers["Location"]))
    assert not events(action=AuditAction.UPDATE)
    assert signed_in(theirs)


@pytest.mark.parametrize(
    "data, field, message",
    [
        ({"name": "", "role": "therapist"}, "name", "Enter the person's name."),
        ({"name": "X\x00", "role": "therapist"}, "name", "Remove the invisible control characters"),
        ({"name": "Ok Name", "role": "root"}, "role", "Not a valid choice."),
        ({"name": "N" * 121, "role": "therapist"}, "name", "Use at most 120 characters."),
    ],
)
def test_edit_refuses_invalid_input_beside_the_field(admin_client, make_user, data, field, message):
    user = make_user("therapist", name="Stays Same")
    response = admin_client.post(f"/admin/users/{user.id}", data=as_loaded(user, **data))
    assert response.status_code == 200
    assert message in error_beside(parse(response), field)
    after = fresh(User, user.id)
    assert (after.name, after.role) == ("Stays Same", Role.THERAPIST)
    assert not events(action=AuditAction.UPDATE)


def test_the_last_active_admin_keeps_the_role(admin_client, admin, make_user):
    make_user("admin", active=False)  # a deactivated admin does not count
    response = admin_client.post(f"/admin/users/{admin.id}", data=as_loaded(admin, name=admin.name, role="supervisor"))
    assert response.status_code == 200
    assert "This is the last active administrator: keep the role." in error_beside(parse(response), "role")
    assert fresh(User, admin.id).role is Role.ADMIN
    assert not events(action=AuditAction.UPDATE)
    assert signed_in(admin_client)


def test_an_admin_can_hand_over_to_another_active_admin(admin_client, admin, make_user):
    make_user("admin")
    response = admin_client.post(f"/admin/users/{admin.id}", data=as_loaded(admin, name=admin.name, role="supervisor"))
    assert response.status_code == 302
    assert fresh(User, admin.id).role is Role.SUPERVISOR
    assert not signed_in(admin_client)  # their own sessions ended too


# --- deactivating and reactivating -------------------------------------------------------------


def test_deactivation_ends_sessions_at_once_and_reactivation_restores_access(admin_client, app, login, make_user, admin):
    user = make_user("therapist")
    theirs, second = browser_of(app, login, user), browser_of(app, login, user)

    response = admin_client.post(f"/admin/users/{user.id}/active")
    assert response.status_code == 302
    assert "2 open session(s) ended" in flashes(admin_client.get(response.headers["Location"]))
    assert not fresh(User, user.id).active
    response = theirs.get("/clients/")
    assert response.status_code == 302 and response.headers["Location"].startswith("/login")
    assert not signed_in(second)
    assert not can_sign_in(app, user.email, PASSWORD)
    assert events(action=AuditAction.UPDATE, record_id=user.id)[-1].detail == "deactivated"
    assert "Deactivated" in parse(admin_client.get(f"/admin/users/{user.id}")).text

    response = admin_client.post(f"/admin/users/{user.id}/active")
    assert response.status_code == 302
    assert fresh(User, user.id).active
    assert events(action=AuditAction.UPDATE, record_id=user.id)[-1].detail == "reactivated"
    assert not signed_in(theirs)  # ended sessions stay ended
    assert can_sign_in(app, user.email, PASSWORD)


def test_you_cannot_deactivate_yourself(admin_client, admin, make_user):
    make_user("admin")
    response = admin_client.post(f"/admin/users/{admin.id}/active")
    assert response.status_code == 302
    assert "You cannot deactivate your own account." in flashes(admin_client.get(response.headers["Location"]))
    assert fresh(User, admin.id).active
    assert not events(action=AuditAction.UPDATE)
    assert signed_in(admin_client)


def test_an_admin_can_deactivate_another_admin(admin_client, app, login, make_user):
    other = make_user("admin")
    theirs = browser_of(app, login, other)
    assert admin_client.post(f"/admin/users/{other.id}/active").status_code == 302
    assert not fresh(User, other.id).active
    assert not signed_in(theirs)


def test_deactivation_is_post_only(admin_client, make_user):
    user = make_user("therapist")
    assert admin_client.get(f"/admin/users/{user.id}/active").status_code == 405
    assert fresh(User, user.id).active


# --- password reset, lockout and unlock ----------------------------------------------------------


def test_reset_password(admin_client, app, login, make_user, admin):
    user = make_user("therapist")
    theirs = browser_of(app, login, user)
    fail_sign_ins(app, user.email)
    assert not can_sign_in(app, user.email, PASSWORD)  # locked out, even with the right password

    response = admin_client.post(f"/admin/users/{user.id}/reset-password", data={"reset-password": NEW_PASSWORD})
    assert response.status_code == 302
    assert "their open sessions were ended" in flashes(admin_client.get(response.headers["Location"]))
    assert not signed_in(theirs)
    assert not can_sign_in(app, user.email, PASSWORD)
    assert can_sign_in(app, user.email, NEW_PASSWORD)  # lockout cleared as well
    assert fresh(User, user.id).password_changed_at > user.created_at
    event = events(action=AuditAction.UPDATE, record_id=user.id)[-1]
    assert (event.user_id, event.detail) == (admin.id, "password reset by administrator")
    assert NEW_PASSWORD not in (event.detail or "")


@pytest.mark.parametrize(
    "password, message",
    [
        ("short", "Use at least 12 characters."),
        ("", "Enter a new password."),
        ("password1234", "too common"),
        ("p" * 300, "Use at most 256 characters."),
        # The same rules as for a new account, with the person's own email and name.
        ("Robin.Banks-forever-2024", "Do not use your email address in your password."),
        ("robinbanksworth", "Do not use your name as your password."),
    ],
)
def test_reset_password_refuses_weak_passwords(admin_client, app, login, make_user, password, message):
    user = make_user("therapist", email="robin.banks@clinic.example.org", name="Robin Banksworth")
    theirs = browser_of(app, login, user)
    hash_before = fresh(User, user.id).password_hash
    response = admin_client.post(f"/admin/users/{user.id}/reset-password", data={"reset-password": password})
    assert response.status_code == 400
    assert message in error_beside(parse(response), "reset-password")
    assert fresh(User, user.id).password_hash == hash_before
    assert signed_in(theirs)
    assert can_sign_in(app, user.email, PASSWORD)


def test_unlock_after_lockout(admin_client, app, make_user, admin):
    user = make_user("medical")
    fail_sign_ins(app, user.email, times=5)
    assert not can_sign_in(app, user.email, PASSWORD)
    page = parse(admin_client.get(f"/admin/users/{user.id}"))
    assert "Locked out after failed sign-ins" in page.text
    assert page.find_all("form", action=f"/admin/users/{user.id}/unlock")

    response = admin_client.post(f"/admin/users/{user.id}/unlock")
    assert response.status_code == 302
    assert "can sign in again" in flashes(admin_client.get(response.headers["Location"]))
    assert "Locked out" not in parse(admin_client.get(f"/admin/users/{user.id}")).text
    assert can_sign_in(app, user.email, PASSWORD)
    event = events(action=AuditAction.UPDATE, record_id=user.id)[-1]
    assert (event.user_id, event.detail) == (admin.id, "sign-in lockout cleared")


def test_four_failures_do_not_lock_out(app, make_user):
    user = make_user("medical")
    fail_sign_ins(app, user.email, times=4)
    assert can_sign_in(app, user.email, PASSWORD)


# --- settings ----------------------------------------------------------------------------------


def field_id(key: str) -> str:
    return "s_" + key.replace(".", "__")


def settings_form(http) -> dict:
    response = http.get("/admin/settings")
    assert response.status_code == 200
    return form_values(parse(response), "reason")


def count_changes() -> int:
    return db.session.scalar(select(func.count()).select_from(SettingChange))


def test_settings_page_shows_every_setting_with_its_value(admin_client, admin):
    doc = parse(admin_client.get("/admin/settings"))
    for spec in SPECS:
        box = doc.by_id(field_id(spec.key))
        assert box is not None, spec.key
        assert box.attrs["value"] == str(spec.default)
        label = doc.find_all("label", **{"for": field_id(spec.key)})
        assert label and label[0].text == spec.label
    assert "Every setting has its default value." in doc.text

    settings.change("auth.lockout_threshold", 7, user=admin, reason="Fewer help-desk calls")
    settings.change("clinic.timezone", "Europe/London", user=admin, reason="Moved")
    db.session.commit()
    doc = parse(admin_client.get("/admin/settings"))
    assert doc.by_id("s_auth__lockout_threshold").attrs["value"] == "7"
    assert doc.by_id("s_clinic__timezone").attrs["value"] == "Europe/London"
    assert doc.by_id("s_auth__lockout_minutes").attrs["value"] == "15"


SETTING_CASES = [
    ("auth.idle_timeout_minutes", "soon", "Enter a whole number."),
    ("auth.idle_timeout_minutes", "1.5", "Enter a whole number."),
    ("auth.idle_timeout_minutes", "1", "Enter 2 minutes or more."),
    ("auth.idle_timeout_minutes", "241", "Enter 240 minutes or less."),
    ("auth.idle_timeout_minutes", "", "Enter a value for sign out after inactivity."),
    ("auth.idle_timeout_minutes", "9" * 5000, "Enter a whole number."),
    ("clients.minimum_age_years", "-1", "Enter 0 years or more."),
    ("clients.minimum_age_years", "121", "Enter 120 years or less."),
    ("auth.session_max_hours", "25", "Enter 24 hours or less."),
    ("auth.lockout_threshold", "2", "Enter 3 attempts or more."),
    ("auth.lockout_minutes", "0", "Enter 1 minutes or more."),
    ("auth.ip_threshold", "10001", "Enter 10000 attempts or less."),
    ("clinic.timezone", "Mars/Olympus_Mons", "Enter an IANA time zone"),
    ("clinic.timezone", "../../etc/passwd", "Enter an IANA time zone"),
    ("clinic.timezone", "Europe/London\x00", "Remove the invisible control characters"),
    ("clinic.name", "", "Enter a value for clinic name."),
    ("clinic.name", "C" * 201, "Use at most 200 characters."),
    ("clinic.name", "Riverside\x00Clinic", "Remove the invisible control characters"),
    ("clinic.name", "Riverside\x1bClinic", "Remove the invisible control characters"),
]


@pytest.mark.parametrize("key, value, message", SETTING_CASES)
def test_settings_refuse_invalid_values_beside_the_field(admin_client, key, value, message):
    data = settings_form(admin_client)
    data.update({field_id(key): value, "reason": "Approved by Dr Medical Lead"})
    response = admin_client.post("/admin/settings", data=data)
    assert response.status_code == 200
    doc = parse(response)
    assert message in error_beside(doc, field_id(key))
    if "\x00" not in value:
        assert form_values(doc, "reason")[field_id(key)] == value.strip()
    assert form_values(doc, "reason")["reason"] == "Approved by Dr Medical Lead"
    assert count_changes() == 0
    assert not events(action=AuditAction.UPDATE, record_type="setting")
    assert settings.get(key) == next(s.default for s in SPECS if s.key == key)


@pytest.mark.parametrize("reason", ["", "   ", "why\x00"])
def test_settings_need_a_reason(admin_client, reason):
    data = settings_form(admin_client)
    data.update({"s_auth__idle_timeout_minutes": "30", "reason": reason})
    response = admin_client.post("/admin/settings", data=data)
    assert response.status_code == 200
    doc = parse(response)
    assert error_beside(doc, "reason")
    assert form_values(doc, "reason")["s_auth__idle_timeout_minutes"] == "30"
    assert count_changes() == 0


def test_valid_settings_change_is_stored_shown_audited_and_takes_effect(admin_client, app, login, make_user, admin):
    user = make_user("therapist")
    theirs = browser_of(app, login, user)

    def idle_for(minutes):
        db.session.execute(
            update(UserSession).where(UserSession.user_id == user.id)
            .values(last_seen_at=utcnow() - dt.timedelta(minutes=minutes))
        )
        db.session.commit()

    idle_for(5)
    assert signed_in(theirs)  # 5 idle minutes are within the default 15

    data = settings_form(admin_client)
    data.update({"s_auth__idle_timeout_minutes": " 3 ", "s_clinic__name": "Riverside Healing Centre",
                 "reason": "Shared front-desk computers; approved by Dr Lee"})
    response = admin_client.post("/admin/settings", data=data)
    assert response.status_code == 302 and response.headers["Location"] == "/admin/settings"

    rows = db.session.scalars(select(SettingChange).order_by(SettingChange.key)).all()
    assert [(r.key, r.value) for r in rows] == [
        ("auth.idle_timeout_minutes", "3"), ("clinic.name", "Riverside Healing Centre")]
    assert all(r.changed_by_id == admin.id and r.reason == "Shared front-desk computers; approved by Dr Lee"
               for r in rows)
    event = events(action=AuditAction.UPDATE, record_type="setting")[0]
    assert event.user_id == admin.id
    assert event.detail == "changed: clinic.name, auth.idle_timeout_minutes"

    page = admin_client.get("/admin/settings")
    doc = parse(page)
    assert "2 setting(s) changed." in flashes(page)
    history = [[td.text for td in tr.find_all("td")] for tr in doc.find_all("tr") if tr.find_all("td")]
    reason = "Shared front-desk computers; approved by Dr Lee"
    assert [h[1:] for h in history] == [  # newest first; neither is a clinical setting
        ["Sign out after inactivity", "3", "Avery Admin", reason, ""],
        ["Clinic name", "Riverside Healing Centre", "Avery Admin", reason, ""],
    ]
    assert all(h[0] for h in history)  # when
    assert doc.by_id("s_auth__idle_timeout_minutes").attrs["value"] == "3"
    # The clinic name is in every page header.
    brand = [n for n in doc.iter() if "brand__clinic" in n.classes]
    assert brand and brand[0].text == "Riverside Healing Centre"
    assert "Riverside Healing Centre" in parse(theirs.get("/clients/")).find_all("title")[0].text

    # The new idle timeout holds at once: 5 idle minutes now end the session.
    idle_for(5)
    response = theirs.get("/clients/")
    assert response.status_code == 302 and response.headers["Location"].startswith("/login")


def test_saving_unchanged_settings_stores_nothing(admin_client):
    data = settings_form(admin_client)
    data["reason"] = "Just looking"
    response = admin_client.post("/admin/settings", data=data)
    assert response.status_code == 302
    assert "No setting was changed." in flashes(admin_client.get("/admin/settings"))
    assert count_changes() == 0
    assert not events(action=AuditAction.UPDATE, record_type="setting")


def test_a_new_minimum_age_applies_to_registration(admin_client, app, login, make_user):
    data = settings_form(admin_client)
    data.update({"s_clients__minimum_age_years": "25", "reason": "Clinical governance decision"})
    assert admin_client.post("/admin/settings", data=data).status_code == 302
    assert settings.get("clients.minimum_age_years") == 25
    therapist = make_user("therapist")
    http = browser_of(app, login, therapist)
    today = clock.today()
    response = http.post("/clients/new", data={
        "record_number": "AGE-1", "given_name": "Young", "family_name": "Person",
        "date_of_birth": today.replace(year=today.year - 22, day=1).isoformat(),
        "phone": "+1 555 010 0101", "emergency_contact_name": "Parent", "emergency_contact_relationship": "Mother",
        "emergency_contact_phone": "+1 555 010 0102", "indications": ["anxiety"],
        "therapist_id": str(therapist.id), "status": "referred",
    })
    assert response.status_code == 200
    assert "at least 25 years old" in error_beside(parse(response), "date_of_birth")


# --- where staff work ---------------------------------------------------------------------------


@pytest.mark.parametrize("overrides, field, message", [
    ({"sites": []}, "sites", "Choose at least one site this person works at."),
    ({"role": "admin"}, "sites", "Administrators work at no site"),
    ({"network_lead": "y"}, "network_lead", "Only a supervisor can be the network medical lead."),
    ({"sites": ["x"]}, "sites", "Choose among the active sites listed."),
    ({"sites": ["99999"]}, "sites", "Choose among the active sites listed."),
])
def test_a_new_account_works_at_a_site(admin_client, overrides, field, message):
    response = admin_client.post("/admin/users/new", data=new_user_data(**overrides))
    assert response.status_code == 200
    assert message.lower() in message_beside(response, field).lower()
    assert db.session.scalar(select(func.count()).select_from(User).where(User.name == "Jordan Smithson")) == 0


def test_a_network_lead_needs_no_site_chosen(admin_client):
    response = admin_client.post("/admin/users/new", data=new_user_data(role="supervisor", sites=[], network_lead="y"))
    assert response.status_code == 302
    lead = db.session.scalar(select(User).where(User.name == "Jordan Smithson"))
    assert lead.network_lead and lead.role is Role.SUPERVISOR


def test_an_administrator_moves_a_nurse_to_another_site(admin_client, admin, make_user):
    main = db.session.scalar(select(Site).order_by(Site.id).limit(1))
    den = Site(code="DEN", name="Denver", time_zone="America/Denver")
    db.session.add(den)
    db.session.commit()
    nurse = make_user("medical")
    page = parse(admin_client.get(f"/admin/users/{nurse.id}"))
    checked = {i.attrs["value"] for i in page.find_all("input", name="sites") if "checked" in i.attrs}
    assert checked == {str(main.id)}
    assert page.find_all("input", name="network_lead") == []  # a nurse cannot lead the network

    response = admin_client.post(f"/admin/users/{nurse.id}/sites", data={"sites": [str(den.id)]})
    assert response.status_code == 302
    assert "now works at: Denver." in flashes(admin_client.get(response.headers["Location"]))
    assert [s.code for s in db.session.scalar(select(User).where(User.id == nurse.id)).sites] == ["DEN"]
    event = events(action=AuditAction.UPDATE, record_id=nurse.id)[-1]
    assert (event.user_id, event.detail) == (admin.id, "sites MAIN -> sites DEN")

    response = admin_client.post(f"/admin/users/{nurse.id}/sites", data={"sites": []})
    assert response.status_code == 422
    assert "Choose at least one site" in message_beside(response, "sites")
    assert "now works at" not in response.get_data(as_text=True)
    assert response.status_code == 422 and len(events(action=AuditAction.UPDATE, record_id=nurse.id)) == 1
