"""The audit log page (who may read it, filters, dates, pages, what admins see) and the
append-only audit_event table."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa
from html_support import Node, parse
from sqlalchemy import select

from kaptracker import clock
from tests import factories
from kaptracker.extensions import db
from kaptracker.models import AuditAction, AuditEvent

UTC = dt.UTC

# --- fixtures and helpers ----------------------------------------------------------------------


COLUMNS = ("when", "who", "action", "record", "client", "from", "detail")


def rows(response) -> list[dict]:
    """The audit table, one dict per row."""
    assert response.status_code == 200, response.status_code
    doc = parse(response)
    return [
        dict(zip(COLUMNS, (td.text for td in tr.find_all("td")), strict=True))
        for body in doc.find_all("tbody") for tr in body.find_all("tr")
    ]


def markers(response) -> list[str]:
    """Details of the events made by :func:`add` ("evt-..."), newest first."""
    return [r["detail"] for r in rows(response) if r["detail"].startswith("evt-")]


def error_beside(doc: Node, field: str) -> str:
    error = doc.by_id(f"{field}-error")
    assert error is not None, f"no error element for {field!r}"
    container = next((a for a in error.ancestors() if "field" in a.classes), None)
    assert container is not None and container.by_id(field) is not None, f"error for {field!r} not beside it"
    control = doc.by_id(field)
    assert control.attrs.get("aria-describedby") == f"{field}-error"
    assert control.attrs.get("aria-invalid") == "true"
    return error.text


def add(detail, *, user=None, action=AuditAction.VIEW, record_type="client", record_id=None,
        client=None, at=None, ip="10.0.0.1") -> AuditEvent:
    event = AuditEvent(
        detail=detail, user_id=getattr(user, "id", None), action=action, record_type=record_type,
        record_id=record_id, client_id=getattr(client, "id", None), ip=ip,
        at=at or clock.now(),
    )
    db.session.add(event)
    db.session.commit()
    return event


@pytest.fixture
def supervisor(make_user):
    """A network lead: the whole trail, so these tests are about the search itself; what a
    site's supervisor reads is in tests/test_site_scope.py."""
    return make_user("supervisor", name="Sue Supervisor", network_lead=True)


@pytest.fixture
def admin(make_user):
    return make_user("admin", name="Adam Admin")


# --- who may read it ---------------------------------------------------------------------------


@pytest.mark.parametrize("role", ["supervisor", "admin"])
def test_supervisors_and_admins_read_the_log(client, login, make_user, role):
    user = make_user(role)
    add("evt-visible", user=make_user("therapist"))  # a colleague's, at the default site
    login(user)
    response = client.get("/audit/")
    assert response.status_code == 200
    assert "evt-visible" in markers(response)


@pytest.mark.parametrize("role", ["therapist", "medical"])
def test_therapists_and_medical_staff_get_403(client, login, make_user, role):
    user = make_user(role)
    add("evt-secret")
    login(user)
    response = client.get("/audit/")
    assert response.status_code == 403
    assert "evt-secret" not in response.get_data(as_text=True)
    denied = db.session.scalars(
        select(AuditEvent).where(AuditEvent.action == AuditAction.DENIED, AuditEvent.user_id == user.id)
    ).all()
    assert len(denied) == 1 and "audit.index" in denied[0].detail


def test_anonymous_visitors_are_sent_to_sign_in(client):
    response = client.get("/audit/?action=view")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login")


def test_the_log_cannot_be_changed_over_http(client, login, supervisor):
    event = add("evt-fixed")
    login(supervisor)
    for method in ("post", "put", "delete", "patch"):
        assert getattr(client, method)("/audit/", data={"detail": "x"}).status_code == 405
        assert getattr(client, method)(f"/audit/{event.id}").status_code == 404
    db.session.expire_all()
    assert db.session.get(AuditEvent, event.id).detail == "evt-fixed"


