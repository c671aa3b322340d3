"""What the course and session pages load and render, and their forms as the pages fill them
(the routes are in views.py and sessions.py; the writes are kaptracker.services commands)."""

from __future__ import annotations

from flask import render_template, request, url_for
from flask_login import current_user
from sqlalchemy.orm import joinedload, selectinload

from .. import clock
from ..access import get_session_for
from ..auditing import shown
from ..extensions import db
from ..forms import choices
from ..main import conflicts
from ..models import (
    ClinicalSession,
    Course,
    DosingSession,
    IntegrationSession,
    Screening,
    SessionKind,
    utcnow,
)
from ..outcomes import service as outcome_service
from ..outcomes.panel import medicine_dates, panel
from ..rules import phases
from ..rules.access import Permission, may_write
from ..services import Outcome, apply_problems
from ..supervision.panel import review_panel
from ..services import sessions as session_commands  # the module: it imports this package's service
from ..templating import localtime
from ..vitals import chart
from ..vitals import service as vitals_service
from . import service
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


def _writes_for(course: Course, **rule) -> bool:
    return may_write(current_user.role, user_id=current_user.id, therapist_id=course.client.therapist_id, **rule)


# --- the course page ----------------------------------------------------------------------------


def render_course(course: Course, *, status: int = 200, **forms):
    """The course page; ``forms`` carries a failed form back with its messages (outcome-score
    flag acknowledgements, review comments)."""
    sessions = service.load_course_sessions(course)
    facts = service.facts(course, sessions)
    home = course.client.home_site_id  # a course's rules are its client's home site's
    due_days = service.settings.get("integration.due_days", home)
    can = {kind: course.is_open and _writes_for(course, kind=kind)
           for kind in ("screening", "preparation", "dosing", "integration")}
    scores = outcome_service.scores_of([course.id])
    outcomes = panel(course, course.client, scores, medicine_dates([course.id])[course.id], facts,
                     failed=forms.get("failed_score_forms"))
    reviews = review_panel(course, **{k: v for k, v in forms.items() if k in ("comment_form", "reply_form",
                                                                              "reply_to_id")})
    return render_template(
        "courses/show.html",
        course=course,
        client=course.client,
        sessions=sessions,
        phase=phases.phase(facts),
        next_step=phases.next_step(facts),
        blockers=phases.medicine_blockers(facts),
        warnings=phases.medicine_warnings(facts) if course.is_open else [],
        overdue={m.id for m in phases.overdue_integrations(facts, utcnow(), due_days)},
        facts=facts,
        can=can,
        has_screening=any(s.kind.value == "screening" for s in sessions),
        integration_due=lambda s: service.integration_due(s, home),
        integrated={s.dosing_session_id for s in sessions if s.kind.value == "integration"},
        may_end=course.is_open and _writes_for(course, permission=Permission.MANAGE_COURSE),
        DosingSession=DosingSession,
        due_days=due_days,
        alerts=vitals_service.open_alerts([s.id for s in sessions]),
        outcomes=outcomes,
        reviews=reviews,
    ), status


# --- a session's page ---------------------------------------------------------------------------


def refused(course: Course, title: str, reasons: list[str], status: int = 409):
    """A refusal with its reasons in plain words, and the way back."""
    return render_template("sessions/refused.html", course=course, client=course.client,
                           title=title, reasons=reasons), status


