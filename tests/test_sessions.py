"""Sessions through the test client: doses and their arithmetic, integration sessions, signing
and locking (in the app and in the database), co-signing, addenda, optimistic locking, and no
server errors whatever is typed.

What a test is about goes through the real routes, each member of staff on their own test
client; the state it starts from is built with tests/factories.py. Date-times are typed in the
clinic's time zone, relative to the clinic's clock.
"""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal as D

import pytest
import sqlalchemy as sa
from sqlalchemy import select, text

from kaptracker import settings
from kaptracker.extensions import db
from kaptracker.models import (
    Addendum,
    Administration,
    ClinicalSession,
    DosingSession,
    IntegrationSession,
    PreparationSession,
    utcnow,
)
from kaptracker import clock

import factories
from course_support import FMT, SCREENING, error_beside, local, page, raw, version_of


def count(model) -> int:
    return db.session.scalar(select(sa.func.count()).select_from(model))


def refresh(model, ident):
    """The row as stored now (other requests and raw SQL change it behind the identity map)."""
    db.session.expire_all()
    return db.session.get(model, ident)


def dose_form_fields(response, session_id) -> set[str]:
    match = re.search(
        rf'<form method="post" action="/sessions/{session_id}/administrations[^"]*"(.*?)</form>',
        raw(response), re.S)
    assert match, "no dose form on the page"
    return set(re.findall(r'name="([^"]+)"', match.group(1))) - {"csrf_token"}


def previewed_mg(response) -> str:
    return re.search(r'name="previewed_mg" type="hidden" value="([^"]*)"', raw(response)).group(1)


@pytest.fixture
def medicine(clinic):
    """A course past both gates with a draft IM medicine session: (course id, session id)."""
    course_id = factories.ready(clinic).id
    return course_id, factories.medicine(clinic, course_id, "im", "draft").id


def discharge(clinic, session_id, **fields):
    """A discharge reading (built), then the end and discharge times through the session form."""
    factories.reading(session_id, clinic.medical, at=clinic.utc(), timepoint="discharge")
    return clinic.discharge(session_id, **fields)


def _dosing_for(clinic, route):
    course_id = factories.ready(clinic, planned_route=route).id
    return factories.medicine(clinic, course_id, route, "draft").id


# --- doses -------------------------------------------------------------------------------------

COMMON = {"given_at", "range_reason", "previewed_mg", "calculate"}
ROUTE_FIELDS = {
    "lozenge": COMMON | {"strength_mg", "count", "hold_minutes", "swallowed"},
    "im": COMMON | {"weight_kg", "mg_per_kg", "injection_site"},
    "iv": COMMON | {"weight_kg", "mg_per_kg", "infusion_minutes"},
}
VALID_DOSE = {
    "lozenge": {"strength_mg": "100", "count": "1.5", "hold_minutes": "15", "swallowed": "spat"},
    "im": {"weight_kg": "70.3", "mg_per_kg": "0.75", "injection_site": "deltoid_right"},
    "iv": {"weight_kg": "80", "mg_per_kg": "0.5", "infusion_minutes": "40"},
}


@pytest.mark.parametrize("route", ["lozenge", "im", "iv"])
def test_each_route_asks_for_exactly_its_fields(clinic, route):
    sid = _dosing_for(clinic, route)
    response = clinic.get(clinic.medical, f"/sessions/{sid}")
    assert dose_form_fields(response, sid) == ROUTE_FIELDS[route]
    # After the preview, the same fields and the button that saves.
    preview = clinic.post(clinic.medical, f"/sessions/{sid}/administrations",
                          {"given_at": local(), **VALID_DOSE[route]})
    assert dose_form_fields(preview, sid) == ROUTE_FIELDS[route] | {"submit"}


@pytest.mark.parametrize(
    "route, dose, mg, shown",
    [
        ("im", VALID_DOSE["im"], "52.7", "This dose: 52.7 mg (0.75 mg/kg × 70.3 kg)"),
        ("iv", VALID_DOSE["iv"], "40.0", "This dose: 40.0 mg (0.5 mg/kg × 80 kg)"),
        ("lozenge", VALID_DOSE["lozenge"], "150.0", "This dose: 150.0 mg"),
        ("im", {**VALID_DOSE["im"], "weight_kg": "70.5", "mg_per_kg": "0.5"}, "35.3",
         "This dose: 35.3 mg"),  # 35.25, rounded half up
    ],
)
def test_the_computed_dose_is_shown_before_it_is_saved(clinic, route, dose, mg, shown):
    sid = _dosing_for(clinic, route)
    url = f"/sessions/{sid}/administrations"
    preview = clinic.post(clinic.medical, url, {"given_at": local(), **dose})
    assert preview.status_code == 200
    assert shown in page(preview)
    assert "is within the usual" in page(preview) and "Check it, then choose “Save dose”." in page(preview)
    assert previewed_mg(preview) == mg
    assert count(Administration) == 0

    saved = clinic.post(clinic.medical, url, {"given_at": local(), **dose, "previewed_mg": mg,
                                              "submit": "Save dose"})
    assert saved.status_code == 302
    assert saved.headers["Location"] == f"/sessions/{sid}#doses"
    [given] = refresh(DosingSession, sid).administrations
    assert given.dose_mg == D(mg) and given.recorded_by_id == clinic.medical.id
    session = db.session.get(DosingSession, sid)
    if route == "lozenge":
        assert (given.strength_mg, given.count, given.hold_minutes, given.swallowed) == (
            D(100), D("1.5"), 15, False)
        assert given.mg_per_kg is None and session.weight_kg is None
    else:
        assert given.mg_per_kg == D(dose["mg_per_kg"]) and session.weight_kg == D(dose["weight_kg"])
        assert given.strength_mg is None and given.count is None
        if route == "im":
            assert given.injection_site.value == "deltoid_right" and given.infusion_minutes is None
        else:
            assert given.infusion_minutes == 40 and given.injection_site is None
    shown_page = page(clinic.get(clinic.therapist, f"/sessions/{sid}"))
    assert f"Session total {mg} mg" in shown_page
    assert "Add a booster" not in shown_page  # therapists read doses, they do not record them


