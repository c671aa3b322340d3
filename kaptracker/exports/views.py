"""Export routes. Each reads in a fixed number of queries, audits what it exported (ids and
counts, never names), commits, then answers with an attachment."""

from __future__ import annotations

import json

from flask import Response, current_app, url_for
from flask_login import current_user
from sqlalchemy import func, insert, select
from sqlalchemy.orm import joinedload

from . import fhir
from .. import disclosures
from ..access import client_scope_clause, get_client_for, get_course_for, requires
from ..auditing import record
from ..extensions import db
from ..models import (
    AuditAction,
    AuditEvent,
    Client,
    ClinicalSession,
    Course,
    SafetyAlert,
    User,
    VitalSign,
    utcnow,
)
from ..rules.access import Permission
from .. import clock
from ..templating import localtime
from . import bp
from .tables import csv_text, filename_part

CSV_TIME = "%Y-%m-%d %H:%M"


def attachment(body: str, filename: str, mimetype: str) -> Response:
    response = Response(body, mimetype=mimetype)
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


@bp.route("/clients/<int:client_id>/fhir", methods=["GET", "POST"])
@requires(Permission.EXPORT_RECORDS)
def client_fhir(client_id: int):
    """The client's whole record as a FHIR R4 Bundle (JSON), for moving it to another system."""
    client = get_client_for(current_user, client_id)
    purpose, page = disclosures.purpose_or_page(
        title="Export the whole record (FHIR R4)", client=client,
        what="Every course, session, dose, reading and score of this client as one FHIR R4 bundle "
             "(JSON), to move the record to another system.",
        back_url=url_for("clients.show", client_id=client.id))
    if page:
        return page
    loaded = fhir.load_client_record(client)
    bundle = fhir.client_bundle(
        loaded,
        now=utcnow(),
        record_number_system=current_app.config.get("FHIR_RECORD_NUMBER_SYSTEM")
        or fhir.RECORD_NUMBER_SYSTEM,
    )
    counts = fhir.resource_counts(bundle)
    what = "FHIR R4 bundle: " + ", ".join(f"{n} {kind}" for kind, n in counts.items())
    record(AuditAction.EXPORT, "client", client.id, client_id=client.id, detail=f"{what}; purpose {purpose.code}")
    disclosures.disclose("fhir_bundle", client_id=client.id, purpose=purpose.code,
                         recipient=purpose.recipient, record_type="client",
                         record_id=client.id, what=what)
    db.session.commit()
    return attachment(
        json.dumps(bundle, ensure_ascii=False, indent=1),
        f"record-{filename_part(client.record_number)}-fhir-r4.json",
        "application/fhir+json",
    )


CASELOAD_HEADER = (
    "Record number", "Client", "Therapist", "Status", "Course phase", "Planned route",
    "Medicine sessions given", "Medicine sessions planned", "Last contact (clinic time)",
    "Open safety alerts",
)


