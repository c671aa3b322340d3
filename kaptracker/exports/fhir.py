"""A client's record as a FHIR R4 (4.0.1) Bundle, so a clinic can move its data to another system.

:func:`load_client_record` reads everything in a fixed number of queries (whatever the number of
courses, sessions, doses, readings or scores); :func:`client_bundle` is a pure function from those
records to a JSON-ready dict. The Bundle is a ``collection``: a set of resources with no claim to
be a signed clinical document (``document`` needs a Composition and an attester) and no
instructions for a server (``transaction``); the receiving system decides how to load it.

Codes (checked against the terminologies, see tests/test_fhir.py):

* ketamine: RxNorm 6130 (the ingredient);
* routes: SNOMED CT 37839007 Sublingual route for the lozenge / troche (the app records it as
  held under the tongue, "Lozenge / troche (sublingual)"), 78421000 Intramuscular route,
  47625008 Intravenous route;
* vital signs (the R4 vital-signs profile codes): blood pressure panel LOINC 85354-9 with
  systolic 8480-6 and diastolic 8462-4 in mm[Hg], heart rate 8867-4 in /min, oxygen saturation
  2708-6 with 59408-5 (by pulse oximetry) in %;
* scale totals: PHQ-9 44261-6, GAD-7 70274-6, PCL-5 101698-9 ("PTSD PCL-5 score", LOINC 2.75);
  their panels (the questionnaires) PHQ-9 44249-1, GAD-7 69737-5, PCL-5 101697-1.

Places: one Organization, the clinic network (named by the ``clinic.name`` setting), which the
Patient and every Location name as ``managingOrganization``; a Location for each site the record
mentions (the client's home site and every session's site), which each Encounter names. A Location
carries the site's time zone in the standard extension (``timezone``, an IANA code) and its DEA
registration, when it has one, under the DEA number's OID (2.16.840.1.113883.4.814) with the v2
identifier type ``DEA``.

References inside the Bundle are ``urn:uuid:`` full URLs made deterministically (UUID 5) from the
identifier system and the record's id, so the same record exported twice gets the same URLs.
Staff appear as display-only references (no Practitioner resources). Times are UTC with offset.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import uuid
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import with_polymorphic

from .. import settings
from ..extensions import db
from ..models import (
    Administration,
    Client,
    ClinicalSession,
    Course,
    DosingSession,
    OutcomeScore,
    SessionKind,
    Site,
    User,
    VitalSign,
)
from ..rules.dosing import Route
from ..rules.phases import EndReason
from ..rules.scales import Scale

RECORD_NUMBER_SYSTEM = "urn:kaptracker:record-number"
FHIR_VERSION = "4.0.1"

LOINC = "http://loinc.org"
SNOMED = "http://snomed.info/sct"
RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"
UCUM = "http://unitsofmeasure.org"
OBSERVATION_CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"
ACT_CODE = "http://terminology.hl7.org/CodeSystem/v3-ActCode"
IDENTIFIER_TYPE = "http://terminology.hl7.org/CodeSystem/v2-0203"
# The DEA registration number's OID (HL7's OID registry; THO NamingSystem USDEANumber).
DEA_SYSTEM = "urn:oid:2.16.840.1.113883.4.814"
TIMEZONE_EXTENSION = "http://hl7.org/fhir/StructureDefinition/timezone"

KETAMINE = {"system": RXNORM, "code": "6130", "display": "ketamine"}

ROUTE_CODES = {
    Route.LOZENGE: {"system": SNOMED, "code": "37839007", "display": "Sublingual route"},
    Route.IM: {"system": SNOMED, "code": "78421000", "display": "Intramuscular route"},
    Route.IV: {"system": SNOMED, "code": "47625008", "display": "Intravenous route"},
}

BLOOD_PRESSURE = {"system": LOINC, "code": "85354-9", "display": "Blood pressure panel with all children optional"}
SYSTOLIC = {"system": LOINC, "code": "8480-6", "display": "Systolic blood pressure"}
DIASTOLIC = {"system": LOINC, "code": "8462-4", "display": "Diastolic blood pressure"}
HEART_RATE = {"system": LOINC, "code": "8867-4", "display": "Heart rate"}
OXYGEN_SATURATION = [
    {"system": LOINC, "code": "2708-6", "display": "Oxygen saturation in Arterial blood"},
    {"system": LOINC, "code": "59408-5",
     "display": "Oxygen saturation in Arterial blood by Pulse oximetry"},
]

# (total score coding, questionnaire panel code)
SCALE_CODES = {
    Scale.PHQ9: ({"system": LOINC, "code": "44261-6",
                  "display": "Patient Health Questionnaire 9 item (PHQ-9) total score [Reported]"},
                 "44249-1"),
    Scale.GAD7: ({"system": LOINC, "code": "70274-6",
                  "display": "Generalized anxiety disorder 7 item (GAD-7) total score [Reported.PHQ]"},
                 "69737-5"),
    Scale.PCL5: ({"system": LOINC, "code": "101698-9", "display": "PTSD PCL-5 score [PCL-5]"},
                 "101697-1"),
}

ENCOUNTER_REASONS = {
    SessionKind.SCREENING: "Medical and psychological screening for ketamine-assisted psychotherapy",
    SessionKind.PREPARATION: "Preparation for ketamine-assisted psychotherapy",
    SessionKind.DOSING: "Ketamine-assisted psychotherapy medicine session",
    SessionKind.INTEGRATION: "Integration after a ketamine-assisted psychotherapy medicine session",
}

# A fixed namespace for the UUID 5 full URLs (any constant will do; never change it).
_NAMESPACE = uuid.UUID("6f1c1f0e-3d55-4f0b-9a55-6b6170747261")


@dataclasses.dataclass
class ClientRecord:
    """Everything :func:`client_bundle` reads, loaded by :func:`load_client_record`."""

    client: Client
    courses: list[Course]
    sessions: list[ClinicalSession]  # every kind, with the kind's own columns loaded
    administrations: list[Administration]
    vitals: list[VitalSign]
    scores: list[OutcomeScore]
    staff: dict[int, str]  # user id -> name, for display-only references
    sites: list[Site]  # the home site and every session's site, by id
    clinic_name: str  # the clinic network (the Organization)


def load_client_record(client: Client) -> ClientRecord:
    """Seven queries whatever the size of the record (the client is already loaded): courses,
    sessions of every kind, doses, readings, scores, the names of the staff involved and the sites
    (the settings, for the clinic's name, are read once a request)."""
    courses = list(db.session.scalars(
        select(Course).where(Course.client_id == client.id).order_by(Course.started_on, Course.id)
    ))
    course_ids = select(Course.id).where(Course.client_id == client.id).scalar_subquery()
    # One query with every kind's columns (LEFT OUTER JOINs), not one per kind present.
    session_poly = with_polymorphic(ClinicalSession, "*")
    sessions = list(db.session.scalars(
        select(session_poly)
        .where(session_poly.course_id.in_(course_ids))
        .order_by(session_poly.occurred_at, session_poly.id)
    ))
    session_ids = select(ClinicalSession.id).where(ClinicalSession.course_id.in_(course_ids))
    administrations = list(db.session.scalars(
        select(Administration)
        .where(Administration.session_id.in_(session_ids))
        .order_by(Administration.given_at, Administration.id)
    ))
    vitals = list(db.session.scalars(
        select(VitalSign)
        .where(VitalSign.session_id.in_(session_ids))
        .order_by(VitalSign.taken_at, VitalSign.id)
    ))
    scores = list(db.session.scalars(
        select(OutcomeScore)
        .where(OutcomeScore.course_id.in_(course_ids))
        .order_by(OutcomeScore.completed_on, OutcomeScore.id)
    ))
    user_ids = {client.therapist_id}
    for s in sessions:
        user_ids |= {s.author_id, getattr(s, "administered_by_id", None)}
    user_ids |= {a.recorded_by_id for a in administrations}
    user_ids |= {v.recorded_by_id for v in vitals}
    user_ids |= {s.recorded_by_id for s in scores}
    user_ids.discard(None)
    staff = dict(db.session.execute(select(User.id, User.name).where(User.id.in_(sorted(user_ids)))).all())
    site_ids = {client.home_site_id} | {s.site_id for s in sessions}
    sites = list(db.session.scalars(select(Site).where(Site.id.in_(sorted(site_ids))).order_by(Site.id)))
    return ClientRecord(client, courses, sessions, administrations, vitals, scores, staff, sites,
                        settings.get("clinic.name"))


# --- the pure part ----------------------------------------------------------------------------


def client_bundle(
    record: ClientRecord,
    *,
    now: dt.datetime,
    record_number_system: str = RECORD_NUMBER_SYSTEM,
) -> dict:
    """The client's record as a FHIR R4 Bundle of type ``collection`` (a JSON-ready dict)."""
    b = _Builder(record, record_number_system)
    entries = [b.patient(), b.organization()]
    entries += [b.location(site) for site in record.sites]
    entries += [b.episode_of_care(course) for course in record.courses]
    entries += [b.encounter(session) for session in record.sessions]
    entries += [b.medication_administration(a) for a in record.administrations]
    for vital in record.vitals:
        entries += b.vital_observations(vital)
    for score in record.scores:
        entries += b.score_resources(score)
    return {
        "resourceType": "Bundle",
        "meta": {"lastUpdated": _instant(now)},
        "identifier": {"system": "urn:kaptracker:export",
                       "value": f"client-{record.client.id}-{now:%Y%m%dT%H%M%SZ}"},
        "type": "collection",
        "timestamp": _instant(now),
        "entry": entries,
    }


def resource_counts(bundle: dict) -> dict[str, int]:
    """{resource type: how many} in ``bundle``, for the audit trail and the tests."""
    counts: dict[str, int] = {}
    for entry in bundle.get("entry", []):
        kind = entry["resource"]["resourceType"]
        counts[kind] = counts.get(kind, 0) + 1
    return dict(sorted(counts.items()))


class _Builder:
    def __init__(self, record: ClientRecord, system: str):
        self.record = record
        self.system = system
        self.sessions = {s.id: s for s in record.sessions}
        self.courses = {c.id: c for c in record.courses}

    # references -------------------------------------------------------------------------------

    def url(self, kind: str, record_id: int | str) -> str:
        return "urn:uuid:" + str(uuid.uuid5(_NAMESPACE, f"{self.system}|{kind}|{record_id}"))

    def ref(self, kind: str, record_id: int | str) -> dict:
        return {"reference": self.url(kind, record_id)}

    @property
    def patient_ref(self) -> dict:
        return self.ref("patient", self.record.client.id)

    @property
    def organization_ref(self) -> dict:
        return self.ref("organization", "network")

    def staff(self, user_id: int | None) -> dict | None:
        if user_id is None:
            return None
        return {"display": self.record.staff.get(user_id, f"Staff member {user_id}")}

    @staticmethod
    def identifier(kind: str, record_id: int) -> list[dict]:
        return [{"system": f"urn:kaptracker:{kind}", "value": str(record_id)}]

    def entry(self, kind: str, record_id: int | str, resource: dict) -> dict:
        return {"fullUrl": self.url(kind, record_id), "resource": _prune(resource)}

    # resources --------------------------------------------------------------------------------

    def patient(self) -> dict:
        c = self.record.client
        names = [{"use": "official", "family": c.family_name, "given": [c.given_name]}]
        if c.preferred_name:
            names.append({"use": "usual", "family": c.family_name, "given": [c.preferred_name]})
        telecom = [{"system": "phone", "value": c.phone}]
        if c.email:
            telecom.append({"system": "email", "value": c.email})
        resource = {
            "resourceType": "Patient",
            "identifier": [{
                "use": "usual",
                "type": {"coding": [{"system": IDENTIFIER_TYPE, "code": "MR", "display": "Medical record number"}]},
                "system": self.system,
                "value": c.record_number,
            }],
            "active": True,
            "name": names,
            "telecom": telecom,
            # No gender is stored (pronouns are not a gender), so none is claimed.
            "birthDate": c.date_of_birth.isoformat(),
            "address": [{"text": c.address}] if c.address else None,
            "contact": [{
                "relationship": [{"text": c.emergency_contact_relationship}],
                "name": {"text": c.emergency_contact_name},
                "telecom": [{"system": "phone", "value": c.emergency_contact_phone}],
            }],
            "generalPractitioner": [self.staff(c.therapist_id)],
            "managingOrganization": self.organization_ref,
        }
        return self.entry("patient", c.id, resource)

    def organization(self) -> dict:
        """The clinic network: one Organization, whose sites are the Locations."""
        resource = {
            "resourceType": "Organization",
            "active": True,
            "type": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/organization-type",
                                  "code": "prov", "display": "Healthcare Provider"}]}],
            "name": self.record.clinic_name,
        }
        return self.entry("organization", "network", resource)

    def location(self, site: Site) -> dict:
        identifiers = self.identifier("site", site.id) + [{"system": "urn:kaptracker:site-code", "value": site.code}]
        if site.dea_registration:
            identifiers.append({
                "type": {"coding": [{"system": IDENTIFIER_TYPE, "code": "DEA",
                                     "display": "Drug Enforcement Administration registration number"}],
                         "text": "DEA registration"},
                "system": DEA_SYSTEM,
                "value": site.dea_registration,
            })
        resource = {
            "resourceType": "Location",
            "extension": [{"url": TIMEZONE_EXTENSION, "valueCode": site.time_zone}],
            "identifier": identifiers,
            "status": "active" if site.active else "inactive",
            "name": site.name,
            "mode": "instance",
            "telecom": [{"system": "phone", "value": site.phone, "use": "work"}] if site.phone else None,
            "address": {"text": site.address} if site.address else None,
            "managingOrganization": self.organization_ref,
        }
        return self.entry("site", site.id, resource)

    def episode_of_care(self, course: Course) -> dict:
        resource = {
            "resourceType": "EpisodeOfCare",
            "identifier": self.identifier("course", course.id),
            "status": "active" if course.end_reason is None else "finished",
            "type": [{"text": "Ketamine-assisted psychotherapy course"
                              + (" (discontinued)" if course.end_reason is EndReason.DISCONTINUED else "")}],
            "patient": self.patient_ref,
            "period": {"start": course.started_on.isoformat(),
                       "end": course.ended_on.isoformat() if course.ended_on else None},
        }
        return self.entry("course", course.id, resource)

    def encounter(self, session: ClinicalSession) -> dict:
        start, end = session.occurred_at, None
        finished = session.signed_at is not None
        if isinstance(session, DosingSession):
            start = session.started_at or session.occurred_at
            end = session.discharged_at or session.ended_at
            finished = finished or session.discharged_at is not None
        resource = {
            "resourceType": "Encounter",
            "identifier": self.identifier("clinical-session", session.id),
            "status": "finished" if finished else "in-progress",
            "class": {"system": ACT_CODE, "code": "AMB", "display": "ambulatory"},
            "type": [{"text": session.kind.label}],
            "subject": self.patient_ref,
            "episodeOfCare": [self.ref("course", session.course_id)],
            "participant": [{"individual": self.staff(session.author_id)}],
            "period": {"start": _instant(start), "end": _instant(end)},
            "reasonCode": [{"text": ENCOUNTER_REASONS[session.kind]}],
            "location": [{"location": self.ref("site", session.site_id)}],
        }
        return self.entry("clinical-session", session.id, resource)

    def medication_administration(self, a: Administration) -> dict:
        session = self.sessions[a.session_id]
        route = session.route
        dosage = {
            "text": _dose_text(route, a, session),
            "route": {"coding": [ROUTE_CODES[route]], "text": route.label},
            "dose": {"value": _number(a.dose_mg), "unit": "mg", "system": UCUM, "code": "mg"},
        }
        if a.injection_site is not None:
            dosage["site"] = {"text": a.injection_site.value.replace("_", " ")}
        effective: dict = {"effectiveDateTime": _instant(a.given_at)}
        if route is Route.IV and a.infusion_minutes:
            effective = {"effectivePeriod": {
                "start": _instant(a.given_at),
                "end": _instant(a.given_at + dt.timedelta(minutes=a.infusion_minutes)),
            }}
            dosage["rateQuantity"] = {
                "value": _number((Decimal(a.dose_mg) / a.infusion_minutes).quantize(Decimal("0.01"))),
                "unit": "mg/min", "system": UCUM, "code": "mg/min",
            }
        notes = []
        if session.lot_number:
            expiry = f", expires {session.lot_expiry.isoformat()}" if session.lot_expiry else ""
            notes.append({"text": f"Lot {session.lot_number}{expiry}"})
        if session.dose_reason:
            notes.append({"text": f"Session total outside the usual range: {session.dose_reason}"})
        resource = {
            "resourceType": "MedicationAdministration",
            "identifier": self.identifier("administration", a.id),
            "status": "completed",
            "medicationCodeableConcept": {"coding": [KETAMINE], "text": "Ketamine"},
            "subject": self.patient_ref,
            "context": self.ref("clinical-session", session.id),
            **effective,
            "performer": [{"actor": self.staff(session.administered_by_id or a.recorded_by_id)}],
            "note": notes,
            "dosage": dosage,
        }
        return self.entry("administration", a.id, resource)

    def vital_observations(self, v: VitalSign) -> list[dict]:
        common = {
            "status": "entered-in-error" if v.in_error else "final",
            "category": [{"coding": [{"system": OBSERVATION_CATEGORY, "code": "vital-signs",
                                      "display": "Vital Signs"}]}],
            "subject": self.patient_ref,
            "encounter": self.ref("clinical-session", v.session_id),
            "effectiveDateTime": _instant(v.taken_at),
            "issued": _instant(v.recorded_at),
            "performer": [self.staff(v.recorded_by_id)],
            "note": [{"text": f"Timepoint: {v.timepoint.label}"}]
            + ([{"text": v.note}] if v.note else [])
            + ([{"text": f"Entered in error: {v.error_reason}"}] if v.in_error else []),
        }

        def observation(key: str, body: dict) -> dict:
            resource = {"resourceType": "Observation",
                        "identifier": self.identifier(f"vital-sign-{key}", v.id), **common, **body}
            return self.entry(f"vital-sign-{key}", v.id, resource)

        out = [
            observation("bp", {
                "code": {"coding": [BLOOD_PRESSURE], "text": "Blood pressure"},
                "component": [
                    {"code": {"coding": [SYSTOLIC]}, "valueQuantity": _mmhg(v.systolic)},
                    {"code": {"coding": [DIASTOLIC]}, "valueQuantity": _mmhg(v.diastolic)},
                ],
            }),
            observation("hr", {
                "code": {"coding": [HEART_RATE], "text": "Heart rate"},
                "valueQuantity": {"value": v.heart_rate, "unit": "beats/minute", "system": UCUM,
                                  "code": "/min"},
            }),
        ]
        if v.spo2 is not None:
            out.append(observation("spo2", {
                "code": {"coding": OXYGEN_SATURATION, "text": "SpO2"},
                "valueQuantity": {"value": v.spo2, "unit": "%", "system": UCUM, "code": "%"},
            }))
        return out

    def score_resources(self, s: OutcomeScore) -> list[dict]:
        spec = s.scale.spec
        total_coding, panel = SCALE_CODES[s.scale]
        status = "entered-in-error" if s.in_error else None
        notes = [{"text": s.occasion_label}]
        if s.self_harm_flag:
            notes.append({"text": "Item 9 (thoughts of self-harm) above 0: flagged whatever the total"})
        if s.in_error:
            notes.append({"text": f"Entered in error: {s.error_reason}"})
        response = {
            "resourceType": "QuestionnaireResponse",
            "identifier": self.identifier("outcome-score", s.id)[0],
            "questionnaire": f"http://loinc.org/q/{panel}",
            "status": status or "completed",
            "subject": self.patient_ref,
            "authored": s.completed_on.isoformat(),
            "author": self.staff(s.recorded_by_id),
            "item": [
                {"linkId": str(n), "text": text, "answer": [{"valueInteger": int(answer)}]}
                for n, (text, answer) in enumerate(zip(spec.items, s.answers), start=1)
            ] + [{"linkId": "total", "text": f"{spec.label} total", "answer": [{"valueInteger": s.total}]}],
        }
        observation = {
            "resourceType": "Observation",
            "identifier": self.identifier("outcome-score", s.id),
            "status": status or "final",
            "category": [{"coding": [{"system": OBSERVATION_CATEGORY, "code": "survey",
                                      "display": "Survey"}]}],
            "code": {"coding": [total_coding], "text": f"{spec.label} total"},
            "subject": self.patient_ref,
            "effectiveDateTime": s.completed_on.isoformat(),
            "issued": _instant(s.recorded_at),
            "performer": [self.staff(s.recorded_by_id)],
            "valueInteger": s.total,
            "interpretation": [{"text": s.band}],
            "note": notes,
            "derivedFrom": [self.ref("questionnaire-response", s.id)],
        }
        return [self.entry("questionnaire-response", s.id, response),
                self.entry("outcome-score", s.id, observation)]