def test_a_changed_input_is_shown_again_instead_of_saved(clinic, medicine):
    _, sid = medicine
    url = f"/sessions/{sid}/administrations"
    data = {"given_at": local(), **VALID_DOSE["im"]}
    assert previewed_mg(clinic.post(clinic.medical, url, data)) == "52.7"
    changed = clinic.post(clinic.medical, url, {**data, "mg_per_kg": "0.8", "previewed_mg": "52.7",
                                                 "submit": "Save dose"})
    assert changed.status_code == 200
    assert "This dose: 56.2 mg" in page(changed) and previewed_mg(changed) == "56.2"
    # A forged or stale preview never saves either, nor does "Calculate" with the right value.
    for extra in ({"previewed_mg": "999"}, {"previewed_mg": "52.70"}, {"previewed_mg": ""},
                  {"previewed_mg": "52.7", "calculate": "Calculate dose"}):
        assert clinic.post(clinic.medical, url, {**data, **extra, "submit": "y"}).status_code == 200
    assert count(Administration) == 0
    assert clinic.post(clinic.medical, url, {**data, "previewed_mg": "52.7", "submit": "y"}).status_code == 302
    assert count(Administration) == 1


def test_a_booster_adds_to_the_session_total(clinic):
    sid = _dosing_for(clinic, "lozenge")
    first = {"strength_mg": "100", "count": "1", "hold_minutes": "15", "swallowed": "swallowed"}
    assert clinic.dose(sid, **first).status_code == 302
    shown = page(clinic.get(clinic.medical, f"/sessions/{sid}"))
    assert "Add a booster" in shown
    booster = clinic.post(clinic.medical, f"/sessions/{sid}/administrations",
                          {"given_at": local(), **first, "strength_mg": "50"})
    assert "This dose: 50.0 mg" in page(booster)
    assert "Session total 150.0 mg is within the usual" in page(booster)
    assert clinic.dose(sid, **{**first, "strength_mg": "50"}).status_code == 302
    session = refresh(DosingSession, sid)
    assert [a.dose_mg for a in session.administrations] == [D(100), D(50)]
    assert session.total_mg == D(150)
    assert "Session total 150.0 mg" in page(clinic.get(clinic.medical, f"/sessions/{sid}"))
    assert "total 150.0 mg in 2 administration(s)" in page(
        clinic.get(clinic.medical, f"/courses/{session.course_id}"))


def test_a_total_outside_the_usual_range_needs_a_reason(clinic):
    sid = _dosing_for(clinic, "lozenge")
    url = f"/sessions/{sid}/administrations"
    data = {"given_at": local(), "strength_mg": "150", "count": "3", "hold_minutes": "15",
            "swallowed": "spat"}
    preview = clinic.post(clinic.medical, url, data)
    message = ("Session total 450.0 mg is above the usual Lozenge / troche (sublingual) "
               "range of 50-400 mg. Record the reason for this dose.")
    assert message in page(preview)
    refused = clinic.post(clinic.medical, url, {**data, "previewed_mg": "450.0", "submit": "y"})
    assert refused.status_code == 400
    assert error_beside(refused, "range_reason") == message
    assert count(Administration) == 0
    saved = clinic.post(clinic.medical, url, {**data, "previewed_mg": "450.0", "submit": "y",
                                              "range_reason": "Tolerance after 5 sessions."})
    assert saved.status_code == 302
    session = refresh(DosingSession, sid)
    assert session.total_mg == D(450) and session.dose_reason == "Tolerance after 5 sessions."
    shown = page(clinic.get(clinic.medical, f"/sessions/{sid}"))
    assert "Reason recorded: Tolerance after 5 sessions." in shown


def test_a_booster_that_takes_the_total_out_of_range_needs_a_reason(clinic, medicine):
    _, sid = medicine
    first = {"weight_kg": "70", "mg_per_kg": "0.6", "injection_site": "deltoid_left"}
    assert clinic.dose(sid, **first).status_code == 302  # 42 mg, 0.6 mg/kg: in range
    url = f"/sessions/{sid}/administrations"
    booster = {"given_at": local(), **first, "mg_per_kg": "0.5", "previewed_mg": "35.0", "submit": "y"}
    refused = clinic.post(clinic.medical, url, booster)  # 77 mg: 1.1 mg/kg in all
    assert refused.status_code == 400
    assert "Session total 77.0 mg (1.10 mg/kg) is above the usual" in error_beside(refused, "range_reason")
    assert len(refresh(DosingSession, sid).administrations) == 1
    assert clinic.post(clinic.medical, url, {**booster, "range_reason": "Partial response."}).status_code == 302
    session = refresh(DosingSession, sid)
    assert session.total_mg == D(77) and session.dose_reason == "Partial response."
    # Once a reason is recorded, a further booster does not ask again; the reason stays.
    assert clinic.post(clinic.medical, url, {**booster, "mg_per_kg": "0.1", "previewed_mg": "7.0"}).status_code == 302
    assert refresh(DosingSession, sid).total_mg == D(84)


def test_a_booster_uses_the_weight_of_the_session(clinic, medicine):
    _, sid = medicine
    assert clinic.dose(sid, weight_kg="70", mg_per_kg="0.5", injection_site="gluteal").status_code == 302
    refused = clinic.post(clinic.medical, f"/sessions/{sid}/administrations",
                          {"given_at": local(), "weight_kg": "75", "mg_per_kg": "0.25",
                           "injection_site": "gluteal", "previewed_mg": "18.8", "submit": "y"})
    assert refused.status_code == 400
    assert error_beside(refused, "weight_kg") == (
        "This session's weight is 70.0 kg. Correct it on the session form first.")
    assert len(refresh(DosingSession, sid).administrations) == 1
    # The form offers the session's weight.
    assert 'value="70.0"' in raw(clinic.get(clinic.medical, f"/sessions/{sid}"))


DOSE_ERRORS = [
    ("lozenge", "strength_mg", "0", "Enter a strength between 1 and 1000 mg."),
    ("lozenge", "strength_mg", "", "Enter the strength of one lozenge."),
    ("lozenge", "strength_mg", "1001", "Enter a strength between 1 and 1000 mg."),
    ("lozenge", "count", "0.3", "Enter between 0.5 and 10 lozenges."),
    ("lozenge", "count", "1.3", "Count whole or half lozenges (for example 1, 1.5, 2)."),
    ("lozenge", "count", "11", "Enter between 0.5 and 10 lozenges."),
    ("lozenge", "hold_minutes", "0", "Enter a hold time of 1 to 60 minutes."),
    ("lozenge", "hold_minutes", "2.5", "Not a valid integer value."),
    ("lozenge", "swallowed", "", "Say whether it was swallowed or spat out."),
    ("lozenge", "swallowed", "chewed", "Not a valid choice."),
    ("im", "weight_kg", "5", "Enter a weight between 21 and 349 kg."),
    ("im", "weight_kg", "350", "Enter a weight between 21 and 349 kg."),
    ("im", "weight_kg", "", "Enter the client's weight today."),
    ("im", "mg_per_kg", "abc", "Not a valid decimal value."),
    ("im", "mg_per_kg", "0", "Enter between 0.05 and 5 mg/kg."),
    ("im", "mg_per_kg", "5.01", "Enter between 0.05 and 5 mg/kg."),
    ("im", "mg_per_kg", "NaN", "Enter between 0.05 and 5 mg/kg."),
    ("im", "mg_per_kg", "sNaN", "Enter between 0.05 and 5 mg/kg."),
    ("im", "injection_site", "nose", "Not a valid choice."),
    ("iv", "infusion_minutes", "0", "Enter an infusion time of 1 to 240 minutes."),
    ("iv", "infusion_minutes", "241", "Enter an infusion time of 1 to 240 minutes."),
    ("iv", "infusion_minutes", "9" * 400, "Enter an infusion time of 1 to 240 minutes."),
    ("iv", "given_at", "", "Enter the given at."),
    ("iv", "given_at", "yesterday", "Not a valid datetime value."),
]