def test_each_row_shows_when_who_what_and_from_where(client, login, make_user, make_client, supervisor):
    nurse = make_user("medical", name="Nina Nurse")
    record = make_client(record_number="ROW-1")
    add("evt-row", user=nurse, action=AuditAction.UPDATE, record_type="client", record_id=record.id,
        client=record, ip="198.51.100.23", at=dt.datetime(2025, 1, 15, 17, 4, 5, tzinfo=UTC))
    login(supervisor)
    row = next(r for r in rows(client.get("/audit/")) if r["detail"] == "evt-row")
    assert row == {
        "when": "15 Jan 2025 12:04:05",  # in the clinic's time zone (New York, UTC-5 in January)
        "who": "Nina Nurse",
        "action": "update",
        "record": f"client #{record.id}",
        "client": "ROW-1",
        "from": "198.51.100.23",
        "detail": "evt-row",
    }


@pytest.mark.parametrize(("record_type", "shown"), [
    ("dosing", "medicine session #7"),  # the kind's name, never the code's word
    ("preparation", "preparation session #7"),
    ("screening", "screening #7"),
    ("override_review", "override review #7"),
])
def test_a_rows_record_is_named_in_words(client, login, supervisor, record_type, shown):
    add("evt-kind", record_type=record_type, record_id=7)
    login(supervisor)
    assert next(r for r in rows(client.get("/audit/")) if r["detail"] == "evt-kind")["record"] == shown


# --- filters -----------------------------------------------------------------------------------


@pytest.fixture
def trail(make_user, make_client):
    """Events by two people, of several kinds, about two clients."""
    alice = make_user("therapist", name="Alice Therapist")
    bob = make_user("medical", name="Bob Medical")
    c1, c2 = make_client(record_number="C-ONE"), make_client(record_number="C-TWO")
    add("evt-a-view-c1", user=alice, action=AuditAction.VIEW, record_type="client", record_id=c1.id, client=c1)
    add("evt-a-update-c1", user=alice, action=AuditAction.UPDATE, record_type="client", record_id=c1.id, client=c1)
    add("evt-a-list", user=alice, action=AuditAction.VIEW, record_type="client_list")
    add("evt-b-view-c2", user=bob, action=AuditAction.VIEW, record_type="client", record_id=c2.id, client=c2)
    add("evt-b-denied-c1", user=bob, action=AuditAction.DENIED, record_type="client", record_id=c1.id)
    add("evt-b-setting", user=bob, action=AuditAction.UPDATE, record_type="setting")
    add("evt-anon-failed", action=AuditAction.LOGIN_FAILED, record_type="user")
    return {"alice": alice, "bob": bob, "c1": c1, "c2": c2}


@pytest.mark.parametrize(
    "query, expected",
    [
        ("user={alice}", ["evt-a-list", "evt-a-update-c1", "evt-a-view-c1"]),
        ("user={bob}", ["evt-b-setting", "evt-b-denied-c1", "evt-b-view-c2"]),
        ("action=update", ["evt-b-setting", "evt-a-update-c1"]),
        ("action=denied", ["evt-b-denied-c1"]),
        ("action=login_failed", ["evt-anon-failed"]),
        ("record_type=setting", ["evt-b-setting"]),
        ("record_type=client_list", ["evt-a-list"]),
        ("client={c1}", ["evt-a-update-c1", "evt-a-view-c1"]),
        ("client={c2}", ["evt-b-view-c2"]),
        ("user={alice}&action=view", ["evt-a-list", "evt-a-view-c1"]),
        ("user={bob}&action=update&record_type=setting", ["evt-b-setting"]),
        ("user={alice}&client={c2}", []),
        # Unknown values are ignored rather than failing or matching nothing.
        ("action=erase", None),
        ("record_type=everything", None),
        ("user=abc", None),
        ("user=-1", None),
        ("user=99999999999999999999", None),
        ("client=3000000000", None),
        ("page=99999999999999999999", None),
        ("action=%00&record_type=%00", None),
    ],
)
def test_filters(client, login, supervisor, trail, query, expected):
    everything = ["evt-anon-failed", "evt-b-setting", "evt-b-denied-c1", "evt-b-view-c2",
                  "evt-a-list", "evt-a-update-c1", "evt-a-view-c1"]
    login(supervisor)
    url = "/audit/?" + query.format(**{k: v.id for k, v in trail.items()})
    response = client.get(url)
    assert markers(response) == (everything if expected is None else expected)
    if query.startswith("user={"):
        who = trail[query[6:query.index("}")]].name
        # Nobody else's events, not even the viewer's own sign-in.
        assert {r["who"] for r in rows(response)} == ({who} if expected else set())


