"""Between stored readings and the pure rules of kaptracker.rules.vitals."""

from __future__ import annotations

import dataclasses
import datetime as dt

from sqlalchemy import func, select
from sqlalchemy.orm import joinedload

from .. import clock, settings
from ..auditing import set_once
from ..extensions import db
from ..models import (
    ClinicalSession,
    Course,
    DosingSession,
    OverrideKind,
    SafetyAlert,
    SafetyOverride,
    VitalSign,
    utcnow,
)
from ..rules import vitals as rules
from ..rules.vitals import Finding, Level, Thresholds, Timepoint


def writable(clinical: ClinicalSession) -> bool:
    """Readings and overrides are added while the course is open and the note is not signed."""
    return clinical.course.is_open and not clinical.is_signed


def readings_of(clinical: ClinicalSession) -> list[VitalSign]:
    # The recorder is shown beside each reading: loaded here, not once per member of staff.
    return list(db.session.scalars(
        select(VitalSign).where(VitalSign.session_id == clinical.id)
        .options(joinedload(VitalSign.recorded_by))
        .order_by(VitalSign.taken_at, VitalSign.id)
    ))


def _zone():
    return clock.clinic_zone()


def _local(moment: dt.datetime | None, zone=None) -> dt.datetime | None:
    """Times handed to the rules are in the clinic's zone, so the times their messages quote
    match the times on the page; ``clock.on_wall`` keeps their gaps and order true on a DST day."""
    return clock.on_wall(moment, zone or _zone()) if moment is not None else None


def as_rule_readings(vitals: list[VitalSign]) -> list[rules.Reading]:
    """The readings the rules see: everything not entered in error, in the order they were
    taken (``taken_at``), whatever order they were typed in or handed over (entry order, the id,
    breaks only a tie of the same minute)."""
    zone = _zone()
    return [
        rules.Reading(v.id, _local(v.taken_at, zone), v.timepoint, v.systolic, v.diastolic, v.heart_rate, v.spo2)
        for v in sorted(vitals, key=lambda v: (v.taken_at, v.id or 0)) if not v.in_error
    ]


def thresholds_at(moment: dt.datetime, site_id: int | None = None) -> Thresholds:
    """The thresholds in force at ``moment`` at the site ``site_id`` (a session's: where its
    readings are taken), else the request's (a later settings change does not rewrite history)."""
    return Thresholds.from_settings(settings.at(moment, site_id))


def thresholds_now(site_id: int | None = None) -> Thresholds:
    """The thresholds in force now at ``site_id`` (else the request's site)."""
    return Thresholds.from_settings(settings.current(site_id))


def baseline(readings: list[rules.Reading], before: dt.datetime | None = None) -> rules.Reading | None:
    """The latest baseline reading by the time it was taken (before the first dose, when there
    is one), whatever the order of ``readings``."""
    candidates = [r for r in readings if r.timepoint is Timepoint.BASELINE and (before is None or r.taken_at <= before)]
    return max(reversed(candidates), key=lambda r: r.taken_at) if candidates else None  # a tie: the last given


@dataclasses.dataclass
class DoseTimes:
    first_dose_at: dt.datetime | None
    last_dose_at: dt.datetime | None
    infusion_ends_at: dt.datetime | None


def dose_times(session: DosingSession) -> DoseTimes:
    given = sorted(a.given_at for a in session.administrations)
    ends = [a.given_at + dt.timedelta(minutes=a.infusion_minutes) for a in session.administrations
            if a.infusion_minutes]
    zone = _zone()
    return DoseTimes(_local(given[0], zone) if given else None, _local(given[-1], zone) if given else None,
                     _local(max(ends), zone) if ends else None)


def overrides_of(clinical: ClinicalSession) -> list[SafetyOverride]:
    return list(db.session.scalars(
        select(SafetyOverride).where(SafetyOverride.session_id == clinical.id)
        .options(joinedload(SafetyOverride.created_by)).order_by(SafetyOverride.created_at)
    ))


def _override_after(overrides, kind: OverrideKind, moment: dt.datetime | None) -> SafetyOverride | None:
    matching = [o for o in overrides if o.kind is kind and (moment is None or o.created_at >= moment)]
    return matching[-1] if matching else None


def current_findings(readings: list[rules.Reading], site_id: int | None = None) -> list[Finding]:
    """What the readings (not in error, in time order) justify: the clinical rules and the latest
    baseline's, with the thresholds in force at the session's site ``site_id`` when the newest
    reading was taken."""
    if not readings:
        return []
    t = thresholds_at(max(r.taken_at for r in readings), site_id)
    findings = list(rules.session_findings(readings, t))
    base = baseline(readings)
    if base is not None:
        findings += [f for f in rules.baseline_findings(base, t) if f.rule != "baseline_missing"]
    return findings


def record_alerts(clinical: ClinicalSession, vitals: list[VitalSign]) -> list[SafetyAlert]:
    """Store an alert for every finding not stored yet (among the alerts not withdrawn). Each
    alert keeps the message it was raised with, and the readings it rests on."""
    findings = current_findings(as_rule_readings(vitals), clinical.site_id)
    if not findings:
        return []
    existing = {
        (a.rule, a.vital_sign_id)
        for a in db.session.scalars(select(SafetyAlert).where(SafetyAlert.session_id == clinical.id,
                                                              SafetyAlert.withdrawn_at.is_(None)))
    }
    new = []
    for finding in findings:
        if (finding.rule, finding.reading_id) in existing:
            continue
        alert = SafetyAlert(session_id=clinical.id, vital_sign_id=finding.reading_id, rule=finding.rule,
                            paired_vital_sign_id=finding.paired_reading_id,
                            level=finding.level, message=finding.message)
        db.session.add(alert)
        existing.add((finding.rule, finding.reading_id))
        new.append(alert)
    return new