def load_session(session_id: int) -> ClinicalSession:
    """The session (as the user may see it) with what its page shows: course, client, people,
    addenda and, for a medicine session, its doses."""
    clinical = get_session_for(current_user, session_id, options=(
        joinedload(ClinicalSession.course).joinedload(Course.client),
        joinedload(ClinicalSession.author),
        joinedload(ClinicalSession.site),
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


def render_show(clinical, *, administration_form=None, addendum_form=None, preview=None, status=200):
    course = clinical.course
    edit_reason = session_commands.edit_refusal(clinical, current_user)
    dose_check = None
    if isinstance(clinical, DosingSession):
        if administration_form is None and edit_reason is None:
            administration_form = _new_administration_form(clinical)
        if clinical.administrations:
            dose_check = service.dose_check(clinical)
    vitals, vitals_chart, open_alerts = _vitals_of(clinical)
    integrates = None
    if isinstance(clinical, IntegrationSession):
        integrates = db.session.get(DosingSession, clinical.dosing_session_id)
    return render_template(
        "sessions/show.html", session=clinical, course=course, client=course.client,
        details=DETAILS[clinical.kind], edit_reason=edit_reason,
        sign_reason=session_commands.sign_refusal(clinical, current_user),
        cosign_reason=service.cosignable_reason(clinical, current_user),
        addendum_reason=service.addendum_reason(clinical, current_user),
        addendum_form=addendum_form or AddendumForm(),
        administration_form=administration_form, preview=preview, dose_check=dose_check,
        dose_range=service.dose_range(clinical.route, clinical.site_id) if isinstance(clinical, DosingSession) else None,
        integrates=integrates, confirm_form=ConfirmForm(), vitals=vitals, vitals_chart=vitals_chart,
        open_alerts=open_alerts, injection_sites=INJECTION_SITES,
    ), status


def _new_administration_form(clinical: DosingSession):
    form = ADMINISTRATION_FORMS[clinical.route]()
    form.given_at.data = clock.local_now()
    if clinical.weight_kg and hasattr(form, "weight_kg"):
        form.weight_kg.data = clinical.weight_kg
    return form


def _vitals_of(clinical):
    """(readings, chart, open alerts) of a screening or a medicine session; nothing for the others."""
    if not isinstance(clinical, DosingSession | Screening):
        return None, None, []
    vitals = vitals_service.readings_of(clinical)
    vitals_chart = chart.build(
        vitals_service.as_rule_readings(vitals),
        [a.given_at for a in clinical.administrations] if isinstance(clinical, DosingSession) else [],
        vitals_service.thresholds_now(clinical.site_id), lambda d: localtime(d, "%H:%M"),
    )
    return vitals, vitals_chart, vitals_service.open_alerts([clinical.id])


def render_dose_problems(clinical: DosingSession, form, outcome: Outcome, *, preview=None, status=400):
    """The session page with the dose form and the command's problems beside its fields."""
    apply_problems(form, outcome)
    return render_show(clinical, administration_form=form, preview=preview, status=status)


# --- session forms ------------------------------------------------------------------------------


def _integration_choices(sessions) -> list:
    return choices(
        (s.id, f"{localtime(s.occurred_at, '%d %b %Y')} ({s.route.label})")
        for s in sessions if isinstance(s, DosingSession)
    )


def new_session_form(course: Course, kind: SessionKind, sessions, facts: phases.CourseFacts):
    """The form that opens a session of ``kind``, filled with what is likely when first shown."""
    form = (NewDosingForm if kind is SessionKind.DOSING else FORMS[kind])()
    form.site_id.choices = _site_choices(course.client.home_site_id)
    if isinstance(form, IntegrationForm):
        form.dosing_session_id.choices = _integration_choices(sessions)
    if not form.is_submitted():
        form.site_id.data = str(course.client.home_site_id)
        form.occurred_at.data = clock.local_now()
        if isinstance(form, NewDosingForm):
            form.route.data = course.planned_route.value
            form.eye_shades.data = form.music.data = True
        if isinstance(form, IntegrationForm):
            pending = [m.id for m in facts.medicine_sessions if not m.integrated]
            form.dosing_session_id.data = (pending or [facts.medicine_sessions[-1].id])[0]
    return form


def _site_choices(current: int) -> list:
    """The sites a session may take place at: the active ones, and the one it is at."""
    return choices((str(site.id), site.name) for site in session_commands.session_sites(current))


def _prepare_session_form(form, clinical: ClinicalSession, *, sent_only: bool) -> None:
    form.site_id.choices = _site_choices(clinical.site_id)
    if not sent_only or "site_id" not in request.form:
        form.site_id.data = str(clinical.site_id)
    if isinstance(form, IntegrationForm):
        form.dosing_session_id.choices = _integration_choices(service.load_course_sessions(clinical.course))
    for name in session_commands.TIME_FIELDS:
        # Shown (and, when a POST leaves the field out, kept) in clinic time like a typed value,
        # never as the stored UTC value that the form took from the session.
        if name in form._fields and (not sent_only or name not in request.form):
            form[name].data = clock.utc_to_local(getattr(clinical, name))


def edit_form(clinical: ClinicalSession):
    """The edit form: as saved now when first shown, else as sent."""
    if request.method != "POST":
        return saved_session_form(clinical)
    form = FORMS[clinical.kind](obj=clinical)
    _prepare_session_form(form, clinical, sent_only=True)
    return form


def saved_session_form(clinical: ClinicalSession):
    """The edit form filled from the session as it is saved now, with its current version."""
    form = FORMS[clinical.kind](formdata=None, obj=clinical)
    _prepare_session_form(form, clinical, sent_only=False)
    form.version.data = str(clinical.version)
    if isinstance(clinical, Screening):
        form.decision.data = clinical.decision.value if clinical.decision else None
    return form


def render_session_form(clinical: ClinicalSession, form):
    course = clinical.course
    return render_template("sessions/form.html", form=form, course=course, client=course.client,
                           kind=clinical.kind, session=clinical, warnings=[],
                           decides=session_commands.decides(clinical, current_user))


def session_conflict(clinical: ClinicalSession, yours):
    """409: the saved session beside what this user sent; the form starts again from the saved one."""
    decides = session_commands.decides(clinical, current_user)
    saved = saved_session_form(clinical)
    saved_by, saved_at = conflicts.last_saved(clinical.kind.value, clinical.id)
    conflict = conflicts.Conflict(
        what=clinical.kind.label.lower(),
        rows=conflicts.compare(saved, yours, skip=() if decides else session_commands.DECISION_FIELDS),
        saved_by=saved_by, saved_at=saved_at or clinical.updated_at,
        restart_url=url_for("courses.edit_session", session_id=clinical.id),
    )
    course = clinical.course
    shown(clinical.kind.value, clinical.id, client_id=course.client_id,
          detail="edit conflict: saved version shown")
    return render_template("sessions/form.html", form=saved, course=course, client=course.client,
                           kind=clinical.kind, session=clinical, warnings=[], decides=decides,
                           conflict=conflict), 409


def sign_forms(clinical: ClinicalSession):
    """(form, confirm): a screening's decision form (else a confirm box) and the confirm box."""
    if not isinstance(clinical, Screening):
        return ConfirmForm(), ConfirmForm(prefix="c")
    form = ScreeningForm(obj=clinical)
    if not form.is_submitted():
        form.decision.data = clinical.decision.value if clinical.decision else None
    return form, ConfirmForm(prefix="c")


def sign_forms_valid(clinical: ClinicalSession, form, confirm) -> bool:
    """The confirm box ticked and, for a screening, the decision's texts valid (length, control
    characters: the screening form as a whole is not validated here). When not, a screening's
    decision problems are shown beside their fields too."""
    valid = confirm.validate_on_submit()
    if isinstance(clinical, Screening):
        for name in session_commands.DECISION_FIELDS[1:]:
            valid = form[name].validate(form) and valid
        if not valid:
            apply_problems(form, Outcome(problems=session_commands.decision_problems(clinical, form.data)))
    return valid


def render_sign(clinical: ClinicalSession, form, confirm, problems: list[str]):
    course = clinical.course
    return render_template("sessions/sign.html", session=clinical, course=course, client=course.client,
                           form=form, confirm=confirm, problems=problems,
                           is_screening=isinstance(clinical, Screening), details=DETAILS[clinical.kind])