def test_filters_are_kept_in_the_form(client, login, supervisor, trail):
    login(supervisor)
    doc = parse(client.get(f"/audit/?user={trail['bob'].id}&action=update&record_type=setting"
                           f"&client={trail['c1'].id}&from=2024-01-01&to=2030-12-31"))

    def selected(select_id):
        return [o.attrs["value"] for o in doc.by_id(select_id).find_all("option") if "selected" in o.attrs]

    assert selected("user") == [str(trail["bob"].id)]
    assert selected("action") == ["update"]
    assert selected("record_type") == ["setting"]
    assert doc.by_id("from").attrs["value"] == "2024-01-01"
    assert doc.by_id("to").attrs["value"] == "2030-12-31"
    hidden = doc.find_all("input", name="client")
    assert [h.attrs["value"] for h in hidden] == [str(trail["c1"].id)]


def test_client_trail_for_a_supervisor_names_the_record(client, login, supervisor, trail):
    login(supervisor)
    response = client.get(f"/audit/?client={trail['c1'].id}")
    text = parse(response).text
    assert f"client record C-ONE ({trail['c1'].full_name})" in text
    assert {r["client"] for r in rows(response)} == {"C-ONE"}


# --- dates -------------------------------------------------------------------------------------


@pytest.fixture
def dated(make_user):
    """Events around 10 March 2024 (New York: EST until 2 a.m. that day, then EDT)."""
    add("evt-9th-late", at=dt.datetime(2024, 3, 10, 4, 30, tzinfo=UTC))  # 9 Mar 23:30 EST
    add("evt-10th-start", at=dt.datetime(2024, 3, 10, 5, 0, tzinfo=UTC))  # 10 Mar 00:00 EST
    add("evt-10th-midday", at=dt.datetime(2024, 3, 10, 16, 0, tzinfo=UTC))  # 10 Mar 12:00 EDT
    add("evt-10th-late", at=dt.datetime(2024, 3, 11, 3, 59, tzinfo=UTC))  # 10 Mar 23:59 EDT
    add("evt-11th-start", at=dt.datetime(2024, 3, 11, 4, 0, tzinfo=UTC))  # 11 Mar 00:00 EDT
    add("evt-april", at=dt.datetime(2024, 4, 2, 12, 0, tzinfo=UTC))


@pytest.mark.parametrize(
    "query, expected",
    [
        ("from=2024-03-10&to=2024-03-10", ["evt-10th-late", "evt-10th-midday", "evt-10th-start"]),
        ("from=2024-03-11", ["evt-april", "evt-11th-start"]),
        ("to=2024-03-09", ["evt-9th-late"]),
        ("from=2024-03-01&to=2024-03-31",
         ["evt-11th-start", "evt-10th-late", "evt-10th-midday", "evt-10th-start", "evt-9th-late"]),
        ("from=2024-05-01", []),
        ("from=%202024-04-02%20", ["evt-april"]),  # surrounding spaces are forgiven
    ],
)
def test_date_range_in_the_clinic_time_zone(client, login, supervisor, dated, query, expected):
    login(supervisor)
    assert markers(client.get(f"/audit/?{query}")) == expected


def test_date_range_follows_the_clinic_time_zone_setting(client, login, supervisor, admin, dated):
    factories.move_clinic("UTC", admin)
    login(supervisor)
    assert markers(client.get("/audit/?from=2024-03-10&to=2024-03-10")) == [
        "evt-10th-midday", "evt-10th-start", "evt-9th-late"]


ALL_DATED = ["evt-april", "evt-11th-start", "evt-10th-late", "evt-10th-midday", "evt-10th-start", "evt-9th-late"]


