"""The site dimension of access (issue 13): staff work at sites, and what each role lists and
opens is cut to them. Two sites: the default one (MAIN) and Denver (DEN). A client of each site
per therapist; medical staff and supervisors at one site or the other; a network lead."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from kaptracker import clock
from kaptracker.extensions import db
from kaptracker.models import AuditAction, AuditEvent, ClientStatus, Site
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
    assert options[0] == "Every site" and set(options[1:]) == {"Denver", "KAP Clinic"}
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


# --- the audit search ----------------------------------------------------------------------------


@pytest.fixture
def trail(network):
    """Audit events about each site's client, each site's staff, a site, the network's settings
    and Denver's own, and a failed sign-in that names no account."""
    people, clients, sites = network["people"], network["clients"], network["sites"]

    def add(detail, *, user=None, action=AuditAction.VIEW, record_type="client", record_id=None, client=None):
        db.session.add(AuditEvent(detail=detail, user_id=getattr(user, "id", None), action=action,
                                  record_type=record_type, record_id=record_id,
                                  client_id=getattr(client, "id", None), at=clock.now()))

    for site in ("main", "den"):
        record = clients[site]
        add(f"evt-{site}-client", user=people["therapist"], record_id=record.id, client=record)
        nurse = people[f"medical_{site}"]
        add(f"evt-{site}-sign-in", user=nurse, action=AuditAction.LOGIN, record_type="user", record_id=nurse.id)
    # Someone of the main site refused a Denver record: Denver's trail.
    add("evt-den-client-refused", user=people["medical_main"], action=AuditAction.DENIED, client=clients["den"])
    add("evt-den-account", user=people["admin"], action=AuditAction.UPDATE, record_type="user",
        record_id=people["medical_den"].id)
    add("evt-den-site", user=people["admin"], action=AuditAction.UPDATE, record_type="site",
        record_id=sites["den"].id)
    add("evt-setting", user=people["admin"], action=AuditAction.UPDATE, record_type="setting")
    add("evt-den-setting", user=people["admin"], action=AuditAction.UPDATE, record_type="setting",
        record_id=sites["den"].id)  # Denver's own value of a setting
    add("evt-lead-sign-in", user=people["lead"], action=AuditAction.LOGIN, record_type="user",
        record_id=people["lead"].id)
    add("evt-anonymous-failed", action=AuditAction.LOGIN_FAILED, record_type="user")
    db.session.commit()
    return network


MAIN_TRAIL = {"evt-main-client", "evt-main-sign-in", "evt-setting"}
DEN_TRAIL = {"evt-den-client", "evt-den-client-refused", "evt-den-sign-in", "evt-den-account",
             "evt-den-site", "evt-setting", "evt-den-setting"}
WHOLE_TRAIL = MAIN_TRAIL | DEN_TRAIL | {"evt-lead-sign-in", "evt-anonymous-failed"}


def _audited(client, query="") -> set[str]:
    doc = parse(client.get(f"/audit/{query}").get_data(as_text=True))
    return {td.text for td in doc.find_all("td") if td.attrs.get("data-label") == "Detail"
            and td.text.startswith("evt-")}


@pytest.mark.parametrize("who, expected", [
    ("supervisor_main", MAIN_TRAIL),
    ("supervisor_den", DEN_TRAIL),
    ("lead", WHOLE_TRAIL),
    ("admin", WHOLE_TRAIL),  # administrators work at no site and read the whole trail
])
def test_the_audit_search_shows_the_trail_of_the_searchers_sites(trail, client, login, who, expected):
    login(trail["people"][who])
    assert _audited(client) == expected
    body = client.get("/audit/").get_data(as_text=True)
    numbers = {n for n in ("MAIN-1", "DEN-1") if n in body}
    # Supervisors read the record numbers of their sites' clients; administrators none.
    assert numbers == {"supervisor_main": {"MAIN-1"}, "supervisor_den": {"DEN-1"},
                       "lead": {"MAIN-1", "DEN-1"}, "admin": set()}[who]


def test_another_sites_client_trail_shows_neither_events_nor_name(trail, client, login):
    den = trail["clients"]["den"]
    login(trail["people"]["supervisor_main"])
    response = client.get(f"/audit/?client={den.id}")
    assert response.status_code == 200
    text = response.get_data(as_text=True)
    assert _audited(client, f"?client={den.id}") == set()
    assert den.family_name not in text and "DEN-1" not in text
    # Nor does a person filter reach past the site: the main nurse's events, at the main site only.
    assert _audited(client, f"?user={trail['people']['medical_main'].id}") == {"evt-main-sign-in"}
    # The site's own client's trail names the client.
    main = trail["clients"]["main"]
    assert main.family_name in client.get(f"/audit/?client={main.id}").get_data(as_text=True)


