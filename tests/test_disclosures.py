"""Accounting of disclosures (45 CFR 164.528): every export states its purpose and is listed, with
who, when, what and why, on the client's disclosures page and CSV for six years."""

from __future__ import annotations

import csv
import datetime as dt
import io

import pytest
import sqlalchemy as sa
from html_support import parse
from sqlalchemy import select

from kaptracker import disclosures
from kaptracker.extensions import db
from kaptracker.models import AuditAction, AuditEvent, ClientStatus, Disclosure

from test_access import _course_with_sessions


@pytest.fixture
def people(make_user, make_client):
    therapist = make_user("therapist", name="Tess Therapist")
    medical = make_user("medical", name="Mo Medical")
    supervisor = make_user("supervisor", name="Sue Supervisor")
    record = make_client(therapist, status=ClientStatus.ACTIVE, record_number="KAP-7001")
    other = make_client(make_user("therapist"), status=ClientStatus.ACTIVE, record_number="KAP-7002")
    ids = _course_with_sessions(record, therapist, medical)
    return {"therapist": therapist, "medical": medical, "supervisor": supervisor, "client": record,
            "other": other, **ids}


def _disclosures(client_id=None):
    db.session.rollback()
    stmt = select(Disclosure).order_by(Disclosure.id)
    if client_id is not None:
        stmt = stmt.where(Disclosure.client_id == client_id)
    return db.session.scalars(stmt).all()


def _add(client, user, at, *, kind="fhir_bundle", purpose="treatment", what="FHIR R4 bundle", reason=None,
         recipient=None):
    db.session.add(Disclosure(at=at, client_id=client.id, user_id=user.id, kind=kind, purpose=purpose,
                              record_type="client", record_id=client.id, what=what, reason=reason,
                              recipient=recipient))
    db.session.commit()


def _export_urls(people):
    return {
        "fhir_bundle": f"/clients/{people['client'].id}/fhir",
        "vitals_csv": f"/courses/{people['course']}/vitals.csv",
        "summary_pdf": f"/courses/{people['course']}/summary.pdf",
        "caseload_csv": "/exports/caseload.csv",
    }


# --- every export states its purpose ------------------------------------------------------------


KINDS = ["fhir_bundle", "vitals_csv", "summary_pdf", "caseload_csv"]
RECIPIENT = "Dr Imani Osei, Riverside Psychiatry"


@pytest.mark.parametrize("kind", KINDS)
def test_an_export_asks_why_and_to_whom_before_anything_leaves(kind, people, client, login):
    login(people["therapist"])
    url = _export_urls(people)[kind]
    asked = client.get(url)
    assert asked.status_code == 200 and "Content-Disposition" not in asked.headers
    doc = parse(asked)
    assert doc.by_id("purpose").tag == "select" and doc.by_id("recipient").tag == "input"
    assert [f.attrs.get("method") for f in doc.find_all("form") if f.by_id("purpose")] == ["post"]
    for data, field, message in (
        ({"purpose": "curiosity", "recipient": RECIPIENT}, "purpose", "Choose why"),
        ({"purpose": "treatment", "recipient": "  "}, "recipient", "Write who receives"),
        ({"purpose": "legal", "recipient": "x" * 201}, "recipient", "200"),
    ):
        refused = client.post(url, data=data)
        assert refused.status_code == 422 and "Content-Disposition" not in refused.headers
        page = parse(refused)
        assert message in page.by_id(f"{field}-error").text
        assert f"{field}-error" in page.by_id(field).attrs.get("aria-describedby", "")
    assert _disclosures() == []
    assert not db.session.scalars(select(AuditEvent).where(AuditEvent.action == AuditAction.EXPORT)).all()


@pytest.mark.parametrize("kind", KINDS)
def test_an_export_is_a_disclosure_with_who_what_to_whom_and_why(kind, people, client, login):
    login(people["therapist"])
    response = client.post(_export_urls(people)[kind], data={"purpose": "treatment", "recipient": RECIPIENT})
    assert response.status_code == 200 and response.headers["Content-Disposition"].startswith("attachment")
    [disclosure] = _disclosures(people["client"].id)
    assert (disclosure.kind, disclosure.purpose, disclosure.recipient, disclosure.user_id) == (
        kind, "treatment", RECIPIENT, people["therapist"].id)
    assert disclosure.what and people["client"].family_name not in disclosure.what  # no patient data
    events = db.session.scalars(select(AuditEvent).where(
        AuditEvent.action == AuditAction.EXPORT, AuditEvent.client_id == people["client"].id)).all()
    assert len(events) == 1 and events[0].detail.endswith("purpose treatment")
    assert RECIPIENT not in events[0].detail


