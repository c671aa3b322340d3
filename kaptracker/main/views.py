"""Home and health check."""

from __future__ import annotations

from flask import current_app, flash, jsonify, redirect, request, url_for
from flask_login import current_user
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from ..access import public, signed_in
from ..auth.views import safe_next
from ..extensions import db
from ..rules.access import Permission, may
from ..scope import switchable_sites
from ..services import sites as site_commands
from . import bp


@bp.route("/")
@signed_in
def index():
    """Each role starts where its work is."""
    if may(current_user.role, Permission.RECORD_VITALS):
        return redirect(url_for("vitals.today"))
    if may(current_user.role, Permission.VIEW_DASHBOARD):
        return redirect(url_for("dashboard.index"))
    if may(current_user.role, Permission.VIEW_CLIENTS):
        return redirect(url_for("clients.index"))
    if may(current_user.role, Permission.MANAGE_USERS):
        return redirect(url_for("admin.users"))
    return redirect(url_for("auth.account"))


@bp.route("/site", methods=["POST"])
@signed_in
def choose_site():
    """The site switcher: the lists of this signed-in session show one site, or all the user's."""
    outcome = site_commands.choose(current_user.current_session, request.form, current_user,
                                   choices=switchable_sites(current_user))
    flash(outcome.message or outcome.problems["site"][0], "success" if outcome.ok else "error")
    return redirect(safe_next(request.form.get("next")) or url_for("main.index"))


@bp.route("/healthz")
@public
def healthz():
    """200 when the app and its database answer; 503 otherwise (for load balancers)."""
    try:
        db.session.execute(text("SELECT 1"))
    except SQLAlchemyError:
        db.session.rollback()
        current_app.logger.warning("health check: database unavailable")
        return jsonify(status="error", database="unavailable"), 503
    return jsonify(status="ok", database="ok")
