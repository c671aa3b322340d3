"""Every time shown and every "today" is on the wall of the site concerned (issue 13 item 3): a
session's page in the zone of the site it happens at, a client's and a course's in the client's
home site's, lists in the zone of the site they show, and a page across sites in several zones
labels each time with its own zone. Two sites: the test clinic's default one (New York here) and
Denver, two hours behind in January."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from sqlalchemy import select

from kaptracker import scope, settings
from kaptracker.extensions import db
from kaptracker.models import ClientStatus, Site, VitalSign
from tests import factories
from tests.course_support import error_beside

# 17:00 UTC on 15 January 2027: 12:00 in New York, 10:00 in Denver.
NOON_IN_NEW_YORK = "2027-01-15T17:00Z"


@pytest.fixture
def network(clinic, clock, make_user, make_client):
    clock.travel(NOON_IN_NEW_YORK)
    main = db.session.scalar(select(Site).order_by(Site.id).limit(1))
    main.time_zone = "America/New_York"
    den = Site(code="DEN", name="Denver", time_zone="America/Denver")
    db.session.add(den)
    for person in (clinic.therapist, clinic.medical):
        person.sites = [main, den]
    db.session.commit()
    people = {"medical_den": make_user("medical", sites=[den]), "medical_main": make_user("medical", sites=[main]),
              "lead": make_user("supervisor", sites=[], network_lead=True)}
    client_den = make_client(clinic.therapist, status=ClientStatus.ACTIVE, record_number="DEN-1",
                             home_site_id=den.id)
    client_main = make_client(clinic.therapist, status=ClientStatus.ACTIVE, record_number="MAIN-1",
                              home_site_id=main.id)
    return {"main": main, "den": den, "people": people, "client_den": client_den, "client_main": client_main}


def _medicine_session(clinic, record, state="signed"):
    """A medicine session opened two hours before now (15:00 UTC: 08:00 in Denver, 10:00 in New York)."""
    return factories.medicine(clinic, factories.ready(clinic, record), state=state)


def _heading(body: str) -> str:
    return re.search(r"<h1>([^<]*)</h1>", body).group(1).strip()


def test_a_sessions_page_shows_the_wall_time_of_its_site(clinic, network, client, login):
    session = _medicine_session(clinic, network["client_den"])
    login(network["people"]["medical_den"])
    body = client.get(f"/sessions/{session.id}").get_data(as_text=True)
    assert _heading(body).endswith("15 Jan 2027 08:00")  # opened at 15:00 UTC, on Denver's wall
    assert "signed by Medical" in body and "15 Jan 2027 10:00" in body  # signed now: 17:00 UTC
    vitals = client.get(f"/sessions/{session.id}/vitals").get_data(as_text=True)
    assert re.search(r"\b08:00\b", vitals)  # the baseline reading
    assert "12:00" not in vitals  # nothing is on New York's wall


def test_the_same_instant_at_the_other_site_is_on_its_wall(clinic, network, client, login):
    session = _medicine_session(clinic, network["client_main"])
    login(network["people"]["medical_main"])
    body = client.get(f"/sessions/{session.id}").get_data(as_text=True)
    assert _heading(body).endswith("15 Jan 2027 10:00") and "08:00" not in body


def test_a_time_typed_at_a_denver_session_is_denver_wall_time(clinic, network, client, login):
    session = _medicine_session(clinic, network["client_den"], state="dosed")
    login(network["people"]["medical_den"])
    response = client.post(f"/sessions/{session.id}/vitals", data={
        "systolic": "121", "diastolic": "79", "heart_rate": "72", "spo2": "98", "timepoint": "during",
        "taken_at": "2027-01-15T09:30"})
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    stored = db.session.scalar(select(VitalSign).where(VitalSign.session_id == session.id, VitalSign.systolic == 121))
    assert stored.taken_at.astimezone(dt.UTC) == dt.datetime(2027, 1, 15, 16, 30, tzinfo=dt.UTC)


def test_a_clients_page_is_in_the_home_sites_zone(clinic, network, client, login):
    session = _medicine_session(clinic, network["client_den"])
    login(clinic.therapist)
    body = client.get(f"/courses/{session.course_id}").get_data(as_text=True)
    assert "08:00" in body and "15 Jan 2027 10:00" not in body


def test_the_zone_of_each_persons_lists(network, app):
    people = network["people"]
    with app.test_request_context():
        assert scope.listing_zone_name(people["medical_den"]) == "America/Denver"
        assert scope.listing_zone_name(people["medical_main"]) == "America/New_York"
        assert scope.listing_zone_name(people["lead"]) is None  # every site: the network's zone
        assert scope.listing_zone_name(None) is None


def test_a_nurse_at_sites_in_two_zones_sees_one_sites_wall_once_they_choose_it(clinic, network, client, login):
    den = _medicine_session(clinic, network["client_den"], state="dosed")
    _medicine_session(clinic, network["client_main"], state="dosed")
    login(clinic.medical)
    assert "08:00 MST" in client.get("/today").get_data(as_text=True)  # across zones: labelled
    assert client.post("/site", data={"site": str(network["den"].id)}).status_code == 302
    body = client.get("/today").get_data(as_text=True)
    assert f"/sessions/{den.id}/vitals" in body and "15 Jan 08:00</td>" in body and "EST" not in body


def test_today_is_the_day_on_the_listed_sites_wall(clinic, network, client, login, clock):
    """At 05:30 UTC on 16 January it is still the 15th in Denver (22:30) but the 16th in New York
    (00:30): a session discharged at Denver that afternoon is on Denver's Today page, and a New
    York one of the same afternoon is not on New York's."""
    den = _medicine_session(clinic, network["client_den"], state="discharged")
    main = _medicine_session(clinic, network["client_main"], state="discharged")
    clock.travel("2027-01-16T05:30Z")
    people = network["people"]
    assert f"/sessions/{den.id}/vitals" in clinic.get(people["medical_den"], "/today").get_data(as_text=True)
    new_york = clinic.get(people["medical_main"], "/today").get_data(as_text=True)
    assert f"/sessions/{main.id}/vitals" not in new_york and "No medicine session today." in new_york