@pytest.mark.parametrize("route, field, value, message", DOSE_ERRORS)
def test_dose_validation_messages_beside_the_fields(clinic, route, field, value, message):
    sid = _dosing_for(clinic, route)
    data = {"given_at": local(), **VALID_DOSE[route], field: value}
    for extra in ({}, {"previewed_mg": "52.7", "submit": "y"}):
        response = clinic.post(clinic.medical, f"/sessions/{sid}/administrations", {**data, **extra})
        assert response.status_code == 400
        assert message in error_beside(response, field)
        assert "This dose:" not in page(response)
    assert count(Administration) == 0


def test_a_dose_given_more_than_a_day_ahead_is_refused(clinic, medicine):
    _, sid = medicine
    response = clinic.post(clinic.medical, f"/sessions/{sid}/administrations",
                           {**VALID_DOSE["im"], "given_at": local(dt.timedelta(days=2))})
    assert response.status_code == 400
    assert error_beside(response, "given_at") == (
        "This is more than a day in the future. Record sessions as they happen.")


@pytest.mark.parametrize("route, dose, mg, field", [
    ("lozenge", {"strength_mg": "1000", "count": "2"}, "2000.0", "count"),
    ("im", {"weight_kg": "349", "mg_per_kg": "5"}, "1745.0", "mg_per_kg"),
])
def test_a_dose_beyond_what_one_administration_records_is_a_message(clinic, route, dose, mg, field):
    """Each field is within its own bounds, but the product is more than the database accepts
    for one administration (1000 mg): a message, never a database error."""
    sid = _dosing_for(clinic, route)
    data = {"given_at": local(), **VALID_DOSE[route], **dose}
    for extra in ({}, {"previewed_mg": mg, "submit": "y", "range_reason": "Checked twice."}):
        response = clinic.post(clinic.medical, f"/sessions/{sid}/administrations", {**data, **extra})
        assert response.status_code == 400
        assert error_beside(response, field) == (
            f"That makes {mg} mg in one administration; at most 1000 mg can be recorded. "
            "Check the numbers.")
    assert count(Administration) == 0


@pytest.mark.parametrize("route, field, value", [
    ("im", "weight_kg", "70.35"),
    ("im", "mg_per_kg", "0.755"),
    ("lozenge", "strength_mg", "12.25"),
])
def test_a_dose_is_recorded_with_the_precision_it_is_stored_in(clinic, route, field, value):
    """mg = mg/kg x weight must hold for the stored numbers: more decimals than a column keeps
    would be rounded in the database while the dose was computed from the typed value."""
    sid = _dosing_for(clinic, route)
    response = clinic.post(clinic.medical, f"/sessions/{sid}/administrations",
                           {"given_at": local(), **VALID_DOSE[route], field: value})
    assert response.status_code == 400
    assert "decimal place" in error_beside(response, field)
    assert count(Administration) == 0


def test_the_dose_range_follows_the_settings(clinic, medicine):
    _, sid = medicine
    url = f"/sessions/{sid}/administrations"
    data = {"given_at": local(), "weight_kg": "70", "mg_per_kg": "0.8", "injection_site": "gluteal"}
    assert "(0.80 mg/kg) is within the usual" in page(clinic.post(clinic.medical, url, data))
    settings.change("dose.im.high_mg_per_kg", D("0.75"), user=clinic.admin, reason="Protocol 2027")
    db.session.commit()
    shown = page(clinic.get(clinic.medical, f"/sessions/{sid}"))
    assert "Usual session total: 0.5–0.75 mg/kg. Source: clinic setting" in shown
    preview = clinic.post(clinic.medical, url, data)
    assert ("Session total 56.0 mg (0.80 mg/kg) is above the usual Intramuscular (IM) injection range "
            "of 0.5-0.75 mg/kg.") in page(preview)
    refused = clinic.post(clinic.medical, url, {**data, "previewed_mg": "56.0", "submit": "y"})
    assert refused.status_code == 400 and "0.5-0.75 mg/kg" in error_beside(refused, "range_reason")
    assert count(Administration) == 0


def test_a_dose_computed_from_the_top_of_the_range_is_not_refused_for_its_rounding(clinic, medicine):
    """0.75 mg/kg x 70.5 kg = 52.875 mg, recorded as 52.9 mg: the dose asked for is at the top of
    a 0.5-0.75 mg/kg range, so it needs no reason, now or at signing."""
    _, sid = medicine
    settings.change("dose.im.high_mg_per_kg", D("0.75"), user=clinic.admin, reason="Protocol 2027")
    db.session.commit()
    url = f"/sessions/{sid}/administrations"
    data = {"given_at": local(), "weight_kg": "70.5", "mg_per_kg": "0.75", "injection_site": "gluteal"}
    preview = page(clinic.post(clinic.medical, url, data))
    assert "Session total 52.9 mg (0.75 mg/kg) is within the usual" in preview
    assert clinic.post(clinic.medical, url, {**data, "previewed_mg": "52.9", "submit": "y"}).status_code == 302
    session = refresh(DosingSession, sid)
    assert session.total_mg == D("52.9") and not session.dose_reason
    assert "Record the reason" not in page(clinic.get(clinic.medical, f"/sessions/{sid}/sign"))
    # A booster takes it above, and the message says where the limit lies in mg.
    booster = {**data, "mg_per_kg": "0.05"}
    shown = page(clinic.post(clinic.medical, url, booster))
    assert ("Session total 56.4 mg (0.80 mg/kg) is above the usual Intramuscular (IM) injection range of "
            "0.5-0.75 mg/kg. At 70.5 kg that is at most 52.875 mg.") in shown


