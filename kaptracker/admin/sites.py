"""Administration of sites (the clinic's locations): list, add, edit, deactivate."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import func, select

from ..access import requires
from ..extensions import db
from ..forms import submitted
from ..main import conflicts
from ..models import Client, ClientStatus, Site
from ..rules.access import Permission
from ..services import apply_problems
from ..services import sites as site_commands
from . import bp
from .site_forms import EditSiteForm, SiteForm


def _get_site(site_id: int) -> Site:
    site = db.session.get(Site, site_id)
    if site is None:
        abort(404)
    return site


@bp.route("/sites")
@requires(Permission.MANAGE_SITES)
def sites():
    rows = db.session.scalars(select(Site).order_by(Site.active.desc(), Site.name)).all()
    # Clients per site and how many are not yet discharged: one GROUP BY.
    counts = {site_id: (total, open_) for site_id, total, open_ in db.session.execute(
        select(Client.home_site_id, func.count(),
               func.count().filter(Client.status != ClientStatus.DISCHARGED))
        .group_by(Client.home_site_id))}
    return render_template("admin/sites.html", sites=rows, counts=counts)


@bp.route("/sites/new", methods=["GET", "POST"])
@requires(Permission.MANAGE_SITES)
def site_new():
    form = SiteForm()
    return submitted(form, site_commands.create, url_for("admin.sites")) or (
        render_template("admin/sites_form.html", form=form, site=None), 422 if form.errors else 200)


@bp.route("/sites/<int:site_id>", methods=["GET", "POST"])
@requires(Permission.MANAGE_SITES)
def site_edit(site_id: int):
    site = _get_site(site_id)
    form = _saved_form(site) if request.method == "GET" else EditSiteForm(obj=site)
    if form.validate_on_submit():
        outcome = site_commands.edit(site, form.data, current_user)
        if outcome.conflict:  # saved by someone else since this form was opened
            return _conflict(_get_site(site_id), form)
        if outcome.ok:
            flash(outcome.message, outcome.category)
            return redirect(url_for("admin.sites"))
        apply_problems(form, outcome)
    return render_template("admin/sites_form.html", form=form, site=site,
                           open_clients=site_commands.open_clients(site)), 422 if form.errors else 200


def _saved_form(site: Site) -> EditSiteForm:
    """The edit form filled from the site as saved now, with its current version."""
    form = EditSiteForm(formdata=None, obj=site)
    form.version.data = str(site.version)
    return form


def _conflict(site: Site, yours: EditSiteForm):
    """409: the site as saved now beside what this administrator sent; the form restarts from it."""
    db.session.refresh(site)
    saved = _saved_form(site)
    saved_by, saved_at = conflicts.last_saved("site", site.id)
    conflict = conflicts.Conflict(what="site", rows=conflicts.compare(saved, yours), saved_by=saved_by,
                                  saved_at=saved_at, restart_url=url_for("admin.site_edit", site_id=site.id))
    return render_template("admin/sites_form.html", form=saved, site=site, conflict=conflict,
                           open_clients=site_commands.open_clients(site)), 409
