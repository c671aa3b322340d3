"""Who reaches which clients, as SQL: the role's own scope (rules/access.py says which) plus any
client the user holds unexpired emergency (break-glass) access to. Used by access.py to load
records, by auditing.py to flag events written through emergency access (it imports neither),
and by the audit search to cut the trail to the searcher's sites."""

from __future__ import annotations

from flask import g
from sqlalchemy import ColumnElement, false, select, true

from .extensions import db
from .models import (
    IN_TREATMENT_STATUSES,
    AuditEvent,
    BreakGlassGrant,
    Client,
    ClinicalSession,
    Course,
    Site,
    User,
    staff_site,
    utcnow,
)
from .rules.access import ClientScope, Permission, Role, audits_every_site, client_scope, may, reaches_every_site


def client_scope_clause(user) -> ColumnElement[bool]:
    """SQL condition on :class:`Client` that keeps the rows ``user`` may see: their role's scope,
    plus any client they hold unexpired emergency (break-glass) access to."""
    scope = client_scope(user.role)
    if scope is ClientScope.ALL and reaches_every_site(user.role, network_lead=user.network_lead):
        return true()
    if scope is ClientScope.NONE:
        return false()
    granted = break_glass_client_ids(user)
    # Literal ids, not a subquery: with none (nearly always) the role's own index-friendly
    # condition stays alone; PostgreSQL cannot use the caseload index across "OR id IN (SELECT…)".
    return _own_scope_clause(user) | Client.id.in_(granted) if granted else _own_scope_clause(user)


def break_glass_client_ids(user) -> tuple[int, ...]:
    """Clients ``user`` holds unexpired break-glass access to: one indexed query per request."""
    if not may(user.role, Permission.BREAK_GLASS):
        return ()
    cache = g.setdefault("kap_break_glass_ids", {})
    if user.id not in cache:
        with db.session.no_autoflush:  # may run while a change is pending: flush nothing early
            cache[user.id] = tuple(db.session.scalars(
                select(BreakGlassGrant.client_id).where(
                    BreakGlassGrant.user_id == user.id, BreakGlassGrant.expires_at > utcnow())
            ).all())
    return cache[user.id]


def break_glass_for(user, client_id: int | None) -> BreakGlassGrant | None:
    """The unexpired grant through which ``user`` reaches ``client_id`` now, if that is the only
    way they reach it (their own scope does not include the client); cached per request."""
    if client_id is None or client_id not in break_glass_client_ids(user):
        return None
    cache = g.setdefault("kap_break_glass", {})
    if client_id not in cache:
        with db.session.no_autoflush:  # called while writing an audit event: flush nothing early
            grant = db.session.scalars(
                select(BreakGlassGrant).where(
                    BreakGlassGrant.user_id == user.id, BreakGlassGrant.client_id == client_id,
                    BreakGlassGrant.expires_at > utcnow())
                .order_by(BreakGlassGrant.expires_at.desc()).limit(1)
            ).first()
            own = select(Client.id).where(Client.id == client_id, _own_scope_clause(user))
            if grant is not None and db.session.scalar(own) is not None:
                grant = None  # in the user's own scope anyway
        cache[client_id] = grant
    return cache[client_id]


def _sites_of(user) -> list[Site]:
    """The sites ``user`` works at (supervises), active or not, by name: one indexed query per
    request, which both the access clauses and the site switcher read."""
    cache = g.setdefault("kap_user_sites", {})
    if user.id not in cache:
        with db.session.no_autoflush:
            cache[user.id] = list(db.session.scalars(
                select(Site).join(staff_site, staff_site.c.site_id == Site.id)
                .where(staff_site.c.user_id == user.id).order_by(Site.name)))
    return cache[user.id]


def user_site_ids(user) -> tuple[int, ...]:
    """The ids of the sites ``user`` works at (supervises)."""
    return tuple(sorted(site.id for site in _sites_of(user)))


def switchable_sites(user) -> list[Site]:
    """The active sites whose lists ``user`` may choose between (the site switcher): every site
    for a network lead, else the sites they work at; cached per request."""
    if client_scope(user.role) is ClientScope.NONE:
        return []
    if not (user.role == Role.SUPERVISOR and user.network_lead):
        return [site for site in _sites_of(user) if site.active]
    cache = g.setdefault("kap_switchable_sites", {})
    if user.id not in cache:
        with db.session.no_autoflush:
            cache[user.id] = list(db.session.scalars(
                select(Site).where(Site.active.is_(True)).order_by(Site.name)))
    return cache[user.id]


def listed_site_id(user) -> int | None:
    """The one site the lists show (the site switcher's choice), None for all the user's sites;
    a choice the user may no longer make (moved to other sites, the site deactivated) lapses."""
    current = getattr(user, "current_session", None)
    chosen = current.site_id if current is not None else None
    if chosen is None or not any(site.id == chosen for site in switchable_sites(user)):
        return None
    return chosen


def listed_sites(user) -> tuple[int, ...] | None:
    """The sites whose clients and staff the lists show: the switcher's one site, else the user's
    sites; None for every site (a network lead or a therapist who chose none)."""
    chosen = listed_site_id(user)
    if chosen is not None:
        return (chosen,)
    if reaches_every_site(user.role, network_lead=user.network_lead):
        return None
    return user_site_ids(user)