def test_a_medicine_session_is_signed_with_its_dose_end_and_discharge(clinic, medicine):
    course_id, sid = medicine
    shown = page(clinic.get(clinic.medical, f"/sessions/{sid}/sign"))
    for problem in ("No dose is recorded in this medicine session.",
                    "The time the session ended is not recorded.",
                    "The discharge time is not recorded."):
        assert problem in shown
    assert "Sign and lock" not in shown
    refused = clinic.sign(clinic.medical, sid)
    assert refused.status_code == 200 and not refresh(DosingSession, sid).is_signed

    assert clinic.dose(sid, weight_kg="70", mg_per_kg="0.8", injection_site="gluteal").status_code == 302
    shown = page(clinic.get(clinic.medical, f"/sessions/{sid}/sign"))
    assert "No dose is recorded" not in shown and "The discharge time is not recorded." in shown
    assert clinic.edit(clinic.medical, sid, ended_at=local(), note="Calm.").status_code == 302
    assert clinic.sign(clinic.medical, sid).status_code == 200
    assert not refresh(DosingSession, sid).is_signed
    assert discharge(clinic, sid, note="Calm.").status_code == 302

    # The range narrowed since the dose was given: signing now asks for the reason.
    settings.change("dose.im.high_mg_per_kg", D("0.75"), user=clinic.admin, reason="Protocol 2027")
    db.session.commit()
    shown = page(clinic.get(clinic.medical, f"/sessions/{sid}/sign"))
    assert "is above the usual Intramuscular (IM) injection range of 0.5-0.75 mg/kg" in shown
    assert clinic.sign(clinic.medical, sid).status_code == 200
    assert clinic.edit(clinic.medical, sid, ended_at=local(), discharged_at=local(), note="Calm.",
                       dose_reason="Given before the protocol changed.").status_code == 302
    assert clinic.sign(clinic.medical, sid).status_code == 302
    session = refresh(DosingSession, sid)
    assert session.is_signed and session.signed_by_id == clinic.medical.id


@pytest.mark.parametrize("kind", ["screening", "preparation", "integration"])
def test_dose_routes_on_a_session_that_is_not_a_medicine_session(clinic, kind):
    course_id = factories.ready(clinic).id
    ids = {
        "screening": lambda: db.session.scalar(select(ClinicalSession.id).where(
            ClinicalSession.kind == "screening")),
        "preparation": lambda: factories.preparation(clinic, course_id, signed=False).id,
        "integration": lambda: factories.integration(
            clinic, course_id, factories.medicine(clinic, course_id, "im", "signed"), signed=False).id,
    }
    sid = ids[kind]()
    response = clinic.post(clinic.medical, f"/sessions/{sid}/administrations",
                           {"given_at": local(), **VALID_DOSE["im"]})
    assert response.status_code == 404
    assert clinic.post(clinic.therapist, f"/sessions/{sid}/administrations").status_code == 403
    assert clinic.get(clinic.medical, f"/sessions/{sid}/administrations").status_code == 405


def test_only_the_author_of_a_medicine_session_records_its_doses(clinic, medicine, make_user):
    _, sid = medicine
    other_doctor = make_user("medical")
    response = clinic.post(other_doctor, f"/sessions/{sid}/administrations",
                           {"given_at": local(), **VALID_DOSE["im"]})
    assert response.status_code == 409
    assert "Only the author edits a draft note." in page(response)
    assert clinic.sign(other_doctor, sid).status_code == 409
    assert clinic.post(clinic.supervisor, f"/sessions/{sid}/administrations").status_code == 403


def test_a_recorded_time_left_out_of_an_edit_is_kept(clinic, medicine):
    _, sid = medicine
    assert discharge(clinic, sid, note="First.").status_code == 302
    before = refresh(DosingSession, sid)
    ended, discharged = before.ended_at, before.discharged_at
    # A client that only sends what it changes (no ended_at / discharged_at in the form).
    assert clinic.edit(clinic.medical, sid, note="Second.").status_code == 302
    after = refresh(DosingSession, sid)
    assert after.note == "Second."
    assert (after.ended_at, after.discharged_at) == (ended, discharged)


def test_a_start_moved_after_a_recorded_end_is_a_message(clinic, medicine):
    _, sid = medicine
    assert discharge(clinic, sid).status_code == 302
    started = refresh(DosingSession, sid).occurred_at
    # Only the start is sent, and it is later than the recorded end and discharge.
    response = clinic.edit(clinic.medical, sid, occurred_at=local(dt.timedelta(hours=12)))
    assert response.status_code == 200
    assert error_beside(response, "ended_at") == "The session cannot end before it started."
    assert error_beside(response, "discharged_at") == "Discharge cannot be before the session started."
    assert refresh(DosingSession, sid).occurred_at == started


# --- integration sessions ----------------------------------------------------------------------


def test_an_integration_session_needs_a_medicine_session(clinic):
    course_id = factories.ready(clinic).id
    for response in (clinic.get(clinic.therapist, f"/courses/{course_id}/sessions/new/integration"),
                     clinic.new(clinic.therapist, course_id, "integration", dosing_session_id="1")):
        assert response.status_code == 409
        assert "An integration session follows a medicine session, and this course has none yet." in page(response)
    assert count(IntegrationSession) == 0
    assert "New integration session" not in page(clinic.get(clinic.therapist, f"/courses/{course_id}"))


def test_an_integration_session_links_to_the_chosen_medicine_session(clinic):
    course_id = factories.ready(clinic, planned_medicine_sessions="3").id
    first = factories.medicine(clinic, course_id, "im", "signed").id
    second = factories.medicine(clinic, course_id, "im", "signed").id
    form = raw(clinic.get(clinic.therapist, f"/courses/{course_id}/sessions/new/integration"))
    assert re.search(rf'<option selected value="{first}">', form)  # the first not yet integrated
    assert f'<option value="{second}">' in form
    sid = factories.integration(clinic, course_id, second).id
    assert refresh(IntegrationSession, sid).dosing_session_id == second
    shown = page(clinic.get(clinic.therapist, f"/sessions/{sid}"))
    assert "Integrates the medicine session of" in shown
    assert f'href="/sessions/{second}"' in raw(clinic.get(clinic.therapist, f"/sessions/{sid}"))
    course = page(clinic.get(clinic.therapist, f"/courses/{course_id}"))
    assert course.count("Integrated.") == 1 and "Integration due by" in course
    # The next form proposes the one still waiting.
    form = raw(clinic.get(clinic.therapist, f"/courses/{course_id}/sessions/new/integration"))
    assert re.search(rf'<option selected value="{first}">', form)


