"""The client registry through HTTP: register, validate, list and search, view, edit, reassign.

Every page is rendered and read back: an error must appear inside the container of the field
it is about (located by ``id="<field>-error"``), and what the user typed must still be there.
"""

from __future__ import annotations

import datetime as dt
import re

import pytest
from html_support import Node, parse
from sqlalchemy import func, select

from kaptracker import clock
from kaptracker import settings
from kaptracker.extensions import db
from kaptracker.models import AuditAction, AuditEvent, Client, ClientStatus, Indication

# --- fixtures and helpers ----------------------------------------------------------------------


def error_beside(doc: Node, field: str) -> str:
    """The error text shown for ``field``; fails unless it sits in the field's own container."""
    error = doc.by_id(f"{field}-error")
    assert error is not None, f"no error element for {field!r}"
    container = next((a for a in error.ancestors() if a.classes & {"field"}), None)
    assert container is not None, f"the error for {field!r} is not inside a field container"
    # A text box or select has the field's id; a group of checkboxes shares the field's name.
    assert container.by_id(field) is not None or container.find_all("input", name=field), (
        f"the error for {field!r} is not beside the field"
    )
    control = doc.by_id(field)
    if control is not None and control.tag in ("input", "select", "textarea"):
        assert f"{field}-error" in control.attrs.get("aria-describedby", "").split()
        assert control.attrs.get("aria-invalid") == "true"
    return error.text


def form_containing(doc: Node, field_id: str) -> Node:
    field = doc.by_id(field_id)
    assert field is not None, f"no field {field_id!r} on the page"
    return next(a for a in field.ancestors() if a.tag == "form")


def form_values(form: Node) -> dict:
    """What a browser would submit for ``form`` as it is rendered."""
    values: dict[str, list[str]] = {}
    for node in form.iter():
        name = node.attrs.get("name")
        if not name or node.tag not in ("input", "select", "textarea"):
            continue
        if node.tag == "input":
            kind = node.attrs.get("type", "text")
            if kind in ("submit", "button", "reset"):
                continue
            if kind in ("checkbox", "radio"):
                if "checked" in node.attrs:
                    values.setdefault(name, []).append(node.attrs.get("value") or "on")
                continue
            values.setdefault(name, []).append(node.attrs.get("value") or "")
        elif node.tag == "textarea":
            text = node.raw_text
            values.setdefault(name, []).append(text[2:] if text.startswith("\r\n") else text.removeprefix("\n"))
        else:
            options = node.find_all("option")
            chosen = [o for o in options if "selected" in o.attrs] or options[:1]
            values.setdefault(name, []).extend(o.attrs.get("value", o.text) for o in chosen)
    return {k: v if len(v) > 1 or k == "indications" else v[0] for k, v in values.items()}


def assert_kept(doc: Node, sent: dict, skip=()) -> None:
    """Every value the user sent is back in the re-rendered form."""
    shown = form_values(form_containing(doc, "given_name"))
    for name, value in sent.items():
        if name in skip or name in ("confirm_duplicate", "version"):
            continue
        if name == "indications":
            offered = {i.attrs.get("value") for i in doc.find_all("input", name=name)}
            assert sorted(shown.get(name, [])) == sorted(v for v in value if v in offered), name
        elif name in ("therapist_id", "status"):
            select_node = doc.by_id(name)
            offered = {o.attrs.get("value") for o in select_node.find_all("option")}
            if value in offered:
                assert shown[name] == value, name
        else:
            assert shown.get(name, "") == value.strip(), name


def links(response) -> list[str]:
    """Every URL in the page (links, form actions, sources) and the Location header."""
    doc = parse(response)
    urls = [
        n.attrs[attr] for n in doc.iter() for attr in ("href", "action", "src", "formaction")
        if n.attrs.get(attr)
    ]
    if response.headers.get("Location"):
        urls.append(response.headers["Location"])
    return urls


def listed_ids(response) -> list[int]:
    """Ids of the clients in the list table, in order."""
    doc = parse(response)
    ids = []
    for body in doc.find_all("tbody"):
        for a in body.find_all("a"):
            m = re.fullmatch(r"/clients/(\d+)", a.attrs.get("href", ""))
            if m:
                ids.append(int(m.group(1)))
    return ids


def count_clients() -> int:
    return db.session.scalar(select(func.count()).select_from(Client))


def events(**where) -> list[AuditEvent]:
    stmt = select(AuditEvent).order_by(AuditEvent.id)
    for key, value in where.items():
        stmt = stmt.where(getattr(AuditEvent, key) == value)
    return list(db.session.scalars(stmt))


def clinic_today() -> dt.date:
    return clock.today()


def years_ago(n: int) -> dt.date:
    today = clinic_today()
    try:
        return today.replace(year=today.year - n)
    except ValueError:  # 29 February
        return today.replace(year=today.year - n, day=28)


def new_client_data(therapist_id, /, **overrides) -> dict:
    data = {
        "record_number": "KAP-0001",
        "given_name": "Ada",
        "family_name": "Lovelace",
        "preferred_name": "Addie",
        "pronouns": "she/her",
        "date_of_birth": "1985-04-12",
        "phone": "+1 555 010 0101",
        "email": "ada@example.org",
        "address": "1 Analytical Row\nSpringfield",
        "emergency_contact_name": "Charles Babbage",
        "emergency_contact_relationship": "Friend",
        "emergency_contact_phone": "+1 555 010 0199",
        "indications": ["depression", "anxiety"],
        "indication_other": "",
        "therapist_id": str(therapist_id),
        "status": "referred",
    }
    for key, value in overrides.items():
        if value is None:
            data.pop(key, None)
        else:
            data[key] = value
    return data


@pytest.fixture
def therapist(make_user):
    return make_user("therapist", name="Theo Therapist")


