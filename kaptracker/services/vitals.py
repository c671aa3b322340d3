"""Vitals commands: record a reading, mark one entered in error, acknowledge an alert, record a
safety override. Each command reads the session through the record (``reading.session``,
``alert.session``): the view has loaded it through kaptracker.access, so no query is repeated."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence

from ..auditing import record
from ..extensions import db
from ..models import (AuditAction, ClinicalSession, DosingSession, OverrideKind, SafetyAlert, SafetyOverride,
                      VitalSign, utcnow)
from ..rules import vitals as rules
from ..rules.access import Permission, may_write
from ..vitals import service
from ..vitals.service import writable
from .. import clock
from . import Outcome, created
from .once import NO_ERRORS, do_once, form_problems, in_error, refusal

# A reading typed in later may be from before the session's recorded start, not from another day.
READING_WINDOW = dt.timedelta(hours=2)
TOO_EARLY = "This is more than 2 hours before the session started: check the date and time."
CLOSED = "This session is signed or its course has ended"

Errors = Mapping[str, Sequence[str]]


def _may(user, clinical: ClinicalSession, permission: Permission) -> bool:
    return may_write(user.role, user_id=user.id, therapist_id=clinical.course.client.therapist_id,
                     permission=permission)


def taken_at(data: Mapping) -> dt.datetime:
    """The instant ``data["taken_at"]`` names: clinic wall time as typed into the form, or (from a
    script or a test) an aware instant, taken as it is."""
    value = data["taken_at"]
    return value.astimezone(dt.UTC) if value.tzinfo is not None else clock.local_to_utc(value)


def reading_problems(clinical: ClinicalSession, data: Mapping, form_errors: Errors = NO_ERRORS) -> dict[str, list[str]]:
    """The form's problems, then what the rules find in the values it accepted: an implausible
    number (a typing error) and a time more than :data:`READING_WINDOW` before the session."""
    problems = form_problems(form_errors)
    found = rules.plausibility_problems(data.get("systolic"), data.get("diastolic"), data.get("heart_rate"),
                                        data.get("spo2"))
    for name, message in found.items():
        problems.setdefault(name, [message])  # "enter a whole number" already says it
    if (data.get("taken_at") and "taken_at" not in problems
            and taken_at(data) < clinical.occurred_at - READING_WINDOW):
        problems["taken_at"] = [TOO_EARLY]
    return problems


def record_reading(clinical: ClinicalSession, data: Mapping, user, *, form_errors: Errors = NO_ERRORS) -> Outcome:
    """Record a reading (taken at ``data["taken_at"]``: :func:`taken_at`) and raise an alert for
    every finding the session's readings now justify. ``form_errors``: the form's own problems,
    sent back with the rules' (and nothing written)."""
    if not _may(user, clinical, Permission.RECORD_VITALS):
        return refusal("Only medical staff record vitals.")
    if not writable(clinical):
        return refusal(f"{CLOSED}: no more readings can be added.")
    problems = reading_problems(clinical, data, form_errors)
    if problems:
        return Outcome(problems=problems, record=clinical, category="error")
    reading = VitalSign(
        session_id=clinical.id, taken_at=taken_at(data),
        timepoint=rules.Timepoint(data["timepoint"]), systolic=data["systolic"], diastolic=data["diastolic"],
        heart_rate=data["heart_rate"], spo2=data.get("spo2"), note=data.get("note"), recorded_by_id=user.id,
    )
    db.session.add(reading)
    db.session.flush()
    alerts = service.record_alerts(clinical, service.readings_of(clinical))
    record(AuditAction.CREATE, "vitals", reading.id, client_id=clinical.course.client_id, user=user,
           detail=f"session {clinical.id}" + (f"; {len(alerts)} alert(s) raised" if alerts else ""))
    db.session.commit()
    if alerts:
        return Outcome(record=reading, category="error",
                       message=f"Reading saved. {len(alerts)} safety alert(s): see below and acknowledge.")
    return Outcome(record=reading,
                   message=f"Reading saved: {reading.systolic}/{reading.diastolic}, pulse {reading.heart_rate}.")


def mark_in_error(reading: VitalSign, data: Mapping, user, *, form_errors: Errors = NO_ERRORS) -> Outcome:
    """Mark ``reading`` entered in error with ``data["error_reason"]`` (once). The rules then look
    again at the readings that remain, in the order they were taken: alerts resting on this one
    are withdrawn, and what the others justify is raised."""
    clinical = reading.session
    if not _may(user, clinical, Permission.RECORD_VITALS):
        return refusal("Only medical staff correct vitals.")
    if not writable(clinical):
        return refusal(f"{CLOSED}: its readings can no longer change.")
    return do_once(
        reading, VitalSign.entered_in_error_at,
        in_error(data, user),
        already="This reading is already marked entered in error.",
        lost="Someone else marked this reading entered in error a moment before you; your reason was not saved.",
        form_errors=form_errors, then=lambda: _after_in_error(clinical, reading, user),
    )


