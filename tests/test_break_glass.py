"""Emergency ("break-glass") access: a reason, an hour at most, one user and one client, every page
opened flagged in the audit trail, each grant on the supervisors' worklist."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import DatabaseError

from kaptracker.extensions import db
from kaptracker.models import AuditAction, AuditEvent, BreakGlassGrant, ClientStatus, utcnow
from kaptracker.rules import settings as setting_rules
from tests.course_support import error_beside
from tests.html_support import parse

REASON = "Client at the front desk in crisis; their therapist is away today."


@pytest.fixture
def people(make_user, make_client):
    mine, theirs = make_user("therapist"), make_user("therapist")
    return {
        "therapist": mine, "other": theirs, "medical": make_user("medical"),
        "supervisor": make_user("supervisor"), "admin": make_user("admin"),
        "record": make_client(theirs, status=ClientStatus.DISCHARGED, record_number="KAP-7001"),
    }


def _events(**where):
    stmt = select(AuditEvent).order_by(AuditEvent.id)
    for key, value in where.items():
        stmt = stmt.where(getattr(AuditEvent, key) == value)
    return db.session.scalars(stmt).all()


def test_a_reason_and_the_record_number_open_the_record_for_an_hour(people, client, login):
    login(people["therapist"])
    record = people["record"]
    assert client.get(f"/clients/{record.id}").status_code == 404
    response = client.post("/emergency-access", data={"record_number": "KAP-7001", "reason": "urgent"})
    assert response.status_code == 422
    assert "at least 20 characters" in error_beside(response, "reason")
    response = client.post("/emergency-access", data={"record_number": "KAP-0000", "reason": REASON})
    assert response.status_code == 422
    assert "No client has this record number" in error_beside(response, "record_number")
    assert db.session.scalars(select(BreakGlassGrant)).all() == []

    response = client.post("/emergency-access", data={"record_number": " KAP-7001 ", "reason": REASON})
    assert response.status_code == 302 and response.headers["Location"] == f"/clients/{record.id}"
    grant = db.session.scalars(select(BreakGlassGrant)).one()
    assert grant.expires_at - grant.granted_at == dt.timedelta(minutes=60)
    assert (grant.user_id, grant.client_id, grant.reason) == (people["therapist"].id, record.id, REASON)
    created = _events(record_type="break_glass")[0]
    assert created.action is AuditAction.CREATE and "BREAK-GLASS" in created.detail and REASON in created.detail

    page = client.get(f"/clients/{record.id}")
    assert page.status_code == 200
    viewed = _events(record_type="client", client_id=record.id)[-1]
    assert viewed.detail.startswith(f"BREAK-GLASS (grant {grant.id})")
    # The client appears in the list while the access lasts.
    assert "KAP-7001" in client.get("/clients/").get_data(as_text=True)


def test_access_ends_when_the_grant_expires(people, client, login):
    record = people["record"]
    db.session.add(BreakGlassGrant(user_id=people["therapist"].id, client_id=record.id, reason=REASON,
                                   granted_at=utcnow() - dt.timedelta(minutes=61),
                                   expires_at=utcnow() - dt.timedelta(minutes=1)))
    db.session.commit()
    login(people["therapist"])
    assert client.get(f"/clients/{record.id}").status_code == 404
    assert "KAP-7001" not in client.get("/clients/").get_data(as_text=True)


def test_a_grant_is_for_its_user_only(people, client, login, make_user):
    record = people["record"]
    db.session.add(BreakGlassGrant(user_id=people["therapist"].id, client_id=record.id, reason=REASON,
                                   granted_at=utcnow(), expires_at=utcnow() + dt.timedelta(minutes=30)))
    db.session.commit()
    login(make_user("therapist"))
    assert client.get(f"/clients/{record.id}").status_code == 404


def test_medical_staff_reach_a_discharged_client_the_same_way(people, client, login):
    login(people["medical"])
    record = people["record"]
    assert client.get(f"/clients/{record.id}").status_code == 404
    client.post("/emergency-access", data={"record_number": "KAP-7001", "reason": REASON})
    assert client.get(f"/clients/{record.id}").status_code == 200


def test_own_clients_are_not_flagged(people, client, login, make_client):
    own = make_client(people["therapist"])
    db.session.add(BreakGlassGrant(user_id=people["therapist"].id, client_id=own.id, reason=REASON,
                                   granted_at=utcnow(), expires_at=utcnow() + dt.timedelta(minutes=30)))
    db.session.commit()
    login(people["therapist"])
    assert client.get(f"/clients/{own.id}").status_code == 200
    assert _events(record_type="client", client_id=own.id)[-1].detail is None


def test_admins_have_no_break_glass(people, client, login):
    login(people["admin"])
    assert client.get("/emergency-access").status_code == 403
    assert client.post("/emergency-access", data={"record_number": "KAP-7001", "reason": REASON}).status_code == 403


def test_a_supervisor_reaches_a_client_of_another_site_only_through_break_glass(people, client, login,
                                                                                  make_client):
    """A supervisor supervises their sites: a client whose home is elsewhere is not found, until
    they give a reason; a supervisor of their own site needs none (a break-glass request says so)."""
    from kaptracker.models import Site

    other_site = Site(code="DEN", name="Denver", time_zone="America/Denver")
    db.session.add(other_site)
    db.session.commit()
    elsewhere = make_client(people["other"], record_number="KAP-7002", home_site_id=other_site.id)
    login(people["supervisor"])
    assert client.get(f"/clients/{people['record'].id}").status_code == 200  # their site
    assert client.get(f"/clients/{elsewhere.id}").status_code == 404
    assert "KAP-7002" not in client.get("/clients/?q=KAP-7002").get_data(as_text=True)
    response = client.post("/emergency-access", data={"record_number": "KAP-7002", "reason": REASON})
    assert response.status_code == 302 and response.headers["Location"] == f"/clients/{elsewhere.id}"
    page = client.get(f"/clients/{elsewhere.id}")
    assert page.status_code == 200
    assert _events(record_type="client", client_id=elsewhere.id)[-1].detail.startswith("BREAK-GLASS")


def test_the_hour_is_the_longest_setting():
    spec = setting_rules.SPECS_BY_KEY["access.break_glass_minutes"]
    assert spec.default == 60 and spec.maximum == 60
    with pytest.raises(ValueError):
        spec.parse("90")


def test_grants_are_append_only_in_the_database(people):
    db.session.add(BreakGlassGrant(user_id=people["therapist"].id, client_id=people["record"].id, reason=REASON,
                                   granted_at=utcnow(), expires_at=utcnow() + dt.timedelta(minutes=30)))
    db.session.commit()
    for statement in ("UPDATE break_glass_grant SET expires_at = expires_at", "DELETE FROM break_glass_grant"):
        with pytest.raises(DatabaseError):
            db.session.execute(text(statement))
        db.session.rollback()
    with pytest.raises(DatabaseError):  # no reason, no grant
        db.session.execute(text(
            "INSERT INTO break_glass_grant (user_id, client_id, reason, granted_at, expires_at) "
            "VALUES (:u, :c, 'because', :now, :later)"),
            {"u": people["therapist"].id, "c": people["record"].id, "now": utcnow(),
             "later": utcnow() + dt.timedelta(minutes=5)})
    db.session.rollback()
def test_supervisors_see_each_grant_on_their_worklist(people, client, login):
    login(people["therapist"])
    client.post("/emergency-access", data={"record_number": "KAP-7001", "reason": REASON})
    client.post("/logout")
    login(people["supervisor"])
    html = client.get("/dashboard/?flag=break_glass").get_data(as_text=True)
    rows = [tr for tr in parse(html).find_all("tr") if tr.attrs.get("data-kind") == "break_glass"]
    assert len(rows) == 1
    assert f"/audit/?client={people['record'].id}" in html
    audit = client.get(f"/audit/?client={people['record'].id}").get_data(as_text=True)
    assert "BREAK-GLASS" in audit


