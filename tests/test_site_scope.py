"""The site dimension of access (issue 13): staff work at sites, and what each role lists and
opens is cut to them. Two sites: the default one (MAIN) and Denver (DEN). A client of each site
per therapist; medical staff and supervisors at one site or the other; a network lead."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from kaptracker.extensions import db
from kaptracker.models import ClientStatus, Site
from kaptracker.services.sites import CHOOSE_ONE_OF_YOURS
from tests import factories
from tests.html_support import parse


@pytest.fixture
def network(clinic, make_user, make_client):
    """The clinic's therapist works at both sites; a client of theirs at each."""
    main = db.session.scalar(select(Site).order_by(Site.id).limit(1))
    den = Site(code="DEN", name="Denver", time_zone="America/Denver")
    db.session.add(den)
    clinic.therapist.sites = [main, den]
    db.session.commit()
    therapist = clinic.therapist
    people = {
        "therapist": therapist,
        "therapist_den": make_user("therapist", sites=[den]),
        "medical_main": make_user("medical", sites=[main]),
        "medical_den": make_user("medical", sites=[den]),
        "supervisor_main": make_user("supervisor", sites=[main]),
        "supervisor_den": make_user("supervisor", sites=[den]),
        "lead": make_user("supervisor", sites=[], network_lead=True),
        "admin": make_user("admin"),
    }
    clients = {
        "main": make_client(therapist, status=ClientStatus.ACTIVE, record_number="MAIN-1", home_site_id=main.id),
        "den": make_client(therapist, status=ClientStatus.ACTIVE, record_number="DEN-1", home_site_id=den.id),
    }
    return {"sites": {"main": main, "den": den}, "people": people, "clients": clients}


def _listed(client, url="/clients/") -> set[str]:
    body = client.get(url).get_data(as_text=True)
    return {number for number in ("MAIN-1", "DEN-1") if number in body}


def _switcher(client):
    return parse(client.get("/clients/").get_data(as_text=True)).by_id("site-switcher")


# who: (record numbers listed, records opened)
SEEN = {
    "therapist": {"MAIN-1", "DEN-1"},  # their caseload, at either site
    "therapist_den": set(),  # another therapist's clients, even at their own site
    "medical_main": {"MAIN-1"},
    "medical_den": {"DEN-1"},
    "supervisor_main": {"MAIN-1"},
    "supervisor_den": {"DEN-1"},
    "lead": {"MAIN-1", "DEN-1"},
}


@pytest.mark.parametrize("who", list(SEEN))
def test_each_role_lists_and_opens_the_clients_of_its_sites(network, client, login, who):
    login(network["people"][who])
    assert _listed(client) == SEEN[who]
    for site, record in network["clients"].items():
        expected = 200 if record.record_number in SEEN[who] else 404
        assert client.get(f"/clients/{record.id}").status_code == expected, (who, site)


@pytest.mark.parametrize("who", ["supervisor_main", "supervisor_den", "lead", "therapist"])
def test_the_caseload_export_is_cut_to_the_sites(network, client, login, who):
    login(network["people"][who])
    csv = client.post("/exports/caseload.csv", data={"purpose": "treatment", "recipient": "Riverside Psychiatry"})
    assert csv.status_code == 200 and csv.mimetype == "text/csv"
    text = csv.get_data(as_text=True)
    assert {n for n in ("MAIN-1", "DEN-1") if n in text} == SEEN[who]


@pytest.mark.parametrize("who, listed", [
    ("supervisor_main", {"therapist"}),
    ("supervisor_den", {"therapist", "therapist_den"}),
    ("lead", {"therapist", "therapist_den"}),
])
def test_the_dashboard_lists_the_therapists_of_the_supervisors_sites(network, client, login, who, listed):
    people = network["people"]
    login(people[who])
    page = parse(client.get("/dashboard/").get_data(as_text=True))
    choices = {o.text for o in page.find_all("select", name="therapist")[0].find_all("option")}
    assert {key for key in ("therapist", "therapist_den") if people[key].name in choices} == listed


def test_a_network_lead_switches_between_sites_and_back(network, client, login):
    login(network["people"]["lead"])
    options = [o.text for o in _switcher(client).find_all("option")]
    assert options[0] == "All my sites" and set(options[1:]) == {"Denver", "KAP Clinic"}
    den = network["sites"]["den"]
    response = client.post("/site", data={"site": str(den.id), "next": "/clients/?sort=name"})
    assert response.status_code == 302 and response.headers["Location"] == "/clients/?sort=name"
    assert _listed(client) == {"DEN-1"}
    assert [o.text for o in _switcher(client).find_all("option") if "selected" in o.attrs] == ["Denver"]
    # A record of the other site still opens (the switcher cuts lists, not access).
    assert client.get(f"/clients/{network['clients']['main'].id}").status_code == 200
    client.post("/site", data={"site": "", "next": "/clients/"})
    assert _listed(client) == {"MAIN-1", "DEN-1"}


def test_a_site_not_ones_own_is_refused_with_a_message(network, client, login):
    login(network["people"]["therapist"])
    stranger = Site(code="BOS", name="Boston", time_zone="America/New_York")
    db.session.add(stranger)
    db.session.commit()
    for value in (str(stranger.id), "x", "99999", "1 OR 1=1"):
        response = client.post("/site", data={"site": value, "next": "//evil.example.org/"},
                               follow_redirects=True)
        assert response.status_code == 200
        assert CHOOSE_ONE_OF_YOURS in response.get_data(as_text=True)
    assert _listed(client) == {"MAIN-1", "DEN-1"}


def test_the_switcher_shows_only_to_people_at_several_sites(network, client, login):
    login(network["people"]["medical_den"])
    assert _switcher(client) is None


def test_a_choice_belongs_to_the_signed_in_session(network, app, login):
    """Two browsers of one network lead: a site chosen in one leaves the other's lists alone."""
    lead = network["people"]["lead"]
    first, second = app.test_client(), app.test_client()
    login(lead, http=first)
    login(lead, http=second)
    first.post("/site", data={"site": str(network["sites"]["den"].id), "next": "/clients/"})
    assert _listed(first) == {"DEN-1"} and _listed(second) == {"MAIN-1", "DEN-1"}


def test_today_lists_the_medicine_sessions_of_the_nurses_sites(clinic, network, app, login):
    """A medicine session of each site's client: each site's nurse sees their own on Today."""
    people = network["people"]
    for site, record in network["clients"].items():
        course = factories.ready(clinic, record)
        factories.medicine(clinic, course, state="dosed", author=people[f"medical_{site}"])
    for site in ("main", "den"):
        nurse = app.test_client()
        login(people[f"medical_{site}"], http=nurse)
        body = nurse.get("/today").get_data(as_text=True)
        mine, theirs = (network["clients"][s] for s in (site, "den" if site == "main" else "main"))
        assert mine.family_name in body and theirs.family_name not in body