def test_an_integration_session_cannot_point_into_another_course(clinic, make_client):
    course_id = factories.ready(clinic).id
    own = factories.medicine(clinic, course_id, "im", "signed").id
    other_record = make_client(clinic.therapist)
    other_course = factories.course(clinic, other_record).id
    factories.screening(clinic, other_course)
    factories.preparation(clinic, other_course)
    foreign = factories.medicine(clinic, other_course, "im", "signed").id
    preparation = db.session.scalar(select(PreparationSession.id).where(
        PreparationSession.course_id == course_id))
    for forged in (str(foreign), str(preparation), "999999", "abc", ""):
        response = clinic.new(clinic.therapist, course_id, "integration", dosing_session_id=forged,
                              note="x")
        assert response.status_code == 200, forged
        assert error_beside(response, "dosing_session_id"), forged
    assert count(IntegrationSession) == 0
    # Nor can a draft be moved there later.
    sid = factories.integration(clinic, course_id, own, signed=False).id
    response = clinic.edit(clinic.therapist, sid, dosing_session_id=str(foreign), note="x")
    assert response.status_code == 200 and error_beside(response, "dosing_session_id")
    assert refresh(IntegrationSession, sid).dosing_session_id == own


def _move_back(session_id: int, age: dt.timedelta) -> None:
    """Move an unsigned medicine session back in time (the triggers allow it only unsigned)."""
    when = utcnow() - age
    db.session.execute(sa.update(ClinicalSession.__table__)
                       .where(ClinicalSession.__table__.c.id == session_id).values(occurred_at=when))
    db.session.execute(sa.update(DosingSession.__table__)
                       .where(DosingSession.__table__.c.id == session_id)
                       .values(started_at=when, ended_at=when, discharged_at=when))
    db.session.commit()
    db.session.expire_all()


def test_an_overdue_integration_shows_on_the_course_page(clinic):
    course_id = factories.ready(clinic).id
    sid = factories.medicine(clinic, course_id, "im", "discharged").id
    _move_back(sid, dt.timedelta(days=6))
    shown = page(clinic.get(clinic.therapist, f"/courses/{course_id}"))
    assert "Integration due by" in shown and "overdue" not in shown
    _move_back(sid, dt.timedelta(days=7, minutes=1))
    shown = page(clinic.get(clinic.therapist, f"/courses/{course_id}"))
    assert ("Integration overdue for 1 medicine session(s): each is expected within 7 days "
            "(clinic setting).") in shown
    assert "Integration overdue (was due" in shown
    # The medicine session can still be signed; the integration session clears the flag.
    assert clinic.sign(clinic.medical, sid).status_code == 302
    factories.integration(clinic, course_id, sid)
    shown = page(clinic.get(clinic.therapist, f"/courses/{course_id}"))
    assert "overdue" not in shown and "Integrated." in shown


def test_the_integration_due_days_follow_the_settings(clinic):
    course_id = factories.ready(clinic).id
    sid = factories.medicine(clinic, course_id, "im", "discharged").id
    _move_back(sid, dt.timedelta(days=4))
    assert "overdue" not in page(clinic.get(clinic.therapist, f"/courses/{course_id}"))
    settings.change("integration.due_days", 3, user=clinic.admin, reason="Closer follow-up")
    db.session.commit()
    assert "each is expected within 3 days" in page(clinic.get(clinic.therapist, f"/courses/{course_id}"))


def test_an_ended_course_shows_nothing_overdue(clinic):
    course_id = factories.ready(clinic).id
    sid = factories.medicine(clinic, course_id, "im", "discharged").id
    _move_back(sid, dt.timedelta(days=30))
    assert clinic.post(clinic.therapist, f"/courses/{course_id}/end",
                       {"end_reason": "discontinued", "ended_on": clock.today().isoformat(),
                        "end_note": "Stopped."}).status_code == 302
    assert "overdue" not in page(clinic.get(clinic.therapist, f"/courses/{course_id}"))


# --- signing and locking -----------------------------------------------------------------------


def test_the_author_signs_their_own_note(clinic):
    course_id = factories.course(clinic).id
    sid = factories.preparation(clinic, course_id, signed=False).id
    shown = page(clinic.get(clinic.therapist, f"/sessions/{sid}/sign"))
    assert "Signing locks this record." in shown and "Intentions explored." in shown
    response = clinic.sign(clinic.therapist, sid)
    assert response.headers["Location"] == f"/sessions/{sid}"
    session = refresh(ClinicalSession, sid)
    assert session.signed_by_id == clinic.therapist.id and session.signed_at is not None
    shown = page(clinic.get(clinic.therapist, f"/sessions/{sid}"))
    assert "Signed and locked: the text below never changes." in shown
    assert "Edit draft" not in shown


@pytest.mark.parametrize("role", ["medical", "supervisor"])
def test_nobody_else_signs_a_therapists_note(clinic, role):
    course_id = factories.course(clinic).id
    sid = factories.preparation(clinic, course_id, signed=False).id
    user = getattr(clinic, role)
    for response in (clinic.get(user, f"/sessions/{sid}/sign"), clinic.sign(user, sid)):
        assert response.status_code == 409
        assert "Only the author signs their own note." in page(response)
    assert clinic.sign(clinic.other_therapist, sid).status_code == 404
    assert not refresh(ClinicalSession, sid).is_signed


def test_a_new_therapist_of_the_client_cannot_sign_or_edit_the_old_ones_draft(clinic):
    course_id = factories.course(clinic).id
    sid = factories.preparation(clinic, course_id, signed=False).id
    clinic.record.therapist_id = clinic.other_therapist.id  # reassigned
    db.session.commit()
    assert clinic.get(clinic.other_therapist, f"/sessions/{sid}").status_code == 200
    refused = clinic.sign(clinic.other_therapist, sid)
    assert refused.status_code == 409 and "Only the author signs their own note." in page(refused)
    refused = clinic.edit(clinic.other_therapist, sid, note="Taken over.")
    assert refused.status_code == 409 and "Only the author edits a draft note." in page(refused)
    # And the former therapist no longer sees the client at all.
    assert clinic.sign(clinic.therapist, sid).status_code == 404
    assert refresh(ClinicalSession, sid).note == "Intentions explored."


def test_a_medicine_session_is_signed_by_its_author_only(clinic, medicine, make_user):
    _, sid = medicine
    assert clinic.dose(sid, **VALID_DOSE["im"]).status_code == 302
    assert discharge(clinic, sid, note="Calm session; walked out steadily.").status_code == 302
    for user in (clinic.therapist, make_user("medical")):
        refused = clinic.sign(user, sid)
        assert refused.status_code == 409 and "Only the author signs their own note." in page(refused)
    assert clinic.sign(clinic.medical, sid).status_code == 302


