"""Vitals during medicine sessions (and screening): fast entry, alerts, overrides, today's list."""

from __future__ import annotations

import datetime as dt

from flask import abort, current_app, flash, redirect, render_template, url_for
from flask_login import current_user
from sqlalchemy import select, union
from sqlalchemy.orm import joinedload, selectinload

from ..access import client_scope_clause, get_session_for, requires
from ..auditing import record, shown, set_once, listed
from ..extensions import db
from ..models import (
    AuditAction,
    Client,
    ClinicalSession,
    Course,
    DosingSession,
    OverrideKind,
    SafetyAlert,
    SafetyOverride,
    Screening,
    SessionKind,
    VitalSign,
    utcnow,
)
from ..rules import vitals as rules
from ..rules.access import Permission, may
from .. import clock
from ..templating import localtime
from . import bp, chart, service
from .forms import AcknowledgeForm, EnteredInErrorForm, OverrideForm, VitalsForm


def _load(session_id: int) -> ClinicalSession:
    clinical = get_session_for(current_user, session_id, options=(
        joinedload(ClinicalSession.course).joinedload(Course.client),
    ))
    if not isinstance(clinical, DosingSession | Screening):
        abort(404)
    if isinstance(clinical, DosingSession):
        db.session.scalars(select(DosingSession).where(DosingSession.id == clinical.id)
                           .options(selectinload(DosingSession.administrations))).all()
    return clinical


def _page(clinical, *, form=None, override_form=None, status=200):
    shown("vitals", clinical.id, client_id=clinical.course.client_id)  # however the page is reached
    vitals = service.readings_of(clinical)
    readings = service.as_rule_readings(vitals)
    overrides = service.overrides_of(clinical)
    dosing = isinstance(clinical, DosingSession)
    times = service.dose_times(clinical) if dosing else None
    gate = service.dose_gate(clinical, vitals, overrides) if dosing else None
    next_due = overdue = None
    discharge = ([], None)
    if dosing:
        next_due, overdue = service.schedule(clinical, vitals)
        if times.first_dose_at and not clinical.discharged_at:
            discharge = service.discharge_gate(clinical, vitals, overrides, utcnow())
    if form is None:
        form = VitalsForm()
        form.taken_at.data = clock.local_now()
        form.timepoint.data = service.suggested_timepoint(clinical, vitals).value
    t = service.thresholds_now()
    fmt = lambda d: localtime(d, "%H:%M")  # noqa: E731
    return render_template(
        "vitals/session.html", session=clinical, course=clinical.course, client=clinical.course.client,
        vitals=vitals, readings=readings, baseline=service.baseline(readings),
        last=readings[-1] if readings else None,
        alerts=service.open_alerts([clinical.id]),
        all_alerts=list(db.session.scalars(select(SafetyAlert).where(SafetyAlert.session_id == clinical.id)
                                           .options(joinedload(SafetyAlert.acknowledged_by)).order_by(SafetyAlert.raised_at))),
        overrides=overrides, gate=gate, times=times, next_due=next_due, overdue=overdue,
        discharge_findings=discharge[0], discharge_override=discharge[1],
        form=form, error_form=EnteredInErrorForm(), ack_form=AcknowledgeForm(),
        override_form=override_form or OverrideForm(),
        chart=chart.build(readings, [a.given_at for a in clinical.administrations] if dosing else [], t, fmt),
        thresholds=t, writable=clinical.course.is_open and not clinical.is_signed,
        rule_labels=rules.RULE_LABELS,
        may_record=may(current_user.role, Permission.RECORD_VITALS),
        may_ack=may(current_user.role, Permission.ACKNOWLEDGE_ALERT),
        may_override=may(current_user.role, Permission.OVERRIDE_SAFETY),
    ), status


@bp.route("/sessions/<int:session_id>/vitals")
@requires(Permission.VIEW_COURSES)
def session_vitals(session_id: int):
    clinical = _load(session_id)
    return _page(clinical)