def listing_zone_name(user) -> str | None:
    """The time zone of ``user``'s lists: the chosen site's, else the zone all their sites share;
    None (the network's zone) across sites in several zones, where each row says its own."""
    if user is None or not getattr(user, "is_authenticated", False):
        return None
    chosen = listed_site_id(user)
    sites = [site for site in switchable_sites(user) if chosen is None or site.id == chosen]
    if chosen is None and reaches_every_site(user.role, network_lead=user.network_lead):
        return None
    zones = {site.time_zone for site in sites or _sites_of(user)}
    return zones.pop() if len(zones) == 1 else None


def listing_site_id(user) -> int | None:
    """The one site ``user``'s lists show, whose settings their rules apply: the switcher's
    choice, else the user's only site; None (the network's values) across sites, and for a role
    that lists no clients (administrators)."""
    if user is None or not getattr(user, "is_authenticated", False):
        return None
    if client_scope(user.role) is ClientScope.NONE:
        return None
    sites = listed_sites(user)
    return sites[0] if sites is not None and len(sites) == 1 else None


def request_site_id() -> int | None:
    """The site of this request's lists (kaptracker.settings asks for it), once its user is loaded."""
    return listing_site_id(g.get("_login_user"))


def request_zone_name() -> str | None:
    """The zone of this request's lists (kaptracker.settings asks for it): only once the request
    has authenticated its user, so that loading the user never asks for the time zone."""
    return listing_zone_name(g.get("_login_user"))


def staff_clause(user) -> ColumnElement[bool]:
    """SQL condition on :class:`User`: the staff of the sites the lists show."""
    sites = listed_sites(user)
    if sites is None:
        return true()
    return User.id.in_(select(staff_site.c.user_id).where(staff_site.c.site_id.in_(sites)))


def lists_everyone(user) -> bool:
    """True when the lists show every client the role reaches without a site cut (a network
    lead with no site chosen): their queries need no list of client ids."""
    return listed_site_id(user) is None and client_scope(user.role) is ClientScope.ALL \
        and reaches_every_site(user.role, network_lead=user.network_lead)


def listing_clause(user) -> ColumnElement[bool]:
    """What lists, dashboards, worklists and exports of many clients show: the clients ``user``
    may see, at the site the switcher chose (their home site) when one is chosen."""
    site_id = listed_site_id(user)
    clause = client_scope_clause(user)
    return clause & (Client.home_site_id == site_id) if site_id is not None else clause


def audited_sites(user) -> tuple[int, ...] | None:
    """The sites whose audit trail the audit search shows ``user``: the switcher's one site, else
    the user's sites; None for the whole trail (an administrator, a network lead who chose no
    site); no site for a role that does not read the trail."""
    if not may(user.role, Permission.VIEW_AUDIT):
        return ()
    if listed_site_id(user) is None and audits_every_site(user.role, network_lead=user.network_lead):
        return None
    return listed_sites(user)


def audited_site_rows(user) -> list[Site] | None:
    """The :class:`Site` rows of :func:`audited_sites`, by name (from the per-request caches)."""
    sites = audited_sites(user)
    if sites is None:
        return None
    lead = user.role == Role.SUPERVISOR and user.network_lead
    pool = switchable_sites(user) if lead else _sites_of(user)
    return [site for site in pool if site.id in sites]


def audited_client_clause(user) -> ColumnElement[bool]:
    """SQL condition on :class:`Client`: the clients whose audit trail ``user`` reads, those whose
    home is an audited site. Not emergency access: a break-glass grant opens a record for care;
    its trail is reviewed by the client's own site."""
    sites = audited_sites(user)
    return true() if sites is None else Client.home_site_id.in_(sites)


def audit_clause(user) -> ColumnElement[bool]:
    """SQL condition on :class:`AuditEvent`: the events the audit search shows ``user``. Cut to
    sites, an event about a client shows when the client's home is one of them (whoever acted:
    someone of another site, through emergency access too); an event about no client when it is
    by or about a member of staff of one of them (signing in and out, list pages, refused pages,
    an administrator's change to their account), about one of the sites, or about the network's
    settings (they apply at every site) or one of the sites' own (the event's record id is the
    site's). A failed sign-in names no account: only the whole trail shows it (administrators,
    a network lead)."""
    sites = audited_sites(user)
    if sites is None:
        return true()
    staff = select(staff_site.c.user_id).where(staff_site.c.site_id.in_(sites))
    about_client = AuditEvent.client_id.in_(select(Client.id).where(Client.home_site_id.in_(sites)))
    about_staff = AuditEvent.user_id.in_(staff) | (
        (AuditEvent.record_type == "user") & AuditEvent.record_id.in_(staff))
    about_site = (AuditEvent.record_type == "site") & AuditEvent.record_id.in_(sites)
    settings = (AuditEvent.record_type == "setting") & (
        AuditEvent.record_id.is_(None) | AuditEvent.record_id.in_(sites))
    return about_client | (AuditEvent.client_id.is_(None) & (about_staff | about_site | settings))


def _own_scope_clause(user) -> ColumnElement[bool]:
    """The role's own scope, without emergency access: cut to the user's sites (the clients whose
    home they are) unless the role reaches every site."""
    scope = client_scope(user.role)
    if scope is ClientScope.OWN_CASELOAD:
        return Client.therapist_id == user.id
    on_site = (true() if reaches_every_site(user.role, network_lead=user.network_lead)
               else Client.home_site_id.in_(user_site_ids(user)))
    if scope is ClientScope.ALL:
        return on_site
    if scope is ClientScope.IN_TREATMENT:
        authored = (
            select(Course.client_id)
            .join(ClinicalSession, ClinicalSession.course_id == Course.id)
            .where(ClinicalSession.author_id == user.id)
        )
        return (Client.status.in_(IN_TREATMENT_STATUSES) & on_site) | Client.id.in_(authored)
    return false()