@pytest.fixture
def supervisor(make_user):
    return make_user("supervisor", name="Sam Supervisor")


# --- registering: validation -------------------------------------------------------------------

HUGE = "x" * 100_000

VALIDATION_CASES = [
    # (id, overrides (None removes the field; a callable gets the context), field, message)
    ("no record number", {"record_number": ""}, "record_number", "Enter the record number."),
    ("no given name", {"given_name": ""}, "given_name", "Enter the given name."),
    ("given name only spaces", {"given_name": "   "}, "given_name", "Enter the given name."),
    ("no family name", {"family_name": None}, "family_name", "Enter the family name."),
    ("no date of birth", {"date_of_birth": ""}, "date_of_birth", "Enter the date of birth as a full date."),
    ("date of birth not a date", {"date_of_birth": "31/02/1980"}, "date_of_birth", "Not a valid date value."),
    ("impossible date", {"date_of_birth": "1980-02-30"}, "date_of_birth", "Not a valid date value."),
    ("no phone", {"phone": ""}, "phone", "Enter a phone number for the client."),
    ("no emergency contact", {"emergency_contact_name": ""}, "emergency_contact_name",
     "Enter who to call in an emergency"),
    ("no relationship", {"emergency_contact_relationship": ""}, "emergency_contact_relationship",
     "Enter how the emergency contact is related."),
    ("no emergency phone", {"emergency_contact_phone": ""}, "emergency_contact_phone",
     "Enter the emergency contact's phone number."),
    ("born in the future", {"date_of_birth": lambda c: (clinic_today() + dt.timedelta(days=2)).isoformat()},
     "date_of_birth", "The date of birth cannot be in the future."),
    ("born before 1900", {"date_of_birth": "1899-12-31"}, "date_of_birth", "Enter a date of birth after 1900."),
    ("17 years old", {"date_of_birth": lambda c: years_ago(17).isoformat()}, "date_of_birth",
     "The client must be at least 18 years old"),
    ("18 tomorrow", {"date_of_birth": lambda c: (years_ago(18) + dt.timedelta(days=1)).isoformat()},
     "date_of_birth", "The client must be at least 18 years old"),
    ("phone with letters", {"phone": "555-CALL-NOW"}, "phone", "Use digits, spaces and + - ( ) only"),
    ("phone too short", {"phone": "12 34"}, "phone", "A phone number has 6 to 15 digits."),
    ("phone too long", {"phone": "+1 234 567 890 123 456"}, "phone", "A phone number has 6 to 15 digits."),
    ("emergency phone malformed", {"emergency_contact_phone": "call mum"}, "emergency_contact_phone",
     "Use digits, spaces and + - ( ) only"),
    ("record number with a space", {"record_number": "KAP 0001"}, "record_number",
     "Use 1 to 32 letters, digits, dots, slashes or hyphens"),
    ("record number starting with a hyphen", {"record_number": "-0001"}, "record_number",
     "starting with a letter or digit"),
    ("record number too long", {"record_number": "A" * 33}, "record_number", "Use at most 32 characters."),
    ("record number taken (other case)", {"record_number": "kap-0042"}, "record_number",
     "Another client already has this record number."),
    ("bad email", {"email": "ada.example.org"}, "email", "Enter an email address like name@example.org."),
    ("email with two @", {"email": "ada@@example.org"}, "email", "Enter an email address like name@example.org."),
    ("no indication", {"indications": None}, "indications", "Choose at least one indication."),
    ("unknown indication", {"indications": ["astrology"]}, "indications", "not a valid choice"),
    ("other without description", {"indications": ["other"], "indication_other": ""},
     "indication_other", "Describe the other indication."),
    ("therapist id of an admin", {"therapist_id": lambda c: str(c["admin"].id)}, "therapist_id", "Not a valid choice."),
    ("therapist id of an inactive therapist", {"therapist_id": lambda c: str(c["inactive"].id)},
     "therapist_id", "Not a valid choice."),
    ("therapist id that does not exist", {"therapist_id": "999999"}, "therapist_id", "Not a valid choice."),
    ("therapist id not a number", {"therapist_id": "abc"}, "therapist_id", "Invalid Choice: could not coerce."),
    ("therapist id huge", {"therapist_id": "9" * 30}, "therapist_id", "Not a valid choice."),
    ("no therapist", {"therapist_id": None}, "therapist_id", "Not a valid choice."),
    ("forged status", {"status": "deleted"}, "status", "Not a valid choice."),
    ("NUL in given name", {"given_name": "Ada\x00"}, "given_name", "Remove the invisible control characters"),
    ("bell in family name", {"family_name": "Love\x07lace"}, "family_name", "Remove the invisible control characters"),
    ("NUL in address", {"address": "1 Row\x00"}, "address", "Remove the invisible control characters"),
    ("NUL in other indication", {"indications": ["other"], "indication_other": "x\x00"}, "indication_other",
     "Remove the invisible control characters"),
    ("NUL in record number", {"record_number": "KAP\x00"}, "record_number", "Use 1 to 32 letters"),
    ("NUL in email", {"email": "ada\x00@example.org"}, "email", "Enter an email address"),
    ("NUL in date", {"date_of_birth": "1985\x00-04-12"}, "date_of_birth", "Not a valid date value."),
    ("huge given name", {"given_name": HUGE}, "given_name", "Use at most 80 characters."),
    ("huge family name", {"family_name": HUGE}, "family_name", "Use at most 80 characters."),
    ("huge address", {"address": HUGE}, "address", "Use at most 500 characters."),
    ("huge email", {"email": "a" * 300 + "@example.org"}, "email", "Use at most 254 characters."),
    ("huge phone", {"phone": "1" * 5000}, "phone", "Use at most 40 characters."),
    ("huge record number", {"record_number": HUGE}, "record_number", "Use at most 32 characters."),
    ("huge date", {"date_of_birth": "1" * 5000}, "date_of_birth", "Not a valid date value."),
    ("huge pronouns", {"pronouns": HUGE}, "pronouns", "Use at most 40 characters."),
]