def test_signing_needs_the_confirm_tick(clinic):
    course_id = factories.course(clinic).id
    sid = factories.preparation(clinic, course_id, signed=False).id
    for data in ({}, {"c-confirm": ""}, {"confirm": "y"}):
        response = clinic.post(clinic.therapist, f"/sessions/{sid}/sign", data)
        assert response.status_code == 200
        assert error_beside(response, "c-confirm") == "Tick the box to confirm that you sign this record."
    assert not refresh(ClinicalSession, sid).is_signed


@pytest.mark.parametrize("note", ["", "   "])
def test_an_empty_note_cannot_be_signed(clinic, note):
    course_id = factories.course(clinic).id
    sid = factories.preparation(clinic, course_id, signed=False, note=note).id
    shown = page(clinic.get(clinic.therapist, f"/sessions/{sid}/sign"))
    assert "This record cannot be signed yet: The clinical note is empty." in shown
    assert "Sign and lock" not in shown
    assert clinic.sign(clinic.therapist, sid).status_code == 200
    assert not refresh(ClinicalSession, sid).is_signed


@pytest.fixture
def signed(clinic):
    """A signed preparation note, a signed medicine session with a dose, an addendum, and a
    draft of each kind for comparison."""
    course_id = factories.ready(clinic).id
    prep = db.session.scalar(select(PreparationSession.id).where(PreparationSession.course_id == course_id))
    dosing = factories.medicine(clinic, course_id, "im", "signed").id
    assert clinic.post(clinic.therapist, f"/sessions/{prep}/addenda",
                       {"reason": "Correction", "text": "Date of referral was 3 May."}).status_code == 302
    addendum = db.session.scalar(select(Addendum.id))
    draft_prep = factories.preparation(clinic, course_id, signed=False).id
    draft_dosing = factories.medicine(clinic, course_id, "im", "draft").id
    return {"course": course_id, "prep": prep, "dosing": dosing, "addendum": addendum,
            "draft_prep": draft_prep, "draft_dosing": draft_dosing}


def test_a_signed_note_is_not_edited_or_signed_again(clinic, signed):
    prep = signed["prep"]
    for response in (clinic.get(clinic.therapist, f"/sessions/{prep}/edit"),
                     clinic.edit(clinic.therapist, prep, note="Rewritten.")):
        assert response.status_code == 409
        assert "This note is signed and locked. Add an addendum instead." in page(response)
    for response in (clinic.get(clinic.therapist, f"/sessions/{prep}/sign"), clinic.sign(clinic.therapist, prep)):
        assert response.status_code == 409 and "This note is already signed." in page(response)
    refused = clinic.post(clinic.medical, f"/sessions/{signed['dosing']}/administrations",
                          {"given_at": local(), **VALID_DOSE["im"], "previewed_mg": "52.7", "submit": "y"})
    assert refused.status_code == 409 and "This note is signed and locked." in page(refused)
    assert refresh(ClinicalSession, prep).note == "Intentions explored."
    assert len(refresh(DosingSession, signed["dosing"]).administrations) == 1


LOCKED = "a signed session cannot be changed: add an addendum"
APPEND_ONLY = "append-only"
STATEMENTS = {
    "update the note": ("UPDATE clinical_session SET note = 'forged' WHERE id = :prep", LOCKED),
    "update the time": ("UPDATE clinical_session SET occurred_at = created_at WHERE id = :prep", LOCKED),
    "update the author": ("UPDATE clinical_session SET author_id = :user WHERE id = :prep", LOCKED),
    "unsign": ("UPDATE clinical_session SET signed_at = NULL, signed_by_id = NULL WHERE id = :prep", LOCKED),
    "update the intentions": ("UPDATE preparation_session SET intentions = 'forged' WHERE id = :prep", LOCKED),
    "delete the session": ("DELETE FROM clinical_session WHERE id = :prep", LOCKED),
    "delete the preparation row": ("DELETE FROM preparation_session WHERE id = :prep", LOCKED),
    "update the weight": ("UPDATE dosing_session SET weight_kg = 99 WHERE id = :dosing", LOCKED),
    "update a dose": ("UPDATE administration SET dose_mg = 1 WHERE session_id = :dosing", LOCKED),
    "delete a dose": ("DELETE FROM administration WHERE session_id = :dosing", LOCKED),
    "update an addendum": ("UPDATE addendum SET text = 'forged' WHERE id = :addendum", APPEND_ONLY),
    "delete an addendum": ("DELETE FROM addendum WHERE id = :addendum", APPEND_ONLY),
}


@pytest.mark.parametrize("statement, message", STATEMENTS.values(), ids=STATEMENTS.keys())
def test_the_database_refuses_changes_to_a_signed_session(clinic, signed, statement, message):
    params = {**signed, "user": clinic.other_therapist.id}
    with pytest.raises(sa.exc.DBAPIError, match=message):
        db.session.execute(text(statement), params)
        db.session.flush()
    db.session.rollback()
    prep = refresh(PreparationSession, signed["prep"])
    assert prep.note == "Intentions explored." and prep.intentions == "To feel less stuck."
    assert prep.is_signed and prep.author_id == clinic.therapist.id
    assert refresh(DosingSession, signed["dosing"]).total_mg == D(35)
    assert refresh(Addendum, signed["addendum"]).text == "Date of referral was 3 May."


def test_the_database_refuses_a_dose_added_to_a_signed_session(clinic, signed):
    insert = sa.insert(Administration.__table__).values(
        session_id=signed["dosing"], given_at=utcnow(), dose_mg=D(10), recorded_by_id=clinic.medical.id)
    with pytest.raises(sa.exc.DBAPIError, match=LOCKED):
        db.session.execute(insert)
    db.session.rollback()
    assert refresh(DosingSession, signed["dosing"]).total_mg == D(35)
    # Into a draft, the same insert is fine.
    db.session.execute(insert.values(session_id=signed["draft_dosing"]))
    db.session.commit()
    assert refresh(DosingSession, signed["draft_dosing"]).total_mg == D(10)


def test_the_database_refuses_an_orm_change_to_a_signed_note(clinic, signed):
    session = refresh(PreparationSession, signed["prep"])
    session.intentions = "Changed through the ORM."
    with pytest.raises(sa.exc.DBAPIError, match=LOCKED):
        db.session.commit()
    db.session.rollback()
    assert refresh(PreparationSession, signed["prep"]).intentions == "To feel less stuck."


