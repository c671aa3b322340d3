"""A client's record as FHIR R4: every resource parses with the R4 (4.0.1) models of fhirclient
(SMART on FHIR's maintained Python library), the codes are the right ones, the export is scoped,
audited, and reads a fixed number of queries."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal

import pytest
from fhirclient.models import bundle as fhir_bundle
from fhirclient.models.fhirabstractbase import FHIRValidationError
from fhirclient.models.fhirelementfactory import FHIRElementFactory
from sqlalchemy import func, select

from kaptracker import clock
from kaptracker import settings as clinic_settings
from kaptracker.exports import fhir
from kaptracker.extensions import db
from kaptracker.models import (
    Administration,
    AuditAction,
    AuditEvent,
    Client,
    ClinicalSession,
    Course,
    DosingSession,
    InjectionSite,
    IntegrationSession,
    OutcomeScore,
    PreparationSession,
    Screening,
    Site,
    VitalSign,
    utcnow,
)
from kaptracker.rules import scales
from kaptracker.rules.dosing import Route
from kaptracker.rules.phases import EndReason
from kaptracker.rules.scales import Occasion, Scale
from kaptracker.rules.screening import Decision
from kaptracker.rules.vitals import Timepoint

# An export states its purpose and recipient first (the accounting of disclosures).
EXPORT = {"purpose": "treatment", "recipient": "Dr Imani Osei, Riverside Psychiatry"}

DEMO_PASSWORD = "demo passphrase 1"


def _score(course, user, scale, answers, *, occasion=Occasion.BASELINE, number=None, on=None, error=None):
    total = scales.total(scale, answers)
    score = OutcomeScore(
        course_id=course.id, scale=scale, occasion=occasion, session_number=number,
        completed_on=on or clock.today(), answers=answers, total=total,
        band=scales.band(scale, total).label, self_harm_flag=scales.self_harm_flag(scale, answers),
        recorded_by_id=user.id,
    )
    if error:
        score.entered_in_error_at, score.entered_in_error_by_id, score.error_reason = utcnow(), user.id, error
    db.session.add(score)
    return score


def _vital(session, user, at, timepoint, systolic, diastolic, heart_rate, spo2=None, error=None):
    vital = VitalSign(session_id=session.id, taken_at=at, timepoint=timepoint, systolic=systolic,
                      diastolic=diastolic, heart_rate=heart_rate, spo2=spo2, recorded_by_id=user.id)
    if error:
        vital.entered_in_error_at, vital.entered_in_error_by_id, vital.error_reason = at, user.id, error
    db.session.add(vital)
    return vital


def build_course(client, therapist, medical, *, medicine_sessions=(Route.LOZENGE, Route.IM, Route.IV), scores=True,
                 ended=False):
    """A course with a signed screening and preparation, one medicine session per route given
    (with vitals, one reading entered in error, and a booster on the lozenge), an integration
    session each, and scores (PHQ-9 with item 9 above 0, GAD-7, PCL-5, one score in error)."""
    start = utcnow() - dt.timedelta(days=40)
    course = Course(client_id=client.id, planned_route=Route.LOZENGE, planned_medicine_sessions=6,
                    goals="Goals", started_on=start.date(), created_by_id=therapist.id)
    if ended:  # one open course per client
        course.end_reason, course.ended_on = EndReason.COMPLETED, start.date() + dt.timedelta(days=30)
    db.session.add(course)
    db.session.flush()
    screening = Screening(course_id=course.id, author_id=therapist.id, occurred_at=start, note="s",
                          decision=Decision.ELIGIBLE, decision_rationale="Fine",
                          signed_at=start, signed_by_id=medical.id)
    preparation = PreparationSession(course_id=course.id, author_id=therapist.id, note="p",
                                     occurred_at=start + dt.timedelta(days=1),
                                     signed_at=start + dt.timedelta(days=1), signed_by_id=therapist.id)
    db.session.add_all([screening, preparation])
    for i, route in enumerate(medicine_sessions):
        at = start + dt.timedelta(days=3 + 7 * i)
        dosing = DosingSession(course_id=course.id, author_id=medical.id, occurred_at=at, started_at=at,
                               route=route, weight_kg=Decimal(70), administered_by_id=medical.id,
                               lot_number=f"L{i}", lot_expiry=dt.date(2030, 1, 1))
        db.session.add(dosing)
        db.session.flush()
        _vital(dosing, medical, at - dt.timedelta(minutes=5), Timepoint.BASELINE, 128, 82, 72, 98)
        if route is Route.LOZENGE:
            db.session.add(Administration(session_id=dosing.id, given_at=at, dose_mg=Decimal(100),
                                          strength_mg=Decimal(100), count=Decimal(1), hold_minutes=15,
                                          swallowed=False, recorded_by_id=medical.id))
            db.session.add(Administration(session_id=dosing.id, given_at=at + dt.timedelta(minutes=30),
                                          dose_mg=Decimal(50), strength_mg=Decimal(100), count=Decimal("0.5"),
                                          hold_minutes=15, swallowed=True, recorded_by_id=medical.id))
        elif route is Route.IM:
            db.session.add(Administration(session_id=dosing.id, given_at=at, dose_mg=Decimal(35),
                                          mg_per_kg=Decimal("0.5"), injection_site=InjectionSite.DELTOID_LEFT,
                                          recorded_by_id=medical.id))
        else:
            db.session.add(Administration(session_id=dosing.id, given_at=at, dose_mg=Decimal(35),
                                          mg_per_kg=Decimal("0.5"), infusion_minutes=40,
                                          recorded_by_id=medical.id))
        _vital(dosing, medical, at + dt.timedelta(minutes=15), Timepoint.DURING, 251, 82, 74,
               error="typed 251 for 151")
        _vital(dosing, medical, at + dt.timedelta(minutes=16), Timepoint.DURING, 151, 88, 76)
        _vital(dosing, medical, at + dt.timedelta(minutes=70), Timepoint.DISCHARGE, 130, 80, 70, 99)
        dosing.discharged_at = at + dt.timedelta(minutes=75)
        db.session.flush()
        dosing.signed_at, dosing.signed_by_id = at + dt.timedelta(hours=2), medical.id
        db.session.add(IntegrationSession(course_id=course.id, author_id=therapist.id, dosing_session_id=dosing.id,
                                          occurred_at=at + dt.timedelta(days=2), note="i"))
    if scores:
        phq = [2, 2, 1, 2, 1, 1, 2, 1, 1]
        _score(course, therapist, Scale.PHQ9, phq, on=start.date())
        _score(course, therapist, Scale.GAD7, [1] * 7, on=start.date())
        _score(course, therapist, Scale.PCL5, [2] * 20, on=start.date())
        _score(course, therapist, Scale.PHQ9, [0] * 9, occasion=Occasion.PRE_SESSION, number=1,
               on=start.date() + dt.timedelta(days=3), error="wrong client's sheet")
    db.session.commit()
    return course


@pytest.fixture
def record(make_user, make_client):
    therapist, medical = make_user("therapist"), make_user("medical")
    client = make_client(therapist, given_name="Ada", family_name="Testperson", preferred_name="Addy",
                         email="ada@example.org", address="1 Example Street")
    course = build_course(client, therapist, medical)
    return {"therapist": therapist, "medical": medical, "client": client, "course": course}


def parse(data: dict) -> fhir_bundle.Bundle:
    """Strict parse with the R4 4.0.1 models: unknown elements, wrong types, missing required
    elements and malformed dates all raise FHIRValidationError."""
    return fhir_bundle.Bundle(data, strict=True)


def export(http, client_id):
    response = http.post(f"/clients/{client_id}/fhir", data=EXPORT)
    assert response.status_code == 200, response.status_code
    return response, json.loads(response.get_data(as_text=True))


def by_type(data, kind):
    return [e["resource"] for e in data["entry"] if e["resource"]["resourceType"] == kind]


def codes(concept):
    return {(c["system"], c["code"]) for c in concept.get("coding", [])}


def test_the_bundle_parses_as_fhir_r4_and_counts_every_record(record, client, login):
    login(record["therapist"])
    response, data = export(client, record["client"].id)
    parsed = parse(data)
    assert parsed.type == "collection"
    for entry in parsed.entry:
        assert entry.resource is not None and entry.fullUrl.startswith("urn:uuid:")
        # Each resource also parses alone, through the library's factory.
        FHIRElementFactory.instantiate(entry.resource.resource_type, entry.resource.as_json())
    assert fhir.resource_counts(data) == {
        "Encounter": 2 + 3 + 3,  # screening, preparation, 3 medicine and 3 integration sessions
        "EpisodeOfCare": 1,
        "Location": 1,  # every session at the client's home site
        "MedicationAdministration": 4,  # a lozenge and its booster, IM, IV
        "Observation": 3 * (4 * 2 + 2) + 4,  # BP + HR per reading, SpO2 on two each; score totals
        "Organization": 1,  # the clinic network
        "Patient": 1,
        "QuestionnaireResponse": 4,
    }
    urls = [e["fullUrl"] for e in data["entry"]]
    assert len(urls) == len(set(urls))
    # Every reference points inside the bundle.
    refs = {m for m in _references(data)}
    assert refs <= set(urls)


def _references(value):
    if isinstance(value, dict):
        for k, v in value.items():
            if k == "reference":
                yield v
            else:
                yield from _references(v)
    elif isinstance(value, list):
        for v in value:
            yield from _references(v)


@pytest.mark.parametrize("resource", [
    {"resourceType": "Observation", "code": {"text": "x"}, "valueQuantity": {"value": "high"}},  # no status, text value
    {"resourceType": "Location", "name": "Denver", "managingOrganization": "urn:uuid:x"},  # not a Reference
    {"resourceType": "Location", "name": "Denver", "telecom": {"system": "phone", "value": "1"}},  # not a list
    {"resourceType": "Organization", "name": ["KAP Clinic"]},  # a list for a string
    {"resourceType": "Encounter", "status": "finished", "class": {"code": "AMB"},
     "location": [{"reference": "urn:uuid:x"}]},  # location.location missing, reference unknown there
], ids=["observation", "location-organization", "location-telecom", "organization-name", "encounter-location"])
def test_the_validator_really_rejects_a_broken_resource(resource):
    with pytest.raises(FHIRValidationError):
        parse({"resourceType": "Bundle", "type": "collection", "entry": [{"resource": resource}]})


def test_patient(record, client, login):
    login(record["therapist"])
    _, data = export(client, record["client"].id)
    [patient] = by_type(data, "Patient")
    assert patient["identifier"][0]["system"] == "urn:kaptracker:record-number"
    assert patient["identifier"][0]["value"] == record["client"].record_number
    assert patient["name"][0] == {"use": "official", "family": "Testperson", "given": ["Ada"]}
    assert patient["name"][1]["given"] == ["Addy"]
    assert patient["birthDate"] == record["client"].date_of_birth.isoformat()
    assert "gender" not in patient  # not stored, so not claimed


def test_the_identifier_system_is_a_setting(make_app, make_user, make_client, login):
    app = make_app(FHIR_RECORD_NUMBER_SYSTEM="https://clinic.example.org/record-number")
    with app.app_context():
        therapist = make_user("therapist")
        c = make_client(therapist)
        http = app.test_client()
        login(therapist, http=http)
        _, data = export(http, c.id)
        assert by_type(data, "Patient")[0]["identifier"][0]["system"] == "https://clinic.example.org/record-number"


def test_encounters(record, client, login):
    login(record["therapist"])
    _, data = export(client, record["client"].id)
    encounters = by_type(data, "Encounter")
    assert {e["class"]["code"] for e in encounters} == {"AMB"}
    assert {e["class"]["system"] for e in encounters} == {"http://terminology.hl7.org/CodeSystem/v3-ActCode"}
    kinds = [e["type"][0]["text"] for e in encounters]
    assert kinds.count("Medicine session") == 3 and kinds.count("Integration session") == 3
    status = {e["type"][0]["text"]: e["status"] for e in encounters}
    assert status["Screening"] == "finished"  # signed
    assert status["Integration session"] == "in-progress"  # drafts
    dosing = [e for e in encounters if e["type"][0]["text"] == "Medicine session"]
    assert all(e["period"]["end"] > e["period"]["start"] for e in dosing)
    assert all(e["reasonCode"][0]["text"] for e in encounters)


# --- places: the sites as Locations, the clinic network as their Organization ----------------


@pytest.fixture
def two_sites(record):
    """The record's client at home at the default site (no DEA registration, address or phone);
    one of their integration sessions (a draft) happened at Denver, which has all three."""
    main = db.session.get(Site, record["client"].home_site_id)
    den = Site(code="DEN", name="Denver", time_zone="America/Denver", address="1600 Market St\nDenver CO 80202",
               phone="+1 303 555 0100", dea_registration="AB1234563")
    db.session.add(den)
    db.session.flush()
    away = db.session.scalars(select(IntegrationSession).where(IntegrationSession.course_id == record["course"].id)
                              .order_by(IntegrationSession.occurred_at)).first()
    away.site_id = den.id
    db.session.commit()
    return {"main": main, "den": den, "away": away}


def _resources(data):
    return {e["fullUrl"]: e["resource"] for e in data["entry"]}


def _assert_places_resolve(data):
    """Every Encounter's location, every Location's and the Patient's managing organization
    resolve inside the bundle, to a Location and the one Organization."""
    urls = _resources(data)
    [organization_url] = [u for u, r in urls.items() if r["resourceType"] == "Organization"]
    for encounter in by_type(data, "Encounter"):
        [place] = encounter["location"]
        assert urls[place["location"]["reference"]]["resourceType"] == "Location"
    assert by_type(data, "Location")
    for resource in by_type(data, "Location") + by_type(data, "Patient"):
        assert resource["managingOrganization"]["reference"] == organization_url


def test_the_sites_of_the_record_are_locations(two_sites, record, client, login):
    login(record["therapist"])
    _, data = export(client, record["client"].id)
    parse(data)
    locations = {loc["name"]: loc for loc in by_type(data, "Location")}
    assert set(locations) == {two_sites["main"].name, "Denver"}  # the home site and the session's
    den, main = locations["Denver"], locations[two_sites["main"].name]
    timezone = "http://hl7.org/fhir/StructureDefinition/timezone"
    assert den["extension"] == [{"url": timezone, "valueCode": "America/Denver"}]
    assert main["extension"] == [{"url": timezone, "valueCode": two_sites["main"].time_zone}]
    assert den["status"] == main["status"] == "active"
    assert den["address"] == {"text": "1600 Market St\nDenver CO 80202"}
    assert den["telecom"] == [{"system": "phone", "value": "+1 303 555 0100", "use": "work"}]
    assert "address" not in main and "telecom" not in main  # the default site has neither
    assert {"system": "urn:kaptracker:site-code", "value": "DEN"} in den["identifier"]
    _assert_places_resolve(data)

    # The session at Denver names Denver; every other encounter the home site.
    urls = _resources(data)
    where = {e["identifier"][0]["value"]: urls[e["location"][0]["location"]["reference"]]["name"]
             for e in by_type(data, "Encounter")}
    assert where.pop(str(two_sites["away"].id)) == "Denver"
    assert set(where.values()) == {two_sites["main"].name} and len(where) == 7


def test_the_dea_registration_is_an_identifier_only_when_the_site_has_one(two_sites, record, client, login):
    login(record["therapist"])
    _, data = export(client, record["client"].id)
    locations = {loc["name"]: loc for loc in by_type(data, "Location")}

    def dea(location):
        return [i for i in location["identifier"] if i.get("system") == fhir.DEA_SYSTEM]

    [number] = dea(locations["Denver"])
    assert number["value"] == "AB1234563"
    assert number["system"] == "urn:oid:2.16.840.1.113883.4.814"
    assert number["type"]["text"] == "DEA registration"
    assert codes(number["type"]) == {("http://terminology.hl7.org/CodeSystem/v2-0203", "DEA")}
    assert dea(locations[two_sites["main"].name]) == []
    assert "AB1234563" not in json.dumps(locations[two_sites["main"].name])


def test_the_organization_is_the_clinic_network_named_by_the_setting(two_sites, record, client, login, make_user):
    login(record["therapist"])
    _, data = export(client, record["client"].id)
    [organization] = by_type(data, "Organization")
    assert organization["name"] == "KAP Clinic"  # the setting's default
    assert organization["active"] is True

    clinic_settings.change("clinic.name", "Riverside Healing Centre", user=make_user("admin"), reason="renamed")
    db.session.commit()
    _, data = export(client, record["client"].id)
    [organization] = by_type(data, "Organization")
    assert organization["name"] == "Riverside Healing Centre"
    _assert_places_resolve(data)


def test_a_deactivated_site_is_an_inactive_location(two_sites, record, client, login):
    two_sites["den"].active = False  # since the session there
    db.session.commit()
    login(record["therapist"])
    _, data = export(client, record["client"].id)
    parse(data)
    status = {loc["name"]: loc["status"] for loc in by_type(data, "Location")}
    assert status == {two_sites["main"].name: "active", "Denver": "inactive"}
    _assert_places_resolve(data)


def test_the_home_site_is_a_location_even_with_no_session_there(two_sites, record, client, login):
    """A client moved to Denver after every session at the old site: both sites travel."""
    record["client"].home_site_id = two_sites["den"].id
    db.session.commit()
    login(record["therapist"])
    _, data = export(client, record["client"].id)
    assert {loc["name"] for loc in by_type(data, "Location")} == {two_sites["main"].name, "Denver"}
    assert fhir.resource_counts(data)["Location"] == 2


def test_doses_are_ketamine_by_the_right_route_in_mg(record, client, login):
    login(record["therapist"])
    _, data = export(client, record["client"].id)
    given = by_type(data, "MedicationAdministration")
    assert all(codes(m["medicationCodeableConcept"]) == {(fhir.RXNORM, "6130")} for m in given)
    routes = [codes(m["dosage"]["route"]) for m in given]
    sct = "http://snomed.info/sct"
    assert routes == [{(sct, "37839007")}, {(sct, "37839007")}, {(sct, "78421000")}, {(sct, "47625008")}]
    assert [m["dosage"]["dose"]["value"] for m in given] == [100, 50, 35, 35]
    assert {(m["dosage"]["dose"]["system"], m["dosage"]["dose"]["code"]) for m in given} == {
        ("http://unitsofmeasure.org", "mg")}
    assert all(m["status"] == "completed" for m in given)
    iv = given[3]
    assert iv["effectivePeriod"]["end"] > iv["effectivePeriod"]["start"]
    assert iv["dosage"]["rateQuantity"]["code"] == "mg/min"
    assert "Lot L0" in given[0]["note"][0]["text"]
    # Each dose points at its medicine session's encounter.
    urls = {e["fullUrl"]: e["resource"] for e in data["entry"]}
    assert all(urls[m["context"]["reference"]]["type"][0]["text"] == "Medicine session" for m in given)


def test_vital_signs(record, client, login):
    login(record["therapist"])
    _, data = export(client, record["client"].id)
    vitals = [o for o in by_type(data, "Observation")
              if o["category"][0]["coding"][0]["code"] == "vital-signs"]
    assert all(o["category"][0]["coding"][0]["system"] == fhir.OBSERVATION_CATEGORY for o in vitals)
    bp = [o for o in vitals if codes(o["code"]) == {(fhir.LOINC, "85354-9")}]
    hr = [o for o in vitals if codes(o["code"]) == {(fhir.LOINC, "8867-4")}]
    spo2 = [o for o in vitals if (fhir.LOINC, "2708-6") in codes(o["code"])]
    assert (len(bp), len(hr), len(spo2)) == (12, 12, 6)
    assert all(codes(o["code"]) == {(fhir.LOINC, "2708-6"), (fhir.LOINC, "59408-5")} for o in spo2)
    first = bp[0]["component"]
    assert [codes(c["code"]) for c in first] == [{(fhir.LOINC, "8480-6")}, {(fhir.LOINC, "8462-4")}]
    assert first[0]["valueQuantity"] == {"value": 128, "unit": "mmHg", "system": fhir.UCUM, "code": "mm[Hg]"}
    assert hr[0]["valueQuantity"]["code"] == "/min" and spo2[0]["valueQuantity"]["code"] == "%"
    in_error = [o for o in bp if o["status"] == "entered-in-error"]
    assert len(in_error) == 3 and all(o["component"][0]["valueQuantity"]["value"] == 251 for o in in_error)
    assert any("typed 251 for 151" in n["text"] for n in in_error[0]["note"])
    assert {o["status"] for o in bp} == {"final", "entered-in-error"}


def test_scores_as_questionnaire_responses_and_totals(record, client, login):
    login(record["therapist"])
    _, data = export(client, record["client"].id)
    responses = by_type(data, "QuestionnaireResponse")
    totals = [o for o in by_type(data, "Observation") if o["category"][0]["coding"][0]["code"] == "survey"]
    assert [codes(o["code"]) for o in totals] == [
        {(fhir.LOINC, "44261-6")}, {(fhir.LOINC, "70274-6")}, {(fhir.LOINC, "101698-9")}, {(fhir.LOINC, "44261-6")}]
    assert [o["valueInteger"] for o in totals] == [13, 7, 40, 0]
    assert [o["status"] for o in totals] == ["final", "final", "final", "entered-in-error"]
    assert [r["status"] for r in responses] == ["completed", "completed", "completed", "entered-in-error"]
    phq = responses[0]
    assert phq["questionnaire"] == "http://loinc.org/q/44249-1"
    assert [i["answer"][0]["valueInteger"] for i in phq["item"][:9]] == [2, 2, 1, 2, 1, 1, 2, 1, 1]
    assert phq["item"][-1] == {"linkId": "total", "text": "PHQ-9 total", "answer": [{"valueInteger": 13}]}
    assert len(responses[2]["item"]) == 21  # PCL-5: 20 items and the total
    assert any("Item 9" in n["text"] for n in totals[0]["note"])  # the self-harm flag travels
    assert totals[0]["interpretation"][0]["text"] == "Moderate"
    urls = {e["fullUrl"] for e in data["entry"]}
    assert all(o["derivedFrom"][0]["reference"] in urls for o in totals)


def test_the_download_is_an_attachment_without_the_clients_name(record, client, login):
    login(record["therapist"])
    response, _ = export(client, record["client"].id)
    disposition = response.headers["Content-Disposition"]
    assert disposition.startswith("attachment;")
    assert record["client"].record_number in disposition
    assert "Testperson" not in disposition and "Ada" not in disposition
    assert response.mimetype == "application/fhir+json"
    assert "no-store" in response.headers["Cache-Control"]


def test_the_export_is_audited_without_names(record, client, login):
    login(record["therapist"])
    export(client, record["client"].id)
    [event] = db.session.scalars(select(AuditEvent).where(AuditEvent.action == AuditAction.EXPORT)).all()
    assert (event.record_type, event.record_id, event.client_id) == ("client", record["client"].id, record["client"].id)
    assert event.user_id == record["therapist"].id
    assert "FHIR R4" in event.detail and "8 Encounter" in event.detail
    assert "Testperson" not in event.detail and "Ada" not in event.detail


def test_a_client_outside_the_caseload_is_not_found_and_audited(record, client, login, make_user):
    other = make_user("therapist")
    login(other)
    assert client.post(f"/clients/{record['client'].id}/fhir", data=EXPORT).status_code == 404
    assert client.post("/clients/2147483647/fhir", data=EXPORT).status_code == 404
    assert client.post("/clients/2147483648/fhir", data=EXPORT).status_code == 404  # beyond an integer id
    denied = db.session.scalars(select(AuditEvent).where(AuditEvent.action == AuditAction.DENIED)).all()
    assert [e.record_id for e in denied] == [record["client"].id, 2147483647]
    assert not db.session.scalar(select(func.count()).select_from(AuditEvent).where(
        AuditEvent.action == AuditAction.EXPORT))


@pytest.mark.parametrize("role, status", [("supervisor", 200), ("medical", 403), ("admin", 403)])
def test_who_may_export_a_record(role, status, record, client, login, make_user):
    login(make_user(role))
    assert client.post(f"/clients/{record['client'].id}/fhir", data=EXPORT).status_code == status


def test_an_empty_record_is_a_valid_bundle(make_user, make_client, client, login):
    therapist = make_user("therapist")
    c = make_client(therapist)
    login(therapist)
    _, data = export(client, c.id)
    parse(data)
    # The home site and the clinic network travel even with no course yet.
    assert fhir.resource_counts(data) == {"Location": 1, "Organization": 1, "Patient": 1}


def test_the_query_count_does_not_grow_with_the_record(make_user, make_client, client, login, count_queries):
    therapist, medical = make_user("therapist"), make_user("medical")
    small, large = make_client(therapist), make_client(therapist)
    build_course(small, therapist, medical, medicine_sessions=(Route.IM,), scores=False)
    build_course(large, therapist, medical, medicine_sessions=(Route.LOZENGE, Route.IM, Route.IV) * 3, ended=True)
    build_course(large, therapist, medical, medicine_sessions=(Route.IV,))  # a second course
    # The large record's drafts happened at two more sites: Locations cost no query each.
    for code in ("DEN", "BOS"):
        site = Site(code=code, name=f"Site {code}", time_zone="America/Denver", dea_registration="AB1234563")
        db.session.add(site)
        db.session.flush()
        draft = db.session.scalars(select(IntegrationSession).join(Course).where(
            Course.client_id == large.id, IntegrationSession.signed_at.is_(None),
            IntegrationSession.site_id == large.home_site_id).limit(1)).one()
        draft.site_id = site.id
    db.session.commit()
    login(therapist)
    counts, sites = [], []
    for c in (small, large):
        with count_queries() as counted:
            _, data = export(client, c.id)
        counts.append(counted.n)
        sites.append(fhir.resource_counts(data)["Location"])
    assert sites == [1, 3], sites
    assert counts[0] == counts[1], counts
    assert counts[1] <= 14, counts  # 12 before sites: the sites' query is the 13th
    print(f"FHIR export: {counts[1]} queries")


def test_a_demo_client_exports_completely(runner, client, login):
    result = runner.invoke(args=["seed-demo", "--password", DEMO_PASSWORD])
    assert result.exit_code == 0, result.output
    from kaptracker.models import User
    from kaptracker.rules.access import Role

    supervisor = db.session.scalars(select(User).where(User.role == Role.SUPERVISOR, User.network_lead)).one()
    # The demo client with the most medicine sessions.
    client_id = db.session.scalar(
        select(Course.client_id).join(ClinicalSession, ClinicalSession.course_id == Course.id)
        .where(ClinicalSession.kind == "dosing").group_by(Course.client_id)
        .order_by(func.count().desc(), Course.client_id).limit(1)
    )
    # Give it scores of its own, so the test does not depend on what the demo seeds.
    course = db.session.scalars(select(Course).where(Course.client_id == client_id)).first()
    _score(course, supervisor, Scale.PHQ9, [1] * 9, on=course.started_on)
    db.session.commit()
    login(supervisor, password=DEMO_PASSWORD)
    _, data = export(client, client_id)
    parse(data)

    sessions = select(ClinicalSession.id).join(Course).where(Course.client_id == client_id)
    n = lambda stmt: db.session.scalar(select(func.count()).select_from(stmt.subquery()))  # noqa: E731
    readings = n(select(VitalSign.id).where(VitalSign.session_id.in_(sessions)))
    with_spo2 = n(select(VitalSign.id).where(VitalSign.session_id.in_(sessions), VitalSign.spo2.is_not(None)))
    scores = n(select(OutcomeScore.id).join(Course).where(Course.client_id == client_id))
    home = db.session.get(Client, client_id).home_site_id
    expected = {
        "Patient": 1,
        "Organization": 1,
        "Location": n(select(Site.id).where(Site.id.in_(
            select(ClinicalSession.site_id).where(ClinicalSession.id.in_(sessions))) | (Site.id == home))),
        "EpisodeOfCare": n(select(Course.id).where(Course.client_id == client_id)),
        "Encounter": n(sessions),
        "MedicationAdministration": n(select(Administration.id).where(Administration.session_id.in_(sessions))),
        "Observation": 2 * readings + with_spo2 + scores,
        "QuestionnaireResponse": scores,
    }
    assert fhir.resource_counts(data) == expected
    assert expected["MedicationAdministration"] and readings
    _assert_places_resolve(data)
    print(f"demo client {client_id}: {expected}")
    assert db.session.get(Client, client_id).family_name not in json.dumps(
        [e.detail for e in db.session.scalars(select(AuditEvent).where(AuditEvent.action == AuditAction.EXPORT))])
