"""Settings per site (issue 13 item 3): the network's values hold at every site unless a site has
its own value of a per-site setting (clinical thresholds, dose ranges, contraindications, the
course and scale rules), signed off by the medical lead as on the network's page; a clearing row
gives a site back the network's value. Rules applied to one session use that session's site's
values, at the time of the reading; the settings are still read in one query per request.
Two sites: the test clinic's default one (New York) and Denver; the clinic's staff work at both."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select

from kaptracker import settings
from kaptracker.extensions import db
from kaptracker.models import AuditAction, AuditEvent, DosingSession, SafetyAlert, SettingChange, SettingRevision, Site, utcnow
from kaptracker.rules.settings import SPECS, SPECS_BY_KEY
from tests import factories
from tests.course_support import error_beside, page, raw
from tests.html_support import parse

LEAD = "Dr Medical Lead"


@pytest.fixture
def sites(clinic):
    main = db.session.scalar(select(Site).order_by(Site.id).limit(1))
    # In the same zone as the default site: times are typed on the test clinic's wall (test_site_zones.py
    # is about the zones).
    den = Site(code="DEN", name="Denver", time_zone=main.time_zone)
    db.session.add(den)
    db.session.flush()
    for person in (clinic.therapist, clinic.medical, clinic.supervisor):
        person.sites = [main, den]
    db.session.commit()
    return {"main": main, "den": den}


def _set(clinic, key, value, *, site=None, minutes_ago=30, cleared=False):
    """A change (an override at ``site``, or the network's) signed off, in force from ``minutes_ago``."""
    site_id = site.id if site is not None else None
    if cleared:
        row = settings.clear(key, site_id=site_id, user=clinic.admin, reason="Back to the network.",
                             approved_by=LEAD)
    else:
        row = settings.change(key, value, user=clinic.admin, reason="Site protocol.", approved_by=LEAD,
                              site_id=site_id)
    row.changed_at = utcnow() - dt.timedelta(minutes=minutes_ago)
    db.session.commit()
    return row


def _session(clinic, site, *, at_site=None) -> int:
    """A draft IM medicine session of a new client at home at ``site`` (held at ``at_site`` when
    given), opened two hours ago, without a reading."""
    record = factories.client(clinic.therapist, home_site_id=site.id)
    course = factories.course(clinic, record, planned_route="im", planned_medicine_sessions=3,
                              started_on=clinic.now.date() - dt.timedelta(days=10))
    factories.screening(clinic, course, days_ago=9)
    factories.preparation(clinic, course, days_ago=5, ready=True)
    fields = {"site_id": at_site.id} if at_site is not None else {}
    return factories.medicine(clinic, course, "im", "draft", opened=clinic.utc(-120), baseline=False, **fields).id


def _rules(session_id: int) -> list[str]:
    db.session.expire_all()
    return [a.rule for a in db.session.scalars(
        select(SafetyAlert).where(SafetyAlert.session_id == session_id).order_by(SafetyAlert.id))]


# --- the values in force at a site ---------------------------------------------------------------


def test_a_site_override_holds_at_that_site_only(clinic, sites):
    _set(clinic, "vitals.critical_systolic", 190, site=sites["den"])
    assert settings.current(sites["den"].id)["vitals.critical_systolic"] == 190
    assert settings.current(sites["main"].id)["vitals.critical_systolic"] == 200
    assert settings.network()["vitals.critical_systolic"] == 200
    assert settings.current()["vitals.critical_systolic"] == 200  # outside a request: the network's
    assert settings.overrides(sites["den"].id) == {"vitals.critical_systolic": 190}
    assert settings.overrides(sites["main"].id) == {}


def test_a_cleared_override_goes_back_to_the_network_value(clinic, sites):
    den = sites["den"].id
    _set(clinic, "vitals.critical_systolic", 190, site=sites["den"], minutes_ago=60)
    _set(clinic, "vitals.critical_systolic", 195, minutes_ago=50)  # the network's
    _set(clinic, "vitals.critical_systolic", None, site=sites["den"], minutes_ago=40, cleared=True)
    assert settings.current(den)["vitals.critical_systolic"] == 195
    assert settings.overrides(den) == {}
    # A new override after the clear holds again.
    _set(clinic, "vitals.critical_systolic", 185, site=sites["den"], minutes_ago=20)
    assert settings.current(den)["vitals.critical_systolic"] == 185


def test_a_later_network_change_shows_at_a_site_without_its_own_value(clinic, sites):
    den = sites["den"].id
    _set(clinic, "vitals.critical_systolic", 190, site=sites["den"], minutes_ago=60)
    _set(clinic, "vitals.hold_systolic", 150, minutes_ago=50)
    _set(clinic, "vitals.critical_systolic", 210, minutes_ago=40)
    values = settings.current(den)
    assert values["vitals.hold_systolic"] == 150  # not overridden at Denver: the network's
    assert values["vitals.critical_systolic"] == 190  # Denver's own still holds
    assert settings.current(sites["main"].id)["vitals.critical_systolic"] == 210


def test_at_a_moment_gives_what_was_in_force_at_that_site_then(clinic, sites, count_queries):
    den, main = sites["den"].id, sites["main"].id
    _set(clinic, "vitals.critical_systolic", 190, minutes_ago=90)  # the network's
    _set(clinic, "vitals.critical_systolic", 185, site=sites["den"], minutes_ago=60)
    _set(clinic, "vitals.critical_systolic", 195, minutes_ago=45)  # the network's
    _set(clinic, "vitals.critical_systolic", None, site=sites["den"], minutes_ago=30, cleared=True)

    def at(minutes_ago, site_id):
        with count_queries() as counted:
            value = settings.at(utcnow() - dt.timedelta(minutes=minutes_ago), site_id)["vitals.critical_systolic"]
        assert counted.n == 1
        return value

    assert [at(m, den) for m in (100, 75, 50, 40, 20)] == [200, 190, 185, 185, 195]
    assert [at(m, main) for m in (100, 75, 50, 40, 20)] == [200, 190, 190, 195, 195]


def test_a_network_wide_setting_has_no_site_value(clinic, sites):
    for key in ("clinic.timezone", "clinic.name", "auth.idle_timeout_minutes", "review.no_contact_days",
                "outcomes.minimum_clients", "clients.minimum_age_years"):
        assert not SPECS_BY_KEY[key].per_site
        with pytest.raises(ValueError):
            settings.change(key, SPECS_BY_KEY[key].default, user=clinic.admin, reason="r", site_id=sites["den"].id)
    for key in ("vitals.critical_systolic", "dose.im.high_mg_per_kg", "integration.due_days",
                "outcomes.pcl5_cutoff"):
        assert SPECS_BY_KEY[key].per_site and SPECS_BY_KEY[key].clinical
    # Every per-site setting is a clinical one: a site's value needs the medical lead's sign-off.
    assert all(spec.clinical for spec in SPECS if spec.per_site)
    # A row written past the command (another version of the app) does not make one per site.
    db.session.add(SettingChange(key="clinic.timezone", value="Europe/London", site_id=sites["den"].id,
                                 changed_by_id=clinic.admin.id, reason="r"))
    db.session.commit()
    assert settings.current(sites["den"].id)["clinic.timezone"] == settings.network()["clinic.timezone"]


def test_a_sites_value_that_no_longer_parses_gives_way_to_the_networks(clinic, sites):
    _set(clinic, "vitals.critical_systolic", 210)  # the network's
    db.session.add(SettingChange(key="vitals.critical_systolic", value="999", site_id=sites["den"].id,
                                 changed_by_id=clinic.admin.id, reason="r"))
    db.session.commit()
    assert settings.current(sites["den"].id)["vitals.critical_systolic"] == 210


def test_a_cleared_row_names_a_site(clinic):
    from sqlalchemy.exc import IntegrityError

    db.session.add(SettingChange(key="vitals.critical_systolic", value="", cleared=True, site_id=None,
                                 changed_by_id=clinic.admin.id, reason="r"))
    with pytest.raises(IntegrityError):
        db.session.commit()
    db.session.rollback()


# --- rules applied to a session use its site's values -----------------------------------------


def test_a_denver_critical_systolic_alerts_on_a_denver_session_only(clinic, sites):
    _set(clinic, "vitals.critical_systolic", 190, site=sites["den"])
    denver, new_york = _session(clinic, sites["den"]), _session(clinic, sites["main"])
    for sid in (denver, new_york):
        clinic.reading(sid, "192/100", at=-1)
    assert "critical_bp" in _rules(denver)
    assert "critical_bp" not in _rules(new_york)
    [alert] = db.session.scalars(select(SafetyAlert).where(SafetyAlert.session_id == denver,
                                                           SafetyAlert.rule == "critical_bp"))
    assert "at or above 190/120" in alert.message
    # Each vitals page says the thresholds of its own site.
    assert "or 190/120 once" in page(clinic.get(clinic.medical, f"/sessions/{denver}/vitals"))
    assert "or 200/120 once" in page(clinic.get(clinic.medical, f"/sessions/{new_york}/vitals"))


def test_a_session_follows_the_site_it_is_held_at_not_the_clients_home(clinic, sites):
    _set(clinic, "vitals.critical_systolic", 190, site=sites["den"])
    visiting = _session(clinic, sites["main"], at_site=sites["den"])  # a New York client seen in Denver
    clinic.reading(visiting, "192/100", at=-1)
    assert "critical_bp" in _rules(visiting)


def test_a_command_outside_a_request_uses_the_sessions_site(clinic, sites):
    """The services are handed the session, not a request: a reading recorded by the command
    (an import, the demo) is judged by its session's site's values."""
    from kaptracker.vitals import service

    _set(clinic, "vitals.critical_systolic", 190, site=sites["den"])
    denver, new_york = _session(clinic, sites["den"]), _session(clinic, sites["main"])
    for sid in (denver, new_york):
        factories.reading(sid, clinic.medical, "192/100", at=clinic.utc(-1))
    assert "critical_bp" in _rules(denver) and "critical_bp" not in _rules(new_york)
    held = db.session.get(DosingSession, denver)
    assert service.thresholds_now(held.site_id).critical_systolic == 190
    assert service.thresholds_now().critical_systolic == 200  # no session, no request: the network's


def test_a_reading_is_judged_by_the_sites_values_when_it_was_taken(clinic, sites):
    sid = _session(clinic, sites["den"])
    _set(clinic, "vitals.critical_systolic", 190, site=sites["den"], minutes_ago=60)
    _set(clinic, "vitals.critical_systolic", None, site=sites["den"], minutes_ago=30, cleared=True)
    clinic.reading(sid, "192/100", at=-45)  # Denver's 190 was in force then
    assert "critical_bp" in _rules(sid)
    later = _session(clinic, sites["den"])
    clinic.reading(later, "192/100", at=-10)  # the network's 200 since the clear
    assert "critical_bp" not in _rules(later)


def test_a_sites_hold_threshold_holds_its_dose(clinic, sites):
    _set(clinic, "vitals.hold_systolic", 145, site=sites["den"], minutes_ago=60)
    denver, new_york = _session(clinic, sites["den"]), _session(clinic, sites["main"])
    for sid in (denver, new_york):
        clinic.reading(sid, "150/85", 80, timepoint="baseline", at=-30)
    assert "baseline_hold" in _rules(denver) and "baseline_hold" not in _rules(new_york)

    def dose(sid):
        return clinic.dose(sid, given_at=clinic.at(-20), weight_kg="70", mg_per_kg="0.5",
                           injection_site="deltoid_left")

    assert dose(denver).status_code == 409
    assert dose(new_york).status_code == 302


def test_a_sites_dose_range_is_the_one_its_sessions_check(clinic, sites):
    _set(clinic, "dose.im.high_mg_per_kg", "0.75", site=sites["den"], minutes_ago=60)
    for site, usual in (("den", "0.5–0.75 mg/kg"), ("main", "0.5–1 mg/kg")):
        sid = _session(clinic, sites[site])
        clinic.reading(sid, timepoint="baseline", at=-30)
        shown = page(clinic.get(clinic.medical, f"/sessions/{sid}"))
        assert f"Usual session total: {usual}" in shown, site
        # 0.8 mg/kg: above Denver's usual range, within the network's.
        response = clinic.dose(sid, given_at=clinic.at(-20), weight_kg="70", mg_per_kg="0.8",
                               injection_site="deltoid_left")
        assert (response.status_code == 302) is (site == "main"), (site, response.status_code)


def test_a_course_page_uses_its_clients_home_site(clinic, sites):
    """A medicine session ten days ago without its integration: overdue by the network's 7 days,
    not yet by Denver's 14."""
    _set(clinic, "integration.due_days", 14, site=sites["den"], minutes_ago=60)
    for site in ("den", "main"):
        record = factories.client(clinic.therapist, home_site_id=sites[site].id)
        course = factories.course(clinic, record, started_on=clinic.now.date() - dt.timedelta(days=20))
        factories.screening(clinic, course, days_ago=19)
        factories.preparation(clinic, course, days_ago=15, ready=True)
        factories.medicine(clinic, course, state="signed", opened=clinic.utc(-10 * 24 * 60))
        text = page(clinic.get(clinic.therapist, f"/courses/{course.id}"))
        overdue = "Integration overdue for 1 medicine session(s): each is expected within 7 days" in text
        assert overdue is (site == "main"), site
        assert ("Integration due by" in text) is (site == "den"), site


def test_a_sessions_page_reads_the_settings_in_one_query_whatever_the_sites_values(clinic, sites, count_queries):
    sid = _session(clinic, sites["den"])
    clinic.reading(sid, timepoint="baseline", at=-30)
    http = clinic.http(clinic.medical)

    def counted(url):
        http.get(url)
        with count_queries() as queries:
            assert http.get(url).status_code == 200
        return queries.n, sum(1 for s in queries.statements if "FROM setting_change" in s)

    urls = (f"/sessions/{sid}", f"/sessions/{sid}/vitals", "/today")
    before = [counted(url) for url in urls]
    for site in ("den", "main"):
        for key, value in (("vitals.critical_systolic", 190), ("dose.im.high_mg_per_kg", "0.75"),
                           ("integration.due_days", 10)):
            _set(clinic, key, value, site=sites[site], minutes_ago=60)
    _set(clinic, "vitals.hold_systolic", 150, minutes_ago=60)
    after = [counted(url) for url in urls]
    assert after == before
    # The session and vitals pages read the settings once (the vitals rules at the time of a
    # reading read what was in force then, once per rule check, as before).
    assert [reads for _, reads in after[:1]] == [1]


# --- the administrator's page of a site ------------------------------------------------------------


def field(key: str) -> str:
    return "s_" + key.replace(".", "__")


def box(key: str) -> str:
    return "c_" + key.replace(".", "__")


def _form(http, url) -> dict:
    doc = parse(raw(http.get(url)))
    form = next(a for a in doc.by_id("reason").ancestors() if a.tag == "form")
    values = {}
    for node in form.iter():
        name = node.attrs.get("name")
        if name and node.tag == "input" and node.attrs.get("type") not in ("submit", "checkbox"):
            values[name] = node.attrs.get("value") or ""
    return values


def _count(**where) -> int:
    stmt = select(func.count()).select_from(SettingChange)
    for key, value in where.items():
        stmt = stmt.where(getattr(SettingChange, key) == value)
    return db.session.scalar(stmt)


@pytest.mark.parametrize("site", ["abc", "99999", "-1", "1e3", "0", "99999999999999999999", "１", "2 "])
def test_a_site_that_is_not_one_is_a_404(clinic, sites, site):
    response = clinic.get(clinic.admin, f"/admin/settings?site={site}")
    assert response.status_code == 404
    response = clinic.post(clinic.admin, f"/admin/settings?site={site}", {"reason": "r"})
    assert response.status_code == 404
    assert _count() == 0


def test_the_site_page_shows_the_network_values_and_the_sites_own(clinic, sites):
    den = sites["den"]
    _set(clinic, "vitals.critical_systolic", 190, site=den)
    _set(clinic, "vitals.hold_systolic", 150)  # the network's
    http = clinic.http(clinic.admin)
    response = http.get(f"/admin/settings?site={den.id}")
    assert response.status_code == 200
    doc = parse(raw(response))
    assert doc.by_id(field("vitals.critical_systolic")).attrs["value"] == "190"
    assert doc.by_id(field("vitals.hold_systolic")).attrs["value"] == "150"
    overridden = doc.by_id("setting-vitals.critical_systolic")
    assert overridden.attrs["data-overridden"] == "yes"
    assert "the network's is 200 mmHg" in overridden.text and "Overridden at this site." in overridden.text
    assert doc.by_id(box("vitals.critical_systolic")) is not None
    inherited = doc.by_id("setting-vitals.hold_systolic")
    assert inherited.attrs["data-overridden"] == "no" and "The network's value, 150 mmHg;" in inherited.text
    assert doc.by_id(box("vitals.hold_systolic")) is None
    # The settings that hold at every site are shown, not offered, with the way to the network's page.
    for spec in SPECS:
        assert (doc.by_id(field(spec.key)) is not None) is spec.per_site, spec.key
    table = doc.by_id("network-wide")
    assert "Sign out after inactivity" in table.text and "Network time zone" in table.text
    assert [a.attrs["href"] for a in doc.find_all("a") if a.text == "network's settings"] == ["/admin/settings"]
    # The site selector: the network first, then each site.
    options = [(o.attrs.get("value"), o.text.strip()) for o in doc.by_id("settings-site").find_all("option")]
    assert options[0] == ("", "Network defaults") and (str(den.id), "Denver (DEN)") in options
    assert [o for o in doc.by_id("settings-site").find_all("option") if "selected" in o.attrs][0].attrs["value"] == str(den.id)
    # The network's page says where its value does not hold.
    network = parse(raw(http.get("/admin/settings")))
    assert network.by_id(field("vitals.critical_systolic")).attrs["value"] == "200"
    assert "Not in force at: Denver (190 mmHg)" in network.by_id("overridden-vitals.critical_systolic").text


def test_saving_a_different_value_at_a_site_writes_its_override_with_the_leads_sign_off(clinic, sites):
    den = sites["den"]
    http = clinic.http(clinic.admin)
    url = f"/admin/settings?site={den.id}"
    data = {**_form(http, url), field("vitals.critical_systolic"): "190", "reason": "Denver protocol."}
    for approved in ({}, {"approved_by": "  "}):
        response = http.post(url, data={**data, **approved})
        assert response.status_code == 200
        assert error_beside(response, "approved_by") == (
            "Name the medical lead who signed off the change to: Alert at once: any systolic at or above.")
        assert _count() == 0
    response = http.post(url, data={**data, "approved_by": LEAD})
    assert response.status_code == 302 and response.headers["Location"] == url
    db.session.expire_all()
    [row] = db.session.scalars(select(SettingChange)).all()
    assert (row.key, row.value, row.site_id, row.cleared, row.approved_by, row.reason) == (
        "vitals.critical_systolic", "190", den.id, False, LEAD, "Denver protocol.")
    assert settings.current(den.id)["vitals.critical_systolic"] == 190
    assert settings.network()["vitals.critical_systolic"] == 200
    [event] = db.session.scalars(select(AuditEvent).where(AuditEvent.action == AuditAction.UPDATE,
                                                          AuditEvent.record_type == "setting")).all()
    assert (event.record_id, event.user_id) == (den.id, clinic.admin.id)
    assert event.detail == "at site DEN: changed: vitals.critical_systolic"
    shown = http.get(url)
    assert "1 setting(s) of Denver changed." in page(shown)
    doc = parse(raw(shown))
    assert doc.by_id("setting-vitals.critical_systolic").attrs["data-overridden"] == "yes"
    # The site's history, not the network's.
    assert "Denver protocol." in page(shown) and "Denver protocol." not in page(http.get("/admin/settings"))
    # Saving the form again unchanged writes nothing.
    response = http.post(url, data={**_form(http, url), "reason": "Just looking"})
    assert response.status_code == 302 and _count() == 1
    assert "No setting of Denver was changed." in page(http.get(url))


def test_use_the_network_default_writes_a_clearing_row_signed_off(clinic, sites):
    den = sites["den"]
    _set(clinic, "vitals.critical_systolic", 190, site=den)
    _set(clinic, "vitals.critical_systolic", 210)  # the network's, later
    http = clinic.http(clinic.admin)
    url = f"/admin/settings?site={den.id}"
    data = {**_form(http, url), box("vitals.critical_systolic"): "y", "reason": "Back to the network's."}
    response = http.post(url, data=data)
    assert response.status_code == 200 and error_beside(response, "approved_by")
    # Changing the value and giving it back to the network at once is refused beside the field.
    response = http.post(url, data={**data, field("vitals.critical_systolic"): "185", "approved_by": LEAD})
    assert response.status_code == 200
    assert "not both" in error_beside(response, field("vitals.critical_systolic"))
    assert _count() == 2
    response = http.post(url, data={**data, "approved_by": LEAD})
    assert response.status_code == 302
    db.session.expire_all()
    row = db.session.scalars(select(SettingChange).order_by(SettingChange.id.desc())).first()
    assert (row.site_id, row.cleared, row.value, row.approved_by) == (den.id, True, "", LEAD)
    assert settings.current(den.id)["vitals.critical_systolic"] == 210
    shown = parse(raw(http.get(url)))
    assert shown.by_id(field("vitals.critical_systolic")).attrs["value"] == "210"
    assert shown.by_id(box("vitals.critical_systolic")) is None
    assert "The network default again" in shown.text
    event = db.session.scalars(select(AuditEvent).where(AuditEvent.record_type == "setting")
                               .order_by(AuditEvent.id.desc())).first()
    assert event.detail == "at site DEN: network default again: vitals.critical_systolic"


@pytest.mark.parametrize("value, message", [("abc", "Enter a whole number."), ("119", "Enter 120 mmHg or more."),
                                            ("", "Enter a value for"), ("19\x000", "invisible control characters")])
def test_the_site_page_refuses_an_unusable_value_beside_the_field(clinic, sites, value, message):
    http = clinic.http(clinic.admin)
    url = f"/admin/settings?site={sites['den'].id}"
    response = http.post(url, data={**_form(http, url), field("vitals.critical_systolic"): value,
                                    "reason": "Denver protocol.", "approved_by": LEAD})
    assert response.status_code == 200
    assert message in error_beside(response, field("vitals.critical_systolic"))
    assert _count() == 0


def test_the_site_page_leaves_the_network_wide_settings_alone(clinic, sites):
    http = clinic.http(clinic.admin)
    url = f"/admin/settings?site={sites['den'].id}"
    response = http.post(url, data={**_form(http, url), field("auth.idle_timeout_minutes"): "3",
                                    field("clinic.name"): "Denver Clinic", "reason": "Try."})
    assert response.status_code == 302
    assert _count() == 0 and settings.get("auth.idle_timeout_minutes") == 15


def test_a_site_page_opened_before_another_save_gets_the_conflict_page(clinic, sites):
    http = clinic.http(clinic.admin)
    url = f"/admin/settings?site={sites['den'].id}"
    data = {**_form(http, url), field("vitals.critical_systolic"): "190", "reason": "Denver.", "approved_by": LEAD}
    _set(clinic, "vitals.hold_systolic", 150)  # someone saved the network's settings meanwhile
    response = http.post(url, data=data)
    assert response.status_code == 409
    assert "Alert at once: any systolic at or above" in raw(response)
    assert f'href="{url}"' in raw(response).replace("&amp;", "&")
    assert _count(site_id=sites["den"].id) == 0
    assert db.session.scalar(select(SettingRevision.version)) == 2


def test_the_audit_trail_of_a_site_shows_its_own_settings_not_anothers(clinic, sites, make_user, app, login):
    """A site's change of its settings is in the trail of that site's supervisors (and the whole
    trail); the network's changes are in every site's."""
    http = clinic.http(clinic.admin)
    url = f"/admin/settings?site={sites['den'].id}"
    assert http.post(url, data={**_form(http, url), field("vitals.critical_systolic"): "190",
                                "reason": "evt-den-settings", "approved_by": LEAD}).status_code == 302
    events = db.session.scalars(select(AuditEvent).where(AuditEvent.record_type == "setting")).all()
    assert [e.record_id for e in events] == [sites["den"].id]
    for where, sees in (("main", False), ("den", True)):
        supervisor = make_user("supervisor", sites=[sites[where]])
        theirs = app.test_client()
        login(supervisor, http=theirs)
        body = theirs.get("/audit/?record_type=setting").get_data(as_text=True)
        assert ("at site DEN" in body) is sees, where


def test_the_page_of_a_site_is_the_administrators_only(clinic, sites):
    for user in (clinic.medical, clinic.supervisor):
        assert clinic.get(user, f"/admin/settings?site={sites['den'].id}").status_code == 403


def test_the_lists_of_one_site_use_its_values_and_lists_across_sites_the_networks(clinic, sites, make_user, app):
    """A request without a record applies the settings of the one site its lists show."""
    from flask import g

    from kaptracker import scope
    from kaptracker.access import forget_cached_user

    _set(clinic, "integration.due_days", 14, site=sites["den"])
    only_denver = make_user("medical", sites=[sites["den"]])
    for user, expected in ((only_denver, 14), (clinic.medical, 7), (clinic.admin, 7)):
        with app.test_request_context("/today"):
            forget_cached_user()  # the test's app context outlives each request: its g too
            g._login_user = user
            assert scope.request_site_id() == (sites["den"].id if user is only_denver else None)
            assert settings.get("integration.due_days") == expected