def _dose_text(route: Route, a: Administration, session: DosingSession) -> str:
    mg = _plain(a.dose_mg)
    if route is Route.LOZENGE and a.strength_mg and a.count:
        held = f", held {a.hold_minutes} min" if a.hold_minutes else ""
        fate = {True: ", swallowed", False: ", spat"}.get(a.swallowed, "")
        return f"{mg} mg ({_plain(a.count)} x {_plain(a.strength_mg)} mg lozenge{held}{fate})"
    if a.mg_per_kg and session.weight_kg:
        over = f" over {a.infusion_minutes} min" if a.infusion_minutes else ""
        return f"{mg} mg ({_plain(a.mg_per_kg)} mg/kg x {_plain(session.weight_kg)} kg){over}"
    return f"{mg} mg"


def _mmhg(value: int) -> dict:
    return {"value": value, "unit": "mmHg", "system": UCUM, "code": "mm[Hg]"}


def _number(value) -> int | float:
    """A Decimal as a JSON number (FHIR decimals are numbers, never strings)."""
    d = Decimal(str(value))
    return int(d) if d == d.to_integral() else float(d)


def _plain(value) -> str:
    d = Decimal(str(value))
    return str(d.quantize(Decimal(1))) if d == d.to_integral() else format(d.normalize(), "f")


def _instant(value: dt.datetime | None) -> str | None:
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    return value.astimezone(dt.UTC).isoformat(timespec="seconds")


def _prune(value):
    """Drop None, empty lists and empty dicts: FHIR forbids empty elements."""
    if isinstance(value, dict):
        pruned = {k: _prune(v) for k, v in value.items()}
        return {k: v for k, v in pruned.items() if v not in (None, [], {}, "")}
    if isinstance(value, list):
        pruned = [_prune(v) for v in value]
        return [v for v in pruned if v not in (None, [], {}, "")]
    return value
