"""Sessions of a course: create, view, edit the draft, sign, co-sign, add addenda and doses."""

from __future__ import annotations

from decimal import Decimal

from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload, selectinload
from sqlalchemy.orm.exc import StaleDataError

from ..access import deny, get_course_for, get_session_for, requires
from ..auditing import changed_fields, record, shown
from ..extensions import db
from ..forms import choices
from ..main import conflicts
from ..models import (
    Administration,
    AuditAction,
    ClinicalSession,
    Course,
    DosingSession,
    InjectionSite,
    IntegrationSession,
    Screening,
    SessionKind,
)
from ..rules import dosing, phases
from ..rules import screening as screening_rules
from ..rules.access import Permission, Role, may_write_session
from .. import clock
from ..templating import localtime
from . import bp, service
from .details import DETAILS, INJECTION_SITES
from .forms import (
    ADMINISTRATION_FORMS,
    AddendumForm,
    ConfirmForm,
    DosingForm,
    IntegrationForm,
    NewDosingForm,
    PreparationForm,
    ScreeningForm,
)

FORMS = {
    SessionKind.SCREENING: ScreeningForm,
    SessionKind.PREPARATION: PreparationForm,
    SessionKind.DOSING: DosingForm,
    SessionKind.INTEGRATION: IntegrationForm,
}
DECISION_FIELDS = ("decision", "decision_rationale", "medical_clearance", "safety_plan")
TIME_FIELDS = ("occurred_at", "ended_at", "discharged_at")
NOT_COPIED = {"csrf_token", "submit", "version", "route", *DECISION_FIELDS}
MAX_ADMINISTRATION_MG = Decimal(1000)  # as the administration table's dose_positive check


def refused(course: Course, title: str, reasons: list[str], status: int = 409):
    """A refusal with its reasons in plain words, and the way back."""
    return render_template("sessions/refused.html", course=course, client=course.client,
                           title=title, reasons=reasons), status


def _is_own_client(course: Course) -> bool:
    return current_user.role != Role.THERAPIST or course.client.therapist_id == current_user.id


def _copy_into(form, session: ClinicalSession) -> None:
    """Form values onto the session; date-times typed in clinic time are stored in UTC."""
    for name, field in form._fields.items():
        if name in NOT_COPIED or not hasattr(session, name):
            continue
        value = field.data
        if name in TIME_FIELDS and value is not None and value.tzinfo is None:
            # Typed in clinic time. An aware value is the stored UTC one, kept by the form when
            # the field was not sent: converting it again would move it by the zone's offset.
            value = clock.local_to_utc(value, keep=getattr(session, name, None))
        if isinstance(value, str) or value is None:
            value = value or ("" if name == "note" or _is_text_column(session, name) else None)
        setattr(session, name, value)
    if isinstance(session, DosingSession):
        session.started_at = session.occurred_at


def _is_text_column(session, name: str) -> bool:
    column = session.__mapper__.columns.get(name)
    return column is not None and not column.nullable and column.type.python_type is str


def _integration_choices(sessions) -> list:
    return choices(
        (s.id, f"{localtime(s.occurred_at, '%d %b %Y')} ({s.route.label})")
        for s in sessions if isinstance(s, DosingSession)
    )