def test_the_clients_own_copy_needs_no_recipient(people, client, login):
    login(people["therapist"])
    response = client.post(f"/clients/{people['client'].id}/fhir", data={"purpose": "client_request"})
    assert response.status_code == 200
    [disclosure] = _disclosures(people["client"].id)
    assert (disclosure.purpose, disclosure.recipient) == ("client_request", None)


def test_a_break_glass_opening_is_a_disclosure_with_its_reason(people, client, login, make_user):
    stranger = make_user("therapist")
    login(stranger)
    reason = "The client is at the front desk in crisis and their therapist is away."
    response = client.post("/emergency-access", data={"record_number": "KAP-7002", "reason": reason})
    assert response.status_code == 302
    [disclosure] = _disclosures(people["other"].id)
    assert (disclosure.kind, disclosure.purpose, disclosure.reason, disclosure.user_id) == (
        "break_glass", disclosures.EMERGENCY, reason, stranger.id)


def test_an_unknown_kind_or_purpose_is_refused_in_code(app, people):
    with app.test_request_context():
        with pytest.raises(ValueError):
            disclosures.disclose("lot_trace", client_id=people["client"].id, purpose="treatment",
                                 record_type="lot", record_id=1, what="x", user=people["therapist"])
        with pytest.raises(ValueError):
            disclosures.disclose("fhir_bundle", client_id=people["client"].id, purpose="gossip",
                                 record_type="client", record_id=1, what="x", user=people["therapist"])


def test_a_new_kind_is_registered_without_a_migration(app, people):
    """The ledger's lot traces will add a kind this way."""
    disclosures.register_kind("test_trace", "Trace (test)")
    try:
        with app.test_request_context():
            disclosures.disclose("test_trace", client_id=people["client"].id, purpose="legal",
                                 record_type="lot", record_id=3, what="lot 3 traced", user=people["supervisor"])
            db.session.commit()
        assert [d.kind for d in _disclosures(people["client"].id)] == ["test_trace"]
    finally:
        disclosures.KINDS.pop("test_trace")


def test_disclosures_are_append_only(people, clock):
    _add(people["client"], people["therapist"], clock.now())
    for statement in ("UPDATE disclosure SET purpose = 'legal'", "DELETE FROM disclosure"):
        with pytest.raises(sa.exc.DatabaseError):
            db.session.execute(sa.text(statement))
            db.session.flush()
        db.session.rollback()
    assert len(_disclosures()) == 1


# --- the accounting: page and CSV --------------------------------------------------------------


def test_the_page_lists_six_years_newest_first_and_only_this_client(people, client, login, clock):
    clock.travel("2027-05-10T12:00Z")
    now = clock.now()
    _add(people["client"], people["therapist"], now - dt.timedelta(days=3), what="newest one",
         recipient="Riverside Psychiatry")
    _add(people["client"], people["supervisor"], now - dt.timedelta(days=400), kind="summary_pdf",
         purpose="legal", what="older one")
    _add(people["client"], people["therapist"], dt.datetime(2021, 5, 10, 12, tzinfo=dt.UTC), what="six years ago today")
    _add(people["client"], people["therapist"], dt.datetime(2021, 5, 8, 12, tzinfo=dt.UTC), what="too old")
    _add(people["other"], people["supervisor"], now, what="another client")
    login(people["supervisor"])
    response = client.get(f"/clients/{people['client'].id}/disclosures")
    assert response.status_code == 200
    doc = parse(response)
    rows = [tr for body in doc.find_all("tbody") for tr in body.find_all("tr")]
    texts = [r.text for r in rows]
    assert len(rows) == 3
    assert "newest one" in texts[0] and "older one" in texts[1] and "six years ago today" in texts[2]
    assert "Riverside Psychiatry" in texts[0]
    assert "Sue Supervisor" in texts[1] and "Required by law" in texts[1] and "Course summary (PDF)" in texts[1]
    assert "10 May 2021" in doc.text  # the period's start is said