def _after_in_error(clinical: ClinicalSession, reading: VitalSign, user) -> Outcome:
    vitals = service.readings_of(clinical)
    withdrawn = service.withdraw_alerts(clinical, reading, vitals)
    raised = service.record_alerts(clinical, vitals)
    detail = "entered in error"
    if withdrawn:
        detail += f"; {len(withdrawn)} alert(s) withdrawn"
    if raised:
        detail += f"; {len(raised)} alert(s) raised"
    record(AuditAction.UPDATE, "vitals", reading.id, client_id=clinical.course.client_id, detail=detail, user=user)
    return Outcome(
        record=reading, category="error" if raised else "success",
        message="Marked entered in error. Enter the correct reading."
        + (f" {len(withdrawn)} alert(s) resting on it withdrawn." if withdrawn else "")
        + (f" {len(raised)} safety alert(s) from the other readings: see below and acknowledge." if raised else ""),
    )


def acknowledge(alert: SafetyAlert, data: Mapping, user, *, form_errors: Errors = NO_ERRORS) -> Outcome:
    """Acknowledge ``alert`` with ``data["acknowledgement_note"]`` (once; not a withdrawn one)."""
    clinical = alert.session
    if not _may(user, clinical, Permission.ACKNOWLEDGE_ALERT):
        return refusal("Only medical staff and supervisors acknowledge safety alerts.")
    if alert.withdrawn_at is not None:
        return refusal(f"This alert was withdrawn: {alert.withdrawn_reason}", category="info")

    alert_id, rule = alert.id, alert.rule  # read before the write expires the alert

    def acknowledged() -> Outcome:
        record(AuditAction.UPDATE, "alert", alert_id, client_id=clinical.course.client_id,
               detail=f"acknowledged {rule}", user=user)
        return Outcome(record=alert, message="Alert acknowledged.")

    return do_once(
        alert, SafetyAlert.acknowledged_at,
        dict(acknowledged_at=utcnow(), acknowledged_by_id=user.id,
             acknowledgement_note=data.get("acknowledgement_note")),
        still_unset=(SafetyAlert.withdrawn_at,), already="This alert was already acknowledged.",
        lost=_acknowledgement_lost, form_errors=form_errors, then=acknowledged,
    )


def _acknowledgement_lost(alert: SafetyAlert) -> str:
    if alert.withdrawn_at is not None:
        return (f"This alert was withdrawn a moment before you acknowledged it: {alert.withdrawn_reason} "
                "Your note was not saved.")
    return "Someone else acknowledged this alert a moment before you; your note was not saved."


def override_findings(clinical: DosingSession, kind: OverrideKind) -> tuple[list[rules.Finding], str | None]:
    """The findings an override of ``kind`` would go ahead against now, or why there is none to
    override."""
    vitals, overrides = service.readings_of(clinical), service.overrides_of(clinical)
    if kind is OverrideKind.DOSE_HOLD:
        findings = service.dose_gate(clinical, vitals, overrides).blocking
        if any(f.rule == "baseline_missing" for f in findings):
            return [], "No baseline reading: take one first. A missing baseline cannot be overridden."
    else:
        findings = service.discharge_gate(clinical, vitals, [], utcnow())[0]
    return findings, None if findings else "Nothing to override: no rule blocks this step now."


def add_override(clinical: DosingSession, data: Mapping, user, *, form_errors: Errors = NO_ERRORS) -> Outcome:
    """Go ahead against the safety rules blocking a dose or discharge now, with the clinical
    reason (``data["kind"]``, ``data["reason"]``)."""
    if not _may(user, clinical, Permission.OVERRIDE_SAFETY):
        return refusal("Only medical staff override a safety rule.")
    if not writable(clinical):
        return refusal(f"{CLOSED}.")
    if problems := form_problems(form_errors):
        return Outcome(problems=problems, record=clinical, category="error")
    kind = OverrideKind(data["kind"])
    findings, problem = override_findings(clinical, kind)
    if problem:
        return refusal(problem, field="kind", record=clinical)
    override = SafetyOverride(session_id=clinical.id, kind=kind, reason=data["reason"],
                              rules=",".join(f.rule for f in findings), created_by_id=user.id)
    return created(override, user, audit_as="override", client_id=clinical.course.client_id,
                   detail=f"{kind.value}: {override.rules}", message=f"Override recorded: {kind.label.lower()}.")


__all__ = ["READING_WINDOW", "acknowledge", "add_override", "mark_in_error", "record_reading"]
