"""Administration: staff accounts and clinic settings. Admins open no clinical record."""

from __future__ import annotations

from flask import abort, flash, g, redirect, render_template, url_for
from flask_login import current_user
from sqlalchemy import func, select, update
from sqlalchemy.orm import joinedload
from sqlalchemy.orm.exc import StaleDataError
from wtforms import StringField
from wtforms.validators import DataRequired

from .. import settings as clinic_settings
from ..access import requires
from ..auditing import record
from ..auth import sessions
from ..extensions import db
from ..forms import no_control_characters
from ..main import conflicts
from ..models import AuditAction, LoginAttempt, SettingChange, User, normalise_email, utcnow
from ..rules import settings as registry
from ..rules.access import Permission, Role
from . import bp
from .forms import EditUserForm, NewUserForm, ResetPasswordForm, SettingsForm


def _get_user(user_id: int) -> User:
    user = db.session.get(User, user_id)
    if user is None:
        abort(404)
    return user


def _locked_emails() -> set[str]:
    """Emails over the failed sign-in threshold right now."""
    import datetime as dt

    since = utcnow() - dt.timedelta(minutes=clinic_settings.get("auth.lockout_minutes"))
    rows = db.session.execute(
        select(LoginAttempt.email)
        .where(LoginAttempt.at > since, LoginAttempt.succeeded.is_(False))
        .group_by(LoginAttempt.email)
        .having(func.count() >= clinic_settings.get("auth.lockout_threshold"))
    )
    return {email for (email,) in rows}


def _would_remove_last_admin(user: User, *, new_role: str | None = None, deactivate=False) -> bool:
    if user.role != Role.ADMIN or not user.active:
        return False
    if not deactivate and (new_role is None or new_role == Role.ADMIN.value):
        return False
    others = db.session.scalar(
        select(func.count()).where(User.role == Role.ADMIN, User.active.is_(True), User.id != user.id)
    )
    return others == 0


@bp.route("/users")
@requires(Permission.MANAGE_USERS)
def users():
    rows = db.session.scalars(select(User).order_by(User.active.desc(), User.name)).all()
    return render_template("admin/users.html", users=rows, locked=_locked_emails())


@bp.route("/users/new", methods=["GET", "POST"])
@requires(Permission.MANAGE_USERS)
def user_new():
    form = NewUserForm()
    if form.validate_on_submit():
        user = User(
            name=form.name.data,
            email=normalise_email(form.email.data),
            role=Role(form.role.data),
            password_hash=sessions.hash_password(form.password.data),
        )
        db.session.add(user)
        db.session.flush()
        record(AuditAction.CREATE, "user", user.id, detail=f"role {user.role.value}")
        db.session.commit()
        flash(f"Account created for {user.name}.", "success")
        return redirect(url_for("admin.users"))
    return render_template("admin/user_new.html", form=form)


@bp.route("/users/<int:user_id>", methods=["GET", "POST"])
@requires(Permission.MANAGE_USERS)
def user_edit(user_id: int):
    user = _get_user(user_id)
    loaded_name, loaded_role = user.name, user.role
    loaded_version = conflicts.fingerprint(loaded_name, loaded_role.value)
    form = EditUserForm(obj=user)
    if form.is_submitted() is False:
        form.role.data = user.role.value
        form.version.data = loaded_version
    reset = ResetPasswordForm(prefix="reset")
    if form.validate_on_submit():
        if form.version.data != loaded_version:
            return _user_conflict(user, form)
        if _would_remove_last_admin(user, new_role=form.role.data):
            form.role.errors.append("This is the last active administrator: keep the role.")
        else:
            changed = [name for name, old, new in (("name", loaded_name, form.name.data),
                                                    ("role", loaded_role.value, form.role.data))
                       if old != new]
            if changed:
                # Only over the name and role this form was opened with: a change saved by someone
                # else in the meantime matches no row, and is shown rather than overwritten.
                result = db.session.execute(
                    update(User)
                    .where(User.id == user.id, User.name == loaded_name, User.role == loaded_role)
                    .values(name=form.name.data, role=Role(form.role.data))
                    .execution_options(synchronize_session=False)
                )
                if result.rowcount != 1:
                    db.session.rollback()
                    return _user_conflict(_get_user(user_id), form)
                db.session.expire(user)
                if "role" in changed:
                    # A new role means new permissions: end the sessions that hold the old ones.
                    sessions.revoke_all(user, "role changed")
                record(AuditAction.UPDATE, "user", user.id, detail="changed: " + ", ".join(changed))
                db.session.commit()
                flash("Account updated.", "success")
            else:
                flash("Nothing was changed.", "info")
            return redirect(url_for("admin.user_edit", user_id=user.id))
    return render_template(
        "admin/user_edit.html", user=user, form=form, reset=reset,
        locked=user.email in _locked_emails(),
    )


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
        form = EditUserForm(obj=user)
        form.role.data = user.role.value
        form.version.data = conflicts.fingerprint(user.name, user.role.value)
        return render_template(
            "admin/user_edit.html", user=user, form=form, reset=reset,
            locked=user.email in _locked_emails(),
        ), 400
    user.password_hash = sessions.hash_password(reset.password.data)
    user.password_changed_at = utcnow()
    sessions.revoke_all(user, "password reset")
    sessions.clear_failures(user.email)
    record(AuditAction.UPDATE, "user", user.id, detail="password reset by administrator")
    db.session.commit()
    flash(f"Password reset for {user.name}; their open sessions were ended.", "success")
    return redirect(url_for("admin.user_edit", user_id=user.id))


