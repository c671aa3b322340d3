"""Administration: staff accounts and clinic settings. Admins open no clinical record."""

from __future__ import annotations

import datetime as dt
import re

from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import func, select
from sqlalchemy.orm import joinedload, selectinload

from .. import settings as clinic_settings
from ..access import requires
from ..extensions import db
from ..forms import submitted
from ..main import conflicts
from ..models import LoginAttempt, SettingChange, Site, User, utcnow
from ..rules import settings as registry
from ..rules.access import Permission, Role
from ..services import apply_problems
from ..services import staff as staff_commands
from ..services.once import told
from . import bp
from .forms import (
    EditUserForm,
    NewUserForm,
    ResetPasswordForm,
    StaffSitesForm,
    grouped_fields,
    grouped_site_fields,
    settings_form,
    site_settings_form,
)


def _get_user(user_id: int) -> User:
    user = db.session.get(User, user_id)
    if user is None:
        abort(404)
    return user


def _locked_emails() -> set[str]:
    """Emails over the failed sign-in threshold right now."""
    since = utcnow() - dt.timedelta(minutes=clinic_settings.get("auth.lockout_minutes"))
    rows = db.session.execute(
        select(LoginAttempt.email)
        .where(LoginAttempt.at > since, LoginAttempt.succeeded.is_(False))
        .group_by(LoginAttempt.email)
        .having(func.count() >= clinic_settings.get("auth.lockout_threshold"))
    )
    return {email for (email,) in rows}


def _to_account(user: User, outcome=None):
    """Back to the account's page, telling the outcome."""
    if outcome is not None:
        flash(told(outcome), outcome.category)
    return redirect(url_for("admin.user_edit", user_id=user.id))


@bp.route("/users")
@requires(Permission.MANAGE_USERS)
def users():
    # Where each works, in one more query however many accounts (the Sites column).
    rows = db.session.scalars(select(User).options(selectinload(User.sites))
                              .order_by(User.active.desc(), User.name)).all()
    return render_template("admin/users.html", users=rows, locked=_locked_emails())


@bp.route("/users/new", methods=["GET", "POST"])
@requires(Permission.MANAGE_USERS)
def user_new():
    form = NewUserForm()
    return submitted(form, staff_commands.create_user, url_for("admin.users")) or render_template(
        "admin/user_new.html", form=form)


def _saved_form(user: User) -> EditUserForm:
    """The edit form filled from the account as it is saved now, with its version."""
    form = EditUserForm(formdata=None, obj=user)
    form.role.data = user.role.value
    form.version.data = staff_commands.version_of(user)
    return form


def _sites_form(user: User) -> StaffSitesForm | None:
    """Where the account works, as saved; administrators work at no site (no form)."""
    if user.role == Role.ADMIN:
        return None
    form = StaffSitesForm(formdata=None, network_lead=user.network_lead)
    form.sites.data = [str(site.id) for site in staff_commands.sites_of(user)]
    return form


def _account_page(user: User, form: EditUserForm, reset: ResetPasswordForm, status: int = 200, *,
                  sites_form: StaffSitesForm | None = None):
    return render_template("admin/user_edit.html", user=user, form=form, reset=reset,
                           sites_form=sites_form or _sites_form(user),
                           locked=user.email in _locked_emails()), status


@bp.route("/users/<int:user_id>", methods=["GET", "POST"])
@requires(Permission.MANAGE_USERS)
def user_edit(user_id: int):
    user = _get_user(user_id)
    form = EditUserForm(obj=user)
    if not form.is_submitted():
        form = _saved_form(user)
    if form.validate_on_submit():
        outcome = staff_commands.edit_user(user, form.data, current_user)
        if outcome.conflict:
            return _user_conflict(user, form)
        if outcome.ok:
            return _to_account(user, outcome)
        for message in apply_problems(form, outcome):
            flash(message, "error")
    return _account_page(user, form, ResetPasswordForm(prefix="reset"))


def _user_conflict(user: User, yours: EditUserForm):
    """409: the account as saved now beside what this administrator sent."""
    db.session.refresh(user)
    saved = EditUserForm(formdata=None, obj=user)
    saved.role.data = user.role.value
    saved_by, saved_at = conflicts.last_saved("user", user.id)
    conflict = conflicts.Conflict(what="account", rows=conflicts.compare(saved, yours),
                                  saved_by=saved_by, saved_at=saved_at,
                                  restart_url=url_for("admin.user_edit", user_id=user.id))
    return render_template("errors/conflict.html", conflict=conflict), 409


@bp.route("/users/<int:user_id>/reset-password", methods=["POST"])
@requires(Permission.MANAGE_USERS)
def user_reset_password(user_id: int):
    user = _get_user(user_id)
    reset = ResetPasswordForm(prefix="reset", user=user)
    if not reset.validate_on_submit():
        return _account_page(user, _saved_form(user), reset, 400)
    return _to_account(user, staff_commands.reset_password(user, reset.data, current_user))


@bp.route("/users/<int:user_id>/sites", methods=["POST"])
@requires(Permission.MANAGE_USERS)
def user_sites(user_id: int):
    user = _get_user(user_id)
    form = StaffSitesForm()
    if form.validate_on_submit():
        outcome = staff_commands.set_sites(user, form.data, current_user)
        if outcome.ok:
            return _to_account(user, outcome)
        apply_problems(form, outcome)
    return _account_page(user, _saved_form(user), ResetPasswordForm(prefix="reset"), 422, sites_form=form)


