"""Sessions of a course: create, view, edit the draft, sign, co-sign, add addenda and doses."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy.orm import joinedload

from ..access import deny, get_course_for, requires
from ..auditing import changed_fields
from ..forms import member_or_404
from ..models import Course, DosingSession, SessionKind
from ..rules import phases
from ..rules.access import Permission, may_write_session
from ..services import Outcome, apply_problems
from ..services import sessions as session_commands
from . import bp, pages, service
from .forms import ADMINISTRATION_FORMS, AddendumForm


def _to_session(session_id: int, anchor: str = ""):
    return redirect(url_for("courses.show_session", session_id=session_id) + anchor)


@bp.route("/courses/<int:course_id>/sessions/new/<kind>", methods=["GET", "POST"])
@requires(Permission.VIEW_COURSES)
def new_session(course_id: int, kind: str):
    kind = member_or_404(SessionKind, kind)
    course = get_course_for(current_user, course_id, options=(joinedload(Course.client),))
    if not may_write_session(current_user.role, kind.value):
        deny(403, "course", course.id, detail=f"may not write {kind.label.lower()}s")
    sessions = service.load_course_sessions(course)
    facts = service.facts(course, sessions)
    refusal = session_commands.opening_refusal(course, kind, current_user, facts)
    if refusal is not None:
        return pages.refused(course, refusal.title, refusal.reasons, 403 if refusal.forbidden else 409)
    if kind is SessionKind.SCREENING and (existing := next((s for s in sessions if s.kind is kind), None)):
        return _to_session(existing.id)
    form = pages.new_session_form(course, kind, sessions, facts)
    if form.validate_on_submit():
        outcome = session_commands.create(course, form.data, current_user, kind=kind, facts=facts)
        if outcome.record is not None:  # saved, or the screening someone else opened a moment before
            flash(outcome.message, outcome.category)
            return _to_session(outcome.record.id)
        for message in apply_problems(form, outcome):
            flash(message, "error")
    warnings = phases.medicine_warnings(facts) if kind is SessionKind.DOSING else []
    return render_template("sessions/form.html", form=form, course=course, client=course.client,
                           kind=kind, session=None, warnings=warnings, decides=False)


@bp.route("/sessions/<int:session_id>")
@requires(Permission.VIEW_COURSES)
def show_session(session_id: int):
    return pages.render_show(pages.load_session(session_id))


@bp.route("/sessions/<int:session_id>/edit", methods=["GET", "POST"])
@requires(Permission.VIEW_COURSES)
def edit_session(session_id: int):
    clinical = pages.load_session(session_id)
    if not may_write_session(current_user.role, clinical.kind.value):
        deny(403, clinical.kind.value, clinical.id, detail="may not write this kind of session")
    if reason := session_commands.edit_refusal(clinical, current_user):
        return pages.refused(clinical.course, "This session cannot be edited", [reason])
    form = pages.edit_form(clinical)
    if form.validate_on_submit():
        outcome = session_commands.save_draft(clinical, form.data, current_user, changes=changed_fields)
        if outcome.conflict:  # saved by someone else since this form was opened
            return pages.session_conflict(pages.load_session(session_id), form)
        if outcome.ok:
            flash(outcome.message, outcome.category)
            return _to_session(clinical.id)
        for message in apply_problems(form, outcome):
            flash(message, "error")
    return pages.render_session_form(clinical, form)


@bp.route("/sessions/<int:session_id>/sign", methods=["GET", "POST"])
@requires(Permission.VIEW_COURSES)
def sign_session(session_id: int):
    clinical = pages.load_session(session_id)
    if reason := session_commands.sign_refusal(clinical, current_user):
        return pages.refused(clinical.course, "This session cannot be signed", [reason])
    problems = session_commands.sign_problems(clinical)
    form, confirm = pages.sign_forms(clinical)
    if request.method == "POST" and not problems and pages.sign_forms_valid(clinical, form, confirm):
        outcome = session_commands.sign(clinical, form.data, current_user)
        if outcome.ok:
            flash(outcome.message, outcome.category)
            return _to_session(clinical.id)
        problems = apply_problems(form, outcome)
    return pages.render_sign(clinical, form, confirm, problems)


@bp.route("/sessions/<int:session_id>/cosign", methods=["POST"])
@requires(Permission.COSIGN)
def cosign_session(session_id: int):
    clinical = pages.load_session(session_id)
    outcome = session_commands.cosign(clinical, {}, current_user)
    flash(outcome.message, outcome.category)
    return _to_session(clinical.id)


@bp.route("/sessions/<int:session_id>/addenda", methods=["POST"])
@requires(Permission.ADD_ADDENDUM)
def add_addendum(session_id: int):
    clinical = pages.load_session(session_id)
    form = AddendumForm()
    if service.addendum_reason(clinical, current_user) is None and not form.validate_on_submit():
        return pages.render_show(clinical, addendum_form=form, status=400)
    outcome = session_commands.add_addendum(clinical, form.data, current_user)
    flash(outcome.message, outcome.category)
    return _to_session(clinical.id, "#addenda" if outcome.ok else "")


@bp.route("/sessions/<int:session_id>/administrations", methods=["POST"])
@requires(Permission.WRITE_DOSING)
def add_administration(session_id: int):
    clinical = pages.load_session(session_id)
    if not isinstance(clinical, DosingSession):
        abort(404)
    if reason := session_commands.edit_refusal(clinical, current_user):
        return pages.refused(clinical.course, "No dose can be added", [reason])
    form = ADMINISTRATION_FORMS[clinical.route]()
    blockers = session_commands.dose_blockers(clinical)
    if not form.validate_on_submit() or blockers:
        return pages.render_dose_problems(clinical, form, Outcome(problems={"given_at": blockers}),
                                          status=409 if blockers else 400)
    preview = session_commands.preview_dose(clinical, form.data, current_user)
    if not preview.ok:
        return pages.render_dose_problems(clinical, form, preview)
    # The computed dose is always shown before it is saved: a dose not yet previewed, or changed
    # since, is shown again instead of saved.
    if form.calculate.data or form.previewed_mg.data != str(preview.record.dose_mg):
        form.previewed_mg.data = str(preview.record.dose_mg)
        return pages.render_show(clinical, administration_form=form, preview=preview.record)
    outcome = session_commands.record_dose(clinical, form.data, current_user)
    if not outcome.ok:
        return pages.render_dose_problems(clinical, form, outcome, preview=preview.record)
    flash(outcome.message, outcome.category)
    return _to_session(clinical.id, "#doses")
