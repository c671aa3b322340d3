"""Integrity kept by the database itself: raw SQL that bypasses the app (a bug in a view, a
hand-typed query) is refused for everything that must always hold. Each refused statement has a
control that the database accepts, so a refusal is the rule's and not a typo's."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from conftest import PASSWORD
from kaptracker.ops import demo
from kaptracker.extensions import db
from kaptracker.models import AuditAction, ClinicalSession, DosingSession, PreparationSession
from kaptracker.auditing import record

pytestmark = pytest.mark.filterwarnings("ignore::ResourceWarning")


def _ids():
    """Rows of the demo clinic to aim at."""
    q = lambda sql: db.session.scalar(sa.text(sql))  # noqa: E731
    signed = db.session.scalar(sa.select(PreparationSession.id).where(PreparationSession.signed_at.is_not(None)).limit(1))
    open_dosing = db.session.scalar(sa.select(DosingSession.id).where(DosingSession.signed_at.is_(None),
                                                                      DosingSession.discharged_at.is_(None)).limit(1))
    signed_dosing = db.session.scalar(sa.select(DosingSession.id).where(DosingSession.signed_at.is_not(None)).limit(1))
    unsigned = db.session.scalar(sa.select(ClinicalSession.id).where(ClinicalSession.signed_at.is_(None)).limit(1))
    return {
        "signed": signed, "open_dosing": open_dosing, "signed_dosing": signed_dosing, "unsigned": unsigned,
        "medical": q("SELECT id FROM \"user\" WHERE role = 'medical' ORDER BY id LIMIT 1"),
        "therapist": q("SELECT therapist_id FROM client ORDER BY id LIMIT 1"),
        "client": q("SELECT min(id) FROM client"), "course": q("SELECT min(id) FROM course"),
        "reading": q("SELECT min(id) FROM vital_sign"), "addendum": q("SELECT min(id) FROM addendum"),
        "override": q("SELECT min(id) FROM safety_override"), "alert": q("SELECT min(id) FROM safety_alert"),
        "first_email": q("SELECT email FROM \"user\" ORDER BY id LIMIT 1"),
        "second_user": q("SELECT id FROM \"user\" ORDER BY id LIMIT 1 OFFSET 1"),
        "screened_course": q("SELECT min(s.course_id) FROM clinical_session s JOIN course c ON c.id = s.course_id "
                             "WHERE s.kind = 'screening' AND c.end_reason IS NULL"),
    }


NOW = "CURRENT_TIMESTAMP"


def _reading(session: str, systolic: int, diastolic: int) -> str:
    return ("INSERT INTO vital_sign (session_id, taken_at, timepoint, systolic, diastolic, heart_rate, "
            f"recorded_by_id, recorded_at) VALUES ({{{session}}}, {NOW}, 'during', {systolic}, {diastolic}, 70, "
            f"{{medical}}, {NOW})")


def _session(course: str, kind: str) -> str:
    # Every session is held at a site (NOT NULL since migration 0013): the default site here.
    return ("INSERT INTO clinical_session (course_id, kind, occurred_at, author_id, note, created_at, "
            f"updated_at, version, site_id) VALUES ({{{course}}}, '{kind}', {NOW}, {{therapist}}, '', {NOW}, {NOW}, 1,"
            " (SELECT min(id) FROM site))")


# (rule, statement refused, control statement accepted or None)
CASES = [
    ("foreign key: a client's therapist exists",
     "UPDATE client SET therapist_id = 999999 WHERE id = {client}",
     "UPDATE client SET therapist_id = {therapist} WHERE id = {client}"),
    ("foreign key: a course's client exists",
     "UPDATE course SET client_id = 999999 WHERE id = {course}",
     "UPDATE course SET client_id = client_id WHERE id = {course}"),
    ("foreign key: no staff account deleted from under its records",
     "DELETE FROM \"user\" WHERE id = {therapist}", None),
    ("unique: sign-in email",
     "UPDATE \"user\" SET email = '{first_email}' WHERE id = {second_user}",
     "UPDATE \"user\" SET email = 'unique-check@clinic.example.org' WHERE id = {second_user}"),
    ("unique: record number",
     "UPDATE client SET record_number = 'KAP-1002' WHERE record_number = 'KAP-1001'",
     "UPDATE client SET record_number = 'KAP-9999' WHERE record_number = 'KAP-1001'"),
    ("check: systolic above diastolic",
     _reading("open_dosing", 80, 90), _reading("open_dosing", 120, 80)),
    ("check: systolic equal to diastolic is refused too",
     _reading("open_dosing", 90, 90), None),
    ("check: readings in a plausible range",
     _reading("open_dosing", 400, 80), None),
    ("check: signed together (no signature without a signer)",
     "UPDATE clinical_session SET signed_at = CURRENT_TIMESTAMP WHERE id = {unsigned}",
     "UPDATE clinical_session SET note = 'draft edited' WHERE id = {unsigned}"),
    ("unique: one screening per course",
     _session("screened_course", "screening"), _session("screened_course", "preparation")),
    ("trigger: a signed note's text never changes",
     "UPDATE clinical_session SET note = note || ' (changed)' WHERE id = {signed}",
     "UPDATE clinical_session SET version = version + 1 WHERE id = {signed}"),
    ("trigger: a signed note's signature never changes",
     "UPDATE clinical_session SET signed_by_id = {medical} WHERE id = {signed}", None),
    ("trigger: a signed session is never deleted",
     "DELETE FROM clinical_session WHERE id = {signed}", None),
    ("trigger: a signed session's details never change",
     "UPDATE preparation_session SET intentions = 'changed' WHERE id = {signed}", None),
    ("trigger: no dose added to a signed medicine session",
     "INSERT INTO administration (session_id, given_at, dose_mg, recorded_by_id) "
     "VALUES ({signed_dosing}, CURRENT_TIMESTAMP, 50, {medical})", None),
    ("trigger: no reading added to a signed medicine session",
     _reading("signed_dosing", 120, 80), None),
    ("trigger: addenda are append-only (no edit)",
     "UPDATE addendum SET text = 'changed' WHERE id = {addendum}", None),
    ("trigger: addenda are append-only (no delete)",
     "DELETE FROM addendum WHERE id = {addendum}", None),
    ("trigger: a reading's measurements never change",
     "UPDATE vital_sign SET systolic = systolic + 1 WHERE id = {reading}", None),
    ("trigger: readings are never deleted",
     "DELETE FROM vital_sign WHERE id = {reading}", None),
    ("trigger: overrides are append-only",
     "UPDATE safety_override SET reason = 'changed' WHERE id = {override}", None),
    ("trigger: alerts are never deleted",
     "DELETE FROM safety_alert WHERE id = {alert}", None),
    ("trigger: the audit trail is append-only (no edit)",
     "UPDATE audit_event SET detail = 'changed'", None),
    ("trigger: the audit trail is append-only (no delete)",
     "DELETE FROM audit_event", None),
]


def test_the_database_refuses_what_must_never_happen(app):
    demo.seed(PASSWORD)
    record(AuditAction.VIEW, "client", 1, client_id=None, detail="integrity test")
    db.session.commit()
    ids = _ids()
    assert all(v is not None for v in ids.values()), ids
    accepted = []
    for rule, statement, control in CASES:
        try:
            with db.engine.begin() as conn:
                conn.execute(sa.text(statement.format(**ids)))
        except sa.exc.DatabaseError:
            pass
        else:
            accepted.append(rule)
        if control is not None:
            with db.engine.begin() as conn:  # the same statement, within the rule, is accepted
                conn.execute(sa.text(control.format(**ids)))
    assert accepted == [], f"the {db.engine.dialect.name} database accepted: {accepted}"
    # Nothing refused left a trace.
    assert db.session.scalar(sa.text("SELECT count(*) FROM vital_sign WHERE systolic <= diastolic")) == 0