def test_the_page_is_linked_from_the_client_for_those_who_may_open_it(people, client, login):
    link = f"/clients/{people['client'].id}/disclosures"
    for user, linked in ((people["therapist"], True), (people["supervisor"], True), (people["medical"], False)):
        login(user)
        page = client.get(f"/clients/{people['client'].id}")
        assert page.status_code == 200
        hrefs = [a.attrs.get("href") for a in parse(page).find_all("a")]
        assert (link in hrefs) is linked, user.role
        assert client.get(link).status_code == (200 if linked else 403)
        client.post("/logout")


def test_another_therapists_client_is_not_found(people, client, login):
    login(people["therapist"])
    assert client.get(f"/clients/{people['other'].id}/disclosures").status_code == 404
    assert client.get(f"/clients/{people['other'].id}/disclosures.csv").status_code == 404


def test_viewing_the_accounting_is_audited(people, client, login):
    login(people["therapist"])
    client.get(f"/clients/{people['client'].id}/disclosures")
    db.session.rollback()
    [event] = db.session.scalars(select(AuditEvent).where(AuditEvent.action == AuditAction.VIEW)).all()
    assert (event.record_type, event.client_id, event.route, event.status) == (
        "disclosures", people["client"].id, "disclosures.client_disclosures", 200)


def test_the_csv_has_every_disclosure_of_the_period_safe_for_a_spreadsheet(people, client, login, clock):
    clock.travel("2027-05-10T12:00Z")
    reason = "=HYPERLINK(\"http://evil\") emergency at the front desk, therapist away"
    _add(people["client"], people["therapist"], clock.now(), kind="break_glass", purpose="emergency",
         what="opened", reason=reason)
    _add(people["client"], people["therapist"], clock.now() - dt.timedelta(days=10), purpose="payment",
         recipient="Acme Health Insurance")
    login(people["therapist"])
    response = client.get(f"/clients/{people['client'].id}/disclosures.csv")
    assert response.status_code == 200
    assert response.headers["Content-Disposition"] == 'attachment; filename="disclosures-KAP-7001-2027-05-10.csv"'
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff"))))
    assert rows[0][0] == "When (clinic time)" and len(rows) == 3
    assert rows[0][5:7] == ["Recipient", "Purpose"]
    assert rows[1][1:3] == ["Tess Therapist", "Therapist"] and rows[1][7] == "'" + reason
    assert rows[1][6] == "Emergency care outside the care team" and rows[2][6] == "Payment or insurance"
    assert rows[2][5] == "Acme Health Insurance"
    db.session.rollback()
    [event] = db.session.scalars(select(AuditEvent).where(AuditEvent.action == AuditAction.EXPORT)).all()
    assert event.client_id == people["client"].id and event.detail == "accounting of disclosures CSV: 2 rows"


def test_pages_and_a_constant_number_of_queries(make_app, make_user, make_client, login, count_queries, clock):
    app = make_app(DISCLOSURES_PER_PAGE=5)
    with app.app_context():
        http = app.test_client()
        therapist = make_user("therapist")
        record = make_client(therapist)
        login(therapist, http=http)
        counts = {}
        for total in (3, 60):
            while db.session.scalar(select(sa.func.count()).select_from(Disclosure)) < total:
                _add(record, make_user("supervisor") if total > 3 else therapist, clock.now(), what="x")
            for url in (f"/clients/{record.id}/disclosures", f"/clients/{record.id}/disclosures.csv"):
                with count_queries() as counted:
                    assert http.get(url).status_code == 200
                counts[(total, url)] = counted.n
        page2 = http.get(f"/clients/{record.id}/disclosures?page=2")
        assert len([tr for b in parse(page2).find_all("tbody") for tr in b.find_all("tr")]) == 5
        assert "Page 2 of 12" in parse(page2).text
        for url in (f"/clients/{record.id}/disclosures", f"/clients/{record.id}/disclosures.csv"):
            assert counts[(3, url)] == counts[(60, url)], counts


def test_the_accounting_starts_six_years_back():
    assert disclosures.accounting_start(dt.date(2027, 5, 10)) == dt.date(2021, 5, 10)
    assert disclosures.accounting_start(dt.date(2028, 2, 29)) == dt.date(2022, 2, 28)