def test_drafts_stay_editable_in_the_database(clinic, signed):
    params = {"prep": signed["draft_prep"], "dosing": signed["draft_dosing"]}
    for statement in ("UPDATE clinical_session SET note = 'changed' WHERE id = :prep",
                      "UPDATE preparation_session SET intentions = 'changed' WHERE id = :prep",
                      "UPDATE dosing_session SET weight_kg = 71 WHERE id = :dosing",
                      "DELETE FROM preparation_session WHERE id = :prep",
                      "DELETE FROM clinical_session WHERE id = :prep"):
        db.session.execute(text(statement), params)
    db.session.commit()
    assert refresh(ClinicalSession, signed["draft_prep"]) is None


def test_a_supervisor_co_signs_a_signed_session(clinic, signed):
    for key in ("prep", "dosing"):
        response = clinic.post(clinic.supervisor, f"/sessions/{signed[key]}/cosign")
        assert response.headers["Location"] == f"/sessions/{signed[key]}"
        session = refresh(ClinicalSession, signed[key])
        assert session.cosigned_by_id == clinic.supervisor.id and session.cosigned_at is not None
        assert session.is_signed
    shown = page(clinic.get(clinic.supervisor, f"/sessions/{signed['prep']}"))
    assert "Signed and co-signed" in shown and f"co-signed by {clinic.supervisor.name}" in shown
    again = clinic.post(clinic.supervisor, f"/sessions/{signed['prep']}/cosign")
    assert "This note is already co-signed." in page(clinic.get(clinic.supervisor, again.headers["Location"]))


def test_a_draft_is_not_co_signed(clinic, signed):
    response = clinic.post(clinic.supervisor, f"/sessions/{signed['draft_prep']}/cosign")
    assert "A note is co-signed after its author has signed it." in page(
        clinic.get(clinic.supervisor, response.headers["Location"]))
    assert refresh(ClinicalSession, signed["draft_prep"]).cosigned_at is None


@pytest.mark.parametrize("role", ["therapist", "medical", "admin"])
def test_only_supervisors_co_sign(clinic, signed, role):
    assert clinic.post(getattr(clinic, role), f"/sessions/{signed['prep']}/cosign").status_code == 403
    assert refresh(ClinicalSession, signed["prep"]).cosigned_at is None


def test_addenda_follow_signing(clinic, signed):
    prep = signed["prep"]
    # Any clinician adds one, with a reason and a text.
    response = clinic.post(clinic.medical, f"/sessions/{prep}/addenda",
                           {"reason": "Medication change", "text": "Started sertraline 50 mg."})
    assert response.headers["Location"] == f"/sessions/{prep}#addenda"
    shown = page(clinic.get(clinic.therapist, f"/sessions/{prep}"))
    assert "Started sertraline 50 mg." in shown and "Reason: Medication change" in shown
    assert shown.index("Date of referral was 3 May.") < shown.index("Started sertraline 50 mg.")
    assert [a.author_id for a in refresh(PreparationSession, prep).addenda] == [
        clinic.therapist.id, clinic.medical.id]


@pytest.mark.parametrize("data, field, message", [
    ({"reason": "", "text": "Text."}, "reason", "Say why you add to a signed note."),
    ({"reason": "   ", "text": "Text."}, "reason", "Say why you add to a signed note."),
    ({"reason": "Why", "text": ""}, "text", "Write the addendum."),
    ({"reason": "x" * 201, "text": "Text."}, "reason", "Use at most 200 characters."),
    ({"reason": "Why", "text": "Bad\x00"}, "text", "Remove the invisible control characters from this text."),
])
def test_addendum_messages_beside_the_fields(clinic, signed, data, field, message):
    response = clinic.post(clinic.therapist, f"/sessions/{signed['prep']}/addenda", data)
    assert response.status_code == 400
    assert error_beside(response, field) == message
    assert count(Addendum) == 1  # the fixture's own


def test_a_draft_takes_no_addendum(clinic, signed):
    response = clinic.post(clinic.therapist, f"/sessions/{signed['draft_prep']}/addenda",
                           {"reason": "Why", "text": "Text."})
    assert "A draft is edited directly; addenda follow signing." in page(
        clinic.get(clinic.therapist, response.headers["Location"]))
    assert count(Addendum) == 1
    assert 'action="/sessions/%d/addenda"' % signed["draft_prep"] not in raw(
        clinic.get(clinic.therapist, f"/sessions/{signed['draft_prep']}"))


def test_admins_add_no_addenda(clinic, signed):
    assert clinic.post(clinic.admin, f"/sessions/{signed['prep']}/addenda",
                       {"reason": "Why", "text": "Text."}).status_code == 403


# --- optimistic locking ------------------------------------------------------------------------


def test_a_stale_draft_is_not_saved_over_a_newer_one(clinic):
    course_id = factories.course(clinic).id
    sid = factories.preparation(clinic, course_id, signed=False).id
    form = raw(clinic.get(clinic.therapist, f"/sessions/{sid}/edit"))
    stale = re.search(r'name="version" type="hidden" value="(\d+)"', form).group(1)
    # Saved meanwhile (another tab, another device).
    assert clinic.edit(clinic.therapist, sid, note="Saved elsewhere first.").status_code == 302
    current = version_of(sid)
    assert str(current) != stale
    occurred = clock.utc_to_local(refresh(ClinicalSession, sid).occurred_at).strftime(FMT)
    response = clinic.post(clinic.therapist, f"/sessions/{sid}/edit",
                           {"occurred_at": occurred, "version": stale, "note": "My long typed text.",
                            "intentions": "Typed intentions."})
    assert response.status_code == 409
    shown = page(response)
    assert "Someone else saved this preparation session while you were editing" in shown
    assert "My long typed text." in shown and "Typed intentions." in shown  # kept, to copy
    session = refresh(PreparationSession, sid)
    assert session.note == "Saved elsewhere first." and session.intentions == "To feel less stuck."
    assert version_of(sid) == current
    # The form starts again from the saved version, with its current version.
    assert f'name="version" type="hidden" value="{current}"' in raw(response)
    assert clinic.post(clinic.therapist, f"/sessions/{sid}/edit",
                       {"occurred_at": occurred, "version": str(current),
                        "note": "My long typed text."}).status_code == 302
    assert refresh(PreparationSession, sid).note == "My long typed text."