@bp.route("/users/<int:user_id>/unlock", methods=["POST"])
@requires(Permission.MANAGE_USERS)
def user_unlock(user_id: int):
    user = _get_user(user_id)
    return _to_account(user, staff_commands.unlock(user, {}, current_user))


@bp.route("/users/<int:user_id>/active", methods=["POST"])
@requires(Permission.MANAGE_USERS)
def user_toggle_active(user_id: int):
    user = _get_user(user_id)
    return _to_account(user, staff_commands.toggle_active(user, {}, current_user))


def _settings_site() -> Site | None:
    """The site whose settings the page shows (``?site=<id>``); None for the network's. Anything
    but the id of a site is a 404."""
    raw = request.args.get("site", "")
    if raw == "":
        return None
    site = db.session.get(Site, int(raw)) if re.fullmatch(r"[0-9]{1,9}", raw) else None
    if site is None:
        abort(404)
    return site


def _all_sites() -> list[Site]:
    """Every site, active first, by name: the page's site selector."""
    return list(db.session.scalars(select(Site).order_by(Site.active.desc(), Site.name)))


def _history(site: Site | None) -> list[SettingChange]:
    """The 50 newest changes of the network's values, or of ``site``'s own."""
    where = SettingChange.site_id.is_(None) if site is None else SettingChange.site_id == site.id
    return list(db.session.scalars(
        select(SettingChange).options(joinedload(SettingChange.changed_by)).where(where)
        .order_by(SettingChange.id.desc()).limit(50)))


@bp.route("/settings", methods=["GET", "POST"])
@requires(Permission.MANAGE_SETTINGS)
def settings():
    site = _settings_site()
    if site is not None:
        return _site_settings(site)
    values = clinic_settings.network()
    form = settings_form(values)
    if not form.is_submitted():
        # The revision as read now: a save names it, so of two saves racing, one loses.
        form.version.data = str(clinic_settings.revision(fresh=True).version)
    else:
        form.validate()  # every field is checked on every submit, so all problems show at once
        outcome = staff_commands.save_settings(values, form.data, current_user, form_errors=form.errors)
        if outcome.conflict:
            return _settings_conflict(form, clinic_settings.network())
        if outcome.ok:
            flash(outcome.message, outcome.category)
            return redirect(url_for("admin.settings"))
        for message in apply_problems(form, outcome):
            flash(message, "error")
    sites = _all_sites()
    stored = clinic_settings.stored()
    # Where a network value does not hold: {key: [(site, its value)]}.
    overridden_at = {}
    for other in sites:
        for key, value in stored.overrides.get(other.id, {}).items():
            overridden_at.setdefault(key, []).append((other, value))
    return render_template("admin/settings.html", form=form, groups=grouped_fields(form), history=_history(None),
                           specs=registry.SPECS_BY_KEY, sites=sites, site=None, overridden_at=overridden_at)


def _site_settings(site: Site):
    """A site's page: its own values of the per-site settings (an override each), the box that
    gives one back to the network's value, and the settings that hold at every site, read-only."""
    network, values = clinic_settings.network(), clinic_settings.current(site.id)
    overridden = set(clinic_settings.overrides(site.id))
    form = site_settings_form(values, network, overridden)
    if not form.is_submitted():
        form.version.data = str(clinic_settings.revision(fresh=True).version)
    else:
        form.validate()
        outcome = staff_commands.save_site_settings(site, values, overridden, form.data, current_user,
                                                    form_errors=form.errors)
        if outcome.conflict:
            return _settings_conflict(form, clinic_settings.current(site.id), site=site)
        if outcome.ok:
            flash(outcome.message, outcome.category)
            return redirect(url_for("admin.settings", site=site.id))
        for message in apply_problems(form, outcome):
            flash(message, "error")
    network_wide = [spec for spec in registry.SPECS if not spec.per_site]
    return render_template("admin/settings.html", form=form, groups=grouped_site_fields(form, overridden),
                           history=_history(site), specs=registry.SPECS_BY_KEY, sites=_all_sites(), site=site,
                           network=network, network_wide=network_wide)


def _settings_conflict(yours, values: dict, *, site: Site | None = None):
    """409: a setting was changed since this form was opened; the values in force (at ``site``,
    else the network's) beside the ones this administrator sent."""
    if site is None:
        saved = settings_form(values, formdata=None)
    else:
        saved = site_settings_form(values, clinic_settings.network(), set(clinic_settings.overrides(site.id)),
                                   formdata=None)
    newest = db.session.scalars(
        select(SettingChange).options(joinedload(SettingChange.changed_by))
        .order_by(SettingChange.id.desc()).limit(1)
    ).first()
    conflict = conflicts.Conflict(
        what="settings page" if site is None else f"settings page of {site.name}",
        rows=conflicts.compare(saved, yours, skip={"reason", "approved_by"}),
        saved_by=newest.changed_by.name if newest else None,
        saved_at=newest.changed_at if newest else None,
        restart_url=url_for("admin.settings", site=site.id if site is not None else None),
    )
    return render_template("errors/conflict.html", conflict=conflict), 409
