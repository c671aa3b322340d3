"""Applying the access policy of :mod:`kaptracker.rules.access` to requests and queries.

Every view function declares who may use it with exactly one of :func:`public`,
:func:`signed_in` or :func:`requires`. A view with no declaration is refused for everybody
(see :func:`enforce_declared_access`): forgetting the decorator fails closed.
"""

from __future__ import annotations

import functools
from collections.abc import Callable

from flask import abort, current_app, g, request
from flask_login import current_user
from sqlalchemy import select

from .auditing import record, shown
from .extensions import db, login_manager
from .models import AuditAction, Client, ClinicalSession, Course, Site
from .rules.access import Permission, may
from .scope import client_scope_clause
from .settings import use_site

ACCESS_ATTR = "_kap_access"


def public(view: Callable) -> Callable:
    """Open to anyone, signed in or not (login page, health check, static files)."""
    setattr(view, ACCESS_ATTR, "public")
    return view


def signed_in(view: Callable) -> Callable:
    """Any signed-in, active user (their own account page, sign-out, home)."""

    @functools.wraps(view)
    def wrapper(*args, **kwargs):
        if not current_user.is_authenticated:
            return login_manager.unauthorized()
        return view(*args, **kwargs)

    setattr(wrapper, ACCESS_ATTR, "signed_in")
    return wrapper


def requires(permission: Permission) -> Callable[[Callable], Callable]:
    """Signed in, and the user's role holds ``permission``; otherwise 403 (audited)."""

    def decorator(view: Callable) -> Callable:
        @functools.wraps(view)
        def wrapper(*args, **kwargs):
            if not current_user.is_authenticated:
                return login_manager.unauthorized()
            if not may(current_user.role, permission):
                deny(403, "route", detail=f"{request.endpoint} needs {permission.value}")
            return view(*args, **kwargs)

        setattr(wrapper, ACCESS_ATTR, permission)
        return wrapper

    return decorator


def declared_access(endpoint: str):
    view = current_app.view_functions.get(endpoint)
    return getattr(view, ACCESS_ATTR, None) if view else None


def forget_cached_user() -> None:
    """before_request: authenticate every request afresh (revocation, idle timeout, deactivation).

    Flask-Login caches the user in ``g``; where an app context outlives one request (tests,
    a worker that reuses a context) that cache would skip the checks in the user loader.
    """
    g.pop("_login_user", None)
    g.pop("kap_settings", None)
    g.pop("kap_zone_name", None)
    g.pop("kap_site_id", None)


def enforce_declared_access() -> None:
    """before_request: refuse any route that does not declare its access rule."""
    if request.endpoint is None:
        return  # 404 / 405: Werkzeug answers before a view runs
    if request.endpoint == "static":
        return
    if declared_access(request.endpoint) is None:
        current_app.logger.error("route %s declares no access rule; refused", request.endpoint)
        abort(403)


def deny(status: int, record_type: str, record_id: int | None = None, *, detail: str = ""):
    """Audit a refused attempt, commit it (the request is about to end), and abort."""
    db.session.rollback()
    record(AuditAction.DENIED, record_type, record_id, detail=detail or request.path)
    db.session.commit()
    abort(status)


def get_client_for(user, client_id: int, *, options=()) -> Client:
    """The client ``client_id`` if ``user`` may see it; otherwise 404, whether the record exists
    or not (so ids cannot be probed), and the attempt is audited."""
    stmt = (
        select(Client, Site.time_zone)  # the home site's zone too: its times are shown in it
        .join(Site, Client.home_site_id == Site.id)
        .where(Client.id == client_id, client_scope_clause(user)).options(*options)
    )
    row = db.session.execute(stmt).unique().first()
    if row is None:
        deny(404, "client", client_id, detail="outside the user's scope or no such record")
    client, zone = row
    use_site(client.home_site_id, zone)  # its rules are its home site's, its times on its wall
    shown("client", client.id, client_id=client.id, default=True)  # audited after the response
    return client


def get_course_for(user, course_id: int, *, options=()) -> Course:
    """The course ``course_id`` if its client is in ``user``'s scope; otherwise an audited 404."""
    stmt = (
        select(Course, Client.home_site_id, Site.time_zone)
        .join(Client, Course.client_id == Client.id)
        .join(Site, Client.home_site_id == Site.id)
        .where(Course.id == course_id, client_scope_clause(user))
        .options(*options)
    )
    row = db.session.execute(stmt).unique().first()
    if row is None:
        deny(404, "course", course_id, detail="outside the user's scope or no such record")
    course, home_site_id, zone = row
    use_site(home_site_id, zone)  # a course follows its client's home site: its settings, its zone
    shown("course", course.id, client_id=course.client_id, default=True)
    return course


def get_session_for(user, session_id: int, *, options=()) -> ClinicalSession:
    """The session ``session_id`` if its client is in ``user``'s scope; otherwise an audited 404."""
    stmt = (
        # the client too, for the audit, and the zone of the site it happens at: no extra query
        select(ClinicalSession, Course.client_id, Site.time_zone)
        .join(Course, ClinicalSession.course_id == Course.id)
        .join(Client, Course.client_id == Client.id)
        .join(Site, ClinicalSession.site_id == Site.id)
        .where(ClinicalSession.id == session_id, client_scope_clause(user))
        .options(*options)
    )
    row = db.session.execute(stmt).unique().first()
    if row is None:
        deny(404, "session", session_id, detail="outside the user's scope or no such record")
    session, client_id, zone = row
    use_site(session.site_id, zone)  # its rules are its site's settings; its times on its wall
    shown(session.kind.value, session.id, client_id=client_id, default=True)
    return session
