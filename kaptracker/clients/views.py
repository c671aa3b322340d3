"""The client registry: list and search, register, view, edit, reassign."""

from __future__ import annotations

from flask import current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.orm import joinedload, selectinload

from . import listing
from .listing import MAX_INT, positive_int
from .. import paging
from ..access import get_client_for, requires
from ..scope import listing_clause, user_site_ids
from ..auditing import changed_fields, record, shown, listed
from ..extensions import db
from ..models import IN_TREATMENT_STATUSES, AuditAction, Client, ClientStatus, Course
from ..outcomes import service as outcome_service
from ..outcomes.panel import medicine_dates, panel
from ..services import apply_problems
from ..services import clients as client_commands
from ..vitals.service import open_alert_counts_by_client
from ..rules.access import Permission, Role, may, may_see_client, may_write
from . import bp
from ..forms import choices
from ..main import conflicts
from .forms import ClientForm, ReassignForm, SearchForm, active_therapists

@bp.route("/", methods=["GET", "POST"])
@requires(Permission.VIEW_CLIENTS)
def index():
    """Clients in the user's scope. The name search is sent by POST so that names never appear
    in URLs, browser history or server logs."""
    search = SearchForm()  # POSTs are CSRF-checked by CSRFProtect (and here, when enabled)
    query_text = search.q.data if request.method == "POST" and search.validate() else None
    filters = listing.filters(request.values)
    page_number = (search.page.data if request.method == "POST" else None) or request.args.get(
        "page", 1, type=positive_int
    )
    stmt = listing.statement(listing_clause(current_user), filters, query_text)
    page = paging.paginate(
        stmt, page=page_number if 1 <= page_number <= MAX_INT else 1,
        per_page=current_app.config["CLIENTS_PER_PAGE"], count_stmt=select(Client.id).where(stmt.whereclause),
    )
    record(
        AuditAction.VIEW, "client_list",
        detail=f"page {page.page}, {len(page.items)} shown" + (", name search" if query_text else ""),
    )
    db.session.commit()
    listed(c.id for c in page.items)
    return render_template(
        "clients/index.html", page=page, search=search, query_text=query_text, filters=filters,
        therapists=active_therapists() if current_user.role != Role.THERAPIST else [],
        statuses=ClientStatus, alert_counts=open_alert_counts_by_client(c.id for c in page.items),
        several_sites=listing.several_sites(),
    )


@bp.route("/new", methods=["GET", "POST"])
@requires(Permission.CREATE_CLIENT)
def create():
    form = ClientForm()
    if current_user.role == Role.THERAPIST:
        # Therapists register clients into their own caseload.
        form.therapist_id.choices = choices([(current_user.id, current_user.name)])
        if request.method == "GET":
            form.therapist_id.data = current_user.id
    duplicates = []
    if form.validate_on_submit():
        duplicates = form.duplicates()
        outcome = client_commands.register(form.data, current_user, found=duplicates)
        if outcome.ok:
            flash(outcome.message, outcome.category)
            return redirect(url_for("clients.show", client_id=outcome.record.id))
        apply_problems(form, outcome)
    return render_template("clients/form.html", form=form, client=None, duplicates=duplicates,
                           visible_duplicates=_visible(duplicates))


def _visible(duplicates: list[Client]) -> set[int]:
    """The record number of a possible duplicate is shown only when the user may open that record."""
    return {
        d.id for d in duplicates
        if may_see_client(current_user.role, user_id=current_user.id, therapist_id=d.therapist_id,
                          in_treatment=d.status in IN_TREATMENT_STATUSES, network_lead=current_user.network_lead,
                          at_users_site=d.home_site_id in user_site_ids(current_user))
    }