@pytest.mark.parametrize(
    "overrides, field, message", [c[1:] for c in VALIDATION_CASES], ids=[c[0] for c in VALIDATION_CASES]
)
def test_register_refuses_invalid_input_with_the_message_beside_the_field(
    client, login, make_user, make_client, supervisor, therapist, overrides, field, message
):
    context = {
        "admin": make_user("admin"),
        "inactive": make_user("therapist", active=False),
    }
    make_client(therapist, record_number="KAP-0042")
    login(supervisor)
    resolved = {k: (v(context) if callable(v) else v) for k, v in overrides.items()}
    data = new_client_data(therapist.id, **resolved)
    before = count_clients()

    response = client.post("/clients/new", data=data)

    assert response.status_code == 200
    doc = parse(response)
    assert message in error_beside(doc, field)
    # The summary at the top links to the field too.
    assert doc.find_all("a", href=f"#{field}")
    assert count_clients() == before
    assert not events(action=AuditAction.CREATE)
    assert_kept(doc, data, skip={field} if "\x00" in str(resolved.get(field, "")) else ())


def test_register_with_valid_input_creates_the_client(client, login, supervisor, therapist):
    login(supervisor)
    data = new_client_data(therapist.id, email="Ada@Example.ORG", indications=["other", "grief"],
                           indication_other="Chronic pain")
    response = client.post("/clients/new", data=data)

    assert response.status_code == 302
    record = db.session.scalars(select(Client)).one()
    assert response.headers["Location"] == f"/clients/{record.id}"
    assert (record.record_number, record.given_name, record.family_name) == ("KAP-0001", "Ada", "Lovelace")
    assert record.date_of_birth == dt.date(1985, 4, 12)
    assert record.email == "ada@example.org"
    assert record.address == "1 Analytical Row\nSpringfield"
    assert sorted(record.indications) == [Indication.GRIEF, Indication.OTHER]
    assert record.indication_other == "Chronic pain"
    assert record.therapist_id == therapist.id
    assert record.status is ClientStatus.REFERRED
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Ada is registered" not in page  # flash is shown once, on the redirect target
    assert "Ada Lovelace" in page and "KAP-0001" in page


def test_other_description_is_dropped_when_other_is_not_ticked(client, login, supervisor, therapist):
    login(supervisor)
    response = client.post("/clients/new", data=new_client_data(therapist.id, indication_other="Leftover"))
    assert response.status_code == 302
    assert db.session.scalars(select(Client)).one().indication_other is None


def test_client_exactly_at_the_minimum_age_is_accepted(client, login, supervisor, therapist):
    login(supervisor)
    response = client.post(
        "/clients/new", data=new_client_data(therapist.id, date_of_birth=years_ago(18).isoformat())
    )
    assert response.status_code == 302
    assert count_clients() == 1


def test_minimum_age_follows_the_setting(app, client, login, make_user, supervisor, therapist):
    admin = make_user("admin")
    settings.change("clients.minimum_age_years", 21, user=admin, reason="Medical lead decision")
    db.session.commit()
    login(supervisor)

    twenty = new_client_data(therapist.id, date_of_birth=years_ago(20).isoformat())
    response = client.post("/clients/new", data=twenty)
    assert response.status_code == 200
    assert "at least 21 years old" in error_beside(parse(response), "date_of_birth")
    assert count_clients() == 0

    settings.change("clients.minimum_age_years", 16, user=admin, reason="Adolescent programme")
    db.session.commit()
    seventeen = new_client_data(therapist.id, date_of_birth=years_ago(17).isoformat())
    assert client.post("/clients/new", data=seventeen).status_code == 302
    assert count_clients() == 1


def test_register_form_for_a_therapist_offers_only_their_own_caseload(client, login, make_user, therapist):
    other = make_user("therapist", name="Olga Other")
    login(therapist)
    response = client.get("/clients/new")
    assert response.status_code == 200
    select_node = parse(response).by_id("therapist_id")
    options = [(o.attrs["value"], o.text) for o in select_node.find_all("option")]
    assert options == [(str(therapist.id), "Theo Therapist")]
    assert "selected" in select_node.find_all("option")[0].attrs
    assert str(other.id) not in {v for v, _ in options}


def test_therapist_cannot_register_into_another_caseload(client, login, make_user, therapist):
    other = make_user("therapist")
    login(therapist)
    response = client.post("/clients/new", data=new_client_data(other.id))
    assert response.status_code == 200
    assert "Not a valid choice." in error_beside(parse(response), "therapist_id")
    assert count_clients() == 0

    response = client.post("/clients/new", data=new_client_data(therapist.id))
    assert response.status_code == 302
    assert db.session.scalars(select(Client)).one().therapist_id == therapist.id


def test_supervisor_can_register_into_any_active_therapists_caseload(client, login, make_user, supervisor):
    first = make_user("therapist", name="Alma First")
    second = make_user("therapist", name="Boris Second")
    gone = make_user("therapist", name="Gone Therapist", active=False)
    login(supervisor)

    options = {o.attrs["value"] for o in parse(client.get("/clients/new")).by_id("therapist_id").find_all("option")}
    assert options == {str(first.id), str(second.id)}
    assert str(gone.id) not in options

    for n, therapist in enumerate((first, second)):
        data = new_client_data(therapist.id, record_number=f"S-{n}", given_name=f"Client{n}")
        assert client.post("/clients/new", data=data).status_code == 302
    assert sorted(db.session.scalars(select(Client.therapist_id))) == sorted([first.id, second.id])


