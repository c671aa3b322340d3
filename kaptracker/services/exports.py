"""Export commands: what leaves the tracker is recorded (an audit event with ids and counts,
never names, and a disclosure per client for the accounting of disclosures), then committed,
before the view answers with the attachment."""

from __future__ import annotations

from sqlalchemy import insert

from ..auditing import record
from ..disclosures import Purpose, disclose, disclose_many
from ..extensions import db
from ..models import AuditAction, AuditEvent, Client, Course, utcnow


def fhir_bundle(client: Client, counts: dict[str, int], purpose: Purpose, user) -> None:
    """Record the export of the client's whole record as a FHIR bundle of ``counts`` resources."""
    what = "FHIR R4 bundle: " + ", ".join(f"{n} {kind}" for kind, n in counts.items())
    record(AuditAction.EXPORT, "client", client.id, client_id=client.id,
           detail=f"{what}; purpose {purpose.code}", user=user)
    disclose("fhir_bundle", client_id=client.id, purpose=purpose.code, recipient=purpose.recipient,
             record_type="client", record_id=client.id, what=what, user=user)
    db.session.commit()


def caseload(clients: list[Client], purpose: Purpose, user) -> None:
    """Record a caseload CSV of ``clients``: the summary, and one event per client so each client's
    own trail shows the export, in one multi-row INSERT whatever the caseload (the ORM would send
    one INSERT per event)."""
    summary = record(AuditAction.EXPORT, "caseload",
                     detail=f"caseload CSV: {len(clients)} clients; purpose {purpose.code}", user=user)
    if clients:
        db.session.execute(insert(AuditEvent), [
            {"at": utcnow(), "user_id": user.id, "action": AuditAction.EXPORT,
             "record_type": "client", "record_id": client.id, "client_id": client.id,
             "ip": summary.ip, "route": summary.route, "detail": f"row of a caseload CSV; purpose {purpose.code}"}
            for client in clients
        ])
    disclose_many("caseload_csv", (c.id for c in clients), purpose=purpose.code,
                  recipient=purpose.recipient, record_type="client",
                  what=f"one row of a caseload CSV of {len(clients)} clients", user=user)
    db.session.commit()


def course_vitals(course: Course, readings: int, sessions: int, purpose: Purpose, user) -> None:
    """Record a vitals CSV of the course's ``readings`` readings from ``sessions`` sessions."""
    what = f"vitals CSV of course {course.id}: {readings} readings of {sessions} sessions"
    record(AuditAction.EXPORT, "course", course.id, client_id=course.client_id,
           detail=f"{what}; purpose {purpose.code}", user=user)
    disclose("vitals_csv", client_id=course.client_id, purpose=purpose.code, recipient=purpose.recipient,
             record_type="course", record_id=course.id, what=what, user=user)
    db.session.commit()