@bp.route("/<int:client_id>")
@requires(Permission.VIEW_CLIENTS)
def show(client_id: int):
    client = get_client_for(
        current_user, client_id,
        options=(joinedload(Client.therapist), joinedload(Client.home_site), selectinload(Client.indication_rows)),
    )
    reassign = ReassignForm(therapist_id=client.therapist_id) if current_user.role == Role.SUPERVISOR else None
    courses = _course_summaries(client)
    may_start = (
        may(current_user.role, Permission.MANAGE_COURSE)
        and not any(c.is_open for c, _ in courses)
        and may_write(current_user.role, user_id=current_user.id, therapist_id=client.therapist_id)
    )
    # Outcome measures of every course of the client, charted: three queries whatever their number.
    ids = [c.id for c, _ in courses]
    scores = outcome_service.scores_of(ids)
    dates = medicine_dates(ids)
    outcomes = [panel(c, client, [s for s in scores if s.course_id == c.id], dates[c.id])
                for c, _ in courses]
    return render_template("clients/show.html", client=client, reassign=reassign, courses=courses,
                           may_start_course=may_start, outcomes=[o for o in outcomes if o["scores"] or o["due"]])


def _course_summaries(client: Client):
    """(course, phase) for each of the client's courses, newest first: one query (the phase is the
    stored course summary, see kaptracker/rollup.py)."""
    courses = db.session.scalars(
        select(Course).where(Course.client_id == client.id).order_by(Course.started_on.desc(), Course.id.desc())
    ).all()
    return [(c, c.phase) for c in courses]


@bp.route("/<int:client_id>/edit", methods=["GET", "POST"])
@requires(Permission.EDIT_CLIENT)
def edit(client_id: int):
    client = _load(client_id)
    form = _saved_form(client) if request.method == "GET" else _limit_choices(ClientForm(obj=client, client=client), client)
    if form.validate_on_submit():
        outcome = client_commands.edit(client, form.data, current_user, changes=changed_fields)
        if outcome.conflict:  # saved by someone else since this form was opened
            return _conflict(_load(client_id), form)
        if outcome.ok:
            flash(outcome.message, outcome.category)
            return redirect(url_for("clients.show", client_id=client.id))
        apply_problems(form, outcome)
    return render_template("clients/form.html", form=form, client=client, duplicates=[])


def _load(client_id: int) -> Client:
    return get_client_for(current_user, client_id,
                          options=(joinedload(Client.therapist), joinedload(Client.home_site),
                                   selectinload(Client.indication_rows)))


def _limit_choices(form: ClientForm, client: Client) -> ClientForm:
    if current_user.role == Role.THERAPIST:
        # Moving a client to another caseload is a supervisor's decision.
        form.therapist_id.choices = choices([(client.therapist_id, client.therapist.name)])
    return form


def _saved_form(client: Client) -> ClientForm:
    """The edit form filled from the record as it is saved now, with its current version."""
    form = _limit_choices(ClientForm(formdata=None, obj=client, client=client), client)
    form.indications.data = [i.value for i in client.indications]
    form.status.data = client.status.value
    form.version.data = str(client.version)
    return form


def _conflict(client: Client, yours: ClientForm):
    """409: the saved record beside what this user sent; the form starts again from the saved one."""
    saved = _saved_form(client)
    saved_by, saved_at = conflicts.last_saved("client", client.id)
    conflict = conflicts.Conflict(
        what="client", rows=conflicts.compare(saved, yours, skip={"confirm_duplicate"}),
        saved_by=saved_by, saved_at=saved_at or client.updated_at,
        restart_url=url_for("clients.edit", client_id=client.id),
    )
    # The page shows the saved record: a view of patient data.
    shown("client", client.id, client_id=client.id, detail="edit conflict: saved version shown")
    return render_template("clients/form.html", form=saved, client=client, duplicates=[],
                           conflict=conflict), 409


@bp.route("/<int:client_id>/reassign", methods=["POST"])
@requires(Permission.REASSIGN_CLIENT)
def reassign(client_id: int):
    client = _load(client_id)
    form = ReassignForm()
    if not form.validate_on_submit():
        flash("Choose an active therapist to reassign this client to.", "error")
    else:
        outcome = client_commands.reassign(client, form.data, current_user)
        flash(outcome.message, outcome.category)
    return redirect(url_for("clients.show", client_id=client.id))