@bp.route("/sessions/<int:session_id>/vitals", methods=["POST"])
@requires(Permission.RECORD_VITALS)
def record_vitals(session_id: int):
    clinical = _load(session_id)
    if not clinical.course.is_open or clinical.is_signed:
        flash("This session is signed or its course has ended: no more readings can be added.", "error")
        return redirect(url_for("vitals.session_vitals", session_id=clinical.id))
    form = VitalsForm()
    valid = form.validate_on_submit()
    problems = rules.plausibility_problems(form.systolic.data, form.diastolic.data,
                                           form.heart_rate.data, form.spo2.data)
    for name, message in problems.items():
        field = form[name]
        if not field.errors:  # "enter a whole number" already says it
            field.errors = [*field.errors, message]
    if form.taken_at.data and not form.taken_at.errors:
        earliest = clinical.occurred_at - dt.timedelta(hours=2)
        if clock.local_to_utc(form.taken_at.data) < earliest:
            form.taken_at.errors = [*form.taken_at.errors,
                                    "This is more than 2 hours before the session started: check the date and time."]
            valid = False
    if not valid or problems:
        return _page(clinical, form=form, status=400)
    reading = VitalSign(
        session_id=clinical.id, taken_at=clock.local_to_utc(form.taken_at.data), timepoint=rules.Timepoint(form.timepoint.data),
        systolic=form.systolic.data, diastolic=form.diastolic.data, heart_rate=form.heart_rate.data,
        spo2=form.spo2.data, note=form.note.data, recorded_by_id=current_user.id,
    )
    db.session.add(reading)
    db.session.flush()
    alerts = service.record_alerts(clinical, service.readings_of(clinical))
    record(AuditAction.CREATE, "vitals", reading.id, client_id=clinical.course.client_id,
           detail=f"session {clinical.id}" + (f"; {len(alerts)} alert(s) raised" if alerts else ""))
    db.session.commit()
    if alerts:
        flash(f"Reading saved. {len(alerts)} safety alert(s): see below and acknowledge.", "error")
    else:
        flash(f"Reading saved: {reading.systolic}/{reading.diastolic}, pulse {reading.heart_rate}.", "success")
    return redirect(url_for("vitals.session_vitals", session_id=clinical.id))


@bp.route("/vitals/<int:vital_id>/error", methods=["POST"])
@requires(Permission.RECORD_VITALS)
def mark_in_error(vital_id: int):
    reading = db.session.get(VitalSign, vital_id)
    if reading is None:
        abort(404)
    clinical = _load(reading.session_id)
    form = EnteredInErrorForm()
    if not clinical.course.is_open or clinical.is_signed:
        flash("This session is signed or its course has ended: its readings can no longer change.", "error")
    elif reading.in_error:
        flash("This reading is already marked entered in error.", "info")
    elif not form.validate_on_submit():
        flash(" ".join(form.error_reason.errors) or "Say why this reading is wrong.", "error")
    elif not set_once(VitalSign, reading.id, VitalSign.entered_in_error_at, entered_in_error_at=utcnow(),
                      entered_in_error_by_id=current_user.id, error_reason=form.error_reason.data):
        # Of two people marking it at the same moment, the second matches no row: told, and
        # nothing of theirs replaces the first's reason.
        db.session.rollback()
        flash("Someone else marked this reading entered in error a moment before you; your reason "
              "was not saved.", "error")
    else:
        db.session.expire(reading)
        # The rules look again at the readings that remain, in the order they were taken: alerts
        # resting on this reading are withdrawn, and what the others justify is raised.
        vitals = service.readings_of(clinical)
        withdrawn = service.withdraw_alerts(clinical, reading, vitals)
        raised = service.record_alerts(clinical, vitals)
        detail = "entered in error"
        if withdrawn:
            detail += f"; {len(withdrawn)} alert(s) withdrawn"
        if raised:
            detail += f"; {len(raised)} alert(s) raised"
        record(AuditAction.UPDATE, "vitals", reading.id, client_id=clinical.course.client_id, detail=detail)
        db.session.commit()
        flash("Marked entered in error. Enter the correct reading."
              + (f" {len(withdrawn)} alert(s) resting on it withdrawn." if withdrawn else "")
              + (f" {len(raised)} safety alert(s) from the other readings: see below and acknowledge." if raised else ""),
              "error" if raised else "success")
    return redirect(url_for("vitals.session_vitals", session_id=clinical.id))


@bp.route("/alerts/<int:alert_id>/acknowledge", methods=["POST"])
@requires(Permission.ACKNOWLEDGE_ALERT)
def acknowledge(alert_id: int):
    alert = db.session.get(SafetyAlert, alert_id)
    if alert is None:
        abort(404)
    clinical = get_session_for(current_user, alert.session_id, options=(
        joinedload(ClinicalSession.course),))
    form = AcknowledgeForm()
    if alert.withdrawn_at is not None:
        flash(f"This alert was withdrawn: {alert.withdrawn_reason}", "info")
    elif alert.acknowledged_at is not None:
        flash("This alert was already acknowledged.", "info")
    elif form.validate_on_submit():
        # Only an alert nobody has acknowledged (or withdrawn) yet: of two people acknowledging
        # at the same moment, the second matches no row and is told, rather than replacing the
        # first's note.
        if not set_once(SafetyAlert, alert.id, SafetyAlert.acknowledged_at, SafetyAlert.withdrawn_at,
                        acknowledged_at=utcnow(), acknowledged_by_id=current_user.id,
                        acknowledgement_note=form.acknowledgement_note.data):
            db.session.rollback()
            db.session.refresh(alert)
            if alert.withdrawn_at is not None:
                flash(f"This alert was withdrawn a moment before you acknowledged it: {alert.withdrawn_reason} "
                      "Your note was not saved.", "error")
            else:
                flash("Someone else acknowledged this alert a moment before you; your note was not saved.", "error")
            return redirect(url_for("vitals.session_vitals", session_id=clinical.id))
        db.session.expire(alert)
        record(AuditAction.UPDATE, "alert", alert.id, client_id=clinical.course.client_id,
               detail=f"acknowledged {alert.rule}")
        db.session.commit()
        flash("Alert acknowledged.", "success")
    else:
        flash(" ".join(form.acknowledgement_note.errors), "error")
    return redirect(url_for("vitals.session_vitals", session_id=clinical.id))