@pytest.mark.parametrize(
    "query, field, message, expected",
    [
        ("from=2024-13-45", "from", "Enter a date like 2026-03-31.", ALL_DATED),
        ("from=yesterday", "from", "Enter a date like 2026-03-31.", ALL_DATED),
        ("to=31/03/2024", "to", "Enter a date like 2026-03-31.", ALL_DATED),
        ("to=2024-02-30", "to", "Enter a date like 2026-03-31.", ALL_DATED),
        ("from=%00", "from", "Enter a date like 2026-03-31.", ALL_DATED),
        ("from=" + "9" * 5000, "from", "Enter a date like 2026-03-31.", ALL_DATED),
        ("to=9999-12-31", "to", "Enter a date between the years 1900 and 9998.", ALL_DATED),
        ("from=0001-01-01", "from", "Enter a date between the years 1900 and 9998.", ALL_DATED),
        # An end before the start: the start still applies, the end is refused.
        ("from=2024-03-11&to=2024-03-10", "to", "The end date is before the start date.",
         ["evt-april", "evt-11th-start"]),
        # A bad start does not stop a good end from applying.
        ("from=nope&to=2024-03-09", "from", "Enter a date like 2026-03-31.", ["evt-9th-late"]),
    ],
)
def test_invalid_dates_get_a_message_beside_the_field(client, login, supervisor, dated, query, field, message, expected):
    login(supervisor)
    response = client.get(f"/audit/?{query}")
    assert response.status_code == 200
    doc = parse(response)
    assert error_beside(doc, field) == message
    other = "to" if field == "from" else "from"
    assert doc.by_id(f"{other}-error") is None
    assert markers(response) == expected
    # What was typed stays in the box (cut short when absurdly long).
    assert len(doc.by_id(field).attrs.get("value", "")) <= 20


# --- pagination --------------------------------------------------------------------------------


def test_pagination(client, login, supervisor):
    base = dt.datetime(2025, 6, 1, 12, 0, tzinfo=UTC)
    for n in range(120):
        db.session.add(AuditEvent(detail=f"evt-{n:03d}", action=AuditAction.UPDATE, record_type="setting",
                                  at=base + dt.timedelta(minutes=n)))
    db.session.add(AuditEvent(detail="evt-other-kind", action=AuditAction.VIEW, record_type="client_list", at=base))
    db.session.commit()
    login(supervisor)

    first = client.get("/audit/?record_type=setting")
    assert markers(first) == [f"evt-{n:03d}" for n in range(119, 69, -1)]  # 50, newest first
    doc = parse(first)
    assert "Page 1 of 3 (120 in all)" in doc.text
    next_link = [a.attrs["href"] for a in doc.find_all("a", rel="next")]
    assert next_link == ["/audit/?page=2&record_type=setting"]
    assert not doc.find_all("a", rel="prev")

    second = client.get(next_link[0])
    assert markers(second) == [f"evt-{n:03d}" for n in range(69, 19, -1)]
    last = client.get("/audit/?page=3&record_type=setting")
    assert markers(last) == [f"evt-{n:03d}" for n in range(19, -1, -1)]
    assert not parse(last).find_all("a", rel="next")
    assert [a.attrs["href"] for a in parse(last).find_all("a", rel="prev")] == ["/audit/?page=2&record_type=setting"]
    assert markers(client.get("/audit/?page=4&record_type=setting")) == []


def test_page_links_keep_every_filter(client, login, supervisor, make_user, make_client):
    someone = make_user("therapist")
    record = make_client()
    for n in range(55):
        add(f"evt-{n}", user=someone, action=AuditAction.VIEW, record_type="client", client=record,
            at=dt.datetime(2025, 6, 1, 12, 0, tzinfo=UTC))
    login(supervisor)
    doc = parse(client.get(f"/audit/?user={someone.id}&action=view&record_type=client&client={record.id}"
                           "&from=2025-06-01&to=2025-06-01"))
    href = doc.find_all("a", rel="next")[0].attrs["href"]
    for part in (f"user={someone.id}", "action=view", "record_type=client", f"client={record.id}",
                 "from=2025-06-01", "to=2025-06-01", "page=2"):
        assert part in href
    assert len(markers(client.get(href))) == 5


# --- what admins see ---------------------------------------------------------------------------