@pytest.mark.parametrize("role", ["medical", "admin"])
def test_roles_without_create_permission_get_403(client, login, make_user, therapist, role):
    login(make_user(role))
    assert client.get("/clients/new").status_code == 403
    assert client.post("/clients/new", data=new_client_data(therapist.id)).status_code == 403
    assert count_clients() == 0


# --- registering: duplicate warning ------------------------------------------------------------


@pytest.mark.parametrize(
    "given, family",
    [("Ada", "Lovelace"), ("ADA", "lovelace"), ("ada", "LoveLace")],
    ids=["same case", "upper/lower", "mixed"],
)
def test_same_name_and_birth_date_warns_until_confirmed(
    client, login, make_client, supervisor, therapist, given, family
):
    existing = make_client(therapist, given_name="Ada", family_name="Lovelace",
                           date_of_birth=dt.date(1985, 4, 12), record_number="OLD-1")
    login(supervisor)
    data = new_client_data(therapist.id, given_name=given, family_name=family, record_number="NEW-1")

    response = client.post("/clients/new", data=data)
    assert response.status_code == 200
    doc = parse(response)
    assert "A client with this name and date of birth is already registered" in error_beside(doc, "confirm_duplicate")
    assert "Possible double registration" in doc.text
    assert "OLD-1" in doc.text  # the existing record is named, so staff can check it
    assert count_clients() == 1
    assert_kept(doc, data)

    response = client.post("/clients/new", data={**data, "confirm_duplicate": "y"})
    assert response.status_code == 302
    assert count_clients() == 2
    created = db.session.scalar(select(Client).where(Client.record_number == "NEW-1"))
    assert created.id != existing.id
    event = events(action=AuditAction.CREATE, record_id=created.id)[0]
    assert event.detail == "duplicate name and date of birth confirmed"


def test_duplicate_warning_hides_record_numbers_outside_the_users_caseload(
    client, login, make_user, make_client, therapist
):
    other = make_user("therapist")
    born = dt.date(1985, 4, 12)
    make_client(other, given_name="Ada", family_name="Lovelace", date_of_birth=born, record_number="THEIRS-9")
    login(therapist)
    response = client.post("/clients/new", data=new_client_data(therapist.id, record_number="MINE-1"))
    assert response.status_code == 200
    doc = parse(response)
    assert "Possible double registration" in doc.text
    assert "THEIRS-9" not in response.get_data(as_text=True)
    assert count_clients() == 1

    make_client(therapist, given_name="Ada", family_name="Lovelace", date_of_birth=born, record_number="MINE-0")
    response = client.post("/clients/new", data=new_client_data(therapist.id, record_number="MINE-1"))
    html = response.get_data(as_text=True)
    assert "MINE-0" in html and "THEIRS-9" not in html


def test_same_name_with_another_birth_date_is_no_duplicate(client, login, make_client, supervisor, therapist):
    make_client(therapist, given_name="Ada", family_name="Lovelace", date_of_birth=dt.date(1985, 4, 13))
    login(supervisor)
    response = client.post("/clients/new", data=new_client_data(therapist.id))
    assert response.status_code == 302
    assert count_clients() == 2


# --- the list: scope, filters, pagination ------------------------------------------------------


@pytest.fixture
def caseloads(make_user, make_client):
    t1 = make_user("therapist", name="Ann One")
    t2 = make_user("therapist", name="Ben Two")
    made = {}
    for therapist in (t1, t2):
        for status in ClientStatus:
            made[(therapist.id, status)] = make_client(therapist, status=status)
    return t1, t2, made


def test_therapist_lists_only_their_own_caseload(client, login, caseloads):
    t1, t2, made = caseloads
    login(t1)
    response = client.get("/clients/")
    assert response.status_code == 200
    expected = {c.id for (tid, _), c in made.items() if tid == t1.id}
    assert set(listed_ids(response)) == expected
    # Filtering by another therapist cannot widen the scope.
    assert listed_ids(client.get(f"/clients/?therapist={t2.id}")) == []


def test_supervisor_lists_every_client(client, login, make_user, caseloads):
    _, _, made = caseloads
    login(make_user("supervisor"))
    assert set(listed_ids(client.get("/clients/"))) == {c.id for c in made.values()}


def test_medical_staff_list_only_referred_and_active_clients(client, login, make_user, caseloads):
    _, _, made = caseloads
    login(make_user("medical"))
    listed = set(listed_ids(client.get("/clients/")))
    assert listed == {c.id for (_, status), c in made.items()
                      if status in (ClientStatus.REFERRED, ClientStatus.ACTIVE)}
    # A status filter cannot reach beyond the scope either.
    assert listed_ids(client.get("/clients/?status=discharged")) == []
    assert listed_ids(client.get("/clients/?status=on_hold")) == []


def test_admin_gets_403_on_the_client_list(client, login, make_user, caseloads):
    admin = make_user("admin")
    login(admin)
    assert client.get("/clients/").status_code == 403
    assert client.post("/clients/", data={"q": "Given"}).status_code == 403
    denied = events(action=AuditAction.DENIED, user_id=admin.id)
    assert denied and denied[-1].record_type == "route"


def test_anonymous_visitors_are_sent_to_sign_in(client, caseloads):
    response = client.get("/clients/")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login")