def withdrawal_reason(reading: VitalSign) -> str:
    return (f"The reading {reading.systolic}/{reading.diastolic}, heart rate {reading.heart_rate} at "
            f"{_local(reading.taken_at):%H:%M} was marked entered in error ({reading.error_reason}).")


def withdraw_alerts(clinical: ClinicalSession, reading: VitalSign, vitals: list[VitalSign]) -> list[SafetyAlert]:
    """After ``reading`` was marked entered in error: withdraw every alert that rests on it (as
    the reading that fired it, or as the first of its pair), then raise what the remaining
    readings justify (``record_alerts``). Returns the alerts withdrawn.

    An alert of a paired rule stored before pairs were recorded (no ``paired_vital_sign_id``)
    is withdrawn when the remaining readings no longer justify it. Acknowledged alerts are
    withdrawn too, so the history says they no longer stand. Each withdrawal is done once
    (``set_once``): an alert withdrawn or acknowledged by someone else meanwhile is left as is.
    """
    justified = {(f.rule, f.reading_id) for f in current_findings(as_rule_readings(vitals), clinical.site_id)}
    alerts = db.session.scalars(select(SafetyAlert).where(SafetyAlert.session_id == clinical.id,
                                                          SafetyAlert.withdrawn_at.is_(None))).all()
    reason, now = withdrawal_reason(reading), utcnow()
    withdrawn = []
    for alert in alerts:
        rests_on = reading.id in (alert.vital_sign_id, alert.paired_vital_sign_id)
        unpaired = (alert.rule in rules.PAIRED_RULES and alert.paired_vital_sign_id is None
                    and (alert.rule, alert.vital_sign_id) not in justified)
        if (rests_on or unpaired) and set_once(SafetyAlert, alert.id, SafetyAlert.withdrawn_at,
                                               withdrawn_at=now, withdrawn_reason=reason):
            db.session.expire(alert)
            withdrawn.append(alert)
    return withdrawn


def open_alerts(session_ids) -> list[SafetyAlert]:
    ids = list(session_ids)
    if not ids:
        return []
    return list(db.session.scalars(
        select(SafetyAlert)
        .where(SafetyAlert.session_id.in_(ids), SafetyAlert.open_clause())
        .order_by(SafetyAlert.raised_at)
    ))


def open_alert_counts_by_client(client_ids) -> dict[int, int]:
    """Unacknowledged alerts per client, in one grouped query."""
    ids = list(client_ids)
    if not ids:
        return {}
    rows = db.session.execute(
        select(Course.client_id, func.count(SafetyAlert.id))
        .join(ClinicalSession, ClinicalSession.course_id == Course.id)
        .join(SafetyAlert, SafetyAlert.session_id == ClinicalSession.id)
        .where(Course.client_id.in_(ids), SafetyAlert.open_clause())
        .group_by(Course.client_id)
    )
    return {client_id: n for client_id, n in rows}


@dataclasses.dataclass
class DoseGate:
    blocking: list[Finding]  # the dose cannot be recorded
    cautions: list[Finding]  # shown, not blocking
    overridden: SafetyOverride | None  # the override that lifted a hold


def dose_gate(session: DosingSession, vitals: list[VitalSign], overrides: list[SafetyOverride]) -> DoseGate:
    """Before a dose: a baseline must exist; a baseline at the hold threshold blocks the dose
    unless medical staff recorded an override (after that baseline) with a reason."""
    readings = as_rule_readings(vitals)
    times = dose_times(session)
    base = baseline(readings, before=times.first_dose_at)
    t = thresholds_at(base.taken_at, session.site_id) if base else thresholds_now(session.site_id)
    findings = rules.baseline_findings(base, t)
    holds = [f for f in findings if f.level in (Level.HOLD, Level.CRITICAL, Level.ALERT)]
    cautions = [f for f in findings if f.level is Level.CAUTION]
    override = None
    if base is not None and holds:
        override = _override_after(overrides, OverrideKind.DOSE_HOLD, base.taken_at)
        if override is not None:
            holds = []
    return DoseGate(holds, cautions, override)


def discharge_gate(session: DosingSession, vitals: list[VitalSign], overrides: list[SafetyOverride],
                   at: dt.datetime) -> tuple[list[Finding], SafetyOverride | None]:
    """Reasons discharge at ``at`` is not safe yet, and the override that accepted them (if any).

    An override accepts only the rules it was recorded for: one for leaving early does not
    cover a high last reading taken after it."""
    times = dose_times(session)
    findings = rules.discharge_findings(
        as_rule_readings(vitals), route=session.route.value, last_dose_at=times.last_dose_at,
        infusion_ends_at=times.infusion_ends_at, at=at, t=thresholds_at(at, session.site_id),
    )
    found = {f.rule for f in findings}
    covering = [o for o in overrides if o.kind is OverrideKind.DISCHARGE and found <= set(o.rules.split(","))]
    override = covering[-1] if findings and covering else None
    return findings, override


def schedule(session: DosingSession, vitals: list[VitalSign], now: dt.datetime | None = None):
    """(next reading due, overdue finding or None) for a medicine session."""
    times = dose_times(session)
    return rules.reading_schedule(
        as_rule_readings(vitals), route=session.route.value, dosed_at=times.first_dose_at,
        infusion_ends_at=times.infusion_ends_at, discharged_at=session.discharged_at,
        now=now or utcnow(), t=thresholds_now(session.site_id),
    )


def suggested_timepoint(session: ClinicalSession, vitals: list[VitalSign]) -> Timepoint:
    if not isinstance(session, DosingSession) or not session.administrations:
        return Timepoint.BASELINE
    return Timepoint.DURING
