"""Settings in force, read from the database once per request (one query): the network's
values, and each site's overrides of the settings that may differ per site."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from flask import g, has_request_context
from sqlalchemy import func, select

from .extensions import db
from .models import SettingChange, SettingRevision
from .rules import settings as registry


class Stored:
    """The values in force, from one query: the network's (built-in defaults, then its newest
    rows) and each site's overrides (its newest row per key, unless that row is a clear)."""

    def __init__(self, network: dict[str, Any], overrides: dict[int, dict[str, Any]]):
        self.network = network
        self.overrides = overrides
        self._sites: dict[int, dict[str, Any]] = {}

    def values(self, site_id: int | None) -> dict[str, Any]:
        """Every setting in force at ``site_id`` (None: the network's)."""
        if site_id is None or not self.overrides.get(site_id):
            return self.network
        if site_id not in self._sites:
            self._sites[site_id] = {**self.network, **self.overrides[site_id]}
        return self._sites[site_id]


def _load(at: dt.datetime | None = None, *, sites: tuple[int, ...] | None = None) -> Stored:
    """One query: the newest row per key and site (changed by ``at``, when given), for the
    network and ``sites`` (every site when None). A site's newest row wins over the network's
    unless it is a clear (or its value no longer parses); only a ``per_site`` setting is
    overridden. A network value that no longer parses is the built-in default, as before."""
    newest = select(func.max(SettingChange.id).label("id"))
    if at is not None:
        newest = newest.where(SettingChange.changed_at <= at)
    if sites is not None:
        newest = newest.where(SettingChange.site_id.is_(None) | SettingChange.site_id.in_(sites) if sites
                              else SettingChange.site_id.is_(None))
    newest = newest.group_by(SettingChange.key, SettingChange.site_id).subquery()
    rows = db.session.execute(
        select(SettingChange.key, SettingChange.site_id, SettingChange.cleared, SettingChange.value)
        .join(newest, SettingChange.id == newest.c.id)
    )
    network = registry.defaults()
    overrides: dict[int, dict[str, Any]] = {}
    for key, site_id, cleared, value in rows:
        spec = registry.SPECS_BY_KEY.get(key)
        if spec is None:
            continue
        if site_id is None:
            network[key] = registry.decode(key, value)
        elif spec.per_site and not cleared:
            try:
                overrides.setdefault(site_id, {})[key] = spec.parse(value)
            except ValueError:  # no longer a usable value (its bounds changed): the network's holds
                pass
    return Stored(network, overrides)


def stored() -> Stored:
    """The settings in force now, network and sites; read once per request (one query)."""
    if has_request_context():
        if "kap_settings" not in g:
            g.kap_settings = _load()
        return g.kap_settings
    return _load()


def current(site_id: int | None = None) -> dict[str, Any]:
    """All settings in force now at ``site_id``; without one, at the request's site
    (:func:`request_site_id`: the record's page's, or the one site the lists show), else the
    network's. Cached for the rest of the request."""
    if site_id is None:
        site_id = request_site_id()
    return stored().values(site_id)


def network() -> dict[str, Any]:
    """The network's values (what a site without override has)."""
    return stored().network


def get(key: str, site_id: int | None = None) -> Any:
    """One setting in force (at ``site_id``, else the request's site); a setting that is not
    per site is the network's, without asking where the request is."""
    if not registry.SPECS_BY_KEY[key].per_site:
        return network()[key]
    return current(site_id)[key]


def overrides(site_id: int) -> dict[str, Any]:
    """The settings ``site_id`` overrides now, with its values."""
    return dict(stored().overrides.get(site_id, {}))


def use_site(site_id: int | None, zone_name: str | None) -> None:
    """This request shows a record of ``site_id``: its rules use that site's settings, its times
    are on that site's wall (``zone_name``). The kaptracker.access loaders call it."""
    g.kap_site_id = site_id
    use_zone(zone_name)


# The one site a request's lists show when no record page chose one (kaptracker.scope registers it).
_listing_site: Callable[[], int | None] | None = None


def site_of_lists_from(reader: Callable[[], int | None]) -> None:
    global _listing_site
    _listing_site = reader


def request_site_id() -> int | None:
    """The site whose settings this request applies: the site of the record shown
    (:func:`use_site`), else the one site its lists show; None (the network's values) outside a
    request, on lists across sites, and while the user is being loaded."""
    return _settled_per_request("kap_site_id", _listing_site)


def _settled_per_request(name: str, reader: Callable[[], Any] | None) -> Any:
    """``g.<name>``, read once a request from ``reader`` (kaptracker.scope) unless a record page
    set it first; None outside a request, and while the user is being loaded (not settled yet)."""
    if not has_request_context():
        return None
    if name not in g:
        if "_login_user" not in g:
            return None
        setattr(g, name, reader() if reader is not None else None)
    return g.get(name)


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
    return _settled_per_request("kap_zone_name", _listing_zone)


def network_zone_name() -> str:
    """The network's zone (setting ``clinic.timezone``), read without flushing the session."""
    with db.session.no_autoflush:
        return get("clinic.timezone")


def at(moment: dt.datetime, site_id: int | None = None) -> dict[str, Any]:
    """The settings that were in force at ``moment`` at ``site_id`` (else the request's site;
    for rules applied to past readings): one query each time."""
    if site_id is None:
        site_id = request_site_id()
    sites = () if site_id is None else (site_id,)
    return _load(moment, sites=sites).values(site_id)


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


def change(key: str, value: Any, *, user, reason: str, approved_by: str | None = None,
           site_id: int | None = None) -> SettingChange:
    """Add a change (the network's value, or an override at ``site_id`` of a per-site setting)
    and count it in the revision: the UPDATE names the revision read when the form was checked,
    so a save racing another one fails with StaleDataError (the caller shows the conflict page)
    rather than both succeeding."""
    spec = _spec_at(key, site_id)
    return _add(SettingChange(key=spec.key, value=registry.encode(value), changed_by=user, reason=reason,
                              approved_by=approved_by, site_id=site_id))


def clear(key: str, *, site_id: int, user, reason: str, approved_by: str | None = None) -> SettingChange:
    """Send ``site_id`` back to the network's value of ``key`` (a row too: the history keeps
    when the site's override ended, and why)."""
    spec = _spec_at(key, site_id)
    return _add(SettingChange(key=spec.key, value="", cleared=True, changed_by=user, reason=reason,
                              approved_by=approved_by, site_id=site_id))


def _spec_at(key: str, site_id: int | None) -> registry.SettingSpec:
    spec = registry.SPECS_BY_KEY[key]
    if site_id is not None and not spec.per_site:
        raise ValueError(f"{key} holds at every site: it has no per-site value")
    return spec


def _add(row: SettingChange) -> SettingChange:
    db.session.add(row)
    counter = revision()
    counter.version = (counter.version or 0) + 1
    g.pop("kap_settings", None)
    return row
