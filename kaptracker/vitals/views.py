"""Vitals during medicine sessions (and screening): fast entry, alerts, overrides, today's list."""

from __future__ import annotations

from flask import abort, current_app, flash, redirect, render_template, url_for
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.orm import joinedload, selectinload

from ..access import get_session_for, requires
from ..auditing import record, shown, listed
from ..extensions import db
from ..models import AuditAction, ClinicalSession, Course, DosingSession, SafetyAlert, Screening, VitalSign
from ..rules.access import Permission
from ..services import FORM, apply_problems
from ..services import vitals as vital_commands
from ..services.once import told
from . import bp, page
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
    return render_template("vitals/session.html", page=page.build(
        clinical, current_user, form=form, override_form=override_form)), status


def _back(clinical, outcome=None, default: str = ""):
    """To the session's vitals page, telling the outcome."""
    if outcome is not None:
        flash(told(outcome, default), outcome.category)
    return redirect(url_for("vitals.session_vitals", session_id=clinical.id))


def _posted(clinical, command, record, form, *, shown_as: str | None = None, default: str = ""):
    """Run ``command`` on ``record`` with the posted ``form`` (its own problems too), and go back to
    the session's vitals page telling the outcome; with ``shown_as`` (the page's name for the
    form), a refusal for the form's fields shows the page again with the messages beside them."""
    form.validate_on_submit()
    outcome = command(record, form.data, current_user, form_errors=form.errors)
    if shown_as is None or outcome.ok or FORM in outcome.problems:
        return _back(clinical, outcome, default)
    apply_problems(form, outcome)
    return _page(clinical, **{shown_as: form}, status=400)


@bp.route("/sessions/<int:session_id>/vitals")
@requires(Permission.VIEW_COURSES)
def session_vitals(session_id: int):
    clinical = _load(session_id)
    return _page(clinical)


@bp.route("/sessions/<int:session_id>/vitals", methods=["POST"])
@requires(Permission.RECORD_VITALS)
def record_vitals(session_id: int):
    clinical = _load(session_id)
    return _posted(clinical, vital_commands.record_reading, clinical, VitalsForm(), shown_as="form")


@bp.route("/vitals/<int:vital_id>/error", methods=["POST"])
@requires(Permission.RECORD_VITALS)
def mark_in_error(vital_id: int):
    reading = db.get_or_404(VitalSign, vital_id)
    return _posted(_load(reading.session_id), vital_commands.mark_in_error, reading, EnteredInErrorForm(),
                   default="Say why this reading is wrong.")


@bp.route("/alerts/<int:alert_id>/acknowledge", methods=["POST"])
@requires(Permission.ACKNOWLEDGE_ALERT)
def acknowledge(alert_id: int):
    alert = db.get_or_404(SafetyAlert, alert_id)
    clinical = get_session_for(current_user, alert.session_id, options=(
        joinedload(ClinicalSession.course).joinedload(Course.client),))
    return _posted(clinical, vital_commands.acknowledge, alert, AcknowledgeForm())


@bp.route("/sessions/<int:session_id>/overrides", methods=["POST"])
@requires(Permission.OVERRIDE_SAFETY)
def add_override(session_id: int):
    clinical = _load(session_id)
    if not isinstance(clinical, DosingSession):
        abort(404)
    return _posted(clinical, vital_commands.add_override, clinical, OverrideForm(), shown_as="override_form")


@bp.route("/today")
@requires(Permission.RECORD_VITALS)
def today():
    """Medical staff's start page: today's medicine sessions and when each next reading is due."""
    sessions, more = page.todays_sessions(current_user, current_app.config.get("TODAY_LIMIT", 60))
    rows = page.today_rows(sessions)
    record(AuditAction.VIEW, "today", detail=f"{len(rows)} medicine sessions")
    db.session.commit()
    listed(s.course.client_id for s in sessions)
    several_sites = len({s.site_id for s in sessions}) > 1
    return render_template("vitals/today.html", rows=rows, more=more, several_sites=several_sites)