@bp.route("/exports/caseload.csv", methods=["GET", "POST"])
@requires(Permission.EXPORT_RECORDS)
def caseload_csv():
    """One row per client in the user's scope: three queries whatever the caseload's size."""
    purpose, page = disclosures.purpose_or_page(
        title="Download the caseload (CSV)",
        what="One row per client you can see: record number, name, therapist, status, course and last contact.",
        back_url=url_for("clients.index"))
    if page:
        return page
    scope = client_scope_clause(current_user)
    clients = db.session.scalars(
        select(Client).where(scope).options(joinedload(Client.therapist))
        .order_by(Client.family_name, Client.given_name, Client.id)
    ).all()
    courses: dict[int, list[Course]] = {}
    for course in db.session.scalars(
        select(Course).join(Client, Course.client_id == Client.id).where(scope)
        .order_by(Course.started_on, Course.id)
    ):
        courses.setdefault(course.client_id, []).append(course)
    alerts = dict(db.session.execute(
        select(Course.client_id, func.count(SafetyAlert.id))
        .join(Client, Course.client_id == Client.id)
        .join(ClinicalSession, ClinicalSession.course_id == Course.id)
        .join(SafetyAlert, SafetyAlert.session_id == ClinicalSession.id)
        .where(scope, SafetyAlert.open_clause())
        .group_by(Course.client_id)
    ).all())

    rows = []
    for client in clients:
        theirs = courses.get(client.id, [])
        # The open course; else the latest one; else none.
        current = next((c for c in theirs if c.is_open), theirs[-1] if theirs else None)
        contacts = [c.last_contact_at for c in theirs if c.last_contact_at is not None]
        rows.append((
            client.record_number,
            client.full_name,
            client.therapist.name,
            client.status.label,
            current.phase.label if current else "",
            current.planned_route.label if current else "",
            current.medicine_given if current else "",
            current.planned_medicine_sessions if current else "",
            localtime(max(contacts), CSV_TIME) if contacts else "",
            alerts.get(client.id, 0),
        ))

    # The summary, and one event per client so each client's own trail shows the export: one
    # multi-row INSERT whatever the caseload (the ORM would send one INSERT per event).
    summary = record(AuditAction.EXPORT, "caseload", detail=f"caseload CSV: {len(rows)} clients; purpose {purpose.code}")
    if clients:
        db.session.execute(insert(AuditEvent), [
            {"at": utcnow(), "user_id": current_user.id, "action": AuditAction.EXPORT,
             "record_type": "client", "record_id": client.id, "client_id": client.id,
             "ip": summary.ip, "route": summary.route, "detail": f"row of a caseload CSV; purpose {purpose.code}"}
            for client in clients
        ])
    disclosures.disclose_many("caseload_csv", (c.id for c in clients), purpose=purpose.code,
                              recipient=purpose.recipient, record_type="client",
                              what=f"one row of a caseload CSV of {len(rows)} clients")
    db.session.commit()
    today = clock.today()
    return attachment(csv_text(CASELOAD_HEADER, rows), f"caseload-{today.isoformat()}.csv", "text/csv")


VITALS_HEADER = (
    "Session id", "Session date", "Session kind", "Taken at (clinic time)", "Timepoint",
    "Systolic (mmHg)", "Diastolic (mmHg)", "Heart rate (/min)", "SpO2 (%)", "Recorded by",
    "Entered in error", "Error reason",
)


@bp.route("/courses/<int:course_id>/vitals.csv", methods=["GET", "POST"])
@requires(Permission.EXPORT_VITALS)
def course_vitals_csv(course_id: int):
    """Every reading of every session of the course, readings marked in error included (and
    flagged), in the order they were taken: one query for the readings."""
    course = get_course_for(current_user, course_id)
    purpose, page = disclosures.purpose_or_page(
        title="Download the vitals of this course (CSV)", course=course,
        what="Every reading of every session of the course, readings marked in error included.",
        back_url=url_for("courses.show", course_id=course.id))
    if page:
        return page
    readings = db.session.execute(
        select(VitalSign, ClinicalSession.occurred_at, ClinicalSession.kind, User.name)
        .join(ClinicalSession, VitalSign.session_id == ClinicalSession.id)
        .join(User, VitalSign.recorded_by_id == User.id)
        .where(ClinicalSession.course_id == course.id)
        .order_by(ClinicalSession.occurred_at, ClinicalSession.id, VitalSign.taken_at, VitalSign.id)
    ).all()
    rows = [
        (
            v.session_id,
            localtime(occurred_at, "%Y-%m-%d"),
            kind.label,
            localtime(v.taken_at, CSV_TIME),
            v.timepoint.label,
            v.systolic,
            v.diastolic,
            v.heart_rate,
            v.spo2,
            recorded_by,
            v.in_error,
            v.error_reason,
        )
        for v, occurred_at, kind, recorded_by in readings
    ]
    sessions = len({v.session_id for v, *_ in readings})
    what = f"vitals CSV of course {course.id}: {len(rows)} readings of {sessions} sessions"
    record(AuditAction.EXPORT, "course", course.id, client_id=course.client_id, detail=f"{what}; purpose {purpose.code}")
    disclosures.disclose("vitals_csv", client_id=course.client_id, purpose=purpose.code,
                         recipient=purpose.recipient, record_type="course",
                         record_id=course.id, what=what)
    db.session.commit()
    return attachment(csv_text(VITALS_HEADER, rows), f"course-{course.id}-vitals.csv", "text/csv")
