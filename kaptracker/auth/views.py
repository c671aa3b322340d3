"""Sign in, sign out, and each user's own account page."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import flash, g, redirect, render_template, request, url_for
from flask_login import current_user, logout_user
from werkzeug.security import check_password_hash

from .. import settings
from ..access import public, signed_in
from ..auditing import record
from ..extensions import db, login_manager
from ..models import AuditAction, normalise_email, utcnow
from ..rules.passwords import password_problems
from . import bp, sessions
from .forms import ChangePasswordForm, LoginForm

BAD_CREDENTIALS = "The email or password is not right. Check both and try again."
THROTTLED = (
    "Too many unsuccessful sign-ins. Wait {minutes} minutes and try again, "
    "or ask an administrator to unlock your account."
)


def safe_next(target: str | None) -> str | None:
    """Only a path on this site: no scheme, no host, no protocol-relative '//' trick."""
    if not target or not target.startswith("/") or target.startswith("//"):
        return None
    if "\\" in target or any(ord(c) < 32 for c in target):
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return None
    return target


@login_manager.unauthorized_handler
def unauthorized():
    if g.get("kap_session_expired"):
        flash("You were signed out after a period of inactivity. Please sign in again.", "info")
    else:
        flash("Please sign in to continue.", "info")
    next_path = safe_next(request.full_path.rstrip("?")) if request.method == "GET" else None
    return redirect(url_for("auth.login", next=next_path))


@bp.route("/login", methods=["GET", "POST"])
@public
def login():
    if current_user.is_authenticated:
        return redirect(url_for("main.index"))
    form = LoginForm()
    if form.validate_on_submit():
        email = normalise_email(form.email.data)
        try:
            user = sessions.authenticate(email, form.password.data)
        except sessions.Throttled:
            record(AuditAction.LOGIN_FAILED, "user", detail="throttled")
            db.session.commit()
            form.password.errors.append(
                THROTTLED.format(minutes=settings.get("auth.lockout_minutes"))
            )
            return render_template("auth/login.html", form=form), 429
        if user is None:
            record(AuditAction.LOGIN_FAILED, "user", detail="bad credentials")
            db.session.commit()
            form.password.errors.append(BAD_CREDENTIALS)
            return render_template("auth/login.html", form=form), 200
        sessions.begin(user)
        record(AuditAction.LOGIN, "user", user.id, user=user)
        db.session.commit()
        return redirect(safe_next(request.args.get("next")) or url_for("main.index"))
    return render_template("auth/login.html", form=form)


@bp.route("/logout", methods=["POST"])
@signed_in
def logout():
    sessions.revoke(current_user.current_session, "logout")
    record(AuditAction.LOGOUT, "user", current_user.id)
    db.session.commit()
    logout_user()
    flash("You have signed out.", "success")
    return redirect(url_for("auth.login"))


@bp.route("/account", methods=["GET", "POST"])
@signed_in
def account():
    form = ChangePasswordForm()
    user = current_user._get_current_object()
    if form.validate_on_submit():
        if not check_password_hash(user.password_hash, form.current_password.data):
            form.current_password.errors.append("This is not your current password.")
        elif form.new_password.data == form.current_password.data:
            form.new_password.errors.append("Choose a password different from the current one.")
        elif problems := password_problems(form.new_password.data, email=user.email, name=user.name):
            form.new_password.errors.extend(problems)
        else:
            user.password_hash = sessions.hash_password(form.new_password.data)
            user.password_changed_at = utcnow()
            # Every other browser signed in as this user is signed out; this one gets a new
            # session identity, so a copy of the old cookie is useless.
            sessions.revoke_all(user, "password changed")
            record(AuditAction.UPDATE, "user", user.id, detail="password")
            sessions.begin(user)
            db.session.commit()
            flash("Your password has been changed. Other sessions were signed out.", "success")
            return redirect(url_for("auth.account"))
    return render_template("auth/account.html", form=form)