def test_the_audit_search_says_which_sites_it_shows(trail, client, login):
    login(trail["people"]["supervisor_den"])
    caption = parse(client.get("/audit/").get_data(as_text=True)).by_id("audit-sites")
    assert caption is not None and caption.text.startswith("The trail of Denver:")
    other = client.application.test_client()
    login(trail["people"]["lead"], http=other)
    assert parse(other.get("/audit/").get_data(as_text=True)).by_id("audit-sites") is None


def test_a_network_lead_switches_the_audit_search_to_a_site(trail, client, login):
    login(trail["people"]["lead"])
    den = trail["sites"]["den"]
    client.post("/site", data={"site": str(den.id), "next": "/audit/"})
    assert _audited(client) == DEN_TRAIL
    caption = parse(client.get("/audit/").get_data(as_text=True)).by_id("audit-sites")
    assert "Denver" in caption.text and "Choose another site" in caption.text
    client.post("/site", data={"site": "", "next": "/audit/"})
    assert _audited(client) == WHOLE_TRAIL


def test_a_supervisor_of_both_sites_switches_between_their_trails(trail, client, login, make_user):
    sites = trail["sites"]
    both = make_user("supervisor", sites=[sites["main"], sites["den"]])
    login(both)
    assert _audited(client) == MAIN_TRAIL | DEN_TRAIL
    client.post("/site", data={"site": str(sites["main"].id), "next": "/audit/"})
    assert _audited(client) == MAIN_TRAIL


@pytest.mark.parametrize("who", ["supervisor_den", "lead", "admin"])
def test_the_audit_search_runs_as_many_queries_whatever_the_trail(trail, client, login, make_client,
                                                                 count_queries, who):
    login(trail["people"][who])
    counts = []
    for _ in range(2):
        with count_queries() as counted:
            assert client.get("/audit/").status_code == 200
        counts.append(counted.n)
        people, den = trail["people"], trail["sites"]["den"]
        for n in range(20):  # more clients and events at both sites
            record = make_client(people["therapist"], home_site_id=den.id if n % 2 else trail["sites"]["main"].id)
            db.session.add(AuditEvent(detail=f"evt-more-{n}", user_id=people["therapist"].id,
                                      action=AuditAction.VIEW, record_type="client", client_id=record.id,
                                      at=clock.now()))
        db.session.commit()
    assert counts[0] == counts[1], counts


def _site_rows(client) -> dict[str, list[str]]:
    tables = [t for t in parse(client.get("/dashboard/").get_data(as_text=True)).find_all("table")
              if "site-table" in t.classes]
    if not tables:
        return {}
    table = tables[0]
    return {row.find_all("th")[0].text: [td.text for td in row.find_all("td")]
            for row in table.find_all("tr") if row.find_all("td")}


def test_the_network_lead_sees_each_sites_rollup_and_a_site_supervisor_none(network, client, login, clinic):
    factories.course(clinic, network["clients"]["den"])
    login(network["people"]["lead"])
    rows = _site_rows(client)
    # Clients, no open course, preparation, medicine, integration, completed, discontinued
    assert rows["Denver"][:3] == ["1", "0", "1"]
    assert rows[network["sites"]["main"].name][:3] == ["2", "2", "0"]  # with the clinic's referred client
    assert "Every site" in client.get("/dashboard/").get_data(as_text=True)
    client.post("/site", data={"site": str(network["sites"]["den"].id)})
    assert _site_rows(client) == {}  # one site chosen: its own lists, no rollup
    login(network["people"]["supervisor_den"], http=(other := client.application.test_client()))
    assert _site_rows(other) == {}


# Every record route of one client, with the permission it needs: own site / other site for every
# role, the exports, the PDF, FHIR, CSV and the disclosures included.
RECORD_ROUTES = [
    ("/clients/{client}", "view_clients"),
    ("/courses/{course}", "view_courses"),
    ("/sessions/{session}", "view_courses"),
    ("/sessions/{session}/vitals", "view_courses"),
    ("/courses/{course}/summary", "view_courses"),
    ("/courses/{course}/summary.pdf", "view_courses"),
    ("/clients/{client}/fhir", "export_records"),
    ("/courses/{course}/vitals.csv", "export_vitals"),
    ("/clients/{client}/disclosures", "view_disclosures"),
]


@pytest.mark.parametrize("who", list(SEEN))
def test_every_record_route_opens_at_ones_own_site_and_is_404_at_another(clinic, network, who):
    from kaptracker.rules.access import Permission, may

    records = {}
    for site, record in network["clients"].items():
        course = factories.ready(clinic, record)
        session = factories.medicine(clinic, course, state="dosed")
        records[site] = {"client": record.id, "course": course.id, "session": session.id}
    person = network["people"][who]
    for site, ids in records.items():
        for url, permission in RECORD_ROUTES:
            status = clinic.get(person, url.format(**ids)).status_code
            if not may(person.role, Permission(permission)):
                expected = 403
            else:
                expected = 200 if network["clients"][site].record_number in SEEN[who] else 404
            assert status == expected, (who, site, url, status)
