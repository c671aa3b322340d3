"""Sites (issue 13, first slice): the rules of a site's code, DEA number, zone and crisis line; the
administrator's pages (list, add, edit, deactivate), audited; a client's home site; the demo's and
seed-scale's sites."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from kaptracker.extensions import db
from kaptracker.models import AuditAction, AuditEvent, Client, ClientStatus, Site
from kaptracker.rules import sites as rules

from html_support import parse
from test_clients import error_beside, new_client_data

# --- the rules ----------------------------------------------------------------------------------


@pytest.mark.parametrize("number, problem", [
    ("AB1234563", None),  # (1+3+5) + 2*(2+4+6) = 33: check digit 3
    ("FK4829101", None),
    ("BK1029380", None),  # a sum ending in 0
    ("MJ0000000", None),  # a mid-level practitioner
    ("XA1234563", None),  # X: the last registrant type in the list
    ("AB1234564", "check digit"),
    ("AB1234560", "check digit"),
    ("FK4829102", "check digit"),
    ("IB1234563", "cannot start with I"),
    ("NB1234563", "cannot start with N"),
    ("OB1234563", "cannot start with O"),
    ("QB1234563", "cannot start with Q"),
    ("VB1234563", "cannot start with V"),
    ("WB1234563", "cannot start with W"),
    ("YB1234563", "cannot start with Y"),
    ("ZB1234563", "cannot start with Z"),
    ("AB123456", "2 letters and 7 digits"),
    ("AB12345633", "2 letters and 7 digits"),
    ("A11234563", "2 letters and 7 digits"),
    ("1B1234563", "2 letters and 7 digits"),
    ("AB12345X3", "2 letters and 7 digits"),
    ("ab1234563", "2 letters and 7 digits"),  # the form upper-cases first
    ("AB 1234563", "2 letters and 7 digits"),
    ("", "2 letters and 7 digits"),
])
def test_dea_registration_numbers(number, problem):
    found = rules.dea_problem(number)
    assert (found is None) if problem is None else (problem in found), found


@pytest.mark.parametrize("number, ok", [
    ("AB1234563", True), ("AB1234564", False), ("BK1029380", True), ("BK1029381", False),
    ("AA0000000", True), ("AA0000001", False),
    ("AA9999991", True), ("AA9999997", False),  # 9*3 + 2*(9*3) = 81: the check digit is 1
    ("AA1000001", True), ("AA0100002", True),  # d1 counts once, d2 twice
])
def test_the_dea_checksum(number, ok):
    assert rules.dea_checksum_ok(number) is ok


@pytest.mark.parametrize("code, ok", [
    ("NYC", True), ("DEN", True), ("MAIN", True), ("S001", True), ("AB", True), ("ABCDEFGH", True),
    ("A", False), ("ABCDEFGHI", False), ("nyc", False), ("NY C", False), ("NY-C", False), ("", False),
])
def test_site_codes(code, ok):
    assert (rules.code_problem(code) is None) is ok


@pytest.mark.parametrize("zone, ok", [
    ("America/New_York", True), ("America/Denver", True), ("UTC", True), ("Europe/London", True),
    ("America/Nowhere", False), ("Mars/Olympus", False), ("../etc/passwd", False), ("/etc/localtime", False),
    ("America/New_York\x00", False), ("", False),
])
def test_site_time_zones(zone, ok):
    assert (rules.time_zone_problem(zone) is None) is ok


@pytest.mark.parametrize("line, ok", [
    ("988", True), ("+1 800 273 8255", True), ("(800) 273-8255", True), ("98", False), ("nine eight eight", False),
    ("9" * 16, False),
])
def test_crisis_lines(line, ok):
    assert (rules.crisis_line_problem(line) is None) is ok


@pytest.mark.parametrize("open_clients, others, problem", [
    (0, 1, None), (1, 1, "1 client not yet discharged"), (3, 2, "3 clients not yet discharged"),
    (0, 0, "only active site"),
])
def test_deactivation(open_clients, others, problem):
    found = rules.deactivation_problem(open_clients=open_clients, other_active_sites=others)
    assert (found is None) if problem is None else (problem in found), found


# --- the pages --------------------------------------------------------------------------------


def site_data(**overrides) -> dict:
    data = {"code": "DEN", "name": "Denver", "address": "1700 Imaginary Avenue\nDenver, CO",
            "time_zone": "America/Denver", "phone": "+1 303 555 0175", "dea_registration": "FM7304152",
            "crisis_line": "988"}
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


@pytest.fixture
def admin(make_user, login):
    user = make_user("admin", name="Ada Admin")
    login(user)
    return user


def default_site() -> Site:
    return db.session.scalar(sa.select(Site).order_by(Site.id).limit(1))


def site_events(action=None) -> list[AuditEvent]:
    db.session.expire_all()
    stmt = sa.select(AuditEvent).where(AuditEvent.record_type == "site").order_by(AuditEvent.id)
    if action is not None:
        stmt = stmt.where(AuditEvent.action == action)
    return list(db.session.scalars(stmt))


def edit_data(site: Site, **overrides) -> dict:
    data = {"code": site.code, "name": site.name, "address": site.address or "", "time_zone": site.time_zone,
            "phone": site.phone or "", "dea_registration": site.dea_registration or "",
            "crisis_line": site.crisis_line, "version": str(site.version)}
    if site.active:
        data["active"] = "y"
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def test_the_list_shows_the_default_site_and_its_clients(client, admin, make_client):
    make_client(status=ClientStatus.ACTIVE)
    make_client(status=ClientStatus.DISCHARGED)
    response = client.get("/admin/sites")
    assert response.status_code == 200
    row = next(r for r in parse(response).find_all("tr") if "MAIN" in r.text)
    assert "KAP Clinic" in row.text and "America/New_York" in row.text and "988" in row.text
    assert "2 (1 not discharged)" in row.text and "Active" in row.text
    nav = parse(client.get("/admin/sites")).find_all("a", href="/admin/sites")
    assert nav, "the admin navigation links to the sites"


def test_adding_a_site(client, admin):
    response = client.post("/admin/sites/new", data=site_data(code=" den ", dea_registration="fm7304152"))
    assert response.status_code == 302 and response.headers["Location"] == "/admin/sites"
    site = db.session.scalar(sa.select(Site).where(Site.code == "DEN"))
    assert (site.name, site.time_zone, site.dea_registration, site.crisis_line, site.active, site.version) == (
        "Denver", "America/Denver", "FM7304152", "988", True, 1)
    [event] = site_events(AuditAction.CREATE)
    assert (event.record_id, event.user_id, event.detail, event.route) == (site.id, admin.id, "site DEN",
                                                                           "admin.site_new")
    assert "Denver (DEN) is added" in client.get("/admin/sites").get_data(as_text=True)


def test_the_crisis_line_starts_as_988(client, admin):
    assert parse(client.get("/admin/sites/new")).by_id("crisis_line").attrs["value"] == "988"


@pytest.mark.parametrize("field, value, message", [
    ("dea_registration", "AB1234564", "check digit"),
    ("dea_registration", "IB1234563", "cannot start with I"),
    ("dea_registration", "AB12345", "2 letters and 7 digits"),
    ("dea_registration", "AB12345678", "at most 9 characters"),
    ("time_zone", "America/Nowhere", "IANA time zone"),
    ("time_zone", "../../etc/passwd", "IANA time zone"),
    ("time_zone", "", "Enter the site's time zone"),
    ("code", "N", "2 to 8 capital letters"),
    ("code", "NEW-YORK", "2 to 8 capital letters"),
    ("code", "", "Enter a short code"),
    ("name", "", "Enter the site's name"),
    ("name", "Den\x00ver", "control characters"),
    ("phone", "call us", "digits, spaces"),
    ("crisis_line", "", "Enter the crisis line"),
    ("crisis_line", "98", "3 to 15 digits"),
])
def test_bad_input_is_refused_beside_its_field(client, admin, field, value, message):
    response = client.post("/admin/sites/new", data=site_data(**{field: value}))
    assert response.status_code == 422
    assert message in error_beside(parse(response), field)
    assert 'class="error-summary"' in response.get_data(as_text=True)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Site)) == 1  # only the default site
    assert site_events() == []


@pytest.mark.parametrize("field, value", [("code", "main"), ("name", "kap clinic")])
def test_a_code_or_name_another_site_has_is_refused(client, admin, field, value):
    response = client.post("/admin/sites/new", data=site_data(**{field: value}))
    assert response.status_code == 422
    assert "Another site already has this" in error_beside(parse(response), field)
    assert site_events() == []


def test_editing_a_site(client, admin):
    site = default_site()
    page = parse(client.get(f"/admin/sites/{site.id}"))
    assert page.by_id("name").attrs["value"] == "KAP Clinic" and "checked" in page.by_id("active").attrs
    response = client.post(f"/admin/sites/{site.id}", data=edit_data(
        site, name="New York", code="NYC", time_zone="America/New_York", dea_registration="FK4829101"))
    assert response.status_code == 302
    db.session.expire_all()
    site = default_site()
    assert (site.name, site.code, site.dea_registration, site.version) == ("New York", "NYC", "FK4829101", 2)
    [event] = site_events(AuditAction.UPDATE)
    assert event.detail == "changed: code, dea_registration, name" and event.user_id == admin.id


def test_saving_nothing_changed_writes_nothing(client, admin):
    site = default_site()
    response = client.post(f"/admin/sites/{site.id}", data=edit_data(site), follow_redirects=True)
    assert "Nothing was changed" in response.get_data(as_text=True)
    assert site_events() == [] and default_site().version == 1


def test_a_stale_version_is_a_conflict_and_saves_nothing(client, admin):
    site = default_site()
    stale = edit_data(site, name="Mine")
    assert client.post(f"/admin/sites/{site.id}", data=edit_data(site, name="Theirs")).status_code == 302
    response = client.post(f"/admin/sites/{site.id}", data=stale)
    assert response.status_code == 409
    html = response.get_data(as_text=True)
    assert "Someone else saved this site" in html and "Ada Admin" in html
    doc = parse(response)
    assert doc.by_id("name").attrs["value"] == "Theirs"  # the form starts again from the saved one
    db.session.expire_all()
    assert default_site().name == "Theirs" and len(site_events(AuditAction.UPDATE)) == 1


def test_deactivation_is_refused_while_clients_are_in_treatment(client, admin, make_client):
    client.post("/admin/sites/new", data=site_data())
    site = default_site()
    for status in (ClientStatus.REFERRED, ClientStatus.ACTIVE, ClientStatus.ON_HOLD):
        make_client(status=status, home_site_id=site.id)
    make_client(status=ClientStatus.DISCHARGED, home_site_id=site.id)
    response = client.post(f"/admin/sites/{site.id}", data=edit_data(site, active=None))
    assert response.status_code == 422
    assert "3 clients not yet discharged" in error_beside(parse(response), "active")
    db.session.expire_all()
    assert default_site().active and len(site_events(AuditAction.UPDATE)) == 0


def test_a_site_whose_clients_are_discharged_is_deactivated_and_reactivated(client, admin, make_client):
    client.post("/admin/sites/new", data=site_data())
    denver = db.session.scalar(sa.select(Site).where(Site.code == "DEN"))
    make_client(status=ClientStatus.DISCHARGED, home_site_id=denver.id)
    assert client.post(f"/admin/sites/{denver.id}", data=edit_data(denver, active=None)).status_code == 302
    db.session.expire_all()
    denver = db.session.get(Site, denver.id)
    assert not denver.active
    assert site_events(AuditAction.UPDATE)[-1].detail == "changed: active; deactivated"
    assert "Inactive" in client.get("/admin/sites").get_data(as_text=True)
    assert client.post(f"/admin/sites/{denver.id}", data=edit_data(denver, active="y")).status_code == 302
    db.session.expire_all()
    assert db.session.get(Site, denver.id).active
    assert site_events(AuditAction.UPDATE)[-1].detail == "changed: active; reactivated"


def test_the_last_active_site_stays_active(client, admin):
    site = default_site()
    response = client.post(f"/admin/sites/{site.id}", data=edit_data(site, active=None))
    assert response.status_code == 422
    assert "only active site" in error_beside(parse(response), "active")


def test_a_missing_site_is_not_found(client, admin):
    assert client.get("/admin/sites/987654").status_code == 404


@pytest.mark.parametrize("role", ["therapist", "medical", "supervisor"])
def test_only_administrators_manage_sites(role, client, make_user, login):
    login(make_user(role))
    for url in ("/admin/sites", "/admin/sites/new", f"/admin/sites/{default_site().id}"):
        assert client.get(url).status_code == 403
    assert client.post("/admin/sites/new", data=site_data()).status_code == 403
    assert site_events(AuditAction.CREATE) == []


# --- a client's home site ---------------------------------------------------------------------


def _second_site(active=True) -> Site:
    site = Site(code="DEN", name="Denver", time_zone="America/Denver", active=active)
    db.session.add(site)
    db.session.commit()
    return site


def test_with_one_site_a_new_client_is_at_that_site(client, make_user, login):
    therapist = make_user("therapist")
    login(therapist)
    select = parse(client.get("/clients/new")).by_id("home_site_id")
    options = select.find_all("option")
    assert [o.text for o in options] == ["KAP Clinic"] and "selected" in options[0].attrs
    # A form that leaves the field out (an older page) still registers at the only site.
    response = client.post("/clients/new", data=new_client_data(therapist.id))
    assert response.status_code == 302
    record = db.session.scalar(sa.select(Client).where(Client.record_number == "KAP-0001"))
    assert record.home_site_id == default_site().id
    page = client.get(f"/clients/{record.id}").get_data(as_text=True)
    assert "Home site" in page and "KAP Clinic" in page
    listing = parse(client.get("/clients/"))
    assert "Home site" not in [th.text for th in listing.find_all("th")]


def test_with_several_sites_the_home_site_is_chosen(client, make_user, login):
    denver = _second_site()
    _second = Site(code="OLD", name="Closed site", time_zone="America/Chicago", active=False)
    db.session.add(_second)
    db.session.commit()
    therapist = make_user("therapist")
    login(therapist)
    options = parse(client.get("/clients/new")).by_id("home_site_id").find_all("option")
    assert [o.text for o in options] == ["Choose the home site", "Denver", "KAP Clinic"]  # active ones only
    response = client.post("/clients/new", data=new_client_data(therapist.id, home_site_id=""))
    assert response.status_code == 200
    assert "Choose the client's home site" in error_beside(parse(response), "home_site_id")
    for forged in (str(_second.id), "987654", "99999999999"):
        response = client.post("/clients/new", data=new_client_data(therapist.id, home_site_id=forged))
        assert "Choose one of the active sites" in error_beside(parse(response), "home_site_id"), forged
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Client)) == 0
    response = client.post("/clients/new", data=new_client_data(therapist.id, home_site_id=str(denver.id)))
    assert response.status_code == 302
    record = db.session.scalar(sa.select(Client))
    assert record.home_site_id == denver.id
    listing = parse(client.get("/clients/"))
    assert "Home site" in [th.text for th in listing.find_all("th")]
    assert any(td.text == "Denver" for td in listing.find_all("td", **{"data-label": "Home site"}))


def test_moving_a_client_to_another_site_is_audited(client, make_user, make_client, login):
    denver = _second_site()
    therapist = make_user("therapist")
    record = make_client(therapist)
    login(therapist)
    form = parse(client.get(f"/clients/{record.id}/edit"))
    version = form.find_all("input", name="version")[0].attrs["value"]
    data = new_client_data(therapist.id, record_number=record.record_number, given_name=record.given_name,
                           family_name=record.family_name, date_of_birth=record.date_of_birth.isoformat(),
                           home_site_id=str(denver.id), version=version, status="active")
    assert client.post(f"/clients/{record.id}/edit", data=data).status_code == 302
    db.session.expire_all()
    assert db.session.get(Client, record.id).home_site_id == denver.id
    detail = db.session.scalars(sa.select(AuditEvent.detail).where(
        AuditEvent.record_type == "client", AuditEvent.action == AuditAction.UPDATE)).one()
    assert "home_site_id" in detail


def test_a_client_keeps_a_home_site_since_deactivated(client, make_user, make_client, login):
    closed = _second_site()
    therapist = make_user("therapist")
    record = make_client(therapist, home_site_id=closed.id, status=ClientStatus.DISCHARGED)
    closed.active = False
    db.session.commit()
    login(therapist)
    assert "Denver (inactive site)" in client.get(f"/clients/{record.id}").get_data(as_text=True)
    options = parse(client.get(f"/clients/{record.id}/edit")).by_id("home_site_id").find_all("option")
    assert [o.text for o in options] == ["KAP Clinic", "Denver (inactive)"]
    assert "selected" in options[1].attrs


# --- demo and scale -----------------------------------------------------------------------------


def test_the_demo_has_two_sites_in_two_zones(app):
    from kaptracker.ops import demo

    demo.seed("demo passphrase 1")
    sites = db.session.scalars(sa.select(Site).order_by(Site.id)).all()
    assert [(s.code, s.name, s.time_zone) for s in sites] == [
        ("NYC", "New York", "America/New_York"), ("DEN", "Denver", "America/Denver")]
    assert all(rules.dea_problem(s.dea_registration) is None and s.crisis_line == "988" for s in sites)
    per_site = dict(db.session.execute(sa.select(Client.home_site_id, sa.func.count()).group_by(Client.home_site_id)).all())
    assert per_site == {sites[0].id: 15, sites[1].id: 15}


def test_seed_scale_spreads_clients_over_its_sites(app, runner):
    result = runner.invoke(args=["seed-scale", "--clients", "120", "--sites", "3", "--seed", "7",
                                 "--today", "2026-03-02"])
    assert result.exit_code == 0, result.output
    sites = db.session.scalars(sa.select(Site).order_by(Site.id)).all()
    assert [s.code for s in sites] == ["MAIN", "S002", "S003"]  # the default site first
    assert len({s.time_zone for s in sites}) == 3
    per_site = dict(db.session.execute(sa.select(Client.home_site_id, sa.func.count()).group_by(Client.home_site_id)).all())
    assert set(per_site) == {s.id for s in sites} and sum(per_site.values()) == 120
    # A therapist's caseload is at one site.
    pairs = set(db.session.execute(sa.select(Client.therapist_id, Client.home_site_id)).all())
    assert len(pairs) == len({therapist for therapist, _ in pairs})