def test_supervisor_filters_by_therapist_and_status(client, login, make_user, caseloads):
    t1, t2, made = caseloads
    login(make_user("supervisor"))
    assert set(listed_ids(client.get(f"/clients/?therapist={t2.id}"))) == {
        c.id for (tid, _), c in made.items() if tid == t2.id}
    assert set(listed_ids(client.get("/clients/?status=on_hold"))) == {
        c.id for (_, status), c in made.items() if status is ClientStatus.ON_HOLD}
    both = client.get(f"/clients/?therapist={t1.id}&status=active")
    assert listed_ids(both) == [made[(t1.id, ClientStatus.ACTIVE)].id]
    doc = parse(both)
    chosen = [o.attrs["value"] for o in doc.by_id("therapist").find_all("option") if "selected" in o.attrs]
    assert chosen == [str(t1.id)]
    # Unknown filter values are ignored rather than failing.
    for query in ("status=bogus", "therapist=abc", "therapist=-3", "status=%00", "therapist=0"):
        response = client.get(f"/clients/?{query}")
        assert response.status_code == 200
        assert len(listed_ids(response)) == len(made)


@pytest.mark.parametrize(
    "query", ["therapist=99999999999999999999", "therapist=3000000000", "page=99999999999999999999",
              "page=3000000000", "page=-4", "page=0", "page=abc"],
)
def test_out_of_range_numbers_in_the_list_query_do_not_fail(client, login, supervisor, caseloads, query):
    login(supervisor)
    response = client.get(f"/clients/?{query}")
    assert response.status_code == 200


def test_list_is_paginated_25_to_a_page(client, login, make_client, supervisor, therapist):
    made = [make_client(therapist, family_name=f"Pager{n:02d}") for n in range(30)]
    login(supervisor)

    first = client.get("/clients/")
    assert listed_ids(first) == [c.id for c in made[:25]]  # sorted by family name
    assert "Page 1 of 2 (30 in all)" in parse(first).text
    assert "/clients/?page=2" in links(first)

    second = client.get("/clients/?page=2")
    assert listed_ids(second) == [c.id for c in made[25:]]
    assert "/clients/?page=1" in links(second)
    assert listed_ids(client.get("/clients/?page=3")) == []


def test_pagination_links_keep_the_filters(client, login, make_client, supervisor, therapist, make_user):
    other = make_user("therapist")
    for n in range(27):
        make_client(therapist, status=ClientStatus.ACTIVE)
    make_client(other, status=ClientStatus.ACTIVE)
    login(supervisor)
    response = client.get(f"/clients/?therapist={therapist.id}&status=active")
    next_links = [u for u in links(response) if "page=2" in u]
    assert next_links and f"therapist={therapist.id}" in next_links[0] and "status=active" in next_links[0]
    assert len(listed_ids(client.get(next_links[0]))) == 2


# --- the list: name search ---------------------------------------------------------------------


@pytest.fixture
def people(make_client, therapist):
    return {
        "lovelace": make_client(therapist, given_name="Augusta", family_name="Lovelace",
                                preferred_name="Ada", record_number="REC-7001"),
        "hopper": make_client(therapist, given_name="Grace", family_name="Hopper", record_number="REC-7002"),
        "percent": make_client(therapist, given_name="Ann%e", family_name="Odd", record_number="REC-7003"),
        "annie": make_client(therapist, given_name="Annie", family_name="Even", record_number="REC-7004"),
        "under": make_client(therapist, given_name="Mo", family_name="O_Brien", record_number="REC-7005"),
        "nounder": make_client(therapist, given_name="Mo", family_name="OxBrien", record_number="REC-7006"),
    }


@pytest.mark.parametrize(
    "term, expected",
    [
        ("Augusta", {"lovelace"}),  # given name
        ("Hopper", {"hopper"}),  # family name
        ("Ada", {"lovelace"}),  # preferred name
        ("REC-7002", {"hopper"}),  # record number
        ("rec-7002", {"hopper"}),  # record number, other case
        ("lOvElAcE", {"lovelace"}),
        ("GRACE hopper", {"hopper"}),  # every word must match
        ("grace lovelace", set()),
        ("n%e", {"percent"}),  # % is a character, not a wildcard
        ("%", {"percent"}),
        ("O_B", {"under"}),  # _ is a character, not a wildcard
        ("_", {"under"}),
        ("nobody", set()),
        ("", {"lovelace", "hopper", "percent", "annie", "under", "nounder"}),
    ],
)
def test_name_search(client, login, therapist, people, term, expected):
    login(therapist)
    response = client.post("/clients/", data={"q": term})
    assert response.status_code == 200
    assert set(listed_ids(response)) == {people[k].id for k in expected}
    if term:
        assert parse(response).by_id("q").attrs["value"] == term
        assert all(term.lower() not in url.lower() for url in links(response))


def test_search_respects_the_scope(client, login, make_user, make_client, people):
    other = make_user("therapist")
    stranger = make_client(other, family_name="Hopper")
    login(other)
    assert listed_ids(client.post("/clients/", data={"q": "hopper"})) == [stranger.id]


def test_search_with_control_characters_is_refused_without_failing(client, login, therapist, people):
    login(therapist)
    response = client.post("/clients/", data={"q": "Hop\x00per"})
    assert response.status_code == 200
    assert "Remove the invisible control characters" in error_beside(parse(response), "q")
    response = client.post("/clients/", data={"q": "x" * 10_000})
    assert response.status_code == 200
    assert "Use at most 100 characters." in error_beside(parse(response), "q")