@bp.route("/courses/<int:course_id>/sessions/new/<kind>", methods=["GET", "POST"])
@requires(Permission.VIEW_COURSES)
def new_session(course_id: int, kind: str):
    try:
        kind = SessionKind(kind)
    except ValueError:
        abort(404)
    course = get_course_for(current_user, course_id, options=(joinedload(Course.client),))
    if not may_write_session(current_user.role, kind.value):
        deny(403, "course", course.id, detail=f"may not write {kind.label.lower()}s")
    if not _is_own_client(course):
        return refused(course, f"You cannot add a {kind.label.lower()} here",
                       ["Only the client's own therapist writes their sessions."], 403)
    sessions = service.load_course_sessions(course)
    facts = service.facts(course, sessions)
    if not course.is_open:
        return refused(course, f"No new {kind.label.lower()}", phases.medicine_blockers(facts))
    if kind is SessionKind.SCREENING:
        existing = next((s for s in sessions if s.kind is SessionKind.SCREENING), None)
        if existing is not None:
            return redirect(url_for("courses.show_session", session_id=existing.id))
    if kind is SessionKind.DOSING:
        blockers = phases.medicine_blockers(facts)
        if blockers:
            return refused(course, "A medicine session cannot start yet", blockers)
    if kind is SessionKind.INTEGRATION and not facts.medicine_sessions:
        return refused(course, "Nothing to integrate yet",
                       ["An integration session follows a medicine session, and this course has none yet."])

    form_class = NewDosingForm if kind is SessionKind.DOSING else FORMS[kind]
    form = form_class()
    if isinstance(form, IntegrationForm):
        form.dosing_session_id.choices = _integration_choices(sessions)
    if not form.is_submitted():
        form.occurred_at.data = clock.local_now()
        if isinstance(form, NewDosingForm):
            form.route.data = course.planned_route.value
            form.eye_shades.data = form.music.data = True
        if isinstance(form, IntegrationForm):
            pending = [m.id for m in facts.medicine_sessions if not m.integrated]
            form.dosing_session_id.data = (pending or [facts.medicine_sessions[-1].id])[0]
    if form.validate_on_submit() and not (kind is SessionKind.DOSING and _dated_before_gates(form, facts)):
        cls = service.SESSION_CLASSES[kind]
        clinical = cls(course_id=course.id, author_id=current_user.id, note="")
        if kind is SessionKind.DOSING:
            clinical.route = dosing.Route(form.route.data)
            clinical.administered_by_id = current_user.id
        _copy_into(form, clinical)
        db.session.add(clinical)
        try:
            db.session.flush()
        except IntegrityError:
            if kind is not SessionKind.SCREENING:
                raise
            # Someone else opened this course's screening a moment before (the database keeps
            # one per course): theirs is the screening, as when it existed before this request.
            db.session.rollback()
            existing = db.session.scalar(select(Screening.id).where(Screening.course_id == course_id))
            if existing is None:
                raise
            flash("Someone else opened this course's screening a moment before you; here it is. "
                  "What you typed was not saved.", "error")
            return redirect(url_for("courses.show_session", session_id=existing))
        record(AuditAction.CREATE, kind.value, clinical.id, client_id=course.client_id)
        db.session.commit()
        flash(f"{kind.label} saved as a draft.", "success")
        return redirect(url_for("courses.show_session", session_id=clinical.id))
    warnings = phases.medicine_warnings(facts) if kind is SessionKind.DOSING else []
    return render_template("sessions/form.html", form=form, course=course, client=course.client,
                           kind=kind, session=None, warnings=warnings, decides=False)


def _dated_before_gates(form, facts: phases.CourseFacts, stored=None) -> bool:
    """A medicine session's typed time must come after the gates were passed (the screening
    decision and a preparation note signed): the reasons go beside the time field. A time left
    as it was stored (``stored``) was checked when it was set."""
    if form.occurred_at.data is None:
        return False
    typed = form.occurred_at.data
    at = typed if typed.tzinfo is not None else clock.local_to_utc(typed, keep=stored)
    if stored is not None and at == stored:
        return False
    blockers = phases.medicine_blockers(facts, at=at)
    if blockers:
        form.occurred_at.errors = [*form.occurred_at.errors, *blockers]
    return bool(blockers)


def _load(session_id: int) -> ClinicalSession:
    clinical = get_session_for(current_user, session_id, options=(
        joinedload(ClinicalSession.course).joinedload(Course.client),
        joinedload(ClinicalSession.author),
        joinedload(ClinicalSession.signed_by),
        joinedload(ClinicalSession.cosigned_by),
        selectinload(ClinicalSession.addenda),
    ))
    if isinstance(clinical, DosingSession):
        db.session.scalars(
            db.select(DosingSession).where(DosingSession.id == clinical.id)
            .options(selectinload(DosingSession.administrations))
        ).all()
    return clinical


@bp.route("/sessions/<int:session_id>")
@requires(Permission.VIEW_COURSES)
def show_session(session_id: int):
    clinical = _load(session_id)
    return _render_show(clinical)


