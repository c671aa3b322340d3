"""The rows of the CSV exports, read in a fixed number of queries whatever the caseload's size."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import joinedload

from ..extensions import db
from ..models import Client, ClinicalSession, Course, SafetyAlert, User, VitalSign
from ..templating import localtime

CSV_TIME = "%Y-%m-%d %H:%M"

CASELOAD_HEADER = (
    "Record number", "Client", "Therapist", "Status", "Course phase", "Planned route",
    "Medicine sessions given", "Medicine sessions planned", "Last contact (clinic time)",
    "Open safety alerts",
)

VITALS_HEADER = (
    "Session id", "Session date", "Session kind", "Taken at (clinic time)", "Timepoint",
    "Systolic (mmHg)", "Diastolic (mmHg)", "Heart rate (/min)", "SpO2 (%)", "Recorded by",
    "Entered in error", "Error reason",
)


def caseload(scope) -> tuple[list[Client], list[tuple]]:
    """The clients in ``scope`` (a client clause) and one row each: three queries."""
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
    return clients, [_caseload_row(client, courses.get(client.id, []), alerts.get(client.id, 0))
                     for client in clients]


def _caseload_row(client: Client, theirs: list[Course], open_alerts: int) -> tuple:
    # The open course; else the latest one; else none.
    current = next((c for c in theirs if c.is_open), theirs[-1] if theirs else None)
    contacts = [c.last_contact_at for c in theirs if c.last_contact_at is not None]
    return (
        client.record_number,
        client.full_name,
        client.therapist.name,
        client.status.label,
        current.phase.label if current else "",
        current.planned_route.label if current else "",
        current.medicine_given if current else "",
        current.planned_medicine_sessions if current else "",
        localtime(max(contacts), CSV_TIME) if contacts else "",
        open_alerts,
    )


def course_vitals(course: Course) -> tuple[list[tuple], int]:
    """Every reading of every session of the course, readings marked in error included (and
    flagged), in the order they were taken, and the number of sessions they come from: one query."""
    readings = db.session.execute(
        select(VitalSign, ClinicalSession.occurred_at, ClinicalSession.kind, User.name)
        .join(ClinicalSession, VitalSign.session_id == ClinicalSession.id)
        .join(User, VitalSign.recorded_by_id == User.id)
        .where(ClinicalSession.course_id == course.id)
        .order_by(ClinicalSession.occurred_at, ClinicalSession.id, VitalSign.taken_at, VitalSign.id)
    ).all()
    rows = [
        (v.session_id, localtime(occurred_at, "%Y-%m-%d"), kind.label, localtime(v.taken_at, CSV_TIME),
         v.timepoint.label, v.systolic, v.diastolic, v.heart_rate, v.spo2, recorded_by, v.in_error,
         v.error_reason)
        for v, occurred_at, kind, recorded_by in readings
    ]
    return rows, len({v.session_id for v, *_ in readings})