@bp.route("/users/<int:user_id>/unlock", methods=["POST"])
@requires(Permission.MANAGE_USERS)
def user_unlock(user_id: int):
    user = _get_user(user_id)
    sessions.clear_failures(user.email)
    record(AuditAction.UPDATE, "user", user.id, detail="sign-in lockout cleared")
    db.session.commit()
    flash(f"{user.name} can sign in again.", "success")
    return redirect(url_for("admin.user_edit", user_id=user.id))


@bp.route("/users/<int:user_id>/active", methods=["POST"])
@requires(Permission.MANAGE_USERS)
def user_toggle_active(user_id: int):
    user = _get_user(user_id)
    if user.active:
        if user.id == current_user.id:
            flash("You cannot deactivate your own account.", "error")
            return redirect(url_for("admin.user_edit", user_id=user.id))
        if _would_remove_last_admin(user, deactivate=True):
            flash("This is the last active administrator and cannot be deactivated.", "error")
            return redirect(url_for("admin.user_edit", user_id=user.id))
        user.active = False
        ended = sessions.revoke_all(user, "deactivated")
        record(AuditAction.UPDATE, "user", user.id, detail="deactivated")
        flash(f"{user.name} is deactivated; {ended} open session(s) ended.", "success")
    else:
        user.active = True
        record(AuditAction.UPDATE, "user", user.id, detail="reactivated")
        flash(f"{user.name} is active again.", "success")
    db.session.commit()
    return redirect(url_for("admin.user_edit", user_id=user.id))


def _settings_form(values: dict, **kwargs):
    """A SettingsForm with one text field per setting, labelled and validated by its spec."""

    class Form(SettingsForm):
        pass

    for spec in registry.SPECS:
        setattr(
            Form, _field_name(spec.key),
            StringField(spec.label, validators=[DataRequired(f"Enter a value for {spec.label.lower()}."),
                                                no_control_characters],
                        description=" ".join(p for p in (spec.help, f"Default {spec.default} {spec.unit}.".replace(" .", ".")) if p),
                        default=str(values[spec.key])),
        )
    return Form(**kwargs)


def _field_name(key: str) -> str:
    return "s_" + key.replace(".", "__")


@bp.route("/settings", methods=["GET", "POST"])
@requires(Permission.MANAGE_SETTINGS)
def settings():
    values = clinic_settings.current()
    form = _settings_form(values)
    groups: dict[str, list] = {}
    for spec in registry.SPECS:
        groups.setdefault(spec.group, []).append((spec, form[_field_name(spec.key)]))
    # The revision as read now: a save below names it, so of two saves racing, one loses.
    version = str(clinic_settings.revision(fresh=True).version)
    if not form.is_submitted():
        form.version.data = version
    elif form.version.data != version:
        return _settings_conflict(form, values)
    if form.is_submitted():
        # Every field is checked on every submit, so all problems show at once.
        ok = form.validate()
        parsed = {}
        for spec in registry.SPECS:
            field = form[_field_name(spec.key)]
            if field.errors:
                continue
            try:
                parsed[spec.key] = spec.parse(field.data)
            except ValueError as exc:
                field.errors.append(str(exc))
                ok = False
        changed = [k for k, v in parsed.items() if v != values[k]]
        clinical = [k for k in changed if registry.SPECS_BY_KEY[k].clinical]
        if ok and clinical and not form.approved_by.data:
            form.approved_by.errors.append(
                "Name the medical lead who signed off the change to: "
                + ", ".join(registry.SPECS_BY_KEY[k].label for k in clinical) + "."
            )
            ok = False
        if ok:
            for key in changed:
                clinic_settings.change(
                    key, parsed[key], user=current_user, reason=form.reason.data,
                    approved_by=form.approved_by.data if registry.SPECS_BY_KEY[key].clinical else None,
                )
            if changed:
                record(AuditAction.UPDATE, "setting", detail="changed: " + ", ".join(changed))
                try:
                    db.session.commit()
                except StaleDataError:  # another administrator's save won by a moment
                    db.session.rollback()
                    g.pop("kap_settings", None)
                    return _settings_conflict(form, clinic_settings.current())
                flash(f"{len(changed)} setting(s) changed.", "success")
            else:
                flash("No setting was changed.", "info")
            return redirect(url_for("admin.settings"))
    history = db.session.scalars(
        select(SettingChange)
        .options(joinedload(SettingChange.changed_by))
        .order_by(SettingChange.id.desc())
        .limit(50)
    ).all()
    return render_template(
        "admin/settings.html", form=form, groups=groups, history=history,
        specs=registry.SPECS_BY_KEY,
    )


def _settings_conflict(yours, values: dict):
    """409: a setting was changed since this form was opened; the values in force beside the
    ones this administrator sent."""
    saved = _settings_form(values, formdata=None)
    newest = db.session.scalars(
        select(SettingChange).options(joinedload(SettingChange.changed_by))
        .order_by(SettingChange.id.desc()).limit(1)
    ).first()
    conflict = conflicts.Conflict(
        what="settings page",
        rows=conflicts.compare(saved, yours, skip={"reason", "approved_by"}),
        saved_by=newest.changed_by.name if newest else None,
        saved_at=newest.changed_at if newest else None,
        restart_url=url_for("admin.settings"),
    )
    return render_template("errors/conflict.html", conflict=conflict), 409