def _render_show(clinical, *, administration_form=None, addendum_form=None, preview=None, status=200):
    course = clinical.course
    edit_reason = service.editable_reason(clinical, current_user)
    if edit_reason is None and not _is_own_client(course):
        edit_reason = "Only the client's own therapist writes their sessions."
    dose_check = None
    if isinstance(clinical, DosingSession):
        if administration_form is None and edit_reason is None:
            administration_form = ADMINISTRATION_FORMS[clinical.route]()
            administration_form.given_at.data = clock.local_now()
            if clinical.weight_kg and hasattr(administration_form, "weight_kg"):
                administration_form.weight_kg.data = clinical.weight_kg
        if clinical.administrations:
            dose_check = service.dose_check(clinical)
    vitals_chart = vitals = None
    open_alerts = []
    if isinstance(clinical, DosingSession | Screening):
        from ..vitals import chart, service as vitals_service

        vitals = vitals_service.readings_of(clinical)
        open_alerts = vitals_service.open_alerts([clinical.id])
        vitals_chart = chart.build(
            vitals_service.as_rule_readings(vitals),
            [a.given_at for a in clinical.administrations] if isinstance(clinical, DosingSession) else [],
            vitals_service.thresholds_now(), lambda d: localtime(d, "%H:%M"),
        )
    integrates = None
    if isinstance(clinical, IntegrationSession):
        integrates = db.session.get(DosingSession, clinical.dosing_session_id)
    return render_template(
        "sessions/show.html", session=clinical, course=course, client=course.client,
        details=DETAILS[clinical.kind], edit_reason=edit_reason,
        sign_reason=service.signable_reason(clinical, current_user) or (
            None if _is_own_client(course) or clinical.kind is SessionKind.SCREENING
            else "Only the client's own therapist signs."),
        cosign_reason=service.cosignable_reason(clinical, current_user),
        addendum_reason=service.addendum_reason(clinical, current_user),
        addendum_form=addendum_form or AddendumForm(),
        administration_form=administration_form, preview=preview, dose_check=dose_check,
        dose_range=service.dose_range(clinical.route) if isinstance(clinical, DosingSession) else None,
        integrates=integrates, confirm_form=ConfirmForm(), vitals=vitals, vitals_chart=vitals_chart, open_alerts=open_alerts, injection_sites=INJECTION_SITES,
    ), status


@bp.route("/sessions/<int:session_id>/edit", methods=["GET", "POST"])
@requires(Permission.VIEW_COURSES)
def edit_session(session_id: int):
    clinical = _load(session_id)
    course = clinical.course
    if not may_write_session(current_user.role, clinical.kind.value):
        deny(403, clinical.kind.value, clinical.id, detail="may not write this kind of session")
    reason = service.editable_reason(clinical, current_user)
    if reason is None and not _is_own_client(course):
        reason = "Only the client's own therapist writes their sessions."
    if reason:
        return refused(course, "This session cannot be edited", [reason])
    decides = clinical.kind is SessionKind.SCREENING and current_user.role == Role.MEDICAL
    if not request.method == "POST":
        form = _saved_session_form(clinical)
    else:
        form = FORMS[clinical.kind](obj=clinical)
        _prepare_session_form(form, clinical, sent_only=True)
    if form.validate_on_submit():
        if form.version.data != str(clinical.version):
            # Saved by someone else since this form was opened (or the version was tampered with).
            return _session_conflict(clinical, form, decides)
        elif (isinstance(clinical, DosingSession) and clinical.administrations
              and form.weight_kg.data != clinical.weight_kg):
            # The recorded doses were computed from this weight: changing it would break
            # mg = mg/kg x weight for every dose already given.
            form.weight_kg.errors = [*form.weight_kg.errors,
                                     f"The weight is fixed at {clinical.weight_kg} kg once a dose is recorded."]
        elif isinstance(clinical, DosingSession) and _dated_before_gates(
                form, service.facts(course, service.load_course_sessions(course)), stored=clinical.occurred_at):
            pass  # the reasons are beside the time field
        elif isinstance(clinical, DosingSession) and (problem := _discharge_problem(clinical, form)):
            form.discharged_at.errors = [*form.discharged_at.errors, problem]
        else:
            _copy_into(form, clinical)
            if decides:
                # Optional() lets white space through as "no answer": it is no decision, not a crash.
                decision = (form.decision.data or "").strip()
                clinical.decision = screening_rules.Decision(decision) if decision else None
                for name in DECISION_FIELDS[1:]:
                    setattr(clinical, name, form[name].data)
            fields = changed_fields(clinical)
            if fields:
                record(AuditAction.UPDATE, clinical.kind.value, clinical.id,
                       client_id=course.client_id, detail="changed: " + ", ".join(fields))
                try:
                    db.session.commit()
                except StaleDataError:  # another save of this session won the race by a moment
                    db.session.rollback()
                    return _session_conflict(_load(session_id), form, decides)
                flash("Draft saved.", "success")
            else:
                flash("Nothing was changed.", "info")
            return redirect(url_for("courses.show_session", session_id=clinical.id))
    return render_template("sessions/form.html", form=form, course=course, client=course.client,
                           kind=clinical.kind, session=clinical, warnings=[], decides=decides)


