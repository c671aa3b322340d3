"""Home and health check."""

from __future__ import annotations

from flask import current_app, jsonify, redirect, url_for
from flask_login import current_user
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from ..access import public, signed_in
from ..extensions import db
from ..rules.access import Permission, may
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