def test_search_pages_by_post_and_the_term_never_reaches_a_url(client, login, make_client, therapist):
    made = [make_client(therapist, given_name="Quinella", family_name=f"Zed{n:02d}") for n in range(30)]
    make_client(therapist, given_name="Other", family_name="Person")
    login(therapist)

    first = client.post("/clients/", data={"q": "quinella"})
    assert listed_ids(first) == [c.id for c in made[:25]]
    doc = parse(first)
    assert "Page 1 of 2 (30 in all)" in doc.text
    assert all("quinella" not in url.lower() for url in links(first))
    # The next page is a button in a POST form that carries the term in its body.
    next_button = [b for b in doc.find_all("button") if b.attrs.get("name") == "page"]
    assert [b.attrs["value"] for b in next_button] == ["2"]
    pager = next(a for a in next_button[0].ancestors() if a.tag == "form")
    assert pager.attrs["method"] == "post"
    assert form_values(pager)["q"] == "quinella"

    second = client.post("/clients/", data={"q": "quinella", "page": "2"})
    assert listed_ids(second) == [c.id for c in made[25:]]
    assert all("quinella" not in url.lower() for url in links(second))
    # The search itself is audited, but never with the term.
    lists = events(record_type="client_list")
    assert lists and all("quinella" not in (e.detail or "").lower() for e in lists)
    summaries = [e for e in lists if e.client_id is None]  # each listed client has its own event too
    assert "name search" in summaries[-1].detail
    assert {e.client_id for e in lists if e.client_id} == {c.id for c in made}


@pytest.mark.parametrize("page", ["99999999999999999999", "-1", "abc"])
def test_search_page_out_of_range_does_not_fail(client, login, therapist, people, page):
    login(therapist)
    assert client.post("/clients/", data={"q": "Hopper", "page": page}).status_code == 200


# --- show, edit: scope and audit ---------------------------------------------------------------


def test_show_renders_the_record_and_audits_the_view(client, login, make_client, therapist):
    record = make_client(therapist, given_name="Cora", family_name="Viewed", record_number="V-1")
    login(therapist)
    response = client.get(f"/clients/{record.id}", environ_base={"REMOTE_ADDR": "203.0.113.9"})
    assert response.status_code == 200
    text = parse(response).text
    assert "Cora Viewed" in text and "V-1" in text
    views = events(action=AuditAction.VIEW, record_type="client")
    assert len(views) == 1
    event = views[0]
    assert (event.user_id, event.record_id, event.client_id, event.ip) == (
        therapist.id, record.id, record.id, "203.0.113.9")
    assert event.at is not None


@pytest.mark.parametrize("how", ["show", "edit", "edit-post"])
def test_other_caseload_and_unknown_ids_get_the_same_audited_404(client, login, make_user, make_client, therapist, how):
    stranger = make_client(make_user("therapist"), given_name="Secret", family_name="Person")
    unknown = stranger.id + 1000
    login(therapist)

    def request(client_id):
        if how == "show":
            return client.get(f"/clients/{client_id}")
        if how == "edit":
            return client.get(f"/clients/{client_id}/edit")
        return client.post(f"/clients/{client_id}/edit", data=new_client_data(therapist.id, given_name="Hacked"))

    hidden, missing = request(stranger.id), request(unknown)
    assert hidden.status_code == missing.status_code == 404
    assert "Secret" not in hidden.get_data(as_text=True)
    assert parse(hidden).find_all("h1")[0].text == parse(missing).find_all("h1")[0].text
    denied = events(action=AuditAction.DENIED, user_id=therapist.id)
    assert [(e.record_type, e.record_id) for e in denied] == [("client", stranger.id), ("client", unknown)]
    assert all(e.ip == "127.0.0.1" for e in denied)
    db.session.expire_all()
    assert db.session.get(Client, stranger.id).given_name == "Secret"
    assert not events(action=AuditAction.VIEW, record_type="client")


@pytest.mark.parametrize("path", ["/clients/99999999999999999999", "/clients/99999999999999999999/edit"])
def test_ids_beyond_the_integer_range_are_404_not_500(client, login, supervisor, path):
    login(supervisor)
    assert client.get(path).status_code == 404


def test_reassign_refused_to_therapists_whether_or_not_the_client_is_theirs(
    client, login, make_user, make_client, therapist
):
    other = make_user("therapist")
    own, foreign = make_client(therapist), make_client(other)
    login(therapist)
    for record in (own, foreign):
        response = client.post(f"/clients/{record.id}/reassign", data={"therapist_id": str(therapist.id)})
        assert response.status_code == 403  # same answer for both: nothing to learn about ids
    db.session.expire_all()
    assert db.session.get(Client, foreign.id).therapist_id == other.id
    assert len(events(action=AuditAction.DENIED, user_id=therapist.id)) == 2


@pytest.mark.parametrize("status", ["referred", "active"])
def test_medical_staff_view_clients_in_treatment_but_cannot_edit(client, login, make_user, make_client, therapist, status):
    medical = make_user("medical")
    record = make_client(therapist, status=ClientStatus(status), given_name="Mira")
    login(medical)
    response = client.get(f"/clients/{record.id}")
    assert response.status_code == 200
    assert f"/clients/{record.id}/edit" not in links(response)  # no edit button
    assert client.get(f"/clients/{record.id}/edit").status_code == 403
    response = client.post(f"/clients/{record.id}/edit", data=new_client_data(therapist.id, given_name="Changed"))
    assert response.status_code == 403
    db.session.expire_all()
    assert db.session.get(Client, record.id).given_name == "Mira"


@pytest.mark.parametrize("status", ["on_hold", "discharged"])
def test_medical_staff_cannot_open_clients_out_of_treatment(client, login, make_user, make_client, therapist, status):
    medical = make_user("medical")
    record = make_client(therapist, status=ClientStatus(status))
    login(medical)
    assert client.get(f"/clients/{record.id}").status_code == 404
    assert events(action=AuditAction.DENIED, user_id=medical.id)[-1].record_id == record.id


def test_admin_cannot_open_a_client(client, login, make_user, make_client, therapist):
    record = make_client(therapist)
    login(make_user("admin"))
    assert client.get(f"/clients/{record.id}").status_code == 403
    assert client.get(f"/clients/{record.id}/edit").status_code == 403