def _prepare_session_form(form, session: ClinicalSession, *, sent_only: bool) -> None:
    if isinstance(form, IntegrationForm):
        form.dosing_session_id.choices = _integration_choices(service.load_course_sessions(session.course))
    for name in TIME_FIELDS:
        # Shown (and, when a POST leaves the field out, kept) in clinic time like a typed value,
        # never as the stored UTC value that the form took from the session.
        if name in form._fields and (not sent_only or name not in request.form):
            form[name].data = clock.utc_to_local(getattr(session, name))


def _saved_session_form(session: ClinicalSession):
    """The edit form filled from the session as it is saved now, with its current version."""
    form = FORMS[session.kind](formdata=None, obj=session)
    _prepare_session_form(form, session, sent_only=False)
    form.version.data = str(session.version)
    if isinstance(session, Screening):
        form.decision.data = session.decision.value if session.decision else None
    return form


def _session_conflict(clinical: ClinicalSession, yours, decides: bool):
    """409: the saved session beside what this user sent; the form starts again from the saved one."""
    saved = _saved_session_form(clinical)
    saved_by, saved_at = conflicts.last_saved(clinical.kind.value, clinical.id)
    conflict = conflicts.Conflict(
        what=clinical.kind.label.lower(),
        rows=conflicts.compare(saved, yours, skip=() if decides else DECISION_FIELDS),
        saved_by=saved_by, saved_at=saved_at or clinical.updated_at,
        restart_url=url_for("courses.edit_session", session_id=clinical.id),
    )
    course = clinical.course
    shown(clinical.kind.value, clinical.id, client_id=course.client_id,
          detail="edit conflict: saved version shown")
    return render_template("sessions/form.html", form=saved, course=course, client=course.client,
                           kind=clinical.kind, session=clinical, warnings=[], decides=decides,
                           conflict=conflict), 409


def _discharge_problem(session: DosingSession, form) -> str | None:
    """A discharge time that breaks a discharge rule needs an override recorded first."""
    if form.discharged_at.data is None:
        return None
    at = clock.local_to_utc(form.discharged_at.data)
    if session.discharged_at is not None and at == session.discharged_at:
        return None
    from ..vitals import service as vitals_service

    findings, override = vitals_service.discharge_gate(
        session, vitals_service.readings_of(session), vitals_service.overrides_of(session), at)
    if not findings or override is not None:
        return None
    return (" ".join(f.message for f in findings)
            + " Record a discharge override with the clinical reason on the vitals page, or discharge later.")


def sign_problems(session: ClinicalSession) -> list[str]:
    """What must be in the record before it can be signed (beyond the screening decision)."""
    problems = []
    if isinstance(session, DosingSession):
        if not session.administrations:
            problems.append("No dose is recorded in this medicine session.")
        else:
            check = service.dose_check(session)
            if not check.in_range and not (session.dose_reason or "").strip():
                problems.append(check.message)
        if session.ended_at is None:
            problems.append("The time the session ended is not recorded.")
        if session.discharged_at is None:
            problems.append("The discharge time is not recorded.")
        from ..vitals import service as vitals_service

        if open_alerts := vitals_service.open_alerts([session.id]):
            problems.append(f"{len(open_alerts)} safety alert(s) are not acknowledged yet (see the vitals page).")
    if not isinstance(session, Screening) and not (session.note or "").strip():
        problems.append("The clinical note is empty.")
    return problems