@bp.route("/sessions/<int:session_id>/overrides", methods=["POST"])
@requires(Permission.OVERRIDE_SAFETY)
def add_override(session_id: int):
    clinical = _load(session_id)
    if not isinstance(clinical, DosingSession):
        abort(404)
    form = OverrideForm()
    if not clinical.course.is_open or clinical.is_signed:
        flash("This session is signed or its course has ended.", "error")
        return redirect(url_for("vitals.session_vitals", session_id=clinical.id))
    if not form.validate_on_submit():
        return _page(clinical, override_form=form, status=400)
    kind = OverrideKind(form.kind.data)
    vitals, overrides = service.readings_of(clinical), service.overrides_of(clinical)
    if kind is OverrideKind.DOSE_HOLD:
        findings = service.dose_gate(clinical, vitals, overrides).blocking
        if any(f.rule == "baseline_missing" for f in findings):
            form.kind.errors = ["No baseline reading: take one first. A missing baseline cannot be overridden."]
            return _page(clinical, override_form=form, status=400)
    else:
        findings = service.discharge_gate(clinical, vitals, [], utcnow())[0]
    if not findings:
        form.kind.errors = ["Nothing to override: no rule blocks this step now."]
        return _page(clinical, override_form=form, status=400)
    override = SafetyOverride(session_id=clinical.id, kind=kind, reason=form.reason.data,
                              rules=",".join(f.rule for f in findings), created_by_id=current_user.id)
    db.session.add(override)
    db.session.flush()
    record(AuditAction.CREATE, "override", override.id, client_id=clinical.course.client_id,
           detail=f"{kind.value}: {override.rules}")
    db.session.commit()
    flash(f"Override recorded: {kind.label.lower()}.", "success")
    return redirect(url_for("vitals.session_vitals", session_id=clinical.id))


@bp.route("/today")
@requires(Permission.RECORD_VITALS)
def today():
    """Medical staff's start page: today's medicine sessions and when each next reading is due."""
    start = clock.today_range()[0]
    # The most recent TODAY_LIMIT (today's first, then earlier ones not discharged), shown oldest
    # first: across a network there can be thousands of sessions nobody discharged.
    limit = current_app.config.get("TODAY_LIMIT", 60)
    sessions = list(db.session.scalars(
        select(DosingSession)
        .join(Course, DosingSession.course_id == Course.id)
        .join(Client, Course.client_id == Client.id)
        .where(client_scope_clause(current_user), Course.end_reason.is_(None),
               DosingSession.id.in_(union(  # two indexed paths rather than an OR across tables
                   select(ClinicalSession.id).where(ClinicalSession.kind == SessionKind.DOSING,
                                                    ClinicalSession.occurred_at >= start),
                   select(DosingSession.__table__.c.id).where(DosingSession.discharged_at.is_(None)))))
        .options(joinedload(DosingSession.course).joinedload(Course.client),
                 selectinload(DosingSession.administrations))
        .order_by(DosingSession.occurred_at.desc(), DosingSession.id.desc())
        .limit(limit + 1)
    ))
    more = len(sessions) > limit
    sessions = sessions[:limit][::-1]
    vitals_by_session: dict[int, list[VitalSign]] = {s.id: [] for s in sessions}
    if sessions:
        for v in db.session.scalars(select(VitalSign).where(VitalSign.session_id.in_(vitals_by_session))
                                    .order_by(VitalSign.taken_at, VitalSign.id)):
            vitals_by_session[v.session_id].append(v)
    alerts = service.open_alerts(vitals_by_session)
    rows = []
    for s in sessions:
        readings = service.as_rule_readings(vitals_by_session[s.id])
        next_due, overdue = service.schedule(s, vitals_by_session[s.id])
        rows.append({"session": s, "last": readings[-1] if readings else None, "next_due": next_due,
                     "overdue": overdue, "alerts": [a for a in alerts if a.session_id == s.id]})
    record(AuditAction.VIEW, "today", detail=f"{len(rows)} medicine sessions")
    db.session.commit()
    listed(s.course.client_id for s in sessions)
    return render_template("vitals/today.html", rows=rows, more=more)


