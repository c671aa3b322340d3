"""Friendly error pages. The 500 handler rolls the database session back."""

from __future__ import annotations

from flask import g, render_template, request
from flask_wtf.csrf import CSRFError
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm.exc import StaleDataError
from werkzeug.exceptions import HTTPException, InternalServerError

from ..extensions import db, login_manager
from . import bp
from .conflicts import NEVER_SHOWN, Conflict, Row

MESSAGES = {
    400: ("The request could not be understood", "Something in what was sent was not valid."),
    403: ("Not allowed", "Your role does not give access to this page."),
    404: ("Not found", "There is no such page, or it is not part of your caseload."),
    405: ("Not allowed", "This page cannot be used that way."),
    413: ("Too large", "What was sent is larger than this page accepts."),
    429: ("Too many requests", "Please wait a moment and try again."),
}


def _page(status: int, title: str, message: str):
    return render_template("errors/error.html", status=status, title=title, message=message), status


@bp.app_errorhandler(CSRFError)
def csrf_error(error):
    return _page(
        400,
        "This form has expired",
        "The page was open too long or was sent from somewhere else, so nothing was saved. "
        "Go back, reload the page and submit it again.",
    )


@bp.app_errorhandler(HTTPException)
def http_error(error: HTTPException):
    if isinstance(error, InternalServerError):
        return server_error(error)
    title, message = MESSAGES.get(error.code or 500, (error.name, error.description or ""))
    return _page(error.code or 500, title, message)


@bp.app_errorhandler(OperationalError)
def database_unavailable(error):
    db.session.rollback()
    request.kap_bare = True  # the layout must not query the database that just failed
    # Nor may Flask-Login's template context, which would load the signed-in user from it
    # again (and turn this page into a 500): render it as nobody.
    g._login_user = login_manager.anonymous_user()
    return _page(
        503,
        "The database is not answering",
        "Nothing was lost that was already saved. Wait a minute and try again; if this goes on, "
        "tell whoever looks after the clinic's systems.",
    )


@bp.app_errorhandler(StaleDataError)
def concurrent_update(error):
    """A save that lost a race no view caught itself: nothing was written. The page keeps what
    the user sent, to copy, and starts again from the saved version."""
    db.session.rollback()
    rows = [
        Row(name.replace("_", " ").capitalize(), "", value)
        for name, value in request.form.items(multi=True)
        if name not in NEVER_SHOWN and "password" not in name and value.strip()
    ]
    conflict = Conflict(what="record", rows=rows, saved_known=False,
                        restart_url=request.path if request.method == "POST" else None)
    return render_template("errors/conflict.html", conflict=conflict), 409


@bp.app_errorhandler(500)
def server_error(error):
    db.session.rollback()
    request.kap_bare = True
    return _page(
        500,
        "Something went wrong",
        "The error has been logged and nothing was half-saved. Try again; if it happens again, "
        "tell whoever looks after the clinic's systems what you were doing.",
    )