@bp.route("/sessions/<int:session_id>/sign", methods=["GET", "POST"])
@requires(Permission.VIEW_COURSES)
def sign_session(session_id: int):
    clinical = _load(session_id)
    course = clinical.course
    reason = service.signable_reason(clinical, current_user)
    if reason is None and clinical.kind is not SessionKind.SCREENING and not _is_own_client(course):
        reason = "Only the client's own therapist signs."
    if reason:
        return refused(course, "This session cannot be signed", [reason])
    problems = sign_problems(clinical)
    is_screening = isinstance(clinical, Screening)
    form = ScreeningForm(obj=clinical) if is_screening else ConfirmForm()
    confirm = ConfirmForm(prefix="c")
    if is_screening and not form.is_submitted():
        form.decision.data = clinical.decision.value if clinical.decision else None
    if request.method == "POST" and not problems:
        valid = confirm.validate_on_submit()
        if is_screening:
            # The decision's texts are checked like any other text (length, control characters):
            # the screening form as a whole is not validated here.
            for name in DECISION_FIELDS[1:]:
                valid = form[name].validate(form) and valid
            decision_problems = screening_rules.decision_problems(
                form.decision.data, clinical.contraindications,
                rationale=form.decision_rationale.data, medical_clearance=form.medical_clearance.data,
                safety_plan=form.safety_plan.data, overrides=service.contraindication_severities(),
            )
            for name, message in decision_problems.items():
                form[name].errors = [*form[name].errors, message]
            valid = valid and not decision_problems
        if valid:
            if is_screening:
                clinical.decision = screening_rules.Decision(form.decision.data)
                for name in DECISION_FIELDS[1:]:
                    setattr(clinical, name, form[name].data)
            service.sign(clinical, current_user)
            detail = f"signed; decision {clinical.decision.value}" if is_screening else "signed"
            record(AuditAction.UPDATE, clinical.kind.value, clinical.id, client_id=course.client_id, detail=detail)
            db.session.commit()
            flash(f"{clinical.kind.label} signed and locked.", "success")
            return redirect(url_for("courses.show_session", session_id=clinical.id))
    return render_template("sessions/sign.html", session=clinical, course=course, client=course.client,
                           form=form, confirm=confirm, problems=problems, is_screening=is_screening,
                           details=DETAILS[clinical.kind])


@bp.route("/sessions/<int:session_id>/cosign", methods=["POST"])
@requires(Permission.COSIGN)
def cosign_session(session_id: int):
    clinical = _load(session_id)
    reason = service.cosign(clinical, current_user)
    if reason:
        flash(reason, "error")
        return redirect(url_for("courses.show_session", session_id=clinical.id))
    db.session.commit()
    flash("Co-signed.", "success")
    return redirect(url_for("courses.show_session", session_id=clinical.id))


@bp.route("/sessions/<int:session_id>/addenda", methods=["POST"])
@requires(Permission.ADD_ADDENDUM)
def add_addendum(session_id: int):
    from ..models import Addendum

    clinical = _load(session_id)
    reason = service.addendum_reason(clinical, current_user)
    form = AddendumForm()
    if reason:
        flash(reason, "error")
        return redirect(url_for("courses.show_session", session_id=clinical.id))
    if not form.validate_on_submit():
        return _render_show(clinical, addendum_form=form, status=400)
    addendum = Addendum(session_id=clinical.id, author_id=current_user.id,
                        reason=form.reason.data, text=form.text.data)
    db.session.add(addendum)
    db.session.flush()
    record(AuditAction.CREATE, "addendum", addendum.id, client_id=clinical.course.client_id,
           detail=f"to {clinical.kind.label.lower()} {clinical.id}")
    db.session.commit()
    flash("Addendum added.", "success")
    return redirect(url_for("courses.show_session", session_id=clinical.id) + "#addenda")


