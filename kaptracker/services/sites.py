"""Site commands: create a site, edit it (activate and deactivate it too). Administrators only
(the views' permission, MANAGE_SITES): a site holds no clinical record, so no ownership rule."""

from __future__ import annotations

from collections.abc import Mapping

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from ..auditing import changed_fields, record
from ..extensions import db
from ..models import AuditAction, Client, ClientStatus, Site
from ..rules import sites as rules
from . import Outcome, changes_saved

FIELDS = ("code", "name", "address", "time_zone", "phone", "dea_registration", "crisis_line")
TAKEN = {"code": "Another site already has this code.", "name": "Another site already has this name."}
RACED = "Another site was saved with this code or name a moment ago."


def taken(data: Mapping, *, exclude: Site | None = None) -> dict[str, list[str]]:
    """Problems of a code or name another site already has (letter case aside)."""
    problems = {}
    for name, message in TAKEN.items():
        value = data.get(name)
        if not value:
            continue
        column = getattr(Site, name)
        stmt = select(Site.id).where(func.lower(column) == value.lower())
        if exclude is not None:
            stmt = stmt.where(Site.id != exclude.id)
        if db.session.scalar(stmt.limit(1)) is not None:
            problems[name] = [message]
    return problems


def open_clients(site: Site) -> int:
    """Clients not yet discharged whose home site this is."""
    return db.session.scalar(select(func.count()).select_from(Client).where(
        Client.home_site_id == site.id, Client.status != ClientStatus.DISCHARGED))


def _deactivation_problem(site: Site) -> str | None:
    others = db.session.scalar(select(func.count()).select_from(Site).where(
        Site.active.is_(True), Site.id != site.id))
    return rules.deactivation_problem(open_clients=open_clients(site), other_active_sites=others)


def _taken_a_moment_ago(data: Mapping, site: Site | None = None) -> Outcome:
    """The unique constraint refused a code or name saved by someone else a moment ago."""
    db.session.rollback()
    return Outcome(problems=taken(data, exclude=site) or {"code": [RACED]}, record=site)


def create(data: Mapping, user) -> Outcome:
    """Add a site (active). A code or name another site has is refused beside its field."""
    problems = taken(data)
    if problems:
        return Outcome(problems=problems)
    site = Site(active=True, **{name: data.get(name) for name in FIELDS})
    db.session.add(site)
    try:
        db.session.flush()
        record(AuditAction.CREATE, "site", site.id, detail=f"site {site.code}", user=user)
        db.session.commit()
    except IntegrityError:
        return _taken_a_moment_ago(data)
    return Outcome(record=site, message=f"Site {site.name} ({site.code}) is added.")


def edit(site: Site, data: Mapping, user) -> Outcome:
    """Save the site's details and whether it is active; ``data["version"]`` is the version the
    form was read at (a save by someone else since is a conflict, nothing written). Deactivating
    is refused while clients not yet discharged call it home, and for the last active site."""
    if data.get("version") != str(site.version):
        return Outcome(record=site, conflict=True)
    problems = taken(data, exclude=site)
    if problems:
        return Outcome(problems=problems, record=site)
    if site.active and not data.get("active"):
        problem = _deactivation_problem(site)
        if problem:
            return Outcome.refused("active", problem, record=site)
    for name in FIELDS:
        setattr(site, name, data.get(name))
    site.active = bool(data.get("active"))
    fields = changed_fields(site)
    also = ("; " + ("reactivated" if site.active else "deactivated")) if "active" in fields else ""
    try:
        return changes_saved(site, fields, user, audit_as="site", also=also, message="Changes saved.")
    except IntegrityError:
        return _taken_a_moment_ago(data, site)


CHOOSE_ONE_OF_YOURS = "Choose one of the sites you work at, or all of them."


def choose(signed_in, data: Mapping, user, *, choices: list[Site]) -> Outcome:
    """Which site the lists of ``signed_in`` (the user's signed-in session) show: one of
    ``choices`` (the sites the user may list), or all of them when ``data["site"]`` is empty.
    A preference of the session, not a clinical record: nothing is audited."""
    value = (data.get("site") or "").strip()
    chosen = next((s for s in choices if str(s.id) == value), None)
    if value and chosen is None:
        return Outcome.refused("site", CHOOSE_ONE_OF_YOURS)
    signed_in.site_id = chosen.id if chosen else None
    db.session.commit()
    return Outcome(record=chosen, message=f"Showing {chosen.name}." if chosen else "Showing all your sites.")


__all__ = ["choose", "create", "edit", "open_clients", "taken"]