def edit_form(client, client_id) -> dict:
    response = client.get(f"/clients/{client_id}/edit")
    assert response.status_code == 200
    return form_values(form_containing(parse(response), "given_name"))


def test_edit_form_shows_the_saved_values(client, login, make_client, therapist):
    record = make_client(therapist, given_name="Eda", indications=(Indication.PTSD, Indication.GRIEF),
                         status=ClientStatus.ON_HOLD, address="Line 1\nLine 2")
    login(therapist)
    values = edit_form(client, record.id)
    assert values["given_name"] == "Eda"
    assert values["record_number"] == record.record_number
    assert values["date_of_birth"] == record.date_of_birth.isoformat()
    assert sorted(values["indications"]) == ["grief", "ptsd"]
    assert values["status"] == "on_hold"
    assert values["therapist_id"] == str(therapist.id)
    assert values["address"] == "Line 1\nLine 2"
    assert values["version"] == str(record.version)


def test_edit_saves_and_audits_field_names_without_values(client, login, make_client, therapist):
    record = make_client(therapist, given_name="Before", phone="+1 555 0100")
    login(therapist)
    values = edit_form(client, record.id)
    values.update(given_name="Afterwards", phone="+44 20 7946 0958", indications=["depression", "burnout"])

    response = client.post(f"/clients/{record.id}/edit", data=values,
                           environ_base={"REMOTE_ADDR": "198.51.100.4"})
    assert response.status_code == 302
    assert response.headers["Location"] == f"/clients/{record.id}"
    db.session.expire_all()
    saved = db.session.get(Client, record.id)
    assert saved.given_name == "Afterwards"
    assert saved.phone == "+44 20 7946 0958"
    assert sorted(saved.indications) == [Indication.BURNOUT, Indication.DEPRESSION]

    updates = events(action=AuditAction.UPDATE)
    assert len(updates) == 1
    event = updates[0]
    assert (event.user_id, event.record_type, event.record_id, event.client_id, event.ip) == (
        therapist.id, "client", record.id, record.id, "198.51.100.4")
    assert event.detail.startswith("changed: ")
    names = set(event.detail.removeprefix("changed: ").split(", "))
    assert {"given_name", "phone", "indication_rows"} <= names
    assert "family_name" not in names
    for value in ("Before", "Afterwards", "0100", "7946", "burnout"):
        assert value not in event.detail


def test_edit_without_changes_writes_no_update(client, login, make_client, therapist):
    record = make_client(therapist)
    login(therapist)
    response = client.post(f"/clients/{record.id}/edit", data=edit_form(client, record.id))
    assert response.status_code == 302
    assert not events(action=AuditAction.UPDATE)
    db.session.expire_all()
    assert db.session.get(Client, record.id).version == record.version


def test_edit_validates_like_registration(client, login, make_client, therapist):
    record = make_client(therapist, given_name="Keep")
    taken = make_client(therapist, record_number="TAKEN-1")
    login(therapist)
    values = edit_form(client, record.id)
    values.update(given_name="", record_number="taken-1", phone="abc")
    response = client.post(f"/clients/{record.id}/edit", data=values)
    assert response.status_code == 200
    doc = parse(response)
    assert "Enter the given name." in error_beside(doc, "given_name")
    assert "Another client already has this record number." in error_beside(doc, "record_number")
    assert "Use digits" in error_beside(doc, "phone")
    db.session.expire_all()
    assert db.session.get(Client, record.id).given_name == "Keep"
    assert taken.id != record.id
    # Keeping its own record number is no clash.
    values = edit_form(client, record.id)
    values["given_name"] = "Kept"
    assert client.post(f"/clients/{record.id}/edit", data=values).status_code == 302


def test_therapist_cannot_move_a_client_by_editing(client, login, make_user, make_client, therapist):
    other = make_user("therapist")
    record = make_client(therapist)
    login(therapist)
    values = edit_form(client, record.id)
    values["therapist_id"] = str(other.id)
    response = client.post(f"/clients/{record.id}/edit", data=values)
    assert response.status_code == 200
    assert "Not a valid choice." in error_beside(parse(response), "therapist_id")
    db.session.expire_all()
    assert db.session.get(Client, record.id).therapist_id == therapist.id


def test_stale_version_shows_a_conflict_and_keeps_the_users_values(client, login, make_user, make_client, therapist):
    record = make_client(therapist, given_name="Original", phone="+1 555 0100")
    supervisor = make_user("supervisor")
    login(therapist)
    mine = edit_form(client, record.id)
    stale_version = mine["version"]

    # Meanwhile a supervisor saves a change from another browser.
    other_browser = client.application.test_client()
    login(supervisor, http=other_browser)
    theirs = edit_form(other_browser, record.id)
    theirs["phone"] = "+1 555 0177"
    assert other_browser.post(f"/clients/{record.id}/edit", data=theirs).status_code == 302

    mine["given_name"] = "Mine"
    response = client.post(f"/clients/{record.id}/edit", data=mine)
    assert response.status_code == 409
    doc = parse(response)
    notice = doc.by_id("conflict")
    assert "Someone else saved this client while you were editing" in notice.text
    assert supervisor.name in notice.text  # who saved the version now in force
    differing = {tuple(c.text for c in tr.find_all() if c.tag in ("td", "th"))
                 for tr in notice.find_all("tr") if "conflict-differs" in tr.classes}
    assert differing == {("Given name Differs", "Original", "Mine"), ("Phone Differs", "+1 555 0177", "+1 555 0100")}
    # Nothing of mine was saved; the form starts again from the saved record, with its version.
    db.session.expire_all()
    saved = db.session.get(Client, record.id)
    assert (saved.given_name, saved.phone) == ("Original", "+1 555 0177")
    shown = form_values(form_containing(doc, "given_name"))
    assert (shown["given_name"], shown["phone"]) == ("Original", "+1 555 0177")
    assert shown["version"] == str(saved.version) != stale_version
    assert [e.user_id for e in events(action=AuditAction.UPDATE)] == [supervisor.id]

    # Taking my change over into the saved version and saving keeps both changes.
    shown["given_name"] = "Mine"
    response = client.post(f"/clients/{record.id}/edit", data=shown)
    assert response.status_code == 302
    db.session.expire_all()
    saved = db.session.get(Client, record.id)
    assert (saved.given_name, saved.phone) == ("Mine", "+1 555 0177")
    assert [e.user_id for e in events(action=AuditAction.UPDATE)] == [supervisor.id, therapist.id]