@bp.route("/sessions/<int:session_id>/administrations", methods=["POST"])
@requires(Permission.WRITE_DOSING)
def add_administration(session_id: int):
    clinical = _load(session_id)
    if not isinstance(clinical, DosingSession):
        abort(404)
    reason = service.editable_reason(clinical, current_user)
    if reason:
        return refused(clinical.course, "No dose can be added", [reason])
    form = ADMINISTRATION_FORMS[clinical.route]()
    from ..vitals import service as vitals_service

    gate = vitals_service.dose_gate(clinical, vitals_service.readings_of(clinical), vitals_service.overrides_of(clinical))
    if gate.blocking:
        form.validate_on_submit()
        form.given_at.errors = [*form.given_at.errors, *(f.message for f in gate.blocking)]
        return _render_show(clinical, administration_form=form, status=409)
    if not form.validate_on_submit():
        return _render_show(clinical, administration_form=form, status=400)
    weight = getattr(form, "weight_kg", None) and form.weight_kg.data
    if clinical.route is dosing.Route.LOZENGE:
        dose_mg = dosing.lozenge_mg(form.strength_mg.data, form.count.data)
        asked_mg = dosing.exact_mg(form.strength_mg.data, form.count.data)
    else:
        dose_mg = dosing.weight_based_mg(weight, form.mg_per_kg.data)
        asked_mg = dosing.exact_mg(weight, form.mg_per_kg.data)  # what the range is checked on
    if dose_mg > MAX_ADMINISTRATION_MG:  # the database refuses more (check dose_positive)
        field = form.count if clinical.route is dosing.Route.LOZENGE else form.mg_per_kg
        field.errors = [*field.errors, f"That makes {dose_mg} mg in one administration; at most "
                        f"{MAX_ADMINISTRATION_MG} mg can be recorded. Check the numbers."]
        return _render_show(clinical, administration_form=form, status=400)
    check = service.dose_check(clinical, dose_mg, weight, extra_prescribed=asked_mg)
    preview = {"dose_mg": dose_mg, "check": check, "weight": weight}
    # The computed dose is always shown before it is saved: a dose not yet previewed, or changed
    # since, is shown again instead of saved.
    if form.calculate.data or form.previewed_mg.data != str(dose_mg):
        form.previewed_mg.data = str(dose_mg)
        return _render_show(clinical, administration_form=form, preview=preview)
    if not check.in_range and not (form.range_reason.data or clinical.dose_reason):
        form.range_reason.errors = [check.message]
        return _render_show(clinical, administration_form=form, preview=preview, status=400)
    if weight is not None and clinical.weight_kg is not None and Decimal(weight) != clinical.weight_kg:
        form.weight_kg.errors = [f"This session's weight is {clinical.weight_kg} kg. Correct it on the session form first."]
        return _render_show(clinical, administration_form=form, preview=preview, status=400)
    administration = Administration(
        session_id=clinical.id, given_at=clock.local_to_utc(form.given_at.data), dose_mg=dose_mg,
        recorded_by_id=current_user.id,
    )
    if clinical.route is dosing.Route.LOZENGE:
        administration.strength_mg = form.strength_mg.data
        administration.count = form.count.data
        administration.hold_minutes = form.hold_minutes.data
        administration.swallowed = form.swallowed.data == "swallowed"
    else:
        clinical.weight_kg = weight
        administration.mg_per_kg = form.mg_per_kg.data
        if clinical.route is dosing.Route.IM:
            administration.injection_site = InjectionSite(form.injection_site.data)
        else:
            administration.infusion_minutes = form.infusion_minutes.data
    if form.range_reason.data:
        clinical.dose_reason = "\n".join(filter(None, [clinical.dose_reason, form.range_reason.data]))
    db.session.add(administration)
    db.session.flush()
    record(AuditAction.CREATE, "administration", administration.id,
           client_id=clinical.course.client_id, detail=f"{dose_mg} mg in medicine session {clinical.id}")
    db.session.commit()
    flash(f"Dose of {dose_mg} mg recorded.", "success")
    return redirect(url_for("courses.show_session", session_id=clinical.id) + "#doses")
