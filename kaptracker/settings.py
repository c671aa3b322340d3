"""Settings in force, read from the database once per request (one query)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from flask import g, has_request_context
from sqlalchemy import func, select

from .extensions import db
from .models import SettingChange, SettingRevision
from .rules import settings as registry


def _load(at: dt.datetime | None = None) -> dict[str, Any]:
    values = registry.defaults()
    newest = select(SettingChange.key, func.max(SettingChange.id).label("id"))
    if at is not None:
        newest = newest.where(SettingChange.changed_at <= at)
    newest = newest.group_by(SettingChange.key).subquery()
    rows = db.session.execute(
        select(SettingChange.key, SettingChange.value).join(newest, SettingChange.id == newest.c.id)
    )
    for key, value in rows:
        if key in registry.SPECS_BY_KEY:
            values[key] = registry.decode(key, value)
    return values


def current() -> dict[str, Any]:
    """All settings in force now; cached for the rest of the request."""
    if has_request_context():
        if "kap_settings" not in g:
            g.kap_settings = _load()
        return g.kap_settings
    return _load()


def get(key: str) -> Any:
    return current()[key]


# The zone of a request's lists when no record page chose one (kaptracker.scope registers it:
# the settings sit below the access rules, so they cannot import them).
_listing_zone: Callable[[], str | None] | None = None


def zone_of_lists_from(reader: Callable[[], str | None]) -> None:
    global _listing_zone
    _listing_zone = reader


def use_zone(name: str | None) -> None:
    """Show this request's times, and read its "today", in ``name`` (a site's zone): a record's
    page calls it with the site of the record it shows (kaptracker.access loaders)."""
    g.kap_zone_name = name


def clinic_zone_name() -> str:
    """The time zone of "now" and "today" for kaptracker.clock (read without flushing the
    session): in a request, the site of the record shown, else the site the lists show (the
    switcher's choice, or the user's one site); otherwise the network's zone, setting
    ``clinic.timezone`` (network-wide pages, commands)."""
    return page_zone_name() or network_zone_name()


def page_zone_name() -> str | None:
    """The one site zone this request's page is in; None outside a request, or on a page across
    sites in several zones (which labels each time with its own)."""
    if not has_request_context():
        return None
    if "kap_zone_name" not in g:
        if "_login_user" not in g:  # asked while the user is being loaded: not settled yet
            return None
        g.kap_zone_name = _listing_zone() if _listing_zone is not None else None
    return g.kap_zone_name


def network_zone_name() -> str:
    """The network's zone (setting ``clinic.timezone``), read without flushing the session."""
    with db.session.no_autoflush:
        return get("clinic.timezone")


def at(moment: dt.datetime) -> dict[str, Any]:
    """The settings that were in force at ``moment`` (for rules applied to past readings)."""
    return _load(moment)


def revision(*, fresh: bool = False) -> SettingRevision:
    """The settings' revision row (one row, made by migration 0010): the version a settings form
    carries, and the one its save names. ``fresh`` reads it again (when a form is checked)."""
    # Held by the session (its identity map keeps objects only weakly): a save must name the
    # version read when the form was checked, not one read again later.
    row = db.session.info.get("kap_setting_revision")
    if row is not None and row in db.session and fresh:
        db.session.refresh(row)
    if row is None or row not in db.session:
        with db.session.no_autoflush:
            row = db.session.get(SettingRevision, 1)
            if row is None:  # the row was emptied (a test database): made again, race-safely
                db.session.execute(_insert_first_revision())
                row = db.session.get(SettingRevision, 1)
        db.session.info["kap_setting_revision"] = row
    return row


def _insert_first_revision():
    """INSERT the revision row unless someone else just did (ON CONFLICT DO NOTHING)."""
    from sqlalchemy.dialects import postgresql, sqlite

    dialect = postgresql if db.session.get_bind().dialect.name == "postgresql" else sqlite
    return dialect.insert(SettingRevision).values(id=1, version=1).on_conflict_do_nothing(index_elements=["id"])


def change(key: str, value: Any, *, user, reason: str, approved_by: str | None = None) -> SettingChange:
    """Add a change and count it in the revision: the UPDATE names the revision read when the
    form was checked, so a save racing another one fails with StaleDataError (the caller shows
    the conflict page) rather than both succeeding."""
    spec = registry.SPECS_BY_KEY[key]
    row = SettingChange(key=spec.key, value=registry.encode(value), changed_by=user, reason=reason,
                        approved_by=approved_by)
    db.session.add(row)
    counter = revision()
    counter.version = (counter.version or 0) + 1
    g.pop("kap_settings", None)
    return row