@pytest.mark.parametrize("version", ["", "abc", "-1", "9" * 50])
def test_a_missing_or_garbled_version_is_a_conflict(clinic, version):
    course_id = factories.course(clinic).id
    sid = factories.preparation(clinic, course_id, signed=False).id
    response = clinic.edit(clinic.therapist, sid, version=version, note="Typed.")
    assert response.status_code == 409
    assert "Someone else saved this preparation session" in page(response)
    assert refresh(ClinicalSession, sid).note == "Intentions explored."


# --- no server errors --------------------------------------------------------------------------

GARBAGE = ["abc", "", " ", "-1", "0", "1.5", "1e999999", "NaN", "sNaN", "-Infinity", "9" * 400,
           "\x00", "<script>", "2026-02-30T10:00", "0001-01-01T00:00", "9999-12-31T23:59",
           "9999-12-31", "1999-12-31T23:59", "10:00", "2026-13-01"]

FIELDS = {
    "screening": ["occurred_at", "psychosis_history", "pregnancy", "contraindications",
                  "interacting_medications", "decision"],
    "preparation": ["occurred_at", "medically_ready", "version"],
    "dosing": ["route", "occurred_at", "ended_at", "weight_kg", "lot_expiry", "dissociation",
               "sedation", "discharged_at", "discharge_criteria", "side_effects"],
    "integration": ["occurred_at", "dosing_session_id", "follow_up_on"],
}
NEW_AS = {"screening": "therapist", "preparation": "therapist", "dosing": "medical",
          "integration": "therapist"}


def _valid(kind, dosing_id):
    return {
        "screening": dict(SCREENING),
        "preparation": {"note": "n"},
        "dosing": {"route": "im"},
        "integration": {"dosing_session_id": str(dosing_id), "note": "n"},
    }[kind]


@pytest.mark.parametrize("kind, field", [(k, f) for k, fs in FIELDS.items() for f in fs])
def test_garbage_in_a_session_form_is_a_message(clinic, make_client, kind, field):
    """Every value through the form that creates a session and the one that edits a draft:
    a saved session or a message beside the field, never a server error."""
    course_id = factories.ready(clinic, planned_medicine_sessions="24").id
    drafts = {"preparation": factories.preparation(clinic, course_id, signed=False).id,
              "dosing": factories.medicine(clinic, course_id, "im", "discharged").id}
    drafts["integration"] = factories.integration(clinic, course_id, drafts["dosing"], signed=False).id
    # A course has one screening: a draft one in another client's course, for medical staff to edit.
    other_course = factories.course(clinic, make_client(clinic.therapist)).id
    drafts["screening"] = factories.screening(clinic, other_course, signed=False).id
    user = getattr(clinic, NEW_AS[kind])
    for value in GARBAGE:
        data = {"occurred_at": local(), **_valid(kind, drafts["dosing"]), field: value}
        if kind != "screening":  # a course has one screening; "new" opens it
            response = clinic.post(user, f"/courses/{course_id}/sessions/new/{kind}", data)
            assert response.status_code in (200, 302), (field, value, response.status_code)
            if response.status_code == 200:
                assert error_beside(response, field) or "Someone else saved" in page(response), (field, value)
        editor = clinic.medical if kind == "screening" else user
        sid = drafts[kind]
        started = clock.utc_to_local(refresh(ClinicalSession, sid).occurred_at).strftime(FMT)
        data = {"occurred_at": started, **_valid(kind, drafts["dosing"]), field: value}
        response = clinic.post(editor, f"/sessions/{sid}/edit",
                               {"version": str(version_of(sid)), **data})
        if field == "version":  # a garbled version is a conflict: the saved version is shown
            assert response.status_code == 409 and "Someone else saved" in page(response), value
            continue
        assert response.status_code in (200, 302), (field, value, response.status_code)
        if response.status_code == 200:
            assert error_beside(response, field) or "Someone else saved" in page(response), (field, value)


DOSE_FIELDS = {
    "lozenge": ["given_at", "strength_mg", "count", "hold_minutes", "swallowed", "previewed_mg",
                "range_reason"],
    "im": ["weight_kg", "mg_per_kg", "injection_site"],
    "iv": ["infusion_minutes", "weight_kg"],
}


@pytest.mark.parametrize("route, field", [(r, f) for r, fs in DOSE_FIELDS.items() for f in fs])
def test_garbage_in_the_dose_form_is_a_message(clinic, route, field):
    sid = _dosing_for(clinic, route)
    for value in GARBAGE:
        for extra in ({}, {"submit": "y"}):
            data = {"given_at": local(), **VALID_DOSE[route], **extra, field: value}
            response = clinic.post(clinic.medical, f"/sessions/{sid}/administrations", data)
            assert response.status_code in (200, 302, 400), (field, value, response.status_code)


@pytest.mark.parametrize("field", ["decision", "decision_rationale", "medical_clearance",
                                   "safety_plan", "c-confirm"])
def test_garbage_in_the_sign_form_is_a_message(clinic, field):
    course_id = factories.course(clinic).id
    sid = factories.screening(clinic, course_id, signed=False, found=["cardiac", "suicide_risk"]).id
    prep = factories.preparation(clinic, course_id, signed=False).id
    for value in GARBAGE:
        data = {"decision": "eligible", "decision_rationale": "r", "medical_clearance": "c",
                "safety_plan": "p", "c-confirm": "y", field: value}
        response = clinic.post(clinic.medical, f"/sessions/{sid}/sign", data)
        assert response.status_code in (200, 302, 409), (field, value, response.status_code)
        response = clinic.post(clinic.therapist, f"/sessions/{prep}/sign", data)
        assert response.status_code in (200, 302, 409), (field, value, response.status_code)


@pytest.mark.parametrize("field", ["reason", "text"])
def test_garbage_in_the_addendum_form_is_a_message(clinic, signed, field):
    for value in GARBAGE:
        data = {"reason": "r", "text": "t", field: value}
        response = clinic.post(clinic.therapist, f"/sessions/{signed['prep']}/addenda", data)
        assert response.status_code in (302, 400), (field, value, response.status_code)


def test_the_weight_is_fixed_once_a_dose_is_recorded(clinic, medicine):
    """Every dose was computed from the session's weight; changing it afterwards would break
    mg = mg/kg x weight for the doses already given."""
    _, sid = medicine
    assert clinic.dose(sid, **VALID_DOSE["im"]).status_code == 302
    before = refresh(DosingSession, sid).weight_kg
    response = clinic.edit(clinic.medical, sid, weight_kg=str(before + 10))
    assert response.status_code == 200
    assert error_beside(response, "weight_kg") == f"The weight is fixed at {before} kg once a dose is recorded."
    assert refresh(DosingSession, sid).weight_kg == before