def test_admins_see_no_client_names_or_record_numbers(client, login, make_user, make_client, supervisor, admin):
    therapist = make_user("therapist")
    record = make_client(therapist, given_name="Zebediah", family_name="Quartermaine",
                         preferred_name="Zeb", record_number="ZQ-7788")
    # Real events, made through the app: a view, an edit, a denied attempt.
    supervisor_browser = client.application.test_client()
    login(supervisor, http=supervisor_browser)
    assert supervisor_browser.get(f"/clients/{record.id}").status_code == 200
    assert supervisor_browser.post("/clients/", data={"q": "Quartermaine"}).status_code == 200
    outsider = client.application.test_client()
    login(make_user("therapist"), http=outsider)
    assert outsider.get(f"/clients/{record.id}").status_code == 404

    login(admin)
    for url in ("/audit/", f"/audit/?client={record.id}", f"/audit/?client={record.id}&record_type=client"):
        response = client.get(url)
        html = response.get_data(as_text=True)
        for secret in ("Zebediah", "Quartermaine", "Zeb", "ZQ-7788"):
            assert secret not in html, (url, secret)
    trail = rows(client.get(f"/audit/?client={record.id}"))
    assert trail and {r["client"] for r in trail} == {f"#{record.id}"}

    # Supervisors do see the record number (and, on a client's trail, the name).
    response = supervisor_browser.get(f"/audit/?client={record.id}")
    assert {r["client"] for r in rows(response)} == {"ZQ-7788"}
    assert "Zebediah Quartermaine" in parse(response).text
    # Nobody sees the search term: it is never recorded.
    assert "Quartermaine" not in supervisor_browser.get("/audit/?record_type=client_list").get_data(as_text=True)


# --- the table is append-only --------------------------------------------------------------------


def test_audit_events_cannot_be_updated_or_deleted_in_the_database(app):
    event = add("evt-original", action=AuditAction.VIEW)
    event_id = event.id

    statements = [
        sa.update(AuditEvent).where(AuditEvent.id == event_id).values(detail="evt-forged"),
        sa.update(AuditEvent).values(user_id=None),
        sa.delete(AuditEvent).where(AuditEvent.id == event_id),
        sa.delete(AuditEvent),
        sa.text("UPDATE audit_event SET ip = '0.0.0.0'"),
        sa.text("DELETE FROM audit_event"),
    ]
    for statement in statements:
        with pytest.raises(sa.exc.DBAPIError, match="append-only"):
            db.session.execute(statement)
            db.session.flush()
        db.session.rollback()

    db.session.expire_all()
    kept = db.session.get(AuditEvent, event_id)
    assert kept is not None and kept.detail == "evt-original" and kept.ip == "10.0.0.1"
    # Adding rows still works.
    add("evt-later")
    assert db.session.scalar(sa.select(sa.func.count()).select_from(AuditEvent)) == 2


def test_orm_changes_to_an_event_are_refused_too(app):
    event = add("evt-orm")
    event.detail = "evt-edited"
    with pytest.raises(sa.exc.DBAPIError, match="append-only"):
        db.session.commit()
    db.session.rollback()
    db.session.delete(db.session.get(AuditEvent, event.id))
    with pytest.raises(sa.exc.DBAPIError, match="append-only"):
        db.session.commit()
    db.session.rollback()
    db.session.expire_all()
    assert db.session.get(AuditEvent, event.id).detail == "evt-orm"


def test_a_view_says_whether_it_was_shown_or_refused_and_by_which_route(client, login, supervisor):
    db.session.add(AuditEvent(detail="evt-refused", action=AuditAction.VIEW, record_type="vitals",
                              route="vitals.record_vitals", status=422, at=clock.now()))
    db.session.add(AuditEvent(detail="evt-shown", action=AuditAction.VIEW, record_type="client",
                              route="clients.show", status=200, at=clock.now()))
    db.session.commit()
    login(supervisor)
    found = {r["detail"].split()[0]: r["detail"] for r in rows(client.get("/audit/")) if r["detail"].startswith("evt-")}
    assert found["evt-refused"] == "evt-refused refused (422) · vitals.record_vitals"
    assert found["evt-shown"] == "evt-shown shown · clients.show"