# --- reassign ----------------------------------------------------------------------------------


def test_supervisor_reassigns_a_client_and_it_is_audited(client, login, make_user, make_client, supervisor, therapist):
    new = make_user("therapist", name="Nell New")
    record = make_client(therapist)
    login(supervisor)
    page = parse(client.get(f"/clients/{record.id}"))
    assert str(new.id) in {o.attrs["value"] for o in page.by_id("therapist_id").find_all("option")}

    response = client.post(f"/clients/{record.id}/reassign", data={"therapist_id": str(new.id)},
                           environ_base={"REMOTE_ADDR": "192.0.2.33"})
    assert response.status_code == 302
    db.session.expire_all()
    assert db.session.get(Client, record.id).therapist_id == new.id
    event = events(action=AuditAction.UPDATE)[-1]
    assert (event.user_id, event.record_type, event.record_id, event.client_id, event.ip) == (
        supervisor.id, "client", record.id, record.id, "192.0.2.33")
    assert event.detail == f"reassigned from therapist {therapist.id} to {new.id}"
    assert "Nell New" in parse(client.get(f"/clients/{record.id}")).text

    # The old therapist no longer sees the client; the new one does.
    old_browser = client.application.test_client()
    login(therapist, http=old_browser)
    assert old_browser.get(f"/clients/{record.id}").status_code == 404
    new_browser = client.application.test_client()
    login(new, http=new_browser)
    assert new_browser.get(f"/clients/{record.id}").status_code == 200


@pytest.mark.parametrize("target", ["inactive", "medical", "supervisor", "admin", "missing", "garbage", "absent"])
def test_reassign_refuses_anyone_but_an_active_therapist(
    client, login, make_user, make_client, supervisor, therapist, target
):
    record = make_client(therapist)
    people = {
        "inactive": make_user("therapist", active=False),
        "medical": make_user("medical"),
        "supervisor": supervisor,
        "admin": make_user("admin"),
    }
    value = {"missing": "424242", "garbage": "x", "absent": None}.get(target)
    data = {} if target == "absent" else {"therapist_id": value or str(people[target].id)}
    login(supervisor)
    response = client.post(f"/clients/{record.id}/reassign", data=data)
    assert response.status_code == 302
    assert "Choose an active therapist" in parse(client.get(response.headers["Location"])).text
    db.session.expire_all()
    assert db.session.get(Client, record.id).therapist_id == therapist.id
    assert not events(action=AuditAction.UPDATE)


def test_reassign_to_the_same_therapist_changes_nothing(client, login, make_client, supervisor, therapist):
    record = make_client(therapist)
    login(supervisor)
    response = client.post(f"/clients/{record.id}/reassign", data={"therapist_id": str(therapist.id)})
    assert response.status_code == 302
    assert "already with this therapist" in parse(client.get(response.headers["Location"])).text
    assert not events(action=AuditAction.UPDATE)


def test_reassign_is_post_only(client, login, make_client, supervisor, therapist):
    record = make_client(therapist)
    login(supervisor)
    assert client.get(f"/clients/{record.id}/reassign").status_code == 405


def test_reassign_of_unknown_client_is_404(client, login, supervisor, therapist):
    login(supervisor)
    assert client.post("/clients/9999/reassign", data={"therapist_id": str(therapist.id)}).status_code == 404
    assert client.post("/clients/99999999999999999999/reassign",
                       data={"therapist_id": str(therapist.id)}).status_code == 404


# --- audit of every view and change ------------------------------------------------------------


def test_every_client_view_and_change_is_audited(client, login, make_user, supervisor, therapist):
    new = make_user("therapist")
    login(supervisor)
    ip = {"REMOTE_ADDR": "203.0.113.200"}
    assert client.post("/clients/new", data=new_client_data(therapist.id), environ_base=ip).status_code == 302
    record = db.session.scalars(select(Client)).one()
    assert client.get(f"/clients/{record.id}", environ_base=ip).status_code == 200
    values = edit_form(client, record.id)
    values["pronouns"] = "they/them"
    assert client.post(f"/clients/{record.id}/edit", data=values, environ_base=ip).status_code == 302
    assert client.post(f"/clients/{record.id}/reassign", data={"therapist_id": str(new.id)},
                       environ_base=ip).status_code == 302
    assert client.get("/clients/", environ_base=ip).status_code == 200

    trail = [
        (e.action, e.record_type, e.record_id, e.client_id)
        for e in events(user_id=supervisor.id) if e.ip == "203.0.113.200"
    ]
    assert trail == [
        (AuditAction.CREATE, "client", record.id, record.id),
        (AuditAction.VIEW, "client", record.id, record.id),
        (AuditAction.UPDATE, "client", record.id, record.id),
        (AuditAction.UPDATE, "client", record.id, record.id),
        (AuditAction.VIEW, "client_list", None, None),  # the list page's summary
        (AuditAction.VIEW, "client_list", None, record.id),  # and each client it listed
    ]
    # No event carries patient data.
    for event in events():
        assert "Ada" not in (event.detail or "") and "Lovelace" not in (event.detail or "")