def test_a_page_across_zones_labels_each_time_with_its_sites_zone(clinic, network, client, login):
    den = _medicine_session(clinic, network["client_den"], state="dosed")
    main = _medicine_session(clinic, network["client_main"], state="dosed")
    # the clinic's nurse works at both sites and has not chosen one
    body = clinic.get(clinic.medical, "/today").get_data(as_text=True)
    assert f"/sessions/{den.id}/vitals" in body and f"/sessions/{main.id}/vitals" in body
    assert "15 Jan 08:00 MST · Denver" in body
    assert f"15 Jan 10:00 EST · {network['main'].name}" in body
    body = clinic.get(network["people"]["medical_den"], "/today").get_data(as_text=True)  # one site, unlabelled
    assert "15 Jan 08:00</td>" in body and "08:00 MST" not in body


def test_the_network_zone_setting_rules_commands_and_pages_across_zones(app, network, clinic):
    factories_admin = clinic.admin
    settings.change("clinic.timezone", "America/Chicago", user=factories_admin, reason="Network office")
    db.session.commit()
    with app.app_context():
        from kaptracker import clock

        assert str(clock.clinic_zone()) == "America/Chicago"  # no request: the network's zone


# --- where a session takes place -----------------------------------------------------------------


def test_a_session_is_held_at_the_site_chosen_and_its_time_read_on_that_wall(clinic, network):
    """A New York client's preparation session held at Denver: typed 09:30 is 09:30 in Denver."""
    course = factories.course(clinic, network["client_main"])
    form = clinic.get(clinic.therapist, f"/courses/{course.id}/sessions/new/preparation").get_data(as_text=True)
    assert 'name="site_id"' in form and "Denver" in form  # two active sites: the choice is offered
    response = clinic.post(clinic.therapist, f"/courses/{course.id}/sessions/new/preparation",
                           {"occurred_at": "2027-01-15T09:30", "site_id": str(network["den"].id),
                            "intentions": "Rest.", "note": "Held at the Denver office."})
    assert response.status_code == 302, response.get_data(as_text=True)[:3000]
    from kaptracker.models import PreparationSession

    held = db.session.scalar(select(PreparationSession).where(PreparationSession.course_id == course.id))
    assert held.site_id == network["den"].id
    assert held.occurred_at.astimezone(dt.UTC) == dt.datetime(2027, 1, 15, 16, 30, tzinfo=dt.UTC)
    page = clinic.get(clinic.therapist, f"/sessions/{held.id}").get_data(as_text=True)
    assert "at Denver" in page and _heading(page).endswith("15 Jan 2027 09:30")


def test_a_session_left_without_a_site_stays_at_the_home_site(clinic, network):
    course = factories.course(clinic, network["client_den"])
    response = clinic.post(clinic.therapist, f"/courses/{course.id}/sessions/new/preparation",
                           {"occurred_at": "2027-01-15T09:30", "note": "n"})
    assert response.status_code == 302
    from kaptracker.models import PreparationSession

    held = db.session.scalar(select(PreparationSession).where(PreparationSession.course_id == course.id))
    assert held.site_id == network["den"].id


@pytest.mark.parametrize("value", ["999999", "abc", "-1", "9" * 40, " "])
def test_a_site_that_is_not_one_is_refused_beside_the_field(clinic, network, value):
    course = factories.course(clinic, network["client_main"])
    response = clinic.post(clinic.therapist, f"/courses/{course.id}/sessions/new/preparation",
                           {"occurred_at": "2027-01-15T09:30", "site_id": value, "note": "Kept."})
    if value.strip() == "":
        assert response.status_code == 302  # no choice sent: the home site
        return
    assert response.status_code == 200  # the form again, as for any refused field
    assert error_beside(response, "site_id") == "Choose one of the clinic's active sites."
    assert "Kept." in response.get_data(as_text=True)


def test_a_deactivated_site_is_no_longer_offered(clinic, network):
    network["den"].active = False
    db.session.commit()
    course = factories.course(clinic, network["client_main"])
    form = clinic.get(clinic.therapist, f"/courses/{course.id}/sessions/new/preparation").get_data(as_text=True)
    assert 'name="site_id"' not in form  # one active site: nothing to choose
