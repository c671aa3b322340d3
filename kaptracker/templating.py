"""Jinja helpers: navigation by role, time-zone display, settings."""

from __future__ import annotations

import datetime as dt
import zoneinfo

from flask import Flask, request
from flask_login import current_user
from sqlalchemy.exc import SQLAlchemyError

from . import clock, settings
from .extensions import db
from .models import SessionKind
from .scope import listed_site_id, switchable_sites
from .rules.access import Permission, may, reaches_every_site

# (endpoint, label, permission or None for any signed-in user), in the order shown.
NAVIGATION = (
    ("vitals.today", "Today", Permission.RECORD_VITALS),
    ("dashboard.index", "Caseload", Permission.VIEW_DASHBOARD),
    ("clients.index", "Clients", Permission.VIEW_CLIENTS),
    ("supervision.cosign_worklist", "Co-signing", Permission.COSIGN),
    ("admin.users", "Staff accounts", Permission.MANAGE_USERS),
    ("admin.sites", "Sites", Permission.MANAGE_SITES),
    ("admin.settings", "Settings", Permission.MANAGE_SETTINGS),
    ("audit.index", "Audit log", Permission.VIEW_AUDIT),
    ("auth.account", "My account", None),
)


def navigation_for(role) -> list[tuple[str, str]]:
    return [
        (endpoint, label)
        for endpoint, label, permission in NAVIGATION
        if permission is None or may(role, permission)
    ]


def localtime(value: dt.datetime | None, fmt: str = "%d %b %Y %H:%M") -> str:
    """A stored UTC time in the clinic's time zone."""
    if value is None:
        return ""
    return clock.local(value).strftime(fmt)


def site_time(value: dt.datetime | None, site, fmt: str = "%d %b %Y %H:%M") -> str:
    """A stored UTC time on ``site``'s wall, labelled with its zone ("08:00 MST") where the page
    is in another zone or spans sites in several (a network lead's lists)."""
    if value is None:
        return ""
    shown = clock.local(value, zoneinfo.ZoneInfo(site.time_zone))
    text = shown.strftime(fmt)
    if settings.page_zone_name() != site.time_zone:
        text += f" {shown.tzname()}"
    return text


def _sites_shown(sites, chosen: int | None) -> str:
    """What the lists show, in words: the chosen site, every site (a network lead), or the
    user's sites by name."""
    if chosen is not None:
        return next((site.name for site in sites if site.id == chosen), "")
    if reaches_every_site(current_user.role, network_lead=current_user.network_lead):
        return "Every site"
    return ", ".join(site.name for site in sites)


def quantity(value) -> str:
    """A measured quantity without trailing zeros: 1.0 -> 1, 0.50 -> 0.5, 52.5 -> 52.5."""
    if value is None:
        return ""
    from decimal import Decimal

    number = Decimal(str(value))
    if number == number.to_integral():
        return str(number.quantize(Decimal(1)))
    return format(number.normalize(), "f")


def date_format(value: dt.date | None) -> str:
    return value.strftime("%d %b %Y") if value else ""


def record_label(record_type: str) -> str:
    """An audit event's kind of record in words: a clinical session by its kind's name (the
    record type "dosing" is a medicine session), any other with spaces for underscores."""
    if record_type in {kind.value for kind in SessionKind}:
        return SessionKind(record_type).label.lower()
    return record_type.replace("_", " ")


def init_app(app: Flask) -> None:
    app.jinja_env.filters["localtime"] = localtime
    app.jinja_env.filters["site_time"] = site_time
    app.jinja_env.filters["date"] = date_format
    app.jinja_env.filters["qty"] = quantity
    app.jinja_env.filters["record_label"] = record_label
    app.jinja_env.globals["may"] = may
    app.jinja_env.globals["Permission"] = Permission

    @app.context_processor
    def layout_context():
        # Error pages of a failing database must still render: no query for them.
        bare = {"navigation": [], "clinic_name": "KAP Tracker", "bare": True}
        if getattr(request, "kap_bare", False):
            return bare
        try:
            signed_in = current_user.is_authenticated
            nav = navigation_for(current_user.role) if signed_in else []
            sites = switchable_sites(current_user) if signed_in else []
            chosen = listed_site_id(current_user) if signed_in else None
            return {"navigation": nav, "clinic_name": settings.get("clinic.name"), "bare": False,
                    "switchable_sites": sites if len(sites) > 1 else [],
                    "listed_site_id": chosen, "sites_shown": _sites_shown(sites, chosen) if signed_in else "",
                    "every_site": signed_in and reaches_every_site(current_user.role,
                                                                   network_lead=current_user.network_lead),
                    "zone_shown": settings.clinic_zone_name}
        except SQLAlchemyError:
            # The database failed while rendering (often an error page): render without it.
            db.session.rollback()
            request.kap_bare = True
            return bare
